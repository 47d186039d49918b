/**
 * The source connector interface. A strategy decides WHAT to read (a ReadSpec:
 * a relation and filters); a connector turns that into its own SQL dialect and
 * streams the result as PostgreSQL COPY text (the destination's input format).
 * PostgreSQL is the first connector; SQL Server, Oracle, Snowflake and
 * ClickHouse plug in here (shared/connectors/registry.ts), encoding their rows
 * with shared/data/copy-encoder.ts.
 */
import type { Readable } from 'node:stream';
import type { ColumnSpec, Condition, SourceRelation } from '../data/spec.js';

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

/**
 * What a source can tell about rows still to commit into a watermark column
 * (guarantee 4). `bound`: every row the source will still commit has a value
 * above `value` (text in the column's PostgreSQL type), so a watermark may
 * advance up to it and no further; `heldBy` names the open transaction that
 * set it (a backend id and its start, never a query or a user's secret).
 * `unknown`: the source cannot tell (no privilege, or no such notion for this
 * column type); the lookback is what protects late rows, and `reason` says why.
 */
export type CommitHorizon =
  | { kind: 'bound'; value: string; heldBy?: string; basis: string }
  | { kind: 'unknown'; reason: string };

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
  /**
   * The commit horizon of a watermark column, asked BEFORE the rows are read:
   * a row not yet visible to the read commits later with a value above the
   * bound. Optional: without it the lookback alone protects late rows.
   */
  commitHorizon?(column: ColumnSpec, options: { marginSeconds: number }): Promise<CommitHorizon>;
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
