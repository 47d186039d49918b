/**
 * Each strategy end to end as the system runs it: the sensor queues due rows
 * on the local queue, the loader drains the queue (as `dataloader loader
 * --drain` does) and loads from the source database into the destination.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { runLoaderWorkers } from '../shared/loader/queue-worker.js';
import { runSensorTick } from '../shared/sensor/tick.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

let h: LoaderHarness;

beforeAll(async () => {
  h = await createLoaderHarness({ SOURCE_CONCURRENCY_LIMIT: '100' });
  await h.source.pool.query(`
    CREATE TABLE public.orders (id integer PRIMARY KEY, customer text, amount numeric(10,2), updated_at timestamp(6), day date);
    INSERT INTO public.orders
    SELECT g, 'c' || g, g * 1.5, timestamp '2024-01-01' + make_interval(hours => g, secs => g * 0.000001), current_date - (g % 5)
      FROM generate_series(1, 40) g;`);
});

/** Rows the sensor will find due now (each reading its own catalog, so each has its own history). */
async function insertDueRows(rows: Record<string, unknown>[]): Promise<number[]> {
  const ids: number[] = [];
  for (const [i, fields] of rows.entries()) {
    const values: Record<string, unknown> = {
      is_active: true,
      db_config_key: h.sourceKey,
      source_table_catalog: `e2e${i}`,
      source_table_schema: 'public',
      source_table_name: 'orders',
      load_cron: '0 0 * * *',
      next_load_date_time: new Date(Date.now() - 60_000),
      ...fields,
    };
    const names = Object.keys(values);
    const { rows: inserted } = await h.control.pool.query(
      `INSERT INTO control.table_control (${names.join(', ')}) VALUES (${names.map((_, n) => `$${n + 1}`).join(', ')}) RETURNING config_id`,
      Object.values(values),
    );
    ids.push(inserted[0].config_id);
  }
  return ids;
}

async function tickAndDrain() {
  const tick = await runSensorTick({ pool: h.control.pool, sender: h.runtime.queueSender, settings: h.runtime.settings });
  const drained = await runLoaderWorkers(h.runtime, { concurrency: 2, untilEmpty: true });
  return { tick, drained };
}

const makeDue = (ids: number[]) =>
  h.control.pool.query(`UPDATE control.table_control SET next_load_date_time = now() - interval '1 minute' WHERE config_id = ANY($1)`, [ids]);

async function destination(sql: string): Promise<unknown[][]> {
  return (await h.destination.pool.query({ text: sql, rowMode: 'array' })).rows;
}

async function source(sql: string): Promise<unknown[][]> {
  return (await h.source.pool.query({ text: sql, rowMode: 'array' })).rows;
}

describe('sensor, queue and loader', () => {
  it('load every strategy, twice, with exact destination contents and history', async () => {
    const strategies: Record<string, Record<string, unknown>> = {
      full: { load_strategy: 'full', destination_table_name: 'e2e_full' },
      incremental: {
        load_strategy: 'incremental',
        destination_table_name: 'e2e_incremental',
        incremental_column: 'updated_at',
        incremental_type: 'timestamp',
        primary_key_cols: 'id',
      },
      append_only: { load_strategy: 'append_only', destination_table_name: 'e2e_append', incremental_column: 'id', incremental_type: 'integer' },
      rolling: { load_strategy: 'rolling', destination_table_name: 'e2e_rolling', rolling_column: 'day', rolling_days: 2 },
      check_and_load: { load_strategy: 'check_and_load', destination_table_name: 'e2e_check' },
      chunked_backfill: {
        load_strategy: 'chunked_backfill',
        destination_table_name: 'e2e_backfill',
        partition_column: 'id',
        lower_bound: '1',
        upper_bound: '41',
        num_partitions: 4,
      },
    };
    const ids = await insertDueRows(Object.values(strategies));
    const first = await tickAndDrain();
    const { rows: failed } = await h.control.pool.query(`SELECT config_id, last_status_message FROM control.table_control WHERE last_status = 'Failed'`);
    expect(failed).toEqual([]);
    expect(first.tick.claimed).toBe(6);
    expect(first.drained).toEqual({ completed: 6, deadLettered: 0, abandoned: 0 });

    await h.source.pool.query(`
      UPDATE public.orders SET customer = 'changed', updated_at = '2024-02-01 00:00:00.000001' WHERE id IN (3, 4);
      INSERT INTO public.orders VALUES (41, 'new', 1, '2024-02-01 00:00:00.000002', current_date);`);
    await makeDue(ids);
    const second = await tickAndDrain();
    expect(second.drained).toEqual({ completed: 6, deadLettered: 0, abandoned: 0 });

    const all = `SELECT id, customer, amount::text, updated_at::text, day::text FROM %s ORDER BY id`;
    const sourceRows = await source(all.replace('%s', 'public.orders'));
    expect(await destination(all.replace('%s', 'landing.e2e_full'))).toEqual(sourceRows);
    expect(await destination(all.replace('%s', 'landing.e2e_incremental'))).toEqual(sourceRows);
    expect(await destination(all.replace('%s', 'landing.e2e_check'))).toEqual(sourceRows);
    // append_only by id: the integer lookback (the last 1000 ids) re-reads rows 3 and 4, so their changes land too.
    expect(await destination(all.replace('%s', 'landing.e2e_append'))).toEqual(sourceRows);
    expect(await destination(all.replace('%s', 'landing.e2e_rolling'))).toEqual(
      await source(all.replace('%s', 'public.orders WHERE day >= current_date - 2')),
    );
    // The backfill finished in its first run; its second run appends what lies past its range (row 41).
    expect(await destination(`SELECT count(*)::int FROM landing.e2e_backfill`)).toEqual([[41]]);

    const { rows: history } = await h.control.pool.query(
      `SELECT t.load_strategy, h.load_status, h.rows_processed, h.run_id = t.last_run_id AS latest
         FROM control.historical_metadata h JOIN control.table_control t ON t.control_key = h.control_key
        WHERE t.config_id = ANY($1) ORDER BY t.config_id, h.id`,
      [ids],
    );
    expect(history.map((r) => `${r.load_strategy} ${r.load_status} ${r.rows_processed}${r.latest ? ' latest' : ''}`)).toEqual([
      'full Succeeded 40',
      'full Succeeded 41 latest',
      'incremental Succeeded 40',
      // Rows 3, 4 and 41 changed; row 40 is re-read by the lookback.
      'incremental Succeeded 4 latest',
      'append_only Succeeded 40',
      'append_only Succeeded 41 latest',
      `rolling Succeeded ${(await source('SELECT count(*) FROM public.orders WHERE id <= 40 AND day >= current_date - 2'))[0]![0]}`,
      `rolling Succeeded ${(await source('SELECT count(*) FROM public.orders WHERE day >= current_date - 2'))[0]![0]} latest`,
      'check_and_load Succeeded 40',
      'check_and_load Succeeded 41 latest',
      'chunked_backfill Succeeded 40',
      'chunked_backfill Succeeded 41 latest',
    ]);
    const { rows: statuses } = await h.control.pool.query(
      `SELECT DISTINCT last_status FROM control.table_control WHERE config_id = ANY($1)`,
      [ids],
    );
    expect(statuses).toEqual([{ last_status: 'Succeeded' }]);
  });

  it('dead-letters a malformed message on the local queue', async () => {
    await h.runtime.queueSender.send([{ messageId: 'garbage-1', body: { config_id: -1 } as never }]);
    const drained = await runLoaderWorkers(h.runtime, { concurrency: 1, untilEmpty: true });
    expect(drained).toEqual({ completed: 0, deadLettered: 1, abandoned: 0 });
  });

  it('keeps polling the queue until stopped (the local host)', async () => {
    const controller = new AbortController();
    const running = runLoaderWorkers(h.runtime, { concurrency: 2, untilEmpty: false, pollMs: 50, signal: controller.signal });
    const [id] = await insertDueRows([{ load_strategy: 'full', destination_table_name: 'e2e_polled', source_table_catalog: 'polled' }]);
    await runSensorTick({ pool: h.control.pool, sender: h.runtime.queueSender, settings: h.runtime.settings });
    await vi.waitFor(async () => expect((await h.row(id!)).last_status).toBe('Succeeded'), { timeout: 15_000, interval: 100 });
    controller.abort();
    expect(await running).toEqual({ completed: 1, deadLettered: 0, abandoned: 0 });
  });

  it('`dataloader loader --drain` processes the local queue until empty, then exits', async () => {
    const [id] = await insertDueRows([{ load_strategy: 'full', destination_table_name: 'e2e_cli', source_table_catalog: 'cli' }]);
    await runSensorTick({ pool: h.control.pool, sender: h.runtime.queueSender, settings: h.runtime.settings });
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'cli/main.ts', 'loader', '--drain', '--concurrency', '2'], {
      env: {
        ...process.env,
        DATABASE_URL: h.control.url,
        CONTROL_DB_SSL: 'disable',
        DESTINATION_DB_CONFIG_KEY: h.destinationKey,
        SECRETS_FROM_ENVIRONMENT: 'true',
        LOG_LEVEL: 'error',
      },
    });
    expect(stdout.trim()).toBe('loader: 1 messages completed, 0 dead-lettered, 0 abandoned for redelivery');
    expect((await h.row(id!)).last_status).toBe('Succeeded');
    expect(await destination('SELECT count(*)::int FROM landing.e2e_cli')).toEqual([[41]]);
  });
});
