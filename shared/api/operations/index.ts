/** Every operation of the admin API, and the OpenAPI document describing them. */
import { z } from 'zod';
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

export const meOperation = defineOperation({
  name: 'me',
  method: 'GET',
  route: 'me',
  access: 'reader',
  tag: 'meta',
  summary: 'Who the caller is and what they may do (the console hides what they may not)',
  responses: {
    200: {
      description: 'The caller',
      schema: z
        .object({ name: z.string(), can_write: z.boolean(), can_promote: z.boolean() })
        .meta({ id: 'Me', description: 'can_write: the admin role; can_promote: the promoter role' }),
    },
  },
  run: async ({ runtime, principal, user }) =>
    json(200, {
      name: user,
      can_write: principal?.roles.has(runtime.settings.API_ADMIN_ROLE) ?? false,
      can_promote: principal?.roles.has(runtime.settings.API_PROMOTER_ROLE) ?? false,
    }),
});

export const metaOperations = [healthOperation, openApiOperation, meOperation];

export const apiOperations: readonly Operation[] = [
  ...tableOperations,
  ...connectionOperations,
  ...viewOperations,
  ...promotionOperations,
  ...metaOperations,
];
