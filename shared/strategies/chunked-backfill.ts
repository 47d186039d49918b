/**
 * chunked_backfill: partition_column from lower_bound to upper_bound in
 * num_partitions chunks (Spark's ranges: the first chunk also takes lower
 * values and NULLs, the last higher values). Each chunk is one destination
 * transaction that replaces the chunk's range, so re-running a chunk is safe;
 * its progress row is written after that commit. A run does chunks until
 * BACKFILL_TIME_BUDGET_SECONDS is spent (at least one), and the next run (or a
 * retry after a crash) starts at the first unfinished chunk. A run that leaves
 * chunks is due again after BACKFILL_PAUSE_SECONDS, not at its next cron slot,
 * so a backfill runs until done.
 *
 * Once every chunk is loaded, each later run appends what lies past the
 * backfilled range, with partition_column as the watermark (kept in
 * incremental_value, starting at upper_bound) and the same lookback and
 * idempotent window replace as append_only: the table stays current.
 */
import type { Condition } from '../data/spec.js';
import type { ConfigOf } from './config.js';
import type { Strategy } from './context.js';
import { splitRange } from './ranges.js';
import { beforeCommit, commitStaged, describeAndPrepare, stageRows } from './stage.js';
import { nextWatermark, watermarkCondition } from './watermark.js';

export const loadChunkedBackfill: Strategy<ConfigOf<'chunked_backfill'>> = async (context) => {
  const { config } = context;
  const plan = config.partitioning;
  const ranges = splitRange(plan.lower, plan.upper, plan.count);
  const planKey = JSON.stringify([plan.column, plan.lower, plan.upper, plan.count]);
  if (config.forceFull) await context.store.resetBackfill();
  const done = await context.store.completedChunks(planKey);
  const total = ranges.length;
  if (done.size >= total) return appendPastRange(context, total);
  const columns = await describeAndPrepare(context, config.primaryKey.length ? config.primaryKey : undefined);
  const deadline = context.now().getTime() + context.settings.BACKFILL_TIME_BUDGET_SECONDS * 1000;
  let rows = 0;
  let chunksThisRun = 0;
  for (let index = 0; index < total; index++) {
    if (done.has(index)) continue;
    if (chunksThisRun > 0 && context.now().getTime() >= deadline) break;
    const range = ranges[index]!;
    const condition: Condition = { kind: 'range', column: plan.column, ...range };
    const staged = await stageRows(context, columns, [condition], { forReplace: false, partitioned: false, chunk: index });
    await commitStaged(context, staged, (staging) => staging.replaceWhere([condition], beforeCommit(context, index)), index);
    await context.store.recordChunk({ planKey, index, count: total, lower: range.from ?? null, upper: range.to ?? null, rows: staged.rows });
    done.add(index);
    rows += staged.rows;
    chunksThisRun++;
    context.progress(`backfill ${done.size}/${total} chunks`);
  }
  if (done.size >= total) {
    // The last chunk took every value above its start: later runs append past upper_bound.
    return { rowsProcessed: rows, message: `backfill complete: ${total}/${total} chunks (${rows} rows this run)`, watermark: config.backfillWatermark?.value ?? plan.upper };
  }
  return {
    rowsProcessed: rows,
    message: `backfill ${done.size}/${total} chunks (${rows} rows this run); continues after a pause of ${context.settings.BACKFILL_PAUSE_SECONDS} s`,
    dueAgainAfterSeconds: context.settings.BACKFILL_PAUSE_SECONDS,
  };
};

/** A completed backfill's later runs: the rows past the watermark (with lookback), the window replaced like append_only. */
const appendPastRange = async (context: Parameters<Strategy>[0], total: number) => {
  const { config } = context;
  const plan = config.partitioning!;
  const watermark = { ...config.backfillWatermark!, value: config.backfillWatermark?.value ?? plan.upper };
  const columns = await describeAndPrepare(context, config.primaryKey.length ? config.primaryKey : undefined);
  const conditions = watermarkCondition(watermark, context.settings.INCREMENTAL_LOOKBACK_MINUTES);
  const staged = await stageRows(context, columns, conditions, { forReplace: false, partitioned: false });
  const loadedMax = await staged.staging.maxValue(watermark.column);
  await commitStaged(context, staged, (staging) => staging.replaceWhere(conditions, beforeCommit(context)));
  const next = nextWatermark(watermark.type, watermark.value, loadedMax);
  return {
    rowsProcessed: staged.rows,
    message: `backfill complete: ${total}/${total} chunks; ${staged.rows} rows past ${watermark.value} (with lookback) appended; watermark ${next ?? 'unset'}`,
    watermark: next,
  };
};
