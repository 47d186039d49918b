/** The connections resource: secret names only, create or replace, delete guarded by the tables using it. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, call, READER, setUpApi, snapshot, type ApiTestContext } from './support/api.js';

let api: ApiTestContext;

const VALUE = { host: 'sales-host', port: 'sales-port', database: 'sales-db', user: 'sales-user', password: 'sales-password' };

beforeAll(async () => {
  api = await setUpApi();
});

async function connectionHistory(key: string) {
  const { rows } = await api.db.pool.query<{ change_type: string; change_source: string; changed_by: string; changed_fields: string[] }>(
    `SELECT change_type, change_source, changed_by, changed_fields FROM control.table_control_dbconfig_history
      WHERE db_config_key = $1 ORDER BY history_id`,
    [key],
  );
  return rows;
}

describe('connections', () => {
  it('creates (201), replaces (200), lists and gets, stamped and audited', async () => {
    const created = await call('PUT', '/api/connections/sales_mssql', { body: { db_config_value: VALUE, db_type: 'mssql', default_target_schema: 'raw' } });
    expect(created.status, api.logs.join('\n')).toBe(201);
    expect(created.body).toMatchObject({
      db_config_key: 'sales_mssql', db_config_value: VALUE, db_type: 'mssql', db_kv_scope: 'azure-keyvault',
      default_target_schema: 'raw', create_user: ADMIN.name, last_modified_user: ADMIN.name,
    });
    expect(created.headers.get('location')).toBe('/api/connections/sales_mssql');

    const replaced = await call('PUT', '/api/connections/sales_mssql', {
      body: { db_config_value: { ...VALUE, host: 'sales-host-2' }, db_type: 'mssql', db_kv_scope: 'kv-sales', last_modified_at: created.body.last_modified_at },
      as: { name: 'bo@example.com', roles: ['DataLoader.Admin'] },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ db_kv_scope: 'kv-sales', default_target_schema: null, create_user: ADMIN.name, last_modified_user: 'bo@example.com' });

    const same = await call('PUT', '/api/connections/sales_mssql', { body: { db_config_value: { ...VALUE, host: 'sales-host-2' }, db_type: 'mssql', db_kv_scope: 'kv-sales' } });
    expect(same.status).toBe(200);
    expect(same.body.last_modified_at).toBe(replaced.body.last_modified_at);

    expect(await connectionHistory('sales_mssql')).toEqual([
      { change_type: 'INSERT', change_source: 'single_edit', changed_by: ADMIN.name, changed_fields: expect.arrayContaining(['db_config_value']) },
      {
        change_type: 'UPDATE', change_source: 'single_edit', changed_by: 'bo@example.com',
        changed_fields: ['db_config_value', 'db_kv_scope', 'default_target_schema', 'last_modified_at', 'last_modified_user'],
      },
    ]);

    const list = await call('GET', '/api/connections', { as: READER });
    expect(list.status).toBe(200);
    expect(list.body.map((c: { db_config_key: string }) => c.db_config_key)).toContain('sales_mssql');
    const got = await call('GET', '/api/connections/sales_mssql', { as: READER });
    expect(got.body).toEqual(same.body);
    expect(got.headers.get('etag')).toBe(`"${same.body.last_modified_at}"`);
    expect((await call('GET', '/api/connections/nope')).status).toBe(404);
  });

  it('a stale replace gets 409', async () => {
    await call('PUT', '/api/connections/stale_pg', { body: { db_config_value: VALUE, db_type: 'postgresql' } });
    const res = await call('PUT', '/api/connections/stale_pg', {
      body: { db_config_value: VALUE, db_type: 'mssql' },
      headers: { 'if-match': '"2000-01-01T00:00:00.000000Z"' },
    });
    expect(res.status).toBe(409);
    expect((await call('GET', '/api/connections/stale_pg')).body.db_type).toBe('postgresql');
  });

  it('snowflake_pem takes a private key instead of a password; others may not', async () => {
    const { password: _p, ...noPassword } = VALUE;
    const pem = await call('PUT', '/api/connections/snow_pem', { body: { db_config_value: { ...noPassword, private_key: 'snow-key' }, db_type: 'snowflake_pem' } });
    expect(pem.status).toBe(201);
    expect(pem.body.db_config_value).toEqual({ ...noPassword, private_key: 'snow-key' });
    const bad = await call('PUT', '/api/connections/bad_pem', { body: { db_config_value: { ...noPassword, private_key: 'k' }, db_type: 'postgresql' } });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['db_config_value.password', 'db_config_value.private_key']);
  });

  it('keeps the optional keys the connectors read: a literal sslmode, trust_server_certificate, Snowflake names', async () => {
    const value = { ...VALUE, sslmode: 'verify-full', trust_server_certificate: 'sales-trust' };
    const res = await call('PUT', '/api/connections/sales_tls', { body: { db_config_value: value, db_type: 'mssql' } });
    expect(res.status).toBe(201);
    expect(res.body.db_config_value).toEqual(value);
    const { password: _p, ...rest } = VALUE;
    const snow = { ...rest, private_key: 'snow-key', private_key_passphrase: 'snow-pass', warehouse: 'snow-wh', role: 'snow-role', schema: 'snow-schema' };
    const pem = await call('PUT', '/api/connections/snow_full', { body: { db_config_value: snow, db_type: 'snowflake_pem' } });
    expect(pem.status).toBe(201);
    expect(pem.body.db_config_value).toEqual(snow);
  });

  it.each([
    ['a secret value instead of a name', { ...VALUE, password: 'p@ss w0rd!' }, 'db_config_value.password'],
    ['a host:port', { ...VALUE, host: 'db.example.com:5432' }, 'db_config_value.host'],
    ['a missing key', { host: 'h', port: 'p', database: 'd', password: 'x' }, 'db_config_value.user'],
    ['an unknown key', { ...VALUE, options: 'x' }, 'db_config_value.options'],
    ['a name too long for Key Vault', { ...VALUE, user: 'u'.repeat(128) }, 'db_config_value.user'],
  ])('refuses %s in db_config_value, changing nothing', async (_label, value, field) => {
    const before = await snapshot(api.db);
    const res = await call('PUT', '/api/connections/refused', { body: { db_config_value: value, db_type: 'postgresql' } });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual([field]);
    expect(await snapshot(api.db)).toEqual(before);
  });

  it('refuses to delete a connection in use, listing the tables; ?force=true detaches them (audited)', async () => {
    await call('PUT', '/api/connections/used_pg', { body: { db_config_value: VALUE, db_type: 'postgresql' } });
    const table = await call('POST', '/api/tables', {
      body: { db_config_key: 'used_pg', source_table_catalog: 'c', source_table_schema: 's', source_table_name: 'uses', destination_table_name: 'uses', load_strategy: 'full' },
    });
    expect(table.status).toBe(201);
    const before = await snapshot(api.db);
    const refused = await call('DELETE', '/api/connections/used_pg');
    expect(refused.status).toBe(409);
    expect(refused.body.tables).toEqual([
      { config_id: table.body.config_id, source_table_catalog: 'c', source_table_schema: 's', source_table_name: 'uses', is_active: false },
    ]);
    expect(await snapshot(api.db)).toEqual(before);

    const forced = await call('DELETE', '/api/connections/used_pg?force=true');
    expect(forced.status).toBe(204);
    expect((await call('GET', '/api/connections/used_pg')).status).toBe(404);
    expect((await call('GET', `/api/tables/${table.body.config_id}`)).body.db_config_key).toBeNull();
    const { rows } = await api.db.pool.query(
      `SELECT change_source, changed_fields FROM control.table_control_history WHERE config_id = $1 ORDER BY history_id DESC LIMIT 1`,
      [table.body.config_id],
    );
    expect(rows[0]).toEqual({ change_source: 'bulk_edit', changed_fields: ['db_config_key', 'last_modified_at'] });
    expect((await connectionHistory('used_pg')).at(-1)).toMatchObject({ change_type: 'DELETE', change_source: 'single_edit' });
  });

  it('deletes an unused connection; the destination only when forced; 404 for an unknown one', async () => {
    await call('PUT', '/api/connections/unused', { body: { db_config_value: VALUE, db_type: 'clickhouse' } });
    expect((await call('DELETE', '/api/connections/unused')).status).toBe(204);
    expect((await call('DELETE', '/api/connections/unused')).status).toBe(404);
    await call('PUT', '/api/connections/destination', { body: { db_config_value: VALUE, db_type: 'postgresql' } });
    expect((await call('DELETE', '/api/connections/destination')).status).toBe(409);
    expect((await call('DELETE', '/api/connections/destination?force=true')).status).toBe(204);
  });

  it('rejects bad keys and unknown query parameters', async () => {
    expect((await call('PUT', "/api/connections/x';drop", { body: { db_config_value: VALUE, db_type: 'mssql' } })).status).toBe(400);
    expect((await call('DELETE', '/api/connections/x?force=yes')).status).toBe(400);
    expect((await call('PUT', '/api/connections/ok', { body: { db_config_value: VALUE, db_type: 'db2' } })).status).toBe(400);
  });
});
