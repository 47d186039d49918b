import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const DRIVERS = ['mssql', 'tedious', 'oracledb', 'snowflake-sdk', '@clickhouse/client'];

/**
 * In a fresh Node process: import the connector registry (what every function
 * app instance does at start), list which driver packages are loaded, then
 * load one driver the way a connector does, to prove the check can see it.
 * The drivers are CommonJS packages, so a loaded one is in require.cache.
 */
const PROBE = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const loaded = () => ${JSON.stringify(DRIVERS)}.filter((name) => Object.keys(require.cache).some((path) => path.includes('/node_modules/' + name + '/')));
const registry = await import('./shared/connectors/registry.ts');
const types = ['mssql', 'oracle', 'snowflake', 'snowflake_pem', 'clickhouse'].filter((t) => registry.connectorFor({ db_config_key: 'k', db_type: t }));
const atStart = loaded();
await import('mssql');
console.log(JSON.stringify({ types, atStart, afterUse: loaded() }));
`;

describe('source drivers', () => {
  it('are not loaded by importing the registry, only when a connector opens', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE], { cwd: process.cwd() });
    expect(JSON.parse(stdout)).toEqual({
      types: ['mssql', 'oracle', 'snowflake', 'snowflake_pem', 'clickhouse'],
      atStart: [],
      afterUse: ['mssql', 'tedious'],
    });
  });
});
