/**
 * The system under test: `dataloader serve` (the local host: admin API,
 * sensor, reaper and loader workers in one process) as a child process, so
 * that a fault can kill it with SIGKILL mid-load and start it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../shared/paths.js';

export interface HostProcess {
  apiUrl: string;
  /** SIGKILL: loads in flight die with it. */
  kill(): Promise<void>;
  /** SIGTERM: loads in flight finish, then it exits. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts the host and waits until its health check answers. `onCrash` hears of
 * an exit the soak did not ask for (a crash is a finding).
 */
export async function startHost(
  env: Record<string, string>,
  port: number,
  logFile: string,
  onCrash: (how: string) => void,
  timeoutMs = 90_000,
): Promise<HostProcess> {
  const out = openSync(logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'cli/main.ts'), 'serve', '--port', String(port), '--no-demo'], {
    cwd: projectRoot(),
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  let expected = false;
  child.once('exit', (code, signal) => {
    if (!expected) onCrash(signal ? `killed by ${signal}` : `exit code ${code}`);
  });
  const apiUrl = `http://127.0.0.1:${port}/api`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      expected = true;
      throw new Error(`the host exited with code ${child.exitCode} while starting; see ${logFile}`);
    }
    try {
      const res = await fetch(`${apiUrl}/health`);
      if (res.ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      expected = true;
      child.kill('SIGKILL');
      throw new Error(`the host did not answer ${apiUrl}/health within ${timeoutMs} ms; see ${logFile}`);
    }
    await sleep(250);
  }
  return {
    apiUrl,
    kill: async () => {
      expected = true;
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      expected = true;
      child.kill('SIGTERM');
      const done = exited(child);
      // A stop that hangs is a finding too, but the soak must end: force it after two minutes.
      const forced = sleep(120_000).then(() => child.kill('SIGKILL'));
      await Promise.race([done, forced]);
      await done;
    },
  };
}
