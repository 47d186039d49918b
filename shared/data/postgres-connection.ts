/**
 * Connections to a PostgreSQL source or destination named by a
 * table_control_dbconfig row (its secrets already resolved). Sessions run in
 * UTC with ISO dates, so COPY text from one server reads back identically on
 * another and timestamps never shift.
 */
import pg from 'pg';
import { TerminalError } from '../errors.js';

export const SSL_MODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Resolved connection values: host, port, database, user, password, and optionally sslmode. */
export type ResolvedConnection = Record<string, string>;

/** Session settings of every data connection (source and destination alike). */
export const DATA_SESSION_OPTIONS = '-c TimeZone=UTC -c DateStyle=ISO,MDY -c IntervalStyle=postgres -c extra_float_digits=3';

function sslFor(mode: SslMode): pg.ClientConfig['ssl'] {
  switch (mode) {
    case 'disable':
      return false;
    case 'prefer':
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
  }
}

/** pg client configuration for a resolved connection, with the SSL mode asked for (prefer is settled by connectPostgres). */
export function postgresClientConfig(connection: ResolvedConnection, label: string, sslMode?: SslMode): pg.ClientConfig {
  const mode = sslMode ?? parseSslMode(connection.sslmode, label);
  const port = Number(connection.port ?? 5432);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new TerminalError(`${label}: port must be a TCP port number, got a value that is not`);
  }
  return {
    host: connection.host,
    port,
    database: connection.database,
    user: connection.user,
    password: connection.password,
    ssl: sslFor(mode),
    options: DATA_SESSION_OPTIONS,
    application_name: 'dataloader-loader',
    connectionTimeoutMillis: 30_000,
    keepAlive: true,
  };
}

export function parseSslMode(value: string | undefined, label: string): SslMode {
  if (value === undefined || value === '') return 'prefer';
  if ((SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  throw new TerminalError(`${label}: sslmode must be one of ${SSL_MODES.join(', ')}`);
}

/**
 * Settles sslmode=prefer once per connection target: SSL when the server
 * offers it, plain otherwise. Returns the mode the pool should use.
 */
export async function settleSslMode(connection: ResolvedConnection, label: string): Promise<SslMode> {
  const mode = parseSslMode(connection.sslmode, label);
  if (mode !== 'prefer') return mode;
  const client = new pg.Client(postgresClientConfig(connection, label, 'require'));
  try {
    await client.connect();
    return 'require';
  } catch (error) {
    // node-postgres gives no code for a server without SSL; this message is its only signal.
    if (error instanceof Error && error.message === 'The server does not support SSL connections') return 'disable';
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A pool on a resolved PostgreSQL connection. The caller ends it. */
export async function createDataPool(connection: ResolvedConnection, label: string, max: number): Promise<pg.Pool> {
  const mode = await settleSslMode(connection, label);
  const config = postgresClientConfig(connection, label, mode);
  const pool = new pg.Pool({ ...config, max, idleTimeoutMillis: 10_000 });
  const backends = new Map<pg.Client, number>();
  pool.on('error', () => undefined);
  // A checked-out client whose connection is terminated between two queries must not crash the
  // process with an unhandled 'error' event: its next query fails, and the load's retry takes over.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
    const pid = (client as pg.Client & { processID?: number }).processID;
    if (pid) backends.set(client, pid);
  });
  pool.on('remove', (client) => backends.delete(client));
  cancellers.set(pool, async () => {
    const pids = [...backends.values()];
    if (pids.length === 0) return;
    // On a connection of its own: the pool's may all be busy with the statements to cancel.
    const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  return pool;
}

const cancellers = new WeakMap<pg.Pool, () => Promise<void>>();

/**
 * Cancels every statement running on a pool made by createDataPool (PostgreSQL's
 * own cancel, pg_cancel_backend, sent on a new connection): a statement inside a
 * transaction fails, and the transaction rolls back.
 */
export async function cancelPoolStatements(pool: pg.Pool): Promise<void> {
  await cancellers.get(pool)?.();
}
