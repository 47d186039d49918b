/**
 * append_only, rolling and chunked_backfill are idempotent only while the
 * source's read window selects exactly the rows the destination's DELETE
 * window selects. For every strategy's windows (watermarks of each type with
 * and without their lookback, rolling windows, backfill chunks with NULLs,
 * and the whole table) this reads the rows through the source connector and
 * selects them with the destination's WHERE, on the same real data, and
 * compares the ids. PostgreSQL runs here; ClickHouse runs live when
 * CLICKHOUSE_TEST_URL names a server. SQL Server, Oracle and Snowflake have
 * their exact SQL asserted in their own test files.
 */
import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clickHouseConnector } from '../shared/connectors/clickhouse.js';
import type { SourceSession } from '../shared/connectors/port.js';
import { postgresConnector } from '../shared/connectors/postgres.js';
import type { Condition, SourceRelation } from '../shared/data/spec.js';
import { conditionsWhere } from '../shared/destination/postgres.js';
import { splitRange } from '../shared/strategies/ranges.js';
import { windowStart } from '../shared/strategies/rolling.js';
import { watermarkCondition } from '../shared/strategies/watermark.js';
import { createTestDatabase } from './support/db.js';
import { connectionOf } from './support/source.js';

const db = await createTestDatabase();

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const BASE = Date.UTC(2024, 2, 1);
/** 240 rows: timestamps, dates, integers and decimals, some NULL. */
const ROWS = Array.from({ length: 240 }, (_, i) => {
  const id = i + 1;
  const t = new Date(BASE + id * 7 * 60_000);
  // Whole seconds, as a ClickHouse DateTime holds them; the watermark below has microseconds.
  const ts = id % 17 === 0 ? null : `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
  const d = new Date(BASE + Math.floor(id / 10) * 86_400_000);
  const day = id % 19 === 0 ? null : `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const n = id % 23 === 0 ? null : String(id * 3 - 100);
  const amount = id % 13 === 0 ? null : (id * 1.25 - 50).toFixed(4);
  return { id, ts, day, n, amount };
});

/** Every strategy's windows on this data. */
function windows(): [string, Condition[]][] {
  const out: [string, Condition[]][] = [['full and check_and_load: the whole table', []]];
  const watermarks = [
    { column: 'ts', type: 'timestamp' as const, lookback: null, value: '2024-03-01 12:03:00.071234' },
    { column: 'day', type: 'date' as const, lookback: null, value: '2024-03-12' },
    { column: 'n', type: 'integer' as const, lookback: null, value: '500' },
    { column: 'amount', type: 'decimal' as const, lookback: null, value: '120.5' },
  ];
  for (const watermark of watermarks) {
    for (const minutes of [0, 30, 2 * 1440]) {
      out.push([`incremental and append_only: ${watermark.type} watermark, ${minutes} min lookback`, watermarkCondition(watermark, minutes)]);
    }
  }
  // A table's own lookback in seconds (incremental_lookback), and in values.
  out.push(['incremental and append_only: timestamp watermark, 90 s table lookback', watermarkCondition(watermarks[0]!, 10, { seconds: 90 })]);
  out.push(['incremental and append_only: integer watermark, 25 values table lookback', watermarkCondition(watermarks[2]!, 10, { amount: '25' })]);
  for (const days of [1, 5]) {
    out.push([`rolling: ${days} days on day`, [{ kind: 'range', column: 'day', from: windowStart(new Date(BASE + 20 * 86_400_000), days) }]]);
    out.push([`rolling: ${days} days on ts`, [{ kind: 'range', column: 'ts', from: windowStart(new Date(BASE + 86_400_000), days) }]]);
  }
  const chunks: [string, string, string, number][] = [
    ['id', '1', '240', 4],
    ['n', '-50', '600', 3],
    ['amount', '0', '200.5', 3],
    ['ts', '2024-03-01 02:00:00', '2024-03-01 20:00:00', 5],
    ['day', '2024-03-03', '2024-03-20', 4],
  ];
  for (const [column, lower, upper, count] of chunks) {
    splitRange(lower, upper, count).forEach((range, i) => {
      out.push([`chunked_backfill: ${column} chunk ${i + 1} of ${count}`, [{ kind: 'range', column, ...range }]]);
    });
  }
  return out;
}

async function sourceIds(session: SourceSession, relation: SourceRelation, conditions: Condition[]): Promise<number[]> {
  const columns = await session.describe(relation);
  const copy = await text(await session.read({ relation, columns, conditions }));
  const idAt = columns.findIndex((c) => c.name === 'id');
  return copy
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => Number(line.split('\t')[idAt]))
    .sort((a, b) => a - b);
}

async function destinationIds(conditions: Condition[]): Promise<number[]> {
  const { rows: described } = await db.pool.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'dst.t'::regclass AND attnum > 0 AND NOT attisdropped`,
  );
  const params: unknown[] = [];
  const where = conditionsWhere(conditions, new Map(described.map((c) => [c.name, c.type])), params);
  const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM dst.t WHERE ${where}`, params);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

beforeAll(async () => {
  // The destination table as the loader creates it from a source's described types.
  for (const schema of ['src', 'dst']) {
    await db.pool.query(`CREATE SCHEMA ${schema}`);
    await db.pool.query(`CREATE TABLE ${schema}.t (id numeric(20,0), ts timestamp(0) without time zone, day date, n bigint, amount numeric(18,4))`);
    await db.pool.query(
      `INSERT INTO ${schema}.t SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id numeric, ts timestamp, day date, n bigint, amount numeric)`,
      [JSON.stringify(ROWS)],
    );
  }
});

describe('every strategy window selects the same rows at the source and the destination', () => {
  describe('PostgreSQL source', () => {
    let session: SourceSession;
    beforeAll(async () => {
      session = await postgresConnector.open(connectionOf(db), { maxConnections: 1 });
    });
    afterAll(() => session?.close());
    const relation: SourceRelation = { kind: 'table', catalog: null, schema: 'src', table: 't' };

    it.each(windows())('%s', async (_name, conditions) => {
      const source = await sourceIds(session, relation, conditions);
      expect(source).toEqual(await destinationIds(conditions));
    });

    it('the windows are not trivial: most select some rows and leave others', async () => {
      let partial = 0;
      for (const [, conditions] of windows()) {
        const n = (await destinationIds(conditions)).length;
        if (n > 0 && n < ROWS.length) partial++;
      }
      expect(partial).toBeGreaterThan(windows().length - 3);
    });
  });

  const liveUrl = process.env.CLICKHOUSE_TEST_URL;
  describe.skipIf(!liveUrl)('ClickHouse source (live)', () => {
    const database = `dl_window_${randomBytes(4).toString('hex')}`;
    let admin: ClickHouseClient;
    let session: SourceSession;
    const relation: SourceRelation = { kind: 'table', catalog: null, schema: database, table: 't' };

    beforeAll(async () => {
      const url = new URL(liveUrl!);
      const user = decodeURIComponent(url.username) || 'default';
      const password = decodeURIComponent(url.password);
      admin = createClient({ url: url.origin, username: user, password });
      await admin.command({ query: `CREATE DATABASE ${database}` });
      await admin.command({
        query: `CREATE TABLE ${database}.t (id UInt64, ts Nullable(DateTime('UTC')), day Nullable(Date), n Nullable(Int64), amount Nullable(Decimal(18, 4))) ENGINE = MergeTree ORDER BY id`,
      });
      const literal = (v: string | null, quoted: boolean) => (v === null ? 'NULL' : quoted ? `'${v}'` : v);
      const values = ROWS.map((r) => `(${r.id}, ${literal(r.ts, true)}, ${literal(r.day, true)}, ${literal(r.n, false)}, ${literal(r.amount, false)})`);
      await admin.command({ query: `INSERT INTO ${database}.t VALUES ${values.join(', ')}` });
      session = await clickHouseConnector.open(
        { host: url.hostname, port: url.port || '8123', user, password, database, sslmode: url.protocol === 'https:' ? 'verify-full' : 'disable' },
        { maxConnections: 1 },
      );
    });
    afterAll(async () => {
      await session?.close();
      await admin?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
      await admin?.close();
    });

    it.each(windows())('%s', async (_name, conditions) => {
      const source = await sourceIds(session, relation, conditions);
      expect(source).toEqual(await destinationIds(conditions));
    });
  });
});
