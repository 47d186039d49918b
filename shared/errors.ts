/**
 * Terminal versus transient: what a failed load should do next. Terminal
 * errors (bad config, missing table, SQL error in a custom query, permission
 * denied) fail the run at once with a message an admin can act on; transient
 * ones (connection lost, timeouts, serialization failures, too many
 * connections) are retried with backoff. Decided from PostgreSQL's SQLSTATE
 * (`DatabaseError.code`) and Node's system error codes, never from message text.
 */
import pg from 'pg';

/** A failure that retrying cannot fix. The message names the row, field, table or column. */
export class TerminalError extends Error {
  override name = 'TerminalError';
}

/** A failure that may pass on its own (the next attempt may succeed). */
export class TransientError extends Error {
  override name = 'TransientError';
}

export type ErrorKind = 'terminal' | 'transient';

// SQLSTATE classes and codes that a retry can fix.
const TRANSIENT_CLASSES = new Set([
  '08', // connection exception
  '53', // insufficient resources (too many connections, out of memory, disk full)
  '58', // system error (I/O)
]);
const TRANSIENT_CODES = new Set([
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '55P03', // lock_not_available
  '57014', // query_canceled (statement timeout)
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (server starting up)
  '57P05', // idle_session_timeout
  '25P03', // idle_in_transaction_session_timeout
]);

// Node system errors of a socket that went away or never came.
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * SQLSTATE codes the product acts on by name. Every check of a PostgreSQL
 * error's code goes through this module (isSqlState, classifyError).
 */
export const SQLSTATE = {
  /** ON CONFLICT DO UPDATE would change one row twice (a batch repeats a key). */
  cardinalityViolation: '21000',
  uniqueViolation: '23505',
  /** lock_timeout expired (or NOWAIT found the lock taken). */
  lockNotAvailable: '55P03',
} as const;
export type SqlStateName = keyof typeof SQLSTATE;

/** Whether `error` is a PostgreSQL error with the named SQLSTATE. */
export function isSqlState(error: unknown, name: SqlStateName): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && error.code === SQLSTATE[name];
}

/** The SQLSTATE of a PostgreSQL error, for logs; undefined for any other error. */
export function sqlStateOf(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

/** A PostgreSQL error that a retry of the same work can fix (the same SQLSTATE table classifyError uses). */
export function isTransientDatabaseError(error: unknown): error is pg.DatabaseError {
  return error instanceof pg.DatabaseError && isTransientSqlState(error.code ?? '');
}

function isTransientSqlState(code: string): boolean {
  return TRANSIENT_CODES.has(code) || TRANSIENT_CLASSES.has(code.slice(0, 2));
}

/** Whether a failure is worth retrying. Unknown errors are terminal: retrying a bug only repeats it. */
export function classifyError(error: unknown): ErrorKind {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TerminalError) return 'terminal';
    if (e instanceof TransientError) return 'transient';
    if (e instanceof pg.DatabaseError) return isTransientSqlState(e.code ?? '') ? 'transient' : 'terminal';
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_SYSTEM_CODES.has(code)) return 'transient';
    if (isConnectionLost(e)) return 'transient';
  }
  return 'terminal';
}

// node-postgres reports a connection that dropped (or timed out while
// connecting) as a plain Error with no code: these exact messages are the only
// signal it gives (pg/lib/client.js, pg-pool/index.js).
const CONNECTION_LOST_MESSAGES = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout expired',
  // The next query on a client whose connection was terminated while it sat checked out between queries.
  'Client has encountered a connection error and is not queryable',
]);

function isConnectionLost(e: unknown): boolean {
  return e instanceof Error && !(e instanceof pg.DatabaseError) && CONNECTION_LOST_MESSAGES.has(e.message);
}

/** The innermost message of an error chain worth showing an admin, prefixed by context. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts: string[] = [error.message];
  let e: unknown = error.cause;
  for (let depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (!parts.some((p) => p.includes(e instanceof Error ? e.message : ''))) parts.push(e.message);
  }
  return parts.join(': ');
}
