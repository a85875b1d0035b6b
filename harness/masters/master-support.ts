/**
 * Plumbing shared by the protocol masters (moved out of dlt645-master.ts unchanged, issue 11, so
 * the M-Bus master uses the same code): the per-attempt reply wait on the injected Clock, the
 * caller's-stack capture for no-reply errors, and option checks.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';

/**
 * The wait for one attempt's reply: `start(ms)` resolves with the value given to `settle`, or
 * null once `ms` of clock time passed without one (the timer starts at `start`, after the
 * request left; a reply settled before that is kept), and rejects with the error given to `fail`.
 * The same outcome as racing the reply against core's withTimeout, without the TimeoutError
 * (an Error and its stack) withTimeout creates for every wait.
 */
export class ReplyWait<T> {
  private outcome: { value: T | null } | { error: Error } | undefined;
  private resolve: ((v: T | null) => void) | undefined;
  private reject: ((e: Error) => void) | undefined;
  private timer: TimerHandle | undefined;
  constructor(private readonly clock: Clock) {}

  settle(value: T): void {
    this.end({ value });
  }

  fail(error: Error): void {
    this.end({ error });
  }

  start(ms: number): Promise<T | null> {
    return new Promise<T | null>((resolve, reject) => {
      if (this.outcome === undefined) {
        this.resolve = resolve;
        this.reject = reject;
        this.timer = this.clock.setTimeout(() => this.end({ value: null }), ms);
      } else if ('error' in this.outcome) {
        reject(this.outcome.error);
      } else {
        resolve(this.outcome.value);
      }
    });
  }

  /** Drops the wait (the request could not be sent). */
  cancel(): void {
    this.outcome ??= { value: null };
    this.clock.clearTimeout(this.timer);
  }

  private end(outcome: { value: T | null } | { error: Error }): void {
    if (this.outcome !== undefined) return;
    this.outcome = outcome;
    this.clock.clearTimeout(this.timer);
    if ('error' in outcome) this.reject?.(outcome.error);
    else this.resolve?.(outcome.value);
  }
}

export type CallSite = { stack?: string };

export const NO_CALL_SITE: CallSite = Object.freeze({});

/** Captures the caller's stack now (the line that started the wait, STYLE.md). */
export function captureCallSite(above: (...args: never[]) => unknown): CallSite {
  const site: CallSite = {};
  Error.captureStackTrace(site, above);
  return site;
}

export function withCallSite<E extends Error>(error: E, site: CallSite): E {
  const frames = site.stack?.split('\n').slice(1).join('\n');
  if (frames) error.stack = `${error.name}: ${error.message}\n${frames}`;
  return error;
}

export function positive(v: number, name: string): number {
  if (!(Number.isFinite(v) && v > 0)) throw new UsageError(`${name} must be a positive number, got ${String(v)}`);
  return v;
}

export function nonNegative(v: number, name: string): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new UsageError(`${name} must be zero or more, got ${String(v)}`);
  return v;
}

export function positiveInt(v: number, name: string): number {
  if (!(Number.isInteger(v) && v > 0)) throw new UsageError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function nonNegativeInt(v: number, name: string): number {
  if (!(Number.isInteger(v) && v >= 0)) throw new UsageError(`${name} must be a whole number of bytes, got ${String(v)}`);
  return v;
}
