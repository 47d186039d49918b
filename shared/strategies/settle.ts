/**
 * Settling a watermark on what the source has committed (guarantee 4).
 *
 * Before the read, the source is asked for its commit horizon: the value below
 * which no row can still arrive (PostgreSQL: the start of the oldest
 * transaction still open on the database, less a clock-skew margin). The read
 * takes every row past the watermark (less the lookback) as always; after it,
 * the watermark advances to the largest value loaded only up to that bound.
 * Rows loaded past the bound are loaded now and read again next time, which
 * the merge (incremental) and the window replace (append_only) make harmless.
 * So a transaction that stamped its rows at its start and commits an hour
 * later is still read, whatever the lookback.
 *
 * Where the source cannot tell (no privilege, a numeric watermark, an engine
 * without long open writes), the lookback alone protects late rows, and the
 * run's message says so.
 */
import type { CommitHorizon } from '../connectors/port.js';
import type { ColumnSpec, Condition } from '../data/spec.js';
import type { LoadContext } from './context.js';
import { compareWatermarks, describeLookback, nextWatermark, watermarkCondition } from './watermark.js';

export interface WatermarkRead {
  /** The read's conditions: past the watermark, less the lookback. */
  conditions: Condition[];
  /** The next watermark after rows up to `loadedMax` were loaded, and what the message says about it. */
  settle(loadedMax: string | null): { watermark: string | null; note: string };
}

/** Asks the source for its commit horizon (before any read), and plans the watermark read. */
export async function planWatermarkRead(context: LoadContext, columns: ColumnSpec[]): Promise<WatermarkRead> {
  const { config, source, settings } = context;
  const watermark = config.watermark!;
  const column = columns.find((c) => c.name === watermark.column)!;
  const horizon: CommitHorizon = source.commitHorizon
    ? await source.commitHorizon(column, { marginSeconds: settings.WATERMARK_CLOCK_SKEW_SECONDS })
    : { kind: 'unknown', reason: 'this source reports no open transactions; the lookback applies' };
  const lookback = describeLookback(watermark.type, settings.INCREMENTAL_LOOKBACK_MINUTES, watermark.lookback);
  return {
    conditions: watermarkCondition(watermark, settings.INCREMENTAL_LOOKBACK_MINUTES, watermark.lookback),
    settle(loadedMax) {
      if (horizon.kind === 'unknown') {
        return { watermark: nextWatermark(watermark.type, watermark.value, loadedMax), note: `read with ${lookback}: ${horizon.reason}` };
      }
      const heldBack = loadedMax !== null && compareWatermarks(watermark.type, loadedMax, horizon.value) > 0;
      const next = nextWatermark(watermark.type, watermark.value, heldBack ? horizon.value : loadedMax);
      if (!heldBack) return { watermark: next, note: `read with ${lookback}; settled: no open source transaction older than the rows loaded` };
      return {
        watermark: next,
        note:
          `read with ${lookback}; watermark held back to ${horizon.value} (${horizon.basis}` +
          `${horizon.heldBy ? `: a long transaction, ${horizon.heldBy}` : ''}); rows past it are read again next time`,
      };
    },
  };
}
