/**
 * Reads the tables chosen for promotion, and the connections they use, from
 * the pre-production control database (PREPROD_DATABASE_URL, connected with
 * the same options as the control database), in one read-only snapshot.
 */
import { ControlClient, controlClientConfig, controlConnectionOptions } from '../../db/pool.js';
import type { Settings } from '../../settings.js';
import { ApiError, notFound } from '../errors.js';
import { connectionSelectList, tableSelectList, type ApiConnectionRow, type ApiTableRow } from '../format.js';
import type { PromotionBody } from '../schemas/promotion.js';

export interface PreprodSelection {
  tables: ApiTableRow[];
  connections: ApiConnectionRow[];
}

export async function readPreprodSelection(settings: Settings, selection: PromotionBody): Promise<PreprodSelection> {
  const url = settings.PREPROD_DATABASE_URL;
  if (!url) throw new ApiError(503, 'promotion is not configured: PREPROD_DATABASE_URL is not set');
  const client = new ControlClient({ ...controlClientConfig(controlConnectionOptions(settings, url)), application_name: 'dataloader-promotion' });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const byKeys = selection.control_keys !== undefined;
    const wanted = byKeys ? selection.control_keys!.map((k) => k.toLowerCase()) : selection.config_ids!;
    const { rows: tables } = await client.query<ApiTableRow>(
      `SELECT ${tableSelectList()} FROM control.table_control t
        WHERE ${byKeys ? `encode(t.control_key, 'hex') = ANY($1::text[])` : 't.config_id = ANY($1::bigint[])'}
        ORDER BY t.config_id`,
      [wanted],
    );
    const found = new Set<string | number>(tables.map((t) => (byKeys ? t.control_key! : t.config_id)));
    const missing = [...new Set<string | number>(wanted)].filter((w) => !found.has(w));
    if (missing.length > 0) throw notFound(`not in pre-production: ${missing.slice(0, 50).join(', ')}`);
    const keys = [...new Set(tables.map((t) => t.db_config_key).filter((k): k is string => k !== null))];
    const { rows: connections } = await client.query<ApiConnectionRow>(
      `SELECT ${connectionSelectList()} FROM control.table_control_dbconfig c WHERE c.db_config_key = ANY($1::text[]) ORDER BY c.db_config_key`,
      [keys],
    );
    await client.query('COMMIT');
    return { tables, connections };
  } finally {
    await client.end();
  }
}
