/** Reads table_control_dbconfig rows for the loader. */
import type { DbConfigRow } from '../control/rows.js';
import type { Queryable } from '../db/pool.js';
import { TerminalError } from '../errors.js';

export async function selectDbConfig(db: Queryable, key: string): Promise<DbConfigRow | undefined> {
  const { rows } = await db.query<DbConfigRow>(`SELECT * FROM control.table_control_dbconfig WHERE db_config_key = $1`, [key]);
  return rows[0];
}

/** The dbconfig row a load needs, or a terminal error saying which one is missing and who names it. */
export async function requireDbConfig(db: Queryable, key: string | null, namedBy: string): Promise<DbConfigRow> {
  if (key === null || key.trim() === '') throw new TerminalError(`${namedBy} is empty: name a table_control_dbconfig row`);
  const row = await selectDbConfig(db, key);
  if (!row) throw new TerminalError(`${namedBy} "${key}" names no table_control_dbconfig row`);
  return row;
}
