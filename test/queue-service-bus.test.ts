import type { ServiceBusMessage, ServiceBusMessageBatch, ServiceBusReceivedMessage } from '@azure/service-bus';
import { describe, expect, it } from 'vitest';
import { createQueue } from '../shared/queue/factory.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import { messageIdFor, type LoadMessage } from '../shared/queue/message.js';
import type { OutgoingMessage } from '../shared/queue/port.js';
import {
  fromServiceBusMessage,
  ServiceBusQueueSender,
  toServiceBusMessage,
  type BatchingSender,
} from '../shared/queue/service-bus.js';
import { parseSettings } from '../shared/settings.js';
import { createTestDatabase } from './support/db.js';

function outgoing(configId: number): OutgoingMessage {
  const slot = new Date('2024-05-01T10:00:00Z');
  const body: LoadMessage = {
    config_id: configId,
    run_id: `0f6f0c8e-0000-4000-8000-00000000000${configId % 10}`,
    control_key: 'cd'.repeat(32),
    slot: slot.toISOString(),
    queued_at: '2024-05-01T10:00:02.000Z',
  };
  return { messageId: messageIdFor(configId, slot, `run-${configId}`), body };
}

/** Stands in for the SDK's sender: batches hold `capacity` messages; sent batches are recorded. */
function recordingSender(capacity: number) {
  const sent: ServiceBusMessage[][] = [];
  let closed = false;
  const sender: BatchingSender = {
    createMessageBatch: async () => {
      const messages: ServiceBusMessage[] = [];
      const batch = {
        get count() {
          return messages.length;
        },
        tryAddMessage: (m: ServiceBusMessage) => {
          if (messages.length >= capacity) return false;
          messages.push(m);
          return true;
        },
        messages,
      };
      return batch as unknown as ServiceBusMessageBatch;
    },
    sendMessages: async (batch) => {
      sent.push([...(batch as unknown as { messages: ServiceBusMessage[] }).messages]);
    },
    close: async () => {
      closed = true;
    },
  };
  return { sender, sent, isClosed: () => closed };
}

describe('Service Bus adapter', () => {
  it('maps a load message to a Service Bus message', () => {
    const message = outgoing(7);
    expect(toServiceBusMessage(message)).toEqual({
      messageId: 'load-7-2024-05-01T10:00:00.000Z-run-7',
      body: message.body,
      contentType: 'application/json',
      subject: 'load',
      correlationId: message.body.run_id,
    });
  });

  it('maps a received Service Bus message to the port', () => {
    const received = { messageId: 'load-7-x', body: { config_id: 7 }, deliveryCount: 3 } as unknown as ServiceBusReceivedMessage;
    expect(fromServiceBusMessage(received)).toEqual({ messageId: 'load-7-x', body: { config_id: 7 }, deliveryCount: 3 });
  });

  it('sends in batches, starting a new batch when one is full, in order', async () => {
    const { sender, sent, isClosed } = recordingSender(3);
    const adapter = new ServiceBusQueueSender(sender);
    const messages = Array.from({ length: 8 }, (_, i) => outgoing(i + 1));
    await adapter.send(messages);
    expect(sent.map((b) => b.length)).toEqual([3, 3, 2]);
    expect(sent.flat().map((m) => m.messageId)).toEqual(messages.map((m) => m.messageId));
    await adapter.send([]);
    expect(sent).toHaveLength(3);
    await adapter.close();
    expect(isClosed()).toBe(true);
  });

  it('refuses a message too large for an empty batch', async () => {
    const { sender } = recordingSender(0);
    await expect(new ServiceBusQueueSender(sender).send([outgoing(1)])).rejects.toThrow(/larger than a Service Bus batch/);
  });
});

const db = await createTestDatabase();

describe('queue factory', () => {
  it('uses the local queue without a Service Bus namespace', async () => {
    const queue = createQueue(parseSettings({}), db.pool);
    expect(queue.kind).toBe('local');
    expect(queue.sender).toBeInstanceOf(LocalQueueSender);
    await queue.close();
  });

  it('uses Service Bus when the namespace is set, connecting only when used', async () => {
    const queue = createQueue(
      parseSettings({ ServiceBusConnection__fullyQualifiedNamespace: 'sb-dataloader.servicebus.windows.net' }),
      db.pool,
    );
    expect(queue.kind).toBe('service-bus');
    expect(queue.sender).toBeInstanceOf(ServiceBusQueueSender);
    await queue.close();
  });
});
