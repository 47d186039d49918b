import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { cachedToken, databricksTokenProvider } from '../shared/db/auth.js';
import { controlClientConfig, createControlPool } from '../shared/db/pool.js';
import { withTransaction } from '../shared/db/transaction.js';
import { createTestDatabase } from './support/db.js';

const db = await createTestDatabase();

describe('control pool', () => {
  it('requires SSL unless the URL or the setting turns it off', async () => {
    const strict = new pg.Client(controlClientConfig({ url: db.url, ssl: 'require', statementTimeoutMs: 30_000 }));
    await expect(strict.connect()).rejects.toThrow(/does not support SSL/);
    const byUrl = new pg.Client(
      controlClientConfig({ url: `${db.url}?sslmode=disable`, ssl: 'require', statementTimeoutMs: 30_000 }),
    );
    await byUrl.connect();
    await byUrl.end();
  });

  it('sets a 30 s statement timeout and UTC', async () => {
    const { rows } = await db.pool.query<{ timeout: string; tz: string }>(
      `SELECT current_setting('statement_timeout') AS timeout, current_setting('TimeZone') AS tz`,
    );
    expect(rows[0]).toEqual({ timeout: '30s', tz: 'UTC' });
  });

  it('reads TIMESTAMP columns as UTC instants at any process time zone', async () => {
    const { rows } = await db.pool.query<{ t: Date }>(`SELECT TIMESTAMP '2026-03-29 01:30:00.123' AS t`);
    expect(rows[0]!.t.toISOString()).toBe('2026-03-29T01:30:00.123Z');
  });

  it('writes Date parameters into TIMESTAMP columns as UTC at any process time zone, without changing pg for other pools', async () => {
    expect(pg.defaults.parseInputDatesAsUTC).toBe(false);
    const saved = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const instant = new Date('2026-03-29T01:30:00.123Z');
      expect(instant.getTimezoneOffset()).not.toBe(0);
      const { rows } = await db.pool.query<{ t: string; arr: string }>(`SELECT $1::timestamp::text AS t, ($2::timestamp[])::text AS arr`, [instant, [instant]]);
      expect(rows[0]).toEqual({ t: '2026-03-29 01:30:00.123', arr: '{"2026-03-29 01:30:00.123"}' });
      const { rows: viaConfig } = await db.pool.query<{ t: string }>({ text: 'SELECT $1::timestamp::text AS t', values: [instant] });
      expect(viaConfig[0]!.t).toBe('2026-03-29 01:30:00.123');
      // A plain pg client (a source's or the destination's) keeps node-postgres's own behaviour: local time.
      const plain = new pg.Client({ connectionString: db.url });
      await plain.connect();
      try {
        const { rows: local } = await plain.query<{ t: string }>('SELECT $1::timestamp::text AS t', [instant]);
        expect(local[0]!.t).toBe('2026-03-28 21:30:00.123');
      } finally {
        await plain.end();
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('withTransaction commits, and rolls back on error keeping the error', async () => {
    await db.pool.query('CREATE TABLE tx_probe (v int)');
    await withTransaction(db.pool, (c) => c.query('INSERT INTO tx_probe VALUES (1)'));
    const failure = new Error('stop here');
    await expect(
      withTransaction(db.pool, async (c) => {
        await c.query('INSERT INTO tx_probe VALUES (2)');
        throw failure;
      }),
    ).rejects.toBe(failure);
    const { rows } = await db.pool.query('SELECT v FROM tx_probe');
    expect(rows).toEqual([{ v: 1 }]);
    expect(db.pool.idleCount + db.pool.waitingCount).toBeLessThanOrEqual(db.pool.totalCount);
  });
});

const requests: { auth: string | undefined; body: string }[] = [];
const realPassword = new URL(db.url).password;
const server = createServer((req: IncomingMessage, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    const knownClient = req.headers.authorization === `Basic ${Buffer.from('sp-id:sp-secret').toString('base64')}`;
    if (req.url !== '/oidc/v1/token' || !knownClient) {
      res.writeHead(401).end();
      return;
    }
    requests.push({ auth: req.headers.authorization, body });
    res.writeHead(200, { 'content-type': 'application/json' });
    // Stands in for the workspace: the token it grants is what PostgreSQL accepts.
    res.end(JSON.stringify({ access_token: realPassword, expires_in: 3600, token_type: 'Bearer' }));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const host = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('token authentication', () => {
  it('connects with a Databricks OAuth token fetched by client credentials, once for many connections', async () => {
    const url = new URL(db.url);
    url.password = '';
    const pool = createControlPool({
      url: url.toString(),
      ssl: 'disable',
      statementTimeoutMs: 30_000,
      password: databricksTokenProvider(host, 'sp-id', 'sp-secret'),
    });
    try {
      const clients = await Promise.all([pool.connect(), pool.connect(), pool.connect()]);
      for (const c of clients) c.release();
      const { rows } = await pool.query<{ one: number }>('SELECT 1 AS one');
      expect(rows[0]!.one).toBe(1);
    } finally {
      await pool.end();
    }
    expect(requests).toHaveLength(1);
    expect(requests[0]!.auth).toBe(`Basic ${Buffer.from('sp-id:sp-secret').toString('base64')}`);
    expect(requests[0]!.body).toBe('grant_type=client_credentials&scope=all-apis');
  });

  it('names the settings to check when the token endpoint refuses', async () => {
    const provider = databricksTokenProvider(host, 'unknown-id', 'secret');
    await expect(provider()).rejects.toThrow(/HTTP 401; check DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET/);
  });

  it('refreshes a cached token only as it nears expiry', async () => {
    let clock = 0;
    let issued = 0;
    const provider = cachedToken(async () => ({ value: `t${++issued}`, expiresAt: clock + 60 * 60_000 }), () => clock);
    expect(await provider()).toBe('t1');
    clock += 50 * 60_000;
    expect(await provider()).toBe('t1');
    clock += 6 * 60_000;
    expect(await provider()).toBe('t2');
  });
});
