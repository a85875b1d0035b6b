/**
 * The wrapper every reading case of a device suite runs in (DL/T 645 suites/reading/probe.ts,
 * CJ/T 188 suites/cjt188-reading/support.ts, M-Bus suites/mbus-reading/support.ts), so that
 * (a) a dead device makes a case inconclusive instead of failing its requirement, (b) a device
 * that does not answer or answers wrongly fails it with the reason instead of ending it as a
 * harness error, (c) it stops sending once it ran out of time, and (d) the frames it exchanged are
 * attached as evidence, whatever its verdict. What is protocol-specific (how presence is checked,
 * which errors are the device's fault, how a target is guarded) comes from the suite's policy.
 */
import { CaseFailed, InconclusiveSignal, NotApplicableSignal, type CheckContext, type ConformanceCase } from './case.ts';
import { deferringContext } from './deferring.ts';

/** What a suite tracks about one target's device (kept by the suite, keyed by target). */
export interface LivenessWatch {
  /** Answers seen since the target was opened (a counter: cases compare before and after). */
  answers: number;
  /** The case running now. */
  currentCase: string | undefined;
  /** True when the last case passed or the last presence check found the device answering. */
  knownAnswering: boolean;
  /** `answers` when the running case started or its last raw probe ended. */
  mark: number;
}

/** A case plus how it reaches the device. */
export interface LivenessCase<T> extends ConformanceCase<T> {
  /**
   * 'declared' (default): the case talks to the declared address, so it cannot judge a device that
   * answers only from another address (it is inconclusive then). 'any': it judges addresses itself.
   */
  readonly reaches?: 'declared' | 'any';
}

/** A target whose captures the wrapper attaches as evidence. */
export interface CapturingTarget {
  flushCaptures(): void;
  readonly captures: readonly { readonly t: string; readonly dir: string; readonly hex: string; readonly decode?: string | undefined }[];
}

export interface LivenessPolicy<T, P> {
  /** "meter" or "device", for the log lines of checks not judged. */
  readonly noun: string;
  watch(t: T): LivenessWatch;
  /** One presence check (updating the watch as the suite needs). */
  checkPresence(t: T, signal: AbortSignal): Promise<P>;
  /** Why the device cannot be judged by a case that reaches it this way, or null when it can. */
  unusable(t: T, presence: P, reaches: 'declared' | 'any'): string | null;
  /** Errors that mean the device failed the case, not that the harness broke. */
  isDeviceFault(e: unknown): e is Error;
  /** The failure reason of a device fault (default its message). */
  faultReason?(e: Error, t: T): string;
  /** A view of `t` that sends nothing more once `signal` is aborted. */
  guarded(t: T, signal: AbortSignal): T;
  /** Where a case stands, for the reason of a case that ran out of time. */
  progress(t: T): string;
  /** A gate before the case's own `applies` (e.g. the target's protocol). */
  gate?(t: T): string | null;
}

export function withLiveness<T extends CapturingTarget, P>(c: LivenessCase<T>, policy: LivenessPolicy<T, P>): ConformanceCase<T> {
  const reaches = c.reaches ?? 'declared';
  const gate = policy.gate;
  const applies = gate ? (t: T) => gate(t) ?? (c.applies ? c.applies(t) : null) : c.applies ? c.applies.bind(c) : undefined;
  return {
    id: c.id,
    requirement: c.requirement,
    title: c.title,
    ...(applies ? { applies } : {}),
    ...(c.timeoutMs ? { timeoutMs: c.timeoutMs.bind(c) } : {}),
    progress: (t) => policy.progress(t),
    async run(ctx: CheckContext, t: T): Promise<void> {
      const w = policy.watch(t);
      w.currentCase = c.id;
      w.mark = w.answers;
      // Answers from here on, the presence check included, show the device alive during this case.
      const answersAtStart = w.answers;
      const from = t.captures.length;
      const deferred = deferringContext(ctx);
      let ended = false;
      try {
        if (!w.knownAnswering) {
          const why = policy.unusable(t, await policy.checkPresence(t, ctx.signal), reaches);
          if (why !== null) ctx.inconclusive(why);
        }
        let thrown: unknown;
        let threw = false;
        try {
          await c.run(deferred.ctx, policy.guarded(t, ctx.signal));
        } catch (e) {
          threw = true;
          thrown = e;
        }
        const signal = thrown instanceof InconclusiveSignal || thrown instanceof NotApplicableSignal;
        const failing = deferred.failed || (threw && (thrown instanceof CaseFailed || policy.isDeviceFault(thrown)));
        if (failing && w.answers === answersAtStart && !ctx.signal.aborted) {
          // Not one answer during the whole case: is the device there at all?
          const why = policy.unusable(t, await policy.checkPresence(t, ctx.signal), reaches);
          if (why !== null) {
            for (const r of deferred.held) ctx.log(`not judged (the ${policy.noun} was not answering): ${r}`);
            if (threw && !signal) ctx.log(`not judged (the ${policy.noun} was not answering): ${(thrown as Error).message}`);
            ctx.inconclusive(why);
          }
        }
        deferred.replay();
        ended = !threw && !deferred.failed;
        if (threw) {
          if (policy.isDeviceFault(thrown)) ctx.fail(policy.faultReason ? policy.faultReason(thrown, t) : thrown.message);
          throw thrown;
        }
      } finally {
        // A case that passed ended on an answered exchange: the next case needs no presence check.
        // (A case that ran out of time gets here late, maybe while the next one runs: leave that one's state alone.)
        if (w.currentCase === c.id) {
          w.knownAnswering = ended;
          w.currentCase = undefined;
        }
        t.flushCaptures();
        const lines = t.captures.slice(from).map((r) => `${r.t} ${r.dir} ${r.hex}${r.decode ? `  | ${r.decode}` : ''}`);
        if (lines.length > 0) ctx.evidence('frames', lines.join('\n'));
      }
    },
  };
}
