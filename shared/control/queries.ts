/**
 * The seed's "Common Queries", one named function each. The SQL is the seed's,
 * with its literals (limits, intervals, table name) turned into bound parameters.
 */
import type { Queryable } from '../db/pool.js';
import { sqlLiteral, type TableControlRow } from './rows.js';

/** Active rows whose next load time has passed and that are not already queued or running. */
export async function selectReadyTables(db: Queryable, limit = 10): Promise<TableControlRow[]> {
  const { rows } = await db.query<TableControlRow>(
    `SELECT *
       FROM control.table_control
      WHERE is_active = true
        AND next_load_date_time <= CURRENT_TIMESTAMP
        AND (last_status IS NULL OR last_status NOT IN (${sqlLiteral('Queued')}, ${sqlLiteral('In Progress')}))
      ORDER BY next_load_date_time
      LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface FailedLoad {
  config_id: number;
  source_table_name: string | null;
  destination_table_name: string | null;
  last_status: string;
  last_status_message: string | null;
  last_status_date_time: Date | null;
}

/** Rows whose last load failed, most recent first. */
export async function selectFailedLoads(db: Queryable): Promise<FailedLoad[]> {
  const { rows } = await db.query<FailedLoad>(
    `SELECT config_id, source_table_name, destination_table_name,
            last_status, last_status_message, last_status_date_time
       FROM control.table_control
      WHERE last_status = ${sqlLiteral('Failed')}
      ORDER BY last_status_date_time DESC`,
  );
  return rows;
}

/** Rows queued for longer than `minutes`. */
export async function selectLongQueued(db: Queryable, minutes = 60): Promise<TableControlRow[]> {
  const { rows } = await db.query<TableControlRow>(
    `SELECT *
       FROM control.table_control
      WHERE last_status = ${sqlLiteral('Queued')}
        AND last_status_date_time < CURRENT_TIMESTAMP - make_interval(mins => $1)`,
    [minutes],
  );
  return rows;
}

/** Rows in progress for longer than `minutes`, counted from the load's start. */
export async function selectLongRunning(db: Queryable, minutes = 180): Promise<TableControlRow[]> {
  const { rows } = await db.query<TableControlRow>(
    `SELECT *
       FROM control.table_control
      WHERE last_status = ${sqlLiteral('In Progress')}
        AND last_load_date_time < CURRENT_TIMESTAMP - make_interval(mins => $1)`,
    [minutes],
  );
  return rows;
}

export interface RunSummary {
  source_table: string | null;
  load_status: string | null;
  rows_processed: number | null;
  total_duration: number | null;
  load_start_time: Date | null;
}

/** The latest runs of the table with this source name. */
export async function selectExecutionHistory(db: Queryable, sourceTableName: string, limit = 10): Promise<RunSummary[]> {
  const { rows } = await db.query<RunSummary>(
    `SELECT source_table, load_status, rows_processed, total_duration, load_start_time
       FROM control.historical_metadata
      WHERE control_key = (
              SELECT control_key
                FROM control.table_control
               WHERE source_table_name = $1
               LIMIT 1)
      ORDER BY load_start_time DESC
      LIMIT $2`,
    [sourceTableName, limit],
  );
  return rows;
}

export interface RecentChange {
  table_name: string | null;
  change_type: string;
  change_source: string | null;
  changed_by: string | null;
  changed_at: Date | null;
  changed_fields: string[] | null;
}

/** The latest configuration changes. */
export async function selectRecentChanges(db: Queryable, limit = 20): Promise<RecentChange[]> {
  const { rows } = await db.query<RecentChange>(
    `SELECT table_name, change_type, change_source, changed_by, changed_at, changed_fields
       FROM control.table_control_history_vw
      ORDER BY changed_at DESC
      LIMIT $1`,
    [limit],
  );
  return rows;
}

export interface StatusCount {
  last_status: string | null;
  count: number;
}

/** Active rows per status (NULL included). */
export async function countTablesByStatus(db: Queryable): Promise<StatusCount[]> {
  const { rows } = await db.query<StatusCount>(
    `SELECT last_status, COUNT(*) AS count
       FROM control.table_control
      WHERE is_active = true
      GROUP BY last_status`,
  );
  return rows;
}
