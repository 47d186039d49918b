/**
 * What the soak proves once the writes have stopped and every table has been
 * loaded again: each destination table equals its source (row count and an
 * md5 over the ordered rows), no row is left Queued or In Progress, and every
 * run the sensor queued has exactly one historical_metadata row. And the
 * figures: loads per minute, latency from queued to started, failures.
 */
import pg from 'pg';
import { COLUMNS, type SoakTable } from './fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How many active tables have a successful load that started at or after `since` (a load that read the final source). */
async function countLoadedSince(control: pg.Pool, since: Date): Promise<number> {
  const { rows } = await control.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM control.table_control t
      WHERE EXISTS (SELECT 1 FROM control.historical_metadata h
                     WHERE h.control_key = t.control_key AND h.load_status = 'Succeeded' AND h.load_start_time >= $1)`,
    [since],
  );
  return rows[0]!.n;
}

/** Waits until every table has loaded since `since`; returns how long it took, or throws at the deadline. */
export async function waitForCatchUp(control: pg.Pool, since: Date, tables: number, timeoutMs: number, progress: (done: number) => void): Promise<number> {
  const started = Date.now();
  let last = -1;
  for (;;) {
    const done = await countLoadedSince(control, since).catch(() => last);
    if (done !== last) progress(done);
    last = done;
    if (done >= tables) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`only ${done} of ${tables} tables loaded after the writes stopped, within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(2_000);
  }
}

/** Waits until no row is Queued or In Progress (after the tables were deactivated). */
export async function waitForQuiet(control: pg.Pool, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const busy = await countBusy(control);
    if (busy === 0) return Date.now() - started;
    if (Date.now() - started > timeoutMs) return busy;
    await sleep(1_000);
  }
}

export async function countBusy(control: pg.Pool): Promise<number> {
  const { rows } = await control.query<{ n: number }>(`SELECT count(*)::int AS n FROM control.table_control WHERE last_status IN ('Queued', 'In Progress')`);
  return rows[0]!.n;
}

export interface Mismatch {
  table: string;
  source: { rows: number; md5: string };
  destination: { rows: number; md5: string } | string;
}

const FINGERPRINT = `SELECT count(*)::int AS rows,
       coalesce(md5(string_agg(concat_ws('|', ${COLUMNS}), E'\\n' ORDER BY id)), '') AS md5`;

/** Compares every table's rows in the source and the destination. */
export async function compareTables(sourceUrl: string, destinationUrl: string, tables: SoakTable[]): Promise<{ compared: number; rows: number; mismatches: Mismatch[] }> {
  const source = new pg.Client({ connectionString: sourceUrl });
  const destination = new pg.Client({ connectionString: destinationUrl });
  await Promise.all([source.connect(), destination.connect()]);
  const mismatches: Mismatch[] = [];
  let rows = 0;
  try {
    for (const t of tables) {
      const name = `${t.schema}.${t.name}`;
      const s = (await source.query<{ rows: number; md5: string }>(`${FINGERPRINT} FROM ${name}`)).rows[0]!;
      rows += s.rows;
      let d: { rows: number; md5: string } | string;
      try {
        d = (await destination.query<{ rows: number; md5: string }>(`${FINGERPRINT} FROM ${name}`)).rows[0]!;
      } catch (error) {
        d = (error as Error).message;
      }
      if (typeof d === 'string' || d.rows !== s.rows || d.md5 !== s.md5) mismatches.push({ table: `${name} (${t.strategy})`, source: s, destination: d });
    }
  } finally {
    await Promise.all([source.end(), destination.end()]);
  }
  return { compared: tables.length, rows, mismatches };
}

export interface HistoryCheck {
  /** Runs the sensor queued (load_outbox). */
  runs: number;
  /** Runs with no historical_metadata row. */
  missing: number;
  /** Runs with more than one. */
  doubled: number;
  /** historical_metadata rows naming no queued run. */
  orphans: number;
}

export async function checkHistory(control: pg.Pool): Promise<HistoryCheck> {
  const { rows } = await control.query<HistoryCheck>(`
    WITH runs AS (SELECT DISTINCT body->>'run_id' AS run_id FROM control.load_outbox),
         counted AS (SELECT r.run_id, (SELECT count(*) FROM control.historical_metadata h WHERE h.run_id = r.run_id) AS n FROM runs r)
    SELECT (SELECT count(*) FROM counted)::int AS runs,
           (SELECT count(*) FROM counted WHERE n = 0)::int AS missing,
           (SELECT count(*) FROM counted WHERE n > 1)::int AS doubled,
           (SELECT count(*) FROM control.historical_metadata h WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = h.run_id))::int AS orphans`);
  return rows[0]!;
}

export interface LoadFigures {
  loads: number;
  succeeded: number;
  failed: number;
  loadsPerMinute: number;
  /** Seconds from queued to started, over succeeded loads. */
  queuedToStartedP50: number;
  queuedToStartedP95: number;
  /** Seconds from started to ended, over succeeded loads. */
  durationP50: number;
  durationP95: number;
  rowsProcessed: number;
  failures: { reason: string; count: number }[];
}

/** Figures over the runs that ended between `from` and `to`. */
export async function loadFigures(control: pg.Pool, from: Date, to: Date): Promise<LoadFigures> {
  const { rows } = await control.query(
    `SELECT count(*)::int AS loads,
            count(*) FILTER (WHERE load_status = 'Succeeded')::int AS succeeded,
            count(*) FILTER (WHERE load_status <> 'Succeeded')::int AS failed,
            coalesce(sum(rows_processed), 0)::bigint AS rows,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM load_start_time - load_queued_time)) FILTER (WHERE load_status = 'Succeeded') AS q50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM load_start_time - load_queued_time)) FILTER (WHERE load_status = 'Succeeded') AS q95,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM load_end_time - load_start_time)) FILTER (WHERE load_status = 'Succeeded') AS d50,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM load_end_time - load_start_time)) FILTER (WHERE load_status = 'Succeeded') AS d95
       FROM control.historical_metadata WHERE load_end_time >= $1 AND load_end_time < $2`,
    [from, to],
  );
  const r = rows[0];
  const failures = await control.query<{ reason: string; count: number }>(
    `SELECT left(regexp_replace(coalesce(log_message, ''), '[0-9]+', 'N', 'g'), 140) AS reason, count(*)::int AS count
       FROM control.historical_metadata WHERE load_end_time >= $1 AND load_end_time < $2 AND load_status <> 'Succeeded'
      GROUP BY 1 ORDER BY 2 DESC LIMIT 10`,
    [from, to],
  );
  const minutes = (to.getTime() - from.getTime()) / 60_000;
  const round = (n: unknown) => Math.round(Number(n ?? 0) * 1000) / 1000;
  return {
    loads: r.loads,
    succeeded: r.succeeded,
    failed: r.failed,
    loadsPerMinute: Math.round((r.loads / minutes) * 10) / 10,
    queuedToStartedP50: round(r.q50),
    queuedToStartedP95: round(r.q95),
    durationP50: round(r.d50),
    durationP95: round(r.d95),
    rowsProcessed: Number(r.rows),
    failures: failures.rows,
  };
}
