/** The connections resource: control.table_control_dbconfig rows. */
import { connectionHistory, getConnection, listConnections, patchConnection, putConnection, removeConnection } from '../connections/service.js';
import { etagOf, parseIfMatch } from '../format.js';
import { defineOperation, json } from '../operation.js';
import { connectionRow } from '../schemas/responses.js';
import { connectionParams, deleteConnectionQuery, patchConnectionBody, putConnectionBody } from '../schemas/connections.js';
import { queryLimit } from '../schemas/common.js';
import { viewRows } from '../schemas/responses.js';
import { z } from 'zod';

const tag = 'connections';

export const listConnectionsOperation = defineOperation({
  name: 'connections-list',
  method: 'GET',
  route: 'connections',
  access: 'reader',
  tag,
  summary: 'List connections (secret names only, never values)',
  responses: { 200: { description: 'Every connection', schema: z.array(connectionRow) } },
  run: async ({ runtime }) => json(200, await listConnections(runtime.pool)),
});

export const getConnectionOperation = defineOperation({
  name: 'connections-get',
  method: 'GET',
  route: 'connections/{key}',
  access: 'reader',
  tag,
  summary: 'Get one connection',
  params: connectionParams,
  responses: { 200: { description: 'The connection', schema: connectionRow } },
  run: async ({ runtime }, { params }) => {
    const row = await getConnection(runtime.pool, params.key);
    return json(200, row, { etag: etagOf(row.last_modified_at) });
  },
});

export const putConnectionOperation = defineOperation({
  name: 'connections-put',
  method: 'PUT',
  route: 'connections/{key}',
  access: 'admin',
  tag,
  summary: 'Create or replace a connection (If-Match or last_modified_at, when given, must match)',
  ifMatch: 'optional',
  params: connectionParams,
  body: putConnectionBody,
  responses: {
    200: { description: 'Replaced', schema: connectionRow },
    201: { description: 'Created', schema: connectionRow },
  },
  run: async ({ runtime, user, request }, { params, body }) => {
    const ifMatch = request.header('if-match');
    const expected = ifMatch
      ? parseIfMatch(ifMatch)
      : body.last_modified_at !== undefined
        ? { any: false as const, versions: [body.last_modified_at] }
        : undefined;
    const { row, created } = await putConnection(runtime.pool, user, params.key, body, expected);
    return json(created ? 201 : 200, row, {
      etag: etagOf(row.last_modified_at),
      ...(created ? { location: `/api/connections/${encodeURIComponent(row.db_config_key)}` } : {}),
    });
  },
});

export const deleteConnectionOperation = defineOperation({
  name: 'connections-delete',
  method: 'DELETE',
  route: 'connections/{key}',
  access: 'admin',
  tag,
  summary: 'Delete a connection; refused with the tables that use it unless ?force=true',
  params: connectionParams,
  query: deleteConnectionQuery,
  responses: { 204: { description: 'Deleted' } },
  run: async ({ runtime, user }, { params, query }) => {
    await removeConnection(runtime.pool, runtime.settings, user, params.key, query.force ?? false);
    return { status: 204 };
  },
});

export const patchConnectionOperation = defineOperation({
  name: 'connections-patch',
  method: 'PATCH',
  route: 'connections/{key}',
  access: 'admin',
  tag,
  summary: 'Change some fields of a connection (db_config_value merged key by key; null removes an optional key), based on its version when given; audited as single_edit',
  ifMatch: 'optional',
  params: connectionParams,
  body: patchConnectionBody,
  responses: { 200: { description: 'The connection after the change', schema: connectionRow } },
  run: async ({ runtime, user, request }, { params, body }) => {
    const { last_modified_at: bodyVersion, ...changes } = body;
    const ifMatch = request.header('if-match');
    const expected = ifMatch ? parseIfMatch(ifMatch) : bodyVersion !== undefined ? { any: false as const, versions: [bodyVersion] } : undefined;
    const row = await patchConnection(runtime.pool, user, params.key, changes, expected);
    return json(200, row, { etag: etagOf(row.last_modified_at) });
  },
});

export const connectionHistoryOperation = defineOperation({
  name: 'connections-history',
  method: 'GET',
  route: 'connections/{key}/history',
  access: 'reader',
  tag,
  summary: "One connection's changes (table_control_dbconfig_history), newest first; secret names only, never values",
  params: connectionParams,
  query: z.strictObject({ limit: queryLimit(50, 1000) }),
  responses: { 200: { description: 'The rows', schema: viewRows } },
  run: async ({ runtime }, { params, query }) => json(200, await connectionHistory(runtime.pool, params.key, query.limit)),
});

export const connectionOperations = [
  listConnectionsOperation,
  getConnectionOperation,
  putConnectionOperation,
  patchConnectionOperation,
  deleteConnectionOperation,
  connectionHistoryOperation,
];
