/**
 * Turns an admin API operation (shared/api) into an Azure Functions HTTP
 * handler: the HttpRequest becomes an ApiRequest, the ApiResponse becomes an
 * HttpResponseInit. No logic of its own.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { dispatch } from '../../shared/api/dispatch.js';
import type { ApiRequest, Operation } from '../../shared/api/operation.js';
import type { Access } from '../../shared/api/principal.js';
import { getRuntime } from '../../shared/runtime.js';

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/** One HTTP function: what functions/register.ts registers and the local host serves. */
export interface ApiRoute {
  name: string;
  /** Route template without the `api/` prefix. */
  route: string;
  methods: Operation['method'][];
  /** The role the caller needs (reader, admin, promoter), or public. */
  access: Access;
  handler: HttpHandler;
}

function toApiRequest(request: HttpRequest): ApiRequest {
  return {
    method: request.method,
    url: request.url,
    params: { ...request.params },
    query: request.query,
    header: (name) => request.headers.get(name),
    text: () => request.text(),
  };
}

export function toHttpHandler(operation: Operation): HttpHandler {
  return async (request, context) => {
    const correlationId = context.invocationId;
    let runtime;
    try {
      runtime = getRuntime();
    } catch (error) {
      // Bad settings: say so in the log, never in the response.
      context.error(`runtime unavailable: ${error instanceof Error ? error.message : String(error)}`);
      return { status: 500, jsonBody: { errors: [{ field: '', message: `internal error; quote correlation id ${correlationId}` }], correlation_id: correlationId } };
    }
    const response = await dispatch(operation, toApiRequest(request), runtime, correlationId);
    return {
      status: response.status,
      ...(response.headers ? { headers: response.headers } : {}),
      ...(response.body !== undefined ? { jsonBody: response.body } : {}),
    };
  };
}

/** The routes of a resource's operations. */
export function routesOf(operations: readonly Operation[]): ApiRoute[] {
  return operations.map((operation) => ({
    name: operation.name,
    route: operation.route,
    methods: [operation.method],
    access: operation.access,
    handler: toHttpHandler(operation),
  }));
}
