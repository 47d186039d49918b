/**
 * The queue contract between the sensor and the loader: one small message per
 * claimed row and schedule slot.
 */
import { z } from 'zod';

export const loadMessageSchema = z
  .object({
    /** table_control.config_id */
    config_id: z.number().int().positive(),
    /** The run this message starts; the row's last_run_id while it is Queued. */
    run_id: z.string().min(1).max(255),
    /** table_control.control_key, hex encoded. */
    control_key: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters'),
    /** The schedule slot (the row's next_load_date_time when it was claimed), ISO 8601 UTC. */
    slot: z.iso.datetime(),
    /** When the sensor queued the row, ISO 8601 UTC. */
    queued_at: z.iso.datetime(),
  })
  .strict();

export type LoadMessage = z.infer<typeof loadMessageSchema>;

/**
 * Deterministic per claim (row, slot and run), so that a re-send of the same
 * claim is dropped by the queue's duplicate detection (Service Bus, and the
 * local queue alike), while a second claim of the same slot (an admin moved
 * next_load_date_time back) is a new message.
 */
export function messageIdFor(configId: number, slot: Date, runId: string): string {
  return `load-${configId}-${slot.toISOString()}-${runId}`;
}
