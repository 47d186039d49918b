import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceSession } from '../shared/connectors/port.js';
import { postgresConnector } from '../shared/connectors/postgres.js';
import { connectorFor, openSource } from '../shared/connectors/registry.js';
import { selectSql } from '../shared/connectors/postgres-sql.js';
import { classifyError } from '../shared/errors.js';
import { createSecretResolver } from '../shared/secrets/resolver.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { connectionOf, registerDbConfig } from './support/source.js';

let source: TestDatabase;
let session: SourceSession;

const HOSTILE_TABLE = 'Or"ders; DROP TABLE x';
const hostile = { kind: 'table' as const, catalog: null, schema: 'Sales Schema', table: HOSTILE_TABLE };

beforeAll(async () => {
  source = await createTestDatabase({ empty: true, prefix: 'src' });
  await source.pool.query(`
    CREATE TYPE mood AS ENUM ('happy', 'sad');
    CREATE DOMAIN cents AS bigint;
    CREATE SCHEMA "Sales Schema";
    CREATE TABLE "Sales Schema"."Or""ders; DROP TABLE x" (
      "Id" integer PRIMARY KEY,
      "note; --" text,
      amount numeric(12,2),
      price cents,
      feeling mood,
      updated_at timestamp(6) without time zone,
      seen_at timestamptz,
      day date,
      tags text[]
    );
    INSERT INTO "Sales Schema"."Or""ders; DROP TABLE x" VALUES
      (1, 'tab	and
newline \\ back', 10.50, 1050, 'happy', '2024-01-01 10:00:00.123456', '2024-01-01 10:00:00.5+02', '2024-01-01', '{a,"b c"}'),
      (2, NULL, 20.00, 2000, 'sad', '2024-01-01 11:00:00.000001', NULL, '2024-01-02', NULL),
      (3, 'three', NULL, NULL, NULL, NULL, NULL, NULL, '{}');
    CREATE SEQUENCE s;`);
  session = await postgresConnector.open(connectionOf(source), { maxConnections: 2 });
});

afterAll(async () => {
  await session?.close();
});

describe('PostgreSQL source', () => {
  it('describes a table with quoted identifiers, domains as their base type and enums as text', async () => {
    expect(await session.describe(hostile)).toEqual([
      { name: 'Id', type: 'integer' },
      { name: 'note; --', type: 'text' },
      { name: 'amount', type: 'numeric(12,2)' },
      { name: 'price', type: 'bigint' },
      { name: 'feeling', type: 'text' },
      { name: 'updated_at', type: 'timestamp(6) without time zone' },
      { name: 'seen_at', type: 'timestamp with time zone' },
      { name: 'day', type: 'date' },
      { name: 'tags', type: 'text[]' },
    ]);
  });

  it('streams COPY text in UTC with full precision, filtered by bound values', async () => {
    const columns = await session.describe(hostile);
    const all = await text(await session.read({ relation: hostile, columns, conditions: [] }));
    expect(all.split('\n')).toEqual([
      '1\ttab\\tand\\nnewline \\\\ back\t10.50\t1050\thappy\t2024-01-01 10:00:00.123456\t2024-01-01 08:00:00.5+00\t2024-01-01\t{a,"b c"}',
      '2\t\\N\t20.00\t2000\tsad\t2024-01-01 11:00:00.000001\t\\N\t2024-01-02\t\\N',
      '3\tthree\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t{}',
      '',
    ]);
    const after = await text(
      await session.read({
        relation: hostile,
        columns,
        conditions: [{ kind: 'after', column: 'updated_at', value: '2024-01-01 10:00:00.123456' }],
      }),
    );
    expect(after.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['2']);
    // A value with quotes and semicolons is bound, never spliced into the SQL.
    const quoted = await text(
      await session.read({ relation: hostile, columns, conditions: [{ kind: 'after', column: 'note; --', value: "tab'; DROP TABLE s; --" }] }),
    );
    expect(quoted.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['3']);
    const lookback = await text(
      await session.read({
        relation: hostile,
        columns,
        conditions: [{ kind: 'after', column: 'updated_at', value: '2024-01-01 11:00:00.000001', lookback: { kind: 'minutes', minutes: 60 } }],
      }),
    );
    expect(lookback.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['1', '2']);
    const range = await text(
      await session.read({
        relation: hostile,
        columns,
        conditions: [{ kind: 'range', column: 'Id', to: '2', withNulls: true }, { kind: 'range', column: 'day', from: '2024-01-01', withNulls: true }],
      }),
    );
    expect(range.split('\n').filter(Boolean).map((l) => l.split('\t')[0])).toEqual(['1']);
  });

  it('keeps an integer watermark read an index range scan', async () => {
    await source.pool.query(`CREATE TABLE big_ids (id bigint PRIMARY KEY); INSERT INTO big_ids SELECT generate_series(1, 20000); ANALYZE big_ids`);
    const relation = { kind: 'table' as const, catalog: null, schema: null, table: 'big_ids' };
    const columns = await session.describe(relation);
    const { sql, settings } = selectSql({ relation, columns, conditions: [{ kind: 'after', column: 'id', value: '19990', lookback: { kind: 'amount', amount: '5' } }] });
    const client = await source.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT set_config('dataloader.p1', $1, true), set_config('dataloader.p2', $2, true)`, settings);
      const { rows } = await client.query(`EXPLAIN ${sql}`);
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Index (Only )?Scan using big_ids_pkey/);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    expect(await text(await session.read({ relation, columns, conditions: [{ kind: 'after', column: 'id', value: '19990', lookback: { kind: 'amount', amount: '5' } }] }))).toBe(
      Array.from({ length: 15 }, (_, i) => `${19986 + i}\n`).join(''),
    );
  });

  it('runs a custom query as a read-only subquery', async () => {
    const relation = { kind: 'query' as const, sql: `SELECT "Id" AS id, amount * 2 AS double FROM "Sales Schema"."Or""ders; DROP TABLE x";  ` };
    const columns = await session.describe(relation);
    expect(columns).toEqual([
      { name: 'id', type: 'integer' },
      { name: 'double', type: 'numeric' },
    ]);
    const rows = await text(await session.read({ relation, columns, conditions: [{ kind: 'after', column: 'id', value: '1' }] }));
    expect(rows).toBe('2\t40.00\n3\t\\N\n');
    const writing = { kind: 'query' as const, sql: `SELECT nextval('s') AS n` };
    const columnsOfWriting = await session.describe(writing);
    const error = await text(await session.read({ relation: writing, columns: columnsOfWriting, conditions: [] })).catch((e: unknown) => e);
    expect((error as Error).message).toBe('cannot execute nextval() in a read-only transaction');
    expect(classifyError(error)).toBe('terminal');
  });

  it('fails a missing table, bad SQL and a duplicated column terminally, naming what to fix', async () => {
    const missing = await session.describe({ kind: 'table', catalog: 'sales', schema: 'public', table: 'nope' }).catch((e: unknown) => e);
    expect((missing as Error).message).toBe('reading source table sales.public.nope failed: relation "public.nope" does not exist');
    expect(classifyError(missing)).toBe('terminal');
    const bad = await session.describe({ kind: 'query', sql: 'SELEC 1' }).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/^reading the custom query \(table_control\.query\) failed: syntax error/);
    expect(classifyError(bad)).toBe('terminal');
    const dup = await session.describe({ kind: 'query', sql: 'SELECT 1 AS a, 2 AS a' }).catch((e: unknown) => e);
    expect((dup as Error).message).toBe('the custom query returns column "a" more than once; give each column its own name');
  });

  it('reads one snapshot across parallel reads inside withSnapshot', async () => {
    const relation = { kind: 'table' as const, catalog: null, schema: null, table: 'snap' };
    await source.pool.query(`CREATE TABLE snap (id integer); INSERT INTO snap VALUES (1)`);
    const columns = await session.describe(relation);
    const seen = await session.withSnapshot!(async () => {
      const first = await text(await session.read({ relation, columns, conditions: [] }));
      await source.pool.query(`INSERT INTO snap VALUES (2)`);
      const second = await text(await session.read({ relation, columns, conditions: [] }));
      return [first, second];
    });
    expect(seen).toEqual(['1\n', '1\n']);
    expect(await text(await session.read({ relation, columns, conditions: [] }))).toBe('1\n2\n');
  });

  it('gives a signature that changes with the rows', async () => {
    const before = await session.signature({ relation: hostile, column: 'updated_at' });
    expect(before).toBe('3/2024-01-01 11:00:00.000001');
    await source.pool.query(`UPDATE "Sales Schema"."Or""ders; DROP TABLE x" SET updated_at = '2025-01-01' WHERE "Id" = 3`);
    expect(await session.signature({ relation: hostile, column: 'updated_at' })).toBe('3/2025-01-01 00:00:00');
  });
});

describe('connector registry', () => {
  it('opens a source from a dbconfig row whose secrets resolve from the environment', async () => {
    const control = await createTestDatabase();
    await registerDbConfig(control.pool, 'reg-src', source);
    const { rows } = await control.pool.query(`SELECT * FROM control.table_control_dbconfig WHERE db_config_key = 'reg-src'`);
    const opened = await openSource(rows[0], createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 60 }), 1);
    try {
      expect(await opened.signature({ relation: { kind: 'query', sql: 'SELECT 1 AS x' }, column: 'x' })).toBe('1/1');
    } finally {
      await opened.close();
    }
  });

  it('refuses a db_type without a connector, and a row without a secret name', async () => {
    expect(() => connectorFor({ db_config_key: 'db2', db_type: 'db2' })).toThrow(
      /^table_control_dbconfig "db2": db_type "db2" has no source connector yet \(supported: postgresql, postgres, /,
    );
    const row = { db_config_key: 'k', db_type: 'postgresql', db_config_value: { host: 'h' }, db_kv_scope: null } as never;
    await expect(openSource(row, createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 1 }), 1)).rejects.toThrow(
      'table_control_dbconfig "k": db_config_value has no "database" (the name of the secret holding it)',
    );
  });
});
