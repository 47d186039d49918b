import { InvalidArgumentError, type Command } from 'commander';
import { runLoaderWorkers } from '../../shared/loader/queue-worker.js';
import { createRuntime } from '../../shared/runtime.js';
import { getSettings } from '../../shared/settings.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

export function registerLoader(program: Command): void {
  program
    .command('loader')
    .description('Run the loader on the loads queue (the local queue, or Service Bus when configured).')
    .option('--drain', 'process every visible message, then exit')
    .option('--concurrency <n>', 'loads at once (default LOADER_CONCURRENCY)', positiveInt)
    .action(async (options: { drain?: boolean; concurrency?: number }) => {
      const settings = getSettings();
      const runtime = createRuntime({ settings });
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        const summary = await runLoaderWorkers(runtime, {
          concurrency: options.concurrency ?? settings.LOADER_CONCURRENCY,
          untilEmpty: options.drain ?? false,
          signal: controller.signal,
        });
        console.log(
          `loader: ${summary.completed} messages completed, ${summary.deadLettered} dead-lettered, ${summary.abandoned} abandoned for redelivery`,
        );
        if (summary.abandoned > 0) process.exitCode = 1;
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        await runtime.close();
      }
    });
}
