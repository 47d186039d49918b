/**
 * The lakehouse in tests: Azurite started for the test file, an `adls`
 * table_control_dbconfig row pointing at it (secret names resolved from the
 * environment), and an independent reader: landed files are downloaded and
 * read back with DuckDB.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { BlobServiceClient } from '@azure/storage-blob';
import type pg from 'pg';
import { afterAll } from 'vitest';
import { startAzurite, type AzuriteServer } from '../../shared/local/azurite.js';
import { envVariableFor } from '../../shared/secrets/env.js';
import type { Manifest } from '../../shared/destination/lakehouse/landing.js';

export interface Lake {
  azurite: AzuriteServer;
  container: string;
  prefix: string;
  /** Blob names under the prefix's folder `path`. */
  list(path: string): Promise<string[]>;
  /** The committed runs (folders with a manifest) of a table, oldest first, with their rows read back by DuckDB (`select` may end in ORDER BY). */
  runs(schema: string, table: string, select?: string): Promise<{ folder: string; manifest: Manifest; rows: unknown[][]; schema: Record<string, unknown>[] }[]>;
}

export async function startLake(): Promise<Lake> {
  const azurite = await startAzurite();
  const container = 'landing';
  const prefix = `dl${randomBytes(2).toString('hex')}`;
  const client = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(container);
  const dir = await mkdtemp(join(tmpdir(), 'dataloader-lake-test-'));
  const duck = await DuckDBInstance.create(':memory:', { threads: '2' });
  afterAll(async () => {
    duck.closeSync();
    await rm(dir, { recursive: true, force: true });
    await azurite.stop();
  });
  const list = async (path: string) => {
    const names: string[] = [];
    for await (const blob of client.listBlobsFlat({ prefix: `${prefix}/${path}` })) names.push(blob.name);
    return names;
  };
  return {
    azurite,
    container,
    prefix,
    list,
    runs: async (schema, table, select = '*') => {
      const names = await list(`${schema}/${table}/`);
      const manifests = names.filter((n) => n.endsWith('/_manifest.json'));
      const runs = [];
      for (const name of manifests) {
        const folder = name.slice(0, -'/_manifest.json'.length);
        const manifest = JSON.parse((await client.getBlockBlobClient(name).downloadToBuffer()).toString()) as Manifest;
        const files: string[] = [];
        for (const file of manifest.files) {
          const local = join(dir, `${randomBytes(6).toString('hex')}.parquet`);
          await writeFile(local, await client.getBlockBlobClient(`${folder}/${file.path}`).downloadToBuffer());
          files.push(local);
        }
        const at = select.lastIndexOf(' ORDER BY ');
        const [list, order] = at < 0 ? [select, ''] : [select.slice(0, at), select.slice(at)];
        const connection = await duck.connect();
        try {
          const rows = files.length
            ? (await connection.runAndReadAll(`SELECT ${list} FROM read_parquet([${files.map((f) => `'${f}'`).join(', ')}]) ${order}`)).getRows()
            : [];
          const schemaRows = files.length
            ? (await connection.runAndReadAll(`SELECT name, type, logical_type, converted_type, precision, scale FROM parquet_schema('${files[0]}') WHERE name <> 'duckdb_schema'`)).getRowObjects()
            : [];
          runs.push({ folder, manifest, rows: rows as unknown[][], schema: schemaRows as Record<string, unknown>[] });
        } finally {
          connection.closeSync();
        }
      }
      return runs.sort((a, b) => a.manifest.committed_at.localeCompare(b.manifest.committed_at));
    },
  };
}

/** Registers an `adls` destination row named `key` on the lake. */
export async function registerLakeDestination(control: pg.Pool, key: string, lake: Lake, dbType = 'adls'): Promise<void> {
  process.env[envVariableFor(`${key}-url`)] = `${lake.azurite.blobEndpoint}/${lake.container}/${lake.prefix}`;
  process.env[envVariableFor(`${key}-cs`)] = lake.azurite.connectionString;
  await control.query(
    `INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope, default_target_schema)
     VALUES ($1, $2, $3, 'local-env', 'landing')`,
    [key, JSON.stringify({ url: `${key}-url`, connection_string: `${key}-cs` }), dbType],
  );
}
