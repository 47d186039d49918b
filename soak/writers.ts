/**
 * Concurrent writes on the source while the soak runs, pgbench style: a few
 * connections, each running short transactions on random tables at a target
 * rate. Inserts everywhere; updates that move updated_at forward on
 * incremental tables; updates and deletes on tables loaded whole (full,
 * check_and_load, rolling); append_only tables only grow. One transaction in
 * twenty stays open up to 1.5 s before committing, so rows commit late with an
 * older updated_at than rows already loaded (guarantee 4).
 */
import pg from 'pg';
import type { SoakTable } from './fixture.js';

export interface WriterStats {
  transactions: number;
  statements: number;
  lateCommits: number;
  errors: number;
}

export interface Writers {
  /** Stops after the transactions in progress; resolves with what was done. */
  stop(): Promise<WriterStats>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One statement of the transaction on table `t`. */
function statementFor(t: SoakTable, random: number): string {
  const name = `${t.schema}.${t.name}`;
  const pick = `(SELECT floor(random() * m)::bigint + 1 FROM (SELECT max(id) AS m FROM ${name}) x)`;
  const insert = `INSERT INTO ${name} (account, amount, note, event_at)
                  SELECT 1 + floor(random() * 97)::int, round((random() * 1000)::numeric, 2), md5(random()::text), localtimestamp FROM generate_series(1, 1 + floor(random() * 3)::int)`;
  const update = `UPDATE ${name} SET amount = amount + 1, note = md5(random()::text), updated_at = clock_timestamp() WHERE id = ${pick}`;
  const remove = `DELETE FROM ${name} WHERE id = ${pick}`;
  switch (t.strategy) {
    case 'append_only':
      return insert;
    case 'incremental':
      return random < 0.4 ? insert : update;
    default:
      return random < 0.4 ? insert : random < 0.85 ? update : remove;
  }
}

export function startWriters(sourceUrl: string, tables: SoakTable[], connections: number, tps: number, onError: (error: Error) => void): Writers {
  const stats: WriterStats = { transactions: 0, statements: 0, lateCommits: 0, errors: 0 };
  let stopped = false;
  const intervalMs = (1000 * connections) / tps;

  const writer = async () => {
    let client: pg.Client | undefined;
    while (!stopped) {
      const started = Date.now();
      try {
        if (!client) {
          client = new pg.Client({ connectionString: sourceUrl, application_name: 'soak-writer' });
          client.on('error', () => undefined);
          await client.connect();
        }
        const t = tables[Math.floor(Math.random() * tables.length)]!;
        await client.query('BEGIN');
        const count = 1 + Math.floor(Math.random() * 3);
        for (let i = 0; i < count; i++) await client.query(statementFor(t, Math.random()));
        if (Math.random() < 0.05) {
          stats.lateCommits++;
          await sleep(300 + Math.random() * 1200);
        }
        await client.query('COMMIT');
        stats.transactions++;
        stats.statements += count;
      } catch (error) {
        stats.errors++;
        onError(error as Error);
        await client?.end().catch(() => undefined);
        client = undefined;
        await sleep(200);
      }
      await sleep(Math.max(0, intervalMs - (Date.now() - started)));
    }
    await client?.end().catch(() => undefined);
  };
  const running = Promise.all(Array.from({ length: connections }, writer));
  return {
    stop: async () => {
      stopped = true;
      await running;
      return stats;
    },
  };
}
