/**
 * Every endpoint refuses a caller without the role it needs, changing nothing:
 * no principal is 401, a principal without the role is 403. The routes come
 * from the route table, so an endpoint added later is covered without editing
 * this file. A development principal configured but not allowed is no principal.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { apiRoutes } from '../functions/http/routes.js';
import { ADMIN, call, insertConnection, PROMOTER, READER, setUpApi, snapshot, type ApiTestContext } from './support/api.js';

let api: ApiTestContext;
let tableId: number;

const TABLE = {
  db_config_key: 'sales_pg',
  source_table_catalog: 'sales',
  source_table_schema: 'dbo',
  source_table_name: 'orders',
  destination_table_name: 'orders',
  load_strategy: 'full',
};

beforeAll(async () => {
  // DEV_PRINCIPAL without ALLOW_DEV_PRINCIPAL: a request without a principal must still be refused.
  api = await setUpApi({ DEV_PRINCIPAL: 'dev@local' });
  await insertConnection(api.db, 'sales_pg');
  const created = await call('POST', '/api/tables', { body: TABLE });
  expect(created.status).toBe(201);
  tableId = created.body.config_id;
});

/** A concrete path of a route template: an existing table and connection. */
const pathOf = (route: string) => `/api/${route.replace(/\{id(:int)?\}/g, String(tableId)).replace(/\{key\}/g, 'sales_pg')}`;

/** Every (route, method) pair of the route table. */
const endpoints = apiRoutes.flatMap((route) => route.methods.map((method) => ({ name: route.name, route: route.route, method, access: route.access })));
const writes = endpoints.filter((e) => e.method !== 'GET');
const guarded = endpoints.filter((e) => e.access !== 'public');

const NOBODY = { name: 'nobody@example.com', roles: [] as string[] };
const OTHER = { name: 'other@example.com', roles: ['Some.Other.Role'] };

describe('the route table', () => {
  it('has write endpoints, and every one of them needs the admin or promoter role', () => {
    expect(writes.length).toBeGreaterThan(5);
    for (const e of writes) expect(['admin', 'promoter'], `${e.method} ${e.route}`).toContain(e.access);
  });

  it('public endpoints only read', () => {
    expect(endpoints.filter((e) => e.access === 'public').every((e) => e.method === 'GET')).toBe(true);
  });
});

describe('callers without the role', () => {
  it.each(guarded.map((e) => [`${e.method} ${e.route}`, e] as const))('%s: no principal is 401, nothing changes', async (_label, e) => {
    const before = await snapshot(api.db);
    const res = await call(e.method, pathOf(e.route), { as: null, ...(e.method === 'GET' ? {} : { body: TABLE }) });
    expect(res.status, JSON.stringify(res.body)).toBe(401);
    expect(await snapshot(api.db)).toEqual(before);
  });

  it.each(writes.map((e) => [`${e.method} ${e.route}`, e] as const))('%s: a reader, no role or another role is 403, nothing changes', async (_label, e) => {
    const before = await snapshot(api.db);
    const wrong = [READER, NOBODY, OTHER, ...(e.access === 'promoter' ? [ADMIN] : [PROMOTER])];
    for (const as of wrong) {
      const res = await call(e.method, pathOf(e.route), { as, body: TABLE, headers: { 'if-match': '*' } });
      expect(res.status, `${as.name}: ${JSON.stringify(res.body)}`).toBe(403);
      expect(res.body.errors[0].message).toMatch(/requires the role/);
    }
    expect(await snapshot(api.db)).toEqual(before);
  });

  it.each(guarded.filter((e) => e.method === 'GET').map((e) => [`${e.method} ${e.route}`, e] as const))('%s: no role or another role is 403', async (_label, e) => {
    for (const as of [NOBODY, OTHER]) expect((await call('GET', pathOf(e.route), { as })).status).toBe(403);
  });
});
