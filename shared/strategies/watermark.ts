/**
 * Watermarks: where an incremental read starts again, and the next value to
 * keep. Values stay text end to end (read as `max(col)::text` from the staged
 * rows), so timestamps keep their microseconds and no time zone shifts them.
 *
 * Late commits (guarantee 4): a row committed after a later one, with an older
 * value, would be skipped by `col > watermark`. Two things protect it:
 *  - the settled bound (shared/strategies/settle.ts): where the source can tell
 *    the oldest transaction still open, the watermark never advances past it;
 *  - the lookback: each read starts this far before the watermark, and the
 *    write is idempotent over the overlap. Per table (incremental_lookback:
 *    an interval for time watermarks, an amount for numeric ones), else
 *      timestamp: INCREMENTAL_LOOKBACK_MINUTES
 *      date:      the same, rounded up to whole days (at least the watermark's day)
 *      integer, decimal: the last INTEGER_LOOKBACK_VALUES values. Sequence values
 *        are handed out at insert, not at commit, so a transaction overtaken by
 *        fewer than this many later inserts is still read. Ids have no clock to
 *        size the window by; 1000 re-read rows per run cost little under a merge.
 *    The lookback also covers writes that stamp an old value on purpose
 *    (replication applying source times), which no bound can see.
 */
import type { Condition, Lookback } from '../data/spec.js';
import type { Watermark, WatermarkType } from './config.js';

export const INTEGER_LOOKBACK_VALUES = 1000;

/** A table's own lookback (incremental_lookback), parsed: seconds for time watermarks, an amount for numeric ones. */
export type TableLookback = { seconds: number } | { amount: string };

const UNIT_SECONDS: [RegExp, number][] = [
  [/^(s|secs?|seconds?)$/, 1],
  [/^(m|mins?|minutes?)$/, 60],
  [/^(h|hours?)$/, 3600],
  [/^(d|days?)$/, 86400],
];
/** The longest lookback accepted: a year. */
const MAX_LOOKBACK_SECONDS = 366 * 86400;

/**
 * Reads incremental_lookback for a watermark type: `90 seconds`, `10 minutes`,
 * `2 hours`, `1 day` (or `0`) for timestamp and date watermarks; a
 * non-negative amount (`5000`, or `0.5` for decimal) for numeric ones.
 * Returns the reason when the text does not fit.
 */
export function parseTableLookback(text: string, type: WatermarkType): TableLookback | { error: string } {
  const value = text.trim().toLowerCase();
  if (type === 'integer' || type === 'decimal') {
    const pattern = type === 'integer' ? /^\d{1,18}$/ : /^\d{1,18}(\.\d{1,18})?$/;
    if (!pattern.test(value)) {
      const what = type === 'integer' ? 'a whole number' : 'a number';
      return { error: `must be ${what} of at least 0 for an ${type} watermark (how many values before the watermark a read starts), e.g. 5000` };
    }
    return { amount: value.replace(/^0+(?=\d)/, '') };
  }
  if (value === '0') return { seconds: 0 };
  const match = /^(\d{1,9})\s*([a-z]+)$/.exec(value);
  const unit = match ? UNIT_SECONDS.find(([pattern]) => pattern.test(match[2]!)) : undefined;
  const seconds = match && unit ? Number(match[1]) * unit[1] : NaN;
  if (!Number.isSafeInteger(seconds) || seconds > MAX_LOOKBACK_SECONDS) {
    return { error: `must be an interval of at most a year for a ${type} watermark, e.g. 90 seconds, 10 minutes, 2 hours, 1 day (or 0)` };
  }
  return { seconds };
}

/** The lookback in force for a watermark: the table's own, else the setting's. */
export function lookbackFor(type: WatermarkType, lookbackMinutes: number, table?: TableLookback | null): Lookback | undefined {
  switch (type) {
    case 'timestamp': {
      const seconds = table && 'seconds' in table ? table.seconds : lookbackMinutes * 60;
      if (seconds <= 0) return undefined;
      return seconds % 60 === 0 ? { kind: 'minutes', minutes: seconds / 60 } : { kind: 'seconds', seconds };
    }
    case 'date': {
      const seconds = table && 'seconds' in table ? table.seconds : lookbackMinutes * 60;
      return { kind: 'days', days: Math.max(1, Math.ceil(seconds / 86400)) };
    }
    case 'integer':
    case 'decimal': {
      const amount = table && 'amount' in table ? table.amount : String(INTEGER_LOOKBACK_VALUES);
      return amount === '0' ? undefined : { kind: 'amount', amount };
    }
  }
}

/** The lookback in force, in words, with where it comes from (for messages and the views). */
export function describeLookback(type: WatermarkType, lookbackMinutes: number, table?: TableLookback | null): string {
  const lookback = lookbackFor(type, lookbackMinutes, table);
  const from = table ? 'incremental_lookback' : type === 'integer' || type === 'decimal' ? 'the default' : 'INCREMENTAL_LOOKBACK_MINUTES';
  if (!lookback) return `no lookback (${from})`;
  switch (lookback.kind) {
    case 'seconds':
      return `a lookback of ${lookback.seconds} seconds (${from})`;
    case 'minutes':
      return `a lookback of ${lookback.minutes} minutes (${from})`;
    case 'days':
      return `a lookback of ${lookback.days} day(s) (${from})`;
    case 'amount':
      return `a lookback of ${lookback.amount} values (${from})`;
  }
}

/** The condition of the rows past the watermark (with its lookback); none before the first load. */
export function watermarkCondition(watermark: Watermark, lookbackMinutes: number, table?: TableLookback | null): Condition[] {
  if (watermark.value === null) return [];
  const lookback = lookbackFor(watermark.type, lookbackMinutes, table);
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
