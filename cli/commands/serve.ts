import { InvalidArgumentError, type Command } from 'commander';
import { startLocalHost } from '../../host/local-host.js';
import { createLogger } from '../../shared/log.js';
import { getSettings } from '../../shared/settings.js';

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number');
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the whole system locally: admin API on port 7071, sensor and reaper on their schedules, loader on the local queue. ' +
        'Without DATABASE_URL it runs on an embedded PostgreSQL in .data/ with a demo.',
    )
    .option('--port <port>', 'HTTP port of the admin API', port, 7071)
    .option('--demo', 'create the demo source, destination and tables (default only on the embedded database)')
    .option('--no-demo', 'do not create the demo')
    .action(async (options: { port: number; demo?: boolean }) => {
      const settings = getSettings();
      const log = createLogger(settings.LOG_LEVEL);
      const host = await startLocalHost({ settings, log, port: options.port, ...(options.demo !== undefined ? { demo: options.demo } : {}) });
      console.log('');
      console.log(`DataLoader is running. Admin API: ${host.apiUrl}`);
      console.log(`  curl ${host.apiUrl}/tables            # the configured tables`);
      console.log(`  curl ${host.apiUrl}/views/status-counts`);
      console.log(`  curl ${host.apiUrl}/openapi.json      # every endpoint`);
      console.log('Press Ctrl-C to stop.');
      console.log('');
      await new Promise<void>((resolve) => {
        let stopping = false;
        const stop = () => {
          if (stopping) {
            console.log('forced exit: a load still running will be taken over at the next start');
            process.exit(130);
          }
          stopping = true;
          console.log('stopping (Ctrl-C again to force)...');
          void host.stop().then(resolve, (error: unknown) => {
            console.error(`dataloader: ${error instanceof Error ? error.message : String(error)}`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
