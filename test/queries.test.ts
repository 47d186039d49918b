import { beforeAll, describe, expect, it } from 'vitest';
import {
  countTablesByStatus,
  selectExecutionHistory,
  selectFailedLoads,
  selectLongQueued,
  selectLongRunning,
  selectReadyTables,
  selectRecentChanges,
} from '../shared/control/queries.js';
import { tableControlRowSchema } from '../shared/control/rows.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

let db: TestDatabase;

/** A small fleet, one row per situation the seed's queries look for. */
beforeAll(async () => {
  db = await createTestDatabase();
  await db.pool.query(`
    INSERT INTO control.table_control (source_table_catalog, source_table_schema, source_table_name, is_active,
                                       last_status, next_load_date_time, last_status_date_time, last_load_date_time,
                                       last_status_message, load_strategy)
    VALUES ('c', 's', 'due_new',      true,  NULL,          now() - interval '2 min', NULL, NULL, NULL, 'full'),
           ('c', 's', 'due_done',     true,  'Succeeded',   now() - interval '1 min', now() - interval '1 h', NULL, NULL, 'full'),
           ('c', 's', 'not_due',      true,  NULL,          now() + interval '1 h', NULL, NULL, NULL, 'full'),
           ('c', 's', 'inactive',     false, NULL,          now() - interval '1 h', NULL, NULL, NULL, 'full'),
           ('c', 's', 'queued_long',  true,  'Queued',      now() - interval '3 h', now() - interval '61 min', NULL, NULL, 'full'),
           ('c', 's', 'queued_fresh', true,  'Queued',      now() - interval '3 h', now() - interval '5 min', NULL, NULL, 'full'),
           ('c', 's', 'running_long', true,  'In Progress', now() - interval '5 h', now(), now() - interval '181 min', NULL, 'full'),
           ('c', 's', 'orders',       true,  'Failed',      now() + interval '1 h', now() - interval '10 min', NULL, 'boom', 'full'),
           ('c', 's', 'failed_older', true,  'Failed',      now() + interval '1 h', now() - interval '20 min', NULL, 'bang', 'full')`);
  await db.pool.query(`
    INSERT INTO control.historical_metadata (control_key, run_id, load_start_time, load_status, rows_processed, total_duration, source_table)
    SELECT control_key, 'run-' || g, now() - make_interval(hours => g), 'Succeeded', g * 10, g, 'orders'
      FROM control.table_control, generate_series(1, 12) g
     WHERE source_table_name = 'orders'`);
  // The fixture's own history replaces what the audit trigger wrote for the inserts above.
  await db.pool.query('DELETE FROM control.table_control_history');
  await db.pool.query(`
    INSERT INTO control.table_control_history (control_key, config_id, change_type, change_source, changed_by, changed_at, changed_fields)
    SELECT control_key, config_id, 'UPDATE', 'single_edit', 'ana@example.com', now() - make_interval(mins => config_id::int), ARRAY['load_cron']
      FROM control.table_control`);
});

const names = (rows: { source_table_name: string | null }[]) => rows.map((r) => r.source_table_name);

describe('common queries', () => {
  it('ready tables: active, due, not queued or running, oldest first', async () => {
    const rows = await selectReadyTables(db.pool);
    expect(names(rows)).toEqual(['due_new', 'due_done']);
    // Rows parse as the seed's row type: UTC dates, numeric ids, bytea control keys.
    for (const row of rows) tableControlRowSchema.parse(row);
  });

  it('failed loads, most recent first', async () => {
    const rows = await selectFailedLoads(db.pool);
    expect(rows.map((r) => [r.source_table_name, r.last_status_message])).toEqual([
      ['orders', 'boom'],
      ['failed_older', 'bang'],
    ]);
  });

  it('long queued and long running', async () => {
    expect(names(await selectLongQueued(db.pool))).toEqual(['queued_long']);
    expect(names(await selectLongRunning(db.pool))).toEqual(['running_long']);
    expect(names(await selectLongQueued(db.pool, 1))).toEqual(['queued_long', 'queued_fresh']);
  });

  it("one table's execution history, newest first, at most ten", async () => {
    const rows = await selectExecutionHistory(db.pool, 'orders');
    expect(rows).toHaveLength(10);
    expect(rows[0]).toMatchObject({ source_table: 'orders', load_status: 'Succeeded', rows_processed: 10, total_duration: 1 });
  });

  it('recent changes with the table name', async () => {
    const rows = await selectRecentChanges(db.pool, 3);
    expect(rows.map((r) => r.table_name)).toEqual(['due_new', 'due_done', 'not_due']);
    expect(rows[0]).toMatchObject({ change_type: 'UPDATE', changed_by: 'ana@example.com', changed_fields: ['load_cron'] });
  });

  it('active tables by status', async () => {
    const rows = await countTablesByStatus(db.pool);
    const counts = Object.fromEntries(rows.map((r) => [r.last_status ?? 'NULL', r.count]));
    expect(counts).toEqual({ NULL: 2, Succeeded: 1, Queued: 2, 'In Progress': 1, Failed: 2 });
  });

  // The seed's queries, character for character, run against the migrated schema.
  const seedQueries: Record<string, string> = {
    ready: `SELECT *
FROM control.table_control
WHERE is_active = true
  AND next_load_date_time <= CURRENT_TIMESTAMP
  AND (last_status IS NULL OR last_status NOT IN ('Queued', 'In Progress'))
ORDER BY next_load_date_time
LIMIT 10;`,
    failed: `SELECT
    source_table_name,
    destination_table_name,
    last_status,
    last_status_message,
    last_status_date_time
FROM control.table_control
WHERE last_status = 'Failed'
ORDER BY last_status_date_time DESC;`,
    longQueued: `SELECT *
FROM control.table_control
WHERE last_status = 'Queued'
  AND last_status_date_time < CURRENT_TIMESTAMP - INTERVAL '60 minutes';`,
    longRunning: `SELECT *
FROM control.table_control
WHERE last_status = 'In Progress'
  AND last_load_date_time < CURRENT_TIMESTAMP - INTERVAL '180 minutes';`,
    history: `SELECT
    source_table,
    load_status,
    rows_processed,
    total_duration,
    load_start_time
FROM control.historical_metadata
WHERE control_key = (
    SELECT control_key
    FROM control.table_control
    WHERE source_table_name = 'orders'
    LIMIT 1
)
ORDER BY load_start_time DESC
LIMIT 10;`,
    recentChanges: `SELECT
    table_name,
    change_type,
    change_source,
    changed_by,
    changed_at,
    changed_fields
FROM control.table_control_history_vw
ORDER BY changed_at DESC
LIMIT 20;`,
    byStatus: `SELECT
    last_status,
    COUNT(*) as count
FROM control.table_control
WHERE is_active = true
GROUP BY last_status;`,
  };

  it.each(Object.entries(seedQueries))('the seed query %s runs verbatim and agrees with its function', async (name, sql) => {
    const { rows } = await db.pool.query(sql);
    const expectedCounts: Record<string, number> = {
      ready: 2, failed: 2, longQueued: 1, longRunning: 1, history: 10, recentChanges: 9, byStatus: 5,
    };
    expect(rows).toHaveLength(expectedCounts[name]!);
  });
});
