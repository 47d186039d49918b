import { describe, expect, it } from 'vitest';
import { createControlPool } from '../shared/db/pool.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import { runSensorTick, type SensorTickSummary } from '../shared/sensor/tick.js';
import { createTestDatabase } from './support/db.js';
import { controlRows, insertRows, QUEUE, queuedMessages, testSettings } from './sensor-fixtures.js';

const db = await createTestDatabase();

const SOURCES = Array.from({ length: 50 }, (_, i) => `src_${String(i).padStart(2, '0')}`);
const LIMIT = 80;

/** `n` sensor ticks at once, each on its own pool (its own sessions, as separate processes have). */
async function ticksAtOnce(n: number): Promise<SensorTickSummary[]> {
  const pools = Array.from({ length: n }, () => createControlPool({ url: db.url, ssl: 'disable', statementTimeoutMs: 30_000 }, 2));
  try {
    const settings = testSettings({ SENSOR_BATCH_SIZE: '250', SOURCE_CONCURRENCY_LIMIT: String(LIMIT) });
    return await Promise.all(
      pools.map((pool) => runSensorTick({ pool, sender: new LocalQueueSender(pool, { queueName: QUEUE }), settings })),
    );
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

const sum = (summaries: SensorTickSummary[], key: 'claimed' | 'sent') => summaries.reduce((n, s) => n + s[key], 0);

describe('sensor ticks at once', () => {
  it('queue each of 5,000 due rows at most once, one message each, within the per-source limit', async () => {
    // 50 sources x 100 due rows; at most 80 of each source in flight: 4,000 claimable.
    await insertRows(db.pool, { count: 5000, sources: SOURCES });
    const first = await ticksAtOnce(8);
    for (const s of first) expect(s.sendError).toBeUndefined();
    expect(sum(first, 'claimed')).toBe(4000);
    expect(sum(first, 'sent')).toBe(4000);

    const rows = await controlRows(db.pool);
    const queued = rows.filter((r) => r.last_status === 'Queued');
    expect(queued).toHaveLength(4000);
    const perSource = new Map<string, number>();
    for (const r of queued) perSource.set(r.db_config_key!, (perSource.get(r.db_config_key!) ?? 0) + 1);
    expect([...perSource.values()]).toEqual(SOURCES.map(() => LIMIT));

    // Exactly one message per queued row, carrying the row's run id; none for the others.
    const messages = await queuedMessages(db.pool);
    expect(messages).toHaveLength(4000);
    expect(new Set(messages.map((m) => m.message_id)).size).toBe(4000);
    const runOf = new Map(queued.map((r) => [r.config_id, r.last_run_id]));
    for (const m of messages) expect(m.run_id).toBe(runOf.get(m.config_id));
    const { rows: outbox } = await db.pool.query<{ unsent: number; total: number }>(
      'SELECT count(*) FILTER (WHERE sent_at IS NULL)::int AS unsent, count(*)::int AS total FROM control.load_outbox',
    );
    expect(outbox[0]).toEqual({ unsent: 0, total: 4000 });

    // Held-back rows are still due, untouched.
    const held = rows.filter((r) => r.last_status === null);
    expect(held).toHaveLength(1000);
    for (const r of held) expect(r.last_run_id).toBeNull();

    // Overlapping ticks while everything is in flight claim nothing.
    const second = await ticksAtOnce(8);
    expect(sum(second, 'claimed')).toBe(0);

    // The loader starts every run exactly once.
    // Loaders start every run (test/sensor-crash.test.ts starts them through the queue).
    await db.pool.query(`UPDATE control.table_control SET last_status = 'In Progress' WHERE last_status = 'Queued'`);

    // 10 loads of one source finish: the next ticks claim exactly 10 more, of that source.
    await db.pool.query(
      `UPDATE control.table_control SET last_status = 'Succeeded'
        WHERE config_id IN (SELECT config_id FROM control.table_control
                             WHERE db_config_key = $1 AND last_status = 'In Progress' ORDER BY config_id LIMIT 10)`,
      [SOURCES[7]],
    );
    const third = await ticksAtOnce(8);
    expect(sum(third, 'claimed')).toBe(10);
    const after = await controlRows(db.pool);
    const inFlight = after.filter((r) => r.db_config_key === SOURCES[7] && (r.last_status === 'Queued' || r.last_status === 'In Progress'));
    expect(inFlight).toHaveLength(LIMIT);
    expect(await queuedMessages(db.pool)).toHaveLength(4010);
  });
});
