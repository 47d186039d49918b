/**
 * Encodes rows (arrays of values) as PostgreSQL COPY text format, for sources
 * that do not speak COPY themselves. Rows are batched into chunks of tens of
 * KB, so the destination sees few large writes rather than one per row, and
 * backpressure flows from the destination back to the row source.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Target size of one encoded chunk. */
export const COPY_CHUNK_BYTES = 64 * 1024;

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f', '\v': '\\v' };

function escapeText(text: string): string {
  return /[\\\n\r\t\b\f\v]/.test(text) ? text.replace(/[\\\n\r\t\b\f\v]/g, (c) => ESCAPES[c]!) : text;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** A Date as a UTC timestamp with microsecond precision (the destination session runs in UTC). */
function formatDate(date: Date): string {
  return `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ${pad(date.getUTCHours())}:${pad(
    date.getUTCMinutes(),
  )}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}+00`;
}

/** One value in COPY text format: `\N` for NULL, escapes for the delimiter, newlines and backslashes. */
export function encodeCopyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'string') return escapeText(value);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value instanceof Date) return formatDate(value);
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  if (Array.isArray(value)) return escapeText(encodeArray(value));
  return escapeText(JSON.stringify(value));
}

/** A PostgreSQL array literal (`{1,2,"a b",NULL}`). */
function encodeArray(values: unknown[]): string {
  const items = values.map((v) => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return encodeArray(v);
    const text = v instanceof Date ? formatDate(v) : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  });
  return `{${items.join(',')}}`;
}

/** One row as a COPY text line (tab separated, newline terminated). */
export function encodeCopyRow(row: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) line += (i ? '\t' : '') + encodeCopyValue(row[i]);
  return `${line}\n`;
}

/** An object-mode Transform: rows in, COPY text chunks of about `chunkBytes` out. */
export function createCopyEncoder(chunkBytes = COPY_CHUNK_BYTES): Transform {
  let pending: string[] = [];
  let size = 0;
  return new Transform({
    writableObjectMode: true,
    readableObjectMode: false,
    transform(row: unknown[], _encoding, callback: TransformCallback) {
      const line = encodeCopyRow(row);
      pending.push(line);
      size += line.length;
      if (size >= chunkBytes) {
        const chunk = pending.join('');
        pending = [];
        size = 0;
        callback(null, Buffer.from(chunk, 'utf8'));
        return;
      }
      callback();
    },
    flush(callback: TransformCallback) {
      callback(null, pending.length ? Buffer.from(pending.join(''), 'utf8') : undefined);
    },
  });
}
