import { text } from 'node:stream/consumers';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { selectSql, signatureSql, type SourceColumn } from '../shared/connectors/dialect.js';
import { rowsToCopy } from '../shared/connectors/dialect-stream.js';
import { classifyMssqlError, mssqlConfig } from '../shared/connectors/mssql.js';
import { mapMssqlType, mssqlDialect } from '../shared/connectors/mssql-sql.js';
import type { Condition, SourceRelation } from '../shared/data/spec.js';
import { classifyError } from '../shared/errors.js';

const orders: SourceRelation = { kind: 'table', catalog: 'sales', schema: 'dbo', table: 'orders' };
const COLUMNS: SourceColumn[] = [
  { name: 'id', sourceType: 'bigint', type: 'bigint' },
  { name: 'amount', sourceType: 'decimal(12,2)', type: 'numeric(12,2)' },
  { name: 'updated_at', sourceType: 'datetime2(7)', type: 'timestamp(6) without time zone' },
  { name: 'legacy_at', sourceType: 'datetime', type: 'timestamp(3) without time zone' },
  { name: 'seen_at', sourceType: 'datetimeoffset(7)', type: 'timestamp(6) with time zone' },
  { name: 'day', sourceType: 'date', type: 'date' },
  { name: 'name', sourceType: 'varchar(50)', type: 'text' },
];
const types = new Map(COLUMNS.map((c) => [c.name, c.sourceType]));
const columns = COLUMNS.map(({ name, type }) => ({ name, type }));
const read = (conditions: Condition[], relation: SourceRelation = orders) => selectSql(mssqlDialect, { relation, columns, conditions }, types);

const LIST =
  'SELECT [id], CAST([amount] AS varchar(50)), CONVERT(varchar(34), [updated_at], 121), CONVERT(varchar(34), [legacy_at], 121), ' +
  'CONVERT(varchar(34), [seen_at], 121), CONVERT(varchar(10), [day], 23), [name]';

describe('SQL Server SQL', () => {
  it('reads the whole table, every column as destination-ready text', () => {
    expect(read([])).toEqual({ sql: `${LIST} FROM [dbo].[orders]`, params: [] });
  });

  it('reads past a timestamp watermark at full precision, with and without a lookback', () => {
    expect(read([{ kind: 'after', column: 'updated_at', value: '2024-01-01 10:00:00.1234567' }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [updated_at] > CONVERT(datetime2(7), @p1, 121)`,
      params: ['2024-01-01 10:00:00.123457'],
    });
    expect(read([{ kind: 'after', column: 'legacy_at', value: '2024-01-01 10:00:00.003', lookback: { kind: 'minutes', minutes: 10 } }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [legacy_at] > DATEADD(minute, -10, CONVERT(datetime, @p1, 121))`,
      params: ['2024-01-01 10:00:00.003'],
    });
    // A timestamptz watermark (PostgreSQL prints +00) becomes an explicit UTC offset.
    expect(read([{ kind: 'after', column: 'seen_at', value: '2024-01-01 10:00:00.5+02' }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [seen_at] > CONVERT(datetimeoffset(7), @p1, 121)`,
      params: ['2024-01-01 08:00:00.500000 +00:00'],
    });
  });

  it('reads past date, integer and decimal watermarks, with their lookbacks', () => {
    expect(read([{ kind: 'after', column: 'day', value: '2024-01-31', lookback: { kind: 'days', days: 1 } }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [day] > DATEADD(day, -1, CAST(@p1 AS date))`,
      params: ['2024-01-31'],
    });
    expect(read([{ kind: 'after', column: 'id', value: '9007199254740993', lookback: { kind: 'amount', amount: '1000' } }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [id] > CAST(@p1 AS bigint) - 1000`,
      params: ['9007199254740993'],
    });
    expect(read([{ kind: 'after', column: 'id', value: '42' }]).sql).toBe(`${LIST} FROM [dbo].[orders] WHERE [id] > CAST(@p1 AS bigint)`);
    expect(read([{ kind: 'after', column: 'amount', value: '12345678901.125', lookback: { kind: 'amount', amount: '1000' } }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [amount] > CAST(@p1 AS decimal(12,2)) - 1000`,
      params: ['12345678901.13'],
    });
  });

  it('reads a rolling window and partition ranges, open at either end, with NULLs where asked', () => {
    expect(read([{ kind: 'range', column: 'updated_at', from: '2024-01-01' }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [updated_at] >= CONVERT(datetime2(7), @p1, 121)`,
      params: ['2024-01-01 00:00:00.000000'],
    });
    expect(read([{ kind: 'range', column: 'id', to: '100', withNulls: true }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE ([id] < CAST(@p1 AS bigint) OR [id] IS NULL)`,
      params: ['100'],
    });
    expect(read([{ kind: 'range', column: 'day', from: '2024-01-01 06:00:00.000', to: '2024-04-01 12:00:00.000', withNulls: false }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [day] >= CAST(@p1 AS date) AND [day] < CAST(@p2 AS date)`,
      params: ['2024-01-01', '2024-04-01'],
    });
    expect(read([{ kind: 'range', column: 'id', withNulls: true }]).sql).toBe(`${LIST} FROM [dbo].[orders] WHERE (1 = 1 OR [id] IS NULL)`);
    expect(read([{ kind: 'range', column: 'name', from: "O'Brien; --" }])).toEqual({
      sql: `${LIST} FROM [dbo].[orders] WHERE [name] >= CAST(@p1 AS varchar(max))`,
      params: ["O'Brien; --"],
    });
  });

  it('wraps a custom query as a derived table, trailing semicolons dropped', () => {
    const query: SourceRelation = { kind: 'query', sql: 'SELECT * FROM dbo.orders -- all\n;;  ' };
    expect(read([{ kind: 'after', column: 'id', value: '5' }], query).sql).toBe(
      `${LIST} FROM (SELECT * FROM dbo.orders -- all\n) AS [source] WHERE [id] > CAST(@p1 AS bigint)`,
    );
  });

  it('computes the change signature from the count and the maximum as text', () => {
    expect(signatureSql(mssqlDialect, { relation: orders, column: 'updated_at' }, types)).toBe(
      `SELECT CAST(COUNT_BIG(*) AS varchar(20)) + '/' + COALESCE(CONVERT(varchar(34), MAX([updated_at]), 121), '') AS [signature] FROM [dbo].[orders]`,
    );
    expect(signatureSql(mssqlDialect, { relation: orders, column: 'id' }, types)).toBe(
      `SELECT CAST(COUNT_BIG(*) AS varchar(20)) + '/' + COALESCE(CAST(MAX([id]) AS nvarchar(4000)), '') AS [signature] FROM [dbo].[orders]`,
    );
    expect(signatureSql(mssqlDialect, { relation: orders, column: null }, types)).toBe(
      `SELECT CAST(COUNT_BIG(*) AS varchar(20)) + '/' + '' AS [signature] FROM [dbo].[orders]`,
    );
  });

  it('quotes hostile identifiers', () => {
    const name = 'a]b"c`d e;--';
    const relation: SourceRelation = { kind: 'table', catalog: null, schema: 'Sch]ema', table: name };
    const hostile = selectSql(
      mssqlDialect,
      { relation, columns: [{ name, type: 'integer' }], conditions: [{ kind: 'range', column: name, from: '1' }] },
      new Map([[name, 'int']]),
    );
    expect(hostile.sql).toBe('SELECT [a]]b"c`d e;--] FROM [Sch]]ema].[a]]b"c`d e;--] WHERE [a]]b"c`d e;--] >= CAST(@p1 AS int)');
  });

  it('refuses a watermark that is not of the column type, naming the column', () => {
    expect(() => read([{ kind: 'after', column: 'id', value: '12abc' }])).toThrow('value "12abc" for column "id" is not an integer');
    expect(() => read([{ kind: 'after', column: 'nope', value: '1' }])).toThrow('column "nope" is not in the source');
  });
});

describe('SQL Server types', () => {
  it('maps every SQL Server type to a PostgreSQL type', () => {
    const table: Record<string, string> = {
      bit: 'boolean',
      tinyint: 'smallint',
      smallint: 'smallint',
      int: 'integer',
      bigint: 'bigint',
      'decimal(38,10)': 'numeric(38,10)',
      'numeric(5,0)': 'numeric(5,0)',
      money: 'numeric(19,4)',
      smallmoney: 'numeric(10,4)',
      float: 'double precision',
      'float(24)': 'real',
      real: 'real',
      date: 'date',
      'datetime2(7)': 'timestamp(6) without time zone',
      'datetime2(0)': 'timestamp(0) without time zone',
      datetime: 'timestamp(3) without time zone',
      smalldatetime: 'timestamp(0) without time zone',
      'datetimeoffset(3)': 'timestamp(3) with time zone',
      'time(7)': 'time(6) without time zone',
      'nvarchar(50)': 'text',
      'nvarchar(max)': 'text',
      'varchar(max)': 'text',
      'char(3)': 'text',
      ntext: 'text',
      xml: 'text',
      uniqueidentifier: 'uuid',
      'varbinary(max)': 'bytea',
      'binary(16)': 'bytea',
      image: 'bytea',
      timestamp: 'bytea',
      geography: 'text',
      hierarchyid: 'text',
      sql_variant: 'text',
    };
    expect(Object.fromEntries(Object.keys(table).map((t) => [t, mapMssqlType(t)]))).toEqual(table);
  });

  it('encodes tedious row shapes as COPY text', async () => {
    // What tedious hands over for the select list above: bigint as a string, converted text, a Buffer, a boolean.
    const rows = Readable.from([
      ['9007199254740993', '12.50', '2024-01-01 10:00:00.1234567', '2024-01-01 10:00:00.003', '2024-01-01 10:00:00.5000000 +02:00', '2024-01-01', 'tab\there'],
      [1, null, null, null, null, null, null],
      [true, Buffer.from([0, 255]), 1.5, 'line\nbreak', 'back\\slash', null, null],
    ]);
    expect(await text(rowsToCopy(rows))).toBe(
      '9007199254740993\t12.50\t2024-01-01 10:00:00.1234567\t2024-01-01 10:00:00.003\t2024-01-01 10:00:00.5000000 +02:00\t2024-01-01\ttab\\there\n' +
        '1\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n' +
        't\t\\\\x00ff\t1.5\tline\\nbreak\tback\\\\slash\t\\N\t\\N\n',
    );
  });
});

describe('SQL Server connection', () => {
  const connection = { host: 'sql.example', database: 'sales', user: 'u', password: 'p' };

  it('encrypts and verifies the certificate unless the dbconfig says otherwise', () => {
    const config = mssqlConfig(connection, 3);
    expect(config).toMatchObject({ server: 'sql.example', port: 1433, database: 'sales', options: { encrypt: true, trustServerCertificate: false } });
    expect(config.pool).toMatchObject({ max: 3 });
    expect(mssqlConfig({ ...connection, trust_server_certificate: 'True' }, 1).options).toMatchObject({ encrypt: true, trustServerCertificate: true });
    expect(mssqlConfig({ ...connection, trust_server_certificate: 'no' }, 1).options).toMatchObject({ trustServerCertificate: false });
    expect(mssqlConfig({ ...connection, sslmode: 'disable', port: '1434' }, 1)).toMatchObject({ port: 1434, options: { encrypt: false } });
    expect(() => mssqlConfig({ ...connection, port: 'x' }, 1)).toThrow('port must be a TCP port number');
  });

  it('classifies driver errors: deadlocks and dropped connections are transient, the rest terminal', () => {
    expect(classifyError(classifyMssqlError(Object.assign(new Error('deadlock'), { code: 'EREQUEST', number: 1205 }), 'x'))).toBe('transient');
    expect(classifyError(classifyMssqlError(Object.assign(new Error('gone'), { code: 'ESOCKET' }), 'x'))).toBe('transient');
    expect(classifyError(classifyMssqlError(Object.assign(new Error('Invalid object name'), { code: 'EREQUEST', number: 208 }), 'x'))).toBe('terminal');
    expect(classifyError(classifyMssqlError(Object.assign(new Error('Login failed'), { code: 'ELOGIN' }), 'x'))).toBe('terminal');
    expect(classifyMssqlError(new Error('boom'), 'reading').message).toBe('reading: boom');
  });
});
