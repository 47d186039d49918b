import { afterAll, describe, expect, it } from 'vitest';
import type { HttpRequest } from '@azure/functions';
import { compileRoute, startHttpServer, type HttpRoute } from '../host/http-server.js';
import { silentLogger } from '../shared/log.js';

const echo = (name: string): HttpRoute['handler'] => async (request: HttpRequest) => ({
  status: 200,
  jsonBody: {
    name,
    method: request.method,
    params: request.params,
    query: Object.fromEntries(request.query.entries()),
    body: request.method === 'GET' ? null : await request.text(),
    principal: request.headers.get('x-ms-client-principal'),
  },
});

const invocation: HttpRoute['handler'] = async (_request, context) => ({ status: 200, jsonBody: { id: context.invocationId } });

const routes: HttpRoute[] = [
  { name: 'tablesList', route: 'tables', methods: ['GET', 'POST'], handler: echo('tablesList') },
  { name: 'tableOne', route: 'tables/{id:int}', methods: ['GET', 'PATCH'], handler: echo('tableOne') },
  { name: 'invocation', route: 'invocation', methods: ['GET'], handler: invocation },
  { name: 'boom', route: 'boom', methods: ['GET'], handler: async () => { throw new Error('kaput'); } },
];

const server = await startHttpServer(routes, 0, silentLogger);
afterAll(() => server.close());

describe('local HTTP host', () => {
  it('routes /api/<route> to the handler with params, query, headers and body', async () => {
    const res = await fetch(`${server.url}/api/tables/42?x=1`, {
      method: 'PATCH',
      headers: { 'x-ms-client-principal': 'abc', 'content-type': 'application/json' },
      body: '{"is_active":true}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: 'tableOne', method: 'PATCH', params: { id: '42' }, query: { x: '1' }, body: '{"is_active":true}', principal: 'abc',
    });
  });

  it('answers 404 for unknown paths, 405 for a known path with another method, 500 without details', async () => {
    expect((await fetch(`${server.url}/api/nothing`)).status).toBe(404);
    expect((await fetch(`${server.url}/tables`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/tables/42`, { method: 'DELETE' })).status).toBe(405);
    expect((await fetch(`${server.url}/api/tables/abc`)).status).toBe(404);
    const boom = await fetch(`${server.url}/api/boom`);
    expect(boom.status).toBe(500);
    expect(await boom.text()).not.toContain('kaput');
  });

  it('gives every request its own invocation id, as the Functions host does', async () => {
    const ids = await Promise.all([1, 2].map(async () => ((await (await fetch(`${server.url}/api/invocation`)).json()) as { id: string }).id));
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('compiles optional and constrained segments', () => {
    const r = compileRoute({ name: 'x', route: 'runs/{table}/{limit:int?}', methods: ['GET'], handler: echo('x') });
    expect(r.pattern.test('/runs/orders')).toBe(true);
    expect(r.pattern.test('/runs/orders/5')).toBe(true);
    expect(r.pattern.test('/runs/orders/x/y')).toBe(false);
  });
});
