/**
 * Read views: each of the seed's Common Queries (shared/control/queries.ts),
 * one table's runs and config history, and the health check.
 */
import type pg from 'pg';
import type { Queryable } from '../db/pool.js';
import { toJsonRow } from './format.js';

export type JsonRow = Record<string, unknown>;

export const asJson = <T extends object>(rows: T[]): JsonRow[] => rows.map((r) => toJsonRow(r as Record<string, unknown>));

/** One table's runs (historical_metadata, matched on its control_key), newest first. */
export async function selectRunsOfTable(db: Queryable, configId: number, limit: number): Promise<JsonRow[]> {
  const { rows } = await db.query(
    `SELECT h.id, encode(h.control_key, 'hex') AS control_key, h.run_id, h.load_queued_time, h.load_start_time,
            h.load_end_time, h.total_duration, h.source_catalog, h.source_schema, h.source_table, h.target_catalog,
            h.target_schema, h.target_table, h.rows_processed, h.load_status, h.log_message, h.created_at
       FROM control.historical_metadata h
       JOIN control.table_control t ON t.control_key = h.control_key
      WHERE t.config_id = $1
      ORDER BY h.load_start_time DESC NULLS LAST, h.id DESC
      LIMIT $2`,
    [configId, limit],
  );
  return asJson(rows);
}

/** One table's configuration history (table_control_history), newest first. */
export async function selectHistoryOfTable(db: Queryable, configId: number, limit: number): Promise<JsonRow[]> {
  const { rows } = await db.query(
    `SELECT history_id, config_id, encode(control_key, 'hex') AS control_key, changed_at, changed_by, change_type,
            change_source, old_values, new_values, changed_fields
       FROM control.table_control_history
      WHERE config_id = $1
      ORDER BY history_id DESC
      LIMIT $2`,
    [configId, limit],
  );
  return asJson(rows);
}

export async function tableExists(db: Queryable, configId: number): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM control.table_control WHERE config_id = $1`, [configId]);
  return rowCount === 1;
}

export interface Health {
  status: 'ok' | 'unavailable';
  database: 'reachable' | 'unreachable';
  /** The last migration applied to the control database. */
  migration?: string | null;
  checked_at: string;
}

/** How long the health check waits for the control database. */
const HEALTH_TIMEOUT_MS = 5_000;

/** Whether the control database answers, and its migration level. Never includes connection details. */
export async function checkHealth(pool: pg.Pool): Promise<{ health: Health; reason?: string }> {
  const checkedAt = new Date().toISOString();
  let timer: NodeJS.Timeout | undefined;
  try {
    const query = pool.query<{ migration: string | null }>(
      `SELECT (SELECT name FROM control.schema_migrations ORDER BY id DESC LIMIT 1) AS migration`,
    );
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
    });
    const { rows } = await Promise.race([query, timeout]);
    return { health: { status: 'ok', database: 'reachable', migration: rows[0]?.migration ?? null, checked_at: checkedAt } };
  } catch (error) {
    return {
      health: { status: 'unavailable', database: 'unreachable', checked_at: checkedAt },
      reason: error instanceof Error ? error.message : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}

export interface HourlyLoads {
  hour: string;
  loads: number;
  succeeded: number;
  failed: number;
  rows: number;
}

/** Runs ended per hour over the last `hours` hours (oldest first, empty hours included): loads, outcomes and rows. */
export async function selectLoadsPerHour(db: Queryable, hours: number): Promise<HourlyLoads[]> {
  const { rows } = await db.query<{ hour: Date; loads: number; succeeded: number; failed: number; rows: string }>(
    `WITH hours AS (
       SELECT generate_series(date_trunc('hour', CURRENT_TIMESTAMP::timestamp) - make_interval(hours => $1 - 1),
                              date_trunc('hour', CURRENT_TIMESTAMP::timestamp), interval '1 hour') AS hour
     ), runs AS (
       SELECT date_trunc('hour', h.load_end_time) AS hour,
              count(*)::int AS loads,
              count(*) FILTER (WHERE h.load_status = 'Succeeded')::int AS succeeded,
              count(*) FILTER (WHERE h.load_status = 'Failed')::int AS failed,
              COALESCE(sum(h.rows_processed), 0) AS rows
         FROM control.historical_metadata h
        WHERE h.load_end_time >= date_trunc('hour', CURRENT_TIMESTAMP::timestamp) - make_interval(hours => $1 - 1)
        GROUP BY 1
     )
     SELECT hours.hour, COALESCE(runs.loads, 0) AS loads, COALESCE(runs.succeeded, 0) AS succeeded,
            COALESCE(runs.failed, 0) AS failed, COALESCE(runs.rows, 0)::text AS rows
       FROM hours LEFT JOIN runs ON runs.hour = hours.hour
      ORDER BY hours.hour`,
    [hours],
  );
  return rows.map((r) => ({ hour: r.hour.toISOString(), loads: r.loads, succeeded: r.succeeded, failed: r.failed, rows: Number(r.rows) }));
}

export interface TableLastSuccess {
  config_id: number;
  source_table_name: string | null;
  load_cron: string | null;
  last_status: string | null;
  created_at: Date | null;
  last_success: Date | null;
}

/** Every active table with its cron and the end of its last successful run. */
export async function selectLastSuccesses(db: Queryable): Promise<TableLastSuccess[]> {
  const { rows } = await db.query<TableLastSuccess>(
    `SELECT t.config_id, t.source_table_name, t.load_cron, t.last_status, t.created_at, s.last_success
       FROM control.table_control t
       LEFT JOIN LATERAL (
         SELECT max(h.load_end_time) AS last_success
           FROM control.historical_metadata h
          WHERE h.control_key = t.control_key AND h.load_status = 'Succeeded'
       ) s ON true
      WHERE t.is_active = true`,
  );
  return rows;
}

export interface ChangeFilter {
  changed_by?: string | undefined;
  change_source?: string | undefined;
  config_id?: number | undefined;
}

/** Configuration changes across tables, newest first, filtered by user, source or table. */
export async function selectChanges(db: Queryable, filter: ChangeFilter, limit: number, offset: number): Promise<JsonRow[]> {
  const { rows } = await db.query(
    `SELECT history_id, config_id, table_name, change_type, change_source, changed_by, changed_at, changed_fields, old_values, new_values
       FROM control.table_control_history_vw
      WHERE ($1::text IS NULL OR changed_by = $1) AND ($2::text IS NULL OR change_source = $2)
        AND ($3::bigint IS NULL OR config_id = $3)
      ORDER BY history_id DESC
      LIMIT $4 OFFSET $5`,
    [filter.changed_by ?? null, filter.change_source ?? null, filter.config_id ?? null, limit, offset],
  );
  return asJson(rows);
}
