/**
 * ClickHouse -> PostgreSQL through the product, as a ratio to the engine's own
 * export measured in the same run on the same servers and table shape:
 *   full load of 1,000,000 rows through the loader (handleLoadMessage) /
 *   ClickHouse's raw TabSeparated HTTP response piped into COPY FROM STDIN   goal <= 1.5
 * and the loader's peak RSS growth during its load (memory stays flat: the
 * bytes stream through in chunks, no row is held).
 * Needs a live server: CLICKHOUSE_TEST_URL=http://user:password@host:8123
 * (`.ci/run` starts one); skipped without it. PostgreSQL is BENCH_DATABASE_URL's
 * server, or an embedded one.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createClient } from '@clickhouse/client';
import { from as copyFrom } from 'pg-copy-streams';
import { withClient } from '../shared/db/client.js';
import { migrate } from '../shared/db/migrate.js';
import { databaseUrl } from '../shared/local/embedded-postgres.js';
import { handleLoadMessage } from '../shared/loader/handle-message.js';
import { silentLogger } from '../shared/log.js';
import { createRuntime, type Runtime } from '../shared/runtime.js';
import { envVariableFor } from '../shared/secrets/env.js';
import { parseSettings } from '../shared/settings.js';
import { withServer } from './support.js';

const ROWS = 1_000_000;
const ROUNDS = 3;

const CH_COLUMNS = `id UInt64, customer_id Int32, name String, amount Decimal(12, 2), price Float64, created_at DateTime('UTC'),
  day Date, active UInt8, note Nullable(String), code UUID`;

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function setSecrets(key: string, values: Record<string, string>): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [field, value] of Object.entries(values)) {
    if (field === 'sslmode') {
      names[field] = value;
      continue;
    }
    process.env[envVariableFor(`${key}-${field}`)] = value;
    names[field] = `${key}-${field}`;
  }
  return names;
}

export default async function benchClickHouse(): Promise<void> {
  const liveUrl = process.env.CLICKHOUSE_TEST_URL;
  if (!liveUrl) {
    console.log('skipped: set CLICKHOUSE_TEST_URL=http://user:password@host:8123 to run against a live ClickHouse');
    return;
  }
  const ch = new URL(liveUrl);
  const chUser = decodeURIComponent(ch.username) || 'default';
  const chPassword = decodeURIComponent(ch.password);
  const chDatabase = `dl_bench_${process.pid}`;
  const admin = createClient({ url: ch.origin, username: chUser, password: chPassword, request_timeout: 600_000 });
  await withServer(async (serverUrl) => {
    const names = { control: `bench_ch_control_${process.pid}`, destination: `bench_ch_dst_${process.pid}` };
    const controlUrl = databaseUrl(serverUrl, names.control);
    const destinationUrl = databaseUrl(serverUrl, names.destination);
    let runtime: Runtime | undefined;
    try {
      await withClient(serverUrl, async (c) => {
        for (const name of Object.values(names)) await c.query(`CREATE DATABASE ${name}`);
      });
      await migrate({ connectionString: controlUrl });
      console.log(`generating ${ROWS.toLocaleString('en')} ClickHouse rows ...`);
      await admin.command({ query: `CREATE DATABASE ${chDatabase}` });
      await admin.command({ query: `CREATE TABLE ${chDatabase}.orders (${CH_COLUMNS}) ENGINE = MergeTree ORDER BY id` });
      await admin.command({
        query: `INSERT INTO ${chDatabase}.orders
          SELECT number + 1, toInt32((number * 7) % 100000), concat('customer ', toString(number)), toDecimal64((number % 100000) / 100, 2),
                 number * 0.37, toDateTime(1704067200 + number, 'UTC'), toDate(18262 + number % 2000), number % 3 = 0,
                 if(number % 5 = 0, NULL, concat('a note with\\ta tab and \\\\ backslash ', toString(number))),
                 toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0')
            FROM system.numbers LIMIT ${ROWS}`,
      });
      const u = new URL(destinationUrl);
      await withClient(controlUrl, async (c) => {
        const source = setSecrets('bench-ch', { host: ch.hostname, port: ch.port || '8123', user: chUser, password: chPassword, database: chDatabase, sslmode: 'disable' });
        const destination = setSecrets('bench-ch-dst', {
          host: u.hostname, port: u.port, database: u.pathname.slice(1), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), sslmode: 'disable',
        });
        await c.query(
          `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema)
           VALUES ('bench-ch', $1, 'clickhouse', 'local', 'landing'), ('bench-ch-dst', $2, 'postgresql', 'local', 'landing')`,
          [JSON.stringify(source), JSON.stringify(destination)],
        );
      });
      await withClient(destinationUrl, (c) => c.query('CREATE SCHEMA landing'));
      runtime = createRuntime({
        settings: parseSettings({ DATABASE_URL: controlUrl, CONTROL_DB_SSL: 'disable', DESTINATION_DB_CONFIG_KEY: 'bench-ch-dst' }),
        log: silentLogger,
      });
      const loader: number[] = [];
      const raw: number[] = [];
      const rssGrowth: number[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const message = await queueRow(runtime, chDatabase, `ch_full_${round}`);
        const before = process.memoryUsage().rss;
        let peak = before;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
        loader.push(await seconds(() => load(runtime!, message)));
        clearInterval(sampler);
        rssGrowth.push((peak - before) / 1024 / 1024);
        // The baseline: the same rows in ClickHouse's own TabSeparated, piped raw into COPY of the same table shape.
        await withClient(destinationUrl, (c) => c.query(`DROP TABLE IF EXISTS landing.raw; CREATE TABLE landing.raw (LIKE landing.ch_full_0)`));
        raw.push(
          await seconds(async () => {
            const { stream } = await admin.exec({ query: `SELECT * FROM ${chDatabase}.orders FORMAT TabSeparated` });
            await withClient(destinationUrl, (c) => pipeline(stream as Readable, c.query(copyFrom('COPY landing.raw FROM STDIN'))));
          }),
        );
      }
      const same = await withClient(destinationUrl, async (c) => {
        const { rows } = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM (SELECT * FROM landing.raw EXCEPT SELECT * FROM landing.ch_full_0) d`);
        const { rows: count } = await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM landing.ch_full_0`);
        return rows[0]!.n === '0' && count[0]!.n === String(ROWS);
      });
      if (!same) throw new Error('the loader and the raw pipe loaded different rows');
      const best = (xs: number[]) => Math.min(...xs);
      console.log(
        `ClickHouse -> PostgreSQL full load of ${ROWS.toLocaleString('en')} rows: loader ${best(loader).toFixed(2)} s, raw TabSeparated | COPY FROM STDIN ${best(raw).toFixed(2)} s, ratio ${(best(loader) / best(raw)).toFixed(2)} (goal <= 1.5)`,
      );
      console.log(`loader RSS growth during the load: ${rssGrowth.map((m) => m.toFixed(0)).join(' / ')} MB per round (flat: no row is held)`);
    } finally {
      await runtime?.close();
      await admin.command({ query: `DROP DATABASE IF EXISTS ${chDatabase}` }).catch(() => undefined);
      await admin.close();
      await withClient(serverUrl, async (c) => {
        for (const name of Object.values(names)) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }).catch(() => undefined);
    }
  });
}

let runs = 0;

async function queueRow(runtime: Runtime, schema: string, table: string) {
  const runId = `bench-ch-${process.pid}-${++runs}`;
  const { rows } = await runtime.pool.query(
    `INSERT INTO control.table_control (is_active, db_config_key, source_table_catalog, source_table_schema, source_table_name,
       destination_table_name, load_strategy, last_status, last_status_date_time, next_load_date_time, last_run_id)
     VALUES (true, 'bench-ch', 'bench', $1, 'orders', $2, 'full', 'Queued', now(), now(), $3)
     RETURNING config_id, encode(control_key, 'hex') AS key`,
    [schema, table, runId],
  );
  const now = new Date().toISOString();
  return { config_id: rows[0].config_id as number, run_id: runId, control_key: rows[0].key as string, slot: now, queued_at: now };
}

async function load(runtime: Runtime, message: Awaited<ReturnType<typeof queueRow>>): Promise<void> {
  await handleLoadMessage(runtime, message, { messageId: message.run_id, deliveryCount: 1 });
  const { rows } = await runtime.pool.query(`SELECT last_status, last_status_message FROM control.table_control WHERE config_id = $1`, [message.config_id]);
  if (rows[0].last_status !== 'Succeeded') throw new Error(`bench load failed: ${rows[0].last_status_message}`);
}
