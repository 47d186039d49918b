/**
 * check_and_load: a cheap signature of the source (row count and the maximum
 * of the row's watermark or partition column) is compared with the one
 * of the last load; unchanged skips the load, changed loads fully. The
 * signature is recorded only after the destination committed.
 */
import type { Strategy } from './context.js';
import { loadFull } from './full.js';

export const loadCheckAndLoad: Strategy = async (context) => {
  const { config } = context;
  const column = config.watermark?.column ?? config.partitioning?.column ?? null;
  const signature = await context.source.signature({ relation: config.relation, column });
  const previous = await context.store.signature();
  if (!config.forceFull && previous === signature) {
    return {
      rowsProcessed: 0,
      message: `check_and_load: source unchanged since the last load (same row count${column ? ` and maximum of ${column}` : ''}); nothing loaded`,
    };
  }
  const result = await loadFull(context);
  await context.store.recordSignature(signature);
  return { ...result, message: `check_and_load: source changed; ${result.message}` };
};
