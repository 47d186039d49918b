/**
 * The `databricks` destination: Delta tables in Unity Catalog. A load lands
 * its Parquet in the staging location as `adls` does (one folder per attempt),
 * then runs one SQL statement on the warehouse that reads the folder and
 * commits atomically (shared/destination/databricks/sql.ts). The committing
 * statement's id is reported for last_databricks_run. Staged files are removed
 * after the commit, or kept DATABRICKS_STAGING_RETENTION_DAYS days.
 */
import type { ColumnSpec, Condition } from '../../data/spec.js';
import { TerminalError } from '../../errors.js';
import { BlobStore, parseStorageUrl, type StorageLocation } from '../lakehouse/blob-store.js';
import { LandedRun, LocalEngine, runFolder, type LandedWrite } from '../lakehouse/landing.js';
import type { BeforeCommit, CommitInfo, DestinationSession, Staging, StagingOptions, TableRef } from '../port.js';
import { managedIdentityToken, oauthM2mToken } from './auth.js';
import { StatementClient, warehouseIdOf } from './client.js';
import {
  addColumnsSql,
  createTableSql,
  deltaType,
  describeColumnsSql,
  emptySelect,
  insertOverwriteSql,
  mergeSql,
  replaceWhereSql,
  stagedSelect,
  typeHolds,
  type DeltaTable,
} from './sql.js';

/** The secrets of a databricks connection (db_config_value holds their names). */
export const DATABRICKS_SECRETS = {
  required: ['host', 'warehouse', 'staging_url'],
  optional: ['catalog', 'client_id', 'client_secret', 'staging_connection_string'],
} as const;

export interface DatabricksOptions {
  /** Days staged files are kept after the commit (0: removed at once). */
  stagingRetentionDays: number;
}

/** The location Databricks reads a staged folder from (abfss://container@account.dfs.core.windows.net/folder). */
export function abfssLocation(location: StorageLocation, folder: string): string {
  const host = new URL(location.endpoint).hostname;
  const account = host.split('.')[0];
  return `abfss://${location.container}@${account}.dfs.core.windows.net/${folder}`;
}

class DatabricksStaging implements Staging {
  private consumed = false;
  committed?: CommitInfo;

  constructor(
    private readonly destination: DatabricksDestination,
    private readonly run: LandedRun,
    private readonly table: DeltaTable,
  ) {}

  openWriter() {
    return this.run.openWriter();
  }

  maxValue(column: string): Promise<string | null> {
    return this.run.maxValue(column);
  }

  private async commit(write: LandedWrite, statement: (rows: string) => string, beforeCommit?: BeforeCommit): Promise<number> {
    await beforeCommit?.();
    // A change set without rows has no files to read: the statement reads none (a merge of nothing is skipped).
    const rows = this.run.parts.length ? stagedSelect(this.location, this.run.columns) : emptySelect(this.run.columns);
    if (this.run.parts.length || write.write !== 'merge') {
      const result = await this.destination.client.execute(statement(rows));
      this.committed = { statementId: result.statementId };
    }
    this.consumed = true;
    await this.run.writeManifest(write);
    if (this.destination.options.stagingRetentionDays <= 0) await this.run.removeFolder();
    return this.run.rows;
  }

  private get location(): string {
    return abfssLocation(this.run.store.location, this.run.folder);
  }

  replace(beforeCommit?: BeforeCommit): Promise<number> {
    return this.commit({ write: 'replace' }, (rows) => insertOverwriteSql(this.table, rows, this.run.columns), beforeCommit);
  }

  merge(primaryKey: string[], beforeCommit?: BeforeCommit): Promise<number> {
    return this.commit({ write: 'merge', merge_keys: primaryKey }, (rows) => mergeSql(this.table, rows, this.run.columns, primaryKey), beforeCommit);
  }

  replaceWhere(conditions: Condition[], beforeCommit?: BeforeCommit): Promise<number> {
    return this.commit({ write: 'replace_where', window: conditions }, (rows) => replaceWhereSql(this.table, rows, this.run.columns, conditions), beforeCommit);
  }

  async drop(): Promise<void> {
    try {
      if (!this.consumed) await this.run.removeFolder();
    } finally {
      await this.run.releaseLocal();
    }
  }
}

export class DatabricksDestination implements DestinationSession {
  private engine: Promise<LocalEngine> | undefined;

  constructor(
    readonly client: StatementClient,
    readonly staging: BlobStore,
    readonly catalog: string | null,
    readonly options: DatabricksOptions,
  ) {}

  table(target: TableRef): DeltaTable {
    return { catalog: target.catalog ?? this.catalog, schema: target.schema, table: target.table };
  }

  async prepareTable(target: TableRef, columns: ColumnSpec[], primaryKey?: string[]): Promise<void> {
    await this.staging.ensureContainer();
    const table = this.table(target);
    const { rows } = await this.client.execute(describeColumnsSql(table), [
      { name: 'schema', value: table.schema },
      { name: 'table', value: table.table },
    ]);
    if (!rows.length) {
      await this.client.execute(createTableSql(table, columns, primaryKey));
      return;
    }
    const existing = new Map(rows.map((r) => [r[0]!, r[1]!]));
    const added: ColumnSpec[] = [];
    for (const column of columns) {
      const type = existing.get(column.name);
      if (type === undefined) {
        added.push(column);
      } else if (!typeHolds(type, deltaType(column))) {
        throw new TerminalError(
          `destination column "${column.name}" of ${table.schema}.${table.table} is ${type} but the source now gives ${deltaType(column)} (${column.type}); change the Delta column (or the source) so the types match`,
        );
      }
    }
    if (added.length) await this.client.execute(addColumnsSql(table, added));
  }

  async createStaging(target: TableRef, columns: ColumnSpec[], options: StagingOptions): Promise<Staging> {
    this.engine ??= LocalEngine.create();
    const run = new LandedRun(this.staging, await this.engine, target, columns, 'delta', runFolder(this.staging, target, options), options);
    await run.clearEarlierAttempts(this.options.stagingRetentionDays);
    return new DatabricksStaging(this, run, this.table(target));
  }

  async dropLeftoverStaging(): Promise<void> {}

  async close(): Promise<void> {
    if (this.engine) await (await this.engine).close();
  }
}

/** Opens a databricks destination on resolved connection values. */
export function openDatabricksDestination(
  connection: Record<string, string>,
  label: string,
  options: DatabricksOptions,
  fetchImpl?: typeof fetch,
): DatabricksDestination {
  const host = connection.host ?? '';
  if (!/^https?:\/\/[^/]+\/?$/.test(host)) {
    throw new TerminalError(`${label}: the secret named by "host" must be the workspace URL, like https://adb-1234567890123456.7.azuredatabricks.net`);
  }
  if (connection.staging_url?.startsWith('/Volumes/')) {
    throw new TerminalError(`${label}: staging in a Unity Catalog volume is not supported yet; name an abfss:// or https:// ADLS Gen2 location in "staging_url"`);
  }
  const location = parseStorageUrl(connection.staging_url ?? '', `${label}: the secret named by "staging_url"`);
  const warehouseId = warehouseIdOf(connection.warehouse ?? '');
  if (!!connection.client_id !== !!connection.client_secret) {
    throw new TerminalError(`${label}: OAuth machine-to-machine needs both "client_id" and "client_secret" (or neither, for the managed identity)`);
  }
  const token = connection.client_id
    ? oauthM2mToken(host, connection.client_id, connection.client_secret!, fetchImpl)
    : managedIdentityToken();
  const client = new StatementClient({ host, warehouseId, token, ...(fetchImpl ? { fetch: fetchImpl } : {}) });
  return new DatabricksDestination(client, BlobStore.open(location, connection.staging_connection_string || undefined), connection.catalog || null, options);
}
