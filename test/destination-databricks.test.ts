/**
 * The Databricks destination: its SQL exactly, per strategy and per type; its
 * Statement Execution API client against a local HTTP fixture that answers in
 * the API's shape (not a workspace); and, behind DATABRICKS_TEST_HOST, a live
 * run (skipped otherwise: nothing here has run against a real workspace).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnSpec } from '../shared/data/spec.js';
import { oauthM2mToken } from '../shared/destination/databricks/auth.js';
import { StatementClient, warehouseIdOf } from '../shared/destination/databricks/client.js';
import {
  addColumnsSql,
  createTableSql,
  emptySelect,
  insertOverwriteSql,
  mergeSql,
  replaceWhereSql,
  stagedSelect,
  typeHolds,
  windowPredicate,
} from '../shared/destination/databricks/sql.js';
import { TerminalError, TransientError } from '../shared/errors.js';

const table = { catalog: 'main', schema: 'landing', table: 'or`ders' };
const columns: ColumnSpec[] = [
  { name: 'id', type: 'bigint' },
  { name: 'amount', type: 'numeric(12,2)' },
  { name: 'free', type: 'numeric' },
  { name: 'at', type: 'timestamp(6) without time zone' },
  { name: 'at_tz', type: 'timestamp with time zone' },
  { name: 'day', type: 'date' },
  { name: 'flag', type: 'boolean' },
  { name: 'b', type: 'bytea' },
  { name: 'u', type: 'uuid' },
  { name: 'j', type: 'jsonb' },
  { name: 'n', type: 'smallint' },
  { name: 'i', type: 'integer' },
  { name: 'r', type: 'real' },
  { name: 'd', type: 'double precision' },
  { name: 't', type: 'text' },
];
const location = 'abfss://stage@acct.dfs.core.windows.net/dl/landing/orders/run_date=2024-01-01/run_id=r1';

describe('Databricks SQL', () => {
  it('creates the table with the mapped Delta types and an informational primary key', () => {
    expect(createTableSql(table, columns, ['id'])).toBe(
      'CREATE TABLE IF NOT EXISTS `main`.`landing`.`or``ders` (`id` BIGINT NOT NULL, `amount` DECIMAL(12,2), `free` STRING, `at` TIMESTAMP_NTZ, ' +
        '`at_tz` TIMESTAMP, `day` DATE, `flag` BOOLEAN, `b` BINARY, `u` STRING, `j` STRING, `n` SMALLINT, `i` INT, `r` FLOAT, `d` DOUBLE, `t` STRING, ' +
        'CONSTRAINT `or``ders_pk` PRIMARY KEY (`id`)) USING DELTA',
    );
    expect(createTableSql({ ...table, catalog: null }, columns.slice(0, 1))).toBe('CREATE TABLE IF NOT EXISTS `landing`.`or``ders` (`id` BIGINT) USING DELTA');
    expect(addColumnsSql(table, [{ name: 'new col', type: 'date' }])).toBe('ALTER TABLE `main`.`landing`.`or``ders` ADD COLUMNS (`new col` DATE)');
  });

  const two = columns.slice(0, 2);
  const staged = stagedSelect(location, two);

  it('full: INSERT OVERWRITE from the staged Parquet, every column cast to its Delta type', () => {
    expect(staged).toBe(`SELECT CAST(\`id\` AS BIGINT) AS \`id\`, CAST(\`amount\` AS DECIMAL(12,2)) AS \`amount\` FROM parquet.\`${location}\``);
    expect(insertOverwriteSql(table, staged, two)).toBe(`INSERT OVERWRITE \`main\`.\`landing\`.\`or\`\`ders\` (\`id\`, \`amount\`) ${staged}`);
    expect(emptySelect(two)).toBe('SELECT CAST(NULL AS BIGINT) AS `id`, CAST(NULL AS DECIMAL(12,2)) AS `amount` WHERE false');
  });

  it('incremental: MERGE INTO on the primary key', () => {
    expect(mergeSql(table, staged, two, ['id'])).toBe(
      `MERGE INTO \`main\`.\`landing\`.\`or\`\`ders\` AS t USING (${staged}) AS s ON t.\`id\` = s.\`id\`` +
        ' WHEN MATCHED THEN UPDATE SET t.`amount` = s.`amount` WHEN NOT MATCHED THEN INSERT (`id`, `amount`) VALUES (s.`id`, s.`amount`)',
    );
    expect(mergeSql(table, staged, two.slice(0, 1), ['id'])).not.toContain('WHEN MATCHED');
  });

  it('windows: INSERT INTO ... REPLACE WHERE, values typed and escaped', () => {
    expect(replaceWhereSql(table, staged, columns, [{ kind: 'after', column: 'at', value: "2024-01-01 10:00:00'; --\\", lookback: { kind: 'minutes', minutes: 10 } }])).toBe(
      `INSERT INTO \`main\`.\`landing\`.\`or\`\`ders\` (${columns.map((c) => `\`${c.name}\``).join(', ')}) REPLACE WHERE \`at\` > CAST('2024-01-01 10:00:00\\'; --\\\\' AS TIMESTAMP_NTZ) - INTERVAL 10 MINUTES ${staged}`,
    );
    expect(windowPredicate([{ kind: 'range', column: 'day', from: '2024-01-01' }], columns)).toBe("`day` >= CAST('2024-01-01' AS DATE)");
    expect(windowPredicate([{ kind: 'range', column: 'id', from: '1', to: '11', withNulls: true }], columns)).toBe(
      "(`id` >= CAST('1' AS BIGINT) AND `id` < CAST('11' AS BIGINT) OR `id` IS NULL)",
    );
    expect(windowPredicate([{ kind: 'after', column: 'day', value: '2024-01-05', lookback: { kind: 'days', days: 2 } }], columns)).toBe(
      "`day` > CAST('2024-01-05' AS DATE) - INTERVAL 2 DAYS",
    );
    expect(windowPredicate([{ kind: 'after', column: 'amount', value: '10.5', lookback: { kind: 'amount', amount: '1' } }], columns)).toBe(
      "`amount` > CAST('10.5' AS DECIMAL(12,2)) - CAST('1' AS DECIMAL(12,2))",
    );
    expect(windowPredicate([], columns)).toBe('true');
    expect(() => windowPredicate([{ kind: 'range', column: 'gone', from: '1' }], columns)).toThrow('column "gone" is not in the destination table');
  });

  it('tells which existing column types hold the source type', () => {
    expect(typeHolds('BIGINT', 'INT')).toBe(true);
    expect(typeHolds('INT', 'BIGINT')).toBe(false);
    expect(typeHolds('decimal(18,4)', 'DECIMAL(12,2)')).toBe(true);
    expect(typeHolds('DECIMAL(12,2)', 'DECIMAL(12,4)')).toBe(false);
    expect(typeHolds('STRING', 'DATE')).toBe(true);
    expect(typeHolds('DATE', 'TIMESTAMP')).toBe(false);
  });

  it('reads the warehouse id from an id or an http_path', () => {
    expect(warehouseIdOf('/sql/1.0/warehouses/abc123def')).toBe('abc123def');
    expect(warehouseIdOf('abc123def')).toBe('abc123def');
    expect(() => warehouseIdOf('not a warehouse')).toThrow(/neither a warehouse id nor an http_path/);
  });
});

/** A local HTTP fixture answering in the Statement Execution API's shape (a test double of the workspace, not a live one). */
describe('Statement Execution API client against a local fixture', () => {
  let server: Server;
  let base: string;
  const requests: { method: string; url: string; auth: string | undefined; body: unknown }[] = [];
  let polls = 0;

  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let text = '';
      req.on('data', (c: Buffer) => (text += c.toString()));
      req.on('end', () => resolve(text));
    });

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const text = await readBody(req);
      const body = text && req.headers['content-type'] === 'application/json' ? JSON.parse(text) : text;
      requests.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.url === '/oidc/v1/token') {
        if (req.headers.authorization !== `Basic ${Buffer.from('sp-id:sp-secret').toString('base64')}`) return send(401, { error: 'invalid_client' });
        return send(200, { access_token: 'tok-1', expires_in: 3600, token_type: 'Bearer' });
      }
      if (req.method === 'POST' && req.url === '/api/2.0/sql/statements/') {
        const statement = (body as { statement: string }).statement;
        if (statement === 'SELECT slow') return send(200, { statement_id: 'st-slow', status: { state: 'PENDING' } });
        if (statement === 'SELECT broken') {
          return send(200, { statement_id: 'st-bad', status: { state: 'FAILED', error: { error_code: 'BAD_REQUEST', message: '[PARSE_SYNTAX_ERROR] Syntax error' } } });
        }
        if (statement === 'SELECT busy') return send(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'warehouse starting' });
        if (statement === 'SELECT denied') return send(403, { error_code: 'PERMISSION_DENIED', message: 'no USE CATALOG' });
        return send(200, { statement_id: 'st-1', status: { state: 'SUCCEEDED' }, result: { data_array: [['id', 'BIGINT'], ['v', null]] } });
      }
      if (req.method === 'GET' && req.url === '/api/2.0/sql/statements/st-slow') {
        polls++;
        return send(200, polls < 2 ? { statement_id: 'st-slow', status: { state: 'RUNNING' } } : { statement_id: 'st-slow', status: { state: 'SUCCEEDED' } });
      }
      send(404, { error_code: 'NOT_FOUND', message: req.url });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () => new StatementClient({ host: `${base}/`, warehouseId: 'wh1', token: oauthM2mToken(base, 'sp-id', 'sp-secret'), pollMs: 5 });

  it('sends the statement and its parameters with an OAuth M2M token, and maps the rows', async () => {
    const result = await client().execute('SELECT :schema', [{ name: 'schema', value: 'landing' }]);
    expect(result).toEqual({ statementId: 'st-1', rows: [['id', 'BIGINT'], ['v', null]] });
    const token = requests.find((r) => r.url === '/oidc/v1/token')!;
    expect(token.body).toBe('grant_type=client_credentials&scope=all-apis');
    const post = requests.filter((r) => r.url === '/api/2.0/sql/statements/').at(-1)!;
    expect(post.auth).toBe('Bearer tok-1');
    expect(post.body).toEqual({
      warehouse_id: 'wh1',
      statement: 'SELECT :schema',
      parameters: [{ name: 'schema', value: 'landing' }],
      wait_timeout: '30s',
      on_wait_timeout: 'CONTINUE',
      format: 'JSON_ARRAY',
      disposition: 'INLINE',
    });
  });

  it('polls a statement that is still running until it ends', async () => {
    expect(await client().execute('SELECT slow')).toEqual({ statementId: 'st-slow', rows: [] });
    expect(polls).toBe(2);
  });

  it('a failed statement is terminal with the warehouse message; 5xx is transient; 4xx terminal', async () => {
    const failed = await client().execute('SELECT broken').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TerminalError);
    expect((failed as Error).message).toBe('Databricks statement st-bad failed: BAD_REQUEST: [PARSE_SYNTAX_ERROR] Syntax error');
    await expect(client().execute('SELECT busy')).rejects.toBeInstanceOf(TransientError);
    await expect(client().execute('SELECT denied')).rejects.toThrow('the Databricks workspace refused the request (HTTP 403) PERMISSION_DENIED: no USE CATALOG');
  });

  it('a refused service principal names the secrets to check', async () => {
    const bad = new StatementClient({ host: base, warehouseId: 'wh1', token: oauthM2mToken(base, 'sp-id', 'wrong') });
    await expect(bad.execute('SELECT 1')).rejects.toThrow(/check the client_id and client_secret secrets/);
  });
});

const live = process.env.DATABRICKS_TEST_HOST;
if (!live) console.info('Databricks live test skipped: set DATABRICKS_TEST_HOST, DATABRICKS_TEST_WAREHOUSE, DATABRICKS_TEST_CLIENT_ID and DATABRICKS_TEST_CLIENT_SECRET to run it');

describe.skipIf(!live)('Databricks live', () => {
  it('runs a statement on the warehouse', async () => {
    const host = process.env.DATABRICKS_TEST_HOST!;
    const client = new StatementClient({
      host,
      warehouseId: warehouseIdOf(process.env.DATABRICKS_TEST_WAREHOUSE ?? ''),
      token: oauthM2mToken(host, process.env.DATABRICKS_TEST_CLIENT_ID ?? '', process.env.DATABRICKS_TEST_CLIENT_SECRET ?? ''),
    });
    const result = await client.execute('SELECT :v AS v', [{ name: 'v', value: '42' }]);
    expect(result.rows).toEqual([['42']]);
  });
});
