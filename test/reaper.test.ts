import { beforeEach, describe, expect, it } from 'vitest';
import { heartbeat, startRun } from '../shared/control/status.js';
import { createControlPool } from '../shared/db/pool.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import { runReaper, type ReaperSummary } from '../shared/reaper/reap.js';
import { runSensorTick } from '../shared/sensor/tick.js';
import { createTestDatabase } from './support/db.js';
import { dbNow, insertRows, QUEUE, resetControl, rowById, testSettings } from './sensor-fixtures.js';

const db = await createTestDatabase();
const settings = testSettings();
const reap = (env: Record<string, string> = {}) => runReaper({ pool: db.pool, settings: testSettings(env) });

beforeEach(async () => {
  await resetControl(db.pool);
});

/** A row in `status` for run `run-<id>`, with times set minutes before now (NULL leaves a column NULL). */
async function inFlightRow(
  status: 'Queued' | 'In Progress',
  minutesAgo: { queued?: number; started?: number | null; heartbeat?: number | null },
): Promise<number> {
  const [id] = await insertRows(db.pool, { count: 1, sources: ['src_a'], status, dueSecondsAgo: -3600 });
  const ago = (m: number | null | undefined) => (m === undefined || m === null ? null : m);
  await db.pool.query(
    `UPDATE control.table_control
        SET last_run_id = 'run-' || config_id,
            destination_table_schema = 'raw', destination_table_name = 'orders',
            last_queued_at = LOCALTIMESTAMP - make_interval(mins => $2),
            last_status_date_time = LOCALTIMESTAMP - make_interval(mins => COALESCE($3, $2)),
            last_load_date_time = LOCALTIMESTAMP - make_interval(mins => $3),
            last_heartbeat_at = LOCALTIMESTAMP - make_interval(mins => $4)
      WHERE config_id = $1`,
    [id, minutesAgo.queued ?? 0, ago(minutesAgo.started), ago(minutesAgo.heartbeat)],
  );
  return id!;
}

interface HistoryRow {
  run_id: string;
  load_status: string;
  log_message: string;
  load_queued_time: Date | null;
  load_start_time: Date | null;
  load_end_time: Date | null;
  total_duration: number | null;
  source_table: string | null;
  target_table: string | null;
  rows_processed: number;
}

async function history(): Promise<HistoryRow[]> {
  const { rows } = await db.pool.query<HistoryRow>(
    `SELECT run_id, load_status, log_message, load_queued_time, load_start_time, load_end_time, total_duration,
            source_table, target_table, rows_processed
       FROM control.historical_metadata ORDER BY run_id`,
  );
  return rows;
}

const minutes = (a: Date | null, b: Date | null) => Math.round((a!.getTime() - b!.getTime()) / 60_000);

describe('reaper', () => {
  it('fails runs Queued longer than QUEUED_TIMEOUT_MINUTES, with a history row', async () => {
    const stale = await inFlightRow('Queued', { queued: 61 });
    const fresh = await inFlightRow('Queued', { queued: 59 });
    expect(await reap()).toMatchObject({ queued: 1, inProgress: 0 });

    const row = await rowById(db.pool, stale);
    expect(row.last_status).toBe('Failed');
    expect(row.last_status_message).toMatch(/Timed out: Queued for more than 60 minutes \(QUEUED_TIMEOUT_MINUTES\)/);
    expect((await rowById(db.pool, fresh)).last_status).toBe('Queued');

    const [h] = await history();
    expect(h).toMatchObject({ run_id: `run-${stale}`, load_status: 'Failed', log_message: row.last_status_message, rows_processed: 0 });
    expect(h).toMatchObject({ source_table: 'orders_1', target_table: 'orders' });
    // Never started: its time counts from when it was queued.
    expect(h!.load_start_time).toEqual(h!.load_queued_time);
    expect(minutes(h!.load_end_time, h!.load_queued_time)).toBe(61);
    expect(h!.total_duration).toBeGreaterThanOrEqual(61 * 60 - 1);
    expect(h!.load_end_time!.getTime()).toBeLessThanOrEqual((await dbNow(db.pool)).getTime());

    // Reaped once: a second pass finds nothing.
    expect(await reap()).toMatchObject({ queued: 0, inProgress: 0 });
    expect(await history()).toHaveLength(1);
  });

  it('fails runs In Progress longer than IN_PROGRESS_TIMEOUT_MINUTES from their start, whatever the heartbeat', async () => {
    const dead = await inFlightRow('In Progress', { queued: 200, started: 190, heartbeat: null });
    const beating = await inFlightRow('In Progress', { queued: 400, started: 390, heartbeat: 1 });
    const young = await inFlightRow('In Progress', { queued: 100, started: 95, heartbeat: null });
    const youngSilent = await inFlightRow('In Progress', { queued: 170, started: 170, heartbeat: 169 });
    expect(await reap()).toMatchObject({ queued: 0, inProgress: 2 });

    for (const id of [dead, beating]) {
      const row = await rowById(db.pool, id);
      expect(row.last_status).toBe('Failed');
      expect(row.last_status_message).toMatch(/In Progress for more than 180 minutes \(IN_PROGRESS_TIMEOUT_MINUTES\) since its start/);
    }
    for (const id of [young, youngSilent]) expect((await rowById(db.pool, id)).last_status).toBe('In Progress');

    const rows = await history();
    expect(rows.map((h) => h.run_id)).toEqual([`run-${dead}`, `run-${beating}`].sort());
    const h = rows.find((r) => r.run_id === `run-${beating}`)!;
    expect(minutes(h.load_start_time, h.load_queued_time)).toBe(10);
    expect(minutes(h.load_end_time, h.load_start_time)).toBe(390);
    expect(h.total_duration).toBeGreaterThanOrEqual(390 * 60 - 1);
  });

  it('reads both timeouts from the settings', async () => {
    const q = await inFlightRow('Queued', { queued: 6 });
    const p = await inFlightRow('In Progress', { queued: 30, started: 21, heartbeat: 1 });
    expect(await reap({ QUEUED_TIMEOUT_MINUTES: '5', IN_PROGRESS_TIMEOUT_MINUTES: '20' })).toMatchObject({ queued: 1, inProgress: 1 });
    expect((await rowById(db.pool, q)).last_status_message).toMatch(/more than 5 minutes/);
    expect((await rowById(db.pool, p)).last_status_message).toMatch(/more than 20 minutes/);
  });

  it('fails a load still heartbeating at its deadline, and the loader learns its run is gone', async () => {
    const [id] = await insertRows(db.pool, { count: 1, sources: ['src_a'] });
    await runSensorTick({ pool: db.pool, sender: new LocalQueueSender(db.pool, { queueName: QUEUE }), settings });
    const runId = (await rowById(db.pool, id!)).last_run_id!;
    const lease = { configId: id!, runId, owner: 'attempt-1', seconds: 600 };
    expect((await startRun(db.pool, lease)).kind).toBe('started');
    await db.pool.query(`UPDATE control.table_control SET last_load_date_time = LOCALTIMESTAMP - interval '179 minutes' WHERE config_id = $1`, [id]);
    expect(await heartbeat(db.pool, lease, 'copied 1,000,000 rows')).toBe('alive');
    expect(await reap()).toMatchObject({ inProgress: 0 });
    // Past the deadline from its start: reaped although it heartbeats.
    await db.pool.query(`UPDATE control.table_control SET last_load_date_time = LOCALTIMESTAMP - interval '181 minutes' WHERE config_id = $1`, [id]);
    expect(await heartbeat(db.pool, lease)).toBe('alive');
    expect(await reap()).toMatchObject({ inProgress: 1 });
    expect((await rowById(db.pool, id!)).last_status).toBe('Failed');
    expect(await heartbeat(db.pool, lease)).toBe('lost');
    expect((await rowById(db.pool, id!)).last_status).toBe('Failed');
  });

  it('reaps each run exactly once when reapers run at once', async () => {
    const ids = await insertRows(db.pool, { count: 300, sources: ['src_a', 'src_b'], status: 'Queued', dueSecondsAgo: -3600 });
    await db.pool.query(
      `UPDATE control.table_control
          SET last_run_id = 'run-' || config_id,
              last_status_date_time = LOCALTIMESTAMP - interval '2 hours',
              last_queued_at = LOCALTIMESTAMP - interval '2 hours'`,
    );
    const pools = Array.from({ length: 4 }, () => createControlPool({ url: db.url, ssl: 'disable', statementTimeoutMs: 30_000 }, 2));
    let summaries: ReaperSummary[];
    try {
      summaries = await Promise.all(pools.map((pool) => runReaper({ pool, settings, batchSize: 25 })));
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
    expect(summaries.reduce((n, s) => n + s.queued, 0)).toBe(300);
    const rows = await history();
    expect(rows).toHaveLength(300);
    expect(new Set(rows.map((r) => r.run_id)).size).toBe(300);
    const { rows: statuses } = await db.pool.query<{ last_status: string; n: number }>(
      `SELECT last_status, count(*)::int AS n FROM control.table_control WHERE config_id = ANY($1) GROUP BY 1`,
      [ids],
    );
    expect(statuses).toEqual([{ last_status: 'Failed', n: 300 }]);
  });
});
