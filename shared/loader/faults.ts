/**
 * Crash injection for tests of guarantee 3: a FaultHook that throws
 * InjectedCrash at a chosen step. The loader treats InjectedCrash as the
 * process dying there: no retry, no status update, the message is abandoned.
 */
import type { FaultHook, FaultStep } from '../strategies/context.js';

export class InjectedCrash extends Error {
  override name = 'InjectedCrash';
  constructor(readonly step: FaultStep) {
    super(`injected crash at ${step}`);
  }
}

/** A hook that crashes the first time `step` is reached (optionally at a given chunk). */
export function crashOnceAt(step: FaultStep, chunk?: number): FaultHook & { fired: boolean } {
  const hook = {
    fired: false,
    at(reached: FaultStep, detail?: { chunk?: number }) {
      if (hook.fired || reached !== step) return;
      if (chunk !== undefined && detail?.chunk !== chunk) return;
      hook.fired = true;
      throw new InjectedCrash(step);
    },
  };
  return hook;
}
