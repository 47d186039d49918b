/**
 * The sensor's statements, one per named function. Status transitions
 * (claiming, failing a bad config) are in shared/control/status.ts; these
 * read due rows, count in-flight loads, set first load times and keep the
 * outbox.
 */
import { sqlLiteral } from '../control/rows.js';
import type { Queryable } from '../db/pool.js';
import type { LoadMessage } from '../queue/message.js';
import type { ConfigFields } from '../strategies/config.js';

/**
 * Claims are serialised across every sensor by this transaction-level advisory
 * lock (an arbitrary constant, "dl-sensor"). A claim batch is a few set-based
 * statements, so serialising costs little and makes the per-source limit exact.
 */
export const SENSOR_CLAIM_LOCK = 0x646c2d73656e736fn;

/** Waits up to `timeoutMs` for the claim lock; rejects with SQLSTATE 55P03 when another sensor holds it longer. */
export async function lockClaims(db: Queryable, timeoutMs: number): Promise<void> {
  await db.query(`SELECT set_config('lock_timeout', $1, true)`, [`${Math.max(1, Math.round(timeoutMs))}ms`]);
  await db.query('SELECT pg_advisory_xact_lock($1)', [SENSOR_CLAIM_LOCK.toString()]);
  // Back to the server's setting for the rest of the claim.
  await db.query(`SELECT set_config('lock_timeout', reset_val, true) FROM pg_settings WHERE name = 'lock_timeout'`);
}

/** The database's clock now (not the transaction's start): due times and next times are computed from it. */
export async function currentTime(db: Queryable): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return rows[0]!.now;
}

/**
 * Where a scan of due rows resumes within a tick: at `dueText`, skipping the
 * rows at exactly that time it already passed over (held back). Rows due
 * earlier are behind the cursor and never read again in the tick.
 */
export interface DueCursor {
  /** next_load_date_time as PostgreSQL prints it: exact to the microsecond, unlike a JavaScript Date. */
  dueText: string;
  /** config_ids due at exactly `dueText` that were read and left due. */
  passed: number[];
}

export const DUE_CURSOR_START: DueCursor = { dueText: '-infinity', passed: [] };

export type DueRow = ConfigFields & {
  config_id: number;
  /** control_key, hex; NULL when a source identifier is missing. */
  control_key_hex: string | null;
  row_version: string;
  load_cron: string | null;
  next_load_date_time: Date;
  due_text: string;
};

/** The columns of a due row: what the claim and the one rule set (checkLoadConfig) read. */
const DUE_COLUMNS = `config_id, xmin::text AS row_version, db_config_key, source_table_catalog, source_table_schema,
            source_table_name, query, destination_table_schema, destination_table_name,
            encode(control_key, 'hex') AS control_key_hex, load_strategy, load_full, load_cron,
            incremental_column, incremental_type, incremental_value, incremental_lookback, primary_key_cols, rolling_column, rolling_days,
            partition_column, lower_bound, upper_bound, num_partitions,
            next_load_date_time, next_load_date_time::text AS due_text`;

/**
 * The seed's sensor query (active, due, not Queued or In Progress, oldest due
 * first), resumed at `cursor` and limited to `limit` rows. It walks the partial
 * index idx_table_control_due (migration 002) in order and stops after `limit`
 * rows, so its cost follows the rows it returns, not the size of the table.
 * Ordering by the index's column alone (not adding config_id to break ties)
 * keeps it a plain index scan: with many rows due at the same instant, a
 * tie-breaking sort would read every row of that instant on every batch.
 */
export async function selectDueRows(db: Queryable, now: Date, cursor: DueCursor, limit: number): Promise<DueRow[]> {
  const { rows } = await db.query<DueRow>(
    `SELECT ${DUE_COLUMNS}
       FROM control.table_control
      WHERE is_active = true
        AND next_load_date_time <= $1
        AND (last_status IS NULL OR last_status NOT IN (${sqlLiteral('Queued')}, ${sqlLiteral('In Progress')}))
        AND next_load_date_time >= $2::timestamp
        AND config_id <> ALL($3::bigint[])
      ORDER BY next_load_date_time
      LIMIT $4`,
    [now, cursor.dueText, cursor.passed, limit],
  );
  return rows;
}

/** Up to `limit` due rows of one source, oldest due first (dispatch on finish). */
export async function selectDueRowsOfSource(db: Queryable, now: Date, dbConfigKey: string, limit: number): Promise<DueRow[]> {
  const { rows } = await db.query<DueRow>(
    `SELECT ${DUE_COLUMNS}
       FROM control.table_control
      WHERE is_active = true
        AND db_config_key = $2
        AND next_load_date_time <= $1
        AND (last_status IS NULL OR last_status NOT IN (${sqlLiteral('Queued')}, ${sqlLiteral('In Progress')}))
      ORDER BY next_load_date_time
      LIMIT $3`,
    [now, dbConfigKey, limit],
  );
  return rows;
}

/** The cursor after a batch: at its last row's due time, passing over the rows at that time not claimed. */
export function advanceCursor(cursor: DueCursor, rows: DueRow[], claimedIds: Set<number>): DueCursor {
  const last = rows.at(-1);
  if (!last) return cursor;
  const passed = last.due_text === cursor.dueText ? [...cursor.passed] : [];
  for (const row of rows) {
    if (row.due_text === last.due_text && !claimedIds.has(row.config_id)) passed.push(row.config_id);
  }
  return { dueText: last.due_text, passed };
}

/** Loads in flight (Queued or In Progress) per db_config_key, for the given keys. */
export async function countInFlight(db: Queryable, keys: string[]): Promise<Map<string, number>> {
  if (keys.length === 0) return new Map();
  const { rows } = await db.query<{ db_config_key: string; in_flight: number }>(
    `SELECT db_config_key, count(*)::int AS in_flight
       FROM control.table_control
      WHERE last_status IN (${sqlLiteral('Queued')}, ${sqlLiteral('In Progress')})
        AND db_config_key = ANY($1::text[])
      GROUP BY db_config_key`,
    [keys],
  );
  return new Map(rows.map((r) => [r.db_config_key, r.in_flight]));
}

export interface UnscheduledRow {
  config_id: number;
  row_version: string;
  load_cron: string;
  /** Never loaded nor queued: due at once. */
  is_new: boolean;
}

/**
 * Active rows with a cron but no next load time, after `afterConfigId`. Rows
 * the sensor failed for an invalid configuration (which clears the next time)
 * are left out until they are edited: last_modified_at after last_status_date_time.
 */
export async function selectUnscheduledRows(db: Queryable, afterConfigId: number, limit: number): Promise<UnscheduledRow[]> {
  const { rows } = await db.query<UnscheduledRow>(
    `SELECT config_id, xmin::text AS row_version, load_cron,
            (last_load_date_time IS NULL AND last_run_id IS NULL) AS is_new
       FROM control.table_control
      WHERE is_active = true
        AND next_load_date_time IS NULL
        AND load_cron IS NOT NULL
        AND config_id > $1
        AND (last_status IS DISTINCT FROM ${sqlLiteral('Failed')} OR last_modified_at > last_status_date_time)
      ORDER BY config_id
      LIMIT $2`,
    [afterConfigId, limit],
  );
  return rows;
}

/** Sets the first next_load_date_time of rows still unscheduled and unchanged since read (a runtime write). */
export async function setFirstLoadTimes(
  db: Queryable,
  times: { configId: number; rowVersion: string; next: Date }[],
): Promise<number> {
  if (times.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE control.table_control t
        SET next_load_date_time = s.next
       FROM unnest($1::bigint[], $2::text[], $3::timestamp[]) AS s(config_id, row_version, next)
      WHERE t.config_id = s.config_id
        AND t.xmin = s.row_version::xid
        AND t.next_load_date_time IS NULL`,
    [times.map((t) => t.configId), times.map((t) => t.rowVersion), times.map((t) => t.next)],
  );
  return rowCount ?? 0;
}

export interface OutboxMessage {
  messageId: string;
  configId: number;
  body: LoadMessage;
}

/**
 * Writes claimed rows' messages to the outbox (in the claim's transaction). A
 * message_id already there (the same row and slot claimed again, after an
 * admin moved next_load_date_time back) is replaced and sent again.
 */
export async function insertOutbox(db: Queryable, messages: OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await db.query(
    `INSERT INTO control.load_outbox (message_id, config_id, body)
     SELECT m.message_id, m.config_id, m.body::jsonb
       FROM unnest($1::text[], $2::bigint[], $3::text[]) AS m(message_id, config_id, body)
     ON CONFLICT (message_id) DO UPDATE
        SET config_id = EXCLUDED.config_id, body = EXCLUDED.body, created_at = now(), sent_at = NULL`,
    [messages.map((m) => m.messageId), messages.map((m) => m.configId), messages.map((m) => JSON.stringify(m.body))],
  );
}

/**
 * Locks up to `limit` unsent outbox messages, oldest first, skipping those
 * another sensor is sending right now.
 */
export async function lockUnsentOutbox(db: Queryable, limit: number): Promise<{ message_id: string; body: LoadMessage }[]> {
  const { rows } = await db.query<{ message_id: string; body: LoadMessage }>(
    `SELECT message_id, body
       FROM control.load_outbox
      WHERE sent_at IS NULL
      ORDER BY created_at, message_id
      LIMIT $1
      FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows;
}

export async function markOutboxSent(db: Queryable, messageIds: string[]): Promise<void> {
  await db.query(`UPDATE control.load_outbox SET sent_at = now() WHERE message_id = ANY($1::text[])`, [messageIds]);
}

/** Deletes messages sent longer ago than `retentionHours` (kept meanwhile to see what was sent when). */
export async function pruneSentOutbox(db: Queryable, retentionHours: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM control.load_outbox WHERE sent_at < now() - make_interval(hours => $1)`,
    [retentionHours],
  );
  return rowCount ?? 0;
}
