/**
 * Column types for the lakehouse: a source column (its type spelled as a
 * PostgreSQL type name, as every connector describes it) mapped to the type
 * its Parquet column is written with, and to the Delta type of a Databricks
 * table. Exact where the formats allow it:
 *   numeric(p,s), p <= 38      -> DECIMAL(p,s)   (Parquet and Delta stop at 38 digits)
 *   numeric without precision  -> string         (no fixed scale holds every value exactly)
 *   timestamp [without tz]     -> TIMESTAMP, microseconds, not adjusted to UTC (Delta TIMESTAMP_NTZ)
 *   timestamp with time zone   -> TIMESTAMP, microseconds, adjusted to UTC (Delta TIMESTAMP)
 *   json, jsonb                -> string with Parquet's JSON logical type (Delta STRING)
 *   uuid                       -> Parquet UUID (16 bytes); STRING for Databricks, which has no UUID type
 *   bytea -> binary; date, boolean, smallint, integer, bigint, real, double precision as themselves
 * Everything else (time, interval, money, arrays, ranges, ...) lands as its
 * PostgreSQL text form, which loses nothing.
 */

/** Which reader the Parquet is written for: plain Parquet (`adls`), or Spark and Delta (`databricks`). */
export type ParquetFlavour = 'parquet' | 'delta';

export interface LakehouseType {
  /** DuckDB's SQL type the Parquet column is written as. */
  duckdb: string;
  /** The Delta (Databricks SQL) type of the table column. */
  delta: string;
  /** How the column's text (PostgreSQL's text form) becomes the typed value, in DuckDB SQL. */
  fromText(column: string): string;
}

const cast = (type: string) => (column: string) => `CAST(${column} AS ${type})`;

function simple(duckdb: string, delta: string): LakehouseType {
  return { duckdb, delta, fromText: cast(duckdb) };
}

const TEXT: LakehouseType = { duckdb: 'VARCHAR', delta: 'STRING', fromText: (column) => column };

/** The lakehouse type of a source column type (PostgreSQL spelling). */
export function lakehouseType(sourceType: string, flavour: ParquetFlavour): LakehouseType {
  const type = sourceType.trim().toLowerCase();
  if (type.endsWith('[]')) return TEXT;
  const decimal = /^(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)$/.exec(type);
  if (decimal) {
    const precision = Number(decimal[1]);
    const scale = Number(decimal[2] ?? 0);
    if (precision >= 1 && precision <= 38 && scale >= 0 && scale <= precision) {
      return simple(`DECIMAL(${precision},${scale})`, `DECIMAL(${precision},${scale})`);
    }
    return TEXT;
  }
  if (/^timestamp(\s*\(\d\))?\s+with time zone$/.test(type) || type === 'timestamptz') return simple('TIMESTAMPTZ', 'TIMESTAMP');
  if (/^timestamp(\s*\(\d\))?(\s+without time zone)?$/.test(type)) return simple('TIMESTAMP', 'TIMESTAMP_NTZ');
  switch (type) {
    case 'smallint':
    case 'int2':
      return simple('SMALLINT', 'SMALLINT');
    case 'integer':
    case 'int':
    case 'int4':
      return simple('INTEGER', 'INT');
    case 'bigint':
    case 'int8':
      return simple('BIGINT', 'BIGINT');
    case 'real':
    case 'float4':
      return simple('FLOAT', 'FLOAT');
    case 'double precision':
    case 'float8':
      return simple('DOUBLE', 'DOUBLE');
    case 'boolean':
    case 'bool':
      return simple('BOOLEAN', 'BOOLEAN');
    case 'date':
      return simple('DATE', 'DATE');
    case 'uuid':
      return flavour === 'parquet' ? simple('UUID', 'STRING') : TEXT;
    case 'json':
    case 'jsonb':
      return flavour === 'parquet' ? { duckdb: 'JSON', delta: 'STRING', fromText: (column) => `CAST(${column} AS JSON)` } : TEXT;
    case 'bytea':
      // COPY's text form of bytea is \x followed by hex digits.
      return { duckdb: 'BLOB', delta: 'BINARY', fromText: (column) => `from_hex(substr(${column}, 3))` };
    default:
      return TEXT;
  }
}

/** A DuckDB identifier. */
export function duckIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
