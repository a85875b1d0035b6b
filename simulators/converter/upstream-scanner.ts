/**
 * The converter's upstream receiver: one RS-485 line carries CJ/T 188 frames (`68 T A0..A6 C L ..
 * CS 16`) and DL/T 645 frames (`68 A0..A5 68 C L .. CS 16`) alike (MM-01, MM-04), both after an
 * optional FE preamble. At each possible start the DL/T 645 decoder is tried first (its second 68H
 * at offset 7 decides early), then CJ/T 188; a candidate either protocol may still complete is
 * waited for; one that neither can be is dropped up to the next possible start after its 68H.
 * Pure (both codecs are), never throws on bytes, bounded buffer. Also used on the converter's hops
 * in transparent mode, where a meter answers in the protocol it was asked in.
 */
import { decodeError, type DecodeError } from '../../harness/core/errors.ts';
import { nextFrameCandidate, startAfterPreamble } from '../../harness/core/framing.ts';
import { decodeFrame as decodeCjt188, type Cjt188DecodedFrame } from '../../harness/protocols/cjt188/index.ts';
import { decodeFrame as decodeDlt645 } from '../../harness/protocols/dlt645/frame.ts';
import type { Dlt645DecodedFrame } from '../../harness/protocols/dlt645/types.ts';

/** FE and 68H are the same in both protocols (PROTOCOLS.md 1.2, 2.1). */
const PREAMBLE = 0xfe;
const START = 0x68;
/** Bytes held waiting for a frame (a 2.5 s wake-up at 2400 bit/s is 546 FE, PROTOCOLS.md 2.1 / MM-06). */
export const UPSTREAM_BUFFER_LENGTH = 1024;

export type UpstreamFrame =
  | { readonly protocol: 'cjt188'; readonly decoded: Cjt188DecodedFrame }
  | { readonly protocol: 'dlt645'; readonly decoded: Dlt645DecodedFrame };

export type UpstreamScanEvent =
  | {
      readonly type: 'frame';
      readonly frame: UpstreamFrame;
      /** The whole frame as received, FE preamble included. */
      readonly raw: Uint8Array;
      /** The frame from its 68H to its 16H: what a transparent converter forwards byte for byte. */
      readonly body: Uint8Array;
      /** Stream offsets. */
      readonly start: number;
      readonly end: number;
    }
  | { readonly type: 'discarded'; readonly bytes: Uint8Array; readonly error: DecodeError };

export class UpstreamFrameScanner {
  private buffer = new Uint8Array(0);
  private base = 0;

  get pending(): number {
    return this.buffer.length;
  }

  push(chunk: Uint8Array): UpstreamScanEvent[] {
    const next = new Uint8Array(this.buffer.length + chunk.length);
    next.set(this.buffer, 0);
    next.set(chunk, this.buffer.length);
    this.buffer = next;
    return this.scan(false);
  }

  flush(): UpstreamScanEvent[] {
    return this.scan(true);
  }

  reset(): void {
    this.base += this.buffer.length;
    this.buffer = new Uint8Array(0);
  }

  private scan(final: boolean): UpstreamScanEvent[] {
    const buf = this.buffer;
    const n = buf.length;
    const events: UpstreamScanEvent[] = [];
    const discard = (from: number, to: number, error: DecodeError): void => {
      const last = events.at(-1);
      if (last?.type === 'discarded' && last.error.code === error.code) {
        const joined = new Uint8Array(last.bytes.length + to - from);
        joined.set(last.bytes, 0);
        joined.set(buf.subarray(from, to), last.bytes.length);
        events[events.length - 1] = { ...last, bytes: joined };
      } else events.push({ type: 'discarded', bytes: buf.slice(from, to), error });
    };
    let pos = 0;
    while (pos < n) {
      const candidate = nextFrameCandidate(buf, pos, START, PREAMBLE);
      if (candidate > pos) {
        discard(pos, candidate, decodeError('converter.start', `${candidate - pos} byte(s) before a start character 68H`, this.base + pos));
        pos = candidate;
        continue;
      }
      const d = decodeDlt645(buf, pos);
      if (d.ok) {
        events.push(this.frameEvent({ protocol: 'dlt645', decoded: d.value }, d.value.start, d.value.end, d.value.frame.preamble));
        pos = d.value.end;
        continue;
      }
      const c = decodeCjt188(buf, pos);
      if (c.ok) {
        events.push(this.frameEvent({ protocol: 'cjt188', decoded: c.value }, c.value.start, c.value.end, c.value.frame.preamble));
        pos = c.value.end;
        continue;
      }
      const waiting = d.error.code === 'dlt645.truncated' || c.error.code === 'cjt188.truncated';
      if (waiting && !final && n - pos <= UPSTREAM_BUFFER_LENGTH) break;
      const head = startAfterPreamble(buf, pos, START, PREAMBLE);
      const error = waiting ? decodeError('converter.truncated', `an unfinished frame of ${n - pos} byte(s)`, this.base + pos) : { ...c.error, offset: this.base + c.error.offset };
      const to = head < 0 ? n : nextFrameCandidate(buf, head + 1, START, PREAMBLE);
      discard(pos, to, error);
      pos = to;
    }
    this.buffer = buf.slice(pos);
    this.base += pos;
    return events;
  }

  private frameEvent(frame: UpstreamFrame, start: number, end: number, preamble: number): UpstreamScanEvent {
    const raw = this.buffer.slice(start, end);
    return { type: 'frame', frame, raw, body: raw.slice(preamble), start: this.base + start, end: this.base + end };
  }
}
