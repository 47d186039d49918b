/**
 * Picks the queue adapter from the settings: Service Bus when a namespace is
 * configured (identity-based, DefaultAzureCredential), otherwise the local
 * queue in the control database.
 */
import { DefaultAzureCredential } from '@azure/identity';
import { ServiceBusClient } from '@azure/service-bus';
import type pg from 'pg';
import type { Settings } from '../settings.js';
import { LocalQueueReceiver } from './local/receiver.js';
import { LocalQueueSender } from './local/sender.js';
import type { QueueReceiver, QueueSender } from './port.js';
import { ServiceBusQueueReceiver, ServiceBusQueueSender } from './service-bus.js';

export interface Queue {
  kind: 'service-bus' | 'local';
  sender: QueueSender;
  /** A new receiver on the loads queue; the caller closes it. */
  createReceiver(): QueueReceiver;
  close(): Promise<void>;
}

export type QueueSettings = Pick<
  Settings,
  'ServiceBusConnection__fullyQualifiedNamespace' | 'LOADS_QUEUE_NAME' | 'LOCAL_QUEUE_LOCK_SECONDS' | 'LOCAL_QUEUE_MAX_DELIVERIES'
>;

export function createQueue(settings: QueueSettings, pool: pg.Pool): Queue {
  const namespace = settings.ServiceBusConnection__fullyQualifiedNamespace;
  const queueName = settings.LOADS_QUEUE_NAME;
  if (namespace) {
    // The client connects lazily, on the first send or receive.
    const client = new ServiceBusClient(namespace, new DefaultAzureCredential());
    const sender = new ServiceBusQueueSender(client.createSender(queueName));
    return {
      kind: 'service-bus',
      sender,
      createReceiver: () => new ServiceBusQueueReceiver(client.createReceiver(queueName, { receiveMode: 'peekLock' })),
      close: async () => {
        await sender.close();
        await client.close();
      },
    };
  }
  const sender = new LocalQueueSender(pool, { queueName });
  return {
    kind: 'local',
    sender,
    createReceiver: () =>
      new LocalQueueReceiver(pool, {
        queueName,
        lockSeconds: settings.LOCAL_QUEUE_LOCK_SECONDS,
        maxDeliveries: settings.LOCAL_QUEUE_MAX_DELIVERIES,
      }),
    close: () => sender.close(),
  };
}
