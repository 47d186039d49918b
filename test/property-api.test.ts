/**
 * Property: the admin API's validation (guarantee 7). For any JSON body sent to
 * create or change a table or a connection, the answer is either a 4xx with
 * `{errors: [{field, message}]}` and nothing changed, or a 2xx whose stored row
 * is exactly the input (with the documented defaults); never a 500.
 *
 * Bodies are valid configurations of every strategy, then mutated field by
 * field with hostile or ill-typed values (SQL, quotes, NUL, unicode, lone
 * surrogates, numbers as strings, unknown and runtime fields), plus arbitrary
 * JSON. FC_SEED and FC_RUNS reproduce or widen a run.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { INCREMENTAL_TYPES, TABLE_FIELDS } from '../shared/api/schemas/tables.js';
import { connectorFor } from '../shared/connectors/registry.js';
import { DB_TYPES, LOAD_STRATEGIES } from '../shared/control/rows.js';
import { call, insertConnection, setUpApi, snapshot, type ApiTestContext, type CallResult } from './support/api.js';

let api: ApiTestContext;

const RUNS = Number(process.env.FC_RUNS ?? 60);
const SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const settingsOf = (numRuns = RUNS) => ({ numRuns, ...SEED });

beforeAll(async () => {
  api = await setUpApi();
  await insertConnection(api.db, 'sales_pg');
  await insertConnection(api.db, 'crm_pg');
});

// ---- values -------------------------------------------------------------------------------------

const goodName = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/) },
  { weight: 1, arbitrary: fc.constantFrom('Ünïcødé', '表格_1', 'Order Lines', 'a$b#c@d-e', 'ÅSE', 'x') },
);

/** Strings that have broken APIs before: SQL, quotes, comment markers, NUL, long, blank, odd unicode. */
const hostile = fc.constantFrom(
  "'; DROP TABLE control.table_control; --",
  'orders"; DELETE FROM control.table_control_dbconfig; --',
  "O'Brien",
  'a"b',
  'a.b',
  'x\u0000y',
  '\u0000',
  '',
  ' ',
  ' padded ',
  '%',
  '_',
  '\\',
  '/* */',
  '--',
  '1; SELECT pg_sleep(10)',
  '\ud800',
  'lone \udc00 surrogate',
  '😀',
  'x'.repeat(256),
  'y'.repeat(101),
);

const junk = fc.oneof(
  hostile,
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 2 }),
);

const cron = fc.constantFrom('0 * * * *', '*/15 * * * *', '0 0 * * *', '30 0 * * * *', '@hourly', '0 6 * * 1-5');
const columnList = fc.array(goodName, { minLength: 1, maxLength: 3 }).map((names) => names.join(', '));
const incrementalType = fc.constantFrom(...INCREMENTAL_TYPES);

const strategyFields = fc.oneof(
  fc.constant({ load_strategy: 'full' }),
  fc.constant({ load_strategy: 'check_and_load' }),
  fc.record({ load_strategy: fc.constant('incremental'), incremental_column: goodName, incremental_type: incrementalType, primary_key_cols: columnList }),
  fc.record({ load_strategy: fc.constant('append_only'), incremental_column: goodName, incremental_type: incrementalType }),
  fc.record({ load_strategy: fc.constant('rolling'), rolling_column: goodName, rolling_days: fc.integer({ min: 1, max: 36_500 }) }),
  fc
    .record({ partition_column: goodName, lower: fc.integer({ min: -1000, max: 1000 }), span: fc.integer({ min: 1, max: 100_000 }), n: fc.integer({ min: 1, max: 10_000 }) })
    .map(({ partition_column, lower, span, n }) => ({
      load_strategy: 'chunked_backfill',
      partition_column,
      lower_bound: String(lower),
      upper_bound: String(lower + span),
      num_partitions: n,
    })),
);

const extras = fc.record(
  {
    is_active: fc.boolean(),
    load_cron: cron,
    destination_table_schema: goodName,
    destination_table_catalog: goodName,
    query: fc.constantFrom('SELECT * FROM sales.orders', "SELECT 'a;b' AS x", 'SELECT 1'),
    load_full: fc.constantFrom('Y', 'n', 'YES', 'false', '1', '0'),
    incremental_value: fc.string({ maxLength: 30 }),
  },
  { requiredKeys: [] },
);

/** A valid configuration: the names, a strategy with its fields, some optional fields. */
const validTable = fc
  .record({
    db_config_key: fc.constantFrom('sales_pg', 'crm_pg'),
    source_table_catalog: goodName,
    source_table_schema: goodName,
    source_table_name: goodName,
    destination_table_name: goodName,
    strategy: strategyFields,
    extras,
  })
  .map(({ strategy, extras: more, ...names }) => {
    const body: Record<string, unknown> = { ...names, ...strategy, ...more };
    // An active table needs a schedule: keep most active bodies valid.
    if (body.is_active === true && body.load_cron === undefined) body.load_cron = '0 * * * *';
    return body;
  });

/** A key to set (a writable field most often, else an unknown or runtime one) and a value (undefined: leave it out). */
const mutation = fc.record({
  key: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...TABLE_FIELDS) },
    { weight: 1, arbitrary: fc.constantFrom('last_status', 'config_id', 'control_key', 'created_at', 'last_run_id', 'colour', '__proto__', 'constructor') },
  ),
  value: fc.oneof({ weight: 4, arbitrary: junk }, { weight: 1, arbitrary: fc.constant(undefined) }),
});

function mutate(body: Record<string, unknown>, mutations: { key: string; value: unknown }[]): Record<string, unknown> {
  const out = { ...body };
  for (const { key, value } of mutations) {
    if (value === undefined) delete out[key];
    else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const tableBody = fc.oneof(
  { weight: 2, arbitrary: validTable },
  { weight: 5, arbitrary: fc.tuple(validTable, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, m]) => mutate(b, m)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

// ---- checks -------------------------------------------------------------------------------------

/** What the API receives: the body after a JSON round trip (undefined dropped, -0 as 0). */
const sent = (body: unknown): unknown => JSON.parse(JSON.stringify(body) ?? 'null');

function expectRefusal(res: CallResult, allowed: number[]): void {
  expect(allowed, JSON.stringify(res.body)).toContain(res.status);
  expect(Array.isArray(res.body.errors)).toBe(true);
  expect(res.body.errors.length).toBeGreaterThan(0);
  for (const e of res.body.errors) {
    expect(typeof e.field).toBe('string');
    expect(typeof e.message).toBe('string');
    expect(e.message.length).toBeGreaterThan(0);
  }
  if (res.status === 400) expect(res.body.errors.every((e: { field: string }) => e.field.length > 0)).toBe(true);
  expect(JSON.stringify(res.body)).not.toMatch(/\n\s+at |node_modules|DatabaseError/);
}

/**
 * A 409 is right only for a duplicate: another row (named in the body) loading the same source
 * (control_key: catalog, schema and name concatenated) into the same destination.
 */
async function expectDuplicate(res: CallResult, wanted: Record<string, unknown>): Promise<void> {
  expect(res.status).toBe(409);
  const duplicates = res.body.duplicates as { duplicate_of: number }[] | undefined;
  expect(duplicates?.length, JSON.stringify(res.body)).toBeGreaterThan(0);
  const other = await storedTable(duplicates![0]!.duplicate_of);
  const source = (row: Record<string, unknown>) => ['source_table_catalog', 'source_table_schema', 'source_table_name'].map((f) => row[f] ?? '').join('');
  expect(source(other)).toBe(source(wanted));
  for (const f of ['destination_table_catalog', 'destination_table_schema', 'destination_table_name']) expect(other[f] ?? null, f).toBe(wanted[f] ?? null);
}

const writable = (row: Record<string, unknown>) => Object.fromEntries(TABLE_FIELDS.map((f) => [f, row[f]]));
const defaults = Object.fromEntries(TABLE_FIELDS.map((f) => [f, f === 'is_active' ? false : null]));

async function storedTable(configId: number): Promise<Record<string, unknown>> {
  const got = await call('GET', `/api/tables/${configId}`);
  expect(got.status).toBe(200);
  return writable(got.body);
}

describe('tables: any body is refused with field errors and changes nothing, or stored exactly', () => {
  it('POST /api/tables', async () => {
    let created = 0;
    await fc.assert(
      fc.asyncProperty(tableBody, async (body) => {
        const before = await snapshot(api.db);
        const res = await call('POST', '/api/tables', { body });
        const expected = { ...defaults, ...(sent(body) as Record<string, unknown>) };
        if (res.status === 201) {
          created++;
          expect(writable(res.body)).toEqual(expected);
          expect(await storedTable(res.body.config_id)).toEqual(expected);
        } else {
          if (res.status === 409) await expectDuplicate(res, expected);
          else expectRefusal(res, [400]);
          expect(await snapshot(api.db)).toEqual(before);
        }
      }),
      settingsOf(),
    );
    // The generator must reach both outcomes, or the property says little.
    expect(created).toBeGreaterThan(0);
  });

  it('PATCH and PUT /api/tables/{id}', async () => {
    const base = await call('POST', '/api/tables', {
      body: { db_config_key: 'sales_pg', source_table_catalog: 'p', source_table_schema: 'p', source_table_name: 'patched', destination_table_name: 'patched', load_strategy: 'full' },
    });
    expect(base.status).toBe(201);
    const id = base.body.config_id as number;
    const patch = fc.oneof(
      { weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 4 }).map((m) => mutate({}, m)) },
      { weight: 2, arbitrary: validTable },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    );
    let changed = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('PATCH', 'PUT'), patch, async (method, body) => {
        const current = await storedTable(id);
        const before = await snapshot(api.db);
        const res = await call(method, `/api/tables/${id}`, { body, headers: { 'if-match': '*' } });
        // PUT states the whole configuration, except the watermark, which stays unless given.
        const base = method === 'PUT' ? { ...defaults, incremental_value: current.incremental_value } : current;
        const expected = { ...base, ...(sent(body) as Record<string, unknown>) };
        if (res.status === 200) {
          changed++;
          expect(writable(res.body)).toEqual(expected);
          expect(await storedTable(id)).toEqual(expected);
        } else {
          if (res.status === 409) await expectDuplicate(res, expected);
          else expectRefusal(res, [400]);
          expect(await snapshot(api.db)).toEqual(before);
        }
      }),
      settingsOf(),
    );
    expect(changed).toBeGreaterThan(0);
  });
});

describe('connections: any key and body is refused with field errors and changes nothing, or stored exactly', () => {
  const secretName = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
  const key = fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.-]{1,20}$/) }, { weight: 1, arbitrary: hostile })
    // A URL path holds neither dot segments (resolved away) nor lone surrogates (not encodable): no request can carry them.
    .filter((k) => k !== '' && k !== '.' && k !== '..' && !/[\ud800-\udfff]/.test(k));
  const value = fc.record(
    {
      host: secretName,
      port: secretName,
      database: secretName,
      user: secretName,
      password: secretName,
      private_key: secretName,
      sslmode: fc.constantFrom('disable', 'require', 'verify-full', 'sslmode-secret'),
      trust_server_certificate: secretName,
    },
    { requiredKeys: ['host', 'port', 'database', 'user'] },
  );
  const body = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(
          fc.record(
            {
              db_config_value: value,
              db_type: fc.constantFrom(...DB_TYPES),
              db_kv_scope: fc.stringMatching(/^[a-z][a-z0-9_.-]{0,15}$/),
              default_target_schema: fc.oneof(goodName, fc.constant(null)),
            },
            { requiredKeys: ['db_config_value', 'db_type'] },
          ),
          fc.array(
            fc.record({
              key: fc.constantFrom('db_config_value', 'db_type', 'db_kv_scope', 'default_target_schema', 'db_config_key', 'created_at', 'extra'),
              value: junk,
            }),
            { maxLength: 2 },
          ),
        )
        .map(([b, m]) => mutate(b, m)),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );

  it('PUT /api/connections/{key}', async () => {
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(key, body, async (k, b) => {
        const before = await snapshot(api.db);
        const res = await call('PUT', `/api/connections/${encodeURIComponent(k)}`, { body: b });
        if (res.status === 200 || res.status === 201) {
          stored++;
          const input = sent(b) as Record<string, unknown>;
          const expected = {
            db_config_key: k,
            db_config_value: input.db_config_value,
            db_type: input.db_type,
            db_kv_scope: input.db_kv_scope ?? 'azure-keyvault',
            default_target_schema: input.default_target_schema ?? null,
          };
          const got = await call('GET', `/api/connections/${encodeURIComponent(k)}`);
          for (const row of [res.body, got.body]) {
            expect(Object.fromEntries(Object.keys(expected).map((f) => [f, row[f]]))).toEqual(expected);
          }
        } else {
          expectRefusal(res, [400]);
          expect(await snapshot(api.db)).toEqual(before);
        }
      }),
      settingsOf(),
    );
    expect(stored).toBeGreaterThan(0);
  });
});

it('a lone surrogate in a text field is refused by name: PostgreSQL text cannot hold it exactly', async () => {
  const before = await snapshot(api.db);
  const res = await call('POST', '/api/tables', {
    body: { db_config_key: 'sales_pg', source_table_catalog: 's', source_table_schema: 's', source_table_name: 'surrogate', destination_table_name: 'surrogate', load_strategy: 'full', incremental_value: 'lone \udc00 surrogate' },
  });
  expectRefusal(res, [400]);
  expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(['incremental_value']);
  expect(await snapshot(api.db)).toEqual(before);
});

it('the generators cover every strategy, and every db_type the API accepts has a source connector', async () => {
  // A guard against the lists above drifting from the product's.
  expect(new Set(fc.sample(strategyFields, 300).map((s) => s.load_strategy))).toEqual(new Set(LOAD_STRATEGIES));
  for (const dbType of DB_TYPES) {
    const connector = connectorFor({ db_config_key: `probe_${dbType}`, db_type: dbType });
    const secrets = Object.fromEntries(['host', 'port', 'database', 'user', ...connector.requiredSecrets, ...connector.optionalSecrets].map((key) => [key, `probe-${key.replaceAll('_', '-')}`]));
    const res = await call('PUT', `/api/connections/probe_${dbType}`, { body: { db_config_value: secrets, db_type: dbType } });
    expect(res.status, `${dbType}: ${JSON.stringify(res.body)}`).toBe(201);
    expect((await call('DELETE', `/api/connections/probe_${dbType}`)).status, dbType).toBeLessThan(300);
  }
  const refused = await call('PUT', '/api/connections/probe_unknown', { body: { db_config_value: { host: 'h' }, db_type: 'db2' } });
  expectRefusal(refused, [400]);
});
