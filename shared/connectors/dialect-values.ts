/**
 * Filter values (watermarks, range bounds, window starts) made exact for a
 * source that is not PostgreSQL. Values arrive as PostgreSQL text (a watermark
 * is `max(col)::text` of the staged rows) and the destination compares them
 * after casting to the column's destination type; a source must select exactly
 * the same rows, so each value is first brought to that type's precision, as
 * PostgreSQL's cast would: timestamps rounded to their fractional digits,
 * timestamps with a time zone moved to UTC, dates cut to the day, decimals
 * rounded to their scale. The result is canonical text every dialect parses
 * with one fixed format.
 */
import { TerminalError } from '../errors.js';

/** What a destination type means for a filter value. */
export type ValueKind =
  | { kind: 'timestamp'; precision: number }
  | { kind: 'timestamptz'; precision: number }
  | { kind: 'date' }
  | { kind: 'integer' }
  | { kind: 'decimal'; scale: number | null }
  | { kind: 'float' }
  | { kind: 'text' };

/** The value kind of a PostgreSQL type name as the connectors spell them (`timestamp(3) without time zone`, `numeric(12,2)`). */
export function valueKindOf(pgType: string): ValueKind {
  const ts = /^timestamp(?:\((\d)\))? with(out)? time zone$/.exec(pgType);
  if (ts) {
    const precision = ts[1] === undefined ? 6 : Number(ts[1]);
    return ts[2] ? { kind: 'timestamp', precision } : { kind: 'timestamptz', precision };
  }
  if (pgType === 'date') return { kind: 'date' };
  if (pgType === 'smallint' || pgType === 'integer' || pgType === 'bigint') return { kind: 'integer' };
  const numeric = /^numeric(?:\((\d+),(\d+)\))?$/.exec(pgType);
  if (numeric) {
    const scale = numeric[2] === undefined ? null : Number(numeric[2]);
    return { kind: 'decimal', scale };
  }
  if (pgType === 'real' || pgType === 'double precision') return { kind: 'float' };
  return { kind: 'text' };
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

interface Parts {
  /** Milliseconds since the epoch of the whole seconds. */
  seconds: number;
  /** Fraction digits after the seconds, as written. */
  fraction: string;
  /** Offset from UTC in minutes, when the text has one. */
  offset: number | undefined;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function parseTimestamp(text: string, column: string): Parts {
  const m = TIMESTAMP.exec(text.trim());
  if (!m) {
    throw new TerminalError(`value "${text}" for column "${column}" is not a date or timestamp (expected YYYY-MM-DD[ HH:MM[:SS[.fraction]]][+HH:MM])`);
  }
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', zone] = m;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  date.setUTCHours(Number(h), Number(mi), Number(s), 0);
  if (date.getUTCDate() !== Number(d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new TerminalError(`value "${text}" for column "${column}" is not a valid date or time`);
  }
  let offset: number | undefined;
  if (zone) {
    if (zone.toUpperCase() === 'Z') offset = 0;
    else {
      const digits = zone.slice(1).replace(':', '');
      const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
      offset = zone.startsWith('-') ? -minutes : minutes;
    }
  }
  return { seconds: date.getTime(), fraction, offset };
}

/** Rounds fraction digits to `precision` (half up); `carry` is 1 when they rounded up to the next second. */
function roundFraction(fraction: string, precision: number): { digits: string; carry: number } {
  if (fraction.length <= precision) return { digits: fraction.padEnd(precision, '0'), carry: 0 };
  const kept = fraction.slice(0, precision);
  if (Number(fraction[precision]) < 5) return { digits: kept, carry: 0 };
  if (precision === 0) return { digits: '', carry: 1 };
  const up = String(Number(`1${kept}`) + 1).slice(1);
  return up.length > precision || /^0+$/.test(up) ? { digits: '0'.repeat(precision), carry: 1 } : { digits: up, carry: 0 };
}

function formatSeconds(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(
    d.getUTCSeconds(),
  )}`;
}

/** `YYYY-MM-DD HH:MM:SS[.f…]` with exactly `precision` fraction digits; a time zone is dropped (as PostgreSQL does for timestamp without time zone). */
export function normalizeTimestamp(text: string, precision: number, column: string): string {
  const parts = parseTimestamp(text, column);
  const { digits, carry } = roundFraction(parts.fraction, precision);
  return formatSeconds(parts.seconds + carry * 1000) + (precision > 0 ? `.${digits}` : '');
}

/** The instant in UTC, `YYYY-MM-DD HH:MM:SS[.f…] +00:00`; text without a zone is UTC (the data sessions run in UTC). */
export function normalizeTimestampTz(text: string, precision: number, column: string): string {
  const parts = parseTimestamp(text, column);
  const { digits, carry } = roundFraction(parts.fraction, precision);
  const utc = parts.seconds - (parts.offset ?? 0) * 60_000 + carry * 1000;
  return `${formatSeconds(utc)}${precision > 0 ? `.${digits}` : ''} +00:00`;
}

/** `YYYY-MM-DD`; a time of day is dropped (as PostgreSQL's cast to date does). */
export function normalizeDate(text: string, column: string): string {
  return formatSeconds(parseTimestamp(text, column).seconds).slice(0, 10);
}

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^([+-])?(\d*)(?:\.(\d*))?$/;

export function normalizeInteger(text: string, column: string): string {
  const value = text.trim();
  if (!INTEGER.test(value)) throw new TerminalError(`value "${text}" for column "${column}" is not an integer`);
  const negative = value.startsWith('-');
  const digits = value.replace(/^[+-]/, '').replace(/^0+(?=\d)/, '');
  return negative && digits !== '0' ? `-${digits}` : digits;
}

/** A decimal rounded half away from zero to `scale` digits (PostgreSQL's numeric rounding); `scale` null keeps every digit. */
export function normalizeDecimal(text: string, scale: number | null, column: string): string {
  const m = DECIMAL.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new TerminalError(`value "${text}" for column "${column}" is not a decimal number`);
  const negative = m[1] === '-';
  let whole = m[2] || '0';
  let fraction = m[3] ?? '';
  if (scale !== null) {
    if (fraction.length > scale) {
      const up = Number(fraction[scale]) >= 5;
      fraction = fraction.slice(0, scale);
      if (up) {
        const joined = (BigInt(whole + fraction) + 1n).toString().padStart(whole.length + scale, '0');
        whole = joined.slice(0, joined.length - scale) || '0';
        fraction = joined.slice(joined.length - scale);
      }
    } else fraction = fraction.padEnd(scale, '0');
  }
  whole = whole.replace(/^0+(?=\d)/, '');
  const result = fraction ? `${whole}.${fraction}` : whole;
  return negative && /[1-9]/.test(result) ? `-${result}` : result;
}

const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** The value in canonical text for its kind; a value that cannot be of that kind fails terminally, naming the column. */
export function normalizeValue(kind: ValueKind, text: string, column: string): string {
  switch (kind.kind) {
    case 'timestamp':
      return normalizeTimestamp(text, kind.precision, column);
    case 'timestamptz':
      return normalizeTimestampTz(text, kind.precision, column);
    case 'date':
      return normalizeDate(text, column);
    case 'integer':
      return normalizeInteger(text, column);
    case 'decimal':
      return normalizeDecimal(text, kind.scale, column);
    case 'float':
      if (!FLOAT.test(text.trim())) throw new TerminalError(`value "${text}" for column "${column}" is not a number`);
      return text.trim();
    case 'text':
      return text;
  }
}
