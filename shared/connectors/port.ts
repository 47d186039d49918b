/**
 * The source connector interface. A strategy decides WHAT to read (a ReadSpec:
 * a relation and filters); a connector turns that into its own SQL dialect and
 * streams the result as PostgreSQL COPY text (the destination's input format).
 * PostgreSQL is the first connector; SQL Server, Oracle, Snowflake and
 * ClickHouse plug in here (shared/connectors/registry.ts), encoding their rows
 * with shared/destination/copy-encoder.ts.
 */
import type { Readable } from 'node:stream';

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
  | { kind: 'minutes'; minutes: number }
  | { kind: 'days'; days: number }
  | { kind: 'amount'; amount: string };

/** One condition on the rows read; a ReadSpec's conditions all apply. Values are text, cast to the column's type. */
export type Condition =
  /** column > value (minus the lookback). */
  | { kind: 'after'; column: string; value: string; lookback?: Lookback }
  /** from <= column < to; a missing end is open; withNulls also takes NULLs. */
  | { kind: 'range'; column: string; from?: string; to?: string; withNulls?: boolean };

export interface ReadSpec {
  relation: SourceRelation;
  /** The relation's columns (from describe), in the order the stream carries them. */
  columns: ColumnSpec[];
  conditions: Condition[];
}

/** A cheap signature of a relation: changes when its rows change (count and the maximum of a column). */
export interface SignatureSpec {
  relation: SourceRelation;
  column: string | null;
}

/** An open connection to one source database (one run's worth). */
export interface SourceSession {
  /** The relation's result columns; a missing table or a broken query fails terminally, naming it. */
  describe(relation: SourceRelation): Promise<ColumnSpec[]>;
  /** The rows as PostgreSQL COPY text format, streamed (backpressure respected), columns in spec order. */
  read(spec: ReadSpec): Promise<Readable>;
  signature(spec: SignatureSpec): Promise<string>;
  /**
   * Runs `work` with every read() inside it seeing one snapshot of the source,
   * so parallel range reads neither miss nor double a row that moves between
   * ranges meanwhile. Optional: a connector without it reads each range on its own.
   */
  withSnapshot?<T>(work: () => Promise<T>): Promise<T>;
  /** Cancels the statements running now, with the engine's own means (the run reached its deadline or lost its lease). */
  cancel?(): Promise<void>;
  close(): Promise<void>;
}

/** Opens sessions to one kind of database (`db_type`). */
export interface SourceConnector {
  /** `maxConnections`: parallel reads this session may run (partitioned reads). */
  open(connection: Record<string, string>, options: { maxConnections: number }): Promise<SourceSession>;
  /** The secret names db_config_value must hold for this connector, and the optional ones. */
  requiredSecrets: readonly string[];
  optionalSecrets: readonly string[];
}

/** A relation's name for messages: `sales.public.orders` or `custom query`. */
export function describeRelation(relation: SourceRelation): string {
  if (relation.kind === 'query') return 'custom query';
  return [relation.catalog, relation.schema, relation.table].filter((p) => p).join('.');
}
