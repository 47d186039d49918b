/**
 * PostgreSQL SQL for a ReadSpec. COPY cannot take bind parameters, so values
 * travel as bound parameters of set_config() into transaction-local settings
 * (`dataloader.p1`, ...) that the COPY query reads back with current_setting()
 * and casts to the column's type: values are never spliced into SQL text.
 * current_setting() is stable, so an index on the column still serves the filter.
 */
import pg from 'pg';
import type { SourceRelation } from '../data/spec.js';
import { compileWindow } from '../window/compile.js';
import { postgresWindowDialect, sessionSettings } from '../window/postgres.js';
import { fromItem } from './dialect.js';
import type { ReadSpec, SignatureSpec } from './port.js';

export interface BoundSql {
  sql: string;
  /** Values for `dataloader.p1`, `dataloader.p2`, ... in order. */
  settings: string[];
}

const q = (identifier: string) => pg.escapeIdentifier(identifier);

const postgresRelations = {
  tableName: (schema: string | null, table: string) => (schema ? `${q(schema)}.${q(table)}` : q(table)),
  queryItem: (sql: string) => `(${sql}\n) AS "source"`,
};

/** The FROM item of a relation: a quoted table name, or the custom query as a subquery. */
function from(relation: SourceRelation): string {
  return fromItem(postgresRelations, relation);
}

/** SELECT of a read spec's rows, columns in spec order; its window compiled by the window compiler. */
export function selectSql(spec: ReadSpec): BoundSql {
  const settings: string[] = [];
  const columns = spec.columns.map((c) => ({ name: c.name, type: c.type, pgType: c.type }));
  const where = compileWindow(postgresWindowDialect(sessionSettings), spec.conditions, columns, settings, 'the source');
  const list = spec.columns.map((c) => q(c.name)).join(', ');
  return { sql: `SELECT ${list} FROM ${from(spec.relation)}${where === null ? '' : ` WHERE ${where}`}`, settings };
}

/** Row count and the column's maximum, as one text value. */
export function signatureSql(spec: SignatureSpec): string {
  const max = spec.column ? `max(${q(spec.column)})::text` : `''`;
  return `SELECT count(*)::text || '/' || coalesce(${max}, '') AS signature FROM ${from(spec.relation)}`;
}

/** Zero rows of the relation: its result columns, without reading it. */
export function describeSql(relation: SourceRelation): string {
  return `SELECT * FROM ${from(relation)} LIMIT 0`;
}

/**
 * The type name each result column gets at the destination: built-in types as
 * format_type spells them; domains as their base type; enums, composites,
 * ranges and other user types as text (the destination may not have them).
 */
export const TYPE_NAMES_SQL = `
  SELECT CASE
           WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
           WHEN t.oid >= 16384 OR t.typtype IN ('e', 'c', 'r', 'm', 'p') THEN 'text'
           ELSE format_type(f.oid, f.mod)
         END AS type
    FROM unnest($1::oid[], $2::int[]) WITH ORDINALITY AS f(oid, mod, n)
    JOIN pg_type t ON t.oid = f.oid
   ORDER BY f.n`;

/**
 * The oldest transaction still open on the source's database, and the bound it
 * sets for a time watermark (`$1`: the margin in seconds). Counted: client
 * backends and logical replication workers of this database, except this
 * session and the loader's own read-only reads (application_name
 * dataloader-loader without a transaction id: they never write). Without the
 * privilege to see other roles' sessions (pg_read_all_stats), their
 * `backend_type`, `state` and `xact_start` read NULL (the database name does
 * not): `hidden` counts them, and a bound is then not exact.
 * The bound is `least(oldest start, now) - margin` in the column's type, one
 * step lower still: the watermark compares with `>`, and a row stamped exactly
 * at the start must stay above it. The step is a microsecond, a second where
 * the type keeps fewer digits (its cast rounds to the nearest), a day for a date.
 */
export function commitHorizonSql(columnType: string): string {
  const start = `(least(o.xact_start, s.now) - make_interval(secs => $1::int))`;
  const digits = /\((\d)\)/.exec(columnType)?.[1];
  const step = digits !== undefined && Number(digits) < 6 ? `interval '1 second'` : `interval '1 microsecond'`;
  const bound = columnType === 'date' ? `(${start}::date - 1)` : `(${start} - ${step})::${columnType}`;
  return `
  WITH open AS (
    SELECT a.pid, a.xact_start, a.state
      FROM pg_stat_activity a
     WHERE a.datname = current_database()
       AND a.pid <> pg_backend_pid()
       AND (a.backend_type IS NULL OR a.backend_type = 'client backend' OR a.backend_type LIKE 'logical replication%')
       AND NOT (a.application_name = 'dataloader-loader' AND a.backend_xid IS NULL AND a.state IS NOT NULL)
  ), s AS (SELECT clock_timestamp() AS now)
  SELECT (SELECT count(*) FROM open WHERE state IS NULL)::int AS hidden,
         o.pid,
         o.xact_start::text AS since,
         ${bound}::text AS bound
    FROM s LEFT JOIN LATERAL (SELECT pid, xact_start FROM open WHERE xact_start IS NOT NULL ORDER BY xact_start LIMIT 1) o ON true`;
}
