/**
 * The reaper: nothing waits forever. A run Queued longer than
 * QUEUED_TIMEOUT_MINUTES (counted from when it was queued) or In Progress with
 * no sign of life for IN_PROGRESS_TIMEOUT_MINUTES becomes Failed, with a
 * message naming the timeout and a historical_metadata row.
 *
 * The heartbeat rule: a running load refreshes last_heartbeat_at every
 * HEARTBEAT_INTERVAL_SECONDS (shared/control/status.ts `heartbeat`), and the
 * running clock counts from COALESCE(last_heartbeat_at, last_load_date_time).
 * So a load that is alive is never reaped however long it runs, and a load
 * whose process died is reaped IN_PROGRESS_TIMEOUT_MINUTES after its last
 * heartbeat. Once reaped, the loader's next heartbeat returns false (the run is
 * no longer the row's), and it stops.
 *
 * Reapers may run at once (scale-out, overlapping timers): rows are taken FOR
 * UPDATE SKIP LOCKED and re-checked on their latest version, so each run is
 * reaped once (reapTimedOutRuns).
 */
import type pg from 'pg';
import { reapTimedOutRuns, type ReapedRun } from '../control/status.js';
import type { Logger } from '../log.js';
import type { Settings } from '../settings.js';

export type ReaperSettings = Pick<Settings, 'QUEUED_TIMEOUT_MINUTES' | 'IN_PROGRESS_TIMEOUT_MINUTES'>;

export interface ReaperDeps {
  pool: pg.Pool;
  settings: ReaperSettings;
  log?: Logger;
  /** Rows reaped per transaction (default 500). */
  batchSize?: number;
}

export interface ReaperSummary {
  /** Runs failed after timing out while Queued. */
  queued: number;
  /** Runs failed after timing out In Progress. */
  inProgress: number;
  durationMs: number;
}

export async function runReaper(deps: ReaperDeps): Promise<ReaperSummary> {
  const { pool, settings, log } = deps;
  const batchSize = deps.batchSize ?? 500;
  const started = Date.now();
  const summary: ReaperSummary = { queued: 0, inProgress: 0, durationMs: 0 };
  for (;;) {
    const reaped: ReapedRun[] = await reapTimedOutRuns(pool, {
      queuedTimeoutMinutes: settings.QUEUED_TIMEOUT_MINUTES,
      inProgressTimeoutMinutes: settings.IN_PROGRESS_TIMEOUT_MINUTES,
      batchSize,
    });
    for (const run of reaped) {
      if (run.timedOut === 'Queued') summary.queued++;
      else summary.inProgress++;
      log?.warn('reaper: run timed out', { config_id: run.configId, run_id: run.runId ?? undefined, status: run.timedOut });
    }
    if (reaped.length < batchSize) break;
  }
  summary.durationMs = Date.now() - started;
  return summary;
}
