/**
 * Runs that keep going: a chunked_backfill with chunks left is due again after
 * BACKFILL_PAUSE_SECONDS (not at its daily slot), completes, then appends new
 * rows past its range; a transient failure is due again after a backoff, then
 * succeeds, each run with its history row.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { TransientError } from '../shared/errors.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

let h: LoaderHarness;
const tomorrow = () => new Date(Date.now() + 86_400_000);

beforeAll(async () => {
  h = await createLoaderHarness({ BACKFILL_TIME_BUDGET_SECONDS: '1', BACKFILL_PAUSE_SECONDS: '2', RETRY_BACKOFF_MINUTES: '1,5' });
  await h.source.pool.query(`
    CREATE TABLE public.facts (id integer PRIMARY KEY, n integer);
    INSERT INTO public.facts SELECT g, g FROM generate_series(1, 60) g;
    CREATE TABLE public.small (id integer PRIMARY KEY);
    INSERT INTO public.small SELECT g FROM generate_series(1, 5) g;`);
});

/** Queues the row again as the sensor would: its next time moves on to its following (daily) slot. */
async function requeueDaily(configId: number) {
  const message = await h.requeue(configId);
  await h.control.pool.query(`UPDATE control.table_control SET next_load_date_time = $2 WHERE config_id = $1`, [configId, tomorrow()]);
  return message;
}

const rowsOf = async (sql: string) => (await h.destination.pool.query({ text: sql, rowMode: 'array' })).rows;
const slowChunks = { faults: { at: async (step: string) => void (step === 'afterDestinationCommit' && (await new Promise((r) => setTimeout(r, 1_100)))) } };

describe('chunked_backfill on a daily cron', () => {
  it('runs chunk after chunk a short pause apart until done, then appends past its range', async () => {
    let message = await h.queueRow({
      source_table_name: 'facts',
      destination_table_name: 'facts',
      load_strategy: 'chunked_backfill',
      partition_column: 'n',
      lower_bound: '1',
      upper_bound: '61',
      num_partitions: 6,
      load_cron: '0 0 * * *',
      next_load_date_time: tomorrow(),
    });
    const messages: string[] = [];
    for (let run = 1; run <= 6; run++) {
      const before = Date.now();
      await h.deliver(message, slowChunks);
      const row = await h.row(message.config_id);
      messages.push(row.last_status_message as string);
      if (run < 6) {
        // Due again after the pause, not tomorrow.
        const next = (row.next_load_date_time as Date).getTime();
        expect(next).toBeGreaterThanOrEqual(before + 2_000 - 1_000);
        expect(next).toBeLessThan(Date.now() + 3_000);
        message = await requeueDaily(message.config_id);
      }
    }
    expect(messages[0]).toMatch(/^backfill 1\/6 chunks \(10 rows this run\); continues after a pause of 2 s; due again at /);
    expect(messages[5]).toBe('backfill complete: 6/6 chunks (10 rows this run)');
    expect(await rowsOf('SELECT count(*)::int, sum(n)::int FROM landing.facts')).toEqual([[60, 1830]]);
    const done = await h.row(message.config_id);
    expect(done.incremental_value).toBe('61');
    // Back on its daily slot once complete.
    expect((done.next_load_date_time as Date).getTime()).toBeGreaterThan(Date.now() + 3_600_000);

    // New rows past the range: the next run appends them, idempotently over its lookback.
    await h.source.pool.query(`INSERT INTO public.facts SELECT g, g FROM generate_series(61, 75) g`);
    for (let i = 0; i < 2; i++) {
      message = await requeueDaily(message.config_id);
      await h.deliver(message);
    }
    expect(await rowsOf('SELECT count(*)::int, sum(n)::int FROM landing.facts')).toEqual([[75, 2850]]);
    const appended = await h.row(message.config_id);
    expect(appended.incremental_value).toBe('75');
    expect(appended.last_status_message).toMatch(/^backfill complete: 6\/6 chunks; \d+ rows past 75 \(with lookback\) appended; watermark 75/);
    expect((await h.history(message.config_id)).map((r) => r.load_status)).toEqual(Array(8).fill('Succeeded'));
  });
});

describe('a transient failure', () => {
  it('is due again after a backoff, never past its next slot, then succeeds', async () => {
    let message = await h.queueRow({
      source_table_name: 'small',
      destination_table_name: 'small',
      load_strategy: 'full',
      load_cron: '0 0 * * *',
      next_load_date_time: tomorrow(),
    });
    const blip = { faults: { at: (step: string) => { if (step === 'midWrite') throw new TransientError('network blip'); } } };
    const before = Date.now();
    await h.deliver(message, blip);
    let row = await h.row(message.config_id);
    expect(row).toMatchObject({ last_status: 'Failed', retry_count: 1 });
    expect(row.last_status_message).toMatch(/^failed after 2 attempts \(transient errors\): network blip; due again at .* \(retry 1 after a transient failure\)$/);
    const next = (row.next_load_date_time as Date).getTime();
    expect(next).toBeGreaterThanOrEqual(before + 60_000 - 2_000);
    expect(next).toBeLessThan(Date.now() + 61_000);

    message = await requeueDaily(message.config_id);
    await h.deliver(message, blip);
    row = await h.row(message.config_id);
    expect(row.retry_count).toBe(2);
    expect((row.next_load_date_time as Date).getTime()).toBeGreaterThan(Date.now() + 4 * 60_000);

    message = await requeueDaily(message.config_id);
    await h.deliver(message);
    row = await h.row(message.config_id);
    expect(row).toMatchObject({ last_status: 'Succeeded', retry_count: null });
    expect((await h.history(message.config_id)).map((r) => r.load_status)).toEqual(['Failed', 'Failed', 'Succeeded']);
    expect(await rowsOf('SELECT count(*)::int FROM landing.small')).toEqual([[5]]);
  });
});
