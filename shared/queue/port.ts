/**
 * The queue port between the sensor (sender) and the loader (receiver). Two
 * adapters implement it: Azure Service Bus in Azure, and a durable local queue
 * in the control database for running without Azure.
 */
import type { LoadMessage } from './message.js';

export interface OutgoingMessage {
  /** Deterministic per row and slot (messageIdFor): the queue drops a re-send. */
  messageId: string;
  body: LoadMessage;
}

export interface QueueSender {
  /** Sends messages in batches; resolves once the queue has accepted them all. */
  send(messages: OutgoingMessage[]): Promise<void>;
  close(): Promise<void>;
}

/** A message received under a peek-lock. */
export interface ReceivedMessage {
  messageId: string;
  /** Unvalidated: the loader validates it with loadMessageSchema. */
  body: unknown;
  /** 1 on first delivery. */
  deliveryCount: number;
}

/**
 * What the loader decided about a message. Throwing instead means: retry it (abandon).
 * retryLater: another attempt holds the run's live lease; check again after `delayMs`
 * (the local queue releases the message with that delay; under Service Bus the lock's expiry does).
 */
export type MessageDisposition =
  | { kind: 'complete' }
  | { kind: 'deadLetter'; reason: string }
  | { kind: 'retryLater'; delayMs: number; reason: string };

export interface QueueReceiver {
  /** Locks and returns up to `max` messages that are visible now (may return none). */
  receive(max: number): Promise<ReceivedMessage[]>;
  /** Removes the message: it was handled. */
  complete(message: ReceivedMessage): Promise<void>;
  /** Releases the lock now, for a redelivery. */
  abandon(message: ReceivedMessage): Promise<void>;
  /** Releases the lock for a redelivery after `delayMs`, not counted as a failed delivery (optional). */
  release?(message: ReceivedMessage, delayMs: number): Promise<void>;
  /** Moves the message aside with a reason; it is never delivered again. */
  deadLetter(message: ReceivedMessage, reason: string): Promise<void>;
  /**
   * Extends the lock of a message still held (adapters also renew held locks on
   * their own until the message is settled). Settling or renewing a message whose
   * lock was lost rejects.
   */
  renewLock?(message: ReceivedMessage): Promise<void>;
  close(): Promise<void>;
}
