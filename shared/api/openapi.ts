/**
 * The OpenAPI 3.1 document of the admin API, generated from the operations'
 * own zod schemas (zod's native JSON Schema output, draft 2020-12, which is
 * OpenAPI 3.1's schema dialect): what is documented is what is validated.
 */
import { z } from 'zod';
import type { Operation } from './operation.js';
import { errorBody } from './schemas/responses.js';

type Json = Record<string, unknown>;

const ERROR_RESPONSES: Record<number, string> = {
  400: 'Invalid input: every field at fault, with the reason; nothing was changed',
  401: 'No principal (sign in through App Service authentication)',
  403: 'The principal lacks the role this operation needs',
  404: 'Not found',
  409: 'Conflict: a stale version, a duplicate table, or a state that forbids the action; nothing was changed',
  415: 'A write whose body is not sent as application/json; nothing was changed',
  428: 'The version the change is based on is missing (If-Match or last_modified_at)',
  500: 'Unexpected error; the body carries a correlation id to quote',
  503: 'The control database is busy or unreachable; retry',
};

/** Moves `$defs` into the document's components and points the references there. */
function hoist(schema: Json, components: Record<string, Json>): Json {
  const { $defs, $schema: _dialect, ...rest } = schema as Json & { $defs?: Record<string, Json>; $schema?: string };
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/$defs/', '#/components/schemas/') : rewrite(v)]),
      );
    }
    return value;
  };
  for (const [id, def] of Object.entries($defs ?? {})) components[id] = rewrite(def) as Json;
  return rewrite(rest) as Json;
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Record<string, Json>): Json {
  return hoist(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json, components);
}

/** Path or query parameters from an object schema. */
function parametersOf(schema: z.ZodType | undefined, where: 'path' | 'query', components: Record<string, Json>, route = ''): Json[] {
  if (!schema) return [];
  const object = jsonSchema(schema, 'input', components) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    // A `{name:int}` segment only matches digits: the parameter is an integer, whatever the coercing schema says.
    schema: where === 'path' && route.includes(`{${name}:int}`) ? { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER } : s,
  }));
}

function ifMatchParameter(kind: 'recommended' | 'optional'): Json {
  return {
    name: 'If-Match',
    in: 'header',
    required: false,
    description:
      'The ETag of the row as last read (`"<last_modified_at>"`, weak `W/` accepted), or `*` for any version. ' +
      'A change based on another version is refused with 409; a value that is not an ETag of this API with 400.' +
      (kind === 'recommended' ? ' Without it (and without last_modified_at in the body) the change is refused with 428.' : ''),
    schema: { type: 'string', examples: ['"2026-01-31T12:00:00.123456Z"', '*'] },
  };
}

/** `tables/{id:int}` -> `/tables/{id}`. */
const openApiPath = (route: string) => `/${route.replace(/\{([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\??\}/g, '{$1}')}`;

export function buildOpenApiDocument(operations: readonly Operation[], roles: { reader: string; admin: string; promoter: string }): Json {
  const components: Record<string, Json> = {};
  const errorRef = { $ref: '#/components/schemas/Errors' };
  // errorBody carries the id Errors: converting it registers the component.
  jsonSchema(errorBody, 'output', components);
  const paths: Record<string, Record<string, Json>> = {};
  for (const op of operations) {
    const responses: Record<string, Json> = {};
    for (const [status, r] of Object.entries(op.responses)) {
      responses[status] = {
        description: r.description,
        ...(r.schema ? { content: { 'application/json': { schema: jsonSchema(r.schema, 'output', components) } } } : {}),
      };
    }
    for (const [status, description] of Object.entries(ERROR_RESPONSES)) {
      responses[status] ??= { description, content: { 'application/json': { schema: errorRef } } };
    }
    const role = op.access === 'public' ? undefined : op.access === 'reader' ? `${roles.reader} or ${roles.admin}` : roles[op.access];
    const path = (paths[openApiPath(op.route)] ??= {});
    path[op.method.toLowerCase()] = {
      operationId: op.name,
      summary: op.summary,
      tags: [op.tag],
      ...(role ? { description: `Requires the role ${role}.` } : { description: 'Needs no principal.' }),
      'x-required-access': op.access,
      parameters: [
        ...parametersOf(op.params, 'path', components, op.route),
        ...parametersOf(op.query, 'query', components),
        ...(op.ifMatch ? [ifMatchParameter(op.ifMatch)] : []),
      ],
      ...(op.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body, 'input', components) } } } }
        : {}),
      responses,
      security: op.access === 'public' ? [{ functionKey: [] }] : [{ functionKey: [], appServiceAuthentication: [] }],
    };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'DataLoader admin API',
      version: '1',
      description:
        'Edit the control database (table_control, table_control_dbconfig) with every change audited in ' +
        'table_control_history. JSON field names are the schema\'s column names.',
    },
    servers: [{ url: '/api' }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        functionKey: { type: 'apiKey', in: 'header', name: 'x-functions-key', description: 'The Azure Functions key (authLevel function).' },
        appServiceAuthentication: {
          type: 'apiKey',
          in: 'header',
          name: 'x-ms-client-principal',
          description: 'Set by App Service authentication from the signed-in user: base64 JSON with the name and role claims.',
        },
      },
    },
  };
}
