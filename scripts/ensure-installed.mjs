// Installs the locked dependencies when they are missing or older than the lock
// file, so that `npm start` and `npm test` work on a fresh clone as they are.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync('package-lock.json').mtimeMs > statSync(marker).mtimeMs + 1000;
if (stale) {
  console.log('Installing the locked dependencies (npm ci)...');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit' });
}

// The admin console the local host serves at /: built once, and again when its sources are newer.
const consoleIndex = 'dist/console/index.html';
const newestSource = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = `${dir}/${entry.name}`;
    return Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }, 0);
if (!existsSync(consoleIndex) || newestSource('console') > statSync(consoleIndex).mtimeMs) {
  console.log('Building the admin console (npm run build:console)...');
  execSync('npm run build:console', { stdio: 'inherit' });
}
