/** The writable fields of a table, as the form shows them (the API's TablePatch body). */
import type { components } from './api-types';

export type TablePatch = components['schemas']['TablePatch'];
export type FieldName = Exclude<keyof TablePatch, 'last_modified_at'>;

export interface FieldSpec {
  name: FieldName;
  kind: 'text' | 'number' | 'bool' | 'choice' | 'long';
  choices?: readonly string[];
  hint?: string;
}

export const STRATEGIES = ['full', 'incremental', 'append_only', 'rolling', 'check_and_load', 'chunked_backfill'] as const;

export const FIELDS: FieldSpec[] = [
  { name: 'is_active', kind: 'bool' },
  { name: 'db_config_key', kind: 'text', hint: 'the source connection' },
  { name: 'source_table_catalog', kind: 'text' },
  { name: 'source_table_schema', kind: 'text' },
  { name: 'source_table_name', kind: 'text' },
  { name: 'query', kind: 'long', hint: 'a custom SELECT instead of the table' },
  { name: 'destination_table_catalog', kind: 'text' },
  { name: 'destination_table_schema', kind: 'text' },
  { name: 'destination_table_name', kind: 'text' },
  { name: 'load_strategy', kind: 'choice', choices: STRATEGIES },
  { name: 'load_full', kind: 'text', hint: 'Y or N: reload everything once' },
  { name: 'load_cron', kind: 'text', hint: 'five fields, e.g. */15 * * * *' },
  { name: 'incremental_column', kind: 'text' },
  { name: 'incremental_type', kind: 'choice', choices: ['timestamp', 'date', 'integer', 'decimal'] },
  { name: 'incremental_value', kind: 'text', hint: 'the watermark; change it to reload from a point' },
  { name: 'incremental_lookback', kind: 'text', hint: 'overlap re-read before the watermark (empty: the default)' },
  { name: 'rolling_column', kind: 'text' },
  { name: 'rolling_days', kind: 'number' },
  { name: 'num_partitions', kind: 'number' },
  { name: 'partition_column', kind: 'text' },
  { name: 'lower_bound', kind: 'text' },
  { name: 'upper_bound', kind: 'text' },
  { name: 'primary_key_cols', kind: 'text', hint: 'comma-separated columns' },
];

/** A form value (always a string, or a boolean) as the API wants it. */
export function toApi(spec: FieldSpec, value: string | boolean): unknown {
  if (spec.kind === 'bool') return Boolean(value);
  const text = String(value).trim();
  if (text === '') return null;
  if (spec.kind === 'number') return Number.isFinite(Number(text)) && /^-?\d+$/.test(text) ? Number(text) : text;
  return spec.kind === 'long' ? String(value) : text;
}

export function fromApi(spec: FieldSpec, value: unknown): string | boolean {
  if (spec.kind === 'bool') return value === true;
  return value === null || value === undefined ? '' : String(value);
}
