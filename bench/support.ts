/** What the benchmarks share: a PostgreSQL server to run on. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withClient } from '../shared/db/client.js';
import { startEmbeddedPostgres } from '../shared/local/embedded-postgres.js';

/** Runs `work` on BENCH_DATABASE_URL / TEST_DATABASE_URL's server, or on a throwaway embedded PostgreSQL. */
export async function withServer<T>(work: (serverUrl: string) => Promise<T>): Promise<T> {
  const given = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  if (given) return work(given);
  const dataDir = await mkdtemp(join(tmpdir(), 'dataloader-bench-pg-'));
  const server = await startEmbeddedPostgres({ dataDir, persistent: false });
  try {
    return await work(server.url);
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Runs one statement on the server's maintenance database. */
export async function admin(serverUrl: string, sql: string): Promise<void> {
  await withClient(serverUrl, (client) => client.query(sql));
}
