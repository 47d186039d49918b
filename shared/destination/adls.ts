/**
 * The `adls` destination: each run lands Parquet files and a manifest in Azure
 * Data Lake Storage Gen2 (or Blob Storage), for Synapse, Fabric, Snowflake
 * external stages or Spark to read (layout in lakehouse/landing.ts). Writing
 * the manifest is the commit: it says how the run's rows apply to the table
 *   replace       - the folder is a complete snapshot (full, check_and_load)
 *   merge         - upsert on merge_keys (incremental)
 *   replace_where - the rows matching `window` are replaced (append_only,
 *                   rolling, a backfill chunk)
 * so that a downstream engine can apply the change set. There is no table to
 * prepare: each manifest carries its column schema.
 */
import type { ColumnSpec, Condition } from '../data/spec.js';
import { BlobStore, parseStorageUrl } from './lakehouse/blob-store.js';
import { LandedRun, LocalEngine, runFolder, type LandedWrite } from './lakehouse/landing.js';
import type { BeforeCommit, DestinationSession, Staging, StagingOptions, TableRef } from './port.js';

/** The secrets of an adls connection (db_config_value holds their names). */
export const ADLS_SECRETS = { required: ['url'], optional: ['connection_string'] } as const;

class AdlsStaging implements Staging {
  private consumed = false;

  constructor(private readonly run: LandedRun) {}

  openWriter() {
    return this.run.openWriter();
  }

  maxValue(column: string): Promise<string | null> {
    return this.run.maxValue(column);
  }

  private async commit(write: LandedWrite, beforeCommit?: BeforeCommit): Promise<number> {
    await beforeCommit?.();
    const manifest = await this.run.writeManifest(write);
    this.consumed = true;
    return manifest.rows;
  }

  replace(beforeCommit?: BeforeCommit): Promise<number> {
    return this.commit({ write: 'replace' }, beforeCommit);
  }

  merge(primaryKey: string[], beforeCommit?: BeforeCommit): Promise<number> {
    return this.commit({ write: 'merge', merge_keys: primaryKey }, beforeCommit);
  }

  replaceWhere(conditions: Condition[], beforeCommit?: BeforeCommit): Promise<number> {
    return this.commit({ write: 'replace_where', window: conditions }, beforeCommit);
  }

  async drop(): Promise<void> {
    try {
      if (!this.consumed) await this.run.removeFolder();
    } finally {
      await this.run.releaseLocal();
    }
  }
}

export class AdlsDestination implements DestinationSession {
  private engine: Promise<LocalEngine> | undefined;

  constructor(readonly store: BlobStore) {}

  private localEngine(): Promise<LocalEngine> {
    this.engine ??= LocalEngine.create();
    return this.engine;
  }

  async prepareTable(): Promise<void> {
    await this.store.ensureContainer();
  }

  async createStaging(target: TableRef, columns: ColumnSpec[], options: StagingOptions): Promise<Staging> {
    const run = new LandedRun(this.store, await this.localEngine(), target, columns, 'parquet', runFolder(this.store, target, options), options);
    await run.clearEarlierAttempts();
    return new AdlsStaging(run);
  }

  /** Earlier attempts' folders are cleared by createStaging, which knows the run. */
  async dropLeftoverStaging(): Promise<void> {}

  async close(): Promise<void> {
    if (this.engine) await (await this.engine).close();
  }
}

/** Opens an adls destination on resolved connection values (`url`, optional `connection_string`). */
export function openAdlsDestination(connection: Record<string, string>, label: string): AdlsDestination {
  const location = parseStorageUrl(connection.url ?? '', `${label}: the secret named by "url"`);
  return new AdlsDestination(BlobStore.open(location, connection.connection_string || undefined));
}
