/**
 * Time. Nothing outside harness/core reads the wall clock or schedules a timer directly
 * (ARCHITECTURE.md "Time comes only from an injected Clock"): every layer takes a `Clock`.
 *
 * - `RealClock`: wall time, for real devices on real links.
 * - `VirtualClock`: deterministic simulated time for simulators on in-memory links. Timers fire
 *   in (due time, creation order) order. With `autoAdvance` (the default) the clock jumps to the
 *   next due timer whenever the event loop has been idle for a few turns and nothing holds it, so
 *   a 15-minute scenario runs in milliseconds and replays identically.
 */
import { TimeoutError } from './errors.ts';

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (virtual or real). */
  now(): number;
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
  /** Resolves after `ms`; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** True for simulated time. Suites use it to say whether timings are modelled or measured. */
  readonly virtual: boolean;
}

export class RealClock implements Clock {
  readonly virtual = false;
  private nextId = 1;
  private readonly handles = new Map<number, ReturnType<typeof setTimeout>>();

  now(): number {
    return Date.now();
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const h = setTimeout(() => {
      this.handles.delete(id);
      callback();
    }, Math.max(0, ms));
    this.handles.set(id, h);
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const h = this.handles.get(handle.id);
    if (h !== undefined) clearTimeout(h);
    this.handles.delete(handle.id);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }
}

interface VirtualTimer {
  readonly id: number;
  readonly due: number;
  readonly seq: number;
  readonly callback: () => void;
}

export interface VirtualClockOptions {
  /** Start instant, ms since the epoch. Default 2026-01-01T08:00:00+08:00. */
  readonly start?: number;
  /** Jump to the next timer when the event loop is idle (default true). */
  readonly autoAdvance?: boolean;
}

/** Event-loop turns with no activity before an auto-advancing clock jumps ahead. */
const IDLE_TURNS = 3;

export class VirtualClock implements Clock {
  readonly virtual = true;
  private current: number;
  private seq = 0;
  private nextId = 1;
  private timers: VirtualTimer[] = [];
  private holds = 0;
  private looping = false;
  private readonly autoAdvance: boolean;

  constructor(options: VirtualClockOptions = {}) {
    this.current = options.start ?? Date.UTC(2026, 0, 1, 0, 0, 0);
    this.autoAdvance = options.autoAdvance ?? true;
  }

  now(): number {
    return this.current;
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    const timer: VirtualTimer = { id, due: this.current + Math.max(0, ms), seq: this.seq++, callback };
    // Keep the queue sorted by (due, seq): binary search for the insertion point.
    let lo = 0;
    let hi = this.timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const t = this.timers[mid]!;
      if (t.due < timer.due || (t.due === timer.due && t.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.timers.splice(lo, 0, timer);
    this.kick();
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!handle) return;
    const i = this.timers.findIndex((t) => t.id === handle.id);
    if (i >= 0) this.timers.splice(i, 1);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /**
   * Keeps an auto-advancing clock from jumping while real asynchronous work is in flight.
   * Returns the release function; call it exactly once.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.kick();
    };
  }

  /** Moves time forward by `ms`, firing due timers in order and letting each one's work settle. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  async advanceTo(instant: number): Promise<void> {
    for (;;) {
      await idleTurns();
      const next = this.timers[0];
      if (!next || next.due > instant) break;
      this.fireNext();
    }
    if (instant > this.current) this.current = instant;
  }

  /** Runs until `work` settles, advancing time whenever the loop is idle. */
  async run<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    const p = typeof work === 'function' ? work() : work;
    let settled = false;
    const done = p.finally(() => {
      settled = true;
    });
    done.catch(() => undefined);
    while (!settled) {
      await idleTurns();
      if (settled) break;
      if (this.holds > 0) continue;
      if (this.timers.length === 0) {
        // Nothing can happen any more in simulated time: give real work a last chance, then fail.
        await idleTurns(20);
        if (settled || this.timers.length > 0 || this.holds > 0) continue;
        throw new Error('VirtualClock.run: the work is waiting but no timer is pending (deadlock)');
      }
      this.fireNext();
    }
    return p;
  }

  private fireNext(): void {
    const t = this.timers.shift();
    if (!t) return;
    if (t.due > this.current) this.current = t.due;
    t.callback();
  }

  private kick(): void {
    if (!this.autoAdvance || this.looping) return;
    this.looping = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    try {
      while (this.timers.length > 0) {
        await idleTurns();
        if (this.holds > 0) return; // release() kicks the loop again
        if (this.timers.length === 0) return;
        this.fireNext();
      }
    } finally {
      this.looping = false;
      if (this.timers.length > 0 && this.holds === 0) this.kick();
    }
  }
}

async function idleTurns(n = IDLE_TURNS): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function sleepWith(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Races `work` against a timeout on `clock`. The TimeoutError is created here, when the wait
 * starts, so its stack names the line that started the wait (as zwave-js TimedExpectation does).
 */
export function withTimeout<T>(clock: Clock, work: Promise<T>, ms: number, message: string): Promise<T> {
  const error = new TimeoutError(message);
  return new Promise<T>((resolve, reject) => {
    const handle = clock.setTimeout(() => reject(error), ms);
    work.then(
      (v) => {
        clock.clearTimeout(handle);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimeout(handle);
        reject(e);
      },
    );
  });
}
