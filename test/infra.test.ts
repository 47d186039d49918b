/**
 * One list of settings: every setting the code reads (shared/settings.ts) is set
 * by the Bicep and listed in local.settings.sample.json, and neither sets one the
 * code does not read. Also checks that the queue, host.json and the settings'
 * defaults agree on the numbers that keep long loads safe.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatLine } from '../shared/log.js';
import { parseSettings, settingNames } from '../shared/settings.js';
import {
  compileMainBicep,
  findBicepCli,
  isHostSetting,
  kqlMessageRegex,
  moduleOf,
  readAlertQueries,
  readBicepAppSettings,
  readBicepParamDefaults,
  readHostJson,
  readLocalSettings,
  resourceOfType,
  root,
  timeSpanMinutes,
  type ArmTemplate,
} from './infra-support.js';

const productSettings = new Set<string>(settingNames);
const defaults = parseSettings({});

function drift(keys: Iterable<string>): { missing: string[]; unknown: string[] } {
  const set = new Set(keys);
  return {
    missing: settingNames.filter((name) => !set.has(name)),
    unknown: [...set].filter((name) => !productSettings.has(name) && !isHostSetting(name)),
  };
}

describe('settings drift', () => {
  it('infra/main.bicep sets every setting the code reads, and nothing else', () => {
    expect(drift(readBicepAppSettings().keys())).toEqual({ missing: [], unknown: [] });
  });

  it('local.settings.sample.json lists every setting the code reads, and nothing else', () => {
    expect(drift(Object.keys(readLocalSettings()))).toEqual({ missing: [], unknown: [] });
  });

  it('local.settings.sample.json values are valid settings for a local run', () => {
    const local = readLocalSettings();
    const settings = parseSettings(local);
    expect(local.AzureWebJobsStorage).toBe('UseDevelopmentStorage=true');
    expect(local.FUNCTIONS_WORKER_RUNTIME).toBe('node');
    expect(settings.ALLOW_DEV_PRINCIPAL).toBe(false);
    expect(settings.DATABRICKS_CLIENT_SECRET).toBeUndefined();
  });

  it('infra never puts a secret value in an app setting, and never enables the development principal', () => {
    const bicep = readBicepAppSettings();
    expect(bicep.get('ALLOW_DEV_PRINCIPAL')).toBe("'false'");
    expect(bicep.get('DEV_PRINCIPAL')).toBe("''");
    for (const [name, value] of bicep) {
      if (/(secret|password|token)$/i.test(name)) {
        // Either empty (unused) or a Key Vault reference resolved by the platform.
        expect(value, name).toMatch(/keyVaultReference\(/);
      }
    }
    // The control database URL carries no password unless it comes from Key Vault.
    expect(bicep.get('DATABASE_URL')).toMatch(/keyVaultReference\(.*'postgresql:\/\/\$\{[^}:]+\}@/);
  });

  it('infra leaves the worker runtime to Flex Consumption (these app settings are refused there)', () => {
    const bicep = readBicepAppSettings();
    expect(bicep.has('FUNCTIONS_WORKER_RUNTIME')).toBe(false);
    expect(bicep.has('FUNCTIONS_EXTENSION_VERSION')).toBe(false);
    for (const key of ['AzureWebJobsStorage__accountName', 'AzureWebJobsStorage__credential', 'AzureWebJobsStorage__clientId']) {
      expect(bicep.has(key), key).toBe(true);
    }
    expect(bicep.has('AzureWebJobsStorage')).toBe(false);
  });
});

describe('infra parameters agree with the code and host.json', () => {
  const params = readBicepParamDefaults('infra/main.bicep');
  const host = readHostJson();

  it('the Service Bus queue behaves as the local queue does by default', () => {
    expect(Number(params.get('queueMaxDeliveryCount'))).toBe(defaults.LOCAL_QUEUE_MAX_DELIVERIES);
    expect(Number(params.get('queueLockMinutes')) * 60).toBe(defaults.LOCAL_QUEUE_LOCK_SECONDS);
    expect(params.get('loadsQueueName')).toBe(`'${defaults.LOADS_QUEUE_NAME}'`);
  });

  it("timeouts and schedules default to the code's defaults", () => {
    expect(Number(params.get('queuedTimeoutMinutes'))).toBe(defaults.QUEUED_TIMEOUT_MINUTES);
    expect(Number(params.get('inProgressTimeoutMinutes'))).toBe(defaults.IN_PROGRESS_TIMEOUT_MINUTES);
    expect(params.get('sensorSchedule')).toBe(`'${defaults.SENSOR_SCHEDULE}'`);
    expect(params.get('reaperSchedule')).toBe(`'${defaults.REAPER_SCHEDULE}'`);
    expect(params.get('controlDbAuth')).toBe("'entra'");
  });

  it("host.json lets a load run past the reaper's In Progress timeout without losing its message lock", () => {
    const timeout = timeSpanMinutes(host.functionTimeout);
    const lockRenewal = timeSpanMinutes(host.extensions.serviceBus.maxAutoLockRenewalDuration);
    const longestLoad = Math.max(defaults.IN_PROGRESS_TIMEOUT_MINUTES, Number(params.get('inProgressTimeoutMinutes')));
    expect(timeout).toBeGreaterThan(longestLoad);
    expect(lockRenewal).toBeGreaterThanOrEqual(timeout);
  });

  it('host.json completes a message when the loader returns, and fetches no message ahead', () => {
    const serviceBus = host.extensions.serviceBus;
    expect(host.extensionBundle).toEqual({ id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' });
    expect(serviceBus.autoCompleteMessages).toBe(true);
    // A prefetched message's lock ticks while it waits, and nobody renews it.
    expect(serviceBus.prefetchCount).toBe(0);
    expect(serviceBus.maxConcurrentCalls).toBeGreaterThanOrEqual(1);
    expect(serviceBus.maxConcurrentCalls).toBeLessThanOrEqual(16);
  });

  it('host.json never samples away the requests, exceptions and log lines the alerts count', () => {
    const excluded = host.logging.applicationInsights?.samplingSettings?.excludedTypes?.split(';') ?? [];
    expect(excluded).toEqual(expect.arrayContaining(['Request', 'Exception', 'Trace']));
  });

  it('both parameter files choose an environment and name someone to alert', () => {
    for (const file of ['infra/main.preprod.bicepparam', 'infra/main.prod.bicepparam']) {
      const text = readParamFile(file);
      expect(text, file).toMatch(/^using 'main\.bicep'$/m);
      expect(text, file).toMatch(/^param environmentName = '(preprod|prod)'$/m);
      expect(text, file).toMatch(/^param alertEmails = \[\s*'[^']+@[^']+'/m);
      expect(text, file).toMatch(/^param controlDbHost = '[^']+'$/m);
    }
  });
});

describe('log alerts match the lines the product writes', () => {
  const queries = readAlertQueries();
  const line = (level: 'info' | 'warn' | 'error', message: string, fields: Record<string, unknown> = {}) =>
    formatLine(level, message, fields, new Date('2025-01-01T00:00:00Z'));

  it('the failed-loads alert counts the loader\'s "load failed" events and nothing else', () => {
    const failedLoads = kqlMessageRegex(queries.get('failedLoadsQuery')!);
    expect(line('warn', 'load failed', { config_id: 7, run_id: 'r1', rows: 0, reason: 'relation "x" does not exist' })).toMatch(failedLoads);
    expect(line('error', 'load failed')).toMatch(failedLoads);
    expect(line('info', 'load succeeded', { config_id: 7 })).not.toMatch(failedLoads);
    expect(line('warn', 'load attempt failed, retrying', { config_id: 7 })).not.toMatch(failedLoads);
    expect(line('error', 'api request failed', { reason: 'load failed earlier' })).not.toMatch(failedLoads);
  });

  it('the stuck-runs alert counts the reaper\'s timed-out runs', () => {
    const stuckRuns = kqlMessageRegex(queries.get('stuckRunsQuery')!);
    expect(line('warn', 'reaper: run timed out', { config_id: 7, run_id: 'r1', status: 'In Progress' })).toMatch(stuckRuns);
    expect(line('warn', 'reaper: run timed out', { config_id: 7, status: 'Queued' })).toMatch(stuckRuns);
    expect(line('info', 'reaper pass', { reaped: 0 })).not.toMatch(stuckRuns);
  });
});

/**
 * The same checks against the ARM template the real Bicep CLI produces. CI
 * always has the CLI (.ci/run fetches it before the tests); without NuGet access
 * these are skipped with the reason, and the source-level checks above still run.
 */
const bicep = findBicepCli();
if (!bicep.cli) console.warn(`infra.test.ts: compiled-template checks skipped: ${bicep.reason}`);

describe.skipIf(!bicep.cli)('compiled ARM template', () => {
  let template: ArmTemplate;

  beforeAll(() => {
    template = compileMainBicep(bicep.cli!);
  });

  it('sets exactly the app settings the Bicep source lists', () => {
    const appSettings = moduleOf(template, 'functionApp').properties.parameters?.appSettings?.value as Record<string, unknown>;
    expect(Object.keys(appSettings).sort()).toEqual([...readBicepAppSettings().keys()].sort());
    expect(drift(Object.keys(appSettings))).toEqual({ missing: [], unknown: [] });
  });

  it('declares the loads queue with duplicate detection, a 5 minute lock and dead-lettering', () => {
    const serviceBus = moduleOf(template, 'serviceBus').properties.template!;
    const queue = resourceOfType(serviceBus, 'Microsoft.ServiceBus/namespaces/queues').properties;
    expect(queue.requiresDuplicateDetection).toBe(true);
    expect(queue.deadLetteringOnMessageExpiration).toBe(true);
    expect(queue.requiresSession).toBe(false);
    expect(resourceOfType(serviceBus, 'Microsoft.ServiceBus/namespaces').properties.disableLocalAuth).toBe(true);
    expect(template.parameters.duplicateDetectionWindow!.defaultValue).toBe('P1D');
    // The queue the trigger reads (LOADS_QUEUE_NAME) is the queue the template creates.
    const appSettings = moduleOf(template, 'functionApp').properties.parameters?.appSettings?.value as Record<string, string>;
    expect(appSettings.LOADS_QUEUE_NAME).toBe("[reference('serviceBus').outputs.queueName.value]");
    expect(moduleOf(template, 'serviceBus').properties.parameters?.queueName?.value).toBe("[parameters('loadsQueueName')]");
  });

  it('runs the app on Flex Consumption, Node.js, with identity-only storage and an RBAC vault', () => {
    const app = moduleOf(template, 'functionApp').properties.template!;
    expect(resourceOfType(app, 'Microsoft.Web/serverfarms').sku).toMatchObject({ tier: 'FlexConsumption', name: 'FC1' });
    expect(resourceOfType(app, 'Microsoft.Web/sites').properties.functionAppConfig).toMatchObject({
      runtime: { name: 'node', version: "[parameters('nodeVersion')]" },
    });
    expect(template.parameters.nodeVersion!.defaultValue).toBe('22');
    const storage = moduleOf(template, 'storage').properties.template!;
    expect(resourceOfType(storage, 'Microsoft.Storage/storageAccounts').properties.allowSharedKeyAccess).toBe(false);
    const vault = moduleOf(template, 'keyVault').properties.template!;
    expect(resourceOfType(vault, 'Microsoft.KeyVault/vaults').properties.enableRbacAuthorization).toBe(true);
  });

  it('puts App Service authentication in front of the admin API, which trusts its principal header', () => {
    const app = moduleOf(template, 'functionApp').properties.template!;
    const auth = Object.values(app.resources).find(
      (r) => r.type === 'Microsoft.Web/sites/config' && String((r as { name?: string }).name).includes('authsettingsV2'),
    );
    expect(auth?.properties).toMatchObject({
      platform: { enabled: true },
      globalValidation: { requireAuthentication: true, unauthenticatedClientAction: 'Return401' },
      identityProviders: { azureActiveDirectory: { enabled: true } },
    });
  });
});

function readParamFile(file: string): string {
  return readFileSync(path.join(root, file), 'utf8');
}
