/** HTTP functions about the API itself: the health check and the OpenAPI document. */
import { metaOperations } from '../../shared/api/operations/index.js';
import { routesOf } from './adapter.js';

export const metaRoutes = routesOf(metaOperations);
