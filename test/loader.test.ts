import { beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { classifyError, TerminalError, TransientError } from '../shared/errors.js';
import { crashOnceAt, InjectedCrash } from '../shared/loader/faults.js';
import { backoffMs } from '../shared/loader/handle-message.js';
import type { FaultStep } from '../shared/strategies/context.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

let h: LoaderHarness;

beforeAll(async () => {
  h = await createLoaderHarness();
  await h.source.pool.query(`
    CREATE TABLE public.orders (id integer PRIMARY KEY, customer text, updated_at timestamp(6));
    INSERT INTO public.orders SELECT g, 'c' || g, timestamp '2024-01-01' + make_interval(secs => g * 0.000001) FROM generate_series(1, 50) g;
    CREATE TABLE public.events (at timestamp(6), what text);
    INSERT INTO public.events SELECT timestamp '2024-01-01' + make_interval(mins => g), 'e' || g FROM generate_series(1, 30) g;
    CREATE TABLE public.chunks (id integer PRIMARY KEY, n integer);
    INSERT INTO public.chunks SELECT g, g FROM generate_series(1, 40) g;`);
});

async function table(sql: string): Promise<unknown[][]> {
  const { rows } = await h.destination.pool.query({ text: sql, rowMode: 'array' });
  return rows;
}

describe('messages', () => {
  it('dead-letters a malformed message with its reason and changes nothing', async () => {
    const disposition = await h.deliver({ config_id: 'x', run_id: '' });
    expect(disposition.kind).toBe('deadLetter');
    expect(disposition.kind === 'deadLetter' && disposition.reason).toMatch(/^malformed load message: config_id: .*; run_id: /);
    expect((await h.deliver('not json')).kind).toBe('deadLetter');
  });

  it('completes a duplicate or stale message without a second load', async () => {
    const message = await h.queueRow({ source_table_name: 'orders', destination_table_name: 'dup', load_strategy: 'full' });
    expect(await h.deliver(message)).toEqual({ kind: 'complete' });
    // The same message again (a duplicate, or a redelivery after completion).
    expect(await h.deliver(message, {}, 2)).toEqual({ kind: 'complete' });
    expect(await h.history(message.config_id)).toHaveLength(1);
    // A message of an older run, once the row is queued for a newer one.
    const next = await h.requeue(message.config_id);
    expect(await h.deliver(message)).toEqual({ kind: 'complete' });
    expect((await h.row(message.config_id)).last_status).toBe('Queued');
    await h.deliver(next);
    expect((await h.history(message.config_id)).map((r) => r.run_id)).toEqual([message.run_id, next.run_id]);
  });
});

describe('failures an admin fixes', () => {
  const failure = async (fields: Record<string, unknown>) => {
    const message = await h.queueRow({ destination_table_name: 'never', load_strategy: 'full', ...fields });
    expect(await h.deliver(message)).toEqual({ kind: 'complete' });
    const row = await h.row(message.config_id);
    const [run] = await h.history(message.config_id);
    expect(row.last_status).toBe('Failed');
    expect(run).toMatchObject({ load_status: 'Failed', rows_processed: 0, log_message: row.last_status_message });
    return row.last_status_message as string;
  };

  it('a missing source table names the table', async () => {
    expect(await failure({ source_table_catalog: 'src', source_table_name: 'nope' })).toBe(
      'reading source table src.public.nope failed: relation "public.nope" does not exist',
    );
  });

  it('bad custom SQL names the query', async () => {
    expect(await failure({ source_table_name: 'orders', query: 'SELECT FROM WHERE' })).toMatch(
      /^reading the custom query \(table_control\.query\) failed: syntax error at or near "WHERE"/,
    );
  });

  it('a missing secret names the secret and where it was looked up, never a value', async () => {
    await h.control.pool.query(
      `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope)
       VALUES ('no-secret', '{"host":"nosecret-host","database":"nosecret-db","user":"nosecret-user","password":"nosecret-password"}', 'postgresql', 'local')`,
    );
    expect(await failure({ source_table_name: 'orders', db_config_key: 'no-secret' })).toBe(
      'secret "nosecret-host" not found in environment variable NOSECRET_HOST',
    );
  });

  it('an incompatible change of a source column type names the column', async () => {
    await h.source.pool.query(`CREATE TABLE public.shifting (id integer, v integer); INSERT INTO public.shifting VALUES (1, 1)`);
    const message = await h.queueRow({ source_table_name: 'shifting', destination_table_name: 'shifting', load_strategy: 'full' });
    await h.deliver(message);
    await h.source.pool.query(`ALTER TABLE public.shifting ALTER COLUMN v TYPE text; ALTER TABLE public.shifting ADD COLUMN extra date`);
    await h.deliver(await h.requeue(message.config_id));
    expect((await h.row(message.config_id)).last_status_message).toBe(
      'destination column "v" of landing.shifting is integer but the source now gives text; change the destination column (or the source) so the types match',
    );
  });

  it('an unreachable source fails after the retries, without quoting its secret host', async () => {
    vi.stubEnv('UNREACHABLE_HOST', '127.0.0.1');
    vi.stubEnv('UNREACHABLE_PORT', '1');
    await h.control.pool.query(
      `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope)
       VALUES ('unreachable', '{"host":"unreachable-host","port":"unreachable-port","database":"src-db","user":"src-user","password":"src-password","sslmode":"disable"}', 'postgresql', 'local')`,
    );
    vi.stubEnv('SRC_DB', 'x');
    vi.stubEnv('SRC_USER', 'x');
    vi.stubEnv('SRC_PASSWORD', 'x');
    const message = await h.queueRow({ source_table_name: 'orders', destination_table_name: 'never', load_strategy: 'full', db_config_key: 'unreachable' });
    await h.deliver(message);
    expect((await h.row(message.config_id)).last_status_message).toMatch(
      /^failed after 2 attempts \(transient errors\): connect ECONNREFUSED \[secret unreachable-host\]:1; due again at /,
    );
  });

  it('a source repeating its primary key names the key', async () => {
    await h.source.pool.query(`CREATE TABLE public.dupes (id integer, v text, at timestamp); INSERT INTO public.dupes VALUES (1, 'a', '2024-01-01'), (1, 'b', '2024-01-02')`);
    const incremental = await h.queueRow({
      source_table_name: 'dupes',
      destination_table_name: 'dupes_inc',
      load_strategy: 'incremental',
      incremental_column: 'at',
      incremental_type: 'timestamp',
      primary_key_cols: 'id',
    });
    await h.deliver(incremental);
    expect((await h.row(incremental.config_id)).last_status_message).toBe(
      'the rows read repeat a value of primary_key_cols (id), so the merge into landing.dupes_inc cannot tell which to keep; make primary_key_cols unique in the source (or its query): ON CONFLICT DO UPDATE command cannot affect row a second time',
    );
    const full = await h.queueRow({ source_table_name: 'dupes', destination_table_name: 'dupes_full', load_strategy: 'full', primary_key_cols: 'id' });
    await h.deliver(full);
    expect((await h.row(full.config_id)).last_status_message).toMatch(
      /^src\d+\.public\.dupes has rows repeating a key that landing\.dupes_full keeps unique \(Key \(id\)=\(1\) already exists\.\); fix the source, its query, or primary_key_cols: duplicate key value violates unique constraint ".*"$/,
    );
  });

  it('a config the strategy cannot run names the row and field', async () => {
    const message = await h.queueRow({ source_table_name: 'orders', destination_table_name: 'x', load_strategy: 'incremental' });
    await h.deliver(message);
    expect((await h.row(message.config_id)).last_status_message).toBe(
      `table_control row ${message.config_id}: incremental_column: required for load_strategy incremental (the watermark column); ` +
        'incremental_type: required for load_strategy incremental (one of timestamp, date, integer, decimal); ' +
        'primary_key_cols: required for load_strategy incremental (the merge key, comma-separated columns)',
    );
  });
});

describe('error classification', () => {
  const dbError = (code: string) => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code });

  it('retries what may pass and fails at once what an admin must fix, by SQLSTATE and system code', () => {
    for (const code of ['40001', '40P01', '53300', '57014', '57P01', '08006', '55P03']) expect(classifyError(dbError(code)), code).toBe('transient');
    for (const code of ['42P01', '42601', '42501', '28P01', '3D000', '22P02', '23505', '25006']) expect(classifyError(dbError(code)), code).toBe('terminal');
    expect(classifyError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe('transient');
    expect(classifyError(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyError(new Error('reading failed', { cause: dbError('40001') }))).toBe('transient');
    expect(classifyError(new TerminalError('bad config', { cause: dbError('40001') }))).toBe('terminal');
    expect(classifyError(new TypeError('a bug'))).toBe('terminal');
  });
});

describe('transient failures', () => {
  it('are retried with backoff, then succeed', async () => {
    const message = await h.queueRow({ source_table_name: 'orders', destination_table_name: 'flaky', load_strategy: 'full' });
    let failures = 1;
    const waits: number[] = [];
    await h.deliver(message, {
      faults: {
        at: (step) => {
          if (step === 'afterRead' && failures-- > 0) throw new TransientError('connection lost');
        },
      },
      sleep: async (ms) => void waits.push(ms),
      random: () => 1,
    });
    expect((await h.row(message.config_id)).last_status).toBe('Succeeded');
    expect(waits).toEqual([1000]);
    expect(await table('SELECT count(*)::int FROM landing.flaky')).toEqual([[50]]);
  });

  it('fail the run after LOADER_MAX_ATTEMPTS, saying so', async () => {
    const message = await h.queueRow({ source_table_name: 'orders', destination_table_name: 'flaky2', load_strategy: 'full' });
    await h.deliver(message, {
      faults: {
        at: (step) => {
          if (step === 'midWrite') throw new TransientError('server closed the connection');
        },
      },
    });
    // A transient failure is due again after a backoff (or at its next slot, when that comes first).
    expect((await h.row(message.config_id)).last_status_message).toMatch(
      /^failed after 2 attempts \(transient errors\): server closed the connection; due again at /,
    );
  });

  it('back off exponentially with full jitter, capped', () => {
    expect([1, 2, 3, 10].map((n) => backoffMs(n, () => 1))).toEqual([1000, 2000, 4000, 60000]);
    expect(backoffMs(3, () => 0.5)).toBe(2000);
  });
});

/**
 * Guarantee 3: a crash at any step, then the message redelivered once the
 * run's heartbeat is stale, leaves the destination as one clean run does, and
 * the watermark right.
 */
describe('crash and retry', () => {
  const STEPS: FaultStep[] = ['afterRead', 'midWrite', 'afterDestinationCommit'];

  /**
   * A first clean run; then the source changes and the second run crashes at
   * `step`; the message is redelivered (first while the loader may still be
   * alive: nothing happens; then once its heartbeat is stale: it loads).
   */
  async function crashSecondRun(fields: Record<string, unknown>, changeSource: string, step: FaultStep) {
    const message = await h.queueRow(fields);
    await h.deliver(message);
    await h.source.pool.query(changeSource);
    const second = await h.requeue(message.config_id);
    await expect(h.deliver(second, { faults: crashOnceAt(step) })).rejects.toBeInstanceOf(InjectedCrash);
    expect((await h.row(message.config_id)).last_status).toBe('In Progress');
    // Its lease is live: the duplicate comes back later instead of being completed.
    expect(await h.deliver(second, {}, 2)).toMatchObject({ kind: 'retryLater' });
    expect((await h.row(message.config_id)).last_status).toBe('In Progress');
    await h.expireHeartbeat(message.config_id);
    expect(await h.deliver(second, {}, 3)).toEqual({ kind: 'complete' });
    const row = await h.row(message.config_id);
    expect(row.last_status).toBe('Succeeded');
    // The crashed attempt ends Cancelled when the run is taken over.
    expect((await h.history(message.config_id)).map((r) => r.load_status)).toEqual(['Succeeded', 'Cancelled', 'Succeeded']);
    return row;
  }

  const sourceRows = async (sql: string) => (await h.source.pool.query({ text: sql, rowMode: 'array' })).rows;

  it.each(STEPS)('incremental, crash %s: destination equals the source, watermark its maximum', async (step) => {
    const t = `inc_${step.toLowerCase()}`;
    await h.source.pool.query(`CREATE TABLE public.${t} (LIKE public.orders INCLUDING ALL); INSERT INTO public.${t} SELECT * FROM public.orders`);
    const row = await crashSecondRun(
      {
        source_table_name: t,
        destination_table_name: t,
        load_strategy: 'incremental',
        incremental_column: 'updated_at',
        incremental_type: 'timestamp',
        primary_key_cols: 'id',
      },
      `UPDATE public.${t} SET customer = 'changed', updated_at = '2024-01-02 00:00:00.000001' WHERE id % 7 = 0;
       INSERT INTO public.${t} SELECT g, 'new', '2024-01-02 00:00:00.000002' FROM generate_series(51, 60) g;`,
      step,
    );
    expect(row.incremental_value).toBe('2024-01-02 00:00:00.000002');
    const sql = (schema: string) => `SELECT id, customer, updated_at::text FROM ${schema}.${t} ORDER BY id`;
    expect(await table(sql('landing'))).toEqual(await sourceRows(sql('public')));
  });

  it.each(STEPS)('append_only, crash %s: every source row once', async (step) => {
    const t = `app_${step.toLowerCase()}`;
    await h.source.pool.query(`CREATE TABLE public.${t} AS SELECT * FROM public.events`);
    const row = await crashSecondRun(
      { source_table_name: t, destination_table_name: t, load_strategy: 'append_only', incremental_column: 'at', incremental_type: 'timestamp' },
      `INSERT INTO public.${t} SELECT timestamp '2024-01-01' + make_interval(mins => g), 'e' || g FROM generate_series(31, 40) g`,
      step,
    );
    expect(row.incremental_value).toBe('2024-01-01 00:40:00');
    const sql = (schema: string) => `SELECT at::text, what FROM ${schema}.${t} ORDER BY at`;
    const rows = await table(sql('landing'));
    expect(rows).toHaveLength(40);
    expect(rows).toEqual(await sourceRows(sql('public')));
  });

  it.each(STEPS)('full, crash %s: the new rows, no staging left', async (step) => {
    const t = `full_${step.toLowerCase()}`;
    await h.source.pool.query(`CREATE TABLE public.${t} AS SELECT * FROM public.orders`);
    await crashSecondRun({ source_table_name: t, destination_table_name: t, load_strategy: 'full' }, `DELETE FROM public.${t} WHERE id > 40`, step);
    expect(await table(`SELECT count(*)::int, sum(id)::int FROM landing.${t}`)).toEqual([[40, 820]]);
    expect(await table(`SELECT count(*)::int FROM pg_class WHERE relkind = 'r' AND relname LIKE '\\_dl\\_%'`)).toEqual([[0]]);
  });

  it.each(STEPS)('rolling, crash %s: the window equals the source window, older rows kept', async (step) => {
    const t = `roll_${step.toLowerCase()}`;
    await h.source.pool.query(`CREATE TABLE public.${t} AS SELECT g AS id, current_date - g AS day FROM generate_series(0, 9) g`);
    await crashSecondRun(
      { source_table_name: t, destination_table_name: t, load_strategy: 'rolling', rolling_column: 'day', rolling_days: 4 },
      `DELETE FROM public.${t} WHERE id IN (1, 8); INSERT INTO public.${t} VALUES (20, current_date)`,
      step,
    );
    expect(await table(`SELECT id FROM landing.${t} ORDER BY id`)).toEqual([[0], [2], [3], [4], [20]]);
  });

  it.each(STEPS)('check_and_load, crash %s: the changed source is loaded, then seen as unchanged', async (step) => {
    const t = `check_${step.toLowerCase()}`;
    await h.source.pool.query(`CREATE TABLE public.${t} AS SELECT * FROM public.orders`);
    const row = await crashSecondRun(
      { source_table_name: t, destination_table_name: t, load_strategy: 'check_and_load', incremental_column: 'updated_at', incremental_type: 'timestamp' },
      `INSERT INTO public.${t} VALUES (99, 'late', '2030-01-01')`,
      step,
    );
    expect(row.last_status_message).toMatch(/^check_and_load: source changed; full load: 51 rows/);
    expect(await table(`SELECT count(*)::int FROM landing.${t}`)).toEqual([[51]]);
    await h.deliver(await h.requeue(row.config_id as number));
    expect((await h.row(row.config_id as number)).last_status_message).toMatch(/^check_and_load: source unchanged/);
  });

  it.each(STEPS)('chunked_backfill, crash %s in the second chunk: resumes, every row once', async (step) => {
    const t = `chunks_${step.toLowerCase()}`;
    const message = await h.queueRow({
      source_table_name: 'chunks',
      destination_table_name: t,
      load_strategy: 'chunked_backfill',
      partition_column: 'n',
      lower_bound: '1',
      upper_bound: '41',
      num_partitions: 4,
    });
    await expect(h.deliver(message, { faults: crashOnceAt(step, 1) })).rejects.toBeInstanceOf(InjectedCrash);
    await h.expireHeartbeat(message.config_id);
    await h.deliver(message, {}, 2);
    // Chunk 0 was recorded before the crash; chunks 1 to 3 (10 rows each) load on the retry.
    expect((await h.row(message.config_id)).last_status_message).toBe('backfill complete: 4/4 chunks (30 rows this run)');
    expect(await table(`SELECT count(*)::int, sum(id)::int FROM landing.${t}`)).toEqual([[40, 820]]);
  });
});

describe('load_full', () => {
  it('forces one full reload of an incremental table, then is reset', async () => {
    const message = await h.queueRow({
      source_table_name: 'orders',
      destination_table_name: 'forced',
      load_strategy: 'incremental',
      incremental_column: 'updated_at',
      incremental_type: 'timestamp',
      incremental_value: '2030-01-01 00:00:00',
      primary_key_cols: 'id',
      load_full: 'Yes',
    });
    await h.deliver(message);
    const row = await h.row(message.config_id);
    expect(row.load_full).toBeNull();
    expect(row.incremental_value).toBe('2024-01-01 00:00:00.00005');
    expect(await table('SELECT count(*)::int FROM landing.forced')).toEqual([[50]]);
  });
});

describe('a run taken from the loader', () => {
  let fast: LoaderHarness;

  beforeAll(async () => {
    fast = await createLoaderHarness({ HEARTBEAT_INTERVAL_SECONDS: '1' });
    await fast.source.pool.query(`CREATE TABLE public.t AS SELECT g AS id FROM generate_series(1, 10) g`);
  });

  it('is not committed or recorded once its heartbeat finds the row reset', async () => {
    const message = await fast.queueRow({ source_table_name: 't', destination_table_name: 'taken', load_strategy: 'full' });
    await fast.deliver(message, {
      faults: {
        at: async (step) => {
          if (step !== 'afterRead') return;
          // An admin resets the row while the rows are staged; the next heartbeat notices.
          await fast.control.pool.query(`UPDATE control.table_control SET last_status = NULL, last_run_id = NULL WHERE config_id = $1`, [message.config_id]);
          await new Promise((resolve) => setTimeout(resolve, 1_500));
        },
      },
    });
    expect((await fast.row(message.config_id)).last_status).toBeNull();
    expect(await fast.history(message.config_id)).toEqual([]);
    const { rows } = await fast.destination.pool.query(`SELECT count(*)::int AS n FROM landing.taken`);
    expect(rows[0].n).toBe(0);
  });
});
