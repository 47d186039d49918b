/**
 * `load_cron` schedules. Five fields (minute first) or six (seconds first, as
 * Azure Functions timers write them), or a predefined `@hourly`-style alias,
 * read in the CRON_TIMEZONE time zone; the times computed are UTC instants.
 *
 * Daylight saving: a wall-clock time that does not exist (spring forward) runs
 * shifted past the gap (02:30 becomes 03:30); one that exists twice (fall back)
 * runs once, at its first occurrence. So a daily job runs once on both days,
 * and an hourly one once every real hour.
 */
import { CronExpressionParser } from 'cron-parser';

export class InvalidCronError extends Error {
  constructor(
    readonly expression: string | null,
    readonly reason: string,
  ) {
    super(`load_cron ${JSON.stringify(expression)} is not a valid cron expression: ${reason}`);
    this.name = 'InvalidCronError';
  }
}

const ALIASES = new Set(['@yearly', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@weekdays', '@weekends']);

/** The expression, trimmed, when its shape is one the product accepts; throws InvalidCronError otherwise. */
function checkShape(expression: string | null): string {
  const text = expression?.trim() ?? '';
  if (text === '') throw new InvalidCronError(expression, 'it is empty; write five fields like "0 * * * *" (every hour)');
  if (text.startsWith('@')) {
    if (!ALIASES.has(text.toLowerCase())) {
      throw new InvalidCronError(expression, `unknown alias; use one of ${[...ALIASES].join(', ')}`);
    }
    return text.toLowerCase();
  }
  const fields = text.split(/\s+/).length;
  if (fields !== 5 && fields !== 6) {
    throw new InvalidCronError(
      expression,
      `it has ${fields} fields; write 5 (minute hour day-of-month month day-of-week) or 6 (second first)`,
    );
  }
  return text;
}

/**
 * The first occurrence of `expression` strictly after `after`. `hashSeed` (the
 * row's config_id) makes `H` fields stable for a row. Throws InvalidCronError.
 */
export function nextOccurrence(expression: string | null, after: Date, timeZone: string, hashSeed?: string): Date {
  const text = checkShape(expression);
  let next: Date;
  try {
    const interval = CronExpressionParser.parse(text, { currentDate: after, tz: timeZone, ...(hashSeed ? { hashSeed } : {}) });
    next = interval.next().toDate();
    // Guard against an occurrence equal to `after` (a row must never be due again at once).
    while (next.getTime() <= after.getTime()) next = interval.next().toDate();
  } catch (error) {
    if (error instanceof InvalidCronError) throw error;
    throw new InvalidCronError(expression, error instanceof Error ? error.message : String(error));
  }
  return next;
}

/** Why `expression` cannot schedule loads, or undefined when it can. */
export function cronProblem(expression: string | null, timeZone: string): string | undefined {
  try {
    nextOccurrence(expression, new Date(), timeZone);
    return undefined;
  } catch (error) {
    if (error instanceof InvalidCronError) return error.message;
    throw error;
  }
}

/**
 * nextOccurrence for many rows at one instant: rows that share an expression
 * share the work (parsing and stepping a cron costs ~0.2 ms, ~0.35 ms in a time
 * zone with DST; a batch of 500 rows with a handful of distinct crons pays a
 * handful). Expressions with an `H` field depend on the row's seed and are
 * computed per row.
 */
export function nextOccurrencesAfter(after: Date, timeZone: string): (expression: string | null, hashSeed?: string) => Date {
  const memo = new Map<string, Date | InvalidCronError>();
  return (expression, hashSeed) => {
    const perRow = expression !== null && /h/i.test(expression.replace(/^@\w+$/, ''));
    const key = perRow ? `${hashSeed ?? ''}\u0000${expression}` : String(expression);
    let result = memo.get(key);
    if (result === undefined) {
      try {
        result = nextOccurrence(expression, after, timeZone, hashSeed);
      } catch (error) {
        if (!(error instanceof InvalidCronError)) throw error;
        result = error;
      }
      memo.set(key, result);
    }
    if (result instanceof InvalidCronError) throw result;
    return result;
  };
}

/**
 * The `count`th occurrence of `expression` at or before `before` (1: the
 * latest). Freshness checks compare a table's last success with it. Throws
 * InvalidCronError.
 */
export function previousOccurrence(expression: string | null, before: Date, timeZone: string, count = 1, hashSeed?: string): Date {
  const text = checkShape(expression);
  try {
    const interval = CronExpressionParser.parse(text, { currentDate: new Date(before.getTime() + 1), tz: timeZone, ...(hashSeed ? { hashSeed } : {}) });
    let occurrence = interval.prev().toDate();
    for (let i = 1; i < count; i += 1) occurrence = interval.prev().toDate();
    return occurrence;
  } catch (error) {
    throw new InvalidCronError(expression, error instanceof Error ? error.message : String(error));
  }
}
