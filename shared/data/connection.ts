/**
 * Resolving a table_control_dbconfig row to connection values, the same way
 * for a source and a destination: its db_config_value holds secret names,
 * resolved through the row's db_kv_scope.
 */
import type { DbConfigRow } from '../control/rows.js';
import { TerminalError } from '../errors.js';
import type { SecretResolver } from '../secrets/resolver.js';
import { SSL_MODES, type ResolvedConnection } from './postgres-connection.js';

/**
 * Resolves a dbconfig row's secret names to connection values. A key whose
 * value is a literal sslmode (`disable`, `require`, ...) is taken as is.
 */
export async function resolveConnection(
  dbConfig: DbConfigRow,
  secrets: SecretResolver,
  keys: { required: readonly string[]; optional: readonly string[] },
): Promise<ResolvedConnection> {
  const label = `table_control_dbconfig "${dbConfig.db_config_key}"`;
  const names: Record<string, string> = {};
  const literal: Record<string, string> = {};
  for (const key of [...keys.required, ...keys.optional]) {
    const value = dbConfig.db_config_value[key];
    if (value === undefined || value === null || value === '') {
      if (keys.required.includes(key)) {
        throw new TerminalError(`${label}: db_config_value has no "${key}" (the name of the secret holding it)`);
      }
      continue;
    }
    if (typeof value !== 'string') {
      throw new TerminalError(`${label}: db_config_value.${key} must be a secret name (a string)`);
    }
    if (key === 'sslmode' && (SSL_MODES as readonly string[]).includes(value)) literal[key] = value;
    else names[key] = value;
  }
  return { ...(await secrets.resolveAll(dbConfig.db_kv_scope, names)), ...literal };
}
