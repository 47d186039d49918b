/**
 * The destination interface. Strategies stage rows and then commit them with
 * one of four writes, each one destination transaction, each idempotent so a
 * retry after a crash leaves what one clean run leaves:
 *   replace  - the staged rows become the table (full loads), atomically
 *   merge    - upsert on the primary key (incremental)
 *   replaceWhere - delete the rows matching conditions, insert the staged ones
 *                  (append_only window, rolling window, a backfill chunk)
 * PostgreSQL is the first destination (shared/destination/postgres.ts).
 */
import type { Writable } from 'node:stream';
import type { ColumnSpec, Condition } from '../data/spec.js';

export interface TableRef {
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
}

export interface DestinationSession {
  /**
   * Creates the table from the source's columns when missing (with the primary
   * key when given), adds new source columns, widens a column the source widened;
   * an incompatible type change fails naming the column.
   */
  prepareTable(target: TableRef, columns: ColumnSpec[], primaryKey?: string[]): Promise<void>;
  /** A staging table for `columns` beside the target. `forReplace`: shaped like the target, to become it. */
  createStaging(target: TableRef, columns: ColumnSpec[], options: { forReplace: boolean; tag: string }): Promise<Staging>;
  /** Drops staging tables left by an earlier attempt that died (same tag). */
  dropLeftoverStaging(target: TableRef, tag: string): Promise<void>;
  /** Cancels the statements running now (their transactions roll back). */
  cancel?(): Promise<void>;
  close(): Promise<void>;
}
