/**
 * M-Bus master (EN 13757-2 / -3) over any Link: the side a level converter driven by a
 * concentrator or libmbus plays. One request at a time; every exchange is recorded with all its
 * attempts, the frames rejected and the bytes discarded, for evidence.
 *
 * Requests and what they expect (MBUS.md 3, 4, 6):
 * - SND_NKE (`10 40 A CS 16`) → E5; resets the FCB state of the address.
 * - REQ_UD2 (`10 5B/7B A CS 16`) → RSP_UD from that primary address (any address at 253/254).
 * - select: SND_UD to 253 with CI 52 and the 8-byte secondary address (wildcards: ID nibble F,
 *   manufacturer FFFF, version/medium FF) → E5 from the slave(s) that match.
 *
 * FCB (MBUS.md 3). The master keeps the next FCB per address, true after a SND_NKE (and at
 * first: the state after a link reset), and toggles it after every successful FCV = 1 exchange;
 * every retry of one exchange repeats the same bytes, FCB included, so a slave whose reply was
 * lost repeats its last telegram instead of moving on. A multi-telegram read therefore goes
 * 7B, 5B, 7B... (what libmbus sends, MBUS.md 3). A successful select resets the state of 253.
 *
 * Two ways to wait for a reply:
 * - a request (reads, SND_NKE) takes the first acceptable frame, retries on silence or garbage,
 *   and throws MbusNoReplyError (nothing came) or MbusCollisionError (bytes came, never an
 *   acceptable frame) after the last attempt;
 * - a probe (scans, selects) listens to the whole reply window, because a second slave may
 *   answer later inside its window: exactly one acceptable frame and nothing else is a reply,
 *   no byte at all is silence (retried), anything else is a collision (not retried, as libmbus).
 *   Two slaves acknowledging one selection give the master two E5 characters (or corrupted ones
 *   where they overlap, links/mbus-segment.ts): a collision.
 *
 * Timing defaults (EN 13757-2 as cited by libmbus, MBUS.md 1): a slave starts its reply between
 * 11 bit times and 330 bit times + 50 ms after the request; so an E5 has fully arrived 330 bit
 * times + 50 ms + 1 character after the request ends (2400 Bd: 192.1 ms), and the longest frame
 * (261 characters) 330 bit times + 50 ms + 261 characters after it (2400 Bd: 1383.8 ms); the
 * defaults add one character time of slack (RESPONSE_SLACK_CHARACTERS): 196.7 ms and 1388.3 ms.
 * Attempts: 3 for a data request, 1 + 1 retry for a scan probe (libmbus max_data_retry 3,
 * max_search_retry 1, MBUS.md 1). A partial frame is given up after 300 ms of silence at 2400 Bd
 * (libmbus's VTIME per baud rate, MBUS.md 1).
 *
 * Secondary search (MBUS.md 6; libmbus mbus_scan_2nd_address_range): walk the ID digits of the
 * mask left to right; at a wildcard try 0..9; a single answer (E5, then a clean RSP_UD to 253
 * that gives the full identity) is a hit; a collision fixes that digit and goes one digit deeper.
 * Unlike libmbus it does not try 0..9 at the manufacturer, version and medium positions (they are
 * hex): a collision left when all 8 ID digits are fixed is reported as unresolved.
 *
 * Time only from the injected Clock.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../core/clock.ts';
import { toHex } from '../core/bytes.ts';
import { LinkError, UsageError, type DecodeError } from '../core/errors.ts';
import type { Result } from '../core/result.ts';
import { FlushOnSilence } from '../core/silence.ts';
import type { ChunkTiming, Link, LineSettings } from '../links/link.ts';
import { characterTimeMs, bitsPerCharacter } from '../links/link.ts';
import { MBUS_DEFAULT_LINE } from '../links/mbus-segment.ts';
import {
  ADDRESS_BROADCAST_REPLY,
  ADDRESS_NETWORK_LAYER,
  LONG_FRAME_OVERHEAD,
  MAX_DATA_LENGTH,
  MAX_PRIMARY_ADDRESS,
  MbusFrameScanner,
  decodeApplication,
  encodeReqUd2,
  encodeSelection,
  encodeSndNke,
  formatSecondaryAddress,
  hexByte,
  identityOf,
  parseSecondaryAddress,
  type LongHeader,
  type MbusApplication,
  type MbusFrame,
  type MbusRecord,
  type MbusScanEvent,
  type SecondaryAddress,
  type ShortHeader,
} from '../protocols/mbus/index.ts';
import type { MasterLogger } from './dlt645-master.ts';
import { MbusApplicationError, MbusCollisionError, MbusNoReplyError, MbusProtocolError } from './mbus-errors.ts';
import { NO_CALL_SITE, ReplyWait, captureCallSite, nonNegative, positive, positiveInt, withCallSite, type CallSite } from './common.ts';

/** EN 13757-2 (as cited by libmbus, MBUS.md 1): the reply starts at most 330 bit times + 50 ms after the request. */
export const RESPONSE_WINDOW_BITS = 330;
export const RESPONSE_WINDOW_EXTRA_MS = 50;
/** Longest frame: 252 data bytes + 9 (MBUS.md 2). */
export const LONGEST_FRAME_CHARACTERS = MAX_DATA_LENGTH + LONG_FRAME_OVERHEAD;
/** libmbus max_data_retry = 3 (MBUS.md 1): attempts for a data request. */
export const MBUS_DEFAULT_ATTEMPTS = 3;
/** libmbus max_search_retry = 1 (MBUS.md 1): a scan probe is sent at most twice. */
export const MBUS_DEFAULT_PROBE_ATTEMPTS = 2;
/** Telegrams followed in one read while DIF 1F says more follow. [BK]: a guard against a slave that never stops, not a number from the standard. */
export const MBUS_DEFAULT_MAX_TELEGRAMS = 16;
/** libmbus termios VTIME by baud rate (MBUS.md 1): the silence after which a partial frame is given up. */
const LIBMBUS_VTIME_MS: Readonly<Record<number, number>> = { 300: 1300, 600: 800, 1200: 500, 2400: 300, 4800: 300, 9600: 200, 19200: 200, 38400: 200 };
/** The highest primary address a slave can have (MBUS.md 4): 0 (unconfigured) .. 250. */
export const PRIMARY_SCAN_LAST = MAX_PRIMARY_ADDRESS;
/** The 16-character wildcard mask that matches every slave (MBUS.md 6). */
export const WILDCARD_MASK = 'FFFFFFFFFFFFFFFF';

/**
 * One character time of slack after the deadline, so that a reply that starts at the very end of
 * the window is not lost to the order of two timers due at one instant, or to a receiving UART's
 * latency. [BK]: our margin, not a number from the standard; suites judge the window itself from
 * `responseDelayMs`.
 */
export const RESPONSE_SLACK_CHARACTERS = 1;

/**
 * Reply timeout (ms after the request's end) for a reply of `characters` characters: the latest
 * instant it has fully arrived when it starts at the end of the response window, plus
 * RESPONSE_SLACK_CHARACTERS (see "Timing defaults").
 */
export function replyDeadlineMs(line: LineSettings, characters: number): number {
  const bits = RESPONSE_WINDOW_BITS + (characters + RESPONSE_SLACK_CHARACTERS) * bitsPerCharacter(line);
  return (bits * 1000) / line.baudRate + RESPONSE_WINDOW_EXTRA_MS;
}

/** libmbus's inter-byte silence (VTIME) for a baud rate (MBUS.md 1); a rate it does not list: 330 bit times, at least 200 ms ([BK]). */
export function interByteSilenceMs(line: LineSettings): number {
  return LIBMBUS_VTIME_MS[line.baudRate] ?? Math.max(200, (330 * 1000) / line.baudRate);
}

// ---------------------------------------------------------------------------------------------
// Exchange record

/** A complete frame taken off the link. */
export interface MbusReceivedFrame {
  readonly raw: Uint8Array;
  readonly frame: MbusFrame;
  /** Estimated instant its first byte started to arrive. */
  readonly firstByteAt: number;
  /** Instant its last byte was delivered. */
  readonly at: number;
}

export type MbusRejectReason =
  /** A master frame (direction bit set): an echo of the request from a level converter, or another master (MBUS.md 1). */
  | 'direction'
  /** RSP_UD from another primary address than the one asked. */
  | 'address'
  /** A frame of another kind than expected (E5 for a read, RSP_UD for a SND_NKE). */
  | 'unexpected-frame'
  /** Complete before this attempt's request had left: a late answer to an earlier request. */
  | 'late';

export interface MbusRejectedFrame extends MbusReceivedFrame {
  readonly reason: MbusRejectReason;
  readonly detail: string;
  readonly attempt: number;
}

export interface MbusDiscardedBytes {
  readonly bytes: Uint8Array;
  readonly error: DecodeError;
  readonly at: number;
  readonly attempt: number;
}

export interface MbusAttemptRecord {
  readonly attempt: number;
  readonly sentAt: number;
  readonly writtenAt: number;
  /** Estimated end of transmission (write resolved, or later by the line time of the bytes on a real port). */
  readonly transmittedAt: number;
  /**
   * reply: accepted; silence: nothing but echoes of master frames; garbled: bytes that made no
   * valid frame (bad checksum, cut short, overlapping answers); rejected: only valid frames that
   * are not the reply (another address, another kind); collision: a probe heard more than one
   * answer, or garbage.
   */
  readonly outcome: 'reply' | 'silence' | 'garbled' | 'rejected' | 'collision';
}

export type MbusRequestKind = 'SND_NKE' | 'REQ_UD2' | 'select';
export type MbusExpect = 'ack' | 'rsp_ud';

export interface MbusExchange {
  readonly kind: MbusRequestKind;
  /** A field of the request (253 for a select and for reads after one). */
  readonly address: number;
  /** For a select: the pattern, in libmbus's 16-character form. */
  readonly secondary?: string;
  /** FCB sent (FCV = 1 requests); absent for SND_NKE. */
  readonly fcb?: boolean;
  readonly request: Uint8Array;
  readonly expect: MbusExpect;
  /** request: first acceptable frame wins; probe: the whole window is heard. */
  readonly mode: 'request' | 'probe';
  /** Reply timeout (request) or listening window (probe) of each attempt, from the end of transmission. */
  readonly timeoutMs: number;
  outcome: 'reply' | 'no-reply' | 'collision';
  reply?: MbusReceivedFrame;
  /** The decoded application layer of an accepted long frame. */
  application?: Result<MbusApplication, DecodeError>;
  attempts: number;
  readonly attemptLog: MbusAttemptRecord[];
  sentAt: number;
  transmittedAt: number;
  /** Time from the end of the request to the first reply byte's start. */
  responseDelayMs?: number;
  readonly rejected: MbusRejectedFrame[];
  readonly discarded: MbusDiscardedBytes[];
}

// ---------------------------------------------------------------------------------------------
// Options and results

export interface MbusMasterOptions {
  readonly link: Link;
  readonly clock: Clock;
  /** Line settings of the segment: the timing defaults and line-time estimates come from them. Default 2400 8E1. */
  readonly line?: LineSettings;
  /** Reply timeout of a data request from the end of the request. Default replyDeadlineMs(line, 261): 1388.3 ms at 2400 Bd. */
  readonly timeoutMs?: number;
  /** Reply timeout (and listening window) for an E5. Default replyDeadlineMs(line, 1): 196.7 ms at 2400 Bd. */
  readonly ackTimeoutMs?: number;
  /** Attempts of a data request or SND_NKE. Default 3 (libmbus max_data_retry). */
  readonly attempts?: number;
  /** Attempts of a scan probe on silence. Default 2 (libmbus max_search_retry 1). */
  readonly probeAttempts?: number;
  /** Silence that ends a partial frame. Default libmbus's VTIME for the baud rate (300 ms at 2400). */
  readonly interByteTimeoutMs?: number;
  /** Telegrams a read follows. Default 16. */
  readonly maxTelegrams?: number;
  readonly logger?: MasterLogger;
  /** Capture the caller's stack per request for the no-reply error (default true). */
  readonly callSites?: boolean;
}

export interface MbusRequestOptions {
  readonly attempts?: number;
  readonly timeoutMs?: number;
}

export interface MbusReadOptions extends MbusRequestOptions {
  /**
   * Send SND_NKE first (as libmbus's request-data tool does), so the first REQ_UD2 is FCB = 1 on a
   * reset slave. Default false. At 253 a SND_NKE deselects the slave (MBUS.md 6): readSecondary
   * never sends it.
   */
  readonly reset?: boolean;
  /** Follow "more records follow" (DIF 1F). Default true. */
  readonly multiTelegram?: boolean;
  readonly maxTelegrams?: number;
}

export interface MbusTelegram {
  readonly exchange: MbusExchange;
  readonly application: Extract<MbusApplication, { kind: 'variableData' | 'fixedData' }>;
}

export interface MbusReadResult {
  /** The A field the read was sent to. */
  readonly address: number;
  /** The primary address in the A field of the (first) reply. */
  readonly replyAddress: number;
  /** Header of the first telegram (CI 72: long, 7A: short, 78: null). */
  readonly header: LongHeader | ShortHeader | null;
  /** The slave's secondary address, from a long header. */
  readonly identity?: SecondaryAddress;
  /** Records of every telegram in order (a telegram's closing 1F record included). */
  readonly records: readonly MbusRecord[];
  readonly telegrams: readonly MbusTelegram[];
  /** Every exchange of the read (SND_NKE first when reset), in order. */
  readonly exchanges: readonly MbusExchange[];
}

export interface MbusPrimaryScanOptions {
  readonly from?: number;
  readonly to?: number;
  /** Probe with SND_NKE (E5, libmbus's scan) or REQ_UD2 (RSP_UD, gives the identity). Default SND_NKE. */
  readonly method?: 'SND_NKE' | 'REQ_UD2';
}

export interface MbusPrimaryScanResult {
  /** Addresses that answered alone, in order. */
  readonly found: readonly { readonly address: number; readonly identity?: SecondaryAddress; readonly exchange: MbusExchange }[];
  /** Addresses where more than one answer or garbage came (two slaves with one address). */
  readonly collisions: readonly { readonly address: number; readonly exchange: MbusExchange }[];
  readonly exchanges: number;
  readonly attempts: number;
  readonly durationMs: number;
}

export interface MbusSecondaryHit {
  /** The full secondary address from the slave's RSP_UD header. */
  readonly address: SecondaryAddress;
  /** libmbus's 16-character form. */
  readonly text: string;
  /** Its primary address (A field of the RSP_UD). */
  readonly primary: number;
  /** The mask that selected it alone. */
  readonly mask: string;
}

export interface MbusSecondarySearchResult {
  readonly found: readonly MbusSecondaryHit[];
  /** Masks with all 8 ID digits fixed that still collide (several slaves with one ID). */
  readonly unresolved: readonly string[];
  /** Masks a slave acknowledged but then did not answer REQ_UD2 for. */
  readonly unreadable: readonly string[];
  /** Selections sent (one per mask tried). */
  readonly selections: number;
  /** Requests sent (selections and REQ_UD2), and attempts including retries. */
  readonly exchanges: number;
  readonly attempts: number;
  readonly durationMs: number;
}

export interface MbusSendRawResult {
  readonly request: Uint8Array;
  readonly frames: readonly MbusReceivedFrame[];
  readonly discarded: readonly { readonly bytes: Uint8Array; readonly error: DecodeError }[];
  /** Bytes received during the window. */
  readonly received: number;
  readonly silent: boolean;
}

export interface MbusMasterEvents {
  exchange: [exchange: MbusExchange];
  unsolicited: [frame: MbusReceivedFrame];
}

interface Listener {
  onFrame(f: MbusReceivedFrame): void;
  onDiscarded(bytes: Uint8Array, error: DecodeError, at: number): void;
  onBytes(n: number): void;
  onClose(e: LinkError): void;
}

interface Spec {
  readonly kind: MbusRequestKind;
  readonly address: number;
  readonly request: Uint8Array;
  readonly expect: MbusExpect;
  readonly mode: 'request' | 'probe';
  readonly attempts: number;
  readonly timeoutMs: number;
  readonly fcb?: boolean;
  readonly secondary?: string;
}

type Verdict = { ok: true } | { ok: false; reason: MbusRejectReason; detail: string };

export class MbusMaster extends EventEmitter<MbusMasterEvents> {
  readonly link: Link;
  readonly clock: Clock;
  readonly line: LineSettings;
  readonly timeoutMs: number;
  readonly ackTimeoutMs: number;
  readonly attempts: number;
  readonly probeAttempts: number;
  readonly interByteTimeoutMs: number;
  readonly maxTelegrams: number;
  /** Requests sent and attempts made since creation. */
  readonly stats = { exchanges: 0, attempts: 0 };
  private readonly logger: MasterLogger | undefined;
  private readonly callSites: boolean;
  private readonly charMs: number;
  private readonly receiver: FlushOnSilence<MbusScanEvent>;
  private readonly fcbState = new Map<number, boolean>();
  private queue: Promise<unknown> = Promise.resolve();
  private listener: Listener | undefined;
  private closed: LinkError | undefined;
  /** Start instants of recent bytes, by stream offset (rxBase + index). */
  private rxBase = 0;
  private rxStarts: number[] = [];

  private readonly onData = (chunk: Uint8Array, timing?: ChunkTiming): void => this.receive(chunk, timing);
  private readonly onLinkClose = (): void => this.fail(new LinkError(`${this.link.name} closed`));
  private readonly onLinkError = (e: Error): void =>
    this.fail(e instanceof LinkError ? e : new LinkError(`${this.link.name}: ${e.message}`, { cause: e }));

  constructor(options: MbusMasterOptions) {
    super();
    this.link = options.link;
    this.clock = options.clock;
    this.line = options.line ?? MBUS_DEFAULT_LINE;
    this.charMs = characterTimeMs(this.line);
    this.timeoutMs = positive(options.timeoutMs ?? replyDeadlineMs(this.line, LONGEST_FRAME_CHARACTERS), 'timeoutMs');
    this.ackTimeoutMs = positive(options.ackTimeoutMs ?? replyDeadlineMs(this.line, 1), 'ackTimeoutMs');
    this.attempts = positiveInt(options.attempts ?? MBUS_DEFAULT_ATTEMPTS, 'attempts');
    this.probeAttempts = positiveInt(options.probeAttempts ?? MBUS_DEFAULT_PROBE_ATTEMPTS, 'probeAttempts');
    this.interByteTimeoutMs = positive(options.interByteTimeoutMs ?? interByteSilenceMs(this.line), 'interByteTimeoutMs');
    this.maxTelegrams = positiveInt(options.maxTelegrams ?? MBUS_DEFAULT_MAX_TELEGRAMS, 'maxTelegrams');
    this.logger = options.logger;
    this.callSites = options.callSites ?? true;
    this.receiver = new FlushOnSilence({
      scanner: new MbusFrameScanner(),
      clock: this.clock,
      silenceMs: this.interByteTimeoutMs,
      deliver: (events) => this.handle(events),
    });
    this.link.on('data', this.onData);
    this.link.on('close', this.onLinkClose);
    this.link.on('error', this.onLinkError);
    if (!this.link.isOpen) this.closed = new LinkError(`${this.link.name} is closed`);
  }

  /** The FCB the next FCV = 1 request to `address` will carry. */
  nextFcb(address: number): boolean {
    return this.fcbState.get(address) ?? true;
  }

  /** Resolves when no request is queued or running. */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.queue;
      await q;
      if (q === this.queue) return;
    }
  }

  /** Stops listening to the link (does not close it); queued requests reject with a LinkError. */
  dispose(): void {
    this.receiver.cancel();
    this.link.off('data', this.onData);
    this.link.off('close', this.onLinkClose);
    this.link.off('error', this.onLinkError);
    this.fail(new LinkError('the M-Bus master was disposed'));
  }

  // -------------------------------------------------------------------------------------------
  // Requests

  /** SND_NKE → E5 (link reset; resets the FCB state of `address`). Throws MbusNoReplyError / MbusCollisionError. */
  async sndNke(address: number, options: MbusRequestOptions = {}): Promise<MbusExchange> {
    const site = this.callSite(this.sndNke);
    const spec = this.spec('SND_NKE', address, encodeSndNke(checkAddress(address)), 'ack', 'request', options);
    const x = await this.enqueue(() => this.exchange(spec));
    this.throwUnlessReply(x, site, 'SND_NKE');
    this.fcbState.set(address, true);
    return x;
  }

  /**
   * One REQ_UD2 → RSP_UD with this address's next FCB (toggled after the reply; kept on retries).
   * The telegram's application layer is decoded; throws MbusApplicationError for CI 70 and
   * MbusProtocolError when it does not decode.
   */
  async reqUd2(address: number, options: MbusRequestOptions = {}): Promise<MbusTelegram> {
    return this.telegram(address, options, this.callSite(this.reqUd2));
  }

  /**
   * Reads a slave's data: REQ_UD2 (SND_NKE first with `reset`), then again with FCB toggled while
   * the telegram ends in DIF 1F ("more records follow", MBUS.md 11), up to maxTelegrams.
   */
  async readData(address: number, options: MbusReadOptions = {}): Promise<MbusReadResult> {
    const site = this.callSite(this.readData);
    const exchanges: MbusExchange[] = [];
    if (options.reset) exchanges.push(await this.sndNke(address, options));
    const max = positiveInt(options.maxTelegrams ?? this.maxTelegrams, 'maxTelegrams');
    const telegrams: MbusTelegram[] = [];
    for (;;) {
      const t = await this.telegram(address, options, site);
      telegrams.push(t);
      exchanges.push(t.exchange);
      const more = t.application.kind === 'variableData' && t.application.moreRecordsFollow;
      if (!more || options.multiTelegram === false) break;
      if (telegrams.length >= max) {
        throw new MbusProtocolError(`slave at ${address} still flags more records after ${max} telegrams`, t.exchange);
      }
    }
    const first = telegrams[0]!;
    const app = first.application;
    const header = app.kind === 'variableData' ? app.header : null;
    const records = telegrams.flatMap((t) => (t.application.kind === 'variableData' ? [...t.application.records] : []));
    return {
      address,
      replyAddress: (first.exchange.reply!.frame as { address: number }).address,
      header,
      ...(header?.type === 'long' ? { identity: identityOf(header) } : {}),
      records,
      telegrams,
      exchanges,
    };
  }

  /**
   * Selects by secondary address (SND_UD to 253, CI 52; MBUS.md 6) and listens to the whole
   * window: outcome 'reply' (one E5), 'no-reply', or 'collision'. Never throws for those.
   */
  select(pattern: SecondaryAddress | string): Promise<MbusExchange> {
    const p = toPattern(pattern);
    const text = formatSecondaryAddress(p);
    // MBUS.md 3: libmbus sends the selection with C = 73 (FCB set).
    const spec = this.spec('select', ADDRESS_NETWORK_LAYER, encodeSelection(p, true), 'ack', 'probe', {}, { secondary: text, fcb: true });
    return this.enqueue(async () => {
      const x = await this.exchange(spec);
      if (x.outcome === 'reply') this.fcbState.set(ADDRESS_NETWORK_LAYER, true);
      return x;
    });
  }

  /** Selects `pattern` (exactly one slave must answer) and reads it at 253. */
  async readSecondary(pattern: SecondaryAddress | string, options: MbusReadOptions = {}): Promise<MbusReadResult> {
    const site = this.callSite(this.readSecondary);
    const x = await this.select(pattern);
    this.throwUnlessReply(x, site, `selection of ${x.secondary ?? '?'}`);
    const r = await this.readData(ADDRESS_NETWORK_LAYER, { ...options, reset: false });
    return { ...r, exchanges: [x, ...r.exchanges] };
  }

  // -------------------------------------------------------------------------------------------
  // Scans

  /** Probes each primary address (default 0..250) with SND_NKE or REQ_UD2 and notes who answers. */
  async scanPrimary(options: MbusPrimaryScanOptions = {}): Promise<MbusPrimaryScanResult> {
    const from = options.from ?? 0;
    const to = options.to ?? PRIMARY_SCAN_LAST;
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && to <= PRIMARY_SCAN_LAST && from <= to)) {
      throw new UsageError(`a primary scan covers 0..${PRIMARY_SCAN_LAST}, got ${from}..${to}`);
    }
    const method = options.method ?? 'SND_NKE';
    const start = this.clock.now();
    const before = { ...this.stats };
    const found: { address: number; identity?: SecondaryAddress; exchange: MbusExchange }[] = [];
    const collisions: { address: number; exchange: MbusExchange }[] = [];
    for (let a = from; a <= to; a++) {
      const x = method === 'SND_NKE' ? await this.probeSndNke(a) : await this.probeReqUd2(a);
      if (x.outcome === 'collision') collisions.push({ address: a, exchange: x });
      if (x.outcome !== 'reply') continue;
      const app = x.application;
      const identity = app?.ok && app.value.kind === 'variableData' && app.value.header?.type === 'long' ? identityOf(app.value.header) : undefined;
      found.push({ address: a, ...(identity ? { identity } : {}), exchange: x });
    }
    return {
      found,
      collisions,
      exchanges: this.stats.exchanges - before.exchanges,
      attempts: this.stats.attempts - before.attempts,
      durationMs: this.clock.now() - start,
    };
  }

  /** The wildcard tree search over the ID digits of `mask` (default all wildcards; see the file header). */
  async searchSecondary(options: { readonly mask?: string } = {}): Promise<MbusSecondarySearchResult> {
    const mask = (options.mask ?? WILDCARD_MASK).toUpperCase();
    const parsed = parseSecondaryAddress(mask);
    if (!parsed.ok) throw new UsageError(`secondary search mask: ${parsed.error.message}`);
    const start = this.clock.now();
    const before = { ...this.stats };
    const found = new Map<string, MbusSecondaryHit>();
    const unresolved: string[] = [];
    const unreadable: string[] = [];
    let selections = 0;
    const probe = async (m: string): Promise<'single' | 'collision' | 'nothing'> => {
      selections++;
      const sel = await this.select(m);
      if (sel.outcome !== 'reply') return sel.outcome === 'collision' ? 'collision' : 'nothing';
      const read = await this.probeReqUd2(ADDRESS_NETWORK_LAYER);
      if (read.outcome === 'collision') return 'collision';
      const app = read.application;
      if (read.outcome !== 'reply' || !app?.ok || app.value.kind !== 'variableData' || app.value.header?.type !== 'long') {
        unreadable.push(m);
        return 'nothing';
      }
      const address = identityOf(app.value.header);
      const text = formatSecondaryAddress(address);
      found.set(text, { address, text, primary: (read.reply!.frame as { address: number }).address, mask: m });
      return 'single';
    };
    const walk = async (m: string, pos: number): Promise<void> => {
      const at = m.indexOf('F', pos);
      if (at < 0 || at >= 8) {
        // Every ID digit fixed: nothing left to narrow (see the file header).
        unresolved.push(m);
        return;
      }
      for (let d = 0; d <= 9; d++) {
        const next = m.slice(0, at) + String(d) + m.slice(at + 1);
        const r = await probe(next);
        if (r === 'collision') await walk(next, at + 1);
      }
    };
    await walk(mask, 0);
    return {
      found: [...found.values()],
      unresolved,
      unreadable,
      selections,
      exchanges: this.stats.exchanges - before.exchanges,
      attempts: this.stats.attempts - before.attempts,
      durationMs: this.clock.now() - start,
    };
  }

  /** Writes `bytes` as given and reports what came back within `listenMs` (default timeoutMs); for robustness checks (bad checksum, wrong address: no reply). */
  sendRaw(bytes: Uint8Array, options: { readonly listenMs?: number } = {}): Promise<MbusSendRawResult> {
    const listenMs = nonNegative(options.listenMs ?? this.timeoutMs, 'listenMs');
    const request = new Uint8Array(bytes);
    return this.enqueue(async () => {
      const frames: MbusReceivedFrame[] = [];
      const discarded: { bytes: Uint8Array; error: DecodeError }[] = [];
      let received = 0;
      this.listener = {
        onFrame: (f) => frames.push(f),
        onDiscarded: (b, error) => discarded.push({ bytes: b, error }),
        onBytes: (n) => (received += n),
        onClose: () => undefined,
      };
      try {
        await this.link.write(request);
        await this.clock.sleep(listenMs);
        this.receiver.flush();
      } finally {
        this.listener = undefined;
      }
      return { request, frames, discarded, received, silent: received === 0 };
    });
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  private probeSndNke(address: number): Promise<MbusExchange> {
    const spec = this.spec('SND_NKE', address, encodeSndNke(checkAddress(address)), 'ack', 'probe', {});
    return this.enqueue(async () => {
      const x = await this.exchange(spec);
      if (x.outcome === 'reply') this.fcbState.set(address, true);
      return x;
    });
  }

  private probeReqUd2(address: number): Promise<MbusExchange> {
    return this.enqueue(async () => {
      const fcb = this.nextFcb(address);
      const spec = this.spec('REQ_UD2', address, encodeReqUd2(checkAddress(address), fcb), 'rsp_ud', 'probe', {}, { fcb });
      const x = await this.exchange(spec);
      if (x.outcome === 'reply') this.fcbState.set(address, !fcb);
      return x;
    });
  }

  private async telegram(address: number, options: MbusRequestOptions, site: CallSite): Promise<MbusTelegram> {
    checkAddress(address);
    const x = await this.enqueue(async () => {
      // The FCB is chosen when the request runs (after earlier queued requests toggled it).
      const fcb = this.nextFcb(address);
      const spec = this.spec('REQ_UD2', address, encodeReqUd2(address, fcb), 'rsp_ud', 'request', options, { fcb });
      const done = await this.exchange(spec);
      if (done.outcome === 'reply') this.fcbState.set(address, !fcb);
      return done;
    });
    this.throwUnlessReply(x, site, `REQ_UD2 (FCB ${x.fcb ? 1 : 0})`);
    const app = x.application;
    if (!app) throw new MbusProtocolError(`REQ_UD2 to ${address}: the reply has no application layer`, x);
    if (!app.ok) throw new MbusProtocolError(`REQ_UD2 to ${address}: ${app.error.code} at offset ${app.error.offset}: ${app.error.message}`, x);
    const v = app.value;
    if (v.kind === 'applicationError') {
      throw new MbusApplicationError(`slave at ${address} answered with application error ${v.code === null ? '(no code)' : hexByte(v.code)}: ${v.description}`, x, v.code, v.description);
    }
    if (v.kind !== 'variableData' && v.kind !== 'fixedData') {
      throw new MbusProtocolError(`REQ_UD2 to ${address}: the reply carries CI ${hexByte(v.ci)} (${v.kind}), not user data`, x);
    }
    return { exchange: x, application: v };
  }

  private spec(
    kind: MbusRequestKind,
    address: number,
    request: Uint8Array,
    expect: MbusExpect,
    mode: 'request' | 'probe',
    options: MbusRequestOptions,
    extra: { fcb?: boolean; secondary?: string } = {},
  ): Spec {
    const defaultTimeout = expect === 'ack' ? this.ackTimeoutMs : this.timeoutMs;
    return {
      kind,
      address,
      request,
      expect,
      mode,
      attempts: positiveInt(options.attempts ?? (mode === 'probe' ? this.probeAttempts : this.attempts), 'attempts'),
      timeoutMs: positive(options.timeoutMs ?? defaultTimeout, 'timeoutMs'),
      ...extra,
    };
  }

  private callSite(above: (...args: never[]) => unknown): CallSite {
    return this.callSites ? captureCallSite(above) : NO_CALL_SITE;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw this.closed;
      // Bytes pending from before this request cannot start its reply: decide them now.
      this.receiver.flush();
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private throwUnlessReply(x: MbusExchange, site: CallSite, what: string): void {
    if (x.outcome === 'reply') return;
    const target = x.secondary ? `secondary ${x.secondary}` : `address ${x.address}`;
    const first = x.rejected.find((r) => r.reason !== 'direction');
    const evidence = `${x.rejected.length} frame(s) rejected${first ? ` (first: ${first.detail})` : ''}, ${x.discarded.length} byte run(s) discarded`;
    const error =
      x.outcome === 'collision'
        ? new MbusCollisionError(`${what} to ${target}: garbled or several answers, no acceptable reply after ${x.attempts} attempt(s) (${evidence})`, x)
        : new MbusNoReplyError(`${what} to ${target}: no reply after ${x.attempts} attempt(s) of ${x.timeoutMs.toFixed(1)} ms; ${evidence}`, x);
    throw withCallSite(error, site);
  }

  /** Runs one exchange: attempts until a reply (request), or as the probe rules say (file header). */
  private async exchange(spec: Spec): Promise<MbusExchange> {
    const x: MbusExchange = {
      kind: spec.kind,
      address: spec.address,
      ...(spec.secondary !== undefined ? { secondary: spec.secondary } : {}),
      ...(spec.fcb !== undefined ? { fcb: spec.fcb } : {}),
      request: spec.request,
      expect: spec.expect,
      mode: spec.mode,
      timeoutMs: spec.timeoutMs,
      outcome: 'no-reply',
      attempts: 0,
      attemptLog: [],
      sentAt: NaN,
      transmittedAt: NaN,
      rejected: [],
      discarded: [],
    };
    this.stats.exchanges++;
    let garbled = false;
    for (let attempt = 1; attempt <= spec.attempts; attempt++) {
      const wait = new ReplyWait<MbusReceivedFrame>(this.clock);
      const accepted: MbusReceivedFrame[] = [];
      // Frames other than echoes of master frames and late answers to an earlier request.
      let answers = 0;
      let discardedRuns = 0;
      let sent = false;
      this.listener = {
        onFrame: (f) => {
          const v: Verdict = sent ? judge(spec, f) : { ok: false, reason: 'late', detail: `${f.frame.type} frame complete while attempt ${attempt} was being sent` };
          if (!v.ok) {
            if (v.reason !== 'direction' && v.reason !== 'late') answers++;
            x.rejected.push({ ...f, reason: v.reason, detail: v.detail, attempt });
            this.logger?.debug(`rejected (${v.reason}): ${v.detail}`);
            return;
          }
          answers++;
          accepted.push(f);
          if (spec.mode === 'request') wait.settle(f);
        },
        onDiscarded: (b, error, at) => {
          // Garbage decided while the request was still going out is left over from before it.
          if (sent) discardedRuns++;
          x.discarded.push({ bytes: b, error, at, attempt });
        },
        onBytes: () => undefined,
        onClose: (e) => wait.fail(e),
      };
      let rec: Omit<MbusAttemptRecord, 'outcome'>;
      try {
        rec = await this.transmit(x, attempt);
        sent = true;
      } catch (e) {
        this.listener = undefined;
        wait.cancel();
        throw e;
      }
      try {
        const reply = await wait.start(spec.timeoutMs);
        if (spec.mode === 'request') {
          if (reply !== null) {
            x.attemptLog.push({ ...rec, outcome: 'reply' });
            this.accept(x, reply, rec.transmittedAt);
            return this.finish(x);
          }
          // Decide a partial frame now: it belongs to this attempt.
          this.receiver.flush();
          const outcome = discardedRuns > 0 ? 'garbled' : answers > 0 ? 'rejected' : 'silence';
          garbled ||= discardedRuns > 0;
          x.attemptLog.push({ ...rec, outcome });
          this.logger?.debug(`${spec.kind} to ${spec.address}: ${outcome} within ${spec.timeoutMs} ms (attempt ${attempt}/${spec.attempts})`);
          continue;
        }
        // Probe: the whole window was heard; decide what is still pending as part of it.
        this.receiver.flush();
        if (answers === 0 && discardedRuns === 0) {
          x.attemptLog.push({ ...rec, outcome: 'silence' });
          continue;
        }
        if (accepted.length === 1 && answers === 1 && discardedRuns === 0) {
          x.attemptLog.push({ ...rec, outcome: 'reply' });
          this.accept(x, accepted[0]!, rec.transmittedAt);
          return this.finish(x);
        }
        x.attemptLog.push({ ...rec, outcome: 'collision' });
        x.outcome = 'collision';
        this.logger?.debug(`${spec.kind} to ${spec.address}: collision (${answers} answer(s), ${discardedRuns} garbled run(s))`);
        return this.finish(x);
      } finally {
        this.listener = undefined;
      }
    }
    x.outcome = garbled ? 'collision' : 'no-reply';
    return this.finish(x);
  }

  private async transmit(x: MbusExchange, attempt: number): Promise<Omit<MbusAttemptRecord, 'outcome'>> {
    if (this.closed) throw this.closed;
    const sentAt = this.clock.now();
    this.logger?.debug(`-> ${this.link.name} attempt ${attempt}: ${toHex(x.request)}`);
    await this.link.write(x.request);
    const writtenAt = this.clock.now();
    // On the bus model write() resolves at the end of transmission; a real port resolves earlier.
    const transmittedAt = Math.max(writtenAt, sentAt + x.request.length * this.charMs);
    this.stats.attempts++;
    x.attempts = attempt;
    x.sentAt = sentAt;
    x.transmittedAt = transmittedAt;
    return { attempt, sentAt, writtenAt, transmittedAt };
  }

  private accept(x: MbusExchange, reply: MbusReceivedFrame, transmittedAt: number): void {
    x.outcome = 'reply';
    x.reply = reply;
    x.responseDelayMs = Math.max(0, reply.firstByteAt - transmittedAt);
    const f = reply.frame;
    if (f.type === 'long' || f.type === 'control') x.application = decodeApplication(f, 0);
    this.logger?.debug(`<- ${this.link.name} after ${x.responseDelayMs.toFixed(1)} ms: ${toHex(reply.raw)}`);
  }

  private finish(x: MbusExchange): MbusExchange {
    this.emit('exchange', x);
    return x;
  }

  private receive(chunk: Uint8Array, timing?: ChunkTiming): void {
    const n = chunk.length;
    if (n === 0) return;
    const at = this.clock.now();
    this.listener?.onBytes(n);
    for (let j = 0; j < n; j++) {
      // Start of byte j: from the link's timing (bus model), else back from delivery by line time.
      this.rxStarts.push(timing ? timing.firstByteAt + (j - 1) * timing.characterTimeMs : at - (n - j) * this.charMs);
    }
    this.receiver.push(chunk, timing);
    const keep = this.receiver.pending + 1;
    if (this.rxStarts.length > keep + 1024) {
      const drop = this.rxStarts.length - keep;
      this.rxStarts = this.rxStarts.slice(drop);
      this.rxBase += drop;
    }
  }

  private handle(events: readonly MbusScanEvent[]): void {
    const at = this.clock.now();
    for (const e of events) {
      if (e.type === 'discarded') {
        this.listener?.onDiscarded(e.bytes, e.error, at);
        continue;
      }
      const d = e.decoded;
      const f: MbusReceivedFrame = { raw: d.raw, frame: d.frame, firstByteAt: this.rxStarts[d.start - this.rxBase] ?? at, at };
      if (this.listener) this.listener.onFrame(f);
      else {
        this.logger?.debug(`unsolicited frame on ${this.link.name}: ${toHex(f.raw)}`);
        this.emit('unsolicited', f);
      }
    }
  }

  private fail(error: LinkError): void {
    this.receiver.cancel();
    if (!this.closed) this.closed = error;
    this.listener?.onClose(error);
  }
}

/** Whether `f` is the reply `spec` expects, and if not why. */
function judge(spec: Spec, f: MbusReceivedFrame): Verdict {
  const frame = f.frame;
  if (frame.type === 'ack') {
    return spec.expect === 'ack' ? { ok: true } : { ok: false, reason: 'unexpected-frame', detail: `E5 to ${spec.kind}, which expects RSP_UD` };
  }
  if (frame.control.fromMaster) {
    return { ok: false, reason: 'direction', detail: `C = ${hexByte(frame.control.raw)} is a master frame (an echo or another master)` };
  }
  if (spec.expect === 'ack') {
    return { ok: false, reason: 'unexpected-frame', detail: `${frame.type} frame C = ${hexByte(frame.control.raw)} to ${spec.kind}, which expects E5` };
  }
  if (frame.type === 'short' || frame.control.functionName !== 'RSP_UD') {
    return { ok: false, reason: 'unexpected-frame', detail: `${frame.type} frame C = ${hexByte(frame.control.raw)} is not RSP_UD` };
  }
  // At 253 (selected slave) and 254 (broadcast with reply) the slave answers with its own primary address.
  const anyAddress = spec.address === ADDRESS_NETWORK_LAYER || spec.address === ADDRESS_BROADCAST_REPLY;
  if (!anyAddress && frame.address !== spec.address) {
    return { ok: false, reason: 'address', detail: `RSP_UD from ${frame.address}, request to ${spec.address}` };
  }
  return { ok: true };
}

function checkAddress(address: number): number {
  if (!Number.isInteger(address) || address < 0 || address > 0xfe || (address > MAX_PRIMARY_ADDRESS && address < ADDRESS_NETWORK_LAYER)) {
    throw new UsageError(`an M-Bus request goes to 0..250, 253 or 254, got ${String(address)}`);
  }
  return address;
}

function toPattern(pattern: SecondaryAddress | string): SecondaryAddress {
  if (typeof pattern !== 'string') return pattern;
  const p = parseSecondaryAddress(pattern);
  if (!p.ok) throw new UsageError(p.error.message);
  return p.value;
}
