/**
 * The status machine of table_control. This module is the only code that writes
 * `last_status`: every write stamps `last_status_date_time` and the message.
 *
 *   NULL -> Queued (sensor) -> In Progress (loader) -> Succeeded | Failed
 *   Queued | In Progress -> Failed (reaper, on timeout)
 *   any -> NULL (status_reset by an admin)
 *
 * Runtime writes mark their transaction with `dataloader.change_source = 'runtime'`
 * so that the audit trigger can tell them from configuration changes.
 */
import type pg from 'pg';
import type { Queryable } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import type { LoadStatus, RunStatus, TableControlRow } from './rows.js';

export type { LoadStatus } from './rows.js';

/** A table_control row with the run-tracking columns added by migration 003. */
export type ControlRow = TableControlRow & { last_run_id: string | null; last_heartbeat_at: Date | null };

/** Marks the current transaction's writes as runtime (status, watermark), not configuration. */
export async function markRuntimeWrite(client: Queryable): Promise<void> {
  await client.query(`SELECT set_config('dataloader.change_source', 'runtime', true)`);
}

/**
 * Queued -> In Progress, only for the run the row is queued for. Also takes over
 * a run left In Progress by a loader that died (same run id, no heartbeat for
 * `staleAfterSeconds`), so a redelivered message resumes it. Returns the row, or
 * undefined when the message is a duplicate or stale.
 */
export async function startRun(
  pool: pg.Pool,
  configId: number,
  runId: string,
  staleAfterSeconds: number,
): Promise<ControlRow | undefined> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows } = await client.query<ControlRow>(
      `UPDATE control.table_control
          SET last_status = 'In Progress',
              last_status_date_time = CURRENT_TIMESTAMP,
              last_status_message = 'Loading',
              last_load_date_time = CURRENT_TIMESTAMP,
              last_heartbeat_at = CURRENT_TIMESTAMP
        WHERE config_id = $1
          AND last_run_id = $2
          AND (last_status = 'Queued'
               OR (last_status = 'In Progress'
                   AND COALESCE(last_heartbeat_at, last_load_date_time) < CURRENT_TIMESTAMP - make_interval(secs => $3)))
        RETURNING *`,
      [configId, runId, staleAfterSeconds],
    );
    return rows[0];
  });
}

/** Proves a run is alive; false when the run is no longer this row's (reaped, reset or taken over). */
export async function heartbeat(pool: pg.Pool, configId: number, runId: string, message?: string): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rowCount } = await client.query(
      `UPDATE control.table_control
          SET last_heartbeat_at = CURRENT_TIMESTAMP,
              last_status_message = COALESCE($3, last_status_message)
        WHERE config_id = $1 AND last_run_id = $2 AND last_status = 'In Progress'`,
      [configId, runId, message ?? null],
    );
    return rowCount === 1;
  });
}

export interface RunOutcome {
  status: Extract<LoadStatus, 'Succeeded' | 'Failed'>;
  message: string;
  rowsProcessed: number;
  /** The new incremental_value; undefined keeps the current one. */
  watermark?: string | null;
  /** Clears load_full after a forced full reload. */
  resetLoadFull?: boolean;
}

export interface RunTiming {
  queuedAt: Date | null;
  startedAt: Date;
  endedAt: Date;
}

/**
 * In Progress -> Succeeded | Failed, with the run's historical_metadata row, in
 * one control transaction (called after the destination has committed). Returns
 * false, writing nothing, when the row has moved on to another run.
 */
export async function finishRun(
  pool: pg.Pool,
  configId: number,
  runId: string,
  outcome: RunOutcome,
  timing: RunTiming,
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows } = await client.query<ControlRow>(
      `UPDATE control.table_control
          SET last_status = $3,
              last_status_date_time = CURRENT_TIMESTAMP,
              last_status_message = $4,
              incremental_value = CASE WHEN $5::boolean THEN $6 ELSE incremental_value END,
              load_full = CASE WHEN $7::boolean THEN NULL ELSE load_full END,
              last_heartbeat_at = NULL
        WHERE config_id = $1 AND last_run_id = $2
        RETURNING *`,
      [
        configId,
        runId,
        outcome.status,
        outcome.message,
        outcome.watermark !== undefined,
        outcome.watermark ?? null,
        outcome.resetLoadFull ?? false,
      ],
    );
    const row = rows[0];
    if (!row) return false;
    await insertRunHistory(client, row, runId, outcome.status, outcome.message, outcome.rowsProcessed, timing);
    return true;
  });
}

/** Writes one historical_metadata row for a run of `row`. */
export async function insertRunHistory(
  client: Queryable,
  row: Pick<
    ControlRow,
    | 'control_key'
    | 'source_table_catalog'
    | 'source_table_schema'
    | 'source_table_name'
    | 'destination_table_catalog'
    | 'destination_table_schema'
    | 'destination_table_name'
  >,
  runId: string,
  status: RunStatus,
  message: string,
  rowsProcessed: number,
  timing: RunTiming,
): Promise<void> {
  await client.query(
    `INSERT INTO control.historical_metadata
       (control_key, run_id, load_queued_time, load_start_time, load_end_time, total_duration,
        source_catalog, source_schema, source_table, target_catalog, target_schema, target_table,
        rows_processed, load_status, log_message)
     VALUES ($1, $2, $3, $4, $5, GREATEST(0, round(EXTRACT(EPOCH FROM ($5::timestamp - $4::timestamp))))::int,
             $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      row.control_key,
      runId,
      timing.queuedAt,
      timing.startedAt,
      timing.endedAt,
      row.source_table_catalog,
      row.source_table_schema,
      row.source_table_name,
      row.destination_table_catalog,
      row.destination_table_schema,
      row.destination_table_name,
      rowsProcessed,
      status,
      message,
    ],
  );
}

/** Sets a row Failed outside a run (a config the sensor cannot schedule), naming the field in the message. */
export async function failRow(db: Queryable, configId: number, message: string): Promise<void> {
  await markRuntimeWrite(db);
  await db.query(
    `UPDATE control.table_control
        SET last_status = 'Failed', last_status_date_time = CURRENT_TIMESTAMP, last_status_message = $2
      WHERE config_id = $1`,
    [configId, message],
  );
}
