/**
 * Tokens for the Databricks workspace: the Function's Entra managed identity
 * (DefaultAzureCredential, for the Azure Databricks resource), or OAuth
 * machine-to-machine with a service principal's client id and secret
 * (POST {host}/oidc/v1/token). Tokens are reused until a minute before expiry.
 */
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { TerminalError, TransientError } from '../../errors.js';
import type { TokenProvider } from './client.js';

/** The Azure Databricks first-party application: the resource every workspace accepts Entra tokens for. */
export const AZURE_DATABRICKS_SCOPE = '2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default';

function cached(fetchToken: () => Promise<{ token: string; expiresAt: number }>): TokenProvider {
  let current: { token: string; expiresAt: number } | undefined;
  return async () => {
    if (!current || current.expiresAt - 60_000 < Date.now()) current = await fetchToken();
    return current.token;
  };
}

export function managedIdentityToken(credential: TokenCredential = new DefaultAzureCredential()): TokenProvider {
  return cached(async () => {
    const token = await credential.getToken(AZURE_DATABRICKS_SCOPE);
    if (!token) throw new TransientError('no Entra token for Azure Databricks from the managed identity');
    return { token: token.token, expiresAt: token.expiresOnTimestamp };
  });
}

export function oauthM2mToken(host: string, clientId: string, clientSecret: string, fetchImpl: typeof fetch = globalThis.fetch): TokenProvider {
  return cached(async () => {
    const response = await fetchImpl(`${host.replace(/\/+$/, '')}/oidc/v1/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    if (response.status === 429 || response.status >= 500) throw new TransientError(`the Databricks token endpoint answered HTTP ${response.status}`);
    if (!response.ok) {
      throw new TerminalError(`the Databricks token endpoint refused the service principal (HTTP ${response.status}); check the client_id and client_secret secrets`);
    }
    const body = (await response.json()) as { access_token?: string; expires_in?: number };
    if (!body.access_token) throw new TerminalError('the Databricks token endpoint returned no access_token');
    return { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 };
  });
}
