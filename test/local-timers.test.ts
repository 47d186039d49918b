import { describe, expect, it } from 'vitest';
import { startTimer } from '../host/timers.js';
import { silentLogger } from '../shared/log.js';

describe('local timers', () => {
  it('run a job on a seconds schedule, never overlapping, and stop after the run in progress', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const timer = startTimer('probe', '* * * * * *', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 1500));
      runs++;
      running--;
    }, silentLogger);
    await new Promise((r) => setTimeout(r, 3200));
    await timer.stop();
    expect(running).toBe(0);
    expect(maxRunning).toBe(1);
    expect(runs).toBeGreaterThanOrEqual(1);
    const after = runs;
    await new Promise((r) => setTimeout(r, 1200));
    expect(runs).toBe(after);
  });

  it('refuse a bad schedule at start-up', () => {
    expect(() => startTimer('bad', 'every minute', async () => undefined, silentLogger)).toThrow();
  });
});
