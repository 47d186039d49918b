/** Read views (the seed's Common Queries, a table's runs and history) and the health check. */
import { z } from 'zod';
import {
  countTablesByStatus,
  selectExecutionHistory,
  selectFailedLoads,
  selectLongQueued,
  selectLongRunning,
  selectReadyTables,
  selectRecentChanges,
} from '../../control/queries.js';
import { notFound } from '../errors.js';
import { defineOperation, json } from '../operation.js';
import { idParams, name, queryLimit, text } from '../schemas/common.js';
import { viewRows } from '../schemas/responses.js';
import { tableFreshness } from '../freshness.js';
import { asJson, checkHealth, selectChanges, selectHistoryOfTable, selectLoadsPerHour, selectRunsOfTable, tableExists } from '../views.js';

const tag = 'views';
const rows = { 200: { description: 'The rows', schema: viewRows } };
const limitQuery = (fallback: number) => z.strictObject({ limit: queryLimit(fallback, 1000) });
const minutesQuery = z.strictObject({ minutes: z.coerce.number().int().min(1).max(525_600).optional() });

export const readyViewOperation = defineOperation({
  name: 'views-ready',
  method: 'GET',
  route: 'views/ready',
  access: 'reader',
  tag,
  summary: 'Ready tables: active, due, not Queued or In Progress, oldest due first (the sensor query)',
  query: limitQuery(10),
  responses: rows,
  run: async ({ runtime }, { query }) => json(200, asJson(await selectReadyTables(runtime.pool, query.limit))),
});

export const failedViewOperation = defineOperation({
  name: 'views-failed',
  method: 'GET',
  route: 'views/failed',
  access: 'reader',
  tag,
  summary: 'Failed loads, most recent first (all of them, or the latest `limit`)',
  query: z.strictObject({ limit: z.coerce.number().int().min(1).max(100_000).optional() }),
  responses: rows,
  run: async ({ runtime }, { query }) => json(200, asJson(await selectFailedLoads(runtime.pool, query.limit))),
});

export const longQueuedViewOperation = defineOperation({
  name: 'views-long-queued',
  method: 'GET',
  route: 'views/long-queued',
  access: 'reader',
  tag,
  summary: 'Tables Queued for longer than `minutes` (default QUEUED_TIMEOUT_MINUTES)',
  query: minutesQuery,
  responses: rows,
  run: async ({ runtime }, { query }) =>
    json(200, asJson(await selectLongQueued(runtime.pool, query.minutes ?? runtime.settings.QUEUED_TIMEOUT_MINUTES))),
});

export const longRunningViewOperation = defineOperation({
  name: 'views-long-running',
  method: 'GET',
  route: 'views/long-running',
  access: 'reader',
  tag,
  summary: 'Tables In Progress for longer than `minutes` since the load started (default IN_PROGRESS_TIMEOUT_MINUTES)',
  query: minutesQuery,
  responses: rows,
  run: async ({ runtime }, { query }) =>
    json(200, asJson(await selectLongRunning(runtime.pool, query.minutes ?? runtime.settings.IN_PROGRESS_TIMEOUT_MINUTES))),
});

export const executionHistoryViewOperation = defineOperation({
  name: 'views-execution-history',
  method: 'GET',
  route: 'views/execution-history',
  access: 'reader',
  tag,
  summary: 'The latest runs of the table with this source_table_name (historical_metadata)',
  query: z.strictObject({ source_table_name: name(), limit: queryLimit(10, 1000) }),
  responses: rows,
  run: async ({ runtime }, { query }) => json(200, asJson(await selectExecutionHistory(runtime.pool, query.source_table_name, query.limit))),
});

export const recentChangesViewOperation = defineOperation({
  name: 'views-recent-changes',
  method: 'GET',
  route: 'views/recent-changes',
  access: 'reader',
  tag,
  summary: 'The latest configuration changes (table_control_history_vw)',
  query: limitQuery(20),
  responses: rows,
  run: async ({ runtime }, { query }) => json(200, asJson(await selectRecentChanges(runtime.pool, query.limit))),
});

export const statusCountsViewOperation = defineOperation({
  name: 'views-status-counts',
  method: 'GET',
  route: 'views/status-counts',
  access: 'reader',
  tag,
  summary: 'Active tables per status (null: never run or reset)',
  responses: rows,
  run: async ({ runtime }) => json(200, asJson(await countTablesByStatus(runtime.pool))),
});

export const loadsPerHourViewOperation = defineOperation({
  name: 'views-loads-per-hour',
  method: 'GET',
  route: 'views/loads-per-hour',
  access: 'reader',
  tag,
  summary: 'Runs ended per hour over the last `hours` hours (default 24), oldest first: loads, succeeded, failed, rows',
  query: z.strictObject({ hours: z.coerce.number().int().min(1).max(24 * 31).default(24) }),
  responses: rows,
  run: async ({ runtime }, { query }) => json(200, await selectLoadsPerHour(runtime.pool, query.hours)),
});

export const freshnessViewOperation = defineOperation({
  name: 'views-freshness',
  method: 'GET',
  route: 'views/freshness',
  access: 'reader',
  tag,
  summary:
    "Each active table's last success against its cron (in CRON_TIMEZONE): stale when it has not succeeded since the slot before its latest one. Stale first; counts of all",
  query: limitQuery(50),
  responses: {
    200: {
      description: 'Counts, and up to `limit` tables, stale first',
      schema: z.object({ tables: z.number().int(), stale: z.number().int(), items: viewRows }).meta({ id: 'Freshness' }),
    },
  },
  run: async ({ runtime }, { query }) => json(200, await tableFreshness(runtime.pool, runtime.settings.CRON_TIMEZONE, query.limit)),
});

export const changesViewOperation = defineOperation({
  name: 'views-changes',
  method: 'GET',
  route: 'views/changes',
  access: 'reader',
  tag,
  summary: 'The audit log: configuration changes across tables, newest first, filtered by changed_by, change_source or config_id',
  query: z.strictObject({
    changed_by: text(255).optional(),
    change_source: text(50).optional(),
    config_id: z.coerce.number().int().positive().optional(),
    limit: queryLimit(50, 1000),
    offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  }),
  responses: rows,
  run: async ({ runtime }, { query }) => json(200, await selectChanges(runtime.pool, query, query.limit, query.offset)),
});

export const tableRunsOperation = defineOperation({
  name: 'tables-runs',
  method: 'GET',
  route: 'tables/{id:int}/runs',
  access: 'reader',
  tag,
  summary: "One table's runs (historical_metadata), newest first",
  params: idParams,
  query: limitQuery(10),
  responses: rows,
  run: async ({ runtime }, { params, query }) => {
    if (!(await tableExists(runtime.pool, params.id))) throw notFound(`table ${params.id} not found`);
    return json(200, await selectRunsOfTable(runtime.pool, params.id, query.limit));
  },
});

export const tableHistoryOperation = defineOperation({
  name: 'tables-history',
  method: 'GET',
  route: 'tables/{id:int}/history',
  access: 'reader',
  tag,
  summary: "One table's configuration changes (table_control_history), newest first",
  params: idParams,
  query: limitQuery(50),
  responses: rows,
  run: async ({ runtime }, { params, query }) => {
    const rows = await selectHistoryOfTable(runtime.pool, params.id, query.limit);
    // A deleted table keeps its history; an id that never existed has none.
    if (rows.length === 0 && !(await tableExists(runtime.pool, params.id))) throw notFound(`table ${params.id} not found, and it has no history`);
    return json(200, rows);
  },
});

export const healthOperation = defineOperation({
  name: 'health',
  method: 'GET',
  route: 'health',
  access: 'public',
  tag: 'meta',
  summary: 'Whether the control database answers, and its migration level (no principal needed; no secrets)',
  responses: {
    200: { description: 'Healthy' },
    503: { description: 'The control database does not answer' },
  },
  run: async ({ runtime, correlationId }) => {
    const { health, reason } = await checkHealth(runtime.pool);
    if (reason) runtime.log.warn('health check failed', { correlation_id: correlationId, reason });
    return json(health.status === 'ok' ? 200 : 503, health, { 'cache-control': 'no-store' });
  },
});

export const viewOperations = [
  readyViewOperation,
  failedViewOperation,
  longQueuedViewOperation,
  longRunningViewOperation,
  executionHistoryViewOperation,
  recentChangesViewOperation,
  statusCountsViewOperation,
  loadsPerHourViewOperation,
  freshnessViewOperation,
  changesViewOperation,
  tableRunsOperation,
  tableHistoryOperation,
];
