/** What a strategy is given and what it returns. */
import type { SourceSession } from '../connectors/port.js';
import type { CommitInfo, DestinationSession } from '../destination/port.js';
import type { Settings } from '../settings.js';
import type { LoadConfig } from './config.js';
import type { ProgressStore } from './store.js';

/** Points of a load where a test can inject a crash (the hook throws). */
export type FaultStep =
  /** The rows are staged at the destination, nothing committed. */
  | 'afterRead'
  /** Inside the destination's write transaction, before COMMIT. */
  | 'midWrite'
  /** The destination committed; the control row is not updated yet. */
  | 'afterDestinationCommit';

export interface FaultHook {
  at(step: FaultStep, detail?: { chunk?: number }): void | Promise<void>;
}

export interface LoadContext<C extends LoadConfig = LoadConfig> {
  config: C;
  source: SourceSession;
  destination: DestinationSession;
  /** Backfill progress and signatures in the control database, written only while this attempt holds the run. */
  store: ProgressStore;
  settings: Pick<
    Settings,
    | 'PARTITION_READ_CONCURRENCY'
    | 'BACKFILL_TIME_BUDGET_SECONDS'
    | 'INCREMENTAL_LOOKBACK_MINUTES'
    | 'WATERMARK_CLOCK_SKEW_SECONDS'
    | 'BACKFILL_PAUSE_SECONDS'
  >;
  runId: string;
  /** A short name of this attempt (its lease token's start): staging objects carry it. */
  attempt: string;
  faults?: FaultHook;
  /** Aborted when the run is no longer this loader's (reaped, reset, taken over, past its deadline): do not commit. */
  signal: AbortSignal;
  /** Renews the attempt's lease right before a destination commit; throws when the run is no longer this attempt's. */
  confirm(): Promise<void>;
  /** Reports progress (shown as the row's status message by the heartbeat). */
  progress(message: string): void;
  now(): Date;
  /** Told of each destination commit that reports more than rows (a Databricks statement id). */
  onCommit?(info: CommitInfo): void;
}

export interface LoadResult {
  rowsProcessed: number;
  /** The status message of a successful run. */
  message: string;
  /** The new incremental_value; undefined keeps the current one. */
  watermark?: string | null;
  /** Databricks: the id of the last committing statement (last_databricks_run). */
  databricksRun?: string;
  /** Due again this many seconds after the run (work left, e.g. backfill chunks), unless the cron comes first. */
  dueAgainAfterSeconds?: number;
}

/** Runs one strategy; `C` is the configuration of the strategies it serves. */
export type Strategy<C extends LoadConfig = LoadConfig> = (context: LoadContext<C>) => Promise<LoadResult>;
