/**
 * The fleet drain, shared by bench/drain.bench.ts and test/local-drain.test.ts:
 * N small due tables on one source through the local host with default
 * settings (per-source limit 4, LOADER_CONCURRENCY 4). One sensor tick queues
 * the first four; every finishing load queues the next (dispatch on finish).
 * Measures the drain time, the most loads of the source in flight at once,
 * and one load's time alone (the same host, one table, nothing else running).
 */
import pg from 'pg';
import { startLocalHost } from '../host/local-host.js';
import type { Logger } from '../shared/log.js';
import { envVariableFor } from '../shared/secrets/env.js';
import { parseSettings } from '../shared/settings.js';
import { runSensorTick } from '../shared/sensor/tick.js';

export interface DrainOptions {
  controlUrl: string;
  /** The source and destination databases (PostgreSQL URLs). */
  sourceUrl: string;
  destinationUrl: string;
  tables: number;
  log: Logger;
  timeoutMs: number;
}

export interface DrainResult {
  drainMs: number;
  maxInFlight: number;
  /** One table loaded alone, queued to Succeeded (the mean of three). */
  soloMs: number;
  succeeded: number;
}

function connectionSecrets(prefix: string, url: string): Record<string, string> {
  const u = new URL(url);
  const values: Record<string, string> = {
    host: u.hostname,
    port: u.port || '5432',
    database: u.pathname.slice(1),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
  };
  const names: Record<string, string> = { sslmode: 'disable' };
  for (const [field, value] of Object.entries(values)) {
    names[field] = `${prefix}-${field}`;
    process.env[envVariableFor(names[field])] = value;
  }
  return names;
}

export async function runDrain(options: DrainOptions): Promise<DrainResult> {
  const control = new pg.Pool({ connectionString: options.controlUrl, max: 2 });
  const source = new pg.Pool({ connectionString: options.sourceUrl, max: 2 });
  const settings = parseSettings({ DATABASE_URL: options.controlUrl, CONTROL_DB_SSL: 'disable', DESTINATION_DB_CONFIG_KEY: 'drain_dst' });
  const host = await startLocalHost({ settings, port: 0, log: options.log });
  try {
    await control.query(
      `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema)
       VALUES ('drain_src', $1, 'postgresql', 'local', NULL), ('drain_dst', $2, 'postgresql', 'local', 'landing')`,
      [JSON.stringify(connectionSecrets('drain-src', options.sourceUrl)), JSON.stringify(connectionSecrets('drain-dst', options.destinationUrl))],
    );
    const tables = options.tables + 3;
    await source.query(`DO $$ BEGIN FOR i IN 1..${tables} LOOP
        EXECUTE format('CREATE TABLE public.t%s AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20) g', i);
      END LOOP; END $$`);
    const insert = (from: number, to: number, due: string) =>
      control.query(
        `INSERT INTO control.table_control (is_active, db_config_key, source_table_catalog, source_table_schema, source_table_name,
                                            destination_table_name, load_strategy, load_cron, next_load_date_time, last_load_date_time)
         SELECT true, 'drain_src', 'drain', 'public', 't' || g, 't' || g, 'full', '0 0 * * *', ${due}, now() - interval '1 day'
           FROM generate_series($1::int, $2::int) g`,
        [from, to],
      );
    const tick = () => runSensorTick({ pool: host.runtime.pool, sender: host.runtime.queueSender, settings });
    const succeeded = async () =>
      (await control.query<{ n: number }>(`SELECT count(*)::int AS n FROM control.table_control WHERE last_status = 'Succeeded'`)).rows[0]!.n;
    const waitFor = async (count: number, sample?: () => Promise<void>) => {
      const giveUp = Date.now() + options.timeoutMs;
      while ((await succeeded()) < count) {
        const failed = await control.query(`SELECT last_status_message FROM control.table_control WHERE last_status = 'Failed' LIMIT 1`);
        if (failed.rows[0]) throw new Error(`drain: a load failed: ${failed.rows[0].last_status_message}`);
        if (Date.now() > giveUp) {
          const { rows } = await control.query(`SELECT last_status, last_status_message FROM control.table_control WHERE last_status IS DISTINCT FROM 'Succeeded' LIMIT 3`);
          throw new Error(`drain: only ${await succeeded()} of ${count} loads succeeded in ${options.timeoutMs} ms; e.g. ${JSON.stringify(rows)}`);
        }
        await sample?.();
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    // One load alone, three times (the first also warms the connections up).
    let soloTotal = 0;
    for (let i = 1; i <= 3; i++) {
      await insert(options.tables + i, options.tables + i, 'now()');
      const started = Date.now();
      await tick();
      await waitFor(i);
      if (i > 1) soloTotal += Date.now() - started;
    }
    const soloMs = soloTotal / 2;

    await insert(1, options.tables, 'now()');
    let maxInFlight = 0;
    const sample = async () => {
      const { rows } = await control.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM control.table_control WHERE db_config_key = 'drain_src' AND last_status IN ('Queued', 'In Progress')`,
      );
      maxInFlight = Math.max(maxInFlight, rows[0]!.n);
    };
    const started = Date.now();
    await tick();
    await waitFor(tables, sample);
    const drainMs = Date.now() - started;
    return { drainMs, maxInFlight, soloMs, succeeded: (await succeeded()) - 3 };
  } finally {
    await host.stop();
    await control.end();
    await source.end();
  }
}
