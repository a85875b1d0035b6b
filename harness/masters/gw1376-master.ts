/**
 * Q/GDW 1376.1 master station over one Link (PROTOCOLS.md section 3; issue 12 part A): the TCP
 * connection a terminal (concentrator) opened to us, or one end of a memory pair in tests.
 *
 * Receiving. Bytes go through the codec's `Gw1376FrameScanner` under core's `FlushOnSilence`
 * (common.ts `TimedFrameReceiver`), so frames split anywhere are joined, junk is skipped, and a
 * stalled partial frame is given up after `interByteTimeoutMs` of silence. Nothing a terminal sends
 * makes the master throw: undecodable bytes, a frame whose data units do not parse, a downlink
 * frame, a frame from another terminal address and a reply nobody asked for are each one
 * 'rejected' event ({ reason, bytes }), and the session goes on.
 *
 * Terminal-initiated frames (PRM = 1, uplink): AFN 02 F1/F2/F3 are 'login' / 'logout' /
 * 'heartbeat', anything else (an active AFN 0E event report) is 'report'. A frame with SEQ.CON = 1
 * is confirmed (unless the `confirm` option says no) with AFN 00 F1, SEQ single with RSEQ = its
 * PSEQ, the frame's own address (a terminal-initiated frame has MSA 0 and "the master's response
 * carries the same MSA", 3.3 and the public 376.1 notes), C = 0BH (PRM 0, function 11 link status)
 * for a link test (function 9, vectors 1 and 8) and C = 00H (function 0, confirm) for anything
 * else [BK]. The terminal address (A1 + A2) is learned from the first valid uplink frame (normally
 * the login) unless the `terminal` option gives it; frames from any other address are rejected.
 *
 * Requests (PRM = 1, downlink) go one at a time. C function by AFN: 01 reset → 1 (vector 3: 41H);
 * 04 set parameters, 05 control, 0F file transfer → 10 (request class 1); every other AFN → 11
 * (request class 2; vectors 12-18: 4BH) — the mapping of a public Java front end's encoder
 * (Encoder376.getFunCode) [BK]. FCB/FCV 0 (vectors). SEQ: PSEQ = the low 4 bits of the master's
 * PFC, which counts requests (mod 256) and is the Tp's PFC; CON = 1 on AFN 01/04/05/0F requests,
 * whose answer is a confirm (vector 3: F0H) [BK]; a retry repeats the frame byte for byte, same
 * PSEQ (NUC97X Terminal_Uart_AutoEvent: "SEQ unchanged while waiting for the response"). PW (16
 * bytes, `password`) on downlink AFN 01/04/05/06/0F/10 (3.6; per request `pw` overrides). Tp when
 * `tpDelayMinutes` is set: PFC, the send time in the terminal's local time (`utcOffsetMinutes`,
 * default 480 = China Standard Time) and the allowed delay (CON-01).
 *
 * Replies (PRM = 0, uplink) are matched by address (A1, A2, and our MSA, 3.3), by AFN (the
 * request's, or 00 confirm/deny) and by RSEQ: a single frame or the first frame of a multi-frame
 * reply has RSEQ = PSEQ, each further frame the next RSEQ (mod 16; 3.4 "responses reuse PSEQ as
 * first RSEQ and increment"). Frames FIR..FIN are joined into one `Gw1376Reply`; the timeout
 * restarts with every frame of it, and an attempt whose reply stalls half-way is retried whole. A
 * reply frame with CON = 1 is confirmed like a report. AFN 00 F2 = denied; AFN 00 F1/F3 give the
 * per-(pn, Fn) `confirm` list. No reply after `attempts` attempts of `timeoutMs`: a
 * `Gw1376TimeoutError` (a NoReplyError) with what was rejected meanwhile.
 *
 * Requests larger than one frame are the caller's business: user data is at most
 * MAX_USER_DATA_NETWORK (16383) bytes (3.1); split an archive into chunks that fit.
 *
 * Time only from the injected Clock.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { toHex } from '../core/bytes.ts';
import { LinkError, MeterLabError, UsageError } from '../core/errors.ts';
import type { ChunkTiming, Link } from '../links/link.ts';
import {
  Afn,
  CurveFn,
  curveDensityMinutes,
  DEFAULT_FRAME_OPTIONS,
  DEFAULT_PW_AFNS,
  Gw1376FrameScanner,
  MAX_USER_DATA_NETWORK,
  PrmFunction,
  RespFunction,
  buildFrame,
  decodeDa,
  decodeDt,
  items as messageItems,
  nextSeq,
  resolveFrameOptions,
  type Address,
  type DataUnitItem,
  type EventCounter,
  type Gw1376Frame,
  type Gw1376FrameOptions,
  type Gw1376Message,
  type ResolvedFrameOptions,
  type TimeTag,
  type UnitSpec,
  type UnitValue,
} from '../protocols/gw1376/index.ts';
import { ReplyWait, TimedFrameReceiver, hex2, positive, positiveInt, type MasterLogger, type ReceivedFrameOf } from './common.ts';
import { NoReplyError } from './errors.ts';

/** Reply timeout per attempt: 5 s (CON-02, harness default; NUC97X builds: 5 s, or 60 s with 3 retries). */
export const GW1376_DEFAULT_TIMEOUT_MS = 5000;
/** Attempts in total: 3 (CON-02 "3 retries" as the harness default, counted as attempts like CON-05). */
export const GW1376_DEFAULT_ATTEMPTS = 3;
/** Default master-station address MSA: 1 (3.3: "a master-initiated frame's MSA is non-zero"). */
export const GW1376_DEFAULT_MSA = 1;
/**
 * Silence after which a partial frame is given up: 5 s. 1376.1 gives no inter-byte limit on a
 * network channel; a partial frame older than the time the master waits for a whole reply
 * (CON-02) is no part of any reply [BK].
 */
export const GW1376_DEFAULT_INTER_BYTE_TIMEOUT_MS = 5000;
/** China Standard Time, UTC+8: the terminal's clock, which Tp's send time is compared against. */
export const GW1376_DEFAULT_UTC_OFFSET_MINUTES = 480;
/** Requests answered with AFN 00 (confirm/deny), sent with CON = 1 (vector 3; public front-end encoders) [BK]. */
export const CON_REQUEST_AFNS: readonly number[] = [Afn.reset, Afn.setParameters, Afn.control, Afn.fileTransfer];
/** AFN 10 F1 control word when none is given: 6BH = 2400 bit/s 8E1 (PROTOCOLS.md 3.8, bit map [BK]). */
export const DEFAULT_FORWARD_CONTROL_WORD = 0x6b;

/** Rejections kept in a request's record (a flooding terminal cannot grow it without bound); the 'rejected' event has them all. */
const MAX_REJECTIONS_KEPT = 100;

/** The C function code of a master's request for `afn` (see the file header). */
export function requestFunction(afn: number): number {
  if (afn === Afn.reset) return PrmFunction.reset;
  if (afn === Afn.setParameters || afn === Afn.control || afn === Afn.fileTransfer) return PrmFunction.requestClass1;
  return PrmFunction.requestClass2;
}

// ---------------------------------------------------------------------------------------------
// Types

export interface Gw1376MasterOptions {
  readonly link: Link;
  readonly clock: Clock;
  /** Master-station address A3 D1-D7, 1..127. Default 1. */
  readonly msa?: number;
  /** PW, 16 bytes (3.6; the frame options' pwLength). Default all 00. */
  readonly password?: Uint8Array;
  /** Reply timeout per attempt, ms. Default 5000 (CON-02). */
  readonly timeoutMs?: number;
  /** Attempts in total. Default 3 (CON-02). */
  readonly attempts?: number;
  /** Tp on every request with this allowed delay in minutes (CON-01); null = no Tp. Default null. */
  readonly tpDelayMinutes?: number | null;
  /** The terminal's UTC offset for Tp's send time, minutes. Default 480 (UTC+8). */
  readonly utcOffsetMinutes?: number;
  /** Whether to confirm an uplink frame with CON = 1. Default: always. */
  readonly confirm?: (m: Gw1376Message) => boolean;
  /** The terminal's address when it is known before its login (requests can go at once). */
  readonly terminal?: { readonly areaCode: string; readonly terminal: number };
  /** Silence that ends a partial frame, ms. Default 5000 ([BK], see GW1376_DEFAULT_INTER_BYTE_TIMEOUT_MS). */
  readonly interByteTimeoutMs?: number;
  /** Frame options of this terminal (length limit, protocol ids, PW length...). Default the standard. */
  readonly frame?: Gw1376FrameOptions;
  readonly logger?: MasterLogger;
}

export interface Gw1376RequestOptions {
  readonly timeoutMs?: number;
  readonly attempts?: number;
  /** Carry PW. Default: the AFN is one of DEFAULT_PW_AFNS (01 04 05 06 0F 10). */
  readonly pw?: boolean;
  /** Tp for this request: a tag as given (robustness: an expired one), null for none. Default: the master's tpDelayMinutes. */
  readonly tp?: TimeTag | null;
}

/** One (pn, Fn) of an AFN 00 answer: confirmed (F1, F3 ERR 00) or not (F2, F3 ERR ≠ 00). */
export interface Gw1376Confirmation {
  readonly fn: number;
  readonly pn: number | 'all';
  readonly ok: boolean;
  /** F3's ERR byte, when the answer was F3. */
  readonly err?: number;
}

export interface Gw1376Reply {
  /** Every frame of the reply, FIR..FIN (one for a single-frame reply). */
  readonly messages: readonly Gw1376Message[];
  /** Every data unit of every frame, in wire order. */
  readonly items: readonly DataUnitItem[];
  /** AFN 00 F2: the terminal denied the request (or has no such data). */
  readonly denied: boolean;
  /** AFN 00 F1 (every unit of the request, ok), F2 (every unit, not ok), F3 (per unit). */
  readonly confirm?: readonly Gw1376Confirmation[];
  /** EC of the last frame that carried one (ACD = 1: important events waiting). */
  readonly ec: EventCounter | null;
  /** PSEQ the request went with. */
  readonly pseq: number;
  /** Attempts it took. */
  readonly attempts: number;
  /** The request frame as sent. */
  readonly request: Uint8Array;
}

export interface Gw1376Rejection {
  readonly reason: string;
  readonly bytes: Uint8Array;
}

export interface Gw1376MasterEvents {
  login: [m: Gw1376Message];
  logout: [m: Gw1376Message];
  heartbeat: [m: Gw1376Message];
  report: [m: Gw1376Message];
  rejected: [e: Gw1376Rejection];
  frame: [dir: 'in' | 'out', bytes: Uint8Array];
}

export interface Gw1376ForwardOptions {
  /** The terminal's wait for the meter's reply (AFN 10 F1 frame timeout), ms. */
  readonly frameTimeoutMs: number;
  /** The terminal's inter-byte timeout on the port, ms. */
  readonly byteTimeoutMs: number;
  /** Port settings control word. Default 6BH (2400 8E1, PROTOCOLS.md 3.8). */
  readonly controlWord?: number;
  /** The master's own reply timeout per attempt. Default frameTimeoutMs + the master's timeoutMs. */
  readonly timeoutMs?: number;
  readonly attempts?: number;
}

export type Gw1376ForwardResult = { readonly port: number; readonly content: Uint8Array } | { readonly denied: true };

/** One load curve read by `readCurve` / `readCurves` (AFN 0D F81 / F89 / F101, COL-12). */
export interface Gw1376Curve {
  readonly pn: number;
  readonly fn: number;
  /** Td_c start, "YYYY-MM-DD hh:mm" terminal local time (A.15). */
  readonly start: string;
  /** Td_c density m. */
  readonly density: number;
  /** Minutes between points for m, or null (0 = not frozen, reserved codes). */
  readonly intervalMinutes: number | null;
  /** n values (kW, V or kWh); null where the terminal sent EEH (no data). */
  readonly points: readonly (number | null)[];
}

/** AFN 0D curve Fn this master reads (gw1376 CurveFn). */
const CURVE_FNS: readonly number[] = [CurveFn.activePower, CurveFn.phaseAVoltage, CurveFn.forwardActiveEnergy];

/** What a request was, for errors. */
export interface Gw1376RequestRecord {
  readonly afn: number;
  readonly units: readonly UnitSpec[];
  readonly pseq: number;
  readonly request: Uint8Array;
  readonly attempts: number;
  /** Frames and bytes rejected while it waited (the first 100). */
  readonly rejected: readonly Gw1376Rejection[];
}

/** No (complete) reply after every attempt. */
export class Gw1376TimeoutError extends NoReplyError<Gw1376RequestRecord> {}

/** A matching reply whose content is not what the request needs. */
export class Gw1376ProtocolError extends MeterLabError {
  readonly reply: Gw1376Reply | undefined;
  constructor(message: string, reply?: Gw1376Reply) {
    super('gw1376.protocol', message);
    this.reply = reply;
  }
}

type Received = ReceivedFrameOf<Gw1376Frame, Gw1376Message>;

/** Whoever waits for a reply now. */
interface Waiter {
  /** Offered every uplink PRM = 0 frame from the terminal with our MSA; returns true when it took it. */
  offer(message: Gw1376Message): boolean;
  /** sendRaw's waiter: takes a reply whatever its MSA. */
  readonly raw?: boolean;
  reject(reason: string, bytes: Uint8Array): void;
  onClose(error: LinkError): void;
}

// ---------------------------------------------------------------------------------------------

export class Gw1376Master extends EventEmitter<Gw1376MasterEvents> {
  readonly link: Link;
  readonly clock: Clock;
  readonly msa: number;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly tpDelayMinutes: number | null;
  readonly utcOffsetMinutes: number;
  private readonly password: Uint8Array;
  private readonly confirmWanted: (m: Gw1376Message) => boolean;
  private readonly frameOptions: ResolvedFrameOptions;
  private readonly logger: MasterLogger | undefined;
  private readonly receiver: TimedFrameReceiver<Gw1376Frame, Gw1376Message>;
  private learned: Address | undefined;
  /** PFC: counts requests mod 256; PSEQ is its low 4 bits (3.4). */
  private pfc = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private waiter: Waiter | undefined;
  private closed: LinkError | undefined;

  private readonly onData = (chunk: Uint8Array, timing?: ChunkTiming): void => this.receiver.push(chunk, timing, 0);
  private readonly onLinkClose = (): void => this.fail(new LinkError(`${this.link.name} closed`));
  private readonly onLinkError = (e: Error): void => this.fail(e instanceof LinkError ? e : new LinkError(`${this.link.name}: ${e.message}`, { cause: e }));

  constructor(options: Gw1376MasterOptions) {
    super();
    this.link = options.link;
    this.clock = options.clock;
    this.msa = options.msa ?? GW1376_DEFAULT_MSA;
    if (!Number.isInteger(this.msa) || this.msa < 1 || this.msa > 127) throw new UsageError(`msa must be 1..127 (a master-initiated frame's MSA is non-zero), got ${String(options.msa)}`);
    this.frameOptions = resolveFrameOptions(options.frame ?? DEFAULT_FRAME_OPTIONS);
    this.password = options.password ?? new Uint8Array(this.frameOptions.pwLength);
    if (!(this.password instanceof Uint8Array) || this.password.length !== this.frameOptions.pwLength) {
      throw new UsageError(`password must be ${this.frameOptions.pwLength} bytes`);
    }
    this.timeoutMs = positive(options.timeoutMs ?? GW1376_DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.attempts = positiveInt(options.attempts ?? GW1376_DEFAULT_ATTEMPTS, 'attempts');
    const tp = options.tpDelayMinutes ?? null;
    if (tp !== null && !(Number.isInteger(tp) && tp >= 0 && tp <= 255)) throw new UsageError(`tpDelayMinutes must be 0..255 or null, got ${String(tp)}`);
    this.tpDelayMinutes = tp;
    this.utcOffsetMinutes = options.utcOffsetMinutes ?? GW1376_DEFAULT_UTC_OFFSET_MINUTES;
    if (!Number.isInteger(this.utcOffsetMinutes) || Math.abs(this.utcOffsetMinutes) > 14 * 60) throw new UsageError(`utcOffsetMinutes must be a whole number of minutes within ±14 h, got ${String(options.utcOffsetMinutes)}`);
    this.confirmWanted = options.confirm ?? (() => true);
    this.logger = options.logger;
    if (options.terminal) this.learned = this.addressOf(options.terminal);
    this.receiver = new TimedFrameReceiver({
      scanner: new Gw1376FrameScanner({ frame: this.frameOptions }),
      clock: this.clock,
      silenceMs: positive(options.interByteTimeoutMs ?? GW1376_DEFAULT_INTER_BYTE_TIMEOUT_MS, 'interByteTimeoutMs'),
      onFrame: (f) => this.guarded(() => this.handleFrame(f)),
      onDiscarded: (d) => this.guarded(() => this.rejectBytes(`${d.error.code}: ${d.error.message}`, d.bytes)),
      onFlush: (cause) => this.logger?.debug(`${this.link.name}: scanner flushed (${cause}) after a partial frame`),
    });
    this.link.on('data', this.onData);
    this.link.on('close', this.onLinkClose);
    this.link.on('error', this.onLinkError);
    if (!this.link.isOpen) this.closed = new LinkError(`${this.link.name} is closed`);
  }

  /** The terminal's address as this master sends to it (A1, A2, our MSA), once known. */
  get terminal(): Address | undefined {
    return this.learned;
  }

  /** True once the link closed or the master was disposed. */
  get isClosed(): boolean {
    return this.closed !== undefined;
  }

  /** Stops listening to the link (it does not close it). Pending and later requests reject with a LinkError. */
  dispose(): void {
    this.receiver.cancel();
    this.link.off('data', this.onData);
    this.link.off('close', this.onLinkClose);
    this.link.off('error', this.onLinkError);
    this.fail(new LinkError('the 1376.1 master was disposed'));
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  /**
   * Sends one request and waits for its reply (joined when it spans several frames). Rejects with
   * Gw1376TimeoutError after the attempts, LinkError when the link closes, EncodeError / UsageError
   * for bad arguments.
   */
  request(afn: number, units: readonly UnitSpec[], options: Gw1376RequestOptions = {}): Promise<Gw1376Reply> {
    return this.enqueue(() => this.exchange(afn, units, options));
  }

  /** AFN 04: sets one parameter; the reply's `confirm` says whether the terminal took it. */
  setParameters(fn: number, value: UnitValue, options: { pn?: number } & Gw1376RequestOptions = {}): Promise<Gw1376Reply> {
    const { pn = 0, ...rest } = options;
    return this.request(Afn.setParameters, [{ pn, fn, value }], rest);
  }

  /** AFN 05 control (F1 trip, F2 allow close, F31 time sync...). */
  control(fn: number, pn: number, value?: UnitValue, options: Gw1376RequestOptions = {}): Promise<Gw1376Reply> {
    return this.request(Afn.control, [value === undefined ? { pn, fn } : { pn, fn, value }], options);
  }

  /** AFN 0A query parameters: the reply's data units ([] when the terminal denies). */
  async query(fn: number, value?: UnitValue, options: Gw1376RequestOptions = {}): Promise<DataUnitItem[]> {
    const r = await this.request(Afn.queryParameters, [value === undefined ? { pn: 0, fn } : { pn: 0, fn, value }], options);
    return dataItems(r);
  }

  /** AFN 0C class 1 (real-time) data: the reply's data units ([] when denied). */
  async class1(wanted: readonly { pn: number; fn: number }[], options: Gw1376RequestOptions = {}): Promise<DataUnitItem[]> {
    const r = await this.request(Afn.class1Data, wanted.map(({ pn, fn }) => ({ pn, fn })), options);
    return dataItems(r);
  }

  /** AFN 0D class 2 (frozen) data, each with its Td (value = { day: "YYYY-MM-DD" }): the reply's data units ([] when denied: no data). */
  async class2(wanted: readonly { pn: number; fn: number; value: UnitValue }[], options: Gw1376RequestOptions = {}): Promise<DataUnitItem[]> {
    const r = await this.request(Afn.class2Data, wanted.map(({ pn, fn, value }) => ({ pn, fn, value })), options);
    return dataItems(r);
  }

  /**
   * AFN 0D load curve of one point (F81 active power kW, F89 phase A voltage V, F101 forward active
   * energy kWh; COL-12): Td_c = `start` (A.15 text "YYYY-MM-DD hh:mm" in the terminal's local time,
   * or ms since the epoch on a whole minute, shown in `utcOffsetMinutes`), density m (1 = 15 min,
   * 2 = 30, 3 = 60, 254 = 5, 255 = 1) and n points. The decoded points (null = EEH, no data), or
   * null when the terminal has none (AFN 00 F2, or the reply lacks that unit).
   */
  async readCurve(fn: number, pn: number, start: string | number, density: number, n: number, options: Gw1376RequestOptions = {}): Promise<Gw1376Curve | null> {
    const got = await this.readCurves([{ pn, fn }], start, density, n, options);
    return got[0] ?? null;
  }

  /**
   * Several curves with one Td_c in one request (several points and Fn; the reply may span several
   * frames): the curves answered, in wire order; a point the terminal left out is missing. A unit
   * whose Td_c differs from the request's is a Gw1376ProtocolError (the terminal answered another
   * span), as is a curve Fn or pn nobody asked for.
   */
  async readCurves(wanted: readonly { pn: number; fn: number }[], start: string | number, density: number, n: number, options: Gw1376RequestOptions = {}): Promise<Gw1376Curve[]> {
    const startText = typeof start === 'number' ? this.a15(start) : start;
    for (const w of wanted) {
      if (!CURVE_FNS.includes(w.fn)) throw new UsageError(`F${w.fn} is not a curve (F81, F89, F101)`);
      if (!Number.isInteger(w.pn) || w.pn < 1) throw new UsageError(`a curve needs a measuring point pn >= 1, got ${String(w.pn)}`);
    }
    const tdc: UnitValue = { start: startText, density, pointCount: n };
    const r = await this.request(Afn.class2Data, wanted.map(({ pn, fn }) => ({ pn, fn, value: tdc })), options);
    const out: Gw1376Curve[] = [];
    for (const item of dataItems(r)) {
      const v = item.value;
      if (!CURVE_FNS.includes(item.fn) || v === null || item.pn === 'all') continue;
      if (!wanted.some((w) => w.pn === item.pn && w.fn === item.fn)) throw new Gw1376ProtocolError(`AFN 0D p${item.pn} F${item.fn}: a curve that was not asked for`, r);
      if (v.start !== startText || v.density !== density || v.pointCount !== n) {
        throw new Gw1376ProtocolError(`AFN 0D p${item.pn} F${item.fn}: Td_c ${String(v.start)} m ${String(v.density)} n ${String(v.pointCount)} answers ${startText} m ${density} n ${n}`, r);
      }
      const points = Array.isArray(v.points) ? (v.points as readonly UnitValue[]).map((p) => (typeof p.value === 'number' ? p.value : null)) : [];
      out.push({ pn: item.pn, fn: item.fn, start: startText, density, intervalMinutes: curveDensityMinutes(density) ?? null, points });
    }
    return out;
  }

  /** AFN 0E F1 (important) / F2 (normal) events pm..pn: the ERC records, decoded where the dictionary knows the ERC ([] when denied). */
  async events(important: boolean, pm: number, pn: number, options: Gw1376RequestOptions = {}): Promise<UnitValue[]> {
    const r = await this.request(Afn.class3Data, [{ pn: 0, fn: important ? 1 : 2, value: { pm, pn } }], options);
    const out: UnitValue[] = [];
    for (const item of dataItems(r)) {
      const events = item.value?.events;
      if (Array.isArray(events)) out.push(...(events as readonly UnitValue[]));
    }
    return out;
  }

  /**
   * AFN 10 F1 transparent forwarding (3.8, CON-07): `content` goes to the meter on `port`; the
   * meter's reply comes back as { port, content }, or { denied: true } (AFN 00 F2: the terminal
   * refused, or the meter was silent).
   */
  async forward(port: number, content: Uint8Array, options: Gw1376ForwardOptions): Promise<Gw1376ForwardResult> {
    const value: UnitValue = {
      port,
      controlWord: options.controlWord ?? DEFAULT_FORWARD_CONTROL_WORD,
      frameTimeout: forwardFrameTimeoutByte(options.frameTimeoutMs),
      byteTimeout: forwardByteTimeoutByte(options.byteTimeoutMs),
      content: toHex(content, ''),
    };
    const r = await this.request(Afn.dataForwarding, [{ pn: 0, fn: 1, value }], {
      timeoutMs: options.timeoutMs ?? options.frameTimeoutMs + this.timeoutMs,
      ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
    });
    if (r.denied) return { denied: true };
    const item = r.items.find((i) => i.fn === 1 && i.value !== null);
    const v = item?.value;
    if (!v || typeof v.port !== 'number' || typeof v.content !== 'string') {
      throw new Gw1376ProtocolError(`AFN 10 F1 forward: the reply carries no forwarded frame (AFN ${hex2(r.messages[0]?.frame.afn ?? 0)}H)`, r);
    }
    return { port: v.port, content: hexBytes(v.content) };
  }

  /**
   * Writes `bytes` exactly as given (robustness cases: a bad checksum, a wrong password, an expired
   * Tp) and returns the next uplink reply frame (PRM = 0, any RSEQ), or null after `timeoutMs` of
   * none. Terminal-initiated frames meanwhile are handled as usual.
   */
  sendRaw(bytes: Uint8Array, options: { timeoutMs?: number } = {}): Promise<Gw1376Message | null> {
    const copy = new Uint8Array(bytes);
    return this.enqueue(async () => {
      const timeoutMs = positive(options.timeoutMs ?? this.timeoutMs, 'timeoutMs');
      const wait = new ReplyWait<Gw1376Message>(this.clock);
      this.waiter = {
        offer: (message) => {
          wait.settle(message);
          return true;
        },
        reject: () => undefined,
        onClose: (e) => wait.fail(e),
        raw: true,
      };
      try {
        await this.write(copy);
        return await wait.start(timeoutMs);
      } finally {
        wait.cancel();
        this.waiter = undefined;
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals: requests

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw this.closed;
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(afn: number, units: readonly UnitSpec[], options: Gw1376RequestOptions): Promise<Gw1376Reply> {
    const terminal = this.learned;
    if (!terminal) throw new UsageError('the terminal address is not known yet: wait for its login, or give the master `terminal`');
    if (!Number.isInteger(afn) || afn < 0 || afn > 0xff) throw new UsageError(`AFN must be one byte, got ${String(afn)}`);
    if (units.length === 0) throw new UsageError('a request needs at least one data unit');
    const attempts = positiveInt(options.attempts ?? this.attempts, 'attempts');
    const timeoutMs = positive(options.timeoutMs ?? this.timeoutMs, 'timeoutMs');
    const pfc = this.pfc;
    this.pfc = (this.pfc + 1) & 0xff;
    const pseq = pfc & 0x0f;
    const withPw = options.pw ?? DEFAULT_PW_AFNS.includes(afn);
    const tp = options.tp === undefined ? this.timeTag(pfc) : options.tp;
    const pwAfns = withPw ? [...new Set([...this.frameOptions.pwAfns, afn])] : this.frameOptions.pwAfns.filter((a) => a !== afn);
    const request = buildFrame(
      {
        control: { dir: false, prm: true, functionCode: requestFunction(afn) },
        address: terminal,
        afn,
        seq: { seq: pseq, con: CON_REQUEST_AFNS.includes(afn) },
        units,
        ...(withPw && this.frameOptions.pwLength > 0 ? { pw: this.password } : {}),
        ...(tp ? { tp } : {}),
      },
      { ...this.frameOptions, pwAfns },
    );
    const rejected: Gw1376Rejection[] = [];
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const collected = await this.attempt(request, afn, pseq, timeoutMs, rejected, attempt, attempts);
      if (collected) return this.reply(collected, units, pseq, attempt, request);
    }
    const record: Gw1376RequestRecord = { afn, units, pseq, request, attempts, rejected };
    const seen = rejected.length > 0 ? `; rejected meanwhile: ${rejected.length} (first: ${rejected[0]!.reason})` : '';
    throw new Gw1376TimeoutError(
      `no reply to AFN ${hex2(afn)}H (PSEQ ${pseq}) from terminal ${terminal.areaCode}/${terminal.terminal} after ${attempts} attempt(s) of ${timeoutMs} ms${seen}`,
      record,
    );
  }

  /** One attempt: the joined reply frames, or null on timeout (restarted by every frame of a multi-frame reply). */
  private async attempt(
    request: Uint8Array,
    afn: number,
    pseq: number,
    timeoutMs: number,
    rejected: Gw1376Rejection[],
    attempt: number,
    attempts: number,
  ): Promise<Gw1376Message[] | null> {
    let frames: Gw1376Message[] = [];
    let expected = pseq;
    let timer: TimerHandle | undefined;
    let started = false;
    let settle!: (v: Gw1376Message[] | null) => void;
    let fail!: (e: Error) => void;
    const outcome = new Promise<Gw1376Message[] | null>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    outcome.catch(() => undefined); // a close while the write is pending: the write's error is the one thrown
    const arm = (): void => {
      this.clock.clearTimeout(timer);
      timer = this.clock.setTimeout(() => settle(null), timeoutMs);
    };
    this.waiter = {
      offer: (m) => {
        const fr = m.frame;
        if (fr.afn === Afn.confirmDeny) {
          if (fr.seq.seq !== pseq || !fr.seq.fir) return false;
          settle([m]);
          return true;
        }
        if (fr.afn !== afn) return false;
        if (fr.seq.fir && fr.seq.seq === pseq) {
          frames = [m]; // a first frame (again: the terminal started over, e.g. for our retry)
        } else if (!fr.seq.fir && frames.length > 0 && fr.seq.seq === expected) {
          frames.push(m);
        } else {
          return false;
        }
        expected = nextSeq(fr.seq.seq);
        if (fr.seq.fin) settle(frames);
        else if (started) arm();
        return true;
      },
      reject: (reason, bytes) => {
        if (rejected.length < MAX_REJECTIONS_KEPT) rejected.push({ reason, bytes });
      },
      onClose: (e) => fail(e),
    };
    try {
      await this.write(request);
      started = true;
      arm();
      const r = await outcome;
      if (r === null) {
        this.logger?.debug(`AFN ${hex2(afn)}H PSEQ ${pseq}: no ${frames.length > 0 ? 'complete ' : ''}reply within ${timeoutMs} ms (attempt ${attempt}/${attempts})`);
      }
      return r;
    } finally {
      this.clock.clearTimeout(timer);
      this.waiter = undefined;
    }
  }

  private reply(messages: Gw1376Message[], units: readonly UnitSpec[], pseq: number, attempts: number, request: Uint8Array): Gw1376Reply {
    const all = messages.flatMap((m) => messageItems(m));
    let ec: EventCounter | null = null;
    for (const m of messages) if (m.frame.aux.ec) ec = m.frame.aux.ec;
    const base = { messages, items: all, ec, pseq, attempts, request };
    const first = messages[0]!;
    if (first.frame.afn !== Afn.confirmDeny) return { ...base, denied: false };
    const fns = all.map((i) => i.fn);
    if (fns.includes(2)) return { ...base, denied: true, confirm: units.map((u) => ({ fn: u.fn, pn: u.pn, ok: false })) };
    if (fns.includes(1)) return { ...base, denied: false, confirm: units.map((u) => ({ fn: u.fn, pn: u.pn, ok: true })) };
    const confirm: Gw1376Confirmation[] = [];
    for (const item of all) {
      const list = item.fn === 3 && item.value ? item.value.items : undefined;
      if (!Array.isArray(list)) continue;
      for (const e of list as readonly UnitValue[]) {
        const da = hexBytes(String(e.da));
        const dt = hexBytes(String(e.dt));
        const err = typeof e.err === 'number' ? e.err : 1;
        const pns = decodeDa(da[0]!, da[1]!);
        const fnList = decodeDt(dt[0]!, dt[1]!);
        if (!pns.ok || !fnList.ok) continue;
        for (const pn of pns.value === 'all' ? (['all'] as const) : pns.value) for (const fn of fnList.value) confirm.push({ fn, pn, ok: err === 0, err });
      }
    }
    return { ...base, denied: false, confirm };
  }

  /** A.15 text of `ms` in the terminal's local time; UsageError when it is not a whole minute. */
  private a15(ms: number): string {
    if (!Number.isInteger(ms) || ms % 60_000 !== 0) throw new UsageError(`a curve start must be a whole minute in ms, got ${String(ms)}`);
    const local = new Date(ms + this.utcOffsetMinutes * 60_000);
    return local.toISOString().slice(0, 16).replace('T', ' ');
  }

  /** Tp for a request with PFC `pfc`, or null without tpDelayMinutes. */
  private timeTag(pfc: number): TimeTag | null {
    if (this.tpDelayMinutes === null) return null;
    const local = new Date(this.clock.now() + this.utcOffsetMinutes * 60_000);
    return { pfc, day: local.getUTCDate(), hour: local.getUTCHours(), minute: local.getUTCMinutes(), second: local.getUTCSeconds(), delayMinutes: this.tpDelayMinutes };
  }

  private async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw this.closed;
    this.logger?.debug(`-> ${this.link.name}: ${toHex(bytes)}`);
    this.emit('frame', 'out', bytes);
    await this.link.write(bytes);
  }

  // -------------------------------------------------------------------------------------------
  // Internals: receiving

  private handleFrame(f: Received): void {
    this.emit('frame', 'in', f.raw);
    const fr = f.frame;
    if (!fr.control.dir) {
      this.rejectBytes('direction: a downlink frame (DIR = 0) from the terminal side', f.raw);
      return;
    }
    const message = f.message;
    if (message === null) {
      this.rejectBytes(`${f.decodeError?.code ?? 'gw1376.data-unit'}: data units do not decode (${f.decodeError?.message ?? ''})`, f.raw);
      return;
    }
    const a = fr.address;
    if (this.learned === undefined) {
      this.learned = { areaCode: a.areaCode.toUpperCase(), terminal: a.terminal, msa: this.msa, group: false };
    } else if (a.areaCode.toUpperCase() !== this.learned.areaCode.toUpperCase() || a.terminal !== this.learned.terminal) {
      this.rejectBytes(`address: terminal ${a.areaCode}/${a.terminal} on the connection of ${this.learned.areaCode}/${this.learned.terminal}`, f.raw);
      return;
    }
    if (fr.control.prm) {
      this.terminalInitiated(message);
      return;
    }
    // A reply (PRM = 0): ours only with our MSA (3.3).
    const waiter = this.waiter;
    if (a.msa !== this.msa && !waiter?.raw) {
      this.rejectBytes(`msa: a reply to master ${a.msa}, this master is ${this.msa}`, f.raw);
      return;
    }
    if (!waiter || !waiter.offer(message)) {
      this.rejectBytes(`rseq: a reply (AFN ${hex2(fr.afn)}H, RSEQ ${fr.seq.seq}, ${fr.seq.position}) to no pending request`, f.raw);
      return;
    }
    if (fr.seq.con) this.sendConfirm(message);
  }

  /**
   * Runs the handling of one received frame. Nothing in it throws on bytes; an event listener of
   * the caller that throws must not cost the frames behind it in the same chunk, so its error is
   * raised again on its own (as an uncaught exception, like any listener's error), after them.
   */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private terminalInitiated(m: Gw1376Message): void {
    if (m.frame.seq.con) this.sendConfirm(m);
    const fn = m.units[0]?.items[0]?.fn;
    if (m.frame.afn === Afn.linkTest && fn === 1) this.emit('login', m);
    else if (m.frame.afn === Afn.linkTest && fn === 2) this.emit('logout', m);
    else if (m.frame.afn === Afn.linkTest && fn === 3) this.emit('heartbeat', m);
    else this.emit('report', m);
  }

  /** AFN 00 F1 for a frame with CON = 1, unless `confirm` says no. Never throws. */
  private sendConfirm(m: Gw1376Message): void {
    let wanted: boolean;
    try {
      wanted = this.confirmWanted(m);
    } catch (e) {
      this.logger?.debug(`confirm callback threw: ${(e as Error).message}`);
      return;
    }
    if (!wanted || this.closed) return;
    const fr = m.frame;
    const bytes = buildFrame(
      {
        control: { dir: false, prm: false, functionCode: fr.control.functionCode === PrmFunction.linkTest ? RespFunction.linkStatus : RespFunction.confirm },
        address: fr.address,
        afn: Afn.confirmDeny,
        seq: { seq: fr.seq.seq },
        units: [{ pn: 0, fn: 1 }],
      },
      this.frameOptions,
    );
    this.write(bytes).catch((e: unknown) => this.logger?.debug(`confirm not sent: ${(e as Error).message}`));
  }

  private rejectBytes(reason: string, bytes: Uint8Array): void {
    this.logger?.debug(`rejected (${reason}): ${toHex(bytes)}`);
    this.waiter?.reject(reason, bytes);
    this.emit('rejected', { reason, bytes });
  }

  private addressOf(t: { readonly areaCode: string; readonly terminal: number }): Address {
    if (typeof t.areaCode !== 'string' || !/^[0-9A-Fa-f]{4}$/.test(t.areaCode)) throw new UsageError(`area code must be 4 hex/BCD digits, got ${JSON.stringify(t.areaCode)}`);
    if (!Number.isInteger(t.terminal) || t.terminal < 1 || t.terminal > 0xffff) throw new UsageError(`terminal address must be 1..65535, got ${String(t.terminal)}`);
    return { areaCode: t.areaCode.toUpperCase(), terminal: t.terminal, msa: this.msa, group: false };
  }

  private fail(error: LinkError): void {
    this.receiver.cancel();
    if (!this.closed) this.closed = error;
    this.waiter?.onClose(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** The data units of a reply that answers with data: none when it is an AFN 00 answer. */
function dataItems(r: Gw1376Reply): DataUnitItem[] {
  if (r.messages[0]?.frame.afn === Afn.confirmDeny) return [];
  return [...r.items];
}

function hexBytes(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  const out = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * AFN 10 F1 frame-timeout byte (PROTOCOLS.md 3.8 [BK]): D7 = 1 → D6-D0 seconds (82H = 2 s), D7 = 0
 * → D6-D0 × 10 ms. Whole seconds up to 127 s use the seconds unit; other values up to 1270 ms the
 * 10 ms unit. Throws UsageError for what neither can hold.
 */
export function forwardFrameTimeoutByte(ms: number): number {
  if (!(Number.isFinite(ms) && ms > 0)) throw new UsageError(`frameTimeoutMs must be positive, got ${String(ms)}`);
  if (ms % 1000 === 0 && ms / 1000 <= 0x7f) return 0x80 | (ms / 1000);
  if (ms <= 1270) return Math.ceil(ms / 10);
  const s = Math.ceil(ms / 1000);
  if (s <= 0x7f) return 0x80 | s;
  throw new UsageError(`frameTimeoutMs ${ms} exceeds 127 s, the most AFN 10 F1 can say`);
}

/** AFN 10 F1 byte-timeout byte: units of 10 ms (32H = 500 ms, PROTOCOLS.md 3.8 [BK]), 1..255. */
export function forwardByteTimeoutByte(ms: number): number {
  if (!(Number.isFinite(ms) && ms > 0)) throw new UsageError(`byteTimeoutMs must be positive, got ${String(ms)}`);
  const v = Math.ceil(ms / 10);
  if (v > 0xff) throw new UsageError(`byteTimeoutMs ${ms} exceeds 2550 ms, the most AFN 10 F1 can say`);
  return v;
}

/** Largest user data of one frame on a network channel (3.1): split larger requests. */
export const GW1376_MAX_REQUEST_USER_DATA = MAX_USER_DATA_NETWORK;
