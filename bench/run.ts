/**
 * `npm run bench`: runs the default export of every bench/*.bench.ts (or those
 * named on the command line). Benchmarks print their own figures; they are not
 * tests and have no pass mark.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = (await readdir(dir)).filter((f) => f.endsWith('.bench.ts') && (only.length === 0 || only.some((o) => f.includes(o)))).sort();
for (const file of files) {
  console.log(`\n== ${file}`);
  const module = (await import(pathToFileURL(join(dir, file)).href)) as { default?: () => Promise<void> };
  await module.default?.();
}
