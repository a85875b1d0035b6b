/**
 * The concentrator's meter side (`ConcentratorCore`, types.ts): the archive, its local ports with
 * the protocol masters on them, the nightly collection task, the stored daily readings and events,
 * transparent forwarding, remote control and the terminal clock. It knows nothing of 1376.1 frames
 * (the uplink, terminal.ts, is another part).
 *
 *   const core = createConcentratorCore({ clock, ports: [{ port: 2, medium: 'rs485', link, line }], archive });
 *   core.start();   // 00:05 every night (collection.ts)
 *
 * - One exchange on a port at a time (readers.ts `PortChannel`): the collection task takes the port
 *   one point at a time; forwarding, a current reading and control wait for the port and go before
 *   the task's next point.
 * - Terminal clock: `now()` = the injected clock + the offset time sync set (`setTime`, CLK-01); the
 *   collection schedule follows it.
 * - Forwarding (CON-07): the frame goes out byte for byte behind the port's preamble (4 x FE on
 *   RS-485, the wake-up FE of `wakeUpMs` when the port has one; none on M-Bus); the reply is every
 *   byte received from the end of transmission until `frameTimeoutMs` passes without a first byte or
 *   `byteTimeoutMs` passes without another, with leading FEH stripped; null when nothing came.
 * - Reboot (ROB-08): the running work is cut (port masters disposed, the task stopped), the
 *   concentrator is off for `offMs` (on-demand work answers 'no-reply'), then the task starts again
 *   if it ran; archive, stored readings, ERC 39 bookkeeping and events are kept, and ERC 14 (power
 *   off/on, important) is recorded with both instants.
 *
 * Never throws on what a meter or a caller sends at run time: every outcome is a `ReadResult`.
 * Creating a core with a bad port list or a refused archive entry is a programmer's error (UsageError).
 */
import { EventEmitter } from 'node:events';
import { concatBytes } from '../../harness/core/bytes.ts';
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import { CHINA_UTC_OFFSET_MINUTES } from '../../harness/core/calendar.ts';
import { UsageError } from '../../harness/core/errors.ts';
import { Archive } from './archive.ts';
import { CollectionTask, localMinute } from './collection.ts';
import { classify, failure, PortChannel, readCurrentValue, remoteControl, RS485_PREAMBLE, type ControlAction } from './readers.ts';
import { CurveStore, DailyStore, EventLog } from './storage.ts';
import type {
  ArchiveChange,
  ArchivePoint,
  CollectionRun,
  ConcentratorCore,
  ConcentratorEvent,
  ConcentratorPort,
  DailyCurve,
  DailyReading,
  PointValue,
  ReadResult,
} from './types.ts';

/** 1376.1 ERC 14, terminal power off/on. */
export const ERC_POWER_OFF_ON = 14;
/** Local ports MeterLab's concentrator may have: 2..4 RS-485 1..3, 5..30 further local ports (gw1376 `Port`, CON-07). */
export const LOCAL_PORTS = { min: 2, max: 30 } as const;

/**
 * Broken variants of the reference concentrator (the material for the collection suite's broken
 * targets). Each switch names the field fault it reproduces.
 */
export interface ConcentratorDefects {
  /**
   * Only yesterday is ever read: no 补抄 of the last 3 days (COL-03). The field fault: a concentrator
   * that reads 上1次日冻结 once a night, so a meter that was unreachable for a night loses that day for
   * good although its own daily freezes still hold it.
   */
  readonly skipReRead?: boolean;
  /**
   * Forwarding (AFN 10 F1) changes one byte of the frame - the last data byte before the checksum,
   * plus one - and fixes the checksum, so the meter still answers, but not what the master asked
   * (CON-07 asks byte for byte). The field fault: a concentrator that rebuilds forwarded frames.
   */
  readonly alterForwardedByte?: boolean;
  /**
   * No ERC 39 when a re-read fails (COL-04): the master station never learns that a day is lost
   * unless it looks for the gap itself. The field fault: the event disabled or never implemented.
   */
  readonly noFailedReReadEvent?: boolean;
  /**
   * The N-th last daily freeze is stored as the day N - 1 before yesterday, whatever the freeze time
   * (0506000N) says. The field fault: a concentrator that trusts its own calendar, so a meter whose
   * clock is late (not yet frozen at 00:05) has the day before's freeze stored as yesterday's: one
   * day's energy twice, another day never.
   */
  readonly dayFromReadTime?: boolean;
  /**
   * One pass a night at 00:05 and no retries until 04:00 (COL-03, GAP-02). The field fault: a
   * concentrator whose task runs once, so a meter busy or asleep at 00:05 loses its day until the
   * next night's re-read.
   */
  readonly noRetry?: boolean;
  /**
   * Each load record is filed one interval early: the record stamped 00:15 becomes the 00:00 point
   * of the curve (COL-12). The field fault: a concentrator that takes a record's time as the start of
   * the interval it closes, so every curve the master gets is shifted by 15 minutes and misses its
   * last point.
   */
  readonly curveShifted?: boolean;
}

export interface CreateConcentratorCoreOptions {
  readonly clock: Clock;
  readonly ports: readonly ConcentratorPort[];
  /** The archive to start with (as if downloaded); a refused entry throws a UsageError naming it. */
  readonly archive?: readonly ArchivePoint[];
  readonly defects?: ConcentratorDefects;
  /**
   * COL-12: read the 15-minute load curves of DL/T 645 points (their load records) after the daily
   * freezes, for AFN 0D F81/F89/F101. Default off: a meter without load records would only cost
   * an abnormal reply a day. `intervalMinutes` 15 (density m = 1), 30 or 60.
   */
  readonly curves?: boolean | { readonly intervalMinutes: 15 | 30 | 60 };
  /** The terminal's local time (collection schedule, dates). Default UTC+8 (480). */
  readonly utcOffsetMinutes?: number;
  readonly log?: (line: string) => void;
}

export function createConcentratorCore(options: CreateConcentratorCoreOptions): ReferenceConcentratorCore {
  return new ReferenceConcentratorCore(options);
}

export class ReferenceConcentratorCore implements ConcentratorCore {
  readonly capacity: number;
  readonly defects: ConcentratorDefects;
  readonly utcOffsetMinutes: number;
  private readonly clock: Clock;
  private readonly ports: ReadonlyMap<number, ConcentratorPort>;
  private readonly archive: Archive;
  private readonly store = new DailyStore();
  private readonly curveStore = new CurveStore();
  private readonly eventLog = new EventLog();
  private readonly emitter = new EventEmitter<{ event: [e: ConcentratorEvent] }>();
  private readonly channels = new Map<number, PortChannel>();
  private readonly task: CollectionTask;
  private readonly log: ((line: string) => void) | undefined;
  private offsetMs = 0;
  private poweredOff = false;

  constructor(o: CreateConcentratorCoreOptions) {
    this.clock = o.clock;
    this.defects = { ...o.defects };
    this.utcOffsetMinutes = o.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES;
    this.log = o.log;
    const ports = new Map<number, ConcentratorPort>();
    for (const p of o.ports) {
      if (!Number.isInteger(p.port) || p.port < LOCAL_PORTS.min || p.port > LOCAL_PORTS.max) {
        throw new UsageError(`port ${String(p.port)}: a local port of the concentrator is ${LOCAL_PORTS.min}..${LOCAL_PORTS.max} (2..4 RS-485 1..3, 5..30 further ports; CON-07)`);
      }
      if (ports.has(p.port)) throw new UsageError(`port ${p.port} is given twice`);
      if (p.medium !== 'rs485' && p.medium !== 'mbus') throw new UsageError(`port ${p.port}: medium must be rs485 or mbus, got ${String(p.medium)}`);
      ports.set(p.port, p);
    }
    this.ports = ports;
    this.archive = new Archive(ports);
    this.capacity = this.archive.capacity;
    this.task = new CollectionTask({
      clock: this.clock,
      now: () => this.now(),
      utcOffsetMinutes: this.utcOffsetMinutes,
      archive: this.archive,
      store: this.store,
      channel: (port) => this.channel(port),
      recordEvent: (e) => this.recordEvent(e),
      skipReRead: this.defects.skipReRead === true,
      failedReReadEvent: this.defects.noFailedReReadEvent !== true,
      dayFromReadTime: this.defects.dayFromReadTime === true,
      noRetry: this.defects.noRetry === true,
      curveShifted: this.defects.curveShifted === true,
      ...(o.curves ? { curves: { store: this.curveStore, intervalMinutes: o.curves === true ? 15 : o.curves.intervalMinutes } } : {}),
    });
    if (o.archive) {
      const refused = this.setPoints(o.archive).filter((c) => !c.ok);
      if (refused.length > 0) throw new UsageError(`archive refused: ${refused.map((c) => `serial ${c.serial}: ${c.reason}`).join('; ')}`);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Clock

  now(): number {
    return this.clock.now() + this.offsetMs;
  }

  setTime(ms: number): void {
    if (!Number.isFinite(ms)) return;
    this.offsetMs = ms - this.clock.now();
    this.log?.(`terminal clock set to ${localMinute(ms, this.utcOffsetMinutes)}`);
    this.task.replan();
  }

  // -------------------------------------------------------------------------------------------
  // Archive

  points(): readonly ArchivePoint[] {
    return this.archive.points();
  }

  point(pn: number): ArchivePoint | undefined {
    return this.archive.entry(pn)?.point;
  }

  setPoints(points: readonly ArchivePoint[]): readonly ArchiveChange[] {
    return this.archive.set(points, this.now(), (pn) => {
      this.store.forget(pn);
      this.curveStore.forget(pn);
    });
  }

  clearArchive(): void {
    this.archive.clear();
  }

  /** Data-area initialisation (AFN 01 F2-F4): every stored reading and event record goes; the archive stays. */
  clearData(): void {
    this.store.clear();
    this.curveStore.clear();
    this.eventLog.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Data

  daily(pn: number, day: string): DailyReading | undefined {
    return this.store.get(pn, day);
  }

  curve(pn: number, day: string): DailyCurve | undefined {
    return this.curveStore.get(pn, day);
  }

  async readCurrent(pn: number, signal?: AbortSignal): Promise<ReadResult<{ readonly readAt: number; readonly value: PointValue }>> {
    const p = this.point(pn);
    if (!p) return failure('no-such-point', `no measuring point ${pn} in the archive`);
    const r = await this.onDemand(p.port, async (s) => {
      const v = await readCurrentValue(s, p);
      return v.ok ? { ok: true as const, value: { readAt: this.now(), value: v.value } } : v;
    }, signal);
    return r;
  }

  async forward(port: number, frame: Uint8Array, options: { readonly frameTimeoutMs: number; readonly byteTimeoutMs: number }): Promise<ReadResult<Uint8Array | null>> {
    const cfg = this.ports.get(port);
    if (!cfg) return failure('refused', `no local port ${port} (ports: ${[...this.ports.keys()].join(', ')})`);
    const { frameTimeoutMs, byteTimeoutMs } = options;
    if (!(frameTimeoutMs >= 0) || !(byteTimeoutMs >= 0) || !Number.isFinite(frameTimeoutMs) || !Number.isFinite(byteTimeoutMs)) {
      return failure('refused', `forwarding needs finite non-negative timeouts, got ${frameTimeoutMs} / ${byteTimeoutMs} ms`);
    }
    const out = this.defects.alterForwardedByte ? alterOneByte(frame) : frame;
    return this.onDemand(port, async (s) => {
      const channel = this.channel(port)!;
      const received: Uint8Array[] = [];
      let transmitted = false;
      let timer: TimerHandle | undefined;
      let done: () => void = () => undefined;
      const finished = new Promise<void>((resolve) => {
        done = resolve;
      });
      const wait = (ms: number): void => {
        this.clock.clearTimeout(timer);
        timer = this.clock.setTimeout(done, ms);
      };
      // frameTimeoutMs for the first byte after the end of transmission, byteTimeoutMs after each chunk.
      s.listen((chunk) => {
        received.push(chunk);
        if (transmitted) wait(byteTimeoutMs);
      });
      s.cut.addEventListener('abort', done, { once: true });
      try {
        await s.write(concatBytes(preamble(cfg, channel.charMs), out));
        transmitted = true;
        wait(received.length > 0 ? byteTimeoutMs : frameTimeoutMs);
        await finished;
      } finally {
        this.clock.clearTimeout(timer);
        s.cut.removeEventListener('abort', done);
        s.listen(undefined);
      }
      if (s.cut.aborted) return failure('no-reply', `port ${port}: forwarding cut (the concentrator stopped)`);
      const reply = concatBytes(...received);
      let i = 0;
      while (i < reply.length && reply[i] === 0xfe) i++;
      return { ok: true as const, value: i < reply.length ? reply.slice(i) : null };
    });
  }

  async control(pn: number, action: 'trip' | 'allow-close' | 'close'): Promise<ReadResult<void>> {
    const p = this.point(pn);
    if (!p) return failure('no-such-point', `no measuring point ${pn} in the archive`);
    if (p.protocol !== 'dlt645-2007') return failure('refused', `pn ${pn} is a ${p.protocol} point: remote control (1CH) is for DL/T 645 meters`);
    if (!['trip', 'allow-close', 'close'].includes(action)) return failure('refused', `unknown control action ${JSON.stringify(action)}`);
    return this.onDemand(p.port, (s) => remoteControl(s, p, action as ControlAction, this.now(), this.utcOffsetMinutes));
  }

  // -------------------------------------------------------------------------------------------
  // Events

  events(important: boolean): readonly ConcentratorEvent[] {
    return this.eventLog.list(important);
  }

  eventCounters(): { readonly important: number; readonly normal: number } {
    return this.eventLog.counters();
  }

  on(event: 'event', listener: (e: ConcentratorEvent) => void): this {
    this.emitter.on(event, listener);
    return this;
  }

  off(event: 'event', listener: (e: ConcentratorEvent) => void): this {
    this.emitter.off(event, listener);
    return this;
  }

  private recordEvent(e: ConcentratorEvent): void {
    this.eventLog.add(e);
    this.log?.(`ERC ${e.erc}: ${JSON.stringify(e.fields)}`);
    this.emitter.emit('event', e);
  }

  // -------------------------------------------------------------------------------------------
  // Task and power

  collectionRuns(): readonly CollectionRun[] {
    return this.task.collectionRuns();
  }

  start(): void {
    this.task.start();
  }

  stop(): void {
    this.task.stop();
    this.cut();
  }

  async reboot(offMs: number): Promise<void> {
    const wasRunning = this.task.isStarted;
    const offAt = this.now();
    this.poweredOff = true;
    this.task.stop();
    this.cut();
    await this.clock.sleep(Math.max(0, Number.isFinite(offMs) ? offMs : 0));
    this.poweredOff = false;
    const onAt = this.now();
    this.recordEvent({
      erc: ERC_POWER_OFF_ON,
      important: true,
      at: onAt,
      fields: { offTime: localMinute(offAt, this.utcOffsetMinutes), onTime: localMinute(onAt, this.utcOffsetMinutes) },
    });
    if (wasRunning) this.task.start();
  }

  /** Resolves when no collection pass is running (tests). */
  idle(): Promise<void> {
    return this.task.idle();
  }

  // -------------------------------------------------------------------------------------------
  // Ports

  private channel(port: number): PortChannel | undefined {
    if (this.poweredOff) return undefined;
    const existing = this.channels.get(port);
    if (existing && !existing.isDisposed) return existing;
    const cfg = this.ports.get(port);
    if (!cfg) return undefined;
    const c = new PortChannel(cfg, this.clock, () => this.now());
    this.channels.set(port, c);
    return c;
  }

  /** Lets every port go: pending exchanges end, the next user makes a new channel. */
  private cut(): void {
    for (const c of this.channels.values()) c.dispose();
    this.channels.clear();
  }

  private async onDemand<T>(port: number, work: (s: Parameters<Parameters<PortChannel['use']>[1]>[0]) => Promise<ReadResult<T>>, signal?: AbortSignal): Promise<ReadResult<T>> {
    const channel = this.channel(port);
    if (!channel) return failure('no-reply', this.poweredOff ? 'the concentrator is off (rebooting)' : `no local port ${port}`);
    if (signal?.aborted) return failure('busy', 'aborted before the port was free');
    let waiting = true;
    const run = channel
      .use(
        'on-demand',
        (s) => {
          waiting = false;
          return work(s);
        },
        signal,
      )
      .catch((e: unknown) => (waiting && signal?.aborted ? failure('busy', `aborted while waiting for port ${port}`) : classify(e)));
    if (!signal) return run;
    // An abort during the exchange answers at once; the exchange itself still ends on the port.
    return new Promise<ReadResult<T>>((resolve) => {
      const onAbort = (): void => resolve(waiting ? failure('busy', `aborted while waiting for port ${port}`) : failure('no-reply', 'aborted during the exchange'));
      signal.addEventListener('abort', onAbort, { once: true });
      void run.then((r) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      });
    });
  }
}

/** The FE bytes in front of a forwarded frame: 4 on RS-485 (CON-05), the wake-up when the port has one, none on M-Bus. */
function preamble(port: ConcentratorPort, charMs: number): Uint8Array {
  if (port.medium === 'mbus') return new Uint8Array(0);
  const wake = port.wakeUpMs ?? 0;
  const n = wake > 0 ? Math.max(RS485_PREAMBLE, Math.ceil(wake / charMs - 1e-9)) : RS485_PREAMBLE;
  return new Uint8Array(n).fill(0xfe);
}

/**
 * The `alterForwardedByte` defect: in the frame from its first 68H to a closing 16H, the byte before
 * the checksum + 1 and the checksum (sum from 68H, mod 256: DL/T 645 and CJ/T 188 alike) fixed.
 * Bytes that do not look like such a frame get their last byte + 1.
 */
export function alterOneByte(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame);
  const start = out.indexOf(0x68);
  const end = out.length - 1;
  if (start >= 0 && end - start >= 3 && out[end] === 0x16) {
    const cs = end - 1;
    out[cs - 1] = (out[cs - 1]! + 1) & 0xff;
    let sum = 0;
    for (let i = start; i < cs; i++) sum += out[i]!;
    out[cs] = sum & 0xff;
  } else if (out.length > 0) {
    out[end] = (out[end]! + 1) & 0xff;
  }
  return out;
}
