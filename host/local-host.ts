/**
 * The local host: the whole system in one process, without Azure. It runs the
 * admin API's HTTP functions on node:http under the Azure routes, the sensor and
 * reaper on their schedules, and the loader on the local queue with bounded
 * concurrency, all through the same handlers the Azure registrations call.
 * Without a DATABASE_URL it starts an embedded PostgreSQL whose data lives in
 * .data/postgres and is reused across runs.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import azureFunctions, { type Timer } from '@azure/functions';
import { reaperHandler } from '../functions/reaper.js';
import { sensorHandler } from '../functions/sensor.js';
import { apiRoutes } from '../functions/http/routes.js';
import { ensureDatabase } from '../shared/db/client.js';
import { migrate } from '../shared/db/migrate.js';
import { controlClientConfig, controlConnectionOptions } from '../shared/db/pool.js';
import { runLoaderWorkers } from '../shared/loader/queue-worker.js';
import type { Logger } from '../shared/log.js';
import { createRuntime, setRuntime, type Runtime } from '../shared/runtime.js';
import type { Settings } from '../shared/settings.js';
import { ensureDemo, startDemoActivity, demoSecretEnvironment, type DemoActivity } from './demo.js';
import { databaseUrl, freePort, startEmbeddedPostgres, type EmbeddedServer } from '../shared/local/embedded-postgres.js';
import { startHttpServer, type LocalHttpServer } from './http-server.js';
import { startTimer, type LocalTimer } from './timers.js';
import { projectRoot } from '../shared/paths.js';

export interface LocalHostOptions {
  settings: Settings;
  log: Logger;
  /** HTTP port (7071 as under Core Tools; 0 picks a free one). */
  port: number;
  /** Create the demo (default: only on the embedded database). */
  demo?: boolean;
  /** Where the embedded PostgreSQL keeps its data (default .data/postgres). */
  dataDir?: string;
  /** Port of the embedded PostgreSQL (default 54329, or a free one when taken). */
  postgresPort?: number;
  /** How often the demo's source data changes. */
  demoActivityMs?: number;
}

export interface LocalHost {
  apiUrl: string;
  controlUrl: string;
  runtime: Runtime;
  /** Stops taking work, lets loads in flight finish, and stops everything it started. */
  stop(): Promise<void>;
}

const CONTROL_DATABASE = 'dataloader';

async function portIsFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** A timer invocation as the Functions host would pass it. */
function timerInvocation(name: string): [Timer, InstanceType<typeof azureFunctions.InvocationContext>] {
  const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
  return [timer, new azureFunctions.InvocationContext({ functionName: name, invocationId: randomUUID() })];
}

export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { log } = options;
  let { settings } = options;
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((error: unknown) => log.warn('stopping failed', { reason: error instanceof Error ? error.message : String(error) }));
    }
    cleanups.length = 0;
  };

  try {
    let controlUrl = settings.DATABASE_URL;
    let embedded: EmbeddedServer | undefined;
    if (!controlUrl) {
      const wanted = options.postgresPort ?? 54329;
      embedded = await startEmbeddedPostgres({
        dataDir: options.dataDir ?? join(projectRoot(), '.data', 'postgres'),
        persistent: true,
        notice: (line) => log.info(line),
        port: (await portIsFree(wanted)) ? wanted : await freePort(),
      });
      const server = embedded;
      cleanups.push(async () => {
        await server.stop();
        log.info('embedded PostgreSQL stopped');
      });
      await ensureDatabase(embedded.url, CONTROL_DATABASE);
      controlUrl = databaseUrl(embedded.url, CONTROL_DATABASE);
      // The embedded server is local and has no SSL; there is no one else to authenticate locally.
      settings = { ...settings, CONTROL_DB_SSL: 'disable', CONTROL_DB_AUTH: 'password' };
      if (!settings.DEV_PRINCIPAL) settings = { ...settings, DEV_PRINCIPAL: 'local-admin', ALLOW_DEV_PRINCIPAL: true };
      log.info('control database: embedded PostgreSQL', { port: embedded.port, data: options.dataDir ?? '.data/postgres' });
    }

    // A local host reads secret names without a vault from its own environment (the demo's connections do).
    settings = { ...settings, SECRETS_FROM_ENVIRONMENT: true };
    const applied = await migrate(controlClientConfig(controlConnectionOptions(settings, controlUrl)));
    log.info('migrations', { applied: applied.length === 0 ? 'up to date' : applied.join(',') });

    const demo = options.demo ?? embedded !== undefined;
    let activity: DemoActivity | undefined;
    if (demo) {
      if (!embedded) throw new Error('--demo needs the embedded PostgreSQL (it creates its source and destination databases beside the control database)');
      Object.assign(process.env, demoSecretEnvironment(embedded.url));
      await ensureDemo(embedded.url, controlUrl, settings.DESTINATION_DB_CONFIG_KEY, log);
      activity = startDemoActivity(embedded.url, log, options.demoActivityMs);
      const running = activity;
      cleanups.push(() => running.stop());
    }

    const runtime = createRuntime({ settings, databaseUrl: controlUrl, log });
    setRuntime(runtime);
    cleanups.push(async () => {
      setRuntime(undefined);
      await runtime.close();
    });

    const http: LocalHttpServer = await startHttpServer(apiRoutes, options.port, log);
    cleanups.push(() => http.close());

    const controller = new AbortController();
    const workers = runLoaderWorkers(runtime, { concurrency: settings.LOADER_CONCURRENCY, untilEmpty: false, signal: controller.signal, pollMs: 500 });
    cleanups.push(async () => {
      controller.abort();
      log.info('waiting for loads in flight to finish');
      await workers;
    });

    const timers: LocalTimer[] = [
      startTimer('sensor', settings.SENSOR_SCHEDULE, () => sensorHandler(...timerInvocation('sensor')), log),
      startTimer('reaper', settings.REAPER_SCHEDULE, () => reaperHandler(...timerInvocation('reaper')), log),
    ];
    cleanups.push(async () => {
      await Promise.all(timers.map((t) => t.stop()));
    });

    return {
      apiUrl: `${http.url}/api`,
      controlUrl,
      runtime,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
