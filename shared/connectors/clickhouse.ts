/**
 * The ClickHouse source connector, on @clickhouse/client over HTTP(S),
 * loaded on first use. HTTPS (port 8443) unless the dbconfig's sslmode is
 * `disable` (HTTP, port 8123). Reads stream TabSeparated that the server
 * writes as COPY text (copyExpression), passed through in whole lines and
 * checked for an error the server writes into the body mid-result; the HTTP
 * response is read only as fast as the destination takes it. A custom query runs
 * with the `readonly=1` setting, so the server refuses any write.
 */
import { randomUUID } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import type * as ClickHouse from '@clickhouse/client';
import { TerminalError, TransientError } from '../errors.js';
import { assertSelectQuery, DescribedRelations, fromItem, noHorizon, relationError, selectSql, signatureSql } from './dialect.js';
import {
  assertNoExceptionLine,
  clickHouseDescribeSql,
  clickHouseDialect,
  copyExpression,
  mapClickHouseType,
  unescapeTsvField,
} from './clickhouse-sql.js';
import type { ColumnSpec, SourceRelation } from '../data/spec.js';
import type { CommitHorizon, ReadSpec, SignatureSpec, SourceConnector, SourceSession } from './port.js';

type Driver = typeof ClickHouse;

/** Reads run as long as the load does; the loader's own timeouts end a stuck run. */
const REQUEST_TIMEOUT_MS = 3 * 60 * 60 * 1000;

/** The server URL of resolved connection values: https://host:8443 unless sslmode is disable (http://host:8123). */
export function clickHouseUrl(connection: Record<string, string>): string {
  const host = connection.host!.trim();
  const tls = connection.sslmode !== 'disable';
  const url = new URL(host.includes('://') ? host : `${tls ? 'https' : 'http'}://${host}`);
  if (connection.port) {
    const port = Number(connection.port);
    if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new TerminalError('source: port must be a TCP port number, got a value that is not');
    url.port = String(port);
  } else if (!url.port) url.port = url.protocol === 'https:' ? '8443' : '8123';
  return url.origin;
}

// Server error codes a retry can fix: timeouts, too many queries or parts,
// network and socket errors, memory limits, replicas or Keeper unavailable.
const TRANSIENT_CODES = new Set([3, 159, 202, 203, 209, 210, 241, 242, 252, 279, 285, 319, 425, 999]);
// Node's codes of a connection that failed or dropped.
const TRANSIENT_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/** The server's error code: the client's parsed `code`, or the `Code: N` that starts every server error text (older servers). */
function serverCode(error: { code?: unknown; message?: unknown }): number | undefined {
  if (typeof error.code === 'string' && /^\d+$/.test(error.code)) return Number(error.code);
  const m = typeof error.message === 'string' ? /^Code: (\d+)[.,]/.exec(error.message) : null;
  return m ? Number(m[1]) : undefined;
}

/** Classifies a client error from the server's error code or the socket's; the client error stays the cause. */
export function classifyClickHouseError(error: unknown, context: string): Error {
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  const message = `${context}: ${typeof e.message === 'string' ? e.message : String(error)}`;
  const code = serverCode(e);
  const transient =
    (code !== undefined && TRANSIENT_CODES.has(code)) ||
    (typeof e.code === 'string' && TRANSIENT_SOCKET_CODES.has(e.code)) ||
    e.message === 'Timeout error.';
  return transient ? new TransientError(message, { cause: error }) : new TerminalError(message, { cause: error });
}

/** Settings of a query on a relation: a custom query runs read-only. */
function settingsFor(relation: SourceRelation): ClickHouse.ClickHouseSettings {
  return relation.kind === 'query' ? { readonly: '1' } : {};
}

/**
 * The server's TabSeparated bytes as COPY text, passed through in whole lines:
 * each chunk is checked for a server exception written mid-result, and a body
 * that ends inside a line (a cut connection) fails rather than lose its tail.
 */
function tsvAsCopy(body: Readable, wrap: (error: unknown) => Error, onClose: () => void): Readable {
  let partial: Buffer = Buffer.alloc(0);
  const copy = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const data = partial.length ? Buffer.concat([partial, chunk]) : chunk;
      const end = data.lastIndexOf(0x0a);
      if (end < 0) {
        partial = data;
        callback();
        return;
      }
      const lines = data.subarray(0, end + 1);
      partial = data.subarray(end + 1);
      try {
        assertNoExceptionLine(lines);
      } catch (error) {
        callback(wrap(error));
        return;
      }
      callback(null, lines);
    },
    flush(callback) {
      if (partial.length === 0) callback();
      else {
        try {
          assertNoExceptionLine(partial);
          callback(wrap(new TransientError('the ClickHouse result ended in the middle of a row')));
        } catch (error) {
          callback(wrap(error));
        }
      }
    },
  });
  body.on('error', (error) => copy.destroy(wrap(error)));
  copy.on('close', () => {
    if (!body.readableEnded) body.destroy();
    onClose();
  });
  return body.pipe(copy);
}

class ClickHouseSession implements SourceSession {
  private readonly described = new DescribedRelations();

  /** Every query this session sent, by id: cancel() kills those still running. */
  private readonly queryIds: string[] = [];

  constructor(private readonly client: ClickHouse.ClickHouseClient) {}

  private nextQueryId(): string {
    const id = randomUUID();
    this.queryIds.push(id);
    return id;
  }

  /** KILL QUERY (ClickHouse's own cancel) for this session's queries; finished ones are no-ops. */
  async cancel(): Promise<void> {
    if (this.queryIds.length === 0) return;
    const ids = this.queryIds.map((id) => `'${id}'`).join(', ');
    await this.client.command({ query: `KILL QUERY WHERE query_id IN (${ids}) ASYNC` });
  }

  async describe(relation: SourceRelation): Promise<ColumnSpec[]> {
    if (relation.kind === 'query') assertSelectQuery(relation.sql);
    let lines: string[];
    try {
      const result = await this.client.query({
        query: clickHouseDescribeSql(fromItem(clickHouseDialect, relation)),
        format: 'TabSeparatedWithNamesAndTypes',
        clickhouse_settings: settingsFor(relation),
        query_id: this.nextQueryId(),
      });
      lines = (await result.text()).split('\n');
    } catch (error) {
      throw relationError(relation, 'reading', classifyClickHouseError(error, 'ClickHouse'));
    }
    const names = lines[0]!.split('\t').map((f) => unescapeTsvField(f) ?? '');
    const sourceTypes = (lines[1] ?? '').split('\t').map((f) => unescapeTsvField(f) ?? '');
    const columns = names.map((name, i) => ({ name, type: mapClickHouseType(sourceTypes[i]!), sourceType: sourceTypes[i]! }));
    return this.described.remember(relation, columns);
  }

  private sourceTypes(relation: SourceRelation): Promise<Map<string, string>> {
    return this.described.sourceTypes(relation, (r) => this.describe(r));
  }

  async read(spec: ReadSpec): Promise<Readable> {
    const types = await this.sourceTypes(spec.relation);
    // The server writes COPY-ready text (copyExpression); no row is decoded here. Measured in
    // bench/clickhouse.bench.ts against ClickHouse's raw TabSeparated piped into COPY.
    const { sql } = selectSql({ ...clickHouseDialect, readExpression: copyExpression }, spec, types);
    const abort = new AbortController();
    const wrap = (error: unknown) => relationError(spec.relation, 'reading', classifyClickHouseError(error, 'ClickHouse'));
    let body: Readable;
    try {
      ({ stream: body } = await this.client.exec({
        query: `${sql}\nFORMAT TabSeparated`,
        clickhouse_settings: settingsFor(spec.relation),
        abort_signal: abort.signal,
        query_id: this.nextQueryId(),
      }));
    } catch (error) {
      throw wrap(error);
    }
    let ended = false;
    body.once('end', () => (ended = true));
    return tsvAsCopy(body, wrap, () => {
      if (!ended) abort.abort();
    });
  }

  async signature(spec: SignatureSpec): Promise<string> {
    const query = signatureSql(clickHouseDialect, spec, spec.column ? await this.sourceTypes(spec.relation) : new Map());
    try {
      const result = await this.client.query({ query, format: 'TabSeparated', clickhouse_settings: settingsFor(spec.relation), query_id: this.nextQueryId() });
      return unescapeTsvField((await result.text()).replace(/\n$/, '')) ?? '';
    } catch (error) {
      throw relationError(spec.relation, 'reading the change signature of', classifyClickHouseError(error, 'ClickHouse'));
    }
  }

  async commitHorizon(): Promise<CommitHorizon> {
    return noHorizon('ClickHouse: inserts are visible as they land, with no open transactions to wait for');
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/** The client configuration of resolved connection values. */
export function clickHouseConfig(connection: Record<string, string>, maxConnections: number): ClickHouse.ClickHouseClientConfigOptions {
  return {
    url: clickHouseUrl(connection),
    username: connection.user,
    password: connection.password ?? '',
    database: connection.database || 'default',
    application: 'dataloader-loader',
    request_timeout: REQUEST_TIMEOUT_MS,
    max_open_connections: Math.max(1, maxConnections),
  };
}

export const clickHouseConnector: SourceConnector = {
  requiredSecrets: ['host', 'user'],
  optionalSecrets: ['port', 'database', 'password', 'sslmode'],
  async open(connection, options) {
    // Loaded here, not at the top: a deployment without ClickHouse sources never loads the client.
    const driver: Driver = await import('@clickhouse/client');
    // The client logs failed queries itself; the loader reports them once, classified.
    const client = driver.createClient({ ...clickHouseConfig(connection, options.maxConnections), log: { level: driver.ClickHouseLogLevel.OFF } });
    try {
      // /ping needs no login; a query checks the credentials and the database now, named.
      await (await client.query({ query: 'SELECT 1', format: 'TabSeparated' })).text();
    } catch (error) {
      await client.close().catch(() => undefined);
      throw classifyClickHouseError(error, 'connecting to ClickHouse');
    }
    return new ClickHouseSession(client);
  },
};
