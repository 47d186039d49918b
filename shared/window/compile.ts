/**
 * The window compiler: the one place a read or delete window (a list of
 * Conditions) becomes SQL. Conditions compile to the same shapes in every
 * database: `col > v`, `col > v - lookback`, `from <= col < to`, with NULLs
 * when asked. A dialect overrides only quoting and how a value is written
 * (bound or as an escaped literal, cast to the column's type, a lookback
 * subtracted in its arithmetic): Kysely's model. The source reads a window
 * and the destination deletes the same window; append_only, rolling and
 * chunked_backfill are idempotent only because both come from this function.
 */
import type { Condition, Lookback } from '../data/spec.js';
import { TerminalError } from '../errors.js';

/** A column a window filters on: its name and the type its values are written in. */
export interface WindowColumn {
  name: string;
  /** The column's type where the SQL runs (the source's own type name, or the destination's). */
  type: string;
  /** The column's PostgreSQL type (the destination's; equal to `type` on PostgreSQL). */
  pgType: string;
}

/** What a database changes in a window's SQL: quoting and values. */
export interface WindowDialect {
  /** One identifier, quoted and escaped. */
  quote(identifier: string): string;
  /** A value (text) as SQL of the column's type: a bound placeholder or an escaped literal, cast. */
  value(column: WindowColumn, text: string, params: unknown[]): string;
  /** `value` (typed SQL) less a lookback, in the column's type. */
  minus(column: WindowColumn, value: string, lookback: Lookback, params: unknown[]): string;
  /** A condition that is always true. */
  trueSql: string;
}

/** The column a condition names; `where` says whose columns they are in the message. */
export function columnOf<C extends { name: string }>(columns: readonly C[], name: string, where: string): C {
  const column = columns.find((c) => c.name === name);
  if (!column) {
    throw new TerminalError(`column "${name}" is not in ${where} (its columns: ${columns.map((c) => c.name).join(', ')})`);
  }
  return column;
}

function conditionSql(dialect: WindowDialect, condition: Condition, columns: readonly WindowColumn[], params: unknown[], where: string): string {
  const column = columnOf(columns, condition.column, where);
  const col = dialect.quote(column.name);
  if (condition.kind === 'after') {
    const value = dialect.value(column, condition.value, params);
    return condition.lookback ? `${col} > ${dialect.minus(column, value, condition.lookback, params)}` : `${col} > ${value}`;
  }
  const parts: string[] = [];
  if (condition.from !== undefined) parts.push(`${col} >= ${dialect.value(column, condition.from, params)}`);
  if (condition.to !== undefined) parts.push(`${col} < ${dialect.value(column, condition.to, params)}`);
  const range = parts.length ? parts.join(' AND ') : dialect.trueSql;
  return condition.withNulls ? `(${range} OR ${col} IS NULL)` : range;
}

/**
 * The window's conditions joined with AND, or null when there are none.
 * Values are appended to `params` in placeholder order.
 */
export function compileWindow(
  dialect: WindowDialect,
  conditions: readonly Condition[],
  columns: readonly WindowColumn[],
  params: unknown[],
  where: string,
): string | null {
  const parts = conditions.map((c) => conditionSql(dialect, c, columns, params, where));
  return parts.length ? parts.join(' AND ') : null;
}
