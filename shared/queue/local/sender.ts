/**
 * QueueSender over the local queue in the control database. A message whose
 * messageId the queue already holds (active, dead-lettered, or completed within
 * the duplicate-detection window) is dropped, as Service Bus does.
 */
import type pg from 'pg';
import type { OutgoingMessage, QueueSender } from '../port.js';
import { insertMessages, pruneCompleted } from './sql.js';

/**
 * How long a completed messageId keeps dropping re-sends. A re-send comes from
 * a sensor that crashed between sending and marking its outbox row sent, so it
 * follows within a tick or two; a day leaves ample margin.
 */
export const DUPLICATE_WINDOW_MINUTES = 24 * 60;

/** Rows per INSERT: keeps each statement's parameters small. */
const INSERT_CHUNK = 1000;
/** Pruning runs at most this often per sender. */
const PRUNE_EVERY_MS = 60_000;

export interface LocalQueueSenderOptions {
  queueName: string;
  duplicateWindowMinutes?: number;
}

export class LocalQueueSender implements QueueSender {
  private lastPrunedAt = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: LocalQueueSenderOptions,
  ) {}

  async send(messages: OutgoingMessage[]): Promise<void> {
    for (let start = 0; start < messages.length; start += INSERT_CHUNK) {
      await insertMessages(this.pool, this.options.queueName, messages.slice(start, start + INSERT_CHUNK));
    }
    if (Date.now() - this.lastPrunedAt >= PRUNE_EVERY_MS) {
      this.lastPrunedAt = Date.now();
      await pruneCompleted(this.pool, this.options.queueName, this.options.duplicateWindowMinutes ?? DUPLICATE_WINDOW_MINUTES);
    }
  }

  async close(): Promise<void> {
    // The pool belongs to the runtime.
  }
}
