/**
 * Source and destination databases for loader tests: empty databases on the
 * test server, registered in a control database as table_control_dbconfig rows
 * whose secret names resolve from the environment (no vault for their scope).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ResolvedConnection } from '../../shared/data/postgres-connection.js';
import { envVariableFor } from '../../shared/secrets/env.js';
import { createTestDatabase, type TestDatabase } from './db.js';
import { afterAll } from 'vitest';
import { handleLoadMessage, loaderDepsFor, type LoaderDeps } from '../../shared/loader/handle-message.js';
import type { MessageDisposition } from '../../shared/queue/port.js';
import type { LoadMessage } from '../../shared/queue/message.js';
import { silentLogger } from '../../shared/log.js';
import { createRuntime, type Runtime } from '../../shared/runtime.js';
import { parseSettings } from '../../shared/settings.js';

/** Resolved connection values of a test database (SSL off: the embedded server has none). */
export function connectionOf(db: TestDatabase): ResolvedConnection {
  const url = new URL(db.url);
  return {
    host: url.hostname,
    port: url.port || '5432',
    database: url.pathname.slice(1),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    sslmode: 'disable',
  };
}

/**
 * Puts a test database's connection values in the environment under secret
 * names `<key>-host`, ... and returns the db_config_value naming them.
 */
export function exportSecrets(key: string, db: TestDatabase): Record<string, string> {
  const values = connectionOf(db);
  const names: Record<string, string> = {};
  for (const field of ['host', 'port', 'database', 'user', 'password']) {
    const secretName = `${key}-${field}`;
    process.env[envVariableFor(secretName)] = values[field];
    names[field] = secretName;
  }
  names.sslmode = 'disable';
  return names;
}

/** Registers a database as a table_control_dbconfig row (secrets from the environment). */
export async function registerDbConfig(
  control: pg.Pool,
  key: string,
  db: TestDatabase,
  options: { defaultTargetSchema?: string; scope?: string } = {},
): Promise<void> {
  await control.query(
    `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema)
     VALUES ($1, $2, 'postgresql', $3, $4)`,
    [key, JSON.stringify(exportSecrets(key, db)), options.scope ?? 'local-env', options.defaultTargetSchema ?? null],
  );
}

export interface LoaderDatabases {
  control: TestDatabase;
  source: TestDatabase;
  destination: TestDatabase;
  /** db_config_key of the source and of the destination (unique per test file). */
  sourceKey: string;
  destinationKey: string;
}

/** A migrated control database, an empty source and an empty destination, wired together. */
export async function createLoaderDatabases(): Promise<LoaderDatabases> {
  const suffix = randomBytes(3).toString('hex');
  const [control, source, destination] = await Promise.all([
    createTestDatabase(),
    createTestDatabase({ empty: true, prefix: 'src' }),
    createTestDatabase({ empty: true, prefix: 'dst' }),
  ]);
  const sourceKey = `src-${suffix}`;
  const destinationKey = `dst-${suffix}`;
  await registerDbConfig(control.pool, sourceKey, source);
  await registerDbConfig(control.pool, destinationKey, destination, { defaultTargetSchema: 'landing' });
  return { control, source, destination, sourceKey, destinationKey };
}

export interface LoaderHarness extends LoaderDatabases {
  runtime: Runtime;
  /** Inserts an active, Queued table_control row reading from the source; returns its message. */
  queueRow(fields: Record<string, unknown>): Promise<LoadMessage>;
  /** Queues an existing row again for a new run (as the sensor would); returns the new message. */
  requeue(configId: number): Promise<LoadMessage>;
  /** Delivers a message to the loader. */
  deliver(body: unknown, deps?: Partial<LoaderDeps>, deliveryCount?: number): Promise<MessageDisposition>;
  /** The table_control row. */
  row(configId: number): Promise<Record<string, unknown>>;
  /** The row's historical_metadata rows, oldest first. */
  history(configId: number): Promise<Record<string, unknown>[]>;
  /** Makes an In Progress run look dead (its heartbeat long past), as after a loader crash. */
  expireHeartbeat(configId: number): Promise<void>;
}

let runCounter = 0;

/** Databases, a runtime on the control database, and helpers to queue rows and deliver messages. */
export async function createLoaderHarness(env: Record<string, string> = {}): Promise<LoaderHarness> {
  const dbs = await createLoaderDatabases();
  const runtime = createRuntime({
    settings: parseSettings({
    SECRETS_FROM_ENVIRONMENT: 'true',
      DATABASE_URL: dbs.control.url,
      CONTROL_DB_SSL: 'disable',
      DESTINATION_DB_CONFIG_KEY: dbs.destinationKey,
      LOADER_MAX_ATTEMPTS: '2',
      PARTITION_READ_CONCURRENCY: '2',
      ...env,
    }),
    log: silentLogger,
  });
  afterAll(() => runtime.close());
  const control = dbs.control.pool;

  const messageFor = async (configId: number): Promise<LoadMessage> => {
    const { rows } = await control.query(
      `SELECT config_id, last_run_id, encode(control_key, 'hex') AS key, next_load_date_time, last_status_date_time
         FROM control.table_control WHERE config_id = $1`,
      [configId],
    );
    const r = rows[0];
    return {
      config_id: r.config_id,
      run_id: r.last_run_id,
      control_key: r.key,
      slot: (r.next_load_date_time as Date).toISOString(),
      queued_at: (r.last_status_date_time as Date).toISOString(),
    };
  };

  const baseDeps = loaderDepsFor(runtime);
  return {
    ...dbs,
    runtime,
    queueRow: async (fields) => {
      const values: Record<string, unknown> = {
        is_active: true,
        db_config_key: dbs.sourceKey,
        // Rows sharing a source table share a control_key (and so their history): each row gets its own catalog.
        source_table_catalog: `src${runCounter + 1}`,
        source_table_schema: 'public',
        last_status: 'Queued',
        last_status_date_time: new Date(),
        next_load_date_time: new Date(),
        last_run_id: `run-${++runCounter}`,
        ...fields,
      };
      const names = Object.keys(values);
      const { rows } = await control.query(
        `INSERT INTO control.table_control (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING config_id`,
        Object.values(values),
      );
      return messageFor(rows[0].config_id);
    },
    requeue: async (configId) => {
      await control.query(
        `UPDATE control.table_control
            SET last_status = 'Queued', last_run_id = $2, last_status_date_time = now(), next_load_date_time = now()
          WHERE config_id = $1`,
        [configId, `run-${++runCounter}`],
      );
      return messageFor(configId);
    },
    deliver: (body, deps = {}, deliveryCount = 1) =>
      handleLoadMessage(runtime, body, { messageId: 'm', deliveryCount }, { ...baseDeps, sleep: async () => undefined, ...deps }),
    row: async (configId) => (await control.query(`SELECT * FROM control.table_control WHERE config_id = $1`, [configId])).rows[0],
    history: async (configId) =>
      (
        await control.query(
          `SELECT h.* FROM control.historical_metadata h JOIN control.table_control t ON t.control_key = h.control_key
            WHERE t.config_id = $1 ORDER BY h.id`,
          [configId],
        )
      ).rows,
    expireHeartbeat: async (configId) => {
      await control.query(
        `UPDATE control.table_control SET last_heartbeat_at = now() - interval '1 hour', lease_expires_at = now() - interval '1 second' WHERE config_id = $1`,
        [configId],
      );
    },
  };
}
