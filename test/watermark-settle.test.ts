/**
 * Guarantee 4 on a PostgreSQL source: a transaction that stamps its row at its
 * start and commits after the lookback has passed, while committed rows keep
 * arriving and loading, still reaches the destination once (incremental and
 * append_only). The watermark is held back by the open transaction, and the
 * run's message names its backend. Without the privilege to see the writer's
 * session, the loader falls back to the lookback and says so.
 */
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';
import { registerUnprivilegedSource, rowsOf } from './support/settle.js';

let h: LoaderHarness;
let tableCounter = 0;

beforeAll(async () => {
  // The setting's lookback is long; each table sets its own, shorter than the transaction.
  h = await createLoaderHarness({ INCREMENTAL_LOOKBACK_MINUTES: '10' });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function createTable(): Promise<string> {
  const table = `settle_${++tableCounter}`;
  await h.source.pool.query(`CREATE TABLE public.${table} (id integer PRIMARY KEY, v text, wm timestamptz NOT NULL)`);
  return table;
}

const insertNow = (db: pg.Pool | pg.PoolClient, table: string, id: number, v: string) =>
  db.query(`INSERT INTO public.${table} (id, v, wm) VALUES ($1, $2, now())`, [id, v]);

/** Loads the row once more and returns its status message (the run must succeed). */
async function load(configId: number, first?: Awaited<ReturnType<LoaderHarness['queueRow']>>): Promise<string> {
  const message = first ?? (await h.requeue(configId));
  expect(await h.deliver(message)).toEqual({ kind: 'complete' });
  const row = await h.row(configId);
  expect(row.last_status, String(row.last_status_message)).toBe('Succeeded');
  return String(row.last_status_message);
}

describe.each(['incremental', 'append_only'] as const)('a long source transaction on %s', (strategy) => {
  it('commits its row after the lookback has passed; the row arrives once', async () => {
    const table = await createTable();
    const first = await h.queueRow({
      source_table_name: table,
      destination_table_name: table,
      load_strategy: strategy,
      incremental_column: 'wm',
      incremental_type: 'timestamp',
      incremental_lookback: '2 seconds',
      primary_key_cols: strategy === 'incremental' ? 'id' : null,
    });
    await insertNow(h.source.pool, table, 1, 'before');
    const messages = [await load(first.config_id, first)];

    // The long transaction stamps its row at its start (now() is the transaction's start).
    const long = await h.source.pool.connect();
    try {
      await long.query('BEGIN');
      await insertNow(long, table, 2, 'late');
      const pid = (await long.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      // Committed rows keep arriving and loading for longer than the lookback (2 s) plus the clock-skew margin (5 s).
      const started = Date.now();
      let id = 3;
      while (Date.now() - started < 9_000) {
        await insertNow(h.source.pool, table, id++, 'on time');
        messages.push(await load(first.config_id));
        await sleep(700);
      }
      expect(messages.at(-1)).toContain('watermark held back');
      expect(messages.at(-1)).toContain(`a long transaction, backend pid ${pid}`);
      expect(messages.at(-1)).toContain('a lookback of 2 seconds (incremental_lookback)');
      expect(await rowsOf(h.destination.pool, 'landing', table)).not.toContainEqual(expect.arrayContaining([2]));
      await long.query('COMMIT');
    } finally {
      await long.query('ROLLBACK').catch(() => undefined);
      long.release();
    }
    await load(first.config_id);

    const destination = await rowsOf(h.destination.pool, 'landing', table);
    expect(destination).toEqual(await rowsOf(h.source.pool, 'public', table));
    expect(destination.filter((r) => r[0] === 2)).toHaveLength(1);
    const ids = destination.map((r) => r[0]);
    expect(new Set(ids).size).toBe(ids.length);
  }, 60_000);
});

describe('without the privilege to see other sessions', () => {
  it('falls back to the lookback, says so, and loses nothing committed inside it', async () => {
    const reader = await registerUnprivilegedSource(h);
    const table = await createTable();
    const first = await h.queueRow({
      db_config_key: reader,
      source_table_name: table,
      destination_table_name: table,
      load_strategy: 'incremental',
      incremental_column: 'wm',
      incremental_type: 'timestamp',
      primary_key_cols: 'id',
    });
    // Another role's open transaction: the reader sees the session, not its transaction.
    const other = await h.source.pool.connect();
    try {
      await other.query('BEGIN');
      await insertNow(other, table, 1, 'late');
      await insertNow(h.source.pool, table, 2, 'on time');
      const message = await load(first.config_id, first);
      expect(message).toContain('read with a lookback of 10 minutes (INCREMENTAL_LOOKBACK_MINUTES)');
      expect(message).toMatch(/cannot see the transactions of \d+ other session\(s\) on this database \(grant it pg_read_all_stats/);
      expect(message).toContain('the lookback applies');
      // Once per run: the message says it one time.
      expect(message.split('pg_read_all_stats')).toHaveLength(2);
      await other.query('COMMIT');
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      other.release();
    }
    await load(first.config_id);
    expect(await rowsOf(h.destination.pool, 'landing', table)).toEqual(await rowsOf(h.source.pool, 'public', table));
  }, 30_000);

  it('a role that sees every session (here a superuser) settles on the oldest open transaction', async () => {
    const table = await createTable();
    const first = await h.queueRow({
      source_table_name: table,
      destination_table_name: table,
      load_strategy: 'append_only',
      incremental_column: 'wm',
      incremental_type: 'timestamp',
    });
    await insertNow(h.source.pool, table, 1, 'x');
    const message = await load(first.config_id, first);
    expect(message).toMatch(/settled: no open source transaction older than the rows loaded|watermark held back to/);
    expect(message).not.toContain('pg_read_all_stats');
  });
});
