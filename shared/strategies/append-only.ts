/**
 * append_only: rows past the watermark are appended. The destination rows of
 * the re-read window (watermark less lookback) are deleted in the same
 * transaction as the insert, so re-running a window (after a crash, or for
 * late commits) never duplicates a row and needs no key.
 */
import { TerminalError } from '../errors.js';
import type { Strategy } from './context.js';
import { loadFull } from './full.js';
import { beforeCommit, commitStaged, describeAndPrepare, stageRows } from './stage.js';
import { planWatermarkRead } from './settle.js';

export const loadAppendOnly: Strategy = async (context) => {
  const { config } = context;
  if (config.forceFull) return loadFull(context);
  const watermark = config.watermark!;
  const columns = await describeAndPrepare(context);
  if (!columns.some((c) => c.name === watermark.column)) {
    throw new TerminalError(`table_control row ${config.configId}: incremental_column "${watermark.column}" is not a column of ${config.sourceName}`);
  }
  const { conditions, settle } = await planWatermarkRead(context, columns);
  const staged = await stageRows(context, columns, conditions, { forReplace: false });
  const loadedMax = await staged.staging.maxValue(watermark.column);
  await commitStaged(context, staged, (staging) => staging.replaceWhere(conditions, beforeCommit(context)));
  const { watermark: next, note } = settle(loadedMax);
  return {
    rowsProcessed: staged.rows,
    message: `append_only: ${staged.rows} rows ${watermark.value === null ? 'from the start' : `past ${watermark.value}`} appended; watermark ${next ?? 'unset'} (${note})`,
    watermark: next,
  };
};
