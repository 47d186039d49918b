/**
 * The audit trigger of migration 006: every change of table_control leaves one
 * history row in the same transaction, except the runtime's status writes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { failRow, heartbeat, markRuntimeWrite } from '../shared/control/status.js';
import { withTransaction } from '../shared/db/transaction.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';

let db: TestDatabase;

interface HistoryRow {
  config_id: number;
  control_key_hex: string;
  change_type: string;
  change_source: string;
  changed_by: string;
  changed_fields: string[];
  old_values: Record<string, unknown> | null;
  new_values: Record<string, unknown> | null;
}

async function historyOf(configId: number): Promise<HistoryRow[]> {
  const { rows } = await db.pool.query<HistoryRow>(
    `SELECT config_id, encode(control_key, 'hex') AS control_key_hex, change_type, change_source, changed_by,
            changed_fields, old_values, new_values
       FROM control.table_control_history WHERE config_id = $1 ORDER BY history_id`,
    [configId],
  );
  return rows;
}

async function insertRow(name: string): Promise<number> {
  const { rows } = await db.pool.query<{ config_id: number }>(
    `INSERT INTO control.table_control (source_table_catalog, source_table_schema, source_table_name, load_strategy, load_cron)
     VALUES ('sales', 'dbo', $1, 'full', '0 * * * *') RETURNING config_id`,
    [name],
  );
  return rows[0]!.config_id;
}

beforeAll(async () => {
  db = await createTestDatabase();
});

describe('audit of table_control', () => {
  it('audits a plain SQL insert, update and delete with source sql and the database user', async () => {
    const id = await insertRow('orders');
    await db.pool.query(`UPDATE control.table_control SET load_cron = '*/5 * * * *' WHERE config_id = $1`, [id]);
    await db.pool.query(`DELETE FROM control.table_control WHERE config_id = $1`, [id]);
    const { rows: user } = await db.pool.query<{ u: string }>('SELECT current_user AS u');

    const history = await historyOf(id);
    expect(history.map((h) => [h.change_type, h.change_source, h.changed_by])).toEqual([
      ['INSERT', 'sql', user[0]!.u],
      ['UPDATE', 'sql', user[0]!.u],
      ['DELETE', 'sql', user[0]!.u],
    ]);
    const [insert, update, del] = history;
    // INSERT: the columns that hold a value, in column order.
    expect(insert!.changed_fields).toEqual([
      'config_id', 'control_key', 'is_active', 'source_table_catalog', 'source_table_schema', 'source_table_name',
      'load_strategy', 'load_cron', 'created_at', 'last_modified_at',
    ]);
    expect(insert!.old_values).toBeNull();
    expect(insert!.new_values).toMatchObject({ source_table_name: 'orders', control_key: insert!.control_key_hex });
    // UPDATE: only what changed; plain SQL config edits stamp last_modified_at/user.
    expect(update!.changed_fields).toEqual(['load_cron', 'last_modified_at', 'last_modified_user']);
    expect(update!.old_values).toMatchObject({ load_cron: '0 * * * *', last_modified_user: null });
    expect(update!.new_values).toMatchObject({ load_cron: '*/5 * * * *', last_modified_user: user[0]!.u });
    expect(del!.new_values).toBeNull();
    expect(del!.old_values).toMatchObject({ load_cron: '*/5 * * * *' });
    expect(del!.changed_fields).toContain('load_cron');
  });

  it('takes source and user from transaction-local settings', async () => {
    const id = await insertRow('customers');
    await withTransaction(db.pool, async (c) => {
      await c.query(`SELECT set_config('dataloader.change_source', 'single_edit', true),
                            set_config('dataloader.changed_by', 'ana@example.com', true)`);
      await c.query(`UPDATE control.table_control SET is_active = true, last_modified_user = 'ana@example.com' WHERE config_id = $1`, [id]);
    });
    // The settings do not outlive the transaction.
    await db.pool.query(`UPDATE control.table_control SET query = 'SELECT 1' WHERE config_id = $1`, [id]);
    const history = await historyOf(id);
    expect(history.slice(1).map((h) => [h.change_source, h.changed_by === 'ana@example.com', h.changed_fields])).toEqual([
      ['single_edit', true, ['is_active', 'last_modified_user']],
      ['sql', false, ['query', 'last_modified_at', 'last_modified_user']],
    ]);
  });

  it('does not audit runtime status writes, but audits a runtime transaction that changes configuration', async () => {
    const id = await insertRow('lines');
    await db.pool.query(`UPDATE control.table_control SET last_status = 'In Progress', last_run_id = 'r1', is_active = true WHERE config_id = $1`, [id]);
    const before = (await historyOf(id)).length;

    await db.pool.query(`UPDATE control.table_control SET lease_owner = 'a1' WHERE config_id = $1`, [id]);
    expect(await heartbeat(db.pool, { configId: id, runId: 'r1', owner: 'a1', seconds: 90 }, 'still going')).toBe('alive');
    // failRow marks the transaction it runs in: give it one.
    await withTransaction(db.pool, (c) => failRow(c, id, 'load_cron: invalid'));
    await withTransaction(db.pool, async (c) => {
      await markRuntimeWrite(c);
      await c.query(`UPDATE control.table_control SET incremental_value = '42', next_load_date_time = now() WHERE config_id = $1`, [id]);
    });
    expect(await historyOf(id)).toHaveLength(before);

    await withTransaction(db.pool, async (c) => {
      await markRuntimeWrite(c);
      await c.query(`UPDATE control.table_control SET last_status = NULL, primary_key_cols = 'id' WHERE config_id = $1`, [id]);
    });
    const last = (await historyOf(id)).at(-1)!;
    expect([last.change_source, last.changed_fields]).toEqual(['runtime', ['last_status', 'primary_key_cols']]);
  });

  it('does not audit runtime-only writes by plain SQL (another orchestrator), but audits its config changes, and skips an update that changes nothing', async () => {
    const id = await insertRow('returns');
    await db.pool.query(
      `UPDATE control.table_control
          SET last_status = 'Failed', last_status_date_time = now(), last_status_message = 'x', incremental_value = '5',
              next_load_date_time = now(), last_load_date_time = now(), last_dagster_run = 'd1', lease_owner = 'o', retry_count = 1
        WHERE config_id = $1`,
      [id],
    );
    await db.pool.query(`UPDATE control.table_control SET load_cron = load_cron WHERE config_id = $1`, [id]);
    await db.pool.query(`UPDATE control.table_control SET last_status = 'Succeeded', rolling_days = 3 WHERE config_id = $1`, [id]);
    const history = await historyOf(id);
    expect(history.map((h) => [h.change_type, h.change_source, h.changed_fields])).toEqual([
      ['INSERT', 'sql', expect.any(Array)],
      // A configuration change is audited whole, runtime columns beside it included.
      ['UPDATE', 'sql', expect.arrayContaining(['last_status', 'rolling_days', 'last_modified_at'])],
    ]);
  });

  it('audits a row without a control key with an empty key, and a multi-row statement row by row', async () => {
    const { rows } = await db.pool.query<{ config_id: number }>(
      `INSERT INTO control.table_control (source_table_name) VALUES ('nokey') RETURNING config_id`,
    );
    const [h] = await historyOf(rows[0]!.config_id);
    expect(h!.control_key_hex).toBe('');
    expect(h!.new_values).toMatchObject({ control_key: null });

    const ids = [await insertRow('a1'), await insertRow('a2'), await insertRow('a3')];
    await db.pool.query(`UPDATE control.table_control SET rolling_days = 7 WHERE config_id = ANY($1)`, [ids]);
    for (const id of ids) {
      expect((await historyOf(id)).at(-1)!.changed_fields).toEqual(['rolling_days', 'last_modified_at', 'last_modified_user']);
    }
  });

  it('rolls the history back with the change', async () => {
    const id = await insertRow('rollback');
    const before = (await historyOf(id)).length;
    await expect(
      withTransaction(db.pool, async (c) => {
        await c.query(`UPDATE control.table_control SET load_cron = 'x' WHERE config_id = $1`, [id]);
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await historyOf(id)).toHaveLength(before);
  });
});

describe('audit of table_control_dbconfig', () => {
  it('audits inserts, updates and deletes of connections', async () => {
    await db.pool.query(`INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type)
                         VALUES ('pg_main', '{"host":"h"}', 'postgresql')`);
    await db.pool.query(`UPDATE control.table_control_dbconfig SET db_type = 'mssql' WHERE db_config_key = 'pg_main'`);
    await db.pool.query(`UPDATE control.table_control_dbconfig SET db_type = 'mssql' WHERE db_config_key = 'pg_main'`);
    await db.pool.query(`DELETE FROM control.table_control_dbconfig WHERE db_config_key = 'pg_main'`);
    const { rows } = await db.pool.query<{ change_type: string; change_source: string; changed_fields: string[] }>(
      `SELECT change_type, change_source, changed_fields FROM control.table_control_dbconfig_history
        WHERE db_config_key = 'pg_main' ORDER BY history_id`,
    );
    expect(rows.map((r) => r.change_type)).toEqual(['INSERT', 'UPDATE', 'DELETE']);
    expect(rows[1]!.changed_fields).toEqual(['db_type']);
    expect(rows[0]!.change_source).toBe('sql');
  });
});
