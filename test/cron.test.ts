import { describe, expect, it } from 'vitest';
import { cronProblem, InvalidCronError, nextOccurrence, nextOccurrencesAfter } from '../shared/schedule/cron.js';

const at = (iso: string) => new Date(iso);
/** The next `count` occurrences after `from`, as ISO strings. */
function occurrences(expression: string, from: string, timeZone: string, count: number): string[] {
  const out: string[] = [];
  let d = at(from);
  for (let i = 0; i < count; i++) {
    d = nextOccurrence(expression, d, timeZone);
    out.push(d.toISOString());
  }
  return out;
}

describe('load_cron', () => {
  it('reads five fields minute first', () => {
    expect(occurrences('15 */6 * * *', '2024-01-01T00:00:00Z', 'UTC', 3)).toEqual([
      '2024-01-01T00:15:00.000Z',
      '2024-01-01T06:15:00.000Z',
      '2024-01-01T12:15:00.000Z',
    ]);
  });

  it('reads six fields seconds first', () => {
    expect(occurrences('30 15 */6 * * *', '2024-01-01T00:00:00Z', 'UTC', 2)).toEqual([
      '2024-01-01T00:15:30.000Z',
      '2024-01-01T06:15:30.000Z',
    ]);
    expect(occurrences('*/20 * * * * *', '2024-01-01T00:00:00Z', 'UTC', 3)).toEqual([
      '2024-01-01T00:00:20.000Z',
      '2024-01-01T00:00:40.000Z',
      '2024-01-01T00:01:00.000Z',
    ]);
  });

  it('accepts the predefined aliases', () => {
    expect(nextOccurrence('@daily', at('2024-01-01T10:00:00Z'), 'UTC').toISOString()).toBe('2024-01-02T00:00:00.000Z');
    expect(nextOccurrence('@hourly', at('2024-01-01T10:00:00Z'), 'UTC').toISOString()).toBe('2024-01-01T11:00:00.000Z');
  });

  it('is strictly after the given time, and skips missed slots', () => {
    expect(nextOccurrence('0 * * * *', at('2024-01-01T10:00:00Z'), 'UTC').toISOString()).toBe('2024-01-01T11:00:00.000Z');
    expect(nextOccurrence('0 * * * *', at('2024-01-01T10:59:59.999Z'), 'UTC').toISOString()).toBe('2024-01-01T11:00:00.000Z');
  });

  it('reads the expression in the time zone and returns UTC instants', () => {
    // 09:00 in Amsterdam is 08:00 UTC in winter and 07:00 UTC in summer.
    expect(nextOccurrence('0 9 * * *', at('2024-01-15T00:00:00Z'), 'Europe/Amsterdam').toISOString()).toBe('2024-01-15T08:00:00.000Z');
    expect(nextOccurrence('0 9 * * *', at('2024-07-15T00:00:00Z'), 'Europe/Amsterdam').toISOString()).toBe('2024-07-15T07:00:00.000Z');
    expect(nextOccurrence('0 9 * * *', at('2024-01-15T00:00:00Z'), 'America/New_York').toISOString()).toBe('2024-01-15T14:00:00.000Z');
    expect(nextOccurrence('0 9 * * *', at('2024-01-15T00:00:00Z'), 'Asia/Kolkata').toISOString()).toBe('2024-01-15T03:30:00.000Z');
  });

  it('runs a daily job once on the spring-forward day, shifted past the missing hour', () => {
    // Europe/Amsterdam, 2024-03-31: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    expect(occurrences('30 2 * * *', '2024-03-30T00:00:00Z', 'Europe/Amsterdam', 3)).toEqual([
      '2024-03-30T01:30:00.000Z', // 02:30 CET
      '2024-03-31T01:30:00.000Z', // 03:30 CEST
      '2024-04-01T00:30:00.000Z', // 02:30 CEST
    ]);
    // America/New_York, 2024-03-10, the same with six fields.
    expect(occurrences('0 30 2 * * *', '2024-03-09T12:00:00Z', 'America/New_York', 3)).toEqual([
      '2024-03-10T07:30:00.000Z', // 02:30 EST
      '2024-03-11T06:30:00.000Z', // 02:30 EDT
      '2024-03-12T06:30:00.000Z',
    ]);
  });

  it('runs a daily job once on the fall-back day, though the time happens twice', () => {
    // Europe/Amsterdam, 2024-10-27: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    expect(occurrences('30 2 * * *', '2024-10-26T00:00:00Z', 'Europe/Amsterdam', 3)).toEqual([
      '2024-10-26T00:30:00.000Z',
      '2024-10-27T00:30:00.000Z', // the first 02:30 (CEST) only
      '2024-10-28T01:30:00.000Z',
    ]);
  });

  it('runs an hourly job every real hour across both transitions', () => {
    expect(occurrences('0 * * * *', '2024-10-26T23:30:00Z', 'Europe/Amsterdam', 4)).toEqual([
      '2024-10-27T00:00:00.000Z',
      '2024-10-27T01:00:00.000Z',
      '2024-10-27T02:00:00.000Z',
      '2024-10-27T03:00:00.000Z',
    ]);
    expect(occurrences('0 * * * *', '2024-03-30T23:30:00Z', 'Europe/Amsterdam', 3)).toEqual([
      '2024-03-31T00:00:00.000Z',
      '2024-03-31T01:00:00.000Z',
      '2024-03-31T02:00:00.000Z',
    ]);
  });

  it('gives H fields a stable value per row', () => {
    const a = nextOccurrence('H * * * *', at('2024-01-01T00:00:00Z'), 'UTC', '42');
    expect(nextOccurrence('H * * * *', at('2024-01-01T00:00:00Z'), 'UTC', '42')).toEqual(a);
  });

  it.each([
    [null, /empty/],
    ['', /empty/],
    ['   ', /empty/],
    ['* * * *', /has 4 fields/],
    ['0 0 0 * * * 2024', /has 7 fields/],
    ['61 * * * *', /expected range 0-59/],
    ['0 25 * * *', /expected range 0-23/],
    ['every hour', /has 2 fields/],
    ['banana * * * *', /Invalid characters/],
    ['0 0 31 2 *', /day of month/],
    ['@fortnightly', /unknown alias/],
  ])('rejects %j with a reason naming load_cron', (expression, reason) => {
    expect(() => nextOccurrence(expression, new Date(), 'UTC')).toThrow(InvalidCronError);
    const problem = cronProblem(expression, 'UTC');
    expect(problem).toMatch(/^load_cron /);
    expect(problem).toMatch(reason);
  });

  it('finds no problem in a valid expression', () => {
    expect(cronProblem('0 2 * * 1-5', 'Europe/Amsterdam')).toBeUndefined();
  });

  it('shares the work between rows of one instant, keeping H fields and errors per row', () => {
    const after = at('2024-01-01T10:20:00Z');
    const next = nextOccurrencesAfter(after, 'Europe/Amsterdam');
    expect(next('0 * * * *', '1')).toEqual(nextOccurrence('0 * * * *', after, 'Europe/Amsterdam'));
    expect(next('0 * * * *', '2')).toEqual(nextOccurrence('0 * * * *', after, 'Europe/Amsterdam'));
    expect(next('0 9 * * THU', '3')).toEqual(nextOccurrence('0 9 * * THU', after, 'Europe/Amsterdam'));
    for (const seed of ['1', '2', '3', '4']) {
      expect(next('H * * * *', seed)).toEqual(nextOccurrence('H * * * *', after, 'Europe/Amsterdam', seed));
    }
    expect(() => next('61 * * * *', '5')).toThrow(InvalidCronError);
    expect(() => next('61 * * * *', '6')).toThrow(InvalidCronError);
  });
});
