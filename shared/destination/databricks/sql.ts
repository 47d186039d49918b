/**
 * The Databricks SQL a load runs on the warehouse, one statement per named
 * function. Staged Parquet is read with parquet.`<location>` and every column
 * is cast to the table's Delta type, so the statement does not depend on how
 * Spark infers Parquet types. Each write is one atomic Delta commit:
 *   full:            INSERT OVERWRITE
 *   incremental:     MERGE INTO ... ON the primary key
 *   windows:         INSERT INTO ... REPLACE WHERE <window>
 */
import type { ColumnSpec, Condition } from '../../data/spec.js';
import { TerminalError } from '../../errors.js';
import { lakehouseType } from '../lakehouse/types.js';

/** A Databricks identifier in backticks. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A Databricks SQL string literal (backslash escapes are on in Spark SQL). */
export function quoteLiteral(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface DeltaTable {
  catalog: string | null;
  schema: string;
  table: string;
}

export function tableName(target: DeltaTable): string {
  return [target.catalog, target.schema, target.table].filter((p): p is string => !!p).map(quoteIdent).join('.');
}

/** The Delta type of a source column. */
export function deltaType(column: ColumnSpec): string {
  return lakehouseType(column.type, 'delta').delta;
}

export function createTableSql(target: DeltaTable, columns: ColumnSpec[], primaryKey: string[] = []): string {
  const keys = new Set(primaryKey);
  const definitions = columns.map((c) => `${quoteIdent(c.name)} ${deltaType(c)}${keys.has(c.name) ? ' NOT NULL' : ''}`);
  if (primaryKey.length) {
    // Informational in Unity Catalog: documents the key, not enforced.
    definitions.push(`CONSTRAINT ${quoteIdent(`${target.table}_pk`)} PRIMARY KEY (${primaryKey.map(quoteIdent).join(', ')})`);
  }
  return `CREATE TABLE IF NOT EXISTS ${tableName(target)} (${definitions.join(', ')}) USING DELTA`;
}

export function addColumnsSql(target: DeltaTable, columns: ColumnSpec[]): string {
  return `ALTER TABLE ${tableName(target)} ADD COLUMNS (${columns.map((c) => `${quoteIdent(c.name)} ${deltaType(c)}`).join(', ')})`;
}

/** The table's columns and their types (named parameters :schema and :table). */
export function describeColumnsSql(target: DeltaTable): string {
  const schema = target.catalog ? `${quoteIdent(target.catalog)}.information_schema.columns` : 'information_schema.columns';
  return `SELECT column_name, full_data_type FROM ${schema} WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position`;
}

/** The staged rows, each column cast to its Delta type. */
export function stagedSelect(location: string, columns: ColumnSpec[]): string {
  const list = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${deltaType(c)}) AS ${quoteIdent(c.name)}`).join(', ');
  return `SELECT ${list} FROM parquet.${quoteIdent(location)}`;
}

const columnList = (columns: ColumnSpec[]) => columns.map((c) => quoteIdent(c.name)).join(', ');

/** No rows, typed like the staged ones (a change set without rows reads no folder). */
export function emptySelect(columns: ColumnSpec[]): string {
  return `SELECT ${columns.map((c) => `CAST(NULL AS ${deltaType(c)}) AS ${quoteIdent(c.name)}`).join(', ')} WHERE false`;
}

/** `rows`: stagedSelect() or emptySelect(). */
export function insertOverwriteSql(target: DeltaTable, rows: string, columns: ColumnSpec[]): string {
  return `INSERT OVERWRITE ${tableName(target)} (${columnList(columns)}) ${rows}`;
}

export function mergeSql(target: DeltaTable, rows: string, columns: ColumnSpec[], primaryKey: string[]): string {
  const keys = new Set(primaryKey);
  const on = primaryKey.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  const updates = columns.filter((c) => !keys.has(c.name)).map((c) => `t.${quoteIdent(c.name)} = s.${quoteIdent(c.name)}`);
  const matched = updates.length ? ` WHEN MATCHED THEN UPDATE SET ${updates.join(', ')}` : '';
  return (
    `MERGE INTO ${tableName(target)} AS t USING (${rows}) AS s ON ${on}${matched}` +
    ` WHEN NOT MATCHED THEN INSERT (${columnList(columns)}) VALUES (${columns.map((c) => `s.${quoteIdent(c.name)}`).join(', ')})`
  );
}

/** A window's conditions as a Databricks predicate, values cast to the column's Delta type. */
export function windowPredicate(conditions: Condition[], columns: ColumnSpec[]): string {
  const parts = conditions.map((condition) => {
    const column = columns.find((c) => c.name === condition.column);
    if (!column) throw new TerminalError(`column "${condition.column}" is not in the destination table`);
    const type = deltaType(column);
    const col = quoteIdent(condition.column);
    const value = (text: string) => `CAST(${quoteLiteral(text)} AS ${type})`;
    if (condition.kind === 'after') {
      const lookback = condition.lookback;
      if (!lookback) return `${col} > ${value(condition.value)}`;
      if (lookback.kind === 'minutes') return `${col} > ${value(condition.value)} - INTERVAL ${lookback.minutes} MINUTES`;
      if (lookback.kind === 'days') return `${col} > ${value(condition.value)} - INTERVAL ${lookback.days} DAYS`;
      if (lookback.kind === 'seconds') return `${col} > ${value(condition.value)} - INTERVAL ${lookback.seconds} SECONDS`;
      return `${col} > ${value(condition.value)} - ${value(lookback.amount)}`;
    }
    const range: string[] = [];
    if (condition.from !== undefined) range.push(`${col} >= ${value(condition.from)}`);
    if (condition.to !== undefined) range.push(`${col} < ${value(condition.to)}`);
    const text = range.length ? range.join(' AND ') : 'true';
    return condition.withNulls ? `(${text} OR ${col} IS NULL)` : text;
  });
  return parts.length ? parts.join(' AND ') : 'true';
}

export function replaceWhereSql(target: DeltaTable, rows: string, columns: ColumnSpec[], conditions: Condition[]): string {
  return `INSERT INTO ${tableName(target)} (${columnList(columns)}) REPLACE WHERE ${windowPredicate(conditions, columns)} ${rows}`;
}

const INTEGERS = ['TINYINT', 'SMALLINT', 'INT', 'BIGINT'];

/**
 * Whether a table column of type `existing` takes the source's `wanted` values
 * without loss (same type, a wider integer, a decimal with room for every
 * digit, or a string).
 */
export function typeHolds(existing: string, wanted: string): boolean {
  const a = existing.toUpperCase().replace(/\s+/g, '');
  const b = wanted.toUpperCase().replace(/\s+/g, '');
  if (a === b || a === 'STRING') return true;
  const ia = INTEGERS.indexOf(a === 'INTEGER' ? 'INT' : a);
  const ib = INTEGERS.indexOf(b === 'INTEGER' ? 'INT' : b);
  if (ia >= 0 && ib >= 0) return ia >= ib;
  const da = /^DECIMAL\((\d+),(\d+)\)$/.exec(a);
  const db = /^DECIMAL\((\d+),(\d+)\)$/.exec(b);
  if (da && db) return Number(da[2]) >= Number(db[2]) && Number(da[1]) - Number(da[2]) >= Number(db[1]) - Number(db[2]);
  if (da && ib >= 0) return Number(da[1]) - Number(da[2]) >= [3, 5, 10, 19][ib]!;
  if (a === 'DOUBLE' && b === 'FLOAT') return true;
  return false;
}
