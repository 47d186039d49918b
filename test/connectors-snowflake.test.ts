import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { selectSql, signatureSql } from '../shared/connectors/dialect.js';
import { rowsToCopy } from '../shared/connectors/dialect-stream.js';
import type { Condition, SourceRelation } from '../shared/data/spec.js';
import { classifySnowflakeError, snowflakeAccount, snowflakeOptions } from '../shared/connectors/snowflake.js';
import { mapSnowflakeType, snowflakeDecoders, snowflakeDialect, snowflakeSourceType } from '../shared/connectors/snowflake-sql.js';
import { classifyError } from '../shared/errors.js';

const orders: SourceRelation = { kind: 'table', catalog: 'SALES', schema: 'PUBLIC', table: 'ORDERS' };
const SOURCE_TYPES: [string, string][] = [
  ['ID', 'NUMBER(38,0)'],
  ['AMOUNT', 'NUMBER(12,2)'],
  ['UPDATED_AT', 'TIMESTAMP_NTZ(9)'],
  ['SEEN_AT', 'TIMESTAMP_TZ(3)'],
  ['DAY', 'DATE'],
  ['PAYLOAD', 'VARIANT'],
  ['RAW', 'BINARY'],
  ['NAME', 'VARCHAR'],
];
const types = new Map(SOURCE_TYPES);
const columns = SOURCE_TYPES.map(([name, t]) => ({ name, type: mapSnowflakeType(t) }));
const read = (conditions: Condition[], relation: SourceRelation = orders) => selectSql(snowflakeDialect, { relation, columns, conditions }, types);

const LIST =
  `SELECT TO_VARCHAR("ID"), TO_VARCHAR("AMOUNT"), TO_VARCHAR("UPDATED_AT", 'YYYY-MM-DD HH24:MI:SS.FF9'), ` +
  `TO_VARCHAR(CONVERT_TIMEZONE('UTC', "SEEN_AT"), 'YYYY-MM-DD HH24:MI:SS.FF3') || '+00', TO_VARCHAR("DAY", 'YYYY-MM-DD'), ` +
  `TO_JSON("PAYLOAD"), TO_VARCHAR("RAW", 'HEX'), "NAME"`;
const FROM = `${LIST} FROM "PUBLIC"."ORDERS"`;

describe('Snowflake SQL', () => {
  it('reads the whole table, numbers and date-times as text, semi-structured values as JSON', () => {
    expect(read([])).toEqual({ sql: FROM, params: [] });
  });

  it('reads past timestamp watermarks at full precision, with and without a lookback', () => {
    expect(read([{ kind: 'after', column: 'UPDATED_AT', value: '2024-01-01 10:00:00.123456' }])).toEqual({
      sql: `${FROM} WHERE "UPDATED_AT" > TO_TIMESTAMP_NTZ(?, 'YYYY-MM-DD HH24:MI:SS.FF')`,
      params: ['2024-01-01 10:00:00.123456'],
    });
    expect(read([{ kind: 'after', column: 'SEEN_AT', value: '2024-01-01 10:00:00.1236+00', lookback: { kind: 'minutes', minutes: 10 } }])).toEqual({
      sql: `${FROM} WHERE "SEEN_AT" > DATEADD(minute, -10, TO_TIMESTAMP_TZ(?, 'YYYY-MM-DD HH24:MI:SS.FF TZH:TZM'))`,
      params: ['2024-01-01 10:00:00.124 +00:00'],
    });
  });

  it('reads past date, integer and decimal watermarks, with their lookbacks', () => {
    expect(read([{ kind: 'after', column: 'DAY', value: '2024-03-01', lookback: { kind: 'days', days: 3 } }])).toEqual({
      sql: `${FROM} WHERE "DAY" > DATEADD(day, -3, TO_DATE(?, 'YYYY-MM-DD'))`,
      params: ['2024-03-01'],
    });
    expect(read([{ kind: 'after', column: 'ID', value: '99999999999999999999999999999999999999', lookback: { kind: 'amount', amount: '1000' } }])).toEqual({
      sql: `${FROM} WHERE "ID" > CAST(? AS NUMBER(38,0)) - 1000`,
      params: ['99999999999999999999999999999999999999'],
    });
    expect(read([{ kind: 'after', column: 'AMOUNT', value: '10.005' }])).toEqual({ sql: `${FROM} WHERE "AMOUNT" > CAST(? AS NUMBER(12,2))`, params: ['10.01'] });
  });

  it('reads ranges with open ends and NULLs', () => {
    expect(read([{ kind: 'range', column: 'UPDATED_AT', from: '2024-01-01' }])).toEqual({
      sql: `${FROM} WHERE "UPDATED_AT" >= TO_TIMESTAMP_NTZ(?, 'YYYY-MM-DD HH24:MI:SS.FF')`,
      params: ['2024-01-01 00:00:00.000000'],
    });
    expect(read([{ kind: 'range', column: 'ID', from: '1', to: '50', withNulls: true }])).toEqual({
      sql: `${FROM} WHERE ("ID" >= CAST(? AS NUMBER(38,0)) AND "ID" < CAST(? AS NUMBER(38,0)) OR "ID" IS NULL)`,
      params: ['1', '50'],
    });
    expect(read([{ kind: 'range', column: 'NAME', withNulls: true }]).sql).toBe(`${FROM} WHERE (TRUE OR "NAME" IS NULL)`);
  });

  it('wraps a custom query, and computes the signature', () => {
    expect(read([], { kind: 'query', sql: 'select * from orders ; ' }).sql).toBe(`${LIST} FROM (select * from orders\n) AS "source"`);
    expect(signatureSql(snowflakeDialect, { relation: orders, column: 'UPDATED_AT' }, types)).toBe(
      `SELECT TO_VARCHAR(COUNT(*)) || '/' || COALESCE(TO_VARCHAR(MAX("UPDATED_AT"), 'YYYY-MM-DD HH24:MI:SS.FF9'), '') AS "signature" FROM "PUBLIC"."ORDERS"`,
    );
    expect(signatureSql(snowflakeDialect, { relation: orders, column: 'NAME' }, types)).toBe(
      `SELECT TO_VARCHAR(COUNT(*)) || '/' || COALESCE(TO_VARCHAR(MAX("NAME")), '') AS "signature" FROM "PUBLIC"."ORDERS"`,
    );
  });

  it('quotes hostile identifiers', () => {
    const name = 'a"b]c`d e;--';
    const hostile = selectSql(
      snowflakeDialect,
      { relation: { kind: 'table', catalog: null, schema: 'S"', table: name }, columns: [{ name, type: 'text' }], conditions: [{ kind: 'range', column: name, from: "'" }] },
      new Map([[name, 'VARCHAR']]),
    );
    expect(hostile).toEqual({ sql: 'SELECT "a""b]c`d e;--" FROM "S"""."a""b]c`d e;--" WHERE "a""b]c`d e;--" >= ?', params: ["'"] });
  });
});

describe('Snowflake types', () => {
  it('spells driver metadata as Snowflake DDL', () => {
    expect(snowflakeSourceType({ type: 'fixed', precision: 38, scale: 0 })).toBe('NUMBER(38,0)');
    expect(snowflakeSourceType({ type: 'timestamp_ltz', precision: 0, scale: 9 })).toBe('TIMESTAMP_LTZ(9)');
    expect(snowflakeSourceType({ type: 'text', precision: 0, scale: 0 })).toBe('VARCHAR');
    expect(snowflakeSourceType({ type: 'real', precision: 0, scale: 0 })).toBe('FLOAT');
    expect(snowflakeSourceType({ type: 'variant', precision: 0, scale: 0 })).toBe('VARIANT');
  });

  it('maps every Snowflake type to a PostgreSQL type', () => {
    const table: Record<string, string> = {
      'NUMBER(38,0)': 'numeric(38,0)',
      'NUMBER(18,0)': 'bigint',
      'NUMBER(9,0)': 'integer',
      'NUMBER(4,0)': 'smallint',
      'NUMBER(12,2)': 'numeric(12,2)',
      FLOAT: 'double precision',
      BOOLEAN: 'boolean',
      VARCHAR: 'text',
      DATE: 'date',
      'TIME(9)': 'time(6) without time zone',
      'TIMESTAMP_NTZ(9)': 'timestamp(6) without time zone',
      'TIMESTAMP_NTZ(0)': 'timestamp(0) without time zone',
      'TIMESTAMP_LTZ(3)': 'timestamp(3) with time zone',
      'TIMESTAMP_TZ(9)': 'timestamp(6) with time zone',
      VARIANT: 'jsonb',
      OBJECT: 'jsonb',
      ARRAY: 'jsonb',
      BINARY: 'bytea',
      GEOGRAPHY: 'text',
    };
    expect(Object.fromEntries(Object.keys(table).map((t) => [t, mapSnowflakeType(t)]))).toEqual(table);
  });

  it('encodes streamRows array rows as COPY text', async () => {
    // rowMode 'array' rows for the select list above: text from TO_VARCHAR/TO_JSON, hex for BINARY.
    const rows = Readable.from([
      ['99999999999999999999999999999999999999', '12.50', '2024-01-01 10:00:00.123456789', '2024-01-01 10:00:00.124+00', '2024-01-01', '{"a":"t\\tb"}', 'CAFE', 'x'],
      [null, null, null, null, null, 'null', null, null],
    ]);
    expect(await text(rowsToCopy(rows, snowflakeDecoders(SOURCE_TYPES.map(([, t]) => t))))).toBe(
      '99999999999999999999999999999999999999\t12.50\t2024-01-01 10:00:00.123456789\t2024-01-01 10:00:00.124+00\t2024-01-01\t{"a":"t\\\\tb"}\t\\\\xCAFE\tx\n' +
        '\\N\t\\N\t\\N\t\\N\t\\N\tnull\t\\N\t\\N\n',
    );
  });
});

describe('Snowflake connection', () => {
  const connection = { host: 'xy12345.west-europe.azure.snowflakecomputing.com', database: 'SALES', user: 'LOADER', password: 'pw' };

  it('takes the account from the host, with a password or a key pair', () => {
    expect(snowflakeAccount('https://xy12345.west-europe.azure.snowflakecomputing.com/')).toBe('xy12345.west-europe.azure');
    expect(snowflakeAccount('myorg-myaccount')).toBe('myorg-myaccount');
    expect(snowflakeOptions({ ...connection, warehouse: 'WH', role: 'READER' }, 'password')).toMatchObject({
      account: 'xy12345.west-europe.azure',
      username: 'LOADER',
      password: 'pw',
      database: 'SALES',
      warehouse: 'WH',
      role: 'READER',
    });
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const pem = snowflakeOptions({ ...connection, password: '', private_key: privateKey, private_key_passphrase: 'secret' }, 'key-pair');
    expect(pem).toMatchObject({ authenticator: 'SNOWFLAKE_JWT', privateKey, privateKeyPass: 'secret' });
    expect(pem).not.toHaveProperty('password');
    expect(() => snowflakeOptions({ ...connection, private_key: 'not a key' }, 'key-pair')).toThrow('the private_key secret must hold a PEM private key');
  });

  it('classifies driver errors by code and SQLSTATE', () => {
    expect(classifyError(classifySnowflakeError(Object.assign(new Error('could not connect'), { code: 401001 }), 'x'))).toBe('transient');
    expect(classifyError(classifySnowflakeError(Object.assign(new Error('lost'), { code: '000000', sqlState: '08001' }), 'x'))).toBe('transient');
    expect(classifyError(classifySnowflakeError(Object.assign(new Error('does not exist'), { code: '002003', sqlState: '42S02' }), 'x'))).toBe('terminal');
    expect(classifyError(classifySnowflakeError(Object.assign(new Error('Incorrect username or password'), { code: 390100 }), 'x'))).toBe('terminal');
  });
});
