/**
 * Streaming DL/T 645 framer for links: bytes arrive in chunks split anywhere; frames come out in
 * order, and everything that is not a frame comes out as a `discarded` event with the reason.
 *
 * Modelled on zwave-js SerialAPIParser: a receive buffer keeps a partial frame across chunks,
 * junk is skipped up to the next possible start (`FE* 68`, PROTOCOLS.md 1.1/1.2; FE wake-up bytes
 * stay attached to the frame that follows), and a candidate that fails its checks (second 68,
 * L, CS, 16, address) is dropped only up to the next possible start after its own 68, so a
 * valid frame hidden inside a broken one is still found (PROTOCOLS.md 1.2: "parsers must resync
 * after noise/corrupt frames and keep partial candidates"). A broken frame is reported as one
 * `discarded` event with its first reason, including what the rescan of its bytes dropped. The
 * buffer is bounded, so garbage never grows memory.
 *
 * Offsets (in errors, and `start`/`end` of decoded frames) are stream offsets: bytes since the
 * scanner was created. Pure: no I/O, no clock; it never throws on bytes.
 */
import { decodeError, MeterLabError, type DecodeError } from '../../core/errors.ts';
import { nextFrameCandidate, startAfterPreamble } from '../../core/framing.ts';
import type { Result } from '../../core/result.ts';
import { FRAME_OVERHEAD, HEADER_LENGTH, MAX_DATA_LENGTH_2007, PREAMBLE_BYTE, START } from './constants.ts';
import { decodeFrame } from './frame.ts';
import { decodeMessage } from './messages.ts';
import type { Dlt645DecodedFrame, Dlt645Message } from './types.ts';

export type Dlt645ScanEvent =
  | {
      readonly type: 'frame';
      /** `start`/`end` are stream offsets; `raw` includes the FE preamble. */
      readonly decoded: Dlt645DecodedFrame;
      /**
       * The application message, or why the data field does not fit its control code. Decoded
       * on first read: a receiver that finds the frame is for another address never pays for it.
       */
      readonly message: Result<Dlt645Message, DecodeError>;
    }
  | {
      readonly type: 'discarded';
      readonly bytes: Uint8Array;
      /**
       * Why: `dlt645.start` (junk before a start character), a frame check that failed
       * (`dlt645.second-start`, `.length`, `.checksum`, `.end`, `.address`), `dlt645.truncated`
       * (left over at `flush()`), or `dlt645.overflow` (a candidate longer than the buffer bound).
       */
      readonly error: DecodeError;
    };

export interface Dlt645FrameScannerOptions {
  /** Most bytes held while waiting for the rest of a frame. Default 1024. */
  readonly maxBufferLength?: number;
  /** Largest L accepted (default 200, [BK]: PROTOCOLS.md 1.2). */
  readonly maxDataLength?: number;
}

/** Default receive-buffer bound: several maximum-length frames. */
export const DEFAULT_SCANNER_BUFFER_LENGTH = 1024;
/** FE bytes kept when an endless FE run overflows the buffer: the 4 a master sends (PROTOCOLS.md 1.1). */
const KEPT_PREAMBLE_ON_OVERFLOW = 4;
/**
 * The buffer when nothing is held: one shared empty array (never written: every scan makes a new
 * buffer), so an idle scanner holds no buffer of its own (a fleet has one per simulated meter).
 */
const EMPTY = new Uint8Array(0);

export class Dlt645FrameScanner {
  private buffer: Uint8Array = EMPTY;
  /** Stream offset of buffer[0]. */
  private base = 0;
  /** Chunks pushed since the last scan, not yet joined to `buffer`. */
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /**
   * When the buffer ends in an unfinished candidate: the stream offset before which rescanning
   * cannot change anything (the candidate's next check needs that byte), and whether a byte
   * other than FEH may decide sooner (a run of FE waiting for its 68H). Rescanning only then
   * keeps the cost per byte constant; rescanning the whole buffer on every byte made a stream
   * of FE or 68H cost up to a buffer length per byte.
   */
  private wait: { readonly until: number; readonly onNonPreamble: boolean } | null = null;
  private readonly maxBufferLength: number;
  private readonly maxDataLength: number;

  constructor(options: Dlt645FrameScannerOptions = {}) {
    this.maxDataLength = options.maxDataLength ?? MAX_DATA_LENGTH_2007;
    this.maxBufferLength = options.maxBufferLength ?? DEFAULT_SCANNER_BUFFER_LENGTH;
    if (!Number.isInteger(this.maxDataLength) || this.maxDataLength < 0 || this.maxDataLength > 0xff) {
      throw new MeterLabError('dlt645.scanner-options', `maxDataLength must be 0..255, got ${String(options.maxDataLength)}`);
    }
    const smallest = KEPT_PREAMBLE_ON_OVERFLOW + FRAME_OVERHEAD + this.maxDataLength;
    if (!Number.isInteger(this.maxBufferLength) || this.maxBufferLength < smallest) {
      throw new MeterLabError(
        'dlt645.scanner-options',
        `maxBufferLength must hold a whole frame (at least ${smallest} bytes), got ${String(options.maxBufferLength)}`,
      );
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
  push(chunk: Uint8Array): Dlt645ScanEvent[] {
    if (chunk.length === 0) return [];
    this.chunks.push(chunk.slice());
    this.chunkBytes += chunk.length;
    const wait = this.wait;
    if (wait !== null && this.offset < wait.until && !(wait.onNonPreamble && hasNonPreamble(chunk))) return [];
    return this.scan(false);
  }

  /**
   * End of input (link closed, or the inter-frame silence elapsed): what remains is decided now.
   * An unfinished candidate is reported as `dlt645.truncated`, and the bytes after its 68H are
   * rescanned, so a valid frame queued behind a stalled partial one is still delivered.
   */
  flush(): Dlt645ScanEvent[] {
    return this.scan(true);
  }

  /**
   * Counts `n` bytes its owner consumed without scanning them (a whole frame it recognised as
   * not for it, see the meter server): stream offsets move on as if they had been pushed and
   * reported. Only while nothing is pending, where such bytes cannot join a partial frame.
   */
  skip(n: number): void {
    if (this.pending !== 0) throw new MeterLabError('dlt645.scanner-skip', `skip() while ${this.pending} byte(s) are pending`);
    this.base += n;
  }

  /** Forgets buffered bytes without reporting them; stream offsets keep counting. */
  reset(): void {
    this.base += this.pending;
    this.buffer = EMPTY;
    this.chunks = [];
    this.chunkBytes = 0;
    this.wait = null;
  }

  /** Joins the pushed chunks to the buffer. */
  private join(): Uint8Array {
    if (this.chunkBytes === 0) return this.buffer;
    if (this.buffer.length === 0 && this.chunks.length === 1) {
      // The usual case (a whole frame in one chunk): the pushed copy is the buffer.
      const only = this.chunks[0]!;
      this.chunks = [];
      this.chunkBytes = 0;
      this.buffer = only;
      return only;
    }
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

  private scan(final: boolean): Dlt645ScanEvent[] {
    const buf = this.join();
    const n = buf.length;
    this.wait = null;
    // The scan's state in one object, and discard/closeDiscard module functions over it: no
    // closures per scan (each also wrapped by tsx's keepNames), which runs for every frame.
    const run: ScanRun = { events: [], buf, pos: 0, brokenUntil: -1, open: null };
    while (run.pos < n) {
      const candidate = nextFrameCandidate(buf, run.pos, START, PREAMBLE_BYTE);
      if (candidate > run.pos) {
        discard(run, candidate, decodeError('dlt645.start', `${candidate - run.pos} byte(s) before a start character 68H`, this.base + run.pos));
        continue;
      }
      const r = decodeFrame(buf, run.pos, { maxDataLength: this.maxDataLength });
      if (r.ok) {
        const { frame, start, end, raw } = r.value;
        const decoded: Dlt645DecodedFrame = { frame, start: this.base + start, end: this.base + end, raw };
        closeDiscard(run);
        run.events.push(frameEvent(decoded, this.base + start + frame.preamble + HEADER_LENGTH));
        run.pos = end;
        continue;
      }
      let error: DecodeError = { ...r.error, offset: this.base + r.error.offset };
      if (r.error.code === 'dlt645.truncated' && !final) {
        if (n - run.pos <= this.maxBufferLength) break; // wait for more bytes
        error = decodeError(
          'dlt645.overflow',
          `an unfinished frame candidate of ${n - run.pos} bytes exceeds the ${this.maxBufferLength}-byte receive buffer`,
          this.base + run.pos,
        );
      }
      const head = startAfterPreamble(buf, run.pos, START, PREAMBLE_BYTE);
      if (head < 0) {
        // Only FE bytes up to the end: a preamble whose frame never came (flush) or an endless run.
        discard(run, final ? n : n - KEPT_PREAMBLE_ON_OVERFLOW, error);
        if (!final) break;
        continue;
      }
      if (error.code === 'dlt645.overflow' && head - run.pos > KEPT_PREAMBLE_ON_OVERFLOW) {
        // An overlong preamble before a real 68H: drop the surplus FE bytes, keep the frame.
        discard(run, head - KEPT_PREAMBLE_ON_OVERFLOW, error);
        continue;
      }
      // Drop the broken candidate only up to the next possible start after its own 68H.
      discard(run, nextFrameCandidate(buf, head + 1, START, PREAMBLE_BYTE), error, claimedEnd(buf, head, r.error));
    }
    closeDiscard(run);
    // Only an unfinished candidate stops the loop before the end of a non-final scan.
    if (run.pos < n) this.wait = this.waitFor(buf, run.pos);
    this.buffer = run.pos < n ? buf.slice(run.pos) : EMPTY;
    this.base += run.pos;
    return run.events;
  }

  /** What the unfinished candidate at `pos` needs before a rescan can decide anything (see `wait`). */
  private waitFor(buf: Uint8Array, pos: number): { until: number; onNonPreamble: boolean } {
    // Past this the candidate overflows the buffer bound and is decided anyway.
    const overflowAt = pos + this.maxBufferLength + 1;
    const head = startAfterPreamble(buf, pos, START, PREAMBLE_BYTE);
    let needed: number;
    let onNonPreamble = false;
    if (head < 0) {
      needed = overflowAt; // FE up to the end: the next non-FE byte decides
      onNonPreamble = true;
    } else if (buf.length <= head + 7) {
      needed = head + 8; // up to the second 68H
    } else if (buf.length <= head + 9) {
      needed = head + 10; // up to L
    } else {
      needed = head + FRAME_OVERHEAD + buf[head + 9]!; // the whole frame, up to 16H
    }
    return { until: this.base + Math.min(needed, overflowAt), onNonPreamble };
  }
}

interface ScanRun {
  readonly events: Dlt645ScanEvent[];
  readonly buf: Uint8Array;
  pos: number;
  /**
   * End of the bytes the last broken candidate claimed (its 68H .. its 16H, as far as known).
   * Discards inside it (junk, or the candidates found by rescanning it) join that candidate's
   * discarded event, so one broken frame is reported once, with its first reason.
   */
  brokenUntil: number;
  /**
   * The discarded event being built: consecutive discards inside one broken candidate are
   * contiguous, so the event is kept as a span and its bytes are copied once, when it closes.
   * (Copying the growing event at every merge made a flood of 68H cost O(n²).)
   */
  open: { from: number; to: number; error: DecodeError } | null;
}

function closeDiscard(run: ScanRun): void {
  if (run.open === null) return;
  run.events.push({ type: 'discarded', bytes: run.buf.slice(run.open.from, run.open.to), error: run.open.error });
  run.open = null;
}

/** Discards run.pos .. to (joining the open event inside a broken candidate) and moves on to `to`. */
function discard(run: ScanRun, to: number, error: DecodeError, claimedEnd?: number): void {
  if (run.open !== null && run.pos < run.brokenUntil) {
    run.open.to = to;
  } else {
    closeDiscard(run);
    run.open = { from: run.pos, to, error };
  }
  if (claimedEnd !== undefined) run.brokenUntil = Math.max(run.brokenUntil, claimedEnd);
  run.pos = to;
}

/** A frame event whose message is decoded on first read, once. */
function frameEvent(decoded: Dlt645DecodedFrame, dataOffset: number): Dlt645ScanEvent {
  let message: Result<Dlt645Message, DecodeError> | undefined;
  return {
    type: 'frame',
    decoded,
    get message(): Result<Dlt645Message, DecodeError> {
      message ??= decodeMessage(decoded.frame, dataOffset);
      return message;
    },
  };
}

function hasNonPreamble(chunk: Uint8Array): boolean {
  for (const b of chunk) if (b !== PREAMBLE_BYTE) return true;
  return false;
}

/** Where a broken candidate that begins at `head` (its 68H) claimed to end, as far as known. */
function claimedEnd(buf: Uint8Array, head: number, error: DecodeError): number {
  switch (error.code) {
    case 'dlt645.checksum':
    case 'dlt645.end':
    case 'dlt645.address':
      return Math.min(buf.length, head + FRAME_OVERHEAD + buf[head + 9]!);
    case 'dlt645.truncated':
      return buf.length;
    default: // second-start, length: the frame is known bad up to the offending byte
      return error.offset + 1;
  }
}
