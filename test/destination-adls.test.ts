import { beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Condition } from '../shared/data/spec.js';
import { parseStorageUrl } from '../shared/destination/lakehouse/blob-store.js';
import { copyLineToTsv } from '../shared/destination/lakehouse/copy-to-tsv.js';
import type { Manifest } from '../shared/destination/lakehouse/landing.js';
import { lakehouseType } from '../shared/destination/lakehouse/types.js';
import { crashOnceAt, InjectedCrash } from '../shared/loader/faults.js';
import type { FaultStep } from '../shared/strategies/context.js';
import { registerLakeDestination, startLake, type Lake } from './support/lake.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

describe('lakehouse building blocks', () => {
  it('turns COPY text lines into TSV DuckDB reads back exactly', () => {
    expect(copyLineToTsv('1\tplain\t\\N')).toBe('1\tplain\t\\N');
    expect(copyLineToTsv('1\ta\\tb\\nc\\\\d\t\\\\N\t\t"q"')).toBe('1\t"a\tb\nc\\d"\t"\\N"\t""\t"""q"""');
    expect(copyLineToTsv('')).toBe('""');
  });

  it('maps source types to Parquet and Delta types', () => {
    const map = (type: string) => [lakehouseType(type, 'parquet').duckdb, lakehouseType(type, 'delta').duckdb, lakehouseType(type, 'parquet').delta];
    expect(map('numeric(12,2)')).toEqual(['DECIMAL(12,2)', 'DECIMAL(12,2)', 'DECIMAL(12,2)']);
    expect(map('numeric(40,2)')).toEqual(['VARCHAR', 'VARCHAR', 'STRING']);
    expect(map('numeric')).toEqual(['VARCHAR', 'VARCHAR', 'STRING']);
    expect(map('timestamp(6) without time zone')).toEqual(['TIMESTAMP', 'TIMESTAMP', 'TIMESTAMP_NTZ']);
    expect(map('timestamp with time zone')).toEqual(['TIMESTAMPTZ', 'TIMESTAMPTZ', 'TIMESTAMP']);
    expect(map('uuid')).toEqual(['UUID', 'VARCHAR', 'STRING']);
    expect(map('jsonb')).toEqual(['JSON', 'VARCHAR', 'STRING']);
    expect(map('bytea')).toEqual(['BLOB', 'BLOB', 'BINARY']);
    expect(map('integer[]')).toEqual(['VARCHAR', 'VARCHAR', 'STRING']);
  });

  it('parses landing URLs and names the field of a bad one', () => {
    expect(parseStorageUrl('https://acct.dfs.core.windows.net/landing/dl/x', 'url')).toEqual({
      endpoint: 'https://acct.blob.core.windows.net',
      container: 'landing',
      prefix: 'dl/x',
    });
    expect(parseStorageUrl('abfss://stage@acct.dfs.core.windows.net/tmp', 'url')).toEqual({ endpoint: 'https://acct.blob.core.windows.net', container: 'stage', prefix: 'tmp' });
    expect(parseStorageUrl('http://127.0.0.1:10000/devstoreaccount1/landing', 'url')).toEqual({
      endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
      container: 'landing',
      prefix: '',
    });
    expect(() => parseStorageUrl('acct/landing', 'the secret named by "url"')).toThrow(/the secret named by "url": "acct\/landing" is not a URL/);
    expect(() => parseStorageUrl('https://acct.dfs.core.windows.net/', 'url')).toThrow(/names no container/);
  });
});

let h: LoaderHarness;
let lake: Lake;

beforeAll(async () => {
  const key = 'lake-adls';
  [h, lake] = await Promise.all([createLoaderHarness({ DESTINATION_DB_CONFIG_KEY: key }), startLake()]);
  await registerLakeDestination(h.control.pool, key, lake);
});

/** Applies committed manifests in order, as a downstream engine would, in DuckDB; returns the table's rows. */
async function applyRuns(runs: Awaited<ReturnType<Lake['runs']>>, columns: string[]): Promise<unknown[][]> {
  const duck = await DuckDBInstance.create(':memory:');
  const c = await duck.connect();
  try {
    const typeOf = (m: Manifest, column: string) => m.columns.find((x) => x.name === column)!.parquet_type;
    const where = (m: Manifest, conditions: Condition[]) =>
      conditions
        .map((cond) => {
          const type = typeOf(m, cond.column);
          const col = `"${cond.column}"`;
          if (cond.kind === 'after') {
            const lb = cond.lookback;
            const lookback = lb?.kind === 'minutes' ? ` - INTERVAL ${lb.minutes} MINUTE` : lb?.kind === 'seconds' ? ` - INTERVAL ${lb.seconds} SECOND` : '';
            return `${col} > CAST('${cond.value}' AS ${type})${lookback}`;
          }
          const parts = [cond.from === undefined ? '' : `${col} >= CAST('${cond.from}' AS ${type})`, cond.to === undefined ? '' : `${col} < CAST('${cond.to}' AS ${type})`].filter((p) => p);
          const range = parts.join(' AND ') || 'true';
          return cond.withNulls ? `(${range} OR ${col} IS NULL)` : range;
        })
        .join(' AND ') || 'true';
    let created = false;
    for (const run of runs) {
      const m = run.manifest;
      const list = m.columns.map((x) => `"${x.name}"`).join(', ');
      await c.run(`CREATE OR REPLACE TEMP TABLE batch (${m.columns.map((x) => `"${x.name}" ${x.parquet_type}`).join(', ')})`);
      for (const row of run.rows) {
        await c.run(`INSERT INTO batch VALUES (${row.map((v) => (v === null ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`)).join(', ')})`);
      }
      if (!created || m.write === 'replace') {
        await c.run(`CREATE OR REPLACE TABLE t AS SELECT * FROM batch WHERE false`);
        created = true;
      }
      if (m.write === 'merge') {
        const keys = m.merge_keys!.map((k) => `"${k}"`).join(', ');
        await c.run(`DELETE FROM t WHERE (${keys}) IN (SELECT (${keys}) FROM batch)`);
      }
      if (m.write === 'replace_where') await c.run(`DELETE FROM t WHERE ${where(m, m.window!)}`);
      await c.run(`INSERT INTO t (${list}) SELECT ${list} FROM batch`);
    }
    return (await c.runAndReadAll(`SELECT ${columns.map((col) => `CAST("${col}" AS VARCHAR)`).join(', ')} FROM t ORDER BY ALL`)).getRows() as unknown[][];
  } finally {
    c.closeSync();
    duck.closeSync();
  }
}

const sourceRows = async (sql: string) => (await h.source.pool.query({ text: sql, rowMode: 'array' })).rows;

describe('adls: PostgreSQL to Parquet in Azurite', () => {
  it('lands every type exactly, with the exact Parquet types, and a manifest written last', async () => {
    await h.source.pool.query(`
      CREATE TABLE public.typed (
        id bigint PRIMARY KEY, s smallint, i integer, amount numeric(12,2), big_amount numeric(38,10), free numeric,
        r real, d double precision, flag boolean, t text, vc varchar(20), ch char(3), day date, ts timestamp(6), tstz timestamptz,
        b bytea, u uuid, j json, jb jsonb, tm time, iv interval, arr int[]);
      INSERT INTO public.typed VALUES
        (1, -32768, 2147483647, 1234567890.12, 1234567890123456789012345678.0123456789, 3.14159265358979323846264338327950288419716939937510,
         1.5, 0.1, true, E'tab\\there\\nnew "quoted" back\\\\slash', 'é ü 漢字', 'ab', '2024-02-29', '2024-01-01 10:00:00.123456', '2024-06-30 23:59:59.999999+02',
         '\\x00ff10', '0b3c6a14-86a4-4a6f-9a14-5a4a3f9b8c01', '{"a": [1, 2]}', '{"b": {"c": null}}', '10:00:00.5', '1 day 02:00:00', '{1,2,NULL}'),
        (-9223372036854775808, 0, 0, -0.01, 0, -1e-20, -0.25, 1e300, false, '\\N', '', '', '0001-01-01', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00',
         '\\x', '00000000-0000-0000-0000-000000000000', '[]', '[]', '00:00:00', '0', '{}'),
        (9223372036854775807, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    const message = await h.queueRow({ source_table_name: 'typed', destination_table_name: 'typed', load_strategy: 'full' });
    expect(await h.deliver(message)).toEqual({ kind: 'complete' });
    expect((await h.row(message.config_id)).last_status_message).toBe('full load: 3 rows replaced landing.typed');
    const [run] = await lake.runs(
      'landing',
      'typed',
      `CAST(id AS VARCHAR), CAST(s AS VARCHAR), CAST(i AS VARCHAR), CAST(amount AS VARCHAR), CAST(big_amount AS VARCHAR), free, CAST(r AS DOUBLE), d, flag,
       t, vc, ch, CAST(day AS VARCHAR), CAST(ts AS VARCHAR), CAST(tstz AS VARCHAR), lower(hex(b)), CAST(u AS VARCHAR), CAST(j AS VARCHAR), CAST(jb AS VARCHAR),
       tm, iv, arr ORDER BY id`,
    );
    const expected = await sourceRows(
      `SELECT id::text, s::text, i::text, amount::text, big_amount::text, free::text, r::float8, d, flag, t, vc, ch, day::text, ts::text,
              (tstz AT TIME ZONE 'UTC')::text || '+00', encode(b, 'hex'), u::text, j::text, jb::text, tm::text, iv::text, arr::text
         FROM public.typed ORDER BY id`,
    );
    expect(run!.rows).toEqual(expected);
    const schema = Object.fromEntries(run!.schema.map((s) => [s.name, [s.type, s.logical_type ?? s.converted_type]]));
    expect(schema.amount).toEqual(['INT64', 'DecimalType(scale=2, precision=12)']);
    expect(schema.big_amount).toEqual(['FIXED_LEN_BYTE_ARRAY', 'DecimalType(scale=10, precision=38)']);
    expect(schema.ts![1]).toMatch(/isAdjustedToUTC=0.*MICROS=MicroSeconds/);
    expect(schema.tstz![1]).toMatch(/isAdjustedToUTC=1.*MICROS=MicroSeconds/);
    expect(schema.jb).toEqual(['BYTE_ARRAY', 'JsonType()']);
    expect(schema.u![1]).toMatch(/UUID/);
    expect(schema.day![1]).toMatch(/date/i);
    expect(schema.b).toEqual(['BYTE_ARRAY', null]);
    expect(schema.flag).toEqual(['BOOLEAN', null]);
    expect(run!.manifest).toMatchObject({
      format: 'dataloader-manifest/1',
      table: { schema: 'landing', table: 'typed' },
      run_id: message.run_id,
      strategy: 'full',
      write: 'replace',
      rows: 3,
      files: [{ path: 'part-00000.parquet', rows: 3 }],
    });
    expect(run!.folder).toMatch(new RegExp(`/landing/typed/run_date=\\d{4}-\\d\\d-\\d\\d/run_id=${message.run_id}$`));
  });

  it('each strategy lands its change set, and applying the manifests in order gives the source', async () => {
    await h.source.pool.query(`
      CREATE TABLE public.events (id integer PRIMARY KEY, updated_at timestamp(6), v text);
      INSERT INTO public.events SELECT g, timestamp '2024-01-01' + make_interval(hours => g), 'v' || g FROM generate_series(1, 20) g;`);
    const cols = ['id', 'updated_at', 'v'];
    const truth = async () => (await sourceRows(`SELECT id::text, updated_at::text, v FROM public.events ORDER BY 1, 2, 3`)).sort();
    const appliedRows = async (table: string) => (await applyRuns(await lake.runs('landing', table), cols)).sort();

    const incremental = await h.queueRow({
      source_table_name: 'events', destination_table_name: 'events_inc', load_strategy: 'incremental',
      incremental_column: 'updated_at', incremental_type: 'timestamp', primary_key_cols: 'id',
    });
    const append = await h.queueRow({
      source_table_name: 'events', destination_table_name: 'events_app', load_strategy: 'append_only',
      incremental_column: 'updated_at', incremental_type: 'timestamp',
    });
    const backfill = await h.queueRow({
      source_table_name: 'events', destination_table_name: 'events_bf', load_strategy: 'chunked_backfill',
      partition_column: 'id', lower_bound: '1', upper_bound: '21', num_partitions: 2,
    });
    const check = await h.queueRow({ source_table_name: 'events', destination_table_name: 'events_chk', load_strategy: 'check_and_load' });
    for (const m of [incremental, append, backfill, check]) expect(await h.deliver(m)).toEqual({ kind: 'complete' });
    expect(await h.deliver(await h.requeue(backfill.config_id))).toEqual({ kind: 'complete' });
    // Unchanged: check_and_load lands nothing.
    expect(await h.deliver(await h.requeue(check.config_id))).toEqual({ kind: 'complete' });
    expect(await lake.runs('landing', 'events_chk')).toHaveLength(1);

    await h.source.pool.query(`UPDATE public.events SET v = 'changed', updated_at = timestamp '2024-02-01' WHERE id = 3;
      INSERT INTO public.events VALUES (21, timestamp '2024-02-02', 'new')`);
    expect(await h.deliver(await h.requeue(incremental.config_id))).toEqual({ kind: 'complete' });
    expect(await h.deliver(await h.requeue(check.config_id))).toEqual({ kind: 'complete' });
    await h.source.pool.query(`INSERT INTO public.events VALUES (22, timestamp '2024-02-03', 'appended')`);
    expect(await h.deliver(await h.requeue(append.config_id))).toEqual({ kind: 'complete' });

    const incRuns = await lake.runs('landing', 'events_inc', 'id, CAST(updated_at AS VARCHAR), v ORDER BY id');
    expect(incRuns.map((r) => r.manifest.write)).toEqual(['merge', 'merge']);
    expect(incRuns[1]!.manifest).toMatchObject({ strategy: 'incremental', merge_keys: ['id'], read: [{ kind: 'after', column: 'updated_at', value: '2024-01-01 20:00:00' }] });
    // The lookback reads row 20 (at the old watermark) again; the merge makes that harmless.
    expect(incRuns[1]!.rows).toEqual([[3, '2024-02-01 00:00:00', 'changed'], [20, '2024-01-01 20:00:00', 'v20'], [21, '2024-02-02 00:00:00', 'new']]);
    expect(await appliedRows('events_inc')).toEqual((await truth()).filter((r) => r[0] !== '22'));

    const appRuns = await lake.runs('landing', 'events_app', 'id ORDER BY id');
    expect(appRuns.map((r) => [r.manifest.write, r.manifest.window?.[0]?.kind])).toEqual([['replace_where', undefined], ['replace_where', 'after']]);
    expect(appRuns[1]!.rows).toEqual([[3], [20], [21], [22]]);
    // Appending keeps the old version of row 3 (append_only never updates); the window holds the rest.
    expect(await appliedRows('events_app')).toEqual([...(await truth()), ['3', '2024-01-01 03:00:00', 'v3']].sort());

    const bfRuns = await lake.runs('landing', 'events_bf');
    expect(bfRuns.map((r) => [r.manifest.chunk, r.manifest.rows, r.folder.split('/').pop()])).toEqual([
      [0, 10, `run_id=${backfill.run_id}-chunk-00000`],
      [1, 10, expect.stringMatching(/-chunk-00001$/)],
      // Complete: the next run appends past the backfilled range, re-reading its lookback (idempotent).
      [null, 20, expect.stringMatching(/^run_id=/)],
    ]);
    expect(bfRuns[2]!.manifest).toMatchObject({ write: 'replace_where', read: [{ kind: 'after', column: 'id' }] });

    const chkRuns = await lake.runs('landing', 'events_chk');
    expect(chkRuns.map((r) => [r.manifest.write, r.manifest.rows])).toEqual([['replace', 20], ['replace', 21]]);
    expect(await applyRuns(chkRuns.slice(-1), cols).then((r) => r.sort())).toEqual(
      (await sourceRows(`SELECT id::text, updated_at::text, v FROM public.events WHERE id <= 21`)).sort(),
    );
  });

  const STEPS: FaultStep[] = ['afterRead', 'midWrite', 'afterDestinationCommit'];
  it.each(STEPS)('a crash %s and a retry leave what one clean run leaves', async (step) => {
    const table = `crash_${step.toLowerCase()}`;
    await h.source.pool.query(`CREATE TABLE public.${table} (id integer PRIMARY KEY, at timestamp(6));
      INSERT INTO public.${table} SELECT g, timestamp '2024-01-01' + make_interval(days => g) FROM generate_series(1, 10) g`);
    const message = await h.queueRow({
      source_table_name: table, destination_table_name: table, load_strategy: 'append_only', incremental_column: 'at', incremental_type: 'timestamp',
    });
    await h.deliver(message);
    expect((await h.row(message.config_id)).last_status_message).toMatch(/^append_only: 10 rows/);
    await h.source.pool.query(`INSERT INTO public.${table} SELECT g, timestamp '2024-01-01' + make_interval(days => g) FROM generate_series(11, 15) g`);
    const second = await h.requeue(message.config_id);
    await expect(h.deliver(second, { faults: crashOnceAt(step) })).rejects.toBeInstanceOf(InjectedCrash);
    await h.expireHeartbeat(message.config_id);
    expect(await h.deliver(second, {}, 2)).toEqual({ kind: 'complete' });
    expect((await h.row(message.config_id)).last_status).toBe('Succeeded');
    const names = await lake.list(`landing/${table}/`);
    const folders = new Set(names.map((n) => n.slice(0, n.lastIndexOf('/'))));
    // One folder per run, each committed (no unfinished attempt left), each part listed in its manifest.
    expect([...folders].map((f) => f.split('/').pop()).sort()).toEqual([`run_id=${message.run_id}`, `run_id=${second.run_id}`].sort());
    const runs = await lake.runs('landing', table, 'id ORDER BY id');
    expect(names).toHaveLength(runs.reduce((n, r) => n + r.manifest.files.length + 1, 0));
    // The lookback reads row 10 (at the old watermark) again; the window replaces it.
    expect(runs[1]!.rows.map((r) => r[0])).toEqual([10, 11, 12, 13, 14, 15]);
    expect(await applyRuns(await lake.runs('landing', table), ['id'])).toEqual(Array.from({ length: 15 }, (_, i) => [String(i + 1)]).sort());
  });
});
