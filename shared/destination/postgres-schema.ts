/**
 * Keeps a PostgreSQL destination table's shape in step with its source:
 * create when missing, add new columns, widen a column the source widened, and
 * refuse (naming the column) a change that could lose or misread data.
 */
import pg from 'pg';
import type { ColumnSpec } from '../data/spec.js';
import type { Queryable } from '../db/pool.js';
import { isSqlState, TerminalError } from '../errors.js';
import type { TableRef } from './port.js';

const q = (identifier: string) => pg.escapeIdentifier(identifier);

/** `"schema"."table"`, quoted. */
export function qualifiedName(target: TableRef): string {
  return `${q(target.schema)}.${q(target.table)}`;
}

/** The table's columns (name, format_type), or undefined when it does not exist. */
export async function readTableColumns(db: Queryable, target: TableRef): Promise<ColumnSpec[] | undefined> {
  const { rows } = await db.query<{ exists: boolean; name: string | null; type: string | null }>(
    `SELECT r.oid IS NOT NULL AS exists, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM (SELECT to_regclass($1) AS oid) r
       LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [qualifiedName(target)],
  );
  if (!rows[0]?.exists) return undefined;
  return rows.filter((r) => r.name !== null).map((r) => ({ name: r.name!, type: r.type! }));
}

const INTEGER_RANK: Record<string, number> = { smallint: 1, integer: 2, bigint: 3 };

function varcharLength(type: string): number | undefined | 'unbounded' {
  if (type === 'text' || type === 'character varying') return 'unbounded';
  const m = /^character varying\((\d+)\)$/.exec(type);
  return m ? Number(m[1]) : undefined;
}

/** Whether a column of type `wide` stores every value of type `narrow` unchanged. */
export function typeHolds(wide: string, narrow: string): boolean {
  if (wide === narrow) return true;
  if (wide === 'text') return varcharLength(narrow) !== undefined || /^character\(\d+\)$/.test(narrow);
  const wv = varcharLength(wide);
  const nv = varcharLength(narrow);
  if (wv !== undefined && nv !== undefined) return wv === 'unbounded' || (nv !== 'unbounded' && nv <= wv);
  if (INTEGER_RANK[wide] && INTEGER_RANK[narrow]) return INTEGER_RANK[wide] >= INTEGER_RANK[narrow];
  if (wide === 'numeric') return narrow in INTEGER_RANK || narrow.startsWith('numeric');
  if (wide === 'double precision') return narrow === 'real' || narrow === 'smallint' || narrow === 'integer';
  if (wide === 'real') return narrow === 'smallint';
  return false;
}

/** Creates or evolves the table; returns true when it created it. */
export async function prepareTable(
  db: Queryable,
  target: TableRef,
  columns: ColumnSpec[],
  primaryKey: string[] = [],
): Promise<boolean> {
  const name = qualifiedName(target);
  // Loads running at once may create the same schema or table: CREATE ... IF NOT
  // EXISTS is not safe against a concurrent create, so DDL per schema takes turns
  // (the lock ends with the caller's transaction).
  await db.query(`SELECT pg_advisory_xact_lock(hashtext('dataloader.ddl:' || $1))`, [target.schema]);
  const existing = await readTableColumns(db, target);
  if (!existing) {
    for (const key of primaryKey) {
      if (!columns.some((c) => c.name === key)) {
        throw new TerminalError(`primary_key_cols names "${key}", which is not a column of the source`);
      }
    }
    const defs = columns.map((c) => `${q(c.name)} ${c.type}`);
    if (primaryKey.length) defs.push(`PRIMARY KEY (${primaryKey.map(q).join(', ')})`);
    await db.query(`CREATE SCHEMA IF NOT EXISTS ${q(target.schema)}`);
    await db.query(`CREATE TABLE IF NOT EXISTS ${name} (${defs.join(', ')})`);
    return true;
  }
  const byName = new Map(existing.map((c) => [c.name, c.type]));
  for (const column of columns) {
    const current = byName.get(column.name);
    if (current === undefined) {
      await db.query(`ALTER TABLE ${name} ADD COLUMN IF NOT EXISTS ${q(column.name)} ${column.type}`);
    } else if (!typeHolds(current, column.type)) {
      if (!typeHolds(column.type, current)) {
        throw new TerminalError(
          `destination column "${column.name}" of ${target.schema}.${target.table} is ${current} but the source now gives ${column.type}; ` +
            `change the destination column (or the source) so the types match`,
        );
      }
      await db.query(`ALTER TABLE ${name} ALTER COLUMN ${q(column.name)} TYPE ${column.type}`);
    }
  }
  if (primaryKey.length && !(await hasUniqueKey(db, target, primaryKey))) await addMergeKey(db, target, primaryKey);
  return false;
}

/**
 * A table loaded before without a key (by a full load, or made by hand) gets a
 * unique index on primary_key_cols, which the merge's ON CONFLICT needs.
 */
async function addMergeKey(db: Queryable, target: TableRef, primaryKey: string[]): Promise<void> {
  const index = `${target.table.slice(0, 40)}_merge_key`;
  try {
    await db.query(`CREATE UNIQUE INDEX ${q(index)} ON ${qualifiedName(target)} (${primaryKey.map(q).join(', ')})`);
  } catch (error) {
    if (isSqlState(error, 'uniqueViolation')) {
      throw new TerminalError(
        `destination ${target.schema}.${target.table} holds rows with the same primary_key_cols (${primaryKey.join(', ')}); remove the duplicates or reload it fully (load_full)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Whether the table has a primary key or unique index on exactly these columns (needed by ON CONFLICT). */
export async function hasUniqueKey(db: Queryable, target: TableRef, columns: string[]): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM pg_index i
        WHERE i.indrelid = to_regclass($1) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
          AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text COLLATE "C")
                 FROM pg_attribute a
                WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[]))
              = (SELECT array_agg(c ORDER BY c COLLATE "C") FROM unnest($2::text[]) c)
     ) AS found`,
    [qualifiedName(target), columns],
  );
  return rows[0]!.found;
}
