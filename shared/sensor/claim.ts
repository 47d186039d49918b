/**
 * One claim batch: in one transaction, under the sensor's advisory lock, read
 * the next due rows, fail those with an invalid configuration, hold back those
 * whose source is at its concurrency limit, set the rest Queued with their
 * following load time, and write one outbox message per claimed row.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { claimRows, failInvalidConfigs, type ClaimRequest, type ConfigFailure } from '../control/status.js';
import { withTransaction } from '../db/transaction.js';
import { loadMessageSchema, messageIdFor } from '../queue/message.js';
import { InvalidCronError, nextOccurrencesAfter } from '../schedule/cron.js';
import type { Settings } from '../settings.js';
import {
  advanceCursor,
  countInFlight,
  currentTime,
  insertOutbox,
  lockClaims,
  selectDueRows,
  type DueCursor,
  type DueRow,
  type OutboxMessage,
} from './sql.js';
import { checkLoadConfig, describeProblems } from '../strategies/config.js';

/** An invalid cron as a problem's message. */
export function cronMessage(error: InvalidCronError): string {
  return `${JSON.stringify(error.expression)} is not a valid cron expression (${error.reason}): fix it`;
}

/** The Failed message for a row the sensor cannot schedule. */
export function invalidConfigMessage(problems: string): string {
  return `Not queued, invalid configuration: ${problems}. The row is scheduled again once it is edited.`;
}

export type ClaimSettings = Pick<
  Settings,
  'SENSOR_BATCH_SIZE' | 'CRON_TIMEZONE' | 'SOURCE_CONCURRENCY_LIMIT' | 'SOURCE_CONCURRENCY_OVERRIDES'
>;

export interface ClaimBatchResult {
  /** Due rows read in this batch. */
  read: number;
  claimed: number;
  /** Held back by the per-source limit: they stay due and go first next time. */
  heldBack: number;
  failed: ConfigFailure[];
  /** Where the next batch resumes. */
  cursor: DueCursor;
  /** No due row is left after this batch. */
  exhausted: boolean;
}

/** The most loads of `dbConfigKey` that may be Queued or In Progress at once. */
export function sourceLimit(settings: ClaimSettings, dbConfigKey: string): number {
  return settings.SOURCE_CONCURRENCY_OVERRIDES[dbConfigKey] ?? settings.SOURCE_CONCURRENCY_LIMIT;
}

type NextOccurrence = ReturnType<typeof nextOccurrencesAfter>;

type Decision =
  | { kind: 'claim'; claim: ClaimRequest; row: DueRow }
  | { kind: 'fail'; failure: ConfigFailure }
  | { kind: 'hold' };

/** What to do with one due row, given the in-flight counts (updated for each claim). */
function decide(row: DueRow, nextAfterNow: NextOccurrence, settings: ClaimSettings, inFlight: Map<string, number>): Decision {
  const { problems } = checkLoadConfig(row, { configId: row.config_id });
  let next: Date | undefined;
  try {
    next = nextAfterNow(row.load_cron, String(row.config_id));
  } catch (error) {
    if (!(error instanceof InvalidCronError)) throw error;
    problems.unshift({ field: 'load_cron', message: cronMessage(error) });
  }
  if (problems.length > 0 || !next) {
    return { kind: 'fail', failure: { configId: row.config_id, rowVersion: row.row_version, message: invalidConfigMessage(describeProblems(problems)) } };
  }
  const key = row.db_config_key!;
  const used = inFlight.get(key) ?? 0;
  if (used >= sourceLimit(settings, key)) return { kind: 'hold' };
  inFlight.set(key, used + 1);
  return {
    kind: 'claim',
    row,
    claim: {
      configId: row.config_id,
      rowVersion: row.row_version,
      runId: randomUUID(),
      slot: row.next_load_date_time,
      nextLoadDateTime: next,
    },
  };
}

/** Claims the next batch of due rows after `cursor`; waits at most `lockTimeoutMs` for the claim lock. */
export async function claimDueBatch(
  pool: pg.Pool,
  settings: ClaimSettings,
  cursor: DueCursor,
  lockTimeoutMs: number,
): Promise<ClaimBatchResult> {
  return withTransaction(pool, async (client) => {
    await lockClaims(client, lockTimeoutMs);
    const now = await currentTime(client);
    const rows = await selectDueRows(client, now, cursor, settings.SENSOR_BATCH_SIZE);
    const result: ClaimBatchResult = {
      read: rows.length,
      claimed: 0,
      heldBack: 0,
      failed: [],
      cursor,
      exhausted: rows.length < settings.SENSOR_BATCH_SIZE,
    };
    if (rows.length === 0) return result;
    const claimed = await claimAndQueue(client, settings, rows, now, result);
    result.cursor = advanceCursor(cursor, rows, new Set(claimed));
    return result;
  });
}

/**
 * Decides each of `rows` (fail a bad config, hold back at the source's limit,
 * or claim), claims the chosen ones and writes their outbox messages, all in
 * `client`'s transaction (which holds the claim lock). Counts into `result`;
 * returns the config_ids claimed.
 */
export async function claimAndQueue(
  client: pg.ClientBase,
  settings: ClaimSettings,
  rows: DueRow[],
  now: Date,
  result: Pick<ClaimBatchResult, 'claimed' | 'heldBack' | 'failed'>,
  options: { failInvalid: boolean } = { failInvalid: true },
): Promise<number[]> {
  const keys = [...new Set(rows.map((r) => r.db_config_key).filter((k): k is string => k !== null))];
  const inFlight = await countInFlight(client, keys);
  const claims: ClaimRequest[] = [];
  const slots = new Map<number, Date>();
  const failed: ConfigFailure[] = [];
  const nextAfterNow = nextOccurrencesAfter(now, settings.CRON_TIMEZONE);
  for (const row of rows) {
    const decision = decide(row, nextAfterNow, settings, inFlight);
    if (decision.kind === 'fail') {
      if (options.failInvalid) failed.push(decision.failure);
    }
    else if (decision.kind === 'hold') result.heldBack++;
    else {
      claims.push(decision.claim);
      slots.set(row.config_id, row.next_load_date_time);
    }
  }
  await failInvalidConfigs(client, failed);
  result.failed.push(...failed);
  const claimed = await claimRows(client, claims, now);
  const messages: OutboxMessage[] = claimed.map((row) => {
    const slot = slots.get(row.config_id)!;
    const body = loadMessageSchema.parse({
      config_id: row.config_id,
      run_id: row.last_run_id,
      control_key: row.control_key_hex,
      slot: slot.toISOString(),
      queued_at: now.toISOString(),
    });
    return { messageId: messageIdFor(row.config_id, slot, row.last_run_id), configId: row.config_id, body };
  });
  await insertOutbox(client, messages);
  result.claimed += claimed.length;
  return claimed.map((r) => r.config_id);
}
