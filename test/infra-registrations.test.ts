/**
 * Each registered function's trigger options match what the infra provides:
 * timer schedules and the queue name are %SETTING% references to settings the
 * Bicep and local settings set, the Service Bus trigger's connection is the
 * identity connection the Bicep configures, HTTP routes need a function key and
 * avoid the host's reserved routes.
 *
 * `@azure/functions`'s `app` is replaced by a stand-in that captures every
 * registration, and the real host entry (functions/index.ts) is imported, so
 * what is checked is what the Functions host would be given.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CONSOLE_FUNCTION } from '../functions/http/console.js';
import { apiOperations } from '../shared/api/operations/index.js';
import { parseSettings, settingNames } from '../shared/settings.js';
import { readBicepAppSettings, readLocalSettings, root } from './infra-support.js';

interface Registration {
  kind: string;
  name: string;
  options: Record<string, unknown>;
}

const captured = vi.hoisted(() => {
  const registrations: Registration[] = [];
  const record =
    (kind: string, method?: string) =>
    (name: string, options: unknown): void => {
      const opts = (typeof options === 'function' ? { handler: options } : options) as Record<string, unknown>;
      registrations.push({ kind, name, options: method ? { methods: [method], ...opts } : opts });
    };
  const app = {
    setup: () => undefined,
    hook: new Proxy({}, { get: () => () => ({ dispose: () => undefined }) }),
    timer: record('timer'),
    http: record('http'),
    get: record('http', 'GET'),
    put: record('http', 'PUT'),
    post: record('http', 'POST'),
    patch: record('http', 'PATCH'),
    deleteRequest: record('http', 'DELETE'),
    serviceBusQueue: record('serviceBusQueue'),
    serviceBusTopic: record('serviceBusTopic'),
    storageQueue: record('storageQueue'),
    storageBlob: record('storageBlob'),
    generic: record('generic'),
  };
  return { registrations, app };
});

vi.mock('@azure/functions', async (importOriginal) => ({
  ...(await importOriginal<typeof import('@azure/functions')>()),
  app: captured.app,
}));

/**
 * Registrations that exist in the product today; a refactor that drops one
 * fails here. Functions added later are checked by the generic tests below
 * whether or not they are listed.
 */
const REQUIRED: { kind: string; name: string; option: string; value: string }[] = [
  { kind: 'timer', name: 'sensor', option: 'schedule', value: '%SENSOR_SCHEDULE%' },
  { kind: 'timer', name: 'reaper', option: 'schedule', value: '%REAPER_SCHEDULE%' },
  { kind: 'serviceBusQueue', name: 'loader', option: 'queueName', value: '%LOADS_QUEUE_NAME%' },
];
/** The admin API registers many HTTP functions (one per route); at least this many. */
const MIN_HTTP_FUNCTIONS = 10;

const bicep = readBicepAppSettings();
const local = readLocalSettings();
const defaults = parseSettings({});
const HOST_RESERVED_ROUTES = ['admin', 'runtime'];

function settingReference(value: unknown): string | undefined {
  return typeof value === 'string' ? /^%([A-Za-z0-9_]+)%$/.exec(value)?.[1] : undefined;
}

function expectProvidedSetting(name: string, context: string): void {
  expect(settingNames as readonly string[], `${context}: ${name} is not in shared/settings.ts`).toContain(name);
  expect(bicep.has(name), `${context}: infra/main.bicep does not set ${name}`).toBe(true);
  expect(Object.keys(local), `${context}: local.settings.sample.json does not list ${name}`).toContain(name);
}

describe('function registrations match the infra', () => {
  let registrations: Registration[];

  beforeAll(async () => {
    await import('../functions/index.js');
    registrations = captured.registrations;
  });

  it('registers the functions the product has, each once, with a handler', () => {
    for (const required of REQUIRED) {
      const found = registrations.filter((r) => r.kind === required.kind && r.name === required.name);
      expect(found, `the ${required.kind} function ${required.name}`).toHaveLength(1);
      expect(found[0]!.options[required.option], `${required.name}.${required.option}`).toBe(required.value);
    }
    expect(registrations.filter((r) => r.kind === 'http').length).toBeGreaterThanOrEqual(MIN_HTTP_FUNCTIONS);
    const names = registrations.map((r) => r.name);
    expect(new Set(names).size, `duplicate function names: ${names.join(', ')}`).toBe(names.length);
    for (const r of registrations) {
      expect(r.name, 'function names: a letter, then letters, digits, - or _').toMatch(/^[A-Za-z][A-Za-z0-9_-]{0,127}$/);
      expect(typeof r.options.handler, `${r.name} has a handler`).toBe('function');
    }
  });

  it('uses only triggers the infra provides (timers, the loads queue, HTTP)', () => {
    for (const r of registrations) {
      expect(['timer', 'serviceBusQueue', 'http'], r.name).toContain(r.kind);
    }
  });

  it('timers run on schedules read from settings the infra sets', () => {
    for (const r of registrations.filter((x) => x.kind === 'timer')) {
      const setting = settingReference(r.options.schedule);
      expect(setting, `${r.name}: schedule must be a %SETTING% reference, not ${String(r.options.schedule)}`).toBeDefined();
      expectProvidedSetting(setting!, r.name);
      const schedule = defaults[setting as keyof typeof defaults];
      expect(String(schedule).split(' '), `${r.name}: ${setting} is a six-field NCRONTAB`).toHaveLength(6);
      // A timer that also fires at every start would fire on every scale-out and restart.
      expect(r.options.runOnStartup ?? false, r.name).toBe(false);
    }
  });

  it('the loader reads the loads queue the Bicep creates, one message at a time, through the identity connection', () => {
    for (const r of registrations.filter((x) => x.kind === 'serviceBusQueue')) {
      expect(r.options.queueName, r.name).toBe('%LOADS_QUEUE_NAME%');
      expectProvidedSetting('LOADS_QUEUE_NAME', r.name);
      expect(bicep.get('LOADS_QUEUE_NAME'), 'the queue name setting is the queue resource\'s name').toBe(
        'serviceBus.outputs.queueName',
      );
      expect(r.options.connection, r.name).toBe('ServiceBusConnection');
      expect(bicep.get('ServiceBusConnection__fullyQualifiedNamespace')).toBe('serviceBus.outputs.fullyQualifiedNamespace');
      expect(bicep.get('ServiceBusConnection__credential')).toBe("'managedidentity'");
      expect(bicep.get('ServiceBusConnection__clientId')).toBe('identity.properties.clientId');
      expect(r.options.cardinality ?? 'one', r.name).toBe('one');
      expect(r.options.isSessionsEnabled ?? false, `${r.name}: the queue has no sessions`).toBe(false);
    }
  });

  it('HTTP functions need a function key and use routes the host allows', () => {
    if (registrations.some((r) => r.kind === 'http')) {
      // The admin API trusts x-ms-client-principal, which only App Service authentication may set.
      const functionApp = readFileSync(path.join(root, 'infra/modules/functionapp.bicep'), 'utf8');
      expect(functionApp).toMatch(/name: 'authsettingsV2'/);
      expect(functionApp).toMatch(/requireAuthentication: true/);
      // Exactly the operations that need no principal skip sign-in.
      const excluded = /excludedPaths: \[([^\]]*)\]/.exec(functionApp)?.[1]?.match(/'[^']+'/g) ?? [];
      const publicRoutes = apiOperations.filter((op) => op.access === 'public').map((op) => `'/api/${op.route}'`);
      expect(excluded.sort()).toEqual(publicRoutes.sort());
    }
    const seen = new Set<string>();
    for (const r of registrations.filter((x) => x.kind === 'http')) {
      // The console's static files: behind App Service sign-in, but a browser sends no function key.
      expect(r.options.authLevel, r.name).toBe(r.name === CONSOLE_FUNCTION ? 'anonymous' : 'function');
      const route = typeof r.options.route === 'string' ? r.options.route : r.name;
      const first = route.replace(/^\//, '').split('/')[0]!.toLowerCase();
      // The host refuses routes under its own /admin and /runtime, even below /api.
      expect(HOST_RESERVED_ROUTES, `${r.name}: route ${route}`).not.toContain(first);
      const methods = (r.options.methods as string[] | undefined) ?? ['ANY'];
      for (const method of methods) {
        const key = `${method.toUpperCase()} ${route.toLowerCase()}`;
        expect(seen.has(key), `${r.name}: ${key} is registered twice`).toBe(false);
        seen.add(key);
      }
    }
  });

  it('every %SETTING% in any trigger option is a setting the infra sets', () => {
    for (const r of registrations) {
      for (const [option, value] of Object.entries(r.options)) {
        const setting = settingReference(value);
        if (setting) expectProvidedSetting(setting, `${r.name}.${option}`);
      }
    }
  });
});
