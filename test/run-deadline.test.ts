/**
 * Every run is bounded: a load whose source query hangs is Failed at its
 * deadline (IN_PROGRESS_TIMEOUT_MINUTES from its start, here 3 s), with a
 * history row saying it timed out and after how long, and its source query is
 * cancelled with the engine's own means (gone from the source).
 */
import { randomBytes } from 'node:crypto';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVariableFor } from '../shared/secrets/env.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

const DEADLINE = { IN_PROGRESS_TIMEOUT_MINUTES: '0.05', HEARTBEAT_INTERVAL_SECONDS: '1' };

async function expectTimedOut(h: LoaderHarness, configId: number, startedAt: number) {
  const elapsed = Date.now() - startedAt;
  // At the deadline (3 s), not at the query's end (minutes).
  expect(elapsed).toBeGreaterThanOrEqual(2_500);
  expect(elapsed).toBeLessThan(15_000);
  const row = await h.row(configId);
  expect(row.last_status).toBe('Failed');
  expect(row.last_status_message).toMatch(/^Timed out after \d+ s: the run reached its deadline of 0\.05 minutes from its start \(IN_PROGRESS_TIMEOUT_MINUTES\); its source and destination statements were cancelled/);
  expect(row.lease_owner).toBeNull();
  const history = await h.history(configId);
  expect(history.map((r) => r.load_status)).toEqual(['Failed']);
  expect(history[0]!.log_message).toBe(row.last_status_message);
}

describe('a hung PostgreSQL source query', () => {
  let h: LoaderHarness;
  beforeAll(async () => {
    h = await createLoaderHarness(DEADLINE);
  });

  it('is cancelled at the deadline and the run Failed, saying it timed out and after how long', async () => {
    const message = await h.queueRow({
      source_table_name: 'slow',
      query: 'SELECT pg_sleep(120)::text AS slept',
      destination_table_name: 'slow',
      load_strategy: 'full',
    });
    const started = Date.now();
    expect(await h.deliver(message, { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })).toEqual({ kind: 'complete' });
    await expectTimedOut(h, message.config_id, started);
    const { rows } = await h.source.pool.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(120)%' AND pid <> pg_backend_pid()`,
    );
    expect(rows[0].n).toBe(0);
  });
});

const liveUrl = process.env.CLICKHOUSE_TEST_URL;

describe.skipIf(!liveUrl)('a hung ClickHouse source query', () => {
  const database = `dl_deadline_${randomBytes(4).toString('hex')}`;
  const key = `ch-${randomBytes(3).toString('hex')}`;
  const url = new URL(liveUrl ?? 'http://localhost');
  let admin: ClickHouseClient;
  let h: LoaderHarness;
  const marker = `deadline_${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    const user = decodeURIComponent(url.username) || 'default';
    const password = decodeURIComponent(url.password);
    admin = createClient({ url: url.origin, username: user, password, log: { level: 127 as never } });
    await admin.command({ query: `CREATE DATABASE ${database}` });
    h = await createLoaderHarness(DEADLINE);
    const connection: Record<string, string> = { host: url.hostname, port: url.port || '8123', user, password, database };
    const names: Record<string, string> = { sslmode: 'disable' };
    for (const [field, value] of Object.entries(connection)) {
      names[field] = `${key}-${field}`;
      process.env[envVariableFor(names[field])] = value;
    }
    await h.control.pool.query(
      `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope) VALUES ($1, $2, 'clickhouse', 'local-env')`,
      [key, JSON.stringify(names)],
    );
  });

  afterAll(async () => {
    await admin?.command({ query: `DROP DATABASE IF EXISTS ${database}` }).catch(() => undefined);
    await admin?.close();
  });

  it('is killed at the deadline (KILL QUERY) and the run Failed', async () => {
    // Scans numbers for hours and returns nothing meanwhile.
    const message = await h.queueRow({
      db_config_key: key,
      source_table_name: marker,
      query: `SELECT number AS ${marker} FROM system.numbers WHERE number = 18446744073709551615`,
      destination_table_name: marker,
      load_strategy: 'full',
    });
    const started = Date.now();
    expect(await h.deliver(message, { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })).toEqual({ kind: 'complete' });
    await expectTimedOut(h, message.config_id, started);
    let running = 1;
    for (let i = 0; i < 20 && running > 0; i++) {
      const result = await admin.query({
        query: `SELECT count() AS n FROM system.processes WHERE query LIKE '%${marker} FROM system.numbers%' AND query NOT LIKE '%system.processes%'`,
        format: 'JSONEachRow',
      });
      running = Number(((await result.json()) as { n: string }[])[0]!.n);
      if (running > 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(running).toBe(0);
  });
});
