/**
 * The Oracle source connector, on node-oracledb in thin mode (pure
 * JavaScript: no Instant Client), loaded on first use. Connections use Easy
 * Connect (`host:port/service`), over TLS (`tcps://`) when the dbconfig's
 * sslmode asks for it. Reads stream with queryStream (it fetches the next
 * batch only when the destination has taken the last). Numbers arrive as
 * strings (exact), dates as text in SQL. A custom query runs in a
 * `SET TRANSACTION READ ONLY` transaction, so it can never write.
 */
import type { Readable } from 'node:stream';
import type * as OracleDb from 'oracledb';
import { TerminalError, TransientError } from '../errors.js';
import { assertSelectQuery, DescribedRelations, fromItem, isNaiveTimestamp, noHorizon, relationError, selectSql, signatureSql } from './dialect.js';
import { rowsToCopy, type Decoder } from './dialect-stream.js';
import { mapOracleType, ORACLE_COMMIT_HORIZON_SQL, ORACLE_SESSION_SQL, oracleDescribeSql, oracleDialect, oracleSourceType } from './oracle-sql.js';
import type { ColumnSpec, SourceRelation } from '../data/spec.js';
import type { CommitHorizon, ReadSpec, SignatureSpec, SourceConnector, SourceSession } from './port.js';

type Driver = typeof OracleDb;

/** Easy Connect string of resolved connection values: `host:port/service`, `tcps://host:port/service` for TLS. */
export function oracleConnectString(connection: Record<string, string>): string {
  const sslmode = connection.sslmode ?? 'disable';
  const tls = sslmode === 'require' || sslmode === 'verify-ca' || sslmode === 'verify-full';
  const port = Number(connection.port ?? (tls ? 2484 : 1521));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new TerminalError('source: port must be a TCP port number, got a value that is not');
  // Thin mode verifies the server certificate; only verify-full also matches its name to the host.
  const dn = tls && sslmode !== 'verify-full' ? '?ssl_server_dn_match=false' : '';
  return `${tls ? 'tcps://' : ''}${connection.host}:${port}/${connection.database}${dn}`;
}

// ORA- numbers a retry can fix: deadlock, resource busy, serialization,
// sessions or processes exhausted, instance starting or stopping, lost or
// refused connections, listener and dispatcher trouble.
const TRANSIENT_ORA = new Set([
  18, 20, 54, 60, 1012, 1033, 1034, 1089, 1090, 1092, 3113, 3114, 3135, 3136, 8177, 12153, 12170, 12516, 12519, 12520, 12521, 12526, 12527, 12528,
  12537, 12541, 12543, 12547, 12560, 12571, 25408, 30006,
]);
// node-oracledb's own codes for a connection that broke, could not be made, or timed out.
const TRANSIENT_NJS = new Set(['NJS-040', 'NJS-500', 'NJS-501', 'NJS-503', 'NJS-510', 'NJS-521']);

/** Classifies a driver error from its ORA- number or NJS- code; the driver error stays the cause. */
export function classifyOracleError(error: unknown, context: string): Error {
  const e = error as { errorNum?: unknown; code?: unknown; message?: unknown };
  const message = `${context}: ${typeof e?.message === 'string' ? e.message : String(error)}`;
  const transient = (typeof e?.errorNum === 'number' && TRANSIENT_ORA.has(e.errorNum)) || (typeof e?.code === 'string' && TRANSIENT_NJS.has(e.code));
  return transient ? new TransientError(message, { cause: error }) : new TerminalError(message, { cause: error });
}

/** Per-column conversion of thin-mode values: JSON columns arrive as objects (or scalars) and leave as JSON text. */
export function oracleDecoders(sourceTypes: string[]): Decoder[] {
  return sourceTypes.map((t) => (t === 'JSON' ? (value: unknown) => JSON.stringify(value) : undefined));
}

class OracleSession implements SourceSession {
  private readonly described = new DescribedRelations();

  constructor(
    private readonly oracledb: Driver,
    private readonly pool: OracleDb.Pool,
  ) {}

  /** Numbers as strings (exact), LOBs as whole values. */
  private fetchTypeHandler = (meta: OracleDb.Metadata<unknown>): OracleDb.FetchTypeResponse | undefined => {
    const d = this.oracledb;
    if (meta.dbType === d.DB_TYPE_NUMBER) return { type: d.STRING };
    if (meta.dbType === d.DB_TYPE_CLOB || meta.dbType === d.DB_TYPE_NCLOB) return { type: d.STRING };
    if (meta.dbType === d.DB_TYPE_BLOB) return { type: d.BUFFER };
    return undefined;
  };

  /** A pooled connection; for a custom query, inside a read-only transaction. */
  private async connect(relation: SourceRelation): Promise<OracleDb.Connection> {
    const connection = await this.pool.getConnection();
    if (relation.kind === 'query') {
      try {
        await connection.execute('SET TRANSACTION READ ONLY');
      } catch (error) {
        await connection.close().catch(() => undefined);
        throw error;
      }
    }
    return connection;
  }

  /** Ends the transaction (a read-only one must end before the connection is reused) and returns the connection. */
  private async release(connection: OracleDb.Connection): Promise<void> {
    await connection.rollback().catch(() => undefined);
    await connection.close().catch(() => undefined);
  }

  async describe(relation: SourceRelation): Promise<ColumnSpec[]> {
    if (relation.kind === 'query') assertSelectQuery(relation.sql);
    let meta: OracleDb.Metadata<unknown>[];
    try {
      const connection = await this.connect(relation);
      try {
        meta = (await connection.execute(oracleDescribeSql(fromItem(oracleDialect, relation)), [], { maxRows: 1 })).metaData ?? [];
      } finally {
        await this.release(connection);
      }
    } catch (error) {
      throw relationError(relation, 'reading', classifyOracleError(error, 'Oracle'));
    }
    const columns = meta.map((m) => {
      const sourceType = oracleSourceType(m);
      return { name: m.name, type: mapOracleType(sourceType), sourceType };
    });
    return this.described.remember(relation, columns);
  }

  private sourceTypes(relation: SourceRelation): Promise<Map<string, string>> {
    return this.described.sourceTypes(relation, (r) => this.describe(r));
  }

  async read(spec: ReadSpec): Promise<Readable> {
    const types = await this.sourceTypes(spec.relation);
    const { sql, params } = selectSql(oracleDialect, spec, types);
    let connection: OracleDb.Connection;
    try {
      connection = await this.connect(spec.relation);
    } catch (error) {
      throw relationError(spec.relation, 'reading', classifyOracleError(error, 'Oracle'));
    }
    const rows = connection.queryStream(sql, params, {
      outFormat: this.oracledb.OUT_FORMAT_ARRAY,
      fetchArraySize: 1000,
      fetchTypeHandler: this.fetchTypeHandler,
    });
    // 'close' comes once the result set is closed, after the end, an error or a destroy.
    rows.on('close', () => void this.release(connection));
    return rowsToCopy(rows, oracleDecoders(spec.columns.map((c) => types.get(c.name)!)), (error) =>
      relationError(spec.relation, 'reading', classifyOracleError(error, 'Oracle')),
    );
  }

  async signature(spec: SignatureSpec): Promise<string> {
    const sql = signatureSql(oracleDialect, spec, spec.column ? await this.sourceTypes(spec.relation) : new Map());
    try {
      const connection = await this.connect(spec.relation);
      try {
        const { rows } = await connection.execute<[string]>(sql, [], { outFormat: this.oracledb.OUT_FORMAT_ARRAY });
        return rows![0]![0];
      } finally {
        await this.release(connection);
      }
    } catch (error) {
      throw relationError(spec.relation, 'reading the change signature of', classifyOracleError(error, 'Oracle'));
    }
  }

  async commitHorizon(column: ColumnSpec, options: { marginSeconds: number }): Promise<CommitHorizon> {
    if (!isNaiveTimestamp(column.type)) return noHorizon(`Oracle: no open-transaction bound for a ${column.type} watermark`);
    let row: { SID: number | null; SINCE: string | null; START_SCN: string | null; BOUND: string };
    try {
      const connection = await this.pool.getConnection();
      try {
        const result = await connection.execute<typeof row>(ORACLE_COMMIT_HORIZON_SQL, [options.marginSeconds], { outFormat: this.oracledb.OUT_FORMAT_OBJECT });
        row = result.rows![0]!;
      } finally {
        await connection.close();
      }
    } catch (error) {
      // ORA-00942: the v$ views are not granted to the source user.
      if ((error as { errorNum?: number }).errorNum === 942) {
        return noHorizon('Oracle: the source user cannot read v$transaction and v$session (grant SELECT_CATALOG_ROLE or SELECT on v_$transaction and v_$session to bound watermarks by the oldest open transaction\'s start SCN)');
      }
      throw classifyOracleError(error, 'reading the open transactions of Oracle');
    }
    return {
      kind: 'bound',
      value: row.BOUND,
      basis: `oldest open transaction on the Oracle instance (v$transaction), less ${options.marginSeconds + 1} s`,
      ...(row.SID !== null ? { heldBy: `session ${row.SID}, open since ${row.SINCE} at SCN ${row.START_SCN}` } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.close(10);
  }
}

export const oracleConnector: SourceConnector = {
  requiredSecrets: ['host', 'database', 'user', 'password'],
  optionalSecrets: ['port', 'sslmode'],
  async open(connection, options) {
    // Loaded here, not at the top: a deployment without Oracle sources never loads the driver.
    const oracledb = ((await import('oracledb')) as unknown as { default: Driver }).default;
    let pool: OracleDb.Pool | undefined;
    try {
      pool = await oracledb.createPool({
        user: connection.user,
        password: connection.password,
        connectString: oracleConnectString(connection),
        poolMin: 0,
        poolMax: Math.max(1, options.maxConnections),
        poolIncrement: 1,
        connectTimeout: 30,
        sessionCallback: (conn: OracleDb.Connection, _tag: string, done: (error?: Error) => void) => {
          conn.execute(ORACLE_SESSION_SQL).then(
            () => done(),
            (error: Error) => done(error),
          );
        },
      });
      // The pool connects lazily; one connection now reports a bad host or login here, named.
      await (await pool.getConnection()).close();
    } catch (error) {
      await pool?.close(0).catch(() => undefined);
      throw classifyOracleError(error, 'connecting to Oracle');
    }
    return new OracleSession(oracledb, pool);
  },
};
