import { join } from 'node:path';
import type { Command } from 'commander';
import { migrate } from '../../shared/db/migrate.js';
import { controlClientConfig, controlConnectionOptions } from '../../shared/db/pool.js';
import { databaseUrl, startEmbeddedPostgres } from '../../shared/local/embedded-postgres.js';
import { projectRoot } from '../../shared/paths.js';
import { getSettings } from '../../shared/settings.js';
import pg from 'pg';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the whole system locally (embedded PostgreSQL when DATABASE_URL is not set).')
    .action(async () => {
      const settings = getSettings();
      let url = settings.DATABASE_URL;
      let stop = async (): Promise<void> => undefined;
      if (!url) {
        const server = await startEmbeddedPostgres({ dataDir: join(projectRoot(), '.data', 'postgres'), persistent: true, port: 54329 });
        stop = server.stop;
        const admin = new pg.Client({ connectionString: server.url });
        await admin.connect();
        const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'dataloader'`);
        if (exists.rowCount === 0) await admin.query('CREATE DATABASE dataloader');
        await admin.end();
        url = databaseUrl(server.url, 'dataloader');
        console.log(`control database: embedded PostgreSQL at ${url.replace(/:[^:@]*@/, ':***@')}`);
      }
      const applied = await migrate(
        controlClientConfig({ ...controlConnectionOptions(settings, url), ssl: settings.DATABASE_URL ? settings.CONTROL_DB_SSL : 'disable' }),
      );
      console.log(`migrations: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`);
      console.log('The sensor, loader, reaper and HTTP API are not wired into the local host yet; stopping.');
      await stop();
    });
}
