import type { Command } from 'commander';
import { runReaper } from '../../shared/reaper/reap.js';
import { createRuntime, type Runtime } from '../../shared/runtime.js';
import { commandSettings, runUntilStopped } from './sensor.js';

async function pass(runtime: Runtime): Promise<void> {
  const s = await runReaper({ pool: runtime.pool, settings: runtime.settings, log: runtime.log });
  console.log(
    `reaper: failed ${s.queued} queued longer than ${runtime.settings.QUEUED_TIMEOUT_MINUTES} min, ` +
      `${s.inProgress} in progress without a heartbeat for ${runtime.settings.IN_PROGRESS_TIMEOUT_MINUTES} min, in ${s.durationMs} ms`,
  );
}

export function registerReaper(program: Command): void {
  program
    .command('reaper')
    .description(
      'Fail runs of the control database at DATABASE_URL that timed out (QUEUED_TIMEOUT_MINUTES, IN_PROGRESS_TIMEOUT_MINUTES): ' +
        'one pass with --once, otherwise on REAPER_SCHEDULE until stopped.',
    )
    .option('--once', 'run one pass, then exit (0 on success)')
    .action(async (options: { once?: boolean }) => {
      const runtime = createRuntime({ settings: commandSettings() });
      try {
        if (options.once) await pass(runtime);
        else await runUntilStopped('reaper', runtime.settings.REAPER_SCHEDULE, () => pass(runtime), runtime);
      } finally {
        await runtime.close();
      }
    });
}
