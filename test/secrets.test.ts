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
    const resolver = createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 60, env, now: () => clock });
    expect(await resolver.resolve('azure-keyvault', 'sales-db-host')).toBe('db.example.com');
    env.SALES_DB_HOST = 'other.example.com';
    clock = 59_000;
    expect(await resolver.resolve('azure-keyvault', 'sales-db-host')).toBe('db.example.com');
    clock = 61_000;
    expect(await resolver.resolve('azure-keyvault', 'sales-db-host')).toBe('other.example.com');
  });

  it('redact every value handed out from text, naming the secret instead', async () => {
    const resolver = createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 60, env: { DB_HOST: 'db.internal', DB_PASSWORD: 'hunter2!', DB_PORT: '1' } });
    await resolver.resolveAll('x', { host: 'db-host', password: 'db-password', port: 'db-port' });
    expect(resolver.redact('could not reach db.internal:1 as hunter2!')).toBe('could not reach [secret db-host]:1 as [secret db-password]');
  });

  it('fail a missing secret with its name and where it was looked up, as a terminal error', async () => {
    const resolver = createSecretResolver({ keyVaultUrls: {}, ttlSeconds: 60, env: { SALES_DB_USER: 'u' } });
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
    // Another scope without a vault reads the environment.
    expect(await resolver.resolve('local', 'sales-db-host')).toBe('from-env');
  });

  it('map a 404 to a missing secret naming the vault, and wrap other failures without values', async () => {
    const source = keyVaultSecretSource('https://kv.vault.azure.net', client({}));
    expect(await source.get('nope')).toBeUndefined();
    const resolver = createSecretResolver({
      keyVaultUrls: { s: 'https://kv.vault.azure.net' },
      ttlSeconds: 300,
      createClient: async () => client({}),
    });
    await expect(resolver.resolve('s', 'nope')).rejects.toThrow('secret "nope" not found in Key Vault https://kv.vault.azure.net');
    const failing = keyVaultSecretSource('https://kv.vault.azure.net', {
      getSecret: async () => {
        throw Object.assign(new Error('Forbidden'), { statusCode: 403 });
      },
    });
    await expect(failing.get('x')).rejects.toThrow('Key Vault https://kv.vault.azure.net: reading secret "x" failed');
  });
});
