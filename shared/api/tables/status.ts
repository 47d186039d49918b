/**
 * The two status transitions an admin makes, beside the runtime's in
 * shared/control/status.ts: reset to NULL (status_reset) and run now. They
 * stamp last_status_date_time and the message like every status write, and
 * are audited (they run under the API's change source, not 'runtime').
 */
import type { Queryable } from '../../db/pool.js';
import { tableSelectList, type ApiTableRow } from '../format.js';

/**
 * Any status -> NULL. The run id and heartbeat are cleared too, so a load
 * still running for the old run can no longer finish or heartbeat it
 * (finishRun and heartbeat match on last_run_id). Returns the ids reset.
 */
export async function resetStatus(db: Queryable, configIds: number[], message: string): Promise<number[]> {
  const { rows } = await db.query<{ config_id: number }>(
    `UPDATE control.table_control
        SET last_status = NULL,
            last_status_date_time = CURRENT_TIMESTAMP,
            last_status_message = $2,
            last_run_id = NULL,
            last_heartbeat_at = NULL
      WHERE config_id = ANY($1::bigint[])
      RETURNING config_id`,
    [configIds, message],
  );
  return rows.map((r) => r.config_id).sort((a, b) => a - b);
}

/**
 * Makes a row due now: next_load_date_time = now, and a finished status
 * (Succeeded, Failed) back to NULL so the row reads as waiting for its run.
 * The caller has checked that the row is active and not Queued or In Progress.
 */
export async function makeDueNow(db: Queryable, configId: number, message: string): Promise<ApiTableRow> {
  const { rows } = await db.query<ApiTableRow>(
    `UPDATE control.table_control AS t
        SET next_load_date_time = CURRENT_TIMESTAMP,
            last_status = NULL,
            last_status_date_time = CASE WHEN last_status IS NULL THEN last_status_date_time ELSE CURRENT_TIMESTAMP END,
            last_status_message = CASE WHEN last_status IS NULL THEN last_status_message ELSE $2 END
      WHERE t.config_id = $1
      RETURNING ${tableSelectList()}`,
    [configId, message],
  );
  return rows[0]!;
}
