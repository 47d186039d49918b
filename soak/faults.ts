/**
 * Faults injected while the soak runs, one every `everySeconds`, in turn:
 *   terminate-connections: pg_terminate_backend on every backend of the source
 *     and destination databases except the soak's own writers (loads in flight
 *     lose their connections mid-read or mid-write);
 *   kill-host: SIGKILL of the host process (its loader workers, sensor and
 *     reaper with it), then a fresh start;
 *   restart-control-db: the control database's server stopped and started on
 *     the same data directory and port.
 * Also a monitor: every few seconds, how many rows are Queued or In Progress,
 * and how many of them are past their timeout (plus the reaper's period and a
 * margin), which must stay zero.
 */
import pg from 'pg';
import type { Logger } from '../shared/log.js';

export interface FaultEvent {
  at: string;
  kind: string;
  detail: string;
  durationMs: number;
}

export interface FaultTargets {
  dataServerUrl: string;
  databases: string[];
  killHost(): Promise<void>;
  restartControl(downMs: number): Promise<boolean>;
}

const KINDS = ['terminate-connections', 'kill-host', 'restart-control-db'] as const;

const LOADER_BACKENDS = `datname = ANY($1) AND pid <> pg_backend_pid() AND backend_type = 'client backend'
          AND application_name NOT IN ('soak-writer', 'soak-faults')`;

/**
 * Waits (up to `timeoutMs`) until loads are running, seen as the loader's
 * connections to the source or destination, so that a fault hits loads in
 * flight rather than an idle moment between cron slots.
 */
async function waitForLoads(serverUrl: string, databases: string[], timeoutMs: number): Promise<boolean> {
  const admin = new pg.Client({ connectionString: serverUrl, application_name: 'soak-faults' });
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { rows } = await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${LOADER_BACKENDS} AND state = 'active'`, [databases]);
      if (rows[0]!.n > 0) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return false;
  } finally {
    await admin.end();
  }
}

async function terminateBackends(serverUrl: string, databases: string[]): Promise<number> {
  const admin = new pg.Client({ connectionString: serverUrl, application_name: 'soak-faults' });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE ${LOADER_BACKENDS}`,
      [databases],
    );
    return rows[0]!.n;
  } finally {
    await admin.end();
  }
}

export interface Faults {
  stop(): Promise<FaultEvent[]>;
}

export function startFaults(targets: FaultTargets, everySeconds: number, log: Logger): Faults {
  const events: FaultEvent[] = [];
  let stopped = false;
  let turn = 0;
  let running: Promise<void> = Promise.resolve();
  const inject = async () => {
    const kind = KINDS[turn++ % KINDS.length]!;
    let detail: string;
    let started = Date.now();
    try {
      const busy = await waitForLoads(targets.dataServerUrl, targets.databases, Math.min(30_000, everySeconds * 500));
      started = Date.now();
      if (kind === 'terminate-connections') detail = `${await terminateBackends(targets.dataServerUrl, targets.databases)} loader backends terminated`;
      else if (kind === 'kill-host') {
        await targets.killHost();
        detail = 'host killed (SIGKILL) and started again';
      } else detail = (await targets.restartControl(3_000)) ? 'control database down 3 s, started again' : 'skipped: external server';
      detail += busy ? ', loads running' : ', no load was running';
    } catch (error) {
      detail = `fault failed: ${(error as Error).message}`;
    }
    const event = { at: new Date(started).toISOString(), kind, detail, durationMs: Date.now() - started };
    events.push(event);
    log.info('fault injected', { kind, detail, ms: event.durationMs });
  };
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(inject);
  }, everySeconds * 1000);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
      return events;
    },
  };
}

export interface MonitorSample {
  queued: number;
  inProgress: number;
  /** Rows past their timeout (plus margin): the reaper should have failed them. */
  stuck: number;
}

export interface Monitor {
  stop(): { samples: number; unreachable: number; maxQueued: number; maxInProgress: number; maxStuck: number };
}

/** Samples the control database every `everyMs`; a failed sample (database down) is counted, not fatal. */
export function startMonitor(pool: pg.Pool, timeouts: { queuedMinutes: number; inProgressMinutes: number; marginSeconds: number }, everyMs = 5_000): Monitor {
  const totals = { samples: 0, unreachable: 0, maxQueued: 0, maxInProgress: 0, maxStuck: 0 };
  const sample = async () => {
    try {
      const { rows } = await pool.query<MonitorSample>(
        `SELECT count(*) FILTER (WHERE last_status = 'Queued')::int AS queued,
                count(*) FILTER (WHERE last_status = 'In Progress')::int AS "inProgress",
                count(*) FILTER (WHERE (last_status = 'Queued'
                                        AND last_status_date_time < CURRENT_TIMESTAMP - make_interval(mins => $1, secs => $3))
                                    OR (last_status = 'In Progress'
                                        AND COALESCE(last_heartbeat_at, last_load_date_time) < CURRENT_TIMESTAMP - make_interval(mins => $2, secs => $3)))::int AS stuck
           FROM control.table_control`,
        [timeouts.queuedMinutes, timeouts.inProgressMinutes, timeouts.marginSeconds],
      );
      const s = rows[0]!;
      totals.samples++;
      totals.maxQueued = Math.max(totals.maxQueued, s.queued);
      totals.maxInProgress = Math.max(totals.maxInProgress, s.inProgress);
      totals.maxStuck = Math.max(totals.maxStuck, s.stuck);
    } catch {
      totals.unreachable++;
    }
  };
  const timer = setInterval(() => void sample(), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return totals;
    },
  };
}
