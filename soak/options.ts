/** The soak's command line: `npm run soak -- --minutes 2 --tables 200 --no-faults`. */
import { parseArgs } from 'node:util';

export interface SoakOptions {
  /** How long the source is written to while the system loads (minutes). */
  minutes: number;
  tables: number;
  faults: boolean;
  /** Seconds between faults. */
  faultEverySeconds: number;
  /** Concurrent writer connections on the source. */
  writers: number;
  /** Transactions per second, all writers together. */
  writeTps: number;
  loaderConcurrency: number;
  /** Source connections (table_control_dbconfig rows) the tables are spread over. */
  sources: number;
  /** How long to wait, after the writes stop, for a load of every table. */
  catchUpMinutes: number;
  /** Keep the temporary data directories. */
  keep: boolean;
  /** Write the figures as JSON here too. */
  out?: string;
}

const USAGE = `usage: npm run soak -- [--minutes 5] [--tables 500] [--no-faults] [--fault-every 40]
       [--writers 3] [--write-tps 60] [--loader-concurrency 8] [--sources 5] [--catch-up 8] [--keep] [--out file.json]
SOAK_DATABASE_URL=postgresql://... runs on that server instead of embedded ones (the control database is then not restarted).`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number\n${USAGE}`);
  return n;
}

export function parseSoakOptions(argv: string[]): SoakOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      tables: { type: 'string' },
      faults: { type: 'boolean', default: true },
      'no-faults': { type: 'boolean' },
      'fault-every': { type: 'string' },
      writers: { type: 'string' },
      'write-tps': { type: 'string' },
      'loader-concurrency': { type: 'string' },
      sources: { type: 'string' },
      'catch-up': { type: 'string' },
      keep: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    minutes: positive('minutes', values.minutes, 5),
    tables: Math.round(positive('tables', values.tables, 500)),
    faults: values.faults && !values['no-faults'],
    faultEverySeconds: positive('fault-every', values['fault-every'], 40),
    writers: Math.round(positive('writers', values.writers, 3)),
    writeTps: positive('write-tps', values['write-tps'], 60),
    loaderConcurrency: Math.round(positive('loader-concurrency', values['loader-concurrency'], 8)),
    sources: Math.round(positive('sources', values.sources, 5)),
    catchUpMinutes: positive('catch-up', values['catch-up'], 8),
    keep: values.keep,
    ...(values.out ? { out: values.out } : {}),
  };
}
