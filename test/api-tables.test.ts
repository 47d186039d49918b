/** The tables resource: list, get, create, update with optimistic concurrency, delete. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, call, insertConnection, READER, setUpApi, snapshot, type ApiTestContext } from './support/api.js';

let api: ApiTestContext;

const ORDERS = {
  db_config_key: 'sales_pg',
  source_table_catalog: 'sales',
  source_table_schema: 'dbo',
  source_table_name: 'orders',
  destination_table_schema: 'raw',
  destination_table_name: 'orders',
  load_strategy: 'incremental',
  load_cron: '*/15 * * * *',
  incremental_column: 'updated_at',
  incremental_type: 'timestamp',
  primary_key_cols: 'order_id',
  is_active: true,
};

async function history(configId: number) {
  const { rows } = await api.db.pool.query<{ change_type: string; change_source: string; changed_by: string; changed_fields: string[] }>(
    `SELECT change_type, change_source, changed_by, changed_fields FROM control.table_control_history
      WHERE config_id = $1 ORDER BY history_id`,
    [configId],
  );
  return rows;
}

async function create(overrides: Record<string, unknown> = {}) {
  const res = await call('POST', '/api/tables', { body: { ...ORDERS, ...overrides } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as { config_id: number; last_modified_at: string } & Record<string, unknown>;
}

beforeAll(async () => {
  api = await setUpApi();
  await insertConnection(api.db, 'sales_pg');
  await insertConnection(api.db, 'crm_pg');
});

describe('create and get', () => {
  it('creates a row stamped with the caller, audited as single_edit with the fields set', async () => {
    const res = await call('POST', '/api/tables', { body: ORDERS });
    expect(res.status).toBe(201);
    const row = res.body;
    expect(row).toMatchObject({ ...ORDERS, create_user: ADMIN.name, last_modified_user: ADMIN.name, last_status: null });
    expect(row.control_key).toMatch(/^[0-9a-f]{64}$/);
    expect(row.last_modified_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(res.headers.get('location')).toBe(`/api/tables/${row.config_id}`);
    expect(res.headers.get('etag')).toBe(`"${row.last_modified_at}"`);

    expect(await history(row.config_id)).toEqual([
      {
        change_type: 'INSERT',
        change_source: 'single_edit',
        changed_by: ADMIN.name,
        changed_fields: [
          'config_id', 'control_key', 'is_active', 'db_config_key', 'source_table_catalog', 'source_table_schema',
          'source_table_name', 'destination_table_schema', 'destination_table_name', 'load_strategy', 'load_cron',
          'incremental_column', 'incremental_type', 'primary_key_cols', 'created_at', 'last_modified_at',
          'create_user', 'last_modified_user',
        ],
      },
    ]);

    const got = await call('GET', `/api/tables/${row.config_id}`, { as: READER });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(row);
    expect(got.headers.get('etag')).toBe(res.headers.get('etag'));
  });

  it('404 for an unknown id; a non-numeric id matches no route ({id:int})', async () => {
    expect((await call('GET', '/api/tables/999999')).status).toBe(404);
    await expect(call('GET', '/api/tables/abc')).rejects.toThrow(/no route/);
  });

  it('refuses a second row loading the same source into the same destination (409), allows another destination', async () => {
    await create({ source_table_name: 'dup_src' });
    const before = await snapshot(api.db);
    const dup = await call('POST', '/api/tables', { body: { ...ORDERS, source_table_name: 'dup_src' } });
    expect(dup.status).toBe(409);
    expect(await snapshot(api.db)).toEqual(before);
    await create({ source_table_name: 'dup_src', destination_table_name: 'dup_src_copy' });
  });

  it('two identical creates at once: one wins, one gets 409', async () => {
    const body = { ...ORDERS, source_table_name: 'race_src' };
    const results = await Promise.all([call('POST', '/api/tables', { body }), call('POST', '/api/tables', { body })]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
  });
});

describe('list', () => {
  beforeAll(async () => {
    for (const [name, strategy, key, active] of [
      ['list_a', 'full', 'crm_pg', true],
      ['list_b', 'full', 'crm_pg', false],
      ['list_c', 'check_and_load', 'crm_pg', true],
    ] as const) {
      await create({ source_table_name: name, destination_table_name: name, load_strategy: strategy, db_config_key: key, is_active: active });
    }
    await api.db.pool.query(`UPDATE control.table_control SET last_status = 'Failed' WHERE source_table_name = 'list_c'`);
  });

  it('filters by connection, strategy, active, status and name, a page at a time', async () => {
    const names = async (qs: string) => {
      const res = await call('GET', `/api/tables?${qs}`, { as: READER });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { names: res.body.items.map((r: { source_table_name: string }) => r.source_table_name), total: res.body.total };
    };
    expect(await names('db_config_key=crm_pg')).toEqual({ names: ['list_a', 'list_b', 'list_c'], total: 3 });
    expect(await names('db_config_key=crm_pg&strategy=full&active=true')).toEqual({ names: ['list_a'], total: 1 });
    expect(await names('status=Failed')).toEqual({ names: ['list_c'], total: 1 });
    expect(await names('db_config_key=crm_pg&status=none')).toEqual({ names: ['list_a', 'list_b'], total: 2 });
    expect(await names('name=LIST_&limit=2&offset=1')).toEqual({ names: ['list_b', 'list_c'], total: 3 });
    // % and _ in a search are literal characters, not wildcards.
    expect(await names('name=%25')).toEqual({ names: [], total: 0 });
    // The function key the host may pass in the query string is not a filter.
    expect((await names('db_config_key=crm_pg&code=abc')).total).toBe(3);
  });

  it('rejects unknown and malformed query parameters', async () => {
    const res = await call('GET', '/api/tables?colour=red&limit=0&active=maybe&status=Done', { as: READER });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['active', 'colour', 'limit', 'status']);
  });
});

describe('update', () => {
  it('PATCH with If-Match changes the fields given, audited with exactly them', async () => {
    const row = await create({ source_table_name: 'patch_me' });
    const res = await call('PATCH', `/api/tables/${row.config_id}`, {
      body: { load_cron: '0 * * * *', query: null },
      headers: { 'if-match': `"${row.last_modified_at}"` },
      as: { name: 'bo@example.com', roles: ['DataLoader.Admin'] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ load_cron: '0 * * * *', last_modified_user: 'bo@example.com', create_user: ADMIN.name });
    expect(res.body.last_modified_at > row.last_modified_at).toBe(true);
    expect((await history(row.config_id)).at(-1)).toEqual({
      change_type: 'UPDATE',
      change_source: 'single_edit',
      changed_by: 'bo@example.com',
      changed_fields: ['load_cron', 'last_modified_at', 'last_modified_user'],
    });
  });

  it('PATCH with last_modified_at in the body; a stale one gets 409 and changes nothing', async () => {
    const row = await create({ source_table_name: 'stale' });
    const first = await call('PATCH', `/api/tables/${row.config_id}`, { body: { rolling_days: 3, last_modified_at: row.last_modified_at } });
    expect(first.status).toBe(200);
    const before = await snapshot(api.db);
    const stale = await call('PATCH', `/api/tables/${row.config_id}`, { body: { rolling_days: 4, last_modified_at: row.last_modified_at } });
    expect(stale.status).toBe(409);
    expect(stale.body.current.rolling_days).toBe(3);
    expect(await snapshot(api.db)).toEqual(before);
  });

  it('two conflicting edits at once: one wins, the other gets 409', async () => {
    const row = await create({ source_table_name: 'contended' });
    const edit = (cron: string) =>
      call('PATCH', `/api/tables/${row.config_id}`, { body: { load_cron: cron }, headers: { 'if-match': `"${row.last_modified_at}"` } });
    const results = await Promise.all([edit('1 * * * *'), edit('2 * * * *')]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = results.find((r) => r.status === 200)!;
    const now = await call('GET', `/api/tables/${row.config_id}`);
    expect(now.body.load_cron).toBe(winner.body.load_cron);
    expect((await history(row.config_id)).filter((h) => h.change_type === 'UPDATE')).toHaveLength(1);
  });

  it('PATCH without a version gets 428; If-Match * is accepted', async () => {
    const row = await create({ source_table_name: 'unversioned' });
    const res = await call('PATCH', `/api/tables/${row.config_id}`, { body: { load_cron: '5 * * * *' } });
    expect(res.status).toBe(428);
    expect(res.body.errors[0].field).toBe('last_modified_at');
    const star = await call('PATCH', `/api/tables/${row.config_id}`, { body: { load_cron: '5 * * * *' }, headers: { 'if-match': '*' } });
    expect(star.status).toBe(200);
  });

  it('a PATCH that changes nothing writes nothing', async () => {
    const row = await create({ source_table_name: 'same' });
    const res = await call('PATCH', `/api/tables/${row.config_id}`, { body: { load_cron: ORDERS.load_cron, last_modified_at: row.last_modified_at } });
    expect(res.status).toBe(200);
    expect(res.body.last_modified_at).toBe(row.last_modified_at);
    expect(await history(row.config_id)).toHaveLength(1);
  });

  it('PATCH checks the row as it will be: switching to rolling needs its fields', async () => {
    const row = await create({ source_table_name: 'to_rolling' });
    const res = await call('PATCH', `/api/tables/${row.config_id}`, { body: { load_strategy: 'rolling' }, headers: { 'if-match': '*' } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['rolling_column', 'rolling_days']);
    const ok = await call('PATCH', `/api/tables/${row.config_id}`, {
      body: { load_strategy: 'rolling', rolling_column: 'updated_at', rolling_days: 7 },
      headers: { 'if-match': '*' },
    });
    expect(ok.status).toBe(200);
  });

  it('PUT replaces the whole configuration; fields left out become NULL', async () => {
    const row = await create({ source_table_name: 'put_me', query: 'SELECT 1' });
    const { incremental_column: _c, incremental_type: _t, primary_key_cols: _p, ...rest } = ORDERS;
    const res = await call('PUT', `/api/tables/${row.config_id}`, {
      body: { ...rest, source_table_name: 'put_me', load_strategy: 'full', last_modified_at: row.last_modified_at },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ load_strategy: 'full', query: null, incremental_column: null, primary_key_cols: null });
    expect((await history(row.config_id)).at(-1)!.changed_fields).toEqual([
      'query', 'load_strategy', 'incremental_column', 'incremental_type', 'primary_key_cols', 'last_modified_at',
    ]);
  });

  it('an edit naming an unknown connection is refused naming db_config_key', async () => {
    const row = await create({ source_table_name: 'bad_conn' });
    const res = await call('PATCH', `/api/tables/${row.config_id}`, { body: { db_config_key: 'nope' }, headers: { 'if-match': '*' } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'db_config_key', message: expect.stringContaining('no connection named "nope"') }]);
  });

  it('404 for an unknown id', async () => {
    expect((await call('PATCH', '/api/tables/999999', { body: { load_cron: '0 * * * *' }, headers: { 'if-match': '*' } })).status).toBe(404);
  });
});

describe('delete', () => {
  it('deletes, audited with the old values; a stale If-Match is refused', async () => {
    const row = await create({ source_table_name: 'delete_me' });
    const stale = await call('DELETE', `/api/tables/${row.config_id}`, { headers: { 'if-match': '"2001-01-01T00:00:00.000000Z"' } });
    expect(stale.status).toBe(409);
    const res = await call('DELETE', `/api/tables/${row.config_id}`);
    expect(res.status).toBe(204);
    expect((await call('GET', `/api/tables/${row.config_id}`)).status).toBe(404);
    expect((await history(row.config_id)).map((h) => [h.change_type, h.change_source])).toEqual([
      ['INSERT', 'single_edit'],
      ['DELETE', 'single_edit'],
    ]);
    expect((await call('DELETE', `/api/tables/${row.config_id}`)).status).toBe(404);
  });
});
