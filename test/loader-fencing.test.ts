/**
 * Two attempts never write one destination table at once. A real loader
 * process is frozen (SIGSTOP) in the middle of a load past its lease; a second
 * loader process takes the redelivered message over and finishes the run; the
 * first, resumed (SIGCONT), must stop without writing: the destination is the
 * second attempt's table, equal to one clean run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { messageIdFor } from '../shared/queue/message.js';
import { LocalQueueSender } from '../shared/queue/local/sender.js';
import { projectRoot } from '../shared/paths.js';
import { createLoaderHarness } from './support/source.js';

const h = await createLoaderHarness();
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

function startLoader(name: string, output: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'cli/main.ts'), 'loader', '--drain', '--concurrency', '1'], {
    cwd: projectRoot(),
    env: {
      ...process.env,
      DATABASE_URL: h.control.url,
      CONTROL_DB_SSL: 'disable',
      DESTINATION_DB_CONFIG_KEY: h.destinationKey,
      HEARTBEAT_INTERVAL_SECONDS: '1',
      LOCAL_QUEUE_LOCK_SECONDS: '2',
      LOG_LEVEL: 'info',
      SECRETS_FROM_ENVIRONMENT: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  child.stdout!.on('data', (d: Buffer) => output.push(`${name}: ${d.toString()}`));
  child.stderr!.on('data', (d: Buffer) => output.push(`${name}: ${d.toString()}`));
  return { child, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined>, output: string[], timeoutMs = 60_000): Promise<T> {
  const giveUp = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > giveUp) throw new Error(`timed out waiting for ${what}:\n${output.join('')}`);
    await sleep(100);
  }
}

it('a loader frozen past its lease is taken over, and once resumed stops without writing', async () => {
  const output: string[] = [];
  // About 3 s of reading: long enough to freeze the first attempt mid-load.
  const message = await h.queueRow({
    source_table_name: 'slow',
    query: 'SELECT g AS id FROM generate_series(1, 100) g WHERE pg_sleep(0.03) IS NOT NULL',
    destination_table_name: 'fenced',
    load_strategy: 'full',
  });
  await new LocalQueueSender(h.control.pool, { queueName: 'loads' }).send([
    { messageId: messageIdFor(message.config_id, new Date(message.slot), message.run_id), body: message },
  ]);

  const first = startLoader('first', output);
  const firstOwner = await until('the first attempt to start', async () => {
    const row = await h.row(message.config_id);
    return row.last_status === 'In Progress' ? (row.lease_owner as string) : undefined;
  }, output);
  await sleep(500);
  first.child.kill('SIGSTOP');
  // Past its lease (3 heartbeat intervals) and its queue lock (2 s): the message comes back.
  await sleep(4_500);

  const second = startLoader('second', output);
  await until('the second attempt to finish', async () => ((await h.row(message.config_id)).last_status === 'Succeeded' ? true : undefined), output);
  expect(await second.exited).toBe(0);
  const tableAfterSecond = (await h.destination.pool.query(`SELECT 'landing.fenced'::regclass::oid::int AS oid`)).rows[0].oid;

  first.child.kill('SIGCONT');
  await first.exited;
  // The first attempt wrote nothing: the same table (a full load swaps in a new one), one clean run's rows.
  expect((await h.destination.pool.query(`SELECT 'landing.fenced'::regclass::oid::int AS oid`)).rows[0].oid).toBe(tableAfterSecond);
  expect((await h.destination.pool.query(`SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, sum(id)::int AS s FROM landing.fenced`)).rows[0]).toEqual({
    n: 100,
    d: 100,
    s: 5050,
  });
  const staging = await h.destination.pool.query(`SELECT relname FROM pg_class WHERE relname LIKE '\\_dl\\_%' AND relkind = 'r'`);
  expect(staging.rows).toEqual([]);
  const row = await h.row(message.config_id);
  expect(row).toMatchObject({ last_status: 'Succeeded', lease_owner: null });
  const history = await h.history(message.config_id);
  expect(history.map((r) => r.load_status)).toEqual(['Cancelled', 'Succeeded']);
  expect(history[0]!.log_message).toContain(`attempt ${firstOwner} lost its lease`);
  expect(output.join('')).toMatch(/first: .*(lease not renewed in time|no longer this attempt)/);
}, 120_000);
