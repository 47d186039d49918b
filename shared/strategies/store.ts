/**
 * The loader's own rows in the control database (migration 005): backfill
 * progress and check_and_load signatures. Both are written only after the
 * destination committed the rows they describe.
 */
import type { Queryable } from '../db/pool.js';

export async function selectCompletedChunks(db: Queryable, configId: number, planKey: string): Promise<Set<number>> {
  const { rows } = await db.query<{ chunk_index: number }>(
    `SELECT chunk_index FROM control.backfill_progress WHERE config_id = $1 AND plan_key = $2`,
    [configId, planKey],
  );
  return new Set(rows.map((r) => r.chunk_index));
}

export interface ChunkRecord {
  configId: number;
  planKey: string;
  index: number;
  count: number;
  lower: string | null;
  upper: string | null;
  rows: number;
  runId: string;
}

/** Records a finished chunk; recording it twice (a retried chunk) keeps the latest. */
export async function insertCompletedChunk(db: Queryable, chunk: ChunkRecord): Promise<void> {
  await db.query(
    `INSERT INTO control.backfill_progress (config_id, plan_key, chunk_index, chunk_count, lower_value, upper_value, rows_loaded, run_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (config_id, plan_key, chunk_index)
     DO UPDATE SET rows_loaded = EXCLUDED.rows_loaded, run_id = EXCLUDED.run_id, completed_at = CURRENT_TIMESTAMP`,
    [chunk.configId, chunk.planKey, chunk.index, chunk.count, chunk.lower, chunk.upper, chunk.rows, chunk.runId],
  );
}

/** Forgets a row's backfill progress (a forced reload starts the backfill over). */
export async function deleteBackfillProgress(db: Queryable, configId: number): Promise<void> {
  await db.query(`DELETE FROM control.backfill_progress WHERE config_id = $1`, [configId]);
}

export async function selectLoadSignature(db: Queryable, configId: number): Promise<string | undefined> {
  const { rows } = await db.query<{ signature: string }>(`SELECT signature FROM control.load_signature WHERE config_id = $1`, [configId]);
  return rows[0]?.signature;
}

export async function upsertLoadSignature(db: Queryable, configId: number, signature: string, runId: string): Promise<void> {
  await db.query(
    `INSERT INTO control.load_signature (config_id, signature, run_id) VALUES ($1, $2, $3)
     ON CONFLICT (config_id) DO UPDATE SET signature = EXCLUDED.signature, run_id = EXCLUDED.run_id, recorded_at = CURRENT_TIMESTAMP`,
    [configId, signature, runId],
  );
}
