/**
 * 300 small due tables on one source drain through the local host with
 * default settings, never more than 4 in flight: one sensor tick starts four,
 * each finishing load queues the next (dispatch on finish).
 */
import { expect, it } from 'vitest';
import { runDrain } from '../bench/drain.js';
import { createLogger } from '../shared/log.js';
import { createTestDatabase } from './support/db.js';

const control = await createTestDatabase({ prefix: 'drain' });
const source = await createTestDatabase({ empty: true, prefix: 'src' });
const destination = await createTestDatabase({ empty: true, prefix: 'dst' });

it('drains 300 due tables of one source without waiting for sensor ticks, at most 4 in flight', async () => {
  const lines: string[] = [];
  const result = await runDrain({
    controlUrl: `${control.url}?sslmode=disable`,
    sourceUrl: source.url,
    destinationUrl: destination.url,
    tables: 300,
    log: createLogger('warn', (l) => lines.push(l)),
    timeoutMs: 100_000,
  });
  expect(result.succeeded).toBe(300);
  expect(result.maxInFlight).toBeLessThanOrEqual(4);
  expect(result.maxInFlight).toBeGreaterThanOrEqual(2);
  // Sensor ticks come once a minute: without dispatch on finish, 300 loads at 4 per tick take 75 minutes.
  expect(result.drainMs).toBeLessThan(100_000);
  const { rows } = await destination.pool.query(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'landing'`);
  expect(rows[0].n).toBe(303);
}, 180_000);
