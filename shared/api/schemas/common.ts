/**
 * Field schemas shared by the API's requests. Every string is length-limited
 * to its column's size and free of NUL characters (PostgreSQL text cannot hold
 * them); names are restricted to characters a table or column name needs, so
 * a name can never carry SQL.
 */
import { z } from 'zod';
import { InvalidCronError, nextOccurrence } from '../../schedule/cron.js';

const NUL = '\u0000';
// With the u flag a surrogate pair is one code point, so this matches only a lone half,
// which UTF-8 cannot hold: it would be stored as U+FFFD, not as sent.
const LONE_SURROGATE = /[\ud800-\udfff]/u;

/** A string of at most `max` characters without NUL or lone surrogates. */
export function text(max: number) {
  return z
    .string()
    .max(max, `at most ${max} characters`)
    .refine((s) => !s.includes(NUL), 'must not contain NUL characters')
    .refine((s) => !LONE_SURROGATE.test(s), 'must be valid Unicode (no lone surrogate characters)');
}

/** A non-empty string of at most `max` characters without NUL. */
export function nonEmptyText(max: number) {
  return text(max).refine((s) => s.trim() !== '', 'must not be empty');
}

// Letters and digits of any script, and _ $ # @ - and inner spaces (SQL Server
// and Oracle names use them). No quotes, semicolons, dots, slashes or comment
// markers.
const NAME = /^[\p{L}\p{N}_$#@-](?:[\p{L}\p{N}_$#@ -]*[\p{L}\p{N}_$#@-])?$/u;
const NAME_HINT = 'letters, digits, spaces and _ $ # @ - only (no quotes, dots or semicolons)';

/** A catalog, schema, table or column name. */
export function name(max = 255) {
  return text(max).regex(NAME, NAME_HINT);
}

/** Comma-separated column names: `id` or `order_id, line_no`. */
export const columnList = text(2000).refine(
  (s) => s.split(',').every((part) => NAME.test(part.trim())),
  `comma-separated column names, each of ${NAME_HINT}`,
);

/** A table_control_dbconfig key: `sql_sales_prod`. */
export const configKey = text(100)
  .regex(/^(?=.*[A-Za-z0-9])[A-Za-z0-9_.-]+$/, 'letters, digits and _ . - only (at least one letter or digit), at most 100 characters')
  .min(1);

/** A Key Vault secret name, as Key Vault allows them. */
export const secretName = z
  .string()
  .regex(/^[A-Za-z0-9-]{1,127}$/, 'a Key Vault secret name (1 to 127 letters, digits and dashes), never a secret value');

/**
 * Why `expression` cannot schedule loads, or undefined when it can: the
 * sensor's own rules (shared/schedule/cron.ts), so that a cron the API accepts
 * is one the sensor schedules.
 */
export function cronProblem(expression: string): string | undefined {
  try {
    nextOccurrence(expression, new Date(), 'UTC');
    return undefined;
  } catch (error) {
    if (error instanceof InvalidCronError) return error.reason;
    throw error;
  }
}

/** A cron expression of 5 or 6 fields (or an alias like @hourly) that cron-parser accepts. */
export const cron = text(255).superRefine((value, ctx) => {
  const problem = cronProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `not a valid cron expression: ${problem}` });
});

/** A positive integer id in a path or body. */
export const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** A path parameter `{id}`. */
export const idParams = z.strictObject({
  id: z.coerce.number({ error: 'must be a positive integer' }).pipe(id),
});

/** `true` / `false` in a query string. */
export const queryFlag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** A limit in a query string. */
export function queryLimit(fallback: number, max: number) {
  return z.coerce.number().int().min(1).max(max).default(fallback);
}

const VERSION = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Whether `text` can be a row version: an ISO-8601 timestamp of a real day
 * between the years 1 and 9999 (what PostgreSQL's timestamp holds), at most
 * microseconds. Checked before any version reaches SQL.
 */
export function isVersion(text: string): boolean {
  const match = VERSION.exec(text);
  if (!match) return false;
  const [y, m, d, h, min, s] = match.slice(1, 7).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const day = new Date(0);
  day.setUTCFullYear(y, m - 1, d);
  return y >= 1 && day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d && h < 24 && min < 60 && s < 60;
}

export const VERSION_HINT = 'a version as the API returns it (last_modified_at, e.g. 2026-01-31T12:00:00.123456Z): read the row again and send its value';

/** A row version: last_modified_at as the API returns it (ISO-8601, UTC), or null for a row without one. */
export const version = z
  .string({ error: `must be ${VERSION_HINT}` })
  .refine(isVersion, `must be ${VERSION_HINT}`)
  .meta({ format: 'date-time' })
  .nullable();

