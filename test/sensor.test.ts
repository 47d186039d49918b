import { beforeEach, describe, expect, it } from 'vitest';
import { finishRun } from '../shared/control/status.js';
import type { Queryable } from '../shared/db/pool.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import { nextOccurrence } from '../shared/schedule/cron.js';
import { DUE_CURSOR_START, selectDueRows } from '../shared/sensor/sql.js';
import { runSensorTick } from '../shared/sensor/tick.js';
import { createTestDatabase } from './support/db.js';
import {
  controlRows,
  dbNow,
  insertRows,
  QUEUE,
  queuedMessages,
  resetControl,
  rowById,
  startAllRuns,
  testSettings,
} from './sensor-fixtures.js';

const db = await createTestDatabase();
const sender = new LocalQueueSender(db.pool, { queueName: QUEUE });
const tick = (env: Record<string, string> = {}) => runSensorTick({ pool: db.pool, sender, settings: testSettings(env) });

beforeEach(async () => {
  await resetControl(db.pool);
});

describe('sensor tick', () => {
  it('queues every due row with a run id, its following load time and one message', async () => {
    const due = await insertRows(db.pool, { count: 5, sources: ['src_a'], dueSecondsAgo: 7200, cron: '0 * * * *' });
    const notDue = await insertRows(db.pool, { count: 2, sources: ['src_a'], dueSecondsAgo: -600, name: 'later' });
    const inactive = await insertRows(db.pool, { count: 1, sources: ['src_a'], active: false, name: 'off' });
    const running = await insertRows(db.pool, { count: 1, sources: ['src_a'], status: 'In Progress', name: 'busy' });
    const before = await dbNow(db.pool);

    const summary = await tick();
    expect(summary).toMatchObject({ claimed: 5, sent: 5, failedConfig: 0, heldBack: 0 });
    expect(summary.sendError).toBeUndefined();

    const after = await dbNow(db.pool);
    const rows = new Map((await controlRows(db.pool)).map((r) => [r.config_id, r]));
    const messages = await queuedMessages(db.pool);
    expect(messages.map((m) => m.config_id)).toEqual(due); // oldest due first
    for (const id of due) {
      const row = rows.get(id)!;
      expect(row.last_status).toBe('Queued');
      expect(row.last_run_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.last_status_date_time!.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1);
      expect(row.last_status_date_time!.getTime()).toBeLessThanOrEqual(after.getTime());
      // Missed slots (due two hours ago) are skipped: the following time is the first one after now.
      expect(row.next_load_date_time).toEqual(nextOccurrence('0 * * * *', before, 'UTC'));
      const message = messages.find((m) => m.config_id === id)!;
      expect(message.run_id).toBe(row.last_run_id);
    }
    for (const id of [...notDue, ...inactive, ...running]) expect(rows.get(id)!.last_status).not.toBe('Queued');
    expect(new Set(messages.map((m) => m.message_id)).size).toBe(5);

    // Nothing is due any more: a second tick queues nothing.
    expect(await tick()).toMatchObject({ claimed: 0, sent: 0 });
  });

  it('names the message after the row and its schedule slot', async () => {
    const [id] = await insertRows(db.pool, { count: 1, sources: ['src_a'] });
    const { rows } = await db.pool.query<{ next: Date }>('SELECT next_load_date_time AS next FROM control.table_control');
    const slot = rows[0]!.next;
    await tick();
    const [message] = await queuedMessages(db.pool);
    const runId = (await rowById(db.pool, id!)).last_run_id;
    // The run id tells two claims of one slot apart (next_load_date_time moved back: it loads again).
    expect(message).toMatchObject({ message_id: `load-${id}-${slot.toISOString()}-${runId}`, slot: slot.toISOString() });
  });

  it('claims in batches until nothing is due', async () => {
    await insertRows(db.pool, { count: 250, sources: ['src_a', 'src_b'] });
    const summary = await tick({ SENSOR_BATCH_SIZE: '40' });
    expect(summary.claimed).toBe(250);
    expect(summary.sent).toBe(250);
    expect(summary.batches).toBe(7);
    expect((await queuedMessages(db.pool)).length).toBe(250);
  });

  it('holds back rows of a source at its concurrency limit; they go first next time', async () => {
    const a = await insertRows(db.pool, { count: 5, sources: ['src_a'], name: 'a' });
    const b = await insertRows(db.pool, { count: 5, sources: ['src_b'], name: 'b' });
    // One load of src_a is already running.
    await insertRows(db.pool, { count: 1, sources: ['src_a'], status: 'In Progress', dueSecondsAgo: -3600, name: 'running' });
    const summary = await tick({ SOURCE_CONCURRENCY_LIMIT: '3', SOURCE_CONCURRENCY_OVERRIDES: '{"src_a":2}' });
    expect(summary).toMatchObject({ claimed: 1 + 3, heldBack: 4 + 2 });
    const status = async (ids: number[]) => Promise.all(ids.map(async (id) => (await rowById(db.pool, id)).last_status));
    expect(await status(a)).toEqual(['Queued', null, null, null, null]);
    expect(await status(b)).toEqual(['Queued', 'Queued', 'Queued', null, null]);

    // A tick while they are in flight claims nothing more.
    expect(await tick({ SOURCE_CONCURRENCY_LIMIT: '3', SOURCE_CONCURRENCY_OVERRIDES: '{"src_a":2}' })).toMatchObject({ claimed: 0, heldBack: 6 });

    // The loader starts and finishes the queued loads of src_b: its held rows go next, oldest first.
    const { started } = await startAllRuns(db.pool);
    expect(started.sort()).toEqual([a[0], ...b.slice(0, 3)].sort());
    for (const id of b.slice(0, 3)) {
      const row = await rowById(db.pool, id);
      const now = new Date();
      await finishRun(
        db.pool,
        { configId: id, runId: row.last_run_id!, owner: row.last_run_id!, seconds: 600 },
        { status: 'Succeeded', message: 'ok', rowsProcessed: 1 },
        { queuedAt: now, startedAt: now, endedAt: now },
        { backoffMinutes: [1] },
      );
    }
    expect(await tick({ SOURCE_CONCURRENCY_LIMIT: '3', SOURCE_CONCURRENCY_OVERRIDES: '{"src_a":2}' })).toMatchObject({ claimed: 2, heldBack: 4 });
    expect(await status(b)).toEqual(['Succeeded', 'Succeeded', 'Succeeded', 'Queued', 'Queued']);
  });

  it('passes over held-back rows due at the same instant without reading them again', async () => {
    const a = await insertRows(db.pool, { count: 30, sources: ['src_a'], name: 'a' });
    const b = await insertRows(db.pool, { count: 30, sources: ['src_b'], name: 'b' });
    await db.pool.query(`UPDATE control.table_control SET next_load_date_time = date_trunc('minute', LOCALTIMESTAMP) - interval '1 minute'`);
    const summary = await tick({ SENSOR_BATCH_SIZE: '7', SOURCE_CONCURRENCY_LIMIT: '4', SOURCE_CONCURRENCY_OVERRIDES: '{"src_b":20}' });
    expect(summary).toMatchObject({ claimed: 24, heldBack: 36, budgetSpent: false });
    // Each due row read once: 60 rows in batches of 7.
    expect(summary.batches).toBe(9);
    const rows = await controlRows(db.pool);
    const queued = (ids: number[]) => rows.filter((r) => ids.includes(r.config_id) && r.last_status === 'Queued').length;
    expect([queued(a), queued(b)]).toEqual([4, 20]);
  });

  it('fails rows with an invalid configuration, naming the field, and goes on with the others', async () => {
    const good = await insertRows(db.pool, { count: 2, sources: ['src_a'], name: 'good' });
    const [badCron] = await insertRows(db.pool, { count: 1, sources: ['src_a'], cron: '61 * * * *', name: 'bad_cron' });
    const [unknown] = await insertRows(db.pool, { count: 1, sources: ['src_a'], strategy: 'everything', name: 'unknown' });
    const [noStrategy] = await insertRows(db.pool, { count: 1, sources: ['src_a'], strategy: null, name: 'none' });
    const [incremental] = await insertRows(db.pool, { count: 1, sources: ['src_a'], strategy: 'incremental', name: 'inc' });
    const [rolling] = await insertRows(db.pool, { count: 1, sources: ['src_a'], strategy: 'rolling', name: 'roll' });
    const [chunked] = await insertRows(db.pool, { count: 1, sources: ['src_a'], strategy: 'chunked_backfill', name: 'chunk' });
    const [noSource] = await insertRows(db.pool, { count: 1, sources: ['src_a'], name: 'nosrc' });
    await db.pool.query(`UPDATE control.table_control SET rolling_column = 'updated_at', rolling_days = 0 WHERE config_id = $1`, [rolling]);
    await db.pool.query(`UPDATE control.table_control SET incremental_column = 'id' WHERE config_id = $1`, [incremental]);
    await db.pool.query(`UPDATE control.table_control SET db_config_key = NULL WHERE config_id = $1`, [noSource]);

    const summary = await tick();
    expect(summary).toMatchObject({ claimed: 2, failedConfig: 7 });
    for (const id of good) expect((await rowById(db.pool, id)).last_status).toBe('Queued');
    const failed = async (id: number | undefined) => {
      const row = await rowById(db.pool, id!);
      expect(row.last_status).toBe('Failed');
      expect(row.next_load_date_time).toBeNull();
      return row.last_status_message;
    };
    expect(await failed(badCron)).toMatch(/load_cron: "61 \* \* \* \*" is not a valid cron expression.*fix it/);
    expect(await failed(unknown)).toMatch(/load_strategy: "everything" is unknown: use one of full, incremental/);
    expect(await failed(noStrategy)).toMatch(/load_strategy: required: use one of/);
    const inc = await failed(incremental);
    expect(inc).toMatch(/incremental_type: required for load_strategy incremental \(one of timestamp, date, integer, decimal\)/);
    expect(inc).toMatch(/primary_key_cols: required for load_strategy incremental/);
    expect(inc).not.toMatch(/incremental_column:/);
    expect(await failed(rolling)).toMatch(/rolling_days: 0 is not allowed: set the window in days, a positive whole number/);
    expect(await failed(chunked)).toMatch(/partition_column: required.*lower_bound: required.*upper_bound: required.*num_partitions: required/);
    expect(await failed(noSource)).toMatch(/db_config_key: required/);
    expect((await queuedMessages(db.pool)).length).toBe(2);

    // They do not fail again every tick.
    const before = await rowById(db.pool, unknown!);
    expect(await tick()).toMatchObject({ failedConfig: 0, scheduled: 0 });
    expect((await rowById(db.pool, unknown!)).last_status_date_time).toEqual(before.last_status_date_time);
  });

  it('computes the first load time of active rows with a cron and none yet, and reschedules a failed row once edited', async () => {
    const [fresh] = await insertRows(db.pool, { count: 1, sources: ['src_a'], dueSecondsAgo: null, cron: '*/15 * * * *', name: 'fresh' });
    // A row that loaded before (its next time cleared) follows its cron; a new row is due at once.
    await db.pool.query(`UPDATE control.table_control SET last_load_date_time = now() - interval '1 day' WHERE config_id = $1`, [fresh]);
    const [brandNew] = await insertRows(db.pool, { count: 1, sources: ['src_b'], dueSecondsAgo: null, cron: '0 0 1 1 *', name: 'yearly' });
    const [inactive] = await insertRows(db.pool, { count: 1, sources: ['src_a'], dueSecondsAgo: null, active: false, name: 'off' });
    const [noCron] = await insertRows(db.pool, { count: 1, sources: ['src_a'], dueSecondsAgo: null, cron: null, name: 'nocron' });
    const [badCron] = await insertRows(db.pool, { count: 1, sources: ['src_a'], dueSecondsAgo: null, cron: '* * * *', name: 'bad' });
    const before = await dbNow(db.pool);

    const summary = await tick({ CRON_TIMEZONE: 'Europe/Amsterdam' });
    expect(summary).toMatchObject({ scheduled: 2, failedConfig: 1, claimed: 1 });
    // The yearly row loads within this tick, then follows its cron.
    const yearly = await rowById(db.pool, brandNew!);
    expect(yearly.last_status).toBe('Queued');
    expect(yearly.next_load_date_time).toEqual(nextOccurrence('0 0 1 1 *', before, 'Europe/Amsterdam'));
    const row = await rowById(db.pool, fresh!);
    expect(row.last_status).toBeNull();
    expect(row.next_load_date_time).toEqual(nextOccurrence('*/15 * * * *', before, 'Europe/Amsterdam'));
    expect((await rowById(db.pool, inactive!)).next_load_date_time).toBeNull();
    expect((await rowById(db.pool, noCron!)).next_load_date_time).toBeNull();
    const bad = await rowById(db.pool, badCron!);
    expect(bad).toMatchObject({ last_status: 'Failed', next_load_date_time: null });
    expect(bad.last_status_message).toMatch(/load_cron: "\* \* \* \*".*has 4 fields/);

    // Not edited: left alone. Edited (the admin API stamps last_modified_at): scheduled.
    expect(await tick()).toMatchObject({ scheduled: 0, failedConfig: 0 });
    await db.pool.query(
      `UPDATE control.table_control SET load_cron = '0 3 * * *', last_modified_at = clock_timestamp() WHERE config_id = $1`,
      [badCron],
    );
    expect(await tick()).toMatchObject({ scheduled: 1, failedConfig: 0 });
    expect((await rowById(db.pool, badCron!)).next_load_date_time).not.toBeNull();
  });

  it('recomputes the next time when load_cron is edited or the row is turned back on, by SQL or the API alike', async () => {
    const [id] = await insertRows(db.pool, { count: 1, sources: ['src_a'], dueSecondsAgo: -86_400, cron: '0 3 * * *', name: 'edited' });
    await db.pool.query(`UPDATE control.table_control SET last_load_date_time = now() - interval '1 day' WHERE config_id = $1`, [id]);
    const before = await dbNow(db.pool);
    await db.pool.query(`UPDATE control.table_control SET load_cron = '*/5 * * * *' WHERE config_id = $1`, [id]);
    expect((await rowById(db.pool, id!)).next_load_date_time).toBeNull();
    await tick();
    expect((await rowById(db.pool, id!)).next_load_date_time).toEqual(nextOccurrence('*/5 * * * *', before, 'UTC'));

    await db.pool.query(`UPDATE control.table_control SET is_active = false WHERE config_id = $1`, [id]);
    await db.pool.query(`UPDATE control.table_control SET next_load_date_time = now() + interval '300 days' WHERE config_id = $1`, [id]);
    await db.pool.query(`UPDATE control.table_control SET is_active = true WHERE config_id = $1`, [id]);
    await tick();
    const row = await rowById(db.pool, id!);
    expect(row.next_load_date_time!.getTime()).toBeLessThanOrEqual(before.getTime() + 10 * 60_000);
  });

  it('stops at the tick budget and resumes on the next tick', async () => {
    await insertRows(db.pool, { count: 20, sources: ['src_a'] });
    // A queue slower than the budget: the first batch's send uses it up.
    const slow = {
      send: async (messages: Parameters<typeof sender.send>[0]) => {
        await new Promise((resolve) => setTimeout(resolve, 700));
        await sender.send(messages);
      },
      close: async () => undefined,
    };
    const spent = await runSensorTick({ pool: db.pool, sender: slow, settings: testSettings({ SENSOR_BATCH_SIZE: '5', SENSOR_TICK_BUDGET_MS: '600' }) });
    expect(spent).toMatchObject({ budgetSpent: true, claimed: 5, sent: 5 });
    const rest = await tick();
    expect(rest).toMatchObject({ budgetSpent: false, claimed: 15, sent: 15 });
    expect((await queuedMessages(db.pool)).length).toBe(20);
  });

  it('reads due rows through the partial index, not a scan of the table', async () => {
    await insertRows(db.pool, { count: 3000, sources: ['src_a'], dueSecondsAgo: -86_400, name: 'later' });
    await insertRows(db.pool, { count: 200, sources: ['src_a'], name: 'due' });
    await db.pool.query('ANALYZE control.table_control');
    const plan: string[] = [];
    const explaining: Queryable = {
      query: (async (text: string, values?: unknown[]) => {
        const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${text}`, values);
        plan.push(...rows.map((r) => r['QUERY PLAN']));
        return { rows: [] };
      }) as unknown as Queryable['query'],
    };
    await selectDueRows(explaining, new Date(), DUE_CURSOR_START, 50);
    const text = plan.join('\n');
    expect(text).toMatch(/Index Scan using idx_table_control_due on table_control/);
    expect(text).not.toMatch(/Seq Scan/);
  });
});
