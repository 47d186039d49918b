/**
 * The local queue's statements, one per named function, on control.local_queue
 * (migration 004). Receivers in separate processes share a queue: receiving
 * locks candidate rows FOR UPDATE SKIP LOCKED, so two receivers never take the
 * same message, and settling a message needs the lock token of its delivery.
 */
import type { Queryable } from '../../db/pool.js';

export interface QueueRow {
  id: number;
  message_id: string;
  body: unknown;
  delivery_count: number;
  lock_token: string;
}

export interface DeadLetterRow {
  message_id: string;
  body: unknown;
  delivery_count: number;
  dead_letter_reason: string | null;
  settled_at: Date | null;
}

/** Inserts messages, dropping any whose message_id the queue already holds; returns how many were new. */
export async function insertMessages(
  db: Queryable,
  queueName: string,
  messages: { messageId: string; body: unknown }[],
): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO control.local_queue (queue_name, message_id, body)
     SELECT $1, m.message_id, m.body::jsonb
       FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS m(message_id, body, n)
      ORDER BY m.n
     ON CONFLICT (queue_name, message_id) DO NOTHING`,
    [queueName, messages.map((m) => m.messageId), messages.map((m) => JSON.stringify(m.body))],
  );
  return rowCount ?? 0;
}

/**
 * Moves visible messages that have used up their deliveries to the dead
 * letters (what Service Bus does with MaxDeliveryCountExceeded).
 */
export async function deadLetterExhausted(db: Queryable, queueName: string, maxDeliveries: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE control.local_queue q
        SET state = 'dead_lettered', settled_at = now(), lock_token = NULL,
            dead_letter_reason = format('MaxDeliveryCountExceeded: delivered %s times without being completed (LOCAL_QUEUE_MAX_DELIVERIES=%s)',
                                        q.delivery_count, $2::int)
      WHERE q.id IN (SELECT id FROM control.local_queue
                      WHERE queue_name = $1 AND state = 'active' AND visible_at <= now() AND delivery_count >= $2
                      FOR UPDATE SKIP LOCKED)`,
    [queueName, maxDeliveries],
  );
  return rowCount ?? 0;
}

/** Locks up to `max` visible messages for `lockSeconds`, oldest first, counting a delivery each. */
export async function lockVisibleMessages(
  db: Queryable,
  queueName: string,
  max: number,
  lockSeconds: number,
): Promise<QueueRow[]> {
  const { rows } = await db.query<QueueRow>(
    `UPDATE control.local_queue q
        SET visible_at = now() + make_interval(secs => $3),
            lock_token = gen_random_uuid(),
            delivery_count = q.delivery_count + 1
       FROM (SELECT id FROM control.local_queue
              WHERE queue_name = $1 AND state = 'active' AND visible_at <= now()
              ORDER BY visible_at, id
              LIMIT $2
              FOR UPDATE SKIP LOCKED) next
      WHERE q.id = next.id
      RETURNING q.id, q.message_id, q.body, q.delivery_count, q.lock_token`,
    [queueName, max, lockSeconds],
  );
  return rows.sort((a, b) => a.id - b.id);
}

/** Completes a locked message; false when the lock was lost (another delivery holds it, or it was settled). */
export async function completeMessage(db: Queryable, id: number, lockToken: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE control.local_queue
        SET state = 'completed', settled_at = now(), lock_token = NULL
      WHERE id = $1 AND lock_token = $2 AND state = 'active'`,
    [id, lockToken],
  );
  return rowCount === 1;
}

/** Releases a lock for a redelivery now, or dead-letters the message when it has used up its deliveries. */
export async function abandonMessage(db: Queryable, id: number, lockToken: string, maxDeliveries: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE control.local_queue
        SET visible_at = now(), lock_token = NULL,
            state = CASE WHEN delivery_count >= $3 THEN 'dead_lettered' ELSE 'active' END,
            settled_at = CASE WHEN delivery_count >= $3 THEN now() END,
            dead_letter_reason = CASE WHEN delivery_count >= $3
              THEN format('MaxDeliveryCountExceeded: abandoned after %s deliveries (LOCAL_QUEUE_MAX_DELIVERIES=%s)', delivery_count, $3::int)
            END
      WHERE id = $1 AND lock_token = $2 AND state = 'active'`,
    [id, lockToken, maxDeliveries],
  );
  return rowCount === 1;
}

/** Releases a locked message to be delivered again after `delayMs`; this delivery does not count. */
export async function releaseMessage(db: Queryable, id: number, lockToken: string, delayMs: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE control.local_queue
        SET visible_at = now() + make_interval(secs => $3 / 1000.0), lock_token = NULL,
            delivery_count = GREATEST(0, delivery_count - 1)
      WHERE id = $1 AND lock_token = $2 AND state = 'active'`,
    [id, lockToken, delayMs],
  );
  return rowCount === 1;
}

/** Moves a locked message to the dead letters with a reason. */
export async function deadLetterMessage(db: Queryable, id: number, lockToken: string, reason: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE control.local_queue
        SET state = 'dead_lettered', settled_at = now(), lock_token = NULL, dead_letter_reason = $3
      WHERE id = $1 AND lock_token = $2 AND state = 'active'`,
    [id, lockToken, reason],
  );
  return rowCount === 1;
}

/** Extends the locks still held (by id and token); returns the ids whose lock was renewed. */
export async function renewLocks(
  db: Queryable,
  locks: { id: number; lockToken: string }[],
  lockSeconds: number,
): Promise<Set<number>> {
  const { rows } = await db.query<{ id: number }>(
    `UPDATE control.local_queue q
        SET visible_at = now() + make_interval(secs => $3)
       FROM unnest($1::bigint[], $2::uuid[]) AS l(id, lock_token)
      WHERE q.id = l.id AND q.lock_token = l.lock_token AND q.state = 'active'
      RETURNING q.id`,
    [locks.map((l) => l.id), locks.map((l) => l.lockToken), lockSeconds],
  );
  return new Set(rows.map((r) => r.id));
}

/**
 * Deletes completed messages settled longer ago than the duplicate-detection
 * window. Until then a re-send of their message_id is still dropped.
 */
export async function pruneCompleted(db: Queryable, queueName: string, windowMinutes: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM control.local_queue
      WHERE state = 'completed' AND queue_name = $1 AND settled_at < now() - make_interval(mins => $2)`,
    [queueName, windowMinutes],
  );
  return rowCount ?? 0;
}

/** The dead-lettered messages of a queue, oldest first (for operators and tests). */
export async function selectDeadLetters(db: Queryable, queueName: string): Promise<DeadLetterRow[]> {
  const { rows } = await db.query<DeadLetterRow>(
    `SELECT message_id, body, delivery_count, dead_letter_reason, settled_at
       FROM control.local_queue
      WHERE queue_name = $1 AND state = 'dead_lettered'
      ORDER BY settled_at, id`,
    [queueName],
  );
  return rows;
}
