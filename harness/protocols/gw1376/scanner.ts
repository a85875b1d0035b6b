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
 * decided by the time it is complete. A rescan happens only when the pushed
 * bytes can complete some candidate or its header; the look-ahead decodes only candidates that
 * the pushed bytes completed. Offsets are stream offsets (bytes since the scanner was created).
 * Pure: no I/O, no clock; never throws on bytes.
 */
import { decodeError, MeterLabError, type DecodeError } from '../../core/errors.ts';
import type { Result } from '../../core/result.ts';
import { FRAME_OVERHEAD, HEADER_LENGTH, START } from './constants.ts';
import { checkHeader, decodeFrame, resolveFrameOptions, type Gw1376FrameOptions, type ResolvedFrameOptions } from './frame.ts';
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

export const SCANNER_DISCARD_CODES = [
  'gw1376.start',
  'gw1376.protocol-id',
  'gw1376.length',
  'gw1376.length-mismatch',
  'gw1376.start2',
  'gw1376.truncated',
  'gw1376.checksum',
  'gw1376.end',
  'gw1376.aux',
  'gw1376.tp',
] as const;

export interface Gw1376FrameScannerOptions {
  /** Most bytes held while waiting for the rest of a frame. Default: 8 + maxUserDataLength. */
  readonly maxBufferLength?: number;
  /** Frame options (length limit, protocol ids, AUX rules). */
  readonly frame?: Gw1376FrameOptions;
}

const EMPTY = new Uint8Array(0);

export class Gw1376FrameScanner {
  private buffer: Uint8Array = EMPTY;
  private base = 0;
  private waitUntil = 0;
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  private checkedUpTo = 0;
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

  get offset(): number {
    return this.base + this.buffer.length + this.chunkBytes;
  }

  get pending(): number {
    return this.buffer.length + this.chunkBytes;
  }

  push(chunk: Uint8Array): Gw1376ScanEvent[] {
    if (chunk.length === 0) return [];
    const at = this.offset;
    if (this.waitUntil > at + chunk.length) {
      // A 68H in the chunk opens a candidate that may decide before the leading one: decide
      // again once its header is complete.
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] === START) this.waitUntil = Math.min(this.waitUntil, at + i + HEADER_LENGTH);
      }
    }
    this.chunks.push(chunk.slice());
    this.chunkBytes += chunk.length;
    if (this.offset < this.waitUntil) return [];
    return this.scan(false);
  }

  /** End of input (link closed, or silence): an unfinished candidate is reported and the bytes after its 68H rescanned. */
  flush(): Gw1376ScanEvent[] {
    return this.scan(true);
  }

  reset(): void {
    this.base += this.pending;
    this.buffer = EMPTY;
    this.chunks = [];
    this.chunkBytes = 0;
    this.waitUntil = 0;
    this.checkedUpTo = this.base;
  }

  private scan(final: boolean): Gw1376ScanEvent[] {
    const buf = this.join();
    const n = buf.length;
    const events: Gw1376ScanEvent[] = [];
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
    const rebase = (e: DecodeError): DecodeError => ({ ...e, offset: this.base + e.offset });
    let pos = 0;
    this.waitUntil = 0;
    while (pos < n) {
      const s = nextStart(buf, pos);
      if (s > pos) {
        discard(pos, s, decodeError('gw1376.start', `${s - pos} byte(s) before a start character 68H`, this.base + pos));
        pos = s;
        continue;
      }
      const h = checkHeader(buf, pos, this.options);
      if (h !== null && typeof h === 'object') {
        discard(pos, nextStart(buf, pos + 1), rebase(h));
        pos = nextStart(buf, pos + 1);
        continue;
      }
      const frameEnd = h === null ? -1 : pos + FRAME_OVERHEAD + h;
      if (h !== null && frameEnd <= n) {
        const r = decodeFrame(buf, pos, this.options);
        if (r.ok) {
          close();
          events.push(this.frameEvent(r.value));
          pos = r.value.end;
        } else {
          const to = nextStart(buf, pos + 1);
          discard(pos, to, rebase(r.error));
          pos = to;
        }
        continue;
      }
      // Unfinished: its header or its body is still arriving.
      const truncated = decodeError('gw1376.truncated', `input ended after ${n - pos} byte(s) of an unfinished frame`, this.base + n);
      if (final) {
        const to = nextStart(buf, pos + 1);
        discard(pos, to, truncated);
        pos = to;
        continue;
      }
      const later = this.completeFrameAfter(buf, pos + 1);
      if (later >= 0) {
        discard(pos, later, decodeError('gw1376.truncated', `an unfinished frame candidate superseded by a complete frame at ${this.base + later}`, this.base + later));
        pos = later;
        continue;
      }
      // No overflow case: the buffer holds the largest frame the header check lets through, so an
      // unfinished candidate is always shorter than the buffer.
      this.waitUntil = this.base + this.decisionPoint(buf, pos, frameEnd);
      break;
    }
    close();
    this.checkedUpTo = this.base + n;
    this.buffer = pos < n ? buf.slice(pos) : EMPTY;
    this.base += pos;
    return events;
  }

  /** Index of the first 68H at or after `from` that begins a complete valid frame completed since the last scan; -1 when none. */
  private completeFrameAfter(buf: Uint8Array, from: number): number {
    const n = buf.length;
    for (let i = from; i < n; i++) {
      if (buf[i] !== START) continue;
      const h = checkHeader(buf, i, this.options);
      if (typeof h !== 'number') continue;
      const end = i + FRAME_OVERHEAD + h;
      if (end > n || this.base + end <= this.checkedUpTo) continue;
      if (decodeFrame(buf, i, this.options).ok) return i;
    }
    return -1;
  }

  /** Buffer length at which a rescan can first decide something. */
  private decisionPoint(buf: Uint8Array, pos: number, leadingEnd: number): number {
    const n = buf.length;
    let soonest = pos + this.maxBufferLength + 1;
    if (leadingEnd < 0) return Math.min(soonest, n + 1); // header still arriving: decide byte by byte
    soonest = Math.min(soonest, leadingEnd);
    for (let i = pos + 1; i < n; i++) {
      if (buf[i] !== START) continue;
      const h = checkHeader(buf, i, this.options);
      if (h === null) soonest = Math.min(soonest, n + 1);
      else if (typeof h === 'number') {
        const end = i + FRAME_OVERHEAD + h;
        if (end > n) soonest = Math.min(soonest, end);
      }
    }
    return soonest;
  }

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

/** Index of the first 68H at or after `from`, or `buf.length`. */
function nextStart(buf: Uint8Array, from: number): number {
  const i = buf.indexOf(START, from);
  return i < 0 ? buf.length : i;
}
