/**
 * The concentrator's side of each local port: one exchange at a time on the port (collection,
 * forwarding and control share it), the protocol masters that talk on it (harness/masters:
 * `Dlt645Master`, `Cjt188Master`, `MbusMaster`, one per port and protocol, made when first needed),
 * and the reads the core needs from each protocol, turned into `ReadResult`s (never a throw).
 *
 * - `PortChannel.use(priority, work)`: waits for the port (on-demand work - forwarding, a current
 *   reading, control - goes before the collection task's next point; the task takes the port one
 *   point at a time), then runs `work` with a `PortSession`. Only the session's holder hears the
 *   port: each master talks over its own view of the port link (`PortView`), which is handed the
 *   port's bytes only while its master's exchange holds the port, so a late DL/T 645 reply never
 *   reaches the CJ/T 188 master's scanner and the other way round.
 * - Every character written or received during a session is counted: the session's line time (the
 *   characters × the port's character time) is the lower bound a `CollectionRun` reports.
 * - `dispose()` (stop, reboot): every master is disposed, so pending exchanges end (LinkError ->
 *   'no-reply' results), and the port link is let go (not closed: it belongs to whoever made it).
 *
 * Timing per exchange (ConcentratorPort): DL/T 645 3000 ms x 3 attempts with 4 x FE (CON-05);
 * CJ/T 188 the same (CON-05 taken for CJ/T 188, [BK]), with `wakeUpMs` of FE in front of every
 * request when the port says so (MM-06); M-Bus the master's EN 13757-2 defaults (1388 ms for a
 * longest frame at 2400 Bd, 3 attempts) unless the port raises them. A port behind an interface
 * converter raises `timeoutMs` (the converter's own hop attempts come first).
 */
import type { Clock } from '../../harness/core/clock.ts';
import { toCalendar } from '../../harness/core/calendar.ts';
import { LinkError, TimeoutError } from '../../harness/core/errors.ts';
import { characterTimeMs, LinkBase, type ChunkTiming } from '../../harness/links/link.ts';
import { Cjt188Master } from '../../harness/masters/cjt188-master.ts';
import { Dlt645Master } from '../../harness/masters/dlt645-master.ts';
import { AbnormalReplyError, MasterProtocolError } from '../../harness/masters/errors.ts';
import { MbusApplicationError, MbusCollisionError, MbusProtocolError } from '../../harness/masters/mbus-errors.ts';
import { MbusMaster } from '../../harness/masters/mbus-master.ts';
import type { Cjt188Status, Quantity } from '../../harness/protocols/cjt188/index.ts';
import type { DataValue } from '../../harness/protocols/dlt645/dictionary-types.ts';
import { RemoteControlCommand, type FrameDateTime } from '../../harness/protocols/dlt645/index.ts';
import { decodeLoadRecordBlocks, encodeLoadRecordRequest, LOAD_RECORD_GIVEN_TIME_DI, type LoadRecordBlock } from '../../harness/protocols/dlt645/load-record.ts';
import type { MbusRecord } from '../../harness/protocols/mbus/index.ts';
import type { ArchivePoint, ConcentratorPort, PointValue, ReadFailure, ReadResult } from './types.ts';

/** CON-05: 4 x FE in front of every request on an RS-485 port. */
export const RS485_PREAMBLE = 4;
/** CJ/T 188 unit byte 05H: kWh (harness/protocols/cjt188/dictionary.ts UNITS): heat energy as F249 carries it. */
export const UNIT_KWH = 0x05;
/** EN 13757-3 medium 04H: heat (outlet). */
const MBUS_MEDIUM_HEAT = 0x04;
/** The 1CH valid-until time is this far ahead of the terminal clock (as the reference master station, MeterLab's choice). */
export const CONTROL_VALID_FOR_MS = 10 * 60_000;

/** What on-demand work is (goes first) and what the collection task is. */
export type PortPriority = 'on-demand' | 'collection';

interface Waiter {
  readonly priority: PortPriority;
  readonly resolve: () => void;
}

/** What one holder of the port did on it: for the collection run's per-port figures. */
export interface SessionRecord {
  /** First character written or received (NaN when none). */
  firstAt: number;
  /** Last character written or received, or the end of a wait that heard nothing (NaN when none). */
  lastAt: number;
  /** Characters written and received. */
  characters: number;
}

/** The port as one holder sees it. */
export interface PortSession {
  readonly record: SessionRecord;
  /** Aborted when the concentrator lets the port go (stop, reboot): a wait of the holder's own ends. */
  readonly cut: AbortSignal;
  dlt645(): Dlt645Master;
  cjt188(): Cjt188Master;
  mbus(): MbusMaster;
  /** Raw access for forwarding: every chunk received while the session holds the port. */
  listen(sink: ((chunk: Uint8Array) => void) | undefined): void;
  write(bytes: Uint8Array): Promise<void>;
}

/**
 * A master's view of the port link: writes go to the port, bytes come only while this view's master
 * is the one talking (PortChannel routes them).
 */
class PortView extends LinkBase {
  constructor(
    private readonly channel: PortChannel,
    readonly name: string,
  ) {
    super();
  }

  get isOpen(): boolean {
    return this.channel.isOpen;
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.channel.write(bytes);
  }

  /** The port link belongs to the concentrator's owner: a master never closes it. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  deliver(chunk: Uint8Array, timing?: ChunkTiming): void {
    this.emit('data', chunk, timing);
  }
}

export class PortChannel {
  readonly port: ConcentratorPort;
  readonly charMs: number;
  private readonly clock: Clock;
  private held = false;
  private readonly waiters: Waiter[] = [];
  private disposed = false;
  private readonly cutter = new AbortController();
  private session: { record: SessionRecord; target: PortView | ((chunk: Uint8Array) => void) | undefined } | undefined;
  private dltView: PortView | undefined;
  private cjtView: PortView | undefined;
  private mbusView: PortView | undefined;
  private dlt: Dlt645Master | undefined;
  private cjt: Cjt188Master | undefined;
  private mb: MbusMaster | undefined;
  private readonly onData = (chunk: Uint8Array, timing?: ChunkTiming): void => this.receive(chunk, timing);
  private readonly onClose = (): void => this.forEachView((v) => v.emit('close'));
  private readonly onError = (e: Error): void => this.forEachView((v) => v.emit('error', e));

  /** Terminal clock: the instants of session records. */
  private readonly now: () => number;

  constructor(port: ConcentratorPort, clock: Clock, now: () => number = () => clock.now()) {
    this.port = port;
    this.clock = clock;
    this.now = now;
    this.charMs = characterTimeMs(port.line);
    port.link.on('data', this.onData);
    port.link.on('close', this.onClose);
    port.link.on('error', this.onError);
  }

  get isOpen(): boolean {
    return !this.disposed && this.port.link.isOpen;
  }

  /** Waits for the port, runs `work` holding it, lets it go. Rejects only if `work` does. */
  async use<T>(priority: PortPriority, work: (s: PortSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(priority, signal);
    const record: SessionRecord = { firstAt: NaN, lastAt: NaN, characters: 0 };
    const state: { record: SessionRecord; target: PortView | ((chunk: Uint8Array) => void) | undefined } = { record, target: undefined };
    this.session = state;
    const session: PortSession = {
      record,
      cut: this.cutter.signal,
      dlt645: () => {
        state.target = this.dltViewOf();
        return this.dltMaster();
      },
      cjt188: () => {
        state.target = this.cjtViewOf();
        return this.cjtMaster();
      },
      mbus: () => {
        state.target = this.mbusViewOf();
        return this.mbusMaster();
      },
      listen: (sink) => {
        state.target = sink;
      },
      write: (bytes) => this.write(bytes),
    };
    try {
      return await work(session);
    } finally {
      if (this.session === state) this.session = undefined;
      this.release();
    }
  }

  /** Writes on the port, counting the characters into the current session. */
  async write(bytes: Uint8Array): Promise<void> {
    if (this.disposed) throw new LinkError(`port ${this.port.port}: the concentrator let the port go`);
    const s = this.session?.record;
    if (s) {
      const now = this.now();
      if (Number.isNaN(s.firstAt)) s.firstAt = now;
      s.characters += bytes.length;
    }
    await this.port.link.write(bytes);
    if (s) s.lastAt = this.now();
  }

  /** Ends every exchange (masters disposed), wakes every waiter (they fail), lets the port link go. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.cutter.abort(new LinkError(`port ${this.port.port}: the concentrator let the port go`));
    this.port.link.off('data', this.onData);
    this.port.link.off('close', this.onClose);
    this.port.link.off('error', this.onError);
    this.dlt?.dispose();
    this.cjt?.dispose();
    this.mb?.dispose();
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private receive(chunk: Uint8Array, timing?: ChunkTiming): void {
    const s = this.session;
    if (!s) return;
    s.record.characters += chunk.length;
    s.record.lastAt = this.now();
    // A chunk without a write before it in this session (a late reply): its first byte started
    // arriving one character time before it arrived.
    if (Number.isNaN(s.record.firstAt)) {
      const arrived = timing ? timing.firstByteAt - this.clock.now() : -(chunk.length - 1) * this.charMs;
      s.record.firstAt = this.now() + arrived - this.charMs;
    }
    const t = s.target;
    if (t instanceof PortView) t.deliver(chunk, timing);
    else t?.(chunk);
  }

  private acquire(priority: PortPriority, signal?: AbortSignal): Promise<void> {
    if (this.disposed) return Promise.reject(new LinkError(`port ${this.port.port}: the concentrator let the port go`));
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        priority,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          if (this.disposed) reject(new LinkError(`port ${this.port.port}: the concentrator let the port go`));
          else resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      // On-demand work goes before every queued collection step, after earlier on-demand work.
      if (priority === 'on-demand') {
        const i = this.waiters.findIndex((w) => w.priority === 'collection');
        if (i < 0) this.waiters.push(waiter);
        else this.waiters.splice(i, 0, waiter);
      } else {
        this.waiters.push(waiter);
      }
    });
  }

  private release(): void {
    const next = this.waiters.shift();
    if (next) next.resolve();
    else this.held = false;
  }

  private forEachView(f: (v: PortView) => void): void {
    for (const v of [this.dltView, this.cjtView, this.mbusView]) if (v) f(v);
  }

  private dltViewOf(): PortView {
    return (this.dltView ??= new PortView(this, `${this.port.link.name}:dlt645`));
  }

  private cjtViewOf(): PortView {
    return (this.cjtView ??= new PortView(this, `${this.port.link.name}:cjt188`));
  }

  private mbusViewOf(): PortView {
    return (this.mbusView ??= new PortView(this, `${this.port.link.name}:mbus`));
  }

  private dltMaster(): Dlt645Master {
    return (this.dlt ??= new Dlt645Master({
      link: this.dltViewOf(),
      clock: this.clock,
      line: this.port.line,
      callSites: false,
      preamble: RS485_PREAMBLE,
      ...(this.port.timeoutMs !== undefined ? { timeoutMs: this.port.timeoutMs } : {}),
      ...(this.port.attempts !== undefined ? { attempts: this.port.attempts } : {}),
    }));
  }

  private cjtMaster(): Cjt188Master {
    const wake = this.port.wakeUpMs ?? 0;
    return (this.cjt ??= new Cjt188Master({
      link: this.cjtViewOf(),
      clock: this.clock,
      line: this.port.line,
      callSites: false,
      preamble: RS485_PREAMBLE,
      ...(wake > 0 ? { wakeUp: { preambleMs: wake } } : {}),
      ...(this.port.timeoutMs !== undefined ? { timeoutMs: this.port.timeoutMs } : {}),
      ...(this.port.attempts !== undefined ? { attempts: this.port.attempts } : {}),
    }));
  }

  private mbusMaster(): MbusMaster {
    return (this.mb ??= new MbusMaster({
      link: this.mbusViewOf(),
      clock: this.clock,
      line: this.port.line,
      callSites: false,
      ...(this.port.timeoutMs !== undefined ? { timeoutMs: this.port.timeoutMs } : {}),
      ...(this.port.attempts !== undefined ? { attempts: this.port.attempts } : {}),
    }));
  }
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

// ---------------------------------------------------------------------------------------------
// Failures

export function failure(reason: ReadFailure['reason'], detail: string): ReadFailure {
  return { ok: false, reason, detail };
}

/** A master's error as a ReadFailure: silence and a lost port are 'no-reply', a refusal or garbage 'abnormal'. */
export function classify(e: unknown): ReadFailure {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof TimeoutError || e instanceof LinkError || e instanceof MbusCollisionError) return failure('no-reply', message);
  if (e instanceof AbnormalReplyError || e instanceof MasterProtocolError || e instanceof MbusApplicationError || e instanceof MbusProtocolError) {
    return failure('abnormal', message);
  }
  return failure('abnormal', `unexpected: ${message}`);
}

async function attempt<T>(work: () => Promise<T>): Promise<ReadResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    return classify(e);
  }
}

// ---------------------------------------------------------------------------------------------
// DL/T 645-2007

/** 上N次日冻结时间 (YYMMDDhhmm), N = 1..62 (PROTOCOLS.md 1, DL/T 645-2007 appendix A): 0506000N. */
export function dailyFreezeTimeDi(n: number): string {
  return `050600${n.toString(16).padStart(2, '0').toUpperCase()}`;
}
/** 上N次日冻结正向有功电能数据 (total, T1..TM): 0506010N. */
export function dailyFreezeEnergyDi(n: number): string {
  return `050601${n.toString(16).padStart(2, '0').toUpperCase()}`;
}
/** Current forward active energy, total and T1..TM (DL/T 645-2007 0001FF00). */
export const DI_FORWARD_ACTIVE_BLOCK = '0001FF00';

/** A DL/T 645 date-time value (YYMMDDhhmm) as ms in local time, or null for an empty slot (all zero). */
export function freezeInstant(v: DataValue | undefined, utcOffsetMinutes: number): number | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const t = v as { year?: unknown; month?: unknown; day?: unknown; hour?: unknown; minute?: unknown };
  const [year, month, day, hour, minute] = [t.year, t.month, t.day, t.hour, t.minute].map(Number) as [number, number, number, number, number];
  if (![year, month, day, hour, minute].every(Number.isInteger) || month < 1 || month > 12 || day < 1 || day > 31) return null;
  return Date.UTC(year, month - 1, day, hour, minute, 0) - utcOffsetMinutes * 60_000;
}

/** Forward active energy, total then T1..TM, from a decoded 0001FF00 / 0506010N value. */
export function forwardActive(v: DataValue | undefined): number[] | null {
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'number')) return null;
  return [...(v as number[])];
}

export async function readFreezeTime(s: PortSession, p: ArchivePoint, n: number, utcOffsetMinutes: number): Promise<ReadResult<number | null>> {
  return attempt(async () => {
    const r = await s.dlt645().readData(p.address, dailyFreezeTimeDi(n));
    return freezeInstant(r.value, utcOffsetMinutes);
  });
}

export async function readFreezeEnergy(s: PortSession, p: ArchivePoint, n: number): Promise<ReadResult<number[]>> {
  const r = await attempt(() => s.dlt645().readData(p.address, dailyFreezeEnergyDi(n)));
  if (!r.ok) return r;
  const e = forwardActive(r.value.value);
  return e ? { ok: true, value: e } : failure('abnormal', `${p.address}: ${dailyFreezeEnergyDi(n)} did not decode (${r.value.valueError?.message ?? 'not a list of kWh'})`);
}

/**
 * The meter's load records (负荷记录, COL-12) from terminal instant `from`: 11H DI 06000001 "given
 * time record block" with the block count and the time (`extra`), the reply's follow-up frames
 * joined, the blocks decoded. An abnormal reply (the meter keeps no such records) is 'refused'; a
 * reply whose blocks do not decode is 'abnormal'.
 */
export async function readLoadRecords(s: PortSession, p: ArchivePoint, from: number, count: number, utcOffsetMinutes: number): Promise<ReadResult<LoadRecordBlock[]>> {
  const c = toCalendar(from, utcOffsetMinutes);
  const extra = encodeLoadRecordRequest({ count, from: { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute } });
  let r: ReadResult<Awaited<ReturnType<Dlt645Master['readData']>>>;
  try {
    r = { ok: true, value: await s.dlt645().readData(p.address, LOAD_RECORD_GIVEN_TIME_DI, { extra }) };
  } catch (e) {
    // The meter's own answer "no such data" (an abnormal reply) is 'refused': it keeps no such
    // records. A garbled exchange stays 'abnormal' or 'no-reply': worth another try.
    return e instanceof AbnormalReplyError ? failure('refused', `${p.address}: ${LOAD_RECORD_GIVEN_TIME_DI}: ${(e as Error).message}`) : classify(e);
  }
  const d = decodeLoadRecordBlocks(r.value.payload);
  return d.ok ? { ok: true, value: d.blocks } : failure('abnormal', `${p.address}: the load records of ${LOAD_RECORD_GIVEN_TIME_DI} do not decode at byte ${d.error.offset}: ${d.error.message}`);
}

// ---------------------------------------------------------------------------------------------
// Current value of any point

export async function readCurrentValue(s: PortSession, p: ArchivePoint): Promise<ReadResult<PointValue>> {
  switch (p.protocol) {
    case 'dlt645-2007': {
      const r = await attempt(() => s.dlt645().readData(p.address, DI_FORWARD_ACTIVE_BLOCK));
      if (!r.ok) return r;
      const e = forwardActive(r.value.value);
      return e ? { ok: true, value: { kind: 'electricity', forwardActiveKwh: e } } : failure('abnormal', `${p.address}: ${DI_FORWARD_ACTIVE_BLOCK} did not decode`);
    }
    case 'cjt188': {
      const r = await attempt(() => s.cjt188().readData(p.meterType!, p.address, '901F'));
      if (!r.ok) return r;
      const v = r.value.value;
      // 901F: a water or gas meter's current cumulative flow, a heat meter's current heat (PROTOCOLS.md 2.5).
      const q = (v['currentFlow'] ?? v['currentHeat']) as Quantity | undefined;
      if (!q || typeof q !== 'object' || typeof q.value !== 'number') return failure('abnormal', `${p.address}: 901F carries no current cumulative value`);
      const st = r.value.status as Cjt188Status | undefined;
      return {
        ok: true,
        value: {
          kind: p.kind as 'water' | 'gas' | 'heat',
          value: q.value,
          unit: q.unitCode,
          meterType: r.value.meterType,
          ...(st ? { status: statusWord(st) } : {}),
        },
      };
    }
    case 'mbus': {
      // SND_NKE first (as libmbus's request tool): the slave's FCB state is then known, so a master made anew after a
      // reboot never gets the repeat of an old telegram for a new one (MBUS.md 3).
      const r = await attempt(() => s.mbus().readData(Number(p.address), { reset: true }));
      if (!r.ok) return r;
      const kwh = energyKwh(r.value.records);
      if (kwh === null) return failure('abnormal', `M-Bus ${p.address}: no current energy record in the reply`);
      return { ok: true, value: { kind: p.kind as 'water' | 'gas' | 'heat', value: kwh, unit: UNIT_KWH, meterType: p.meterType ?? MBUS_MEDIUM_HEAT } };
    }
  }
}

/** ST0 ST1 as one number (ST0 low byte, the order on the wire). */
function statusWord(st: Cjt188Status): number {
  const [st0, st1] = st.raw.split(' ').map((h) => parseInt(h, 16)) as [number, number];
  return (st0 & 0xff) | ((st1 & 0xff) << 8);
}

/** The current (storage 0, tariff 0, subunit 0, instantaneous) energy record in kWh, or null. */
export function energyKwh(records: readonly MbusRecord[]): number | null {
  for (const r of records) {
    if (r.kind !== 'data' || r.storageNumber !== 0 || r.tariff !== 0 || r.subunit !== 0 || r.function !== 'instantaneous') continue;
    const e = r.vib.entry;
    if (!e || e.quantity !== 'Energy' || r.scaled === null) continue;
    if (e.unit === 'Wh') return r.scaled / 1000;
    if (e.unit === 'J') return r.scaled / 3.6e6;
  }
  return null;
}

export { MBUS_MEDIUM_HEAT };

// ---------------------------------------------------------------------------------------------
// Control

export type ControlAction = 'trip' | 'allow-close' | 'close';

const CONTROL_COMMAND: Readonly<Record<ControlAction, number>> = {
  trip: RemoteControlCommand.Trip,
  'allow-close': RemoteControlCommand.CloseAllowed,
  close: RemoteControlCommand.DirectClose,
};

/** 1CH with the point's password (PA P2P1P0) and operator code, valid for CONTROL_VALID_FOR_MS from `now` (terminal time). */
export async function remoteControl(s: PortSession, p: ArchivePoint, action: ControlAction, now: number, utcOffsetMinutes: number): Promise<ReadResult<void>> {
  const pw = p.password ?? '00000000';
  const c = toCalendar(now + CONTROL_VALID_FOR_MS, utcOffsetMinutes);
  const validUntil: FrameDateTime = { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second };
  const r = await attempt(() =>
    s.dlt645().remoteControl(p.address, {
      command: CONTROL_COMMAND[action],
      password: { level: parseInt(pw.slice(0, 2), 16), value: pw.slice(2).toUpperCase() },
      operator: (p.operator ?? '00000000').toUpperCase(),
      validUntil,
    }),
  );
  return r.ok ? { ok: true, value: undefined } : r;
}
