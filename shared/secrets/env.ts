/**
 * Secrets from the environment, for scopes without a Key Vault (local runs,
 * tests): a secret name maps to the environment variable of the same name in
 * upper case with every character other than letters and digits turned into `_`.
 */
import type { SecretSource } from './source.js';

/** `sales-db-host` -> `SALES_DB_HOST`. */
export function envVariableFor(secretName: string): string {
  return secretName.toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

export function envSecretSource(env: NodeJS.ProcessEnv = process.env): SecretSource {
  return {
    describe: (secretName) => `environment variable ${envVariableFor(secretName)}`,
    get: async (secretName) => {
      const value = env[envVariableFor(secretName)];
      return value === undefined || value === '' ? undefined : value;
    },
  };
}
