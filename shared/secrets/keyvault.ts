/**
 * The Key Vault adapter: a thin mapping of @azure/keyvault-secrets onto
 * SecretSource. A missing secret (HTTP 404) is `undefined`; anything else
 * (network, 403) propagates for the caller to classify.
 */
import type { SecretSource } from './source.js';

/** The part of SecretClient this adapter uses (injectable in tests). */
export interface KeyVaultClient {
  getSecret(name: string): Promise<{ value?: string | undefined }>;
}

export function keyVaultSecretSource(vaultUrl: string, client: KeyVaultClient): SecretSource {
  return {
    describe: () => `Key Vault ${vaultUrl}`,
    get: async (secretName) => {
      try {
        const secret = await client.getSecret(secretName);
        return secret.value === undefined || secret.value === '' ? undefined : secret.value;
      } catch (error) {
        if ((error as { statusCode?: unknown }).statusCode === 404) return undefined;
        throw new Error(`Key Vault ${vaultUrl}: reading secret "${secretName}" failed`, { cause: error });
      }
    },
  };
}

/** A SecretClient on the vault with DefaultAzureCredential (managed identity in Azure). */
export async function createKeyVaultClient(vaultUrl: string): Promise<KeyVaultClient> {
  const [{ SecretClient }, { DefaultAzureCredential }] = await Promise.all([
    import('@azure/keyvault-secrets'),
    import('@azure/identity'),
  ]);
  return new SecretClient(vaultUrl, new DefaultAzureCredential());
}
