/**
 * Admin API benchmark (issue 5), on a real PostgreSQL: BENCH_DATABASE_URL's or
 * TEST_DATABASE_URL's server when set, else an embedded one. In a table of
 * 100,000 rows:
 *   1. raw baseline: one plain UPDATE of 10,000 rows with the audit triggers off;
 *   2. the same UPDATE audited (plain SQL, triggers on: one history row per row);
 *   3. POST /api/tables/bulk-edit of 10,000 ids through the HTTP handler (real
 *      HttpRequest): validation of every row, the update, 10,000 audit rows,
 *      all in one transaction;
 *   4. the same bulk edit chosen by a filter.
 * Goal: a bulk edit of 10,000 rows with its audit rows in under 2 seconds.
 */
import { randomBytes } from 'node:crypto';
import azureFunctions from '@azure/functions';
import { apiRoutes } from '../functions/http/routes.js';
import { encodePrincipal } from '../shared/api/principal.js';
import { migrate } from '../shared/db/migrate.js';
import { databaseUrl } from '../shared/local/embedded-postgres.js';
import { createLogger } from '../shared/log.js';
import { createRuntime, setRuntime } from '../shared/runtime.js';
import { parseSettings } from '../shared/settings.js';
import { admin, withServer } from './support.js';

// Node's ESM loader does not see these as named exports of the CommonJS package.
const { HttpRequest, InvocationContext } = azureFunctions;

const TOTAL = 100_000;
const EDITED = 10_000;
const RUNS = 3;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

export default async function bench(): Promise<void> {
  await withServer(async (serverUrl) => {
    const name = `bench_api_${randomBytes(4).toString('hex')}`;
    await admin(serverUrl, `CREATE DATABASE ${name}`);
    const url = databaseUrl(serverUrl, name);
    const runtime = createRuntime({
      settings: parseSettings({ DATABASE_URL: url, CONTROL_DB_SSL: 'disable', CONTROL_DB_STATEMENT_TIMEOUT_MS: '600000' }),
      log: createLogger('error'),
    });
    setRuntime(runtime);
    const pool = runtime.pool;
    try {
      await migrate({ connectionString: url });
      await pool.query(`INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type) VALUES ('src', '{}', 'postgresql')`);
      await pool.query(
        `INSERT INTO control.table_control (is_active, db_config_key, source_table_catalog, source_table_schema, source_table_name,
                                            destination_table_name, load_strategy, load_cron, incremental_column, incremental_type, primary_key_cols)
         SELECT g % 2 = 0, 'src', 'sales', 'dbo', 't' || g, 't' || g, 'incremental', '0 * * * *', 'updated_at', 'timestamp', 'id'
           FROM generate_series(1, $1::int) g`,
        [TOTAL],
      );
      await pool.query('ANALYZE control.table_control');
      const { rows } = await pool.query<{ config_id: number }>(
        `SELECT config_id FROM control.table_control ORDER BY config_id LIMIT $1`,
        [EDITED],
      );
      const ids = rows.map((r) => r.config_id);
      const route = apiRoutes.find((r) => r.name === 'tables-bulk-edit')!;
      const principal = encodePrincipal('bench@example.com', ['DataLoader.Admin']);
      const bulkEdit = async (body: unknown) => {
        const request = new HttpRequest({
          method: 'POST',
          url: 'http://localhost/api/tables/bulk-edit',
          headers: { 'x-ms-client-principal': principal, 'content-type': 'application/json' },
          body: { string: JSON.stringify(body) },
        });
        const response = await route.handler(request, new InvocationContext({ functionName: route.name }));
        const result = response.jsonBody as { updated: number };
        if (response.status !== 200 || result.updated !== EDITED) throw new Error(`bulk edit: ${response.status} ${JSON.stringify(result).slice(0, 300)}`);
      };
      const historyCount = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM control.table_control_history')).rows[0]!.n;
      let cron = 0;
      const nextCron = () => `${++cron % 60} * * * *`;

      const raw: number[] = [];
      const plain: number[] = [];
      const byIds: number[] = [];
      const byFilter: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        await pool.query('ALTER TABLE control.table_control DISABLE TRIGGER USER');
        raw.push(await timed(() => pool.query(`UPDATE control.table_control SET load_cron = $2 WHERE config_id = ANY($1::bigint[])`, [ids, nextCron()])));
        await pool.query('ALTER TABLE control.table_control ENABLE TRIGGER USER');

        plain.push(await timed(() => pool.query(`UPDATE control.table_control SET load_cron = $2 WHERE config_id = ANY($1::bigint[])`, [ids, nextCron()])));

        const before = await historyCount();
        byIds.push(await timed(() => bulkEdit({ ids, fields: { load_cron: nextCron(), rolling_days: run + 1 } })));
        const written = (await historyCount()) - before;
        if (written !== EDITED) throw new Error(`expected ${EDITED} audit rows, got ${written}`);

        await pool.query(`UPDATE control.table_control SET last_status = 'Failed' WHERE config_id = ANY($1::bigint[])`, [ids]);
        byFilter.push(await timed(() => bulkEdit({ filter: { status: 'Failed' }, fields: { load_cron: nextCron() } })));
        await pool.query(`UPDATE control.table_control SET last_status = NULL WHERE config_id = ANY($1::bigint[])`, [ids]);
      }
      const r = median(raw);
      const report = (label: string, ms: number) =>
        console.log(`${label.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms  (${(ms / r).toFixed(1)}x raw, ${Math.round((EDITED / ms) * 1000)} rows/s)`);
      console.log(`${EDITED.toLocaleString('en')} of ${TOTAL.toLocaleString('en')} rows, median of ${RUNS}`);
      report('raw UPDATE, audit triggers off', r);
      report('plain SQL UPDATE, audited', median(plain));
      report('API bulk edit by ids (validate, update, audit)', median(byIds));
      report('API bulk edit by filter', median(byFilter));
      console.log(`goal: bulk edit of ${EDITED.toLocaleString('en')} rows under 2000 ms: ${median(byIds) < 2000 ? 'met' : 'NOT met'}`);
    } finally {
      setRuntime(undefined);
      await runtime.close();
      await admin(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  });
}
