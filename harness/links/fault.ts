/**
 * Fault injection on any link, deterministic for a seed: drop, corrupt, duplicate or split
 * chunks, or delay them, independently per direction:
 *
 * - 'tx': chunks our side writes, on their way into the wrapped link;
 * - 'rx': chunks the wrapped link receives, on their way to our listeners.
 *
 * Probabilities apply per chunk. A chunk is whatever the wrapped link hands over: a whole frame
 * for most writes and TCP reads and on the RS-485 bus model (frame delivery), a single byte on a
 * bus node attached with `delivery: 'byte'` (for faults per character). Order is kept in each
 * direction (a delayed chunk holds back the ones after it). `injectOnce` scripts exactly one
 * fault on the next chunk in a direction (optionally the next chunk that matches).
 */
import type { Clock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import type { SeededRandom } from '../core/random.ts';
import { LinkBase, type Link } from './link.ts';
import { copyBytes, emitErrorIfHeard } from './internal.ts';

export type FaultDirection = 'tx' | 'rx';

export interface FaultSettings {
  /** Probability that a chunk is lost. */
  readonly drop?: number;
  /** Probability that one bit of one byte of a chunk is flipped. */
  readonly corrupt?: number;
  /** Probability that a chunk is delivered twice. */
  readonly duplicate?: number;
  /** Probability that a chunk of 2+ bytes is split in two deliveries. */
  readonly split?: number;
  /** Extra delay per chunk: fixed, or uniform integer ms in [min, max]. */
  readonly delayMs?: number | readonly [number, number];
}

export type FaultKind = 'drop' | 'corrupt' | 'duplicate' | 'split' | 'delay';

export interface ScriptedFault {
  readonly direction: FaultDirection;
  readonly kind: FaultKind;
  /** Only the next chunk for which this is true (default: the next chunk). */
  readonly match?: (chunk: Uint8Array) => boolean;
  /** corrupt: which byte (default chosen by the seeded random). */
  readonly byteIndex?: number;
  /** corrupt: XOR mask for that byte (default one random bit). */
  readonly mask?: number;
  /** split: bytes in the first part (default chosen by the seeded random). */
  readonly at?: number;
  /** delay: ms (default 1000). */
  readonly ms?: number;
}

export interface FaultCounters {
  chunks: number;
  dropped: number;
  corrupted: number;
  duplicated: number;
  split: number;
  delayed: number;
}

export interface FaultStats {
  readonly tx: FaultCounters;
  readonly rx: FaultCounters;
}

export interface FaultInjectingLinkOptions {
  readonly link: Link;
  readonly random: SeededRandom;
  readonly clock: Clock;
  readonly tx?: FaultSettings;
  readonly rx?: FaultSettings;
  /** Default `fault:<inner name>`. */
  readonly name?: string;
}

function counters(): FaultCounters {
  return { chunks: 0, dropped: 0, corrupted: 0, duplicated: 0, split: 0, delayed: 0 };
}

export class FaultInjectingLink extends LinkBase {
  readonly name: string;
  readonly inner: Link;
  readonly stats: FaultStats = { tx: counters(), rx: counters() };
  private readonly random: SeededRandom;
  private readonly clock: Clock;
  private settings: { tx: FaultSettings; rx: FaultSettings };
  private readonly scripted: ScriptedFault[] = [];
  /** Per-direction chain that keeps chunks in order through delays. */
  private readonly chains: Record<FaultDirection, Promise<void>> = { tx: Promise.resolve(), rx: Promise.resolve() };
  private closed = false;

  constructor(opts: FaultInjectingLinkOptions) {
    super();
    this.inner = opts.link;
    this.random = opts.random;
    this.clock = opts.clock;
    this.name = opts.name ?? `fault:${opts.link.name}`;
    this.settings = { tx: opts.tx ?? {}, rx: opts.rx ?? {} };
    this.inner.on('data', (chunk) => {
      if (this.closed) return;
      void this.enqueue('rx', chunk, async (c) => {
        if (!this.closed) this.emit('data', c);
      });
    });
    this.inner.on('error', (e) => emitErrorIfHeard(this, e));
    this.inner.on('close', () => {
      // Chunks already received are delivered (or dropped by their own fate) before 'close'.
      void this.chains.rx.then(() => {
        if (this.closed) return;
        this.closed = true;
        this.emit('close');
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.inner.isOpen;
  }

  /** Replaces the random fault settings of one direction. */
  setFaults(direction: FaultDirection, settings: FaultSettings): void {
    this.settings[direction] = settings;
  }

  /** Queues a one-shot fault for the next (matching) chunk in its direction. */
  injectOnce(fault: ScriptedFault): void {
    this.scripted.push(fault);
  }

  /** One-shot faults not yet applied. */
  get pendingScripted(): readonly ScriptedFault[] {
    return [...this.scripted];
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    return this.enqueue('tx', copyBytes(bytes), (c) => this.inner.write(c));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /**
   * Decides the chunk's fate now (so random draws happen in arrival order, whatever the delays),
   * then forwards the resulting deliveries after the previous chunk's in this direction.
   */
  private enqueue(dir: FaultDirection, chunk: Uint8Array, forward: (c: Uint8Array) => Promise<void>): Promise<void> {
    const plan = this.plan(dir, chunk);
    const run = this.chains[dir].then(async () => {
      if (plan.delayMs > 0) await this.clock.sleep(plan.delayMs);
      for (const part of plan.deliveries) {
        if (this.closed) return;
        await forward(part);
      }
    });
    // A failed forward must not stall later chunks; the writer still sees its own failure.
    this.chains[dir] = run.catch(() => undefined);
    return run;
  }

  private plan(dir: FaultDirection, chunk: Uint8Array): { delayMs: number; deliveries: Uint8Array[] } {
    const st = this.stats[dir];
    const s = this.settings[dir];
    st.chunks++;
    const i = this.scripted.findIndex((f) => f.direction === dir && (!f.match || f.match(chunk)));
    if (i >= 0) {
      const f = this.scripted.splice(i, 1)[0]!;
      return this.apply(dir, chunk, f.kind, f);
    }
    // Fixed order of draws per chunk, so a seed always means the same faults.
    let deliveries: Uint8Array[] = [chunk];
    if (s.drop && this.random.chance(s.drop)) return this.apply(dir, chunk, 'drop', {});
    let data = chunk;
    if (s.corrupt && this.random.chance(s.corrupt)) data = this.apply(dir, data, 'corrupt', {}).deliveries[0]!;
    deliveries = [data];
    if (s.split && data.length >= 2 && this.random.chance(s.split)) deliveries = this.apply(dir, data, 'split', {}).deliveries;
    if (s.duplicate && this.random.chance(s.duplicate)) {
      st.duplicated++;
      deliveries = [...deliveries, ...deliveries];
    }
    let delayMs = 0;
    if (s.delayMs !== undefined) {
      delayMs = typeof s.delayMs === 'number' ? s.delayMs : this.random.int(s.delayMs[0], s.delayMs[1]);
      if (delayMs > 0) st.delayed++;
    }
    return { delayMs, deliveries };
  }

  private apply(
    dir: FaultDirection,
    chunk: Uint8Array,
    kind: FaultKind,
    f: Partial<ScriptedFault>,
  ): { delayMs: number; deliveries: Uint8Array[] } {
    const st = this.stats[dir];
    switch (kind) {
      case 'drop':
        st.dropped++;
        return { delayMs: 0, deliveries: [] };
      case 'corrupt': {
        const out = copyBytes(chunk);
        const at = f.byteIndex ?? this.random.int(0, out.length - 1);
        const mask = f.mask ?? 1 << this.random.int(0, 7);
        if (at >= 0 && at < out.length) out[at]! ^= mask & 0xff;
        st.corrupted++;
        return { delayMs: 0, deliveries: [out] };
      }
      case 'duplicate':
        st.duplicated++;
        return { delayMs: 0, deliveries: [chunk, chunk] };
      case 'split': {
        if (chunk.length < 2) return { delayMs: 0, deliveries: [chunk] };
        const at = Math.min(chunk.length - 1, Math.max(1, f.at ?? this.random.int(1, chunk.length - 1)));
        st.split++;
        return { delayMs: 0, deliveries: [chunk.subarray(0, at), chunk.subarray(at)] };
      }
      case 'delay':
        st.delayed++;
        return { delayMs: f.ms ?? 1000, deliveries: [chunk] };
    }
  }
}
