/**
 * Azurite, Microsoft's Azure Storage emulator (npm `azurite`), as the landing
 * storage of `npm start` and the tests: only its Blob service, as a child
 * process on a free loopback port, with its data in memory (tests) or in a
 * folder (the local host keeps its landed files across restarts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './embedded-postgres.js';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface AzuriteServer {
  /** The Blob endpoint, http://127.0.0.1:PORT/devstoreaccount1. */
  blobEndpoint: string;
  connectionString: string;
  stop(): Promise<void>;
}

export async function startAzurite(options: { location?: string; log?: (line: string) => void } = {}): Promise<AzuriteServer> {
  let main: string;
  try {
    const require = createRequire(import.meta.url);
    main = join(dirname(require.resolve('azurite/package.json')), 'dist/src/blob/main.js');
  } catch (error) {
    throw new Error('the Azurite storage emulator is not installed; run npm ci (it is a development dependency)', { cause: error });
  }
  const port = await freePort();
  const args = [main, '--blobHost', '127.0.0.1', '--blobPort', String(port), '--skipApiVersionCheck', '--loose', '--disableTelemetry'];
  // In memory, Azurite still writes a small file or two in its working folder: a scratch one.
  const location = options.location ?? (await mkdtemp(join(tmpdir(), 'dataloader-azurite-')));
  args.push(...(options.location ? ['--location', location] : ['--inMemoryPersistence']));
  if (!options.log) args.push('--silent');
  const child: ChildProcess = spawn(process.execPath, args, { cwd: location, stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      reject(new Error(`Azurite did not start within 90 s: ${output.slice(-500)}`));
      child.kill();
    }, 90_000);
    const onData = (data: Buffer) => {
      output += data.toString();
      options.log?.(data.toString().trimEnd());
      if (output.includes('successfully listens')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code} while starting: ${output.slice(-500)}`));
    });
  });
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => {
          if (!options.location) void rm(location, { recursive: true, force: true }).finally(resolve);
          else resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
