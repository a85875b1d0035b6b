/**
 * Streaming MLGW framer: bytes arrive in chunks split anywhere; frames come out in order, everything
 * else as a `discarded` event with the reason. Pure: no I/O, no clock; never throws on bytes.
 *
 * The wake-up preamble of a sleeping meter is long (600 x 55H for a 2 s sniff period, spec 5), so
 * the scanner counts a run of 55H instead of holding it: the buffer holds at most one frame candidate
 * from its sync byte (69 bytes), whatever the preamble length, and each frame reports how many 55H
 * came right before its sync (the receiver's wake-up check). A candidate that fails a check is dropped
 * from its D3H only: the bytes after it are scanned again, so a frame inside a broken one is found.
 * Offsets are stream offsets (bytes since the scanner was created).
 */
import { decodeError, type DecodeError } from '../../core/errors.ts';
import type { Result } from '../../core/result.ts';
import { DATA_OFFSET, FRAME_OVERHEAD, LENGTH_OFFSET, MAX_LEN, MIN_LEN, PREAMBLE_BYTE, SYNC0, SYNC1 } from './constants.ts';
import { decodeFrame, hexByte } from './frame.ts';
import { decodeMessage } from './messages.ts';
import type { MlgwDecodedFrame, MlgwMessage } from './types.ts';

export type MlgwScanEvent =
  | {
      readonly type: 'frame';
      /** `start`/`end` are stream offsets; `raw` includes the 55H preamble. */
      readonly decoded: MlgwDecodedFrame;
      readonly message: Result<MlgwMessage, DecodeError>;
    }
  | {
      readonly type: 'discarded';
      readonly bytes: Uint8Array;
      /** `mlgw.sync` (bytes that start no frame), a frame check (`.length`, `.crc`, `.version`, `.id`), `mlgw.truncated` (left at flush). */
      readonly error: DecodeError;
    };

/** Largest candidate: sync 2 + LEN 1 + 64 + CRC 2 (spec 2). */
const MAX_CANDIDATE = FRAME_OVERHEAD + MAX_LEN;

export class MlgwFrameScanner {
  /** Stream offset of the next byte. */
  private at = 0;
  /** 55H run not (yet) followed by a sync byte: its length and where it began. */
  private run = 0;
  private runAt = 0;
  /** Candidate frame from its D3H, with the 55H run before it. */
  private cand: number[] = [];
  private candAt = 0;
  private candPre = 0;
  private events: MlgwScanEvent[] = [];

  get offset(): number {
    return this.at;
  }

  /** Bytes held back: a candidate, or a preamble whose frame has not come yet. */
  get pending(): number {
    return this.cand.length > 0 ? this.candPre + this.cand.length : this.run;
  }

  push(chunk: Uint8Array): MlgwScanEvent[] {
    for (let i = 0; i < chunk.length; i++) this.byte(chunk[i]!, this.at + i);
    this.at += chunk.length;
    return this.take();
  }

  /** End of input or silence: an unfinished candidate or a preamble without a frame is discarded. */
  flush(): MlgwScanEvent[] {
    if (this.cand.length > 0) {
      const bytes = this.candidateBytes();
      const at = this.candAt - this.candPre;
      const rest = this.cand.slice(1);
      const restAt = this.candAt + 1;
      this.cand = [];
      this.discard(bytes.subarray(0, this.candPre + 1), decodeError('mlgw.truncated', `a frame candidate of ${bytes.length} byte(s) ended unfinished`, at));
      // The bytes after the sync byte may hold the start of something else; they end here too.
      for (let i = 0; i < rest.length; i++) this.byte(rest[i]!, restAt + i);
      if (this.cand.length > 0) return [...this.take(), ...this.flush()];
    }
    if (this.run > 0) {
      this.discard(new Uint8Array(this.run).fill(PREAMBLE_BYTE), decodeError('mlgw.truncated', `${this.run} preamble byte(s) 55H and no frame`, this.runAt));
      this.run = 0;
    }
    return this.take();
  }

  reset(): void {
    this.cand = [];
    this.run = 0;
    this.events = [];
  }

  private take(): MlgwScanEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  private byte(b: number, at: number): void {
    if (this.cand.length === 0) {
      if (b === PREAMBLE_BYTE) {
        if (this.run === 0) this.runAt = at;
        this.run++;
      } else if (b === SYNC0) {
        this.cand = [b];
        this.candAt = at;
        this.candPre = this.run;
        this.run = 0;
      } else {
        const junk = new Uint8Array(this.run + 1).fill(PREAMBLE_BYTE);
        junk[this.run] = b;
        this.discard(junk, decodeError('mlgw.sync', `${hexByte(b)} where a preamble 55H or the sync byte D3H may be`, at));
        this.run = 0;
      }
      return;
    }
    this.cand.push(b);
    const n = this.cand.length;
    if (n === 2 && b !== SYNC1) return this.reject(decodeError('mlgw.sync', `expected sync byte 91H after D3H, found ${hexByte(b)}`, at));
    if (n === LENGTH_OFFSET + 1 && (b < MIN_LEN || b > MAX_LEN)) return this.reject(decodeError('mlgw.length', `LEN = ${b} is outside ${MIN_LEN}..${MAX_LEN}`, at));
    if (n > LENGTH_OFFSET && n === FRAME_OVERHEAD + this.cand[LENGTH_OFFSET]! && n <= MAX_CANDIDATE) this.complete();
  }

  private candidateBytes(): Uint8Array {
    const out = new Uint8Array(this.candPre + this.cand.length);
    out.fill(PREAMBLE_BYTE, 0, this.candPre);
    out.set(this.cand, this.candPre);
    return out;
  }

  private complete(): void {
    const raw = this.candidateBytes();
    const base = this.candAt - this.candPre;
    const r = decodeFrame(raw, 0);
    if (!r.ok) return this.reject({ ...r.error, offset: base + r.error.offset });
    this.cand = [];
    const decoded: MlgwDecodedFrame = { frame: r.value.frame, start: base, end: base + raw.length, raw };
    const message = decodeMessage(decoded.frame, this.candAt + DATA_OFFSET);
    this.events.push({ type: 'frame', decoded, message });
  }

  /** Drops the candidate's preamble and sync byte, and scans the bytes after the sync byte again. */
  private reject(error: DecodeError): void {
    const pre = this.candPre;
    const rest = this.cand.slice(1);
    const restAt = this.candAt + 1;
    const dropped = new Uint8Array(pre + 1).fill(PREAMBLE_BYTE);
    dropped[pre] = SYNC0;
    this.cand = [];
    this.discard(dropped, error);
    for (let i = 0; i < rest.length; i++) this.byte(rest[i]!, restAt + i);
  }

  /** Adds a discarded run; consecutive runs for the same reason are one event (the first offset). */
  private discard(bytes: Uint8Array, error: DecodeError): void {
    const last = this.events.at(-1);
    if (last && last.type === 'discarded' && last.error.code === error.code) {
      const joined = new Uint8Array(last.bytes.length + bytes.length);
      joined.set(last.bytes, 0);
      joined.set(bytes, last.bytes.length);
      this.events[this.events.length - 1] = { type: 'discarded', bytes: joined, error: last.error };
      return;
    }
    this.events.push({ type: 'discarded', bytes, error });
  }
}
