import { describe, expect, it } from 'vitest';
import { classifyError } from '../shared/errors.js';
import { envVariableFor } from '../shared/secrets/env.js';
import { MissingSecretError } from '../shared/secrets/errors.js';
import { keyVaultSecretSource, type KeyVaultClient } from '../shared/secrets/keyvault.js';
import { createSecretResolver } from '../shared/secrets/resolver.js';

describe('environment secrets', () => {
  it('map a secret name to an upper-case variable with every other character as _', () => {
    expect(envVariableFor('sales-db-host')).toBe('SALES_DB_HOST');
    expect(envVariableFor('kv.sales/db password')).toBe('KV_SALES_DB_PASSWORD');
  });

  it('resolve from the environment when the scope has no vault, and cache for the TTL', async () => {
    const env: NodeJS.ProcessEnv = { SALES_DB_HOST: 'db.example.com' };
    let clock = 0;
    const resolver = createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 60, envFallback: true, env, now: () => clock });
    expect(await resolver.resolve('azure-keyvault', 'sales-db-host')).toBe('db.example.com');
    env.SALES_DB_HOST = 'other.example.com';
    clock = 59_000;
    expect(await resolver.resolve('azure-keyvault', 'sales-db-host')).toBe('db.example.com');
    clock = 61_000;
    expect(await resolver.resolve('azure-keyvault', 'sales-db-host')).toBe('other.example.com');
  });

  it('redact every value handed out from text, naming the secret instead', async () => {
    const resolver = createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 60, envFallback: true, env: { DB_HOST: 'db.internal', DB_PASSWORD: 'hunter2!', DB_PORT: '1' } });
    await resolver.resolveAll('x', { host: 'db-host', password: 'db-password', port: 'db-port' });
    expect(resolver.redact('could not reach db.internal:1 as hunter2!')).toBe('could not reach [secret db-host]:1 as [secret db-password]');
  });

  it('redact short and common values only where they stand whole, keeping the message readable', async () => {
    const resolver = createSecretResolver({
      keyVaultUrls: {},
      ttlSeconds: 60,
      envFallback: true,
      env: { SRC_USER: 'postgres', SRC_PASSWORD: 'data', SRC_DATABASE: 'adls', SRC_HOST: 'p@ss w/rd' },
    });
    await resolver.resolveAll('x', { user: 'src-user', password: 'src-password', database: 'src-database', host: 'src-host' });
    expect(resolver.redact('db_type "adls" is not a supported destination (postgresql); user postgres, password=data; postgres_data kept')).toBe(
      'db_type "[secret src-database]" is not a supported destination (postgresql); user [secret src-user], password=[secret src-password]; postgres_data kept',
    );
    expect(resolver.redact('postgresql://postgres:p%40ss%20w%2Frd@h/metadata')).toBe('postgresql://[secret src-user]:[secret src-host]@h/metadata');
    expect(resolver.redact('no value here: postgresql, database, adlsgen2')).toBe('no value here: postgresql, database, adlsgen2');
  });

  it('fail a missing secret with its name and where it was looked up, as a terminal error', async () => {
    const resolver = createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 60, envFallback: true, env: { SALES_DB_USER: 'u' } });
    const error = await resolver
      .resolveAll(null, { user: 'sales-db-user', password: 'sales-db-password' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingSecretError);
    expect((error as Error).message).toBe('secret "sales-db-password" not found in environment variable SALES_DB_PASSWORD');
    expect(classifyError(error)).toBe('terminal');
  });
});

describe('Key Vault secrets', () => {
  const client = (values: Record<string, string>, calls: string[] = []): KeyVaultClient => ({
    getSecret: async (name) => {
      calls.push(name);
      if (name in values) return { value: values[name] };
      throw Object.assign(new Error('SecretNotFound'), { statusCode: 404 });
    },
  });

  it('read from the vault of the row scope, one client per vault', async () => {
    const created: string[] = [];
    const calls: string[] = [];
    const resolver = createSecretResolver({
      keyVaultUrls: { 'azure-keyvault': 'https://kv-one.vault.azure.net' },
      ttlSeconds: 300,
      envFallback: true,
      env: { SALES_DB_HOST: 'from-env' },
      createClient: async (url) => {
        created.push(url);
        return client({ 'sales-db-host': 'from-vault', 'sales-db-port': '5432' }, calls);
      },
    });
    expect(await resolver.resolveAll('azure-keyvault', { host: 'sales-db-host', port: 'sales-db-port' })).toEqual({
      host: 'from-vault',
      port: '5432',
    });
    expect(await resolver.resolve('azure-keyvault', 'sales-db-host')).toBe('from-vault');
    expect(created).toEqual(['https://kv-one.vault.azure.net']);
    expect(calls.sort()).toEqual(['sales-db-host', 'sales-db-port']);
    // Another scope without a vault reads the environment, where that is allowed (local hosts).
    expect(await resolver.resolve('local', 'sales-db-host')).toBe('from-env');
  });

  it('fail a scope without a vault terminally, naming it, unless the environment is allowed (never in Azure)', async () => {
    const resolver = createSecretResolver({ keyVaultUrls: { 'azure-keyvault': 'https://kv.vault.azure.net' }, ttlSeconds: 60, envFallback: false, env: { SALES_DB_HOST: 'from-env' } });
    const error = await resolver.resolve('sales-kv', 'sales-db-host').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^db_kv_scope "sales-kv" has no vault in KEYVAULT_URLS: add "sales-kv"/);
    expect((error as Error).message).not.toContain('from-env');
    expect(classifyError(error)).toBe('terminal');
  });

  it('map a 404 to a missing secret naming the vault, and wrap other failures without values', async () => {
    const source = keyVaultSecretSource('https://kv.vault.azure.net', client({}));
    expect(await source.get('nope')).toBeUndefined();
    const resolver = createSecretResolver({
      keyVaultUrls: { s: 'https://kv.vault.azure.net' },
      ttlSeconds: 300,
      envFallback: false,
      createClient: async () => client({}),
    });
    await expect(resolver.resolve('s', 'nope')).rejects.toThrow('secret "nope" not found in Key Vault https://kv.vault.azure.net');
    const failing = keyVaultSecretSource('https://kv.vault.azure.net', {
      getSecret: async () => {
        throw Object.assign(new Error('Forbidden'), { statusCode: 403 });
      },
    });
    await expect(failing.get('x')).rejects.toThrow('Key Vault https://kv.vault.azure.net: reading secret "x" failed');
    expect(classifyError(await failing.get('x').catch((e: unknown) => e))).toBe('terminal');
    for (const [thrown, kind] of [
      [Object.assign(new Error('Too Many Requests'), { name: 'RestError', statusCode: 429 }), 'transient'],
      [Object.assign(new Error('Service Unavailable'), { name: 'RestError', statusCode: 503 }), 'transient'],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'transient'],
      [Object.assign(new Error('send failed'), { name: 'RestError', code: 'REQUEST_SEND_ERROR' }), 'transient'],
      [Object.assign(new Error('Unauthorized'), { name: 'RestError', statusCode: 401 }), 'terminal'],
    ] as const) {
      const vault = keyVaultSecretSource('https://kv.vault.azure.net', { getSecret: async () => { throw thrown; } });
      expect(classifyError(await vault.get('x').catch((e: unknown) => e)), thrown.message).toBe(kind);
    }
  });
});
