/**
 * The decode-and-encode step of the connectors whose databases cannot run
 * here (SQL Server, Oracle, Snowflake), alone, on recorded driver-shaped rows:
 * what each driver hands over for the dialect's select list (values read as
 * text by the server, NULLs, Oracle's JSON as objects, Snowflake's BINARY as
 * hex), through the connector's decoders and the shared COPY text encoder.
 * Baseline, in the same run: the COPY text encoder alone on the same rows
 * already decoded. Ratio = step / baseline; best of 3 rounds of 200,000 rows.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { rowsToCopy, type Decoder } from '../shared/connectors/dialect-stream.js';
import { oracleDecoders } from '../shared/connectors/oracle.js';
import { snowflakeDecoders } from '../shared/connectors/snowflake-sql.js';
import { createCopyEncoder } from '../shared/data/copy-encoder.js';

const ROWS = 200_000;
const ROUNDS = 3;

/** One row as a driver gives it for a 10-column table; `extra` is the dialect's special column. */
function row(i: number, extra: unknown): unknown[] {
  return [
    String(i),
    String((i * 7) % 100000),
    `customer ${i}`,
    `${(i % 100000) / 100}`,
    String(i * 0.37),
    `2024-01-01 00:00:${String(i % 60).padStart(2, '0')}.123456`,
    `2020-01-${String((i % 28) + 1).padStart(2, '0')}`,
    i % 3 === 0 ? 'true' : 'false',
    i % 5 === 0 ? null : `a note with\ta tab and \\ backslash ${i}`,
    extra,
  ];
}

const DIALECTS: { name: string; sourceTypes: string[]; extra: (i: number) => unknown; decoders: (types: string[]) => Decoder[] }[] = [
  { name: 'SQL Server', sourceTypes: Array(10).fill('nvarchar(100)'), extra: (i) => `61f0c404-5cb3-11e7-907b-${String(i).padStart(12, '0')}`, decoders: () => [] },
  { name: 'Oracle', sourceTypes: [...Array(9).fill('VARCHAR2'), 'JSON'], extra: (i) => ({ id: i, tags: ['x', 'y'] }), decoders: oracleDecoders },
  { name: 'Snowflake', sourceTypes: [...Array(9).fill('VARCHAR'), 'BINARY(16)'], extra: (i) => i.toString(16).padStart(32, '0'), decoders: snowflakeDecoders },
];

const sink = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });

async function seconds(work: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export default async function benchDecode(): Promise<void> {
  for (const dialect of DIALECTS) {
    const rows = Array.from({ length: ROWS }, (_, i) => row(i, dialect.extra(i)));
    const decoders = dialect.decoders(dialect.sourceTypes);
    const decoded = rows.map((r) => r.map((v, i) => (decoders[i] && v !== null ? decoders[i]!(v) : v)));
    const step: number[] = [];
    const baseline: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      baseline.push(await seconds(() => pipeline(Readable.from(decoded, { objectMode: true }), createCopyEncoder(), sink())));
      step.push(await seconds(() => pipeline(rowsToCopy(Readable.from(rows, { objectMode: true }), decoders), sink())));
    }
    const best = (xs: number[]) => Math.min(...xs);
    console.log(
      `${dialect.name} decode and encode of ${ROWS.toLocaleString('en')} driver rows: ${best(step).toFixed(2)} s, COPY text encoder alone ${best(baseline).toFixed(2)} s, ratio ${(best(step) / best(baseline)).toFixed(2)}`,
    );
  }
}
