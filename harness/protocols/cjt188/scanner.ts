/**
 * Streaming CJ/T 188 framer for links: bytes arrive in chunks split anywhere; frames come out in
 * order, and everything that is not a frame comes out as a `discarded` event with the reason.
 *
 * Junk is skipped up to the next possible start (`FE* 68`, PROTOCOLS.md 2.1; FE wake-up bytes
 * stay attached to the frame that follows). A candidate that fails a check (address, L, CS, 16H)
 * is dropped only up to the next possible start after its own 68H, so a valid frame behind or
 * inside a broken one is still found.
 *
 * CJ/T 188 has no second 68H to refuse a spurious start early: a 68H inside a broken frame (a
 * wrong CS that happens to be 68H, a data byte) opens a candidate whose L can claim up to 255
 * bytes and would hold the next valid frame hostage until silence flushed it. So while the
 * leading candidate is unfinished, a complete valid frame that begins after its 68H wins: the
 * unfinished candidate is discarded (`cjt188.truncated`, "superseded") and that frame delivered at
 * once. (Trade-off, documented: a valid frame whose own DATA holds a complete valid frame can be
 * split that way when it arrives in pieces; DATA carries meter readings, not frames.)
 *
 * The buffer is bounded. Work per pushed byte is bounded by the buffer length: a rescan happens
 * only when the pushed bytes can complete some candidate, and the look-ahead decodes only
 * candidates that the pushed bytes completed. Offsets are stream offsets (bytes since the scanner
 * was created). Pure: no I/O, no clock; never throws on bytes.
 */
import { decodeError, MeterLabError, type DecodeError } from '../../core/errors.ts';
import { nextFrameCandidate, startAfterPreamble } from '../../core/framing.ts';
import type { Result } from '../../core/result.ts';
import { FRAME_OVERHEAD, HEADER_LENGTH, LENGTH_OFFSET, PREAMBLE_BYTE, START } from './constants.ts';
import { STANDARD_DIALECT, type Cjt188Dialect } from './dialect.ts';
import { decodeFrame, type DecodeFrameOptions } from './frame.ts';
import { decodeMessage } from './messages.ts';
import type { Cjt188DecodedFrame, Cjt188Message } from './types.ts';

export type Cjt188ScanEvent =
  | {
      readonly type: 'frame';
      /** `start`/`end` are stream offsets; `raw` includes the FE preamble. */
      readonly decoded: Cjt188DecodedFrame;
      /** The application message (decoded on first read), or why the data does not fit its control code. */
      readonly message: Result<Cjt188Message, DecodeError>;
    }
  | {
      readonly type: 'discarded';
      readonly bytes: Uint8Array;
      /**
       * Why (the first reason when several discards run together): `cjt188.start` (junk before a
       * start character), a frame check (`.address`, `.length`, `.checksum`, `.end`),
       * `cjt188.truncated` (left over at `flush()`, or an unfinished candidate superseded by a
       * complete frame after its 68H), `cjt188.overflow` (a candidate longer than the buffer bound).
       */
      readonly error: DecodeError;
    };

export const SCANNER_DISCARD_CODES = ['cjt188.start', 'cjt188.address', 'cjt188.length', 'cjt188.truncated', 'cjt188.checksum', 'cjt188.end', 'cjt188.overflow'] as const;

export interface Cjt188FrameScannerOptions {
  /** Most bytes held while waiting for the rest of a frame. Default 1024. */
  readonly maxBufferLength?: number;
  /** Dialect: L limit, address bytes, and how messages are decoded. Default the standard. */
  readonly dialect?: Cjt188Dialect;
}

export const DEFAULT_SCANNER_BUFFER_LENGTH = 1024;
/** FE bytes kept when an endless FE run overflows the buffer (field tools send up to 5, PROTOCOLS.md 2.1). */
const KEPT_PREAMBLE_ON_OVERFLOW = 5;
const EMPTY = new Uint8Array(0);

export class Cjt188FrameScanner {
  private buffer: Uint8Array = EMPTY;
  /** Stream offset of buffer[0]. */
  private base = 0;
  /** Stream offset before which no rescan can decide anything (see scan). */
  private waitUntil = 0;
  /** The pending bytes are FE only: any other byte decides (their 68H, or junk), so the next scan waits for one. */
  private waitOnNonPreamble = false;
  /** Chunks pushed since the last scan, not yet joined to `buffer` (joining on every push made a long wait quadratic). */
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /** Stream offset up to which the look-ahead has decoded every candidate that was complete. */
  private checkedUpTo = 0;
  private readonly maxBufferLength: number;
  private readonly dialect: Cjt188Dialect;
  private readonly frameOptions: DecodeFrameOptions;

  constructor(options: Cjt188FrameScannerOptions = {}) {
    this.dialect = options.dialect ?? STANDARD_DIALECT;
    this.maxBufferLength = options.maxBufferLength ?? DEFAULT_SCANNER_BUFFER_LENGTH;
    this.frameOptions = { maxDataLength: this.dialect.maxDataLength, addressBytes: this.dialect.addressBytes };
    const smallest = KEPT_PREAMBLE_ON_OVERFLOW + FRAME_OVERHEAD + this.dialect.maxDataLength;
    if (!Number.isInteger(this.maxBufferLength) || this.maxBufferLength < smallest) {
      throw new MeterLabError('cjt188.scanner-options', `maxBufferLength must hold a whole frame (at least ${smallest} bytes), got ${String(options.maxBufferLength)}`);
    }
  }

  /** Stream offset of the next byte to be pushed. */
  get offset(): number {
    return this.base + this.buffer.length + this.chunkBytes;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.buffer.length + this.chunkBytes;
  }

  /** Feeds received bytes; returns the frames completed and the bytes discarded, in stream order. */
  push(chunk: Uint8Array): Cjt188ScanEvent[] {
    if (chunk.length === 0) return [];
    const at = this.offset;
    if (this.waitUntil > at + chunk.length) {
      // A 68H in the chunk opens a candidate that may complete before the leading one: decide
      // again once its L is known (the look-ahead, see the file header).
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] === START) this.waitUntil = Math.min(this.waitUntil, at + i + LENGTH_OFFSET + 1);
      }
    }
    this.chunks.push(chunk.slice());
    this.chunkBytes += chunk.length;
    if (this.offset < this.waitUntil && !(this.waitOnNonPreamble && chunk.some((b) => b !== PREAMBLE_BYTE))) return [];
    return this.scan(false);
  }

  /** End of input (link closed, or silence): an unfinished candidate is reported and the bytes after its 68H rescanned. */
  flush(): Cjt188ScanEvent[] {
    return this.scan(true);
  }

  /** Forgets buffered bytes without reporting them; stream offsets keep counting. */
  reset(): void {
    this.base += this.pending;
    this.buffer = EMPTY;
    this.chunks = [];
    this.chunkBytes = 0;
    this.waitUntil = 0;
    this.waitOnNonPreamble = false;
    this.checkedUpTo = this.base;
  }

  private scan(final: boolean): Cjt188ScanEvent[] {
    const buf = this.join();
    const n = buf.length;
    const events: Cjt188ScanEvent[] = [];
    let open: { from: number; to: number; error: DecodeError } | null = null;
    const close = (): void => {
      if (open) events.push({ type: 'discarded', bytes: buf.slice(open.from, open.to), error: open.error });
      open = null;
    };
    const discard = (from: number, to: number, error: DecodeError): void => {
      if (open && open.to === from) open.to = to;
      else {
        close();
        open = { from, to, error };
      }
    };
    let pos = 0;
    this.waitUntil = 0;
    this.waitOnNonPreamble = false;
    while (pos < n) {
      const candidate = nextFrameCandidate(buf, pos, START, PREAMBLE_BYTE);
      if (candidate > pos) {
        discard(pos, candidate, decodeError('cjt188.start', `${candidate - pos} byte(s) before a start character 68H`, this.base + pos));
        pos = candidate;
        continue;
      }
      const r = decodeFrame(buf, pos, this.frameOptions);
      if (r.ok) {
        close();
        events.push(this.frameEvent(r.value));
        pos = r.value.end;
        continue;
      }
      const head = startAfterPreamble(buf, pos, START, PREAMBLE_BYTE);
      let error: DecodeError = { ...r.error, offset: this.base + r.error.offset };
      if (r.error.code === 'cjt188.truncated' && !final) {
        if (head >= 0) {
          const later = this.completeFrameAfter(buf, head + 1);
          if (later >= 0) {
            discard(pos, later, decodeError('cjt188.truncated', `an unfinished frame candidate superseded by a complete frame at ${this.base + later}`, this.base + later));
            pos = later;
            continue;
          }
        }
        if (n - pos <= this.maxBufferLength) {
          this.waitUntil = this.base + this.decisionPoint(buf, pos, head);
          this.waitOnNonPreamble = head < 0;
          break;
        }
        error = decodeError('cjt188.overflow', `an unfinished frame candidate of ${n - pos} bytes exceeds the ${this.maxBufferLength}-byte receive buffer`, this.base + pos);
        if (head < 0) {
          // An endless FE run: keep the last few, they may be the preamble of a frame to come.
          discard(pos, n - KEPT_PREAMBLE_ON_OVERFLOW, error);
          pos = n - KEPT_PREAMBLE_ON_OVERFLOW;
          this.waitUntil = this.base + pos + this.maxBufferLength + 1;
          this.waitOnNonPreamble = true;
          break;
        }
        if (head - pos > KEPT_PREAMBLE_ON_OVERFLOW) {
          discard(pos, head - KEPT_PREAMBLE_ON_OVERFLOW, error);
          pos = head - KEPT_PREAMBLE_ON_OVERFLOW;
          continue;
        }
      }
      if (head < 0) {
        discard(pos, n, error); // final: FE bytes whose frame never came
        pos = n;
        continue;
      }
      const to = nextFrameCandidate(buf, head + 1, START, PREAMBLE_BYTE);
      discard(pos, to, error);
      pos = to;
    }
    close();
    this.checkedUpTo = this.base + n;
    this.buffer = pos < n ? buf.slice(pos) : EMPTY;
    this.base += pos;
    return events;
  }

  /**
   * Index of the first candidate at or after `from` (its FE preamble included, back to `from`)
   * that is a complete valid frame; only candidates the last push completed are decoded (the
   * others were decoded by an earlier scan and failed). -1 when none.
   */
  private completeFrameAfter(buf: Uint8Array, from: number): number {
    const n = buf.length;
    for (let i = from; i < n; i++) {
      if (buf[i] !== START || i + LENGTH_OFFSET >= n) continue;
      const end = i + FRAME_OVERHEAD + buf[i + LENGTH_OFFSET]!;
      if (end > n || this.base + end <= this.checkedUpTo) continue;
      if (decodeFrame(buf, i, this.frameOptions).ok) {
        let s = i;
        while (s > from && buf[s - 1] === PREAMBLE_BYTE) s--;
        return s;
      }
    }
    return -1;
  }

  /** The buffer length at which a rescan can first decide something: the leading candidate or a later one completes. */
  private decisionPoint(buf: Uint8Array, pos: number, head: number): number {
    const n = buf.length;
    const overflowAt = pos + this.maxBufferLength + 1;
    if (head < 0) return overflowAt; // FE up to the end: a non-FE byte decides (waitOnNonPreamble), or the bound
    let soonest = overflowAt;
    for (let i = head; i < n; i++) {
      if (buf[i] !== START) continue;
      const needed = i + LENGTH_OFFSET >= n ? i + LENGTH_OFFSET + 1 : i + FRAME_OVERHEAD + buf[i + LENGTH_OFFSET]!;
      if (needed > n && needed < soonest) soonest = needed;
    }
    // The address check needs A0..A6 byte by byte: decide at the next byte while they arrive.
    if (head + LENGTH_OFFSET >= n) soonest = Math.min(soonest, n + 1);
    return soonest;
  }

  /** Joins the pushed chunks to the buffer. */
  private join(): Uint8Array {
    if (this.chunkBytes === 0) return this.buffer;
    const next = new Uint8Array(this.buffer.length + this.chunkBytes);
    next.set(this.buffer, 0);
    let at = this.buffer.length;
    for (const c of this.chunks) {
      next.set(c, at);
      at += c.length;
    }
    this.chunks = [];
    this.chunkBytes = 0;
    this.buffer = next;
    return next;
  }

  private frameEvent(d: Cjt188DecodedFrame): Cjt188ScanEvent {
    const decoded: Cjt188DecodedFrame = { frame: d.frame, start: this.base + d.start, end: this.base + d.end, raw: d.raw };
    const dialect = this.dialect;
    const dataOffset = decoded.start + d.frame.preamble + HEADER_LENGTH;
    let message: Result<Cjt188Message, DecodeError> | undefined;
    return {
      type: 'frame',
      decoded,
      get message(): Result<Cjt188Message, DecodeError> {
        message ??= decodeMessage(decoded.frame, dataOffset, dialect);
        return message;
      },
    };
  }
}
