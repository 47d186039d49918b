/** full: the whole source (or its query) replaces the destination atomically. */
import type { Strategy } from './context.js';
import { beforeCommit, commitStaged, describeAndPrepare, stageRows } from './stage.js';
import { TerminalError } from '../errors.js';

export const loadFull: Strategy = async (context) => {
  const { config } = context;
  const columns = await describeAndPrepare(context, config.primaryKey.length ? config.primaryKey : undefined);
  const watermark = config.watermark;
  if (watermark && !columns.some((c) => c.name === watermark.column)) {
    throw new TerminalError(`table_control row ${config.configId}: incremental_column "${watermark.column}" is not a column of ${config.sourceName}`);
  }
  const staged = await stageRows(context, columns, [], { forReplace: true });
  // Read before the swap consumes the staging table. A full reload of a
  // watermarked table restarts its watermark at what was loaded.
  const loadedMax = watermark ? await staged.staging.maxValue(watermark.column) : undefined;
  await commitStaged(context, staged, (staging) => staging.replace(beforeCommit(context)));
  return {
    rowsProcessed: staged.rows,
    message: `full load: ${staged.rows} rows replaced ${config.target.schema}.${config.target.table}`,
    ...(watermark ? { watermark: loadedMax ?? null } : {}),
  };
};
