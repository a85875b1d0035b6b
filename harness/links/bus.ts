/**
 * RS-485 bus model: a half-duplex, multi-drop pair of wires carrying characters at their real
 * line rate, in the injected clock's time (ARCHITECTURE.md "Line time is modelled").
 *
 * - Every byte a node writes reaches every OTHER attached node. Byte k of a write that starts
 *   transmitting at `t0` arrives at `t0 + (k + 1) * charTime`, where charTime is the
 *   transmitter's `characterTimeMs` (2400 8E1: 11/2400 s = 4.583 ms). A node's own writes queue
 *   behind each other; `write()` resolves when its last byte is off the wire.
 * - Delivery (issue 7). 'frame' (the default): a write reaches each receiver as ONE 'data'
 *   event at the instant its last byte arrives, with the timing of its bytes as the event's
 *   second argument (`ChunkTiming`: byte k of the chunk arrived at firstByteAt + k *
 *   characterTimeMs), so line time stays exact while a 20-byte frame costs one timer instead of
 *   20. 'byte': one event per character at its arrival instant, the model as it was first built;
 *   chosen per bus (`delivery`) or forced by any open node attached with `delivery: 'byte'` (a
 *   fault injector or a sniffer that must act between two characters).
 *   A frame-mode write falls back to the byte path when it must: when another node's write
 *   overlaps it (a collision: both writes go byte by byte from then on, so receivers hear the
 *   characters interleaved in arrival order as on a real line), and the bytes that have already
 *   arrived are handed over early, as one chunk with their timing, whenever a receiver's view
 *   changes mid-frame: a node closes (transmitter or receiver), changes its line settings, or is
 *   attached. What frame delivery does NOT reproduce: a receiver that acts while a frame is on
 *   the wire (its own timer fires; a master flushes its receiver just before a retry that then
 *   collides with a late reply) has not yet heard that frame's first bytes, which in byte mode it
 *   would have; and when characters of two colliding writes arrive at the very same instant,
 *   their order may differ from byte mode's. Neither happens in the suites or the golden capture
 *   (all pass unchanged, byte for byte and instant for instant, in both modes).
 * - There is no carrier sense (a UART does not listen before talking): if two nodes transmit at
 *   overlapping times, every pair of overlapping characters is corrupted - each is replaced by
 *   the bitwise OR of the characters it overlapped (bus contention; deterministic) - and
 *   `stats.collisions` counts the overlapping pairs of writes. A write that starts exactly when
 *   another ends (within 1 us) does not overlap it. Overlaps are known when the later write
 *   starts, before any overlapped character has arrived, so delivery at the end sees them all.
 * - A node whose line settings differ from the transmitter's (a meter after a baud-rate change)
 *   receives what its UART would sample from the transmitter's waveform: with another baud rate
 *   or parity the bytes come out garbled. A character with a framing or parity error reads as
 *   00 (POSIX termios with INPCK and neither IGNPAR nor PARMRK). Each transmitted character is
 *   sampled on its own (idle line after it), so the receiver still gets one byte per character.
 *   A stop-bit difference alone is harmless, as on a real line. The receiver's settings at the
 *   instant a character arrives apply (setLine mid-frame hands over what arrived before it).
 *
 * - Roles (issue 11). A node is a 'peer' (default: hears every other node, as on RS-485), a
 *   'master' or a 'slave'. A slave does not hear other slaves: on an M-Bus segment the master
 *   talks by voltage modulation, which every slave hears, and slaves answer by current
 *   modulation, which only the master's level converter senses (EN 13757-2). Slaves' writes
 *   still collide with each other on the wire as above; masters and peers hear everything.
 *
 * No real timers: every delivery is a timer on the injected clock.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import { characterTimeMs, DLT645_DEFAULT_LINE, formatLine, LinkBase, sameLine, type ChunkTiming, type LineSettings, type ReceiveFilter } from './link.ts';

/** How written bytes reach the other nodes (see the file header). */
export type BusDelivery = 'frame' | 'byte';

export interface Rs485BusOptions {
  readonly clock: Clock;
  /** Default line settings of attached nodes. Default 2400 8E1. */
  readonly line?: LineSettings;
  /** Prefix of node link names (`${name}:${node}`). Default "bus". */
  readonly name?: string;
  /** 'frame' (default): one event per write at its last byte's arrival; 'byte': one per character. */
  readonly delivery?: BusDelivery;
}

export interface BusNodeOptions {
  readonly line?: LineSettings;
  /** 'byte' forces byte-by-byte delivery on the whole bus while this node is open. */
  readonly delivery?: BusDelivery;
  /** 'peer' (default) hears every node; a 'slave' does not hear other slaves (see the file header). */
  readonly role?: BusNodeRole;
}

/** Who hears whom (see the file header): slaves do not hear slaves; everyone else hears everyone. */
export type BusNodeRole = 'peer' | 'master' | 'slave';

export interface BusStats {
  /** Characters transmitted (counted when each is delivered). */
  bytes: number;
  /** Writes fully transmitted. */
  frames: number;
  /** Pairs of writes (from different nodes) that overlapped in time. */
  collisions: number;
  /** Characters corrupted by a collision. */
  collidedBytes: number;
  /** Deliveries of a character to a node whose line settings differ from the transmitter's. */
  garbledBytes: number;
  /** Chunks not handed to a node whose receive filter said it ignores them (link.ts ReceiveFilter). */
  withheld: number;
}

/**
 * Float guard for "starts exactly when the other ends": times are fractional character times
 * added to epoch milliseconds, whose resolution near 2026 is about 0.24 us. 1 us is far below
 * any character time (115200 8N1: 87 us).
 */
const EPSILON_MS = 1e-3;

/** A transmitter's delivery plans, for the line it transmitted with. */
interface DeliveryPlans {
  readonly line: LineSettings;
  /** The one classify function of every filtering node (undefined: none filters; null: several differ, no plans). */
  readonly classify: ReceiveFilter['classify'] | undefined | null;
  /** By classification (-1: undefined). */
  readonly byKey: Map<number, DeliveryPlan>;
}

interface DeliveryPlan {
  /** Nodes that hear the chunk, in attachment order. */
  readonly to: readonly BusNode[];
  /** Nodes whose receive filter lets the bus withhold it. */
  readonly withheld: number;
}

interface Transmission {
  readonly node: BusNode;
  readonly line: LineSettings;
  readonly start: number;
  readonly charMs: number;
  /** What the transmitter drives. */
  readonly sent: Uint8Array;
  /** What the wire carries: `sent` itself until a collision, then a copy OR-ed with whatever overlapped it. */
  onAir: Uint8Array;
  /** Which characters a collision corrupted (allocated at the first collision). */
  collided: boolean[] | undefined;
  /** Characters delivered so far. */
  next: number;
  /** True once this write goes character by character. */
  byteMode: boolean;
  timer: TimerHandle | undefined;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

function endOf(t: Transmission): number {
  return t.start + t.sent.length * t.charMs;
}

export class Rs485Bus {
  readonly name: string;
  readonly line: LineSettings;
  readonly delivery: BusDelivery;
  readonly stats: BusStats = { bytes: 0, frames: 0, collisions: 0, collidedBytes: 0, garbledBytes: 0, withheld: 0 };
  private readonly clock: Clock;
  /** Attached nodes; replaced, never changed in place, so a delivery can walk it while nodes come and go. */
  private nodes: readonly BusNode[] = [];
  private readonly active: Transmission[] = [];
  private lastIdle: number;
  /** Open nodes attached with delivery 'byte'. */
  private byteNodes = 0;
  /**
   * Who hears a write, worked out once per (transmitter, classification) and kept until the
   * nodes, their lines or their receive filters change (then cleared): on a full bus a frame
   * is then handed to the one or two nodes that hear it without visiting the other 31.
   */
  private readonly plans = new Map<BusNode, DeliveryPlans>();

  constructor(opts: Rs485BusOptions) {
    this.clock = opts.clock;
    this.line = opts.line ?? DLT645_DEFAULT_LINE;
    this.name = opts.name ?? 'bus';
    this.delivery = opts.delivery ?? 'frame';
    this.lastIdle = this.clock.now();
  }

  /** Connects a new node (a meter, the master's adapter, a sniffer that never writes). */
  attach(name: string, opts: BusNodeOptions = {}): BusNode {
    if (this.nodes.some((n) => n.nodeName === name)) {
      throw new LinkError(`${this.name} already has a node named "${name}"`);
    }
    // Bytes already on their way were heard by the nodes attached before this one only.
    this.handOverArrived();
    const byte = opts.delivery === 'byte';
    const node = new BusNode(this, name, `${this.name}:${name}`, opts.line ?? this.line, byte, opts.role ?? 'peer');
    this.nodes = [...this.nodes, node];
    this.plans.clear();
    if (byte && this.byteNodes++ === 0) for (const t of this.active) this.toByteMode(t);
    return node;
  }

  /** Names of the attached nodes, in attachment order. */
  get nodeNames(): string[] {
    return this.nodes.map((n) => n.nodeName);
  }

  /** True while any character is on the wire or queued to be. */
  get busy(): boolean {
    return this.active.length > 0;
  }

  /** Instant the wire last fell silent (or the bus was created), or null while it is busy. */
  get idleSince(): number | null {
    return this.active.length > 0 ? null : this.lastIdle;
  }

  /** Detaches (closes) every node. */
  async close(): Promise<void> {
    await Promise.all([...this.nodes].map((n) => n.close()));
  }

  /** @internal */
  transmit(node: BusNode, bytes: Uint8Array, notBefore: number): { start: number; end: number; done: Promise<void> } {
    const charMs = characterTimeMs(node.line);
    const start = Math.max(this.clock.now(), notBefore);
    const sent = new Uint8Array(bytes);
    let resolve!: () => void;
    let reject!: (e: Error) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const t: Transmission = {
      node,
      line: node.line,
      start,
      charMs,
      sent,
      onAir: sent,
      collided: undefined,
      next: 0,
      byteMode: this.delivery === 'byte' || this.byteNodes > 0,
      timer: undefined,
      resolve,
      reject,
    };
    for (const u of this.active) {
      if (u.node !== node && this.collide(t, u)) {
        // Receivers must hear both writes' characters interleaved, in arrival order.
        this.toByteMode(u);
        t.byteMode = true;
      }
    }
    this.active.push(t);
    this.schedule(t);
    return { start, end: endOf(t), done };
  }

  /** @internal Before `node` changes its line settings: what arrived so far was sampled with the old ones. */
  lineChanging(): void {
    this.handOverArrived();
    this.plans.clear();
  }

  /** @internal Drops a closing node's unsent characters; hands over what had arrived before. */
  abort(node: BusNode): void {
    this.handOverArrived();
    for (const t of [...this.active]) {
      if (t.node !== node) continue;
      this.clock.clearTimeout(t.timer);
      this.finish(t);
      t.reject(new LinkError(`${node.name} closed while transmitting`));
    }
    this.nodes = this.nodes.filter((n) => n !== node);
    this.plans.clear();
    if (node.byteDelivery) this.byteNodes--;
  }

  /** Marks the overlapping characters of two writes; returns whether they overlap at all. */
  private collide(t: Transmission, u: Transmission): boolean {
    const tEnd = endOf(t);
    const uEnd = endOf(u);
    if (!(t.start < uEnd - EPSILON_MS && u.start < tEnd - EPSILON_MS)) return false;
    this.stats.collisions++;
    for (let i = 0; i < t.sent.length; i++) {
      const a0 = t.start + i * t.charMs;
      const a1 = a0 + t.charMs;
      const jFirst = Math.max(0, Math.floor((a0 - u.start) / u.charMs));
      const jLast = Math.min(u.sent.length - 1, Math.ceil((a1 - u.start) / u.charMs));
      for (let j = jFirst; j <= jLast; j++) {
        const b0 = u.start + j * u.charMs;
        const b1 = b0 + u.charMs;
        if (!(a0 < b1 - EPSILON_MS && b0 < a1 - EPSILON_MS)) continue;
        if (j < u.next) continue; // already delivered (cannot happen for overlaps, kept for safety)
        if (t.onAir === t.sent) t.onAir = t.sent.slice();
        if (u.onAir === u.sent) u.onAir = u.sent.slice();
        t.onAir[i]! |= u.sent[j]!;
        u.onAir[j]! |= t.sent[i]!;
        this.markCollided(t, i);
        this.markCollided(u, j);
      }
    }
    return true;
  }

  private markCollided(t: Transmission, i: number): void {
    t.collided ??= new Array<boolean>(t.sent.length).fill(false);
    if (t.collided[i]) return;
    t.collided[i] = true;
    this.stats.collidedBytes++;
  }

  /** Arms the next delivery: the next character's arrival (byte mode) or the last one's (frame mode). */
  private schedule(t: Transmission): void {
    const due = t.byteMode ? t.start + (t.next + 1) * t.charMs : endOf(t);
    t.timer = this.clock.setTimeout(() => this.deliver(t), due - this.clock.now());
  }

  /** Switches a frame-mode write to the byte path: what has arrived goes out now, the rest a character at a time. */
  private toByteMode(t: Transmission): void {
    if (t.byteMode) return;
    t.byteMode = true;
    this.handOver(t);
    if (t.next >= t.sent.length) return; // everything arrived: its end timer finishes it
    this.clock.clearTimeout(t.timer);
    this.schedule(t);
  }

  /** Hands every frame-mode write's arrived characters to the receivers now (see the file header). */
  private handOverArrived(): void {
    for (const t of this.active) if (!t.byteMode) this.handOver(t);
  }

  /** Delivers the characters of `t` that have arrived by now and were not delivered yet. */
  private handOver(t: Transmission): void {
    const arrived = Math.min(t.sent.length, Math.floor((this.clock.now() + EPSILON_MS - t.start) / t.charMs));
    if (arrived > t.next) this.send(t, t.next, arrived);
  }

  private deliver(t: Transmission): void {
    t.timer = undefined;
    const n = t.sent.length;
    if (t.next < n) this.send(t, t.next, t.byteMode ? t.next + 1 : n);
    if (t.next < n) {
      this.schedule(t);
      return;
    }
    this.stats.frames++;
    this.finish(t);
    t.resolve();
  }

  /**
   * Characters [from, to) of `t` to every other open node, each sampled with the receiver's line.
   * Receivers on the transmitter's line share one copy of the characters (a 'data' chunk is
   * read-only, link.ts): a frame heard by the 31 other nodes of a full bus is one allocation,
   * not 31 (issue 7). A receiver on another line gets its own garbled copy.
   */
  private send(t: Transmission, from: number, to: number): void {
    t.next = to;
    const count = to - from;
    this.stats.bytes += count;
    const timing: ChunkTiming = { firstByteAt: t.start + (from + 1) * t.charMs, characterTimeMs: t.charMs };
    // A whole frame delivered at once hands over the write's own copy (`sent`, made in transmit
    // and never written after: a collision works on `onAir`, a copy of its own) instead of a
    // second copy.
    const shared = from === 0 && to === t.sent.length && t.onAir === t.sent ? t.sent : t.onAir.slice(from, to);
    const plans = this.plansOf(t.node, t.line);
    let plan: DeliveryPlan;
    if (plans.classify === null) {
      plan = this.planFor(t.node, t.line, shared);
    } else {
      const key = plans.classify === undefined ? undefined : plans.classify(shared);
      let known = plans.byKey.get(key ?? -1);
      if (known === undefined) {
        known = this.planFor(t.node, t.line, shared, plans.classify, key);
        plans.byKey.set(key ?? -1, known);
      }
      plan = known;
    }
    this.stats.withheld += plan.withheld;
    for (const r of plan.to) {
      if (!r.isOpen) continue;
      let chunk = shared;
      if (!sameLine(r.line, t.line)) {
        chunk = t.onAir.slice(from, to);
        for (let i = 0; i < count; i++) chunk[i] = sampleCharacter(chunk[i]!, t.line, r.line);
        this.stats.garbledBytes += count;
      }
      r.receive(chunk, timing);
    }
  }

  private plansOf(node: BusNode, line: LineSettings): DeliveryPlans {
    const known = this.plans.get(node);
    if (known !== undefined && known.line === line) return known;
    let classify: ReceiveFilter['classify'] | undefined | null = undefined;
    for (const r of this.nodes) {
      const f = r.receiveFilter;
      if (f === undefined || r === node) continue;
      if (classify === undefined) classify = f.classify;
      else if (classify !== f.classify) classify = null;
    }
    const plans: DeliveryPlans = { line, classify, byKey: new Map() };
    this.plans.set(node, plans);
    return plans;
  }

  /** Who hears `chunk` written by `node` with `line`: every other open node but those whose filter excludes it. */
  private planFor(
    node: BusNode,
    line: LineSettings,
    chunk: Uint8Array,
    classifiedBy?: ReceiveFilter['classify'] | null,
    key?: number,
  ): DeliveryPlan {
    const to: BusNode[] = [];
    let withheld = 0;
    for (const r of this.nodes) {
      if (r === node || !r.isOpen) continue;
      if (node.role === 'slave' && r.role === 'slave') continue; // slaves do not hear slaves
      const f = r.receiveFilter;
      if (f !== undefined && sameLine(r.line, line)) {
        // The receiver ignores chunks classified as another key (link.ts ReceiveFilter).
        if (f.classify !== classifiedBy) {
          classifiedBy = f.classify;
          key = classifiedBy(chunk);
        }
        if (key !== undefined && key !== f.key) {
          withheld++;
          continue;
        }
      }
      to.push(r);
    }
    return { to, withheld };
  }

  /** @internal A node's receive filter changed: delivery plans are out of date. */
  filterChanged(): void {
    this.plans.clear();
  }

  private finish(t: Transmission): void {
    const i = this.active.indexOf(t);
    if (i >= 0) this.active.splice(i, 1);
    if (this.active.length === 0) this.lastIdle = this.clock.now();
  }
}

/** One node's connection to the bus: a Link. */
export class BusNode extends LinkBase {
  private open = true;
  private txEnd = -Infinity;
  private currentLine: LineSettings;

  constructor(
    readonly bus: Rs485Bus,
    readonly nodeName: string,
    readonly name: string,
    line: LineSettings,
    /** Attached with delivery 'byte'. */
    readonly byteDelivery = false,
    /** Who hears this node's writes (see the file header). */
    readonly role: BusNodeRole = 'peer',
  ) {
    super();
    this.currentLine = line;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** @internal The receiver's filter, read by the bus when it delivers (link.ts ReceiveFilter). */
  receiveFilter: ReceiveFilter | undefined = undefined;

  /** Lets the bus withhold whole chunks the receiver ignores (link.ts ReceiveFilter; FilteringLink). */
  setReceiveFilter(filter: ReceiveFilter | undefined): void {
    if (filter === this.receiveFilter) return;
    this.receiveFilter = filter;
    this.bus.filterChanged();
  }

  /** This node's UART settings. */
  get line(): LineSettings {
    return this.currentLine;
  }

  /** Changes this node's UART settings (e.g. a meter switching baud rate); applies to later writes and receptions. */
  setLine(line: LineSettings): void {
    if (sameLine(line, this.currentLine)) {
      this.currentLine = line;
      return;
    }
    this.bus.lineChanging();
    this.currentLine = line;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.open) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    const { end, done } = this.bus.transmit(this, bytes, this.txEnd);
    this.txEnd = end;
    return done;
  }

  close(): Promise<void> {
    if (!this.open) return Promise.resolve();
    // Characters that arrived before the close are heard (abort hands them over first).
    this.bus.abort(this);
    this.open = false;
    this.emit('close');
    return Promise.resolve();
  }

  /** @internal */
  receive(chunk: Uint8Array, timing: ChunkTiming): void {
    if (this.open) this.emit('data', chunk, timing);
  }

  override toString(): string {
    return `${this.name} (${formatLine(this.currentLine)})`;
  }
}

/**
 * The character a UART set to `rx` reads from one character sent with `tx`: bits are sampled
 * in the middle of each receive bit time, starting at the start bit's falling edge; the line is
 * idle (1) after the transmitted character. Framing or parity error -> 00.
 */
export function sampleCharacter(value: number, tx: LineSettings, rx: LineSettings): number {
  const frame: number[] = [0];
  let ones = 0;
  for (let b = 0; b < tx.dataBits; b++) {
    const bit = (value >> b) & 1;
    ones += bit;
    frame.push(bit);
  }
  if (tx.parity !== 'none') frame.push(parityBit(ones, tx.parity));
  for (let s = 0; s < tx.stopBits; s++) frame.push(1);
  const txBit = 1 / tx.baudRate;
  const rxBit = 1 / rx.baudRate;
  const level = (k: number): number => {
    // Middle of receive bit k (k = 0 is the start bit).
    const idx = Math.floor(((k + 0.5) * rxBit) / txBit + 1e-9);
    return idx < frame.length ? frame[idx]! : 1;
  };
  let data = 0;
  let rxOnes = 0;
  for (let b = 0; b < rx.dataBits; b++) {
    const bit = level(1 + b);
    data |= bit << b;
    rxOnes += bit;
  }
  let k = 1 + rx.dataBits;
  if (rx.parity !== 'none') {
    if (level(k) !== parityBit(rxOnes, rx.parity)) return 0;
    k++;
  }
  if (level(k) !== 1) return 0; // framing error: no stop bit
  return data;
}

function parityBit(ones: number, parity: 'even' | 'odd'): number {
  return parity === 'even' ? ones & 1 : (ones & 1) ^ 1;
}
