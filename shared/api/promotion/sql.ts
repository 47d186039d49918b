/** Production-side statements of a promotion. */
import pg from 'pg';
import type { Queryable } from '../../db/pool.js';
import { nextModifiedAt } from '../change.js';
import { connectionSelectList, tableSelectList, type ApiConnectionRow, type ApiTableRow } from '../format.js';

/** Production rows with these control keys (hex), locked when applying. */
export async function selectTablesByControlKeys(db: Queryable, keys: string[], lock: boolean): Promise<ApiTableRow[]> {
  const { rows } = await db.query<ApiTableRow>(
    `SELECT ${tableSelectList()} FROM control.table_control t
      WHERE t.control_key = ANY(SELECT decode(k, 'hex') FROM unnest($1::text[]) AS k)
      ORDER BY t.config_id${lock ? ' FOR UPDATE' : ''}`,
    [keys],
  );
  return rows;
}

export async function selectConnectionsByKeys(db: Queryable, keys: string[], lock: boolean): Promise<ApiConnectionRow[]> {
  const { rows } = await db.query<ApiConnectionRow>(
    `SELECT ${connectionSelectList()} FROM control.table_control_dbconfig c
      WHERE c.db_config_key = ANY($1::text[]) ORDER BY c.db_config_key${lock ? ' FOR UPDATE' : ''}`,
    [keys],
  );
  return rows;
}

/** Copies a pre-production connection row; created and modified by the promoter. */
export async function insertPromotedConnection(db: Queryable, row: ApiConnectionRow, user: string): Promise<void> {
  await db.query(
    `INSERT INTO control.table_control_dbconfig
            (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema,
             created_at, last_modified_at, create_user, last_modified_user)
     VALUES ($1, $2, $3, $4, $5, clock_timestamp() AT TIME ZONE 'UTC', clock_timestamp() AT TIME ZONE 'UTC', $6, $6)`,
    [row.db_config_key, JSON.stringify(row.db_config_value), row.db_type, row.db_kv_scope, row.default_target_schema, user],
  );
}

/** Applies promoted fields to one production row and moves its version forward. */
export async function updatePromotedTable(db: Queryable, configId: number, changes: Record<string, unknown>, user: string): Promise<void> {
  const fields = Object.keys(changes);
  const sets = fields.map((f, i) => `${pg.escapeIdentifier(f)} = $${i + 3}`);
  await db.query(
    `UPDATE control.table_control AS t
        SET ${[...sets, `last_modified_at = ${nextModifiedAt('t')}`, 'last_modified_user = $2'].join(', ')}
      WHERE t.config_id = $1`,
    [configId, user, ...fields.map((f) => changes[f])],
  );
}
