/**
 * Splits a column's bounds into ranges the way Spark's JDBC reader does: the
 * bounds set the stride, not a filter. The first range also takes everything
 * below it and NULLs, the last everything above, so every row is read exactly
 * once whatever the bounds.
 */
import { TerminalError } from '../errors.js';

export interface Range {
  from?: string;
  to?: string;
  withNulls: boolean;
}

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/;
const DATE = /^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A UTC instant as `YYYY-MM-DD HH:MM:SS.mmm` (no zone: the data sessions run in UTC). */
function formatInstant(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(
    d.getUTCSeconds(),
  )}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function parseInstant(text: string): number {
  const iso = text.replace(' ', 'T');
  const hasZone = /(Z|[+-]\d{2}(:?\d{2})?)$/.test(iso) && iso.includes('T');
  return Date.parse(hasZone ? iso : iso.includes('T') ? `${iso}Z` : `${iso}T00:00:00Z`);
}

/** The interior boundaries b1 .. b(n-1), as text the source casts to the column's type. */
function boundaries(lower: string, upper: string, count: number): string[] {
  if (INTEGER.test(lower) && INTEGER.test(upper)) {
    const lo = BigInt(lower);
    const hi = BigInt(upper);
    if (hi <= lo) throw new TerminalError(`upper_bound ${upper} must be greater than lower_bound ${lower}`);
    // Spark: fewer partitions than values would give empty strides.
    const n = BigInt(Math.min(count, Number(hi - lo)));
    const stride = (hi - lo) / n;
    return Array.from({ length: Number(n) - 1 }, (_, i) => String(lo + stride * BigInt(i + 1)));
  }
  if (DECIMAL.test(lower) && DECIMAL.test(upper)) {
    const lo = Number(lower);
    const hi = Number(upper);
    if (hi <= lo) throw new TerminalError(`upper_bound ${upper} must be greater than lower_bound ${lower}`);
    const stride = (hi - lo) / count;
    return Array.from({ length: count - 1 }, (_, i) => String(lo + stride * (i + 1)));
  }
  if (DATE.test(lower) && DATE.test(upper)) {
    const lo = parseInstant(lower);
    const hi = parseInstant(upper);
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) throw new TerminalError(`lower_bound ${lower} or upper_bound ${upper} is not a valid date`);
    if (hi <= lo) throw new TerminalError(`upper_bound ${upper} must be later than lower_bound ${lower}`);
    const stride = Math.floor((hi - lo) / count);
    return Array.from({ length: count - 1 }, (_, i) => formatInstant(lo + stride * (i + 1)));
  }
  throw new TerminalError(
    `lower_bound "${lower}" and upper_bound "${upper}" must both be numbers or both dates/timestamps (YYYY-MM-DD[ HH:MM:SS])`,
  );
}

/** The ranges of a partitioned read: `count` of them (fewer for a narrow integer span). */
export function splitRange(lower: string, upper: string, count: number): Range[] {
  if (count <= 1) {
    boundaries(lower, upper, 1);
    return [{ withNulls: true }];
  }
  const cuts = boundaries(lower, upper, count);
  if (cuts.length === 0) return [{ withNulls: true }];
  return [
    { to: cuts[0]!, withNulls: true },
    ...cuts.slice(1).map((to, i) => ({ from: cuts[i]!, to, withNulls: false })),
    { from: cuts[cuts.length - 1]!, withNulls: false },
  ];
}
