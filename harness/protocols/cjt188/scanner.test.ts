/** The CJ/T 188 streaming scanner: noise, preambles, chunking, resync, the 68H-checksum hostage, bounds. */
import { describe, expect, it } from 'vitest';
import { concatBytes, hex, toHex } from '../../core/bytes.ts';
import { Cjt188FrameScanner, type Cjt188ScanEvent } from './scanner.ts';

/** Vector 0: read-data reply 901F, 556677.00 m³, CS 13H. */
const REPLY = '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 13 16';
/** Vector 1 without its preamble: read 901F, CS 80H. */
const REQUEST = '68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16';
/** Vector 13: FE FE FE, Fox-Edge valve reply AAH. */
const VALVE_REPLY = 'FE FE FE 68 10 01 00 00 05 08 00 00 AA 05 A0 17 00 01 FF EC 16';

type Summary = { frames: string[]; discarded: { hex: string; code: string; offset: number }[] };

function summarise(events: readonly Cjt188ScanEvent[], into: Summary = { frames: [], discarded: [] }): Summary {
  for (const e of events) {
    if (e.type === 'frame') into.frames.push(toHex(e.decoded.raw));
    else into.discarded.push({ hex: toHex(e.bytes), code: e.error.code, offset: e.error.offset });
  }
  return into;
}

/** Pushes `bytes` in chunks of `size` (0 = one push), then flushes. */
function scanAll(bytes: Uint8Array, size = 0): Summary {
  const s = new Cjt188FrameScanner();
  const out: Summary = { frames: [], discarded: [] };
  const step = size === 0 ? bytes.length : size;
  for (let i = 0; i < bytes.length; i += step) summarise(s.push(bytes.subarray(i, i + step)), out);
  summarise(s.flush(), out);
  return out;
}

describe('Cjt188FrameScanner', () => {
  it('finds frames between noise and keeps their FE preamble, whatever the chunking', () => {
    const stream = hex(`00 11 16 ${REPLY} 55 AA 00 ${VALVE_REPLY} 16 16 FE FE FE FE ${REQUEST} 99`);
    const expected = [REPLY, VALVE_REPLY, `FE FE FE FE ${REQUEST}`];
    for (const size of [0, 1, 2, 3, 7, 16, 64]) {
      const r = scanAll(stream, size);
      expect(r.frames, `chunks of ${size}`).toEqual(expected);
      // Every byte accounted for, once, in order.
      const total = r.frames.reduce((n, f) => n + hex(f).length, 0) + r.discarded.reduce((n, d) => n + hex(d.hex).length, 0);
      expect(total, `chunks of ${size}`).toBe(stream.length);
    }
  });

  it('resyncs after a frame with a bad checksum and reports it with the offset of CS', () => {
    const bad = hex(REPLY);
    bad[bad.length - 2] = 0x14;
    const r = scanAll(concatBytes(bad, hex(REQUEST)));
    expect(r.frames).toEqual([REQUEST]);
    expect(r.discarded).toEqual([{ hex: toHex(bad), code: 'cjt188.checksum', offset: bad.length - 2 }]);
  });

  it('a wrong checksum byte equal to 68H does not swallow the following valid frame (delivered at once, no flush needed)', () => {
    // The broken reply ends "... 21 84 68 16": its CS is 68H. From that 68H on, the bytes read as
    // 68 T=16 A=68 10 44 33 22 11 00 C=33 L=78H: a candidate claiming 120 data bytes, with the
    // valid request inside. Found in another implementation: the request was lost until silence.
    const bad = hex(REPLY);
    bad[bad.length - 2] = 0x68;
    const stream = concatBytes(bad, hex(REQUEST));
    for (const size of [0, 1, 5]) {
      const s = new Cjt188FrameScanner();
      const out: Summary = { frames: [], discarded: [] };
      for (let i = 0; i < stream.length; i += size || stream.length) summarise(s.push(stream.subarray(i, i + (size || stream.length))), out);
      expect(out.frames, `chunks of ${size}, before flush`).toEqual([REQUEST]);
      expect(s.pending, `chunks of ${size}`).toBe(0);
      // The broken reply is discarded whole (in one push: one event, its first reason; byte by
      // byte the 68H 16H tail is decided later, as a superseded candidate).
      expect(out.discarded.map((d) => d.hex).join(' '), `chunks of ${size}`).toBe(toHex(bad));
      expect(out.discarded[0], `chunks of ${size}`).toMatchObject({ code: 'cjt188.checksum', offset: bad.length - 2 });
    }
  });

  it('the same with a preamble before the next frame, and with a 68H data byte in a broken frame', () => {
    const bad = hex(REPLY);
    bad[bad.length - 2] = 0x68;
    expect(scanAll(concatBytes(bad, hex(`FE FE ${REQUEST}`)), 1).frames).toEqual([`FE FE ${REQUEST}`]);
    const broken = hex(REPLY);
    broken[16] = 0x68; // a flow byte: CS no longer matches, and a 68H sits inside
    const s = new Cjt188FrameScanner();
    const out = summarise(s.push(concatBytes(broken, hex(REQUEST))));
    expect(out.frames).toEqual([REQUEST]);
  });

  it('delivers a frame completed byte by byte on the push of its 16H, not earlier', () => {
    const s = new Cjt188FrameScanner();
    const bytes = hex(REQUEST);
    for (let i = 0; i < bytes.length - 1; i++) expect(s.push(bytes.subarray(i, i + 1))).toEqual([]);
    const last = s.push(bytes.subarray(bytes.length - 1));
    expect(last).toHaveLength(1);
    expect(last[0]!.type === 'frame' && last[0]!.decoded.start).toBe(0);
  });

  it('flush reports an unfinished candidate and rescans the bytes after its 68H', () => {
    const s = new Cjt188FrameScanner();
    // An unfinished header (L = 30H) then a whole request: the request sits inside the claimed data.
    expect(summarise(s.push(hex('68 10 44 33 22 11 00 33 78 01 30')))).toEqual({ frames: [], discarded: [] });
    expect(s.pending).toBe(11);
    const later = summarise(s.push(hex(REQUEST)));
    expect(later.frames).toEqual([REQUEST]); // superseded at once
    expect(later.discarded).toEqual([{ hex: '68 10 44 33 22 11 00 33 78 01 30', code: 'cjt188.truncated', offset: 11 }]);
    const s2 = new Cjt188FrameScanner();
    expect(summarise(s2.push(hex('00 68 10 44 33')))).toEqual({ frames: [], discarded: [{ hex: '00', code: 'cjt188.start', offset: 0 }] });
    expect(summarise(s2.flush())).toEqual({ frames: [], discarded: [{ hex: '68 10 44 33', code: 'cjt188.truncated', offset: 5 }] });
    expect(s2.pending).toBe(0);
  });

  it('stays bounded on an endless FE run and still finds the frame behind it', () => {
    const s = new Cjt188FrameScanner({ maxBufferLength: 300 });
    const out: Summary = { frames: [], discarded: [] };
    for (let i = 0; i < 10; i++) {
      summarise(s.push(new Uint8Array(200).fill(0xfe)), out);
      expect(s.pending).toBeLessThanOrEqual(300);
    }
    summarise(s.push(hex(REQUEST)), out);
    expect(out.frames).toEqual([`FE FE FE FE FE ${REQUEST}`]);
    expect(out.discarded.every((d) => d.code === 'cjt188.overflow')).toBe(true);
    expect(s.offset).toBe(2000 + 16);
  });

  it('keeps stream offsets across reset and refuses a buffer smaller than a frame', () => {
    const s = new Cjt188FrameScanner();
    s.push(hex('68 10 44'));
    s.reset();
    const e = s.push(hex(REQUEST));
    expect(e[0]!.type === 'frame' && e[0]!.decoded.start).toBe(3);
    expect(e[0]!.type === 'frame' && e[0]!.message.ok).toBe(true);
    expect(() => new Cjt188FrameScanner({ maxBufferLength: 100 })).toThrow(/whole frame/);
  });
});
