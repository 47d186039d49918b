/**
 * What a row needs before the sensor may queue it: the fields every load needs,
 * a known load_strategy and the fields that strategy needs. Each problem names
 * the field and what to set, so the row's last_status_message tells the data
 * team how to fix it.
 */
import { LOAD_STRATEGIES, type LoadStrategy, type TableControlRow } from '../control/rows.js';

export type SchedulingFields = Pick<
  TableControlRow,
  | 'config_id'
  | 'db_config_key'
  | 'source_table_name'
  | 'load_strategy'
  | 'incremental_column'
  | 'incremental_type'
  | 'primary_key_cols'
  | 'rolling_column'
  | 'rolling_days'
  | 'partition_column'
  | 'lower_bound'
  | 'upper_bound'
  | 'num_partitions'
> & {
  /** control_key, hex; NULL when a source identifier is missing. */
  control_key_hex: string | null;
};

type TextField = 'incremental_column' | 'incremental_type' | 'primary_key_cols' | 'rolling_column' | 'partition_column' | 'lower_bound' | 'upper_bound';
type NumberField = 'rolling_days' | 'num_partitions';

/** The fields each strategy needs beyond those every load needs. */
export const REQUIRED_FIELDS: Record<LoadStrategy, readonly (TextField | NumberField)[]> = {
  full: [],
  check_and_load: [],
  incremental: ['incremental_column', 'incremental_type', 'primary_key_cols'],
  append_only: ['incremental_column', 'incremental_type'],
  rolling: ['rolling_column', 'rolling_days'],
  chunked_backfill: ['partition_column', 'lower_bound', 'upper_bound', 'num_partitions'],
};

const isBlank = (value: string | null) => value === null || value.trim() === '';

function isLoadStrategy(value: string | null): value is LoadStrategy {
  return (LOAD_STRATEGIES as readonly (string | null)[]).includes(value);
}

/** The problems that keep `row` from being loaded, empty when there are none. */
export function configProblems(row: SchedulingFields): string[] {
  const problems: string[] = [];
  if (isBlank(row.source_table_name)) problems.push('source_table_name is empty: set the source table to load');
  if (isBlank(row.db_config_key)) {
    problems.push('db_config_key is empty: set it to the table_control_dbconfig key of the source database');
  }
  if (!isBlank(row.source_table_name) && row.control_key_hex === null) {
    problems.push(
      'source_table_catalog or source_table_schema is empty: set both (control_key, which links runs to this row, is computed from them)',
    );
  }
  if (!isLoadStrategy(row.load_strategy)) {
    const given = isBlank(row.load_strategy) ? 'is empty' : `${JSON.stringify(row.load_strategy)} is unknown`;
    problems.push(`load_strategy ${given}: use one of ${LOAD_STRATEGIES.join(', ')}`);
    return problems;
  }
  const required = REQUIRED_FIELDS[row.load_strategy];
  const all = required.join(', ');
  for (const field of required) {
    const value = row[field];
    if (value === null || (typeof value === 'string' && value.trim() === '')) {
      problems.push(`${field} is empty: load_strategy ${row.load_strategy} needs ${all}`);
    } else if (typeof value === 'number' && value < 1) {
      problems.push(`${field} is ${value}: set it to a positive whole number`);
    }
  }
  return problems;
}

/** The Failed message for a row the sensor cannot schedule. */
export function invalidConfigMessage(problems: string[]): string {
  return `Not queued, invalid configuration: ${problems.join('; ')}. The row is scheduled again once it is edited.`;
}
