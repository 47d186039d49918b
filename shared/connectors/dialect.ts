/**
 * The parts of reading a source that every SQL dialect shares: a ReadSpec's
 * conditions become `col > v`, `col > v - lookback`, `from <= col < to` (with
 * NULLs when asked) in the same shape everywhere, and each dialect supplies
 * only its quoting, placeholders, casts and date arithmetic (a Dialect). The
 * SQL is built by pure functions, so each dialect's text is asserted exactly
 * in tests without a server.
 */
import { TerminalError } from '../errors.js';
import { normalizeInteger, normalizeValue, valueKindOf, type ValueKind } from './dialect-values.js';
import { describeRelation, type ColumnSpec, type Condition, type Lookback, type SourceRelation } from '../data/spec.js';
import { type CommitHorizon, type ReadSpec, type SignatureSpec } from './port.js';

/** A column with both its type at the source (`datetime2(3)`, `NUMBER(12,2)`) and at the destination. */
export interface SourceColumn extends ColumnSpec {
  sourceType: string;
}

/** SQL with its bound values (text, in placeholder order). */
export interface BoundSql {
  sql: string;
  params: string[];
}

export interface Dialect {
  /** One identifier, quoted and escaped. */
  quote(identifier: string): string;
  /** A table's name (schema-qualified when it has one), quoted. */
  tableName(schema: string | null, table: string): string;
  /** A custom query (already trimmed of trailing semicolons) as a FROM item. */
  queryItem(sql: string): string;
  /** Binds a value and returns its placeholder (or, where the server has no placeholders, its escaped literal). */
  bind(params: string[], value: string): string;
  /** A bound value (its placeholder) read as the column's source type. */
  typed(column: SourceColumn, kind: ValueKind, placeholder: string): string;
  /** `value` (typed SQL) less a lookback, in the column's type. */
  minus(column: SourceColumn, kind: ValueKind, value: string, lookback: Lookback, params: string[]): string;
  /** The select-list expression reading a column as a value the destination parses at full precision. */
  readExpression(column: SourceColumn): string;
  /** A condition that is always true. */
  trueSql: string;
  /** The signature query: one row, one text column `count/max` (`max` is text SQL, or null for none). */
  signatureSql(max: string | null, from: string): string;
  /** The select-list expression of a maximum as text, for the signature. */
  maxText(column: SourceColumn, max: string): string;
}

/** A custom query without the trailing semicolons pasted SQL often has. */
export function trimQuery(sql: string): string {
  return sql.trim().replace(/(;\s*)+$/, '').trimEnd();
}

export function fromItem(dialect: Dialect, relation: SourceRelation): string {
  return relation.kind === 'query' ? dialect.queryItem(trimQuery(relation.sql)) : dialect.tableName(relation.schema, relation.table);
}

/**
 * Refuses a custom query that is not one SELECT (or WITH ... SELECT): no
 * second statement after a semicolon, nothing that is not a query. Each
 * connector also runs custom queries under its database's own read-only
 * guard; this check gives the admin a clear message first.
 */
export function assertSelectQuery(sql: string): void {
  const text = trimQuery(sql);
  let i = 0;
  const skipSpaceAndComments = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith('--', i)) {
        const end = text.indexOf('\n', i);
        i = end < 0 ? text.length : end + 1;
      } else if (text.startsWith('/*', i)) {
        const end = text.indexOf('*/', i + 2);
        i = end < 0 ? text.length : end + 2;
      } else return;
    }
  };
  skipSpaceAndComments();
  while (text[i] === '(') {
    i++;
    skipSpaceAndComments();
  }
  const first = /^[A-Za-z]+/.exec(text.slice(i))?.[0]?.toUpperCase() ?? '';
  if (first !== 'SELECT' && first !== 'WITH') {
    throw new TerminalError(`the custom query (table_control.query) must be a single SELECT or WITH query; it starts with "${text.slice(i, i + 20)}"`);
  }
  const closers: Record<string, string> = { "'": "'", '"': '"', '`': '`', '[': ']' };
  while (i < text.length) {
    const c = text[i]!;
    if (text.startsWith('--', i) || text.startsWith('/*', i)) {
      skipSpaceAndComments();
      continue;
    }
    const close = closers[c];
    if (close) {
      // Quoted text and identifiers: a doubled closer (or a backslash escape) stays inside.
      i++;
      while (i < text.length) {
        if (text[i] === '\\' && c !== '[') i += 2;
        else if (text[i] === close && text[i + 1] === close) i += 2;
        else if (text[i] === close) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === ';') throw new TerminalError('the custom query (table_control.query) must be a single statement; it has a semicolon followed by more SQL');
    i++;
  }
}

function columnOf(columns: SourceColumn[], name: string): SourceColumn {
  const column = columns.find((c) => c.name === name);
  if (!column) {
    throw new TerminalError(`column "${name}" is not in the source (its columns: ${columns.map((c) => c.name).join(', ')})`);
  }
  return column;
}

/** The spec's columns with their source types (from the session's describe). */
export function withSourceTypes(columns: ColumnSpec[], sourceTypes: ReadonlyMap<string, string>): SourceColumn[] {
  return columns.map((c) => {
    const sourceType = sourceTypes.get(c.name);
    if (sourceType === undefined) throw new TerminalError(`column "${c.name}" is not in the source (it was not described)`);
    return { name: c.name, type: c.type, sourceType };
  });
}

function conditionSql(dialect: Dialect, condition: Condition, columns: SourceColumn[], params: string[]): string {
  const column = columnOf(columns, condition.column);
  const kind = valueKindOf(column.type);
  const value = (text: string) => dialect.typed(column, kind, dialect.bind(params, normalizeValue(kind, text, column.name)));
  const col = dialect.quote(column.name);
  if (condition.kind === 'after') {
    const typed = value(condition.value);
    return condition.lookback ? `${col} > ${dialect.minus(column, kind, typed, condition.lookback, params)}` : `${col} > ${typed}`;
  }
  const parts: string[] = [];
  if (condition.from !== undefined) parts.push(`${col} >= ${value(condition.from)}`);
  if (condition.to !== undefined) parts.push(`${col} < ${value(condition.to)}`);
  const range = parts.length ? parts.join(' AND ') : dialect.trueSql;
  return condition.withNulls ? `(${range} OR ${col} IS NULL)` : range;
}

/** The WHERE conditions of a read (empty when none). */
export function whereSql(dialect: Dialect, conditions: Condition[], columns: SourceColumn[], params: string[]): string {
  const parts = conditions.map((c) => conditionSql(dialect, c, columns, params));
  return parts.length ? ` WHERE ${parts.join(' AND ')}` : '';
}

/** SELECT of a read spec's rows, columns in spec order, each read as destination-ready text. */
export function selectSql(dialect: Dialect, spec: ReadSpec, sourceTypes: ReadonlyMap<string, string>): BoundSql {
  const columns = withSourceTypes(spec.columns, sourceTypes);
  const params: string[] = [];
  const where = whereSql(dialect, spec.conditions, columns, params);
  const list = columns.map((c) => dialect.readExpression(c)).join(', ');
  return { sql: `SELECT ${list} FROM ${fromItem(dialect, spec.relation)}${where}`, params };
}

/** Row count and the column's maximum, as one text value (`count/max`). */
export function signatureSql(dialect: Dialect, spec: SignatureSpec, sourceTypes: ReadonlyMap<string, string>): string {
  const from = fromItem(dialect, spec.relation);
  if (!spec.column) return dialect.signatureSql(null, from);
  const sourceType = sourceTypes.get(spec.column);
  if (sourceType === undefined) throw new TerminalError(`column "${spec.column}" is not in the source ${describeRelation(spec.relation)}`);
  const column: SourceColumn = { name: spec.column, type: '', sourceType };
  return dialect.signatureSql(dialect.maxText(column, `MAX(${dialect.quote(spec.column)})`), from);
}

/** Refuses a result with two columns of one name: the destination needs each column once. */
export function assertUniqueColumns(relation: SourceRelation, columns: ColumnSpec[]): void {
  const seen = new Set<string>();
  for (const column of columns) {
    if (seen.has(column.name)) {
      throw new TerminalError(`the ${describeRelation(relation)} returns column "${column.name}" more than once; give each column its own name`);
    }
    seen.add(column.name);
  }
}

/** Names what went wrong reading a relation; `error` stays the cause (it carries the classification). */
export function relationError(relation: SourceRelation, action: string, error: unknown): Error {
  const what = relation.kind === 'query' ? 'the custom query (table_control.query)' : `source table ${describeRelation(relation)}`;
  const reason = error instanceof Error ? error.message : String(error);
  return new Error(`${action} ${what} failed: ${reason}`, { cause: error });
}

/** A stable key of a relation, for caching its described columns in a session. */
export function relationKey(relation: SourceRelation): string {
  return JSON.stringify(relation.kind === 'query' ? [relation.sql] : [relation.schema, relation.table]);
}

/**
 * The relations a session has described: their source column types, which the
 * dialects need to write typed literals. Describing checks the columns' names.
 */
export class DescribedRelations {
  private readonly byRelation = new Map<string, Map<string, string>>();

  /** Checks and remembers a relation's described columns; returns them without their source types. */
  remember(relation: SourceRelation, columns: (ColumnSpec & { sourceType: string })[]): ColumnSpec[] {
    assertUniqueColumns(relation, columns);
    this.byRelation.set(relationKey(relation), new Map(columns.map((c) => [c.name, c.sourceType])));
    return columns.map(({ name, type }) => ({ name, type }));
  }

  /** The source types of a relation's columns, describing it first when it has not been. */
  async sourceTypes(relation: SourceRelation, describe: (relation: SourceRelation) => Promise<unknown>): Promise<Map<string, string>> {
    if (!this.byRelation.has(relationKey(relation))) await describe(relation);
    return this.byRelation.get(relationKey(relation))!;
  }
}

/** A lookback subtracted with DATEADD (SQL Server and Snowflake), or as an amount for numbers. */
export function dateaddMinus(column: SourceColumn, _kind: ValueKind, value: string, lookback: Lookback): string {
  switch (lookback.kind) {
    case 'seconds':
      return `DATEADD(second, -${assertCount(lookback.seconds, 'the lookback in seconds')}, ${value})`;
    case 'minutes':
      return `DATEADD(minute, -${assertCount(lookback.minutes, 'the lookback in minutes')}, ${value})`;
    case 'days':
      return `DATEADD(day, -${assertCount(lookback.days, 'the lookback in days')}, ${value})`;
    case 'amount':
      return `${value} - ${normalizeInteger(lookback.amount, column.name)}`;
  }
}

/** Whether a number is a whole, non-negative count (lookback minutes and days), safe to write into SQL. */
export function assertCount(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new TerminalError(`${what} must be a whole number of at least 0, got ${value}`);
  return value;
}

/**
 * A type name split into its base (lower case, without the parenthesized part)
 * and its top-level arguments: `Decimal(18, 4)` -> decimal, ['18', '4'];
 * `TIMESTAMP(3) WITH TIME ZONE` -> timestamp with time zone, ['3'];
 * `Nullable(DateTime64(3, 'UTC'))` -> nullable, ["DateTime64(3, 'UTC')"].
 */
export function parseTypeName(typeName: string): { base: string; args: string[] } {
  const open = typeName.indexOf('(');
  if (open < 0) return { base: typeName.trim().replace(/\s+/g, ' ').toLowerCase(), args: [] };
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  let close = typeName.length;
  let quoted = false;
  for (let i = open; i < typeName.length; i++) {
    const c = typeName[i];
    if (c === "'") quoted = !quoted;
    if (quoted) continue;
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) {
      close = i;
      break;
    } else if (c === ',' && depth === 1) {
      args.push(typeName.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = typeName.slice(start, close).trim();
  if (last !== '' || args.length) args.push(last);
  const base = `${typeName.slice(0, open)} ${typeName.slice(close + 1)}`.trim().replace(/\s+/g, ' ').toLowerCase();
  return { base, args };
}

/** A fractional-seconds precision capped at PostgreSQL's 6 (finer digits round at the destination). */
export function capPrecision(precision: number): number {
  return Math.min(Math.max(precision, 0), 6);
}

/** A PostgreSQL type name of a timestamp without time zone: the watermark kind SQL Server and Oracle bound by their open transactions. */
export function isNaiveTimestamp(type: string): boolean {
  return /^timestamp(\(\d\))? without time zone$/.test(type);
}

/** The horizon of a column a source cannot bound: the lookback applies, and `why` says so. */
export function noHorizon(why: string): CommitHorizon {
  return { kind: 'unknown', reason: `${why}; the lookback applies` };
}
