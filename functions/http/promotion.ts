/** HTTP functions of promotion (pre-production to production). */
import { promotionOperations } from '../../shared/api/operations/promotion.js';
import { routesOf } from './adapter.js';

export const promotionRoutes = routesOf(promotionOperations);
