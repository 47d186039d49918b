import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MessageLockLostError, LocalQueueReceiver, type LocalQueueReceiverOptions } from '../shared/queue/local/receiver.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import { pruneCompleted, selectDeadLetters } from '../shared/queue/local/sql.js';
import { messageIdFor, type LoadMessage } from '../shared/queue/message.js';
import type { OutgoingMessage, QueueReceiver } from '../shared/queue/port.js';
import { createControlPool } from '../shared/db/pool.js';
import { createTestDatabase } from './support/db.js';

const db = await createTestDatabase();

let queueCounter = 0;
/** Each test uses its own queue name on the file's database. */
const newQueue = () => `q${++queueCounter}`;

function message(configId: number, slot = new Date('2024-05-01T10:00:00Z')): OutgoingMessage {
  const body: LoadMessage = {
    config_id: configId,
    run_id: `run-${configId}`,
    control_key: 'ab'.repeat(32),
    slot: slot.toISOString(),
    queued_at: '2024-05-01T10:00:01.000Z',
  };
  return { messageId: messageIdFor(configId, slot, `run-${configId}`), body };
}

function receiver(queueName: string, options: Partial<LocalQueueReceiverOptions> = {}): LocalQueueReceiver {
  return new LocalQueueReceiver(db.pool, { queueName, lockSeconds: 30, maxDeliveries: 5, autoRenewLock: false, ...options });
}

async function drain(r: QueueReceiver): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const batch = await r.receive(50);
    if (batch.length === 0) return ids;
    for (const m of batch) {
      ids.push(m.messageId);
      await r.complete(m);
    }
  }
}

describe('local queue', () => {
  it('delivers each message once under a peek-lock and removes it on complete', async () => {
    const q = newQueue();
    await new LocalQueueSender(db.pool, { queueName: q }).send([message(1), message(2), message(3)]);
    const r = receiver(q);
    const first = await r.receive(2);
    expect(first.map((m) => m.messageId)).toEqual([message(1).messageId, message(2).messageId]);
    expect(first[0]?.deliveryCount).toBe(1);
    expect(first[0]?.body).toEqual(message(1).body);
    // Locked messages are not visible to anyone else.
    const second = await receiver(q).receive(10);
    expect(second.map((m) => m.messageId)).toEqual([message(3).messageId]);
    for (const m of first) await r.complete(m);
    await expect(r.complete(first[0]!)).rejects.toBeInstanceOf(MessageLockLostError);
    expect(await r.receive(10)).toEqual([]);
  });

  it('drops duplicate messageIds: in one batch, while queued, and after completion', async () => {
    const q = newQueue();
    const sender = new LocalQueueSender(db.pool, { queueName: q });
    await sender.send([message(1), message(1), message(2)]);
    await sender.send([message(2)]);
    const r = receiver(q);
    expect(await drain(r)).toEqual([message(1).messageId, message(2).messageId]);
    // A late re-send of completed messages (a sensor that crashed before marking them sent).
    await sender.send([message(1), message(2), message(3)]);
    expect(await drain(r)).toEqual([message(3).messageId]);
    // Another slot of the same row is another message.
    await sender.send([message(1, new Date('2024-05-01T11:00:00Z'))]);
    expect(await drain(r)).toEqual([messageIdFor(1, new Date('2024-05-01T11:00:00Z'), 'run-1')]);
  });

  it('forgets completed messageIds after the duplicate-detection window', async () => {
    const q = newQueue();
    const sender = new LocalQueueSender(db.pool, { queueName: q });
    await sender.send([message(1)]);
    const r = receiver(q);
    expect(await drain(r)).toHaveLength(1);
    await db.pool.query(`UPDATE control.local_queue SET settled_at = now() - interval '2 minutes' WHERE queue_name = $1`, [q]);
    expect(await pruneCompleted(db.pool, q, 1)).toBe(1);
    await sender.send([message(1)]);
    expect(await drain(r)).toEqual([message(1).messageId]);
  });

  it('redelivers a message whose lock expired, and the first delivery can no longer settle it', async () => {
    const q = newQueue();
    await new LocalQueueSender(db.pool, { queueName: q }).send([message(1)]);
    const crashed = receiver(q, { lockSeconds: 1 });
    const [first] = await crashed.receive(1);
    expect(first?.deliveryCount).toBe(1);
    const other = receiver(q, { lockSeconds: 1 });
    expect(await other.receive(1)).toEqual([]);
    await sleep(1100);
    const [again] = await other.receive(1);
    expect(again?.messageId).toBe(first?.messageId);
    expect(again?.deliveryCount).toBe(2);
    await expect(crashed.complete(first!)).rejects.toBeInstanceOf(MessageLockLostError);
    await other.complete(again!);
    expect(await other.receive(1)).toEqual([]);
  });

  it('renews the locks it holds until the message is settled', async () => {
    const q = newQueue();
    await new LocalQueueSender(db.pool, { queueName: q }).send([message(1)]);
    const holder = receiver(q, { lockSeconds: 1, autoRenewLock: true });
    const [held] = await holder.receive(1);
    await sleep(1600);
    expect(await receiver(q, { lockSeconds: 1 }).receive(1)).toEqual([]);
    await holder.renewLock(held!);
    await holder.complete(held!);
    await holder.close();
  });

  it('dead-letters a message after the maximum number of deliveries, with the reason', async () => {
    const q = newQueue();
    await new LocalQueueSender(db.pool, { queueName: q }).send([message(1)]);
    // Abandoned on every delivery.
    const r = receiver(q, { maxDeliveries: 2, lockSeconds: 1 });
    for (let delivery = 1; delivery <= 2; delivery++) {
      const [m] = await r.receive(1);
      expect(m?.messageId).toBe(message(1).messageId);
      expect(m?.deliveryCount).toBe(delivery);
      await r.abandon(m!);
    }
    // Never settled: the lock expires on every delivery.
    await new LocalQueueSender(db.pool, { queueName: q }).send([message(2)]);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const [m] = await r.receive(1);
      expect(m?.messageId).toBe(message(2).messageId);
      expect(m?.deliveryCount).toBe(delivery);
      await sleep(1050);
    }
    expect(await r.receive(10)).toEqual([]);
    const dead = await selectDeadLetters(db.pool, q);
    expect(dead.map((d) => [d.message_id, d.delivery_count])).toEqual([
      [message(1).messageId, 2],
      [message(2).messageId, 2],
    ]);
    for (const d of dead) expect(d.dead_letter_reason).toMatch(/MaxDeliveryCountExceeded.*LOCAL_QUEUE_MAX_DELIVERIES=2/);
    // A dead-lettered messageId is not accepted again.
    await new LocalQueueSender(db.pool, { queueName: q }).send([message(1)]);
    expect(await r.receive(10)).toEqual([]);
  });

  it('dead-letters on request with the given reason', async () => {
    const q = newQueue();
    await new LocalQueueSender(db.pool, { queueName: q }).send([message(1)]);
    const r = receiver(q);
    const [m] = await r.receive(1);
    await r.deadLetter(m!, 'body: config_id must be a positive integer');
    expect(await r.receive(1)).toEqual([]);
    const [dead] = await selectDeadLetters(db.pool, q);
    expect(dead?.dead_letter_reason).toBe('body: config_id must be a positive integer');
  });

  it('is shared by receivers on separate connections without a message going to two of them', async () => {
    const q = newQueue();
    const all = Array.from({ length: 300 }, (_, i) => message(i + 1));
    await new LocalQueueSender(db.pool, { queueName: q }).send(all);
    // One pool per receiver: separate sessions, as separate processes have.
    const pools = Array.from({ length: 4 }, () => createControlPool({ url: db.url, ssl: 'disable', statementTimeoutMs: 30_000 }, 2));
    try {
      const received = await Promise.all(
        pools.map(async (pool) => {
          const r = new LocalQueueReceiver(pool, { queueName: q, lockSeconds: 30, maxDeliveries: 5, autoRenewLock: false });
          const ids: string[] = [];
          for (;;) {
            const batch = await r.receive(7);
            if (batch.length === 0) return ids;
            for (const m of batch) {
              ids.push(m.messageId);
              await r.complete(m);
            }
          }
        }),
      );
      const flat = received.flat();
      expect(flat).toHaveLength(300);
      expect(new Set(flat).size).toBe(300);
      expect(received.filter((ids) => ids.length > 0).length).toBeGreaterThan(1);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
