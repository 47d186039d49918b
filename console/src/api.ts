/**
 * The typed client of the admin API (openapi-fetch over the generated
 * api-types.ts), on the same origin as the console. Every body is JSON and
 * says so; errors become ApiError with a sentence a person can act on.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './api-types';

export type Table = components['schemas']['Table'];
export type Connection = components['schemas']['Connection'];
export type BulkPreview = components['schemas']['BulkPreview'];
export type Row = Record<string, unknown>;

export interface FieldError {
  field: string;
  message: string;
}

/** A refused request, explained. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly errors: FieldError[],
    message: string,
  ) {
    super(message);
  }
}

/** What a status means to the person who clicked. */
export function explain(status: number, errors: FieldError[]): string {
  const details = errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; ');
  switch (status) {
    case 400:
      return `The change was refused and nothing was saved. ${details}`;
    case 401:
      return 'You are not signed in (or your sign-in expired). Reload the page to sign in again.';
    case 403:
      return `You are signed in, but your role does not allow this. Ask an owner of the DataLoader app registration for the Admin role (or Promoter, to promote). ${details}`;
    case 404:
      return `Not found: it may have been deleted. ${details}`;
    case 409:
      return `Refused because of the current state: ${details || 'someone else changed it first'}. Nothing was changed.`;
    case 412:
    case 428:
      return `The version check failed: reload and try again. ${details}`;
    case 415:
      return 'The server expected JSON.';
    default:
      return `The server answered ${status}. ${details}`;
  }
}

const jsonBodies: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') request.headers.set('content-type', 'application/json');
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: `${location.origin}/api` });
api.use(jsonBodies);

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer, or throws ApiError with the explanation. */
export async function ok<T>(call: Promise<Result<T>>): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok) return data as T;
  const errors = (error as { errors?: FieldError[] } | undefined)?.errors ?? [];
  throw new ApiError(response.status, errors, explain(response.status, errors));
}

/** The ETag of a successful answer (the row's version). */
export async function withEtag<T>(call: Promise<Result<T>>): Promise<{ data: T; etag: string | null }> {
  const result = await call;
  const data = await ok(Promise.resolve(result));
  return { data, etag: result.response.headers.get('etag') };
}
