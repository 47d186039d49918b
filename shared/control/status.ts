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
import { sqlLiteral, type LoadStatus, type RunStatus, type TableControlRow } from './rows.js';

export type { LoadStatus } from './rows.js';

/** A table_control row with the run-tracking columns added by migrations 003 and 004. */
export type ControlRow = TableControlRow & {
  last_run_id: string | null;
  last_heartbeat_at: Date | null;
  /** When the sensor queued the current run (migration 004). */
  last_queued_at?: Date | null;
  /** The table's own lookback for late commits (migration 011); NULL: the setting. */
  incremental_lookback?: string | null;
};

/** Marks the current transaction's writes as runtime (status, watermark), not configuration. */
export async function markRuntimeWrite(client: Queryable): Promise<void> {
  await client.query(`SELECT set_config('dataloader.change_source', ${sqlLiteral('runtime')}, true)`);
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
          SET last_status = ${sqlLiteral('In Progress')},
              last_status_date_time = CURRENT_TIMESTAMP,
              last_status_message = 'Loading',
              last_load_date_time = CURRENT_TIMESTAMP,
              last_heartbeat_at = CURRENT_TIMESTAMP
        WHERE config_id = $1
          AND last_run_id = $2
          AND (last_status = ${sqlLiteral('Queued')}
               OR (last_status = ${sqlLiteral('In Progress')}
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
        WHERE config_id = $1 AND last_run_id = $2 AND last_status = ${sqlLiteral('In Progress')}`,
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
  /** Databricks: the statement id of the committing statement, kept in last_databricks_run. */
  databricksRun?: string;
  /** The schema the load wrote to, recorded in history when destination_table_schema is empty (a dbconfig default). */
  targetSchema?: string;
}

export interface RunTiming {
  queuedAt: Date | null;
  startedAt: Date;
  endedAt: Date;
}

/**
 * In Progress -> Succeeded | Failed, with the run's historical_metadata row, in
 * one control transaction (called after the destination has committed). Returns
 * false, writing nothing, when the row is no longer In Progress for this run: it
 * moved on to another run, was reaped or reset, or this run was already finished
 * (a retried finishRun whose first reply was lost writes no second history row).
 * The watermark then stays where it was and the next run reads the window again,
 * which every strategy's write makes idempotent.
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
              last_databricks_run = COALESCE($8, last_databricks_run),
              last_heartbeat_at = NULL
        WHERE config_id = $1 AND last_run_id = $2 AND last_status = ${sqlLiteral('In Progress')}
        RETURNING *`,
      [
        configId,
        runId,
        outcome.status,
        outcome.message,
        outcome.watermark !== undefined,
        outcome.watermark ?? null,
        outcome.resetLoadFull ?? false,
        outcome.databricksRun ?? null,
      ],
    );
    const row = rows[0];
    if (!row) return false;
    const target = { ...row, destination_table_schema: row.destination_table_schema ?? outcome.targetSchema ?? null };
    await insertRunHistory(client, target, runId, outcome.status, outcome.message, outcome.rowsProcessed, timing);
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

/**
 * Sets a row Failed outside a run (a config the sensor cannot schedule), naming
 * the field in the message. Takes a client in a transaction, not a pool: the
 * runtime mark is transaction-local and must be on the connection that updates.
 */
export async function failRow(db: pg.ClientBase, configId: number, message: string): Promise<void> {
  await markRuntimeWrite(db);
  await db.query(
    `UPDATE control.table_control
        SET last_status = ${sqlLiteral('Failed')}, last_status_date_time = CURRENT_TIMESTAMP, last_status_message = $2
      WHERE config_id = $1`,
    [configId, message],
  );
}

/** One due row the sensor claims: NULL | Succeeded | Failed -> Queued. */
export interface ClaimRequest {
  configId: number;
  /** The row version (xmin) the sensor read: the claim applies only to that version. */
  rowVersion: string;
  runId: string;
  /** The row's next_load_date_time when read: the schedule slot this run is for. */
  slot: Date;
  /** The following next_load_date_time, from load_cron. */
  nextLoadDateTime: Date;
}

export interface ClaimedRow {
  config_id: number;
  last_run_id: string;
  control_key_hex: string;
}

/**
 * Due -> Queued for many rows in one statement: sets the run id, the queued
 * time (`queuedAt`, the database's clock) and the following next load time.
 * A row is claimed only if it is still the version the sensor read and still
 * due-able (active, not Queued or In Progress), so a row edited or claimed by
 * someone else in the meantime is left alone. Returns the rows claimed; the
 * caller writes their messages in the same transaction.
 */
export async function claimRows(client: Queryable, claims: ClaimRequest[], queuedAt: Date): Promise<ClaimedRow[]> {
  if (claims.length === 0) return [];
  await markRuntimeWrite(client);
  const { rows } = await client.query<ClaimedRow>(
    `UPDATE control.table_control t
        SET last_status = ${sqlLiteral('Queued')},
            last_status_date_time = $6,
            last_status_message = 'Queued for the load due at ' || c.slot_text,
            last_run_id = c.run_id,
            last_queued_at = $6,
            last_heartbeat_at = NULL,
            next_load_date_time = c.next_load_date_time
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamp[])
              AS c(config_id, row_version, run_id, slot_text, next_load_date_time)
      WHERE t.config_id = c.config_id
        AND t.xmin = c.row_version::xid
        AND t.is_active = true
        AND (t.last_status IS NULL OR t.last_status NOT IN (${sqlLiteral('Queued')}, ${sqlLiteral('In Progress')}))
      RETURNING t.config_id, t.last_run_id, encode(t.control_key, 'hex') AS control_key_hex`,
    [
      claims.map((c) => c.configId),
      claims.map((c) => c.rowVersion),
      claims.map((c) => c.runId),
      claims.map((c) => c.slot.toISOString()),
      claims.map((c) => c.nextLoadDateTime),
      queuedAt,
    ],
  );
  return rows;
}

/** A row whose configuration cannot be scheduled, and why (naming the field and the fix). */
export interface ConfigFailure {
  configId: number;
  /** The row version (xmin) that was checked: a row edited since is left alone. */
  rowVersion: string;
  message: string;
}

/**
 * Sets rows with a configuration the sensor cannot schedule Failed, with the
 * message, and clears next_load_date_time so they do not fail again every
 * tick. The sensor schedules such a row again once it is edited
 * (last_modified_at after last_status_date_time).
 */
export async function failInvalidConfigs(client: Queryable, failures: ConfigFailure[]): Promise<number> {
  if (failures.length === 0) return 0;
  await markRuntimeWrite(client);
  const { rowCount } = await client.query(
    `UPDATE control.table_control t
        SET last_status = ${sqlLiteral('Failed')},
            last_status_date_time = CURRENT_TIMESTAMP,
            last_status_message = f.message,
            next_load_date_time = NULL
       FROM unnest($1::bigint[], $2::text[], $3::text[]) AS f(config_id, row_version, message)
      WHERE t.config_id = f.config_id
        AND t.xmin = f.row_version::xid
        AND (t.last_status IS NULL OR t.last_status NOT IN (${sqlLiteral('Queued')}, ${sqlLiteral('In Progress')}))`,
    [failures.map((f) => f.configId), failures.map((f) => f.rowVersion), failures.map((f) => f.message)],
  );
  return rowCount ?? 0;
}

export interface ReapLimits {
  /** QUEUED_TIMEOUT_MINUTES: counted from last_status_date_time (when it was queued). */
  queuedTimeoutMinutes: number;
  /** IN_PROGRESS_TIMEOUT_MINUTES: counted from the last heartbeat (or the start, before the first). */
  inProgressTimeoutMinutes: number;
  /** Rows reaped per transaction. */
  batchSize: number;
}

export interface ReapedRun {
  configId: number;
  runId: string | null;
  /** The status the run timed out in. */
  timedOut: 'Queued' | 'In Progress';
  message: string;
}

type ReapCandidate = ControlRow & { reaped_at: Date };

/**
 * Queued | In Progress -> Failed on timeout, with a historical_metadata row per
 * run, for up to `batchSize` rows in one transaction. The rows are locked FOR
 * UPDATE SKIP LOCKED and their timeout is checked on the latest committed
 * version, so reapers running at once each take different rows and a row that
 * a loader started or heartbeated meanwhile is not reaped: each run is reaped
 * exactly once. Returns the runs reaped (none when nothing timed out).
 *
 * The running clock of an In Progress row counts from
 * COALESCE(last_heartbeat_at, last_load_date_time): a loader heartbeats every
 * HEARTBEAT_INTERVAL_SECONDS while it runs, so only a load that has shown no
 * sign of life for IN_PROGRESS_TIMEOUT_MINUTES is failed, however long it runs.
 */
export async function reapTimedOutRuns(pool: pg.Pool, limits: ReapLimits): Promise<ReapedRun[]> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows } = await client.query<ReapCandidate>(
      `SELECT *, CURRENT_TIMESTAMP AS reaped_at
         FROM control.table_control
        WHERE (last_status = ${sqlLiteral('Queued')}
               AND COALESCE(last_status_date_time, '-infinity') < CURRENT_TIMESTAMP - make_interval(mins => $1))
           OR (last_status = ${sqlLiteral('In Progress')}
               AND COALESCE(last_heartbeat_at, last_load_date_time, last_status_date_time, '-infinity')
                   < CURRENT_TIMESTAMP - make_interval(mins => $2))
        ORDER BY config_id
        LIMIT $3
        FOR UPDATE SKIP LOCKED`,
      [limits.queuedTimeoutMinutes, limits.inProgressTimeoutMinutes, limits.batchSize],
    );
    if (rows.length === 0) return [];
    const reaped = rows.map((row) => ({ row, run: describeReap(row, limits) }));
    await client.query(
      `UPDATE control.table_control t
          SET last_status = ${sqlLiteral('Failed')},
              last_status_date_time = CURRENT_TIMESTAMP,
              last_status_message = r.message,
              last_heartbeat_at = NULL
         FROM unnest($1::bigint[], $2::text[]) AS r(config_id, message)
        WHERE t.config_id = r.config_id`,
      [reaped.map((r) => r.run.configId), reaped.map((r) => r.run.message)],
    );
    for (const { row, run } of reaped) {
      if (!row.control_key) continue; // historical_metadata needs a control_key; the row's message still says why it failed.
      const queuedAt = row.last_queued_at ?? (run.timedOut === 'Queued' ? row.last_status_date_time : null);
      // A run that never started counts its time from being queued.
      const startedAt = run.timedOut === 'Queued' ? (queuedAt ?? row.reaped_at) : (row.last_load_date_time ?? row.last_status_date_time ?? row.reaped_at);
      await insertRunHistory(client, row, row.last_run_id ?? row.last_dagster_run ?? '', 'Failed', run.message, 0, {
        queuedAt,
        startedAt,
        endedAt: row.reaped_at,
      });
    }
    return reaped.map((r) => r.run);
  });
}

function describeReap(row: ReapCandidate, limits: ReapLimits): ReapedRun {
  const at = (d: Date | null | undefined) => (d ? d.toISOString() : 'an unknown time');
  if (row.last_status === 'Queued') {
    return {
      configId: row.config_id,
      runId: row.last_run_id,
      timedOut: 'Queued',
      message:
        `Timed out: Queued for more than ${limits.queuedTimeoutMinutes} minutes (QUEUED_TIMEOUT_MINUTES) since ` +
        `${at(row.last_status_date_time)} without a loader starting it; check that the loader runs and receives from the queue. ` +
        'The row is due again at its next scheduled time.',
    };
  }
  return {
    configId: row.config_id,
    runId: row.last_run_id,
    timedOut: 'In Progress',
    message:
      `Timed out: In Progress with no heartbeat for more than ${limits.inProgressTimeoutMinutes} minutes (IN_PROGRESS_TIMEOUT_MINUTES); ` +
      `last sign of life at ${at(row.last_heartbeat_at ?? row.last_load_date_time)}. The loader stopped or lost the control database; ` +
      'the row is due again at its next scheduled time.',
  };
}

/**
 * Any status -> NULL, by an admin (status_reset). The run id and heartbeat are
 * cleared too, so a load still running for the old run can no longer finish or
 * heartbeat it (finishRun and heartbeat match on last_run_id). Not a runtime
 * write: the caller's transaction carries the admin's change source, and the
 * change is audited. Returns the ids reset.
 */
export async function resetStatus(db: Queryable, configIds: number[], message: string): Promise<number[]> {
  const { rows } = await db.query<{ config_id: number }>(
    `UPDATE control.table_control
        SET last_status = NULL,
            last_status_date_time = CURRENT_TIMESTAMP,
            last_status_message = $2,
            last_run_id = NULL,
            last_heartbeat_at = NULL
      WHERE config_id = ANY($1::bigint[])
      RETURNING config_id`,
    [configIds, message],
  );
  return rows.map((r) => r.config_id).sort((a, b) => a - b);
}

/**
 * Makes a row due now, by an admin (run now): next_load_date_time = now, and a
 * finished status (Succeeded, Failed) back to NULL so the row reads as waiting
 * for its run. Rows Queued or In Progress are left alone; returns whether the
 * row was changed. Audited under the caller's change source.
 */
export async function makeDueNow(db: Queryable, configId: number, message: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE control.table_control
        SET next_load_date_time = CURRENT_TIMESTAMP,
            last_status = NULL,
            last_status_date_time = CASE WHEN last_status IS NULL THEN last_status_date_time ELSE CURRENT_TIMESTAMP END,
            last_status_message = CASE WHEN last_status IS NULL THEN last_status_message ELSE $2 END
      WHERE config_id = $1
        AND (last_status IS NULL OR last_status NOT IN (${sqlLiteral('Queued')}, ${sqlLiteral('In Progress')}))`,
    [configId, message],
  );
  return rowCount === 1;
}
