/** Schemas of the API's responses, for the OpenAPI document only (responses are built by the use cases). */
import { z } from 'zod';
import { TABLE_COLUMNS, CONNECTION_COLUMNS } from '../format.js';

const nullableString = z.string().nullable();

const TABLE_TYPES: Record<string, z.ZodType> = {
  config_id: z.number().int(),
  is_active: z.boolean(),
  rolling_days: z.number().int().nullable(),
  num_partitions: z.number().int().nullable(),
};

export const tableRow = z
  .object({
    ...Object.fromEntries(TABLE_COLUMNS.map((c) => [c, TABLE_TYPES[c] ?? nullableString])),
    incremental_lookback_in_force: nullableString.optional().meta({
      description: 'Read views: the lookback loads of this row use (its incremental_lookback, else the setting), and where it comes from',
    }),
  })
  .meta({ id: 'Table', description: 'A table_control row. Timestamps are UTC, ISO-8601 with microseconds; control_key is hex.' });

export const tablePage = z
  .object({ items: z.array(tableRow), total: z.number().int(), limit: z.number().int(), offset: z.number().int() })
  .meta({ id: 'TablePage' });

export const bulkResult = z
  .object({ matched: z.number().int(), updated: z.number().int(), config_ids: z.array(z.number().int()) })
  .meta({ id: 'BulkResult' });

export const connectionRow = z
  .object(
    Object.fromEntries(
      CONNECTION_COLUMNS.map((c) => [c, c === 'db_config_value' ? z.record(z.string(), z.string()) : nullableString]),
    ),
  )
  .meta({ id: 'Connection', description: 'A table_control_dbconfig row. db_config_value holds Key Vault secret names.' });

export const errorBody = z
  .object({
    errors: z.array(z.object({ field: z.string(), message: z.string() })),
    correlation_id: z.string(),
  })
  .meta({ id: 'Errors', description: 'What was wrong: one entry per field (field is empty when the problem is not one field).' });

/** Rows of the read views: the seed's columns, JSON-encoded. */
export const viewRows = z.array(z.record(z.string(), z.unknown())).meta({ id: 'ViewRows' });
