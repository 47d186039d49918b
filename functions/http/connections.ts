/** HTTP functions of the connections resource (control.table_control_dbconfig). */
import { connectionOperations } from '../../shared/api/operations/connections.js';
import { routesOf } from './adapter.js';

export const connectionRoutes = routesOf(connectionOperations);
