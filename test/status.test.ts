/** The run transitions of the status machine, on a real control database. */
import { describe, expect, it } from 'vitest';
import { assertLeaseHeld, dueAgain, finishRun, heartbeat, resetStatus, startRun, type Lease, type RunOutcome } from '../shared/control/status.js';
import { createTestDatabase } from './support/db.js';

const db = await createTestDatabase();

async function queuedRow(runId: string): Promise<number> {
  const { rows } = await db.pool.query<{ config_id: number }>(
    `INSERT INTO control.table_control (source_table_catalog, source_table_schema, source_table_name, is_active,
                                        load_strategy, last_status, last_run_id, last_status_date_time)
     VALUES ('c', 's', $1, true, 'full', 'Queued', $1, CURRENT_TIMESTAMP) RETURNING config_id`,
    [runId],
  );
  return rows[0]!.config_id;
}

const succeeded: RunOutcome = { status: 'Succeeded', message: 'full load: 3 rows', rowsProcessed: 3, watermark: '42' };
const policy = { backoffMinutes: [1, 5, 15, 60] };
const lease = (configId: number, runId: string, owner = `${runId}-owner`, seconds = 90): Lease => ({ configId, runId, owner, seconds });
const timing = () => ({ queuedAt: new Date(), startedAt: new Date(), endedAt: new Date() });

async function state(configId: number) {
  const row = await db.pool.query(`SELECT last_status, incremental_value FROM control.table_control WHERE config_id = $1`, [configId]);
  const runs = await db.pool.query(`SELECT count(*)::int AS n FROM control.historical_metadata h JOIN control.table_control t USING (control_key) WHERE t.config_id = $1`, [configId]);
  return { ...row.rows[0], runs: runs.rows[0].n };
}

describe('status machine', () => {
  it('starts a queued run once, finishes it once with one history row', async () => {
    const id = await queuedRow('run-a');
    expect((await startRun(db.pool, lease(id, 'run-a'))).kind).toBe('started');
    expect((await startRun(db.pool, lease(id, 'run-a', 'other'))).kind).toBe('busy');
    expect(await finishRun(db.pool, lease(id, 'run-a'), succeeded, timing(), policy)).toBe(true);
    // A retried finish (its first reply lost) changes nothing and writes no second history row.
    expect(await finishRun(db.pool, lease(id, 'run-a'), succeeded, timing(), policy)).toBe(false);
    expect(await state(id)).toEqual({ last_status: 'Succeeded', incremental_value: '42', runs: 1 });
  });

  it('does not let a run that was reaped or reset finish afterwards', async () => {
    const id = await queuedRow('run-b');
    await startRun(db.pool, lease(id, 'run-b'));
    await db.pool.query(`UPDATE control.table_control SET last_status = 'Failed', last_status_message = 'reaped' WHERE config_id = $1`, [id]);
    expect(await finishRun(db.pool, lease(id, 'run-b'), succeeded, timing(), policy)).toBe(false);
    expect(await state(id)).toEqual({ last_status: 'Failed', incremental_value: null, runs: 0 });
  });

  it('refuses a stale run id', async () => {
    const id = await queuedRow('run-c');
    expect((await startRun(db.pool, lease(id, 'run-old'))).kind).toBe('stale');
    expect(await finishRun(db.pool, lease(id, 'run-old'), succeeded, timing(), policy)).toBe(false);
    expect(await state(id)).toEqual({ last_status: 'Queued', incremental_value: null, runs: 0 });
  });

  it('fences every write by the lease owner, and takes a run over only after its lease lapsed', async () => {
    const id = await queuedRow('run-d');
    const first = lease(id, 'run-d', 'first', 2);
    expect((await startRun(db.pool, first)).kind).toBe('started');
    // A duplicate delivery while the lease is live: come back later.
    expect(await startRun(db.pool, lease(id, 'run-d', 'second', 2))).toMatchObject({ kind: 'busy' });
    expect(await heartbeat(db.pool, first)).toBe('alive');
    await db.pool.query(`UPDATE control.table_control SET lease_expires_at = LOCALTIMESTAMP - interval '1 second' WHERE config_id = $1`, [id]);
    const second = lease(id, 'run-d', 'second', 2);
    expect(await startRun(db.pool, second)).toMatchObject({ kind: 'started', tookOver: true });
    // The first attempt's heartbeat, progress and finish are all refused now.
    expect(await heartbeat(db.pool, first)).toBe('lost');
    const client = await db.pool.connect();
    try {
      await expect(assertLeaseHeld(client, first, 'a chunk')).rejects.toThrow(/no longer this attempt's/);
      await expect(assertLeaseHeld(client, second, 'a chunk')).resolves.toBeUndefined();
    } finally {
      client.release();
    }
    expect(await finishRun(db.pool, first, succeeded, timing(), policy)).toBe(false);
    expect(await finishRun(db.pool, second, succeeded, timing(), policy)).toBe(true);
    const { rows } = await db.pool.query(
      `SELECT h.load_status, h.log_message FROM control.historical_metadata h JOIN control.table_control t USING (control_key)
        WHERE t.config_id = $1 ORDER BY h.load_status`,
      [id],
    );
    expect(rows.map((r) => r.load_status)).toEqual(['Cancelled', 'Succeeded']);
    expect(rows[0].log_message).toMatch(/attempt first lost its lease.*taken over by attempt second/);
  });

  it('cancels a run whose row was deactivated while queued, with a history row', async () => {
    const id = await queuedRow('run-e');
    await db.pool.query(`UPDATE control.table_control SET is_active = false WHERE config_id = $1`, [id]);
    expect((await startRun(db.pool, lease(id, 'run-e'))).kind).toBe('cancelled');
    const row = await db.pool.query(`SELECT last_status, last_status_message FROM control.table_control WHERE config_id = $1`, [id]);
    expect(row.rows[0]).toMatchObject({ last_status: null, last_status_message: expect.stringMatching(/^Cancelled: the row was deactivated/) });
    const h = await db.pool.query(`SELECT load_status FROM control.historical_metadata WHERE run_id = 'run-e'`);
    expect(h.rows.map((r) => r.load_status)).toEqual(['Cancelled']);
  });

  it('writes a Cancelled history row for a run reset while running', async () => {
    const id = await queuedRow('run-f');
    await startRun(db.pool, lease(id, 'run-f'));
    await resetStatus(db.pool, [id], 'Status reset by admin');
    const h = await db.pool.query(`SELECT load_status, log_message FROM control.historical_metadata WHERE run_id = 'run-f'`);
    expect(h.rows).toEqual([{ load_status: 'Cancelled', log_message: 'Cancelled: Status reset by admin while In Progress' }]);
  });

  it('makes a transient failure due again after a growing backoff, never past the next cron slot', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const failed = { status: 'Failed' as const, transient: true };
    const inADay = new Date('2026-01-02T00:00:00Z');
    expect(dueAgain({ next_load_date_time: inADay, retry_count: null }, failed, now, policy)).toMatchObject({
      next: new Date('2026-01-01T00:01:00Z'),
      retryCount: 1,
    });
    expect(dueAgain({ next_load_date_time: inADay, retry_count: 2 }, failed, now, policy).next).toEqual(new Date('2026-01-01T00:15:00Z'));
    expect(dueAgain({ next_load_date_time: inADay, retry_count: 9 }, failed, now, policy).next).toEqual(new Date('2026-01-01T01:00:00Z'));
    const soon = new Date('2026-01-01T00:03:00Z');
    expect(dueAgain({ next_load_date_time: soon, retry_count: 1 }, failed, now, policy)).toMatchObject({ next: soon, retryCount: 2 });
    // A terminal failure waits for its slot; a success clears the count.
    expect(dueAgain({ next_load_date_time: inADay, retry_count: 3 }, { status: 'Failed' }, now, policy)).toEqual({ next: inADay, retryCount: null, note: '' });
    expect(dueAgain({ next_load_date_time: inADay, retry_count: 3 }, { status: 'Succeeded', dueAgainAfterSeconds: 5 }, now, policy).next).toEqual(
      new Date('2026-01-01T00:00:05Z'),
    );
  });
});
