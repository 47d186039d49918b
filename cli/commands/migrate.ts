import type { Command } from 'commander';
import { migrate } from '../../shared/db/migrate.js';
import { controlClientConfig, controlConnectionOptions } from '../../shared/db/pool.js';
import { getSettings } from '../../shared/settings.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('Apply pending migrations to the control database at DATABASE_URL (production or pre-production).')
    .action(async () => {
      const settings = getSettings();
      const applied = await migrate(controlClientConfig(controlConnectionOptions(settings)), (line) => console.log(line));
      console.log(applied.length === 0 ? 'migrations: up to date' : `migrations: applied ${applied.length}`);
    });
}
