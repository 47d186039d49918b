/**
 * A table_control row read as a load configuration, checked once at the start
 * of a run. A row that cannot be loaded fails with a message naming the row and
 * the field to fix.
 */
import { LOAD_STRATEGIES, type DbConfigRow, type LoadStrategy } from '../control/rows.js';
import type { ControlRow } from '../control/status.js';
import type { SourceRelation } from '../data/spec.js';
import type { TableRef } from '../destination/port.js';
import { TerminalError } from '../errors.js';
import { parseTableLookback, type TableLookback } from './watermark.js';

export const WATERMARK_TYPES = ['timestamp', 'date', 'integer', 'decimal'] as const;
export type WatermarkType = (typeof WATERMARK_TYPES)[number];

// Spellings admins use for the same watermark kinds.
const WATERMARK_ALIASES: Record<string, WatermarkType> = {
  timestamp: 'timestamp',
  timestamptz: 'timestamp',
  datetime: 'timestamp',
  datetime2: 'timestamp',
  date: 'date',
  integer: 'integer',
  int: 'integer',
  bigint: 'integer',
  long: 'integer',
  decimal: 'decimal',
  numeric: 'decimal',
  number: 'decimal',
};

/** An incremental_type as a watermark type (its aliases included); undefined when it is none. */
export function watermarkTypeOf(incrementalType: string | null | undefined): WatermarkType | undefined {
  return WATERMARK_ALIASES[(incrementalType ?? '').trim().toLowerCase()];
}

export interface Watermark {
  column: string;
  type: WatermarkType;
  /** incremental_value: the largest value loaded so far, as text; null before the first load. */
  value: string | null;
  /** incremental_lookback, parsed; null: the setting's lookback. */
  lookback: TableLookback | null;
}

export interface Partitioning {
  column: string;
  lower: string;
  upper: string;
  count: number;
}

export interface LoadConfig {
  configId: number;
  strategy: LoadStrategy;
  relation: SourceRelation;
  /** For messages: `sales.public.orders` or `custom query`. */
  sourceName: string;
  target: TableRef;
  primaryKey: string[];
  watermark?: Watermark;
  rolling?: { column: string; days: number };
  /** num_partitions > 1 with partition_column and both bounds (chunked_backfill: its chunks). */
  partitioning?: Partitioning;
  /** load_full was truthy: one forced full reload, then reset. */
  forceFull: boolean;
  /** chunked_backfill: once every chunk is loaded, appends past this watermark (partition_column, incremental_value). */
  backfillWatermark?: Watermark;
}

/** The watermark type of a partition column, told from its bounds' spelling. */
function boundsType(lower: string, upper: string): WatermarkType {
  const both = (re: RegExp) => re.test(lower) && re.test(upper);
  if (both(/^[-+]?\d+$/)) return 'integer';
  if (both(/^[-+]?\d+(\.\d+)?$/)) return 'decimal';
  if (both(/^\d{4}-\d{2}-\d{2}$/)) return 'date';
  return 'timestamp';
}

const TRUTHY = new Set(['y', 'yes', 'true', '1']);

/** load_full truthy: Y, YES, TRUE, 1 in any case. */
export function isTruthy(value: string | null): boolean {
  return value !== null && TRUTHY.has(value.trim().toLowerCase());
}

const blank = (value: string | null | undefined): value is null | undefined => value === null || value === undefined || value.trim() === '';

/** `a, b ,c` -> ['a', 'b', 'c']. */
export function parseColumnList(value: string | null): string[] {
  if (blank(value)) return [];
  return value.split(',').map((c) => c.trim()).filter((c) => c.length > 0);
}

export function parseLoadConfig(row: ControlRow, destination: Pick<DbConfigRow, 'db_config_key' | 'default_target_schema'>): LoadConfig {
  const where = `table_control row ${row.config_id}`;
  const fail = (message: string): never => {
    throw new TerminalError(`${where}: ${message}`);
  };
  const strategy = (row.load_strategy ?? '').trim().toLowerCase() as LoadStrategy;
  if (!LOAD_STRATEGIES.includes(strategy)) {
    fail(`load_strategy "${row.load_strategy ?? ''}" is not one of ${LOAD_STRATEGIES.join(', ')}`);
  }

  let relation: SourceRelation;
  if (!blank(row.query)) relation = { kind: 'query', sql: row.query };
  else if (!blank(row.source_table_name)) {
    relation = {
      kind: 'table',
      catalog: blank(row.source_table_catalog) ? null : row.source_table_catalog,
      schema: blank(row.source_table_schema) ? null : row.source_table_schema,
      table: row.source_table_name,
    };
  } else relation = fail('source_table_name is empty and there is no query');

  const schema = blank(row.destination_table_schema) ? destination.default_target_schema : row.destination_table_schema;
  if (blank(schema)) {
    fail(`destination_table_schema is empty and table_control_dbconfig "${destination.db_config_key}" has no default_target_schema`);
  }
  if (blank(row.destination_table_name)) fail('destination_table_name is empty');

  const config: LoadConfig = {
    configId: row.config_id,
    strategy,
    relation,
    sourceName:
      relation.kind === 'query'
        ? `custom query of row ${row.config_id}`
        : [relation.catalog, relation.schema, relation.table].filter((p) => p).join('.'),
    target: { schema: schema!, table: row.destination_table_name! },
    primaryKey: parseColumnList(row.primary_key_cols),
    forceFull: isTruthy(row.load_full),
  };

  if (!blank(row.incremental_column)) {
    const type = watermarkTypeOf(row.incremental_type);
    if (!type) fail(`incremental_type "${row.incremental_type ?? ''}" is not one of ${WATERMARK_TYPES.join(', ')}`);
    let lookback: TableLookback | null = null;
    if (!blank(row.incremental_lookback)) {
      const parsed = parseTableLookback(row.incremental_lookback, type!);
      if ('error' in parsed) fail(`incremental_lookback "${row.incremental_lookback}" ${parsed.error}`);
      lookback = parsed as TableLookback;
    }
    config.watermark = { column: row.incremental_column.trim(), type: type!, value: blank(row.incremental_value) ? null : row.incremental_value, lookback };
  }
  if (strategy === 'incremental' || strategy === 'append_only') {
    if (!config.watermark) fail(`incremental_column is required for load_strategy ${strategy}`);
  }
  if (strategy === 'incremental' && config.primaryKey.length === 0) {
    fail('primary_key_cols is required for load_strategy incremental (the merge key, comma separated)');
  }

  if (strategy === 'rolling') {
    if (blank(row.rolling_column)) fail('rolling_column is required for load_strategy rolling');
    if (row.rolling_days === null || row.rolling_days <= 0) fail('rolling_days must be a positive number of days for load_strategy rolling');
    config.rolling = { column: row.rolling_column!.trim(), days: row.rolling_days! };
  }

  const count = row.num_partitions ?? 1;
  const partitioned = !blank(row.partition_column) && !blank(row.lower_bound) && !blank(row.upper_bound);
  if (strategy === 'chunked_backfill') {
    if (!partitioned) fail('chunked_backfill needs partition_column, lower_bound and upper_bound');
    if (count < 1) fail('num_partitions must be at least 1 for chunked_backfill (the number of chunks)');
  }
  if (partitioned && (count > 1 || strategy === 'chunked_backfill')) {
    config.partitioning = { column: row.partition_column!.trim(), lower: row.lower_bound!.trim(), upper: row.upper_bound!.trim(), count };
  }
  if (strategy === 'chunked_backfill' && config.partitioning) {
    const { column, lower, upper } = config.partitioning;
    config.backfillWatermark = { column, type: boundsType(lower, upper), value: blank(row.incremental_value) ? null : row.incremental_value, lookback: null };
  }
  return config;
}
