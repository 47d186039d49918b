/**
 * An operation of the admin API: its route, method, required access, the zod
 * schemas of its path parameters, query string and body, and what it does.
 * The same definitions drive request validation, the HTTP functions' route
 * table and the OpenAPI document. Nothing here depends on @azure/functions.
 */
import type { z } from 'zod';
import type { Runtime } from '../runtime.js';
import type { Access, Principal } from './principal.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What an operation sees of an HTTP request (built from the Functions HttpRequest, or anything else). */
export interface ApiRequest {
  method: string;
  url: string;
  params: Record<string, string>;
  query: URLSearchParams;
  header(name: string): string | null;
  /** The raw body ('' when none). */
  text(): Promise<string>;
}

export interface ApiResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface OperationContext {
  runtime: Runtime;
  /** Undefined only for public operations called without a principal. */
  principal: Principal | undefined;
  /** The caller's name, recorded as changed_by, create_user and last_modified_user. */
  user: string;
  request: ApiRequest;
  correlationId: string;
}

export interface OperationInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
}

export interface DocumentedResponse {
  description: string;
  schema?: z.ZodType;
}

export interface Operation<P = unknown, Q = unknown, B = unknown> {
  /** The Azure Function's name: unique, letters, digits and dashes. */
  name: string;
  method: HttpMethod;
  /** Route template without the `api/` prefix, Azure Functions style: `tables/{id:int}`. */
  route: string;
  access: Access;
  summary: string;
  /** OpenAPI tag: the resource. */
  tag: string;
  /**
   * Whether the operation reads If-Match (the ETag of the row's last read):
   * `recommended` where a change without a version is refused (428) unless the
   * body carries last_modified_at, `optional` where it only guards the change.
   */
  ifMatch?: 'recommended' | 'optional';
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** Success responses, for the OpenAPI document. Error responses are added for every operation. */
  responses: Record<number, DocumentedResponse>;
  run(context: OperationContext, input: OperationInput<P, Q, B>): Promise<ApiResponse>;
}

/** Declares an operation, inferring its input types from its schemas. */
export function defineOperation<P = undefined, Q = undefined, B = undefined>(operation: Operation<P, Q, B>): Operation<P, Q, B> {
  return operation;
}

/** JSON response helper. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, body, headers };
}
