/**
 * The admin console in a real browser (headless Chromium) against the local
 * host on a real control database: the flows an admin walks through, a reader
 * who sees no write controls, a stale edit, screenshots of every page and an
 * axe-core accessibility check.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type LocalHost } from '../host/local-host.js';
import { createLogger } from '../shared/log.js';
import { parseSettings } from '../shared/settings.js';
import { hasChromium, launchChromium, principalHeader, screenshot, seriousViolations } from './support/browser.js';
import { createTestDatabase } from './support/db.js';

const control = await createTestDatabase({ prefix: 'console' });
const preprod = await createTestDatabase({ prefix: 'conpre' });
const source = await createTestDatabase({ empty: true, prefix: 'consrc' });
const destination = await createTestDatabase({ empty: true, prefix: 'condst' });

const sourceUrl = new URL(source.url);
Object.assign(process.env, {
  CONSOLETEST_HOST: sourceUrl.hostname,
  CONSOLETEST_PORT: sourceUrl.port,
  CONSOLETEST_SRC_DATABASE: source.name,
  CONSOLETEST_DST_DATABASE: destination.name,
  CONSOLETEST_USER: decodeURIComponent(sourceUrl.username),
  CONSOLETEST_PASSWORD: decodeURIComponent(sourceUrl.password),
});
const secrets = (db: string) => ({
  host: 'consoletest-host', port: 'consoletest-port', database: `consoletest-${db}-database`,
  user: 'consoletest-user', password: 'consoletest-password', sslmode: 'disable',
});

await source.pool.query(`
  CREATE SCHEMA shop;
  CREATE TABLE shop.payments (payment_id int PRIMARY KEY, amount numeric(10,2) NOT NULL, paid_at timestamp(6) NOT NULL);
  INSERT INTO shop.payments SELECT g, g * 2.5, TIMESTAMP '2026-01-01 00:00:00' + make_interval(mins => g) FROM generate_series(1, 120) g;
  CREATE TABLE shop.refunds (refund_id int PRIMARY KEY, amount numeric(10,2) NOT NULL);
  INSERT INTO shop.refunds SELECT g, g FROM generate_series(1, 30) g;`);

const lines: string[] = [];
let host: LocalHost | undefined;
let browser: Browser | undefined;
let base = '';
let failingId = 0;
const ids: number[] = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are read field by field
type Json = any;
async function api(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: Json }> {
  const res = await fetch(`${host!.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: res.status, body: res.status === 204 ? undefined : await res.json() };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; host log:\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function newPage(roles?: string[]): Promise<Page> {
  const context = await browser!.newContext({
    viewport: { width: 1280, height: 900 },
    // Lets the test inject axe-core past the console's Content-Security-Policy.
    bypassCSP: true,
    ...(roles ? { extraHTTPHeaders: { 'x-ms-client-principal': principalHeader('reader@example.com', roles) } } : {}),
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return page;
}

async function expectAccessible(page: Page, name: string): Promise<void> {
  const violations = await seriousViolations(page);
  expect(violations, `${name}: ${JSON.stringify(violations, null, 1)}`).toEqual([]);
}

beforeAll(async () => {
  if (!hasChromium) return;
  const settings = parseSettings({
    DATABASE_URL: `${control.url}?sslmode=disable`,
    PREPROD_DATABASE_URL: `${preprod.url}?sslmode=disable`,
    SENSOR_SCHEDULE: '* * * * * *',
    REAPER_SCHEDULE: '*/30 * * * * *',
    DEV_PRINCIPAL: 'console-admin',
    ALLOW_DEV_PRINCIPAL: 'true',
    DESTINATION_DB_CONFIG_KEY: 'warehouse',
  });
  host = await startLocalHost({ settings, port: 0, log: createLogger('info', (l) => lines.push(l)) });
  base = host.apiUrl.replace(/\/api$/, '');
  expect((await api('/connections/shop_pg', { method: 'PUT', body: { db_type: 'postgresql', db_kv_scope: 'local', db_config_value: secrets('src') } })).status).toBe(201);
  expect((await api('/connections/warehouse', { method: 'PUT', body: { db_type: 'postgresql', db_kv_scope: 'local', default_target_schema: 'landing', db_config_value: secrets('dst') } })).status).toBe(201);
  const table = (name: string, extra: Record<string, unknown>) => ({
    is_active: true, db_config_key: 'shop_pg', source_table_catalog: source.name, source_table_schema: 'shop',
    source_table_name: name, destination_table_name: name, load_cron: '0 0 1 1 *', ...extra,
  });
  // Misspelt incremental column: the source has paid_at.
  const failing = await api('/tables', { method: 'POST', body: table('payments', { load_strategy: 'incremental', incremental_column: 'paid_on', incremental_type: 'timestamp', primary_key_cols: 'payment_id' }) });
  expect(failing.status).toBe(201);
  failingId = failing.body.config_id;
  const refunds = await api('/tables', { method: 'POST', body: table('refunds', { load_strategy: 'full' }) });
  ids.push(failingId, refunds.body.config_id);
  expect((await api(`/tables/${failingId}/run-now`, { method: 'POST' })).status).toBe(200);
  await waitFor('the misconfigured table to fail', async () => ((await api(`/tables/${failingId}`)).body.last_status === 'Failed' ? true : undefined));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await host?.stop();
});

describe.skipIf(!hasChromium)('admin console', () => {
  it('finds the failed table, shows why, takes the fix, runs it now and shows it succeed', async () => {
    const page = await newPage();
    await page.goto(`${base}/`);
    const failures = page.getByRole('region', { name: /Failures/ });
    await expect.poll(() => failures.textContent()).toContain('paid_on');
    await screenshot(page, 'overview');
    await expectAccessible(page, 'overview');

    await failures.getByRole('link', { name: 'payments' }).click();
    const why = page.getByRole('region', { name: 'Why it failed' });
    await expect.poll(() => why.textContent()).toContain('paid_on');
    await page.getByLabel('incremental_column').fill('paid_at');
    await page.getByRole('button', { name: /^Save 1 change/ }).click();
    await page.getByText('Saved.').waitFor();
    await page.getByRole('button', { name: 'Run now' }).click();
    await page.getByText(/Due now/).waitFor();
    await page.locator('h1 .badge-succeeded').waitFor({ timeout: 30_000 });
    expect(await page.getByRole('region', { name: 'Why it failed' }).count()).toBe(0);
    await page.getByRole('cell', { name: '120' }).first().waitFor();
    await screenshot(page, 'table');
    await expectAccessible(page, 'table');

    const { rows } = await destination.pool.query('SELECT count(*)::int AS n FROM landing.payments');
    expect(rows[0].n).toBe(120);
    const history = await api(`/tables/${failingId}/history`);
    expect(history.body.some((h: Json) => h.change_source === 'single_edit' && h.changed_by === 'console-admin' && h.changed_fields.includes('incremental_column'))).toBe(true);
    await page.context().close();
  });

  it('bulk edits the selected tables after a preview of every row and field', async () => {
    const page = await newPage();
    await page.goto(`${base}/#/tables?sort=source_table_name`);
    await page.getByRole('link', { name: 'refunds', exact: true }).waitFor();
    await page.getByLabel('Search names').fill('ment');
    await expect.poll(() => page.getByRole('link', { name: 'refunds', exact: true }).count()).toBe(0);
    await page.getByLabel('Search names').fill('');
    await page.getByRole('link', { name: 'refunds', exact: true }).waitFor();
    await page.getByLabel('Select every table on this page').check();
    await screenshot(page, 'tables');
    await expectAccessible(page, 'tables');
    await page.getByRole('button', { name: 'Bulk edit 2 selected' }).click();

    await page.getByLabel('Field').selectOption('load_cron');
    await page.getByLabel('New value').fill('*/5 * * * *');
    await page.getByRole('button', { name: 'Preview' }).click();
    const preview = page.getByRole('table', { name: 'Changes the bulk edit makes' });
    await preview.waitFor();
    const cells = await preview.locator('tbody tr').allInnerTexts();
    expect(cells).toHaveLength(2);
    for (const row of cells) expect(row).toMatch(/load_cron\s+0 0 1 1 \*\s+\*\/5 \* \* \* \*/);
    await screenshot(page, 'bulk-edit');
    await page.getByRole('button', { name: 'Apply to 2 tables' }).click();
    await page.getByText('Applied: 2 of 2 tables changed.').waitFor();
    const { rows } = await control.pool.query(`SELECT DISTINCT load_cron FROM control.table_control WHERE config_id = ANY($1)`, [ids]);
    expect(rows).toEqual([{ load_cron: '*/5 * * * *' }]);

    // A bad value: the preview names the field and Apply stays off.
    await page.getByLabel('Field').selectOption('rolling_days');
    await page.getByLabel('New value').fill('-3');
    await page.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/refused and nothing was saved.*rolling_days/);
    expect(await page.getByRole('button', { name: /^Apply/ }).count()).toBe(0);
    await page.context().close();
  });

  it('previews a promotion from pre-production as a diff, then applies it', async () => {
    await preprod.pool.query(`
      BEGIN;
      SELECT set_config('dataloader.change_source', 'single_edit', true);
      INSERT INTO control.table_control_dbconfig (db_config_key, db_config_value, db_type, db_kv_scope)
        VALUES ('shop_pg', '{"host":"x","port":"x","database":"x","user":"x","password":"x"}', 'postgresql', 'local');
      INSERT INTO control.table_control (is_active, db_config_key, source_table_catalog, source_table_schema, source_table_name,
             destination_table_name, load_strategy, load_cron)
        VALUES (false, 'shop_pg', '${source.name}', 'shop', 'refunds_v2', 'refunds_v2', 'full', '15 3 * * *');
      COMMIT;`);
    const { rows } = await preprod.pool.query(`SELECT config_id FROM control.table_control WHERE source_table_name = 'refunds_v2'`);
    const page = await newPage();
    await page.goto(`${base}/#/promotion`);
    await page.getByLabel(/Pre-production config_ids/).fill(String(rows[0].config_id));
    await page.getByRole('button', { name: 'Preview' }).click();
    const plan = page.getByRole('table', { name: 'Tables to promote' });
    await plan.waitFor();
    expect(await plan.innerText()).toMatch(/refunds_v2\s+insert/);
    expect(await plan.innerText()).toContain('15 3 * * *');
    expect(await page.getByText(/Connection shop_pg: kept/).count()).toBe(1);
    await screenshot(page, 'promotion');
    await expectAccessible(page, 'promotion');
    await page.getByRole('button', { name: 'Apply to production' }).click();
    await page.getByText(/Promoted: 1 tables changed/).waitFor();
    const promoted = await control.pool.query(`SELECT load_cron FROM control.table_control WHERE source_table_name = 'refunds_v2'`);
    expect(promoted.rows).toEqual([{ load_cron: '15 3 * * *' }]);

    await page.goto(`${base}/#/audit?change_source=promotion`);
    await page.getByText('refunds_v2').first().waitFor();
    await screenshot(page, 'audit');
    await expectAccessible(page, 'audit');
    await page.goto(`${base}/#/connections`);
    await page.getByRole('link', { name: 'warehouse' }).click();
    await page.getByLabel(/db_config_value/).waitFor();
    await page.getByText('console-admin').first().waitFor();
    await screenshot(page, 'connection');
    await expectAccessible(page, 'connection');
    await page.context().close();
  });

  it('shows a reader no write controls', async () => {
    const page = await newPage(['DataLoader.Reader']);
    await page.goto(`${base}/#/tables/${failingId}`);
    await page.getByRole('heading', { name: /payments/ }).waitFor();
    await page.getByText('read only').waitFor();
    for (const name of ['Run now', 'Deactivate', 'Reset status', 'Clone']) expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    expect(await page.getByRole('button', { name: /^Save/ }).count()).toBe(0);
    expect(await page.getByLabel('load_cron').isDisabled()).toBe(true);
    await page.goto(`${base}/#/tables`);
    await page.getByRole('link', { name: 'refunds', exact: true }).waitFor();
    expect(await page.getByRole('checkbox').count()).toBe(0);
    expect(await page.getByRole('button', { name: /Bulk edit/ }).count()).toBe(0);
    await page.goto(`${base}/#/connections/warehouse`);
    await page.getByLabel(/db_config_value/).waitFor();
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    await page.context().close();
  });

  it('explains a stale edit with what changed since the form was loaded', async () => {
    const page = await newPage();
    await page.goto(`${base}/#/tables/${ids[1]}`);
    const before = (await api(`/tables/${ids[1]}`)).body.load_cron as string;
    await page.getByLabel('primary_key_cols').waitFor();
    await expect.poll(() => page.getByLabel('load_cron').inputValue()).toBe(before);
    // Someone else changes the cron meanwhile.
    expect((await api(`/tables/${ids[1]}`, { method: 'PATCH', body: { load_cron: '30 2 * * *' }, headers: { 'if-match': '*' } })).status).toBe(200);
    await page.getByLabel('primary_key_cols').fill('refund_id');
    await page.getByRole('button', { name: /^Save 1 change/ }).click();
    await page.getByText(/Someone changed this table after you opened the form/).waitFor();
    const stale = page.getByRole('region', { name: 'Changed since you opened the form' });
    expect(await stale.innerText()).toContain(`load_cron\t${before}\t30 2 * * *\t(not edited)`);
    await screenshot(page, 'stale-edit');
    const { rows } = await control.pool.query(`SELECT primary_key_cols FROM control.table_control WHERE config_id = $1`, [ids[1]]);
    expect(rows[0].primary_key_cols).toBeNull();
    // Keeping the edit on top of the current version saves it.
    await page.getByRole('button', { name: 'Keep my edits on top of the current version' }).click();
    await expect.poll(() => page.getByLabel('load_cron').inputValue()).toBe('30 2 * * *');
    await page.getByRole('button', { name: /^Save 1 change/ }).click();
    await page.getByText('Saved.').waitFor();
    const after = await control.pool.query(`SELECT primary_key_cols, load_cron FROM control.table_control WHERE config_id = $1`, [ids[1]]);
    expect(after.rows[0]).toEqual({ primary_key_cols: 'refund_id', load_cron: '30 2 * * *' });
    await page.context().close();
  });
});
