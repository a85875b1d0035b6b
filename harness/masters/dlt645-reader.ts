/**
 * DL/T 645-2007 collection reader: the allocation-light read loop of a concentrator's collection
 * task (issue 7: a fleet reads millions of items; the general `Dlt645Master` cost about 25 KB of
 * short-lived objects per item). It reads one identifier at a time from one meter with 11H,
 * following B1 follow-up flags with 12H SEQ 1, 2, ..., and reports each read to a callback:
 * no promise, exchange record, decoded frame or closure per read.
 *
 * Same protocol and the same outcomes as `Dlt645Master.readData` on the same link (test:
 * dlt645-reader.test.ts reads the same items, payloads, failures and line counts as the master,
 * fault behaviours included): the same request bytes, CON-05 timeouts and attempts, ROB-03 reply
 * matching (`judge`), the same receive discipline (a `Dlt645FrameScanner` flushed after Tb of
 * silence and before each request) and the same Td (`responseDelay`, Dlt645Master "Timing").
 *
 * Fast path: the RS-485 bus model delivers a frame as one chunk. When nothing is pending in the
 * scanner and a chunk is exactly one valid frame (`frameExtent`) that is the plain normal reply
 * to the 11H request (C = 91H, the request's address and DI), it is read in place: the payload is
 * un-offset into a reused buffer, the scanner skips the bytes. Every other chunk (noise, a
 * foreign or abnormal reply, a follow-up, a split frame) goes through the scanner and the
 * master's `judge`, as in `Dlt645Master`.
 *
 * Instead of exchange records the reader keeps running counts (`stats`): exchanges and attempts,
 * characters of every frame exchanged (each attempt's request, accepted and rejected replies,
 * discarded bytes: what `Exchange` records), Σ Td and timed-out attempts. Unicast addresses only.
 * Time only from the injected Clock.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import { LinkError, UsageError } from '../core/errors.ts';
import { FlushOnSilence, type DeliveryCause } from '../core/silence.ts';
import type { ChunkTiming, Link, LineSettings } from '../links/link.ts';
import { characterTimeMs } from '../links/link.ts';
import {
  DATA_OFFSET,
  Dlt645FrameScanner,
  HEADER_LENGTH,
  MAX_INTER_BYTE_GAP_MS,
  addressToWire,
  diToWire,
  encodeMessage,
  frameExtent,
  type Dlt645ScanEvent,
} from '../protocols/dlt645/index.ts';
import { DEFAULT_ATTEMPTS, DEFAULT_PREAMBLE, DEFAULT_TIMEOUT_MS, judge, matchCriteria, responseDelay, type MatchCriteria } from './dlt645-master.ts';
import { Dlt645ProtocolError } from './errors.ts';
import type { ReceivedFrame } from './exchange.ts';

/** How a read ended: the payload came, every attempt went unanswered, an abnormal reply, a reply the reader cannot use, or the link failed. */
export type ReadOutcome = 'ok' | 'no-reply' | 'abnormal' | 'protocol' | 'link';

/**
 * Called once per read. `payload[0..length)` is the value after the DI (follow-ups appended), valid
 * only during the call (the buffer is reused by the next read). On 'protocol' and 'link' the
 * reader's `lastError` says what happened.
 */
export type ReadDone = (outcome: ReadOutcome, payload: Uint8Array, length: number) => void;

export interface Dlt645ReaderOptions {
  readonly link: Link;
  readonly clock: Clock;
  /** Reply timeout per attempt, from the end of transmission. Default 3000 ms (CON-05). */
  readonly timeoutMs?: number;
  /** Attempts in total. Default 3 (CON-05). */
  readonly attempts?: number;
  /** FE wake-up bytes before each request. Default 4 (CON-05). */
  readonly preamble?: number;
  /** Line settings for the Td estimate (Dlt645Master "Timing"); omit on links without line time. */
  readonly line?: LineSettings;
  /** Silence that ends a partial frame. Default Tb = 500 ms (PROTOCOLS.md 1.1). */
  readonly interByteTimeoutMs?: number;
}

/** Running counts over every finished exchange (an 11H read and each 12H follow-up is one). */
export interface ReaderStats {
  exchanges: number;
  /** Requests transmitted (attempts of finished exchanges). */
  attempts: number;
  /** Attempts that timed out. */
  timeouts: number;
  /** Characters of every frame exchanged: requests × attempts, accepted and rejected replies, discarded bytes. */
  characters: number;
  /** Σ Td of accepted replies, ms. */
  replyDelayMs: number;
}

/** SEQ is one byte: at most 255 follow-up frames (PROTOCOLS.md 1.3, 12H). */
const MAX_FOLLOW_UP_SEQ = 255;
/** 11H request: C (PROTOCOLS.md 1.3). */
const READ_DATA = 0x11;
/** Normal reply to 11H without follow-up frames: D7 set, D6 and D5 clear (PROTOCOLS.md 1.3). */
const READ_DATA_REPLY = 0x91;
/** DI is four bytes in DL/T 645-2007 (PROTOCOLS.md 1.2). */
const DI_LENGTH = 4;
/** Largest payload of one reply frame (L ≤ 200 minus the DI), the payload buffer's first size. */
const FIRST_PAYLOAD_BUFFER = 256;

/** Arrival of the bytes of one chunk that went through the scanner, for the Td of a frame in it. */
interface ChunkRecord {
  /** Scanner stream offset of the chunk's first byte. */
  readonly offset: number;
  readonly length: number;
  /** Delivery instant. */
  readonly at: number;
  readonly timing: ChunkTiming | undefined;
  /** Start of the previous chunk's last byte: arrival estimates never go backwards (Dlt645Master). */
  readonly floor: number;
}

export class Dlt645Reader {
  readonly link: Link;
  readonly clock: Clock;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly preamble: number;
  readonly stats: ReaderStats = { exchanges: 0, attempts: 0, timeouts: 0, characters: 0, replyDelayMs: 0 };
  /** Why the last read ended 'protocol' or 'link'. */
  lastError: Error | undefined;

  private readonly line: LineSettings | undefined;
  private readonly charMs: number;
  private readonly receiver: FlushOnSilence<Dlt645ScanEvent>;
  private readonly scanner: Dlt645FrameScanner;
  private closed: LinkError | undefined;

  // The read in progress.
  private done: ReadDone | undefined;
  private address = '';
  private addressWire: Uint8Array = new Uint8Array(6);
  private di = '';
  private diWire: Uint8Array = new Uint8Array(DI_LENGTH);
  private readonly diWires = new Map<string, Uint8Array>();
  private seq = 0;
  private payload = new Uint8Array(FIRST_PAYLOAD_BUFFER);
  private payloadLength = 0;
  // The exchange in progress (one request and its attempts).
  private listening = false;
  private writing = false;
  private request: Uint8Array;
  private readonly readRequest: Uint8Array;
  private attempt = 0;
  private sentAt = 0;
  private readonly transmittedAt: Float64Array;
  private readonly writtenAt: Float64Array;
  private timer: TimerHandle | undefined;
  private criteria: MatchCriteria | undefined;
  private early: ReceivedFrame | undefined;
  private xCharacters = 0;
  private xTimeouts = 0;
  // Arrival estimates.
  private lastByteStart = -Infinity;
  private records: ChunkRecord[] = [];

  private readonly onData = (chunk: Uint8Array, timing?: ChunkTiming): void => this.receive(chunk, timing);
  private readonly onLinkClose = (): void => this.fail(new LinkError(`${this.link.name} closed`));
  private readonly onLinkError = (e: Error): void =>
    this.fail(e instanceof LinkError ? e : new LinkError(`${this.link.name}: ${e.message}`, { cause: e }));
  private readonly onWritten = (): void => this.written();
  private readonly onWriteFailed = (e: unknown): void => this.writeFailed(e);
  private readonly onTimeout = (): void => this.timedOut();

  constructor(options: Dlt645ReaderOptions) {
    this.link = options.link;
    this.clock = options.clock;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.attempts = options.attempts ?? DEFAULT_ATTEMPTS;
    this.preamble = options.preamble ?? DEFAULT_PREAMBLE;
    if (!(Number.isFinite(this.timeoutMs) && this.timeoutMs > 0)) throw new UsageError(`timeoutMs must be a positive number, got ${String(this.timeoutMs)}`);
    if (!(Number.isInteger(this.attempts) && this.attempts > 0)) throw new UsageError(`attempts must be a positive integer, got ${String(this.attempts)}`);
    if (!(Number.isInteger(this.preamble) && this.preamble >= 0)) throw new UsageError(`preamble must be a whole number of bytes, got ${String(this.preamble)}`);
    this.line = options.line;
    this.charMs = this.line ? characterTimeMs(this.line) : 0;
    this.transmittedAt = new Float64Array(this.attempts);
    this.writtenAt = new Float64Array(this.attempts);
    this.readRequest = new Uint8Array(this.preamble + HEADER_LENGTH + DI_LENGTH + 2);
    this.request = this.readRequest;
    this.scanner = new Dlt645FrameScanner();
    this.receiver = new FlushOnSilence({
      scanner: this.scanner,
      clock: this.clock,
      silenceMs: options.interByteTimeoutMs ?? MAX_INTER_BYTE_GAP_MS,
      deliver: (events, cause) => this.handle(events, cause),
    });
    this.link.on('data', this.onData);
    this.link.on('close', this.onLinkClose);
    this.link.on('error', this.onLinkError);
    if (!this.link.isOpen) this.closed = new LinkError(`${this.link.name} is closed`);
  }

  /**
   * Reads `di` from the meter at `address` (12 decimal digits); `done` is called once, later (or
   * at once when the link is already closed). One read at a time. Throws UsageError for a second
   * read while one is in progress, and EncodeError for a bad address or DI.
   */
  read(address: string, di: string, done: ReadDone): void {
    if (this.done !== undefined) throw new UsageError('Dlt645Reader reads one item at a time');
    if (address !== this.address) {
      if (!/^[0-9]{12}$/.test(address)) throw new UsageError(`the collection reader reads one meter by its 12-digit address, got ${JSON.stringify(address)}`);
      this.addressWire = addressToWire(address);
      this.address = address;
    }
    const id = di.toUpperCase();
    let wire = this.diWires.get(id);
    if (wire === undefined) {
      wire = diToWire(id, DI_LENGTH);
      this.diWires.set(id, wire);
    }
    this.di = id;
    this.diWire = wire;
    this.lastError = undefined;
    this.payloadLength = 0;
    this.seq = 0;
    this.done = done;
    this.startExchange();
  }

  /** Stops listening to the link (it does not close it); a read in progress ends 'link'. */
  dispose(): void {
    this.link.off('data', this.onData);
    this.link.off('close', this.onLinkClose);
    this.link.off('error', this.onLinkError);
    this.fail(new LinkError('the DL/T 645 reader was disposed'));
  }

  // -------------------------------------------------------------------------------------------

  private startExchange(): void {
    if (this.closed) {
      this.end('link', this.closed);
      return;
    }
    // Bytes still pending predate this request (half duplex): decided now, not counted (Dlt645Master.enqueue).
    this.receiver.flush();
    if (this.seq === 0) this.encodeReadRequest();
    else this.request = encodeMessage(this.address, { kind: 'readFollowUp', di: this.di, seq: this.seq }, { preamble: this.preamble });
    this.criteria = undefined;
    this.early = undefined;
    this.attempt = 0;
    this.xCharacters = 0;
    this.xTimeouts = 0;
    this.listening = true;
    this.sendAttempt();
  }

  /** `[FE..] 68 A0..A5 68 11 04 DI0+33 .. DI3+33 CS 16` into the reused request buffer (the bytes `encodeMessage` gives: test). */
  private encodeReadRequest(): void {
    const b = this.readRequest;
    this.request = b;
    let p = 0;
    for (; p < this.preamble; p++) b[p] = 0xfe;
    const head = p;
    b[p++] = 0x68;
    for (let i = 0; i < 6; i++) b[p++] = this.addressWire[i]!;
    b[p++] = 0x68;
    b[p++] = READ_DATA;
    b[p++] = DI_LENGTH;
    for (let i = 0; i < DI_LENGTH; i++) b[p++] = (this.diWire[i]! + DATA_OFFSET) & 0xff;
    let cs = 0;
    for (let i = head; i < p; i++) cs = (cs + b[i]!) & 0xff;
    b[p++] = cs;
    b[p] = 0x16;
  }

  private sendAttempt(): void {
    if (this.closed) {
      this.end('link', this.closed);
      return;
    }
    this.attempt++;
    this.sentAt = this.clock.now();
    this.writing = true;
    this.link.write(this.request).then(this.onWritten, this.onWriteFailed);
  }

  private written(): void {
    this.writing = false;
    if (!this.listening) return;
    const i = this.attempt - 1;
    const writtenAt = this.clock.now();
    this.writtenAt[i] = writtenAt;
    this.transmittedAt[i] = this.line ? Math.max(writtenAt, this.sentAt + this.request.length * this.charMs) : writtenAt;
    this.xCharacters += this.request.length;
    const early = this.early;
    if (early !== undefined) {
      this.early = undefined;
      this.accepted(early);
      return;
    }
    this.timer = this.clock.setTimeout(this.onTimeout, this.timeoutMs);
  }

  private writeFailed(e: unknown): void {
    this.writing = false;
    if (!this.listening) return;
    this.end('link', e instanceof Error ? e : new LinkError(String(e)));
  }

  private timedOut(): void {
    this.timer = undefined;
    if (!this.listening) return;
    this.xTimeouts++;
    if (this.attempt < this.attempts) {
      this.sendAttempt();
      return;
    }
    this.commit();
    this.end('no-reply', undefined);
  }

  private receive(chunk: Uint8Array, timing: ChunkTiming | undefined): void {
    const n = chunk.length;
    if (n === 0) return;
    const at = this.clock.now();
    const floor = this.lastByteStart;
    // Start of the chunk's last byte (Dlt645Master "Timing"); the first byte's when needed below.
    this.lastByteStart = Math.max(floor, this.byteStart(n - 1, n, at, timing));
    if (this.listening && !this.writing && this.seq === 0 && this.receiver.pending === 0 && frameExtent(chunk) === n && this.plainReply(chunk)) {
      this.scanner.skip(n);
      this.xCharacters += n;
      const firstByteAt = Math.max(floor, this.byteStart(0, n, at, timing));
      let p = 0;
      while (chunk[p] === 0xfe) p++;
      const length = chunk[p + 9]! - DI_LENGTH;
      const from = p + HEADER_LENGTH + DI_LENGTH;
      this.ensurePayload(length);
      for (let i = 0; i < length; i++) this.payload[i] = (chunk[from + i]! - DATA_OFFSET) & 0xff;
      this.payloadLength = length;
      this.timeReply(firstByteAt, at, at);
      this.commit();
      this.end('ok', undefined);
      return;
    }
    this.records.push({ offset: this.scanner.offset, length: n, at, timing, floor });
    this.receiver.push(chunk, timing);
    this.pruneRecords();
  }

  /** C = 91H, L ≥ 4, the request's address and DI: the reply `judge` accepts with nothing to follow. */
  private plainReply(chunk: Uint8Array): boolean {
    let p = 0;
    while (chunk[p] === 0xfe) p++;
    if (chunk[p + 8] !== READ_DATA_REPLY || chunk[p + 9]! < DI_LENGTH) return false;
    const r = this.preamble;
    for (let i = 1; i <= 6; i++) if (chunk[p + i] !== this.request[r + i]) return false;
    for (let i = 0; i < DI_LENGTH; i++) if (chunk[p + HEADER_LENGTH + i] !== this.request[r + HEADER_LENGTH + i]) return false;
    return true;
  }

  /** Start of byte j of an n-byte chunk delivered at `at` (Dlt645Master.receive), before the no-going-back floor. */
  private byteStart(j: number, n: number, at: number, timing: ChunkTiming | undefined): number {
    if (timing) return timing.firstByteAt + (j - 1) * timing.characterTimeMs;
    return this.line ? at - (n - j) * this.charMs : at;
  }

  private pruneRecords(): void {
    const from = this.scanner.offset - this.scanner.pending;
    let k = 0;
    while (k < this.records.length && this.records[k]!.offset + this.records[k]!.length <= from) k++;
    if (k > 0) this.records.splice(0, k);
  }

  /** Scanner events (bytes that did not take the fast path, or the flush after Tb of silence). */
  private handle(events: readonly Dlt645ScanEvent[], _cause: DeliveryCause): void {
    if (!this.listening) return; // unsolicited: not part of any exchange (Dlt645Master)
    const at = this.clock.now();
    let accepted: ReceivedFrame | undefined;
    for (const event of events) {
      if (event.type === 'discarded') {
        this.xCharacters += event.bytes.length;
        continue;
      }
      const { decoded, message } = event;
      const { firstByteAt, firstChunkAt } = this.arrival(decoded.start, at);
      const f: ReceivedFrame = message.ok
        ? { raw: decoded.raw, frame: decoded.frame, message: message.value, firstByteAt, firstChunkAt, at }
        : { raw: decoded.raw, frame: decoded.frame, message: null, decodeError: message.error, firstByteAt, firstChunkAt, at };
      const verdict = judge(this.criteriaNow(), f);
      // After the first accepted reply, later accepted frames are dropped and rejected ones still
      // counted, as the master's listener does until its wait resumes.
      if (verdict.ok) accepted ??= f;
      else this.xCharacters += f.raw.length;
    }
    if (accepted === undefined) return;
    if (this.writing) this.early ??= accepted;
    else this.accepted(accepted);
  }

  private criteriaNow(): MatchCriteria {
    this.criteria ??=
      this.seq === 0
        ? matchCriteria(this.address, { kind: 'readData', di: this.di, extra: new Uint8Array(0) }, this.request, this.preamble, ['readDataResponse'])
        : matchCriteria(this.address, { kind: 'readFollowUp', di: this.di, seq: this.seq }, this.request, this.preamble, ['readFollowUpResponse']);
    return this.criteria;
  }

  private arrival(start: number, at: number): { firstByteAt: number; firstChunkAt: number } {
    for (const r of this.records) {
      if (start >= r.offset && start < r.offset + r.length) {
        return { firstByteAt: Math.max(r.floor, this.byteStart(start - r.offset, r.length, r.at, r.timing)), firstChunkAt: r.at };
      }
    }
    return { firstByteAt: at, firstChunkAt: at };
  }

  /** An accepted reply from the scanner path (Dlt645Master.accept, then readData's follow-up loop). */
  private accepted(f: ReceivedFrame): void {
    this.xCharacters += f.raw.length;
    this.timeReply(f.firstByteAt, f.firstChunkAt, f.at);
    this.commit();
    const m = f.message!;
    if (m.kind === 'errorResponse') {
      this.end('abnormal', undefined);
      return;
    }
    if (m.kind !== 'readDataResponse' && m.kind !== 'readFollowUpResponse') {
      this.end('protocol', new Dlt645ProtocolError(`readData DI ${this.di}: expected a reply with data, got ${m.kind}`));
      return;
    }
    this.ensurePayload(this.payloadLength + m.payload.length);
    this.payload.set(m.payload, this.payloadLength);
    this.payloadLength += m.payload.length;
    if (!m.hasFollowUp) {
      this.end('ok', undefined);
      return;
    }
    if (this.seq + 1 > MAX_FOLLOW_UP_SEQ) {
      this.end('protocol', new Dlt645ProtocolError(`${this.address} still flags follow-up frames for DI ${this.di} after SEQ ${MAX_FOLLOW_UP_SEQ}`));
      return;
    }
    this.clearTimer();
    this.listening = false;
    this.seq++;
    this.startExchange();
  }

  /** Td of the accepted reply, against the attempt whose transmission ended before it began. */
  private timeReply(firstByteAt: number, firstChunkAt: number, at: number): void {
    let base = this.attempt - 1;
    for (let i = 0; i < this.attempt; i++) if (this.transmittedAt[i]! <= firstByteAt) base = i;
    const td = responseDelay({ firstByteAt, firstChunkAt, at } as ReceivedFrame, this.transmittedAt[base]!, this.writtenAt[base]!, this.line !== undefined);
    this.stats.replyDelayMs += td.ms;
  }

  /** Adds the finished exchange to the running counts (Dlt645Master emits 'exchange' for these). */
  private commit(): void {
    this.stats.exchanges++;
    this.stats.attempts += this.attempt;
    this.stats.timeouts += this.xTimeouts;
    this.stats.characters += this.xCharacters;
  }

  private ensurePayload(length: number): void {
    if (length <= this.payload.length) return;
    const next = new Uint8Array(Math.max(length, this.payload.length * 2));
    next.set(this.payload.subarray(0, this.payloadLength));
    this.payload = next;
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private end(outcome: ReadOutcome, error: Error | undefined): void {
    this.clearTimer();
    this.listening = false;
    this.early = undefined;
    const done = this.done;
    this.done = undefined;
    this.lastError = error;
    done?.(outcome, this.payload, outcome === 'ok' ? this.payloadLength : 0);
  }

  private fail(error: LinkError): void {
    this.receiver.cancel();
    if (!this.closed) this.closed = error;
    if (this.listening) this.end('link', error);
  }
}
