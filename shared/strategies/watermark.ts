/**
 * Watermarks: where an incremental read starts again, and the next value to
 * keep. Values stay text end to end (read as `max(col)::text` from the staged
 * rows), so timestamps keep their microseconds and no time zone shifts them.
 *
 * Late commits (guarantee 4): a row committed after a later one, with an older
 * value, would be skipped by `col > watermark`. Each read therefore starts a
 * lookback before the watermark and the write is idempotent over the overlap:
 *   timestamp: INCREMENTAL_LOOKBACK_MINUTES
 *   date:      the same, rounded up to whole days (at least the watermark's day)
 *   integer, decimal: the last INTEGER_LOOKBACK_VALUES values. Sequence values
 *     are handed out at insert, not at commit, so a transaction overtaken by
 *     fewer than this many later inserts is still read. Ids have no clock to
 *     size the window by; 1000 re-read rows per run cost little under a merge.
 */
import type { Condition, Lookback } from '../data/spec.js';
import type { Watermark, WatermarkType } from './config.js';

export const INTEGER_LOOKBACK_VALUES = 1000;

export function lookbackFor(type: WatermarkType, lookbackMinutes: number): Lookback | undefined {
  switch (type) {
    case 'timestamp':
      return lookbackMinutes > 0 ? { kind: 'minutes', minutes: lookbackMinutes } : undefined;
    case 'date':
      return { kind: 'days', days: Math.max(1, Math.ceil(lookbackMinutes / 1440)) };
    case 'integer':
    case 'decimal':
      return { kind: 'amount', amount: String(INTEGER_LOOKBACK_VALUES) };
  }
}

/** The condition of the rows past the watermark (with its lookback); none before the first load. */
export function watermarkCondition(watermark: Watermark, lookbackMinutes: number): Condition[] {
  if (watermark.value === null) return [];
  const lookback = lookbackFor(watermark.type, lookbackMinutes);
  return [{ kind: 'after', column: watermark.column, value: watermark.value, ...(lookback ? { lookback } : {}) }];
}

function compareDecimal(a: string, b: string): number {
  const [ai, af = ''] = a.replace(/^\+/, '').split('.');
  const [bi, bf = ''] = b.replace(/^\+/, '').split('.');
  const aNeg = ai!.startsWith('-');
  const bNeg = bi!.startsWith('-');
  if (aNeg !== bNeg) return aNeg ? -1 : 1;
  const sign = aNeg ? -1 : 1;
  const aInt = ai!.replace('-', '').replace(/^0+(?=\d)/, '');
  const bInt = bi!.replace('-', '').replace(/^0+(?=\d)/, '');
  if (aInt.length !== bInt.length) return sign * (aInt.length - bInt.length);
  const width = Math.max(af.length, bf.length);
  const x = aInt + af.padEnd(width, '0');
  const y = bInt + bf.padEnd(width, '0');
  return sign * (x < y ? -1 : x > y ? 1 : 0);
}

/**
 * Compares two watermark values of a type. PostgreSQL prints timestamps and
 * dates so that text order is time order (`2024-01-01 10:00:00` < `...:00.5`,
 * and `+00` sorts before `.`), for years 1 to 9999.
 */
export function compareWatermarks(type: WatermarkType, a: string, b: string): number {
  if (type === 'integer' || type === 'decimal') return compareDecimal(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The watermark after a load: the larger of the old one and the largest value loaded. */
export function nextWatermark(type: WatermarkType, previous: string | null, loadedMax: string | null): string | null {
  if (loadedMax === null) return previous;
  if (previous === null) return loadedMax;
  return compareWatermarks(type, loadedMax, previous) > 0 ? loadedMax : previous;
}
