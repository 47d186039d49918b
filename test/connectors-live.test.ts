/**
 * Live loads from SQL Server, Oracle and Snowflake, each enabled by an
 * environment variable naming a server this machine cannot run:
 *   MSSQL_TEST_URL=mssql://user:password@host:1433/database[?trust_server_certificate=true]
 *   ORACLE_TEST_URL=oracle://user:password@host:1521/service
 *   SNOWFLAKE_TEST_URL=snowflake://user:password@account/database?warehouse=WH&schema=PUBLIC
 * Each creates a table, loads it fully and then incrementally through the
 * real loader into the test PostgreSQL, checks the destination exactly, and
 * drops the table. (ClickHouse's live tests are in connectors-clickhouse.)
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envVariableFor } from '../shared/secrets/env.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

interface LiveTarget {
  dbType: string;
  variable: string;
  /** db_config_value's values (secrets and literals) of the URL. */
  connection(url: URL): Record<string, string>;
  schema(url: URL): string;
  /** Runs statements with the vendor's driver (setup and cleanup only). */
  run(url: URL, statements: string[]): Promise<void>;
  ddl(table: string): { create: string; insert: string[]; later: string[]; drop: string };
}

const user = (url: URL) => decodeURIComponent(url.username);
const password = (url: URL) => decodeURIComponent(url.password);

const TARGETS: LiveTarget[] = [
  {
    dbType: 'mssql',
    variable: 'MSSQL_TEST_URL',
    connection: (url) => ({
      host: url.hostname,
      port: url.port || '1433',
      database: url.pathname.slice(1),
      user: user(url),
      password: password(url),
      ...(url.searchParams.get('trust_server_certificate') ? { trust_server_certificate: url.searchParams.get('trust_server_certificate')! } : {}),
    }),
    schema: () => 'dbo',
    async run(url, statements) {
      const sql = (await import('mssql')).default;
      const pool = await new sql.ConnectionPool({
        server: url.hostname,
        port: Number(url.port || 1433),
        database: url.pathname.slice(1),
        user: user(url),
        password: password(url),
        options: { encrypt: true, trustServerCertificate: url.searchParams.get('trust_server_certificate') === 'true' },
      }).connect();
      try {
        for (const statement of statements) await pool.request().query(statement);
      } finally {
        await pool.close();
      }
    },
    ddl: (t) => ({
      create: `CREATE TABLE dbo.${t} (id int PRIMARY KEY, name nvarchar(50), amount decimal(12,2), updated_at datetime2(7))`,
      insert: [`INSERT INTO dbo.${t} VALUES (1, N'ann', 10.50, '2024-01-01 10:00:00.1234567'), (2, NULL, NULL, '2024-01-01 11:00:00')`],
      later: [`INSERT INTO dbo.${t} VALUES (3, N'tab\there', -0.01, '2024-01-02 00:00:00.0000001')`],
      drop: `DROP TABLE IF EXISTS dbo.${t}`,
    }),
  },
  {
    dbType: 'oracle',
    variable: 'ORACLE_TEST_URL',
    connection: (url) => ({ host: url.hostname, port: url.port || '1521', database: url.pathname.slice(1), user: user(url), password: password(url) }),
    schema: (url) => user(url).toUpperCase(),
    async run(url, statements) {
      const oracledb = (await import('oracledb')).default;
      const connection = await oracledb.getConnection({ user: user(url), password: password(url), connectString: `${url.hostname}:${url.port || 1521}${url.pathname}` });
      try {
        for (const statement of statements) await connection.execute(statement);
        await connection.commit();
      } finally {
        await connection.close();
      }
    },
    ddl: (t) => ({
      create: `CREATE TABLE ${t} (ID NUMBER(9,0) PRIMARY KEY, NAME VARCHAR2(50), AMOUNT NUMBER(12,2), UPDATED_AT TIMESTAMP(6))`,
      insert: [
        `INSERT INTO ${t} VALUES (1, 'ann', 10.50, TIMESTAMP '2024-01-01 10:00:00.123457')`,
        `INSERT INTO ${t} VALUES (2, NULL, NULL, TIMESTAMP '2024-01-01 11:00:00')`,
      ],
      later: [`INSERT INTO ${t} VALUES (3, 'tab' || CHR(9) || 'here', -0.01, TIMESTAMP '2024-01-02 00:00:00')`],
      drop: `DROP TABLE ${t} PURGE`,
    }),
  },
  {
    dbType: 'snowflake',
    variable: 'SNOWFLAKE_TEST_URL',
    connection: (url) => ({
      host: url.hostname,
      database: url.pathname.slice(1),
      user: user(url),
      password: password(url),
      ...(url.searchParams.get('warehouse') ? { warehouse: url.searchParams.get('warehouse')! } : {}),
      schema: url.searchParams.get('schema') ?? 'PUBLIC',
    }),
    schema: (url) => url.searchParams.get('schema') ?? 'PUBLIC',
    async run(url, statements) {
      const snowflake = (await import('snowflake-sdk')).default;
      snowflake.configure({ logLevel: 'OFF' });
      const connection = await snowflake
        .createConnection({
          account: url.hostname.replace(/\.snowflakecomputing\.com$/i, ''),
          username: user(url),
          password: password(url),
          database: url.pathname.slice(1),
          schema: url.searchParams.get('schema') ?? 'PUBLIC',
          ...(url.searchParams.get('warehouse') ? { warehouse: url.searchParams.get('warehouse')! } : {}),
        })
        .connectAsync();
      try {
        for (const sqlText of statements) {
          await new Promise((resolve, reject) => connection.execute({ sqlText, complete: (error) => (error ? reject(error) : resolve(undefined)) }));
        }
      } finally {
        await new Promise((resolve) => connection.destroy(() => resolve(undefined)));
      }
    },
    ddl: (t) => ({
      create: `CREATE TABLE ${t} (ID NUMBER(9,0), NAME VARCHAR(50), AMOUNT NUMBER(12,2), UPDATED_AT TIMESTAMP_NTZ(9))`,
      insert: [`INSERT INTO ${t} VALUES (1, 'ann', 10.50, '2024-01-01 10:00:00.123457'), (2, NULL, NULL, '2024-01-01 11:00:00')`],
      later: [`INSERT INTO ${t} VALUES (3, 'tab\\there', -0.01, '2024-01-02 00:00:00')`],
      drop: `DROP TABLE IF EXISTS ${t}`,
    }),
  },
];

for (const target of TARGETS) {
  const value = process.env[target.variable];
  if (!value) console.info(`${target.dbType} live tests skipped: set ${target.variable} to run them against a server`);

  describe.skipIf(!value)(`${target.dbType} live, through the loader`, () => {
    const url = new URL(value ?? 'x://localhost');
    const key = `${target.dbType}-${randomBytes(3).toString('hex')}`;
    const table = `DL_LIVE_${randomBytes(4).toString('hex').toUpperCase()}`;
    const ddl = target.ddl(table);
    // Oracle and Snowflake keep unquoted names in upper case, SQL Server as written.
    const column = (name: string) => (target.dbType === 'mssql' ? name.toLowerCase() : name);
    let h: LoaderHarness;

    beforeAll(async () => {
      h = await createLoaderHarness();
      await target.run(url, [ddl.create, ...ddl.insert]);
      const names: Record<string, string> = {};
      for (const [field, secret] of Object.entries(target.connection(url))) {
        names[field] = `${key}-${field}`;
        process.env[envVariableFor(names[field])] = secret;
      }
      await h.control.pool.query(
        `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope) VALUES ($1, $2, $3, 'local-env')`,
        [key, JSON.stringify(names), target.dbType],
      );
    }, 120_000);

    afterAll(async () => {
      await target.run(url, [ddl.drop]).catch(() => undefined);
    });

    it('loads a table fully, then incrementally past a timestamp watermark', async () => {
      const [id, name, amount, updatedAt] = ['ID', 'NAME', 'AMOUNT', 'UPDATED_AT'].map(column) as [string, string, string, string];
      const message = await h.queueRow({
        db_config_key: key,
        source_table_schema: target.schema(url),
        source_table_name: table,
        destination_table_name: 'live',
        load_strategy: 'incremental',
        incremental_column: updatedAt,
        incremental_type: 'timestamp',
        primary_key_cols: id,
      });
      await h.deliver(message);
      const firstMessage = String((await h.row(message.config_id)).last_status_message);
      expect(firstMessage).toMatch(/^incremental: 2 rows from the start/);
      // Guarantee 4: the message says what settled the watermark (the engine's open transactions, or the lookback and why).
      expect(firstMessage).toMatch(
        /settled: no open source transaction|watermark held back to|VIEW SERVER STATE|v\$transaction and v\$session|Snowflake: loads into it commit statement by statement/,
      );
      await target.run(url, ddl.later);
      await h.deliver(await h.requeue(message.config_id));
      const row = await h.row(message.config_id);
      expect(row.last_status).toBe('Succeeded');
      expect(row.incremental_value).toBe('2024-01-02 00:00:00');
      const { rows } = await h.destination.pool.query({
        text: `SELECT "${id}", "${name}", "${amount}"::text, "${updatedAt}"::text FROM landing.live ORDER BY 1`,
        rowMode: 'array',
      });
      expect(rows).toEqual([
        [1, 'ann', '10.50', '2024-01-01 10:00:00.123457'],
        [2, null, null, '2024-01-01 11:00:00'],
        [3, 'tab\there', '-0.01', '2024-01-02 00:00:00'],
      ]);
    });
  });
}
