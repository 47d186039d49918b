/**
 * Use cases of connections (table_control_dbconfig): list, get, create or
 * replace, delete. Writes are audited in table_control_dbconfig_history
 * (migration 006) as single_edit; tables detached by a forced delete are
 * audited in table_control_history as bulk_edit.
 */
import type pg from 'pg';
import type { Settings } from '../../settings.js';
import { setChangeContext, withChange } from '../change.js';
import { conflict, notFound } from '../errors.js';
import type { ApiConnectionRow } from '../format.js';
import { putConnectionBody, type PatchConnectionBody, type PutConnectionBody } from '../schemas/connections.js';
import { fieldErrorsFrom, ValidationError } from '../errors.js';
import type { ExpectedVersion } from '../tables/edit.js';
import { isVersionOf } from '../tables/sql.js';
import { toJsonRow } from '../format.js';
import {
  deleteConnection,
  detachTables,
  selectConnection,
  selectConnectionHistory,
  selectConnections,
  selectTablesUsing,
  upsertConnection,
} from './sql.js';

export const DEFAULT_KV_SCOPE = 'azure-keyvault';

export async function listConnections(pool: pg.Pool): Promise<ApiConnectionRow[]> {
  return selectConnections(pool);
}

export async function getConnection(pool: pg.Pool, key: string): Promise<ApiConnectionRow> {
  const row = await selectConnection(pool, key);
  if (!row) throw notFound(`connection "${key}" not found`);
  return row;
}

/** Creates the connection, or replaces the one with this key (only at `expected` when given). */
export async function putConnection(
  pool: pg.Pool,
  user: string,
  key: string,
  body: PutConnectionBody,
  expected: ExpectedVersion | undefined,
): Promise<{ row: ApiConnectionRow; created: boolean }> {
  return withChange(pool, 'single_edit', user, async (client) => {
    const current = await selectConnection(client, key, true);
    if (expected && !expected.any) {
      if (!current || !(await isVersionOf(client, current.last_modified_at, expected.versions))) {
        throw conflict(`connection "${key}" was changed by someone else; read it again and retry`, { current: current ?? null });
      }
    }
    // Optional keys left out are not stored as nulls.
    const value = Object.fromEntries(Object.entries(body.db_config_value).filter(([, v]) => v !== undefined)) as Record<string, string>;
    return upsertConnection(
      client,
      key,
      {
        db_config_value: value,
        db_type: body.db_type,
        db_kv_scope: body.db_kv_scope ?? DEFAULT_KV_SCOPE,
        default_target_schema: body.default_target_schema ?? null,
      },
      user,
    );
  });
}

/**
 * Deletes a connection. Refused (409, with the tables) while tables use it or
 * when it is the destination, unless forced; forced, the tables' db_config_key
 * becomes NULL and the sensor fails them with a message until they get another.
 */
export async function removeConnection(pool: pg.Pool, settings: Settings, user: string, key: string, force: boolean): Promise<void> {
  await withChange(pool, 'bulk_edit', user, async (client) => {
    const current = await selectConnection(client, key, true);
    if (!current) throw notFound(`connection "${key}" not found`);
    const tables = await selectTablesUsing(client, key);
    if (!force && tables.length > 0) {
      throw conflict(`connection "${key}" is used by ${tables.length} table(s); change them first, or delete with ?force=true`, { tables });
    }
    if (!force && key === settings.DESTINATION_DB_CONFIG_KEY) {
      throw conflict(`connection "${key}" is the destination of every load (DESTINATION_DB_CONFIG_KEY); delete with ?force=true`);
    }
    if (tables.length > 0) await detachTables(client, key, user);
    await setChangeContext(client, 'single_edit', user);
    await deleteConnection(client, key);
  });
}

/**
 * A connection's change history, newest first: every insert, update and
 * delete (the audit trigger of migration 006). 404 for a key that never existed.
 */
export async function connectionHistory(pool: pg.Pool, key: string, limit: number): Promise<Record<string, unknown>[]> {
  const rows = await selectConnectionHistory(pool, key, limit);
  if (rows.length === 0 && !(await selectConnection(pool, key))) throw notFound(`connection "${key}" not found, and it has no history`);
  return rows.map(toJsonRow);
}

/**
 * Changes the fields given of an existing connection (db_config_value is
 * merged key by key: a null removes an optional key), at `expected` when given.
 * The result is checked as a whole, like a PUT.
 */
export async function patchConnection(
  pool: pg.Pool,
  user: string,
  key: string,
  changes: PatchConnectionBody,
  expected: ExpectedVersion | undefined,
): Promise<ApiConnectionRow> {
  return withChange(pool, 'single_edit', user, async (client) => {
    const current = await selectConnection(client, key, true);
    if (!current) throw notFound(`connection "${key}" not found; create it with PUT`);
    if (expected && !expected.any && !(await isVersionOf(client, current.last_modified_at, expected.versions))) {
      throw conflict(`connection "${key}" was changed by someone else; read it again and retry`, { current });
    }
    const value: Record<string, unknown> = { ...current.db_config_value };
    for (const [k, v] of Object.entries(changes.db_config_value ?? {})) {
      if (v === null) delete value[k];
      else value[k] = v;
    }
    const merged = putConnectionBody.safeParse({
      db_config_value: value,
      db_type: changes.db_type ?? current.db_type,
      db_kv_scope: changes.db_kv_scope ?? current.db_kv_scope ?? DEFAULT_KV_SCOPE,
      default_target_schema: changes.default_target_schema === undefined ? current.default_target_schema : changes.default_target_schema,
    });
    if (!merged.success) throw new ValidationError(fieldErrorsFrom(merged.error));
    const body = merged.data;
    const { row } = await upsertConnection(
      client,
      key,
      {
        db_config_value: Object.fromEntries(Object.entries(body.db_config_value).filter(([, v]) => v !== undefined)) as Record<string, string>,
        db_type: body.db_type,
        db_kv_scope: body.db_kv_scope ?? DEFAULT_KV_SCOPE,
        default_target_schema: body.default_target_schema ?? null,
      },
      user,
    );
    return row;
  });
}
