/**
 * PostgreSQL SQL for a ReadSpec. COPY cannot take bind parameters, so values
 * travel as bound parameters of set_config() into transaction-local settings
 * (`dataloader.p1`, ...) that the COPY query reads back with current_setting()
 * and casts to the column's type: values are never spliced into SQL text.
 * current_setting() is stable, so an index on the column still serves the filter.
 */
import pg from 'pg';
import { TerminalError } from '../errors.js';
import { amountType, type ColumnSpec, type Condition, type Lookback, type SourceRelation } from '../data/spec.js';
import type { ReadSpec, SignatureSpec } from './port.js';

export interface BoundSql {
  sql: string;
  /** Values for `dataloader.p1`, `dataloader.p2`, ... in order. */
  settings: string[];
}

const q = (identifier: string) => pg.escapeIdentifier(identifier);

/** The FROM item of a relation: a quoted table name, or the custom query as a subquery. */
export function fromItem(relation: SourceRelation): string {
  if (relation.kind === 'query') {
    // A trailing semicolon is common in pasted SQL and breaks the subquery.
    const sql = relation.sql.trim().replace(/;+\s*$/, '');
    return `(${sql}\n) AS "source"`;
  }
  return relation.schema ? `${q(relation.schema)}.${q(relation.table)}` : q(relation.table);
}

function columnOf(columns: ColumnSpec[], name: string): ColumnSpec {
  const column = columns.find((c) => c.name === name);
  if (!column) {
    throw new TerminalError(`column "${name}" is not in the source (its columns: ${columns.map((c) => c.name).join(', ')})`);
  }
  return column;
}

function lookbackCount(lookback: Exclude<Lookback, { kind: 'amount' }>): number {
  return lookback.kind === 'days' ? lookback.days : lookback.kind === 'seconds' ? lookback.seconds : lookback.minutes;
}

function conditionSql(condition: Condition, columns: ColumnSpec[], settings: string[]): string {
  const column = columnOf(columns, condition.column);
  const param = (value: string) => {
    settings.push(value);
    return `current_setting('dataloader.p${settings.length}')::${column.type}`;
  };
  const col = q(column.name);
  if (condition.kind === 'after') {
    const value = param(condition.value);
    const lookback = condition.lookback;
    if (!lookback) return `${col} > ${value}`;
    settings.push(lookback.kind === 'amount' ? lookback.amount : String(lookbackCount(lookback)));
    const amount = `current_setting('dataloader.p${settings.length}')`;
    switch (lookback.kind) {
      case 'seconds':
        return `${col} > ${value} - make_interval(secs => ${amount}::int)`;
      case 'minutes':
        return `${col} > ${value} - make_interval(mins => ${amount}::int)`;
      case 'days':
        return `${col} > ${value} - ${amount}::int`;
      case 'amount':
        return `${col} > ${value} - ${amount}::${amountType(column.type)}`;
    }
  }
  const parts: string[] = [];
  if (condition.from !== undefined) parts.push(`${col} >= ${param(condition.from)}`);
  if (condition.to !== undefined) parts.push(`${col} < ${param(condition.to)}`);
  const range = parts.length ? parts.join(' AND ') : 'true';
  return condition.withNulls ? `(${range} OR ${col} IS NULL)` : range;
}

/** SELECT of a read spec's rows, columns in spec order. */
export function selectSql(spec: ReadSpec): BoundSql {
  const settings: string[] = [];
  const where = spec.conditions.map((c) => conditionSql(c, spec.columns, settings));
  const list = spec.columns.map((c) => q(c.name)).join(', ');
  const sql = `SELECT ${list} FROM ${fromItem(spec.relation)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
  return { sql, settings };
}

/** Row count and the column's maximum, as one text value. */
export function signatureSql(spec: SignatureSpec): string {
  const max = spec.column ? `max(${q(spec.column)})::text` : `''`;
  return `SELECT count(*)::text || '/' || coalesce(${max}, '') AS signature FROM ${fromItem(spec.relation)}`;
}

/** Zero rows of the relation: its result columns, without reading it. */
export function describeSql(relation: SourceRelation): string {
  return `SELECT * FROM ${fromItem(relation)} LIMIT 0`;
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
