import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { assertSelectQuery, parseTypeName, trimQuery } from '../shared/connectors/dialect.js';
import { rowsToCopy } from '../shared/connectors/dialect-stream.js';
import { normalizeValue, valueKindOf } from '../shared/connectors/dialect-values.js';
import { classifyError, TransientError } from '../shared/errors.js';

const normalize = (pgType: string, value: string) => normalizeValue(valueKindOf(pgType), value, 'c');

describe('filter values', () => {
  it('round timestamps to the destination precision, as PostgreSQL casts them', () => {
    expect(normalize('timestamp(6) without time zone', '2024-01-01 10:00:00.1234565')).toBe('2024-01-01 10:00:00.123457');
    expect(normalize('timestamp(3) without time zone', '2024-12-31 23:59:59.9996')).toBe('2025-01-01 00:00:00.000');
    expect(normalize('timestamp(0) without time zone', '2024-02-28T23:59:59.5')).toBe('2024-02-29 00:00:00');
    expect(normalize('timestamp(0) without time zone', '2024-01-01 10:00:00.4')).toBe('2024-01-01 10:00:00');
    expect(normalize('timestamp without time zone', '2024-01-01')).toBe('2024-01-01 00:00:00.000000');
    // timestamp without time zone ignores a zone, like PostgreSQL.
    expect(normalize('timestamp(6) without time zone', '2024-01-01 10:00:00+05')).toBe('2024-01-01 10:00:00.000000');
    expect(normalize('timestamp(6) without time zone', '0099-01-01 00:00:00')).toBe('0099-01-01 00:00:00.000000');
  });

  it('move timestamps with a time zone to UTC', () => {
    expect(normalize('timestamp(6) with time zone', '2024-01-01 00:30:00.5-01')).toBe('2024-01-01 01:30:00.500000 +00:00');
    expect(normalize('timestamp(3) with time zone', '2024-01-01 01:00:00+05:30')).toBe('2023-12-31 19:30:00.000 +00:00');
    expect(normalize('timestamp(0) with time zone', '2024-01-01T10:00:00Z')).toBe('2024-01-01 10:00:00 +00:00');
    expect(normalize('timestamp(0) with time zone', '2024-01-01 10:00:00')).toBe('2024-01-01 10:00:00 +00:00');
  });

  it('cut dates to the day and round decimals to their scale', () => {
    expect(normalize('date', '2024-04-01 06:00:00.000')).toBe('2024-04-01');
    expect(normalize('numeric(12,2)', '1.005')).toBe('1.01');
    expect(normalize('numeric(12,2)', '-1.005')).toBe('-1.01');
    expect(normalize('numeric(12,2)', '99.999')).toBe('100.00');
    expect(normalize('numeric(5,0)', '0.5')).toBe('1');
    expect(normalize('numeric(12,2)', '-0.001')).toBe('0.00');
    expect(normalize('numeric', '000123.4500')).toBe('123.4500');
    expect(normalize('numeric(38,0)', '99999999999999999999999999999999999999')).toBe('99999999999999999999999999999999999999');
    expect(normalize('bigint', '+0042')).toBe('42');
    expect(normalize('bigint', '-0')).toBe('0');
    expect(normalize('text', " x'; --")).toBe(" x'; --");
  });

  it('refuse a value that cannot be of the column type, naming the column', () => {
    expect(() => normalize('bigint', '1.5')).toThrow('value "1.5" for column "c" is not an integer');
    expect(() => normalize('numeric(12,2)', '1e5')).toThrow('value "1e5" for column "c" is not a decimal number');
    expect(() => normalize('date', '2024-02-30')).toThrow('value "2024-02-30" for column "c" is not a valid date or time');
    expect(() => normalize('timestamp(6) without time zone', 'yesterday')).toThrow('is not a date or timestamp');
    expect(() => normalize('double precision', 'NaNx')).toThrow('is not a number');
  });
});

describe('custom queries', () => {
  it('accept one SELECT or WITH, with comments, quotes and trailing semicolons', () => {
    expect(() => assertSelectQuery('  -- daily\n/* x */ (SELECT 1) ;; ')).not.toThrow();
    expect(() => assertSelectQuery("with a as (select ';' as s, \"x;y\" from [t;] where c = 'it''s; fine') select * from a;")).not.toThrow();
    expect(trimQuery('SELECT 1 ;\n ; ')).toBe('SELECT 1');
  });

  it('refuse anything else, and a second statement', () => {
    expect(() => assertSelectQuery('DELETE FROM t')).toThrow('the custom query (table_control.query) must be a single SELECT or WITH query; it starts with "DELETE FROM t"');
    expect(() => assertSelectQuery('EXEC sp_who')).toThrow('must be a single SELECT or WITH query');
    expect(() => assertSelectQuery('SELECT 1; DROP TABLE t')).toThrow('must be a single statement; it has a semicolon followed by more SQL');
    expect(() => assertSelectQuery("SELECT ';' ; DROP TABLE t")).toThrow('must be a single statement');
  });
});

describe('type names', () => {
  it('split into base and top-level arguments', () => {
    expect(parseTypeName('Decimal(18, 4)')).toEqual({ base: 'decimal', args: ['18', '4'] });
    expect(parseTypeName('TIMESTAMP(3) WITH  TIME ZONE')).toEqual({ base: 'timestamp with time zone', args: ['3'] });
    expect(parseTypeName("Nullable(DateTime64(3, 'UTC'))")).toEqual({ base: 'nullable', args: ["DateTime64(3, 'UTC')"] });
    expect(parseTypeName("Enum8('a,b' = 1, ')' = 2)")).toEqual({ base: 'enum8', args: ["'a,b' = 1", "')' = 2"] });
    expect(parseTypeName('int')).toEqual({ base: 'int', args: [] });
  });
});

describe('driver rows as COPY text', () => {
  it('pause the driver while the reader is not reading, and stop it when the reader gives up', async () => {
    let produced = 0;
    let destroyed = false;
    const rows = new Readable({
      objectMode: true,
      highWaterMark: 16,
      read() {
        produced++;
        this.push([produced, 'x'.repeat(1000)]);
      },
      destroy(error, callback) {
        destroyed = true;
        callback(error);
      },
    });
    const copy = rowsToCopy(rows);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Nobody reads: the driver produced only what fills the buffers (encoder chunks of 64 KB), not an endless table.
    expect(produced).toBeLessThan(400);
    copy.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(destroyed).toBe(true);
  });

  it('fail with the connector error a driver failure maps to', async () => {
    const rows = new Readable({
      objectMode: true,
      read() {
        this.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      },
    });
    const error = await text(rowsToCopy(rows, [], (e) => new TransientError(`reading source table t failed: ${(e as Error).message}`, { cause: e }))).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('reading source table t failed: socket hang up');
    expect(classifyError(error)).toBe('transient');
  });

  it('apply per-column decoders and leave NULLs alone', async () => {
    const rows = Readable.from([
      ['a', 1],
      [null, 2],
    ]);
    expect(await text(rowsToCopy(rows, [(v) => String(v).toUpperCase(), undefined]))).toBe('A\t1\n\\N\t2\n');
  });
});
