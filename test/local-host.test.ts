/**
 * The local host end to end: started on a test control database, configured
 * only through its HTTP API, it loads a table through the sensor, the local
 * queue and the loader; stopping it leaves nothing running or In Progress.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../host/local-host.js';
import { createLogger } from '../shared/log.js';
import { parseSettings } from '../shared/settings.js';
import { createTestDatabase } from './support/db.js';

const control = await createTestDatabase({ prefix: 'host' });
const source = await createTestDatabase({ empty: true, prefix: 'src' });
const destination = await createTestDatabase({ empty: true, prefix: 'dst' });

const lines: string[] = [];
const sourceUrl = new URL(source.url);
// Secret names resolve from the environment when a scope has no vault.
Object.assign(process.env, {
  HOSTTEST_SRC_HOST: sourceUrl.hostname,
  HOSTTEST_SRC_PORT: sourceUrl.port,
  HOSTTEST_SRC_DATABASE: source.name,
  HOSTTEST_SRC_USER: decodeURIComponent(sourceUrl.username),
  HOSTTEST_SRC_PASSWORD: decodeURIComponent(sourceUrl.password),
  HOSTTEST_DST_DATABASE: destination.name,
});

await source.pool.query(`
  CREATE SCHEMA sales;
  CREATE TABLE sales.orders (order_id int PRIMARY KEY, amount numeric(10,2) NOT NULL, updated_at timestamp(6) NOT NULL);
  INSERT INTO sales.orders SELECT g, g * 1.5, TIMESTAMP '2026-01-01 00:00:00.123456' + make_interval(mins => g) FROM generate_series(1, 250) g;`);

let host: LocalHost | undefined;
afterAll(async () => {
  await host?.stop();
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field below
type Json = any;

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${host!.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json' },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: res.status, body: await res.json() };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 40_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; host log:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('local host', () => {
  it('loads a table configured through the API, then stops cleanly', async () => {
    const settings = parseSettings({
      DATABASE_URL: `${control.url}?sslmode=disable`,
      SENSOR_SCHEDULE: '* * * * * *',
      REAPER_SCHEDULE: '*/5 * * * * *',
      DEV_PRINCIPAL: 'host-test',
      ALLOW_DEV_PRINCIPAL: 'true',
      DESTINATION_DB_CONFIG_KEY: 'warehouse',
    });
    host = await startLocalHost({ settings, port: 0, log: createLogger('info', (l) => lines.push(l)) });

    const names = (prefix: string) => ({
      host: `hosttest-src-host`, port: 'hosttest-src-port', database: `hosttest-${prefix}-database`,
      user: 'hosttest-src-user', password: 'hosttest-src-password', sslmode: 'disable',
    });
    expect((await api('/connections/sales_pg', { method: 'PUT', body: { db_type: 'postgresql', db_kv_scope: 'local', db_config_value: names('src') } })).status).toBeLessThan(300);
    expect((await api('/connections/warehouse', { method: 'PUT', body: { db_type: 'postgresql', db_kv_scope: 'local', default_target_schema: 'landing', db_config_value: names('dst') } })).status).toBeLessThan(300);

    const created = await api('/tables', {
      method: 'POST',
      body: {
        is_active: true, db_config_key: 'sales_pg',
        source_table_catalog: source.name, source_table_schema: 'sales', source_table_name: 'orders',
        destination_table_name: 'orders', load_strategy: 'incremental', load_cron: '* * * * *',
        incremental_column: 'updated_at', incremental_type: 'timestamp', primary_key_cols: 'order_id',
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.config_id as number;
    expect((await api(`/tables/${id}/run-now`, { method: 'POST' })).status).toBeLessThan(300);

    const row = await waitFor('the load to succeed', async () => {
      const { body } = await api(`/tables/${id}`);
      return body.last_status === 'Succeeded' ? body : body.last_status === 'Failed' ? Promise.reject(new Error(body.last_status_message)) : undefined;
    });
    expect(row.incremental_value).toBe('2026-01-01 04:10:00.123456');

    const { rows } = await destination.pool.query('SELECT count(*)::int AS n, sum(amount)::text AS total FROM landing.orders');
    expect(rows[0]).toEqual({ n: 250, total: '47062.50' });

    const runs = await api(`/tables/${id}/runs`);
    expect(runs.status).toBe(200);
    const history = (runs.body.items ?? runs.body) as { load_status: string; rows_processed: number }[];
    expect(history[0]).toMatchObject({ load_status: 'Succeeded', rows_processed: 250 });
    const counts = await api('/views/status-counts');
    expect(JSON.stringify(counts.body)).toContain('Succeeded');

    // One plain line per event.
    expect(lines.some((l) => l.includes('load started'))).toBe(true);

    await host.stop();
    host = undefined;
    const left = await control.pool.query(`SELECT count(*)::int AS n FROM control.table_control WHERE last_status IN ('Queued', 'In Progress')`);
    expect(left.rows[0].n).toBe(0);
    // The host's pool is closed: only this test's own connection remains on the control database.
    const clients = await control.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    expect(clients.rows[0].n).toBeLessThanOrEqual(control.pool.totalCount);
  });
});

