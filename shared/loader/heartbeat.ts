/**
 * Keeps a running attempt's lease and bounds the run. Every
 * HEARTBEAT_INTERVAL_SECONDS it renews the lease (and stamps last_heartbeat_at
 * and the latest progress as the status message). It aborts the load, before
 * any further destination commit, when:
 *   lost        the run is no longer this attempt's (reaped, reset, taken over);
 *   deactivated an admin turned the row off while it ran;
 *   lease       it could not renew for so long that the lease would lapse
 *               within one more interval: the attempt stops itself before
 *               another attempt may take over (a frozen or cut-off process
 *               finds its lease gone the moment it runs again);
 *   deadline    the run reached IN_PROGRESS_TIMEOUT_MINUTES from its start.
 * `confirm()` renews the lease on the spot and is called right before every
 * destination commit: an attempt that lost its run never commits.
 */
import type pg from 'pg';
import { heartbeat, LeaseLostError, type Lease } from '../control/status.js';
import type { Logger } from '../log.js';

export type StopReason = 'lost' | 'deactivated' | 'lease' | 'deadline';

export interface Heartbeat {
  signal: AbortSignal;
  /** Why the attempt was stopped, once it was. */
  stopReason(): StopReason | undefined;
  /** Records the latest progress (sent with the next beat). */
  report(message: string): void;
  /** Renews the lease now; throws when the attempt no longer holds the run (or was stopped). */
  confirm(): Promise<void>;
  stop(): Promise<void>;
}

export interface HeartbeatOptions {
  intervalSeconds: number;
  /** When the run's deadline passes (epoch ms, this process's clock). */
  deadlineAt: number;
  now?: () => number;
}

export function startHeartbeat(pool: pg.Pool, lease: Lease, options: HeartbeatOptions, log: Logger): Heartbeat {
  const now = options.now ?? Date.now;
  const controller = new AbortController();
  const fields = { config_id: lease.configId, run_id: lease.runId, attempt: lease.owner };
  let reason: StopReason | undefined;
  let progress: string | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  // The lease lasts lease.seconds from a renewal that began at this local time.
  let renewedAt = now();
  const intervalMs = options.intervalSeconds * 1000;
  const stopWith = (why: StopReason) => {
    if (reason) return;
    reason = why;
    controller.abort(new Error(`attempt stopped: ${why}`));
  };
  const leaseRunningOut = () => now() >= renewedAt + lease.seconds * 1000 - intervalMs;
  const renew = async (): Promise<void> => {
    const began = now();
    const result = await heartbeat(pool, lease, progress);
    if (result === 'alive') {
      renewedAt = began;
      return;
    }
    log.warn(result === 'lost' ? 'run no longer this attempt\'s, stopping' : 'row deactivated while loading, stopping', fields);
    stopWith(result);
  };
  const beat = async () => {
    if (reason) return;
    if (leaseRunningOut()) {
      log.warn('lease not renewed in time, stopping before it lapses', fields);
      stopWith('lease');
      return;
    }
    try {
      await renew();
    } catch (error) {
      // The control database is unreachable: keep loading while the lease lasts.
      log.warn('heartbeat failed', { ...fields, error });
      if (leaseRunningOut()) stopWith('lease');
    }
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(beat);
  }, intervalMs);
  timer.unref();
  const deadline = setTimeout(() => {
    log.warn('run reached its deadline, cancelling its statements', fields);
    stopWith('deadline');
  }, Math.max(0, options.deadlineAt - now()));
  deadline.unref();
  return {
    signal: controller.signal,
    stopReason: () => reason,
    report: (message) => {
      progress = message;
    },
    confirm: async () => {
      if (!reason && leaseRunningOut()) stopWith('lease');
      if (reason) throw new LeaseLostError(lease, `the destination commit (attempt stopped: ${reason})`);
      await renew();
      if (reason) throw new LeaseLostError(lease, `the destination commit (attempt stopped: ${reason})`);
    },
    stop: async () => {
      clearInterval(timer);
      clearTimeout(deadline);
      await inFlight;
    },
  };
}
