/** The stream scanner: chunking, junk, resync after a bad frame, and a bad frame that must not hide the next one. */
import { describe, expect, it } from 'vitest';
import { concatBytes, hex, toHex } from '../../core/bytes.ts';
import { MeterLabError } from '../../core/errors.ts';
import { Gw1376FrameScanner, type Gw1376ScanEvent } from './scanner.ts';

/** Vector 0 (login) and vector 1 (the master's confirm). */
const LOGIN = hex('68 32 00 32 00 68 C9 00 02 34 12 00 02 71 00 00 01 00 85 16');
const CONFIRM = hex('68 32 00 32 00 68 0B 00 02 34 12 00 00 61 00 00 01 00 B5 16');

function summary(events: Gw1376ScanEvent[]): string[] {
  return events.map((e) => (e.type === 'frame' ? `frame@${e.decoded.start}-${e.decoded.end}` : `discard ${e.error.code}@${e.error.offset} [${toHex(e.bytes)}]`));
}

function pushAll(s: Gw1376FrameScanner, bytes: Uint8Array, chunk: number): Gw1376ScanEvent[] {
  const out: Gw1376ScanEvent[] = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...s.push(bytes.subarray(i, i + chunk)));
  return out;
}

describe('Gw1376FrameScanner', () => {
  it('finds frames in any chunking, with stream offsets and messages', () => {
    const stream = concatBytes(LOGIN, CONFIRM);
    for (const chunk of [1, 3, 7, 40]) {
      const s = new Gw1376FrameScanner();
      const events = [...pushAll(s, stream, chunk), ...s.flush()];
      expect(summary(events)).toEqual(['frame@0-20', 'frame@20-40']);
      const m = events[1]!.type === 'frame' ? events[1]!.message : null;
      expect(m?.ok && m.value.frame.afn).toBe(0);
    }
  });

  it('discards junk before a frame and reports why', () => {
    const s = new Gw1376FrameScanner();
    const events = [...s.push(concatBytes(hex('00 11 22'), LOGIN)), ...s.flush()];
    expect(summary(events)).toEqual(['discard gw1376.start@0 [00 11 22]', 'frame@3-23']);
  });

  it('a checksum byte equal to 68H does not swallow the following frame', () => {
    const bad = LOGIN.slice();
    bad[18] = 0x68; // CS 85H -> 68H
    for (const chunk of [1, 2, 5, 40]) {
      const s = new Gw1376FrameScanner();
      const events = [...pushAll(s, concatBytes(bad, CONFIRM), chunk), ...s.flush()];
      const frames = summary(events).filter((e) => e.startsWith('frame'));
      expect(frames, `chunk ${chunk}`).toEqual(['frame@20-40']);
      expect(events[0]).toMatchObject({ type: 'discarded', error: { code: 'gw1376.checksum', offset: 18 } });
      // Every byte is accounted for once.
      const total = events.reduce((n, e) => n + (e.type === 'frame' ? e.decoded.raw.length : e.bytes.length), 0);
      expect(total).toBe(40);
    }
  });

  it('an unfinished spurious header claiming 16383 bytes is superseded by the complete frame after it, without waiting for silence', () => {
    const spurious = hex('68 FE FF FE FF 68 00 00'); // a valid header announcing 16383 bytes of user data
    for (const chunk of [1, 4, 28]) {
      const s = new Gw1376FrameScanner();
      const events = pushAll(s, concatBytes(spurious, CONFIRM), chunk);
      expect(summary(events)).toEqual([`discard gw1376.truncated@8 [${toHex(spurious)}]`, 'frame@8-28']);
      expect(s.pending).toBe(0);
    }
  });

  it('a cut frame followed by the next one: the cut candidate completes with the next bytes, fails its checksum, and the next frame is found', () => {
    const s = new Gw1376FrameScanner();
    const events = pushAll(s, concatBytes(LOGIN.subarray(0, 12), CONFIRM), 1);
    expect(summary(events)).toEqual(['discard gw1376.checksum@18 [68 32 00 32 00 68 C9 00 02 34 12 00]', 'frame@12-32']);
  });

  it('a frame cut short is reported as truncated at flush, and the bytes after its 68H are rescanned', () => {
    const s = new Gw1376FrameScanner();
    expect(s.push(LOGIN.subarray(0, 15))).toEqual([]);
    expect(summary(s.flush())).toEqual(['discard gw1376.truncated@15 [68 32 00 32 00 68 C9 00 02 34 12 00 02 71 00]']);
  });

  it('a 68H flood is refused header by header and the buffer stays bounded', () => {
    const s = new Gw1376FrameScanner({ frame: { maxUserDataLength: 255 } });
    const flood = new Uint8Array(5000).fill(0x68);
    const events = [...pushAll(s, concatBytes(flood, LOGIN), 64), ...s.flush()];
    expect(s.pending).toBe(0);
    expect(summary(events).at(-1)).toBe('frame@5000-5020');
    expect(events.filter((e) => e.type === 'frame')).toHaveLength(1);
  });

  it('a candidate whose announced length runs over other bytes is refused once complete, and scanning goes on', () => {
    const s = new Gw1376FrameScanner({ frame: { maxUserDataLength: 255 } });
    const header = hex('68 FE 03 FE 03 68'); // 255 bytes of user data announced
    const filler = new Uint8Array(400).fill(0x00);
    const events = [...s.push(concatBytes(header, filler)), ...s.push(LOGIN), ...s.flush()];
    expect(events[0]).toMatchObject({ type: 'discarded', error: { code: 'gw1376.end', offset: 262 } });
    expect(summary(events).filter((e) => e.startsWith('frame'))).toEqual(['frame@406-426']);
  });

  it('a flood of valid headers each announcing 16383 bytes, pushed byte by byte: the frame after it comes out at once, every byte accounted for', () => {
    const unit = hex('68 FE FF FE FF 68');
    const flood = new Uint8Array(12 * 1024);
    for (let i = 0; i < flood.length; i++) flood[i] = unit[i % 6]!;
    const s = new Gw1376FrameScanner();
    const events = pushAll(s, concatBytes(flood, LOGIN), 1);
    expect(summary(events)).toEqual([`discard gw1376.truncated@${flood.length} [${toHex(flood)}]`, `frame@${flood.length}-${flood.length + 20}`]);
    expect(s.pending).toBe(0);
    expect(s.flush()).toEqual([]);
  });

  it('refuses a buffer that cannot hold a whole frame', () => {
    expect(() => new Gw1376FrameScanner({ maxBufferLength: 100 })).toThrow(MeterLabError);
  });
});
