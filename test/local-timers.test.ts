import { describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS, startTimer } from '../host/timers.js';
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

  it('wait for an occurrence further off than setTimeout can hold (a yearly schedule) without firing early', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-02T00:00:00Z') });
    try {
      let runs = 0;
      const timer = startTimer('yearly', '0 0 0 1 1 *', async () => {
        runs++;
      }, silentLogger);
      // Past the 24.8-day limit, many times over: nothing fires until the next 1 January.
      for (let i = 0; i < 13; i++) await vi.advanceTimersByTimeAsync(MAX_TIMEOUT_MS);
      expect(runs).toBe(0);
      await vi.advanceTimersByTimeAsync(Date.parse('2027-01-01T00:00:01Z') - Date.now());
      expect(runs).toBe(1);
      await timer.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
