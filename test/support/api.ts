/**
 * Calls the admin API's HTTP functions the way the Functions host does: a real
 * HttpRequest routed by the route table, a real InvocationContext, a runtime
 * on the test file's own database.
 */
import { randomUUID } from 'node:crypto';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll } from 'vitest';
import { encodePrincipal } from '../../shared/api/principal.js';
import { compileRoute } from '../../host/http-server.js';
import { createLogger } from '../../shared/log.js';
import { createRuntime, setRuntime, type Runtime } from '../../shared/runtime.js';
import { parseSettings } from '../../shared/settings.js';
import { apiRoutes } from '../../functions/http/routes.js';
import { createTestDatabase, type TestDatabase } from './db.js';

export const ADMIN = { name: 'ana@example.com', roles: ['DataLoader.Admin'] };
export const READER = { name: 'rui@example.com', roles: ['DataLoader.Reader'] };
export const PROMOTER = { name: 'pia@example.com', roles: ['DataLoader.Promoter'] };

export interface CallOptions {
  body?: unknown;
  /** A raw body, sent as is. */
  raw?: string;
  headers?: Record<string, string>;
  /** The caller; null sends no principal. Default ADMIN. */
  as?: { name: string; roles: string[] } | null;
}

export interface CallResult {
  status: number;
  // Tests read whatever the endpoint returns.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

const compiled = apiRoutes.map((route) => compileRoute({ ...route, methods: route.methods }));

/** Invokes the route matching `method` and `path` (e.g. `/api/tables/1?x=y`). */
export async function call(method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const url = new URL(path, 'http://localhost');
  // Routed on the path as sent: URL would resolve `.` and `..` segments away.
  const routePath = path.split('?')[0]!.replace(/^\/api/, '');
  for (const route of compiled) {
    const match = route.pattern.exec(routePath);
    if (!match || !route.methods.includes(method)) continue;
    const params: Record<string, string> = {};
    route.paramNames.forEach((name, i) => {
      if (match[i + 1] !== undefined) params[name] = decodeURIComponent(match[i + 1]!);
    });
    const headers: Record<string, string> = { ...options.headers };
    const as = options.as === undefined ? ADMIN : options.as;
    if (as) headers['x-ms-client-principal'] = encodePrincipal(as.name, as.roles);
    const raw = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    if (raw !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    const request = new HttpRequest({ method, url: url.toString(), headers, params, ...(raw !== undefined ? { body: { string: raw } } : {}) });
    const context = new InvocationContext({ invocationId: randomUUID(), functionName: route.name });
    const response = await route.handler(request, context);
    return {
      status: response.status ?? 200,
      body: response.jsonBody,
      headers: new Headers(response.headers as ConstructorParameters<typeof Headers>[0]),
    };
  }
  throw new Error(`no route for ${method} ${path}`);
}

export interface ApiTestContext {
  db: TestDatabase;
  runtime: Runtime;
  /** What the runtime logged (warnings and errors). */
  logs: string[];
}

/** A database and a runtime on it, installed as the process's runtime for the file's tests. */
export async function setUpApi(env: Record<string, string> = {}): Promise<ApiTestContext> {
  const db = await createTestDatabase();
  const settings = parseSettings({ DATABASE_URL: db.url, CONTROL_DB_SSL: 'disable', ...env });
  const lines: string[] = [];
  const runtime = createRuntime({ settings, log: createLogger('warn', (line) => lines.push(line)) });
  setRuntime(runtime);
  afterAll(async () => {
    setRuntime(undefined);
    await runtime.close();
  });
  return { db, runtime, logs: lines };
}

/** Inserts a connection with plain SQL. */
export async function insertConnection(db: TestDatabase, key: string, dbType = 'postgresql'): Promise<void> {
  await db.pool.query(
    `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type)
     VALUES ($1, '{"host":"pg-host","port":"pg-port","database":"pg-db","user":"pg-user","password":"pg-password"}', $2)`,
    [key, dbType],
  );
}

/** Every row of the config tables, for before/after comparisons. */
export async function snapshot(db: TestDatabase): Promise<unknown> {
  const { rows } = await db.pool.query(`SELECT
      (SELECT coalesce(jsonb_agg(t ORDER BY config_id), '[]') FROM control.table_control t) AS tables,
      (SELECT coalesce(jsonb_agg(c ORDER BY db_config_key), '[]') FROM control.table_control_dbconfig c) AS connections,
      (SELECT count(*) FROM control.table_control_history) AS history,
      (SELECT count(*) FROM control.table_control_dbconfig_history) AS connection_history`);
  return rows[0];
}
