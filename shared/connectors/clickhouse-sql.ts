/**
 * ClickHouse's dialect: `` `name` `` quoting, values as escaped string
 * literals converted to the column's type (toDateTime64('...', 6, 'UTC'),
 * toDecimal64('...', 2)): server-side parameters came with 19.x and older
 * servers are still about, and a literal escaped here is exact on all of
 * them. Lookbacks are INTERVAL arithmetic; date-times are read in UTC.
 * Nullable(...) and LowCardinality(...) are looked through. Types map to
 * PostgreSQL by mapClickHouseType.
 */
import { TerminalError } from '../errors.js';
import { assertCount, capPrecision, parseTypeName, type Dialect, type SourceColumn } from './dialect.js';
import { normalizeInteger } from './dialect-values.js';

/** `` `name` ``, backslashes and backticks escaped with a backslash. */
export function quoteClickHouse(identifier: string): string {
  return `\`${identifier.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

/** A string literal, backslashes and quotes escaped with a backslash. */
export function clickHouseLiteral(value: string): string {
  return `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** The type inside Nullable(...) and LowCardinality(...) wrappers. */
export function unwrapClickHouseType(sourceType: string): string {
  let type = sourceType.trim();
  for (;;) {
    const { base, args } = parseTypeName(type);
    if ((base === 'nullable' || base === 'lowcardinality') && args.length === 1) type = args[0]!;
    else return type;
  }
}

const INTEGER_TYPES: Record<string, string> = {
  int8: 'smallint',
  int16: 'smallint',
  uint8: 'smallint',
  int32: 'integer',
  uint16: 'integer',
  int64: 'bigint',
  uint32: 'bigint',
  uint64: 'numeric(20,0)',
  int128: 'numeric(39,0)',
  uint128: 'numeric(39,0)',
  int256: 'numeric(78,0)',
  uint256: 'numeric(78,0)',
};
const DECIMAL_PRECISION: Record<string, number> = { decimal32: 9, decimal64: 18, decimal128: 38, decimal256: 76 };

/** Precision and scale of a Decimal type (Decimal(P, S) or Decimal32(S) ...). */
function decimalOf(base: string, args: string[]): { precision: number; scale: number } | undefined {
  if (base === 'decimal') return { precision: Number(args[0] ?? 10), scale: Number(args[1] ?? 0) };
  const precision = DECIMAL_PRECISION[base];
  return precision === undefined ? undefined : { precision, scale: Number(args[0] ?? 0) };
}

/** ClickHouse type (as DESCRIBE prints it) -> PostgreSQL type. Arrays, tuples, maps and the rest arrive as ClickHouse's text of them. */
export function mapClickHouseType(sourceType: string): string {
  const { base, args } = parseTypeName(unwrapClickHouseType(sourceType));
  if (INTEGER_TYPES[base]) return INTEGER_TYPES[base];
  const decimal = decimalOf(base, args);
  if (decimal) return `numeric(${decimal.precision},${decimal.scale})`;
  switch (base) {
    case 'bool':
    case 'boolean':
      return 'boolean';
    case 'float32':
      return 'real';
    case 'float64':
      return 'double precision';
    case 'date':
    case 'date32':
      return 'date';
    case 'datetime':
      return 'timestamp(0) without time zone';
    case 'datetime64':
      return `timestamp(${capPrecision(Number(args[0] ?? 3))}) without time zone`;
    case 'uuid':
      return 'uuid';
    case 'ipv4':
    case 'ipv6':
      return 'inet';
    default:
      return 'text';
  }
}

/** ClickHouse's conversion function of a Decimal's precision. */
function decimalFunction(precision: number): string {
  return precision <= 9 ? 'toDecimal32' : precision <= 18 ? 'toDecimal64' : precision <= 38 ? 'toDecimal128' : 'toDecimal256';
}

const INTEGER_FUNCTIONS: Record<string, string> = {
  int8: 'toInt8',
  int16: 'toInt16',
  int32: 'toInt32',
  int64: 'toInt64',
  int128: 'toInt128',
  int256: 'toInt256',
  uint8: 'toUInt8',
  uint16: 'toUInt16',
  uint32: 'toUInt32',
  uint64: 'toUInt64',
  uint128: 'toUInt128',
  uint256: 'toUInt256',
};

export const clickHouseDialect: Dialect = {
  quote: quoteClickHouse,
  tableName: (schema, table) => (schema ? `${quoteClickHouse(schema)}.${quoteClickHouse(table)}` : quoteClickHouse(table)),
  queryItem: (sql) => `(${sql}\n)`,
  bind: (_params, value) => clickHouseLiteral(value),
  typed(column, kind, literal) {
    const { base, args } = parseTypeName(unwrapClickHouseType(column.sourceType));
    if (base === 'datetime') return `toDateTime(${literal}, 'UTC')`;
    if (base === 'datetime64') return `toDateTime64(${literal}, ${Number(args[0] ?? 3)}, 'UTC')`;
    if (base === 'date') return `toDate(${literal})`;
    if (base === 'date32') return `toDate32(${literal})`;
    if (INTEGER_FUNCTIONS[base]) return `${INTEGER_FUNCTIONS[base]}(${literal})`;
    const decimal = decimalOf(base, args);
    if (decimal) return `${decimalFunction(decimal.precision)}(${literal}, ${decimal.scale})`;
    if (base === 'float32' || base === 'float64') return `toFloat64(${literal})`;
    if (base === 'uuid') return `toUUID(${literal})`;
    return literal;
  },
  minus(column, kind, value, lookback) {
    switch (lookback.kind) {
      case 'seconds':
        return `${value} - INTERVAL ${assertCount(lookback.seconds, 'the lookback in seconds')} SECOND`;
      case 'minutes':
        return `${value} - INTERVAL ${assertCount(lookback.minutes, 'the lookback in minutes')} MINUTE`;
      case 'days':
        return `${value} - INTERVAL ${assertCount(lookback.days, 'the lookback in days')} DAY`;
      case 'amount':
        return `${value} - ${normalizeInteger(lookback.amount, column.name)}`;
    }
  },
  readExpression(column: SourceColumn) {
    const col = quoteClickHouse(column.name);
    const { base } = parseTypeName(unwrapClickHouseType(column.sourceType));
    // A DateTime prints in its own time zone; the destination's timestamps are UTC.
    return base === 'datetime' || base === 'datetime64' ? `toTimeZone(${col}, 'UTC')` : col;
  },
  trueSql: '1',
  signatureSql: (max, from) => `SELECT concat(toString(count()), '/', ${max === null ? "''" : `ifNull(${max}, '')`}) FROM ${from}`,
  maxText(column, max) {
    const { base } = parseTypeName(unwrapClickHouseType(column.sourceType));
    return base === 'datetime' || base === 'datetime64' ? `toString(toTimeZone(${max}, 'UTC'))` : `toString(${max})`;
  },
};

/** Zero rows of a relation, for its column names and types. */
export function clickHouseDescribeSql(from: string): string {
  return `SELECT * FROM ${from} LIMIT 0`;
}

// ClickHouse's TabSeparated escapes (readEscapedString).
const UNESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v', e: '\x1b' };

/** One TabSeparated field as a value: `\N` is NULL, escapes undone. */
export function unescapeTsvField(field: string): string | null {
  if (field === '\\N') return null;
  if (!field.includes('\\')) return field;
  return field.replace(/\\(x[0-9a-fA-F]{2}|[\s\S])/g, (_, c: string) => {
    if (c.length === 3) return String.fromCharCode(parseInt(c.slice(1), 16));
    return UNESCAPES[c] ?? c;
  });
}

// Before 25.11 a server that fails mid-result writes its exception as the last line of the body.
const EXCEPTION_LINE = /^Code: \d+[.,] .*DB::Exception/;

const COMPOSITE = new Set(['array', 'tuple', 'map', 'nested']);

/**
 * Whether each column's TabSeparated field is ClickHouse's literal as is:
 * arrays, tuples and maps are written as quoted literals, not escaped again.
 */
export function literalColumns(sourceTypes: string[]): boolean[] {
  return sourceTypes.map((t) => COMPOSITE.has(parseTypeName(unwrapClickHouseType(t)).base));
}

/** One TabSeparated line as row values; a line of the wrong width (a server exception mid-result) fails. */
export function parseTsvLine(line: string, literal: readonly boolean[]): (string | null)[] {
  // The server's own error text, as is, so its `Code: N` classifies it.
  if (EXCEPTION_LINE.test(line)) throw new Error(line.slice(0, 2000));
  const fields = line.split('\t');
  if (fields.length !== literal.length) {
    throw new TerminalError(`ClickHouse returned a line that is not a row of ${literal.length} columns: ${line.slice(0, 500)}`);
  }
  return fields.map((field, i) => (literal[i] ? field : unescapeTsvField(field)));
}

/** Per-column fix-ups of ClickHouse's text for PostgreSQL: inf/nan spelled its way, FixedString's zero padding dropped. */
export function clickHouseDecoders(sourceTypes: string[]): ((value: unknown) => unknown)[] {
  return sourceTypes.map((sourceType) => {
    const { base } = parseTypeName(unwrapClickHouseType(sourceType));
    if (base === 'float32' || base === 'float64') {
      const special: Record<string, string> = { inf: 'Infinity', '+inf': 'Infinity', '-inf': '-Infinity', nan: 'NaN', '-nan': 'NaN' };
      return (value) => special[value as string] ?? value;
    }
    if (base === 'fixedstring') return (value) => (value as string).replace(/\0+$/, '');
    return (value) => value;
  });
}
