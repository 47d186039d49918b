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
    await dropTestDatabase(name);
  });
  return { name, url, pool };
}

/**
 * Drops a test database. A connection still open to it when its file ends is a
 * leak (a pool or client not closed), and fails the file naming it; the
 * database is dropped all the same. PostgreSQL itself waits up to 5 s for
 * sessions that are already closing.
 */
async function dropTestDatabase(name: string): Promise<void> {
  await admin(async (c) => {
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
    } catch (error) {
      if ((error as { code?: string }).code !== '55006') throw error;
      const { rows } = await c.query<{ application_name: string; state: string; query: string }>(
        `SELECT application_name, state, left(query, 120) AS query FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [name],
      );
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      throw new Error(
        `test database ${name} still had ${rows.length} open connection(s) at the end of its file (a pool or client left open): ` +
          rows.map((r) => `${r.application_name || '(no application_name)'} ${r.state}: ${r.query}`).join('; '),
        { cause: error },
      );
    }
  });
}

/** Client configuration for a test database, as the product connects to it. */
export function testClientConfig(url: string): pg.ClientConfig {
  return controlClientConfig({ url, ssl: 'disable', statementTimeoutMs: 30_000 });
}
