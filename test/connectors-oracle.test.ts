import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { selectSql, signatureSql } from '../shared/connectors/dialect.js';
import { rowsToCopy } from '../shared/connectors/dialect-stream.js';
import { classifyOracleError, oracleConnectString, oracleDecoders } from '../shared/connectors/oracle.js';
import { mapOracleType, oracleDialect, oracleSourceType } from '../shared/connectors/oracle-sql.js';
import type { Condition, SourceRelation } from '../shared/data/spec.js';
import { classifyError } from '../shared/errors.js';

const orders: SourceRelation = { kind: 'table', catalog: null, schema: 'SALES', table: 'ORDERS' };
const SOURCE_TYPES: [string, string][] = [
  ['ID', 'NUMBER(18,0)'],
  ['AMOUNT', 'NUMBER(12,2)'],
  ['CREATED', 'DATE'],
  ['UPDATED_AT', 'TIMESTAMP(6)'],
  ['SEEN_AT', 'TIMESTAMP(3) WITH TIME ZONE'],
  ['NAME', 'VARCHAR2'],
];
const types = new Map(SOURCE_TYPES);
const columns = SOURCE_TYPES.map(([name, t]) => ({ name, type: mapOracleType(t) }));
const read = (conditions: Condition[], relation: SourceRelation = orders) => selectSql(oracleDialect, { relation, columns, conditions }, types);

const LIST =
  `SELECT "ID", "AMOUNT", TO_CHAR("CREATED", 'YYYY-MM-DD HH24:MI:SS'), TO_CHAR("UPDATED_AT", 'YYYY-MM-DD HH24:MI:SS.FF'), ` +
  `TO_CHAR(SYS_EXTRACT_UTC("SEEN_AT"), 'YYYY-MM-DD HH24:MI:SS.FF') || '+00', "NAME"`;
const FROM = `${LIST} FROM "SALES"."ORDERS"`;

describe('Oracle SQL', () => {
  it('reads the whole table, dates and timestamps as text', () => {
    expect(read([])).toEqual({ sql: FROM, params: [] });
  });

  it('reads past timestamp watermarks at full precision, with and without a lookback', () => {
    expect(read([{ kind: 'after', column: 'UPDATED_AT', value: '2024-01-01 10:00:00.123456' }])).toEqual({
      sql: `${FROM} WHERE "UPDATED_AT" > TO_TIMESTAMP(:1, 'YYYY-MM-DD HH24:MI:SS.FF')`,
      params: ['2024-01-01 10:00:00.123456'],
    });
    expect(read([{ kind: 'after', column: 'UPDATED_AT', value: '2024-01-01 10:00:00', lookback: { kind: 'minutes', minutes: 10 } }])).toEqual({
      sql: `${FROM} WHERE "UPDATED_AT" > TO_TIMESTAMP(:1, 'YYYY-MM-DD HH24:MI:SS.FF') - NUMTODSINTERVAL(10, 'MINUTE')`,
      params: ['2024-01-01 10:00:00.000000'],
    });
    // An Oracle DATE holds seconds: a watermark rounds to the second, as the destination's timestamp(0) does.
    expect(read([{ kind: 'after', column: 'CREATED', value: '2024-01-01 10:00:00.6', lookback: { kind: 'minutes', minutes: 5 } }])).toEqual({
      sql: `${FROM} WHERE "CREATED" > TO_DATE(:1, 'YYYY-MM-DD HH24:MI:SS') - NUMTODSINTERVAL(5, 'MINUTE')`,
      params: ['2024-01-01 10:00:01'],
    });
    expect(read([{ kind: 'after', column: 'SEEN_AT', value: '2024-01-01 00:30:00.12345-01' }])).toEqual({
      sql: `${FROM} WHERE "SEEN_AT" > TO_TIMESTAMP_TZ(:1, 'YYYY-MM-DD HH24:MI:SS.FF TZH:TZM')`,
      params: ['2024-01-01 01:30:00.123 +00:00'],
    });
  });

  it('reads past date, integer and decimal watermarks, with their lookbacks', () => {
    expect(read([{ kind: 'after', column: 'CREATED', value: '2024-01-31', lookback: { kind: 'days', days: 2 } }])).toEqual({
      sql: `${FROM} WHERE "CREATED" > TO_DATE(:1, 'YYYY-MM-DD HH24:MI:SS') - NUMTODSINTERVAL(2, 'DAY')`,
      params: ['2024-01-31 00:00:00'],
    });
    expect(read([{ kind: 'after', column: 'ID', value: '123456789012345678', lookback: { kind: 'amount', amount: '1000' } }])).toEqual({
      sql: `${FROM} WHERE "ID" > TO_NUMBER(:1) - 1000`,
      params: ['123456789012345678'],
    });
    expect(read([{ kind: 'after', column: 'AMOUNT', value: '-0.005' }])).toEqual({
      sql: `${FROM} WHERE "AMOUNT" > TO_NUMBER(:1)`,
      params: ['-0.01'],
    });
  });

  it('reads a rolling window and partition ranges with NULLs where asked', () => {
    expect(read([{ kind: 'range', column: 'CREATED', from: '2024-03-01' }])).toEqual({
      sql: `${FROM} WHERE "CREATED" >= TO_DATE(:1, 'YYYY-MM-DD HH24:MI:SS')`,
      params: ['2024-03-01 00:00:00'],
    });
    expect(read([{ kind: 'range', column: 'ID', from: '10', to: '20', withNulls: true }])).toEqual({
      sql: `${FROM} WHERE ("ID" >= TO_NUMBER(:1) AND "ID" < TO_NUMBER(:2) OR "ID" IS NULL)`,
      params: ['10', '20'],
    });
    expect(read([{ kind: 'range', column: 'UPDATED_AT', from: '2024-01-01 05:33:20.333', withNulls: false }]).params).toEqual(['2024-01-01 05:33:20.333000']);
    expect(read([{ kind: 'range', column: 'NAME', to: 'm' }])).toEqual({ sql: `${FROM} WHERE "NAME" < :1`, params: ['m'] });
  });

  it('wraps a custom query without AS, and computes the signature', () => {
    const query: SourceRelation = { kind: 'query', sql: 'SELECT * FROM sales.orders;' };
    expect(read([], query).sql).toBe(`${LIST} FROM (SELECT * FROM sales.orders\n) "source"`);
    expect(signatureSql(oracleDialect, { relation: orders, column: 'UPDATED_AT' }, types)).toBe(
      `SELECT TO_CHAR(COUNT(*)) || '/' || TO_CHAR(MAX("UPDATED_AT"), 'YYYY-MM-DD HH24:MI:SS.FF') AS "signature" FROM "SALES"."ORDERS"`,
    );
    expect(signatureSql(oracleDialect, { relation: orders, column: 'ID' }, types)).toBe(
      `SELECT TO_CHAR(COUNT(*)) || '/' || TO_CHAR(MAX("ID")) AS "signature" FROM "SALES"."ORDERS"`,
    );
    expect(signatureSql(oracleDialect, { relation: query, column: null }, types)).toBe(
      `SELECT TO_CHAR(COUNT(*)) || '/' || '' AS "signature" FROM (SELECT * FROM sales.orders\n) "source"`,
    );
  });

  it('quotes hostile identifiers', () => {
    const name = 'a"b]c`d e;--';
    const hostile = selectSql(
      oracleDialect,
      { relation: { kind: 'table', catalog: null, schema: 'S"', table: name }, columns: [{ name, type: 'text' }], conditions: [{ kind: 'after', column: name, value: "x'; DROP" }] },
      new Map([[name, 'VARCHAR2']]),
    );
    expect(hostile).toEqual({ sql: 'SELECT "a""b]c`d e;--" FROM "S"""."a""b]c`d e;--" WHERE "a""b]c`d e;--" > :1', params: ["x'; DROP"] });
  });
});

describe('Oracle types', () => {
  it('spells metadata as Oracle DDL', () => {
    expect(oracleSourceType({ dbTypeName: 'NUMBER', precision: 0, scale: -127 })).toBe('NUMBER');
    expect(oracleSourceType({ dbTypeName: 'NUMBER', precision: 126, scale: -127 })).toBe('FLOAT(126)');
    expect(oracleSourceType({ dbTypeName: 'NUMBER', precision: 0, scale: 0 })).toBe('NUMBER(38,0)');
    expect(oracleSourceType({ dbTypeName: 'NUMBER', precision: 10, scale: 2 })).toBe('NUMBER(10,2)');
    expect(oracleSourceType({ dbTypeName: 'TIMESTAMP WITH LOCAL TIME ZONE', precision: 9 })).toBe('TIMESTAMP(9) WITH LOCAL TIME ZONE');
    expect(oracleSourceType({ dbTypeName: 'DATE' })).toBe('DATE');
    expect(oracleDialect.readExpression({ name: 'WAIT', type: 'text', sourceType: 'INTERVAL DAY TO SECOND' })).toBe('TO_CHAR("WAIT")');
  });

  it('maps every Oracle type to a PostgreSQL type', () => {
    const table: Record<string, string> = {
      NUMBER: 'numeric',
      'NUMBER(4,0)': 'smallint',
      'NUMBER(9,0)': 'integer',
      'NUMBER(18,0)': 'bigint',
      'NUMBER(38,0)': 'numeric(38,0)',
      'NUMBER(12,2)': 'numeric(12,2)',
      'NUMBER(2,5)': 'numeric(5,5)',
      'NUMBER(5,-2)': 'numeric',
      'FLOAT(126)': 'double precision',
      BINARY_DOUBLE: 'double precision',
      BINARY_FLOAT: 'real',
      DATE: 'timestamp(0) without time zone',
      'TIMESTAMP(9)': 'timestamp(6) without time zone',
      'TIMESTAMP(3)': 'timestamp(3) without time zone',
      'TIMESTAMP(6) WITH TIME ZONE': 'timestamp(6) with time zone',
      'TIMESTAMP(0) WITH LOCAL TIME ZONE': 'timestamp(0) with time zone',
      VARCHAR2: 'text',
      NVARCHAR2: 'text',
      CHAR: 'text',
      CLOB: 'text',
      NCLOB: 'text',
      LONG: 'text',
      ROWID: 'text',
      'INTERVAL DAY TO SECOND': 'text',
      RAW: 'bytea',
      BLOB: 'bytea',
      'LONG RAW': 'bytea',
      JSON: 'jsonb',
      BOOLEAN: 'boolean',
    };
    expect(Object.fromEntries(Object.keys(table).map((t) => [t, mapOracleType(t)]))).toEqual(table);
  });

  it('encodes thin-mode row shapes as COPY text', async () => {
    // OUT_FORMAT_ARRAY rows: NUMBER as a string (fetchTypeHandler), dates as TO_CHAR text, RAW as a Buffer, JSON as an object.
    const rows = Readable.from([
      ['12345678901234567890.123', '2024-01-01 10:00:00', '2024-01-01 10:00:00.123456789', Buffer.from('hi'), { a: [1, 'x\ty'] }, 'O\'Brien'],
      [null, null, null, null, 'just a string', null],
    ]);
    const decoders = oracleDecoders(['NUMBER', 'DATE', 'TIMESTAMP(9)', 'RAW', 'JSON', 'VARCHAR2']);
    expect(await text(rowsToCopy(rows, decoders))).toBe(
      '12345678901234567890.123\t2024-01-01 10:00:00\t2024-01-01 10:00:00.123456789\t\\\\x6869\t{"a":[1,"x\\\\ty"]}\tO\'Brien\n' +
        '\\N\t\\N\t\\N\t\\N\t"just a string"\t\\N\n',
    );
  });
});

describe('Oracle connection', () => {
  const connection = { host: 'ora.example', database: 'ORCLPDB1', user: 'u', password: 'p' };

  it('builds an Easy Connect string, tcps when sslmode asks for TLS', () => {
    expect(oracleConnectString(connection)).toBe('ora.example:1521/ORCLPDB1');
    expect(oracleConnectString({ ...connection, port: '1522' })).toBe('ora.example:1522/ORCLPDB1');
    expect(oracleConnectString({ ...connection, sslmode: 'verify-full' })).toBe('tcps://ora.example:2484/ORCLPDB1');
    expect(oracleConnectString({ ...connection, sslmode: 'require', port: '1522' })).toBe('tcps://ora.example:1522/ORCLPDB1?ssl_server_dn_match=false');
    expect(() => oracleConnectString({ ...connection, port: '0' })).toThrow('port must be a TCP port number');
  });

  it('classifies driver errors by ORA- number and NJS- code', () => {
    expect(classifyError(classifyOracleError(Object.assign(new Error('ORA-00060: deadlock'), { errorNum: 60, code: 'ORA-00060' }), 'x'))).toBe('transient');
    expect(classifyError(classifyOracleError(Object.assign(new Error('NJS-500: connection lost'), { code: 'NJS-500' }), 'x'))).toBe('transient');
    expect(classifyError(classifyOracleError(Object.assign(new Error('ORA-00942: table does not exist'), { errorNum: 942 }), 'x'))).toBe('terminal');
    expect(classifyError(classifyOracleError(Object.assign(new Error('ORA-01017: invalid credential'), { errorNum: 1017 }), 'x'))).toBe('terminal');
  });
});
