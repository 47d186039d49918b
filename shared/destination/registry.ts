/**
 * Opens the destination named by the DESTINATION_DB_CONFIG_KEY setting (a
 * table_control_dbconfig row, its secrets resolved like a source's), by its
 * db_type: postgresql, adls or databricks.
 */
import type { DbConfigRow } from '../control/rows.js';
import { resolveConnection } from '../data/connection.js';
import { TerminalError } from '../errors.js';
import type { SecretResolver } from '../secrets/resolver.js';
import type { DatabricksOptions } from './databricks/session.js';
import { openPostgresDestination } from './postgres.js';
import type { DestinationSession } from './port.js';

export const DESTINATION_TYPES = ['postgresql', 'adls', 'databricks'] as const;

export async function openDestination(
  dbConfig: DbConfigRow,
  secrets: SecretResolver,
  maxConnections: number,
  databricks: DatabricksOptions = { stagingRetentionDays: 0 },
): Promise<DestinationSession> {
  const type = dbConfig.db_type.toLowerCase();
  const label = `destination table_control_dbconfig "${dbConfig.db_config_key}"`;
  // The lakehouse modules (DuckDB, the storage SDK) load only when such a destination opens.
  if (type === 'adls') {
    const { ADLS_SECRETS, openAdlsDestination } = await import('./adls.js');
    return openAdlsDestination(await resolveConnection(dbConfig, secrets, ADLS_SECRETS), label);
  }
  if (type === 'databricks') {
    const { DATABRICKS_SECRETS, openDatabricksDestination } = await import('./databricks/session.js');
    return openDatabricksDestination(await resolveConnection(dbConfig, secrets, DATABRICKS_SECRETS), label, databricks);
  }
  if (type !== 'postgresql' && type !== 'postgres') {
    throw new TerminalError(`${label}: db_type "${dbConfig.db_type}" is not a supported destination (${DESTINATION_TYPES.join(', ')})`);
  }
  const connection = await resolveConnection(dbConfig, secrets, {
    required: ['host', 'database', 'user', 'password'],
    optional: ['port', 'sslmode'],
  });
  return openPostgresDestination(connection, maxConnections);
}
