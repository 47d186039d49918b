/** The `dataloader` command's sensor, reaper and migrate, run as a child process as an operator runs them. */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../shared/paths.js';
import { createTestDatabase } from './support/db.js';
import { insertRows, queuedMessages, rowById } from './sensor-fixtures.js';

const db = await createTestDatabase();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `dataloader <args>` with only the given settings in its environment. */
function dataloader(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', ...args],
      { cwd: projectRoot(), env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const withDb = (url = db.url) => ({ DATABASE_URL: `${url}?sslmode=disable` });

describe('dataloader command', () => {
  it.concurrent.each([['sensor'], ['reaper']])('%s --help describes the command and --once', async (command) => {
    const r = await dataloader([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`Usage: dataloader ${command} \\[options\\]`));
    expect(r.stdout).toMatch(/--once/);
  });

  it('sensor --once queues the due rows on the local queue and exits 0', async () => {
    const ids = await insertRows(db.pool, { count: 3, sources: ['src_a'], name: 'cli' });
    const r = await dataloader(['sensor', '--once'], withDb());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sensor: queued 3, held back 0 .* sent 3 \(local queue\) in \d+ ms\n$/);
    expect((await queuedMessages(db.pool)).map((m) => m.config_id)).toEqual(ids);
  });

  it('reaper --once fails timed-out runs and exits 0', async () => {
    const [id] = await insertRows(db.pool, { count: 1, sources: ['src_a'], status: 'In Progress', dueSecondsAgo: -60, name: 'stuck' });
    await db.pool.query(
      `UPDATE control.table_control SET last_run_id = 'r1', last_load_date_time = LOCALTIMESTAMP - interval '4 hours' WHERE config_id = $1`,
      [id],
    );
    const r = await dataloader(['reaper', '--once'], withDb());
    expect(r.code).toBe(0);
    // Log lines (one per reaped run) come first; the summary is the last line.
    expect(r.stdout).toMatch(/warn {2}reaper: run timed out config_id=\d+ run_id=r1 status="In Progress"/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^reaper: failed 0 queued longer than 60 min, 1 in progress without a heartbeat for 180 min/);
    expect((await rowById(db.pool, id!)).last_status).toBe('Failed');
  });

  it('migrate brings a fresh database up to date and exits 0', async () => {
    const fresh = await createTestDatabase({ empty: true, prefix: 'cli' });
    const r = await dataloader(['migrate'], withDb(fresh.url));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/migrations: applied \d+/);
    const { rows } = await fresh.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM control.local_queue`);
    expect(rows[0]!.n).toBe(0);
  });

  it.concurrent.each([
    ['no DATABASE_URL', {}, /^dataloader: DATABASE_URL: not set/],
    ['a bad setting', { ...withDb(), SENSOR_BATCH_SIZE: 'many' }, /^dataloader: invalid settings: SENSOR_BATCH_SIZE: /],
    ['an unreachable database', { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/dataloader?sslmode=disable' }, /^dataloader: .*ECONNREFUSED/],
  ])('sensor --once with %s exits non-zero with a one-line reason', async (_case, env, reason) => {
    const r = await dataloader(['sensor', '--once'], env as Record<string, string>);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
