/**
 * The SQL Server source connector, on `mssql` (tedious), loaded on first use.
 * Connections are encrypted and the certificate verified unless the dbconfig
 * says otherwise. Reads stream with backpressure (the request pauses while the
 * destination catches up). A custom query runs inside a transaction that is
 * always rolled back: T-SQL needs no semicolon between statements, so this,
 * not the text check, is what keeps a query from writing.
 */
import { Readable } from 'node:stream';
import type * as Mssql from 'mssql';
import { TerminalError, TransientError } from '../errors.js';
import { assertSelectQuery, DescribedRelations, fromItem, isNaiveTimestamp, noHorizon, relationError, selectSql, signatureSql } from './dialect.js';
import { rowsToCopy } from './dialect-stream.js';
import { mapMssqlType, MSSQL_COMMIT_HORIZON_SQL, mssqlDescribeSql, mssqlDialect } from './mssql-sql.js';
import type { ColumnSpec, SourceRelation } from '../data/spec.js';
import type { CommitHorizon, ReadSpec, SignatureSpec, SourceConnector, SourceSession } from './port.js';

type Driver = typeof Mssql;

const TRUTHY = new Set(['true', 'yes', 'y', '1']);

/** Reads run as long as the load does; the loader's own timeouts end a stuck run. */
const REQUEST_TIMEOUT_MS = 3 * 60 * 60 * 1000;

/** The mssql pool configuration of resolved connection values. */
export function mssqlConfig(connection: Record<string, string>, maxConnections: number): Mssql.config {
  const port = Number(connection.port ?? 1433);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new TerminalError('source: port must be a TCP port number, got a value that is not');
  const sslmode = connection.sslmode ?? 'verify-full';
  const trust = TRUTHY.has((connection.trust_server_certificate ?? '').trim().toLowerCase()) || sslmode === 'require' || sslmode === 'prefer';
  return {
    server: connection.host!,
    port,
    database: connection.database!,
    user: connection.user!,
    password: connection.password!,
    options: {
      encrypt: sslmode !== 'disable',
      trustServerCertificate: trust,
      appName: 'dataloader-loader',
      useUTC: true,
    },
    arrayRowMode: true,
    connectionTimeout: 30_000,
    requestTimeout: REQUEST_TIMEOUT_MS,
    pool: { max: Math.max(1, maxConnections), min: 0, idleTimeoutMillis: 10_000 },
  };
}

// SQL Server error numbers a retry can fix: deadlock victim, lock timeout, and
// Azure SQL's documented transient errors (failover, throttling, busy service).
const TRANSIENT_NUMBERS = new Set([
  1205, 1222, 233, 64, 4060, 4221, 10053, 10054, 10060, 10928, 10929, 40143, 40197, 40501, 40540, 40613, 42108, 42109, 49918, 49919, 49920,
]);
// mssql's codes of a connection that failed or dropped, or a request that timed out.
const TRANSIENT_CODES = new Set(['ESOCKET', 'ETIMEOUT', 'ECONNCLOSED', 'ECONNRESET', 'EINSTLOOKUP']);

/** Classifies a driver error from its code and SQL Server error number; the driver error stays the cause. */
export function classifyMssqlError(error: unknown, context: string): Error {
  const e = error as { code?: unknown; number?: unknown; message?: unknown };
  const message = `${context}: ${typeof e?.message === 'string' ? e.message : String(error)}`;
  const transient = (typeof e?.number === 'number' && TRANSIENT_NUMBERS.has(e.number)) || (typeof e?.code === 'string' && TRANSIENT_CODES.has(e.code));
  return transient ? new TransientError(message, { cause: error }) : new TerminalError(message, { cause: error });
}

class MssqlSession implements SourceSession {
  private readonly described = new DescribedRelations();

  constructor(
    private readonly sql: Driver,
    private readonly pool: Mssql.ConnectionPool,
  ) {}

  /** A request on the pool, or, for a custom query, in a transaction that `finish` rolls back. */
  private async request(relation: SourceRelation): Promise<{ request: Mssql.Request; finish: () => Promise<void> }> {
    if (relation.kind === 'table') return { request: this.pool.request(), finish: async () => undefined };
    const transaction = this.pool.transaction();
    await transaction.begin();
    return { request: new this.sql.Request(transaction), finish: () => transaction.rollback().catch(() => undefined) };
  }

  private bindAll(request: Mssql.Request, params: string[]): void {
    params.forEach((value, i) => request.input(`p${i + 1}`, this.sql.NVarChar(this.sql.MAX), value));
  }

  async describe(relation: SourceRelation): Promise<ColumnSpec[]> {
    if (relation.kind === 'query') assertSelectQuery(relation.sql);
    const request = this.pool.request();
    request.arrayRowMode = false;
    request.input('tsql', this.sql.NVarChar(this.sql.MAX), mssqlDescribeSql(fromItem(mssqlDialect, relation)));
    let rows: { name: string | null; system_type_name: string; is_hidden: boolean }[];
    try {
      // Describes without running the query, so even a custom query cannot act here.
      ({ recordset: rows } = await request.query('EXEC sp_describe_first_result_set @tsql = @tsql, @params = NULL, @browse_information_mode = 0'));
    } catch (error) {
      throw relationError(relation, 'reading', classifyMssqlError(error, 'SQL Server'));
    }
    const visible = rows.filter((r) => !r.is_hidden);
    const unnamed = visible.findIndex((r) => !r.name);
    if (unnamed >= 0) throw new TerminalError(`the custom query's column ${unnamed + 1} has no name; give it one (AS name)`);
    const columns = visible.map((r) => ({ name: r.name!, type: mapMssqlType(r.system_type_name), sourceType: r.system_type_name }));
    return this.described.remember(relation, columns);
  }

  private sourceTypes(relation: SourceRelation): Promise<Map<string, string>> {
    return this.described.sourceTypes(relation, (r) => this.describe(r));
  }

  async read(spec: ReadSpec): Promise<Readable> {
    const { sql, params } = selectSql(mssqlDialect, spec, await this.sourceTypes(spec.relation));
    let opened: Awaited<ReturnType<MssqlSession['request']>>;
    try {
      opened = await this.request(spec.relation);
    } catch (error) {
      throw relationError(spec.relation, 'reading', classifyMssqlError(error, 'SQL Server'));
    }
    const { request, finish } = opened;
    this.bindAll(request, params);
    request.stream = true;
    request.arrayRowMode = true;
    let finished = false;
    const rows = new Readable({
      objectMode: true,
      highWaterMark: 1000,
      read: () => request.resume(),
      destroy: (error, callback) => {
        // Nobody reads any more: stop the query instead of draining it.
        if (!finished) request.cancel();
        callback(error);
      },
    });
    request.on('row', (row: unknown[]) => {
      if (!rows.push(row)) request.pause();
    });
    request.on('error', (error: unknown) => rows.destroy(relationError(spec.relation, 'reading', classifyMssqlError(error, 'SQL Server'))));
    request.on('done', () => {
      if (finished) return;
      finished = true;
      void finish();
      rows.push(null);
    });
    request.pause();
    void request.query(sql);
    return rowsToCopy(rows);
  }

  async signature(spec: SignatureSpec): Promise<string> {
    const sql = signatureSql(mssqlDialect, spec, spec.column ? await this.sourceTypes(spec.relation) : new Map());
    const { request, finish } = await this.request(spec.relation);
    request.arrayRowMode = false;
    try {
      const { recordset } = await request.query<{ signature: string }>(sql);
      return recordset[0]!.signature;
    } catch (error) {
      throw relationError(spec.relation, 'reading the change signature of', classifyMssqlError(error, 'SQL Server'));
    } finally {
      await finish();
    }
  }

  async commitHorizon(column: ColumnSpec, options: { marginSeconds: number }): Promise<CommitHorizon> {
    if (!isNaiveTimestamp(column.type)) return noHorizon(`SQL Server: no open-transaction bound for a ${column.type} watermark`);
    const request = this.pool.request();
    request.arrayRowMode = false;
    request.input('p1', this.sql.Int, options.marginSeconds);
    let row: { privileged: number; session_id: number | null; since: string | null; bound: string };
    try {
      row = (await request.query<typeof row>(MSSQL_COMMIT_HORIZON_SQL)).recordset[0]!;
    } catch (error) {
      throw classifyMssqlError(error, 'reading the open transactions of SQL Server');
    }
    if (row.privileged !== 1) {
      return noHorizon('SQL Server: the source login lacks VIEW SERVER STATE, so other sessions\' transactions are not visible (grant it to let watermarks settle on the oldest open transaction)');
    }
    return {
      kind: 'bound',
      value: row.bound,
      basis: `oldest open transaction on the SQL Server database, less ${options.marginSeconds + 1} s`,
      ...(row.session_id !== null ? { heldBy: `session ${row.session_id}, open since ${row.since}` } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

export const mssqlConnector: SourceConnector = {
  requiredSecrets: ['host', 'database', 'user', 'password'],
  optionalSecrets: ['port', 'sslmode', 'trust_server_certificate'],
  async open(connection, options) {
    // Loaded here, not at the top: a deployment without SQL Server sources never loads the driver.
    const sql = ((await import('mssql')) as unknown as { default: Driver }).default;
    const pool = new sql.ConnectionPool(mssqlConfig(connection, options.maxConnections));
    pool.on('error', () => undefined);
    try {
      await pool.connect();
    } catch (error) {
      throw classifyMssqlError(error, 'connecting to SQL Server');
    }
    return new MssqlSession(sql, pool);
  },
};
