/**
 * SQL Server's dialect: `[name]` quoting, `@p1` parameters (sent as
 * nvarchar and converted to the column's own type, so an index on it still
 * serves the filter), DATEADD for lookbacks, and each column read as text
 * where the driver would lose precision (decimals, money, datetime2's 100 ns,
 * datetimeoffset's offset). Types map to PostgreSQL by MSSQL_TYPES.
 */
import { capPrecision, dateaddMinus, parseTypeName, type Dialect, type SourceColumn } from './dialect.js';

/** `[name]`, with `]` doubled. */
export function quoteMssql(identifier: string): string {
  return `[${identifier.replace(/]/g, ']]')}]`;
}

const TEMPORAL = new Set(['datetime2', 'datetime', 'smalldatetime', 'datetimeoffset']);
const TEXT = new Set(['char', 'varchar', 'text', 'nchar', 'nvarchar', 'ntext', 'sysname']);
const CAST_TO_OWN_TYPE = new Set(['date', 'bit', 'uniqueidentifier']);
const BINARY = new Set(['binary', 'varbinary', 'image', 'timestamp', 'rowversion']);
const CLR = new Set(['geography', 'geometry', 'hierarchyid']);

/**
 * SQL Server type (as sp_describe_first_result_set names it) -> PostgreSQL type.
 * Unlisted types (sql_variant, CLR types) arrive as text.
 */
export function mapMssqlType(sourceType: string): string {
  const { base, args } = parseTypeName(sourceType);
  const precision = (fallback: number) => capPrecision(args[0] === undefined ? fallback : Number(args[0]));
  switch (base) {
    case 'bit':
      return 'boolean';
    case 'tinyint':
    case 'smallint':
      return 'smallint';
    case 'int':
      return 'integer';
    case 'bigint':
      return 'bigint';
    case 'decimal':
    case 'numeric':
      return `numeric(${args[0] ?? 18},${args[1] ?? 0})`;
    case 'money':
      return 'numeric(19,4)';
    case 'smallmoney':
      return 'numeric(10,4)';
    case 'float':
      return args[0] !== undefined && Number(args[0]) <= 24 ? 'real' : 'double precision';
    case 'real':
      return 'real';
    case 'date':
      return 'date';
    case 'datetime2':
      return `timestamp(${precision(7)}) without time zone`;
    case 'datetime':
      return 'timestamp(3) without time zone';
    case 'smalldatetime':
      return 'timestamp(0) without time zone';
    case 'datetimeoffset':
      return `timestamp(${precision(7)}) with time zone`;
    case 'time':
      return `time(${precision(7)}) without time zone`;
    case 'uniqueidentifier':
      return 'uuid';
    default:
      if (BINARY.has(base)) return 'bytea';
      return 'text';
  }
}

/** The text form of an expression of a source type, where the driver's own value would lose something. */
function textOf(sourceType: string, expression: string): string | undefined {
  const { base } = parseTypeName(sourceType);
  // Style 121 (ODBC canonical) is independent of the session's language and DATEFORMAT.
  if (TEMPORAL.has(base)) return `CONVERT(varchar(34), ${expression}, 121)`;
  if (base === 'date') return `CONVERT(varchar(10), ${expression}, 23)`;
  if (base === 'time') return `CAST(${expression} AS varchar(16))`;
  // Style 2 keeps money's four decimal places (the default rounds to two).
  if (base === 'money' || base === 'smallmoney') return `CONVERT(varchar(30), ${expression}, 2)`;
  if (base === 'decimal' || base === 'numeric') return `CAST(${expression} AS varchar(50))`;
  if (CLR.has(base)) return `${expression}.ToString()`;
  if (base === 'sql_variant') return `CAST(${expression} AS nvarchar(4000))`;
  return undefined;
}

export const mssqlDialect: Dialect = {
  quote: quoteMssql,
  tableName: (schema, table) => (schema ? `${quoteMssql(schema)}.${quoteMssql(table)}` : quoteMssql(table)),
  queryItem: (sql) => `(${sql}\n) AS [source]`,
  bind(params, value) {
    params.push(value);
    return `@p${params.length}`;
  },
  typed(column, kind, placeholder) {
    const { base } = parseTypeName(column.sourceType);
    if (kind.kind === 'timestamp' || kind.kind === 'timestamptz') return `CONVERT(${column.sourceType}, ${placeholder}, 121)`;
    // Text compares in the column's own family at full length: no truncation, no conversion of the column.
    if (TEXT.has(base)) return `CAST(${placeholder} AS ${base.startsWith('n') ? 'nvarchar' : 'varchar'}(max))`;
    if (kind.kind === 'text' && !CAST_TO_OWN_TYPE.has(base)) return placeholder;
    return `CAST(${placeholder} AS ${column.sourceType})`;
  },
  minus: dateaddMinus,
  readExpression(column: SourceColumn) {
    const col = quoteMssql(column.name);
    return textOf(column.sourceType, col) ?? col;
  },
  trueSql: '1 = 1',
  signatureSql: (max, from) =>
    `SELECT CAST(COUNT_BIG(*) AS varchar(20)) + '/' + ${max === null ? "''" : `COALESCE(${max}, '')`} AS [signature] FROM ${from}`,
  maxText: (column, max) => textOf(column.sourceType, max) ?? `CAST(${max} AS nvarchar(4000))`,
};

/** The statement whose first result set describes a relation (for sp_describe_first_result_set). */
export function mssqlDescribeSql(from: string): string {
  return `SELECT * FROM ${from}`;
}

/**
 * The oldest transaction open on this database (SQL Server), and the bound it
 * sets for a datetime watermark (`@p1`: the margin in seconds). Transactions
 * count when they touched this database or their session is in it; this
 * session's own is left out. The DMVs show other sessions only with VIEW
 * SERVER STATE (`privileged`); without it the loader falls back to the
 * lookback. Times are the server's local clock, as GETDATE() and SYSDATETIME()
 * stamp them; the bound is whole seconds, a second below the start (the begin
 * time is kept at datetime precision), truncated (CONVERT style 120).
 */
export const MSSQL_COMMIT_HORIZON_SQL = `SELECT CAST(HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') AS int) AS [privileged],
       o.session_id AS [session_id],
       CONVERT(varchar(23), o.began, 121) AS [since],
       CONVERT(varchar(19), DATEADD(second, -(CAST(@p1 AS int) + 1),
         CASE WHEN o.began < SYSDATETIME() THEN o.began ELSE SYSDATETIME() END), 120) AS [bound]
  FROM (SELECT 1 AS one) AS x
  OUTER APPLY (SELECT TOP 1 s.session_id, CAST(t.transaction_begin_time AS datetime2(7)) AS began
                 FROM sys.dm_tran_active_transactions t
                 JOIN sys.dm_tran_session_transactions s ON s.transaction_id = t.transaction_id
                WHERE s.session_id <> @@SPID
                  AND (EXISTS (SELECT 1 FROM sys.dm_tran_database_transactions d
                                WHERE d.transaction_id = t.transaction_id AND d.database_id = DB_ID())
                       OR EXISTS (SELECT 1 FROM sys.dm_exec_sessions e
                                   WHERE e.session_id = s.session_id AND e.database_id = DB_ID()))
                ORDER BY t.transaction_begin_time) AS o`;
