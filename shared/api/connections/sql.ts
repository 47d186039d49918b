/** The admin API's statements on control.table_control_dbconfig. */
import type { Queryable } from '../../db/pool.js';
import { nextModifiedAt } from '../change.js';
import { connectionSelectList, type ApiConnectionRow } from '../format.js';

export interface ConnectionValues {
  db_config_value: Record<string, string>;
  db_type: string;
  db_kv_scope: string;
  default_target_schema: string | null;
}

export async function selectConnections(db: Queryable): Promise<ApiConnectionRow[]> {
  const { rows } = await db.query<ApiConnectionRow>(
    `SELECT ${connectionSelectList()} FROM control.table_control_dbconfig c ORDER BY c.db_config_key`,
  );
  return rows;
}

export async function selectConnection(db: Queryable, key: string, lock = false): Promise<ApiConnectionRow | undefined> {
  const { rows } = await db.query<ApiConnectionRow>(
    `SELECT ${connectionSelectList()} FROM control.table_control_dbconfig c WHERE c.db_config_key = $1${lock ? ' FOR UPDATE' : ''}`,
    [key],
  );
  return rows[0];
}

/** Inserts or replaces a connection; created_at and create_user stay those of the first insert. */
export async function upsertConnection(
  db: Queryable,
  key: string,
  values: ConnectionValues,
  user: string,
): Promise<{ row: ApiConnectionRow; created: boolean }> {
  const { rows } = await db.query<ApiConnectionRow & { created: boolean }>(
    `INSERT INTO control.table_control_dbconfig AS c
            (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema,
             created_at, last_modified_at, create_user, last_modified_user)
     VALUES ($1, $2, $3, $4, $5, clock_timestamp() AT TIME ZONE 'UTC', clock_timestamp() AT TIME ZONE 'UTC', $6, $6)
     ON CONFLICT (db_config_key) DO UPDATE
        SET db_config_value = EXCLUDED.db_config_value,
            db_type = EXCLUDED.db_type,
            db_kv_scope = EXCLUDED.db_kv_scope,
            default_target_schema = EXCLUDED.default_target_schema,
            last_modified_at = ${nextModifiedAt('c')},
            last_modified_user = EXCLUDED.last_modified_user
      WHERE (c.db_config_value, c.db_type, c.db_kv_scope, c.default_target_schema)
            IS DISTINCT FROM (EXCLUDED.db_config_value, EXCLUDED.db_type, EXCLUDED.db_kv_scope, EXCLUDED.default_target_schema)
     RETURNING ${connectionSelectList()}, (xmax = 0) AS created`,
    [key, JSON.stringify(values.db_config_value), values.db_type, values.db_kv_scope, values.default_target_schema, user],
  );
  const row = rows[0];
  if (!row) {
    // Nothing changed: the row is as it was.
    return { row: (await selectConnection(db, key))!, created: false };
  }
  const { created, ...rest } = row;
  return { row: rest, created };
}

export interface TableUsingConnection {
  config_id: number;
  source_table_catalog: string | null;
  source_table_schema: string | null;
  source_table_name: string | null;
  is_active: boolean;
}

export async function selectTablesUsing(db: Queryable, key: string): Promise<TableUsingConnection[]> {
  const { rows } = await db.query<TableUsingConnection>(
    `SELECT config_id, source_table_catalog, source_table_schema, source_table_name, is_active
       FROM control.table_control WHERE db_config_key = $1 ORDER BY config_id FOR UPDATE`,
    [key],
  );
  return rows;
}

/** Detaches tables from a connection (db_config_key NULL), as the foreign key's ON DELETE SET NULL would. */
export async function detachTables(db: Queryable, key: string, user: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE control.table_control AS t
        SET db_config_key = NULL,
            last_modified_at = ${nextModifiedAt('t')},
            last_modified_user = $2
      WHERE db_config_key = $1`,
    [key, user],
  );
  return rowCount ?? 0;
}

export async function deleteConnection(db: Queryable, key: string): Promise<void> {
  await db.query(`DELETE FROM control.table_control_dbconfig WHERE db_config_key = $1`, [key]);
}

/** One connection's configuration history (table_control_dbconfig_history), newest first. */
export async function selectConnectionHistory(db: Queryable, key: string, limit: number): Promise<Record<string, unknown>[]> {
  const { rows } = await db.query(
    `SELECT history_id, db_config_key, changed_at, changed_by, change_type, change_source, old_values, new_values, changed_fields
       FROM control.table_control_dbconfig_history
      WHERE db_config_key = $1
      ORDER BY history_id DESC
      LIMIT $2`,
    [key, limit],
  );
  return rows;
}
