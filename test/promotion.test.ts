/** Promotion between two databases: pre-production to production, dry run and apply. */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, PROMOTER, setUpApi, snapshot, type ApiTestContext } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

let prod: ApiTestContext;
let preprod: TestDatabase;

const VALUE = (env: string) => ({ host: `${env}-host`, port: `${env}-port`, database: `${env}-db`, user: `${env}-user`, password: `${env}-password` });

async function insertTable(db: TestDatabase, name: string, fields: Record<string, unknown>): Promise<{ config_id: number; control_key: string }> {
  const all = { source_table_catalog: 'sales', source_table_schema: 'dbo', source_table_name: name, destination_table_schema: 'raw', destination_table_name: name, ...fields };
  const columns = Object.keys(all);
  const { rows } = await db.pool.query<{ config_id: number; control_key: string }>(
    `INSERT INTO control.table_control (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})
     RETURNING config_id, encode(control_key, 'hex') AS control_key`,
    Object.values(all),
  );
  return rows[0]!;
}

async function insertConnection(db: TestDatabase, key: string, env: string) {
  await db.pool.query(`INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type) VALUES ($1, $2, 'postgresql')`, [
    key,
    JSON.stringify(VALUE(env)),
  ]);
}

let newTable: { config_id: number; control_key: string };
let changedTable: { config_id: number; control_key: string };
let sameTable: { config_id: number; control_key: string };
let prodChangedId: number;

beforeAll(async () => {
  preprod = await createTestDatabase({ prefix: 'preprod' });
  prod = await setUpApi({ PREPROD_DATABASE_URL: preprod.url });
  // Pre-production: two connections, three tables.
  await insertConnection(preprod, 'sales_pg', 'preprod');
  await insertConnection(preprod, 'crm_pg', 'preprod');
  newTable = await insertTable(preprod, 'customers', { db_config_key: 'crm_pg', load_strategy: 'full', load_cron: '0 * * * *', is_active: true });
  changedTable = await insertTable(preprod, 'orders', {
    db_config_key: 'sales_pg', load_strategy: 'incremental', load_cron: '*/5 * * * *', incremental_column: 'updated_at',
    incremental_type: 'timestamp', primary_key_cols: 'order_id', incremental_value: '2030-01-01', load_full: 'Y',
  });
  sameTable = await insertTable(preprod, 'lines', { db_config_key: 'sales_pg', load_strategy: 'full', load_cron: '0 * * * *' });
  // Production: sales_pg with its own secret names, orders on an older config with its own watermark, lines identical.
  await insertConnection(prod.db, 'sales_pg', 'prod');
  const orders = await insertTable(prod.db, 'orders', {
    db_config_key: 'sales_pg', load_strategy: 'full', load_cron: '0 * * * *', incremental_value: '2024-06-01',
  });
  prodChangedId = orders.config_id;
  await insertTable(prod.db, 'lines', { db_config_key: 'sales_pg', load_strategy: 'full', load_cron: '0 * * * *' });
});

describe('promotion', () => {
  it('dry run: the difference field by field, changing nothing', async () => {
    const before = await snapshot(prod.db);
    const res = await call('POST', '/api/promotion/preview', {
      as: PROMOTER,
      body: { control_keys: [newTable.control_key, changedTable.control_key, sameTable.control_key] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await snapshot(prod.db)).toEqual(before);
    const { tables, connections, applied } = res.body;
    expect(applied).toBe(false);
    expect(tables.map((t: { source_table_name: string; action: string }) => [t.source_table_name, t.action])).toEqual([
      ['customers', 'insert'],
      ['orders', 'update'],
      ['lines', 'unchanged'],
    ]);
    // Production's watermark and load_full are not promoted.
    expect(tables[1].changes).toEqual([
      { field: 'load_strategy', from: 'full', to: 'incremental' },
      { field: 'load_cron', from: '0 * * * *', to: '*/5 * * * *' },
      { field: 'incremental_column', from: null, to: 'updated_at' },
      { field: 'incremental_type', from: null, to: 'timestamp' },
      { field: 'primary_key_cols', from: null, to: 'order_id' },
    ]);
    expect(tables[1].config_id).toBe(prodChangedId);
    expect(tables[0].changes).toContainEqual({ field: 'is_active', from: null, to: true });
    // The missing connection is copied; the existing one keeps production's secret names.
    expect(connections).toEqual([
      { db_config_key: 'crm_pg', action: 'insert', changes: expect.any(Array) },
      {
        db_config_key: 'sales_pg',
        action: 'kept',
        changes: [{ field: 'db_config_value', from: VALUE('prod'), to: VALUE('preprod') }],
      },
    ]);
  });

  it('apply: one transaction, every change audited as promotion by the promoter', async () => {
    const res = await call('POST', '/api/promotion/apply', { as: PROMOTER, body: { config_ids: [newTable.config_id, changedTable.config_id, sameTable.config_id] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.applied).toBe(true);
    const insertedId = res.body.tables[0].config_id;
    expect(insertedId).toEqual(expect.any(Number));

    const orders = (await call('GET', `/api/tables/${prodChangedId}`)).body;
    expect(orders).toMatchObject({ load_strategy: 'incremental', incremental_value: '2024-06-01', load_full: null, last_modified_user: PROMOTER.name });
    const customers = (await call('GET', `/api/tables/${insertedId}`)).body;
    expect(customers).toMatchObject({ source_table_name: 'customers', db_config_key: 'crm_pg', is_active: true, create_user: PROMOTER.name, control_key: newTable.control_key });
    const conns = (await call('GET', '/api/connections')).body;
    expect(conns.find((c: { db_config_key: string }) => c.db_config_key === 'sales_pg').db_config_value).toEqual(VALUE('prod'));
    expect(conns.find((c: { db_config_key: string }) => c.db_config_key === 'crm_pg').db_config_value).toEqual(VALUE('preprod'));

    const { rows } = await prod.db.pool.query(
      `SELECT config_id, change_type, changed_by, changed_fields FROM control.table_control_history
        WHERE change_source = 'promotion' ORDER BY history_id`,
    );
    expect(rows).toEqual([
      { config_id: insertedId, change_type: 'INSERT', changed_by: PROMOTER.name, changed_fields: expect.arrayContaining(['is_active', 'load_cron']) },
      {
        config_id: prodChangedId, change_type: 'UPDATE', changed_by: PROMOTER.name,
        changed_fields: ['load_strategy', 'load_cron', 'incremental_column', 'incremental_type', 'primary_key_cols', 'last_modified_at', 'last_modified_user'],
      },
    ]);
    const { rows: connAudit } = await prod.db.pool.query(
      `SELECT db_config_key, change_type FROM control.table_control_dbconfig_history WHERE change_source = 'promotion'`,
    );
    expect(connAudit).toEqual([{ db_config_key: 'crm_pg', change_type: 'INSERT' }]);

    // Applying again finds nothing to do.
    const again = await call('POST', '/api/promotion/preview', { as: PROMOTER, body: { config_ids: [newTable.config_id, changedTable.config_id] } });
    expect(again.body.tables.map((t: { action: string }) => t.action)).toEqual(['unchanged', 'unchanged']);
  });

  it('refuses unknown tables (404), an invalid pre-production row (400), and callers without the promoter role (403), changing nothing', async () => {
    const broken = await insertTable(preprod, 'broken', { db_config_key: 'sales_pg', load_strategy: 'rolling', load_cron: '0 * * * *' });
    const before = await snapshot(prod.db);
    const missing = await call('POST', '/api/promotion/apply', { as: PROMOTER, body: { config_ids: [newTable.config_id, 987654] } });
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].message).toContain('987654');
    const invalid = await call('POST', '/api/promotion/apply', { as: PROMOTER, body: { config_ids: [broken.config_id] } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { field: string }) => e.field)).toEqual(['rolling_column', 'rolling_days']);
    expect((await call('POST', '/api/promotion/apply', { body: { config_ids: [newTable.config_id] } })).status).toBe(403);
    expect((await call('POST', '/api/promotion/preview', { as: PROMOTER, body: { control_keys: ['xyz'] } })).status).toBe(400);
    expect((await call('POST', '/api/promotion/preview', { as: PROMOTER, body: {} })).status).toBe(400);
    expect(await snapshot(prod.db)).toEqual(before);
  });

  it('refuses (409) a table production holds twice under other destinations, changing nothing', async () => {
    const fresh = await insertTable(preprod, 'returns', { db_config_key: 'sales_pg', load_strategy: 'full', load_cron: '0 * * * *' });
    await insertTable(prod.db, 'returns', { db_config_key: 'sales_pg', load_strategy: 'full', destination_table_name: 'a' });
    await insertTable(prod.db, 'returns', { db_config_key: 'sales_pg', load_strategy: 'full', destination_table_name: 'b' });
    const before = await snapshot(prod.db);
    const res = await call('POST', '/api/promotion/apply', { as: PROMOTER, body: { config_ids: [fresh.config_id] } });
    expect(res.status).toBe(409);
    expect(res.body.config_ids).toHaveLength(2);
    expect(await snapshot(prod.db)).toEqual(before);
  });

  it('is all or nothing: a failure after some writes rolls back every one, connections included', async () => {
    // Two pre-production rows for the same source and destination (plain SQL allows it), on a connection production lacks.
    await insertConnection(preprod, 'erp_pg', 'preprod');
    const first = await insertTable(preprod, 'refunds', { db_config_key: 'erp_pg', load_strategy: 'full', load_cron: '0 * * * *' });
    const second = await insertTable(preprod, 'refunds', { db_config_key: 'erp_pg', load_strategy: 'full', load_cron: '5 * * * *' });
    const before = await snapshot(prod.db);
    const res = await call('POST', '/api/promotion/apply', { as: PROMOTER, body: { config_ids: [newTable.config_id, first.config_id, second.config_id] } });
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toContain('already loads this source table into the same destination');
    expect(await snapshot(prod.db)).toEqual(before);
    expect((await call('GET', '/api/connections/erp_pg')).status).toBe(404);
  });

  it('503 when no pre-production database is configured', async () => {
    const saved = prod.runtime.settings.PREPROD_DATABASE_URL;
    prod.runtime.settings.PREPROD_DATABASE_URL = undefined;
    try {
      const res = await call('POST', '/api/promotion/preview', { as: PROMOTER, body: { config_ids: [1] } });
      expect(res.status).toBe(503);
      expect(res.body.errors[0].message).toContain('PREPROD_DATABASE_URL');
    } finally {
      prod.runtime.settings.PREPROD_DATABASE_URL = saved;
    }
  });
});
