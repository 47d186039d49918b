/** The tables resource: control.table_control rows. */
import { bulkEditTables, cloneTable, resetTablesStatus, resetTableStatus, runTableNow, toggleTableActive } from '../tables/actions.js';
import type { Settings } from '../../settings.js';
import { withLookbackInForce } from '../tables/lookback.js';
import { createTable, deleteTableConfig, getTable, listTables, updateTableConfig, type ExpectedVersion } from '../tables/edit.js';
import { etagOf, parseIfMatch, type ApiTableRow } from '../format.js';
import { defineOperation, json, type ApiRequest, type ApiResponse } from '../operation.js';
import { idParams } from '../schemas/common.js';
import { bulkResult, tablePage, tableRow } from '../schemas/responses.js';
import {
  bulkEditBody,
  cloneTableBody,
  createTableBody,
  listTablesQuery,
  patchTableBody,
  putTableBody,
  resetStatusBody,
  toggleActiveBody,
  type TableChanges,
} from '../schemas/tables.js';

const tag = 'tables';

/** A table row as every operation returns it: with its lookback in force. */
function rowResponse(settings: Settings, status: number, row: ApiTableRow, extra: Record<string, string> = {}): ApiResponse {
  return json(status, withLookbackInForce(row, settings.INCREMENTAL_LOOKBACK_MINUTES), { etag: etagOf(row.last_modified_at), ...extra });
}

/** The version a write is based on: If-Match wins over last_modified_at in the body. */
function expectedVersion(request: ApiRequest, bodyVersion: string | null | undefined): ExpectedVersion | undefined {
  const ifMatch = request.header('if-match');
  if (ifMatch) return parseIfMatch(ifMatch);
  if (bodyVersion !== undefined) return { any: false, versions: [bodyVersion] };
  return undefined;
}

export const listTablesOperation = defineOperation({
  name: 'tables-list',
  method: 'GET',
  route: 'tables',
  access: 'reader',
  tag,
  summary: 'List tables, filtered by status, active, connection, strategy or name, a page at a time',
  query: listTablesQuery,
  responses: { 200: { description: 'One page of rows, in config_id order', schema: tablePage } },
  run: async ({ runtime }, { query }) => {
    const page = await listTables(runtime.pool, query);
    return json(200, { ...page, items: page.items.map((row) => withLookbackInForce(row, runtime.settings.INCREMENTAL_LOOKBACK_MINUTES)) });
  },
});

export const getTableOperation = defineOperation({
  name: 'tables-get',
  method: 'GET',
  route: 'tables/{id:int}',
  access: 'reader',
  tag,
  summary: 'Get one table (ETag: its version)',
  params: idParams,
  responses: { 200: { description: 'The row', schema: tableRow } },
  run: async ({ runtime }, { params }) =>
    rowResponse(runtime.settings, 200, await getTable(runtime.pool, params.id)),
});

export const createTableOperation = defineOperation({
  name: 'tables-create',
  method: 'POST',
  route: 'tables',
  access: 'admin',
  tag,
  summary: 'Create a table (audited as single_edit)',
  body: createTableBody,
  responses: { 201: { description: 'The new row', schema: tableRow } },
  run: async ({ runtime, user }, { body }) => {
    const row = await createTable(runtime.pool, user, body as TableChanges);
    return rowResponse(runtime.settings, 201, row, { location: `/api/tables/${row.config_id}` });
  },
});

export const patchTableOperation = defineOperation({
  name: 'tables-patch',
  method: 'PATCH',
  route: 'tables/{id:int}',
  access: 'admin',
  tag,
  summary: 'Change some fields of a table, based on its version (If-Match or last_modified_at); audited as single_edit',
  params: idParams,
  body: patchTableBody,
  responses: { 200: { description: 'The row after the change', schema: tableRow } },
  run: async ({ runtime, user, request }, { params, body }) => {
    const { last_modified_at: version, ...fields } = body;
    const row = await updateTableConfig(runtime.pool, user, params.id, fields as TableChanges, expectedVersion(request, version), false);
    return rowResponse(runtime.settings, 200, row);
  },
});

export const putTableOperation = defineOperation({
  name: 'tables-put',
  method: 'PUT',
  route: 'tables/{id:int}',
  access: 'admin',
  tag,
  summary: "Replace a table's whole configuration, based on its version; audited as single_edit",
  params: idParams,
  body: putTableBody,
  responses: { 200: { description: 'The row after the change', schema: tableRow } },
  run: async ({ runtime, user, request }, { params, body }) => {
    const { last_modified_at: version, ...fields } = body;
    const row = await updateTableConfig(runtime.pool, user, params.id, fields as TableChanges, expectedVersion(request, version), true);
    return rowResponse(runtime.settings, 200, row);
  },
});

export const deleteTableOperation = defineOperation({
  name: 'tables-delete',
  method: 'DELETE',
  route: 'tables/{id:int}',
  access: 'admin',
  tag,
  summary: 'Delete a table (an If-Match, when sent, must match); audited as single_edit',
  params: idParams,
  responses: { 204: { description: 'Deleted' } },
  run: async ({ runtime, user, request }, { params }) => {
    await deleteTableConfig(runtime.pool, user, params.id, expectedVersion(request, undefined));
    return { status: 204 };
  },
});

export const bulkEditOperation = defineOperation({
  name: 'tables-bulk-edit',
  method: 'POST',
  route: 'tables/bulk-edit',
  access: 'admin',
  tag,
  summary: 'Set the same fields on tables chosen by ids or a filter, all or none; audited as bulk_edit',
  body: bulkEditBody,
  responses: { 200: { description: 'What changed', schema: bulkResult } },
  run: async ({ runtime, user }, { body }) => json(200, await bulkEditTables(runtime.pool, user, body)),
});

export const cloneTableOperation = defineOperation({
  name: 'tables-clone',
  method: 'POST',
  route: 'tables/{id:int}/clone',
  access: 'admin',
  tag,
  summary: 'Copy a table under new source or destination names; the copy starts inactive, without a watermark (audited as clone)',
  params: idParams,
  body: cloneTableBody,
  responses: { 201: { description: 'The new row', schema: tableRow } },
  run: async ({ runtime, user }, { params, body }) => {
    const row = await cloneTable(runtime.pool, user, params.id, body as TableChanges);
    return rowResponse(runtime.settings, 201, row, { location: `/api/tables/${row.config_id}` });
  },
});

export const resetStatusOperation = defineOperation({
  name: 'tables-reset-status',
  method: 'POST',
  route: 'tables/{id:int}/reset-status',
  access: 'admin',
  tag,
  summary: "Set a table's status back to NULL (retry); audited as status_reset",
  params: idParams,
  responses: { 200: { description: 'The row after the reset', schema: tableRow } },
  run: async ({ runtime, user }, { params }) => rowResponse(runtime.settings, 200, await resetTableStatus(runtime.pool, user, params.id)),
});

export const resetStatusManyOperation = defineOperation({
  name: 'tables-reset-status-many',
  method: 'POST',
  route: 'tables/reset-status',
  access: 'admin',
  tag,
  summary: 'Set the status of tables chosen by ids or a filter back to NULL, all or none; audited as status_reset',
  body: resetStatusBody,
  responses: { 200: { description: 'What changed', schema: bulkResult } },
  run: async ({ runtime, user }, { body }) => json(200, await resetTablesStatus(runtime.pool, user, body)),
});

export const toggleActiveOperation = defineOperation({
  name: 'tables-toggle-active',
  method: 'POST',
  route: 'tables/{id:int}/toggle-active',
  access: 'admin',
  tag,
  summary: 'Flip is_active, or set it with {"is_active": true|false}; audited as toggle_active',
  params: idParams,
  body: toggleActiveBody,
  responses: { 200: { description: 'The row after the change', schema: tableRow } },
  run: async ({ runtime, user }, { params, body }) => rowResponse(runtime.settings, 200, await toggleTableActive(runtime.pool, user, params.id, body.is_active)),
});

export const runNowOperation = defineOperation({
  name: 'tables-run-now',
  method: 'POST',
  route: 'tables/{id:int}/run-now',
  access: 'admin',
  tag,
  summary: 'Make an active table due now (the next sensor tick queues it); a finished status goes back to NULL; audited as run_now',
  params: idParams,
  responses: { 200: { description: 'The row, due now', schema: tableRow } },
  run: async ({ runtime, user }, { params }) => rowResponse(runtime.settings, 200, await runTableNow(runtime.pool, user, params.id)),
});

export const tableOperations = [
  listTablesOperation,
  getTableOperation,
  createTableOperation,
  patchTableOperation,
  putTableOperation,
  deleteTableOperation,
  bulkEditOperation,
  cloneTableOperation,
  resetStatusOperation,
  resetStatusManyOperation,
  toggleActiveOperation,
  runNowOperation,
];
