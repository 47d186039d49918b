/**
 * The PostgreSQL source connector. Every read runs in its own READ ONLY
 * transaction (a custom `query` can never write) and streams
 * `COPY (SELECT ...) TO STDOUT`: rows go to the destination as COPY text
 * without being parsed, held or re-encoded.
 */
import type { Readable } from 'node:stream';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { cancelPoolStatements, createDataPool, type ResolvedConnection } from '../data/postgres-connection.js';
import type { ColumnSpec, SourceRelation } from '../data/spec.js';
import { assertUniqueColumns, relationError } from './dialect.js';
import type { CommitHorizon, ReadSpec, SignatureSpec, SourceConnector, SourceSession } from './port.js';
import { commitHorizonSql, describeSql, selectSql, signatureSql, TYPE_NAMES_SQL } from './postgres-sql.js';

/** Runs `work` on a client inside a READ ONLY transaction; the client goes back to the pool (or is destroyed when broken). */
async function withReadOnly<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw error;
  } finally {
    client.release(broken);
  }
}

async function setSettings(client: pg.ClientBase, settings: string[]): Promise<void> {
  if (settings.length === 0) return;
  const names = settings.map((_, i) => `dataloader.p${i + 1}`);
  await client.query(`SELECT set_config(n, v, true) FROM unnest($1::text[], $2::text[]) AS s(n, v)`, [names, settings]);
}

class PostgresSession implements SourceSession {
  /** An exported snapshot every read imports, while withSnapshot runs. */
  private snapshot: string | undefined;

  constructor(private readonly pool: pg.Pool) {}

  async withSnapshot<T>(work: () => Promise<T>): Promise<T> {
    // The exporting transaction must stay open while the reads import its snapshot.
    const holder = await this.pool.connect();
    let broken: Error | undefined;
    try {
      await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { rows } = await holder.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      this.snapshot = rows[0]!.id;
      return await work();
    } finally {
      this.snapshot = undefined;
      await holder.query('COMMIT').catch((e: Error) => (broken = e));
      holder.release(broken);
    }
  }

  async describe(relation: SourceRelation): Promise<ColumnSpec[]> {
    return withReadOnly(this.pool, async (client) => {
      let fields: pg.FieldDef[];
      try {
        ({ fields } = await client.query(describeSql(relation)));
      } catch (error) {
        throw relationError(relation, 'reading', error);
      }
      const { rows } = await client.query<{ type: string }>(TYPE_NAMES_SQL, [
        fields.map((f) => f.dataTypeID),
        fields.map((f) => f.dataTypeModifier),
      ]);
      const columns = fields.map((f, i) => ({ name: f.name, type: rows[i]!.type }));
      assertUniqueColumns(relation, columns);
      return columns;
    });
  }

  async read(spec: ReadSpec): Promise<Readable> {
    const { sql, settings } = selectSql(spec);
    const client = await this.pool.connect();
    let released = false;
    const release = (error?: Error) => {
      if (released) return;
      released = true;
      client.release(error);
    };
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      if (this.snapshot) await client.query(`SET TRANSACTION SNAPSHOT ${pg.escapeLiteral(this.snapshot)}`);
      await setSettings(client, settings);
    } catch (error) {
      release(error as Error);
      throw relationError(spec.relation, 'reading', error);
    }
    const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT`));
    stream.on('end', () => {
      client.query('COMMIT').then(
        () => release(),
        (e: Error) => release(e),
      );
    });
    // An error (or the consumer destroying the stream) leaves the connection mid-COPY: destroy it.
    stream.on('error', (error) => release(error));
    stream.on('close', () => {
      if (!stream.readableEnded) release(new Error('COPY stream closed before its end'));
    });
    return stream;
  }

  async signature(spec: SignatureSpec): Promise<string> {
    return withReadOnly(this.pool, async (client) => {
      try {
        const { rows } = await client.query<{ signature: string }>(signatureSql(spec));
        return rows[0]!.signature;
      } catch (error) {
        throw relationError(spec.relation, 'reading the change signature of', error);
      }
    });
  }

  async cancel(): Promise<void> {
    await cancelPoolStatements(this.pool);
  }

  async commitHorizon(column: ColumnSpec, options: { marginSeconds: number }): Promise<CommitHorizon> {
    if (!/^(timestamp(\(\d\))? with(out)? time zone|date)$/.test(column.type)) {
      return {
        kind: 'unknown',
        reason: `PostgreSQL hands out ${column.type} values at insert, not at commit, so no open transaction bounds them; the lookback applies`,
      };
    }
    const { rows } = await this.pool.query<{ hidden: number; pid: number | null; since: string | null; bound: string }>(
      commitHorizonSql(column.type),
      [options.marginSeconds],
    );
    const row = rows[0]!;
    if (row.hidden > 0) {
      return {
        kind: 'unknown',
        reason:
          `the source role cannot see the transactions of ${row.hidden} other session(s) on this database ` +
          '(grant it pg_read_all_stats to let watermarks settle on the oldest open transaction); the lookback applies',
      };
    }
    return {
      kind: 'bound',
      value: row.bound,
      basis: `oldest open transaction on the source, less ${options.marginSeconds} s`,
      ...(row.pid !== null ? { heldBy: `backend pid ${row.pid}, open since ${row.since}` } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

export const postgresConnector: SourceConnector = {
  requiredSecrets: ['host', 'database', 'user', 'password'],
  optionalSecrets: ['port', 'sslmode'],
  async open(connection: ResolvedConnection, options: { maxConnections: number }): Promise<SourceSession> {
    const pool = await createDataPool(connection, 'source', options.maxConnections);
    return new PostgresSession(pool);
  },
};
