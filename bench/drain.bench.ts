/**
 * Loads start the moment a slot frees: 300 small due tables on one source
 * through the local host with default settings (per-source limit 4). Reports
 * the drain time as a ratio to the ideal (300 loads / 4 slots x one load's
 * time, that load measured alone in the same run on the same host) and the
 * largest number of the source's loads seen in flight. Goal: ratio <= 1.5,
 * never more than 4 in flight.
 */
import { randomBytes } from 'node:crypto';
import { migrate } from '../shared/db/migrate.js';
import { databaseUrl } from '../shared/local/embedded-postgres.js';
import { createLogger } from '../shared/log.js';
import { runDrain } from './drain.js';
import { admin, withServer } from './support.js';

const TABLES = 300;
const SLOTS = 4;

export default async function benchDrain(): Promise<void> {
  await withServer(async (serverUrl) => {
    const suffix = randomBytes(4).toString('hex');
    const names = [`bench_drain_control_${suffix}`, `bench_drain_src_${suffix}`, `bench_drain_dst_${suffix}`];
    for (const name of names) await admin(serverUrl, `CREATE DATABASE ${name}`);
    try {
      const [controlUrl, sourceUrl, destinationUrl] = names.map((n) => databaseUrl(serverUrl, n)) as [string, string, string];
      await migrate({ connectionString: controlUrl });
      const result = await runDrain({
        controlUrl: `${controlUrl}${controlUrl.includes('?') ? '&' : '?'}sslmode=disable`,
        sourceUrl,
        destinationUrl,
        tables: TABLES,
        log: createLogger('warn'),
        timeoutMs: 600_000,
      });
      const ideal = (TABLES / SLOTS) * result.soloMs;
      const rows: [string, string][] = [
        ['drain, 300 due tables on one source', `${(result.drainMs / 1000).toFixed(1)} s, ${result.succeeded} succeeded`],
        ['one load alone (baseline)', `${result.soloMs.toFixed(0)} ms; ideal 300/4 x that = ${(ideal / 1000).toFixed(1)} s`],
        ['ratio drain/ideal (goal <= 1.5)', (result.drainMs / ideal).toFixed(2)],
        ['most in flight at once (goal <= 4)', String(result.maxInFlight)],
      ];
      const width = Math.max(...rows.map(([k]) => k.length));
      for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    } finally {
      for (const name of names) await admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    }
  });
}
