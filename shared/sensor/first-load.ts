/**
 * First load times: an active row with a cron but no next_load_date_time gets
 * one. A row that never loaded (new, through the API or by SQL) is due at
 * once: its first load runs now, then it follows its cron. A row that loaded
 * before (its cron was edited, or it was turned back on, which clears the next
 * time: migration 007) gets the first occurrence of its cron after now. A row
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
          const next = nextAfterNow(row.load_cron, String(row.config_id));
          times.push({ configId: row.config_id, rowVersion: row.row_version, next: row.is_new ? now : next });
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
