/**
 * The interface converter (通信接口转换器, REQUIREMENTS.md MM-01) as protocol logic over links: one
 * upstream RS-485 Link on which the concentrator (or a hand-held reader) speaks CJ/T 188 and DL/T 645,
 * and one downstream Link per archived meter (a micro-power wireless hop, harness/links/wireless-hop.ts,
 * or a wired RS-485 port).
 *
 * For each upstream request frame addressed to a meter in its archive (declaration.archive):
 * - transparent mode (CJ/T 188 and DL/T 645 meters; MM-04 "forwards a CJ/T 188 frame byte-exact"):
 *   the frame from its 68H to its 16H goes down unchanged, behind a preamble of the converter's own
 *   (4 × FE, or a wake-up of 1.25 × the sniff period for a sleeping battery meter, MM-06); the
 *   meter's reply comes back up exactly as it arrived;
 * - protocol-converting mode (MLGW meters, docs/protocols/meterlab-gas-wireless.md 7): CJ/T 188 901F
 *   and A017 become MLGW READ CURRENT DATA and VALVE, the MLGW reply becomes the CJ/T 188 reply in the
 *   converter's dialect; any other request gets an abnormal reply at once.
 * Up to 3 attempts on the hop (spec 7), each waiting the protocol's hop timeout after its last byte
 * is off the air; a meter silent after all of them gets no upstream reply (the master's own timeout
 * tells). A frame for a meter not in the archive, a reply frame, or a wildcard gets silence (the
 * converter shares the RS-485 bus with other devices). One request at a time, in arrival order.
 *
 * Defects (broken variants of the reference, `ConverterDefects`) are plain switches, each naming the
 * field fault it reproduces. Time only from the injected Clock.
 */
import { concatBytes } from '../../harness/core/bytes.ts';
import type { Clock } from '../../harness/core/clock.ts';
import { sum8 } from '../../harness/core/checksum.ts';
import { FlushOnSilence } from '../../harness/core/silence.ts';
import { characterTimeMs, type LineSettings, type Link } from '../../harness/links/link.ts';
import {
  encodeMessage as encodeCjt188,
  encodeStatus as encodeCjt188Status,
  decodeMessage as decodeCjt188Message,
  isWildcardAddress,
  resolveDialect,
  VALVE_DI,
  type Cjt188Dialect,
  type Cjt188Message,
  type Cjt188Value,
} from '../../harness/protocols/cjt188/index.ts';
import type { ConverterArchiveEntry, ConverterDeclaration } from '../../harness/protocols/converter/index.ts';
import {
  encodeMessage as encodeMlgw,
  HOP_ATTEMPTS,
  MIN_PREAMBLE,
  MlgwFrameScanner,
  REPLY_TIMEOUT_MS as MLGW_REPLY_TIMEOUT_MS,
  WAKE_UP_FACTOR,
  type MlgwMessage,
  type MlgwStatus,
} from '../../harness/protocols/mlgw/index.ts';
import { METER_TYPE_OF, UNIT_CUBIC_METRE } from '../flow-meter/cjt188-responder.ts';
import { UpstreamFrameScanner, type UpstreamScanEvent } from './upstream-scanner.ts';

/** FE bytes in front of a frame the converter forwards to an awake meter: 4 (PROTOCOLS.md 2.1: 3-5 in field tools; CON-05). */
export const FORWARD_PREAMBLE = 4;
/**
 * Hop reply timeouts after the request's last byte is off the air, per downstream protocol. MLGW:
 * 500 ms (spec 6). CJ/T 188: 1000 ms (MeterLab's choice: a meter's reply delay plus its longest
 * 901F reply at 2400 bit/s, ~0.3 s, with margin). DL/T 645: 1500 ms (Td ≤ 500 ms, DLT645-08, plus a
 * 200-byte reply at 2400 8E1, ~1 s).
 */
export const HOP_REPLY_TIMEOUT_MS: Readonly<Record<ConverterArchiveEntry['protocol'], number>> = { mlgw: MLGW_REPLY_TIMEOUT_MS, cjt188: 1000, dlt645: 1500 };
/** Time the converter takes to turn a received reply into its upstream reply, ms (MeterLab's choice). */
export const PROCESSING_MS = 10;
/** Upstream silence that ends a partial frame: 500 ms, DL/T 645's Tb, which RS-485 readers use for CJ/T 188 too [BK]. */
export const UPSTREAM_SILENCE_MS = 500;

/** Broken variants of the reference converter (simulators/converter/README.md). */
export interface ConverterDefects {
  /**
   * Alters one byte of every CJ/T 188 frame it forwards to a meter and fixes the checksum, so the
   * meter still answers: SER + 1. The field fault: a converter firmware that renumbers frames
   * instead of passing them through (MM-04 asks byte-exact forwarding); a master that does not
   * check SER (vectors 22-23: real meters do not always echo it) never notices.
   */
  readonly alterForwardedByte?: boolean;
  /** Sends the short preamble to sleeping battery meters too: they never wake (MM-06). */
  readonly noWakeUp?: boolean;
  /** Holds every upstream reply this much longer, ms: a converter slower than it declares. */
  readonly extraDelayMs?: number;
  /** Converts MLGW litres as if they were 0.01 m³ (volume 10 × too large): a wrong unit in conversion. */
  readonly wrongVolumeUnit?: boolean;
  /** One attempt on the hop instead of three: more loss than declared on a lossy hop. */
  readonly singleHopAttempt?: boolean;
}

/** One archived meter's downstream side as the converter sees it. */
export interface ConverterPort {
  readonly entry: ConverterArchiveEntry;
  /** The converter's end of the meter's hop or RS-485 port. */
  readonly link: Link;
  /** Character timing on that link (the wake-up length is computed from it). */
  readonly line: LineSettings;
}

export interface InterfaceConverterOptions {
  readonly upstream: Link;
  readonly clock: Clock;
  readonly declaration: ConverterDeclaration;
  readonly ports: readonly ConverterPort[];
  readonly defects?: ConverterDefects;
  readonly log?: (line: string) => void;
}

export interface ConverterStats {
  /** Upstream request frames for an archived meter. */
  requests: number;
  /** Answered upstream. */
  answered: number;
  /** Not answered: the meter stayed silent on every hop attempt. */
  unanswered: number;
  /** Hop attempts made (first attempts and retries). */
  hopAttempts: number;
  /** Upstream frames ignored: not for an archived meter, replies, wildcards, undecodable. */
  ignored: number;
}

export class InterfaceConverter {
  readonly stats: ConverterStats = { requests: 0, answered: 0, unanswered: 0, hopAttempts: 0, ignored: 0 };
  readonly defects: ConverterDefects;
  private readonly o: InterfaceConverterOptions;
  private readonly receiver: FlushOnSilence<UpstreamScanEvent>;
  private readonly ports = new Map<string, HopPort>();
  private readonly dialect: Cjt188Dialect;
  private queue: Promise<void> = Promise.resolve();
  private running = false;
  private stopped = new AbortController();
  private seq = 0;
  private readonly onData = (chunk: Uint8Array): void => this.receiver.push(chunk);

  constructor(o: InterfaceConverterOptions) {
    this.o = o;
    this.defects = o.defects ?? {};
    this.dialect = resolveDialect({ ...o.declaration.dialect });
    for (const p of o.ports) this.ports.set(p.entry.address, new HopPort(p, o.clock));
    this.receiver = new FlushOnSilence({
      scanner: new UpstreamFrameScanner(),
      clock: o.clock,
      silenceMs: UPSTREAM_SILENCE_MS,
      deliver: (events) => {
        for (const e of events) if (e.type === 'frame') this.enqueue(e);
      },
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = new AbortController();
    this.o.upstream.on('data', this.onData);
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.o.upstream.off('data', this.onData);
    this.receiver.cancel();
    this.receiver.reset();
    this.stopped.abort(new Error('converter stopped'));
    for (const p of this.ports.values()) p.dispose();
  }

  /** Archive entry of an upstream address, if any. */
  entry(address: string): ConverterArchiveEntry | undefined {
    return this.ports.get(address)?.port.entry;
  }

  private enqueue(e: Extract<UpstreamScanEvent, { type: 'frame' }>): void {
    const run = this.queue.then(() => (this.running ? this.handle(e) : undefined));
    this.queue = run.catch((err: unknown) => this.o.log?.(`converter: ${(err as Error).message}`));
  }

  private async handle(e: Extract<UpstreamScanEvent, { type: 'frame' }>): Promise<void> {
    const f = e.frame;
    const address = f.decoded.frame.address;
    const isResponse = f.decoded.frame.control.isResponse;
    const port = this.ports.get(address);
    if (isResponse || !port || (f.protocol === 'cjt188' && isWildcardAddress(address)) || (port.port.entry.protocol === 'dlt645') !== (f.protocol === 'dlt645')) {
      this.stats.ignored++;
      return;
    }
    this.stats.requests++;
    const reply = port.port.entry.mode === 'convert' ? await this.convert(port, e) : await this.forward(port, e);
    if (reply === null) {
      this.stats.unanswered++;
      this.o.log?.(`converter: no reply from ${address} after ${this.attempts()} hop attempt(s)`);
      return;
    }
    await this.o.clock.sleep(PROCESSING_MS + (this.defects.extraDelayMs ?? 0), this.stopped.signal).catch(() => undefined);
    if (!this.running || !this.o.upstream.isOpen) return;
    this.stats.answered++;
    await this.o.upstream.write(reply).catch((err: unknown) => this.o.log?.(`converter: reply not written: ${(err as Error).message}`));
  }

  private attempts(): number {
    return this.defects.singleHopAttempt ? 1 : HOP_ATTEMPTS;
  }

  /** FE or 55H bytes in front of a frame to this meter: a wake-up for a sleeping one (MM-06), else the short preamble. */
  private preambleFor(port: ConverterPort): number {
    const e = port.entry;
    const short = e.protocol === 'mlgw' ? MIN_PREAMBLE : FORWARD_PREAMBLE;
    if (!e.sleeps || this.defects.noWakeUp) return short;
    return Math.max(short, Math.ceil((WAKE_UP_FACTOR * e.sniffPeriodMs) / characterTimeMs(port.line) - 1e-9));
  }

  // -------------------------------------------------------------------------------------------
  // Transparent mode

  private async forward(hop: HopPort, e: Extract<UpstreamScanEvent, { type: 'frame' }>): Promise<Uint8Array | null> {
    const entry = hop.port.entry;
    const body = this.defects.alterForwardedByte ? alterOneByte(e.body, e.frame.protocol) : e.body;
    const bytes = concatBytes(new Uint8Array(this.preambleFor(hop.port)).fill(0xfe), body);
    for (let attempt = 1; attempt <= this.attempts(); attempt++) {
      this.stats.hopAttempts++;
      const scanner = new UpstreamFrameScanner();
      const reply = await hop.exchange(
        bytes,
        (chunk) => {
          for (const ev of scanner.push(chunk)) {
            if (ev.type !== 'frame' || ev.frame.protocol !== e.frame.protocol) continue;
            const fr = ev.frame.decoded.frame;
            if (fr.control.isResponse && fr.address === entry.address) return ev.raw;
          }
          return null;
        },
        HOP_REPLY_TIMEOUT_MS[entry.protocol],
        this.stopped.signal,
      );
      if (reply) return reply;
      if (!this.running) return null;
    }
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // Protocol-converting mode: CJ/T 188 upstream <-> MLGW downstream (spec 7)

  private async convert(hop: HopPort, e: Extract<UpstreamScanEvent, { type: 'frame' }>): Promise<Uint8Array | null> {
    if (e.frame.protocol !== 'cjt188') return null;
    const entry = hop.port.entry;
    const frame = e.frame.decoded.frame;
    const decoded = decodeCjt188Message(frame, frame.preamble + 11, { ...this.dialect, acceptEitherDiOrder: true });
    const meterType = METER_TYPE_OF[entry.meter as keyof typeof METER_TYPE_OF];
    if (!decoded.ok) return null; // a malformed request gets silence, as from a meter
    const m = decoded.value;
    const head = { di: m.di, diOrder: this.dialect.diOrder, ser: m.ser };
    const reply = (msg: Cjt188Message): Uint8Array => encodeCjt188(meterType, entry.address, msg, { dialect: this.dialect });
    const abnormal = (functionCode: number, status: MlgwStatus | null): Uint8Array =>
      reply({ ...head, kind: 'abnormalResponse', functionCode, status: null, payload: status ? encodeCjt188Status(this.st(status), this.dialect.statusLayout) : new Uint8Array(0) });
    let request: MlgwMessage;
    const seq = (this.seq = (this.seq + 1) & 0xff);
    const meterId = entry.meterId!;
    if (m.kind === 'readData' && m.di === '901F') request = { kind: 'readCurrent', meterId, seq };
    else if (m.kind === 'valveControl' && m.di === VALVE_DI && (m.commandName === 'open' || m.commandName === 'close')) request = { kind: 'valve', meterId, seq, action: m.commandName };
    else if (m.kind === 'readData' || m.kind === 'readAddress' || m.kind === 'readKeyVersion' || m.kind === 'writeData' || m.kind === 'writeAddress' || m.kind === 'writeSyncData' || m.kind === 'valveControl') {
      // Nothing MLGW v1 can carry: refused at once, no hop traffic (spec 7).
      return abnormal(frame.control.functionCode, null);
    } else return null;
    const bytes = encodeMlgw(request, { preamble: this.preambleFor(hop.port) });
    for (let attempt = 1; attempt <= this.attempts(); attempt++) {
      this.stats.hopAttempts++;
      const scanner = new MlgwFrameScanner();
      const got = await hop.exchange(
        bytes,
        (chunk) => {
          for (const ev of scanner.push(chunk)) {
            if (ev.type !== 'frame' || !ev.message.ok) continue;
            const f = ev.decoded.frame;
            if (f.isReply && f.meterId === meterId && f.seq === seq) return ev.message.value;
          }
          return null;
        },
        HOP_REPLY_TIMEOUT_MS.mlgw,
        this.stopped.signal,
      );
      if (!got) {
        if (!this.running) return null;
        continue;
      }
      switch (got.kind) {
        case 'readCurrentReply': {
          const scale = this.defects.wrongVolumeUnit ? 10 : 1;
          const q = (litres: number) => ({ value: (Math.floor((litres * scale) / 10) / 100), unit: 'm³', unitCode: UNIT_CUBIC_METRE });
          const value = { currentFlow: q(got.volumeLitres), settlementFlow: q(got.settledLitres), time: got.time, status: this.st(got.status) } as unknown as Cjt188Value;
          return reply({ ...head, kind: 'readDataResponse', value });
        }
        case 'valveReply':
          return reply({ ...head, kind: 'valveControlResponse', functionCode: frame.control.functionCode, status: this.st(got.status) });
        case 'errorReply':
          return abnormal(frame.control.functionCode, got.status);
        default:
          return abnormal(frame.control.functionCode, null);
      }
    }
    return null;
  }

  /** CJ/T 188 ST of an MLGW STATUS in the converter's dialect (valve D1 D0, battery D2). */
  private st(s: MlgwStatus): { raw: string; valve: 'open' | 'closed' | 'abnormal'; batteryLow: boolean; layout: Cjt188Dialect['statusLayout'] } {
    return { raw: '00 00', valve: s.valve, batteryLow: s.batteryLow, layout: this.dialect.statusLayout };
  }
}

/**
 * The defect `alterForwardedByte` on a CJ/T 188 frame (68H at 0): SER (offset 13) + 1 and CS fixed.
 * A DL/T 645 frame has no sequence number to renumber; it is forwarded unchanged.
 */
export function alterOneByte(body: Uint8Array, protocol: 'cjt188' | 'dlt645'): Uint8Array {
  const out = body.slice();
  const csAt = out.length - 2;
  const serAt = 13;
  if (protocol !== 'cjt188' || serAt >= csAt) return out;
  out[serAt] = (out[serAt]! + 1) & 0xff;
  out[csAt] = sum8(out, 0, csAt);
  return out;
}

/** One downstream link: one exchange at a time, each with its own parser of the reply. */
class HopPort {
  private listener: ((chunk: Uint8Array) => void) | undefined;
  private readonly onData = (chunk: Uint8Array): void => this.listener?.(chunk);

  constructor(
    readonly port: ConverterPort,
    private readonly clock: Clock,
  ) {
    port.link.on('data', this.onData);
  }

  /**
   * Writes `bytes` and waits `timeoutMs` after they are off the air for `parse` to return a reply
   * (it sees every chunk that arrives). The reply, or null.
   */
  async exchange<R>(bytes: Uint8Array, parse: (chunk: Uint8Array) => R | null, timeoutMs: number, stop: AbortSignal): Promise<R | null> {
    if (!this.port.link.isOpen || stop.aborted) return null;
    let result: R | null = null;
    const got = new AbortController();
    this.listener = (chunk) => {
      if (result !== null) return;
      const r = parse(chunk);
      if (r !== null) {
        result = r;
        got.abort();
      }
    };
    const onStop = (): void => got.abort();
    stop.addEventListener('abort', onStop, { once: true });
    try {
      await this.port.link.write(bytes);
      if (result === null && !got.signal.aborted) await this.clock.sleep(timeoutMs, got.signal).catch(() => undefined);
    } catch {
      // A closed hop: no reply.
    } finally {
      this.listener = undefined;
      stop.removeEventListener('abort', onStop);
    }
    return result;
  }

  dispose(): void {
    this.port.link.off('data', this.onData);
    this.listener = undefined;
  }
}
