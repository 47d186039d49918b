/**
 * Applies migrations/*.sql with node-pg-migrate. Each file runs in its own
 * transaction; a session advisory lock taken in wait mode serialises concurrent
 * migrators, so a second deploy waits and then finds nothing to do.
 */
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import { migrationsDir } from '../paths.js';

export const MIGRATIONS_TABLE = 'schema_migrations';
export const MIGRATIONS_SCHEMA = 'control';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** Applies every pending migration; returns the names of those applied. */
export async function migrate(config: pg.ClientConfig, log: (line: string) => void = () => undefined): Promise<string[]> {
  // Migrations may build indexes on large tables and wait for another migrator's
  // lock: the 30 s statement timeout of ordinary control connections does not apply.
  const client = new pg.Client({ ...config, statement_timeout: 0 });
  await client.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: migrationsDir(),
      direction: 'up',
      migrationsTable: MIGRATIONS_TABLE,
      migrationsSchema: MIGRATIONS_SCHEMA,
      createMigrationsSchema: true,
      advisoryLockMode: 'wait',
      checkOrder: true,
      logger: { ...quiet, error: (message: string) => log(message) },
    });
    for (const m of applied) log(`applied migration ${m.name}`);
    return applied.map((m) => m.name);
  } finally {
    await client.end();
  }
}
