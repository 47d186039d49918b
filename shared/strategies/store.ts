/**
 * The loader's own rows in the control database (migration 005): backfill
 * progress and check_and_load signatures. Both are written only after the
 * destination committed the rows they describe.
 *
 * Strategies reach them through a ProgressStore, not the control pool: every
 * write carries the attempt's lease and commits only while the attempt still
 * holds the run (an attempt that was taken over writes nothing).
 */
import type pg from 'pg';
import { assertLeaseHeld, markRuntimeWrite, type Lease } from '../control/status.js';
import type { Queryable } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';

/** What a strategy may read and write in the control database, fenced by its attempt's lease. */
export interface ProgressStore {
  completedChunks(planKey: string): Promise<Set<number>>;
  recordChunk(chunk: Omit<ChunkRecord, 'configId' | 'runId'>): Promise<void>;
  /** Forgets the backfill's progress (a forced reload starts over). */
  resetBackfill(): Promise<void>;
  signature(): Promise<string | undefined>;
  recordSignature(signature: string): Promise<void>;
}

/** The progress store of one attempt: reads plain, writes only while `lease` holds the run. */
export function createProgressStore(pool: pg.Pool, lease: Lease): ProgressStore {
  const fenced = (what: string, write: (client: pg.ClientBase) => Promise<void>) =>
    withTransaction(pool, async (client) => {
      await markRuntimeWrite(client);
      await assertLeaseHeld(client, lease, what);
      await write(client);
    });
  return {
    completedChunks: (planKey) => selectCompletedChunks(pool, lease.configId, planKey),
    recordChunk: (chunk) =>
      fenced(`backfill chunk ${chunk.index}`, (client) => insertCompletedChunk(client, { ...chunk, configId: lease.configId, runId: lease.runId })),
    resetBackfill: () => fenced('the backfill reset', (client) => deleteBackfillProgress(client, lease.configId)),
    signature: () => selectLoadSignature(pool, lease.configId),
    recordSignature: (signature) =>
      fenced('the load signature', (client) => upsertLoadSignature(client, lease.configId, signature, lease.runId)),
  };
}

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
