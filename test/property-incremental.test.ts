/**
 * Property: the watermark and the merge (guarantees 3 and 4). For any
 * interleaving of source inserts, updates moving the incremental column
 * forward, late commits (rows committed with a value older than the watermark,
 * inside the lookback window: a transaction left open across loads, or a
 * statement writing an older value), and incremental loads (some of them
 * crashing at a step and redelivered), one final load leaves the destination
 * equal to the source and the watermark at the source's maximum.
 *
 * The real loader (handleLoadMessage) runs against real source and destination
 * databases; each generated case gets its own source table and table_control
 * row. Timestamp and integer watermarks, single and composite keys; the same
 * for append_only tables (inserts only, late ones included: every row once).
 * FC_SEED and FC_RUNS reproduce or widen a run.
 */
import fc from 'fast-check';
import type pg from 'pg';
import { beforeAll, expect, it } from 'vitest';
import { crashOnceAt, InjectedCrash } from '../shared/loader/faults.js';
import type { FaultStep } from '../shared/strategies/context.js';
import { INTEGER_LOOKBACK_VALUES } from '../shared/strategies/watermark.js';
import { createLoaderHarness, type LoaderHarness } from './support/source.js';

const RUNS = Number(process.env.FC_RUNS ?? 50);
const SEED = process.env.FC_SEED === undefined ? {} : { seed: Number(process.env.FC_SEED) };
const LOOKBACK_MINUTES = 10;

let h: LoaderHarness;

beforeAll(async () => {
  h = await createLoaderHarness({ INCREMENTAL_LOOKBACK_MINUTES: String(LOOKBACK_MINUTES) });
});

type Action =
  | { kind: 'insert'; values: (string | null)[]; advance: number }
  | { kind: 'update'; picks: number[]; value: string | null; advance: number }
  /** Writes rows (new or existing) with a value `back` steps older than the newest. */
  | { kind: 'late'; picks: number[]; fresh: number; back: number }
  /** Opens a transaction inserting rows with the next values; it commits at `commit` or at the end. */
  | { kind: 'open'; count: number }
  | { kind: 'commit' }
  | { kind: 'load'; crash: FaultStep | null };

interface Case {
  strategy: 'incremental' | 'append_only';
  type: 'timestamp' | 'integer';
  compositeKey: boolean;
  actions: Action[];
}

// Values a COPY or a merge could trip over; PostgreSQL text cannot hold NUL.
const value = fc.option(
  fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 6 }), fc.constantFrom("O'Brien", 'a\tb\nc\\d', '\\N', '', '"q"', ';--')),
  { nil: null },
).map((v) => (v === null ? null : v.replaceAll('\u0000', '')));

/** Steps of the clock per action: 0 (ties) to 20 (seconds, or integer values). Kept small so late rows stay inside the lookback. */
const advance = fc.integer({ min: 0, max: 20 });

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('insert' as const), values: fc.array(value, { minLength: 1, maxLength: 4 }), advance }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('update' as const), picks: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), value, advance }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('late' as const),
      picks: fc.array(fc.nat(), { maxLength: 2 }),
      fresh: fc.integer({ min: 0, max: 2 }),
      // Seconds (timestamps) or values (integers) before the newest: always inside the lookback.
      back: fc.integer({ min: 1, max: 9 * 60 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('open' as const), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'commit' as const }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('load' as const),
      crash: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom<FaultStep>('afterRead', 'midWrite', 'afterDestinationCommit') }),
    }),
  },
);

const testCase: fc.Arbitrary<Case> = fc.record({
  strategy: fc.constantFrom('incremental' as const, 'append_only' as const),
  type: fc.constantFrom('timestamp' as const, 'integer' as const),
  compositeKey: fc.boolean(),
  actions: fc.array(action, { minLength: 1, maxLength: 12 }),
});

let tableCounter = 0;

/** Runs one case and returns the source and destination rows after the final load. */
async function runCase(c: Case): Promise<void> {
  const table = `prop_${++tableCounter}`;
  const wmType = c.type === 'timestamp' ? 'timestamp(6)' : 'bigint';
  await h.source.pool.query(
    `CREATE TABLE public.${table} (tenant integer NOT NULL, id integer NOT NULL, v text, wm ${wmType} NOT NULL,
       PRIMARY KEY ${c.compositeKey ? '(tenant, id)' : '(id)'})`,
  );
  // Clock in steps: seconds after 2024-01-01 for timestamps, plain values for integers. Late rows go below it.
  let clock = c.type === 'timestamp' ? 0 : 10 * INTEGER_LOOKBACK_VALUES;
  const wmSql = c.type === 'timestamp' ? `(timestamp '2024-01-01' + make_interval(secs => $4::double precision / 1000))` : '$4::bigint';
  // Timestamps carry milliseconds so that ties and sub-second order both occur.
  const stepValue = (step: number) => (c.type === 'timestamp' ? step * 1000 + (step % 7) : step);

  // The watermark is a high-water mark: the largest value any load saw, even if a late write lowered that row since.
  let highest: string | null = null;
  const observeSourceMax = async () => {
    const { rows } = await h.source.pool.query(`SELECT max(wm)::text AS max, (max(wm) > ${c.type === 'timestamp' ? '$1::timestamp' : '$1::bigint'}) AS higher FROM public.${table}`, [highest]);
    if (rows[0].max !== null && (highest === null || rows[0].higher)) highest = rows[0].max;
  };
  let nextId = 1;
  const committed: number[] = [];
  const insert = (db: pg.Pool | pg.PoolClient, id: number, v: string | null, step: number) =>
    db.query(`INSERT INTO public.${table} (tenant, id, v, wm) VALUES ($1, $2, $3, ${wmSql})`, [id % 3, id, v, stepValue(step)]);
  const update = (id: number, v: string | null, step: number) =>
    h.source.pool.query(`UPDATE public.${table} SET v = $3, wm = ${wmSql} WHERE tenant = $1 AND id = $2`, [id % 3, id, v, stepValue(step)]);

  // append_only tables only grow: their updates are left out, their inserts (late ones included) kept.
  const appendOnly = c.strategy === 'append_only';
  const message = await h.queueRow({
    source_table_name: table,
    destination_table_name: table,
    load_strategy: c.strategy,
    incremental_column: 'wm',
    incremental_type: c.type,
    primary_key_cols: appendOnly ? null : c.compositeKey ? 'tenant, id' : 'id',
  });
  let first = true;
  const load = async (crash: FaultStep | null) => {
    const msg = first ? message : await h.requeue(message.config_id);
    first = false;
    await observeSourceMax();
    if (crash) {
      await expect(h.deliver(msg, { faults: crashOnceAt(crash) })).rejects.toBeInstanceOf(InjectedCrash);
      await h.expireHeartbeat(message.config_id);
      expect(await h.deliver(msg, {}, 2)).toEqual({ kind: 'complete' });
    } else {
      expect(await h.deliver(msg)).toEqual({ kind: 'complete' });
    }
    const row = await h.row(message.config_id);
    expect(row.last_status, String(row.last_status_message)).toBe('Succeeded');
  };

  let open: { client: pg.PoolClient; ids: number[] } | undefined;
  const commitOpen = async () => {
    if (!open) return;
    await open.client.query('COMMIT');
    committed.push(...open.ids);
    open.client.release();
    open = undefined;
  };
  try {
    for (const a of c.actions) {
      switch (a.kind) {
        case 'insert':
          for (const v of a.values) {
            clock += a.advance;
            await insert(h.source.pool, nextId, v, clock);
            committed.push(nextId++);
          }
          break;
        case 'update':
          if (committed.length === 0 || appendOnly) break;
          clock += a.advance;
          for (const pick of new Set(a.picks.map((p) => committed[p % committed.length]!))) await update(pick, a.value, clock);
          break;
        case 'late': {
          const at = Math.max(0, clock - a.back);
          if (committed.length > 0 && !appendOnly) for (const pick of new Set(a.picks.map((p) => committed[p % committed.length]!))) await update(pick, 'late', at);
          for (let i = 0; i < a.fresh; i++) {
            await insert(h.source.pool, nextId, 'late', at);
            committed.push(nextId++);
          }
          break;
        }
        case 'open':
          if (open) break;
          open = { client: await h.source.pool.connect(), ids: [] };
          await open.client.query('BEGIN');
          for (let i = 0; i < a.count; i++) {
            clock += 1;
            await insert(open.client, nextId, 'in a long transaction', clock);
            open.ids.push(nextId++);
          }
          break;
        case 'commit':
          await commitOpen();
          break;
        case 'load':
          await load(a.crash);
          break;
      }
    }
    await commitOpen();
  } finally {
    if (open) {
      await open.client.query('ROLLBACK').catch(() => undefined);
      open.client.release();
    }
  }
  await load(null);

  const rowsSql = (schema: string) => `SELECT tenant, id, v, wm::text FROM ${schema}.${table} ORDER BY tenant, id`;
  const [source, destination] = await Promise.all([
    h.source.pool.query({ text: rowsSql('public'), rowMode: 'array' }),
    h.destination.pool.query({ text: rowsSql('landing'), rowMode: 'array' }),
  ]);
  expect(destination.rows).toEqual(source.rows);
  expect((await h.row(message.config_id)).incremental_value).toBe(highest);
}

it(
  'any interleaving of inserts, updates, late commits and (crashing) incremental or append_only loads ends with the destination equal to the source',
  async () => {
    await fc.assert(fc.asyncProperty(testCase, runCase), { numRuns: RUNS, ...SEED });
  },
  180_000,
);
