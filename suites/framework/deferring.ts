/**
 * A CheckContext that holds a case's failed checks and out-of-limit measurements back, so a
 * suite's liveness wrapper can still decide that a dead device, not the requirement, explains them
 * (suites/reading/probe.ts, suites/cjt188-reading/support.ts, suites/mbus-reading/support.ts).
 * `replay()` hands them to the real context in their order; `failed` says whether there are any.
 */
import { measurementFailure, type CheckContext } from './case.ts';

export interface DeferringContext {
  readonly ctx: CheckContext;
  readonly failed: boolean;
  readonly held: readonly string[];
  replay(): void;
}

export function deferringContext(ctx: CheckContext): DeferringContext {
  const held: string[] = [];
  let failedByFail = false;
  const inner: CheckContext = {
    signal: ctx.signal,
    measure(name, value, unit, limit, options) {
      const m = ctx.measure(name, value, unit, limit, { enforce: false });
      if (!m.ok && options?.enforce !== false) held.push(measurementFailure(m));
      return m;
    },
    check(condition, reason) {
      if (!condition) held.push(reason);
      return condition;
    },
    fail(reason) {
      failedByFail = true;
      return ctx.fail(reason);
    },
    notApplicable: (reason) => ctx.notApplicable(reason),
    inconclusive: (reason) => ctx.inconclusive(reason),
    evidence: (name, body, contentType) => ctx.evidence(name, body, contentType),
    step: (name, fn) => ctx.step(name, fn),
    log: (line) => ctx.log(line),
  };
  return {
    ctx: inner,
    get failed() {
      return held.length > 0 || failedByFail;
    },
    held,
    replay() {
      for (const r of held.splice(0)) ctx.check(false, r);
    },
  };
}
