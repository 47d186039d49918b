/**
 * One attempt at loading a row: open its source and the destination, run its
 * strategy, close both. Retries of transient failures wrap this (each attempt
 * opens fresh connections).
 */
import type pg from 'pg';
import { openSource } from '../connectors/registry.js';
import type { DbConfigRow } from '../control/rows.js';
import type { ControlRow, Lease } from '../control/status.js';
import { openDestination } from '../destination/registry.js';
import type { SecretResolver } from '../secrets/resolver.js';
import type { Settings } from '../settings.js';
import { parseLoadConfig, type LoadConfig } from '../strategies/config.js';
import type { FaultHook, LoadResult } from '../strategies/context.js';
import { strategyFor } from '../strategies/index.js';
import { createProgressStore } from '../strategies/store.js';
import { requireDbConfig } from './dbconfig.js';

export interface LoadAttempt {
  control: pg.Pool;
  settings: Settings;
  secrets: SecretResolver;
  row: ControlRow;
  lease: Lease;
  /** Aborted when the attempt must stop: its source and destination statements are then cancelled. */
  signal: AbortSignal;
  confirm(): Promise<void>;
  progress(message: string): void;
  faults?: FaultHook;
  now(): Date;
}

/** What an attempt loads: the row's load configuration and the destination's connection row, read once. */
export interface LoadPlan {
  config: LoadConfig;
  destinationConfig: DbConfigRow;
}

/** The row's load plan (terminal error when the row cannot be loaded). Read once per attempt. */
export async function readLoadPlan(control: pg.Pool, settings: Settings, row: ControlRow): Promise<LoadPlan> {
  const destinationConfig = await requireDbConfig(control, settings.DESTINATION_DB_CONFIG_KEY, 'the DESTINATION_DB_CONFIG_KEY setting');
  return { config: parseLoadConfig(row, destinationConfig), destinationConfig };
}

export async function runLoadAttempt(attempt: LoadAttempt, plan: LoadPlan): Promise<LoadResult> {
  const { control, settings, secrets, row } = attempt;
  const { config, destinationConfig } = plan;
  const sourceConfig = await requireDbConfig(control, row.db_config_key, `table_control row ${row.config_id}: db_config_key`);
  const parallel = config.partitioning && config.strategy !== 'chunked_backfill' ? settings.PARTITION_READ_CONCURRENCY : 1;
  const source = await openSource(sourceConfig, secrets, parallel + 1);
  try {
    const destination = await openDestination(destinationConfig, secrets, parallel + 1, {
      stagingRetentionDays: settings.DATABRICKS_STAGING_RETENTION_DAYS,
    });
    // Stopping (deadline, lost lease) cancels what runs on both sides with each engine's own means;
    // a destination statement cancelled inside its transaction rolls it back.
    const cancel = () => {
      void source.cancel?.().catch(() => undefined);
      void destination.cancel?.().catch(() => undefined);
    };
    if (attempt.signal.aborted) cancel();
    attempt.signal.addEventListener('abort', cancel, { once: true });
    try {
      let databricksRun: string | undefined;
      const result = await strategyFor(config)({
        config,
        source,
        destination,
        store: createProgressStore(control, attempt.lease),
        settings,
        runId: attempt.lease.runId,
        attempt: attempt.lease.owner.slice(0, 8),
        signal: attempt.signal,
        confirm: attempt.confirm,
        progress: attempt.progress,
        now: attempt.now,
        ...(attempt.faults ? { faults: attempt.faults } : {}),
        onCommit: (info) => {
          databricksRun = info.statementId ?? databricksRun;
        },
      });
      return databricksRun ? { ...result, databricksRun } : result;
    } finally {
      attempt.signal.removeEventListener('abort', cancel);
      await destination.close();
    }
  } finally {
    await source.close();
  }
}
