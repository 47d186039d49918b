/**
 * The composition root: the long-lived resources of one process (control pool,
 * queue, secret resolver, ...), created on first use from the settings and
 * shared by every function in the process. Tests build their own with
 * `createRuntime`, on a test database.
 */
import type pg from 'pg';
import { controlConnectionOptions, createControlPool } from './db/pool.js';
import { createLogger, type Logger } from './log.js';
import { createQueue } from './queue/factory.js';
import type { QueueReceiver, QueueSender } from './queue/port.js';
import { getSettings, type Settings } from './settings.js';

export interface Runtime {
  settings: Settings;
  /** The control database. */
  pool: pg.Pool;
  /** One plain line per event; never given secret values. */
  log: Logger;
  /** Sends load messages: Service Bus when a namespace is configured, else the local queue. */
  queueSender: QueueSender;
  /** Which queue adapter `queueSender` and `createQueueReceiver` use. */
  queueKind: 'service-bus' | 'local';
  /** A new receiver on the loads queue (same adapter as `queueSender`); the caller closes it. */
  createQueueReceiver(): QueueReceiver;
  /** Ends everything the runtime opened. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  settings: Settings;
  /** Overrides the settings' DATABASE_URL (the local host's embedded database). */
  databaseUrl?: string;
  log?: Logger;
}

export function createRuntime(options: RuntimeOptions): Runtime {
  const { settings } = options;
  const pool = createControlPool(controlConnectionOptions(settings, options.databaseUrl ?? settings.DATABASE_URL), settings.CONTROL_DB_POOL_MAX);
  const queue = createQueue(settings, pool);
  return {
    settings,
    pool,
    log: options.log ?? createLogger(settings.LOG_LEVEL),
    queueSender: queue.sender,
    queueKind: queue.kind,
    createQueueReceiver: () => queue.createReceiver(),
    close: async () => {
      await queue.close();
      await pool.end();
    },
  };
}

let current: Runtime | undefined;

/** The process's runtime (Azure Functions), created on first use. */
export function getRuntime(): Runtime {
  current ??= createRuntime({ settings: getSettings() });
  return current;
}

/** Installs the runtime the process uses (the local host, which owns its database). */
export function setRuntime(runtime: Runtime | undefined): void {
  current = runtime;
}
