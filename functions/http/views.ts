/** HTTP functions of the read views (the seed's Common Queries, a table's runs and history). */
import { viewOperations } from '../../shared/api/operations/views.js';
import { routesOf } from './adapter.js';

export const viewRoutes = routesOf(viewOperations);
