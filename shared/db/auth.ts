/**
 * Passwords for control database connections. pg calls `password` for every new
 * connection, so a token provider hands out a fresh token as the old one nears
 * expiry (Entra ID tokens live about an hour, Databricks OAuth tokens likewise).
 */
import type { Settings } from '../settings.js';

export type PasswordProvider = () => Promise<string>;

/** Scope of Azure Database for PostgreSQL tokens. */
export const ENTRA_POSTGRES_SCOPE = 'https://ossrdbms-aad.database.windows.net/.default';

/** Refresh this long before a token expires. */
const REFRESH_MARGIN_MS = 5 * 60_000;

interface Token {
  value: string;
  expiresAt: number;
}

/** Wraps a token fetcher so that one token serves every connection until it nears expiry. */
export function cachedToken(fetchToken: () => Promise<Token>, now: () => number = Date.now): PasswordProvider {
  let current: Token | undefined;
  let pending: Promise<Token> | undefined;
  return async () => {
    if (current && current.expiresAt - REFRESH_MARGIN_MS > now()) return current.value;
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    current = await pending;
    return current.value;
  };
}

/** Entra ID token for the app's managed identity (or any DefaultAzureCredential source). */
export function entraTokenProvider(): PasswordProvider {
  return cachedToken(async () => {
    const { DefaultAzureCredential } = await import('@azure/identity');
    const token = await new DefaultAzureCredential().getToken(ENTRA_POSTGRES_SCOPE);
    if (!token) throw new Error('CONTROL_DB_AUTH=entra: DefaultAzureCredential returned no token for Azure Database for PostgreSQL');
    return { value: token.token, expiresAt: token.expiresOnTimestamp };
  });
}

/**
 * Databricks OAuth machine-to-machine token (client credentials grant against the
 * workspace's OIDC endpoint); Lakebase accepts it as the PostgreSQL password.
 */
export function databricksTokenProvider(
  host: string,
  clientId: string,
  clientSecret: string,
  now: () => number = Date.now,
): PasswordProvider {
  const endpoint = new URL('/oidc/v1/token', host).toString();
  return cachedToken(async () => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials&scope=all-apis',
    });
    if (!response.ok) {
      throw new Error(
        `CONTROL_DB_AUTH=databricks: the token endpoint ${endpoint} answered HTTP ${response.status}; check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET`,
      );
    }
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') {
      throw new Error(`CONTROL_DB_AUTH=databricks: the token endpoint ${endpoint} returned no access_token`);
    }
    const lifetimeSeconds = typeof body.expires_in === 'number' ? body.expires_in : 3600;
    return { value: body.access_token, expiresAt: now() + lifetimeSeconds * 1000 };
  }, now);
}

/** The password provider the settings ask for, or undefined to use the URL's password. */
export function passwordProviderFor(settings: Settings): PasswordProvider | undefined {
  switch (settings.CONTROL_DB_AUTH) {
    case 'password':
      return undefined;
    case 'entra':
      return entraTokenProvider();
    case 'databricks':
      return databricksTokenProvider(
        settings.DATABRICKS_HOST!,
        settings.DATABRICKS_CLIENT_ID!,
        settings.DATABRICKS_CLIENT_SECRET!,
      );
  }
}
