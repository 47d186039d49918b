/**
 * The soak's PostgreSQL servers: one for the control database (stopped and
 * started again on the same data directory and port, as a fault), one for the
 * source and destination databases. Both embedded in temporary directories,
 * or one external server (SOAK_DATABASE_URL) for everything.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { databaseUrl, freePort, startEmbeddedPostgres, type EmbeddedServer } from '../shared/local/embedded-postgres.js';

export interface SoakServer {
  /** URL of the server's `postgres` database. */
  url: string;
  /** Stops and starts the server again on the same data and port; false when it cannot (external). */
  restart(downMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

async function embedded(root: string, name: string): Promise<SoakServer> {
  const dataDir = join(root, name);
  const port = await freePort();
  // persistent: the data directory must survive the restart; the soak removes it at the end.
  let server: EmbeddedServer | undefined = await startEmbeddedPostgres({ dataDir, persistent: true, port });
  const url = server.url;
  return {
    url,
    restart: async (downMs) => {
      await server?.stop();
      server = undefined;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      server = await startEmbeddedPostgres({ dataDir, persistent: true, port });
      return true;
    },
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
  };
}

function external(url: string): SoakServer {
  return { url, restart: async () => false, stop: async () => undefined };
}

export interface SoakServers {
  control: SoakServer;
  data: SoakServer;
  root: string;
  /** Stops the servers and removes their data (unless kept). */
  close(keep: boolean): Promise<void>;
}

export async function startServers(): Promise<SoakServers> {
  const root = await mkdtemp(join(tmpdir(), 'dataloader-soak-'));
  // As root, PostgreSQL runs as the postgres user, which must reach the data directories inside.
  await chmod(root, 0o755);
  const externalUrl = process.env.SOAK_DATABASE_URL;
  const control = externalUrl ? external(externalUrl) : await embedded(root, 'control');
  const data = externalUrl ? external(externalUrl) : await embedded(root, 'data');
  return {
    control,
    data,
    root,
    close: async (keep) => {
      await control.stop().catch(() => undefined);
      await data.stop().catch(() => undefined);
      if (!keep) await rm(root, { recursive: true, force: true });
    },
  };
}

/** Creates (again) an empty database on a server. */
export async function recreateDatabase(serverUrl: string, name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(serverUrl, name);
}
