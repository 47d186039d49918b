/** HTTP functions of the read views (the seed's Common Queries, runs, history) and the health check. */
import { healthOperation, viewOperations } from '../../shared/api/operations/views.js';
import { routesOf } from './adapter.js';

export const viewRoutes = routesOf(viewOperations);
export const healthRoutes = routesOf([healthOperation]);
