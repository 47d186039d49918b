/**
 * The reaper: a timer (REAPER_SCHEDULE) that fails runs past their timeouts.
 * The use case is shared/reaper/reap.ts.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { runReaper } from '../shared/reaper/reap.js';
import { getRuntime } from '../shared/runtime.js';
import type { FunctionsApp } from './register.js';

export async function reaperHandler(_timer: Timer, _context: InvocationContext): Promise<void> {
  const runtime = getRuntime();
  const summary = await runReaper({ pool: runtime.pool, settings: runtime.settings, log: runtime.log });
  runtime.log.info('reaper pass', { ...summary });
}

export function registerReaper(app: FunctionsApp): void {
  app.timer('reaper', { schedule: '%REAPER_SCHEDULE%', runOnStartup: false, useMonitor: true, handler: reaperHandler });
}
