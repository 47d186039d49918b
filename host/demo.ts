/**
 * The local demo: a source database with a few realistic tables whose data keeps
 * changing, a destination database, the two connection rows (secret names that
 * resolve from this process's environment), and one table_control row per load
 * strategy on short crons, plus one that fails until its configuration is fixed
 * (payments: a misspelt incremental column). Created once; later runs reuse it.
 */
import pg from 'pg';
import { ensureDatabase, withClient } from '../shared/db/client.js';
import type { Logger } from '../shared/log.js';
import { databaseUrl } from '../shared/local/embedded-postgres.js';

export const DEMO_SOURCE_DATABASE = 'demo_source';
export const DEMO_DESTINATION_DATABASE = 'demo_destination';
export const DEMO_SOURCE_KEY = 'demo_shop';

const SOURCE_SCHEMA = `
CREATE SCHEMA IF NOT EXISTS shop;
CREATE TABLE IF NOT EXISTS shop.regions (
  region_code text PRIMARY KEY,
  region_name text NOT NULL
);
CREATE TABLE IF NOT EXISTS shop.products (
  product_id integer PRIMARY KEY,
  name text NOT NULL,
  price numeric(10, 2) NOT NULL,
  in_stock boolean NOT NULL DEFAULT true
);
CREATE TABLE IF NOT EXISTS shop.customers (
  customer_id integer PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  region_code text NOT NULL,
  updated_at timestamp(6) NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS shop.orders (
  order_id bigserial PRIMARY KEY,
  customer_id integer NOT NULL,
  amount numeric(12, 2) NOT NULL,
  status text NOT NULL,
  order_date timestamp(6) NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS shop.events (
  event_id bigserial PRIMARY KEY,
  customer_id integer NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamp(6) NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS shop.order_archive (
  archive_id integer PRIMARY KEY,
  customer_id integer NOT NULL,
  amount numeric(12, 2) NOT NULL,
  archived_on date NOT NULL
);
CREATE TABLE IF NOT EXISTS shop.payments (
  payment_id integer PRIMARY KEY,
  order_ref integer NOT NULL,
  amount numeric(12, 2) NOT NULL,
  paid_at timestamp(6) NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO shop.payments (payment_id, order_ref, amount, paid_at)
  SELECT g, g, round((10 + random() * 490)::numeric, 2), clock_timestamp() - make_interval(mins => g)
    FROM generate_series(1, 500) g
  ON CONFLICT DO NOTHING;
INSERT INTO shop.regions VALUES ('EU', 'Europe'), ('NA', 'North America'), ('APAC', 'Asia Pacific')
  ON CONFLICT DO NOTHING;
INSERT INTO shop.products
  SELECT g, 'Product ' || g, round((5 + random() * 195)::numeric, 2), g % 7 <> 0 FROM generate_series(1, 200) g
  ON CONFLICT DO NOTHING;
INSERT INTO shop.customers (customer_id, name, email, region_code)
  SELECT g, 'Customer ' || g, 'customer' || g || '@example.com', (ARRAY['EU', 'NA', 'APAC'])[1 + g % 3]
    FROM generate_series(1, 1000) g
  ON CONFLICT DO NOTHING;
INSERT INTO shop.orders (customer_id, amount, status, order_date)
  SELECT 1 + g % 1000, round((10 + random() * 490)::numeric, 2), 'shipped', clock_timestamp() - make_interval(hours => g % 240)
    FROM generate_series(1, 5000) g
   WHERE NOT EXISTS (SELECT 1 FROM shop.orders);
INSERT INTO shop.order_archive
  SELECT g, 1 + g % 1000, round((10 + random() * 490)::numeric, 2), DATE '2020-01-01' + (g % 1500)
    FROM generate_series(1, 20000) g
  ON CONFLICT DO NOTHING;
`;

/** One statement of activity: new orders and events, changed customers and prices. */
const ACTIVITY = `
INSERT INTO shop.orders (customer_id, amount, status)
  SELECT 1 + floor(random() * 1000)::int, round((10 + random() * 490)::numeric, 2), 'new' FROM generate_series(1, 5);
INSERT INTO shop.events (customer_id, kind, payload)
  SELECT 1 + floor(random() * 1000)::int, (ARRAY['view', 'cart', 'checkout'])[1 + floor(random() * 3)::int],
         jsonb_build_object('session', md5(random()::text))
    FROM generate_series(1, 20);
UPDATE shop.customers SET email = 'c' || customer_id || '.' || floor(random() * 100)::int || '@example.com',
                          updated_at = clock_timestamp()
 WHERE customer_id IN (SELECT 1 + floor(random() * 1000)::int FROM generate_series(1, 3));
UPDATE shop.products SET price = round((5 + random() * 195)::numeric, 2)
 WHERE product_id = 1 + floor(random() * 200)::int AND random() < 0.2;
`;

/** Environment variables the demo's secret names resolve from (no vault locally). */
export function demoSecretEnvironment(serverUrl: string): Record<string, string> {
  const url = new URL(serverUrl);
  const env: Record<string, string> = {};
  for (const [prefix, database] of [['DEMO_SOURCE', DEMO_SOURCE_DATABASE], ['DEMO_DESTINATION', DEMO_DESTINATION_DATABASE]] as const) {
    env[`${prefix}_HOST`] = url.hostname;
    env[`${prefix}_PORT`] = url.port;
    env[`${prefix}_DATABASE`] = database;
    env[`${prefix}_USER`] = decodeURIComponent(url.username);
    env[`${prefix}_PASSWORD`] = decodeURIComponent(url.password);
  }
  return env;
}

const secretNames = (prefix: string) => ({
  host: `${prefix}-host`,
  port: `${prefix}-port`,
  database: `${prefix}-database`,
  user: `${prefix}-user`,
  password: `${prefix}-password`,
});

interface DemoTable {
  table: string;
  strategy: string;
  cron: string;
  extra: Record<string, string | number>;
}

const DEMO_TABLES: DemoTable[] = [
  { table: 'products', strategy: 'full', cron: '*/2 * * * *', extra: {} },
  { table: 'customers', strategy: 'incremental', cron: '* * * * *', extra: { incremental_column: 'updated_at', incremental_type: 'timestamp', primary_key_cols: 'customer_id' } },
  { table: 'events', strategy: 'append_only', cron: '* * * * *', extra: { incremental_column: 'event_id', incremental_type: 'integer', primary_key_cols: 'event_id' } },
  { table: 'orders', strategy: 'rolling', cron: '* * * * *', extra: { rolling_column: 'order_date', rolling_days: 3, primary_key_cols: 'order_id' } },
  { table: 'regions', strategy: 'check_and_load', cron: '* * * * *', extra: {} },
  // Fails on purpose: its incremental column is misspelt (the source has paid_at). The console's
  // first lesson: find it, read why, fix the field, run it now, watch it load.
  { table: 'payments', strategy: 'incremental', cron: '*/2 * * * *', extra: { incremental_column: 'paid_on', incremental_type: 'timestamp', primary_key_cols: 'payment_id' } },
  { table: 'order_archive', strategy: 'chunked_backfill', cron: '* * * * *', extra: { partition_column: 'archive_id', lower_bound: '1', upper_bound: '20001', num_partitions: 10, primary_key_cols: 'archive_id' } },
];

/**
 * Creates the demo on `serverUrl` (databases, source data, connection and
 * table_control rows in the control database at `controlUrl`) unless it exists.
 */
export async function ensureDemo(serverUrl: string, controlUrl: string, destinationKey: string, log: Logger): Promise<void> {
  const created = await ensureDatabase(serverUrl, DEMO_SOURCE_DATABASE);
  await ensureDatabase(serverUrl, DEMO_DESTINATION_DATABASE);
  await withClient(databaseUrl(serverUrl, DEMO_SOURCE_DATABASE), (c) => c.query(SOURCE_SCHEMA));
  await withClient(controlUrl, async (c) => {
    await c.query('BEGIN');
    await c.query(`SELECT set_config('dataloader.changed_by', 'demo', true), set_config('dataloader.change_source', 'single_edit', true)`);
    await c.query(
      `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema, create_user, last_modified_user)
       VALUES ($1, $2, 'postgresql', 'local', NULL, 'demo', 'demo'), ($3, $4, 'postgresql', 'local', 'demo', 'demo', 'demo')
       ON CONFLICT (db_config_key) DO NOTHING`,
      [DEMO_SOURCE_KEY, secretNames('demo-source'), destinationKey, secretNames('demo-destination')],
    );
    for (const t of DEMO_TABLES) {
      await c.query(
        `INSERT INTO control.table_control
           (is_active, db_config_key, source_table_catalog, source_table_schema, source_table_name,
            destination_table_catalog, destination_table_schema, destination_table_name,
            load_strategy, load_cron, incremental_column, incremental_type, primary_key_cols,
            rolling_column, rolling_days, partition_column, lower_bound, upper_bound, num_partitions,
            next_load_date_time, create_user, last_modified_user)
         SELECT true, $1::text, $2::text, 'shop', $3::text, $4::text, 'demo', $3::text, $5::text, $6::text, $7::text,
                $8::text, $9::text, $10::text, $11::int, $12::text, $13::text, $14::text, $15::int,
                CURRENT_TIMESTAMP, 'demo', 'demo'
          WHERE NOT EXISTS (SELECT 1 FROM control.table_control WHERE db_config_key = $1::text AND source_table_name = $3::text)`,
        [
          DEMO_SOURCE_KEY, DEMO_SOURCE_DATABASE, t.table, DEMO_DESTINATION_DATABASE, t.strategy, t.cron,
          t.extra.incremental_column ?? null, t.extra.incremental_type ?? null, t.extra.primary_key_cols ?? null,
          t.extra.rolling_column ?? null, t.extra.rolling_days ?? null, t.extra.partition_column ?? null,
          t.extra.lower_bound ?? null, t.extra.upper_bound ?? null, t.extra.num_partitions ?? null,
        ],
      );
    }
    await c.query('COMMIT');
  });
  if (created) log.info('demo created', { source: DEMO_SOURCE_DATABASE, destination: DEMO_DESTINATION_DATABASE, tables: DEMO_TABLES.length });
}

export interface DemoActivity {
  stop(): Promise<void>;
}

/** Keeps the demo's source data changing every few seconds until stopped. */
export function startDemoActivity(serverUrl: string, log: Logger, everyMs = 5_000): DemoActivity {
  const pool = new pg.Pool({ connectionString: databaseUrl(serverUrl, DEMO_SOURCE_DATABASE), max: 1 });
  pool.on('error', () => undefined);
  let running: Promise<unknown> | undefined;
  const interval = setInterval(() => {
    running ??= pool
      .query(ACTIVITY)
      .catch((error: unknown) => log.warn('demo activity failed', { reason: error instanceof Error ? error.message : String(error) }))
      .finally(() => {
        running = undefined;
      });
  }, everyMs);
  return {
    stop: async () => {
      clearInterval(interval);
      await running;
      await pool.end();
    },
  };
}
