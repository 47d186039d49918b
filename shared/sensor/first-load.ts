/**
 * First load times: an active row with a cron but no next_load_date_time gets
 * the first occurrence of its cron after now (it is not due at once). A row
 * whose cron is invalid becomes Failed instead, naming load_cron.
 */
import type pg from 'pg';
import { failInvalidConfigs, markRuntimeWrite, type ConfigFailure } from '../control/status.js';
import { withTransaction } from '../db/transaction.js';
import { InvalidCronError, nextOccurrencesAfter } from '../schedule/cron.js';
import { currentTime, selectUnscheduledRows, setFirstLoadTimes } from './sql.js';
import { cronMessage, invalidConfigMessage } from './claim.js';

export interface FirstLoadResult {
  scheduled: number;
  failed: ConfigFailure[];
}

/**
 * Schedules unscheduled rows in batches until none is left or `deadline`
 * (epoch ms) passes. Safe to run in several sensors at once: a row is only
 * written while it is unscheduled and unchanged since read.
 */
export async function scheduleFirstLoads(
  pool: pg.Pool,
  timeZone: string,
  batchSize: number,
  deadline: number,
): Promise<FirstLoadResult> {
  const result: FirstLoadResult = { scheduled: 0, failed: [] };
  let after = 0;
  while (Date.now() < deadline) {
    const done = await withTransaction(pool, async (client) => {
      await markRuntimeWrite(client);
      const now = await currentTime(client);
      const rows = await selectUnscheduledRows(client, after, batchSize);
      const times: { configId: number; rowVersion: string; next: Date }[] = [];
      const failed: ConfigFailure[] = [];
      const nextAfterNow = nextOccurrencesAfter(now, timeZone);
      for (const row of rows) {
        try {
          times.push({ configId: row.config_id, rowVersion: row.row_version, next: nextAfterNow(row.load_cron, String(row.config_id)) });
        } catch (error) {
          if (!(error instanceof InvalidCronError)) throw error;
          failed.push({ configId: row.config_id, rowVersion: row.row_version, message: invalidConfigMessage(`load_cron: ${cronMessage(error)}`) });
        }
      }
      result.scheduled += await setFirstLoadTimes(client, times);
      await failInvalidConfigs(client, failed);
      result.failed.push(...failed);
      after = rows.at(-1)?.config_id ?? after;
      return rows.length < batchSize;
    });
    if (done) break;
  }
  return result;
}
