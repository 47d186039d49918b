/** Who may call what: principals from App Service authentication, roles, the development principal. */
import { HttpRequest, InvocationContext } from '@azure/functions';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePrincipal, parsePrincipal, resolvePrincipal } from '../shared/api/principal.js';
import { ApiError } from '../shared/api/errors.js';
import { parseSettings } from '../shared/settings.js';
import { dispatch } from '../shared/api/dispatch.js';
import { listTablesOperation } from '../shared/api/operations/tables.js';
import { createLogger } from '../shared/log.js';
import { createRuntime } from '../shared/runtime.js';
import { createTestDatabase } from './support/db.js';
import { apiRoutes } from '../functions/http/routes.js';
import { ADMIN, call, insertConnection, PROMOTER, READER, setUpApi, snapshot, type ApiTestContext } from './support/api.js';

let api: ApiTestContext;

beforeAll(async () => {
  api = await setUpApi();
  await insertConnection(api.db, 'sales_pg');
});

const header = (headers: Record<string, string>) => (name: string) => headers[name] ?? null;

describe('principal parsing', () => {
  it('reads the name and roles App Service sends', () => {
    const encoded = Buffer.from(
      JSON.stringify({
        auth_typ: 'aad',
        name_typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
        role_typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role',
        claims: [
          { typ: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', val: 'Ana Silva' },
          { typ: 'preferred_username', val: 'ana@example.com' },
          { typ: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role', val: 'DataLoader.Admin' },
          { typ: 'roles', val: 'DataLoader.Reader' },
          { typ: 'groups', val: 'not-a-role' },
        ],
      }),
    ).toString('base64');
    const p = parsePrincipal(header({ 'x-ms-client-principal': encoded }))!;
    expect(p.name).toBe('Ana Silva');
    expect([...p.roles].sort()).toEqual(['DataLoader.Admin', 'DataLoader.Reader']);
  });

  it('falls back to preferred_username, then the principal-name header', () => {
    const withUpn = Buffer.from(JSON.stringify({ claims: [{ typ: 'preferred_username', val: 'bo@example.com' }] })).toString('base64');
    expect(parsePrincipal(header({ 'x-ms-client-principal': withUpn }))!.name).toBe('bo@example.com');
    const bare = Buffer.from(JSON.stringify({ claims: [{ typ: 'roles', val: 'DataLoader.Reader' }] })).toString('base64');
    expect(parsePrincipal(header({ 'x-ms-client-principal': bare, 'x-ms-client-principal-name': 'cy@example.com' }))!.name).toBe('cy@example.com');
    expect(() => parsePrincipal(header({ 'x-ms-client-principal': bare }))).toThrow(ApiError);
  });

  it('rejects a malformed principal with 401', () => {
    for (const bad of ['not base64 json', Buffer.from('{"claims": 3}').toString('base64'), Buffer.from('[').toString('base64')]) {
      expect(() => parsePrincipal(header({ 'x-ms-client-principal': bad }))).toThrow(expect.objectContaining({ status: 401 }));
    }
    expect(parsePrincipal(header({}))).toBeUndefined();
  });

  it('acts as the development principal only when allowed and no header is sent', () => {
    const off = parseSettings({ DEV_PRINCIPAL: 'dev@local' });
    expect(resolvePrincipal(header({}), off)).toBeUndefined();
    const on = parseSettings({ DEV_PRINCIPAL: 'dev@local', ALLOW_DEV_PRINCIPAL: 'true' });
    const dev = resolvePrincipal(header({}), on)!;
    expect(dev.name).toBe('dev@local');
    expect([...dev.roles].sort()).toEqual(['DataLoader.Admin', 'DataLoader.Promoter', 'DataLoader.Reader']);
    // A real principal wins over the development one.
    expect(resolvePrincipal(header({ 'x-ms-client-principal': encodePrincipal('ana', []) }), on)!.name).toBe('ana');
    expect(parseSettings({ ALLOW_DEV_PRINCIPAL: 'true' }).DEV_PRINCIPAL).toBe('');
    expect(resolvePrincipal(header({}), parseSettings({ ALLOW_DEV_PRINCIPAL: 'true' }))).toBeUndefined();
  });
});

describe('access to the endpoints', () => {
  const create = { db_config_key: 'sales_pg', source_table_catalog: 'c', source_table_schema: 's', source_table_name: 't', destination_table_name: 't', load_strategy: 'full' };

  it('no principal: 401, on reads and writes, changing nothing', async () => {
    const before = await snapshot(api.db);
    expect((await call('GET', '/api/tables', { as: null })).status).toBe(401);
    const res = await call('POST', '/api/tables', { as: null, body: create });
    expect(res.status).toBe(401);
    expect(res.body.errors[0].message).toMatch(/no principal/);
    expect(await snapshot(api.db)).toEqual(before);
  });

  it('a reader reads but may not write (403); an admin reads and writes; promotion needs its own role', async () => {
    expect((await call('GET', '/api/tables', { as: READER })).status).toBe(200);
    const before = await snapshot(api.db);
    const denied = await call('POST', '/api/tables', { as: READER, body: create });
    expect(denied.status).toBe(403);
    expect(denied.body.errors[0].message).toContain('DataLoader.Admin');
    expect(await snapshot(api.db)).toEqual(before);
    expect((await call('GET', '/api/tables', { as: { name: 'x', roles: ['Other'] } })).status).toBe(403);
    expect((await call('GET', '/api/tables', { as: ADMIN })).status).toBe(200);
    expect((await call('POST', '/api/tables', { as: ADMIN, body: create })).status).toBe(201);
    expect((await call('GET', '/api/tables', { as: PROMOTER })).status).toBe(403);
  });

  it('every route names its access, and a write route refuses a reader', async () => {
    for (const route of apiRoutes) {
      expect(['public', 'reader', 'admin', 'promoter']).toContain(route.access);
      if (route.access !== 'admin') continue;
      const request = new HttpRequest({
        method: route.methods[0]!,
        url: 'http://localhost/api/x',
        headers: { 'x-ms-client-principal': encodePrincipal(READER.name, READER.roles) },
        params: { id: '1', key: 'k' },
        body: { string: '{}' },
      });
      const res = await route.handler(request, new InvocationContext({ functionName: route.name }));
      expect(res.status, route.name).toBe(403);
    }
  });

  it('error responses carry a correlation id and no stack trace', async () => {
    const res = await call('GET', '/api/tables/999999');
    expect(res.status).toBe(404);
    expect(res.body.correlation_id).toBe(res.headers.get('x-correlation-id'));
    expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('an unexpected error is a 500 with a correlation id, logged, without the database message', async () => {
    const empty = await createTestDatabase({ empty: true });
    const lines: string[] = [];
    const runtime = createRuntime({
      settings: parseSettings({ DATABASE_URL: empty.url, CONTROL_DB_SSL: 'disable' }),
      log: createLogger('info', (line) => lines.push(line)),
    });
    try {
      const res = await dispatch(
        listTablesOperation,
        {
          method: 'GET',
          url: 'http://localhost/api/tables',
          params: {},
          query: new URLSearchParams(),
          header: (name) => (name === 'x-ms-client-principal' ? encodePrincipal(ADMIN.name, ADMIN.roles) : null),
          text: async () => '',
        },
        runtime,
        'corr-123',
      );
      expect(res.status).toBe(500);
      expect(res.body).toEqual({ errors: [{ field: '', message: 'internal error; quote correlation id corr-123' }], correlation_id: 'corr-123' });
      expect(lines.join('\n')).toMatch(/api request failed .*correlation_id=corr-123 .*does not exist.*code=42P01/);
    } finally {
      await runtime.close();
    }
  });
});
