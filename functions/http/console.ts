/**
 * The admin console's assets as an HTTP function, at /api/console/. App
 * Service authentication signs the browser in before it gets here (the same
 * sign-in as the API); the files hold no data, so no function key is needed
 * (a browser cannot send one). The console then calls /api on the same origin.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { consoleAsset } from '../../shared/console/assets.js';
import type { FunctionsApp } from '../register.js';

export const CONSOLE_FUNCTION = 'console';

export async function consoleHandler(request: HttpRequest, _context: InvocationContext): Promise<HttpResponseInit> {
  const url = new URL(request.url);
  // /api/console without the slash: relative asset paths need it.
  if (/\/console$/i.test(url.pathname)) return { status: 308, headers: { location: `${url.pathname}/${url.search}` } };
  const asset = await consoleAsset(request.params.path ?? '');
  return { status: asset.status, headers: asset.headers, body: asset.body };
}

export function registerConsole(app: Pick<FunctionsApp, 'http'>): void {
  app.http(CONSOLE_FUNCTION, { route: 'console/{*path}', methods: ['GET'], authLevel: 'anonymous', handler: consoleHandler });
}
