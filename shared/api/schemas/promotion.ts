/** Request schema of promotions: which pre-production tables to copy to production. */
import { z } from 'zod';
import { id } from './common.js';

const controlKeyHex = z.string().regex(/^[0-9a-f]{64}$/i, 'a control_key as 64 hex digits');

export const promotionBody = z
  .strictObject({
    /** Tables chosen by control_key (the same in both databases). */
    control_keys: z.array(controlKeyHex).min(1).max(1000).optional(),
    /** Tables chosen by their config_id in pre-production. */
    config_ids: z.array(id).min(1).max(1000).optional(),
  })
  .refine((b) => (b.control_keys === undefined) !== (b.config_ids === undefined), {
    message: 'give either control_keys or config_ids',
    path: ['control_keys'],
  })
  .meta({ id: 'PromotionRequest' });
export type PromotionBody = z.output<typeof promotionBody>;
