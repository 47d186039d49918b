/** Every operation of the admin API, and the OpenAPI document describing them. */
import { buildOpenApiDocument } from '../openapi.js';
import { defineOperation, json, type Operation } from '../operation.js';
import { connectionOperations } from './connections.js';
import { promotionOperations } from './promotion.js';
import { tableOperations } from './tables.js';
import { healthOperation, viewOperations } from './views.js';

export const openApiOperation = defineOperation({
  name: 'openapi',
  method: 'GET',
  route: 'openapi.json',
  access: 'public',
  tag: 'meta',
  summary: 'This document: OpenAPI 3.1, generated from the schemas that validate the requests',
  responses: { 200: { description: 'The OpenAPI document' } },
  run: async ({ runtime }) =>
    json(
      200,
      buildOpenApiDocument(apiOperations, {
        reader: runtime.settings.API_READER_ROLE,
        admin: runtime.settings.API_ADMIN_ROLE,
        promoter: runtime.settings.API_PROMOTER_ROLE,
      }),
    ),
});

export const metaOperations = [healthOperation, openApiOperation];

export const apiOperations: readonly Operation[] = [
  ...tableOperations,
  ...connectionOperations,
  ...viewOperations,
  ...promotionOperations,
  ...metaOperations,
];
