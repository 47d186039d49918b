/**
 * Source connectors by `db_type`, and opening one from a table_control_dbconfig
 * row: its db_config_value holds secret names, resolved through the row's
 * db_kv_scope. More database types register here.
 */
import type { DbConfigRow } from '../control/rows.js';
import { TerminalError } from '../loader/errors.js';
import type { SecretResolver } from '../secrets/resolver.js';
import { clickHouseConnector } from './clickhouse.js';
import { mssqlConnector } from './mssql.js';
import { oracleConnector } from './oracle.js';
import { postgresConnector } from './postgres.js';
import { snowflakeConnector, snowflakePemConnector } from './snowflake.js';
import { SSL_MODES, type ResolvedConnection } from './postgres-connection.js';
import type { SourceConnector, SourceSession } from './port.js';

const connectors = new Map<string, SourceConnector>([
  ['postgresql', postgresConnector],
  ['postgres', postgresConnector],
  // Their drivers load inside open(), so registering them costs nothing at start-up.
  ['mssql', mssqlConnector],
  ['oracle', oracleConnector],
  ['snowflake', snowflakeConnector],
  ['snowflake_pem', snowflakePemConnector],
  ['clickhouse', clickHouseConnector],
]);

/** Adds (or replaces) the connector of a db_type. */
export function registerConnector(dbType: string, connector: SourceConnector): void {
  connectors.set(dbType.toLowerCase(), connector);
}

export function connectorFor(dbConfig: Pick<DbConfigRow, 'db_config_key' | 'db_type'>): SourceConnector {
  const connector = connectors.get(dbConfig.db_type.toLowerCase());
  if (!connector) {
    throw new TerminalError(
      `table_control_dbconfig "${dbConfig.db_config_key}": db_type "${dbConfig.db_type}" has no source connector yet (supported: ${[...connectors.keys()].join(', ')})`,
    );
  }
  return connector;
}

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

/** Opens a session on the source a dbconfig row describes. */
export async function openSource(
  dbConfig: DbConfigRow,
  secrets: SecretResolver,
  maxConnections: number,
): Promise<SourceSession> {
  const connector = connectorFor(dbConfig);
  const connection = await resolveConnection(dbConfig, secrets, {
    required: connector.requiredSecrets,
    optional: connector.optionalSecrets,
  });
  return connector.open(connection, { maxConnections });
}
