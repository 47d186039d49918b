/**
 * `npm run soak`: the whole system under load and faults, bounded in time.
 *
 *   1. Two embedded PostgreSQL servers (control; source and destination) in a
 *      temporary directory, a source of `--tables` small tables, and the local
 *      host (`dataloader serve`) as a child process on short timeouts.
 *   2. Connections and tables registered through the admin API, every table on
 *      a one-minute cron.
 *   3. For `--minutes`: concurrent writes on the source, and (unless
 *      --no-faults) a fault every `--fault-every` seconds: connections
 *      terminated, the host killed and restarted, the control database
 *      restarted. A monitor samples for rows stuck past their timeouts.
 *   4. Writes stop; every table must load once more; then the tables are
 *      deactivated and the queue drains.
 *   5. Checks: every destination equals its source, nothing Queued or In
 *      Progress, every queued run in historical_metadata exactly once, nothing
 *      stuck past its timeout at any sample. Figures printed (and --out JSON).
 * Exits 0 when every check holds.
 */
import { writeFile, readFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { encodePrincipal } from '../shared/api/principal.js';
import { createControlPool } from '../shared/db/pool.js';
import { freePort } from '../shared/local/embedded-postgres.js';
import { createLogger } from '../shared/log.js';
import { checkHistory, compareTables, countBusy, loadFigures, waitForCatchUp, waitForQuiet } from './checks.js';
import { startFaults, startMonitor, type FaultEvent } from './faults.js';
import { createSourceTables, planTables, registerTables, secretsFor, type Api } from './fixture.js';
import { startHost, type HostProcess } from './host.js';
import { parseSoakOptions } from './options.js';
import { recreateDatabase, startServers } from './servers.js';
import { startWriters, type WriterStats } from './writers.js';

const TIMEOUTS = { queuedMinutes: 2, inProgressMinutes: 3 };
/** In-flight loads per source connection: enough that the queue, not the sensor, is what loads wait in. */
const SOURCE_CONCURRENCY_LIMIT = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts of the host's warning and error events by message (the text before the first key=value). */
function summarizeLog(lines: string[]) {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const match = /^\S+ (warn |error) (.*?)(?: \w+=|$)/.exec(line);
    if (match) counts.set(`${match[1]!.trim()} ${match[2]}`, (counts.get(`${match[1]!.trim()} ${match[2]}`) ?? 0) + 1);
  }
  return { lines: lines.length, events: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]).slice(0, 12)) };
}

async function main(): Promise<number> {
  const options = parseSoakOptions(process.argv.slice(2));
  const log = createLogger('info', (line) => console.log(line));
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  log.info('soak starting', { ...options, ...machine });
  const servers = await startServers();
  let host: HostProcess | undefined;
  // Ctrl-C or a kill: the host and the servers go too, and the data stays for a look.
  const interrupt = (signal: string) => {
    log.warn('soak interrupted; stopping the host and the servers', { signal });
    void (async () => {
      await host?.kill().catch(() => undefined);
      await servers.close(true);
      log.info('data and host log kept', { dir: servers.root });
      process.exit(130);
    })();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  const problems: string[] = [];
  let passed = false;
  const crashes: string[] = [];
  try {
    const [controlUrl, sourceUrl, destinationUrl] = await Promise.all([
      recreateDatabase(servers.control.url, 'soak_control'),
      recreateDatabase(servers.data.url, 'soak_source'),
      recreateDatabase(servers.data.url, 'soak_destination'),
    ]);
    const tables = planTables(options.tables, options.sources);
    const initialRows = await createSourceTables(sourceUrl, tables);
    log.info('source created', { tables: tables.length, rows: initialRows });

    const source = secretsFor('soak-source', sourceUrl);
    const destination = secretsFor('soak-destination', destinationUrl);
    const hostEnv: Record<string, string> = {
      DATABASE_URL: controlUrl,
      CONTROL_DB_SSL: 'disable',
      DESTINATION_DB_CONFIG_KEY: 'soak_dest',
      KEYVAULT_URLS: '{}',
      SENSOR_SCHEDULE: '*/10 * * * * *',
      REAPER_SCHEDULE: '*/15 * * * * *',
      QUEUED_TIMEOUT_MINUTES: String(TIMEOUTS.queuedMinutes),
      IN_PROGRESS_TIMEOUT_MINUTES: String(TIMEOUTS.inProgressMinutes),
      HEARTBEAT_INTERVAL_SECONDS: '5',
      // A message whose loader died is delivered again after its lock expires.
      LOCAL_QUEUE_LOCK_SECONDS: '60',
      LOADER_CONCURRENCY: String(options.loaderConcurrency),
      SOURCE_CONCURRENCY_LIMIT: String(SOURCE_CONCURRENCY_LIMIT),
      DEV_PRINCIPAL: '',
      ALLOW_DEV_PRINCIPAL: 'false',
      LOG_LEVEL: 'info',
      ...source.env,
      ...destination.env,
    };
    const port = await freePort();
    const hostLog = join(servers.root, 'host.log');
    // A host that exits by itself has crashed: counted as a problem, and started again so the soak goes on.
    let restarting: Promise<void> = Promise.resolve();
    const onCrash = (how: string) => {
      crashes.push(`${new Date().toISOString()} ${how}`);
      log.warn('the host exited by itself; starting it again', { how });
      restarting = restarting.then(async () => {
        host = await startHost(hostEnv, port, hostLog, onCrash);
      });
    };
    host = await startHost(hostEnv, port, hostLog, onCrash);
    log.info('host started', { api: host.apiUrl, log: hostLog });

    const principal = encodePrincipal('soak@example.com', ['DataLoader.Admin', 'DataLoader.Reader']);
    const api: Api = async (method, path, body) => {
      const res = await fetch(`${host!.apiUrl}${path}`, {
        method,
        headers: { 'x-ms-client-principal': principal, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
    };
    const registerStarted = Date.now();
    await registerTables(api, tables, { source: source.names, destination: destination.names }, 'soak_dest');
    log.info('tables registered through the admin API', { tables: tables.length, ms: Date.now() - registerStarted });

    const control = createControlPool({ url: controlUrl, ssl: 'disable', statementTimeoutMs: 30_000 }, 3);
    try {
      // Warm-up: the first (whole) load of every table, so that the measured window is the steady state.
      const warmUpMs = await waitForCatchUp(control, new Date(registerStarted), tables.length, options.catchUpMinutes * 60_000, (n) =>
        log.info('first loads', { loaded: n, of: tables.length }),
      );
      const monitor = startMonitor(control, { ...TIMEOUTS, marginSeconds: 60 });
      let writerErrors = 0;
      const writeStart = new Date();
      const writers = startWriters(sourceUrl, tables, options.writers, options.writeTps, () => writerErrors++);
      const faults = options.faults
        ? startFaults(
            {
              dataServerUrl: servers.data.url,
              databases: ['soak_source', 'soak_destination'],
              killHost: async () => {
                await restarting;
                await host!.kill();
                host = await startHost(hostEnv, port, hostLog, onCrash);
              },
              restartControl: (downMs) => servers.control.restart(downMs),
            },
            options.faultEverySeconds,
            log,
          )
        : undefined;

      const endAt = Date.now() + options.minutes * 60_000;
      while (Date.now() < endAt) {
        await sleep(Math.min(30_000, endAt - Date.now()));
        const busy = await countBusy(control).catch(() => -1);
        const done = await loadFigures(control, writeStart, new Date()).catch(() => undefined);
        log.info('soak progress', { left_s: Math.max(0, Math.round((endAt - Date.now()) / 1000)), queued_or_running: busy, loads: done?.loads, failed: done?.failed, writer_errors: writerErrors });
      }
      const events: FaultEvent[] = (await faults?.stop()) ?? [];
      const writes: WriterStats = await writers.stop();
      const writeStop = new Date();
      log.info('writes stopped; waiting for one more load of every table', { transactions: writes.transactions });

      let catchUpMs: number | undefined;
      try {
        catchUpMs = await waitForCatchUp(control, writeStop, tables.length, options.catchUpMinutes * 60_000, (n) =>
          log.info('catching up', { loaded: n, of: tables.length }),
        );
      } catch (error) {
        problems.push((error as Error).message);
      }
      const deactivated = await api('POST', '/tables/bulk-edit', { filter: { active: true }, fields: { is_active: false } });
      if (deactivated.status !== 200) problems.push(`bulk deactivation answered ${deactivated.status}: ${JSON.stringify(deactivated.body)}`);
      const quietMs = await waitForQuiet(control, (TIMEOUTS.queuedMinutes + TIMEOUTS.inProgressMinutes) * 60_000 + 60_000);
      const monitored = monitor.stop();
      const endedAt = new Date();
      await restarting;
      await host.stop();
      host = undefined;

      const busy = await countBusy(control);
      const compared = await compareTables(sourceUrl, destinationUrl, tables);
      const history = await checkHistory(control);
      const during = await loadFigures(control, writeStart, writeStop);
      const overall = await loadFigures(control, writeStart, endedAt);
      const hostLines = (await readFile(hostLog, 'utf8')).split('\n');

      if (compared.mismatches.length > 0) problems.push(`${compared.mismatches.length} destination tables differ from their source`);
      if (busy > 0) problems.push(`${busy} rows still Queued or In Progress`);
      if (history.missing > 0) problems.push(`${history.missing} queued runs have no historical_metadata row`);
      if (history.doubled > 0) problems.push(`${history.doubled} runs have more than one historical_metadata row`);
      if (crashes.length > 0) problems.push(`the host crashed ${crashes.length} time(s): ${crashes.join('; ')}`);
      if (monitored.maxStuck > 0) problems.push(`up to ${monitored.maxStuck} rows were Queued or In Progress past their timeout (plus 60 s)`);

      const report = {
        passed: problems.length === 0,
        problems,
        machine,
        options,
        timeouts: TIMEOUTS,
        source: { tables: tables.length, initialRows, finalRows: compared.rows },
        writes: { ...writes, writerErrors, tps: Math.round((writes.transactions / ((writeStop.getTime() - writeStart.getTime()) / 1000)) * 10) / 10 },
        faults: events,
        hostCrashes: crashes,
        duringWrites: during,
        overall,
        warmUpSeconds: Math.round(warmUpMs / 1000),
        catchUpSeconds: catchUpMs === undefined ? null : Math.round(catchUpMs / 1000),
        drainSeconds: Math.round(quietMs / 1000),
        monitor: monitored,
        history,
        equality: { compared: compared.compared, mismatches: compared.mismatches.slice(0, 20) },
        hostLog: summarizeLog(hostLines),
      };
      console.log(JSON.stringify(report, null, 2));
      if (options.out) await writeFile(options.out, `${JSON.stringify(report, null, 2)}\n`);
      passed = report.passed;
      log.info(passed ? 'soak passed' : 'soak FAILED', { problems: problems.join('; ') || undefined });
      return report.passed ? 0 : 1;
    } finally {
      await control.end();
    }
  } finally {
    await host?.kill().catch(() => undefined);
    // A failed soak keeps its databases and the host's log for a look.
    const keep = options.keep || !passed;
    await servers.close(keep);
    if (keep) log.info('data and host log kept', { dir: servers.root });
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`soak: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
