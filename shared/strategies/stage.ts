/**
 * Moving rows from the source into a staging table at the destination, then
 * committing them: the part every strategy shares. A partitioned read runs its
 * ranges in parallel (at most PARTITION_READ_CONCURRENCY at once), each range a
 * source COPY piped into its own destination COPY with backpressure.
 */
import { pipeline } from 'node:stream/promises';
import type { ColumnSpec, Condition } from '../data/spec.js';
import type { Staging } from '../destination/port.js';
import { isSqlState, TerminalError } from '../errors.js';
import type { LoadContext } from './context.js';
import { requireSourceColumns } from './config.js';
import { splitRange } from './ranges.js';

export interface Staged {
  staging: Staging;
  rows: number;
}

/** Runs `tasks` with at most `limit` in flight; the first failure stops new ones and is thrown. */
export async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < tasks.length && failed === undefined) {
      const task = tasks[next++]!;
      try {
        await task();
      } catch (error) {
        failed ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** The source's columns, and the target made ready for them. */
export async function describeAndPrepare(context: LoadContext, primaryKey?: string[]): Promise<ColumnSpec[]> {
  const { config, source, destination } = context;
  const columns = await source.describe(config.relation);
  requireSourceColumns(config, columns);
  await destination.prepareTable(config.target, columns, primaryKey);
  return columns;
}

/**
 * Stages the rows matching `conditions` (split into partition ranges when the
 * row asks for a partitioned read and `partitioned` is allowed).
 */
export async function stageRows(
  context: LoadContext,
  columns: ColumnSpec[],
  conditions: Condition[],
  options: { forReplace: boolean; partitioned?: boolean; chunk?: number },
): Promise<Staged> {
  const { config, source, destination } = context;
  // Leftovers of this row's earlier attempts (dead or fenced out: a takeover happens only after their lease lapsed).
  await destination.dropLeftoverStaging(config.target, String(config.configId));
  // Named per attempt: `<config_id>_<attempt>_<random>`.
  const staging = await destination.createStaging(config.target, columns, {
    forReplace: options.forReplace,
    tag: `${config.configId}_${context.attempt}`,
    runId: context.runId,
    ...(options.chunk === undefined ? {} : { chunk: options.chunk }),
    strategy: config.strategy,
    read: conditions,
    now: context.now(),
  });
  try {
    const partitioning = options.partitioned === false ? undefined : config.partitioning;
    const reads: Condition[][] = partitioning
      ? splitRange(partitioning.lower, partitioning.upper, partitioning.count).map((range) => [
          ...conditions,
          { kind: 'range', column: partitioning.column, ...range },
        ])
      : [conditions];
    let rows = 0;
    let bytes = 0;
    let rangesDone = 0;
    const report = () =>
      context.progress(
        `loading: ${(bytes / 1048576).toFixed(0)} MB read${reads.length > 1 ? `, ${rangesDone}/${reads.length} ranges done` : ''}`,
      );
    const readAll = () =>
      runLimited(
        reads.map((readConditions) => async () => {
          // Writer first: a read that fails to start leaves no source stream open, and the writer is destroyed.
          const writer = await staging.openWriter();
          let input;
          try {
            input = await source.read({ relation: config.relation, columns, conditions: readConditions });
          } catch (error) {
            writer.destroy();
            throw error;
          }
          const piped = pipeline(input, writer);
          // Counted beside the pipe (attached once it is in place): nothing per row; the heartbeat shows the latest figure.
          input.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            report();
          });
          await piped;
          rows += writer.rowCount;
          rangesDone++;
          report();
        }),
        context.settings.PARTITION_READ_CONCURRENCY,
      );
    // Parallel ranges read one snapshot where the source can share one.
    await (reads.length > 1 && source.withSnapshot ? source.withSnapshot(readAll) : readAll());
    await context.faults?.at('afterRead', options.chunk === undefined ? undefined : { chunk: options.chunk });
    return { staging, rows };
  } catch (error) {
    await staging.drop().catch(() => undefined);
    throw explainKeyViolation(error, context);
  }
}

/** A duplicate key while staging means the source repeats a key the destination keeps unique: say so, with PostgreSQL's detail. */
function explainKeyViolation(error: unknown, context: LoadContext): unknown {
  if (!isSqlState(error, 'uniqueViolation')) return error;
  const { config } = context;
  return new TerminalError(
    `${config.sourceName} has rows repeating a key that ${config.target.schema}.${config.target.table} keeps unique (${error.detail ?? error.message}); ` +
      'fix the source, its query, or primary_key_cols',
    { cause: error },
  );
}


/** The check run inside every destination write transaction, just before COMMIT. */
export function beforeCommit(context: LoadContext, chunk?: number): () => Promise<void> {
  return async () => {
    await context.faults?.at('midWrite', chunk === undefined ? undefined : { chunk });
    if (context.signal.aborted) {
      throw new TerminalError('the run was taken from this loader (reaped, reset, restarted or past its deadline) before its destination commit; nothing was written');
    }
    // The lease is renewed on the spot: an attempt that lost its run (frozen past its lease, cut off) never commits.
    await context.confirm();
  };
}

/** Commits staged rows with `write`, always dropping the staging table afterwards. */
export async function commitStaged<T>(
  context: LoadContext,
  staged: Staged,
  write: (staging: Staging) => Promise<T>,
  chunk?: number,
): Promise<T> {
  let result: T;
  try {
    result = await write(staged.staging);
  } finally {
    await staged.staging.drop().catch(() => undefined);
  }
  if (staged.staging.committed) context.onCommit?.(staged.staging.committed);
  await context.faults?.at('afterDestinationCommit', chunk === undefined ? undefined : { chunk });
  return result;
}
