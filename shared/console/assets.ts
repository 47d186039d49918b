/**
 * The admin console's built assets (`npm run build` writes them to
 * dist/console): one file per request, by path, with its content type. The
 * local host serves them at `/`, the Azure function under `/api/console/`.
 * Hashed files under assets/ are cached for a year; index.html never is, so a
 * deploy shows at the next load.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { projectRoot } from '../paths.js';

export interface AssetResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Where `npm run build` puts the console. */
export function consoleDir(): string {
  return join(projectRoot(), 'dist', 'console');
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
};

/** The file at `path` (relative to the console's root; '' is index.html), or 404. */
export async function consoleAsset(path: string, root = consoleDir()): Promise<AssetResponse> {
  const relative = normalize(decodeURIComponent(path || 'index.html')).replace(/^([/\\])+/, '');
  if (relative.startsWith('..') || relative.includes(`${sep}..${sep}`) || relative.includes('\0')) {
    return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'not found' };
  }
  const file = join(root, relative === '' || relative === '.' ? 'index.html' : relative);
  try {
    const body = await readFile(file);
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    const cache = relative.startsWith(`assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache';
    return { status: 200, headers: { 'content-type': type, 'cache-control': cache, ...SECURITY_HEADERS }, body };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && (error as NodeJS.ErrnoException).code !== 'EISDIR') throw error;
    if (relative === 'index.html') {
      return {
        status: 503,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'The admin console is not built: run `npm run build` (npm start builds it when missing).',
      };
    }
    return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'not found' };
  }
}
