/**
 * The admin API's statements on control.table_control, one per function.
 * Column names come only from the API's fixed field list and are escaped;
 * every value is a bound parameter.
 */
import pg from 'pg';
import type { Queryable } from '../../db/pool.js';
import { nextModifiedAt } from '../change.js';
import { tableSelectList, type ApiTableRow } from '../format.js';
import type { TABLE_SORTS, TableChanges, TableConfig, TableFilter } from '../schemas/tables.js';

const q = pg.escapeIdentifier;

/** A WHERE clause (without the keyword) for a filter; appends its values to `params`. */
export function filterClause(filter: Partial<TableFilter>, params: unknown[], alias = 't'): string {
  const a = q(alias);
  const parts: string[] = ['true'];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.status === 'none') parts.push(`${a}.last_status IS NULL`);
  else if (filter.status) parts.push(`${a}.last_status = ${bind(filter.status)}`);
  if (filter.active !== undefined) parts.push(`${a}.is_active = ${bind(filter.active)}`);
  if (filter.db_config_key) parts.push(`${a}.db_config_key = ${bind(filter.db_config_key)}`);
  if (filter.strategy) parts.push(`${a}.load_strategy = ${bind(filter.strategy)}`);
  if (filter.name) {
    const pattern = bind(`%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    parts.push(`(${a}.source_table_name ILIKE ${pattern} OR ${a}.destination_table_name ILIKE ${pattern})`);
  }
  return parts.join(' AND ');
}

export interface TableSort {
  sort: (typeof TABLE_SORTS)[number];
  order: 'asc' | 'desc';
}

export async function selectTablePage(
  db: Queryable,
  filter: Partial<TableFilter>,
  limit: number,
  offset: number,
  sort: TableSort = { sort: 'config_id', order: 'asc' },
): Promise<{ items: ApiTableRow[]; total: number }> {
  const params: unknown[] = [];
  const where = filterClause(filter, params);
  // The column comes from a fixed list (TABLE_SORTS) and is escaped; config_id keeps pages stable.
  const direction = sort.order === 'desc' ? 'DESC' : 'ASC';
  const orderBy = sort.sort === 'config_id' ? `t.config_id ${direction}` : `t.${q(sort.sort)} ${direction} NULLS LAST, t.config_id ${direction}`;
  const [page, count] = await Promise.all([
    db.query<ApiTableRow>(
      `SELECT ${tableSelectList()} FROM control.table_control t WHERE ${where}
        ORDER BY ${orderBy} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, limit, offset],
    ),
    db.query<{ total: number }>(`SELECT count(*)::int AS total FROM control.table_control t WHERE ${where}`, params),
  ]);
  return { items: page.rows, total: count.rows[0]?.total ?? 0 };
}

/** One row, optionally locked for an edit. */
export async function selectTable(db: Queryable, configId: number, lock = false): Promise<ApiTableRow | undefined> {
  const { rows } = await db.query<ApiTableRow>(
    `SELECT ${tableSelectList()} FROM control.table_control t WHERE t.config_id = $1${lock ? ' FOR UPDATE' : ''}`,
    [configId],
  );
  return rows[0];
}

/** The rows with these ids, or matching the filter, locked for an edit (unless `lock` is false), in config_id order. */
export async function selectTablesForUpdate(db: Queryable, selection: { ids?: number[]; filter?: TableFilter }, lock = true): Promise<ApiTableRow[]> {
  const params: unknown[] = [];
  const where = selection.ids ? `t.config_id = ANY($1::bigint[])` : filterClause(selection.filter ?? {}, params);
  if (selection.ids) params.push(selection.ids);
  const { rows } = await db.query<ApiTableRow>(
    `SELECT ${tableSelectList()} FROM control.table_control t WHERE ${where} ORDER BY t.config_id${lock ? ' FOR UPDATE' : ''}`,
    params,
  );
  return rows;
}

/** True when the row's last_modified_at is one of `versions` (ISO strings; null for none). */
export async function isVersionOf(db: Queryable, lastModifiedAt: string | null, versions: (string | null)[]): Promise<boolean> {
  if (versions.includes(null) && lastModifiedAt === null) return true;
  const given = versions.filter((v): v is string => v !== null);
  if (lastModifiedAt === null || given.length === 0) return false;
  const { rows } = await db.query<{ matches: boolean }>(
    `SELECT $1::timestamp = ANY($2::timestamp[]) AS matches`,
    [lastModifiedAt, given],
  );
  return rows[0]?.matches === true;
}

export async function connectionExists(db: Queryable, key: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM control.table_control_dbconfig WHERE db_config_key = $1`, [key]);
  return rowCount === 1;
}

/**
 * Serialises writes of one source/destination pair until the transaction ends,
 * so that two concurrent creates of the same table cannot both pass the
 * duplicate check.
 */
export async function lockTableIdentity(db: Queryable, config: TableConfig): Promise<void> {
  const identity = [config.source_table_catalog, config.source_table_schema, config.source_table_name, config.destination_table_name].join('\u0001');
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 5))`, [identity]);
}

/**
 * Rows among `configIds` that load the same source (control_key) into the same
 * destination as another row: two configurations writing one table.
 */
export async function selectDuplicates(db: Queryable, configIds: number[]): Promise<{ config_id: number; duplicate_of: number }[]> {
  const { rows } = await db.query<{ config_id: number; duplicate_of: number }>(
    `SELECT t.config_id, min(o.config_id) AS duplicate_of
       FROM control.table_control t
       JOIN control.table_control o
         ON o.control_key = t.control_key
        AND o.config_id <> t.config_id
        AND o.destination_table_catalog IS NOT DISTINCT FROM t.destination_table_catalog
        AND o.destination_table_schema IS NOT DISTINCT FROM t.destination_table_schema
        AND o.destination_table_name IS NOT DISTINCT FROM t.destination_table_name
      WHERE t.config_id = ANY($1::bigint[])
      GROUP BY t.config_id
      ORDER BY t.config_id
      LIMIT 20`,
    [configIds],
  );
  return rows;
}

/** Inserts a configuration; the database fills config_id, control_key and created_at. */
export async function insertTable(db: Queryable, config: TableConfig, user: string): Promise<ApiTableRow> {
  const fields = Object.keys(config) as (keyof TableConfig)[];
  const values = fields.map((f) => config[f]);
  const { rows } = await db.query<ApiTableRow>(
    `INSERT INTO control.table_control AS t (${fields.map(q).join(', ')}, created_at, last_modified_at, create_user, last_modified_user)
     VALUES (${fields.map((_, i) => `$${i + 1}`).join(', ')},
             clock_timestamp() AT TIME ZONE 'UTC', clock_timestamp() AT TIME ZONE 'UTC', $${fields.length + 1}, $${fields.length + 1})
     RETURNING ${tableSelectList()}`,
    [...values, user],
  );
  return rows[0]!;
}

/** Applies changes to one row and moves its version forward. */
export async function updateTable(db: Queryable, configId: number, changes: TableChanges, user: string): Promise<ApiTableRow> {
  const fields = Object.keys(changes) as (keyof TableChanges)[];
  const sets = fields.map((f, i) => `${q(f)} = $${i + 2}`);
  const { rows } = await db.query<ApiTableRow>(
    `UPDATE control.table_control AS t
        SET ${[...sets, `last_modified_at = ${nextModifiedAt('t')}`, `last_modified_user = $${fields.length + 2}`].join(', ')}
      WHERE t.config_id = $1
      RETURNING ${tableSelectList()}`,
    [configId, ...fields.map((f) => changes[f]), user],
  );
  return rows[0]!;
}

/**
 * Sets the same fields on many rows in one statement (one audit statement too).
 * Rows that already hold every value are left alone. Returns the ids changed.
 */
export async function updateTables(db: Queryable, configIds: number[], changes: TableChanges, user: string): Promise<number[]> {
  const fields = Object.keys(changes) as (keyof TableChanges)[];
  const sets = fields.map((f, i) => `${q(f)} = $${i + 3}`);
  const differs = fields.map((f, i) => `t.${q(f)} IS DISTINCT FROM $${i + 3}`);
  const { rows } = await db.query<{ config_id: number }>(
    `UPDATE control.table_control AS t
        SET ${[...sets, `last_modified_at = ${nextModifiedAt('t')}`, `last_modified_user = $2`].join(', ')}
      WHERE t.config_id = ANY($1::bigint[]) AND (${differs.join(' OR ')})
      RETURNING t.config_id`,
    [configIds, user, ...fields.map((f) => changes[f])],
  );
  return rows.map((r) => r.config_id).sort((a, b) => a - b);
}

export async function deleteTable(db: Queryable, configId: number): Promise<void> {
  await db.query(`DELETE FROM control.table_control WHERE config_id = $1`, [configId]);
}
