/**
 * zod schemas and types for the rows of the four control tables, column for
 * column as the seed defines them. TIMESTAMP columns are UTC instants.
 */
import { z } from 'zod';

/** `last_status` values; NULL means never run or reset for a retry. */
export const LOAD_STATUSES = ['Queued', 'In Progress', 'Succeeded', 'Failed'] as const;
export type LoadStatus = (typeof LOAD_STATUSES)[number];

/** `historical_metadata.load_status` values. */
export const RUN_STATUSES = ['Succeeded', 'Failed', 'Cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const LOAD_STRATEGIES = [
  'full',
  'incremental',
  'append_only',
  'rolling',
  'check_and_load',
  'chunked_backfill',
] as const;
export type LoadStrategy = (typeof LOAD_STRATEGIES)[number];

export const DB_TYPES = ['mssql', 'oracle', 'postgresql', 'snowflake', 'snowflake_pem', 'clickhouse'] as const;
export type DbType = (typeof DB_TYPES)[number];

export const CHANGE_TYPES = ['INSERT', 'UPDATE', 'DELETE'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const CHANGE_SOURCES = [
  'bulk_edit',
  'single_edit',
  'clone',
  'status_reset',
  'toggle_active',
  'promotion',
  /** An admin making a row due at once: not a config edit, but an action worth a history row. */
  'run_now',
  /** The product's own writes (status, watermark, next time), which the audit trigger leaves out unless config changes too. */
  'runtime',
] as const;
export type ChangeSource = (typeof CHANGE_SOURCES)[number];

/**
 * A status or change source as a SQL string literal. SQL statements spell these
 * values through this function, so that each one is checked against its union
 * (and so against the values the database holds) when the code compiles.
 */
export function sqlLiteral(value: LoadStatus | RunStatus | ChangeSource): string {
  return `'${value}'`;
}

const timestamp = z.date().nullable();
const text = z.string().nullable();
const int = z.number().int().nullable();

export const dbConfigRowSchema = z.object({
  db_config_key: z.string(),
  db_config_value: z.record(z.string(), z.unknown()),
  db_type: z.string(),
  db_kv_scope: text,
  default_target_schema: text,
  created_at: timestamp,
  last_modified_at: timestamp,
  create_user: text,
  last_modified_user: text,
});
export type DbConfigRow = z.infer<typeof dbConfigRowSchema>;

export const tableControlRowSchema = z.object({
  config_id: z.number().int(),
  control_key: z.instanceof(Buffer).nullable(),
  is_active: z.boolean(),
  last_status: text,
  db_config_key: text,
  source_table_catalog: text,
  source_table_schema: text,
  source_table_name: text,
  query: text,
  destination_table_catalog: text,
  destination_table_schema: text,
  destination_table_name: text,
  load_strategy: text,
  load_full: text,
  load_cron: text,
  incremental_column: text,
  incremental_type: text,
  incremental_value: text,
  rolling_column: text,
  rolling_days: int,
  num_partitions: int,
  partition_column: text,
  lower_bound: text,
  upper_bound: text,
  primary_key_cols: text,
  last_load_date_time: timestamp,
  next_load_date_time: timestamp,
  last_status_date_time: timestamp,
  last_status_message: text,
  last_dagster_run: text,
  last_databricks_run: text,
  created_at: timestamp,
  last_modified_at: timestamp,
  create_user: text,
  last_modified_user: text,
});
export type TableControlRow = z.infer<typeof tableControlRowSchema>;

/** The seed's columns of table_control, in order (later migrations may add others). */
export const TABLE_CONTROL_COLUMNS = Object.keys(tableControlRowSchema.shape) as (keyof TableControlRow)[];

export const historicalMetadataRowSchema = z.object({
  id: z.number().int(),
  control_key: z.instanceof(Buffer),
  run_id: text,
  load_queued_time: timestamp,
  load_start_time: timestamp,
  load_end_time: timestamp,
  total_duration: int,
  source_catalog: text,
  source_schema: text,
  source_table: text,
  target_catalog: text,
  target_schema: text,
  target_table: text,
  rows_processed: z.number().int().nullable(),
  load_status: text,
  log_message: text,
  created_at: timestamp,
});
export type HistoricalMetadataRow = z.infer<typeof historicalMetadataRowSchema>;

export const tableControlHistoryRowSchema = z.object({
  history_id: z.number().int(),
  control_key: z.instanceof(Buffer),
  config_id: int,
  changed_at: timestamp,
  changed_by: text,
  change_type: z.enum(CHANGE_TYPES),
  change_source: text,
  old_values: z.record(z.string(), z.unknown()).nullable(),
  new_values: z.record(z.string(), z.unknown()).nullable(),
  changed_fields: z.array(z.string()).nullable(),
});
export type TableControlHistoryRow = z.infer<typeof tableControlHistoryRowSchema>;
