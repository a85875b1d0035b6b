/**
 * Streaming M-Bus framer for links: bytes arrive in chunks split anywhere; frames (E5, short,
 * control, long) come out in order, and everything that is not a frame comes out as a
 * `discarded` event with the reason.
 *
 * Resynchronisation: a candidate (E5, 10H or 68H) that fails a check is dropped ONE byte at a
 * time and its bytes are rescanned, so a valid frame that begins inside a broken one (its 68H
 * lost, its checksum wrong, its L corrupted) is still found. Inside the span a broken candidate
 * claimed, an E5 is not taken for an acknowledgement (it is far more likely a data byte of the
 * broken frame; short and long frames there are still found, their checksum vouches for them).
 * Checks run in wire order as bytes arrive (L1 = L2, second 68H, C field), so a broken candidate
 * whose start byte is a checksum 68H or 10H is rejected at once and never holds back the next
 * frame (scanner.test.ts). One broken candidate is reported once, with its first reason.
 *
 * Offsets are stream offsets: bytes since the scanner was created. Pure: no I/O, no clock; it
 * never throws on bytes. At most one frame (261 bytes) is held.
 */
import { concatBytes } from '../../core/bytes.ts';
import { decodeError, type DecodeError } from '../../core/errors.ts';
import { LONG_FRAME_OVERHEAD, LONG_START, SHORT_FRAME_LENGTH, SHORT_START, SINGLE_CHARACTER } from './constants.ts';
import { decodeFrame, type MbusDecodedFrame } from './frame.ts';

export type MbusScanEvent =
  | { readonly type: 'frame'; readonly decoded: MbusDecodedFrame }
  | {
      readonly type: 'discarded';
      readonly bytes: Uint8Array;
      /**
       * `mbus.start` (junk before a start character), a frame check that failed (`mbus.length`,
       * `.length-mismatch`, `.second-start`, `.control`, `.checksum`, `.stop`), or
       * `mbus.truncated` (left over at `flush()`).
       */
      readonly error: DecodeError;
    };

const EMPTY = new Uint8Array(0);

function isStart(b: number): boolean {
  return b === LONG_START || b === SHORT_START || b === SINGLE_CHARACTER;
}

interface Run {
  readonly events: MbusScanEvent[];
  readonly buf: Uint8Array;
  pos: number;
  /** End of the bytes the last broken candidate claimed; discards inside it join its event. */
  brokenUntil: number;
  /** The discarded event being built: its bytes so far and where it ends (index into buf). */
  open: OpenDiscard | null;
}

interface OpenDiscard {
  readonly parts: Uint8Array[];
  to: number;
  readonly error: DecodeError;
}

export class MbusFrameScanner {
  private buffer: Uint8Array = EMPTY;
  /** Stream offset of buffer[0]. */
  private base = 0;
  /** Stream offset up to which the last broken candidate claimed bytes (E5 there is not an ACK). */
  private brokenUntil = 0;
  /**
   * A broken candidate's discarded event still open at the end of the last scan (its claimed span
   * goes on), carried so that one broken frame is reported once however its bytes arrive. Its
   * bytes are copies; it ends at the current `base`.
   */
  private carried: { parts: Uint8Array[]; error: DecodeError } | null = null;

  /** Stream offset of the next byte to be pushed. */
  get offset(): number {
    return this.base + this.buffer.length;
  }

  /** Bytes held back waiting for the rest of a frame. */
  get pending(): number {
    return this.buffer.length;
  }

  /** Feeds received bytes; returns the frames completed and the bytes discarded, in stream order. */
  push(chunk: Uint8Array): MbusScanEvent[] {
    if (chunk.length === 0) return [];
    const next = new Uint8Array(this.buffer.length + chunk.length);
    next.set(this.buffer, 0);
    next.set(chunk, this.buffer.length);
    this.buffer = next;
    return this.scan(false);
  }

  /** End of input (link closed, or the inter-frame silence elapsed): an unfinished candidate is reported and its bytes rescanned. */
  flush(): MbusScanEvent[] {
    return this.scan(true);
  }

  /** Forgets buffered bytes without reporting them; stream offsets keep counting. */
  reset(): void {
    this.base += this.buffer.length;
    this.buffer = EMPTY;
    this.carried = null;
  }

  private scan(final: boolean): MbusScanEvent[] {
    const buf = this.buffer;
    const n = buf.length;
    const run: Run = { events: [], buf, pos: 0, brokenUntil: this.brokenUntil - this.base, open: this.carried ? { ...this.carried, to: 0 } : null };
    this.carried = null;
    while (run.pos < n) {
      const b = buf[run.pos]!;
      const inBroken = run.pos < run.brokenUntil;
      if (!isStart(b) || (b === SINGLE_CHARACTER && inBroken)) {
        let to = run.pos + 1;
        while (to < n && !(isStart(buf[to]!) && !(buf[to] === SINGLE_CHARACTER && to < run.brokenUntil))) to++;
        discard(run, to, decodeError('mbus.start', `${to - run.pos} byte(s) before a start character (E5, 10H, 68H)`, this.base + run.pos), inBroken);
        continue;
      }
      const r = decodeFrame(buf, run.pos);
      if (r.ok) {
        closeDiscard(run);
        const { frame, start, end, raw } = r.value;
        run.events.push({ type: 'frame', decoded: { frame, start: this.base + start, end: this.base + end, raw } });
        run.pos = end;
        continue;
      }
      if (r.error.code === 'mbus.truncated' && !final) break; // wait for more bytes
      const error = { ...r.error, offset: this.base + r.error.offset };
      const inside = run.pos < run.brokenUntil;
      run.brokenUntil = Math.max(run.brokenUntil, claimedEnd(buf, run.pos, r.error));
      // Drop the candidate's start byte only: its other bytes are rescanned.
      discard(run, run.pos + 1, error, inside);
    }
    if (!final && run.open !== null && run.open.to === run.pos && run.pos < run.brokenUntil) {
      // The broken candidate's span goes on past what has arrived: keep its event open.
      this.carried = { parts: run.open.parts.map((p) => p.slice()), error: run.open.error };
    } else {
      closeDiscard(run);
    }
    this.buffer = run.pos < n ? buf.slice(run.pos) : EMPTY;
    this.base += run.pos;
    this.brokenUntil = this.base + Math.max(0, run.brokenUntil - run.pos);
    return run.events;
  }
}

function closeDiscard(run: Run): void {
  if (run.open === null) return;
  const parts = run.open.parts;
  run.events.push({ type: 'discarded', bytes: parts.length === 1 ? parts[0]!.slice() : concatBytes(...parts), error: run.open.error });
  run.open = null;
}

/** Discards run.pos .. to; `inside` a broken candidate's span, the discard joins that candidate's event. */
function discard(run: Run, to: number, error: DecodeError, inside: boolean): void {
  if (inside && run.open !== null && run.open.to === run.pos) {
    run.open.parts.push(run.buf.subarray(run.pos, to));
    run.open.to = to;
  } else {
    closeDiscard(run);
    run.open = { parts: [run.buf.subarray(run.pos, to)], to, error };
  }
  run.pos = to;
}

/** Where a broken candidate that begins at `head` claimed to end, as far as known. */
function claimedEnd(buf: Uint8Array, head: number, error: DecodeError): number {
  switch (error.code) {
    case 'mbus.checksum':
    case 'mbus.stop':
      return buf[head] === SHORT_START ? head + SHORT_FRAME_LENGTH : Math.min(buf.length, head + LONG_FRAME_OVERHEAD - 3 + buf[head + 1]!);
    case 'mbus.truncated':
      return buf.length;
    default: // length, length-mismatch, second-start, control: known bad up to the offending byte
      return error.offset + 1;
  }
}
