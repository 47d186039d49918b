/**
 * Use cases of one table_control row: list, get, create, update (PATCH/PUT
 * with optimistic concurrency), delete. Writes are audited as single_edit.
 */
import type pg from 'pg';
import type { Queryable } from '../../db/pool.js';
import { withChange } from '../change.js';
import { conflict, invalid, notFound, preconditionRequired, ValidationError } from '../errors.js';
import type { ApiTableRow } from '../format.js';
import {
  changedFields,
  checkTableConfig,
  checkTableEdit,
  configOf,
  EMPTY_CONFIG,
  type ListTablesQuery,
  type TableChanges,
  type TableConfig,
} from '../schemas/tables.js';
import {
  connectionExists,
  deleteTable,
  insertTable,
  isVersionOf,
  lockTableIdentity,
  selectDuplicates,
  selectTable,
  selectTablePage,
  updateTable,
} from './sql.js';

/** The version a write is based on: If-Match (`*` = any), or last_modified_at from the body. */
export type ExpectedVersion = { any: true } | { any: false; versions: (string | null)[] };

export interface TablePage {
  items: ApiTableRow[];
  total: number;
  limit: number;
  offset: number;
}

export async function listTables(pool: pg.Pool, query: ListTablesQuery): Promise<TablePage> {
  const { limit, offset, sort, order, ...filter } = query;
  const { items, total } = await selectTablePage(pool, filter, limit, offset, { sort, order });
  return { items, total, limit, offset };
}

export async function getTable(db: Queryable, configId: number, lock = false): Promise<ApiTableRow> {
  const row = await selectTable(db, configId, lock);
  if (!row) throw notFound(`table ${configId} not found`);
  return row;
}

/**
 * Checks a configuration about to be saved: its rules (only those the edit
 * breaks, when `before` is given) and its connection.
 */
export async function checkConfigBeforeSave(db: Queryable, config: TableConfig, before?: TableConfig): Promise<void> {
  const errors = before ? checkTableEdit(before, config) : checkTableConfig(config);
  if (errors.length > 0) throw new ValidationError(errors);
  if (config.db_config_key !== null && !(await connectionExists(db, config.db_config_key))) {
    throw invalid('db_config_key', `no connection named "${config.db_config_key}"; create it with PUT /api/connections/${config.db_config_key} first`);
  }
  await lockTableIdentity(db, config);
}

/** Refuses (rolling back) a row that now loads the same source into the same destination as another. */
export async function assertNoDuplicate(db: Queryable, configIds: number[]): Promise<void> {
  const duplicates = await selectDuplicates(db, configIds);
  if (duplicates.length > 0) {
    const [first] = duplicates;
    throw conflict(
      `table ${first!.duplicate_of} already loads this source table into the same destination; change the source or destination names`,
      { duplicates },
    );
  }
}

export async function createTable(pool: pg.Pool, user: string, fields: TableChanges): Promise<ApiTableRow> {
  const config: TableConfig = { ...EMPTY_CONFIG, ...fields };
  return withChange(pool, 'single_edit', user, async (client) => {
    await checkConfigBeforeSave(client, config);
    const row = await insertTable(client, config, user);
    await assertNoDuplicate(client, [row.config_id]);
    return row;
  });
}

/** Throws 428 without a version, 409 when the row has moved past it. */
export async function assertVersion(db: Queryable, row: ApiTableRow, expected: ExpectedVersion | undefined): Promise<void> {
  if (!expected) {
    throw preconditionRequired(
      'last_modified_at',
      "required: send the row's last_modified_at in the body, or its ETag in an If-Match header",
    );
  }
  if (expected.any) return;
  if (!(await isVersionOf(db, row.last_modified_at, expected.versions))) {
    throw conflict(`table ${row.config_id} was changed by someone else (last_modified_at ${row.last_modified_at}); read it again and retry`, {
      current: row,
    });
  }
}

/**
 * PATCH (`replace` false): the given fields change, the others stay.
 * PUT (`replace` true): the body is the whole configuration (incremental_value
 * excepted: left out, the watermark stays).
 * Nothing is written, and no history row appears, when nothing changes.
 */
export async function updateTableConfig(
  pool: pg.Pool,
  user: string,
  configId: number,
  fields: TableChanges,
  expected: ExpectedVersion | undefined,
  replace: boolean,
): Promise<ApiTableRow> {
  return withChange(pool, 'single_edit', user, async (client) => {
    const current = await getTable(client, configId, true);
    await assertVersion(client, current, expected);
    const before = configOf(current);
    // PUT replaces the configuration, but the watermark stays unless the body sets it.
    const after: TableConfig = { ...(replace ? { ...EMPTY_CONFIG, incremental_value: before.incremental_value } : before), ...fields };
    const changes = changedFields(before, after);
    if (Object.keys(changes).length === 0) return current;
    // A PUT states the whole configuration: all of it must be valid. A PATCH must not make it worse.
    await checkConfigBeforeSave(client, after, replace ? undefined : before);
    const row = await updateTable(client, configId, changes, user);
    await assertNoDuplicate(client, [configId]);
    return row;
  });
}

export async function deleteTableConfig(pool: pg.Pool, user: string, configId: number, expected: ExpectedVersion | undefined): Promise<void> {
  await withChange(pool, 'single_edit', user, async (client) => {
    const current = await getTable(client, configId, true);
    // A delete needs no version, but a stale one given is refused.
    if (expected) await assertVersion(client, current, expected);
    await deleteTable(client, configId);
  });
}
