import type { Command } from 'commander';
import { startTimer } from '../../host/timers.js';
import { createRuntime, type Runtime } from '../../shared/runtime.js';
import { runSensorTick } from '../../shared/sensor/tick.js';
import { getSettings, SettingsError, type Settings } from '../../shared/settings.js';

/** The settings, with a bad one reported on a single line (the command's one-line reason). */
export function commandSettings(): Settings {
  try {
    return getSettings();
  } catch (error) {
    if (error instanceof SettingsError) throw new Error(`invalid settings: ${error.problems.join('; ')}`, { cause: error });
    throw error;
  }
}

/** Runs `job` at every occurrence of `schedule` until SIGINT or SIGTERM; a failed run is logged and the next one goes ahead. */
export async function runUntilStopped(name: string, schedule: string, job: () => Promise<void>, runtime: Runtime): Promise<void> {
  const timer = startTimer(name, schedule, job, runtime.log);
  runtime.log.info(`${name}: running on schedule ${schedule}; Ctrl-C stops`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await timer.stop();
}

async function tick(runtime: Runtime): Promise<void> {
  const s = await runSensorTick({ pool: runtime.pool, sender: runtime.queueSender, settings: runtime.settings, log: runtime.log });
  console.log(
    `sensor: queued ${s.claimed}, held back ${s.heldBack} (source limit), failed ${s.failedConfig} (invalid config), ` +
      `first times set ${s.scheduled}, sent ${s.sent} (${runtime.queueKind} queue) in ${s.durationMs} ms` +
      (s.budgetSpent ? '; tick budget spent, rows may still be due' : ''),
  );
  if (s.sendError) throw new Error(`sending to the queue failed, the messages wait in the outbox for the next tick: ${s.sendError}`);
}

export function registerSensor(program: Command): void {
  program
    .command('sensor')
    .description(
      'Queue every due row of the control database at DATABASE_URL: one tick with --once, otherwise on SENSOR_SCHEDULE until stopped. ' +
        'Uses Service Bus when ServiceBusConnection__fullyQualifiedNamespace is set, else the local queue.',
    )
    .option('--once', 'run one tick, then exit (0 on success)')
    .action(async (options: { once?: boolean }) => {
      const runtime = createRuntime({ settings: commandSettings() });
      try {
        if (options.once) await tick(runtime);
        else await runUntilStopped('sensor', runtime.settings.SENSOR_SCHEDULE, () => tick(runtime), runtime);
      } finally {
        await runtime.close();
      }
    });
}
