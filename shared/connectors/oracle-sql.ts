/**
 * Oracle's dialect: `"NAME"` quoting (names are case-sensitive as stored,
 * usually upper case), `:1` positional binds read with explicit formats
 * (TO_DATE, TO_TIMESTAMP, TO_TIMESTAMP_TZ) so no NLS setting can change their
 * meaning, NUMTODSINTERVAL for lookbacks, and dates read as text with
 * TO_CHAR (an Oracle DATE has a time of day, to the second). Types map to
 * PostgreSQL by mapOracleType.
 */
import { assertCount, capPrecision, parseTypeName, type Dialect, type SourceColumn } from './dialect.js';
import { normalizeInteger } from './dialect-values.js';

/** `"name"`, with `"` doubled. */
export function quoteOracle(identifier: string): string {
  return `"${identifier.replace(/"/g, '""')}"`;
}

/** The column metadata node-oracledb gives. */
export interface OracleColumnMeta {
  dbTypeName?: string | undefined;
  precision?: number | undefined;
  scale?: number | undefined;
}

/** The column's type as Oracle DDL spells it, from the driver's metadata: `NUMBER(12,2)`, `TIMESTAMP(6) WITH TIME ZONE`. */
export function oracleSourceType(meta: OracleColumnMeta): string {
  const name = (meta.dbTypeName ?? 'UNKNOWN').toUpperCase();
  if (name === 'NUMBER' || name === 'FLOAT') {
    // Oracle reports NUMBER without precision as precision 0, scale -127; FLOAT(p) as precision p, scale -127.
    if (meta.scale === -127) return meta.precision ? `FLOAT(${meta.precision})` : 'NUMBER';
    if (!meta.precision) return meta.scale === 0 ? 'NUMBER(38,0)' : 'NUMBER';
    return `NUMBER(${meta.precision},${meta.scale ?? 0})`;
  }
  if (name.startsWith('TIMESTAMP')) return `TIMESTAMP(${meta.precision ?? 6})${name.slice('TIMESTAMP'.length)}`;
  return name;
}

type Family = 'date' | 'timestamp' | 'timestamptz' | 'number' | 'text' | 'other';

function familyOf(sourceType: string): { family: Family; precision: number } {
  const { base, args } = parseTypeName(sourceType);
  const precision = capPrecision(Number(args[0] ?? 6));
  if (base === 'date') return { family: 'date', precision: 0 };
  if (sourceType.toUpperCase().startsWith('TIMESTAMP')) {
    return { family: /WITH (LOCAL )?TIME ZONE$/i.test(sourceType) ? 'timestamptz' : 'timestamp', precision };
  }
  if (['number', 'float', 'binary_float', 'binary_double'].includes(base)) return { family: 'number', precision: 0 };
  if (['varchar2', 'nvarchar2', 'char', 'nchar', 'varchar'].includes(base)) return { family: 'text', precision: 0 };
  return { family: 'other', precision: 0 };
}

/** Oracle type (as oracleSourceType spells it) -> PostgreSQL type. */
export function mapOracleType(sourceType: string): string {
  const { base, args } = parseTypeName(sourceType);
  const { family, precision } = familyOf(sourceType);
  if (family === 'date') return 'timestamp(0) without time zone';
  if (family === 'timestamp') return `timestamp(${precision}) without time zone`;
  if (family === 'timestamptz') return `timestamp(${precision}) with time zone`;
  switch (base) {
    case 'number': {
      if (args.length < 2) return 'numeric';
      const p = Number(args[0]);
      const s = Number(args[1]);
      if (s === 0) return p <= 4 ? 'smallint' : p <= 9 ? 'integer' : p <= 18 ? 'bigint' : `numeric(${p},0)`;
      return s > 0 ? `numeric(${Math.max(p, s)},${s})` : 'numeric';
    }
    case 'float':
    case 'binary_double':
      return 'double precision';
    case 'binary_float':
      return 'real';
    case 'raw':
    case 'long raw':
    case 'blob':
      return 'bytea';
    case 'json':
      return 'jsonb';
    case 'boolean':
      return 'boolean';
    default:
      // VARCHAR2, CHAR, CLOB, LONG, ROWID, INTERVAL, XMLTYPE and the rest.
      return 'text';
  }
}

function temporalFormat(precision: number): string {
  return precision > 0 ? 'YYYY-MM-DD HH24:MI:SS.FF' : 'YYYY-MM-DD HH24:MI:SS';
}

/** The text of an expression of a source type, for types the driver would hand over as a Date (losing sub-milliseconds and the zone). */
function textOf(sourceType: string, expression: string): string | undefined {
  const { family, precision } = familyOf(sourceType);
  if (family === 'date') return `TO_CHAR(${expression}, 'YYYY-MM-DD HH24:MI:SS')`;
  if (family === 'timestamp') return `TO_CHAR(${expression}, '${temporalFormat(precision)}')`;
  if (family === 'timestamptz') return `TO_CHAR(SYS_EXTRACT_UTC(${expression}), '${temporalFormat(precision)}') || '+00'`;
  // Intervals arrive from the driver as objects; Oracle's own text of them is what an admin recognizes.
  if (sourceType.toUpperCase().startsWith('INTERVAL')) return `TO_CHAR(${expression})`;
  return undefined;
}

export const oracleDialect: Dialect = {
  quote: quoteOracle,
  tableName: (schema, table) => (schema ? `${quoteOracle(schema)}.${quoteOracle(table)}` : quoteOracle(table)),
  queryItem: (sql) => `(${sql}\n) "source"`,
  bind(params, value) {
    params.push(value);
    return `:${params.length}`;
  },
  typed(column, kind, placeholder) {
    const { family, precision } = familyOf(column.sourceType);
    if (family === 'date') return `TO_DATE(${placeholder}, 'YYYY-MM-DD HH24:MI:SS')`;
    if (family === 'timestamp') return `TO_TIMESTAMP(${placeholder}, '${temporalFormat(precision)}')`;
    if (family === 'timestamptz') return `TO_TIMESTAMP_TZ(${placeholder}, '${temporalFormat(precision)} TZH:TZM')`;
    // The session's NLS_NUMERIC_CHARACTERS is set to '.,' when it opens.
    if (family === 'number') return `TO_NUMBER(${placeholder})`;
    return placeholder;
  },
  minus(column, kind, value, lookback) {
    switch (lookback.kind) {
      case 'seconds':
        return `${value} - NUMTODSINTERVAL(${assertCount(lookback.seconds, 'the lookback in seconds')}, 'SECOND')`;
      case 'minutes':
        return `${value} - NUMTODSINTERVAL(${assertCount(lookback.minutes, 'the lookback in minutes')}, 'MINUTE')`;
      case 'days':
        return `${value} - NUMTODSINTERVAL(${assertCount(lookback.days, 'the lookback in days')}, 'DAY')`;
      case 'amount':
        return `${value} - ${normalizeInteger(lookback.amount, column.name)}`;
    }
  },
  readExpression(column: SourceColumn) {
    const col = quoteOracle(column.name);
    return textOf(column.sourceType, col) ?? col;
  },
  trueSql: '1 = 1',
  // In Oracle '' is NULL and NULL || x is x, so a missing maximum needs no COALESCE.
  signatureSql: (max, from) => `SELECT TO_CHAR(COUNT(*)) || '/' || ${max ?? "''"} AS "signature" FROM ${from}`,
  maxText: (column, max) => textOf(column.sourceType, max) ?? `TO_CHAR(${max})`,
};

/** Zero rows of a relation: its columns' metadata without reading it. */
export function oracleDescribeSql(from: string): string {
  return `SELECT * FROM ${from} WHERE 1 = 0`;
}

/** Session settings every connection gets: UTC, and '.' as the decimal point for TO_NUMBER. */
export const ORACLE_SESSION_SQL = `ALTER SESSION SET TIME_ZONE = 'UTC' NLS_NUMERIC_CHARACTERS = '.,'`;

/**
 * The oldest transaction open on the instance (Oracle v$transaction, with its
 * session from v$session), its start SCN, and the bound it sets for a DATE or
 * TIMESTAMP watermark (`:1`: the margin in seconds). Reading the v$ views needs
 * SELECT on them (SELECT_CATALOG_ROLE, or grants on v_$transaction and
 * v_$session); without it the query fails and the loader falls back to the
 * lookback. start_date is whole seconds, so the bound keeps one more second below.
 */
export const ORACLE_COMMIT_HORIZON_SQL = `SELECT o.sid, TO_CHAR(o.start_date, 'YYYY-MM-DD HH24:MI:SS') AS since, TO_CHAR(o.start_scn) AS start_scn,
       TO_CHAR(LEAST(NVL(o.start_date, SYSDATE), SYSDATE) - NUMTODSINTERVAL(:1 + 1, 'SECOND'), 'YYYY-MM-DD HH24:MI:SS') AS bound
  FROM DUAL
  LEFT JOIN (SELECT s.sid, t.start_date, t.start_scn
               FROM v$transaction t JOIN v$session s ON s.taddr = t.addr
              WHERE s.sid <> TO_NUMBER(SYS_CONTEXT('USERENV', 'SID'))
              ORDER BY t.start_date FETCH FIRST 1 ROWS ONLY) o ON 1 = 1`;
