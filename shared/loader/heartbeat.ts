/**
 * Keeps a running load's row alive: every HEARTBEAT_INTERVAL_SECONDS it stamps
 * last_heartbeat_at (and the latest progress as the status message). When the
 * row is no longer this run's (reaped, reset, taken over after a presumed
 * crash) it aborts the load before its destination commit.
 */
import type pg from 'pg';
import { heartbeat } from '../control/status.js';
import type { Logger } from '../log.js';

export interface Heartbeat {
  signal: AbortSignal;
  /** Records the latest progress (sent with the next beat). */
  report(message: string): void;
  stop(): Promise<void>;
}

export function startHeartbeat(pool: pg.Pool, configId: number, runId: string, intervalSeconds: number, log: Logger): Heartbeat {
  const controller = new AbortController();
  let progress: string | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const beat = async () => {
    try {
      const alive = await heartbeat(pool, configId, runId, progress);
      if (!alive) {
        log.warn('run no longer ours, stopping', { config_id: configId, run_id: runId });
        controller.abort();
      }
    } catch (error) {
      // The control database is unreachable: keep loading; a stale heartbeat only
      // lets a redelivered message take over, whose writes are idempotent.
      log.warn('heartbeat failed', { config_id: configId, run_id: runId, error });
    }
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(beat);
  }, intervalSeconds * 1000);
  timer.unref();
  return {
    signal: controller.signal,
    report: (message) => {
      progress = message;
    },
    stop: async () => {
      clearInterval(timer);
      await inFlight;
    },
  };
}
