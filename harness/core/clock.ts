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
  cancelled: boolean;
}

/** Fires before: earlier due instant, then earlier creation (seq). */
function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * Binary min-heap of timers ordered by (due, seq), with lazy cancellation: a cancelled timer is
 * flagged and dropped when it reaches the top, or in a compaction once cancelled timers outnumber
 * live ones. set O(log n), clear O(1) (amortised O(log n)), next O(log n): the cost of a timer
 * does not grow with the number pending (a sorted array with splice and a linear search for
 * clearTimeout did, issue 7).
 */
class TimerHeap {
  private heap: VirtualTimer[] = [];
  private readonly byId = new Map<number, VirtualTimer>();

  /** Live (not cancelled, not fired) timers. */
  get size(): number {
    return this.byId.size;
  }

  push(t: VirtualTimer): void {
    this.byId.set(t.id, t);
    this.insert(t);
  }

  private insert(t: VirtualTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(t, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = t;
  }

  cancel(id: number): void {
    const t = this.byId.get(id);
    if (!t) return;
    t.cancelled = true;
    this.byId.delete(id);
    if (this.heap.length > 64 && this.heap.length > 2 * this.byId.size) this.compact();
  }

  /** The next live timer, without removing it. */
  peek(): VirtualTimer | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  pop(): VirtualTimer | undefined {
    this.dropCancelled();
    const t = this.removeTop();
    if (t) this.byId.delete(t.id);
    return t;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.removeTop();
  }

  private removeTop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    // Sift the last element down from the root.
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }

  private compact(): void {
    const live = this.heap.filter((t) => !t.cancelled);
    this.heap = [];
    for (const t of live) this.insert(t);
  }
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
  private readonly timers = new TimerHeap();
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
    return this.timers.size;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ id, due: this.current + Math.max(0, ms), seq: this.seq++, callback, cancelled: false });
    this.kick();
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.timers.cancel(handle.id);
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
      const next = this.timers.peek();
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
      if (this.timers.size === 0) {
        // Nothing can happen any more in simulated time: give real work a last chance, then fail.
        await idleTurns(20);
        if (settled || this.timers.size > 0 || this.holds > 0) continue;
        throw new Error('VirtualClock.run: the work is waiting but no timer is pending (deadlock)');
      }
      this.fireNext();
    }
    return p;
  }

  private fireNext(): void {
    const t = this.timers.pop();
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
      while (this.timers.size > 0) {
        await idleTurns();
        if (this.holds > 0) return; // release() kicks the loop again
        if (this.timers.size === 0) return;
        this.fireNext();
      }
    } finally {
      this.looping = false;
      if (this.timers.size > 0 && this.holds === 0) this.kick();
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
