import { describe, expect, it } from 'vitest';
import { parseSettings, SettingsError } from '../shared/settings.js';

function problems(env: Record<string, string>): string[] {
  try {
    parseSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as SettingsError).problems;
  }
  throw new Error('expected the settings to be refused');
}

describe('settings', () => {
  it('defaults every optional setting', () => {
    const s = parseSettings({});
    expect(s.CONTROL_DB_AUTH).toBe('password');
    expect(s.CONTROL_DB_STATEMENT_TIMEOUT_MS).toBe(30_000);
    expect(s.QUEUED_TIMEOUT_MINUTES).toBe(60);
    expect(s.IN_PROGRESS_TIMEOUT_MINUTES).toBe(180);
    expect(s.CRON_TIMEZONE).toBe('UTC');
    expect(s.KEYVAULT_URLS).toEqual({});
    expect(s.ALLOW_DEV_PRINCIPAL).toBe(false);
  });

  it('parses typed values', () => {
    const s = parseSettings({
      DATABASE_URL: 'postgresql://app@db.example.com:5432/dataloader',
      SOURCE_CONCURRENCY_LIMIT: '7',
      SOURCE_CONCURRENCY_OVERRIDES: '{"sql_sales_prod":2}',
      KEYVAULT_URLS: '{"azure-keyvault":"https://kv.vault.azure.net"}',
      CRON_TIMEZONE: 'Europe/Amsterdam',
      ALLOW_DEV_PRINCIPAL: 'true',
    });
    expect(s.SOURCE_CONCURRENCY_LIMIT).toBe(7);
    expect(s.SOURCE_CONCURRENCY_OVERRIDES).toEqual({ sql_sales_prod: 2 });
    expect(s.KEYVAULT_URLS).toEqual({ 'azure-keyvault': 'https://kv.vault.azure.net' });
    expect(s.ALLOW_DEV_PRINCIPAL).toBe(true);
  });

  it('names each bad setting and the expected form in one message', () => {
    const found = problems({
      DATABASE_URL: 'mysql://x',
      SOURCE_CONCURRENCY_LIMIT: 'many',
      CRON_TIMEZONE: 'Mars/Olympus',
      KEYVAULT_URLS: '{not json',
      CONTROL_DB_AUTH: 'kerberos',
    });
    expect(found).toHaveLength(5);
    expect(found.find((p) => p.startsWith('DATABASE_URL:'))).toMatch(/postgresql:\/\/ URL/);
    expect(found.find((p) => p.startsWith('SOURCE_CONCURRENCY_LIMIT:'))).toMatch(/number/);
    expect(found.find((p) => p.startsWith('CRON_TIMEZONE:'))).toMatch(/IANA time zone/);
    expect(found.find((p) => p.startsWith('KEYVAULT_URLS:'))).toMatch(/JSON object/);
    expect(found.find((p) => p.startsWith('CONTROL_DB_AUTH:'))).toMatch(/password.*entra.*databricks/);
  });

  it('requires the Databricks service principal for databricks auth', () => {
    expect(problems({ CONTROL_DB_AUTH: 'databricks' })).toEqual([
      'DATABRICKS_HOST: required when CONTROL_DB_AUTH=databricks',
      'DATABRICKS_CLIENT_ID: required when CONTROL_DB_AUTH=databricks',
      'DATABRICKS_CLIENT_SECRET: required when CONTROL_DB_AUTH=databricks',
    ]);
  });

  it('puts the whole list in the error message', () => {
    expect(() => parseSettings({ LOADER_MAX_ATTEMPTS: '0' })).toThrow(/Invalid settings:\n {2}- LOADER_MAX_ATTEMPTS: /);
  });
});
