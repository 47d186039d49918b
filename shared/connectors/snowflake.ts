/**
 * The Snowflake source connectors, on snowflake-sdk (HTTPS only), loaded on
 * first use: `snowflake` logs in with a password, `snowflake_pem` with a key
 * pair (the private key PEM from the secret db_config_value.private_key names,
 * with an optional passphrase). Reads stream with streamRows, which fetches
 * result chunks as the destination takes rows. Custom queries run as one
 * statement (MULTI_STATEMENT_COUNT = 1) wrapped in a SELECT; the real guard
 * against writes is a read-only role, which the dbconfig's `role` names.
 */
import type { Readable } from 'node:stream';
import type * as Snowflake from 'snowflake-sdk';
import { TerminalError, TransientError } from '../errors.js';
import { assertSelectQuery, DescribedRelations, fromItem, noHorizon, relationError, selectSql, signatureSql } from './dialect.js';
import { rowsToCopy } from './dialect-stream.js';
import type { ColumnSpec, SourceRelation } from '../data/spec.js';
import type { CommitHorizon, ReadSpec, SignatureSpec, SourceConnector, SourceSession } from './port.js';
import { SnowflakePool } from './snowflake-pool.js';
import { mapSnowflakeType, snowflakeDecoders, snowflakeDescribeSql, snowflakeDialect, snowflakeSourceType } from './snowflake-sql.js';

type Driver = typeof Snowflake;

/** The account identifier of a host: `xy12345.west-europe.azure` of `xy12345.west-europe.azure.snowflakecomputing.com`, or the host itself. */
export function snowflakeAccount(host: string): string {
  return host
    .trim()
    .replace(/^https?:\/\//, '')
    .replace(/\/.*$/, '')
    .replace(/\.snowflakecomputing\.com$/i, '');
}

/** snowflake-sdk connection options of resolved connection values, password or key-pair. */
export function snowflakeOptions(connection: Record<string, string>, auth: 'password' | 'key-pair'): Snowflake.ConnectionOptions {
  const options: Snowflake.ConnectionOptions = {
    account: snowflakeAccount(connection.host!),
    username: connection.user!,
    database: connection.database!,
    application: 'dataloader',
    // Results can take as long as the load does; the loader's own timeouts end a stuck run.
    timeout: 3 * 60 * 60 * 1000,
  };
  if (connection.schema) options.schema = connection.schema;
  if (connection.warehouse) options.warehouse = connection.warehouse;
  if (connection.role) options.role = connection.role;
  if (auth === 'password') return { ...options, password: connection.password! };
  const privateKey = connection.private_key!;
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey)) {
    throw new TerminalError('source: the private_key secret must hold a PEM private key (-----BEGIN PRIVATE KEY----- ...)');
  }
  return {
    ...options,
    authenticator: 'SNOWFLAKE_JWT',
    privateKey,
    ...(connection.private_key_passphrase ? { privateKeyPass: connection.private_key_passphrase } : {}),
  };
}

// The driver's own codes of a network failure or a broken response, and the
// server's expired-session code; SQLSTATE classes of lost connections,
// serialization failures and timeouts.
const TRANSIENT_CODES = new Set([401001, 401002, 401003, 402001, 402002, 390114]);
const TRANSIENT_SQLSTATES = new Set(['40001', '57014']);

/** Classifies a driver error from its code and SQLSTATE; the driver error stays the cause. */
export function classifySnowflakeError(error: unknown, context: string): Error {
  const e = (error ?? {}) as { code?: unknown; sqlState?: unknown; message?: unknown };
  const message = `${context}: ${typeof e.message === 'string' ? e.message : String(error)}`;
  const code = Number(e.code);
  const state = typeof e.sqlState === 'string' ? e.sqlState : '';
  const transient = TRANSIENT_CODES.has(code) || state.startsWith('08') || TRANSIENT_SQLSTATES.has(state);
  return transient ? new TransientError(message, { cause: error }) : new TerminalError(message, { cause: error });
}

/** Runs a statement; resolves once Snowflake has run it (a streamed result is fetched afterwards). */
function execute(connection: Snowflake.Connection, options: Snowflake.StatementOption): Promise<{ statement: Snowflake.RowStatement; rows: unknown[] | undefined }> {
  return new Promise((resolve, reject) => {
    connection.execute({
      // One statement only: a custom query cannot smuggle a second one in.
      parameters: { MULTI_STATEMENT_COUNT: 1 },
      ...options,
      complete: (error, statement, rows) => (error ? reject(error) : resolve({ statement: statement as Snowflake.RowStatement, rows })),
    });
  });
}

class SnowflakeSession implements SourceSession {
  private readonly described = new DescribedRelations();

  constructor(private readonly pool: SnowflakePool) {}

  private async using<T>(work: (connection: Snowflake.Connection) => Promise<T>): Promise<T> {
    const connection = await this.pool.acquire();
    try {
      return await work(connection);
    } finally {
      this.pool.release(connection);
    }
  }

  async describe(relation: SourceRelation): Promise<ColumnSpec[]> {
    if (relation.kind === 'query') assertSelectQuery(relation.sql);
    let meta: Snowflake.Column[];
    try {
      meta = await this.using(async (connection) => {
        // describeOnly compiles the statement without running it.
        const { statement } = await execute(connection, { sqlText: snowflakeDescribeSql(fromItem(snowflakeDialect, relation)), describeOnly: true });
        return statement.getColumns() ?? [];
      });
    } catch (error) {
      throw relationError(relation, 'reading', classifySnowflakeError(error, 'Snowflake'));
    }
    const columns = meta.map((c) => {
      const sourceType = snowflakeSourceType({ type: c.getType(), precision: c.getPrecision(), scale: c.getScale() });
      return { name: c.getName(), type: mapSnowflakeType(sourceType), sourceType };
    });
    return this.described.remember(relation, columns);
  }

  private sourceTypes(relation: SourceRelation): Promise<Map<string, string>> {
    return this.described.sourceTypes(relation, (r) => this.describe(r));
  }

  async read(spec: ReadSpec): Promise<Readable> {
    const types = await this.sourceTypes(spec.relation);
    const { sql, params } = selectSql(snowflakeDialect, spec, types);
    const wrap = (error: unknown) => relationError(spec.relation, 'reading', classifySnowflakeError(error, 'Snowflake'));
    const connection = await this.pool.acquire();
    let rows: Readable;
    try {
      const { statement } = await execute(connection, { sqlText: sql, binds: params, streamResult: true, rowMode: 'array' });
      rows = statement.streamRows();
    } catch (error) {
      this.pool.release(connection);
      throw wrap(error);
    }
    rows.on('close', () => this.pool.release(connection));
    return rowsToCopy(rows, snowflakeDecoders(spec.columns.map((c) => types.get(c.name)!)), wrap);
  }

  async signature(spec: SignatureSpec): Promise<string> {
    const sqlText = signatureSql(snowflakeDialect, spec, spec.column ? await this.sourceTypes(spec.relation) : new Map());
    try {
      return await this.using(async (connection) => {
        const { rows } = await execute(connection, { sqlText, rowMode: 'array' });
        return String((rows as unknown[][])[0]![0]);
      });
    } catch (error) {
      throw relationError(spec.relation, 'reading the change signature of', classifySnowflakeError(error, 'Snowflake'));
    }
  }

  async commitHorizon(): Promise<CommitHorizon> {
    return noHorizon('Snowflake: loads into it commit statement by statement, with no long open writes to wait for');
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

/** Loads the driver (here, not at the top: a deployment without Snowflake sources never loads it) and opens a pool. */
async function openSnowflake(connection: Record<string, string>, auth: 'password' | 'key-pair', maxConnections: number): Promise<SourceSession> {
  const options = snowflakeOptions(connection, auth);
  const snowflake = ((await import('snowflake-sdk')) as unknown as { default: Driver }).default;
  // The loader reports failures once, classified; the driver's own log would repeat them.
  snowflake.configure({ logLevel: 'OFF' });
  const pool = new SnowflakePool(() => snowflake.createConnection(options).connectAsync(), Math.max(1, maxConnections));
  try {
    // One login now reports a bad account, user or key here, named.
    pool.release(await pool.acquire());
  } catch (error) {
    await pool.close();
    throw classifySnowflakeError(error, 'connecting to Snowflake');
  }
  return new SnowflakeSession(pool);
}

export const snowflakeConnector: SourceConnector = {
  requiredSecrets: ['host', 'database', 'user', 'password'],
  optionalSecrets: ['schema', 'warehouse', 'role'],
  open: (connection, options) => openSnowflake(connection, 'password', options.maxConnections),
};

export const snowflakePemConnector: SourceConnector = {
  requiredSecrets: ['host', 'database', 'user', 'private_key'],
  optionalSecrets: ['private_key_passphrase', 'schema', 'warehouse', 'role'],
  open: (connection, options) => openSnowflake(connection, 'key-pair', options.maxConnections),
};
