/**
 * Requests that once answered 500 or were accepted against the rules: each is
 * now a 4xx in the one error shape, naming the field and the fix, and changes
 * nothing. Also the endpoints that make connections visible (history, PATCH)
 * and app-only callers.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, call, insertConnection, READER, setUpApi, snapshot, type ApiTestContext } from './support/api.js';

let api: ApiTestContext;
let row: { config_id: number; last_modified_at: string };

const VALID = {
  db_config_key: 'sales_pg',
  source_table_catalog: 'sales',
  source_table_schema: 'dbo',
  source_table_name: 'orders',
  destination_table_name: 'orders',
  load_strategy: 'full',
  load_cron: '0 * * * *',
};

beforeAll(async () => {
  api = await setUpApi();
  await insertConnection(api.db, 'sales_pg');
  const res = await call('POST', '/api/tables', { body: VALID });
  expect(res.status).toBe(201);
  row = res.body;
});

const principalHeader = (claims: { typ: string; val: string }[]) =>
  Buffer.from(JSON.stringify({ auth_typ: 'aad', claims })).toString('base64');

describe('bad versions', () => {
  it.each(['"garbage"', 'W/"garbage"', 'garbage', '"2026-02-30T00:00:00Z"', '"0000-01-01T00:00:00Z"', '""'])(
    'If-Match %s is a 400 naming If-Match, on tables and connections',
    async (ifMatch) => {
      const before = await snapshot(api.db);
      for (const [method, path, body] of [
        ['PATCH', `/api/tables/${row.config_id}`, { is_active: false }],
        ['PUT', `/api/tables/${row.config_id}`, VALID],
        ['DELETE', `/api/tables/${row.config_id}`, undefined],
        ['PATCH', '/api/connections/sales_pg', { default_target_schema: 'x' }],
      ] as const) {
        const res = await call(method, path, { body, headers: { 'if-match': ifMatch } });
        expect(res.status, `${method} ${path}`).toBe(400);
        expect(res.body.errors[0]).toMatchObject({ field: 'If-Match', message: expect.stringMatching(/ETag/) });
        expect(res.body.correlation_id).toEqual(expect.any(String));
      }
      expect(await snapshot(api.db)).toEqual(before);
    },
  );

  it('a last_modified_at in year 0 or on a day that does not exist is a 400', async () => {
    for (const version of ['0000-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-01-01T25:00:00Z']) {
      const res = await call('PATCH', `/api/tables/${row.config_id}`, { body: { is_active: false, last_modified_at: version } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ field: 'last_modified_at', message: expect.stringMatching(/^must be a version as the API returns it/) }]);
    }
  });
});

describe('content types', () => {
  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'])(
    'a JSON body sent as %s is a 415 and changes nothing',
    async (type) => {
      const before = await snapshot(api.db);
      const res = await call('POST', '/api/tables', { raw: JSON.stringify({ ...VALID, source_table_name: 'form' }), headers: { 'content-type': type } });
      expect(res.status).toBe(415);
      expect(res.body.errors[0]).toMatchObject({ field: 'Content-Type', message: expect.stringMatching(/application\/json/) });
      const empty = await call('POST', `/api/tables/${row.config_id}/toggle-active`, { headers: { 'content-type': type } });
      expect(empty.status).toBe(415);
      expect(await snapshot(api.db)).toEqual(before);
    },
  );

  it('a write without a body needs no Content-Type; application/json with a charset is accepted', async () => {
    const res = await call('POST', `/api/tables/${row.config_id}/reset-status`);
    expect(res.status).toBe(200);
    const patched = await call('PATCH', `/api/tables/${row.config_id}`, {
      raw: JSON.stringify({ load_cron: '5 * * * *', last_modified_at: res.body.last_modified_at }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(patched.status).toBe(200);
    row = patched.body;
  });
});

describe('partition bounds: the rule set the loader applies', () => {
  const chunked = (lower: string, upper: string) => ({
    ...VALID,
    source_table_name: `chunked_${lower}_${upper}`.replace(/[^A-Za-z0-9_]/g, '_'),
    load_strategy: 'chunked_backfill',
    partition_column: 'id',
    lower_bound: lower,
    upper_bound: upper,
    num_partitions: 4,
  });
  it.each([
    ['reversed dates', '2026-02-01', '2026-01-01'],
    ['equal numbers', '5', '5'],
    ['non-numbers', 'abc', 'xyz'],
    ['a number and a date', '1', '2026-01-01'],
    ['a day that does not exist', '2026-02-30', '2026-03-31'],
  ])('%s are refused with 400 naming the bound', async (_label, lower, upper) => {
    const res = await call('POST', '/api/tables', { body: chunked(lower, upper) });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: expect.stringMatching(/^(lower|upper)_bound$/), message: expect.stringMatching(/: (set|swap|use)/) }]);
  });

  it('bounds the loader can split are accepted', async () => {
    expect((await call('POST', '/api/tables', { body: chunked('2026-01-01', '2026-02-01') })).status).toBe(201);
    expect((await call('POST', '/api/tables', { body: chunked('1', '1000') })).status).toBe(201);
  });
});

describe('who is calling', () => {
  it('a principal whose name has a NUL is a 401, not a 500', async () => {
    const header = principalHeader([{ typ: 'name', val: 'ana\u0000@example.com' }, { typ: 'roles', val: 'DataLoader.Admin' }]);
    const res = await call('POST', `/api/tables/${row.config_id}/toggle-active`, { as: null, headers: { 'x-ms-client-principal': header } });
    expect(res.status).toBe(401);
    expect(res.body.errors[0].message).toMatch(/control characters/);
  });

  it('an app-only caller (no user name) is accepted and named by its app id in the audit', async () => {
    const header = principalHeader([
      { typ: 'appid', val: '11111111-2222-3333-4444-555555555555' },
      { typ: 'http://schemas.microsoft.com/identity/claims/objectidentifier', val: 'oid-1' },
      { typ: 'roles', val: 'DataLoader.Admin' },
    ]);
    const res = await call('POST', `/api/tables/${row.config_id}/toggle-active`, { as: null, headers: { 'x-ms-client-principal': header } });
    expect(res.status).toBe(200);
    expect(res.body.last_modified_user).toBe('app:11111111-2222-3333-4444-555555555555');
    const history = await call('GET', `/api/tables/${row.config_id}/history?limit=1`, { as: READER });
    expect(history.body[0]).toMatchObject({ changed_by: 'app:11111111-2222-3333-4444-555555555555', change_source: 'toggle_active' });
    const objectOnly = principalHeader([{ typ: 'oid', val: 'oid-2' }, { typ: 'roles', val: 'DataLoader.Reader' }]);
    expect((await call('GET', '/api/tables', { as: null, headers: { 'x-ms-client-principal': objectOnly } })).status).toBe(200);
  });
});

describe('messages and history', () => {
  it('names the field and the fix in words', async () => {
    const res = await call('POST', '/api/tables', { body: { ...VALID, source_table_name: 'w', rolling_days: 0, is_active: 'yes', num_partitions: 1.5 } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { field: 'rolling_days', message: 'must be more than 0' },
        { field: 'is_active', message: 'must be a boolean, not a string' },
        { field: 'num_partitions', message: 'must be a whole number, not a number' },
      ]),
    );
  });

  it('/tables/{id}/history is 404 for an id that never existed, and kept for a deleted table', async () => {
    const missing = await call('GET', '/api/tables/987654/history');
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].message).toMatch(/not found/);
    const created = await call('POST', '/api/tables', { body: { ...VALID, source_table_name: 'gone' } });
    expect((await call('DELETE', `/api/tables/${created.body.config_id}`)).status).toBe(204);
    const kept = await call('GET', `/api/tables/${created.body.config_id}/history`);
    expect(kept.status).toBe(200);
    expect(kept.body.map((h: { change_type: string }) => h.change_type)).toEqual(['DELETE', 'INSERT']);
  });
});

describe('connections', () => {
  it('PATCH changes the fields given, merges db_config_value, checks the whole and is audited', async () => {
    const current = await call('GET', '/api/connections/sales_pg');
    const res = await call('PATCH', '/api/connections/sales_pg', {
      body: { default_target_schema: 'landing', db_config_value: { sslmode: 'verify-full' } },
      headers: { 'if-match': current.headers.get('etag')! },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ default_target_schema: 'landing', db_type: 'postgresql', last_modified_user: ADMIN.name });
    expect(res.body.db_config_value).toMatchObject({ ...current.body.db_config_value, sslmode: 'verify-full' });
    const stale = await call('PATCH', '/api/connections/sales_pg', { body: { default_target_schema: 'x' }, headers: { 'if-match': current.headers.get('etag')! } });
    expect(stale.status).toBe(409);
    const before = await snapshot(api.db);
    const invalid = await call('PATCH', '/api/connections/sales_pg', { body: { db_config_value: { password: null } } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors).toEqual([{ field: 'db_config_value.password', message: 'required for postgresql' }]);
    expect((await call('PATCH', '/api/connections/nope', { body: { default_target_schema: 'x' } })).status).toBe(404);
    expect((await call('PATCH', '/api/connections/sales_pg', { body: {} })).status).toBe(400);
    expect(await snapshot(api.db)).toEqual(before);
  });

  it('GET /connections/{key}/history lists its changes newest first; 404 for a key that never existed', async () => {
    const res = await call('GET', '/api/connections/sales_pg/history', { as: READER });
    expect(res.status).toBe(200);
    expect(res.body[0]).toMatchObject({ db_config_key: 'sales_pg', change_type: 'UPDATE', changed_by: ADMIN.name, changed_fields: expect.arrayContaining(['default_target_schema']) });
    expect(res.body.at(-1)).toMatchObject({ change_type: 'INSERT' });
    expect((await call('GET', '/api/connections/never/history')).status).toBe(404);
  });
});
