import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../shared/paths.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import type { OutgoingMessage, QueueSender } from '../shared/queue/port.js';
import { runSensorTick } from '../shared/sensor/tick.js';
import { createTestDatabase } from './support/db.js';
import { controlRows, insertRows, QUEUE, queuedMessages, resetControl, startAllRuns, testSettings } from './sensor-fixtures.js';

const db = await createTestDatabase();
const queue = new LocalQueueSender(db.pool, { queueName: QUEUE });
const settings = testSettings({ SENSOR_BATCH_SIZE: '50' });

beforeEach(async () => {
  await resetControl(db.pool);
});

/** Queued rows that have no outbox message for their current run: must always be none. */
async function queuedWithoutMessage(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM control.table_control t
      WHERE t.last_status = 'Queued'
        AND NOT EXISTS (SELECT 1 FROM control.load_outbox o
                         WHERE o.config_id = t.config_id AND o.body->>'run_id' = t.last_run_id)`,
  );
  return rows[0]!.n;
}

async function unsentOutbox(): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM control.load_outbox WHERE sent_at IS NULL');
  return rows[0]!.n;
}

/** After a crash: every row was queued once, the queue holds one message per row, and each run starts once. */
async function expectExactlyOnce(rowCount: number): Promise<void> {
  const rows = await controlRows(db.pool);
  expect(rows.filter((r) => r.last_status === 'Queued')).toHaveLength(rowCount);
  const messages = await queuedMessages(db.pool);
  expect(messages).toHaveLength(rowCount);
  expect(new Set(messages.map((m) => m.message_id)).size).toBe(rowCount);
  expect(await unsentOutbox()).toBe(0);
  const first = await startAllRuns(db.pool);
  expect(first.started.sort()).toEqual(rows.map((r) => r.config_id).sort());
  expect(first.dropped).toBe(0);
  // Nothing is left to deliver, and a stale copy of any message would start nothing.
  expect(await startAllRuns(db.pool)).toEqual({ started: [], dropped: 0 });
}

describe('sensor failures', () => {
  it('a failed send leaves each queued row with a pending message, which the next tick sends', async () => {
    await insertRows(db.pool, { count: 120, sources: ['src_a', 'src_b'] });
    const broken: QueueSender = {
      send: async () => {
        throw new Error('queue unavailable (ServiceBusError: ServiceCommunicationProblem)');
      },
      close: async () => undefined,
    };
    const failed = await runSensorTick({ pool: db.pool, sender: broken, settings });
    expect(failed.sendError).toMatch(/queue unavailable/);
    expect(failed.sent).toBe(0);
    // The first batch was claimed and committed with its messages; the tick stopped there.
    expect(failed.claimed).toBe(50);
    expect(await queuedWithoutMessage()).toBe(0);
    expect(await unsentOutbox()).toBe(50);
    expect(await queuedMessages(db.pool)).toHaveLength(0);

    const next = await runSensorTick({ pool: db.pool, sender: queue, settings });
    expect(next.sendError).toBeUndefined();
    expect(next).toMatchObject({ claimed: 70, sent: 120 });
    expect(await queuedWithoutMessage()).toBe(0);
    await expectExactlyOnce(120);
  });

  it('a send accepted by the queue whose mark never commits is re-sent, dropped as a duplicate, and loads once', async () => {
    await insertRows(db.pool, { count: 80, sources: ['src_a'] });
    let calls = 0;
    const deliversThenThrows: QueueSender = {
      send: async (messages: OutgoingMessage[]) => {
        calls++;
        await queue.send(messages);
        throw new Error('connection reset after the queue accepted the batch');
      },
      close: async () => undefined,
    };
    const crashed = await runSensorTick({ pool: db.pool, sender: deliversThenThrows, settings });
    expect(calls).toBe(1);
    expect(crashed).toMatchObject({ claimed: 50, sent: 0 });
    expect(await queuedMessages(db.pool)).toHaveLength(50);
    expect(await unsentOutbox()).toBe(50);

    const next = await runSensorTick({ pool: db.pool, sender: queue, settings });
    expect(next).toMatchObject({ claimed: 30, sent: 80 });
    await expectExactlyOnce(80);
  });

  it('a sensor process killed between the send and the mark: the next tick completes the job, each row loads once', async () => {
    await insertRows(db.pool, { count: 80, sources: ['src_a'] });
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/sensor-crash-child.ts', db.url], {
      cwd: projectRoot(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal, stderr).toBe('SIGKILL');
    // The server rolls back the dead process's open transaction once it notices the closed connection.
    for (let i = 0; i < 100; i++) {
      const { rows } = await db.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'sensor-crash-child'`,
      );
      if (rows[0]!.n === 0) break;
      await sleep(50);
    }
    expect(await queuedMessages(db.pool)).toHaveLength(50);
    expect(await unsentOutbox()).toBe(50);
    expect(await queuedWithoutMessage()).toBe(0);

    const next = await runSensorTick({ pool: db.pool, sender: queue, settings });
    expect(next).toMatchObject({ claimed: 30, sent: 80 });
    await expectExactlyOnce(80);
  });
});
