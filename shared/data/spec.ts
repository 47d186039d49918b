/**
 * The shapes every source and destination speaks: a result column, what is
 * read (a table or a custom query), and the conditions of a read or delete
 * window. Connectors and destinations both import this module, never each other.
 */
/** A result column: its name and its type as a PostgreSQL type name (`numeric(12,2)`, `timestamp without time zone`). */
export interface ColumnSpec {
  name: string;
  type: string;
}

/** What is read: a table, or an admin's custom query (read-only). */
export type SourceRelation =
  | { kind: 'table'; catalog: string | null; schema: string | null; table: string }
  | { kind: 'query'; sql: string };

/**
 * How far before a watermark a read starts again, so rows committed late with
 * an older value are read (guarantee 4).
 */
export type Lookback =
  | { kind: 'seconds'; seconds: number }
  | { kind: 'minutes'; minutes: number }
  | { kind: 'days'; days: number }
  | { kind: 'amount'; amount: string };

/** One condition on the rows read; a ReadSpec's conditions all apply. Values are text, cast to the column's type. */
export type Condition =
  /** column > value (minus the lookback). */
  | { kind: 'after'; column: string; value: string; lookback?: Lookback }
  /** from <= column < to; a missing end is open; withNulls also takes NULLs. */
  | { kind: 'range'; column: string; from?: string; to?: string; withNulls?: boolean };

/** A relation's name for messages: `sales.public.orders` or `custom query`. */
export function describeRelation(relation: SourceRelation): string {
  if (relation.kind === 'query') return 'custom query';
  return [relation.catalog, relation.schema, relation.table].filter((p) => p).join('.');
}

/**
 * The type a lookback amount is cast to: an integer column's own type, so that
 * `col > value - amount` stays an index range scan (bigint - numeric would
 * compare as numeric and could not use the index); numeric otherwise.
 */
export function amountType(columnType: string): string {
  return ['smallint', 'integer', 'bigint'].includes(columnType) ? columnType : 'numeric';
}
