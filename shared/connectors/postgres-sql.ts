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
