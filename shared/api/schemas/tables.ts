/**
 * Request schemas of the tables resource, and the rules a whole table_control
 * configuration must satisfy (checked on the row as it will be after the
 * change, so a partial edit cannot leave a row the loader would reject).
 */
import { z } from 'zod';
import { LOAD_STATUSES, LOAD_STRATEGIES } from '../../control/rows.js';
import { parseTableLookback } from '../../strategies/watermark.js';
import type { FieldError } from '../errors.js';
import { columnList, configKey, cron, id, name, nonEmptyText, queryFlag, queryLimit, text, version } from './common.js';

export const INCREMENTAL_TYPES = ['timestamp', 'date', 'integer', 'decimal'] as const;

/**
 * The columns an admin writes. Everything else is the runtime's (status,
 * timing, run tracking) or the database's (config_id, control_key, created_at,
 * last_modified_*). incremental_value is the runtime's watermark, but an admin
 * may reset it on purpose (to reload from a point): it is writable, and audited
 * like any other edit.
 */
export const tableFields = {
  is_active: z.boolean(),
  db_config_key: configKey.nullable(),
  source_table_catalog: name().nullable(),
  source_table_schema: name().nullable(),
  source_table_name: name().nullable(),
  query: nonEmptyText(100_000).nullable(),
  destination_table_catalog: name().nullable(),
  destination_table_schema: name().nullable(),
  destination_table_name: name().nullable(),
  load_strategy: z.enum(LOAD_STRATEGIES).nullable(),
  load_full: z
    .string()
    .regex(/^(y|n|yes|no|true|false|1|0)$/i, 'one of Y, N, YES, NO, TRUE, FALSE, 1, 0')
    .nullable(),
  load_cron: cron.nullable(),
  incremental_column: name().nullable(),
  incremental_type: z.enum(INCREMENTAL_TYPES).nullable(),
  incremental_value: text(255).nullable(),
  incremental_lookback: text(64).nullable(),
  rolling_column: name().nullable(),
  rolling_days: z.number().int().positive().max(36_500).nullable(),
  num_partitions: z.number().int().positive().max(10_000).nullable(),
  partition_column: name().nullable(),
  lower_bound: nonEmptyText(255).nullable(),
  upper_bound: nonEmptyText(255).nullable(),
  primary_key_cols: columnList.nullable(),
};

export type TableField = keyof typeof tableFields;
export const TABLE_FIELDS = Object.keys(tableFields) as TableField[];

/** A complete configuration: every writable column. */
export type TableConfig = { [K in TableField]: z.output<(typeof tableFields)[K]> };
export type TableChanges = Partial<TableConfig>;

/** A configuration with nothing set. */
export const EMPTY_CONFIG: TableConfig = Object.fromEntries(
  TABLE_FIELDS.map((f) => [f, f === 'is_active' ? false : null]),
) as TableConfig;

const optionalFields = Object.fromEntries(TABLE_FIELDS.map((f) => [f, tableFields[f].optional()])) as {
  [K in TableField]: z.ZodOptional<(typeof tableFields)[K]>;
};

/** POST /tables. Which fields are required depends on the strategy: see checkTableConfig. */
export const createTableBody = z.strictObject(optionalFields).meta({ id: 'TableCreate' });

/** PATCH /tables/{id}: the fields to change, and the version the change is based on (or an If-Match header). */
export const patchTableBody = z.strictObject({ ...optionalFields, last_modified_at: version.optional() }).meta({ id: 'TablePatch' });

/** PUT /tables/{id}: the whole configuration (fields left out become NULL, is_active false). */
export const putTableBody = patchTableBody.meta({ id: 'TablePut' });

/** Which rows: the list filters, as JSON (bulk edit, bulk reset). */
export const tableFilter = z
  .strictObject({
    status: z.enum([...LOAD_STATUSES, 'none']).optional(),
    active: z.boolean().optional(),
    db_config_key: configKey.optional(),
    strategy: z.enum(LOAD_STRATEGIES).optional(),
    name: text(255).optional(),
  })
  .refine((f) => Object.keys(f).length > 0, 'give at least one filter (an edit of every row must name a filter)');
export type TableFilter = z.output<typeof tableFilter>;

/** GET /tables query string. `status=none` finds rows never run or reset; `name` searches source and destination table names. */
export const listTablesQuery = z.strictObject({
  status: z.enum([...LOAD_STATUSES, 'none']).optional(),
  active: queryFlag.optional(),
  db_config_key: configKey.optional(),
  strategy: z.enum(LOAD_STRATEGIES).optional(),
  name: text(255).optional(),
  limit: queryLimit(100, 1000),
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});
export type ListTablesQuery = z.output<typeof listTablesQuery>;

const selection = {
  ids: z.array(id).min(1).max(100_000).optional(),
  filter: tableFilter.optional(),
};
const oneSelection = (s: { ids?: unknown; filter?: unknown }) => (s.ids === undefined) !== (s.filter === undefined);
const ONE_SELECTION = { message: 'give either ids or filter', path: ['ids'] };

/**
 * Names are not bulk-editable: every row would get the same source or
 * destination table. Catalog and schema moves are.
 */
export const BULK_EXCLUDED = ['source_table_name', 'destination_table_name'] as const;

const bulkFields = z
  .strictObject(
    Object.fromEntries(
      TABLE_FIELDS.filter((f) => !(BULK_EXCLUDED as readonly string[]).includes(f)).map((f) => [f, tableFields[f].optional()]),
    ) as { [K in Exclude<TableField, (typeof BULK_EXCLUDED)[number]>]: z.ZodOptional<(typeof tableFields)[K]> },
  )
  .refine((f) => Object.keys(f).length > 0, 'give at least one field to change');

/** POST /tables/bulk-edit: which rows (ids or a filter), and the fields to set on all of them. */
export const bulkEditBody = z
  .strictObject({ ...selection, fields: bulkFields })
  .refine(oneSelection, ONE_SELECTION)
  .meta({ id: 'BulkEdit' });
export type BulkEditBody = z.output<typeof bulkEditBody>;

/** POST /tables/reset-status: which rows to set back to status NULL. */
export const resetStatusBody = z.strictObject(selection).refine(oneSelection, ONE_SELECTION).meta({ id: 'StatusReset' });
export type ResetStatusBody = z.output<typeof resetStatusBody>;

/** POST /tables/{id}/clone: the new names (and optionally is_active; a clone starts inactive). */
export const cloneTableBody = z
  .strictObject({
    source_table_catalog: tableFields.source_table_catalog.optional(),
    source_table_schema: tableFields.source_table_schema.optional(),
    source_table_name: tableFields.source_table_name.optional(),
    destination_table_catalog: tableFields.destination_table_catalog.optional(),
    destination_table_schema: tableFields.destination_table_schema.optional(),
    destination_table_name: tableFields.destination_table_name.optional(),
    is_active: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'is_active'), 'give a new source or destination name')
  .meta({ id: 'TableClone' });

/** POST /tables/{id}/toggle-active: flips is_active, or sets it when given. */
export const toggleActiveBody = z.strictObject({ is_active: z.boolean().optional() }).meta({ id: 'ToggleActive' });

const NAME_PARTS = ['source_table_catalog', 'source_table_schema', 'source_table_name'] as const;

function requireFields(config: TableConfig, fields: readonly TableField[], why: string, errors: FieldError[]): void {
  for (const field of fields) {
    const value = config[field];
    if (value === null || value === undefined) errors.push({ field, message: `required ${why}` });
  }
}

/**
 * The rules of a whole configuration; [] when it is valid. The loader checks
 * the same things at run time (shared/strategies/config.ts), so a row saved
 * through the API does not fail for its configuration.
 */
export function checkTableConfig(config: TableConfig): FieldError[] {
  const errors: FieldError[] = [];
  requireFields(config, NAME_PARTS, '(control_key is computed from the source catalog, schema and table name)', errors);
  requireFields(config, ['db_config_key'], '(the source connection)', errors);
  requireFields(config, ['destination_table_name'], '(the table loads write to)', errors);
  requireFields(config, ['load_strategy'], `(one of ${LOAD_STRATEGIES.join(', ')})`, errors);
  if (config.is_active) requireFields(config, ['load_cron'], 'for an active table (its schedule)', errors);

  const strategy = config.load_strategy;
  if (strategy === 'incremental') {
    requireFields(config, ['incremental_column', 'incremental_type', 'primary_key_cols'], 'for load_strategy incremental', errors);
  } else if (strategy === 'append_only') {
    requireFields(config, ['incremental_column', 'incremental_type'], 'for load_strategy append_only', errors);
  } else if (strategy === 'rolling') {
    requireFields(config, ['rolling_column', 'rolling_days'], 'for load_strategy rolling', errors);
  } else if (strategy === 'chunked_backfill') {
    requireFields(config, ['partition_column', 'lower_bound', 'upper_bound', 'num_partitions'], 'for load_strategy chunked_backfill', errors);
  }
  if (config.incremental_column !== null && config.incremental_type === null && !errors.some((e) => e.field === 'incremental_type')) {
    errors.push({ field: 'incremental_type', message: 'required when incremental_column is set' });
  }
  if (config.incremental_lookback !== null) {
    if (config.incremental_type === null) {
      errors.push({ field: 'incremental_lookback', message: 'needs incremental_type: an interval for timestamp and date watermarks, an amount for integer and decimal ones' });
    } else {
      const parsed = parseTableLookback(config.incremental_lookback, config.incremental_type);
      if ('error' in parsed) errors.push({ field: 'incremental_lookback', message: parsed.error });
    }
  }
  if (strategy !== 'chunked_backfill' && config.num_partitions !== null && config.num_partitions > 1) {
    requireFields(config, ['partition_column', 'lower_bound', 'upper_bound'], 'when num_partitions is more than 1', errors);
  }
  const lower = Number(config.lower_bound);
  const upper = Number(config.upper_bound);
  if (config.lower_bound !== null && config.upper_bound !== null && Number.isFinite(lower) && Number.isFinite(upper) && lower >= upper) {
    errors.push({ field: 'upper_bound', message: 'must be greater than lower_bound' });
  }
  return errors;
}

/**
 * The problems an edit introduces: those of `after` that `before` did not have.
 * A row that was already incomplete (a legacy row, or one edited with plain
 * SQL) can still be deactivated or partly fixed; the edit must not make it
 * worse. An edit that activates a row asks for loads: the whole row must be valid.
 */
export function checkTableEdit(before: TableConfig, after: TableConfig): FieldError[] {
  if (after.is_active && !before.is_active) return checkTableConfig(after);
  const known = new Set(checkTableConfig(before).map((e) => `${e.field}\u0000${e.message}`));
  return checkTableConfig(after).filter((e) => !known.has(`${e.field}\u0000${e.message}`));
}

/** Keeps only the writable fields of a row. */
export function configOf(row: Record<string, unknown>): TableConfig {
  return Object.fromEntries(TABLE_FIELDS.map((f) => [f, row[f] ?? (f === 'is_active' ? false : null)])) as TableConfig;
}

/** The fields whose value differs between `before` and `after`. */
export function changedFields(before: TableConfig, after: TableConfig): TableChanges {
  const changes: Record<string, unknown> = {};
  for (const f of TABLE_FIELDS) if (before[f] !== after[f]) changes[f] = after[f];
  return changes as TableChanges;
}

export { NAME_PARTS };
