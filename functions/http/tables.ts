/** HTTP functions of the tables resource (control.table_control). */
import { tableOperations } from '../../shared/api/operations/tables.js';
import { routesOf } from './adapter.js';

export const tableRoutes = routesOf(tableOperations);
