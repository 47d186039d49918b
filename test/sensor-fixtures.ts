/** Control rows, settings and a stand-in loader for the sensor and reaper tests. */
import type pg from 'pg';
import { startRun } from '../shared/control/status.js';
import type { Queryable } from '../shared/db/pool.js';
import { LocalQueueReceiver } from '../shared/queue/local/receiver.js';
import { loadMessageSchema } from '../shared/queue/message.js';
import { parseSettings, type Settings } from '../shared/settings.js';

export const QUEUE = 'loads';

/** Settings for tests: small batches, the given overrides. */
export function testSettings(env: Record<string, string> = {}): Settings {
  return parseSettings({ SENSOR_BATCH_SIZE: '100', SOURCE_CONCURRENCY_LIMIT: '1000', ...env });
}

/** Empties the tables the sensor, reaper and queue write. */
export async function resetControl(db: Queryable): Promise<void> {
  await db.query(`TRUNCATE control.table_control, control.historical_metadata, control.load_outbox, control.local_queue,
                           control.table_control_dbconfig CASCADE`);
}

export async function insertSources(db: Queryable, keys: string[]): Promise<void> {
  await db.query(
    `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type)
     SELECT k, '{"host":"h"}', 'postgresql' FROM unnest($1::text[]) AS k
     ON CONFLICT (db_config_key) DO NOTHING`,
    [keys],
  );
}

export interface RowSpec {
  count: number;
  /** Rows are spread over these sources, round robin. */
  sources: string[];
  /** Seconds before now that the first row was due (each further row is 1 ms later). Negative: not yet due. NULL: unscheduled. */
  dueSecondsAgo?: number | null;
  cron?: string | null;
  strategy?: string | null;
  active?: boolean;
  status?: string | null;
  name?: string;
}

/** Inserts control rows (full loads by default); returns their config_ids in due order. */
export async function insertRows(db: Queryable, spec: RowSpec): Promise<number[]> {
  await insertSources(db, spec.sources);
  const { rows } = await db.query<{ config_id: number }>(
    `INSERT INTO control.table_control
       (is_active, last_status, db_config_key, source_table_catalog, source_table_schema, source_table_name,
        destination_table_name, load_strategy, load_cron, next_load_date_time)
     SELECT $1, $2, ($3::text[])[1 + ((g - 1) % cardinality($3::text[]))], 'sales', 'dbo', $4 || '_' || g, $4 || '_' || g,
            $5, $6,
            CASE WHEN $7::float8 IS NULL THEN NULL
                 ELSE LOCALTIMESTAMP - make_interval(secs => $7::float8) + make_interval(secs => g / 1000.0) END
       FROM generate_series(1, $8::int) AS g
      ORDER BY g
     RETURNING config_id`,
    [
      spec.active ?? true,
      spec.status ?? null,
      spec.sources,
      spec.name ?? 'orders',
      spec.strategy === undefined ? 'full' : spec.strategy,
      spec.cron === undefined ? '0 * * * *' : spec.cron,
      spec.dueSecondsAgo === undefined ? 60 : spec.dueSecondsAgo,
      spec.count,
    ],
  );
  return rows.map((r) => r.config_id);
}

export interface ControlState {
  config_id: number;
  db_config_key: string | null;
  last_status: string | null;
  last_run_id: string | null;
  last_status_message: string | null;
  last_status_date_time: Date | null;
  next_load_date_time: Date | null;
}

export async function controlRows(db: Queryable): Promise<ControlState[]> {
  const { rows } = await db.query<ControlState>(
    `SELECT config_id, db_config_key, last_status, last_run_id, last_status_message, last_status_date_time, next_load_date_time
       FROM control.table_control ORDER BY config_id`,
  );
  return rows;
}

export async function rowById(db: Queryable, configId: number): Promise<ControlState> {
  const { rows } = await db.query<ControlState>(
    `SELECT config_id, db_config_key, last_status, last_run_id, last_status_message, last_status_date_time, next_load_date_time
       FROM control.table_control WHERE config_id = $1`,
    [configId],
  );
  return rows[0]!;
}

export interface QueuedMessage {
  message_id: string;
  config_id: number;
  run_id: string;
  slot: string;
}

/** Every message in the local queue, whatever its state. */
export async function queuedMessages(db: Queryable): Promise<QueuedMessage[]> {
  const { rows } = await db.query<QueuedMessage>(
    `SELECT message_id, (body->>'config_id')::bigint AS config_id, body->>'run_id' AS run_id, body->>'slot' AS slot
       FROM control.local_queue WHERE queue_name = $1 ORDER BY id`,
    [QUEUE],
  );
  return rows;
}

/** The database's clock. */
export async function dbNow(db: Queryable): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>('SELECT clock_timestamp() AS now');
  return rows[0]!.now;
}

/**
 * A stand-in loader: receives every visible message and starts its run the way
 * the loader does (validate, startRun). Returns the config_ids whose run started.
 */
export async function startAllRuns(pool: pg.Pool): Promise<{ started: number[]; dropped: number }> {
  const receiver = new LocalQueueReceiver(pool, { queueName: QUEUE, lockSeconds: 30, maxDeliveries: 5, autoRenewLock: false });
  const started: number[] = [];
  let dropped = 0;
  try {
    for (;;) {
      const batch = await receiver.receive(100);
      if (batch.length === 0) break;
      for (const message of batch) {
        const body = loadMessageSchema.parse(message.body);
        const row = await startRun(pool, { configId: body.config_id, runId: body.run_id, owner: body.run_id, seconds: 600 });
        if (row.kind === 'started') started.push(body.config_id);
        else dropped++;
        await receiver.complete(message);
      }
    }
  } finally {
    await receiver.close();
  }
  return { started, dropped };
}
