/**
 * rolling: the last rolling_days days by rolling_column are replaced in one
 * destination transaction. The window's first day is computed once (UTC) and
 * used for both the source read and the destination delete, so clock skew
 * between the two servers cannot open a gap.
 */
import type { Strategy } from './context.js';
import { loadFull } from './full.js';
import { beforeCommit, commitStaged, describeAndPrepare, stageRows } from './stage.js';
import type { Condition } from '../data/spec.js';
import { TerminalError } from '../errors.js';

/** The first day of a window of `days` days ending today (UTC), as YYYY-MM-DD. */
export function windowStart(now: Date, days: number): string {
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - days));
  return start.toISOString().slice(0, 10);
}

export const loadRolling: Strategy = async (context) => {
  const { config } = context;
  if (config.forceFull) return loadFull(context);
  const rolling = config.rolling!;
  const columns = await describeAndPrepare(context);
  if (!columns.some((c) => c.name === rolling.column)) {
    throw new TerminalError(`table_control row ${config.configId}: rolling_column "${rolling.column}" is not a column of ${config.sourceName}`);
  }
  const from = windowStart(context.now(), rolling.days);
  const conditions: Condition[] = [{ kind: 'range', column: rolling.column, from }];
  const staged = await stageRows(context, columns, conditions, { forReplace: false });
  await commitStaged(context, staged, (staging) => staging.replaceWhere(conditions, beforeCommit(context)));
  return {
    rowsProcessed: staged.rows,
    message: `rolling: ${staged.rows} rows replaced the window ${rolling.column} >= ${from} (${rolling.days} days)`,
  };
};
