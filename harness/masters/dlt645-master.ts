/**
 * DL/T 645-2007 master (reader) over any Link: the side a concentrator or a hand-held reader
 * plays. It sends one request at a time, waits for the reply the request declares it expects,
 * rejects foreign replies (ROB-03), retries on silence (CON-05: 3000 ms, 3 attempts in total,
 * 4 × FE wake-up bytes) and records every exchange with its timings.
 *
 * Reply matching (ROB-03, after NUC97X DL645_2007_RxData: address, then control code, then DI):
 * a frame is the reply only if
 * - D7 (direction) is set,
 * - the address is the addressed meter's; for a wildcard request (AA..AA, or AA in the high
 *   bytes) any unicast address that the wildcard covers is accepted and recorded in
 *   `exchange.replyAddress` — a reply that carries the wildcard itself is rejected
 *   ('wildcard-echo', PROTOCOLS.md 1.4),
 * - D4..D0 is the request's function code (a normal or an abnormal reply),
 * - for 11H/12H the DI is the request's (and for 12H the SEQ too),
 * - and a normal reply decodes to one of the kinds the request expects.
 * Anything else is recorded in `exchange.rejected` with the reason, and the wait goes on.
 *
 * Timing (Td, PROTOCOLS.md 1.1: 20 ms ≤ Td ≤ 500 ms). Td = (instant the first reply byte started
 * to arrive) − (instant the last request byte left the wire):
 * - End of transmission. On the paced bus model write() resolves when the last byte has been
 *   transmitted. A real serial port's write() resolves when the bytes are handed to the driver,
 *   before they are on the wire, so with `line` known the end of transmission is estimated as
 *   max(write resolved, write started + bytes × characterTimeMs(line)). Without `line` (an
 *   in-memory pair, no line time) it is the instant write() resolved.
 * - First reply byte. When the link gives the chunk's timing (the RS-485 bus model: a frame is
 *   one chunk delivered when its last byte arrives, with each byte's arrival instant), byte j
 *   started arriving one character time before its arrival, and Td equals the gap the meter left
 *   exactly. Otherwise a chunk of n bytes is delivered when its last byte has been received; with
 *   `line` known, byte j of the chunk (0-based) is taken to have started arriving
 *   (n − j) character times before delivery.
 *   On real serial hardware the host's receive latency (USB adapters buffer up to ~16 ms) makes
 *   the measured Td an upper bound: good for the 500 ms limit, lenient for the 20 ms one.
 * A reply that started before the current attempt's transmission ended (a late answer to the
 * previous attempt) is timed against the attempt whose transmission ended before it.
 * - Links that do not pace bytes. A socat pseudo-terminal or a virtual COM port carries bytes
 *   instantly, so the corrections above would subtract line time that was never spent and Td
 *   would come out negative. A negative corrected Td is impossible on a paced line, so it is
 *   taken as proof: Td is then the delivery of the first reply chunk minus write() resolving,
 *   and the exchange's `timing` says 'unpaced' (seen in the end-to-end test over a pty).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../core/clock.ts';
import { LinkError, UsageError } from '../core/errors.ts';
import { concatBytes, toHex } from '../core/bytes.ts';
import type { ChunkTiming, Link, LineSettings } from '../links/link.ts';
import { characterTimeMs } from '../links/link.ts';
import {
  BROADCAST_ADDRESS,
  Dlt645FrameScanner,
  MAX_INTER_BYTE_GAP_MS,
  WILDCARD_ADDRESS,
  addressMatches,
  encodeMessage,
  isBroadcast,
  isWildcard,
} from '../protocols/dlt645/index.ts';
import { DICTIONARY } from '../protocols/dlt645/dictionary.ts';
import type { DataItemDefinition, DataValue, Dlt645Dictionary } from '../protocols/dlt645/dictionary-types.ts';
import type { DecodeError } from '../core/errors.ts';
import type {
  Dlt645Frame,
  Dlt645Message,
  Dlt645MessageKind,
  FrameDateTime,
  FreezeField,
  Password,
} from '../protocols/dlt645/types.ts';
import {
  NO_CALL_SITE,
  ReplyWait,
  TimedFrameReceiver,
  captureCallSite,
  hex2,
  nonNegative,
  nonNegativeInt,
  positive,
  positiveInt,
  responseDelay,
  summariseRejections,
  withCallSite,
  type CallSite,
  type MasterLogger,
} from './common.ts';
import { Dlt645AbnormalReplyError, Dlt645NoReplyError, Dlt645ProtocolError } from './errors.ts';
import type {
  AcceptedReply,
  AttemptRecord,
  DiscardedBytes,
  Exchange,
  ExpectSpec,
  ReceivedFrame,
  RejectReason,
} from './exchange.ts';

export { responseDelay } from './common.ts';

/** CON-05: DL/T 645 read timeout 3000 ms. */
export const DEFAULT_TIMEOUT_MS = 3000;
/** CON-05: 3 attempts in total. */
export const DEFAULT_ATTEMPTS = 3;
/** CON-05 / PROTOCOLS.md 1.1: 4 × FE wake-up bytes before each request. */
export const DEFAULT_PREAMBLE = 4;
/** How long to stay quiet after a broadcast: the largest Td a meter may take (PROTOCOLS.md 1.1). */
export const DEFAULT_BROADCAST_SETTLE_MS = 500;
/** SEQ is one byte: at most 255 follow-up frames (PROTOCOLS.md 1.3, 12H). */
const MAX_FOLLOW_UP_SEQ = 255;
/** Frames kept when nothing is waiting for them. */
const MAX_UNSOLICITED = 100;

export type { MasterLogger } from './common.ts';

export interface Dlt645MasterOptions {
  readonly link: Link;
  readonly clock: Clock;
  /** Reply timeout per attempt, from the end of transmission. Default 3000 ms (CON-05). */
  readonly timeoutMs?: number;
  /** Attempts in total. Default 3 (CON-05). */
  readonly attempts?: number;
  /** FE wake-up bytes before each request. Default 4 (CON-05). */
  readonly preamble?: number;
  /** Line settings, for line-time estimates (see "Timing"); omit on links without line time. */
  readonly line?: LineSettings;
  /** Silence kept after a broadcast. Default 500 ms. */
  readonly broadcastSettleMs?: number;
  /**
   * Silence that ends a partial frame: the scanner is then flushed, so a stalled partial reply
   * never hides the frames behind it. Default Tb = 500 ms (PROTOCOLS.md 1.1).
   */
  readonly interByteTimeoutMs?: number;
  /** Data dictionary for decoding read values. Default: the DL/T 645 dictionary. */
  readonly dictionary?: Dlt645Dictionary;
  readonly logger?: MasterLogger;
  /**
   * Capture the caller's stack when a request starts, so a Dlt645NoReplyError names the line
   * that asked (STYLE.md). Default true. An engine that only counts failures and never shows a
   * stack (the fleet read, simulators/fleet) sets false: a capture per request was about 4% of a
   * fleet bus's CPU. The errors are the same apart from their stack.
   */
  readonly callSites?: boolean;
}

export interface RequestOptions {
  /** Reply kinds the request expects; default: the request's own reply kind ('none' for a broadcast time sync). */
  readonly expect?: ExpectSpec;
  readonly timeoutMs?: number;
  readonly attempts?: number;
  /** For expect 'none': how long to listen for (unwanted) replies. Default: broadcastSettleMs. */
  readonly listenMs?: number;
}

export interface ReadDataOptions extends Omit<RequestOptions, 'expect'> {
  /** Request data after the DI in the 11H request (default none); not repeated in 12H follow-ups. */
  readonly extra?: Uint8Array;
}

export interface ReadDataResult {
  /** Address of the meter that answered (differs from the request's for wildcard requests). */
  readonly address: string;
  readonly di: string;
  /** Payload after the DI, follow-up payloads appended in SEQ order. */
  readonly payload: Uint8Array;
  /** The value decoded with the dictionary, when it knows the DI and the payload fits. */
  readonly value?: DataValue;
  /** Why `value` is absent. */
  readonly valueError?: DecodeError;
  readonly definition?: DataItemDefinition;
  /** The 11H exchange first, then one 12H exchange per follow-up frame (SEQ 1, 2, ...). */
  readonly exchanges: readonly Exchange[];
}

export interface FreezePattern {
  /** Each field a number or 'any' (99H). Default 'any' for every field (PROTOCOLS.md 1.3, [BK]). */
  readonly minute?: FreezeField;
  readonly hour?: FreezeField;
  readonly day?: FreezeField;
  readonly month?: FreezeField;
}

export interface RemoteControlOptions {
  /** N1, see RemoteControlCommand (PROTOCOLS.md 1.5). */
  readonly command: number;
  readonly password: Password;
  /** Operator code C3..C0, 8 hex digits. */
  readonly operator: string;
  /** N3..N8; null sends six zero bytes. */
  readonly validUntil: FrameDateTime | null;
  /** N2, default 0. */
  readonly reserved?: number;
}

export interface SendRawOptions {
  /** Stop listening at the first complete frame. Default false: listen the whole window. */
  readonly expectReply?: boolean;
  /** Listening window after the end of transmission. Default: the master's timeoutMs. */
  readonly listenMs?: number;
}

export interface SendRawResult {
  readonly request: Uint8Array;
  readonly sentAt: number;
  readonly transmittedAt: number;
  /** Complete frames that came back. */
  readonly replies: readonly ReceivedFrame[];
  /** Byte runs the scanner skipped. */
  readonly discarded: readonly DiscardedBytes[];
  /** Every byte received during the window, in order. */
  readonly received: Uint8Array;
  /** True when not a single byte came back during the window. */
  readonly silent: boolean;
  /** Td of the first frame, when one came. */
  readonly responseDelayMs?: number;
}

export interface Dlt645MasterEvents {
  /** Every finished exchange (replied, timed out, or sent without expecting a reply). */
  exchange: [exchange: Exchange];
  /** A frame that arrived while no request was waiting. */
  unsolicited: [frame: ReceivedFrame];
}

/** Whoever is currently listening to the link. */
interface Listener {
  attempt: number;
  onFrame(frame: ReceivedFrame): void;
  onDiscarded(d: { bytes: Uint8Array; error: DecodeError; at: number }): void;
  onBytes?(bytes: Uint8Array): void;
  onClose(error: LinkError): void;
}

export class Dlt645Master extends EventEmitter<Dlt645MasterEvents> {
  readonly link: Link;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly preamble: number;
  private readonly callSites: boolean;
  readonly broadcastSettleMs: number;
  readonly dictionary: Dlt645Dictionary;
  private readonly logger: MasterLogger | undefined;
  private currentLine: LineSettings | undefined;
  private charMs: number;

  readonly interByteTimeoutMs: number;
  /** The scanner, flushed once the line is silent for Tb with a partial frame pending. */
  private readonly receiver: TimedFrameReceiver<Dlt645Frame, Dlt645Message>;
  private queue: Promise<unknown> = Promise.resolve();
  private listener: Listener | undefined;
  private closed: LinkError | undefined;
  private last: Exchange | undefined;
  /** Frames that arrived with nobody waiting (most recent last, at most 100). */
  readonly unsolicited: ReceivedFrame[] = [];

  private readonly onData = (chunk: Uint8Array, timing?: ChunkTiming): void => this.receive(chunk, timing);
  private readonly onLinkClose = (): void => this.fail(new LinkError(`${this.link.name} closed`));
  private readonly onLinkError = (e: Error): void =>
    this.fail(e instanceof LinkError ? e : new LinkError(`${this.link.name}: ${e.message}`, { cause: e }));

  constructor(options: Dlt645MasterOptions) {
    super();
    this.link = options.link;
    this.clock = options.clock;
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 'timeoutMs');
    this.attempts = positiveInt(options.attempts ?? DEFAULT_ATTEMPTS, 'attempts');
    this.preamble = nonNegativeInt(options.preamble ?? DEFAULT_PREAMBLE, 'preamble');
    this.callSites = options.callSites ?? true;
    this.currentLine = options.line;
    this.broadcastSettleMs = nonNegative(options.broadcastSettleMs ?? DEFAULT_BROADCAST_SETTLE_MS, 'broadcastSettleMs');
    this.dictionary = options.dictionary ?? DICTIONARY;
    this.logger = options.logger;
    this.charMs = this.currentLine ? characterTimeMs(this.currentLine) : 0;
    this.interByteTimeoutMs = positive(options.interByteTimeoutMs ?? MAX_INTER_BYTE_GAP_MS, 'interByteTimeoutMs');
    this.receiver = new TimedFrameReceiver({
      scanner: new Dlt645FrameScanner(),
      clock: this.clock,
      silenceMs: this.interByteTimeoutMs,
      onFrame: (f) => {
        if (this.listener) this.listener.onFrame(f);
        else this.keepUnsolicited(f);
      },
      onDiscarded: (d) => this.listener?.onDiscarded(d),
      onFlush: (cause) => this.logger?.debug(`${this.link.name}: scanner flushed (${cause}) after a partial frame`),
    });
    this.link.on('data', this.onData);
    this.link.on('close', this.onLinkClose);
    this.link.on('error', this.onLinkError);
    if (!this.link.isOpen) this.closed = new LinkError(`${this.link.name} is closed`);
  }

  /** Line settings used for line-time estimates (undefined on links without line time). */
  get line(): LineSettings | undefined {
    return this.currentLine;
  }

  /**
   * New line settings for the timing estimates, after the link itself was switched (a 17H
   * baud-rate change): later requests and replies are timed at the new rate.
   */
  setLine(line: LineSettings | undefined): void {
    this.currentLine = line;
    this.charMs = line ? characterTimeMs(line) : 0;
  }

  /** The most recent finished exchange. */
  get lastExchange(): Exchange | undefined {
    return this.last;
  }

  /** Resolves when no request is queued or in progress (e.g. before writing on the link directly). */
  async idle(): Promise<void> {
    for (;;) {
      const q = this.queue;
      await q;
      if (q === this.queue) return;
    }
  }

  /**
   * Stops listening to the link (it does not close it: the link belongs to whoever opened it).
   * Queued and pending requests reject with a LinkError.
   */
  dispose(): void {
    this.receiver.cancel();
    this.link.off('data', this.onData);
    this.link.off('close', this.onLinkClose);
    this.link.off('error', this.onLinkError);
    this.fail(new LinkError('the DL/T 645 master was disposed'));
  }

  // -------------------------------------------------------------------------------------------
  // Generic request

  /**
   * Sends `message` to `address` and waits for the reply it expects. Resolves with the exchange
   * (also for abnormal replies: look at `exchange.reply.message.kind === 'errorResponse'`).
   * Rejects with Dlt645NoReplyError (a TimeoutError whose stack names the caller) when every
   * attempt timed out, or with a LinkError when the link fails.
   */
  request(address: string, message: Dlt645Message, options: RequestOptions = {}): Promise<Exchange> {
    return this.enqueueRequest(address, message, options, this.callSite(this.request));
  }

  // -------------------------------------------------------------------------------------------
  // High-level helpers

  /**
   * Reads one identifier (11H), following B1 follow-up flags with 12H SEQ 1, 2, ... and
   * concatenating the payloads. `options.extra` is request data sent after the DI (the block
   * count and given time of a load-record read, DI 06000001: encodeLoadRecordRequest); the
   * follow-ups carry only DI + SEQ, as always. Throws Dlt645AbnormalReplyError for an abnormal
   * reply and Dlt645NoReplyError (naming the SEQ for a follow-up) when a reply never comes.
   */
  async readData(address: string, di: string, options: ReadDataOptions = {}): Promise<ReadDataResult> {
    const callSite = this.callSite(this.readData);
    const id = di.toUpperCase();
    const extra = options.extra === undefined ? new Uint8Array(0) : new Uint8Array(options.extra);
    const first = await this.enqueueRequest(address, { kind: 'readData', di: id, extra }, options, callSite);
    const reply = this.normalReply(first, 'readDataResponse');
    const exchanges: Exchange[] = [first];
    const parts: Uint8Array[] = [reply.payload];
    const from = first.replyAddress ?? address;
    let more = reply.hasFollowUp;
    let seq = 0;
    while (more) {
      seq++;
      if (seq > MAX_FOLLOW_UP_SEQ) {
        throw new Dlt645ProtocolError(`${from} still flags follow-up frames for DI ${id} after SEQ ${MAX_FOLLOW_UP_SEQ}`, exchanges.at(-1));
      }
      // Follow-ups go to the meter that answered, so a wildcard read continues point to point.
      const x = await this.enqueueRequest(from, { kind: 'readFollowUp', di: id, seq }, options, callSite, seq);
      exchanges.push(x);
      const r = this.normalReply(x, 'readFollowUpResponse');
      parts.push(r.payload);
      more = r.hasFollowUp;
    }
    const payload = concatBytes(...parts);
    const definition = this.dictionary.lookup(id);
    const decoded = this.dictionary.decodeValue(id, payload);
    return {
      address: from,
      di: id,
      payload,
      ...(decoded.ok ? { value: decoded.value } : { valueError: decoded.error }),
      ...(definition ? { definition } : {}),
      exchanges,
    };
  }

  /** Reads the communication address with 13H (default to the wildcard AA..AA, one meter on the bus). */
  async readAddress(address: string = WILDCARD_ADDRESS, options: Omit<RequestOptions, 'expect'> = {}): Promise<string> {
    const callSite = this.callSite(this.readAddress);
    const x = await this.enqueueRequest(address, { kind: 'readAddress' }, options, callSite);
    const reply = this.normalReply(x, 'readAddressResponse');
    return reply.address;
  }

  /**
   * Broadcast time sync 08H to 99..99. No reply is expected: the master sends, then stays quiet
   * for the settle time; any frame that arrives meanwhile is recorded in `exchange.unexpected`.
   */
  broadcastTimeSync(time: FrameDateTime, options: { settleMs?: number } = {}): Promise<Exchange> {
    const { year, month, day, hour, minute, second } = time;
    return this.enqueueRequest(
      BROADCAST_ADDRESS,
      { kind: 'broadcastTimeSync', time: { year, month, day, hour, minute, second } },
      { expect: 'none', listenMs: options.settleMs ?? this.broadcastSettleMs },
      this.callSite(this.broadcastTimeSync),
    );
  }

  /** Freeze 16H. To the broadcast address no reply is expected; otherwise throws on an abnormal reply. */
  async freeze(address: string, pattern: FreezePattern = {}, options: Omit<RequestOptions, 'expect'> = {}): Promise<Exchange> {
    const callSite = this.callSite(this.freeze);
    const message: Dlt645Message = {
      kind: 'freeze',
      minute: pattern.minute ?? 'any',
      hour: pattern.hour ?? 'any',
      day: pattern.day ?? 'any',
      month: pattern.month ?? 'any',
    };
    if (isBroadcast(address)) {
      return this.enqueueRequest(address, message, { ...options, expect: 'none' }, callSite);
    }
    const x = await this.enqueueRequest(address, message, options, callSite);
    this.normalReply(x, 'freezeResponse');
    return x;
  }

  /** Write data 14H with password and operator code. Throws Dlt645AbnormalReplyError on refusal. */
  async writeData(
    address: string,
    di: string,
    payload: Uint8Array,
    password: Password,
    operator: string,
    options: Omit<RequestOptions, 'expect'> = {},
  ): Promise<Exchange> {
    const callSite = this.callSite(this.writeData);
    const message: Dlt645Message = { kind: 'writeData', di: di.toUpperCase(), password, operator, payload };
    const x = await this.enqueueRequest(address, message, options, callSite);
    this.normalReply(x, 'writeDataResponse');
    return x;
  }

  /** Remote control 1CH (trip / close / alarm / keep-power, PROTOCOLS.md 1.5). Throws on an abnormal reply. */
  async remoteControl(address: string, control: RemoteControlOptions, options: Omit<RequestOptions, 'expect'> = {}): Promise<Exchange> {
    const callSite = this.callSite(this.remoteControl);
    const message: Dlt645Message = {
      kind: 'remoteControl',
      password: control.password,
      operator: control.operator,
      command: control.command,
      reserved: control.reserved ?? 0,
      validUntil: control.validUntil,
    };
    const x = await this.enqueueRequest(address, message, options, callSite);
    this.normalReply(x, 'remoteControlResponse');
    return x;
  }

  /**
   * Writes bytes exactly as given (no preamble added) and listens, for robustness tests: a frame
   * with a bad checksum, a truncated body or a foreign address must get no reply. Reports
   * whatever came back; never throws for silence.
   */
  sendRaw(bytes: Uint8Array, options: SendRawOptions = {}): Promise<SendRawResult> {
    return this.enqueue(() => this.doSendRaw(bytes, options));
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  /** The caller's stack now (options.callSites), or no stack. */
  private callSite(above: (...args: never[]) => unknown): CallSite {
    return this.callSites ? captureCallSite(above) : NO_CALL_SITE;
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.closed) throw this.closed;
      // Bytes still pending predate this request on a half-duplex line, so they cannot start its
      // reply: decide them now (a frame among them is unsolicited), not inside the new exchange.
      this.receiver.flush();
      return work();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private enqueueRequest(
    address: string,
    message: Dlt645Message,
    options: RequestOptions,
    callSite: CallSite,
    seq?: number,
  ): Promise<Exchange> {
    // Encode now: an invalid argument is the caller's error and throws at their line.
    const request = encodeMessage(address, message, { preamble: this.preamble });
    return this.enqueue(() => this.exchange(address, message, request, options, callSite, seq));
  }

  private async exchange(
    address: string,
    message: Dlt645Message,
    request: Uint8Array,
    options: RequestOptions,
    callSite: CallSite,
    seq: number | undefined,
  ): Promise<Exchange> {
    const expect = normaliseExpect(options.expect ?? defaultExpect(message));
    const attempts = positiveInt(options.attempts ?? this.attempts, 'attempts');
    const timeoutMs = positive(options.timeoutMs ?? this.timeoutMs, 'timeoutMs');
    const criteria = matchCriteria(address, message, request, this.preamble, expect);
    const x: Exchange = {
      address: address.toUpperCase(),
      message,
      request,
      expect,
      attempts: 0,
      attemptLog: [],
      sentAt: NaN,
      transmittedAt: NaN,
      rejected: [],
      discarded: [],
      unexpected: [],
    };

    if (expect === 'none') {
      const listenMs = nonNegative(options.listenMs ?? this.broadcastSettleMs, 'listenMs');
      const listener = this.collector(x, 1, () => undefined);
      listener.onFrame = (f) => {
        x.unexpected.push(f);
        this.logger?.debug(`unexpected reply after ${describeMessage(message)}: ${toHex(f.raw)}`);
      };
      this.listener = listener;
      try {
        const rec = await this.transmit(x, 1, request);
        x.attemptLog.push({ ...rec, outcome: 'sent' });
        await this.clock.sleep(listenMs);
      } finally {
        this.listener = undefined;
      }
      if (this.closed) throw this.closed;
      return this.finish(x);
    }

    for (let attempt = 1; attempt <= attempts; attempt++) {
      // One promise per attempt, settled by the first of: an accepted reply, the link closing, or
      // the timeout (null). No TimeoutError is made per attempt: only the caller's stack
      // (callSite) is ever shown, on the Dlt645NoReplyError after the last attempt; an Error per
      // request cost about 6% of a fleet bus's CPU (issue 7).
      const wait = new ReplyWait<AcceptedReply>(this.clock);
      const listener = this.collector(x, attempt, (f) => {
        const verdict = judge(criteria, f);
        if (verdict.ok) {
          wait.settle(f as AcceptedReply);
          return;
        }
        x.rejected.push({ ...f, reason: verdict.reason, detail: verdict.detail, attempt });
        this.logger?.debug(`rejected (${verdict.reason}): ${verdict.detail}`);
      });
      listener.onClose = (e) => wait.fail(e);
      this.listener = listener;
      let rec: Omit<AttemptRecord, 'outcome'>;
      try {
        rec = await this.transmit(x, attempt, request);
      } catch (e) {
        this.listener = undefined;
        wait.cancel();
        throw e;
      }
      try {
        const reply = await wait.start(timeoutMs);
        if (reply !== null) {
          x.attemptLog.push({ ...rec, outcome: 'reply' });
          this.accept(x, reply);
          return this.finish(x);
        }
        x.attemptLog.push({ ...rec, outcome: 'timeout' });
        this.logger?.debug(`${describeMessage(message)} to ${x.address}: no reply within ${timeoutMs} ms (attempt ${attempt}/${attempts})`);
      } finally {
        this.listener = undefined;
      }
    }
    this.finish(x);
    const what = seq === undefined ? describeMessage(message) : `read follow-up (12H) SEQ ${seq} for DI ${criteria.di ?? '?'}`;
    const evidence = x.rejected.length > 0 ? `; rejected ${x.rejected.length} frame(s): ${summariseRejections(x.rejected)}` : '';
    const noise = x.discarded.length > 0 ? `; discarded ${x.discarded.length} byte run(s) (${x.discarded[0]!.error.code})` : '';
    const error = new Dlt645NoReplyError(
      `no reply to ${what} from ${x.address} after ${attempts} attempt(s) of ${timeoutMs} ms${evidence}${noise}`,
      x,
      seq,
    );
    throw withCallSite(error, callSite);
  }

  private collector(x: Exchange, attempt: number, onFrame: (f: ReceivedFrame) => void): Listener {
    return {
      attempt,
      onFrame,
      onDiscarded: (d) => {
        x.discarded.push({ ...d, attempt });
      },
      onClose: () => undefined,
    };
  }

  /** Writes the request and works out when it left the wire (see "Timing"). */
  private async transmit(x: Exchange, attempt: number, bytes: Uint8Array): Promise<Omit<AttemptRecord, 'outcome'>> {
    if (this.closed) throw this.closed;
    const sentAt = this.clock.now();
    this.logger?.debug(`-> ${this.link.name} attempt ${attempt}: ${toHex(bytes)}`);
    await this.link.write(bytes);
    const writtenAt = this.clock.now();
    const transmittedAt = this.line ? Math.max(writtenAt, sentAt + bytes.length * this.charMs) : writtenAt;
    x.attempts = attempt;
    x.sentAt = sentAt;
    x.transmittedAt = transmittedAt;
    return { attempt, sentAt, writtenAt, transmittedAt };
  }

  private accept(x: Exchange, reply: AcceptedReply): void {
    x.reply = reply;
    x.replyAddress = reply.frame.address;
    x.firstByteAt = reply.firstByteAt;
    x.replyAt = reply.at;
    // Time the reply against the attempt whose transmission ended before it began.
    let base = x.attemptLog[x.attemptLog.length - 1]!;
    for (const a of x.attemptLog) if (a.transmittedAt <= reply.firstByteAt) base = a;
    const td = responseDelay(reply, base.transmittedAt, base.writtenAt, this.line !== undefined);
    x.responseDelayMs = td.ms;
    x.timing = td.timing;
    this.logger?.debug(`<- ${this.link.name} Td ${x.responseDelayMs.toFixed(1)} ms: ${toHex(reply.raw)}`);
  }

  private finish(x: Exchange): Exchange {
    this.last = x;
    this.emit('exchange', x);
    return x;
  }

  /** The reply as the expected normal kind, or the typed error for an abnormal reply. */
  private normalReply<K extends Dlt645MessageKind>(x: Exchange, kind: K): Extract<Dlt645Message, { kind: K }> {
    const m = x.reply?.message;
    if (m && m.kind === kind) return m as Extract<Dlt645Message, { kind: K }>;
    if (m && m.kind === 'errorResponse') {
      throw new Dlt645AbnormalReplyError(
        `${x.replyAddress ?? x.address} answered ${describeMessage(x.message)} with an abnormal reply ` +
          `${hex2(x.reply!.frame.control.raw)}H: error word ${hex2(m.errorWord)}H (${m.errors.join(', ') || 'no bit set'})`,
        x,
        m.functionCode,
        m.errorWord,
      );
    }
    throw new Dlt645ProtocolError(`${describeMessage(x.message)}: expected a ${kind} reply, got ${m?.kind ?? 'none'}`, x);
  }

  private async doSendRaw(bytes: Uint8Array, options: SendRawOptions): Promise<SendRawResult> {
    const listenMs = nonNegative(options.listenMs ?? this.timeoutMs, 'listenMs');
    const replies: ReceivedFrame[] = [];
    const discarded: DiscardedBytes[] = [];
    const received: Uint8Array[] = [];
    const stop = new AbortController();
    this.listener = {
      attempt: 1,
      onFrame: (f) => {
        replies.push(f);
        if (options.expectReply) stop.abort();
      },
      onDiscarded: (d) => discarded.push({ ...d, attempt: 1 }),
      onBytes: (b) => received.push(b),
      onClose: (e) => stop.abort(e),
    };
    let sentAt = NaN;
    let transmittedAt = NaN;
    let writtenAt = NaN;
    try {
      sentAt = this.clock.now();
      this.logger?.debug(`-> ${this.link.name} raw: ${toHex(bytes)}`);
      await this.link.write(bytes);
      writtenAt = this.clock.now();
      transmittedAt = this.line ? Math.max(writtenAt, sentAt + bytes.length * this.charMs) : writtenAt;
      await this.clock.sleep(listenMs, stop.signal).catch(() => undefined);
    } finally {
      this.listener = undefined;
    }
    const all = concatBytes(...received);
    const first = replies[0];
    return {
      request: new Uint8Array(bytes),
      sentAt,
      transmittedAt,
      replies,
      discarded,
      received: all,
      silent: all.length === 0,
      ...(first ? { responseDelayMs: responseDelay(first, transmittedAt, writtenAt, this.line !== undefined).ms } : {}),
    };
  }

  private receive(chunk: Uint8Array, timing?: ChunkTiming): void {
    if (chunk.length === 0) return;
    this.listener?.onBytes?.(chunk);
    this.receiver.push(chunk, timing, this.line ? this.charMs : 0);
  }

  private keepUnsolicited(f: ReceivedFrame): void {
    this.unsolicited.push(f);
    if (this.unsolicited.length > MAX_UNSOLICITED) this.unsolicited.shift();
    this.logger?.debug(`unsolicited frame on ${this.link.name}: ${toHex(f.raw)}`);
    this.emit('unsolicited', f);
  }

  private fail(error: LinkError): void {
    this.receiver.cancel();
    if (!this.closed) this.closed = error;
    this.listener?.onClose(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Reply matching (ROB-03)

/** What a reply must match (ROB-03); also used by the collection reader (dlt645-reader.ts). */
export interface MatchCriteria {
  readonly address: string;
  readonly wildcard: boolean;
  readonly functionCode: number;
  readonly di: string | undefined;
  readonly seq: number | undefined;
  readonly expect: readonly Dlt645MessageKind[];
}

export function matchCriteria(
  address: string,
  message: Dlt645Message,
  request: Uint8Array,
  preamble: number,
  expect: readonly Dlt645MessageKind[] | 'none',
): MatchCriteria {
  // C sits after 68 A0..A5 68: the encoder's own output, so its position is known.
  const control = request[preamble + 8]!;
  const di = message.kind === 'readData' || message.kind === 'readFollowUp' || message.kind === 'readData1997' ? message.di.toUpperCase() : undefined;
  return {
    address: address.toUpperCase(),
    wildcard: isWildcard(address),
    functionCode: control & 0x1f,
    di,
    seq: message.kind === 'readFollowUp' ? message.seq : undefined,
    expect: expect === 'none' ? [] : expect,
  };
}

export type Verdict = { ok: true } | { ok: false; reason: RejectReason; detail: string };

/** Whether `f` is the reply `c` describes, and if not why (the reason a rejected frame records). */
export function judge(c: MatchCriteria, f: ReceivedFrame): Verdict {
  const { frame, message } = f;
  if (!frame.control.isResponse) {
    return reject('direction', `C = ${hex2(frame.control.raw)}H has D7 = 0 (a request, not a reply)`);
  }
  const from = frame.address;
  if (c.wildcard) {
    if (isWildcard(from) || isBroadcast(from)) {
      return reject('wildcard-echo', `reply carries ${from} instead of the meter's own address (request to ${c.address})`);
    }
    if (!addressMatches(c.address, from)) return reject('address', `reply from ${from} is not covered by ${c.address}`);
  } else if (from !== c.address) {
    return reject('address', `reply from ${from}, request to ${c.address}`);
  }
  if (frame.control.functionCode !== c.functionCode) {
    return reject(
      'function-code',
      `reply C = ${hex2(frame.control.raw)}H has function ${hex2(frame.control.functionCode)}H, request ${hex2(c.functionCode)}H`,
    );
  }
  if (!message) return reject('undecodable', `${f.decodeError?.code ?? 'decode'}: ${f.decodeError?.message ?? 'undecodable'}`);
  if (message.kind === 'errorResponse') return { ok: true };
  if (c.di !== undefined && 'di' in message && message.di.toUpperCase() !== c.di) {
    return reject('di', `reply for DI ${message.di.toUpperCase()}, request for DI ${c.di}`);
  }
  if (c.seq !== undefined && message.kind === 'readFollowUpResponse' && message.seq !== c.seq) {
    return reject('seq', `reply for SEQ ${message.seq}, request for SEQ ${c.seq}`);
  }
  if (!c.expect.includes(message.kind)) {
    return reject('unexpected-kind', `reply is ${message.kind}, expected ${c.expect.join(' or ')}`);
  }
  return { ok: true };
}

function reject(reason: RejectReason, detail: string): Verdict {
  return { ok: false, reason, detail };
}

/** The reply kind a request expects when the caller does not say. */
export function defaultExpect(message: Dlt645Message): ExpectSpec {
  switch (message.kind) {
    case 'broadcastTimeSync':
      return 'none';
    case 'readData1997':
      return 'readDataResponse1997';
    case 'other':
      throw new UsageError(`say which reply a '${message.functionName}' request expects (options.expect)`);
    default: {
      const kind = `${message.kind}Response`;
      return kind as Dlt645MessageKind;
    }
  }
}

function normaliseExpect(expect: ExpectSpec): readonly Dlt645MessageKind[] | 'none' {
  if (expect === 'none') return 'none';
  return typeof expect === 'string' ? [expect] : [...expect];
}

// ---------------------------------------------------------------------------------------------
// Small helpers

/** One-line description of a request, e.g. "readData (11H) DI 00010000". */
export function describeMessage(message: Dlt645Message): string {
  const di = 'di' in message ? ` DI ${message.di.toUpperCase()}` : '';
  const seq = message.kind === 'readFollowUp' ? ` SEQ ${message.seq}` : '';
  return `${message.kind}${di}${seq}`;
}
