import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyClickHouseError, clickHouseConfig, clickHouseConnector, clickHouseUrl } from '../shared/connectors/clickhouse.js';
import {
  clickHouseDecoders,
  clickHouseDialect,
  clickHouseLiteral,
  literalColumns,
  mapClickHouseType,
  parseTsvLine,
  quoteClickHouse,
  unwrapClickHouseType,
} from '../shared/connectors/clickhouse-sql.js';
import { selectSql, signatureSql } from '../shared/connectors/dialect.js';
import { rowsToCopy } from '../shared/connectors/dialect-stream.js';
import type { Condition, SourceRelation } from '../shared/data/spec.js';
import type { SourceSession } from '../shared/connectors/port.js';
import { classifyError } from '../shared/errors.js';
import { envVariableFor } from '../shared/secrets/env.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

const events: SourceRelation = { kind: 'table', catalog: null, schema: 'analytics', table: 'events' };
const SOURCE_TYPES: [string, string][] = [
  ['id', 'UInt64'],
  ['amount', 'Nullable(Decimal(18, 4))'],
  ['at', "DateTime('Europe/Berlin')"],
  ['at64', 'Nullable(DateTime64(9, \'UTC\'))'],
  ['day', 'Date'],
  ['kind', 'LowCardinality(String)'],
];
const types = new Map(SOURCE_TYPES);
const columns = SOURCE_TYPES.map(([name, t]) => ({ name, type: mapClickHouseType(t) }));
const read = (conditions: Condition[], relation: SourceRelation = events) => selectSql(clickHouseDialect, { relation, columns, conditions }, types);
const FROM = "SELECT `id`, `amount`, toTimeZone(`at`, 'UTC'), toTimeZone(`at64`, 'UTC'), `day`, `kind` FROM `analytics`.`events`";

describe('ClickHouse SQL', () => {
  it('reads the whole table, date-times in UTC', () => {
    expect(read([])).toEqual({ sql: FROM, params: [] });
  });

  it('reads past watermarks of every type as escaped, typed literals, with INTERVAL lookbacks', () => {
    expect(read([{ kind: 'after', column: 'at', value: '2024-01-01 10:00:00.4', lookback: { kind: 'minutes', minutes: 10 } }]).sql).toBe(
      `${FROM} WHERE \`at\` > toDateTime('2024-01-01 10:00:00', 'UTC') - INTERVAL 10 MINUTE`,
    );
    expect(read([{ kind: 'after', column: 'at64', value: '2024-01-01 10:00:00.1234567' }]).sql).toBe(
      `${FROM} WHERE \`at64\` > toDateTime64('2024-01-01 10:00:00.123457', 9, 'UTC')`,
    );
    expect(read([{ kind: 'after', column: 'day', value: '2024-01-31', lookback: { kind: 'days', days: 1 } }]).sql).toBe(
      `${FROM} WHERE \`day\` > toDate('2024-01-31') - INTERVAL 1 DAY`,
    );
    expect(read([{ kind: 'after', column: 'id', value: '18446744073709551615', lookback: { kind: 'amount', amount: '1000' } }]).sql).toBe(
      `${FROM} WHERE \`id\` > toUInt64('18446744073709551615') - 1000`,
    );
    expect(read([{ kind: 'after', column: 'amount', value: '12.34565' }]).sql).toBe(`${FROM} WHERE \`amount\` > toDecimal64('12.3457', 4)`);
  });

  it('reads ranges with open ends and NULLs, and escapes text values', () => {
    expect(read([{ kind: 'range', column: 'day', from: '2024-01-01', to: '2024-02-01 12:00:00.000', withNulls: true }]).sql).toBe(
      `${FROM} WHERE (\`day\` >= toDate('2024-01-01') AND \`day\` < toDate('2024-02-01') OR \`day\` IS NULL)`,
    );
    expect(read([{ kind: 'range', column: 'id', withNulls: false }]).sql).toBe(`${FROM} WHERE 1`);
    expect(read([{ kind: 'range', column: 'kind', to: "it's \\ here" }]).sql).toBe(`${FROM} WHERE \`kind\` < 'it\\'s \\\\ here'`);
  });

  it('wraps a custom query as a subquery, and computes the signature', () => {
    const query: SourceRelation = { kind: 'query', sql: 'SELECT * FROM analytics.events;' };
    expect(read([], query).sql).toBe("SELECT `id`, `amount`, toTimeZone(`at`, 'UTC'), toTimeZone(`at64`, 'UTC'), `day`, `kind` FROM (SELECT * FROM analytics.events\n)");
    expect(signatureSql(clickHouseDialect, { relation: events, column: 'at' }, types)).toBe(
      "SELECT concat(toString(count()), '/', ifNull(toString(toTimeZone(MAX(`at`), 'UTC')), '')) FROM `analytics`.`events`",
    );
    expect(signatureSql(clickHouseDialect, { relation: events, column: null }, types)).toBe("SELECT concat(toString(count()), '/', '') FROM `analytics`.`events`");
  });

  it('quotes hostile identifiers and literals', () => {
    expect(quoteClickHouse('a`b"c]d e;\\')).toBe('`a\\`b"c]d e;\\\\`');
    expect(clickHouseLiteral("x'; DROP TABLE t; --\\")).toBe("'x\\'; DROP TABLE t; --\\\\'");
  });
});

describe('ClickHouse types and rows', () => {
  it('maps every ClickHouse type to a PostgreSQL type, through Nullable and LowCardinality', () => {
    const table: Record<string, string> = {
      Bool: 'boolean',
      Int8: 'smallint',
      UInt8: 'smallint',
      Int16: 'smallint',
      UInt16: 'integer',
      Int32: 'integer',
      UInt32: 'bigint',
      Int64: 'bigint',
      UInt64: 'numeric(20,0)',
      Int128: 'numeric(39,0)',
      UInt256: 'numeric(78,0)',
      Float32: 'real',
      Float64: 'double precision',
      'Decimal(18, 4)': 'numeric(18,4)',
      'Decimal64(3)': 'numeric(18,3)',
      'Decimal128(10)': 'numeric(38,10)',
      Date: 'date',
      Date32: 'date',
      DateTime: 'timestamp(0) without time zone',
      "DateTime('Asia/Tokyo')": 'timestamp(0) without time zone',
      'DateTime64(3)': 'timestamp(3) without time zone',
      "DateTime64(9, 'UTC')": 'timestamp(6) without time zone',
      'Nullable(UInt64)': 'numeric(20,0)',
      'LowCardinality(Nullable(String))': 'text',
      String: 'text',
      'FixedString(16)': 'text',
      "Enum8('a' = 1, 'b' = 2)": 'text',
      UUID: 'uuid',
      IPv4: 'inet',
      IPv6: 'inet',
      'Array(Nullable(String))': 'text',
      'Tuple(a Int32, b String)': 'text',
      'Map(String, UInt64)': 'text',
    };
    expect(Object.fromEntries(Object.keys(table).map((t) => [t, mapClickHouseType(t)]))).toEqual(table);
    expect(unwrapClickHouseType('LowCardinality(Nullable(FixedString(2)))')).toBe('FixedString(2)');
  });

  it('parses TabSeparated lines and re-encodes them as COPY text', async () => {
    const lines = ["1\ta\\tb\\\\c\\'d\\nnew\t\\N\tinf\tUS\\0\\0\t['x','y\\'z']", '2\t\t-0.5\tnan\tDE\t[]'];
    const sourceTypes = ['UInt64', 'String', 'Nullable(String)', 'Float64', 'FixedString(4)', 'Array(String)'];
    const rows = Readable.from(lines.map((l) => parseTsvLine(l, literalColumns(sourceTypes))));
    const decoders = clickHouseDecoders(sourceTypes);
    expect(await text(rowsToCopy(rows, decoders))).toBe(
      "1\ta\\tb\\\\c'd\\nnew\t\\N\tInfinity\tUS\t['x','y\\\\'z']\n2\t\t-0.5\tNaN\tDE\t[]\n",
    );
  });

  it('fails a line that is not a whole row, and a server error written mid-result', () => {
    expect(() => parseTsvLine('1\t2', [false, false, false])).toThrow('ClickHouse returned a line that is not a row of 3 columns: 1\t2');
    const midResult = (() => {
      try {
        parseTsvLine('Code: 241, e.displayText() = DB::Exception: Memory limit exceeded', [false]);
      } catch (error) {
        return error;
      }
    })();
    expect(classifyError(classifyClickHouseError(midResult, 'x'))).toBe('transient');
  });

  it('classifies server errors by code, old and new formats', () => {
    expect(classifyError(classifyClickHouseError(Object.assign(new Error('Table x does not exist'), { code: '60' }), 'x'))).toBe('terminal');
    expect(classifyError(classifyClickHouseError(Object.assign(new Error('Too many simultaneous queries'), { code: '202' }), 'x'))).toBe('transient');
    expect(classifyError(classifyClickHouseError(new Error('Code: 159, e.displayText() = DB::Exception: Timeout exceeded'), 'x'))).toBe('transient');
    expect(classifyError(classifyClickHouseError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'x'))).toBe('transient');
  });

  it('connects over HTTPS unless sslmode is disable', () => {
    expect(clickHouseUrl({ host: 'ch.example' })).toBe('https://ch.example:8443');
    expect(clickHouseUrl({ host: 'ch.example', sslmode: 'disable' })).toBe('http://ch.example:8123');
    expect(clickHouseUrl({ host: 'ch.example', port: '9443' })).toBe('https://ch.example:9443');
    expect(clickHouseUrl({ host: 'https://abc.clickhouse.cloud' })).toBe('https://abc.clickhouse.cloud:8443');
    expect(clickHouseConfig({ host: 'ch.example', user: 'u' }, 4)).toMatchObject({ username: 'u', password: '', database: 'default', max_open_connections: 4 });
  });
});

/** The server named by CLICKHOUSE_TEST_URL (`http://user:password@host:port`), or none: the live tests are skipped. */
const liveUrl = process.env.CLICKHOUSE_TEST_URL;
if (!liveUrl) console.info('ClickHouse live tests skipped: set CLICKHOUSE_TEST_URL=http://user:password@host:8123 to run them against a server');

describe.skipIf(!liveUrl)('ClickHouse live, through the loader', () => {
  const database = `dl_test_${randomBytes(4).toString('hex')}`;
  const key = `ch-${randomBytes(3).toString('hex')}`;
  let admin: ClickHouseClient;
  let h: LoaderHarness;
  let session: SourceSession;
  const url = new URL(liveUrl ?? 'http://localhost');
  const connection = {
    host: url.hostname,
    port: url.port || '8123',
    user: decodeURIComponent(url.username) || 'default',
    password: decodeURIComponent(url.password),
    database,
    sslmode: url.protocol === 'https:' ? 'verify-full' : 'disable',
  };
  const exec = async (query: string) => admin.command({ query, clickhouse_settings: { allow_experimental_low_cardinality_type: 1 } as never });

  beforeAll(async () => {
    admin = createClient({ url: url.origin, username: connection.user, password: connection.password, log: { level: 127 as never } });
    await exec(`CREATE DATABASE ${database}`);
    await exec(`CREATE TABLE ${database}.\`ev"en;ts \\\` x\` (
        id UInt64, \`the amount\` Nullable(Decimal(18, 4)), at DateTime('Europe/Berlin'), day Date, kind LowCardinality(String),
        note Nullable(String), big Int64, ratio Float64, code FixedString(3), tags Array(String), uid UUID, mood Enum8('ok' = 1, 'bad' = 2)
      ) ENGINE = MergeTree ORDER BY id`);
    await exec(`INSERT INTO ${database}.\`ev"en;ts \\\` x\` VALUES
        (1, 10.5, '2024-01-01 11:00:00', '2024-01-01', 'a', 'tab\there', -9223372036854775808, 0.1, 'US', ['x', 'y\\'z'], '61f0c404-5cb3-11e7-907b-a6006ad3dba0', 'ok'),
        (2, NULL, '2024-01-01 12:30:00', '2024-01-02', 'b', NULL, 9223372036854775807, inf, 'DE', [], '00000000-0000-0000-0000-000000000000', 'bad'),
        (18446744073709551615, 0.0001, '2024-01-03 00:00:01', '2024-01-03', 'a', 'back\\\\slash\nnew', 0, -1.5e-300, 'F', ['z'], '61f0c404-5cb3-11e7-907b-a6006ad3dba1', 'ok')`);
    h = await createLoaderHarness();
    const names: Record<string, string> = { sslmode: connection.sslmode };
    for (const field of ['host', 'port', 'user', 'password', 'database'] as const) {
      names[field] = `${key}-${field}`;
      process.env[envVariableFor(names[field])] = connection[field];
    }
    await h.control.pool.query(
      `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope) VALUES ($1, $2, 'clickhouse', 'local-env')`,
      [key, JSON.stringify(names)],
    );
    session = await clickHouseConnector.open(connection, { maxConnections: 2 });
  });

  afterAll(async () => {
    await session?.close();
    await exec(`DROP DATABASE IF EXISTS ${database}`).catch(() => undefined);
    await admin?.close();
  });

  const table = async (sql: string) => (await h.destination.pool.query({ text: sql, rowMode: 'array' })).rows;

  it('loads a table of every common type exactly, hostile names and all', async () => {
    const message = await h.queueRow({
      db_config_key: key,
      source_table_schema: database,
      source_table_name: 'ev"en;ts ` x',
      destination_table_name: 'events',
      load_strategy: 'full',
    });
    expect(await h.deliver(message)).toEqual({ kind: 'complete' });
    expect((await h.row(message.config_id)).last_status_message).toBe('full load: 3 rows replaced landing.events');
    const { rows: shape } = await h.destination.pool.query(
      `SELECT column_name, format_type(atttypid, atttypmod) AS type FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = 'landing.events'::regclass AND a.attname = c.column_name
        WHERE table_schema = 'landing' AND table_name = 'events' ORDER BY ordinal_position`,
    );
    expect(shape.map((r) => `${r.column_name}:${r.type}`)).toEqual([
      'id:numeric(20,0)',
      'the amount:numeric(18,4)',
      'at:timestamp(0) without time zone',
      'day:date',
      'kind:text',
      'note:text',
      'big:bigint',
      'ratio:double precision',
      'code:text',
      'tags:text',
      'uid:uuid',
      'mood:text',
    ]);
    expect(await table(`SELECT id::text, "the amount"::text, at::text, day::text, kind, note, big::text, ratio::text, code, tags, uid::text, mood FROM landing.events e ORDER BY e.id`)).toEqual([
      ['1', '10.5000', '2024-01-01 10:00:00', '2024-01-01', 'a', 'tab\there', '-9223372036854775808', '0.1', 'US', "['x','y\\'z']", '61f0c404-5cb3-11e7-907b-a6006ad3dba0', 'ok'],
      ['2', null, '2024-01-01 11:30:00', '2024-01-02', 'b', null, '9223372036854775807', 'Infinity', 'DE', '[]', '00000000-0000-0000-0000-000000000000', 'bad'],
      ['18446744073709551615', '0.0001', '2024-01-02 23:00:01', '2024-01-03', 'a', 'back\\slash\nnew', '0', '-1.5e-300', 'F', "['z']", '61f0c404-5cb3-11e7-907b-a6006ad3dba1', 'ok'],
    ]);
  });

  it('loads incrementally past a DateTime watermark, with the lookback, then merges new rows', async () => {
    await exec(`CREATE TABLE ${database}.inc (id UInt32, updated_at DateTime, v String) ENGINE = MergeTree ORDER BY id`);
    await exec(`INSERT INTO ${database}.inc VALUES (1, '2024-01-01 10:00:00', 'a'), (2, '2024-01-01 11:00:00', 'b')`);
    const message = await h.queueRow({
      db_config_key: key,
      source_table_schema: database,
      source_table_name: 'inc',
      destination_table_name: 'inc',
      load_strategy: 'incremental',
      incremental_column: 'updated_at',
      incremental_type: 'timestamp',
      primary_key_cols: 'id',
    });
    await h.deliver(message);
    expect((await h.row(message.config_id)).incremental_value).toBe('2024-01-01 11:00:00');
    await exec(`INSERT INTO ${database}.inc VALUES (3, '2024-01-01 10:55:00', 'late'), (4, '2024-01-02 00:00:00', 'd'), (5, '2024-01-01 09:00:00', 'old')`);
    await h.deliver(await h.requeue(message.config_id));
    const row = await h.row(message.config_id);
    expect(row.last_status).toBe('Succeeded');
    expect(row.incremental_value).toBe('2024-01-02 00:00:00');
    // Row 3 committed late with an older value is read by the 10-minute lookback; row 5 is older than that.
    expect((await table('SELECT id, v FROM landing.inc ORDER BY id')).map((r) => r.join(':'))).toEqual(['1:a', '2:b', '3:late', '4:d']);
  });

  it('reads partition ranges in parallel, every row once, and a chunked backfill chunk by chunk', async () => {
    await exec(`CREATE TABLE ${database}.parts (n Nullable(Int32), d Date) ENGINE = MergeTree ORDER BY d`);
    await exec(`INSERT INTO ${database}.parts VALUES (NULL, '2024-01-01'), (1, '2024-01-05'), (15, '2024-02-01'), (25, '2024-03-01'), (99, '2024-04-01')`);
    const message = await h.queueRow({
      db_config_key: key,
      source_table_schema: database,
      source_table_name: 'parts',
      destination_table_name: 'parts',
      load_strategy: 'full',
      num_partitions: 3,
      partition_column: 'n',
      lower_bound: '10',
      upper_bound: '40',
    });
    await h.deliver(message);
    expect((await table('SELECT n FROM landing.parts ORDER BY n NULLS FIRST')).flat()).toEqual([null, 1, 15, 25, 99]);
    const backfill = await h.queueRow({
      db_config_key: key,
      source_table_schema: database,
      source_table_name: 'parts',
      destination_table_name: 'parts_backfill',
      load_strategy: 'chunked_backfill',
      num_partitions: 2,
      partition_column: 'd',
      lower_bound: '2024-01-01',
      upper_bound: '2024-03-01',
    });
    await h.deliver(backfill);
    expect((await table('SELECT d::text FROM landing.parts_backfill ORDER BY d')).flat()).toEqual(['2024-01-01', '2024-01-05', '2024-02-01', '2024-03-01', '2024-04-01']);
  });

  it('replaces a rolling window of DateTime rows, and skips an unchanged table by its signature', async () => {
    await exec(`CREATE TABLE ${database}.roll (id UInt32, at DateTime) ENGINE = MergeTree ORDER BY id`);
    await exec(`INSERT INTO ${database}.roll VALUES (1, now() - INTERVAL 10 DAY), (2, now() - INTERVAL 1 DAY), (3, now())`);
    const rolling = await h.queueRow({
      db_config_key: key,
      source_table_schema: database,
      source_table_name: 'roll',
      destination_table_name: 'roll',
      load_strategy: 'rolling',
      rolling_column: 'at',
      rolling_days: 3,
    });
    await h.deliver(rolling);
    expect((await table('SELECT id FROM landing.roll ORDER BY id')).flat()).toEqual([2, 3]);
    const check = await h.queueRow({
      db_config_key: key,
      source_table_schema: database,
      source_table_name: 'roll',
      destination_table_name: 'roll_checked',
      load_strategy: 'check_and_load',
      incremental_column: 'at',
      incremental_type: 'timestamp',
    });
    await h.deliver(check);
    expect((await h.row(check.config_id)).last_status_message).toBe('check_and_load: source changed; full load: 3 rows replaced landing.roll_checked');
    await h.deliver(await h.requeue(check.config_id));
    expect((await h.row(check.config_id)).last_status_message).toMatch(/^check_and_load: source unchanged since the last load/);
  });

  it('fails a wrong password terminally and a refused connection transiently, quoting neither', async () => {
    const wrong = await clickHouseConnector.open({ ...connection, password: 'not-the-password' }, { maxConnections: 1 }).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/^connecting to ClickHouse: /);
    expect((wrong as Error).message).not.toContain('not-the-password');
    expect(classifyError(wrong)).toBe('terminal');
    const refused = await clickHouseConnector.open({ ...connection, port: '1' }, { maxConnections: 1 }).catch((e: unknown) => e);
    expect(classifyError(refused)).toBe('transient');
  });

  it('runs a custom query read-only, and gives a signature that changes with the rows', async () => {
    const relation: SourceRelation = { kind: 'query', sql: `SELECT id, v FROM ${database}.inc WHERE id < 3;` };
    const columns = await session.describe(relation);
    expect(columns).toEqual([
      { name: 'id', type: 'bigint' },
      { name: 'v', type: 'text' },
    ]);
    expect(await text(await session.read({ relation, columns, conditions: [{ kind: 'after', column: 'id', value: '1' }] }))).toBe('2\tb\n');
    // readonly=1 also forbids changing a setting: proof the guard is on.
    const guarded = await session.describe({ kind: 'query', sql: 'SELECT 1 AS x SETTINGS max_threads = 1' }).catch((e: unknown) => e);
    expect((guarded as Error).message).toMatch(/^reading the custom query \(table_control\.query\) failed: ClickHouse: .*readonly/);
    expect(classifyError(guarded)).toBe('terminal');
    const written = await session.describe({ kind: 'query', sql: `INSERT INTO ${database}.inc VALUES (9, now(), 'x')` }).catch((e: unknown) => e);
    expect((written as Error).message).toMatch(/must be a single SELECT or WITH query/);
    const table: SourceRelation = { kind: 'table', catalog: null, schema: database, table: 'inc' };
    await session.describe(table);
    const before = await session.signature({ relation: table, column: 'updated_at' });
    expect(before).toBe('5/2024-01-02 00:00:00');
    await exec(`INSERT INTO ${database}.inc VALUES (6, '2024-02-01 00:00:00', 'f')`);
    expect(await session.signature({ relation: table, column: 'updated_at' })).toBe('6/2024-02-01 00:00:00');
    const missing = await session.describe({ kind: 'table', catalog: null, schema: database, table: 'nope' }).catch((e: unknown) => e);
    expect((missing as Error).message).toMatch(new RegExp(`^reading source table ${database}\\.nope failed: ClickHouse: .*${database}\\.nope doesn't exist`));
    expect(classifyError(missing)).toBe('terminal');
  });

  it('settles nothing on open transactions: reads with the per-table lookback and says so', async () => {
    await exec(`CREATE TABLE ${database}.late (id UInt64, at DateTime) ENGINE = MergeTree ORDER BY id`);
    await exec(`INSERT INTO ${database}.late VALUES (1, '2024-01-01 10:00:00'), (2, '2024-01-01 10:05:00')`);
    const message = await h.queueRow({
      db_config_key: key,
      source_table_schema: database,
      source_table_name: 'late',
      destination_table_name: 'late',
      load_strategy: 'incremental',
      incremental_column: 'at',
      incremental_type: 'timestamp',
      incremental_lookback: '90 seconds',
      primary_key_cols: 'id',
    });
    expect(await h.deliver(message)).toEqual({ kind: 'complete' });
    // A row landing late, older than the watermark but inside the lookback, and one outside it.
    await exec(`INSERT INTO ${database}.late VALUES (3, '2024-01-01 10:04:00'), (4, '2024-01-01 10:03:00')`);
    expect(await h.deliver(await h.requeue(message.config_id))).toEqual({ kind: 'complete' });
    const row = await h.row(message.config_id);
    expect(row.last_status_message).toContain('read with a lookback of 90 seconds (incremental_lookback): ClickHouse: inserts are visible as they land');
    expect(row.last_status_message).toContain('the lookback applies');
    expect(await table('SELECT id FROM landing.late ORDER BY id')).toEqual([['1'], ['2'], ['3']]);
  });
});
