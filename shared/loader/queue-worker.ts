/**
 * Feeds load messages from a QueueReceiver (the local queue, or Service Bus)
 * to handleLoadMessage and settles each one with its disposition: complete,
 * dead-letter with the reason, or abandon when handling threw (a transient
 * failure of the control database: the message is delivered again). This is
 * what the Functions host does for the Service Bus trigger, for running
 * without it: `dataloader loader --drain` and the local host.
 */
import type { QueueReceiver, ReceivedMessage } from '../queue/port.js';
import type { Runtime } from '../runtime.js';
import { handleLoadMessage, loaderDepsFor, type LoaderDeps } from './handle-message.js';

export interface WorkerOptions {
  /** Loads at once (LOADER_CONCURRENCY by default). */
  concurrency: number;
  /** Stop when the queue has nothing visible (drain) instead of polling until aborted. */
  untilEmpty: boolean;
  /** How long an idle worker waits before asking again (polling mode). */
  pollMs?: number;
  signal?: AbortSignal;
  deps?: LoaderDeps;
}

export interface WorkerSummary {
  completed: number;
  deadLettered: number;
  abandoned: number;
}

async function settle(runtime: Runtime, receiver: QueueReceiver, message: ReceivedMessage, deps: LoaderDeps, summary: WorkerSummary) {
  try {
    const disposition = await handleLoadMessage(runtime, message.body, { messageId: message.messageId, deliveryCount: message.deliveryCount }, deps);
    if (disposition.kind === 'deadLetter') {
      await receiver.deadLetter(message, disposition.reason);
      summary.deadLettered++;
    } else if (disposition.kind === 'retryLater') {
      if (receiver.release) await receiver.release(message, disposition.delayMs);
      else await receiver.abandon(message);
      summary.abandoned++;
    } else {
      await receiver.complete(message);
      summary.completed++;
    }
  } catch (error) {
    runtime.log.warn('load message abandoned for redelivery', { message_id: message.messageId, delivery: message.deliveryCount, error });
    await receiver.abandon(message).catch(() => undefined);
    summary.abandoned++;
  }
}

/** Runs `concurrency` workers over the loads queue; resolves when drained (or aborted). */
export async function runLoaderWorkers(runtime: Runtime, options: WorkerOptions): Promise<WorkerSummary> {
  const deps = options.deps ?? loaderDepsFor(runtime);
  const summary: WorkerSummary = { completed: 0, deadLettered: 0, abandoned: 0 };
  const receiver = runtime.createQueueReceiver();
  const pollMs = options.pollMs ?? 1_000;
  const pause = () => new Promise((resolve) => setTimeout(resolve, pollMs).unref());
  const worker = async () => {
    while (!options.signal?.aborted) {
      let message: ReceivedMessage | undefined;
      try {
        [message] = await receiver.receive(1);
      } catch (error) {
        // Draining stops on a broken queue; a long-running host waits and asks again.
        if (options.untilEmpty) throw error;
        runtime.log.warn('loads queue unreachable, retrying', { error });
        await pause();
        continue;
      }
      if (!message) {
        if (options.untilEmpty) return;
        await pause();
        continue;
      }
      await settle(runtime, receiver, message, deps, summary);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
  } finally {
    await receiver.close();
  }
  return summary;
}
