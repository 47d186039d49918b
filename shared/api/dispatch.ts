/**
 * Runs one operation for one request: authenticate, authorize, validate the
 * path, query string and body with the operation's zod schemas, run it, and
 * turn every error into a response. Bad input never reaches a use case; no
 * response carries a stack trace, a SQL message or a secret.
 */
import { z } from 'zod';
import { isTransientDatabaseError, sqlStateOf } from '../errors.js';
import type { Runtime } from '../runtime.js';
import { ApiError, fieldErrorsFrom, forbidden, unauthorized, ValidationError, type FieldError } from './errors.js';
import type { ApiRequest, ApiResponse, Operation } from './operation.js';
import { resolvePrincipal, rolesFor } from './principal.js';

/** Bodies above this size are refused (a bulk edit of 100,000 ids is about 1 MB). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** Query-string keys the Functions host itself uses (the function key), never validated by operations. */
const HOST_QUERY_KEYS = new Set(['code']);

function parsePart<T>(schema: z.ZodType<T> | undefined, value: unknown, errors: FieldError[], prefix: string): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  for (const e of fieldErrorsFrom(result.error)) errors.push({ field: e.field || prefix, message: e.message });
  return undefined as T;
}

/** Marks a body that is not JSON (already reported). */
const NOT_JSON = Symbol('not JSON');

async function readJsonBody(request: ApiRequest, errors: FieldError[]): Promise<unknown> {
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw new ApiError(413, `body: larger than ${MAX_BODY_BYTES} bytes`);
  // An empty body is an empty object, so that missing required fields are named one by one.
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    errors.push({ field: 'body', message: 'must be a JSON document' });
    return NOT_JSON;
  }
}

const NO_QUERY = z.strictObject({});

const isEmptyObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length === 0;

function queryObject(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of query) if (!HOST_QUERY_KEYS.has(key)) out[key] = value;
  return out;
}

function errorResponse(error: ApiError, correlationId: string): ApiResponse {
  const headers: Record<string, string> = { 'x-correlation-id': correlationId };
  if (error.status === 503) headers['retry-after'] = '5';
  return { status: error.status, body: { errors: error.errors, ...error.details, correlation_id: correlationId }, headers };
}

/** Handles a request with an operation. Never throws. */
export async function dispatch(operation: Operation, request: ApiRequest, runtime: Runtime, correlationId: string): Promise<ApiResponse> {
  try {
    const principal = resolvePrincipal((name) => request.header(name), runtime.settings);
    if (operation.access !== 'public') {
      if (!principal) throw unauthorized('no principal: sign in through App Service authentication');
      const roles = rolesFor(operation.access, runtime.settings);
      if (!roles.some((role) => principal.roles.has(role))) {
        throw forbidden(`requires the role ${roles.join(' or ')}`);
      }
    }
    const errors: FieldError[] = [];
    const params = parsePart(operation.params, request.params, errors, 'params');
    // Operations without a query or body schema take none: unknown input is refused, not ignored.
    const query = parsePart(operation.query ?? NO_QUERY, queryObject(request.query), errors, 'query');
    const raw = await readJsonBody(request, errors);
    let body: unknown;
    if (raw !== NOT_JSON) {
      if (operation.body) body = parsePart(operation.body, raw, errors, 'body');
      else if (!isEmptyObject(raw)) errors.push({ field: 'body', message: 'this endpoint takes no body' });
    }
    if (errors.length > 0) throw new ValidationError(errors);
    const response = await operation.run(
      { runtime, principal, user: principal?.name ?? 'anonymous', request, correlationId },
      { params, query, body },
    );
    return { ...response, headers: { 'x-correlation-id': correlationId, ...response.headers } };
  } catch (error) {
    if (error instanceof ApiError) return errorResponse(error, correlationId);
    // Serialization failure, deadlock, lock or statement timeout, too many connections, a lost connection: try again.
    if (isTransientDatabaseError(error)) {
      runtime.log.warn('api request hit a transient database error', { operation: operation.name, correlation_id: correlationId, code: error.code });
      return errorResponse(new ApiError(503, 'the control database is busy; retry shortly'), correlationId);
    }
    runtime.log.error('api request failed', {
      operation: operation.name,
      correlation_id: correlationId,
      reason: error instanceof Error ? error.message : String(error),
      code: sqlStateOf(error),
    });
    return errorResponse(new ApiError(500, `internal error; quote correlation id ${correlationId}`), correlationId);
  }
}
