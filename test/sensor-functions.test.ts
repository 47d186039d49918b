/** The sensor and reaper timer functions: their registrations and what a run does (the host itself cannot run here). */
import type { InvocationContext, Timer } from '@azure/functions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reaperHandler, registerReaper } from '../functions/reaper.js';
import { registerSensor, sensorHandler } from '../functions/sensor.js';
import { createLogger } from '../shared/log.js';
import { createRuntime, setRuntime, type Runtime } from '../shared/runtime.js';
import { createTestDatabase } from './support/db.js';
import { insertRows, queuedMessages, resetControl, rowById, testSettings } from './sensor-fixtures.js';

const db = await createTestDatabase();
const lines: string[] = [];
let runtime: Runtime;

beforeAll(() => {
  runtime = createRuntime({
    settings: testSettings({ DATABASE_URL: db.url, CONTROL_DB_SSL: 'disable' }),
    log: createLogger('info', (line) => lines.push(line)),
  });
  setRuntime(runtime);
});

afterAll(async () => {
  setRuntime(undefined);
  await runtime.close();
});

beforeEach(async () => {
  lines.length = 0;
  await resetControl(db.pool);
});

const timer = { isPastDue: false } as Timer;
const context = { invocationId: 'inv-1' } as unknown as InvocationContext;

describe('timer functions', () => {
  it('register on app-setting schedules, not on start-up, with the schedule monitor', () => {
    const registered: unknown[] = [];
    const app = { timer: (name: string, options: unknown) => registered.push([name, options]) } as never;
    registerSensor(app);
    registerReaper(app);
    expect(registered).toEqual([
      ['sensor', { schedule: '%SENSOR_SCHEDULE%', runOnStartup: false, useMonitor: true, handler: sensorHandler }],
      ['reaper', { schedule: '%REAPER_SCHEDULE%', runOnStartup: false, useMonitor: true, handler: reaperHandler }],
    ]);
  });

  it('sensor: queues due rows on the runtime queue and logs the summary', async () => {
    expect(runtime.queueKind).toBe('local');
    const ids = await insertRows(db.pool, { count: 3, sources: ['src_a'] });
    await sensorHandler(timer, context);
    expect((await queuedMessages(db.pool)).map((m) => m.config_id)).toEqual(ids);
    expect(lines.some((l) => /info {2}sensor tick scheduled=0 claimed=3 .*sent=3 .*queue=local/.test(l))).toBe(true);
  });

  it('sensor: fails the invocation when the queue refuses, keeping the messages for the next tick', async () => {
    await insertRows(db.pool, { count: 2, sources: ['src_a'] });
    const working = runtime.queueSender;
    runtime.queueSender = { send: async () => Promise.reject(new Error('ServiceBusError: Unauthorized')), close: async () => undefined };
    try {
      await expect(sensorHandler(timer, context)).rejects.toThrow(/sending to the queue failed, the next tick retries: ServiceBusError: Unauthorized/);
    } finally {
      runtime.queueSender = working;
    }
    await sensorHandler(timer, context);
    expect(await queuedMessages(db.pool)).toHaveLength(2);
  });

  it('reaper: fails timed-out runs and logs the summary', async () => {
    const [id] = await insertRows(db.pool, { count: 1, sources: ['src_a'], status: 'Queued', dueSecondsAgo: -60 });
    await db.pool.query(`UPDATE control.table_control SET last_status_date_time = LOCALTIMESTAMP - interval '2 hours', last_run_id = 'r1'`);
    await reaperHandler(timer, context);
    expect((await rowById(db.pool, id!)).last_status).toBe('Failed');
    expect(lines.some((l) => /info {2}reaper pass queued=1 inProgress=0/.test(l))).toBe(true);
  });
});
