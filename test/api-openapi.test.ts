/** The OpenAPI document and the registration of every HTTP function. */
import { beforeAll, describe, expect, it } from 'vitest';
import { setup, type FunctionsApp } from '../functions/register.js';
import { apiRoutes } from '../functions/http/routes.js';
import { TABLE_FIELDS } from '../shared/api/schemas/tables.js';
import { call, setUpApi } from './support/api.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
let doc: any;

beforeAll(async () => {
  await setUpApi();
  const res = await call('GET', '/api/openapi.json', { as: null });
  expect(res.status).toBe(200);
  doc = res.body;
});

function refs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => refs(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else refs(v, out);
    }
  }
  return out;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with every route, method and operation id', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const route of apiRoutes) {
      const path = `/${route.route.replace(/\{(\w+)(?::\w+)?\}/g, '{$1}')}`;
      const op = doc.paths[path]?.[route.methods[0]!.toLowerCase()];
      expect(op, `${route.methods[0]} ${path}`).toBeDefined();
      expect(op.operationId).toBe(route.name);
      expect(op['x-required-access']).toBe(route.access);
      expect(op.responses['400'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Errors' });
    }
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p as Record<string, { operationId: string }>).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(apiRoutes.length);
  });

  it('every reference resolves to a component', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(10);
    for (const ref of all) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.split('/').pop()!], ref).toBeDefined();
    }
    expect(doc.components.schemas.Errors.properties.errors.type).toBe('array');
  });

  it('describes the same rules the validation applies', () => {
    const create = doc.components.schemas.TableCreate;
    expect(create.additionalProperties).toBe(false);
    expect(Object.keys(create.properties).sort()).toEqual([...TABLE_FIELDS].sort());
    const name = create.properties.source_table_name.anyOf[0];
    expect(name).toMatchObject({ type: 'string', maxLength: 255 });
    expect(name.pattern).toBeDefined();
    expect(create.properties.load_strategy.anyOf[0].enum).toContain('chunked_backfill');
    expect(create.properties.incremental_type.anyOf[0].enum).toEqual(['timestamp', 'date', 'integer', 'decimal']);

    const list = doc.paths['/tables'].get.parameters;
    expect(list.find((p: { name: string }) => p.name === 'limit')).toMatchObject({ in: 'query', required: false, schema: { maximum: 1000 } });
    expect(doc.paths['/tables/{id}'].patch.parameters).toEqual([
      expect.objectContaining({ name: 'id', in: 'path', required: true, schema: expect.objectContaining({ type: 'integer' }) }),
      expect.objectContaining({ name: 'If-Match', in: 'header', required: false, description: expect.stringMatching(/ETag/) }),
    ]);
    expect(doc.paths['/connections/{key}'].patch.parameters.map((p: { name: string }) => p.name)).toEqual(['key', 'If-Match']);
    expect(doc.paths['/connections/{key}/history'].get).toBeDefined();
    expect(doc.paths['/tables'].post.responses['415']).toBeDefined();
    expect(doc.paths['/connections/{key}'].put.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ConnectionPut' });
    expect(doc.components.schemas.DbConfigValue.properties.password.pattern).toBe('^[A-Za-z0-9-]{1,127}$');
    expect(doc.paths['/tables/{id}'].get.description).toContain('DataLoader.Reader or DataLoader.Admin');
  });
});

describe('registration', () => {
  it('registers every route as an HTTP function with a function key', () => {
    const registered: { name: string; options: { route: string; methods: string[]; authLevel: string } }[] = [];
    const app = {
      http: (name: string, options: { route: string; methods: string[]; authLevel: string }) => registered.push({ name, options }),
      timer: () => undefined,
      serviceBusQueue: () => undefined,
    } as unknown as FunctionsApp;
    setup(app);
    const api = registered.filter((r) => apiRoutes.some((route) => route.name === r.name));
    expect(api).toHaveLength(apiRoutes.length);
    for (const r of api) {
      expect(r.options.authLevel).toBe('function');
      expect(r.options.route).not.toMatch(/^\/?api\//);
      expect(r.name).toMatch(/^[a-z][a-z0-9-]*$/);
    }
    // Two functions share a route only with different methods.
    const keys = api.map((r) => `${r.options.methods.join(',')} ${r.options.route}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
