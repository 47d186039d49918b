/**
 * incremental_lookback through the API: validated against incremental_type
 * (an interval for time watermarks, an amount for numeric ones), audited,
 * carried by clone and promotion, and shown in force (the table's own value,
 * else the setting) by the read views.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, insertConnection, PROMOTER, setUpApi, snapshot, type ApiTestContext } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

let api: ApiTestContext;
let preprod: TestDatabase;

const BASE = {
  db_config_key: 'sales_pg',
  source_table_catalog: 'sales',
  source_table_schema: 'dbo',
  destination_table_schema: 'raw',
  load_strategy: 'incremental',
  load_cron: '0 * * * *',
  incremental_column: 'updated_at',
  incremental_type: 'timestamp',
  primary_key_cols: 'id',
};

beforeAll(async () => {
  preprod = await createTestDatabase({ prefix: 'preprod' });
  api = await setUpApi({ PREPROD_DATABASE_URL: preprod.url, INCREMENTAL_LOOKBACK_MINUTES: '15' });
  await insertConnection(api.db, 'sales_pg');
  await insertConnection(preprod, 'sales_pg');
});

async function create(name: string, overrides: Record<string, unknown> = {}) {
  return call('POST', '/api/tables', { body: { ...BASE, source_table_name: name, destination_table_name: name, ...overrides } });
}

describe('incremental_lookback', () => {
  it('is set, audited and shown in force; NULL means the setting', async () => {
    const created = await create('orders', { incremental_lookback: '90 seconds' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.config_id;
    const got = await call('GET', `/api/tables/${id}`);
    expect(got.body).toMatchObject({ incremental_lookback: '90 seconds', incremental_lookback_in_force: '90 seconds (incremental_lookback)' });

    const patched = await call('PATCH', `/api/tables/${id}`, { body: { incremental_lookback: null, last_modified_at: got.body.last_modified_at } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const list = await call('GET', '/api/tables?name=orders');
    expect(list.body.items[0]).toMatchObject({ incremental_lookback: null, incremental_lookback_in_force: '15 minutes (INCREMENTAL_LOOKBACK_MINUTES)' });

    const { rows } = await api.db.pool.query(
      `SELECT changed_fields, old_values->>'incremental_lookback' AS old FROM control.table_control_history WHERE config_id = $1 ORDER BY history_id DESC LIMIT 1`,
      [id],
    );
    expect(rows[0]).toMatchObject({ old: '90 seconds', changed_fields: expect.arrayContaining(['incremental_lookback']) });
  });

  it('numeric watermarks take an amount of values', async () => {
    const created = await create('lines', { incremental_type: 'integer', incremental_column: 'id', incremental_lookback: '5000' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const got = await call('GET', `/api/tables/${created.body.config_id}`);
    expect(got.body.incremental_lookback_in_force).toBe('5000 values (incremental_lookback)');
  });

  it.each([
    [{ incremental_lookback: '5000' }, /interval of at most a year for a timestamp watermark, e\.g\. 90 seconds/],
    [{ incremental_lookback: '10 fortnights' }, /interval of at most a year/],
    [{ incremental_lookback: '400 days' }, /interval of at most a year/],
    [{ incremental_type: 'integer', incremental_lookback: '10 minutes' }, /whole number of at least 0 for an integer watermark/],
    [{ incremental_type: 'integer', incremental_lookback: '-5' }, /whole number of at least 0/],
    [{ incremental_column: null, incremental_type: null, load_strategy: 'full', primary_key_cols: null, incremental_lookback: '1 minute' }, /needs incremental_type/],
  ])('refuses %j with 400 naming the field, changing nothing', async (overrides, message) => {
    const before = await snapshot(api.db);
    const res = await create(`bad_${Math.random().toString(36).slice(2)}`, overrides);
    expect(res.status).toBe(400);
    expect(res.body.errors).toContainEqual({ field: 'incremental_lookback', message: expect.stringMatching(message) });
    expect(await snapshot(api.db)).toEqual(before);
  });

  it('is carried by clone', async () => {
    const created = await create('events', { incremental_lookback: '2 hours' });
    const clone = await call('POST', `/api/tables/${created.body.config_id}/clone`, { body: { source_table_name: 'events_eu', destination_table_name: 'events_eu' } });
    expect(clone.status, JSON.stringify(clone.body)).toBe(201);
    expect(clone.body.incremental_lookback).toBe('2 hours');
  });

  it('is carried by promotion', async () => {
    const { rows } = await preprod.pool.query<{ config_id: number }>(
      `INSERT INTO control.table_control (db_config_key, source_table_catalog, source_table_schema, source_table_name, destination_table_schema,
         destination_table_name, load_strategy, load_cron, incremental_column, incremental_type, primary_key_cols, incremental_lookback)
       VALUES ('sales_pg', 'sales', 'dbo', 'payments', 'raw', 'payments', 'incremental', '0 * * * *', 'updated_at', 'timestamp', 'id', '30 minutes')
       RETURNING config_id`,
    );
    const res = await call('POST', '/api/promotion/apply', { as: PROMOTER, body: { config_ids: [rows[0]!.config_id] } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const promoted = await call('GET', `/api/tables/${res.body.tables[0].config_id}`);
    expect(promoted.body).toMatchObject({ source_table_name: 'payments', incremental_lookback: '30 minutes', incremental_lookback_in_force: '30 minutes (incremental_lookback)' });
  });
});
