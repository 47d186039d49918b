/**
 * Resolves the secret names held in table_control_dbconfig.db_config_value.
 * The vault is chosen by the row's db_kv_scope through the KEYVAULT_URLS
 * setting; a scope with no vault reads the environment only when allowed
 * (SECRETS_FROM_ENVIRONMENT, local hosts), and fails the run otherwise. Values are cached for
 * SECRET_CACHE_TTL_SECONDS and never logged or put in an error message.
 */
import { envSecretSource } from './env.js';
import { MissingSecretError, UnknownVaultScopeError } from './errors.js';
import { createKeyVaultClient, keyVaultSecretSource, type KeyVaultClient } from './keyvault.js';
import type { SecretSource } from './source.js';

export interface SecretResolver {
  /** The value of `secretName` in the vault of `scope`; MissingSecretError when there is none. */
  resolve(scope: string | null, secretName: string): Promise<string>;
  /** Resolves every value of a name map (`{ host: 'sales-db-host', ... }`) at once. */
  resolveAll(scope: string | null, names: Record<string, string>): Promise<Record<string, string>>;
  /**
   * Replaces every value this resolver has handed out by its secret's name, so
   * an error message that quotes one (a driver naming the host it could not
   * reach) can be logged and stored.
   */
  redact(text: string): string;
}

export interface SecretResolverOptions {
  /** db_kv_scope -> vault URL (the KEYVAULT_URLS setting). */
  keyVaultUrls: Record<string, string>;
  ttlSeconds: number;
  /**
   * Whether a scope without a vault reads the environment (SECRETS_FROM_ENVIRONMENT,
   * set by the local host). Without it such a scope fails terminally, naming it.
   */
  envFallback: boolean;
  env?: NodeJS.ProcessEnv;
  /** Builds a vault client (tests inject one). */
  createClient?: (vaultUrl: string) => Promise<KeyVaultClient>;
  now?: () => number;
}

interface Cached {
  value: string;
  expiresAt: number;
}

/** Values shorter than this are not redacted: they would mangle ordinary words and numbers. */
const MIN_REDACTED_LENGTH = 4;

export function createSecretResolver(options: SecretResolverOptions): SecretResolver {
  const now = options.now ?? Date.now;
  const createClient = options.createClient ?? createKeyVaultClient;
  const env = envSecretSource(options.env ?? process.env);
  const vaults = new Map<string, Promise<SecretSource>>();
  const cache = new Map<string, Cached>();
  // Every value handed out, by secret name (kept past the cache's expiry: a late error may quote it).
  const handedOut = new Map<string, string>();

  const sourceFor = (scope: string | null): Promise<SecretSource> => {
    const url = scope === null ? undefined : options.keyVaultUrls[scope];
    if (!url) return options.envFallback ? Promise.resolve(env) : Promise.reject(new UnknownVaultScopeError(scope));
    let source = vaults.get(url);
    if (!source) {
      source = createClient(url).then((client) => keyVaultSecretSource(url, client));
      // A failed client creation is not cached: the next resolve tries again.
      source.catch(() => vaults.delete(url));
      vaults.set(url, source);
    }
    return source;
  };

  const resolve = async (scope: string | null, secretName: string): Promise<string> => {
    const key = `${scope ?? ''}\u0000${secretName}`;
    const hit = cache.get(key);
    if (hit && hit.expiresAt > now()) return hit.value;
    const source = await sourceFor(scope);
    const value = await source.get(secretName);
    if (value === undefined) throw new MissingSecretError(secretName, source.describe(secretName));
    cache.set(key, { value, expiresAt: now() + options.ttlSeconds * 1000 });
    handedOut.set(value, secretName);
    return value;
  };

  return {
    resolve,
    redact: (text) => redactWholeValues(text, handedOut),
    resolveAll: async (scope, names) => {
      const entries = await Promise.all(
        Object.entries(names).map(async ([field, secretName]) => [field, await resolve(scope, secretName)] as const),
      );
      return Object.fromEntries(entries);
    },
  };
}

const escapeRegExp = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Replaces each secret value where it stands as a whole value: not inside a
 * longer word or number (the user `postgres` is redacted in `user=postgres`,
 * not in `postgresql`), so that the message keeps its meaning. Its URL-encoded
 * form is redacted too. Longest first, so a value containing another is
 * replaced whole.
 */
export function redactWholeValues(text: string, secrets: ReadonlyMap<string, string>): string {
  const forms: [string, string][] = [];
  for (const [value, name] of secrets) {
    if (value.length < MIN_REDACTED_LENGTH) continue;
    forms.push([value, name]);
    const encoded = encodeURIComponent(value);
    if (encoded !== value) forms.push([encoded, name]);
  }
  forms.sort((a, b) => b[0].length - a[0].length);
  let result = text;
  for (const [value, name] of forms) {
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(value)}(?![\\p{L}\\p{N}_])`, 'gu');
    result = result.replace(pattern, () => `[secret ${name}]`);
  }
  return result;
}
