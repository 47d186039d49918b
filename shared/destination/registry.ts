/**
 * Opens the destination named by the DESTINATION_DB_CONFIG_KEY setting (a
 * table_control_dbconfig row, its secrets resolved like a source's).
 */
import type { DbConfigRow } from '../control/rows.js';
import { resolveConnection } from '../data/connection.js';
import { TerminalError } from '../errors.js';
import type { SecretResolver } from '../secrets/resolver.js';
import { openPostgresDestination } from './postgres.js';
import type { DestinationSession } from './port.js';

export async function openDestination(
  dbConfig: DbConfigRow,
  secrets: SecretResolver,
  maxConnections: number,
): Promise<DestinationSession> {
  const type = dbConfig.db_type.toLowerCase();
  if (type !== 'postgresql' && type !== 'postgres') {
    throw new TerminalError(
      `destination table_control_dbconfig "${dbConfig.db_config_key}": db_type "${dbConfig.db_type}" is not a supported destination (postgresql)`,
    );
  }
  const connection = await resolveConnection(dbConfig, secrets, {
    required: ['host', 'database', 'user', 'password'],
    optional: ['port', 'sslmode'],
  });
  return openPostgresDestination(connection, maxConnections);
}
