import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTruthy, parseColumnList } from '../shared/strategies/config.js';
import { splitRange } from '../shared/strategies/ranges.js';
import { windowStart } from '../shared/strategies/rolling.js';
import { compareWatermarks, nextWatermark } from '../shared/strategies/watermark.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

let h: LoaderHarness;

beforeAll(async () => {
  h = await createLoaderHarness();
  await h.source.pool.query(`
    CREATE TABLE public.orders (
      id integer PRIMARY KEY,
      customer text,
      amount numeric(10,2),
      updated_at timestamp(6) without time zone,
      n integer
    );
    INSERT INTO public.orders VALUES
      (1, 'ann', 10.00, '2024-01-01 10:00:00.000001', 5),
      (2, 'bob', 20.50, '2024-01-01 11:00:00.123456', 50),
      (3, 'cy',  NULL,  '2024-01-01 12:00:00.999999', NULL),
      (4, 'dee', 7.25,  '2024-01-01 09:00:00', 95);`);
});

async function table(sql: string): Promise<unknown[][]> {
  const { rows } = await h.destination.pool.query({ text: sql, rowMode: 'array' });
  return rows;
}

const ordersSql = (t: string) => `SELECT id, customer, amount::text, updated_at::text, n FROM ${t} ORDER BY id`;
const sourceOrders = async () => (await h.source.pool.query({ text: ordersSql('public.orders'), rowMode: 'array' })).rows;

describe('full', () => {
  it('replaces the destination with the source, and records the run', async () => {
    const message = await h.queueRow({ source_table_name: 'orders', destination_table_name: 'orders_full', load_strategy: 'full' });
    expect(await h.deliver(message)).toEqual({ kind: 'complete' });
    expect(await table(ordersSql('landing.orders_full'))).toEqual(await sourceOrders());
    const row = await h.row(message.config_id);
    expect(row).toMatchObject({ last_status: 'Succeeded', last_status_message: 'full load: 4 rows replaced landing.orders_full', last_heartbeat_at: null });
    const [run] = await h.history(message.config_id);
    expect(run).toMatchObject({
      run_id: message.run_id,
      load_status: 'Succeeded',
      rows_processed: 4,
      source_schema: 'public',
      source_table: 'orders',
      target_schema: 'landing', // the destination's default_target_schema
      target_table: 'orders_full',
      log_message: 'full load: 4 rows replaced landing.orders_full',
    });
    expect(run!.load_queued_time).toEqual(new Date(message.queued_at));
    expect((run!.load_end_time as Date).getTime()).toBeGreaterThanOrEqual((run!.load_start_time as Date).getTime());

    // Deleted and changed source rows are reflected by the next full load.
    await h.source.pool.query(`CREATE TABLE public.shrinking AS SELECT * FROM public.orders`);
    const m2 = await h.queueRow({ source_table_name: 'shrinking', destination_table_name: 'shrinking', load_strategy: 'full' });
    await h.deliver(m2);
    await h.source.pool.query(`DELETE FROM public.shrinking WHERE id = 1; UPDATE public.shrinking SET customer = 'BOB' WHERE id = 2`);
    await h.deliver(await h.requeue(m2.config_id));
    expect((await table('SELECT id, customer FROM landing.shrinking ORDER BY id')).map((r) => r.join(':'))).toEqual(['2:BOB', '3:cy', '4:dee']);
  });

  it('reads partition ranges in parallel, every row exactly once (bounds set the stride only)', async () => {
    const message = await h.queueRow({
      source_table_name: 'orders',
      destination_table_name: 'orders_partitioned',
      load_strategy: 'full',
      num_partitions: 3,
      partition_column: 'n',
      lower_bound: '10',
      upper_bound: '40',
    });
    await h.deliver(message);
    expect(await table(ordersSql('landing.orders_partitioned'))).toEqual(await sourceOrders());
  });

  it('runs a custom query read-only in place of the table', async () => {
    const message = await h.queueRow({
      source_table_name: 'orders',
      query: `SELECT id, upper(customer) AS customer FROM public.orders WHERE amount IS NOT NULL;`,
      destination_table_name: 'orders_query',
      load_strategy: 'full',
    });
    await h.deliver(message);
    expect(await table('SELECT id, customer FROM landing.orders_query ORDER BY id')).toEqual([[1, 'ANN'], [2, 'BOB'], [4, 'DEE']]);
  });
});

describe('incremental', () => {
  it('merges rows past the watermark and keeps it at full precision', async () => {
    await h.source.pool.query(`CREATE TABLE public.inc AS SELECT * FROM public.orders; ALTER TABLE public.inc ADD PRIMARY KEY (id)`);
    const message = await h.queueRow({
      source_table_name: 'inc',
      destination_table_name: 'inc',
      load_strategy: 'incremental',
      incremental_column: 'updated_at',
      incremental_type: 'timestamp',
      primary_key_cols: 'id',
    });
    await h.deliver(message);
    expect((await h.row(message.config_id)).incremental_value).toBe('2024-01-01 12:00:00.999999');
    await h.source.pool.query(`
      UPDATE public.inc SET customer = 'ann2', updated_at = '2024-01-02 00:00:00.5' WHERE id = 1;
      INSERT INTO public.inc VALUES (5, 'eve', 1.00, '2024-01-02 00:00:00.000007', 1);
      UPDATE public.inc SET customer = 'ignored' WHERE id = 4;`);
    await h.deliver(await h.requeue(message.config_id));
    expect((await table('SELECT id, customer FROM landing.inc ORDER BY id')).map((r) => r.join(':'))).toEqual([
      '1:ann2',
      '2:bob',
      '3:cy',
      '4:dee', // not past the watermark: not re-read
      '5:eve',
    ]);
    const row = await h.row(message.config_id);
    expect(row.incremental_value).toBe('2024-01-02 00:00:00.5');
    // Two changed rows, and row 3 re-read by the 10-minute lookback.
    expect(row.last_status_message).toMatch(/^incremental: 3 rows past 2024-01-01 12:00:00\.999999 merged on \(id\); watermark 2024-01-02 00:00:00\.5 \(read with a lookback of 10 minutes \(INCREMENTAL_LOOKBACK_MINUTES\); settled: /);
  });

  it('loads rows committed late with an older watermark value (two transactions out of order)', async () => {
    await h.source.pool.query(`CREATE TABLE public.late (id integer PRIMARY KEY, updated_at timestamp(6))`);
    const message = await h.queueRow({
      source_table_name: 'late',
      destination_table_name: 'late',
      load_strategy: 'incremental',
      incremental_column: 'updated_at',
      incremental_type: 'timestamp',
      primary_key_cols: 'id',
    });
    const slow = new pg.Client({ connectionString: h.source.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO public.late VALUES (1, '2024-03-01 10:00:00')`);
      await h.source.pool.query(`INSERT INTO public.late VALUES (2, '2024-03-01 10:05:00')`);
      await h.deliver(message);
      expect(await table('SELECT id FROM landing.late ORDER BY id')).toEqual([[2]]);
      await slow.query('COMMIT');
    } finally {
      await slow.end();
    }
    await h.deliver(await h.requeue(message.config_id));
    expect(await table('SELECT id FROM landing.late ORDER BY id')).toEqual([[1], [2]]);
    expect((await h.row(message.config_id)).incremental_value).toBe('2024-03-01 10:05:00');
  });

  it('loads integer watermarks, re-reading the last values', async () => {
    await h.source.pool.query(`CREATE TABLE public.ids (id bigint PRIMARY KEY, v text); INSERT INTO public.ids SELECT g, 'v' || g FROM generate_series(1, 5) g`);
    const message = await h.queueRow({
      source_table_name: 'ids',
      destination_table_name: 'ids',
      load_strategy: 'incremental',
      incremental_column: 'id',
      incremental_type: 'integer',
      primary_key_cols: 'id',
    });
    await h.deliver(message);
    await h.source.pool.query(`INSERT INTO public.ids VALUES (3000000000, 'big')`);
    await h.deliver(await h.requeue(message.config_id));
    expect((await h.row(message.config_id)).incremental_value).toBe('3000000000');
    expect(await table('SELECT count(*)::int FROM landing.ids')).toEqual([[6]]);
  });
});

describe('append_only', () => {
  it('appends rows past the watermark, and re-running the window adds no duplicates', async () => {
    await h.source.pool.query(`CREATE TABLE public.events (at timestamp, what text); INSERT INTO public.events VALUES ('2024-01-01 00:00', 'a'), ('2024-01-01 00:01', 'b')`);
    const message = await h.queueRow({
      source_table_name: 'events',
      destination_table_name: 'events',
      load_strategy: 'append_only',
      incremental_column: 'at',
      incremental_type: 'timestamp',
    });
    await h.deliver(message);
    await h.source.pool.query(`INSERT INTO public.events VALUES ('2024-01-01 00:02', 'c')`);
    await h.deliver(await h.requeue(message.config_id));
    await h.deliver(await h.requeue(message.config_id));
    expect(await table(`SELECT what FROM landing.events ORDER BY at`)).toEqual([['a'], ['b'], ['c']]);
    expect((await h.row(message.config_id)).incremental_value).toBe('2024-01-01 00:02:00');
  });
});

describe('append_only late commits', () => {
  it('appends a row committed after a later one, once', async () => {
    await h.source.pool.query(`CREATE TABLE public.late_events (at timestamp(6), what text)`);
    const message = await h.queueRow({
      source_table_name: 'late_events',
      destination_table_name: 'late_events',
      load_strategy: 'append_only',
      incremental_column: 'at',
      incremental_type: 'timestamp',
    });
    const slow = new pg.Client({ connectionString: h.source.url });
    await slow.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO public.late_events VALUES ('2024-03-01 10:00:00', 'slow')`);
      await h.source.pool.query(`INSERT INTO public.late_events VALUES ('2024-03-01 10:05:00', 'fast')`);
      await h.deliver(message);
      await slow.query('COMMIT');
    } finally {
      await slow.end();
    }
    await h.deliver(await h.requeue(message.config_id));
    await h.deliver(await h.requeue(message.config_id));
    expect(await table(`SELECT what FROM landing.late_events ORDER BY at`)).toEqual([['slow'], ['fast']]);
  });
});

describe('rolling', () => {
  it('replaces the last rolling_days days and leaves older rows alone', async () => {
    await h.source.pool.query(`
      CREATE TABLE public.daily (day date, v integer);
      INSERT INTO public.daily VALUES (current_date - 10, 1), (current_date - 2, 2), (current_date, 3);`);
    const message = await h.queueRow({
      source_table_name: 'daily',
      destination_table_name: 'daily',
      load_strategy: 'rolling',
      rolling_column: 'day',
      rolling_days: 3,
    });
    await h.deliver(message);
    expect(await table(`SELECT v FROM landing.daily ORDER BY v`)).toEqual([[2], [3]]);
    await h.destination.pool.query(`INSERT INTO landing.daily VALUES (current_date - 30, 99)`);
    await h.source.pool.query(`DELETE FROM public.daily WHERE v = 2; UPDATE public.daily SET v = 4 WHERE v = 3`);
    await h.deliver(await h.requeue(message.config_id));
    expect(await table(`SELECT v FROM landing.daily ORDER BY v`)).toEqual([[4], [99]]);
  });
});

describe('check_and_load', () => {
  it('skips an unchanged source and loads a changed one fully', async () => {
    await h.source.pool.query(`CREATE TABLE public.dim AS SELECT id, customer, updated_at FROM public.orders`);
    const message = await h.queueRow({
      source_table_name: 'dim',
      destination_table_name: 'dim',
      load_strategy: 'check_and_load',
      incremental_column: 'updated_at',
      incremental_type: 'timestamp',
    });
    await h.deliver(message);
    expect((await h.row(message.config_id)).last_status_message).toBe('check_and_load: source changed; full load: 4 rows replaced landing.dim');
    await h.deliver(await h.requeue(message.config_id));
    const unchanged = await h.row(message.config_id);
    expect(unchanged.last_status).toBe('Succeeded');
    expect(unchanged.last_status_message).toBe('check_and_load: source unchanged since the last load (same row count and maximum of updated_at); nothing loaded');
    expect((await h.history(message.config_id)).map((r) => r.rows_processed)).toEqual([4, 0]);
    await h.source.pool.query(`INSERT INTO public.dim VALUES (9, 'new', '2030-01-01')`);
    await h.deliver(await h.requeue(message.config_id));
    expect(await table(`SELECT count(*)::int FROM landing.dim`)).toEqual([[5]]);
  });
});

describe('chunked_backfill', () => {
  it('loads chunk by chunk within the time budget, resumes, and reports progress and completion', async () => {
    await h.source.pool.query(`
      CREATE TABLE public.big (id integer PRIMARY KEY, n integer);
      INSERT INTO public.big SELECT g, CASE WHEN g % 10 = 0 THEN NULL ELSE g - 5 END FROM generate_series(1, 120) g;`);
    const message = await h.queueRow({
      source_table_name: 'big',
      destination_table_name: 'big',
      load_strategy: 'chunked_backfill',
      partition_column: 'n',
      lower_bound: '0',
      upper_bound: '100',
      num_partitions: 4,
    });
    // A clock that jumps an hour per reading: the budget is spent after one chunk.
    let t = Date.parse('2024-01-01T00:00:00Z');
    const now = () => new Date((t += 3_600_000));
    await h.deliver(message, { now });
    expect((await h.row(message.config_id)).last_status_message).toMatch(/^backfill 1\/4 chunks \(39 rows this run\); continues after a pause of 5 s; due again at /);
    for (let i = 0; i < 3; i++) await h.deliver(await h.requeue(message.config_id), { now });
    expect((await h.row(message.config_id)).last_status_message).toMatch(/^backfill complete: 4\/4 chunks/);
    expect(await table(`SELECT count(*)::int, count(n)::int, sum(id)::int FROM landing.big`)).toEqual([[120, 108, 7260]]);
    await h.deliver(await h.requeue(message.config_id), { now });
    // Complete: later runs append past upper_bound (nothing new here), the table unchanged.
    expect((await h.row(message.config_id)).last_status_message).toMatch(/^backfill complete: 4\/4 chunks; \d+ rows past 100 \(with lookback\) appended; watermark /);
    expect(await table(`SELECT count(*)::int, count(n)::int, sum(id)::int FROM landing.big`)).toEqual([[120, 108, 7260]]);
  });
});

describe('hostile identifiers', () => {
  it('load tables and columns with quotes, spaces, mixed case and semicolons', async () => {
    await h.source.pool.query(`
      CREATE SCHEMA "My Schema";
      CREATE TABLE "My Schema"."Ta""ble; DROP TABLE x" ("Id ""q""" integer PRIMARY KEY, "Up;dated At" timestamp, "vAl ue" text);
      INSERT INTO "My Schema"."Ta""ble; DROP TABLE x" VALUES (1, '2024-01-01', 'a'), (2, '2024-01-02', 'b');`);
    const message = await h.queueRow({
      source_table_schema: 'My Schema',
      source_table_name: 'Ta"ble; DROP TABLE x',
      destination_table_schema: 'Dest "Schema"',
      destination_table_name: 'Out; Table',
      load_strategy: 'incremental',
      incremental_column: 'Up;dated At',
      incremental_type: 'timestamp',
      primary_key_cols: 'Id "q"',
    });
    await h.deliver(message);
    await h.source.pool.query(`UPDATE "My Schema"."Ta""ble; DROP TABLE x" SET "vAl ue" = 'B', "Up;dated At" = '2024-02-01' WHERE "Id ""q""" = 2`);
    await h.deliver(await h.requeue(message.config_id));
    expect((await h.row(message.config_id)).last_status).toBe('Succeeded');
    expect(await table(`SELECT "Id ""q""", "vAl ue" FROM "Dest ""Schema"""."Out; Table" ORDER BY 1`)).toEqual([[1, 'a'], [2, 'B']]);
  });
});

describe('strategy building blocks', () => {
  it('split bounds into ranges as Spark does: the first takes lower values and NULLs, the last higher ones', () => {
    expect(splitRange('0', '100', 4)).toEqual([
      { to: '25', withNulls: true },
      { from: '25', to: '50', withNulls: false },
      { from: '50', to: '75', withNulls: false },
      { from: '75', withNulls: false },
    ]);
    // Fewer values than partitions: one range per value.
    expect(splitRange('1', '3', 10)).toEqual([{ to: '2', withNulls: true }, { from: '2', withNulls: false }]);
    expect(splitRange('1', '3', 1)).toEqual([{ withNulls: true }]);
    expect(splitRange('0.5', '1.5', 2)).toEqual([{ to: '1', withNulls: true }, { from: '1', withNulls: false }]);
    expect(splitRange('2024-01-01', '2024-01-03', 2)).toEqual([
      { to: '2024-01-02 00:00:00.000', withNulls: true },
      { from: '2024-01-02 00:00:00.000', withNulls: false },
    ]);
    expect(() => splitRange('10', '1', 2)).toThrow('upper_bound 1 must be greater than lower_bound 10');
    expect(() => splitRange('a', 'b', 2)).toThrow(/must both be numbers or both dates/);
  });

  it('compare watermarks at full precision', () => {
    expect(compareWatermarks('timestamp', '2024-01-01 10:00:00', '2024-01-01 10:00:00.5')).toBeLessThan(0);
    expect(compareWatermarks('timestamp', '2024-01-01 10:00:00.123', '2024-01-01 10:00:00.5')).toBeLessThan(0);
    expect(compareWatermarks('timestamp', '2024-01-01 10:00:00+00', '2024-01-01 10:00:00.000001+00')).toBeLessThan(0);
    expect(compareWatermarks('integer', '9', '10')).toBeLessThan(0);
    expect(compareWatermarks('integer', '-10', '-9')).toBeLessThan(0);
    expect(compareWatermarks('decimal', '10.05', '10.5')).toBeLessThan(0);
    expect(compareWatermarks('integer', '12345678901234567890', '12345678901234567891')).toBeLessThan(0);
    expect(nextWatermark('integer', '100', '99')).toBe('100');
    expect(nextWatermark('integer', '100', null)).toBe('100');
    expect(nextWatermark('timestamp', null, '2024-01-01 00:00:00')).toBe('2024-01-01 00:00:00');
  });

  it('read load_full, column lists and the rolling window', () => {
    expect(['Y', 'yes', 'TRUE', '1', ' true '].map(isTruthy)).toEqual([true, true, true, true, true]);
    expect(['N', 'no', '', '0', null].map(isTruthy)).toEqual([false, false, false, false, false]);
    expect(parseColumnList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(windowStart(new Date('2024-03-01T23:59:00Z'), 3)).toBe('2024-02-27');
  });
});
