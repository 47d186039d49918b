/**
 * The destination interface. Strategies stage rows and then commit them with
 * one of four writes, each one destination transaction, each idempotent so a
 * retry after a crash leaves what one clean run leaves:
 *   replace  - the staged rows become the table (full loads), atomically
 *   merge    - upsert on the primary key (incremental)
 *   replaceWhere - delete the rows matching conditions, insert the staged ones
 *                  (append_only window, rolling window, a backfill chunk)
 * PostgreSQL is the first destination (shared/destination/postgres.ts); `adls`
 * lands Parquet files with a manifest (shared/destination/adls.ts) and
 * `databricks` loads them into Delta tables (shared/destination/databricks/).
 * Rows arrive as COPY text, the format every connector streams: PostgreSQL
 * takes it as it is, the lakehouse converts it to Parquet.
 */
import type { Writable } from 'node:stream';
import type { ColumnSpec, Condition } from '../data/spec.js';

export interface TableRef {
  /** Databricks: the Unity Catalog catalog (unset: the connection's); PostgreSQL ignores it. */
  catalog?: string | null;
  schema: string;
  table: string;
}

/** Runs inside a write's transaction just before COMMIT (fault injection, abort checks). */
export type BeforeCommit = () => void | Promise<void>;

export interface Staging {
  /** A COPY text sink into the staging table, on its own connection; `rowCount` once finished. */
  openWriter(): Promise<Writable & { rowCount: number }>;
  /** The largest staged value of a column as text (full precision), or null without rows. */
  maxValue(column: string): Promise<string | null>;
  replace(beforeCommit?: BeforeCommit): Promise<number>;
  merge(primaryKey: string[], beforeCommit?: BeforeCommit): Promise<number>;
  replaceWhere(conditions: Condition[], beforeCommit?: BeforeCommit): Promise<number>;
  /** Drops the staging table (if a write has not consumed it). */
  drop(): Promise<void>;
  /** Set once a write committed, where the destination reports more than rows. */
  readonly committed?: CommitInfo;
}

export interface StagingOptions {
  forReplace: boolean;
  /** Names this row's staging (its config_id), so a later attempt finds what an earlier one left. */
  tag: string;
  /** The run (one folder per run and backfill chunk in the lakehouse). */
  runId: string;
  chunk?: number;
  /** The conditions the rows are read with (recorded in a lakehouse manifest). */
  read?: Condition[];
  /** The row's load_strategy (recorded in a lakehouse manifest). */
  strategy: string;
  now: Date;
}

/** What a committing write reports beyond its row count. */
export interface CommitInfo {
  /** Databricks: the id of the statement that committed (kept in last_databricks_run). */
  statementId?: string;
}

export interface DestinationSession {
  /**
   * Creates the table from the source's columns when missing (with the primary
   * key when given), adds new source columns, widens a column the source widened;
   * an incompatible type change fails naming the column.
   */
  prepareTable(target: TableRef, columns: ColumnSpec[], primaryKey?: string[]): Promise<void>;
  /**
   * Staging for `columns` beside the target (PostgreSQL: a table; lakehouse: the
   * run's folder). `forReplace`: shaped like the target, to become it.
   */
  createStaging(target: TableRef, columns: ColumnSpec[], options: StagingOptions): Promise<Staging>;
  /** Drops staging tables left by an earlier attempt that died (same tag). */
  dropLeftoverStaging(target: TableRef, tag: string): Promise<void>;
  /** Cancels the statements running now (their transactions roll back). */
  cancel?(): Promise<void>;
  close(): Promise<void>;
}
