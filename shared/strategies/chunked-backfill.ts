/**
 * chunked_backfill: partition_column from lower_bound to upper_bound in
 * num_partitions chunks (Spark's ranges: the first chunk also takes lower
 * values and NULLs, the last higher values). Each chunk is one destination
 * transaction that replaces the chunk's range, so re-running a chunk is safe;
 * its progress row is written after that commit. A run does chunks until
 * BACKFILL_TIME_BUDGET_SECONDS is spent (at least one), and the next run (or a
 * retry after a crash) starts at the first unfinished chunk.
 */
import type { Condition } from '../data/spec.js';
import type { ConfigOf } from './config.js';
import type { Strategy } from './context.js';
import { splitRange } from './ranges.js';
import { beforeCommit, commitStaged, describeAndPrepare, stageRows } from './stage.js';
import { deleteBackfillProgress, insertCompletedChunk, selectCompletedChunks } from './store.js';

export const loadChunkedBackfill: Strategy<ConfigOf<'chunked_backfill'>> = async (context) => {
  const { config } = context;
  const plan = config.partitioning;
  const ranges = splitRange(plan.lower, plan.upper, plan.count);
  const planKey = JSON.stringify([plan.column, plan.lower, plan.upper, plan.count]);
  if (config.forceFull) await deleteBackfillProgress(context.control, config.configId);
  const done = await selectCompletedChunks(context.control, config.configId, planKey);
  const total = ranges.length;
  if (done.size >= total) {
    return { rowsProcessed: 0, message: `backfill complete: ${total}/${total} chunks; nothing left to load (set load_full to start over)` };
  }
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
    await insertCompletedChunk(context.control, {
      configId: config.configId,
      planKey,
      index,
      count: total,
      lower: range.from ?? null,
      upper: range.to ?? null,
      rows: staged.rows,
      runId: context.runId,
    });
    done.add(index);
    rows += staged.rows;
    chunksThisRun++;
    context.progress(`backfill ${done.size}/${total} chunks`);
  }
  const message =
    done.size >= total
      ? `backfill complete: ${total}/${total} chunks (${rows} rows this run)`
      : `backfill ${done.size}/${total} chunks (${rows} rows this run); continues on the next run`;
  return { rowsProcessed: rows, message };
};
