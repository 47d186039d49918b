/**
 * A seeded fuzzer driven by the API's own OpenAPI document, over real HTTP on
 * the local host: for every operation it sends bad requests (wrong types,
 * unknown and missing fields, huge strings, NUL and lone surrogates, SQL and
 * path traversal in keys, bad versions, bad content types, bad escapes,
 * callers without a principal or role) and checks that each answer is a 4xx in
 * the documented shape `{errors: [{field, message}], correlation_id}`, that no
 * answer carries a secret, and that the control database (a fingerprint of
 * every table) is exactly as before. Bounded in requests and in time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer, type LocalHttpServer } from '../host/http-server.js';
import { apiRoutes } from '../functions/http/routes.js';
import { encodePrincipal } from '../shared/api/principal.js';
import { silentLogger } from '../shared/log.js';
import { ADMIN, READER, call, insertConnection, setUpApi, type ApiTestContext } from './support/api.js';

const SEED = 20261128;
const TIME_BUDGET_MS = 20_000;
const SECRET = 'fuzz-secret-Zq81vX';

let api: ApiTestContext;
let server: LocalHttpServer;
let existingId: number;

/** mulberry32: a small seeded generator, so a failure replays exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function fingerprint(): Promise<Record<string, string>> {
  const { rows: tables } = await api.db.pool.query<{ name: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    const { rows } = await api.db.pool.query<{ sum: string }>(`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum FROM ${name} t`);
    out[name] = rows[0]!.sum;
  }
  return out;
}

beforeAll(async () => {
  api = await setUpApi({ DATABRICKS_CLIENT_SECRET: SECRET });
  await insertConnection(api.db, 'sales_pg');
  const created = await call('POST', '/api/tables', {
    body: {
      db_config_key: 'sales_pg', source_table_catalog: 'sales', source_table_schema: 'dbo', source_table_name: 'orders',
      destination_table_name: 'orders', load_strategy: 'full', load_cron: '0 * * * *',
    },
  });
  existingId = created.body.config_id;
  server = await startHttpServer(apiRoutes, 0, silentLogger);
});
afterAll(() => server?.close());

type Json = Record<string, unknown> & { type?: string | string[]; properties?: Record<string, Json>; required?: string[]; $ref?: string };

interface Probe {
  label: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

const WRONG: Record<string, unknown[]> = {
  string: [12345, true, ['x'], { a: 1 }],
  integer: ['7', 1.5, -1, true],
  number: ['7', false, {}],
  boolean: ['yes', 1, null],
  object: ['x', 3, [1]],
  array: ['x', { a: 1 }, 3],
};
const HOSTILE_STRINGS = ['x'.repeat(300_000), 'a\u0000b', 'lone \ud800 half', "x' OR '1'='1", '../../etc/passwd', '; DROP TABLE control.table_control; --'];
const HOSTILE_KEYS = ["x'%20OR%20'1'='1", '..%2F..%2Fetc%2Fpasswd', '%zz', '%C0%AE%C0%AE', 'a%00b', '%ED%A0%80', 'x'.repeat(300)];
const BAD_VERSIONS = ['"garbage"', 'W/"garbage"', 'garbage', '"2026-02-30T00:00:00Z"', '"0000-01-01T00:00:00Z"'];
const BAD_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'];

function typeOf(schema: Json | undefined): string {
  const t = schema?.type;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') ?? 'string';
  return t ?? 'string';
}

function probesFor(doc: { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } }, rand: () => number): Probe[] {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const resolve = (s: Json | undefined): Json | undefined => (s?.$ref ? doc.components.schemas[s.$ref.split('/').pop()!] : s);
  const admin = { 'x-ms-client-principal': encodePrincipal(ADMIN.name, ADMIN.roles), 'content-type': 'application/json' };
  const probes: Probe[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const m = method.toUpperCase();
      const access = op['x-required-access'] as string;
      const path = `/api${template.replace('{id}', String(existingId)).replace('{key}', 'sales_pg')}`;
      const add = (label: string, p: Partial<Probe>) => probes.push({ label: `${m} ${template}: ${label}`, method: m, path, headers: { ...admin }, ...p });
      const write = m !== 'GET';
      const bodySchema = resolve((op.requestBody as { content?: Record<string, { schema: Json }> } | undefined)?.content?.['application/json']?.schema);
      if (access !== 'public') {
        add('no principal', { headers: { 'content-type': 'application/json' }, ...(write ? { body: '{}' } : {}) });
        if (access !== 'reader') add('a reader', { headers: { ...admin, 'x-ms-client-principal': encodePrincipal(READER.name, READER.roles) }, ...(write ? { body: '{}' } : {}) });
        add('a principal that is not base64 JSON', { headers: { ...admin, 'x-ms-client-principal': '%%%' } });
      }
      if (template.includes('{id}')) {
        for (const bad of ['0', '-1', '99999999999999999999', '1%20OR%201=1', '%zz']) add(`id ${bad}`, { path: `/api${template.replace('{id}', bad).replace('{key}', 'sales_pg')}` });
      }
      if (template.includes('{key}')) {
        for (const bad of HOSTILE_KEYS) add(`key ${bad.slice(0, 30)}`, { path: `/api${template.replace('{key}', bad).replace('{id}', String(existingId))}`, ...(write ? { body: '{}' } : {}) });
      }
      add('an unknown query parameter', { path: `${path}?sneaky=1` });
      add('a query parameter with a bad escape', { path: `${path}?limit=%zz` });
      if ((op.parameters as { name: string }[] | undefined)?.some((p) => p.name === 'If-Match')) {
        for (const v of BAD_VERSIONS) add(`If-Match ${v}`, { headers: { ...admin, 'if-match': v }, body: '{"db_type": 1}' });
      }
      if (write && access !== 'public') {
        for (const type of BAD_TYPES) add(`Content-Type ${type}`, { headers: { ...admin, 'content-type': type }, body: '{}' });
        add('no Content-Type with a body', { headers: { 'x-ms-client-principal': admin['x-ms-client-principal'] }, body: '{}' });
        add('a body that is not JSON', { body: '{"a": ' });
        add('a body that is an array', { body: '[1]' });
        add('an unknown field', { body: JSON.stringify({ __proto_field: 1 }) });
      }
      if (!bodySchema) {
        if (write) add('a body where none is taken', { body: '{"a": 1}' });
        continue;
      }
      const properties = bodySchema.properties ?? {};
      if ((bodySchema.required ?? []).length > 0) add('every field missing', { body: '{}' });
      for (const [field, schema] of Object.entries(properties)) {
        const type = typeOf(resolve(schema));
        for (const wrong of WRONG[type] ?? WRONG.string!) add(`${field} as ${JSON.stringify(wrong)}`, { body: JSON.stringify({ [field]: wrong }) });
        if (type === 'string') add(`${field} hostile`, { body: JSON.stringify({ [field]: pick(HOSTILE_STRINGS) }) });
      }
    }
  }
  // Shuffled by the seed: the order of requests is part of what is tried.
  for (let i = probes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [probes[i], probes[j]] = [probes[j]!, probes[i]!];
  }
  return probes;
}

describe('fuzzing the API from its OpenAPI document', () => {
  it('answers every bad request with a 4xx in the documented shape, no secret, and the database unchanged', async () => {
    const docResponse = await fetch(`${server.url}/api/openapi.json`);
    expect(docResponse.status).toBe(200);
    const doc = (await docResponse.json()) as Parameters<typeof probesFor>[0];
    const operations = Object.values(doc.paths as Record<string, object>).reduce((n: number, m) => n + Object.keys(m).length, 0);
    expect(operations).toBeGreaterThanOrEqual(31);

    const before = await fingerprint();
    const probes = probesFor(doc, random(SEED));
    const deadline = Date.now() + TIME_BUDGET_MS;
    const failures: string[] = [];
    let sent = 0;
    for (const probe of probes) {
      if (Date.now() > deadline) break;
      const res = await fetch(`${server.url}${probe.path}`, { method: probe.method, headers: probe.headers, ...(probe.body !== undefined ? { body: probe.body } : {}) });
      const text = await res.text();
      sent++;
      const where = `${probe.label} -> ${res.status} ${text.slice(0, 200)}`;
      if (res.status < 400 || res.status >= 500) failures.push(where);
      else {
        let body: { errors?: { field?: unknown; message?: unknown }[]; correlation_id?: unknown } | undefined;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        const shaped =
          Array.isArray(body?.errors) &&
          body.errors.length > 0 &&
          body.errors.every((e) => typeof e.field === 'string' && typeof e.message === 'string' && e.message.length > 0) &&
          typeof body.correlation_id === 'string' &&
          res.headers.get('x-correlation-id') === body.correlation_id;
        if (!shaped) failures.push(`shape: ${where}`);
      }
      if (text.includes(SECRET) || text.includes(new URL(api.db.url).password || SECRET)) failures.push(`secret: ${probe.label}`);
    }
    if (process.env.FUZZ_VERBOSE) console.log(`fuzz: ${sent} of ${probes.length} requests sent`);
    expect(failures).toEqual([]);
    // Enough of the plan ran within the budget to mean something.
    expect(sent).toBeGreaterThan(Math.min(probes.length, 300));
    expect(await fingerprint()).toEqual(before);
  }, 60_000);
});
