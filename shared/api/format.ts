/**
 * How rows look in the API: the schema's column names, timestamps as ISO-8601
 * UTC strings with the database's full microsecond precision (so that
 * last_modified_at round-trips exactly as a version), control_key as hex.
 */
import pg from 'pg';
import type { DbConfigRow, TableControlRow } from '../control/rows.js';
import { TABLE_CONTROL_COLUMNS } from '../control/rows.js';

const ISO_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/** Columns of table_control the API shows: the seed's, then the run-tracking ones added later. */
export const TABLE_COLUMNS: readonly string[] = [...TABLE_CONTROL_COLUMNS, 'last_run_id', 'last_heartbeat_at', 'last_queued_at', 'incremental_lookback'];

const TABLE_TIMESTAMPS = new Set([
  'last_load_date_time',
  'next_load_date_time',
  'last_status_date_time',
  'created_at',
  'last_modified_at',
  'last_heartbeat_at',
  'last_queued_at',
]);

export const CONNECTION_COLUMNS: readonly string[] = [
  'db_config_key',
  'db_config_value',
  'db_type',
  'db_kv_scope',
  'default_target_schema',
  'created_at',
  'last_modified_at',
  'create_user',
  'last_modified_user',
];
const CONNECTION_TIMESTAMPS = new Set(['created_at', 'last_modified_at']);

type Jsonish<T> = { [K in keyof T]: T[K] extends Date | null ? string | null : T[K] extends Buffer | null ? string | null : T[K] };

/** A table_control row as the API returns it. */
export type ApiTableRow = Jsonish<TableControlRow> & {
  last_run_id: string | null;
  last_heartbeat_at: string | null;
  last_queued_at: string | null;
  incremental_lookback: string | null;
  /** Read views only: the lookback a load of this row uses, and where it comes from (computed, not stored). */
  incremental_lookback_in_force?: string | null;
};

/** A table_control_dbconfig row as the API returns it. */
export type ApiConnectionRow = Jsonish<DbConfigRow>;

function selectList(columns: readonly string[], timestamps: ReadonlySet<string>, alias: string): string {
  const a = pg.escapeIdentifier(alias);
  return columns
    .map((column) => {
      const c = `${a}.${pg.escapeIdentifier(column)}`;
      const name = pg.escapeIdentifier(column);
      if (timestamps.has(column)) return `to_char(${c}, ${ISO_MICROS}) AS ${name}`;
      if (column === 'control_key') return `encode(${c}, 'hex') AS ${name}`;
      return c;
    })
    .join(', ');
}

/** The SELECT list of a table_control row in API form, for a table aliased `alias`. */
export function tableSelectList(alias = 't'): string {
  return selectList(TABLE_COLUMNS, TABLE_TIMESTAMPS, alias);
}

/** The SELECT list of a table_control_dbconfig row in API form. */
export function connectionSelectList(alias = 'c'): string {
  return selectList(CONNECTION_COLUMNS, CONNECTION_TIMESTAMPS, alias);
}

/** The ETag of a row: its last_modified_at, which every edit moves forward. */
export function etagOf(lastModifiedAt: string | null): string {
  return `"${lastModifiedAt ?? 'none'}"`;
}

/**
 * The versions an If-Match header accepts: `*` (any), or the quoted values
 * (weak or strong). `none` stands for a row without last_modified_at.
 */
export function parseIfMatch(header: string): { any: true } | { any: false; versions: (string | null)[] } {
  if (header.trim() === '*') return { any: true };
  const versions = header
    .split(',')
    .map((v) => v.trim().replace(/^W\//, '').replace(/^"|"$/g, ''))
    .filter((v) => v !== '')
    .map((v) => (v === 'none' ? null : v));
  return { any: false, versions };
}

/** A query result row as JSON: Dates as ISO strings, bytea as hex. */
export function toJsonRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value instanceof Date ? value.toISOString() : Buffer.isBuffer(value) ? value.toString('hex') : value;
  }
  return out;
}
