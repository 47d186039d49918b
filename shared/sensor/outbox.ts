/**
 * Sending the outbox: every unsent message, whichever tick or process wrote
 * it, goes to the queue in batches and is then marked sent.
 */
import type pg from 'pg';
import { withTransaction } from '../db/transaction.js';
import type { QueueSender } from '../queue/port.js';
import { lockUnsentOutbox, markOutboxSent } from './sql.js';

export interface SendOutcome {
  sent: number;
  /** Why sending stopped early, when it did (the messages stay unsent for the next tick). */
  error?: Error;
}

/**
 * Sends unsent outbox messages, `batchSize` at a time, until none is left or
 * `deadline` (epoch ms) passes. Each batch is locked FOR UPDATE SKIP LOCKED
 * while it is sent and marked, so two sensors never send the same batch at
 * once. A batch whose send fails stays unsent; a process that dies after the
 * queue accepted a batch but before the mark committed leaves it unsent too,
 * and its re-send is dropped by the queue's duplicate detection.
 */
export async function sendOutbox(pool: pg.Pool, sender: QueueSender, batchSize: number, deadline: number): Promise<SendOutcome> {
  let sent = 0;
  while (Date.now() < deadline) {
    try {
      const count = await withTransaction(pool, async (client) => {
        const rows = await lockUnsentOutbox(client, batchSize);
        if (rows.length === 0) return 0;
        await sender.send(rows.map((r) => ({ messageId: r.message_id, body: r.body })));
        await markOutboxSent(
          client,
          rows.map((r) => r.message_id),
        );
        return rows.length;
      });
      sent += count;
      // A short batch means nothing unsent is left, apart from what other sensors are sending now.
      if (count < batchSize) break;
    } catch (error) {
      return { sent, error: error instanceof Error ? error : new Error(String(error)) };
    }
  }
  return { sent };
}
