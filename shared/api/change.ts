/**
 * Every configuration write of the API runs in one transaction that tells the
 * audit trigger (migration 006) how and by whom the change is made.
 */
import type pg from 'pg';
import type { ChangeSource } from '../control/rows.js';
import type { Queryable } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';

/** The change sources an API request writes under (the product's own `runtime` writes are not among them). */
export type ApiChangeSource = Exclude<ChangeSource, 'runtime'>;

/** Sets the transaction-local change source and user that the audit trigger records. */
export async function setChangeContext(client: Queryable, source: ApiChangeSource, user: string): Promise<void> {
  await client.query(
    `SELECT set_config('dataloader.change_source', $1, true), set_config('dataloader.changed_by', $2, true)`,
    [source, user],
  );
}

/** Runs `work` in one transaction whose writes are audited as `source` by `user`. */
export async function withChange<T>(
  pool: pg.Pool,
  source: ApiChangeSource,
  user: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return withTransaction(pool, async (client) => {
    await setChangeContext(client, source, user);
    return work(client);
  });
}

/**
 * The next last_modified_at of a row: the clock, but always after the current
 * value, so that it changes on every edit and serves as the row's version.
 */
export function nextModifiedAt(alias: string): string {
  return `GREATEST(clock_timestamp() AT TIME ZONE 'UTC', ${alias}.last_modified_at + interval '1 microsecond')`;
}
