/**
 * Guarantee 8: no secret value is ever logged or returned. A representative
 * run of the whole local host (admin API over HTTP, sensor, loader, reaper) on
 * a control database reached with a password in its URL, with connections
 * whose secrets resolve from the environment: loads that succeed, a load
 * failing on a wrong password, every read endpoint, bad settings and an
 * unreachable control database. Every log line (the product's logger and the
 * console) and every response body is scanned for every secret value.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../host/local-host.js';
import { apiRoutes } from '../functions/http/routes.js';
import { encodePrincipal } from '../shared/api/principal.js';
import { envVariableFor } from '../shared/secrets/env.js';
import { createRuntime, setRuntime } from '../shared/runtime.js';
import { parseSettings, SettingsError } from '../shared/settings.js';
import { call, ADMIN } from './support/api.js';
import { createTestDatabase, serverUrl, type TestDatabase } from './support/db.js';
import { captureLogs, leaks, type LogCapture } from './support/log-capture.js';

const tag = randomBytes(4).toString('hex');
const ROLE = `sec_${tag}`;
/** The role's password: in the control URL and in the connections' password secrets. */
const PASSWORD = `S3cr3t_${tag}_pw`;
/** A wrong password a connection resolves (the load fails on it). */
const WRONG_PASSWORD = `Wr0ng_${tag}_pw`;
/** A client secret in the settings (unused with password auth, present all the same). */
const CLIENT_SECRET = `dbx_${tag}_clientsecret`;
const SECRETS = [PASSWORD, WRONG_PASSWORD, CLIENT_SECRET];

let control: TestDatabase;
let source: TestDatabase;
let destination: TestDatabase;
let host: LocalHost;
let capture: LogCapture;
const responses: string[] = [];
const records: string[] = [];

/** A URL of the test server for `database`, as the role with `password`. */
function urlAs(database: string, password: string): string {
  const url = new URL(serverUrl());
  url.username = ROLE;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl() });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Puts a connection's secret values in the environment; returns the secret names. */
function exportSecrets(key: string, db: TestDatabase, password: string): Record<string, string> {
  const server = new URL(serverUrl());
  const values: Record<string, string> = { host: server.hostname, port: server.port, database: db.name, user: ROLE, password };
  const names: Record<string, string> = {};
  for (const [field, value] of Object.entries(values)) {
    names[field] = `${key}-${field}`;
    process.env[envVariableFor(names[field])] = value;
  }
  return names;
}

async function http(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const res = await fetch(`${host.apiUrl}${path}`, {
    method,
    headers: { 'x-ms-client-principal': encodePrincipal(ADMIN.name, ADMIN.roles), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  responses.push(text);
  return { status: res.status, text };
}

async function waitForRuns(configIds: number[], timeoutMs = 45_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await control.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM control.table_control t
        WHERE t.config_id = ANY($1::bigint[]) AND t.last_status IN ('Succeeded', 'Failed')
          AND EXISTS (SELECT 1 FROM control.historical_metadata h WHERE h.control_key = t.control_key)`,
      [configIds],
    );
    if (rows[0]!.n === configIds.length) return;
    if (Date.now() > deadline) throw new Error(`runs of ${configIds.join(', ')} did not finish in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  [control, source, destination] = await Promise.all([
    createTestDatabase(),
    createTestDatabase({ empty: true, prefix: 'src' }),
    createTestDatabase({ empty: true, prefix: 'dst' }),
  ]);
  await admin(`CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  await source.pool.query(`
    CREATE TABLE public.customers (id integer PRIMARY KEY, name text, updated_at timestamp(6) NOT NULL DEFAULT clock_timestamp());
    INSERT INTO public.customers (id, name) SELECT g, 'c' || g FROM generate_series(1, 100) g;`);
  capture = captureLogs('debug');
  const settings = parseSettings({
    SECRETS_FROM_ENVIRONMENT: 'true',
    DATABASE_URL: urlAs(control.name, PASSWORD),
    CONTROL_DB_SSL: 'disable',
    DATABRICKS_CLIENT_SECRET: CLIENT_SECRET,
    DESTINATION_DB_CONFIG_KEY: 'dest',
    SENSOR_SCHEDULE: '* * * * * *',
    LOG_LEVEL: 'debug',
  });
  host = await startLocalHost({ settings, log: capture.logger, port: 0, demo: false });
}, 120_000);

afterAll(async () => {
  await host?.stop();
  capture?.restore();
  setRuntime(undefined);
  // The databases it owns objects in are dropped after this file; a role left behind on a throwaway server is harmless.
  await admin(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
});

describe('a representative run', () => {
  let ids: number[] = [];

  it('creates connections and tables over HTTP, loads, and fails a load on a wrong password', async () => {
    const put = (key: string, db: TestDatabase, password: string) =>
      http('PUT', `/connections/${key}`, { db_type: 'postgresql', db_kv_scope: 'local-env', db_config_value: { ...exportSecrets(key, db, password), sslmode: 'disable' }, default_target_schema: 'landing' });
    expect((await put('dest', destination, PASSWORD)).status).toBe(201);
    expect((await put('crm', source, PASSWORD)).status).toBe(201);
    expect((await put('crm-badpw', source, WRONG_PASSWORD)).status).toBe(201);

    const table = async (fields: Record<string, unknown>) => {
      const res = await http('POST', '/tables', {
        source_table_catalog: 'crm', source_table_schema: 'public', source_table_name: 'customers',
        is_active: true, load_cron: '0 0 1 1 *', ...fields,
      });
      expect(res.status, res.text).toBe(201);
      const id = (JSON.parse(res.text) as { config_id: number }).config_id;
      expect((await http('POST', `/tables/${id}/run-now`)).status).toBe(200);
      return id;
    };
    ids = [
      await table({ db_config_key: 'crm', destination_table_name: 'customers_full', load_strategy: 'full' }),
      await table({
        db_config_key: 'crm', source_table_catalog: 'crm2', destination_table_name: 'customers_inc', load_strategy: 'incremental',
        incremental_column: 'updated_at', incremental_type: 'timestamp', primary_key_cols: 'id',
      }),
      await table({ db_config_key: 'crm-badpw', source_table_catalog: 'crm3', destination_table_name: 'customers_bad', load_strategy: 'full' }),
    ];
    await waitForRuns(ids);
    const { rows } = await control.pool.query(`SELECT config_id, last_status, last_status_message FROM control.table_control WHERE config_id = ANY($1) ORDER BY config_id`, [ids]);
    expect(rows.map((r) => r.last_status)).toEqual(['Succeeded', 'Succeeded', 'Failed']);
    expect(rows[2].last_status_message).toMatch(/password authentication failed/);
  }, 90_000);

  it('every read endpoint answers without a secret', async () => {
    const { rows } = await control.pool.query(`SELECT encode(control_key, 'hex') AS key FROM control.table_control WHERE config_id = $1`, [ids[0]]);
    expect(rows).toHaveLength(1);
    let read = 0;
    for (const route of apiRoutes) {
      if (!route.methods.includes('GET')) continue;
      const path = `/${route.route.replace(/\{id(:int)?\}/, String(ids[2])).replace('{key}', 'crm-badpw')}`;
      let res = await http('GET', path);
      if (res.status === 400) {
        // A view that needs query parameters: give each one it names a value that matches the run above.
        const fields = (JSON.parse(res.text) as { errors: { field: string }[] }).errors.map((e) => e.field);
        res = await http('GET', `${path}?${fields.map((f) => `${encodeURIComponent(f)}=customers`).join('&')}`);
      }
      expect(res.status, `${path}: ${res.text}`).toBe(200);
      read++;
    }
    expect(read).toBeGreaterThan(5);
    // The connection shows the names of its secrets, not their values.
    expect(responses.join('\n')).toContain('crm-badpw-password');
  });

  it('bad settings name the setting, not its value', () => {
    const bad = [
      { DATABASE_URL: `mysql://${ROLE}:${PASSWORD}@db.example.com/dataloader` },
      { DATABASE_URL: `postgresql://${ROLE}:${PASSWORD}@db.example.com/dataloader`, CONTROL_DB_AUTH: 'kerberos' },
      { KEYVAULT_URLS: `{"azure-keyvault": "${PASSWORD}"}` },
      { KEYVAULT_URLS: `{not json ${PASSWORD}` },
      { CONTROL_DB_AUTH: 'databricks', DATABRICKS_CLIENT_SECRET: CLIENT_SECRET },
      { DATABRICKS_HOST: CLIENT_SECRET },
    ];
    for (const env of bad) {
      let error: unknown;
      try {
        parseSettings(env);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SettingsError);
      records.push((error as Error).message);
    }
  });

  it('a control database refusing the password: a 5xx with a correlation id, the log names no password', async () => {
    const settings = parseSettings({ DATABASE_URL: urlAs(control.name, WRONG_PASSWORD), CONTROL_DB_SSL: 'disable' });
    const runtime = createRuntime({ settings, log: capture.logger });
    setRuntime(runtime);
    try {
      const res = await call('GET', '/api/tables');
      responses.push(JSON.stringify(res.body));
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.body.correlation_id).toBeTruthy();
    } finally {
      setRuntime(host.runtime);
      await runtime.close();
    }
    expect(capture.lines.join('\n')).toMatch(/password authentication failed/);
  });
});

describe('the scan', () => {
  it('finds no secret in any log line, response, status message, run or audit row', async () => {
    const { rows } = await control.pool.query<{ text: string }>(`
      SELECT last_status_message AS text FROM control.table_control WHERE last_status_message IS NOT NULL
      UNION ALL SELECT log_message FROM control.historical_metadata WHERE log_message IS NOT NULL
      UNION ALL SELECT coalesce(old_values::text, '') || coalesce(new_values::text, '') FROM control.table_control_history
      UNION ALL SELECT coalesce(old_values::text, '') || coalesce(new_values::text, '') FROM control.table_control_dbconfig_history
      UNION ALL SELECT db_config_value::text FROM control.table_control_dbconfig`);
    // The scan must have something to scan: loads logged, both outcomes recorded.
    const logs = capture.lines.join('\n');
    expect(logs).toMatch(/load succeeded/);
    expect(logs).toMatch(/load failed/);
    expect(responses.length).toBeGreaterThan(10);
    expect(leaks(SECRETS, { log: capture.lines, response: responses, 'settings error': records, 'control database': rows.map((r) => r.text) })).toEqual([]);
    // And the scan does find a secret where there is one.
    expect(leaks(SECRETS, { probe: [`password=${encodeURIComponent(PASSWORD)}`] })).toHaveLength(1);
  });
});
