/**
 * QueueReceiver over the local queue in the control database: peek-lock with a
 * lock timeout, a delivery count, dead-lettering after the maximum number of
 * deliveries. Any number of receivers, in any number of processes, share a queue.
 *
 * Like the Azure Functions host with Service Bus, the receiver renews the locks
 * of the messages it has handed out until they are settled, so a load longer
 * than the lock time is not delivered twice. A receiver that dies (or is closed)
 * stops renewing: its messages become visible again when their locks expire.
 */
import type pg from 'pg';
import type { QueueReceiver, ReceivedMessage } from '../port.js';
import {
  abandonMessage,
  completeMessage,
  deadLetterExhausted,
  deadLetterMessage,
  lockVisibleMessages,
  releaseMessage,
  renewLocks,
} from './sql.js';

export interface LocalQueueReceiverOptions {
  queueName: string;
  /** LOCAL_QUEUE_LOCK_SECONDS */
  lockSeconds: number;
  /** LOCAL_QUEUE_MAX_DELIVERIES */
  maxDeliveries: number;
  /** Renew held locks every half lock time (default true). */
  autoRenewLock?: boolean;
}

/** Settling a message whose lock expired and was taken by another delivery, or that was already settled. */
export class MessageLockLostError extends Error {
  constructor(messageId: string, action: string) {
    super(
      `cannot ${action} message ${messageId}: its lock was lost (it expired and the message was delivered again, or it was already settled)`,
    );
    this.name = 'MessageLockLostError';
  }
}

interface Lock {
  id: number;
  lockToken: string;
}

export class LocalQueueReceiver implements QueueReceiver {
  private readonly held = new Map<ReceivedMessage, Lock>();
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: LocalQueueReceiverOptions,
  ) {}

  async receive(max: number): Promise<ReceivedMessage[]> {
    if (this.closed) throw new Error('the local queue receiver is closed');
    const { queueName, maxDeliveries, lockSeconds } = this.options;
    await deadLetterExhausted(this.pool, queueName, maxDeliveries);
    const rows = await lockVisibleMessages(this.pool, queueName, max, lockSeconds);
    const messages = rows.map((row) => {
      const message: ReceivedMessage = { messageId: row.message_id, body: row.body, deliveryCount: row.delivery_count };
      this.held.set(message, { id: row.id, lockToken: row.lock_token });
      return message;
    });
    if (messages.length > 0) this.startRenewing();
    return messages;
  }

  async complete(message: ReceivedMessage): Promise<void> {
    const lock = this.lockOf(message, 'complete');
    this.held.delete(message);
    if (!(await completeMessage(this.pool, lock.id, lock.lockToken))) throw new MessageLockLostError(message.messageId, 'complete');
  }

  async abandon(message: ReceivedMessage): Promise<void> {
    const lock = this.lockOf(message, 'abandon');
    this.held.delete(message);
    if (!(await abandonMessage(this.pool, lock.id, lock.lockToken, this.options.maxDeliveries))) {
      throw new MessageLockLostError(message.messageId, 'abandon');
    }
  }

  async release(message: ReceivedMessage, delayMs: number): Promise<void> {
    const lock = this.lockOf(message, 'release');
    this.held.delete(message);
    if (!(await releaseMessage(this.pool, lock.id, lock.lockToken, delayMs))) throw new MessageLockLostError(message.messageId, 'release');
  }

  async deadLetter(message: ReceivedMessage, reason: string): Promise<void> {
    const lock = this.lockOf(message, 'dead-letter');
    this.held.delete(message);
    if (!(await deadLetterMessage(this.pool, lock.id, lock.lockToken, reason))) {
      throw new MessageLockLostError(message.messageId, 'dead-letter');
    }
  }

  /** Extends the lock of a message still held; rejects when the lock was lost. */
  async renewLock(message: ReceivedMessage): Promise<void> {
    const lock = this.lockOf(message, 'renew the lock of');
    const renewed = await renewLocks(this.pool, [lock], this.options.lockSeconds);
    if (!renewed.has(lock.id)) {
      this.held.delete(message);
      throw new MessageLockLostError(message.messageId, 'renew the lock of');
    }
  }

  /** Stops renewing; unsettled messages are delivered again once their locks expire. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopRenewing();
    this.held.clear();
  }

  private lockOf(message: ReceivedMessage, action: string): Lock {
    const lock = this.held.get(message);
    if (!lock) throw new MessageLockLostError(message.messageId, action);
    return lock;
  }

  private startRenewing(): void {
    if (this.renewTimer || this.options.autoRenewLock === false) return;
    const everyMs = Math.max(250, (this.options.lockSeconds * 1000) / 2);
    this.renewTimer = setInterval(() => void this.renewHeld(), everyMs);
    this.renewTimer.unref();
  }

  private stopRenewing(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  private async renewHeld(): Promise<void> {
    if (this.held.size === 0) {
      this.stopRenewing();
      return;
    }
    const entries = [...this.held.entries()];
    try {
      const renewed = await renewLocks(
        this.pool,
        entries.map(([, lock]) => lock),
        this.options.lockSeconds,
      );
      // A lock not renewed was lost: settling that message will say so.
      for (const [message, lock] of entries) if (!renewed.has(lock.id)) this.held.delete(message);
    } catch {
      // Transient (the database is briefly unreachable): the next round retries
      // while the locks, lasting twice the interval, still hold.
    }
  }
}
