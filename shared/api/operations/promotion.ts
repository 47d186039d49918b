/** Promotion of tables (and the connections they need) from pre-production to production. */
import { z } from 'zod';
import { defineOperation, json } from '../operation.js';
import { applyPromotion, previewPromotion } from '../promotion/service.js';
import { promotionBody } from '../schemas/promotion.js';

const tag = 'promotion';

const fieldChange = z.object({ field: z.string(), from: z.unknown(), to: z.unknown() });
const promotionPlan = z
  .object({
    applied: z.boolean(),
    tables: z.array(
      z.object({
        control_key: z.string(),
        preprod_config_id: z.number().int(),
        config_id: z.number().int().nullable(),
        source_table_catalog: z.string().nullable(),
        source_table_schema: z.string().nullable(),
        source_table_name: z.string().nullable(),
        destination_table_name: z.string().nullable(),
        action: z.enum(['insert', 'update', 'unchanged']),
        changes: z.array(fieldChange),
      }),
    ),
    connections: z.array(z.object({ db_config_key: z.string(), action: z.enum(['insert', 'unchanged', 'kept']), changes: z.array(fieldChange) })),
  })
  .meta({ id: 'PromotionPlan' });

export const previewPromotionOperation = defineOperation({
  name: 'promotion-preview',
  method: 'POST',
  route: 'promotion/preview',
  access: 'promoter',
  tag,
  summary: 'Dry run: what promoting these pre-production tables would change in production, field by field',
  body: promotionBody,
  responses: { 200: { description: 'The plan (applied false)', schema: promotionPlan } },
  run: async ({ runtime }, { body }) => json(200, await previewPromotion(runtime.pool, runtime.settings, body)),
});

export const applyPromotionOperation = defineOperation({
  name: 'promotion-apply',
  method: 'POST',
  route: 'promotion/apply',
  access: 'promoter',
  tag,
  summary: 'Promote these pre-production tables and the connections they need, in one transaction, audited as promotion',
  body: promotionBody,
  responses: { 200: { description: 'What was done (applied true)', schema: promotionPlan } },
  run: async ({ runtime, user }, { body }) => json(200, await applyPromotion(runtime.pool, runtime.settings, user, body)),
});

export const promotionOperations = [previewPromotionOperation, applyPromotionOperation];
