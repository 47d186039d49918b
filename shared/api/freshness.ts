/**
 * Freshness: each active table's last success against its cron. A table is
 * stale when it has not succeeded since the slot before its latest one (it
 * missed a whole slot: one load may be on its way for the latest).
 */
import type { Queryable } from '../db/pool.js';
import { InvalidCronError, previousOccurrence } from '../schedule/cron.js';
import { selectLastSuccesses } from './views.js';

export interface FreshnessRow {
  config_id: number;
  source_table_name: string | null;
  load_cron: string | null;
  last_status: string | null;
  last_success: string | null;
  /** The slot the table should have loaded by; null when its cron is not valid. */
  expected_by: string | null;
  stale: boolean;
  /** How long past expected_by, in seconds (0 when fresh). */
  late_seconds: number;
}

export interface Freshness {
  tables: number;
  stale: number;
  /** Stale tables first (the latest first), then the others by name; at most `limit`. */
  items: FreshnessRow[];
}

export async function tableFreshness(db: Queryable, timeZone: string, limit: number, now = new Date()): Promise<Freshness> {
  const tables = await selectLastSuccesses(db);
  const slots = new Map<string, Date | null>();
  const expectedBy = (cron: string | null, configId: number): Date | null => {
    const perRow = cron !== null && /h/i.test(cron.replace(/^@\w+$/, ''));
    const key = perRow ? `${configId}\u0000${cron}` : String(cron);
    if (!slots.has(key)) {
      try {
        slots.set(key, previousOccurrence(cron, now, timeZone, 2, perRow ? String(configId) : undefined));
      } catch (error) {
        if (!(error instanceof InvalidCronError)) throw error;
        slots.set(key, null);
      }
    }
    return slots.get(key)!;
  };
  const rows: FreshnessRow[] = tables.map((t) => {
    const expected = expectedBy(t.load_cron, t.config_id);
    // A table created after the slot was not expected to have loaded by it.
    const due = expected !== null && (t.created_at === null || t.created_at < expected);
    const stale = due && (t.last_success === null || t.last_success < expected);
    return {
      config_id: t.config_id,
      source_table_name: t.source_table_name,
      load_cron: t.load_cron,
      last_status: t.last_status,
      last_success: t.last_success?.toISOString() ?? null,
      expected_by: expected?.toISOString() ?? null,
      stale,
      late_seconds: stale ? Math.round((now.getTime() - expected!.getTime()) / 1000) : 0,
    };
  });
  rows.sort((a, b) => Number(b.stale) - Number(a.stale) || b.late_seconds - a.late_seconds || (a.source_table_name ?? '').localeCompare(b.source_table_name ?? ''));
  return { tables: rows.length, stale: rows.filter((r) => r.stale).length, items: rows.slice(0, limit) };
}
