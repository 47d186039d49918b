/**
 * incremental: rows past the watermark (less a lookback, for late commits),
 * merged on primary_key_cols; the watermark becomes the largest value loaded.
 * Re-reading the overlap is harmless: the merge is an upsert.
 */
import { TerminalError } from '../errors.js';
import type { Strategy } from './context.js';
import { loadFull } from './full.js';
import { beforeCommit, commitStaged, describeAndPrepare, stageRows } from './stage.js';
import { planWatermarkRead } from './settle.js';

export const loadIncremental: Strategy = async (context) => {
  const { config } = context;
  if (config.forceFull) return loadFull(context);
  const watermark = config.watermark!;
  const columns = await describeAndPrepare(context, config.primaryKey);
  if (!columns.some((c) => c.name === watermark.column)) {
    throw new TerminalError(`table_control row ${config.configId}: incremental_column "${watermark.column}" is not a column of ${config.sourceName}`);
  }
  const { conditions, settle } = await planWatermarkRead(context, columns);
  const staged = await stageRows(context, columns, conditions, { forReplace: false });
  const loadedMax = await staged.staging.maxValue(watermark.column);
  await commitStaged(context, staged, (staging) => staging.merge(config.primaryKey, beforeCommit(context)));
  const { watermark: next, note } = settle(loadedMax);
  return {
    rowsProcessed: staged.rows,
    message: `incremental: ${staged.rows} rows ${watermark.value === null ? 'from the start' : `past ${watermark.value}`} merged on (${config.primaryKey.join(', ')}); watermark ${next ?? 'unset'} (${note})`,
    watermark: next,
  };
};
