/**
 * Time. Nothing outside harness/core reads the wall clock or schedules a timer directly
 * (ARCHITECTURE.md "Time comes only from an injected Clock"): every layer takes a `Clock`.
 *
 * - `RealClock`: wall time, for real devices on real links.
 * - `ShiftedRealClock`: wall time from a chosen start, which a test may jump forward over a quiet
 *   stretch (a vendor's concentrator as a target: its night comes without waiting for it).
 * - `VirtualClock`: deterministic simulated time for simulators on in-memory links. Timers fire
 *   in (due time, creation order) order. With `autoAdvance` (the default) the clock jumps to the
 *   next due timer whenever the event loop has been idle for a turn and nothing holds it, so a
 *   15-minute scenario runs in milliseconds and replays identically.
 *
 * VirtualClock semantics (issue 7):
 * - Cost per timer does not grow with the number pending: a binary heap whose handles are the
 *   timers themselves (set O(log n), clear O(log n), usually O(1); see TimerHeap).
 * - Between two timers the clock yields one event-loop turn (setImmediate), in which every
 *   microtask and process.nextTick the fired timer's work queued runs to completion. So a timer
 *   whose callback resolves a promise sees the awaiting code run (and, say, clear a timeout due
 *   at the same instant) before the next timer fires. Real I/O (a mock serial port, a socket)
 *   is not covered by a turn: code that waits on it calls `hold()`, and the clock neither jumps
 *   nor fires while held.
 * - `sameInstant: 'batch'` (opt-in): every timer due at the current instant fires back to back
 *   in (due, creation) order, and the turn comes after the batch; a hold() taken by one of them
 *   ends the batch. Events at one instant are then simultaneous: none sees another's promise
 *   follow-up. That is exact for independent simulations sharing a clock (the buses of a fleet)
 *   and about 7x cheaper per timer (bench/run.ts --only clock); the default stays 'settle'.
 * - Deterministic: the order of timers depends only on due instants and creation order, never on
 *   wall time; randomness comes from SeededRandom.
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

/**
 * Real time that a test may move forward (issue 12, a vendor's concentrator as a target): `now()`
 * is the wall clock plus an offset, so the world starts at a chosen instant (`start`) and then runs
 * at the speed of real time, as a real device beside it does; `jumpTo(instant)` moves it forward at
 * once (never back), firing every timer now due in (due instant, creation) order, each followed by
 * an event-loop turn, as VirtualClock does. It skips time nobody needs to live through (a quiet
 * stretch of the night), while the device's own clock is set to match (AFN 05 F31).
 *
 * Timers are kept in a heap on this clock's time, with ONE wall-clock timeout armed for the
 * earliest: a jump re-arms it. Not virtual: timings on it are measured, not modelled.
 */
export class ShiftedRealClock implements Clock {
  readonly virtual = false;
  private offsetMs: number;
  private seq = 0;
  private nextId = 1;
  private readonly timers = new TimerHeap();
  private armed: ReturnType<typeof setTimeout> | undefined;
  private armedFor: VirtualTimer | undefined;

  constructor(options: { readonly start?: number } = {}) {
    const wall = Date.now();
    this.offsetMs = (options.start ?? wall) - wall;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** This clock's time minus the wall clock's, ms (what the jumps added). */
  get shiftMs(): number {
    return this.offsetMs;
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const t = new VirtualTimer(this.nextId++, this.now() + Math.max(0, ms), this.seq++, callback, this.timers);
    this.timers.push(t);
    this.arm();
    return t;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (!(handle instanceof VirtualTimer) || handle.queue !== this.timers) return;
    this.timers.cancel(handle);
    if (handle === this.armedFor) this.arm();
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepWith(this, ms, signal);
  }

  /**
   * Moves the clock forward to `instant` (an instant not after now changes nothing) and resolves
   * once every timer due by then has fired and the work each one started has had its turn.
   */
  async jumpTo(instant: number): Promise<void> {
    const now = this.now();
    if (instant > now) this.offsetMs += instant - now;
    // The armed wall-clock timeout was timed from the old offset: arm afresh.
    this.dispose();
    this.arm();
    for (;;) {
      await idleTurns();
      const next = this.timers.peek();
      if (!next || next.due > this.now()) return;
    }
  }

  /** Stops the wall-clock timeout; pending timers stay (a later setTimeout or jump re-arms). */
  dispose(): void {
    if (this.armed !== undefined) clearTimeout(this.armed);
    this.armed = undefined;
    this.armedFor = undefined;
  }

  /** One wall-clock timeout for the earliest timer; when it fires, the due timers fire one per turn. */
  private arm(): void {
    const next = this.timers.peek();
    if (next === this.armedFor && this.armed !== undefined && next !== undefined && next.due > this.now()) return;
    this.dispose();
    if (!next) return;
    this.armedFor = next;
    this.armed = setTimeout(() => {
      this.armed = undefined;
      this.armedFor = undefined;
      const t = this.timers.peek();
      if (t && t.due <= this.now()) {
        this.timers.pop();
        t.callback();
      }
      // The next one (perhaps due too) after this one's work has had its turn.
      setImmediate(() => {
        if (this.armed === undefined) this.arm();
      });
    }, Math.max(0, next.due - this.now()));
  }
}

/** A pending timer; the handle `setTimeout` returns is the timer itself (no id lookup to cancel). */
class VirtualTimer implements TimerHandle {
  /** Position in the heap array; -1 once fired or cancelled. */
  index = -1;
  constructor(
    readonly id: number,
    readonly due: number,
    readonly seq: number,
    readonly callback: () => void,
    readonly queue: TimerHeap,
  ) {}
}

/** Fires before: earlier due instant, then earlier creation (seq). */
function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * Binary min-heap of timers ordered by (due, seq); each timer knows its index, so cancelling
 * removes it at once. set O(log n) (O(1) expected for random due instants), clear O(log n)
 * (O(1) for a timer still at the bottom, the usual case for a timeout cleared soon after it was
 * set), next O(log n): the cost of a timer does not grow with the number pending (a sorted array
 * with splice and a linear search for clearTimeout did, issue 7).
 *
 * The handle is the timer object, so there is no id -> timer Map, and a cancelled timer leaves
 * the heap at once. Both matter at 100,000 pending: the Map hashed into a table far larger than
 * the CPU cache, and lazily cancelled timers stayed reachable from the heap until a compaction,
 * so every short-lived timeout survived the young-generation GC and was promoted (set + clear
 * cost 6x what it did with 10 pending; now within 2x, bench/run.ts --only clock).
 */
class TimerHeap {
  private readonly heap: VirtualTimer[] = [];

  /** Live (not cancelled, not fired) timers. */
  get size(): number {
    return this.heap.length;
  }

  push(t: VirtualTimer): void {
    this.heap.push(t);
    this.siftUp(t, this.heap.length - 1);
  }

  cancel(t: VirtualTimer): void {
    const i = t.index;
    if (i < 0) return; // fired or already cancelled
    t.index = -1;
    const h = this.heap;
    const last = h.pop()!;
    if (last === t) return;
    // Put the last timer in the hole and restore order in whichever direction it is out of place.
    if (i > 0 && before(last, h[(i - 1) >> 1]!)) this.siftUp(last, i);
    else this.siftDown(last, i);
  }

  /** The next timer, without removing it. */
  peek(): VirtualTimer | undefined {
    return this.heap[0];
  }

  pop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    top.index = -1;
    const last = h.pop()!;
    if (last !== top) this.siftDown(last, 0);
    return top;
  }

  /** Places `t` at or above index `i`, moving larger parents down. */
  private siftUp(t: VirtualTimer, i: number): void {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!before(t, p)) break;
      h[i] = p;
      p.index = i;
      i = parent;
    }
    h[i] = t;
    t.index = i;
  }

  /** Places `t` at or below index `i`, moving smaller children up. */
  private siftDown(t: VirtualTimer, i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && before(h[r]!, h[l]!) ? r : l;
      const child = h[c]!;
      if (!before(child, t)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = t;
    t.index = i;
  }
}

export interface VirtualClockOptions {
  /** Start instant, ms since the epoch. Default 2026-01-01T08:00:00+08:00. */
  readonly start?: number;
  /** Jump to the next timer when the event loop is idle (default true). */
  readonly autoAdvance?: boolean;
  /**
   * What happens between two timers due at the same instant (see the file header):
   * - 'settle' (default): one event-loop turn after every timer, so the work a timer started
   *   (promise chains, process.nextTick) has run before the next timer fires. Safe for any code.
   * - 'batch': every timer due at the current instant fires back to back, then one turn lets
   *   the work of all of them run. For pure in-memory simulations whose timers at one instant
   *   do not cancel or depend on each other's follow-up work (a fleet of independent buses).
   */
  readonly sameInstant?: 'settle' | 'batch';
}

/**
 * Event-loop turns (setImmediate) after a timer fires, before the next one may fire. One turn
 * is enough: Node runs every queued microtask and process.nextTick callback to completion after
 * each macrotask, so work that is a chain of promises and nextTicks (everything on the in-memory
 * links, the bus, the simulators and the masters) has settled when the turn ends. Work that waits
 * on real I/O (mock serial, sockets) must hold() the clock; no turn count would make it safe
 * otherwise. It was 3 from the first commit (a margin, never needed: every test and the golden
 * capture give the same events and instants with 1), at about 1.5 us a turn.
 */
const IDLE_TURNS = 1;
/** Turns run() gives real work once no timer is pending, before it reports a deadlock. */
const DEADLOCK_TURNS = 20;

export class VirtualClock implements Clock {
  readonly virtual = true;
  private current: number;
  private seq = 0;
  private nextId = 1;
  private readonly timers = new TimerHeap();
  private holds = 0;
  private looping = false;
  private readonly autoAdvance: boolean;
  private readonly batch: boolean;

  constructor(options: VirtualClockOptions = {}) {
    this.current = options.start ?? Date.UTC(2026, 0, 1, 0, 0, 0);
    this.autoAdvance = options.autoAdvance ?? true;
    this.batch = options.sameInstant === 'batch';
  }

  now(): number {
    return this.current;
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.timers.size;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const t = new VirtualTimer(this.nextId++, this.current + Math.max(0, ms), this.seq++, callback, this.timers);
    this.timers.push(t);
    this.kick();
    return t;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    // Only this clock's own timers; a handle from another clock is ignored, as before.
    if (handle instanceof VirtualTimer && handle.queue === this.timers) this.timers.cancel(handle);
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
        await idleTurns(DEADLOCK_TURNS);
        if (settled || this.timers.size > 0 || this.holds > 0) continue;
        throw new Error('VirtualClock.run: the work is waiting but no timer is pending (deadlock)');
      }
      this.fireNext();
    }
    return p;
  }

  /** Fires the next timer; with sameInstant 'batch', also every other one due at that instant. */
  private fireNext(): void {
    const t = this.timers.pop();
    if (!t) return;
    if (t.due > this.current) this.current = t.due;
    t.callback();
    if (!this.batch) return;
    for (;;) {
      // A timer that started real I/O (hold) ends the batch: the I/O must settle first.
      const next = this.timers.peek();
      if (!next || next.due > this.current || this.holds > 0) return;
      this.timers.pop();
      next.callback();
    }
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

function idleTurns(n = IDLE_TURNS): Promise<void> {
  if (n === 1) return new Promise<void>((resolve) => setImmediate(resolve));
  return (async () => {
    for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  })();
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
