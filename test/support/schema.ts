/** Reads a database's control schema as comparable data. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withClient } from '../../shared/db/client.js';
import { projectRoot } from '../../shared/paths.js';

export { withClient } from '../../shared/db/client.js';

/** Applies the seed's DDL verbatim, as production holds it. */
export async function applySeedSchema(url: string): Promise<void> {
  const sql = await readFile(join(projectRoot(), 'test/fixtures/seed-schema.sql'), 'utf8');
  await withClient(url, (c) => c.query(sql));
}

export interface SchemaDescription {
  columns: string[];
  indexes: string[];
  foreignKeys: string[];
  viewColumns: string[];
}

/** Columns (with type, default, nullability, generation), index definitions, foreign keys and view columns of the seed's objects. */
export async function describeSeedObjects(url: string): Promise<SchemaDescription> {
  return withClient(url, async (c) => {
    const columns = await c.query<{ d: string }>(`
      SELECT format('%s.%s %s %s default=%s nullable=%s generated=%s',
                    table_name, column_name, data_type, coalesce(character_maximum_length::text, '-'),
                    coalesce(column_default, '-'), is_nullable, coalesce(generation_expression, '-')) AS d
        FROM information_schema.columns
       WHERE table_schema = 'control'
         AND table_name IN ('table_control_dbconfig', 'table_control', 'historical_metadata', 'table_control_history')
       ORDER BY table_name, ordinal_position`);
    const indexes = await c.query<{ d: string }>(`
      SELECT indexdef AS d FROM pg_indexes
       WHERE schemaname = 'control'
         AND indexname IN ('idx_table_control_control_key', 'idx_history_control_key', 'idx_history_config_id',
                           'idx_history_changed_at', 'idx_history_changed_by')
       ORDER BY indexname`);
    const fks = await c.query<{ d: string }>(`
      SELECT format('%s -> %s %s', conrelid::regclass, confrelid::regclass,
                    regexp_replace(pg_get_constraintdef(oid), '^.*REFERENCES ', '')) AS d
        FROM pg_constraint WHERE contype = 'f' AND connamespace = 'control'::regnamespace
       ORDER BY 1`);
    const view = await c.query<{ d: string }>(`
      SELECT format('%s %s', column_name, data_type) AS d FROM information_schema.columns
       WHERE table_schema = 'control' AND table_name = 'table_control_history_vw'
       ORDER BY ordinal_position`);
    return {
      columns: columns.rows.map((r) => r.d),
      indexes: indexes.rows.map((r) => r.d),
      foreignKeys: fks.rows.map((r) => r.d),
      viewColumns: view.rows.map((r) => r.d),
    };
  });
}
