/**
 * Reads what infra/ provides to the app, for the infra tests: the app settings
 * set by infra/main.bicep (from its source, and from the ARM template the real
 * Bicep CLI compiles when it is available), local.settings.sample.json and host.json.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const readText = (file: string) => readFileSync(path.join(root, file), 'utf8');

/**
 * Settings the Functions host and the Azure SDKs read themselves, not the
 * product's code: these may appear in infra and local settings without being
 * in shared/settings.ts.
 */
export function isHostSetting(name: string): boolean {
  return (
    /^AzureWebJobs/.test(name) ||
    /^(FUNCTIONS|APPLICATIONINSIGHTS|WEBSITE)_/.test(name) ||
    name === 'AZURE_CLIENT_ID' ||
    // The Service Bus trigger's identity connection; its namespace is a product setting.
    name === 'ServiceBusConnection__credential' ||
    name === 'ServiceBusConnection__clientId'
  );
}

/** The `var appSettings = { ... }` block of main.bicep: each key with its (Bicep) value expression. */
export function readBicepAppSettings(): Map<string, string> {
  const source = readText('infra/main.bicep');
  const start = source.search(/^var appSettings = \{$/m);
  if (start < 0) throw new Error('infra/main.bicep: no `var appSettings = {` block');
  const lines = source.slice(start).split('\n').slice(1);
  const settings = new Map<string, string>();
  let current: string | undefined;
  for (const line of lines) {
    if (line === '}') return settings;
    // Keys sit at two spaces; deeper lines continue the previous value.
    const key = /^ {2}([A-Za-z_][A-Za-z0-9_]*): ?(.*)$/.exec(line);
    if (key) {
      current = key[1]!;
      settings.set(current, key[2]!.trim());
    } else if (current && line.startsWith('    ')) {
      settings.set(current, `${settings.get(current)} ${line.trim()}`);
    }
  }
  throw new Error('infra/main.bicep: the appSettings block never closes');
}

/** `param name type = default` lines of a Bicep file: name to default (as written). */
export function readBicepParamDefaults(file: string): Map<string, string> {
  const defaults = new Map<string, string>();
  for (const match of readText(file).matchAll(/^param (\w+) [\w[\]]+ = (.+)$/gm)) {
    defaults.set(match[1]!, match[2]!.trim());
  }
  return defaults;
}

/** The KQL of the log alerts, as main.bicep passes them to modules/alerts.bicep (`fooQuery: '...'`). */
export function readAlertQueries(): Map<string, string> {
  const queries = new Map<string, string>();
  for (const match of readText('infra/main.bicep').matchAll(/^ {4}(\w+Query): '(.*)'$/gm)) {
    queries.set(match[1]!, match[2]!.replace(/\\'/g, "'").replace(/\\\\/g, '\\'));
  }
  return queries;
}

/** The regular expression of a `message matches regex "..."` KQL filter. */
export function kqlMessageRegex(query: string): RegExp {
  const match = /message matches regex "((?:[^"\\]|\\.)*)"/.exec(query);
  if (!match) throw new Error(`no 'message matches regex' filter in: ${query}`);
  return new RegExp(match[1]!);
}

export function readLocalSettings(): Record<string, string> {
  const file = JSON.parse(readText('local.settings.sample.json')) as { Values: Record<string, string> };
  return file.Values;
}

export interface HostJson {
  extensionBundle: { id: string; version: string };
  functionTimeout: string;
  extensions: {
    serviceBus: {
      prefetchCount: number;
      autoCompleteMessages: boolean;
      maxAutoLockRenewalDuration: string;
      maxConcurrentCalls: number;
    };
  };
  logging: { applicationInsights?: { samplingSettings?: { isEnabled: boolean; excludedTypes?: string } } };
}

export function readHostJson(): HostJson {
  return JSON.parse(readText('host.json')) as HostJson;
}

/** Minutes in a host.json time span (`hh:mm:ss`). */
export function timeSpanMinutes(span: string): number {
  const match = /^(\d{1,2}):(\d{2}):(\d{2})$/.exec(span);
  if (!match) throw new Error(`not a hh:mm:ss time span: ${span}`);
  return Number(match[1]) * 60 + Number(match[2]) + Number(match[3]) / 60;
}

export interface ArmTemplate {
  parameters: Record<string, { defaultValue?: unknown }>;
  /** Keyed by symbolic name in the main template (languageVersion 2.0), a list in nested ones. */
  resources: Record<string, ArmResource> | ArmResource[];
}

export interface ArmResource {
  type: string;
  sku?: Record<string, unknown>;
  properties: {
    parameters?: Record<string, { value: unknown }>;
    template?: ArmTemplate;
    [key: string]: unknown;
  };
}

/**
 * The Bicep CLI, fetched by scripts/bicep.sh into .tools/ when it is not on
 * PATH, or undefined with the reason when neither works (no NuGet access).
 */
export function findBicepCli(): { cli?: string; reason?: string } {
  try {
    const cli = execFileSync('bash', [path.join(root, 'scripts/bicep.sh'), 'path'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    }).trim();
    return { cli };
  } catch (error) {
    return { reason: `scripts/bicep.sh could not provide the Bicep CLI: ${(error as Error).message}` };
  }
}

/** infra/main.bicep compiled to an ARM template by the real Bicep CLI. */
export function compileMainBicep(cli: string): ArmTemplate {
  const json = execFileSync(cli, ['build', path.join(root, 'infra/main.bicep'), '--stdout'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(json) as ArmTemplate;
}

/** A module (nested deployment) of the compiled template, by its symbolic name. */
export function moduleOf(template: ArmTemplate, name: string): ArmResource {
  const resource = Array.isArray(template.resources) ? undefined : template.resources[name];
  if (!resource || resource.type !== 'Microsoft.Resources/deployments') {
    throw new Error(`compiled main.bicep has no module '${name}'`);
  }
  return resource;
}

/** The one resource of a type in a (nested) template. */
export function resourceOfType(template: ArmTemplate, type: string): ArmResource {
  const found = Object.values(template.resources).filter((r) => r.type === type);
  if (found.length !== 1) throw new Error(`expected one ${type} in the template, found ${found.length}`);
  return found[0]!;
}
