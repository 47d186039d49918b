/**
 * Every HTTP function of the admin API, as one route table: name, route
 * (without the `api/` prefix), methods, required access and handler.
 * functions/register.ts registers them with Azure Functions; the local host
 * serves the same table on node:http.
 */
import type { FunctionsApp } from '../register.js';
import type { ApiRoute } from './adapter.js';
import { connectionRoutes } from './connections.js';
import { metaRoutes } from './meta.js';
import { promotionRoutes } from './promotion.js';
import { tableRoutes } from './tables.js';
import { viewRoutes } from './views.js';

export type { ApiRoute } from './adapter.js';

export const apiRoutes: readonly ApiRoute[] = [
  ...tableRoutes,
  ...connectionRoutes,
  ...viewRoutes,
  ...promotionRoutes,
  ...metaRoutes,
];

/**
 * Registers every route as an HTTP function. `authLevel: 'function'` makes the
 * host require a function key; the caller's identity and roles come from App
 * Service authentication (x-ms-client-principal), checked by each handler.
 */
export function registerApiRoutes(app: Pick<FunctionsApp, 'http'>): void {
  for (const route of apiRoutes) {
    app.http(route.name, { route: route.route, methods: route.methods, authLevel: 'function', handler: route.handler });
  }
}
