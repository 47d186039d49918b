/**
 * Lakehouse benchmark (the adls destination), ratios against a raw baseline
 * measured in the same run on the same server:
 *   1M rows PostgreSQL -> Parquet in Azurite through the loader
 *     / raw COPY TO STDOUT | COPY FROM STDIN between two databases          goal <= 1.5
 *   peak RSS of that load in a child process, 1M rows (and 5M with --lake-5m,
 *     opt-in: generating and loading 5M rows takes minutes on 2 cores)    goal <= 256 MB
 * Figures are in docs/BENCHMARKS.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withClient } from '../shared/db/client.js';
import { migrate } from '../shared/db/migrate.js';
import { databaseUrl, startEmbeddedPostgres } from '../shared/local/embedded-postgres.js';
import { startAzurite } from '../shared/local/azurite.js';
import { envVariableFor } from '../shared/secrets/env.js';
import type { Runtime } from '../shared/runtime.js';
import { benchRuntime, createSourceTable, exportSecrets, load, measureRss, queueRow, rawPipe, seconds, type BenchDatabases } from './loader.bench.js';

const ROWS = 1_000_000;
const ROUNDS = 2;

export default async function benchLakehouse(): Promise<void> {
  let serverUrl = process.env.BENCH_DATABASE_URL;
  let stop = async (): Promise<void> => undefined;
  if (!serverUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'dataloader-bench-pg-'));
    const server = await startEmbeddedPostgres({ dataDir, persistent: false });
    serverUrl = server.url;
    stop = async () => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const azurite = await startAzurite();
  const suffix = `lake_${process.pid}`;
  const names = { control: `bench_control_${suffix}`, source: `bench_src_${suffix}`, destination: `bench_dst_${suffix}` };
  const db: BenchDatabases = {
    serverUrl,
    controlUrl: databaseUrl(serverUrl, names.control),
    sourceUrl: databaseUrl(serverUrl, names.source),
    destinationUrl: databaseUrl(serverUrl, names.destination),
  };
  let runtime: Runtime | undefined;
  try {
    await withClient(serverUrl, async (c) => {
      for (const name of Object.values(names)) await c.query(`CREATE DATABASE ${name}`);
    });
    await migrate({ connectionString: db.controlUrl });
    process.env[envVariableFor('bench-lake-url')] = `${azurite.blobEndpoint}/landing/bench`;
    process.env[envVariableFor('bench-lake-cs')] = azurite.connectionString;
    await withClient(db.controlUrl, async (c) => {
      await c.query(
        `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema)
         VALUES ('bench-src', $1, 'postgresql', 'local', 'landing'), ('bench-lake', $2, 'adls', 'local', 'landing')`,
        [JSON.stringify(exportSecrets('bench-src', db.sourceUrl)), JSON.stringify({ url: 'bench-lake-url', connection_string: 'bench-lake-cs' })],
      );
    });
    console.log(`generating ${ROWS.toLocaleString('en')} source rows ...`);
    await createSourceTable(db.sourceUrl, 'public.orders', ROWS);
    const columns = await withClient(db.sourceUrl, async (c) => (await c.query(`SELECT * FROM public.orders LIMIT 0`)).fields.map((f) => f.name));
    runtime = benchRuntime(db.controlUrl, { DESTINATION_DB_CONFIG_KEY: 'bench-lake' });
    const raw: number[] = [];
    const lake: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // The raw baseline lands the same rows in a second PostgreSQL database.
      const ddl = await withClient(db.sourceUrl, async (c) =>
        (
          await c.query<{ ddl: string }>(
            `SELECT string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) AS ddl
               FROM pg_attribute WHERE attrelid = 'public.orders'::regclass AND attnum > 0 AND NOT attisdropped`,
          )
        ).rows[0]!.ddl,
      );
      await withClient(db.destinationUrl, (c) => c.query(`CREATE TABLE raw_full (${ddl})`));
      raw.push(await seconds(() => rawPipe(db.sourceUrl, `SELECT ${columns.join(', ')} FROM public.orders`, db.destinationUrl, 'COPY raw_full FROM STDIN')));
      await withClient(db.destinationUrl, (c) => c.query(`DROP TABLE raw_full`));
      const message = await queueRow(runtime, { source_table_name: 'orders', destination_table_name: `lake_${round}`, load_strategy: 'full' });
      lake.push(await seconds(() => load(runtime!, message)));
    }
    const best = (xs: number[]) => Math.min(...xs);
    console.log(
      `full load of ${ROWS.toLocaleString('en')} rows to Parquet in Azurite: loader ${best(lake).toFixed(2)} s, raw COPY pipe between two PostgreSQL databases ${best(raw).toFixed(2)} s, ratio ${(best(lake) / best(raw)).toFixed(2)} (goal <= 1.5)`,
    );
    const childEnv = { BENCH_DESTINATION_KEY: 'bench-lake' };
    console.log(`peak RSS of the same child process without a load: ${await measureRss(db, '', childEnv)} MB`);
    const sizes = process.argv.includes('--lake-5m') ? [ROWS, 5_000_000] : [ROWS];
    for (const rows of sizes) {
      const table = `rss_lake_${rows}`;
      await createSourceTable(db.sourceUrl, `public.${table}`, rows);
      console.log(`peak RSS of a full load of ${rows.toLocaleString('en')} rows to Parquet (child process): ${await measureRss(db, table, childEnv)} MB (goal <= 256 MB)`);
      await withClient(db.sourceUrl, (c) => c.query(`DROP TABLE public.${table}`));
    }
    if (!sizes.includes(5_000_000)) console.log('5M rows: opt-in, npm run bench -- lakehouse --lake-5m');
  } finally {
    await runtime?.close();
    await withClient(serverUrl, async (c) => {
      for (const name of Object.values(names)) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }).catch(() => undefined);
    await azurite.stop();
    await stop();
  }
}
