/**
 * Hostile identifiers and values cannot change the meaning of SQL. A
 * table_control row written straight into the control database (the API
 * refuses such names; other tools may not) names a schema, a table and columns
 * made of quotes, semicolons, comment markers and unicode; every strategy
 * loads it exactly and no other table is touched. Hostile watermarks and
 * custom queries fail their run with a message and change nothing. The API's
 * filters search for SQL as text: no rows, never more rows, never a 500.
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { call, insertConnection, READER, setUpApi, type ApiTestContext } from './support/api.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

const q = pg.escapeIdentifier;

const SCHEMA = `we"ird; sch'ema --`;
const TABLE = `t'; DROP TABLE public.victim; --`;
const DEST_SCHEMA = `dst"; DROP SCHEMA public CASCADE; --`;
const ID = `i"d`;
const TENANT = `ten'ant;`;
const VALUE = `v;al /* x */`;
const AT = `up dated'at`;
const UNICODE = `Ünï 表 😀`;

const HOSTILE_VALUES = [
  `'); DROP TABLE public.victim; --`,
  `\\N`,
  `tab\there\nnewline\r\\backslash`,
  `"double" 'single' \`back\``,
  `Ünïcødé 表 😀`,
  `$$ dollar $$`,
  ``,
];

let h: LoaderHarness;
const SOURCE = `${q(SCHEMA)}.${q(TABLE)}`;

/** Every table of a database, with its row count: the test's proof that nothing else was touched. */
async function inventory(db: pg.Pool): Promise<Record<string, number>> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const out: Record<string, number> = {};
  for (const { name } of rows) out[name] = (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`)).rows[0]!.n;
  return out;
}

beforeAll(async () => {
  h = await createLoaderHarness();
  await h.source.pool.query(`
    CREATE TABLE public.victim (x integer); INSERT INTO public.victim VALUES (1);
    CREATE SCHEMA ${q(SCHEMA)};
    CREATE TABLE ${SOURCE} (${q(TENANT)} integer NOT NULL, ${q(ID)} integer NOT NULL, ${q(VALUE)} text, ${q(AT)} timestamp(6) NOT NULL, ${q(UNICODE)} text,
                            PRIMARY KEY (${q(TENANT)}, ${q(ID)}));`);
  await h.source.pool.query(
    `INSERT INTO ${SOURCE} SELECT g % 2, g, ($1::text[])[1 + g % cardinality($1::text[])], now() - make_interval(hours => g), ($1::text[])[1 + (g + 3) % cardinality($1::text[])]
       FROM generate_series(1, 40) g`,
    [HOSTILE_VALUES],
  );
  await h.destination.pool.query(`CREATE TABLE public.victim (x integer); INSERT INTO public.victim VALUES (1);`);
});

const STRATEGIES: [string, Record<string, unknown>][] = [
  ['full', {}],
  ['incremental', { incremental_column: AT, incremental_type: 'timestamp', primary_key_cols: `${TENANT}, ${ID}` }],
  ['append_only', { incremental_column: AT, incremental_type: 'timestamp' }],
  ['rolling', { rolling_column: AT, rolling_days: 30 }],
  ['check_and_load', {}],
  ['chunked_backfill', { partition_column: ID, lower_bound: '1', upper_bound: '41', num_partitions: 3 }],
  ['full, partitioned reads', { partition_column: ID, lower_bound: '1', upper_bound: '41', num_partitions: 3 }],
];

describe('hostile schema, table and column names', () => {
  it.each(STRATEGIES)('%s loads the rows exactly and touches no other table', async (label, fields) => {
    const strategy = label.split(',')[0]!;
    const destTable = `${TABLE} ${strategy}`;
    const sourceBefore = await inventory(h.source.pool);
    const destBefore = await inventory(h.destination.pool);
    const message = await h.queueRow({
      source_table_catalog: `c"; DROP DATABASE x; -- ${label}`,
      source_table_schema: SCHEMA,
      source_table_name: TABLE,
      destination_table_schema: DEST_SCHEMA,
      destination_table_name: destTable,
      load_strategy: strategy,
      ...fields,
    });
    await h.deliver(message);
    // A second run over an unchanged source: the merge, the swap, the window and the signature on hostile names again.
    await h.deliver(await h.requeue(message.config_id));
    const row = await h.row(message.config_id);
    expect(row.last_status, String(row.last_status_message)).toBe('Succeeded');

    const columns = [TENANT, ID, VALUE, AT, UNICODE].map((c) => `${q(c)}::text`).join(', ');
    const sql = (schema: string, table: string) => `SELECT ${columns} FROM ${q(schema)}.${q(table)} ORDER BY 1, 2`;
    const source = await h.source.pool.query({ text: sql(SCHEMA, TABLE), rowMode: 'array' });
    const destination = await h.destination.pool.query({ text: sql(DEST_SCHEMA, destTable), rowMode: 'array' });
    expect(destination.rows).toHaveLength(40);
    expect(destination.rows).toEqual(source.rows);

    expect(await inventory(h.source.pool)).toEqual(sourceBefore);
    const destAfter = await inventory(h.destination.pool);
    const created = Object.keys(destAfter).filter((t) => !(t in destBefore));
    expect(created).toEqual(destBefore[`${q(DEST_SCHEMA)}.${q(destTable)}`] === undefined ? [`${q(DEST_SCHEMA)}.${q(destTable)}`] : []);
    for (const [name, count] of Object.entries(destBefore)) expect(destAfter[name], name).toBe(count);
  });
});

describe('hostile values in the control row', () => {
  const failing = async (fields: Record<string, unknown>) => {
    const sourceBefore = await inventory(h.source.pool);
    const destBefore = await inventory(h.destination.pool);
    const message = await h.queueRow({ source_table_schema: SCHEMA, source_table_name: TABLE, destination_table_name: 'never', load_strategy: 'full', ...fields });
    await h.deliver(message);
    const row = await h.row(message.config_id);
    expect(row.last_status).toBe('Failed');
    expect(await inventory(h.source.pool)).toEqual(sourceBefore);
    // Existing tables keep their rows; the only table that may appear is the run's own target, empty.
    const destAfter = await inventory(h.destination.pool);
    for (const [name, count] of Object.entries(destBefore)) expect(destAfter[name], name).toBe(count);
    for (const name of Object.keys(destAfter).filter((t) => !(t in destBefore))) {
      expect(name).toBe('landing.never');
      expect(destAfter[name]).toBe(0);
    }
    return String(row.last_status_message);
  };

  it('a watermark carrying SQL is a bad value, not a statement', async () => {
    const message = await failing({
      load_strategy: 'incremental',
      incremental_column: AT,
      incremental_type: 'timestamp',
      primary_key_cols: ID,
      incremental_value: `2024-01-01'; DROP TABLE public.victim; --`,
    });
    expect(message).toMatch(/invalid input syntax for type timestamp/);
  });

  it.each([
    'DROP TABLE public.victim',
    'SELECT 1; DROP TABLE public.victim',
    'WITH gone AS (DELETE FROM public.victim RETURNING *) SELECT * FROM gone',
    'SELECT * FROM public.victim FOR UPDATE',
  ])('a custom query that writes fails and writes nothing: %s', async (query) => {
    expect(await failing({ query })).toMatch(/custom query/);
  });

  it('a primary key or watermark column that does not exist is named, not run', async () => {
    expect(
      await failing({ load_strategy: 'incremental', incremental_column: `x") OR 1=1; --`, incremental_type: 'timestamp', primary_key_cols: ID }),
    ).toMatch(/incremental_column "x"\) OR 1=1; --" is not a column/);
  });
});

describe('the API filters search for SQL as text', () => {
  let api: ApiTestContext;

  beforeAll(async () => {
    api = await setUpApi();
    await insertConnection(api.db, 'sales_pg');
    for (const name of ['orders', 'customers', 'order_lines']) {
      const res = await call('POST', '/api/tables', {
        body: { db_config_key: 'sales_pg', source_table_catalog: 's', source_table_schema: 'dbo', source_table_name: name, destination_table_name: name, load_strategy: 'full' },
      });
      expect(res.status).toBe(201);
    }
    expect((await call('GET', '/api/tables', { as: READER })).body.total).toBe(3);
  });

  const SQL = [`' OR 1=1 --`, `' OR ''='`, `%`, `_`, `%' OR name LIKE '%`, `orders'; DROP TABLE control.table_control; --`, `\\`, `*`, `.*`];

  it.each(SQL)('name=%s finds only names holding that text', async (value) => {
    const res = await call('GET', `/api/tables?name=${encodeURIComponent(value)}`, { as: READER });
    expect(res.status).toBe(200);
    // `_` and `%` are text, not wildcards: `_` finds order_lines alone, `%` nothing.
    const expected = value === '_' ? ['order_lines'] : [];
    expect(res.body.items.map((r: { source_table_name: string }) => r.source_table_name)).toEqual(expected);
    expect(res.body.total).toBe(expected.length);
  });

  it.each(['status', 'strategy', 'db_config_key', 'active', 'limit', 'offset'])('%s with SQL is refused by name (400), never run', async (param) => {
    for (const value of SQL) {
      const res = await call('GET', `/api/tables?${param}=${encodeURIComponent(value)}`, { as: READER });
      expect(res.status, `${param}=${value}`).toBe(400);
      expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([param]);
    }
  });

  it('a NUL in a filter is refused, not a database error', async () => {
    const res = await call('GET', `/api/tables?name=${encodeURIComponent('or\u0000ders')}`, { as: READER });
    expect(res.status).toBe(400);
  });

  it('a view filter takes a table name: SQL in it is refused by name (400), a name finds only its own runs', async () => {
    for (const value of SQL) {
      const res = await call('GET', `/api/views/execution-history?source_table_name=${encodeURIComponent(value)}`, { as: READER });
      // `_` alone is a valid table name (no table has it); every other value holds quotes, dots or operators.
      if (value === '_') {
        expect(res.status, value).toBe(200);
        expect(res.body, value).toEqual([]);
      } else {
        expect(res.status, value).toBe(400);
        expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['source_table_name']);
      }
    }
    const unicode = await call('GET', `/api/views/execution-history?source_table_name=${encodeURIComponent('表 orders')}`, { as: READER });
    expect(unicode.status).toBe(200);
    expect(unicode.body).toEqual([]);
    expect((await call('GET', '/api/tables', { as: READER })).body.total).toBe(3);
  });
});
