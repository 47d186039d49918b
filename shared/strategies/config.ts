/**
 * The one rule set of a table_control row: what a row needs before the API
 * saves it, the sensor queues it and the loader loads it. `checkLoadConfig`
 * reads the row as a load configuration or lists every problem, each naming
 * the field and the fix. The API answers them as field errors, the sensor
 * writes them as the row's Failed message, the loader fails the run with them.
 */
import { LOAD_STRATEGIES, type DbConfigRow, type LoadStrategy, type TableControlRow } from '../control/rows.js';
import type { ColumnSpec, SourceRelation } from '../data/spec.js';
import type { TableRef } from '../destination/port.js';
import { TerminalError } from '../errors.js';
import { boundsProblem } from './ranges.js';
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

interface CommonConfig {
  configId: number;
  relation: SourceRelation;
  /** For messages: `sales.public.orders` or `custom query`. */
  sourceName: string;
  target: TableRef;
  primaryKey: string[];
  /** Set when incremental_column is: a full load restarts the watermark at what it loaded. */
  watermark?: Watermark;
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

/** A load configuration, by strategy: each carries what its strategy needs. */
export type LoadConfig =
  | (CommonConfig & { strategy: 'full' | 'check_and_load' })
  | (CommonConfig & { strategy: 'incremental' | 'append_only'; watermark: Watermark })
  | (CommonConfig & { strategy: 'rolling'; rolling: { column: string; days: number } })
  | (CommonConfig & { strategy: 'chunked_backfill'; partitioning: Partitioning });

/** The configuration of one strategy. */
export type ConfigOf<S extends LoadStrategy> = LoadConfig & { strategy: S };

/** One problem of a row: the column and what to set. */
export interface ConfigProblem {
  field: string;
  message: string;
}

/** The columns the rules read (the API's configuration, the sensor's due row and the loader's row all have them). */
export type ConfigFields = Pick<
  TableControlRow,
  | 'db_config_key'
  | 'source_table_catalog'
  | 'source_table_schema'
  | 'source_table_name'
  | 'query'
  | 'destination_table_schema'
  | 'destination_table_name'
  | 'load_strategy'
  | 'load_full'
  | 'incremental_column'
  | 'incremental_type'
  | 'incremental_value'
  | 'rolling_column'
  | 'rolling_days'
  | 'num_partitions'
  | 'partition_column'
  | 'lower_bound'
  | 'upper_bound'
  | 'primary_key_cols'
> & {
  /** incremental_lookback (migration 007); absent on rows read without it. */
  incremental_lookback?: string | null;
};

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

/** A load_strategy as the loader reads it (trimmed, any case), or undefined when unknown. */
export function strategyOf(value: string | null): LoadStrategy | undefined {
  const strategy = (value ?? '').trim().toLowerCase();
  return (LOAD_STRATEGIES as readonly string[]).includes(strategy) ? (strategy as LoadStrategy) : undefined;
}

/** The fields each strategy needs beyond those every load needs. */
export const REQUIRED_FIELDS: Record<LoadStrategy, readonly (keyof ConfigFields)[]> = {
  full: [],
  check_and_load: [],
  incremental: ['incremental_column', 'incremental_type', 'primary_key_cols'],
  append_only: ['incremental_column', 'incremental_type'],
  rolling: ['rolling_column', 'rolling_days'],
  chunked_backfill: ['partition_column', 'lower_bound', 'upper_bound', 'num_partitions'],
};

const WHAT: Partial<Record<keyof ConfigFields, string>> = {
  incremental_column: 'the watermark column',
  incremental_type: `one of ${WATERMARK_TYPES.join(', ')}`,
  primary_key_cols: 'the merge key, comma-separated columns',
  rolling_column: 'the date column of the window',
  rolling_days: 'the window in days, a positive whole number',
  partition_column: 'the column the ranges split',
  lower_bound: 'a number or a date',
  upper_bound: 'a number or a date, above lower_bound',
  num_partitions: 'the number of chunks, a positive whole number',
};

const isMissing = (value: unknown) => value === null || value === undefined || (typeof value === 'string' && value.trim() === '');

export interface CheckOptions {
  /** The row's config_id (0 for a row not yet saved). */
  configId?: number;
  /** The destination connection: its default_target_schema stands in for an empty destination_table_schema. */
  destination?: Pick<DbConfigRow, 'db_config_key' | 'default_target_schema'>;
}

/** The configuration when the row is valid (problems empty), else the problems. */
export interface CheckResult {
  config?: LoadConfig;
  problems: ConfigProblem[];
}

/**
 * Reads a row as a load configuration, or lists every problem that keeps it
 * from loading. The one place these rules live.
 */
export function checkLoadConfig(row: ConfigFields, options: CheckOptions = {}): CheckResult {
  const problems: ConfigProblem[] = [];
  const need = (field: keyof ConfigFields, why: string) => {
    if (isMissing(row[field]) && !problems.some((p) => p.field === field)) problems.push({ field, message: `required ${why}` });
  };
  need('source_table_catalog', '(control_key, which links runs to this row, is computed from the source catalog, schema and table name)');
  need('source_table_schema', '(control_key, which links runs to this row, is computed from the source catalog, schema and table name)');
  need('source_table_name', '(control_key, which links runs to this row, is computed from the source catalog, schema and table name)');
  need('db_config_key', '(the table_control_dbconfig key of the source connection)');
  need('destination_table_name', '(the table loads write to)');
  if (options.destination && blank(row.destination_table_schema) && blank(options.destination.default_target_schema)) {
    problems.push({
      field: 'destination_table_schema',
      message: `required: table_control_dbconfig "${options.destination.db_config_key}" has no default_target_schema`,
    });
  }

  const strategy = strategyOf(row.load_strategy);
  if (!strategy) {
    const given = blank(row.load_strategy) ? 'required' : `${JSON.stringify(row.load_strategy)} is unknown`;
    problems.push({ field: 'load_strategy', message: `${given}: use one of ${LOAD_STRATEGIES.join(', ')}` });
  } else {
    for (const field of REQUIRED_FIELDS[strategy]) need(field, `for load_strategy ${strategy} (${WHAT[field]})`);
  }

  let watermark: Watermark | undefined;
  if (!blank(row.incremental_column)) {
    const type = watermarkTypeOf(row.incremental_type);
    let lookback: TableLookback | null = null;
    if (type && !blank(row.incremental_lookback)) {
      const parsed = parseTableLookback(row.incremental_lookback, type);
      if ('error' in parsed) problems.push({ field: 'incremental_lookback', message: parsed.error });
      else lookback = parsed;
    }
    if (type) watermark = { column: row.incremental_column.trim(), type, value: blank(row.incremental_value) ? null : row.incremental_value, lookback };
    else if (blank(row.incremental_type)) need('incremental_type', `when incremental_column is set (${WHAT.incremental_type})`);
    else problems.push({ field: 'incremental_type', message: `${JSON.stringify(row.incremental_type)} is unknown: use ${WHAT.incremental_type}` });
  }
  if (!blank(row.incremental_lookback) && !watermarkTypeOf(row.incremental_type) && !problems.some((p) => p.field === 'incremental_type')) {
    problems.push({
      field: 'incremental_lookback',
      message: 'needs incremental_type: an interval for timestamp and date watermarks, an amount for integer and decimal ones',
    });
  }
  for (const field of ['rolling_days', 'num_partitions'] as const) {
    const value = row[field];
    if (value !== null && value !== undefined && value < 1) problems.push({ field, message: `${value} is not allowed: set ${WHAT[field]}` });
  }

  const count = row.num_partitions ?? 1;
  const partitionedRead = strategy === 'chunked_backfill' || count > 1;
  if (partitionedRead && strategy !== 'chunked_backfill') {
    for (const field of ['partition_column', 'lower_bound', 'upper_bound'] as const) need(field, `when num_partitions is more than 1 (${WHAT[field]})`);
  }
  if (partitionedRead && !blank(row.lower_bound) && !blank(row.upper_bound)) {
    const problem = boundsProblem(row.lower_bound, row.upper_bound);
    if (problem) problems.push(problem);
  }

  if (problems.length > 0 || !strategy) return { problems };

  const configId = options.configId ?? 0;
  const relation: SourceRelation = !blank(row.query)
    ? { kind: 'query', sql: row.query }
    : { kind: 'table', catalog: row.source_table_catalog, schema: row.source_table_schema, table: row.source_table_name! };
  const common: CommonConfig = {
    configId,
    relation,
    sourceName:
      relation.kind === 'query' ? `custom query of row ${configId}` : [relation.catalog, relation.schema, relation.table].filter((p) => p).join('.'),
    target: {
      schema: (blank(row.destination_table_schema) ? options.destination?.default_target_schema : row.destination_table_schema) ?? '',
      table: row.destination_table_name!,
    },
    primaryKey: parseColumnList(row.primary_key_cols),
    forceFull: isTruthy(row.load_full),
    ...(watermark ? { watermark } : {}),
    ...(partitionedRead ? { partitioning: { column: row.partition_column!.trim(), lower: row.lower_bound!.trim(), upper: row.upper_bound!.trim(), count } } : {}),
  };
  const config: LoadConfig =
    strategy === 'incremental' || strategy === 'append_only'
      ? { ...common, strategy, watermark: watermark! }
      : strategy === 'rolling'
        ? { ...common, strategy, rolling: { column: row.rolling_column!.trim(), days: row.rolling_days! } }
        : strategy === 'chunked_backfill'
          ? {
              ...common,
              strategy,
              partitioning: common.partitioning!,
              backfillWatermark: {
                column: common.partitioning!.column,
                type: boundsType(common.partitioning!.lower, common.partitioning!.upper),
                value: blank(row.incremental_value) ? null : row.incremental_value,
                lookback: null,
              },
            }
          : { ...common, strategy };
  return { config, problems };
}

/** Problems as one line: `field: message; field: message`. */
export function describeProblems(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${p.field}: ${p.message}`).join('; ');
}

/** The loader's reading of a row: its configuration, or a terminal error naming the row and every problem. */
export function parseLoadConfig(row: ConfigFields & { config_id: number }, destination: Pick<DbConfigRow, 'db_config_key' | 'default_target_schema'>): LoadConfig {
  const { config, problems } = checkLoadConfig(row, { configId: row.config_id, destination });
  if (!config) throw new TerminalError(`table_control row ${row.config_id}: ${describeProblems(problems)}`);
  return config;
}

/**
 * Every column the configuration names (merge key, watermark, rolling and
 * partition column) is one of the source's: checked once, after describing
 * the source, before anything is written.
 */
export function requireSourceColumns(config: LoadConfig, columns: readonly Pick<ColumnSpec, 'name'>[]): void {
  const named: [string, string][] = config.primaryKey.map((key) => ['primary_key_cols', key]);
  if (config.watermark) named.push(['incremental_column', config.watermark.column]);
  if (config.strategy === 'rolling') named.push(['rolling_column', config.rolling.column]);
  if (config.partitioning) named.push(['partition_column', config.partitioning.column]);
  for (const [field, column] of named) {
    if (!columns.some((c) => c.name === column)) {
      throw new TerminalError(`table_control row ${config.configId}: ${field} names "${column}", which is not a column of ${config.sourceName}`);
    }
  }
}
