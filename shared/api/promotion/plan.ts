/**
 * What a promotion changes in production, field by field. Pure functions: the
 * pre-production rows and their production counterparts in, a plan out.
 *
 * Tables are matched on control_key (the same source table in both
 * databases); when production holds several rows for one key, the one with the
 * same destination names. Promoted: every configuration column except
 * incremental_value (production's own watermark) and load_full (a one-off
 * reload request of the environment it was set in).
 *
 * Connections a promoted table needs are copied when production lacks them.
 * An existing production connection is never overwritten: its secret names
 * point at production's secrets; differences are reported as `kept`.
 */
import type { FieldError } from '../errors.js';
import type { ApiConnectionRow, ApiTableRow } from '../format.js';
import { checkTableConfig, configOf, TABLE_FIELDS, type TableConfig, type TableField } from '../schemas/tables.js';

export const PROMOTED_FIELDS: readonly TableField[] = TABLE_FIELDS.filter((f) => f !== 'incremental_value' && f !== 'load_full');
const CONNECTION_FIELDS = ['db_config_value', 'db_type', 'db_kv_scope', 'default_target_schema'] as const;

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface TablePlan {
  control_key: string;
  preprod_config_id: number;
  /** The production row (null until an insert is applied). */
  config_id: number | null;
  source_table_catalog: string | null;
  source_table_schema: string | null;
  source_table_name: string | null;
  destination_table_name: string | null;
  action: 'insert' | 'update' | 'unchanged';
  changes: FieldChange[];
}

export interface ConnectionPlan {
  db_config_key: string;
  /** insert: copied; unchanged: the same in both; kept: production's differs and stays. */
  action: 'insert' | 'unchanged' | 'kept';
  changes: FieldChange[];
}

export interface PromotionPlan {
  applied: boolean;
  tables: TablePlan[];
  connections: ConnectionPlan[];
}

/** The promoted part of a configuration, with production's values for the rest. */
export function promotedConfig(preprod: ApiTableRow, prod: ApiTableRow | undefined): TableConfig {
  const base = prod ? configOf(prod) : { ...configOf(preprod), incremental_value: null, load_full: null };
  const source = configOf(preprod);
  return { ...base, ...Object.fromEntries(PROMOTED_FIELDS.map((f) => [f, source[f]])) } as TableConfig;
}

/** The production row a pre-production row promotes onto, none (a new row), or the candidates when no single one matches. */
export function matchProductionRow(preprod: ApiTableRow, candidates: ApiTableRow[]): ApiTableRow | undefined | { ambiguous: ApiTableRow[] } {
  if (candidates.length <= 1) return candidates[0];
  const sameDestination = candidates.filter(
    (c) =>
      c.destination_table_catalog === preprod.destination_table_catalog &&
      c.destination_table_schema === preprod.destination_table_schema &&
      c.destination_table_name === preprod.destination_table_name,
  );
  return sameDestination.length === 1 ? sameDestination[0] : { ambiguous: candidates };
}

export function planTable(preprod: ApiTableRow, prod: ApiTableRow | undefined): TablePlan {
  const after = promotedConfig(preprod, prod);
  const before = prod ? configOf(prod) : undefined;
  const changes = PROMOTED_FIELDS.filter((f) => !before || before[f] !== after[f])
    .filter((f) => before || after[f] !== null)
    .map((f) => ({ field: f, from: before ? before[f] : null, to: after[f] }));
  return {
    control_key: preprod.control_key!,
    preprod_config_id: preprod.config_id,
    config_id: prod?.config_id ?? null,
    source_table_catalog: preprod.source_table_catalog,
    source_table_schema: preprod.source_table_schema,
    source_table_name: preprod.source_table_name,
    destination_table_name: preprod.destination_table_name,
    action: !prod ? 'insert' : changes.length > 0 ? 'update' : 'unchanged',
    changes,
  };
}

export function planConnection(preprod: ApiConnectionRow, prod: ApiConnectionRow | undefined): ConnectionPlan {
  const changes = CONNECTION_FIELDS.filter((f) => !prod || JSON.stringify(prod[f]) !== JSON.stringify(preprod[f]))
    .map((f) => ({ field: f, from: prod ? prod[f] : null, to: preprod[f] }));
  return { db_config_key: preprod.db_config_key, action: !prod ? 'insert' : changes.length > 0 ? 'kept' : 'unchanged', changes };
}

/** Problems that stop a promotion: invalid configurations and connection values that are not secret names. */
export function checkPromotable(tables: ApiTableRow[], connections: ApiConnectionRow[]): FieldError[] {
  const errors: FieldError[] = [];
  for (const t of tables) {
    for (const e of checkTableConfig(promotedConfig(t, undefined))) {
      errors.push({ field: e.field, message: `pre-production table ${t.config_id} (${t.control_key ?? 'no control_key'}): ${e.message}` });
    }
  }
  for (const c of connections) {
    for (const [key, value] of Object.entries(c.db_config_value)) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9-]{1,127}$/.test(value)) {
        errors.push({ field: `db_config_value.${key}`, message: `pre-production connection "${c.db_config_key}": not a Key Vault secret name` });
      }
    }
  }
  return errors;
}
