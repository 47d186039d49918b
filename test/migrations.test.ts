import { describe, expect, it } from 'vitest';
import { migrate } from '../shared/db/migrate.js';
import { createTestDatabase, testClientConfig } from './support/db.js';
import { applySeedSchema, describeSeedObjects, withClient } from './support/schema.js';

const MIGRATIONS = ['001_control_schema', '002_views_and_sensor_indexes', '003_run_tracking'];

async function appliedMigrations(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ name: string }>('SELECT name FROM control.schema_migrations ORDER BY id');
    return rows.map((r) => r.name);
  });
}

/** The descriptions in `actual` of the columns that `seed` has (matched by table.column). */
function seedColumnsOf(actual: string[], seed: string[]): string[] {
  const name = (d: string) => d.split(' ')[0];
  const seedNames = new Set(seed.map(name));
  return actual.filter((d) => seedNames.has(name(d)));
}

describe('migrations', () => {
  it('create the seed schema column for column on an empty database', async () => {
    const seeded = await createTestDatabase({ empty: true, prefix: 'seed' });
    await applySeedSchema(seeded.url);
    const fresh = await createTestDatabase({ empty: true });
    const applied = await migrate(testClientConfig(fresh.url));
    expect(applied.slice(0, MIGRATIONS.length)).toEqual(MIGRATIONS);

    const expected = await describeSeedObjects(seeded.url);
    const actual = await describeSeedObjects(fresh.url);
    expect(expected.columns).toHaveLength(9 + 35 + 17 + 10);
    // Every seed column, identical; later migrations only append columns.
    expect(seedColumnsOf(actual.columns, expected.columns)).toEqual(expected.columns);
    expect(actual.indexes).toEqual(expected.indexes);
    expect(actual.indexes).toHaveLength(5);
    expect(actual.foreignKeys).toEqual(expected.foreignKeys);
    expect(actual.foreignKeys[0]).toContain('ON UPDATE CASCADE ON DELETE SET NULL');
    // The view keeps the seed's columns in order and only appends table_name.
    expect(actual.viewColumns.slice(0, expected.viewColumns.length)).toEqual(expected.viewColumns);
    expect(actual.viewColumns.at(-1)).toBe('table_name character varying');
  });

  it('adopt a production database that already has the seed schema and rows, keeping every row', async () => {
    const prod = await createTestDatabase({ empty: true, prefix: 'prod' });
    await applySeedSchema(prod.url);
    await withClient(prod.url, async (c) => {
      await c.query(`INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type)
                     VALUES ('sql_sales_prod', '{"host":"sales-host"}', 'mssql')`);
      await c.query(`INSERT INTO control.table_control (db_config_key, source_table_catalog, source_table_schema,
                       source_table_name, is_active, load_strategy, load_cron)
                     SELECT 'sql_sales_prod', 'sales', 'dbo', 'orders_' || g, true, 'full', '0 * * * *'
                       FROM generate_series(1, 50) g`);
      await c.query(`INSERT INTO control.historical_metadata (control_key, run_id, load_status)
                     SELECT control_key, 'run-' || config_id, 'Succeeded' FROM control.table_control`);
      await c.query(`INSERT INTO control.table_control_history (control_key, config_id, change_type, change_source)
                     SELECT control_key, config_id, 'INSERT', 'single_edit' FROM control.table_control`);
    });
    const before = await describeSeedObjects(prod.url);

    const applied = await migrate(testClientConfig(prod.url));
    expect(applied.slice(0, MIGRATIONS.length)).toEqual(MIGRATIONS);
    expect(await appliedMigrations(prod.url)).toEqual(applied);

    const after = await describeSeedObjects(prod.url);
    expect(seedColumnsOf(after.columns, before.columns)).toEqual(before.columns);
    expect(after.indexes).toEqual(before.indexes);
    // The existing foreign key is kept, not doubled.
    expect(after.foreignKeys).toEqual(before.foreignKeys);
    await withClient(prod.url, async (c) => {
      const counts = await c.query(`SELECT
          (SELECT count(*) FROM control.table_control_dbconfig)::int AS dbconfig,
          (SELECT count(*) FROM control.table_control)::int AS control,
          (SELECT count(*) FROM control.historical_metadata)::int AS history,
          (SELECT count(*) FROM control.table_control_history)::int AS audit`);
      expect(counts.rows[0]).toEqual({ dbconfig: 1, control: 50, history: 50, audit: 50 });
    });
  });

  it('are a no-op the second time', async () => {
    const db = await createTestDatabase({ empty: true });
    const first = await migrate(testClientConfig(db.url));
    expect(first.length).toBeGreaterThanOrEqual(2);
    expect(await migrate(testClientConfig(db.url))).toEqual([]);
    expect(await appliedMigrations(db.url)).toEqual(first);
  });

  it('run safely from two processes at once', async () => {
    const db = await createTestDatabase({ empty: true });
    const results = await Promise.all([migrate(testClientConfig(db.url)), migrate(testClientConfig(db.url))]);
    const all = results.flat();
    // Every migration ran exactly once, by one of the two.
    expect(new Set(all).size).toBe(all.length);
    expect(results.some((r) => r.length === 0)).toBe(true);
    expect(await appliedMigrations(db.url)).toEqual(all);
  });

  it('serve the sensor query from the partial index at 100,000 rows', async () => {
    const db = await createTestDatabase();
    // The fleet is set up in one statement that writes 100,000 audit rows too: on a loaded machine that
    // can outlast the pool's 30 s statement timeout, which this test (about the plan) does not measure.
    await db.pool.query(`
      SET statement_timeout = 0;
      INSERT INTO control.table_control (source_table_catalog, source_table_schema, source_table_name,
                                         is_active, load_strategy, load_cron, next_load_date_time, last_status)
      SELECT 'cat', 'dbo', 't' || g, true, 'full', '*/5 * * * *',
             CASE WHEN g % 10 = 0 THEN now() - interval '1 minute' ELSE now() + interval '1 day' END,
             CASE WHEN g % 3 = 0 THEN 'Succeeded' END
        FROM generate_series(1, 100000) g;
      RESET statement_timeout`);
    await db.pool.query('ANALYZE control.table_control');
    const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN
      SELECT * FROM control.table_control
       WHERE is_active = true
         AND next_load_date_time <= CURRENT_TIMESTAMP
         AND (last_status IS NULL OR last_status NOT IN ('Queued', 'In Progress'))
       ORDER BY next_load_date_time
       LIMIT 10`);
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toContain('Index Scan using idx_table_control_due');
    expect(plan).not.toContain('Seq Scan');
  });
});
