import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, hex, toHex } from '../../core/bytes.ts';
import { MeterLabError } from '../../core/errors.ts';
import { decodeFrame, encodeFrame, parseControl } from './frame.ts';
import { decodeMessage, encodeMessage } from './messages.ts';
import { Dlt645FrameScanner, type Dlt645ScanEvent } from './scanner.ts';
import type { Dlt645Frame } from './types.ts';

/** Fixed seed: property runs are reproducible (STYLE.md: tests are deterministic). */
const SEED = 20260101;
const RUNS = 300;

// Vector 6: 91 reply, DI 00010000 = 1234.56 kWh (20 bytes).
const READ_REPLY = '68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 54 16';
// Vector 0: 4 FE + 13 read address to AA..AA (16 bytes).
const READ_ADDRESS = 'FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16';
// Vector 8: D1 abnormal reply, ERR 02 (13 bytes).
const ERROR_REPLY = '68 12 90 78 56 34 12 68 D1 01 35 8D 16';

function feed(scanner: Dlt645FrameScanner, chunks: readonly Uint8Array[], flush = true): Dlt645ScanEvent[] {
  const events = chunks.flatMap((c) => scanner.push(c));
  return flush ? [...events, ...scanner.flush()] : events;
}

const frames = (events: readonly Dlt645ScanEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'frame' ? [toHex(e.decoded.raw)] : []));
const discards = (events: readonly Dlt645ScanEvent[]): { bytes: string; code: string; offset: number }[] =>
  events.flatMap((e) => (e.type === 'discarded' ? [{ bytes: toHex(e.bytes), code: e.error.code, offset: e.error.offset }] : []));

describe('Dlt645FrameScanner', () => {
  it('emits a frame and its message from one chunk', () => {
    const events = new Dlt645FrameScanner().push(hex(READ_REPLY));
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e.type).toBe('frame');
    if (e.type !== 'frame') return;
    expect(e.decoded).toMatchObject({ start: 0, end: 20, frame: { address: '123456789012' } });
    expect(e.message).toMatchObject({ ok: true, value: { kind: 'readDataResponse', di: '00010000' } });
  });

  it('keeps a partial frame across chunks, down to one byte per chunk', () => {
    const scanner = new Dlt645FrameScanner();
    const bytes = hex(READ_ADDRESS + ' ' + READ_REPLY);
    const events: Dlt645ScanEvent[] = [];
    for (const b of bytes) {
      events.push(...scanner.push(Uint8Array.of(b)));
      if (events.length === 0) expect(scanner.pending).toBeGreaterThan(0);
    }
    expect(frames(events)).toEqual([READ_ADDRESS, READ_REPLY]);
    expect(discards(events)).toEqual([]);
    expect(scanner.pending).toBe(0);
    expect(scanner.offset).toBe(36);
  });

  it('discards junk up to the next 68H, keeps FE preamble bytes with the frame that follows', () => {
    // junk 00 11 FE 22 (an FE not followed by 68 is junk), then FE FE FE FE 68 ...
    const events = feed(new Dlt645FrameScanner(), [hex('00 11 FE 22 ' + READ_ADDRESS)]);
    expect(discards(events)).toEqual([{ bytes: '00 11 FE 22', code: 'dlt645.start', offset: 0 }]);
    expect(events[1]).toMatchObject({ type: 'frame', decoded: { start: 4, end: 20, frame: { preamble: 4 } } });
  });

  it('holds trailing FE bytes until it knows whether a 68H follows', () => {
    const scanner = new Dlt645FrameScanner();
    expect(scanner.push(hex('FE FE'))).toEqual([]);
    expect(scanner.pending).toBe(2);
    const events = scanner.push(hex('FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16'));
    expect(frames(events)).toEqual([READ_ADDRESS]);
  });

  it('reports a frame with a bad checksum and still finds the next good frame', () => {
    // CS of the first frame changed 54 -> 55 (stream offset 18)
    const broken = READ_REPLY.replace(/54 16$/, '55 16');
    const events = feed(new Dlt645FrameScanner(), [hex(broken + ' ' + ERROR_REPLY)]);
    expect(discards(events)).toEqual([{ bytes: broken, code: 'dlt645.checksum', offset: 18 }]);
    expect(frames(events)).toEqual([ERROR_REPLY]);
    expect(events[1]).toMatchObject({ type: 'frame', decoded: { start: 20, end: 33 } });
  });

  it('finds a valid frame hidden inside a broken one', () => {
    // A broken header announcing L = 20H swallows the real frame that follows; once the 32 data
    // bytes and CS/16 have arrived the candidate fails, and the rescan from its second byte finds it.
    const header = '68 12 90 78 56 34 12 68 91 20';
    const scanner = new Dlt645FrameScanner();
    const first = scanner.push(hex(header + ' ' + READ_REPLY));
    expect(first).toEqual([]); // still a plausible candidate
    const events = [...first, ...scanner.push(hex('00 00 00 00 00 00 00 00 00 00 00 00 00 00')), ...scanner.flush()];
    expect(frames(events)).toEqual([READ_REPLY]);
    const found = events.find((e) => e.type === 'frame');
    expect(found).toMatchObject({ decoded: { start: 10, end: 30 } });
    expect(discards(events)[0]).toMatchObject({ code: 'dlt645.checksum', offset: 42 });
    // every byte before the hidden frame was reported as discarded, before the frame
    const before = events.slice(0, events.indexOf(found!));
    expect(before.reduce((n, e) => n + (e.type === 'discarded' ? e.bytes.length : 0), 0)).toBe(10);
  });

  it('finds a frame hidden inside a truncated candidate at flush', () => {
    const scanner = new Dlt645FrameScanner();
    expect(scanner.push(hex('68 12 90 78 56 34 12 68 91 40 ' + ERROR_REPLY))).toEqual([]);
    const events = scanner.flush();
    expect(frames(events)).toEqual([ERROR_REPLY]);
    expect(discards(events)[0]).toMatchObject({ code: 'dlt645.truncated', offset: 23 });
    expect(scanner.pending).toBe(0);
  });

  it('reports frame errors at stream offsets: second start, length, end, address', () => {
    // Each broken frame follows 3 junk bytes; the first frame error is reported at 3 + its offset.
    // (The rest of a broken frame is rescanned from its second byte: its own second 68H is a
    // possible start and yields further discarded events.)
    const cases: readonly [string, string, number][] = [
      ['68 12 90 78 56 34 12 00', 'dlt645.second-start', 7],
      ['68 12 90 78 56 34 12 68 91 C9', 'dlt645.length', 9],
      ['68 12 90 78 56 34 12 68 94 00 1A 17', 'dlt645.end', 11],
      ['68 1A 90 78 56 34 12 68 11 04 33 33 34 33 70 16', 'dlt645.address', 1],
    ];
    for (const [bytes, code, offset] of cases) {
      const events = feed(new Dlt645FrameScanner(), [hex('00 00 00'), hex(bytes)]);
      const d = discards(events);
      expect(d[0]).toEqual({ bytes: '00 00 00', code: 'dlt645.start', offset: 0 });
      expect(d[1], bytes).toMatchObject({ code, offset: 3 + offset });
      expect(frames(events)).toEqual([]);
    }
  });

  it('reports a frame whose data field is wrong as a frame with a message error (vector 45)', () => {
    const events = feed(new Dlt645FrameScanner(), [hex('00 00 00'), hex('68 01 00 12 01 19 20 68 17 01 08 3D 16')]);
    expect(events[1]).toMatchObject({
      type: 'frame',
      decoded: { start: 3 },
      message: { ok: false, error: { code: 'dlt645.baud-feature-word', offset: 13 } },
    });
  });

  it('flush reports a partial frame as truncated; reset forgets it; stream offsets keep counting', () => {
    const scanner = new Dlt645FrameScanner();
    expect(scanner.push(hex('FE FE 68 12 90'))).toEqual([]);
    expect(discards(scanner.flush())).toEqual([{ bytes: 'FE FE 68 12 90', code: 'dlt645.truncated', offset: 5 }]);
    expect(scanner.push(hex('68 12 90'))).toEqual([]);
    scanner.reset();
    expect(scanner.pending).toBe(0);
    expect(scanner.offset).toBe(8);
    expect(scanner.push(hex(ERROR_REPLY))).toMatchObject([{ type: 'frame', decoded: { start: 8, end: 21 } }]);
    expect(scanner.flush()).toEqual([]);
  });

  it('never holds more than the buffer bound', () => {
    const scanner = new Dlt645FrameScanner({ maxBufferLength: 256 });
    expect(scanner.push(new Uint8Array(10_000).fill(0x00))).toHaveLength(1); // junk goes at once
    expect(scanner.pending).toBe(0);
    const fe = scanner.push(new Uint8Array(5_000).fill(0xfe)); // an endless "preamble"
    expect(discards(fe)).toMatchObject([{ code: 'dlt645.overflow', offset: 10_000 }]);
    expect(scanner.pending).toBeLessThanOrEqual(256);
    // the kept FE bytes still serve as the preamble of the frame that finally comes
    expect(scanner.push(hex(READ_REPLY))).toMatchObject([{ type: 'frame', decoded: { frame: { preamble: 4 } } }]);
  });

  it('trims an overlong preamble but keeps the frame behind it', () => {
    const scanner = new Dlt645FrameScanner({ maxBufferLength: 256 });
    // 1000 FE, then the first 10 bytes of a frame in the same chunk
    const events = scanner.push(concatBytes(new Uint8Array(1000).fill(0xfe), hex(READ_REPLY).subarray(0, 10)));
    expect(discards(events)).toMatchObject([{ code: 'dlt645.overflow', offset: 0 }]);
    expect(events[0]!.type === 'discarded' && events[0]!.bytes.length).toBe(996);
    expect(scanner.push(hex(READ_REPLY).subarray(10))).toMatchObject([{ type: 'frame', decoded: { start: 996, frame: { preamble: 4 } } }]);
  });

  it('a flood of 68H costs bounded memory, accounts for every byte, and the frame after the silence is found (issue 5, item 4)', () => {
    // 68H is a start character AND a BCD address byte: a flood is a string of overlapping frame
    // candidates, each decided only after its claimed 116 bytes (L = 68H). Quadratic before.
    const flood = new Uint8Array(64 * 1024).fill(0x68);
    for (const chunks of [[flood], chunked(flood, Array.from({ length: flood.length }, (_, i) => i))]) {
      const scanner = new Dlt645FrameScanner();
      let maxPending = 0;
      const events: Dlt645ScanEvent[] = [];
      for (const c of chunks) {
        events.push(...scanner.push(c));
        maxPending = Math.max(maxPending, scanner.pending);
      }
      events.push(...scanner.flush()); // the line falls silent
      expect(maxPending).toBeLessThanOrEqual(1024);
      expect(events.every((e) => e.type === 'discarded')).toBe(true);
      expect(events.reduce((n, e) => n + (e.type === 'discarded' ? e.bytes.length : 0), 0)).toBe(flood.length);
      expect(scanner.push(hex(READ_REPLY))).toMatchObject([{ type: 'frame', decoded: { start: flood.length } }]);
    }
  });

  it('a stalled partial frame holds the valid frame behind it only until flush (the silence), then both are reported', () => {
    const scanner = new Dlt645FrameScanner();
    // 68 A0..A5 68 91 C8: a header claiming L = 200; a complete valid frame follows without a gap.
    expect(scanner.push(hex('68 12 90 78 56 34 12 68 91 C8'))).toEqual([]);
    expect(scanner.push(hex(READ_REPLY))).toEqual([]); // still inside the claimed 212 bytes
    const events = scanner.flush();
    expect(discards(events)).toEqual([{ bytes: '68 12 90 78 56 34 12 68 91 C8', code: 'dlt645.truncated', offset: 30 }]);
    expect(events.filter((e) => e.type === 'frame')).toMatchObject([{ decoded: { start: 10, end: 30 } }]);
  });

  it('validates its options', () => {
    expect(() => new Dlt645FrameScanner({ maxBufferLength: 100 })).toThrow(MeterLabError);
    expect(() => new Dlt645FrameScanner({ maxDataLength: 300 })).toThrow(MeterLabError);
    expect(() => new Dlt645FrameScanner({ maxBufferLength: 64, maxDataLength: 40 })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const addressArb = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 6, maxLength: 6 }).map((ds) => ds.map((d) => String(d).padStart(2, '0')).join('')),
  fc.constantFrom('AAAAAAAAAAAA', '999999999999', 'AAAAAA123456'),
);

interface FrameSpec {
  readonly address: string;
  readonly control: number;
  readonly data: Uint8Array;
  readonly preamble: number;
}

const frameArb: fc.Arbitrary<FrameSpec> = fc.record({
  address: addressArb,
  control: fc.integer({ min: 0, max: 255 }),
  data: fc.uint8Array({ maxLength: 48 }),
  preamble: fc.integer({ min: 0, max: 4 }),
});

const encode = (f: FrameSpec): Uint8Array => encodeFrame(f);

/** Garbage without FE (it would lengthen the next frame's preamble) but with plenty of 68H. */
const garbageArb = fc.array(fc.oneof(fc.constant(0x68), fc.integer({ min: 0, max: 0xfd })), { maxLength: 40 }).map((a) => Uint8Array.from(a));

/** Splits bytes at random cut points. */
function chunked(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('properties (fast-check, fixed seed)', () => {
  it('decodeFrame and decodeMessage never throw on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(320), (bytes, offset) => {
        const r = decodeFrame(bytes, offset);
        if (r.ok) {
          decodeMessage(r.value.frame);
        } else {
          expect(r.error.code).toMatch(/^dlt645\./);
          expect(r.error.offset).toBeGreaterThanOrEqual(0);
          expect(r.error.offset).toBeLessThanOrEqual(Math.max(bytes.length, offset));
        }
      }),
      { seed: SEED, numRuns: RUNS * 3 },
    );
  });

  it('decodeFrame never throws on framed random data with a valid checksum', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const r = decodeFrame(encode(f));
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.frame).toMatchObject({ address: f.address, control: parseControl(f.control), preamble: f.preamble });
        expect(toHex(r.value.frame.data)).toBe(toHex(f.data));
        decodeMessage(r.value.frame);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('every message that decodes encodes back to the same bytes', () => {
    // Biased towards known control codes and their usual data lengths so that most frames decode.
    const controls = [0x08, 0x11, 0x91, 0xb1, 0x12, 0x92, 0xb2, 0x13, 0x93, 0x14, 0x94, 0x15, 0x95, 0x16, 0x96, 0x17, 0x97, 0x18, 0x98, 0x19, 0x99, 0x1a, 0x9a, 0x1b, 0x9b, 0x1c, 0x9c, 0x1d, 0x9d, 0xd1, 0xdc, 0x01, 0x81, 0xa1, 0xc1, 0x04, 0x84, 0x88, 0x1e];
    const dataArb = fc.oneof(
      fc.uint8Array({ maxLength: 20 }),
      fc.constantFrom(0, 1, 2, 4, 5, 6, 8, 12, 16).chain((n) =>
        fc.array(fc.oneof(fc.integer({ min: 0, max: 0x29 }), fc.constant(0x99), fc.integer({ min: 0, max: 255 })), { minLength: n, maxLength: n }),
      ).map((a) => Uint8Array.from(a)),
    );
    let decoded = 0;
    fc.assert(
      fc.property(addressArb, fc.constantFrom(...controls), dataArb, fc.integer({ min: 0, max: 4 }), (address, control, data, preamble) => {
        const bytes = encodeFrame({ address, control, data, preamble });
        const f = decodeFrame(bytes);
        if (!f.ok) throw new Error(f.error.message);
        const m = decodeMessage(f.value.frame);
        if (!m.ok) return;
        decoded++;
        expect(toHex(encodeMessage(address, m.value, { preamble }))).toBe(toHex(bytes));
      }),
      { seed: SEED, numRuns: RUNS * 3 },
    );
    expect(decoded).toBeGreaterThan(RUNS / 2); // the generator really exercises the message layer
  });

  it('the scanner never throws and accounts for every byte exactly once, in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 60 }), frameArb.map(encode)), { maxLength: 8 }),
        fc.array(fc.nat(2000), { maxLength: 12 }),
        fc.constantFrom(256, 1024),
        (parts, cuts, maxBufferLength) => {
          const stream = concatBytes(...parts);
          const scanner = new Dlt645FrameScanner({ maxBufferLength });
          const events: Dlt645ScanEvent[] = [];
          for (const c of chunked(stream, cuts)) {
            events.push(...scanner.push(c));
            expect(scanner.pending).toBeLessThanOrEqual(maxBufferLength);
          }
          events.push(...scanner.flush());
          expect(scanner.pending).toBe(0);
          const out = concatBytes(...events.map((e) => (e.type === 'frame' ? e.decoded.raw : e.bytes)));
          expect(toHex(out)).toBe(toHex(stream));
          let at = 0;
          for (const e of events) {
            if (e.type === 'frame') {
              expect(e.decoded.start).toBe(at);
              at = e.decoded.end;
            } else {
              expect(e.error.offset).toBeGreaterThanOrEqual(at);
              at += e.bytes.length;
            }
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('recovers every frame embedded in garbage, in order, whatever the chunk boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(garbageArb, frameArb), { minLength: 1, maxLength: 6 }),
        garbageArb,
        fc.array(fc.nat(2000), { maxLength: 16 }),
        (pieces, tail, cuts) => {
          const stream = concatBytes(...pieces.flatMap(([g, f]) => [g, encode(f)]), tail);
          const events = feed(new Dlt645FrameScanner(), chunked(stream, cuts));
          const got = events.flatMap((e) => (e.type === 'frame' ? [e.decoded.frame] : []));
          const want = pieces.map(([, f]) => f);
          expect(got.map(summary)).toEqual(want.map((f) => summary({ ...f, control: parseControl(f.control) })));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('finds the same frames whether bytes come one at a time or all at once (rescans are skipped only when they cannot decide)', () => {
    const adversarial = fc
      .array(fc.oneof(fc.constantFrom(0x68, 0xfe, 0x16, 0x68), fc.integer({ min: 0, max: 0xff })), { maxLength: 300 })
      .map((a) => Uint8Array.from(a));
    fc.assert(
      fc.property(fc.array(fc.tuple(adversarial, frameArb), { minLength: 1, maxLength: 4 }), adversarial, (pieces, tail) => {
        const stream = concatBytes(...pieces.flatMap(([g, f]) => [g, encode(f)]), tail);
        const framesOf = (events: readonly Dlt645ScanEvent[]) =>
          events.flatMap((e) => (e.type === 'frame' ? [`${e.decoded.start}:${toHex(e.decoded.raw)}`] : []));
        const whole = feed(new Dlt645FrameScanner({ maxBufferLength: 256 }), [stream]);
        const bytewise = feed(new Dlt645FrameScanner({ maxBufferLength: 256 }), chunked(stream, Array.from({ length: stream.length }, (_, i) => i)));
        expect(framesOf(bytewise)).toEqual(framesOf(whole));
        const count = (events: readonly Dlt645ScanEvent[]) =>
          events.reduce((n, e) => n + (e.type === 'frame' ? e.decoded.raw.length : e.bytes.length), 0);
        expect(count(bytewise)).toBe(stream.length);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('reports a frame with a corrupted checksum as discarded and still finds the following frame', () => {
    fc.assert(
      fc.property(frameArb, frameArb, fc.integer({ min: 1, max: 255 }), fc.array(fc.nat(200), { maxLength: 6 }), (a, b, delta, cuts) => {
        const broken = encode(a).slice();
        const csAt = broken.length - 2;
        broken[csAt] = (broken[csAt]! + delta) & 0xff;
        const good = encode(b);
        const events = feed(new Dlt645FrameScanner(), chunked(concatBytes(broken, good), cuts));
        expect(events[0]).toMatchObject({ type: 'discarded', error: { code: 'dlt645.checksum', offset: csAt } });
        const found = events.filter((e) => e.type === 'frame');
        expect(found).toHaveLength(1);
        expect(found[0]).toMatchObject({ decoded: { start: broken.length, end: broken.length + good.length } });
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

function summary(f: Pick<Dlt645Frame, 'address' | 'control' | 'data' | 'preamble'>): string {
  return `${f.address} ${toHex(Uint8Array.of(f.control.raw))} [${toHex(f.data)}] fe=${f.preamble}`;
}
