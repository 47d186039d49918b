import { TerminalError } from '../errors.js';

/** A db_kv_scope with no vault, where the environment may not stand in. Names the scope and the fix. */
export class UnknownVaultScopeError extends TerminalError {
  override name = 'UnknownVaultScopeError';
  constructor(readonly scope: string | null) {
    super(
      `db_kv_scope ${JSON.stringify(scope)} has no vault in KEYVAULT_URLS: add "${scope ?? ''}": "<vault URL>" to KEYVAULT_URLS, ` +
        'or set the connection\'s db_kv_scope to a scope listed there (secrets are read from the environment only with SECRETS_FROM_ENVIRONMENT=true, on a local host)',
    );
  }
}

/** A secret name that resolved to nothing. Names the secret and where it was looked up, never a value. */
export class MissingSecretError extends TerminalError {
  override name = 'MissingSecretError';
  constructor(
    readonly secretName: string,
    readonly lookedUpIn: string,
  ) {
    super(`secret "${secretName}" not found in ${lookedUpIn}`);
  }
}
