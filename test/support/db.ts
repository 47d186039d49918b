/**
 * Per-test-file databases on the run's PostgreSQL: clones of the migrated
 * template, or empty ones for migration tests. Each is dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, inject } from 'vitest';
import { withClient } from '../../shared/db/client.js';
import { controlClientConfig, createControlPool } from '../../shared/db/pool.js';
import { databaseUrl } from '../../shared/local/embedded-postgres.js';
import { TEMPLATE_DATABASE } from './constants.js';

export interface TestDatabase {
  name: string;
  url: string;
  /** A control pool (UTC, typed rows) on this database. */
  pool: pg.Pool;
}

export function serverUrl(): string {
  return inject('pgServerUrl');
}

function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  return withClient(serverUrl(), work);
}

/** Creates a database (a clone of the migrated template unless `empty`), dropped after the file's tests. */
export async function createTestDatabase(options: { empty?: boolean; prefix?: string } = {}): Promise<TestDatabase> {
  const name = `${options.prefix ?? 't'}_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}${options.empty ? '' : ` TEMPLATE ${TEMPLATE_DATABASE}`}`));
  const url = databaseUrl(serverUrl(), name);
  const pool = createControlPool({ url, ssl: 'disable', statementTimeoutMs: 30_000 });
  afterAll(async () => {
    await pool.end();
    await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  return { name, url, pool };
}

/** Client configuration for a test database, as the product connects to it. */
export function testClientConfig(url: string): pg.ClientConfig {
  return controlClientConfig({ url, ssl: 'disable', statementTimeoutMs: 30_000 });
}
