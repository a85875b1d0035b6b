import { describe, expect, it } from 'vitest';
import { concatBytes, hex, toHex } from '../../core/bytes.ts';
import { SeededRandom } from '../../core/random.ts';
import { encodeReqUd2, encodeSndNke } from './frame.ts';
import { MbusFrameScanner, type MbusScanEvent } from './scanner.ts';

/** RSP_UD from 1, CI 70, code 08 (corpus application_busy.hex). */
const BUSY = hex('68 04 04 68 08 01 70 08 81 16');
/** REQ_UD2 to 1: 10 5B 01 5C 16. */
const REQ = encodeReqUd2(1);

function summary(events: readonly MbusScanEvent[]): string[] {
  return events.map((e) => (e.type === 'frame' ? `frame ${toHex(e.decoded.raw)} @${e.decoded.start}` : `discarded ${e.error.code} ${toHex(e.bytes)} @${e.error.offset}`));
}

function scanAll(bytes: Uint8Array, chunk = bytes.length): MbusScanEvent[] {
  const s = new MbusFrameScanner();
  const out: MbusScanEvent[] = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...s.push(bytes.subarray(i, i + chunk)));
  out.push(...s.flush());
  return out;
}

describe('MbusFrameScanner', () => {
  it('finds frames between noise, with stream offsets', () => {
    expect(summary(scanAll(concatBytes(hex('00 FF'), REQ, hex('E5'), hex('33'), BUSY)))).toEqual([
      'discarded mbus.start 00 FF @0',
      'frame 10 5B 01 5C 16 @2',
      'frame E5 @7',
      'discarded mbus.start 33 @8',
      `frame ${toHex(BUSY)} @9`,
    ]);
  });

  it('the same frames whatever the chunking', () => {
    const stream = concatBytes(hex('01 02'), BUSY, REQ, hex('E5'), encodeSndNke(7), hex('68 16'), BUSY);
    const whole = summary(scanAll(stream));
    const random = new SeededRandom(13757);
    for (let i = 0; i < 20; i++) {
      const s = new MbusFrameScanner();
      const out: MbusScanEvent[] = [];
      let o = 0;
      while (o < stream.length) {
        const n = random.int(1, 7);
        out.push(...s.push(stream.subarray(o, o + n)));
        o += n;
      }
      out.push(...s.flush());
      expect(summary(out).filter((l) => l.startsWith('frame'))).toEqual(whole.filter((l) => l.startsWith('frame')));
    }
  });

  it('a bad checksum byte equal to 68H does not swallow the following frame, pushed byte by byte', () => {
    // A short frame whose CS was corrupted to 68H, then a valid long frame.
    const broken = hex('10 5B 01 68 16');
    const s = new MbusFrameScanner();
    const events: MbusScanEvent[] = [];
    for (const b of concatBytes(broken, BUSY)) events.push(...s.push(Uint8Array.of(b)));
    // Delivered at once, without waiting for flush(): the candidate at the 68H (L = 16H) is
    // rejected as soon as its second L (68H) differs, not after the 28 bytes its L claims.
    expect(summary(events)).toEqual([`discarded mbus.checksum 10 5B 01 68 16 @3`, `frame ${toHex(BUSY)} @5`]);
    expect(s.pending).toBe(0);
  });

  it('a bad checksum byte equal to 10H does not swallow the following frame (nor hold it back)', () => {
    const broken = hex('68 04 04 68 08 01 70 08 10 16'); // CS should be 81
    const s = new MbusFrameScanner();
    const events: MbusScanEvent[] = [];
    for (const b of concatBytes(broken, REQ)) events.push(...s.push(Uint8Array.of(b)));
    // Delivered at once, without waiting for flush(): the candidate at the 10H is rejected at its C field (16H).
    expect(summary(events)).toEqual([`discarded mbus.checksum ${toHex(broken)} @8`, `frame ${toHex(REQ)} @10`]);
    expect(s.pending).toBe(0);
  });

  it('a valid frame that starts inside a broken one is found (the broken 68H lost its L)', () => {
    const events = scanAll(concatBytes(hex('68 05'), BUSY));
    expect(summary(events).filter((l) => l.startsWith('frame'))).toEqual([`frame ${toHex(BUSY)} @2`]);
  });

  it('an E5 inside a broken frame is not taken for an acknowledgement; one after it is', () => {
    const broken = hex('68 04 04 68 08 01 70 E5 00 16'); // CS wrong, a data byte E5
    const events = scanAll(concatBytes(broken, hex('E5')));
    expect(summary(events)).toEqual([`discarded mbus.checksum ${toHex(broken)} @8`, 'frame E5 @10']);
  });

  it('an unfinished frame waits for its bytes, and flush() reports it and rescans what followed its start', () => {
    const s = new MbusFrameScanner();
    expect(s.push(hex('68 04 04 68 08'))).toEqual([]);
    expect(s.pending).toBe(5);
    expect(summary(s.flush())).toEqual(['discarded mbus.truncated 68 04 04 68 08 @5']);
    expect(s.pending).toBe(0);
    expect(s.offset).toBe(5);
  });

  it('never holds more than one frame and conserves every byte', () => {
    const random = new SeededRandom(2400);
    const noise = Uint8Array.from({ length: 5000 }, () => [0x68, 0x10, 0xe5, 0x16, random.int(0, 255)][random.int(0, 4)]!);
    const s = new MbusFrameScanner();
    let bytes = 0;
    for (let o = 0; o < noise.length; o += 3) {
      for (const e of s.push(noise.subarray(o, o + 3))) bytes += e.type === 'frame' ? e.decoded.raw.length : e.bytes.length;
      expect(s.pending).toBeLessThanOrEqual(261);
    }
    for (const e of s.flush()) bytes += e.type === 'frame' ? e.decoded.raw.length : e.bytes.length;
    expect(bytes).toBe(noise.length);
  });
});
