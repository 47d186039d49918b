/**
 * The lookback a row's loads use, shown beside the row in the read views:
 * its own incremental_lookback, else the INCREMENTAL_LOOKBACK_MINUTES setting
 * (time watermarks) or the default amount (numeric ones). Where the source can
 * tell which transactions are still open (PostgreSQL), the watermark also
 * settles on them; see docs/RELIABILITY.md.
 */
import { watermarkTypeOf } from '../../strategies/config.js';
import { describeLookback, parseTableLookback } from '../../strategies/watermark.js';
import type { ApiTableRow } from '../format.js';

export function lookbackInForce(row: Pick<ApiTableRow, 'incremental_column' | 'incremental_type' | 'incremental_lookback'>, lookbackMinutes: number): string | null {
  const type = watermarkTypeOf(row.incremental_type);
  if (row.incremental_column === null || type === undefined) return null;
  const table = row.incremental_lookback === null ? null : parseTableLookback(row.incremental_lookback, type);
  if (table && 'error' in table) return `invalid incremental_lookback: ${table.error}`;
  return describeLookback(type, lookbackMinutes, table).replace(/^a lookback of /, '');
}

/** The row with its lookback in force. */
export function withLookbackInForce(row: ApiTableRow, lookbackMinutes: number): ApiTableRow {
  return { ...row, incremental_lookback_in_force: lookbackInForce(row, lookbackMinutes) };
}
