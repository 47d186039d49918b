/** The run transitions of the status machine, on a real control database. */
import { describe, expect, it } from 'vitest';
import { finishRun, startRun, type RunOutcome } from '../shared/control/status.js';
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
const timing = () => ({ queuedAt: new Date(), startedAt: new Date(), endedAt: new Date() });

async function state(configId: number) {
  const row = await db.pool.query(`SELECT last_status, incremental_value FROM control.table_control WHERE config_id = $1`, [configId]);
  const runs = await db.pool.query(`SELECT count(*)::int AS n FROM control.historical_metadata h JOIN control.table_control t USING (control_key) WHERE t.config_id = $1`, [configId]);
  return { ...row.rows[0], runs: runs.rows[0].n };
}

describe('status machine', () => {
  it('starts a queued run once, finishes it once with one history row', async () => {
    const id = await queuedRow('run-a');
    expect(await startRun(db.pool, id, 'run-a', 90)).toBeDefined();
    expect(await startRun(db.pool, id, 'run-a', 90)).toBeUndefined();
    expect(await finishRun(db.pool, id, 'run-a', succeeded, timing())).toBe(true);
    // A retried finish (its first reply lost) changes nothing and writes no second history row.
    expect(await finishRun(db.pool, id, 'run-a', succeeded, timing())).toBe(false);
    expect(await state(id)).toEqual({ last_status: 'Succeeded', incremental_value: '42', runs: 1 });
  });

  it('does not let a run that was reaped or reset finish afterwards', async () => {
    const id = await queuedRow('run-b');
    await startRun(db.pool, id, 'run-b', 90);
    await db.pool.query(`UPDATE control.table_control SET last_status = 'Failed', last_status_message = 'reaped' WHERE config_id = $1`, [id]);
    expect(await finishRun(db.pool, id, 'run-b', succeeded, timing())).toBe(false);
    expect(await state(id)).toEqual({ last_status: 'Failed', incremental_value: null, runs: 0 });
  });

  it('refuses a stale run id', async () => {
    const id = await queuedRow('run-c');
    expect(await startRun(db.pool, id, 'run-old', 90)).toBeUndefined();
    expect(await finishRun(db.pool, id, 'run-old', succeeded, timing())).toBe(false);
    expect(await state(id)).toEqual({ last_status: 'Queued', incremental_value: null, runs: 0 });
  });
});
