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
