/**
 * One run's landed files: Parquet parts written under
 *   {prefix}/{schema}/{table}/run_date=YYYY-MM-DD/run_id={run_id}/part-00000.parquet ...
 * (a chunked backfill's chunk k under run_id={run_id}-chunk-0000k), and
 * `_manifest.json` written last. A folder without a manifest is an unfinished
 * attempt: readers ignore it, and the next attempt on the table deletes it.
 * A retry of a run rewrites its own folder (the manifest goes first), so a
 * crash and a retry leave what one clean run leaves.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { ColumnSpec, Condition } from '../../data/spec.js';
import type { TableRef } from '../port.js';
import type { BlobStore } from './blob-store.js';
import { ParquetPartWriter, type LandedPart } from './parquet-parts.js';
import { duckIdent, lakehouseType, type ParquetFlavour } from './types.js';

export const MANIFEST = '_manifest.json';

/** How the run's rows apply to the table: the manifest's `write`. */
export type LandedWrite =
  | { write: 'replace' }
  | { write: 'merge'; merge_keys: string[] }
  | { write: 'replace_where'; window: Condition[] };

export interface Manifest {
  format: 'dataloader-manifest/1';
  table: TableRef;
  run_id: string;
  run_date: string;
  chunk: number | null;
  /** The row's load_strategy. */
  strategy: string;
  write: LandedWrite['write'];
  merge_keys?: string[];
  /** replace_where: the rows this window holds are replaced (the watermark with its lookback, the rolling window, a backfill chunk). */
  window?: Condition[];
  /** The conditions the run's rows were read with (the watermark with its lookback, ...); empty: every row. */
  read: Condition[];
  columns: { name: string; source_type: string; parquet_type: string }[];
  files: { path: string; rows: number; bytes: number }[];
  rows: number;
  committed_at: string;
}

export interface LandingOptions {
  runId: string;
  read?: Condition[];
  chunk?: number;
  strategy: string;
  now: Date;
}

/** The run folder of a table: {prefix}/{schema}/{table}/run_date=.../run_id=... */
export function runFolder(store: BlobStore, target: TableRef, options: Pick<LandingOptions, 'runId' | 'chunk' | 'now'>): string {
  const runDate = options.now.toISOString().slice(0, 10);
  const run = options.chunk === undefined ? options.runId : `${options.runId}-chunk-${String(options.chunk).padStart(5, '0')}`;
  return store.path(target.schema, target.table, `run_date=${runDate}`, `run_id=${run}`);
}

/** DuckDB, for writing parts and reading them back, with bounded memory and a scratch folder. */
export class LocalEngine {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly dir: string,
  ) {}

  static async create(memoryLimit = '128MB'): Promise<LocalEngine> {
    const dir = await mkdtemp(join(tmpdir(), 'dataloader-lake-'));
    const instance = await DuckDBInstance.create(':memory:', {
      threads: '2',
      memory_limit: memoryLimit,
      preserve_insertion_order: 'false',
      temp_directory: join(dir, 'spill'),
    });
    return new LocalEngine(instance, dir);
  }

  connect(): Promise<DuckDBConnection> {
    return this.instance.connect();
  }

  async close(): Promise<void> {
    this.instance.closeSync();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The rows of one attempt, landed as Parquet parts in the run folder. */
export class LandedRun {
  readonly parts: LandedPart[] = [];
  private partNumber = 0;
  private readonly connections: DuckDBConnection[] = [];

  constructor(
    readonly store: BlobStore,
    private readonly engine: LocalEngine,
    readonly target: TableRef,
    readonly columns: ColumnSpec[],
    readonly flavour: ParquetFlavour,
    readonly folder: string,
    readonly options: LandingOptions,
  ) {}

  /**
   * Clears what an earlier attempt left for this table: folders without a
   * manifest, and this run's own folder (manifest first, so no reader sees a
   * manifest whose files are gone). With `keepDays`, committed folders whose
   * run_date is older than that many days go too (staging that is only kept a while).
   */
  async clearEarlierAttempts(keepDays?: number): Promise<void> {
    const oldest = keepDays === undefined ? undefined : new Date(this.options.now.getTime() - keepDays * 86_400_000).toISOString().slice(0, 10);
    const tableFolder = this.store.path(this.target.schema, this.target.table);
    const names = await this.store.list(tableFolder);
    const folders = new Map<string, string[]>();
    for (const name of names) {
      const folder = name.slice(0, name.lastIndexOf('/'));
      folders.set(folder, [...(folders.get(folder) ?? []), name]);
    }
    const runName = this.folder.slice(this.folder.lastIndexOf('/') + 1);
    for (const [folder, files] of folders) {
      const manifest = files.find((f) => f.endsWith(`/${MANIFEST}`));
      const ownRun = folder.endsWith(`/${runName}`);
      const runDate = /\/run_date=(\d{4}-\d\d-\d\d)\//.exec(`${folder}/`)?.[1];
      const expired = oldest !== undefined && runDate !== undefined && runDate < oldest;
      if (manifest && !ownRun && !expired) continue;
      if (manifest) await this.store.delete([manifest]);
      await this.store.delete(files.filter((f) => f !== manifest));
    }
  }

  async openWriter(): Promise<Writable & { rowCount: number }> {
    const connection = await this.engine.connect();
    this.connections.push(connection);
    return new ParquetPartWriter(connection, this.engine.dir, this.columns, this.flavour, {
      nextPart: () => this.partNumber++,
      onPart: async (part) => {
        await this.store.uploadFile(`${this.folder}/${part.name}`, part.localPath);
        this.parts.push(part);
      },
    });
  }

  get rows(): number {
    return this.parts.reduce((sum, part) => sum + part.rows, 0);
  }

  /** The largest landed value of a column in PostgreSQL's text form, or null without rows. */
  async maxValue(column: string): Promise<string | null> {
    if (!this.parts.length) return null;
    const spec = this.columns.find((c) => c.name === column);
    if (!spec) throw new Error(`column "${column}" was not landed`);
    const files = this.parts.map((p) => `'${p.localPath.replace(/'/g, "''")}'`).join(', ');
    const col = duckIdent(column);
    const textual = lakehouseType(spec.type, this.flavour).duckdb === 'VARCHAR';
    // A numeric landed as text compares as a number.
    const numeric = textual && /^(numeric|decimal)/i.test(spec.type);
    const expression = numeric ? `arg_max(${col}, TRY_CAST(${col} AS DOUBLE))` : `CAST(max(${col}) AS VARCHAR)`;
    const connection = await this.engine.connect();
    try {
      const reader = await connection.runAndReadAll(`SELECT ${expression} FROM read_parquet([${files}])`);
      const value = reader.getRows()[0]?.[0];
      return value === null || value === undefined ? null : String(value);
    } finally {
      connection.closeSync();
    }
  }

  manifest(write: LandedWrite): Manifest {
    return {
      format: 'dataloader-manifest/1',
      table: this.target,
      run_id: this.options.runId,
      run_date: this.options.now.toISOString().slice(0, 10),
      chunk: this.options.chunk ?? null,
      strategy: this.options.strategy,
      ...write,
      read: this.options.read ?? [],
      columns: this.columns.map((c) => ({ name: c.name, source_type: c.type, parquet_type: lakehouseType(c.type, this.flavour).duckdb })),
      files: [...this.parts].sort((a, b) => a.name.localeCompare(b.name)).map((p) => ({ path: p.name, rows: p.rows, bytes: p.bytes })),
      rows: this.rows,
      committed_at: new Date().toISOString(),
    };
  }

  /** Writes the manifest: the run's files become visible to readers. */
  async writeManifest(write: LandedWrite): Promise<Manifest> {
    const manifest = this.manifest(write);
    await this.store.uploadText(`${this.folder}/${MANIFEST}`, `${JSON.stringify(manifest, null, 2)}\n`, 'application/json');
    return manifest;
  }

  /** Deletes the run folder's files (an attempt that did not commit). */
  async removeFolder(): Promise<void> {
    await this.store.delete(await this.store.list(this.folder));
  }

  /** Deletes the local copies of the parts. */
  async releaseLocal(): Promise<void> {
    for (const connection of this.connections.splice(0)) connection.closeSync();
    for (const part of this.parts) await rm(part.localPath, { force: true });
  }
}
