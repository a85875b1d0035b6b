/**
 * Test support for the 1376.1 terminal (terminal.test.ts): a small in-memory `ConcentratorCore`
 * (archive, daily storage, load curves, current values, forwarding responder, control, events) and a scripted
 * master station on memory pairs that builds every frame with the codec's `buildFrame`. Never
 * imported by the simulator itself.
 */
import { EventEmitter } from 'node:events';
import { VirtualClock, type Clock } from '../../harness/core/clock.ts';
import { createMemoryPair } from '../../harness/links/memory.ts';
import type { Link } from '../../harness/links/link.ts';
import {
  Afn,
  buildFrame,
  Gw1376FrameScanner,
  items,
  RespFunction,
  type Address,
  type DataUnitItem,
  type Gw1376Message,
  type TimeTag,
  type UnitSpec,
} from '../../harness/protocols/gw1376/index.ts';
import type {
  ArchiveChange,
  ArchivePoint,
  CollectionRun,
  ConcentratorCore,
  ConcentratorEvent,
  DailyCurve,
  DailyReading,
  PointValue,
  ReadResult,
} from './types.ts';
import { createConcentratorTerminal, type ConcentratorTerminal, type ConcentratorTerminalOptions } from './terminal.ts';

// ---------------------------------------------------------------------------------------------
// Fake core

export interface FakeCoreOptions {
  readonly clock: Clock;
  /** Local ports that exist (default 2, 3, 4 RS-485 and 5 M-Bus). */
  readonly ports?: readonly number[];
  readonly capacity?: number;
}

export class FakeCore extends EventEmitter<{ event: [ConcentratorEvent] }> implements ConcentratorCore {
  readonly capacity: number;
  private readonly clock: Clock;
  private readonly ports: readonly number[];
  private offsetMs = 0;
  private readonly archive = new Map<number, ArchivePoint>();
  private readonly dailies = new Map<string, DailyReading>();
  readonly current = new Map<number, ReadResult<PointValue>>();
  private readonly important: ConcentratorEvent[] = [];
  private readonly normal: ConcentratorEvent[] = [];
  private counters = { important: 0, normal: 0 };
  readonly controls: { pn: number; action: string }[] = [];
  readonly forwards: { port: number; frame: Uint8Array; frameTimeoutMs: number; byteTimeoutMs: number }[] = [];
  readonly timeSets: number[] = [];
  reboots = 0;
  dataCleared = 0;
  /** What a forwarded frame gets back (default: silence). */
  forwardResponder: (port: number, frame: Uint8Array) => Uint8Array | null = () => null;

  constructor(o: FakeCoreOptions) {
    super();
    this.clock = o.clock;
    this.ports = o.ports ?? [2, 3, 4, 5];
    this.capacity = o.capacity ?? 2040;
  }

  now(): number {
    return this.clock.now() + this.offsetMs;
  }

  setTime(ms: number): void {
    this.offsetMs = ms - this.clock.now();
    this.timeSets.push(ms);
  }

  points(): readonly ArchivePoint[] {
    return [...this.archive.values()].sort((a, b) => a.serial - b.serial);
  }

  point(pn: number): ArchivePoint | undefined {
    return [...this.archive.values()].find((p) => p.pn === pn);
  }

  setPoints(points: readonly ArchivePoint[]): readonly ArchiveChange[] {
    return points.map((p) => {
      if (!this.ports.includes(p.port)) return { serial: p.serial, ok: false, reason: `no port ${p.port}` };
      if (p.serial < 1 || p.serial > 2040 || p.pn < 1 || p.pn > 2040) return { serial: p.serial, ok: false, reason: 'serial or pn out of range' };
      if (!this.archive.has(p.serial) && this.archive.size >= this.capacity) return { serial: p.serial, ok: false, reason: 'capacity' };
      this.archive.set(p.serial, p);
      return { serial: p.serial, ok: true };
    });
  }

  clearArchive(): void {
    this.archive.clear();
  }

  clearData(): void {
    this.dataCleared++;
    this.dailies.clear();
    this.curves.clear();
  }

  daily(pn: number, day: string): DailyReading | undefined {
    return this.dailies.get(`${pn}/${day}`);
  }

  putDaily(r: DailyReading): void {
    this.dailies.set(`${r.pn}/${r.day}`, r);
  }

  /** Load curves by pn and day (AFN 0D F81/F89/F101); `curveCalls` records every lookup. */
  private readonly curves = new Map<string, DailyCurve>();
  readonly curveCalls: string[] = [];

  curve(pn: number, day: string): DailyCurve | undefined {
    this.curveCalls.push(`${pn}/${day}`);
    return this.curves.get(`${pn}/${day}`);
  }

  putCurve(c: DailyCurve): void {
    this.curves.set(`${c.pn}/${c.day}`, c);
  }

  readCurrent(pn: number): Promise<ReadResult<{ readonly readAt: number; readonly value: PointValue }>> {
    const r = this.current.get(pn);
    if (!this.point(pn)) return Promise.resolve({ ok: false, reason: 'no-such-point', detail: `p${pn}` });
    if (!r) return Promise.resolve({ ok: false, reason: 'no-reply', detail: 'no value set' });
    return Promise.resolve(r.ok ? { ok: true, value: { readAt: this.now(), value: r.value } } : r);
  }

  async forward(port: number, frame: Uint8Array, options: { readonly frameTimeoutMs: number; readonly byteTimeoutMs: number }): Promise<ReadResult<Uint8Array | null>> {
    this.forwards.push({ port, frame: frame.slice(), ...options });
    if (!this.ports.includes(port)) return { ok: false, reason: 'no-such-point', detail: `no port ${port}` };
    const reply = this.forwardResponder(port, frame);
    if (reply === null) {
      await this.clock.sleep(options.frameTimeoutMs);
      return { ok: true, value: null };
    }
    await this.clock.sleep(100);
    return { ok: true, value: reply };
  }

  control(pn: number, action: 'trip' | 'allow-close' | 'close'): Promise<ReadResult<void>> {
    const p = this.point(pn);
    if (!p || p.kind !== 'electricity') return Promise.resolve({ ok: false, reason: 'no-such-point', detail: `p${pn}` });
    this.controls.push({ pn, action });
    return Promise.resolve({ ok: true, value: undefined });
  }

  events(important: boolean): readonly ConcentratorEvent[] {
    return important ? this.important : this.normal;
  }

  eventCounters(): { readonly important: number; readonly normal: number } {
    return this.counters;
  }

  /** Records an event as the core would, and tells the listeners. */
  addEvent(e: ConcentratorEvent): void {
    (e.important ? this.important : this.normal).push(e);
    this.counters = e.important ? { ...this.counters, important: (this.counters.important + 1) % 256 } : { ...this.counters, normal: (this.counters.normal + 1) % 256 };
    this.emit('event', e);
  }

  collectionRuns(): readonly CollectionRun[] {
    return [];
  }

  start(): void {}
  stop(): void {}

  async reboot(offMs: number): Promise<void> {
    const off = this.now();
    await this.clock.sleep(offMs);
    this.reboots++;
    this.addEvent({ erc: 14, important: true, at: this.now(), fields: { offTime: off, onTime: this.now() } });
  }
}

// ---------------------------------------------------------------------------------------------
// Scripted master station

export interface Received {
  readonly at: number;
  readonly raw: Uint8Array;
  readonly message: Gw1376Message;
}

export const AREA = '0200';
export const TERMINAL = 0x1234;
export const PASSWORD = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
export const MSA = 2;

/** The master's end of every connection the terminal opens, with the frames received on it. */
export class ScriptedMaster {
  readonly connections: Link[] = [];
  /** Instants of every connect() call, refused or not. */
  readonly dialledAt: number[] = [];
  /** connect() rejects while true (the APN refuses). */
  refuse = false;
  /** Confirms every PRM = 1 uplink frame that asks for it (CON) as it arrives. */
  autoConfirm = false;
  private readonly received: Received[] = [];
  private waiting: ((r: Received) => void) | null = null;
  private pfc = 0;
  readonly discarded: Uint8Array[] = [];

  constructor(private readonly clock: Clock) {}

  /** The terminal's `connect`. */
  readonly connect = async (): Promise<Link> => {
    this.dialledAt.push(this.clock.now());
    if (this.refuse) throw new Error('connection refused');
    const [terminalEnd, masterEnd] = createMemoryPair({ names: ['memory:terminal', 'memory:master'] });
    const scanner = new Gw1376FrameScanner();
    masterEnd.on('data', (chunk) => {
      for (const e of scanner.push(chunk)) {
        if (e.type === 'discarded') {
          this.discarded.push(e.bytes);
          continue;
        }
        if (!e.message.ok) throw new Error(`the terminal sent a frame whose units do not decode: ${e.message.error.message}`);
        this.deliver({ at: this.clock.now(), raw: e.decoded.raw, message: e.message.value });
      }
    });
    this.connections.push(masterEnd);
    return terminalEnd;
  };

  get link(): Link {
    const l = this.connections[this.connections.length - 1];
    if (!l) throw new Error('no connection yet');
    return l;
  }

  /** Frames received and not yet taken. */
  get pending(): number {
    return this.received.length;
  }

  /** The next frame from the terminal (in virtual time: wrap in clock.run). */
  next(): Promise<Received> {
    const r = this.received.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Takes every frame received so far. */
  drain(): Received[] {
    return this.received.splice(0);
  }

  private deliver(r: Received): void {
    if (this.autoConfirm && r.message.frame.control.prm && r.message.frame.seq.con) void this.confirm(r);
    const w = this.waiting;
    if (w) {
      this.waiting = null;
      w(r);
    } else this.received.push(r);
  }

  async send(bytes: Uint8Array): Promise<void> {
    await this.link.write(bytes);
  }

  /** AFN 00 F1 (or F2) for an uplink PRM = 1 frame: RSEQ = its PSEQ; C 0BH for a link test, 00H otherwise. */
  async confirm(r: Received, fn: 1 | 2 = 1): Promise<void> {
    const f = r.message.frame;
    await this.send(
      buildFrame({
        control: { dir: false, prm: false, functionCode: f.afn === Afn.linkTest ? RespFunction.linkStatus : RespFunction.confirm },
        address: { ...f.address, msa: MSA },
        afn: Afn.confirmDeny,
        seq: { seq: f.seq.seq },
        units: [{ pn: 0, fn }],
      }),
    );
  }

  /** A request frame; PW from DEFAULT_PW_AFNS unless `pw` says otherwise; PSEQ from the master's PFC. */
  requestFrame(afn: number, units: readonly UnitSpec[], o: { pw?: Uint8Array | null; tp?: TimeTag; seq?: number; address?: Address; functionCode?: number } = {}): Uint8Array {
    const seq = o.seq ?? this.pfc++ & 0x0f;
    const needsPw = [0x01, 0x04, 0x05, 0x06, 0x0f, 0x10].includes(afn);
    const pw = o.pw === undefined ? (needsPw ? PASSWORD : undefined) : (o.pw ?? undefined);
    return buildFrame({
      control: { dir: false, prm: true, functionCode: o.functionCode ?? (afn === Afn.class2Data ? 11 : 10) },
      address: o.address ?? { areaCode: AREA, terminal: TERMINAL, msa: MSA, group: false },
      afn,
      seq: { seq },
      units,
      ...(pw ? { pw } : {}),
      ...(o.tp ? { tp: o.tp } : {}),
    });
  }

  async request(afn: number, units: readonly UnitSpec[], o: Parameters<ScriptedMaster['requestFrame']>[2] = {}): Promise<void> {
    await this.send(this.requestFrame(afn, units, o));
  }
}

/** Every (pn, Fn) item of the received frames, in order. */
export function itemsOf(frames: readonly Received[]): DataUnitItem[] {
  return frames.flatMap((r) => items(r.message));
}

/** AFN and Fn of a received frame's first item, e.g. "00 F1". */
export function kindOf(r: Received): string {
  const first = items(r.message)[0];
  return `${r.message.frame.afn.toString(16).toUpperCase().padStart(2, '0')} F${first?.fn ?? '-'}`;
}

// ---------------------------------------------------------------------------------------------
// A terminal over the fake core, dialling the scripted master, in virtual time

/** 2026-03-10 10:00:00 local (UTC+8), a Tuesday. */
export const START = Date.UTC(2026, 2, 10, 2, 0, 0);

export interface Rig {
  readonly clock: VirtualClock;
  readonly core: FakeCore;
  readonly master: ScriptedMaster;
  readonly terminal: ConcentratorTerminal;
  readonly logs: string[];
  /** The next uplink frame, firing timers until it comes. */
  next(): Promise<Received>;
  /** Starts the terminal and confirms its login. */
  online(): Promise<Received>;
  /** Sends a request and returns every frame of the reply (up to the one with FIN). */
  ask(afn: number, units: readonly UnitSpec[], o?: Parameters<ScriptedMaster['requestFrame']>[2]): Promise<Received[]>;
}

export function createRig(o: Partial<Omit<ConcentratorTerminalOptions, 'core' | 'clock' | 'connect'>> = {}): Rig {
  const clock = new VirtualClock({ autoAdvance: false, start: START });
  const core = new FakeCore({ clock });
  const master = new ScriptedMaster(clock);
  const logs: string[] = [];
  const terminal = createConcentratorTerminal({
    core,
    clock,
    address: { areaCode: AREA, terminal: TERMINAL },
    password: PASSWORD,
    connect: master.connect,
    logger: { debug: (m) => logs.push(m) },
    ...o,
  });
  const next = (): Promise<Received> => clock.run(master.next());
  return {
    clock,
    core,
    master,
    terminal,
    logs,
    next,
    async online() {
      terminal.start();
      const login = await next();
      await master.confirm(login);
      await clock.advance(0);
      return login;
    },
    async ask(afn, units, opts = {}) {
      await master.request(afn, units, opts);
      const out: Received[] = [];
      for (;;) {
        const r = await next();
        out.push(r);
        if (r.message.frame.seq.fin) return out;
      }
    },
  };
}
