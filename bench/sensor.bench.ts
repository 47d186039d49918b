/**
 * Sensor benchmark (issue 3), on a real PostgreSQL: BENCH_DATABASE_URL's or
 * TEST_DATABASE_URL's server when set, else an embedded one.
 *   1. one tick claiming and enqueueing (local queue) 10,000 due rows out of 100,000,
 *      against a raw baseline: one UPDATE of the same rows to Queued plus one
 *      INSERT of their queue rows, without the outbox, checks or per-row times;
 *   2. claims per second with 8 sensors ticking at once (separate pools);
 *   3. the sensor query's plan (must be an index scan of idx_table_control_due);
 *   4. the same tick over 10,000 due rows with 10,000 vs 100,000 rows in the
 *      table: its cost must not grow with the rows that are not due.
 * Goal: at least 5,000 claims per second.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../shared/db/migrate.js';
import { createControlPool, type Queryable } from '../shared/db/pool.js';
import { databaseUrl } from '../shared/local/embedded-postgres.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import { DUE_CURSOR_START, selectDueRows } from '../shared/sensor/sql.js';
import { runSensorTick, type SensorTickSummary } from '../shared/sensor/tick.js';
import { parseSettings } from '../shared/settings.js';
import { admin, withServer } from './support.js';

const DUE = 10_000;
const SOURCES = 100;
const CONCURRENT = 8;
const QUEUE = 'bench';
const settings = parseSettings({ SOURCE_CONCURRENCY_LIMIT: '100000', SENSOR_TICK_BUDGET_MS: '600000' });

interface BenchDb {
  url: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

/** A migrated database holding `total` active hourly full loads over 100 sources. */
async function createControlDb(serverUrl: string, total: number): Promise<BenchDb> {
  const name = `bench_sensor_${randomBytes(4).toString('hex')}`;
  await admin(serverUrl, `CREATE DATABASE ${name}`);
  const url = databaseUrl(serverUrl, name);
  await migrate({ connectionString: url });
  const pool = createControlPool({ url, ssl: 'disable', statementTimeoutMs: 600_000 }, 20);
  await pool.query(
    `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type)
     SELECT 'src_' || g, '{"host":"h"}', 'postgresql' FROM generate_series(1, $1::int) g`,
    [SOURCES],
  );
  await pool.query(
    `INSERT INTO control.table_control (is_active, db_config_key, source_table_catalog, source_table_schema, source_table_name,
                                        load_strategy, load_cron)
     SELECT true, 'src_' || (1 + g % $2::int), 'sales', 'dbo', 'table_' || g, 'full', '0 * * * *'
       FROM generate_series(1, $1::int) g`,
    [total, SOURCES],
  );
  return {
    url,
    pool,
    drop: async () => {
      await pool.end();
      await admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** Makes DUE rows (spread through the table) due and every other row due tomorrow; empties the queue and the outbox. */
async function resetDue(db: BenchDb): Promise<void> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('dataloader.change_source', 'runtime', true)`);
    await client.query(`TRUNCATE control.load_outbox, control.local_queue`);
    await client.query(
      `UPDATE control.table_control
          SET last_status = NULL, last_run_id = NULL, last_queued_at = NULL, last_status_date_time = NULL, last_status_message = NULL,
              next_load_date_time = CASE WHEN config_id % (SELECT GREATEST(1, count(*) / $1) FROM control.table_control) = 0
                                         THEN LOCALTIMESTAMP - interval '1 hour' + make_interval(secs => config_id / 1000.0)
                                         ELSE LOCALTIMESTAMP + interval '1 day' END`,
      [DUE],
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await db.pool.query('VACUUM ANALYZE control.table_control');
  await db.pool.query('VACUUM ANALYZE control.local_queue');
  await db.pool.query('VACUUM ANALYZE control.load_outbox');
}

async function dueCount(db: BenchDb): Promise<number> {
  const { rows } = await db.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM control.table_control WHERE next_load_date_time <= LOCALTIMESTAMP AND last_status IS NULL`,
  );
  return rows[0]!.n;
}

async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; result: T }> {
  const started = process.hrtime.bigint();
  const result = await work();
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9, result };
}

/** One tick on its own pool (a sensor process), enqueueing on the local queue. */
async function tick(db: BenchDb): Promise<SensorTickSummary> {
  const pool = createControlPool({ url: db.url, ssl: 'disable', statementTimeoutMs: 600_000 }, 3);
  try {
    return await runSensorTick({ pool, sender: new LocalQueueSender(pool, { queueName: QUEUE }), settings });
  } finally {
    await pool.end();
  }
}

/** The raw baseline: the same rows Queued and enqueued in two plain statements. */
async function rawClaim(db: BenchDb): Promise<number> {
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('dataloader.change_source', 'runtime', true)`);
    const { rows } = await client.query<{ config_id: number }>(
      `UPDATE control.table_control SET last_status = 'Queued', last_run_id = gen_random_uuid()::text
        WHERE is_active = true AND next_load_date_time <= LOCALTIMESTAMP
          AND (last_status IS NULL OR last_status NOT IN ('Queued', 'In Progress'))
        RETURNING config_id`,
    );
    await client.query(
      `INSERT INTO control.local_queue (queue_name, message_id, body)
       SELECT $1, 'raw-' || id, jsonb_build_object('config_id', id) FROM unnest($2::bigint[]) AS id`,
      [QUEUE, rows.map((r) => r.config_id)],
    );
    await client.query('COMMIT');
    return rows.length;
  } finally {
    client.release();
  }
}

async function explainDueQuery(db: BenchDb): Promise<string[]> {
  const plan: string[] = [];
  const explaining: Queryable = {
    query: (async (text: string, values?: unknown[]) => {
      const { rows } = await db.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ${text}`, values);
      plan.push(...rows.map((r) => r['QUERY PLAN']));
      return { rows: [] };
    }) as unknown as Queryable['query'],
  };
  await selectDueRows(explaining, new Date(), DUE_CURSOR_START, settings.SENSOR_BATCH_SIZE);
  return plan;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(`sensor bench: ${message}`);
}

export default async function benchSensor(): Promise<void> {
  await withServer(async (serverUrl) => {
    const big = await createControlDb(serverUrl, 100_000);
    const small = await createControlDb(serverUrl, DUE);
    try {
      const results: [string, string][] = [];

      // 1. One tick, 10,000 due of 100,000, against the raw baseline.
      await resetDue(big);
      check((await dueCount(big)) === DUE, 'expected 10,000 due rows');
      const raw = await timed(() => rawClaim(big));
      check(raw.result === DUE, `raw baseline claimed ${raw.result}`);
      await resetDue(big);
      const one = await timed(() => tick(big));
      check(one.result.claimed === DUE && one.result.sent === DUE, `one tick claimed ${one.result.claimed}, sent ${one.result.sent}`);
      results.push(['one tick, 10,000 due of 100,000', `${one.seconds.toFixed(2)} s, ${Math.round(DUE / one.seconds)} claims/s, ${one.result.batches} batches`]);
      results.push(['raw baseline (1 UPDATE + 1 INSERT)', `${raw.seconds.toFixed(2)} s, ratio tick/raw ${(one.seconds / raw.seconds).toFixed(1)}`]);

      // 2. 8 sensors at once.
      await resetDue(big);
      const many = await timed(() => Promise.all(Array.from({ length: CONCURRENT }, () => tick(big))));
      const claimed = many.result.reduce((n, s) => n + s.claimed, 0);
      const sent = many.result.reduce((n, s) => n + s.sent, 0);
      check(claimed === DUE && sent === DUE, `8 ticks claimed ${claimed}, sent ${sent}`);
      const { rows: distinct } = await big.pool.query<{ n: number }>('SELECT count(DISTINCT message_id)::int AS n FROM control.local_queue');
      check(distinct[0]!.n === DUE, 'each row enqueued once');
      results.push([`${CONCURRENT} ticks at once, 10,000 due`, `${many.seconds.toFixed(2)} s, ${Math.round(DUE / many.seconds)} claims/s`]);

      // 3. The sensor query's plan.
      await resetDue(big);
      const plan = await explainDueQuery(big);
      const text = plan.join('\n');
      check(/Index Scan using idx_table_control_due on table_control/.test(text) && !/Seq Scan/.test(text), `not an index scan:\n${text}`);
      results.push(['sensor query plan', 'Index Scan using idx_table_control_due (asserted)']);

      // 4. Not-due rows do not add cost.
      await resetDue(small);
      check((await dueCount(small)) === DUE, 'expected 10,000 due rows in the small table');
      const alone = await timed(() => tick(small));
      await resetDue(big);
      const among = await timed(() => tick(big));
      check(alone.result.claimed === DUE && among.result.claimed === DUE, 'both ticks claim all due rows');
      results.push(['tick, 10,000 due of 10,000', `${alone.seconds.toFixed(2)} s`]);
      results.push(['tick, 10,000 due of 100,000', `${among.seconds.toFixed(2)} s, ratio ${(among.seconds / alone.seconds).toFixed(2)}`]);

      const width = Math.max(...results.map(([k]) => k.length));
      console.log('sensor query plan (batch of 500, 10,000 due of 100,000):');
      for (const line of plan) console.log(`  ${line}`);
      console.log('');
      for (const [k, v] of results) console.log(`${k.padEnd(width)}  ${v}`);
    } finally {
      await big.drop();
      await small.drop();
    }
  });
}
