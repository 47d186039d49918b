/**
 * Source connectors by `db_type`, and opening one from a table_control_dbconfig
 * row: its db_config_value holds secret names, resolved through the row's
 * db_kv_scope. More database types register here.
 */
import type { DbConfigRow } from '../control/rows.js';
import { TerminalError } from '../errors.js';
import { resolveConnection } from '../data/connection.js';
import type { SecretResolver } from '../secrets/resolver.js';
import { clickHouseConnector } from './clickhouse.js';
import { mssqlConnector } from './mssql.js';
import { oracleConnector } from './oracle.js';
import { postgresConnector } from './postgres.js';
import { snowflakeConnector, snowflakePemConnector } from './snowflake.js';
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
