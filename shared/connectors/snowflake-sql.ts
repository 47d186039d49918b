/**
 * Snowflake's dialect: `"NAME"` quoting (names are case-sensitive as stored,
 * usually upper case), `?` binds read with explicit formats
 * (TO_TIMESTAMP_NTZ(?, 'YYYY-MM-DD HH24:MI:SS.FF')), DATEADD for lookbacks,
 * and every value the driver would round or shift read as text in SQL:
 * NUMBER with all its digits, timestamps with all theirs (TIMESTAMP_TZ and
 * _LTZ in UTC), VARIANT, OBJECT and ARRAY as JSON, BINARY as hex.
 */
import { capPrecision, dateaddMinus, parseTypeName, type Dialect, type SourceColumn } from './dialect.js';

/** `"name"`, with `"` doubled. */
export function quoteSnowflake(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/** The column metadata snowflake-sdk gives (Column.getType(), getPrecision(), getScale()). */
export interface SnowflakeColumnMeta {
  type: string;
  precision: number;
  scale: number;
}

/** The column's type as Snowflake DDL spells it: `NUMBER(38,0)`, `TIMESTAMP_TZ(9)`, `VARIANT`. */
export function snowflakeSourceType(meta: SnowflakeColumnMeta): string {
  const type = meta.type.toLowerCase();
  switch (type) {
    case 'fixed':
      return `NUMBER(${meta.precision},${meta.scale})`;
    case 'real':
      return 'FLOAT';
    case 'text':
      return 'VARCHAR';
    case 'time':
    case 'timestamp_ntz':
    case 'timestamp_ltz':
    case 'timestamp_tz':
      // For date-times the driver's scale is the fractional-seconds precision.
      return `${type.toUpperCase()}(${meta.scale})`;
    default:
      return type.toUpperCase();
  }
}

/** Snowflake type (as snowflakeSourceType spells it) -> PostgreSQL type. */
export function mapSnowflakeType(sourceType: string): string {
  const { base, args } = parseTypeName(sourceType);
  const precision = capPrecision(Number(args[0] ?? 9));
  switch (base) {
    case 'number': {
      const p = Number(args[0] ?? 38);
      const s = Number(args[1] ?? 0);
      if (s > 0) return `numeric(${p},${s})`;
      return p <= 4 ? 'smallint' : p <= 9 ? 'integer' : p <= 18 ? 'bigint' : `numeric(${p},0)`;
    }
    case 'float':
      return 'double precision';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'time':
      return `time(${precision}) without time zone`;
    case 'timestamp_ntz':
      return `timestamp(${precision}) without time zone`;
    case 'timestamp_ltz':
    case 'timestamp_tz':
      return `timestamp(${precision}) with time zone`;
    case 'variant':
    case 'object':
    case 'array':
    case 'map':
      return 'jsonb';
    case 'binary':
      return 'bytea';
    default:
      // VARCHAR, GEOGRAPHY, GEOMETRY, VECTOR and the rest.
      return 'text';
  }
}

function fraction(precision: number): string {
  return precision > 0 ? `.FF${precision}` : '';
}

/** The text of an expression of a source type, where the driver's own value would lose something. */
function textOf(sourceType: string, expression: string): string | undefined {
  const { base, args } = parseTypeName(sourceType);
  const precision = Number(args[0] ?? 9);
  switch (base) {
    case 'number':
      return `TO_VARCHAR(${expression})`;
    case 'date':
      return `TO_VARCHAR(${expression}, 'YYYY-MM-DD')`;
    case 'time':
      return `TO_VARCHAR(${expression}, 'HH24:MI:SS${fraction(precision)}')`;
    case 'timestamp_ntz':
      return `TO_VARCHAR(${expression}, 'YYYY-MM-DD HH24:MI:SS${fraction(precision)}')`;
    case 'timestamp_ltz':
    case 'timestamp_tz':
      return `TO_VARCHAR(CONVERT_TIMEZONE('UTC', ${expression}), 'YYYY-MM-DD HH24:MI:SS${fraction(precision)}') || '+00'`;
    case 'variant':
    case 'object':
    case 'array':
    case 'map':
      return `TO_JSON(${expression})`;
    case 'binary':
      return `TO_VARCHAR(${expression}, 'HEX')`;
    default:
      return undefined;
  }
}

export const snowflakeDialect: Dialect = {
  quote: quoteSnowflake,
  tableName: (schema, table) => (schema ? `${quoteSnowflake(schema)}.${quoteSnowflake(table)}` : quoteSnowflake(table)),
  queryItem: (sql) => `(${sql}\n) AS "source"`,
  bind(params, value) {
    params.push(value);
    return '?';
  },
  typed(column, kind, placeholder) {
    const { base, args } = parseTypeName(column.sourceType);
    const precision = capPrecision(Number(args[0] ?? 9));
    switch (base) {
      case 'timestamp_ntz':
        return `TO_TIMESTAMP_NTZ(${placeholder}, 'YYYY-MM-DD HH24:MI:SS${precision > 0 ? '.FF' : ''}')`;
      case 'timestamp_ltz':
      case 'timestamp_tz':
        return `TO_TIMESTAMP_TZ(${placeholder}, 'YYYY-MM-DD HH24:MI:SS${precision > 0 ? '.FF' : ''} TZH:TZM')`;
      case 'date':
        return `TO_DATE(${placeholder}, 'YYYY-MM-DD')`;
      case 'number':
      case 'float':
        return `CAST(${placeholder} AS ${column.sourceType})`;
      default:
        return placeholder;
    }
  },
  minus: dateaddMinus,
  readExpression(column: SourceColumn) {
    const col = quoteSnowflake(column.name);
    return textOf(column.sourceType, col) ?? col;
  },
  trueSql: 'TRUE',
  signatureSql: (max, from) => `SELECT TO_VARCHAR(COUNT(*)) || '/' || ${max === null ? "''" : `COALESCE(${max}, '')`} AS "signature" FROM ${from}`,
  maxText: (column, max) => textOf(column.sourceType, max) ?? `TO_VARCHAR(${max})`,
};

/** A relation's statement, described without running it. */
export function snowflakeDescribeSql(from: string): string {
  return `SELECT * FROM ${from}`;
}

/** Per-column conversion of driver values: BINARY read as hex becomes PostgreSQL's bytea text. */
export function snowflakeDecoders(sourceTypes: string[]): (((value: unknown) => unknown) | undefined)[] {
  return sourceTypes.map((t) => (parseTypeName(t).base === 'binary' ? (value: unknown) => `\\x${String(value)}` : undefined));
}
