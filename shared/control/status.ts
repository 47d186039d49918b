/**
 * The status machine of table_control. This module is the only code that writes
 * `last_status`: every write stamps `last_status_date_time` and the message.
 *
 *   NULL -> Queued (sensor, or a finishing load of the same source) -> In Progress (loader)
 *     -> Succeeded | Failed (history Succeeded | Failed)
 *   Queued | In Progress -> Failed (reaper, on timeout)
 *   Queued (deactivated) | In Progress (deactivated) -> NULL (history Cancelled)
 *   any -> NULL (status_reset by an admin; a run Queued or In Progress gets a Cancelled history row)
 *
 * Runtime writes mark their transaction with `dataloader.change_source = 'runtime'`
 * so that the audit trigger can tell them from configuration changes.
 */
import type pg from 'pg';
import type { Queryable } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import type { LoadStatus, RunStatus, TableControlRow } from './rows.js';

export type { LoadStatus } from './rows.js';

/** A table_control row with the run-tracking columns added by migrations 003 and 004. */
export type ControlRow = TableControlRow & {
  last_run_id: string | null;
  last_heartbeat_at: Date | null;
  /** When the sensor queued the current run (migration 004). */
  last_queued_at?: Date | null;
  /** The attempt holding the run, and until when (migration 007). */
  lease_owner?: string | null;
  lease_expires_at?: Date | null;
  /** Consecutive runs failed transiently (migration 007). */
  retry_count?: number | null;
  /** The table's own lookback for late commits (migration 011); NULL: the setting. */
  incremental_lookback?: string | null;
};

/** Marks the current transaction's writes as runtime (status, watermark), not configuration. */
export async function markRuntimeWrite(client: Queryable): Promise<void> {
  await client.query(`SELECT set_config('dataloader.change_source', 'runtime', true)`);
}

/** One attempt's hold on a run: only the current owner's writes count. */
export interface Lease {
  configId: number;
  runId: string;
  /** This attempt's token (table_control.lease_owner). */
  owner: string;
  /** How long a renewal keeps the lease. */
  seconds: number;
}

/** Thrown by a fenced write whose attempt no longer holds the run's lease. */
export class LeaseLostError extends Error {
  constructor(lease: Lease, what: string) {
    super(`run ${lease.runId} of table_control row ${lease.configId} is no longer this attempt's (its lease was lost); ${what} not written`);
    this.name = 'LeaseLostError';
  }
}

export type StartResult =
  /** The run is this attempt's; `startedAt` is the run's first start (its deadline counts from it), `now` the database's clock. */
  | { kind: 'started'; row: ControlRow; startedAt: Date; now: Date; tookOver: boolean }
  /** Another attempt holds a live lease on the run: check again later. */
  | { kind: 'busy'; leaseExpiresAt: Date; now: Date }
  /** The row was deactivated while queued: its run ended Cancelled. */
  | { kind: 'cancelled' }
  /** The message names no run the row is Queued or In Progress for (duplicate or stale). */
  | { kind: 'stale' };

type StartCandidate = ControlRow & { db_now: Date; lease_live: boolean };

/**
 * Queued -> In Progress for the run the row is queued for, under a new lease
 * owned by `lease.owner`. A run In Progress whose lease has expired (its
 * attempt died, froze or lost the control database) is taken over, and the
 * attempt it was taken from gets a Cancelled history row; a live lease makes
 * the message come back later ('busy'). A row deactivated while its message
 * was queued is not loaded: its run ends Cancelled, with a history row.
 */
export async function startRun(pool: pg.Pool, lease: Lease): Promise<StartResult> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows } = await client.query<StartCandidate>(
      `SELECT *, CURRENT_TIMESTAMP AS db_now,
              COALESCE(lease_expires_at,
                       COALESCE(last_heartbeat_at, last_load_date_time) + make_interval(secs => $3)) > CURRENT_TIMESTAMP AS lease_live
         FROM control.table_control
        WHERE config_id = $1 AND last_run_id = $2 AND last_status IN ('Queued', 'In Progress')
        FOR UPDATE`,
      [lease.configId, lease.runId, lease.seconds],
    );
    const current = rows[0];
    if (!current) return { kind: 'stale' };
    if (current.last_status === 'In Progress' && current.lease_live) {
      return { kind: 'busy', leaseExpiresAt: current.lease_expires_at ?? current.db_now, now: current.db_now };
    }
    if (current.last_status === 'Queued' && current.is_active !== true) {
      await endRunCancelled(client, current, 'Cancelled: the row was deactivated while its load was queued; nothing was loaded', {
        queuedAt: current.last_queued_at ?? null,
        startedAt: current.db_now,
        endedAt: current.db_now,
      });
      return { kind: 'cancelled' };
    }
    const tookOver = current.last_status === 'In Progress';
    const { rows: started } = await client.query<ControlRow>(
      `UPDATE control.table_control
          SET last_status = 'In Progress',
              last_status_date_time = CURRENT_TIMESTAMP,
              last_status_message = CASE WHEN $4 THEN 'Loading (taken over after the previous attempt lost its lease)' ELSE 'Loading' END,
              last_load_date_time = CASE WHEN $4 THEN COALESCE(last_load_date_time, CURRENT_TIMESTAMP) ELSE CURRENT_TIMESTAMP END,
              last_heartbeat_at = CURRENT_TIMESTAMP,
              lease_owner = $2,
              lease_expires_at = CURRENT_TIMESTAMP + make_interval(secs => $3)
        WHERE config_id = $1
        RETURNING *`,
      [lease.configId, lease.owner, lease.seconds, tookOver],
    );
    const row = started[0]!;
    if (tookOver && row.control_key) {
      const since = current.last_heartbeat_at ?? current.last_load_date_time;
      await insertRunHistory(
        client,
        row,
        lease.runId,
        'Cancelled',
        `Cancelled: the attempt ${current.lease_owner ?? '(unknown)'} lost its lease (no renewal since ${since ? since.toISOString() : 'its start'}); the run was taken over by attempt ${lease.owner}`,
        0,
        { queuedAt: current.last_queued_at ?? null, startedAt: current.last_load_date_time ?? current.db_now, endedAt: current.db_now },
      );
    }
    return { kind: 'started', row, startedAt: row.last_load_date_time ?? current.db_now, now: current.db_now, tookOver };
  });
}

/** Ends a row's current run Cancelled: status NULL with the message, lease cleared, a Cancelled history row. */
async function endRunCancelled(client: pg.ClientBase, row: ControlRow, message: string, timing: RunTiming): Promise<void> {
  await client.query(
    `UPDATE control.table_control
        SET last_status = NULL, last_status_date_time = CURRENT_TIMESTAMP, last_status_message = $2,
            last_heartbeat_at = NULL, lease_owner = NULL, lease_expires_at = NULL
      WHERE config_id = $1`,
    [row.config_id, message],
  );
  if (row.control_key) await insertRunHistory(client, row, row.last_run_id ?? '', 'Cancelled', message, 0, timing);
}

export type HeartbeatResult = 'alive' | 'lost' | 'deactivated';

/**
 * Renews the attempt's lease and proves the run alive ('alive'); 'lost' when
 * the run is no longer this attempt's (reaped, reset, taken over), 'deactivated'
 * when an admin turned the row off while it runs (the attempt then cancels).
 */
export async function heartbeat(pool: pg.Pool, lease: Lease, message?: string): Promise<HeartbeatResult> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows } = await client.query<{ is_active: boolean | null }>(
      `UPDATE control.table_control
          SET last_heartbeat_at = CURRENT_TIMESTAMP,
              lease_expires_at = CURRENT_TIMESTAMP + make_interval(secs => $4),
              last_status_message = COALESCE($5, last_status_message)
        WHERE config_id = $1 AND last_run_id = $2 AND lease_owner = $3 AND last_status = 'In Progress'
        RETURNING is_active`,
      [lease.configId, lease.runId, lease.owner, lease.seconds, message ?? null],
    );
    if (rows.length === 0) return 'lost';
    return rows[0]!.is_active === true ? 'alive' : 'deactivated';
  });
}

/**
 * Locks the run's row for the rest of `client`'s transaction if `lease` still
 * holds it, else throws LeaseLostError: a fenced write of progress runs after
 * this in the same transaction, so it commits only for the current owner.
 */
export async function assertLeaseHeld(client: Queryable, lease: Lease, what: string): Promise<void> {
  const { rowCount } = await client.query(
    `SELECT 1 FROM control.table_control
      WHERE config_id = $1 AND last_run_id = $2 AND lease_owner = $3 AND last_status = 'In Progress'
      FOR SHARE`,
    [lease.configId, lease.runId, lease.owner],
  );
  if (rowCount !== 1) throw new LeaseLostError(lease, what);
}

/** An attempt ends its run Cancelled (the row was deactivated while it ran); false when the lease was lost. */
export async function cancelRun(pool: pg.Pool, lease: Lease, message: string, timing: RunTiming): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows } = await client.query<ControlRow>(
      `SELECT * FROM control.table_control
        WHERE config_id = $1 AND last_run_id = $2 AND lease_owner = $3 AND last_status = 'In Progress'
        FOR UPDATE`,
      [lease.configId, lease.runId, lease.owner],
    );
    if (!rows[0]) return false;
    await endRunCancelled(client, rows[0], message, timing);
    return true;
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
  /** A Failed run whose last error was transient: due again after a backoff (RETRY_BACKOFF_MINUTES). */
  transient?: boolean;
  /** Due again this many seconds after finishing (a backfill with chunks left), unless its cron comes first. */
  dueAgainAfterSeconds?: number;
}

export interface RunTiming {
  queuedAt: Date | null;
  startedAt: Date;
  endedAt: Date;
}

export interface FinishPolicy {
  /** RETRY_BACKOFF_MINUTES: the wait after the 1st, 2nd, ... consecutive transient failure (the last repeats). */
  backoffMinutes: number[];
}

/** Runs in the finishing transaction after the row is written (queues the source's next due row). */
export type AfterFinish = (client: pg.ClientBase, row: ControlRow) => Promise<void>;

type FinishCandidate = ControlRow & { db_now: Date };

/**
 * When a finished run's row is due again: the earlier of its next cron slot
 * and, for a transient failure, the backoff step for its consecutive failures
 * (or, for a backfill with chunks left, its pause). Returns the next time, the
 * retry count to keep, and the words the status message ends with.
 */
export function dueAgain(
  row: Pick<ControlRow, 'next_load_date_time' | 'retry_count'>,
  outcome: Pick<RunOutcome, 'status' | 'transient' | 'dueAgainAfterSeconds'>,
  now: Date,
  policy: FinishPolicy,
): { next: Date | null; retryCount: number | null; note: string } {
  const cron = row.next_load_date_time;
  let retryCount: number | null = null;
  let wait: number | undefined;
  let why = '';
  if (outcome.status === 'Failed' && outcome.transient && policy.backoffMinutes.length > 0) {
    retryCount = (row.retry_count ?? 0) + 1;
    wait = policy.backoffMinutes[Math.min(retryCount, policy.backoffMinutes.length) - 1]! * 60_000;
    why = `retry ${retryCount} after a transient failure`;
  } else if (outcome.status === 'Succeeded' && outcome.dueAgainAfterSeconds !== undefined) {
    wait = outcome.dueAgainAfterSeconds * 1000;
    why = 'to continue';
  }
  if (wait === undefined) return { next: cron, retryCount, note: '' };
  const soon = new Date(now.getTime() + wait);
  if (cron && cron.getTime() <= soon.getTime()) {
    return { next: cron, retryCount, note: `; due again at its next scheduled time ${cron.toISOString()}` };
  }
  return { next: soon, retryCount, note: `; due again at ${soon.toISOString()} (${why})` };
}

/**
 * In Progress -> Succeeded | Failed, with the run's historical_metadata row, in
 * one control transaction (called after the destination has committed), only
 * for the attempt that holds the run's lease. Returns false, writing nothing,
 * when the run is no longer this attempt's: it moved on to another run, was
 * reaped, reset or taken over, or this run was already finished (a retried
 * finishRun whose first reply was lost writes no second history row). The
 * watermark then stays where it was and the next run reads the window again,
 * which every strategy's write makes idempotent.
 *
 * The row is due again at its next cron slot, or sooner after a transient
 * failure (a backoff) or for a backfill with chunks left (dueAgain). `afterFinish`
 * runs in the same transaction: the loader queues its source's next due row there.
 */
export async function finishRun(
  pool: pg.Pool,
  lease: Lease,
  outcome: RunOutcome,
  timing: RunTiming,
  policy: FinishPolicy,
  afterFinish?: AfterFinish,
): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows: held } = await client.query<FinishCandidate>(
      `SELECT *, CURRENT_TIMESTAMP AS db_now FROM control.table_control
        WHERE config_id = $1 AND last_run_id = $2 AND lease_owner = $3 AND last_status = 'In Progress'
        FOR UPDATE`,
      [lease.configId, lease.runId, lease.owner],
    );
    const current = held[0];
    if (!current) return false;
    const again = dueAgain(current, outcome, current.db_now, policy);
    const { rows } = await client.query<ControlRow>(
      `UPDATE control.table_control
          SET last_status = $2,
              last_status_date_time = CURRENT_TIMESTAMP,
              last_status_message = $3,
              incremental_value = CASE WHEN $4::boolean THEN $5 ELSE incremental_value END,
              load_full = CASE WHEN $6::boolean THEN NULL ELSE load_full END,
              next_load_date_time = $7,
              retry_count = $8,
              last_databricks_run = COALESCE($9, last_databricks_run),
              last_heartbeat_at = NULL,
              lease_owner = NULL,
              lease_expires_at = NULL
        WHERE config_id = $1
        RETURNING *`,
      [
        lease.configId,
        outcome.status,
        outcome.message + again.note,
        outcome.watermark !== undefined,
        outcome.watermark ?? null,
        outcome.resetLoadFull ?? false,
        again.next,
        again.retryCount,
        outcome.databricksRun ?? null,
      ],
    );
    const row = rows[0]!;
    const target = { ...row, destination_table_schema: row.destination_table_schema ?? outcome.targetSchema ?? null };
    await insertRunHistory(client, target, lease.runId, outcome.status, outcome.message + again.note, outcome.rowsProcessed, timing);
    await afterFinish?.(client, row);
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
        SET last_status = 'Failed', last_status_date_time = CURRENT_TIMESTAMP, last_status_message = $2
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
        SET last_status = 'Queued',
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
        AND (t.last_status IS NULL OR t.last_status NOT IN ('Queued', 'In Progress'))
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
        SET last_status = 'Failed',
            last_status_date_time = CURRENT_TIMESTAMP,
            last_status_message = f.message,
            next_load_date_time = NULL
       FROM unnest($1::bigint[], $2::text[], $3::text[]) AS f(config_id, row_version, message)
      WHERE t.config_id = f.config_id
        AND t.xmin = f.row_version::xid
        AND (t.last_status IS NULL OR t.last_status NOT IN ('Queued', 'In Progress'))`,
    [failures.map((f) => f.configId), failures.map((f) => f.rowVersion), failures.map((f) => f.message)],
  );
  return rowCount ?? 0;
}

export interface ReapLimits {
  /** QUEUED_TIMEOUT_MINUTES: counted from last_status_date_time (when it was queued). */
  queuedTimeoutMinutes: number;
  /** IN_PROGRESS_TIMEOUT_MINUTES: counted from the run's start, whatever its heartbeat (the seed's absolute rule). */
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
 * An In Progress run is failed IN_PROGRESS_TIMEOUT_MINUTES after its start
 * (last_load_date_time), whatever its heartbeat: the loader ends its own run at
 * that deadline, so this is the backstop for a loader that died or hangs
 * inside a driver. Its lease is cleared, so a late write of that loader is
 * refused.
 */
export async function reapTimedOutRuns(pool: pg.Pool, limits: ReapLimits): Promise<ReapedRun[]> {
  return withTransaction(pool, async (client) => {
    await markRuntimeWrite(client);
    const { rows } = await client.query<ReapCandidate>(
      `SELECT *, CURRENT_TIMESTAMP AS reaped_at
         FROM control.table_control
        WHERE (last_status = 'Queued'
               AND COALESCE(last_status_date_time, '-infinity') < CURRENT_TIMESTAMP - make_interval(secs => $1 * 60))
           OR (last_status = 'In Progress'
               AND COALESCE(last_load_date_time, last_status_date_time, '-infinity')
                   < CURRENT_TIMESTAMP - make_interval(secs => $2 * 60))
        ORDER BY config_id
        LIMIT $3
        FOR UPDATE SKIP LOCKED`,
      [limits.queuedTimeoutMinutes, limits.inProgressTimeoutMinutes, limits.batchSize],
    );
    if (rows.length === 0) return [];
    const reaped = rows.map((row) => ({ row, run: describeReap(row, limits) }));
    await client.query(
      `UPDATE control.table_control t
          SET last_status = 'Failed',
              last_status_date_time = CURRENT_TIMESTAMP,
              last_status_message = r.message,
              last_heartbeat_at = NULL,
              lease_owner = NULL,
              lease_expires_at = NULL
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
      `Timed out: In Progress for more than ${limits.inProgressTimeoutMinutes} minutes (IN_PROGRESS_TIMEOUT_MINUTES) since its start at ` +
      `${at(row.last_load_date_time)}; last sign of life at ${at(row.last_heartbeat_at ?? row.last_load_date_time)}. ` +
      'The loader did not end the run by its deadline (it died, hangs, or lost the control database); the row is due again at its next scheduled time.',
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
  const { rows } = await db.query<ControlRow & { was_status: string | null; db_now: Date }>(
    `WITH before AS (
       SELECT config_id, last_status AS was_status, last_run_id AS was_run_id, last_load_date_time AS was_started_at
         FROM control.table_control
        WHERE config_id = ANY($1::bigint[])
        FOR UPDATE
     )
     UPDATE control.table_control t
        SET last_status = NULL,
            last_status_date_time = CURRENT_TIMESTAMP,
            last_status_message = $2,
            last_run_id = NULL,
            last_heartbeat_at = NULL,
            lease_owner = NULL,
            lease_expires_at = NULL,
            retry_count = NULL
       FROM before b
      WHERE t.config_id = b.config_id
      RETURNING t.*, b.was_status, b.was_run_id AS last_run_id, b.was_started_at AS last_load_date_time, CURRENT_TIMESTAMP AS db_now`,
    [configIds, message],
  );
  // A run that was Queued or In Progress ends Cancelled, with its history row.
  for (const row of rows) {
    if ((row.was_status !== 'Queued' && row.was_status !== 'In Progress') || !row.control_key) continue;
    await insertRunHistory(db, row, row.last_run_id ?? '', 'Cancelled', `Cancelled: ${message} while ${row.was_status}`, 0, {
      queuedAt: row.last_queued_at ?? null,
      startedAt: row.was_status === 'In Progress' ? (row.last_load_date_time ?? row.db_now) : row.db_now,
      endedAt: row.db_now,
    });
  }
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
        AND (last_status IS NULL OR last_status NOT IN ('Queued', 'In Progress'))`,
    [configId, message],
  );
  return rowCount === 1;
}
