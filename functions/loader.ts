/**
 * The loader: a Service Bus queue trigger, one message per invocation. The
 * host completes the message when this returns and abandons it (for a
 * redelivery) when it throws.
 *
 * Dead-lettering: a plain Node.js v4 trigger cannot settle its message. The
 * SDK-binding extension (@azure/functions-extensions-servicebus, 0.2.0-preview,
 * ServiceBusMessageActions.deadletter) would, but it depends on
 * @azure/functions-extensions-base ^0.2.0-preview while @azure/functions 4.16
 * uses 0.3.0: the two copies keep separate factory registries, so its binding
 * would never be resolved. A malformed message is therefore quarantined in
 * control.quarantined_messages (migration 008, counted in
 * control.quarantined_messages_vw), logged as an error (which the
 * quarantined-messages alert watches) and completed (never retried forever);
 * the queue's own MaxDeliveryCount still dead-letters messages whose handling
 * keeps throwing, a failed quarantine write included.
 */
import type { InvocationContext } from '@azure/functions';
import { quarantineMessage } from '../shared/control/quarantine.js';
import { handleLoadMessage } from '../shared/loader/handle-message.js';
import { getRuntime } from '../shared/runtime.js';
import type { FunctionsApp } from './register.js';

/** The host hands over JSON bodies parsed; a body sent as bytes or a string is parsed here. */
function decodeBody(message: unknown): unknown {
  const text = Buffer.isBuffer(message) ? message.toString('utf8') : typeof message === 'string' ? message : undefined;
  if (text === undefined) return message;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export async function loaderHandler(message: unknown, context: InvocationContext): Promise<void> {
  const runtime = getRuntime();
  const meta = context.triggerMetadata ?? {};
  const messageId = String(meta.messageId ?? context.invocationId);
  const handle = () => handleLoadMessage(runtime, decodeBody(message), { messageId, deliveryCount: Number(meta.deliveryCount ?? 1) });
  let disposition = await handle();
  if (disposition.kind === 'retryLater') {
    // Another attempt holds the run's live lease (at most one lease long): wait while this
    // invocation keeps the message locked, then check once more; still held means redelivery.
    await new Promise((resolve) => setTimeout(resolve, disposition.kind === 'retryLater' ? disposition.delayMs : 0));
    disposition = await handle();
    if (disposition.kind === 'retryLater') throw new Error(`load message ${messageId}: ${disposition.reason}; delivered again later`);
  }
  if (disposition.kind === 'deadLetter') {
    const added = await quarantineMessage(runtime.pool, {
      queueName: runtime.settings.LOADS_QUEUE_NAME,
      messageId,
      deliveryCount: Number(meta.deliveryCount ?? 1),
      reason: disposition.reason,
      body: message,
    });
    runtime.log.error('load message quarantined', { message_id: messageId, reason: disposition.reason, new: added, table: 'control.quarantined_messages' });
  }
}

export function registerLoader(app: FunctionsApp): void {
  app.serviceBusQueue('loader', {
    queueName: '%LOADS_QUEUE_NAME%',
    connection: 'ServiceBusConnection',
    cardinality: 'one',
    handler: loaderHandler,
  });
}
