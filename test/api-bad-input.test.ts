/**
 * Bad input gets a clear error and changes nothing (guarantee 7): a table of
 * requests, each with the status and fields it must get, the database compared
 * before and after.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { call, insertConnection, READER, setUpApi, snapshot, type ApiTestContext, type CallOptions } from './support/api.js';

let api: ApiTestContext;
let existing: { config_id: number; last_modified_at: string };

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
  existing = res.body;
});

type Case = [label: string, method: string, path: () => string, options: CallOptions, status: number, fields?: string[]];

const create = (fields: Record<string, unknown>): CallOptions => ({ body: { ...VALID, source_table_name: 'new_table', ...fields } });

const cases: Case[] = [
  ['a boolean as a string', 'POST', () => '/api/tables', create({ is_active: 'yes' }), 400, ['is_active']],
  ['a number as a string', 'POST', () => '/api/tables', create({ rolling_days: '7' }), 400, ['rolling_days']],
  ['a negative partition count', 'POST', () => '/api/tables', create({ num_partitions: -1 }), 400, ['num_partitions']],
  ['a fractional day count', 'POST', () => '/api/tables', create({ rolling_days: 1.5 }), 400, ['rolling_days']],
  ['an unknown field', 'POST', () => '/api/tables', create({ colour: 'red' }), 400, ['colour']],
  ['a runtime column', 'POST', () => '/api/tables', create({ last_status: 'Succeeded' }), 400, ['last_status']],
  ['the primary key', 'POST', () => '/api/tables', create({ config_id: 1 }), 400, ['config_id']],
  ['the computed control_key', 'POST', () => '/api/tables', create({ control_key: 'ab' }), 400, ['control_key']],
  ['a name longer than its column', 'POST', () => '/api/tables', create({ source_table_name: 'x'.repeat(256) }), 400, ['source_table_name']],
  ['a huge custom query', 'POST', () => '/api/tables', create({ query: 'SELECT 1 '.repeat(20_000) }), 400, ['query']],
  ['SQL in a table name', 'POST', () => '/api/tables', create({ source_table_name: 'orders; DROP TABLE control.table_control; --' }), 400, ['source_table_name']],
  ['a quote in a schema name', 'POST', () => '/api/tables', create({ destination_table_schema: 'raw"."x' }), 400, ['destination_table_schema']],
  ['SQL in a column list', 'POST', () => '/api/tables', create({ primary_key_cols: 'id) OR (1=1' }), 400, ['primary_key_cols']],
  ['a NUL character', 'POST', () => '/api/tables', create({ source_table_schema: 'db\u0000o' }), 400, ['source_table_schema']],
  ['a cron with a value out of range', 'POST', () => '/api/tables', create({ load_cron: '61 * * * *' }), 400, ['load_cron']],
  ['a cron with three fields', 'POST', () => '/api/tables', create({ load_cron: '* * *' }), 400, ['load_cron']],
  ['a cron with seven fields', 'POST', () => '/api/tables', create({ load_cron: '0 0 0 * * * 2030' }), 400, ['load_cron']],
  ['an unknown cron alias', 'POST', () => '/api/tables', create({ load_cron: '@often' }), 400, ['load_cron']],
  ['an unknown strategy', 'POST', () => '/api/tables', create({ load_strategy: 'magic' }), 400, ['load_strategy']],
  ['an unknown watermark type', 'POST', () => '/api/tables', create({ incremental_type: 'varchar' }), 400, ['incremental_type']],
  ['a bad load_full flag', 'POST', () => '/api/tables', create({ load_full: 'maybe' }), 400, ['load_full']],
  [
    'incremental without its fields', 'POST', () => '/api/tables', create({ load_strategy: 'incremental' }), 400,
    ['incremental_column', 'incremental_type', 'primary_key_cols'],
  ],
  ['append_only without a watermark type', 'POST', () => '/api/tables', create({ load_strategy: 'append_only', incremental_column: 'id' }), 400, ['incremental_type']],
  ['rolling with zero days', 'POST', () => '/api/tables', create({ load_strategy: 'rolling', rolling_column: 'd', rolling_days: 0 }), 400, ['rolling_days']],
  [
    'chunked_backfill without bounds', 'POST', () => '/api/tables', create({ load_strategy: 'chunked_backfill', partition_column: 'id' }), 400,
    ['lower_bound', 'upper_bound', 'num_partitions'],
  ],
  [
    'bounds the wrong way round', 'POST', () => '/api/tables',
    create({ load_strategy: 'chunked_backfill', partition_column: 'id', lower_bound: '100', upper_bound: '1', num_partitions: 4 }), 400, ['upper_bound'],
  ],
  ['partitions without a column', 'POST', () => '/api/tables', create({ num_partitions: 4 }), 400, ['partition_column', 'lower_bound', 'upper_bound']],
  ['an active table without a cron', 'POST', () => '/api/tables', create({ is_active: true, load_cron: null }), 400, ['load_cron']],
  ['a missing catalog (control_key would be NULL)', 'POST', () => '/api/tables', create({ source_table_catalog: null }), 400, ['source_table_catalog']],
  ['a missing source schema', 'POST', () => '/api/tables', { body: { ...VALID, source_table_schema: undefined, source_table_name: 'x' } }, 400, ['source_table_schema']],
  ['an empty name', 'POST', () => '/api/tables', create({ source_table_catalog: '' }), 400, ['source_table_catalog']],
  ['an unknown connection', 'POST', () => '/api/tables', create({ db_config_key: 'nope' }), 400, ['db_config_key']],
  ['a connection key with SQL', 'POST', () => '/api/tables', create({ db_config_key: "x' OR '1'='1" }), 400, ['db_config_key']],
  ['a body that is not JSON', 'POST', () => '/api/tables', { raw: '{"source_table_name": ' }, 400, ['body']],
  ['a body that is an array', 'POST', () => '/api/tables', { raw: '[1, 2]' }, 400, ['body']],
  ['a body that is too large', 'POST', () => '/api/tables', { raw: JSON.stringify({ query: 'x'.repeat(3 * 1024 * 1024) }) }, 413],
  ['an empty body', 'POST', () => '/api/tables', { raw: '' }, 400, ['source_table_catalog', 'source_table_schema', 'source_table_name', 'db_config_key', 'destination_table_name', 'load_strategy']],
  ['a body where none is taken', 'POST', () => `/api/tables/${existing.config_id}/run-now`, { body: { now: true } }, 400, ['body']],
  ['a PATCH of the wrong type', 'PATCH', () => `/api/tables/${existing.config_id}`, { body: { is_active: 1 }, headers: { 'if-match': '*' } }, 400, ['is_active']],
  ['a PATCH of a runtime column', 'PATCH', () => `/api/tables/${existing.config_id}`, { body: { last_status: null }, headers: { 'if-match': '*' } }, 400, ['last_status']],
  ['a PATCH with a malformed version', 'PATCH', () => `/api/tables/${existing.config_id}`, { body: { load_cron: '1 * * * *', last_modified_at: 'yesterday' } }, 400, ['last_modified_at']],
  ['a PATCH with a stale version', 'PATCH', () => `/api/tables/${existing.config_id}`, { body: { load_cron: '1 * * * *', last_modified_at: '2001-01-01T00:00:00Z' } }, 409],
  ['a bulk edit with string ids', 'POST', () => '/api/tables/bulk-edit', { body: { ids: ['1'], fields: { is_active: true } } }, 400, ['ids.0']],
  ['a bulk edit of an unknown field', 'POST', () => '/api/tables/bulk-edit', { body: { ids: [1], fields: { last_status: null } } }, 400, ['fields.last_status']],
  ['a zero id in the path', 'GET', () => '/api/tables/0', {}, 400, ['id']],
  ['a write by a reader', 'POST', () => '/api/tables', { ...create({}), as: READER }, 403],
  ['a write without a principal', 'POST', () => '/api/tables', { ...create({}), as: null }, 401],
  ['a promotion by an admin', 'POST', () => '/api/promotion/apply', { body: { config_ids: [1] } }, 403],
  ['a connection holding a secret value', 'PUT', () => '/api/connections/new_conn', {
    body: { db_type: 'postgresql', db_config_value: { host: 'h', port: 'p', database: 'd', user: 'u', password: 'Passw0rd!' } },
  }, 400, ['db_config_value.password']],
];

describe('bad input changes nothing', () => {
  it.each(cases)('%s', async (_label, method, path, options, status, fields) => {
    const before = await snapshot(api.db);
    const res = await call(method, path(), options);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    if (fields) expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(fields);
    for (const e of res.body.errors) expect(e.message.length).toBeGreaterThan(0);
    expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |node_modules|DatabaseError/);
    expect(await snapshot(api.db)).toEqual(before);
  });

  it('SQL in a search string is only searched for', async () => {
    const res = await call('GET', `/api/tables?name=${encodeURIComponent("' OR 1=1 --")}`, { as: READER });
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(0);
  });
});
