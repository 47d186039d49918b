/**
 * A connection terminated while its client is checked out of a pool and idle
 * between two queries (pg_terminate_backend, a database restart) must not
 * crash the process with an unhandled 'error' event: the client's next query
 * fails, and the caller's error handling takes over. Found by the soak
 * (npm run soak), which kills loader connections mid-load.
 */
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDataPool } from '../shared/data/postgres-connection.js';
import { createControlPool } from '../shared/db/pool.js';
import { classifyError } from '../shared/errors.js';
import { connectionOf } from './support/source.js';
import { createTestDatabase, serverUrl, type TestDatabase } from './support/db.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ empty: true });
});

async function terminate(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

async function terminateCheckedOut(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(rows[0]!.pid);
    // Give the FATAL message time to arrive while the client is idle.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const error = await client.query('SELECT 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    // A lost connection: the loader retries the attempt rather than failing the run.
    expect(error).toBeInstanceOf(Error);
    expect(classifyError(error)).toBe('transient');
  } finally {
    client.release(true);
  }
  // The pool hands out working connections afterwards.
  expect((await pool.query('SELECT 1 AS one')).rows[0].one).toBe(1);
}

describe('a checked-out client whose connection is terminated', () => {
  it('on the control pool: the next query fails, the process lives on', async () => {
    const pool = createControlPool({ url: db.url, ssl: 'disable', statementTimeoutMs: 30_000 }, 2);
    try {
      await terminateCheckedOut(pool);
    } finally {
      await pool.end();
    }
  });

  it('on a source or destination pool: the next query fails, the process lives on', async () => {
    const pool = await createDataPool(connectionOf(db), 'test database', 2);
    try {
      await terminateCheckedOut(pool);
    } finally {
      await pool.end();
    }
  });
});
