/**
 * The API additions the admin console uses: sorting /tables, the bulk-edit
 * preview, loads per hour, freshness, the audit log view, a connection's
 * history and /me; and the committed console types in step with the live
 * OpenAPI document.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_TYPES_FILE, consoleTypesSource } from '../scripts/console-types.js';
import { consoleAsset } from '../shared/console/assets.js';
import { call, READER, setUpApi, type ApiTestContext } from './support/api.js';
import type { TestDatabase } from './support/db.js';

let ctx: ApiTestContext;
let db: TestDatabase;
const api = {
  call: (method: string, path: string, options: { body?: unknown; as?: 'reader' } = {}) =>
    call(method, `/api${path}`, { ...(options.body !== undefined ? { body: options.body } : {}), ...(options.as ? { as: READER } : {}) }),
};

beforeAll(async () => {
  ctx = await setUpApi();
  db = ctx.db;
  await db.pool.query(`
    BEGIN;
    SELECT set_config('dataloader.change_source', 'single_edit', true), set_config('dataloader.changed_by', 'alice', true);
    INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type) VALUES ('src', '{"host":"h","port":"p","database":"d","user":"u","password":"w"}', 'postgresql');
    INSERT INTO control.table_control (is_active, db_config_key, source_table_catalog, source_table_schema, source_table_name, destination_table_name, load_strategy, load_cron, last_status, created_at)
      VALUES (true, 'src', 'c', 's', 'bravo', 'bravo', 'full', '*/5 * * * *', 'Failed', now() - interval '1 day'),
             (true, 'src', 'c', 's', 'alpha', 'alpha', 'full', '*/5 * * * *', 'Succeeded', now() - interval '1 day'),
             (true, 'src', 'c', 's', 'charlie', 'charlie', 'full', '*/5 * * * *', NULL, now());
    COMMIT;`);
  await db.pool.query(`
    INSERT INTO control.historical_metadata (control_key, run_id, load_start_time, load_end_time, total_duration, rows_processed, load_status)
    SELECT control_key, 'r1', now() - interval '2 minutes', now() - interval '1 minute', 60, 40, 'Succeeded' FROM control.table_control WHERE source_table_name = 'alpha'
    UNION ALL
    SELECT control_key, 'r2', now() - interval '3 hours', now() - interval '3 hours', 1, 0, 'Failed' FROM control.table_control WHERE source_table_name = 'bravo'`);
});

describe('console API', () => {
  it('sorts /tables by a column either way, empty values last, and refuses an unknown sort', async () => {
    const asc = await api.call('GET', '/tables?sort=source_table_name');
    expect(asc.body.items.map((t: { source_table_name: string }) => t.source_table_name)).toEqual(['alpha', 'bravo', 'charlie']);
    const desc = await api.call('GET', '/tables?sort=last_status&order=desc&limit=2');
    expect(desc.body.items.map((t: { last_status: string }) => t.last_status)).toEqual(['Succeeded', 'Failed']);
    expect(desc.body.total).toBe(3);
    const bad = await api.call('GET', '/tables?sort=password');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('sort');
  });

  it('previews a bulk edit field by field and changes nothing; names the field a bad value breaks', async () => {
    const { rows: before } = await db.pool.query(`SELECT config_id, load_cron, last_modified_at FROM control.table_control ORDER BY config_id`);
    const preview = await api.call('POST', '/tables/bulk-edit/preview', { body: { ids: before.map((r) => r.config_id), fields: { load_cron: '0 * * * *' } } });
    expect(preview.status).toBe(200);
    expect(preview.body.matched).toBe(3);
    expect(preview.body.changed).toBe(3);
    expect(preview.body.errors).toEqual([]);
    expect(preview.body.rows[0].changes).toEqual([{ field: 'load_cron', before: '*/5 * * * *', after: '0 * * * *' }]);
    const { rows: after } = await db.pool.query(`SELECT config_id, load_cron, last_modified_at FROM control.table_control ORDER BY config_id`);
    expect(after).toEqual(before);

    const refused = await api.call('POST', '/tables/bulk-edit/preview', { body: { ids: [before[0].config_id, 999999], fields: { load_strategy: 'rolling' } } });
    expect(refused.status).toBe(200);
    const fields = refused.body.errors.map((e: { field: string }) => e.field);
    expect(fields).toContain('ids');
    expect(fields).toContain('fields.rolling_column');
    const reader = await api.call('POST', '/tables/bulk-edit/preview', { as: 'reader', body: { ids: [before[0].config_id], fields: { load_cron: '0 * * * *' } } });
    expect(reader.status).toBe(403);
  });

  it('counts loads and rows per hour over the last day, empty hours included', async () => {
    const res = await api.call('GET', '/views/loads-per-hour?hours=24');
    expect(res.status).toBe(200);
    expect(res.body).toHaveLength(24);
    expect(res.body.reduce((s: number, h: { loads: number }) => s + h.loads, 0)).toBe(2);
    expect(res.body.at(-1)).toMatchObject({ loads: 1, succeeded: 1, failed: 0, rows: 40 });
    expect(res.body.reduce((s: number, h: { failed: number }) => s + h.failed, 0)).toBe(1);
  });

  it('flags tables with no success since the slot before their latest, stale first', async () => {
    const res = await api.call('GET', '/views/freshness');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tables: 3, stale: 1 });
    expect(res.body.items[0]).toMatchObject({ source_table_name: 'bravo', stale: true });
    // alpha succeeded a minute ago; charlie was created after the slot it would have loaded by.
    expect(res.body.items.filter((r: { stale: boolean }) => !r.stale).map((r: { source_table_name: string }) => r.source_table_name).sort()).toEqual(['alpha', 'charlie']);
  });

  it('filters the audit log by user and change source', async () => {
    await api.call('POST', `/tables/${(await db.pool.query(`SELECT config_id FROM control.table_control WHERE source_table_name = 'alpha'`)).rows[0].config_id}/toggle-active`, { body: {} });
    const all = await api.call('GET', '/views/changes');
    expect(all.body).toHaveLength(4);
    const alice = await api.call('GET', '/views/changes?changed_by=alice');
    expect(alice.body).toHaveLength(3);
    expect(alice.body.every((c: { changed_by: string }) => c.changed_by === 'alice')).toBe(true);
    const toggles = await api.call('GET', '/views/changes?change_source=toggle_active');
    expect(toggles.body).toHaveLength(1);
    expect(toggles.body[0]).toMatchObject({ table_name: 'alpha', changed_fields: expect.arrayContaining(['is_active']) });
  });

  it("lists a connection's history, and 404 for an unknown connection", async () => {
    const res = await api.call('GET', '/connections/src/history');
    expect(res.status).toBe(200);
    expect(res.body[0]).toMatchObject({ db_config_key: 'src', change_type: 'INSERT', changed_by: 'alice' });
    expect((await api.call('GET', '/connections/nope/history')).status).toBe(404);
  });

  it('tells the caller what they may do', async () => {
    expect((await api.call('GET', '/me', { as: 'reader' })).body).toMatchObject({ can_write: false, can_promote: false });
    expect((await api.call('GET', '/me')).body).toMatchObject({ can_write: true });
  });

  it('keeps the committed console types in step with the live OpenAPI document', async () => {
    const live = await api.call('GET', '/openapi.json');
    expect(live.status).toBe(200);
    expect(readFileSync(CONSOLE_TYPES_FILE, 'utf8'), 'run `npm run console:types`').toBe(await consoleTypesSource(live.body));
  });

  it('serves only files inside the console folder', async () => {
    const root = new URL('./fixtures', import.meta.url).pathname;
    expect((await consoleAsset('../package.json', root)).status).toBe(404);
    expect((await consoleAsset('%2e%2e/%2e%2e/package.json', root)).status).toBe(404);
    expect((await consoleAsset('', '/nonexistent-console')).status).toBe(503);
  });
});
