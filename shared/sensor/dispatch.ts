/**
 * Dispatch on finish: when a load ends, the next due row of its source is
 * queued at once, in the finishing transaction and through the same outbox as
 * the sensor's claims, so a free slot never waits for a sensor tick. The
 * per-source limit (Queued + In Progress) still decides how many.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { QueueSender } from '../queue/port.js';
import { claimAndQueue, sourceLimit, type ClaimSettings } from './claim.js';
import { sendOutbox } from './outbox.js';
import { countInFlight, currentTime, selectDueRowsOfSource, SENSOR_CLAIM_LOCK } from './sql.js';

/**
 * Claims up to the free slots of `dbConfigKey` among its due rows, oldest
 * first, inside `client`'s transaction. Best effort: under a savepoint, so a
 * busy claim lock or an error leaves the finishing transaction whole (the
 * sensor claims the rows on its next tick). Returns how many were queued.
 */
export async function queueNextOfSource(
  client: pg.ClientBase,
  settings: ClaimSettings,
  finished: { config_id: number; db_config_key: string | null },
  log?: Logger,
): Promise<number> {
  const dbConfigKey = finished.db_config_key;
  if (!dbConfigKey) return 0;
  await client.query('SAVEPOINT dispatch_next');
  try {
    // The sensor's claim lock, without waiting: a sensor claiming right now covers this source too.
    const { rows: lock } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [SENSOR_CLAIM_LOCK.toString()]);
    if (!lock[0]!.locked) {
      await client.query('RELEASE SAVEPOINT dispatch_next');
      return 0;
    }
    const free = sourceLimit(settings, dbConfigKey) - ((await countInFlight(client, [dbConfigKey])).get(dbConfigKey) ?? 0);
    let queued = 0;
    if (free > 0) {
      const now = await currentTime(client);
      // Not the finishing row itself (its next time is the sensor's), and rows with a broken
      // configuration are left for the sensor to fail with its message.
      const rows = (await selectDueRowsOfSource(client, now, dbConfigKey, free + 1)).filter((r) => r.config_id !== finished.config_id).slice(0, free);
      queued = (await claimAndQueue(client, settings, rows, now, { claimed: 0, heldBack: 0, failed: [] }, { failInvalid: false })).length;
    }
    await client.query('RELEASE SAVEPOINT dispatch_next');
    return queued;
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT dispatch_next');
    log?.warn('dispatch on finish failed; the sensor queues the next load', { db_config_key: dbConfigKey, error });
    return 0;
  }
}

/** Sends what the finishing transaction queued (and anything else unsent), for at most `budgetMs`. */
export async function sendQueued(pool: pg.Pool, sender: QueueSender, batchSize: number, budgetMs: number, log?: Logger): Promise<void> {
  const outcome = await sendOutbox(pool, sender, batchSize, Date.now() + budgetMs);
  if (outcome.error) log?.warn('sending the next load failed; it stays in the outbox for the sensor', { reason: outcome.error });
}
