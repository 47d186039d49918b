/**
 * Connections to the control database. Every connection requires SSL unless the
 * URL says sslmode=disable or CONTROL_DB_SSL=disable, runs with a 30 s statement
 * timeout, and uses UTC as its session time zone so that the seed's TIMESTAMP
 * columns (without time zone) always hold UTC.
 */
import pg from 'pg';
import type { Settings } from '../settings.js';
import { passwordProviderFor, type PasswordProvider } from './auth.js';

/** Anything that runs a query: a pool, or a client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

const TIMESTAMP_OID = 1114;
const INT8_OID = 20;

/**
 * Type parsers for the control database: TIMESTAMP columns are UTC instants, and
 * BIGINT ids and counters come back as numbers (they stay far below 2^53).
 */
export const controlTypes: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP_OID) return (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** A Date parameter as UTC text; arrays (of dates) element by element; anything else unchanged. */
function utcParameter(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? value : value.toISOString();
  if (Array.isArray(value)) return value.map(utcParameter);
  return value;
}

const clientQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * A client of the control database. Dates bound as parameters are sent as UTC
 * (`...Z`), so that TIMESTAMP (without time zone) columns hold UTC whatever the
 * process's time zone. This is the control connection's own setting: it leaves
 * node-postgres's process-wide defaults, and so every source and destination
 * pool, as they are.
 */
export class ControlClient extends pg.Client {}
ControlClient.prototype.query = function query(this: pg.Client, config: unknown, values?: unknown, ...rest: unknown[]) {
  if (Array.isArray(values)) return clientQuery.call(this, config, values.map(utcParameter), ...rest);
  const text = config as { values?: unknown; submit?: unknown } | null;
  if (text && typeof text === 'object' && typeof text.submit !== 'function' && Array.isArray(text.values)) {
    return clientQuery.call(this, { ...text, values: text.values.map(utcParameter) }, values, ...rest);
  }
  return clientQuery.call(this, config, values, ...rest);
} as typeof pg.Client.prototype.query;

export interface ControlConnectionOptions {
  url: string;
  ssl: Settings['CONTROL_DB_SSL'];
  statementTimeoutMs: number;
  password?: PasswordProvider;
  applicationName?: string;
}

/** Client configuration for the control database (pool, migrations and single clients share it). */
export function controlClientConfig(options: ControlConnectionOptions): pg.ClientConfig {
  const url = new URL(options.url);
  const sslmode = url.searchParams.get('sslmode');
  const sslOff = options.ssl === 'disable' || sslmode === 'disable';
  // The URL is taken apart rather than passed as connectionString: pg lets a
  // connection string's (possibly empty) password override a token provider.
  const config: pg.ClientConfig = {
    host: decodeURIComponent(url.hostname),
    port: url.port ? Number(url.port) : 5432,
    database: decodeURIComponent(url.pathname.replace(/^\//, '')) || undefined,
    user: decodeURIComponent(url.username) || undefined,
    password: options.password ?? (url.password ? decodeURIComponent(url.password) : undefined),
    ssl: sslOff ? false : { rejectUnauthorized: true },
    statement_timeout: options.statementTimeoutMs,
    options: '-c TimeZone=UTC',
    application_name: options.applicationName ?? 'dataloader',
    types: controlTypes,
  };
  return config;
}

/** Connection options for the control database named by the settings (or another URL, e.g. pre-production). */
export function controlConnectionOptions(settings: Settings, url = settings.DATABASE_URL): ControlConnectionOptions {
  if (!url) {
    throw new Error('DATABASE_URL: not set; give the control database as postgresql://user@host:5432/dataloader');
  }
  const password = passwordProviderFor(settings);
  return {
    url,
    ssl: settings.CONTROL_DB_SSL,
    statementTimeoutMs: settings.CONTROL_DB_STATEMENT_TIMEOUT_MS,
    ...(password ? { password } : {}),
  };
}

/** A pool on the control database. The caller ends it. */
export function createControlPool(options: ControlConnectionOptions, max = 10): pg.Pool {
  const pool = new pg.Pool({ ...controlClientConfig(options), max, idleTimeoutMillis: 30_000, Client: ControlClient });
  // An idle client that loses its connection must not crash the process.
  pool.on('error', () => undefined);
  // Nor a checked-out one between two queries (pg_terminate_backend, a restart): its next query fails instead.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
