/**
 * Load messages the loader could not read, kept in control.quarantined_messages
 * (migration 008) where an admin sees them, and counted in
 * control.quarantined_messages_vw.
 */
import type { Queryable } from '../db/pool.js';

/** The longest body kept, in characters. */
const MAX_BODY = 65_536;

export interface QuarantinedMessage {
  queueName: string;
  messageId: string;
  deliveryCount: number | null;
  reason: string;
  body: unknown;
}

function bodyText(body: unknown): string {
  let text: string;
  try {
    text = typeof body === 'string' ? body : Buffer.isBuffer(body) ? body.toString('utf8') : (JSON.stringify(body) ?? String(body));
  } catch {
    text = String(body);
  }
  // PostgreSQL text holds no NUL; a lone surrogate would not round-trip.
  return text.slice(0, MAX_BODY).replaceAll('\u0000', '\\u0000').replace(/[\ud800-\udfff]/gu, '\ufffd');
}

/** Keeps a message once (a redelivery of the same message id changes nothing); true when it is new. */
export async function quarantineMessage(db: Queryable, message: QuarantinedMessage): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO control.quarantined_messages (queue_name, message_id, delivery_count, reason, body)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (queue_name, message_id) DO NOTHING`,
    [message.queueName.slice(0, 255), message.messageId.slice(0, 255), message.deliveryCount, bodyText(message.reason), bodyText(message.body)],
  );
  return rowCount === 1;
}

/** What control.quarantined_messages_vw counts. */
export async function countQuarantined(db: Queryable): Promise<{ quarantined: number; last_day: number; latest: Date | null }> {
  const { rows } = await db.query<{ quarantined: string; last_day: string; latest: Date | null }>(
    `SELECT quarantined, last_day, latest FROM control.quarantined_messages_vw`,
  );
  const row = rows[0]!;
  return { quarantined: Number(row.quarantined), last_day: Number(row.last_day), latest: row.latest };
}
