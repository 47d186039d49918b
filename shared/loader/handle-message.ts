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
import { randomUUID } from 'node:crypto';
import { cancelRun, finishRun, startRun, type AfterFinish, type ControlRow, type Lease, type RunOutcome } from '../control/status.js';
import { loadMessageSchema } from '../queue/message.js';
import type { MessageDisposition } from '../queue/port.js';
import type { Runtime } from '../runtime.js';
import { createSecretResolver, type SecretResolver } from '../secrets/resolver.js';
import { queueNextOfSource, sendQueued } from '../sensor/dispatch.js';
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

/** An attempt's lease lasts this many heartbeat intervals; a run whose lease lapsed may be taken over. */
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

/** How long the control database may be unreachable before the loader gives up a step (startRun, finishRun). */
export const CONTROL_OUTAGE_TOLERANCE_MS = 150_000;
/** After the deadline, how long a statement's cancellation may take before the run is recorded Failed anyway. */
const CANCEL_GRACE_MS = 15_000;
/** How long a finishing load spends sending its source's next message (else the sensor sends it). */
const SEND_NEXT_BUDGET_MS = 5_000;

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
  const lease: Lease = {
    configId: message.config_id,
    runId: message.run_id,
    owner: randomUUID(),
    seconds: STALE_HEARTBEATS * settings.HEARTBEAT_INTERVAL_SECONDS,
  };
  const fields = { config_id: message.config_id, run_id: message.run_id, attempt: lease.owner, message_id: meta.messageId, delivery: meta.deliveryCount };
  // A control database that blinks (restart, failover) must not lose the message: retry for a while.
  const start = await retryFor(deps, CONTROL_OUTAGE_TOLERANCE_MS, () => startRun(pool, lease));
  if (start.kind === 'stale') {
    log.info('load message is a duplicate or stale; nothing to do', fields);
    return { kind: 'complete' };
  }
  if (start.kind === 'cancelled') {
    log.info('row deactivated while queued; run cancelled', fields);
    return { kind: 'complete' };
  }
  if (start.kind === 'busy') {
    const delayMs = Math.max(1_000, start.leaseExpiresAt.getTime() - start.now.getTime() + 1_000);
    log.info('run held by another attempt with a live lease; checking again later', { ...fields, delay_ms: delayMs });
    return { kind: 'retryLater', delayMs, reason: 'another attempt holds the run' };
  }
  const { row } = start;
  const startedAt = deps.now();
  const timeoutMs = settings.IN_PROGRESS_TIMEOUT_MINUTES * 60_000;
  // The deadline counts from the run's first start (the database's clock), also after a takeover.
  const deadlineAt = Date.now() + (start.startedAt.getTime() + timeoutMs - start.now.getTime());
  log.info('load started', { ...fields, strategy: row.load_strategy, source: row.source_table_name, took_over: start.tookOver });
  const beat = startHeartbeat(pool, lease, { intervalSeconds: settings.HEARTBEAT_INTERVAL_SECONDS, deadlineAt }, log);
  let outcome: RunOutcome;
  try {
    const load = loadWithRetries(runtime, deps, row, lease, beat);
    load.catch(() => undefined);
    // A driver that ignores its cancellation does not hold the run past the deadline (and its
    // attempt cannot commit any more: its lease checks refuse).
    const hardStop = new Promise<RunOutcome>((resolve) => {
      const timer = setTimeout(() => resolve(timedOut(settings, start.startedAt)), Math.max(0, deadlineAt - Date.now()) + CANCEL_GRACE_MS);
      timer.unref();
      void load.finally(() => clearTimeout(timer)).catch(() => undefined);
    });
    outcome = await Promise.race([load, hardStop]);
  } finally {
    await beat.stop();
  }
  const timing = { queuedAt: new Date(message.queued_at), startedAt, endedAt: deps.now() };
  const stopped = beat.stopReason();
  if (stopped === 'lost') {
    // Reaped, reset or taken over: the row's status is someone else's to write.
    log.warn('load stopped: the run was taken from this attempt', fields);
    return { kind: 'complete' };
  }
  if (stopped === 'lease') {
    // The lease could not be renewed (the control database is unreachable): the run is not this
    // attempt's to finish any more. The message comes back and takes the run over once the lease lapsed.
    throw new Error(`load stopped: the lease of run ${message.run_id} could not be renewed; the message is delivered again for a takeover`);
  }
  if (stopped === 'deactivated') {
    await retryFor(deps, CONTROL_OUTAGE_TOLERANCE_MS, () =>
      cancelRun(pool, lease, 'Cancelled: the row was deactivated while loading; the load stopped before its destination commit', timing),
    );
    log.warn('load cancelled: the row was deactivated', fields);
    return { kind: 'complete' };
  }
  if (stopped === 'deadline') outcome = timedOut(settings, start.startedAt, timing.endedAt);
  // A control database blip here must not drop the run: a redelivered message
  // would find it In Progress with a live lease and wait for it.
  const dispatch = (client: Parameters<AfterFinish>[0], finished: ControlRow) =>
    queueNextOfSource(client, settings, finished, log).then(() => undefined);
  const finished = await retryFor(deps, CONTROL_OUTAGE_TOLERANCE_MS, () =>
    finishRun(pool, lease, outcome, timing, { backoffMinutes: settings.RETRY_BACKOFF_MINUTES }, dispatch),
  );
  if (finished) await sendQueued(pool, runtime.queueSender, settings.SENSOR_BATCH_SIZE, SEND_NEXT_BUDGET_MS, log);
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

/** The Failed outcome of a run that reached its deadline. */
function timedOut(settings: Runtime['settings'], runStartedAt: Date, endedAt = new Date()): RunOutcome {
  const seconds = Math.round((endedAt.getTime() - runStartedAt.getTime()) / 1000);
  return {
    status: 'Failed',
    message:
      `Timed out after ${seconds} s: the run reached its deadline of ${settings.IN_PROGRESS_TIMEOUT_MINUTES} minutes from its start ` +
      `(IN_PROGRESS_TIMEOUT_MINUTES); its source and destination statements were cancelled and the destination rolled back. ` +
      'The row is due again at its next scheduled time.',
    rowsProcessed: 0,
  };
}

async function loadWithRetries(
  runtime: Runtime,
  deps: LoaderDeps,
  row: ControlRow,
  lease: Lease,
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
          lease,
          signal: beat.signal,
          confirm: beat.confirm,
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
        ...(result.dueAgainAfterSeconds !== undefined ? { dueAgainAfterSeconds: result.dueAgainAfterSeconds } : {}),
      };
    } catch (error) {
      if (error instanceof InjectedCrash) throw error;
      if (classifyError(error) === 'terminal' || beat.signal.aborted) return failed(deps, error);
      if (attempt >= maxAttempts) return failed(deps, error, attempt);
      const wait = backoffMs(attempt, deps.random);
      const reason = deps.secrets.redact(describeError(error));
      log.warn('load attempt failed, retrying', { config_id: row.config_id, run_id: lease.runId, attempt, wait_ms: wait, reason });
      await deps.sleep(wait);
    }
  }
}

/** Runs `work`, retrying transient failures with the loader's backoff for up to `budgetMs`. */
async function retryFor<T>(deps: LoaderDeps, budgetMs: number, work: () => Promise<T>): Promise<T> {
  const giveUpAt = Date.now() + budgetMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (classifyError(error) === 'terminal' || Date.now() >= giveUpAt) throw error;
      await deps.sleep(Math.min(Math.max(1, giveUpAt - Date.now()), Math.max(250, backoffMs(Math.min(attempt, 5), deps.random))));
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
    transient: attempts !== undefined,
  };
}
