/** Read views for the seed's Common Queries, one table's runs and history, and the health check. */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { beforeAll, describe, expect, it } from 'vitest';
import { dispatch } from '../shared/api/dispatch.js';
import { healthOperation } from '../shared/api/operations/views.js';
import { createLogger } from '../shared/log.js';
import { createRuntime } from '../shared/runtime.js';
import { parseSettings } from '../shared/settings.js';
import { call, READER, setUpApi, type ApiTestContext } from './support/api.js';

let api: ApiTestContext;
let ordersId: number;

beforeAll(async () => {
  api = await setUpApi();
  await api.db.pool.query(`
    INSERT INTO control.table_control (source_table_catalog, source_table_schema, source_table_name, is_active,
                                       last_status, next_load_date_time, last_status_date_time, last_load_date_time,
                                       last_status_message, load_strategy)
    VALUES ('c', 's', 'due_new',      true,  NULL,          now() - interval '2 min', NULL, NULL, NULL, 'full'),
           ('c', 's', 'queued_long',  true,  'Queued',      now() - interval '3 h', now() - interval '61 min', NULL, NULL, 'full'),
           ('c', 's', 'queued_fresh', true,  'Queued',      now() - interval '3 h', now() - interval '5 min', NULL, NULL, 'full'),
           ('c', 's', 'running_long', true,  'In Progress', now() - interval '5 h', now(), now() - interval '181 min', NULL, 'full'),
           ('c', 's', 'orders',       true,  'Failed',      now() + interval '1 h', now() - interval '10 min', NULL, 'boom', 'full')`);
  const { rows } = await api.db.pool.query<{ config_id: number }>(`SELECT config_id FROM control.table_control WHERE source_table_name = 'orders'`);
  ordersId = rows[0]!.config_id;
  await api.db.pool.query(`
    INSERT INTO control.historical_metadata (control_key, run_id, load_start_time, load_status, rows_processed, total_duration, source_table)
    SELECT control_key, 'run-' || g, now() - make_interval(hours => g), 'Succeeded', g * 10, g, 'orders'
      FROM control.table_control, generate_series(1, 12) g
     WHERE source_table_name = 'orders'`);
});

const get = async (path: string) => {
  const res = await call('GET', path, { as: READER });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};
const names = (rows: { source_table_name: string }[]) => rows.map((r) => r.source_table_name);

describe('views', () => {
  it('ready, failed, long queued, long running', async () => {
    const ready = await get('/api/views/ready');
    expect(names(ready)).toEqual(['due_new']);
    expect(ready[0].control_key).toMatch(/^[0-9a-f]{64}$/);
    expect(names(await get('/api/views/failed'))).toEqual(['orders']);
    expect(names(await get('/api/views/long-queued'))).toEqual(['queued_long']);
    expect(names(await get('/api/views/long-queued?minutes=1'))).toEqual(['queued_long', 'queued_fresh']);
    expect(names(await get('/api/views/long-running'))).toEqual(['running_long']);
  });

  it('execution history by source table name, and one table by id', async () => {
    const history = await get('/api/views/execution-history?source_table_name=orders&limit=3');
    expect(history).toHaveLength(3);
    expect(history[0]).toMatchObject({ source_table: 'orders', load_status: 'Succeeded', rows_processed: 10, total_duration: 1 });
    const runs = await get(`/api/tables/${ordersId}/runs`);
    expect(runs).toHaveLength(10);
    expect(runs[0]).toMatchObject({ run_id: 'run-1', load_status: 'Succeeded' });
    expect((await call('GET', '/api/tables/987654/runs', { as: READER })).status).toBe(404);
  });

  it('recent changes and one table history include plain SQL edits', async () => {
    await api.db.pool.query(`UPDATE control.table_control SET load_cron = '0 * * * *' WHERE config_id = $1`, [ordersId]);
    const recent = await get('/api/views/recent-changes?limit=1');
    expect(recent).toEqual([expect.objectContaining({ table_name: 'orders', change_type: 'UPDATE', change_source: 'sql' })]);
    const history = await get(`/api/tables/${ordersId}/history`);
    expect(history.map((h: { change_type: string }) => h.change_type)).toEqual(['UPDATE', 'INSERT']);
    // Editing the cron also clears next_load_date_time, for the sensor to recompute it.
    expect([...history[0].changed_fields].sort()).toEqual(['last_modified_at', 'last_modified_user', 'load_cron', 'next_load_date_time']);
  });

  it('counts active tables by status', async () => {
    const counts = Object.fromEntries((await get('/api/views/status-counts')).map((r: { last_status: string | null; count: number }) => [r.last_status ?? 'null', r.count]));
    expect(counts).toEqual({ null: 1, Queued: 2, 'In Progress': 1, Failed: 1 });
  });

  it('rejects bad query strings', async () => {
    expect((await call('GET', '/api/views/ready?limit=100000', { as: READER })).status).toBe(400);
    expect((await call('GET', '/api/views/execution-history', { as: READER })).status).toBe(400);
    expect((await call('GET', '/api/views/failed?x=1', { as: READER })).status).toBe(400);
    expect((await call('GET', '/api/views/failed', { as: null })).status).toBe(401);
  });
});

describe('health', () => {
  it('reports the database reachable and its migration level, without a principal', async () => {
    const res = await call('GET', '/api/health', { as: null });
    expect(res.status).toBe(200);
    const { rows } = await api.db.pool.query<{ name: string }>(`SELECT name FROM control.schema_migrations ORDER BY id DESC LIMIT 1`);
    expect(res.body).toEqual({ status: 'ok', database: 'reachable', migration: rows[0]!.name, checked_at: expect.any(String) });
  });

  it('answers 503 without connection details when the database is unreachable', async () => {
    const runtime = createRuntime({
      settings: parseSettings({ DATABASE_URL: 'postgresql://admin:hunter2@127.0.0.1:1/dataloader', CONTROL_DB_SSL: 'disable' }),
      log: createLogger('error', () => undefined),
    });
    try {
      const request = new HttpRequest({ method: 'GET', url: 'http://localhost/api/health' });
      const res = await dispatch(
        healthOperation,
        { method: 'GET', url: request.url, params: {}, query: request.query, header: (n) => request.headers.get(n), text: () => request.text() },
        runtime,
        new InvocationContext().invocationId,
      );
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ status: 'unavailable', database: 'unreachable' });
      expect(JSON.stringify(res.body)).not.toMatch(/hunter2|127\.0\.0\.1|admin/);
    } finally {
      await runtime.close();
    }
  });
});
