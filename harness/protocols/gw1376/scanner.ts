/**
 * Streaming Q/GDW 1376.1 framer for links (TCP to a master station, a serial port): bytes
 * arrive in chunks split anywhere; frames come out in order, and everything that is not a frame
 * comes out as a `discarded` event with the reason.
 *
 * Junk is skipped up to the next 68H. A candidate is checked as soon as its header bytes arrive
 * (`68 L L 68`: protocol id, length range, the repeated L, the second 68H; frame.ts checkHeader),
 * so most spurious 68H are refused at once. A candidate that fails a later check (CS, 16H, AUX)
 * is dropped only up to the next 68H after its own first byte, so a valid frame behind or inside
 * a broken one is still found — a checksum byte equal to 68H opens a candidate that the header
 * check refuses, and the next frame comes out (scanner.test.ts).
 *
 * A spurious header can still claim up to 16383 bytes and hold the next valid frame until
 * silence; so while the leading candidate is unfinished, a complete valid frame that begins after
 * its first 68H wins: the unfinished candidate is discarded (`gw1376.truncated`, "superseded")
 * and that frame delivered at once. (Trade-off, documented: a frame arriving in pieces whose own
 * data carries a complete 1376.1 frame, e.g. forwarded, could be split that way; AFN 10 carries
 * DL/T 645 frames, whose header never passes the 1376.1 header check.)
 *
 * The buffer is bounded: it holds one largest frame (8 + maxUserDataLength), and a candidate is
 * decided by the time it is complete. Work per pushed byte is bounded by a logarithm, not by the
 * buffer, even against a hostile sender (a flood of valid headers each announcing 16383 bytes,
 * pushed byte by byte): every 68H is classified once as its header arrives; candidates with a
 * valid header wait in a heap ordered by where they end; a candidate is checked when its last
 * byte arrives, its checksum in O(1) from running sums, and only one that passes CS and 16H is
 * decoded in full. Offsets are stream offsets (bytes since the scanner was created). Pure: no
 * I/O, no clock; never throws on bytes.
 */
import { decodeError, MeterLabError, type DecodeError } from '../../core/errors.ts';
import type { Result } from '../../core/result.ts';
import { END, FRAME_OVERHEAD, START } from './constants.ts';
import { checkHeader, decodeFrame, FRAME_ERROR_CODES, hexByte, resolveFrameOptions, type Gw1376FrameOptions, type ResolvedFrameOptions } from './frame.ts';
import { decodeMessage, type Gw1376Message } from './messages.ts';
import type { Gw1376DecodedFrame } from './types.ts';

export type Gw1376ScanEvent =
  | {
      readonly type: 'frame';
      /** `start`/`end`/`dataOffset` are stream offsets. */
      readonly decoded: Gw1376DecodedFrame;
      /** The data units (decoded on first read), or why they do not parse. */
      readonly message: Result<Gw1376Message, DecodeError>;
    }
  | {
      readonly type: 'discarded';
      readonly bytes: Uint8Array;
      /** Why (the first reason when several discards run together); see SCANNER_DISCARD_CODES. */
      readonly error: DecodeError;
    };

/** A discarded candidate carries the error decodeFrame gave it: the frame error codes. */
export const SCANNER_DISCARD_CODES = FRAME_ERROR_CODES;

export interface Gw1376FrameScannerOptions {
  /** Most bytes held while waiting for the rest of a frame. Default: 8 + maxUserDataLength. */
  readonly maxBufferLength?: number;
  /** Frame options (length limit, protocol ids, AUX rules). */
  readonly frame?: Gw1376FrameOptions;
}

const INITIAL_CAPACITY = 256;

export class Gw1376FrameScanner {
  /** Bytes held: stream offsets [base, base + len). */
  private buf = new Uint8Array(INITIAL_CAPACITY);
  /** sums[i] = (buf[0] + ... + buf[i - 1]) mod 256, so any range's CS is one subtraction. */
  private sums = new Uint8Array(INITIAL_CAPACITY + 1);
  private len = 0;
  private base = 0;
  /** Stream offset of the first undecided byte (the leading candidate, or junk). */
  private start = 0;
  /** Stream offset from which 68H bytes still need classifying (a header still arriving stops it). */
  private catalogFrom = 0;
  /** Candidates with a valid header, as a binary min-heap of [end, position] (stream offsets). */
  private heap: [number, number][] = [];
  /** Positions of complete candidates that decode as valid frames (look-ahead winners). */
  private valid: number[] = [];
  private readonly maxBufferLength: number;
  private readonly options: ResolvedFrameOptions;

  constructor(options: Gw1376FrameScannerOptions = {}) {
    this.options = resolveFrameOptions(options.frame);
    const smallest = FRAME_OVERHEAD + this.options.maxUserDataLength;
    this.maxBufferLength = options.maxBufferLength ?? smallest;
    if (!Number.isInteger(this.maxBufferLength) || this.maxBufferLength < smallest) {
      throw new MeterLabError('gw1376.scanner-options', `maxBufferLength must hold a whole frame (at least ${smallest} bytes), got ${String(options.maxBufferLength)}`);
    }
  }

  /** Stream offset of the next byte to be pushed. */
  get offset(): number {
    return this.base + this.len;
  }

  /** Bytes held back waiting for the rest of a frame (never more than maxBufferLength). */
  get pending(): number {
    return this.offset - this.start;
  }

  /** Feeds received bytes; returns the frames completed and the bytes discarded, in stream order. */
  push(chunk: Uint8Array): Gw1376ScanEvent[] {
    if (chunk.length === 0) return [];
    this.append(chunk);
    this.catalog();
    this.checkCompleted();
    return this.process(false);
  }

  /** End of input (link closed, or silence): an unfinished candidate is reported and the bytes after its 68H rescanned. */
  flush(): Gw1376ScanEvent[] {
    return this.process(true);
  }

  /** Forgets buffered bytes without reporting them; stream offsets keep counting. */
  reset(): void {
    this.base = this.start = this.catalogFrom = this.offset;
    this.len = 0;
    this.heap = [];
    this.valid = [];
  }

  private append(chunk: Uint8Array): void {
    const need = this.len + chunk.length;
    if (need > this.buf.length) {
      let cap = this.buf.length;
      while (cap < need) cap *= 2;
      const buf = new Uint8Array(cap);
      buf.set(this.buf.subarray(0, this.len));
      const sums = new Uint8Array(cap + 1);
      sums.set(this.sums.subarray(0, this.len + 1));
      this.buf = buf;
      this.sums = sums;
    }
    this.buf.set(chunk, this.len);
    for (let i = 0; i < chunk.length; i++) this.sums[this.len + i + 1] = (this.sums[this.len + i]! + chunk[i]!) & 0xff;
    this.len = need;
  }

  /** Classifies every 68H not yet classified: a valid header becomes a candidate in the heap. */
  private catalog(): void {
    const view = this.buf.subarray(0, this.len);
    let i = Math.max(this.catalogFrom, this.start) - this.base;
    for (; i < this.len; i++) {
      if (view[i] !== START) continue;
      const h = checkHeader(view, i, this.options);
      if (h === null) break; // header still arriving: classify it when more bytes come
      if (typeof h === 'number') this.heapPush([this.base + i + FRAME_OVERHEAD + h, this.base + i]);
    }
    this.catalogFrom = this.base + i;
  }

  /** Checks the candidates whose last byte has arrived; the valid ones (after the leading one) can supersede it. */
  private checkCompleted(): void {
    const end = this.offset;
    while (this.heap.length > 0 && this.heap[0]![0] <= end) {
      const [frameEnd, pos] = this.heapPop();
      if (pos > this.start && this.quickCheck(pos, frameEnd) === null && decodeFrame(this.buf.subarray(0, this.len), pos - this.base, this.options).ok) this.valid.push(pos);
    }
  }

  /** CS and 16H of a complete candidate in O(1): null when both hold, else the error decodeFrame would give. */
  private quickCheck(pos: number, frameEnd: number): DecodeError | null {
    const csAt = frameEnd - 2 - this.base;
    const userFrom = pos + 6 - this.base;
    const expected = (this.sums[csAt]! - this.sums[userFrom]!) & 0xff;
    const found = this.buf[csAt]!;
    if (expected !== found) return decodeError('gw1376.checksum', `checksum mismatch: expected ${hexByte(expected)}, found ${hexByte(found)}`, this.base + csAt);
    if (this.buf[csAt + 1] !== END) return decodeError('gw1376.end', `expected end character 16H after CS, found ${hexByte(this.buf[csAt + 1]!)}`, this.base + csAt + 1);
    return null;
  }

  private nextStart(from: number): number {
    const i = this.buf.subarray(0, this.len).indexOf(START, Math.max(0, from - this.base));
    return i < 0 ? this.offset : this.base + i;
  }

  private process(final: boolean): Gw1376ScanEvent[] {
    const view = this.buf.subarray(0, this.len);
    const streamEnd = this.offset;
    const events: Gw1376ScanEvent[] = [];
    let open: { from: number; to: number; error: DecodeError } | null = null;
    const close = (): void => {
      if (open) events.push({ type: 'discarded', bytes: this.buf.slice(open.from - this.base, open.to - this.base), error: open.error });
      open = null;
    };
    const discard = (from: number, to: number, error: DecodeError): void => {
      if (open && open.to === from) open.to = to;
      else {
        close();
        open = { from, to, error };
      }
      this.start = to;
    };
    while (this.start < streamEnd) {
      const pos = this.start;
      const i = pos - this.base;
      if (view[i] !== START) {
        const s = this.nextStart(pos);
        discard(pos, s, decodeError('gw1376.start', `${s - pos} byte(s) before a start character 68H`, pos));
        continue;
      }
      const h = checkHeader(view, i, this.options);
      if (h !== null && typeof h === 'object') {
        discard(pos, this.nextStart(pos + 1), { ...h, offset: this.base + h.offset });
        continue;
      }
      const frameEnd = h === null ? -1 : pos + FRAME_OVERHEAD + h;
      if (h !== null && frameEnd <= streamEnd) {
        const quick = this.quickCheck(pos, frameEnd);
        const r = quick === null ? decodeFrame(view, i, this.options) : null;
        if (r?.ok) {
          close();
          events.push(this.frameEvent(r.value));
          this.start = frameEnd;
        } else {
          const error = quick ?? (r && !r.ok ? { ...r.error, offset: this.base + r.error.offset } : decodeError('gw1376.end', 'unreachable', pos));
          discard(pos, this.nextStart(pos + 1), error);
        }
        continue;
      }
      // Unfinished: its header or its body is still arriving.
      if (final) {
        discard(pos, this.nextStart(pos + 1), decodeError('gw1376.truncated', `input ended after ${streamEnd - pos} byte(s) of an unfinished frame`, streamEnd));
        continue;
      }
      this.valid = this.valid.filter((v) => v > pos);
      if (this.valid.length > 0) {
        const later = Math.min(...this.valid);
        discard(pos, later, decodeError('gw1376.truncated', `an unfinished frame candidate superseded by a complete frame at ${later}`, later));
        continue;
      }
      break; // wait for more bytes (pending < maxBufferLength: the candidate completes first)
    }
    close();
    if (final) this.valid = [];
    this.compact();
    return events;
  }

  /** Drops decided bytes from the front once they are at least half of the buffer (amortised O(1) per byte). */
  private compact(): void {
    const drop = this.start - this.base;
    if (drop === 0 || (drop < this.len && drop * 2 < this.len)) return;
    const keep = this.len - drop;
    this.buf.copyWithin(0, drop, this.len);
    // Running sums stay valid for differences after a shift (mod 256 throughout).
    this.sums.copyWithin(0, drop, this.len + 1);
    this.len = keep;
    this.base = this.start;
  }

  private heapPush(item: [number, number]): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p]![0] <= item[0]) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = item;
  }

  private heapPop(): [number, number] {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const c = l + 1 < h.length && h[l + 1]![0] < h[l]![0] ? l + 1 : l;
        if (h[c]![0] >= last[0]) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  private frameEvent(d: Gw1376DecodedFrame): Gw1376ScanEvent {
    const decoded: Gw1376DecodedFrame = { frame: d.frame, start: this.base + d.start, end: this.base + d.end, dataOffset: this.base + d.dataOffset, raw: d.raw };
    let message: Result<Gw1376Message, DecodeError> | undefined;
    return {
      type: 'frame',
      decoded,
      get message(): Result<Gw1376Message, DecodeError> {
        message ??= decodeMessage(decoded);
        return message;
      },
    };
  }
}
