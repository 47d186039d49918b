/**
 * The Key Vault adapter: a thin mapping of @azure/keyvault-secrets onto
 * SecretSource. A missing secret (HTTP 404) is `undefined`; throttling, server
 * and network errors are transient (retried); anything else (403) is terminal.
 */
import { TransientError } from '../errors.js';
import type { SecretSource } from './source.js';

/**
 * What a retry can fix: throttling (429), a server error (5xx), a request
 * timeout (408), or a request that never got an answer (network, no status).
 * 401 and 403 (no access), 400 (a bad name) stay terminal.
 */
export function isTransientVaultError(error: unknown): boolean {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number') return status === 408 || status === 429 || status >= 500;
  const code = (error as { code?: unknown } | null)?.code;
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'RestError' || name === 'AbortError' || (typeof code === 'string' && /^(E[A-Z]+|REQUEST_SEND_ERROR)$/.test(code));
}

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
        const status = (error as { statusCode?: unknown }).statusCode;
        if (status === 404) return undefined;
        const message = `Key Vault ${vaultUrl}: reading secret "${secretName}" failed`;
        if (isTransientVaultError(error)) throw new TransientError(`${message} (${typeof status === 'number' ? `HTTP ${status}` : 'network'}; retried)`, { cause: error });
        throw new Error(message, { cause: error });
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
