/**
 * The Azure Service Bus adapter: thin mappings between the queue port and
 * @azure/service-bus. Duplicate detection, lock renewal and dead-lettering are
 * the broker's (the queue is created with duplicate detection on, infra/).
 * In Azure the loader is triggered by the Functions host; the receiver here is
 * for processes that pull from the queue themselves.
 */
import type {
  ServiceBusMessage,
  ServiceBusMessageBatch,
  ServiceBusReceivedMessage,
  ServiceBusReceiver,
  ServiceBusSender,
} from '@azure/service-bus';
import type { OutgoingMessage, QueueReceiver, QueueSender, ReceivedMessage } from './port.js';

/** Subject of every load message: lets subscriptions and tools filter them. */
export const LOAD_MESSAGE_SUBJECT = 'load';

/** The Service Bus form of a load message. */
export function toServiceBusMessage(message: OutgoingMessage): ServiceBusMessage {
  return {
    messageId: message.messageId,
    body: message.body,
    contentType: 'application/json',
    subject: LOAD_MESSAGE_SUBJECT,
    correlationId: message.body.run_id,
  };
}

/** The port's form of a received Service Bus message. */
export function fromServiceBusMessage(message: ServiceBusReceivedMessage): ReceivedMessage {
  return {
    messageId: String(message.messageId ?? ''),
    body: message.body as unknown,
    deliveryCount: message.deliveryCount ?? 1,
  };
}

export type BatchingSender = Pick<ServiceBusSender, 'createMessageBatch' | 'sendMessages' | 'close'>;

/** Sends in as few batches as the broker's size limit allows, in order. */
export class ServiceBusQueueSender implements QueueSender {
  constructor(private readonly sender: BatchingSender) {}

  async send(messages: OutgoingMessage[]): Promise<void> {
    let batch: ServiceBusMessageBatch | undefined;
    for (const message of messages) {
      const mapped = toServiceBusMessage(message);
      batch ??= await this.sender.createMessageBatch();
      if (batch.tryAddMessage(mapped)) continue;
      if (batch.count === 0) throw new Error(`message ${message.messageId} is larger than a Service Bus batch may hold`);
      await this.sender.sendMessages(batch);
      batch = await this.sender.createMessageBatch();
      if (!batch.tryAddMessage(mapped)) {
        throw new Error(`message ${message.messageId} is larger than a Service Bus batch may hold`);
      }
    }
    if (batch && batch.count > 0) await this.sender.sendMessages(batch);
  }

  async close(): Promise<void> {
    await this.sender.close();
  }
}

export type PeekLockReceiver = Pick<
  ServiceBusReceiver,
  'receiveMessages' | 'completeMessage' | 'abandonMessage' | 'deadLetterMessage' | 'renewMessageLock' | 'close'
>;

/** Pulls messages under peek-lock; settles them with the broker. */
export class ServiceBusQueueReceiver implements QueueReceiver {
  private readonly received = new WeakMap<ReceivedMessage, ServiceBusReceivedMessage>();

  constructor(
    private readonly receiver: PeekLockReceiver,
    private readonly maxWaitTimeInMs = 1000,
  ) {}

  async receive(max: number): Promise<ReceivedMessage[]> {
    const messages = await this.receiver.receiveMessages(max, { maxWaitTimeInMs: this.maxWaitTimeInMs });
    return messages.map((original) => {
      const message = fromServiceBusMessage(original);
      this.received.set(message, original);
      return message;
    });
  }

  async complete(message: ReceivedMessage): Promise<void> {
    await this.receiver.completeMessage(this.originalOf(message));
  }

  async abandon(message: ReceivedMessage): Promise<void> {
    await this.receiver.abandonMessage(this.originalOf(message));
  }

  async deadLetter(message: ReceivedMessage, reason: string): Promise<void> {
    await this.receiver.deadLetterMessage(this.originalOf(message), {
      deadLetterReason: reason.slice(0, 1024),
      deadLetterErrorDescription: reason.slice(0, 4096),
    });
  }

  async renewLock(message: ReceivedMessage): Promise<void> {
    await this.receiver.renewMessageLock(this.originalOf(message));
  }

  async close(): Promise<void> {
    await this.receiver.close();
  }

  private originalOf(message: ReceivedMessage): ServiceBusReceivedMessage {
    const original = this.received.get(message);
    if (!original) throw new Error(`message ${message.messageId} was not received by this Service Bus receiver`);
    return original;
  }
}
