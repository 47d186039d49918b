/**
 * The loader's use case: one load message in, one disposition out.
 *   malformed body             -> dead-lettered with the reason (never retried)
 *   duplicate or stale message -> completed, nothing changed (guarantee 2)
 *   otherwise the run goes In Progress, heartbeats, loads with the row's strategy
 *   (transient failures retried with exponential backoff and jitter), and ends
 *   Succeeded or Failed through finishRun: the destination has committed first,
 *   so a watermark only ever advances over committed rows (guarantee 3).
 * A crash anywhere leaves the row In Progress; its heartbeat goes stale and the
 * redelivered message takes the run over and loads again, idempotently.
 */
import { finishRun, startRun, type ControlRow, type RunOutcome } from '../control/status.js';
import { loadMessageSchema } from '../queue/message.js';
import type { MessageDisposition } from '../queue/port.js';
import type { Runtime } from '../runtime.js';
import { createSecretResolver, type SecretResolver } from '../secrets/resolver.js';
import type { FaultHook, LoadResult } from '../strategies/context.js';
import { classifyError, describeError } from '../errors.js';
import { InjectedCrash } from './faults.js';
import { startHeartbeat, type Heartbeat } from './heartbeat.js';
import { readLoadPlan, runLoadAttempt } from './run-load.js';

export interface LoaderDeps {
  secrets: SecretResolver;
  faults?: FaultHook;
  sleep(ms: number): Promise<void>;
  random(): number;
  now(): Date;
}

export interface MessageMeta {
  messageId: string;
  deliveryCount: number;
}

/** A run whose heartbeat is older than this many intervals is presumed dead and may be taken over. */
export const STALE_HEARTBEATS = 3;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 60_000;

const depsByRuntime = new WeakMap<Runtime, LoaderDeps>();

/** The loader's dependencies for a runtime (one secret cache per process). */
export function loaderDepsFor(runtime: Runtime): LoaderDeps {
  let deps = depsByRuntime.get(runtime);
  if (!deps) {
    deps = {
      secrets: createSecretResolver({
        keyVaultUrls: runtime.settings.KEYVAULT_URLS,
        ttlSeconds: runtime.settings.SECRET_CACHE_TTL_SECONDS,
        envFallback: runtime.settings.SECRETS_FROM_ENVIRONMENT,
      }),
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      random: Math.random,
      now: () => new Date(),
    };
    depsByRuntime.set(runtime, deps);
  }
  return deps;
}

/** Full jitter: a random wait up to an exponentially growing cap. */
export function backoffMs(attempt: number, random: () => number): number {
  return Math.round(random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
}

export async function handleLoadMessage(
  runtime: Runtime,
  body: unknown,
  meta: MessageMeta,
  deps: LoaderDeps = loaderDepsFor(runtime),
): Promise<MessageDisposition> {
  const { settings, pool, log } = runtime;
  const parsed = loadMessageSchema.safeParse(body);
  if (!parsed.success) {
    const reason = `malformed load message: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`;
    log.warn('load message dead-lettered', { message_id: meta.messageId, reason });
    return { kind: 'deadLetter', reason };
  }
  const message = parsed.data;
  const fields = { config_id: message.config_id, run_id: message.run_id, message_id: meta.messageId, delivery: meta.deliveryCount };
  const row = await startRun(pool, message.config_id, message.run_id, STALE_HEARTBEATS * settings.HEARTBEAT_INTERVAL_SECONDS);
  if (!row) {
    log.info('load message is a duplicate or stale; nothing to do', fields);
    return { kind: 'complete' };
  }
  const startedAt = deps.now();
  log.info('load started', { ...fields, strategy: row.load_strategy, source: row.source_table_name });
  const beat = startHeartbeat(pool, row.config_id, message.run_id, settings.HEARTBEAT_INTERVAL_SECONDS, log);
  let outcome: RunOutcome;
  try {
    outcome = await loadWithRetries(runtime, deps, row, message.run_id, beat);
  } finally {
    await beat.stop();
  }
  if (beat.signal.aborted) {
    // Reaped, reset or taken over: the row's status is someone else's to write.
    log.warn('load stopped: the run was taken from this loader', fields);
    return { kind: 'complete' };
  }
  const timing = { queuedAt: new Date(message.queued_at), startedAt, endedAt: deps.now() };
  // A control database blip here must not drop the run: a redelivered message
  // would find it In Progress with a fresh heartbeat and take it for a duplicate.
  const finished = await retryTransient(deps, settings.LOADER_MAX_ATTEMPTS, () =>
    finishRun(pool, row.config_id, message.run_id, outcome, timing),
  );
  log[outcome.status === 'Succeeded' ? 'info' : 'warn'](`load ${outcome.status.toLowerCase()}`, {
    ...fields,
    source: row.source_table_name,
    rows: outcome.rowsProcessed,
    seconds: Number(((timing.endedAt.getTime() - startedAt.getTime()) / 1000).toFixed(2)),
    [outcome.status === 'Failed' ? 'reason' : 'detail']: outcome.message,
    recorded: finished,
  });
  return { kind: 'complete' };
}

async function loadWithRetries(
  runtime: Runtime,
  deps: LoaderDeps,
  row: ControlRow,
  runId: string,
  beat: Heartbeat,
): Promise<RunOutcome> {
  const { settings, pool, log } = runtime;
  const maxAttempts = settings.LOADER_MAX_ATTEMPTS;
  for (let attempt = 1; ; attempt++) {
    try {
      const plan = await readLoadPlan(pool, settings, row);
      const result: LoadResult = await runLoadAttempt(
        {
          control: pool,
          settings,
          secrets: deps.secrets,
          row,
          runId,
          signal: beat.signal,
          progress: beat.report,
          now: deps.now,
          ...(deps.faults ? { faults: deps.faults } : {}),
        },
        plan,
      );
      return {
        status: 'Succeeded',
        message: result.message,
        rowsProcessed: result.rowsProcessed,
        ...(result.watermark !== undefined ? { watermark: result.watermark } : {}),
        ...(result.databricksRun ? { databricksRun: result.databricksRun } : {}),
        resetLoadFull: plan.config.forceFull,
        targetSchema: plan.config.target.schema,
      };
    } catch (error) {
      if (error instanceof InjectedCrash) throw error;
      if (classifyError(error) === 'terminal' || beat.signal.aborted) return failed(deps, error);
      if (attempt >= maxAttempts) return failed(deps, error, attempt);
      const wait = backoffMs(attempt, deps.random);
      const reason = deps.secrets.redact(describeError(error));
      log.warn('load attempt failed, retrying', { config_id: row.config_id, run_id: runId, attempt, wait_ms: wait, reason });
      await deps.sleep(wait);
    }
  }
}

/** Runs `work`, retrying transient failures with the loader's backoff. */
async function retryTransient<T>(deps: LoaderDeps, maxAttempts: number, work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (classifyError(error) === 'terminal' || attempt >= maxAttempts) throw error;
      await deps.sleep(backoffMs(attempt, deps.random));
    }
  }
}

/** A Failed outcome whose message quotes no secret value. */
function failed(deps: LoaderDeps, error: unknown, attempts?: number): RunOutcome {
  const reason = deps.secrets.redact(describeError(error));
  return {
    status: 'Failed',
    message: attempts ? `failed after ${attempts} attempts (transient errors): ${reason}` : reason,
    rowsProcessed: 0,
  };
}
