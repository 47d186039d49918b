/**
 * Timer triggers for the local host: runs a job at each occurrence of an
 * NCRONTAB schedule (six fields, seconds first, as Azure Functions timers use),
 * never two runs of the same job at once.
 */
import { CronExpressionParser } from 'cron-parser';
import type { Logger } from '../shared/log.js';

export interface LocalTimer {
  /** Stops scheduling and waits for a run in progress to end. */
  stop(): Promise<void>;
}

/** The longest delay setTimeout takes (2^31 - 1 ms); longer ones fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function startTimer(name: string, schedule: string, job: () => Promise<void>, log: Logger): LocalTimer {
  // Parse once up front so that a bad schedule fails at start-up, not at the first tick.
  CronExpressionParser.parse(schedule, { tz: 'UTC' });
  let stopped = false;
  let timeout: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const scheduleNext = () => {
    if (stopped) return;
    // From now, not from the previous occurrence: a run longer than the period skips slots instead of bunching up.
    const next = CronExpressionParser.parse(schedule, { currentDate: new Date(), tz: 'UTC' }).next().toDate();
    waitUntil(next.getTime());
  };
  // setTimeout holds at most MAX_TIMEOUT_MS (about 24.8 days); a later occurrence is reached in steps.
  const waitUntil = (at: number) => {
    const delay = Math.max(0, at - Date.now());
    timeout = delay > MAX_TIMEOUT_MS ? setTimeout(() => waitUntil(at), MAX_TIMEOUT_MS) : setTimeout(fire, delay);
  };
  const fire = () => {
    if (stopped) return;
    if (!running) {
      running = job()
        .catch((error: unknown) => log.error(`${name} failed`, { reason: error instanceof Error ? error.message : String(error) }))
        .finally(() => {
          running = undefined;
        });
    }
    scheduleNext();
  };
  scheduleNext();
  return {
    stop: async () => {
      stopped = true;
      if (timeout) clearTimeout(timeout);
      await running;
    },
  };
}
