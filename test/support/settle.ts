/**
 * Helpers for the settled-watermark tests: a second connection to the source
 * database as a role without pg_read_all_stats (it cannot see the writers'
 * transactions), and timestamps that only move forward.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { envVariableFor } from '../../shared/secrets/env.js';
import { connectionOf } from './source.js';
import type { LoaderHarness } from './source.js';

/**
 * Creates a LOGIN role that may read the source's public tables but not see
 * other roles' sessions, and registers it as a table_control_dbconfig row.
 * Returns its db_config_key.
 */
export async function registerUnprivilegedSource(h: LoaderHarness): Promise<string> {
  const suffix = randomBytes(3).toString('hex');
  const role = `dl_reader_${suffix}`;
  const password = `pw_${randomBytes(8).toString('hex')}`;
  await h.source.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await h.source.pool.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
  await h.source.pool.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO ${role}`);
  const key = `src-reader-${suffix}`;
  const values: Record<string, string> = { ...connectionOf(h.source), user: role, password };
  const names: Record<string, string> = { sslmode: 'disable' };
  for (const field of ['host', 'port', 'database', 'user', 'password']) {
    process.env[envVariableFor(`${key}-${field}`)] = values[field];
    names[field] = `${key}-${field}`;
  }
  await h.control.pool.query(
    `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope) VALUES ($1, $2, 'postgresql', 'local-env')`,
    [key, JSON.stringify(names)],
  );
  return key;
}

/** Rows of a table at the source (public) or the destination (landing), as arrays, in id order. */
export async function rowsOf(pool: pg.Pool, schema: string, table: string): Promise<unknown[][]> {
  const { rows } = await pool.query({ text: `SELECT id, v, wm::text FROM ${schema}.${table} ORDER BY id, wm`, rowMode: 'array' });
  return rows as unknown[][];
}
