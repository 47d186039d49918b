/**
 * Serves HTTP functions on a plain node:http server under the same routes as
 * Azure Functions (`/api/<route>`), by building the same HttpRequest objects
 * the host builds and calling the same handlers: there is no second
 * implementation of the API.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import azureFunctions, { type HttpResponseInit } from '@azure/functions';

// @azure/functions is CommonJS; Node's ESM loader does not detect these named exports.
const { HttpRequest, InvocationContext } = azureFunctions;
type HttpRequest = InstanceType<typeof HttpRequest>;
type InvocationContext = InstanceType<typeof InvocationContext>;
import type { Logger } from '../shared/log.js';
import { consoleAsset } from '../shared/console/assets.js';

export interface HttpRoute {
  name: string;
  /** Azure Functions route template, without the `api/` prefix: `tables/{id}`, `tables/{id:int}`, `health`. */
  route: string;
  methods: readonly string[];
  handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
}

interface CompiledRoute extends HttpRoute {
  pattern: RegExp;
  paramNames: string[];
}

const ROUTE_PREFIX = '/api/';

/** Turns a route template into a matcher; `{name}`, `{name:constraint}` and `{name?}` segments. */
export function compileRoute(route: HttpRoute): CompiledRoute {
  const paramNames: string[] = [];
  const segments = route.route.replace(/^\/+|\/+$/g, '').split('/');
  const source = segments
    .map((segment) => {
      const match = /^\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}$/.exec(segment);
      if (!match) return `/${segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
      const [, catchAll, name, constraint, optional] = match;
      paramNames.push(name!);
      const body = catchAll ? '(.*)' : constraint === 'int' ? '(-?\\d+)' : '([^/]+)';
      return optional ? `(?:/${body})?` : `/${body}`;
    })
    .join('');
  return { ...route, pattern: new RegExp(`^${source}/?$`, 'i'), paramNames };
}

/** An answer in the API's one error shape, with its own correlation id. */
function failure(status: number, field: string, message: string, headers: Record<string, string> = {}): HttpResponseInit {
  const correlationId = randomUUID();
  return {
    status,
    headers: { 'x-correlation-id': correlationId, ...headers },
    jsonBody: { errors: [{ field, message }], correlation_id: correlationId },
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function writeResponse(response: ServerResponse, result: HttpResponseInit): Promise<void> {
  const headers = new Headers(result.headers as ConstructorParameters<typeof Headers>[0]);
  let body: string | Uint8Array | undefined;
  if (result.jsonBody !== undefined) {
    body = JSON.stringify(result.jsonBody);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  } else if (typeof result.body === 'string' || result.body instanceof Uint8Array) {
    body = result.body;
  }
  response.writeHead(result.status ?? 200, Object.fromEntries(headers.entries()));
  response.end(body);
}

export interface LocalHttpServer {
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 for any free port). */
export async function startHttpServer(routes: readonly HttpRoute[], port: number, log: Logger): Promise<LocalHttpServer> {
  const compiled = routes.map(compileRoute);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (!url.pathname.startsWith(ROUTE_PREFIX)) {
        // Everything outside /api is the admin console's built files.
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          await writeResponse(res, failure(405, '', `method ${req.method ?? ''} is not allowed on ${url.pathname}: use GET`, { allow: 'GET, HEAD' }));
          return;
        }
        const asset = await consoleAsset(url.pathname.slice(1));
        await writeResponse(res, { status: asset.status, headers: asset.headers, body: asset.body });
        return;
      }
      const path = url.pathname.slice(ROUTE_PREFIX.length - 1);
      const requested = (req.method ?? 'GET').toUpperCase();
      // HEAD is GET without a body (node:http leaves the body out of a HEAD response).
      const method = requested === 'HEAD' ? 'GET' : requested;
      const allowed = new Set<string>();
      for (const route of compiled) {
        const match = route.pattern.exec(path);
        if (!match) continue;
        for (const m of route.methods) allowed.add(m);
        if (!route.methods.includes(method)) continue;
        const params: Record<string, string> = {};
        for (const [i, name] of route.paramNames.entries()) {
          const value = match[i + 1];
          if (value === undefined) continue;
          try {
            params[name] = decodeURIComponent(value);
          } catch {
            await writeResponse(res, failure(400, name, 'has a malformed percent-escape: encode the value with encodeURIComponent'));
            return;
          }
        }
        const headers: Record<string, string> = {};
        for (const [key, value] of Object.entries(req.headers)) {
          if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(', ') : value;
        }
        const body = await readBody(req);
        const request = new HttpRequest({
          method,
          url: url.toString(),
          headers,
          params,
          ...(body.length > 0 ? { body: { bytes: body } } : {}),
        });
        const context = new InvocationContext({ functionName: route.name, invocationId: randomUUID() });
        await writeResponse(res, await route.handler(request, context));
        return;
      }
      if (allowed.size === 0) {
        await writeResponse(res, failure(404, '', `no route ${url.pathname}: GET /api/openapi.json lists every route`));
        return;
      }
      const allow = [...new Set([...allowed, ...(allowed.has('GET') ? ['HEAD'] : []), 'OPTIONS'])].join(', ');
      if (requested === 'OPTIONS') {
        await writeResponse(res, { status: 204, headers: { allow } });
        return;
      }
      await writeResponse(res, failure(405, '', `method ${requested} is not allowed on ${url.pathname}: use ${allow}`, { allow }));
    })().catch(async (error: unknown) => {
      log.error('http request failed', { path: req.url, reason: error instanceof Error ? error.message : String(error) });
      if (!res.headersSent) await writeResponse(res, failure(500, '', 'internal error; see the host log'));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
