import type pg from 'pg';

export type IsolationLevel = 'READ COMMITTED' | 'REPEATABLE READ' | 'SERIALIZABLE';

export interface TransactionOptions {
  isolation?: IsolationLevel;
  readOnly?: boolean;
}

/**
 * Runs `work` in one transaction on a client from the pool: COMMIT when it
 * resolves, ROLLBACK when it throws (the original error is kept), and the client
 * is always released.
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const modes = [
      options.isolation ? `ISOLATION LEVEL ${options.isolation}` : '',
      options.readOnly ? 'READ ONLY' : '',
    ].filter(Boolean);
    await client.query(`BEGIN${modes.length ? ` ${modes.join(' ')}` : ''}`);
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      // The connection is unusable: destroy it instead of returning it to the pool.
      broken = rollbackError as Error;
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
