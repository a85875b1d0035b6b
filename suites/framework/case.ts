/**
 * A conformance case is data plus a function. `runCase` runs one against a target and always
 * returns a verdict with a reason; it never throws. The vitest binding (vitest.ts) and the
 * project's own tests (which prove that broken variants fail the matching case) both call it.
 *
 * Verdict rules, in order:
 * 1. `applies(target)` returns a reason → notApplicable with that reason; `run` is not called.
 * 2. Failed checks, measurements outside an enforced limit and `ctx.fail()` → failed. The reason
 *    lists every failure in the order they happened. A definitive failure wins over a later
 *    signal or error (they are appended to the reason), because it is evidence about the device.
 * 3. `ctx.notApplicable()` / `ctx.inconclusive()` → those verdicts.
 * 4. Any other thrown error (a LinkError, a TimeoutError from a master, a bug) → error, with the
 *    error's message as the reason and its stack as evidence.
 * 5. A case that does not finish within its time budget (`timeoutMs(target)`, default
 *    DEFAULT_CASE_TIMEOUT_MS, on the runCase clock) → error, reason "the case did not finish within
 *    N s: <its progress>". `ctx.signal` is aborted at that moment so the case can stop talking to the
 *    device; whatever it records afterwards is ignored. The budget keeps the test runner's own
 *    timeout (and its text) out of every verdict.
 * 6. Otherwise → passed (empty reason).
 */
import { RealClock, type Clock, type TimerHandle } from '../../harness/core/clock.ts';
import {
  formatLimit,
  withinLimit,
  type CaseOutcome,
  type Evidence,
  type Limit,
  type Measurement,
  type Verdict,
} from './verdict.ts';

export interface ConformanceCase<T> {
  /** Stable dotted id, "<suite>.<kebab-name>", e.g. "reading.read-declared-identifiers". */
  readonly id: string;
  /** Requirement catalog id (suites/requirements), e.g. "DLT645-02". */
  readonly requirement: string;
  /** One line saying what is checked; the vitest test name. */
  readonly title: string;
  /** null when the case applies; otherwise the not-applicable reason naming the declaration field. */
  applies?(target: T): string | null;
  run(ctx: CheckContext, target: T): Promise<void>;
  /** Time budget of one run against `target`, ms (default DEFAULT_CASE_TIMEOUT_MS). */
  timeoutMs?(target: T): number;
  /**
   * One line on where the case stands (e.g. the last exchange with the device), for the reason
   * of a case that ran out of time. Called only then.
   */
  progress?(target: T): string | undefined;
}

/**
 * Default time budget of a case: generous for a real meter at 2400 baud (a few dozen exchanges of
 * up to 3 × 3000 ms each, CON-05), and well inside any CI job limit.
 */
export const DEFAULT_CASE_TIMEOUT_MS = 180_000;

/** The reason of a case that ran out of its time budget. */
export class CaseTimeout extends Error {
  override readonly name = 'CaseTimeout';
}

export interface MeasureOptions {
  /** false: record the measurement (ok = false when outside) without failing the case. Default true. */
  readonly enforce?: boolean;
}

export interface CheckContext {
  /** Records a measurement. Outside its limit it fails the case unless `enforce: false`. */
  measure(name: string, value: number, unit: string, limit: Limit, options?: MeasureOptions): Measurement;
  /** Records a failed check when `condition` is false and carries on; returns `condition`. */
  check(condition: boolean, failureReason: string): boolean;
  /** Stops the case with verdict failed. */
  fail(reason: string): never;
  /** Stops the case with verdict notApplicable. */
  notApplicable(reason: string): never;
  /** Stops the case with verdict inconclusive (the device could not be judged). */
  inconclusive(reason: string): never;
  /** Attaches evidence (captured frames, a decoded reply, a log excerpt). */
  evidence(name: string, body: string, contentType?: string): void;
  /** Runs `fn` as a named, recorded step (an Allure step under vitest). */
  step<R>(name: string, fn: () => Promise<R> | R): Promise<R>;
  /** A line for the case log (attached to the report; not printed). */
  log(line: string): void;
  /** Aborted (with a CaseTimeout) when the case has run out of its time budget. */
  readonly signal: AbortSignal;
}

/** Thrown by `ctx.fail()`. */
export class CaseFailed extends Error {
  override readonly name = 'CaseFailed';
}

/** Thrown by `ctx.notApplicable()`. */
export class NotApplicableSignal extends Error {
  override readonly name = 'NotApplicableSignal';
}

/**
 * Thrown by a suite's target opener when the target is not a device the suite tests (another
 * protocol or device kind): every case of the suite is then "not applicable" with this reason.
 */
export class TargetNotInScope extends Error {
  override readonly name = 'TargetNotInScope';
}

/** Thrown by `ctx.inconclusive()`. */
export class InconclusiveSignal extends Error {
  override readonly name = 'InconclusiveSignal';
}

export interface StepRecord {
  readonly name: string;
  readonly status: 'passed' | 'failed';
  readonly durationMs: number;
  readonly error?: string;
  readonly steps: readonly StepRecord[];
}

export interface CaseResult extends CaseOutcome {
  readonly id: string;
  readonly requirement: string;
  readonly title: string;
  readonly durationMs: number;
  readonly steps: readonly StepRecord[];
  readonly log: readonly string[];
  /** The thrown error behind an `error` verdict (not serialisable; not part of reports). */
  readonly error?: unknown;
}

/**
 * Live hooks, so a runner can mirror steps and evidence as they happen (the vitest binding
 * forwards them to Allure). All optional; a hook that throws is ignored.
 */
export interface CaseObserver {
  /** Wraps the execution of a step; must call `fn` exactly once and return its result. */
  step?<R>(name: string, fn: () => Promise<R>): Promise<R>;
  evidence?(evidence: Evidence): void | PromiseLike<void>;
  log?(line: string): void;
}

export interface RunCaseOptions {
  /** Clock for durations and the time budget (default a RealClock). */
  readonly clock?: Clock;
  readonly observer?: CaseObserver;
  /** Time budget, ms; default the case's own `timeoutMs(target)`, else DEFAULT_CASE_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

const FALLBACK_REASON: Readonly<Record<Exclude<Verdict, 'passed'>, string>> = {
  failed: 'failed without a stated reason',
  inconclusive: 'inconclusive without a stated reason',
  notApplicable: 'not applicable without a stated reason',
  error: 'error without a message',
};

function nonEmpty(reason: string | undefined, verdict: Exclude<Verdict, 'passed'>): string {
  const r = (reason ?? '').trim();
  return r.length > 0 ? r : FALLBACK_REASON[verdict];
}

/** The failure reason of a measurement outside its limit: "Td median 600 ms outside 20..500 ms". */
export function measurementFailure(m: Measurement): string {
  return `${m.name} ${m.value} ${m.unit} outside ${m.limit} ${m.unit}`.replace(/\s+/g, ' ').trim();
}

/** The message of anything thrown, on one line. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    const name = error.name && error.name !== 'Error' ? `${error.name}: ` : '';
    return `${name}${error.message}`.replace(/\s*\n\s*/g, ' ').trim();
  }
  return String(error).replace(/\s*\n\s*/g, ' ').trim();
}

export async function runCase<T>(c: ConformanceCase<T>, target: T, options: RunCaseOptions = {}): Promise<CaseResult> {
  const clock = options.clock ?? new RealClock();
  const observer = options.observer ?? {};
  const started = clock.now();
  const measurements: Measurement[] = [];
  const evidence: Evidence[] = [];
  const failures: string[] = [];
  const log: string[] = [];
  const rootSteps: StepRecord[] = [];
  let stepStack: StepRecord[][] = [rootSteps];

  const base = { id: c.id, requirement: c.requirement, title: c.title };
  /** Set once the verdict is taken: a case still running after its budget records nothing more. */
  let settled = false;
  const finish = (verdict: Verdict, reason: string, error?: unknown): CaseResult => {
    settled = true;
    return {
      ...base,
      verdict,
      reason: verdict === 'passed' ? '' : nonEmpty(reason, verdict),
      measurements: [...measurements],
      evidence: [...evidence],
      durationMs: Math.max(0, clock.now() - started),
      steps: [...rootSteps],
      log: [...log],
      ...(error !== undefined ? { error } : {}),
    };
  };
  const abort = new AbortController();
  /** An error verdict, with the error's stack attached as evidence. */
  const errorResult = (reason: string, error: unknown): CaseResult => {
    ctx.evidence('error', error instanceof Error && error.stack ? error.stack : String(error));
    return finish('error', reason, error);
  };

  const safely = (fn: () => unknown): void => {
    try {
      const r = fn();
      if (r && typeof (r as PromiseLike<unknown>).then === 'function') (r as PromiseLike<unknown>).then(undefined, () => undefined);
    } catch {
      // an observer must not change a verdict
    }
  };

  const ctx: CheckContext = {
    signal: abort.signal,
    measure(name, value, unit, limit, opts) {
      const ok = withinLimit(value, limit);
      const m: Measurement = { name, value, unit, limit: formatLimit(limit), ok };
      if (settled) return m;
      measurements.push(m);
      if (!ok && opts?.enforce !== false) failures.push(measurementFailure(m));
      return m;
    },
    check(condition, failureReason) {
      if (!condition && !settled) failures.push(nonEmpty(failureReason, 'failed'));
      return condition;
    },
    fail(reason) {
      throw new CaseFailed(nonEmpty(reason, 'failed'));
    },
    notApplicable(reason) {
      throw new NotApplicableSignal(nonEmpty(reason, 'notApplicable'));
    },
    inconclusive(reason) {
      throw new InconclusiveSignal(nonEmpty(reason, 'inconclusive'));
    },
    evidence(name, body, contentType = 'text/plain') {
      if (settled) return;
      const e: Evidence = { name, contentType, body };
      evidence.push(e);
      if (observer.evidence) safely(() => observer.evidence!(e));
    },
    async step(name, fn) {
      const children: StepRecord[] = [];
      const parent = stepStack[stepStack.length - 1]!;
      const savedStack = stepStack;
      const t0 = clock.now();
      const body = async (): Promise<Awaited<ReturnType<typeof fn>>> => {
        stepStack = [...savedStack, children];
        try {
          return await fn();
        } finally {
          stepStack = savedStack;
        }
      };
      try {
        const r = observer.step ? await observer.step(name, body) : await body();
        parent.push({ name, status: 'passed', durationMs: clock.now() - t0, steps: children });
        return r as Awaited<ReturnType<typeof fn>>;
      } catch (e) {
        parent.push({ name, status: 'failed', durationMs: clock.now() - t0, error: errorMessage(e), steps: children });
        throw e;
      }
    },
    log(line) {
      if (settled) return;
      log.push(line);
      if (observer.log) safely(() => observer.log!(line));
    },
  };

  let applicability: string | null = null;
  try {
    applicability = c.applies ? c.applies(target) : null;
  } catch (e) {
    return errorResult(`applies() threw: ${errorMessage(e)}`, e);
  }
  if (applicability !== null) return finish('notApplicable', applicability);

  let budgetMs: number;
  try {
    budgetMs = options.timeoutMs ?? c.timeoutMs?.(target) ?? DEFAULT_CASE_TIMEOUT_MS;
  } catch (e) {
    return errorResult(`timeoutMs() threw: ${errorMessage(e)}`, e);
  }
  let timer: TimerHandle | undefined;
  const outOfTime = new Promise<'timeout'>((resolve) => {
    timer = clock.setTimeout(() => resolve('timeout'), budgetMs);
  });
  try {
    const running = Promise.resolve().then(() => c.run(ctx, target));
    // A run that ends after its budget may still reject: nobody is listening any more.
    running.catch(() => undefined);
    const first = await Promise.race([running.then(() => 'done' as const), outOfTime]);
    if (first === 'timeout') {
      const reason = timeoutReason(c, target, budgetMs);
      const error = new CaseTimeout(reason);
      abort.abort(error);
      // A definitive failure recorded before the budget ran out still wins (rule 2).
      if (failures.length > 0) return finish('failed', [...failures, `then: ${reason}`].join('; '));
      return finish('error', reason, error);
    }
  } catch (e) {
    if (e instanceof CaseFailed) return finish('failed', [...failures, e.message].join('; '));
    if (failures.length > 0) {
      // A definitive failure already recorded outranks what stopped the case afterwards.
      return finish('failed', [...failures, `then: ${errorMessage(e)}`].join('; '));
    }
    if (e instanceof NotApplicableSignal) return finish('notApplicable', e.message);
    if (e instanceof InconclusiveSignal) return finish('inconclusive', e.message);
    return errorResult(errorMessage(e), e);
  } finally {
    clock.clearTimeout(timer);
  }
  if (failures.length > 0) return finish('failed', failures.join('; '));
  return finish('passed', '');
}

/** "the case did not finish within 180 s: <progress>". */
function timeoutReason<T>(c: ConformanceCase<T>, target: T, budgetMs: number): string {
  let progress: string | undefined;
  try {
    progress = c.progress?.(target);
  } catch (e) {
    progress = `progress unavailable (${errorMessage(e)})`;
  }
  const seconds = budgetMs >= 1000 ? `${+(budgetMs / 1000).toFixed(1)} s` : `${budgetMs} ms`;
  return `the case did not finish within ${seconds}${progress ? `: ${progress}` : ''}`;
}

/** Runs `cases` in order on one target (only those named in `ids`, when given); the target stays the caller's to close. */
export async function runCases<T>(cases: readonly ConformanceCase<T>[], target: T, ids?: readonly string[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    if (ids && !ids.includes(c.id)) continue;
    results.push(await runCase(c, target));
  }
  return results;
}

/** One line per result, `id: verdict — reason` (no reason for a pass): what a test compares and prints on failure. */
export function verdictLines(results: readonly CaseResult[]): string[] {
  return results.map((r) => `${r.id}: ${r.verdict}${r.verdict === 'passed' ? '' : ` — ${r.reason}`}`);
}
