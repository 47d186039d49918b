/**
 * Source and destination databases for loader tests: empty databases on the
 * test server, registered in a control database as table_control_dbconfig rows
 * whose secret names resolve from the environment (no vault for their scope).
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { ResolvedConnection } from '../../shared/connectors/postgres-connection.js';
import { envVariableFor } from '../../shared/secrets/env.js';
import { createTestDatabase, type TestDatabase } from './db.js';

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
