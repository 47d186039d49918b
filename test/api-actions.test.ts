/** Bulk edit, clone, status reset, toggle active and run now: all or nothing, each audited with its source. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, call, insertConnection, setUpApi, snapshot, type ApiTestContext } from './support/api.js';

let api: ApiTestContext;

const BASE = {
  db_config_key: 'sales_pg',
  source_table_catalog: 'sales',
  source_table_schema: 'dbo',
  destination_table_schema: 'raw',
  load_strategy: 'full',
  load_cron: '0 * * * *',
};

async function create(name: string, overrides: Record<string, unknown> = {}): Promise<{ config_id: number } & Record<string, unknown>> {
  const res = await call('POST', '/api/tables', { body: { ...BASE, source_table_name: name, destination_table_name: name, ...overrides } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

async function lastHistory(configId: number) {
  const { rows } = await api.db.pool.query<{ change_type: string; change_source: string; changed_by: string; changed_fields: string[] }>(
    `SELECT change_type, change_source, changed_by, changed_fields FROM control.table_control_history
      WHERE config_id = $1 ORDER BY history_id DESC LIMIT 1`,
    [configId],
  );
  return rows[0];
}

async function setStatus(configId: number, status: string | null, runId: string | null = null) {
  await api.db.pool.query(
    `UPDATE control.table_control SET last_status = $2, last_run_id = $3, last_status_message = 'x', last_status_date_time = now() - interval '1 hour'
      WHERE config_id = $1`,
    [configId, status, runId],
  );
}

beforeAll(async () => {
  api = await setUpApi();
  await insertConnection(api.db, 'sales_pg');
  await insertConnection(api.db, 'crm_pg');
});

describe('bulk edit', () => {
  it('sets fields on the rows named by ids, skipping rows that already hold them, audited as bulk_edit', async () => {
    const a = await create('bulk_a');
    const b = await create('bulk_b', { load_cron: '*/5 * * * *' });
    const res = await call('POST', '/api/tables/bulk-edit', { body: { ids: [a.config_id, b.config_id], fields: { load_cron: '*/5 * * * *', is_active: true } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ matched: 2, updated: 2, config_ids: [a.config_id, b.config_id] });
    expect(await lastHistory(a.config_id)).toEqual({
      change_type: 'UPDATE', change_source: 'bulk_edit', changed_by: ADMIN.name,
      changed_fields: ['is_active', 'load_cron', 'last_modified_at'],
    });
    expect((await lastHistory(b.config_id))!.changed_fields).toEqual(['is_active', 'last_modified_at']);

    const again = await call('POST', '/api/tables/bulk-edit', { body: { ids: [a.config_id, b.config_id], fields: { is_active: true } } });
    expect(again.body).toEqual({ matched: 2, updated: 0, config_ids: [] });
  });

  it('selects rows by a filter', async () => {
    const c = await create('bulk_filter_1', { db_config_key: 'crm_pg' });
    const d = await create('bulk_filter_2', { db_config_key: 'crm_pg' });
    const res = await call('POST', '/api/tables/bulk-edit', {
      body: { filter: { db_config_key: 'crm_pg', name: 'bulk_filter' }, fields: { destination_table_schema: 'crm_raw' } },
    });
    expect(res.body).toEqual({ matched: 2, updated: 2, config_ids: [c.config_id, d.config_id] });
  });

  it('is all or nothing: one row that would be invalid refuses the whole edit, naming it', async () => {
    const ok = await create('bulk_ok', { load_strategy: 'incremental', incremental_column: 'u', incremental_type: 'integer', primary_key_cols: 'id' });
    const bad = await create('bulk_bad');
    const before = await snapshot(api.db);
    const res = await call('POST', '/api/tables/bulk-edit', { body: { ids: [ok.config_id, bad.config_id], fields: { load_strategy: 'append_only' } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'fields.incremental_column', message: `table ${bad.config_id}: required for load_strategy append_only (the watermark column)` },
      {
        field: 'fields.incremental_type',
        message: `table ${bad.config_id}: required for load_strategy append_only (one of timestamp, date, integer, decimal)`,
      },
    ]);
    expect(await snapshot(api.db)).toEqual(before);
  });

  it('404 naming unknown ids, changing nothing; 400 without a selection, with both, or with a name field', async () => {
    const a = await create('bulk_404');
    const before = await snapshot(api.db);
    const missing = await call('POST', '/api/tables/bulk-edit', { body: { ids: [a.config_id, 987654], fields: { is_active: true } } });
    expect(missing.status).toBe(404);
    expect(missing.body.errors[0].message).toContain('987654');
    for (const body of [
      { fields: { is_active: true } },
      { ids: [a.config_id], filter: { active: true }, fields: { is_active: true } },
      { ids: [a.config_id], fields: { source_table_name: 'x' } },
      { ids: [a.config_id], fields: {} },
      { filter: {}, fields: { is_active: true } },
      { ids: [a.config_id], fields: { db_config_key: 'nope' } },
    ]) {
      expect((await call('POST', '/api/tables/bulk-edit', { body })).status, JSON.stringify(body)).toBe(400);
    }
    expect(await snapshot(api.db)).toEqual(before);
  });
});

describe('clone', () => {
  it('copies the configuration under new names, inactive and without a watermark, audited as clone', async () => {
    const original = await create('clone_src', {
      load_strategy: 'incremental', incremental_column: 'updated_at', incremental_type: 'timestamp', primary_key_cols: 'id', is_active: true,
    });
    await api.db.pool.query(`UPDATE control.table_control SET incremental_value = '2024-01-01' WHERE config_id = $1`, [original.config_id]);
    const res = await call('POST', `/api/tables/${original.config_id}/clone`, { body: { source_table_schema: 'archive', destination_table_name: 'clone_dst' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({
      source_table_catalog: 'sales', source_table_schema: 'archive', source_table_name: 'clone_src', destination_table_name: 'clone_dst',
      load_strategy: 'incremental', incremental_column: 'updated_at', primary_key_cols: 'id', is_active: false, incremental_value: null,
    });
    expect(res.body.config_id).not.toBe(original.config_id);
    expect(res.body.control_key).not.toBe(original.control_key);
    expect(await lastHistory(res.body.config_id)).toMatchObject({ change_type: 'INSERT', change_source: 'clone' });
  });

  it('refuses a clone that loads the same source into the same destination (409), an empty body (400), an unknown id (404)', async () => {
    const original = await create('clone_dup');
    const before = await snapshot(api.db);
    expect((await call('POST', `/api/tables/${original.config_id}/clone`, { body: { source_table_name: 'clone_dup' } })).status).toBe(409);
    expect((await call('POST', `/api/tables/${original.config_id}/clone`, { body: {} })).status).toBe(400);
    expect((await call('POST', `/api/tables/${original.config_id}/clone`, { body: { is_active: true } })).status).toBe(400);
    expect((await call('POST', '/api/tables/987654/clone', { body: { source_table_name: 'x' } })).status).toBe(404);
    expect(await snapshot(api.db)).toEqual(before);
  });
});

describe('status reset', () => {
  it('sets one row back to NULL, clearing its run, audited as status_reset', async () => {
    const row = await create('reset_one');
    await setStatus(row.config_id, 'Failed', 'run-1');
    const res = await call('POST', `/api/tables/${row.config_id}/reset-status`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ last_status: null, last_run_id: null, last_status_message: `Status reset by ${ADMIN.name}` });
    expect(await lastHistory(row.config_id)).toEqual({
      change_type: 'UPDATE', change_source: 'status_reset', changed_by: ADMIN.name,
      changed_fields: ['last_status', 'last_status_date_time', 'last_status_message', 'last_run_id'],
    });
    // Not a config change: the row's version stays.
    expect(res.body.last_modified_at).toBe(row.last_modified_at);
    expect((await call('POST', '/api/tables/987654/reset-status')).status).toBe(404);
  });

  it('resets many by ids or filter, all or none', async () => {
    const a = await create('reset_many_a');
    const b = await create('reset_many_b');
    await setStatus(a.config_id, 'Failed');
    await setStatus(b.config_id, 'Succeeded');
    const before = await snapshot(api.db);
    expect((await call('POST', '/api/tables/reset-status', { body: { ids: [a.config_id, 987654] } })).status).toBe(404);
    expect(await snapshot(api.db)).toEqual(before);
    const res = await call('POST', '/api/tables/reset-status', { body: { filter: { name: 'reset_many_' } } });
    expect(res.body).toEqual({ matched: 2, updated: 2, config_ids: [a.config_id, b.config_id] });
    expect((await lastHistory(b.config_id))!.change_source).toBe('status_reset');
  });
});

describe('toggle active', () => {
  it('flips is_active, or sets it; audited as toggle_active', async () => {
    const row = await create('toggle_me');
    const on = await call('POST', `/api/tables/${row.config_id}/toggle-active`);
    expect(on.body.is_active).toBe(true);
    expect(await lastHistory(row.config_id)).toEqual({
      change_type: 'UPDATE', change_source: 'toggle_active', changed_by: ADMIN.name, changed_fields: ['is_active', 'last_modified_at'],
    });
    const off = await call('POST', `/api/tables/${row.config_id}/toggle-active`, { body: { is_active: false } });
    expect(off.body.is_active).toBe(false);
    const stillOff = await call('POST', `/api/tables/${row.config_id}/toggle-active`, { body: { is_active: false } });
    expect(stillOff.body.last_modified_at).toBe(off.body.last_modified_at);
  });

  it('refuses to activate a row without a schedule', async () => {
    const row = await create('toggle_nocron', { load_cron: null });
    const res = await call('POST', `/api/tables/${row.config_id}/toggle-active`);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ field: 'load_cron', message: 'required for an active table (its schedule)' }]);
  });
});

describe('run now', () => {
  it('makes an active row due now and a finished status NULL, audited as run_now', async () => {
    const row = await create('run_now', { is_active: true });
    await setStatus(row.config_id, 'Failed');
    const res = await call('POST', `/api/tables/${row.config_id}/run-now`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.last_status).toBeNull();
    expect(Date.now() - Date.parse(res.body.next_load_date_time)).toBeLessThan(60_000);
    const { rows } = await api.db.pool.query(
      `SELECT count(*)::int AS due FROM control.table_control WHERE config_id = $1 AND next_load_date_time <= CURRENT_TIMESTAMP`,
      [row.config_id],
    );
    expect(rows[0].due).toBe(1);
    expect(await lastHistory(row.config_id)).toMatchObject({
      change_source: 'run_now', changed_fields: ['last_status', 'next_load_date_time', 'last_status_date_time', 'last_status_message'],
    });
  });

  it('refuses an inactive row, and one already queued or running (409)', async () => {
    const inactive = await create('run_inactive');
    expect((await call('POST', `/api/tables/${inactive.config_id}/run-now`)).status).toBe(409);
    const queued = await create('run_queued', { is_active: true });
    await setStatus(queued.config_id, 'Queued', 'run-9');
    const res = await call('POST', `/api/tables/${queued.config_id}/run-now`);
    expect(res.status).toBe(409);
    expect(res.body.errors[0].message).toContain('run-9');
    expect((await call('POST', '/api/tables/987654/run-now')).status).toBe(404);
  });
});

describe('rows already incomplete (legacy, or edited with plain SQL)', () => {
  it('can be deactivated and partly fixed, not activated nor made worse', async () => {
    const { rows } = await api.db.pool.query<{ config_id: number }>(
      `INSERT INTO control.table_control (db_config_key, source_table_catalog, source_table_schema, source_table_name, load_strategy, load_cron, is_active)
       VALUES ('sales_pg', 'sales', 'dbo', 'legacy', 'incremental', '0 * * * *', true) RETURNING config_id`,
    );
    const id = rows[0]!.config_id;
    // No destination, no watermark column: the row cannot load. Deactivating it is fine.
    expect((await call('POST', `/api/tables/${id}/toggle-active`)).body.is_active).toBe(false);
    expect((await call('POST', '/api/tables/bulk-edit', { body: { ids: [id], fields: { load_cron: '5 * * * *' } } })).status).toBe(200);
    const patched = await call('PATCH', `/api/tables/${id}`, { body: { destination_table_name: 'legacy' }, headers: { 'if-match': '*' } });
    expect(patched.status).toBe(200);
    // Activating asks for loads: the whole row must be valid.
    const activate = await call('POST', `/api/tables/${id}/toggle-active`);
    expect(activate.status).toBe(400);
    expect(activate.body.errors.map((e: { field: string }) => e.field)).toEqual(['incremental_column', 'incremental_type', 'primary_key_cols']);
    expect((await call('POST', '/api/tables/bulk-edit', { body: { ids: [id], fields: { is_active: true } } })).status).toBe(400);
    // An edit that breaks something new is refused.
    const worse = await call('PATCH', `/api/tables/${id}`, { body: { destination_table_name: null }, headers: { 'if-match': '*' } });
    expect(worse.status).toBe(400);
    expect(worse.body.errors).toEqual([{ field: 'destination_table_name', message: 'required (the table loads write to)' }]);
  });

  it('PUT keeps the watermark unless the body sets it', async () => {
    const row = await create('put_watermark', { load_strategy: 'append_only', incremental_column: 'id', incremental_type: 'integer' });
    await api.db.pool.query(`UPDATE control.table_control SET incremental_value = '42' WHERE config_id = $1`, [row.config_id]);
    const body = { ...BASE, source_table_name: 'put_watermark', destination_table_name: 'put_watermark', load_strategy: 'append_only', incremental_column: 'id', incremental_type: 'integer' };
    const kept = await call('PUT', `/api/tables/${row.config_id}`, { body: { ...body, load_cron: '7 * * * *' }, headers: { 'if-match': '*' } });
    expect(kept.body).toMatchObject({ incremental_value: '42', load_cron: '7 * * * *' });
    const reset = await call('PUT', `/api/tables/${row.config_id}`, { body: { ...body, incremental_value: null }, headers: { 'if-match': '*' } });
    expect(reset.body.incremental_value).toBeNull();
    expect((await lastHistory(row.config_id))!.changed_fields).toEqual(['load_cron', 'incremental_value', 'last_modified_at']);
  });
});
