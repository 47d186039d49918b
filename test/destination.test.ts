import { Readable } from 'node:stream';
import pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../shared/data/spec.js';
import { createCopyEncoder, encodeCopyRow } from '../shared/data/copy-encoder.js';
import type { DestinationSession, Staging, TableRef } from '../shared/destination/port.js';
import { openPostgresDestination } from '../shared/destination/postgres.js';
import { typeHolds } from '../shared/destination/postgres-schema.js';
import { classifyError } from '../shared/errors.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { connectionOf } from './support/source.js';

let db: TestDatabase;
let destination: DestinationSession;

beforeAll(async () => {
  db = await createTestDatabase({ empty: true, prefix: 'dst' });
  destination = await openPostgresDestination(connectionOf(db), 3);
});

afterAll(async () => {
  await destination?.close();
});

const columns: ColumnSpec[] = [
  { name: 'Id', type: 'integer' },
  { name: 'na"me; --', type: 'character varying(10)' },
  { name: 'at', type: 'timestamp(6) without time zone' },
];

async function stage(target: TableRef, rows: unknown[][], forReplace: boolean, cols = columns): Promise<Staging> {
  const staging = await destination.createStaging(target, cols, { forReplace, tag: '7' });
  const writer = await staging.openWriter();
  await pipeline(Readable.from(rows), createCopyEncoder(16), writer);
  expect(writer.rowCount).toBe(rows.length);
  return staging;
}

async function contents(target: TableRef): Promise<unknown[]> {
  const { rows } = await db.pool.query(
    `SELECT "Id", "na""me; --" AS name, at::text FROM ${`"${target.schema}"."${target.table.replace(/"/g, '""')}"`} ORDER BY "Id"`,
  );
  return rows.map((r) => [r.Id, r.name, r.at]);
}

describe('COPY text encoding', () => {
  it('escapes delimiters, backslashes and NULLs, and writes dates in UTC with microseconds', () => {
    expect(encodeCopyRow([1, null, 'a\tb\nc\\d', true, new Date('2024-01-02T03:04:05.678Z'), Buffer.from([1, 255]), [1, 'x y', null]])).toBe(
      '1\t\\N\ta\\tb\\nc\\\\d\tt\t2024-01-02 03:04:05.678+00\t\\\\x01ff\t{"1","x y",NULL}\n',
    );
  });
});

describe('PostgreSQL destination', () => {
  const target = { schema: 'landing', table: 'Or"ders; x' };

  it('creates a missing table from the source columns, with the primary key', async () => {
    await destination.prepareTable(target, columns, ['Id']);
    const { rows } = await db.pool.query(
      `SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
        WHERE a.attrelid = '"landing"."Or""ders; x"'::regclass AND a.attnum > 0 ORDER BY a.attnum`,
    );
    expect(rows.map((r) => [r.attname, r.type])).toEqual(columns.map((c) => [c.name, c.type]));
  });

  it('replaces the whole table atomically, keeping grants', async () => {
    await db.pool.query(`DO $$ BEGIN CREATE ROLE dl_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await db.pool.query(`GRANT SELECT ON "landing"."Or""ders; x" TO dl_reader`);
    const first = await stage(target, [[1, 'a', '2024-01-01 00:00:00.000001'], [2, 'b', null]], true);
    expect(await first.replace()).toBe(2);
    expect(await contents(target)).toEqual([[1, 'a', '2024-01-01 00:00:00.000001'], [2, 'b', null]]);
    // A write that fails before COMMIT leaves the old rows in place.
    const second = await stage(target, [[3, 'c', null]], true);
    await expect(
      second.replace(() => {
        throw new Error('crash');
      }),
    ).rejects.toThrow('crash');
    await second.drop();
    expect(await contents(target)).toEqual([[1, 'a', '2024-01-01 00:00:00.000001'], [2, 'b', null]]);
    const third = await stage(target, [[3, 'c', null]], true);
    await third.replace();
    expect(await contents(target)).toEqual([[3, 'c', null]]);
    const { rows } = await db.pool.query(`SELECT has_table_privilege('dl_reader', '"landing"."Or""ders; x"', 'SELECT') AS ok`);
    expect(rows[0].ok).toBe(true);
    const leftovers = await db.pool.query(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE '\\_dl\\_%'`);
    expect(leftovers.rows).toEqual([]);
  });

  it('never shows a reader an empty or half-loaded table during a full replace', async () => {
    const t = { schema: 'landing', table: 'watched' };
    await destination.prepareTable(t, columns);
    const load = async (n: number) => {
      const staging = await destination.createStaging(t, columns, { forReplace: true, tag: '9' });
      const writer = await staging.openWriter();
      await pipeline(Readable.from(Array.from({ length: n }, (_, i) => [i, 'x', null])), createCopyEncoder(), writer);
      await staging.replace();
    };
    await load(5_000);
    const seen = new Set<number>();
    let done = false;
    const watcher = (async () => {
      while (!done) seen.add((await db.pool.query(`SELECT count(*)::int AS n FROM landing.watched`)).rows[0].n);
    })();
    await load(20_000);
    await load(5_000);
    done = true;
    await watcher;
    expect([...seen].every((n) => n === 5_000 || n === 20_000)).toBe(true);
    expect(seen.has(5_000)).toBe(true);
  });

  it('steps back from a swap a long reader blocks, and swaps once it is done', async () => {
    const patient = await openPostgresDestination(connectionOf(db), 2, { lockTimeoutMs: 100, retryMs: 50, attempts: 20 });
    const reader = new pg.Client({ connectionString: db.url });
    await reader.connect();
    try {
      const t = { schema: 'landing', table: 'busy' };
      await patient.prepareTable(t, columns);
      await reader.query(`BEGIN; SELECT * FROM landing.busy`);
      const staging = await patient.createStaging(t, columns, { forReplace: true, tag: '8' });
      const writer = await staging.openWriter();
      await pipeline(Readable.from([[1, 'a', null]]), createCopyEncoder(), writer);
      const swapped = staging.replace();
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Meanwhile another reader is not queued behind the waiting swap for long.
      const started = Date.now();
      await db.pool.query(`SELECT count(*) FROM landing.busy`);
      expect(Date.now() - started).toBeLessThan(1_000);
      await reader.query('COMMIT');
      expect(await swapped).toBe(1);
      expect((await db.pool.query(`SELECT count(*)::int AS n FROM landing.busy`)).rows[0].n).toBe(1);
    } finally {
      await reader.end();
      await patient.close();
    }
  });

  it('replaces rows in place when a view depends on the table', async () => {
    const t = { schema: 'landing', table: 'viewed' };
    await destination.prepareTable(t, columns);
    await db.pool.query(`CREATE VIEW landing.v AS SELECT * FROM landing.viewed`);
    await (await stage(t, [[1, 'a', null]], true)).replace();
    await (await stage(t, [[2, 'b', null]], true)).replace();
    const { rows } = await db.pool.query(`SELECT "Id" FROM landing.v`);
    expect(rows).toEqual([{ Id: 2 }]);
  });

  it('merges on the primary key, and refuses a target without one', async () => {
    const staging = await stage(target, [[3, 'c2', '2024-05-05 00:00:00'], [4, 'd', null]], false);
    expect(await staging.maxValue('at')).toBe('2024-05-05 00:00:00');
    await staging.merge(['Id']);
    await staging.drop();
    expect(await contents(target)).toEqual([[3, 'c2', '2024-05-05 00:00:00'], [4, 'd', null]]);
    const nokey = { schema: 'landing', table: 'nokey' };
    await destination.prepareTable(nokey, columns);
    const s2 = await stage(nokey, [[1, 'a', null]], false);
    const error = await s2.merge(['Id']).catch((e: unknown) => e);
    await s2.drop();
    expect((error as Error).message).toBe(
      'destination landing.nokey has no primary key or unique index on (Id) from primary_key_cols; add one for the merge',
    );
    // Preparing the table with its key adds the unique index the merge needs ...
    await destination.prepareTable(nokey, columns, ['Id']);
    const s3 = await stage(nokey, [[1, 'a', null]], false);
    await s3.merge(['Id']);
    await s3.drop();
    // ... unless the rows already break it.
    const dup = { schema: 'landing', table: 'dupkey' };
    await destination.prepareTable(dup, columns);
    await db.pool.query(`INSERT INTO landing.dupkey ("Id") VALUES (1), (1)`);
    await expect(destination.prepareTable(dup, columns, ['Id'])).rejects.toThrow(
      'destination landing.dupkey holds rows with the same primary_key_cols (Id); remove the duplicates or reload it fully (load_full)',
    );
  });

  it('writes source values into identity columns of an existing table', async () => {
    await db.pool.query(`CREATE TABLE landing.ident ("Id" integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "na""me; --" varchar(10), at timestamp(6))`);
    const t = { schema: 'landing', table: 'ident' };
    await destination.prepareTable(t, columns, ['Id']);
    const merged = await stage(t, [[7, 'g', null]], false);
    await merged.merge(['Id']);
    await merged.drop();
    const window = await stage(t, [[8, 'h', null]], false);
    await window.replaceWhere([{ kind: 'range', column: 'Id', from: '8' }]);
    await window.drop();
    expect(await contents(t)).toEqual([[7, 'g', null], [8, 'h', null]]);
  });

  it('replaces a window of rows in one transaction', async () => {
    const staging = await stage(target, [[5, 'e', '2024-06-01 00:00:00']], false);
    await staging.replaceWhere([{ kind: 'range', column: 'at', from: '2024-05-01', withNulls: true }]);
    await staging.drop();
    // Rows 3 (in the window) and 4 (NULL, taken by withNulls) are replaced by the staged row 5.
    expect(await contents(target)).toEqual([[5, 'e', '2024-06-01 00:00:00']]);
  });

  it('adds new source columns, widens what the source widened, refuses an incompatible change naming the column', async () => {
    const t = { schema: 'landing', table: 'evolving' };
    await destination.prepareTable(t, columns);
    await destination.prepareTable(t, [...columns, { name: 'extra', type: 'numeric(5,1)' }]);
    await destination.prepareTable(t, [{ name: 'Id', type: 'bigint' }, { name: 'na"me; --', type: 'character varying(5)' }]);
    const { rows } = await db.pool.query(
      `SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) AS d FROM pg_attribute
        WHERE attrelid = 'landing.evolving'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    expect(rows[0].d).toBe('Id bigint, na"me; -- character varying(10), at timestamp(6) without time zone, extra numeric(5,1)');
    const error = await destination.prepareTable(t, [{ name: 'at', type: 'integer' }]).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'destination column "at" of landing.evolving is timestamp(6) without time zone but the source now gives integer; change the destination column (or the source) so the types match',
    );
    expect(classifyError(error)).toBe('terminal');
    expect(typeHolds('text', 'character varying(3)')).toBe(true);
    expect(typeHolds('integer', 'bigint')).toBe(false);
  });

  it('drops staging tables an earlier attempt left behind', async () => {
    await destination.createStaging(target, columns, { forReplace: false, tag: '99' });
    await destination.dropLeftoverStaging(target, '99');
    const { rows } = await db.pool.query(`SELECT relname FROM pg_class WHERE relname LIKE '\\_dl\\_99\\_%'`);
    expect(rows).toEqual([]);
  });
});
