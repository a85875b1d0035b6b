/**
 * Properties of the MLGW codec and scanner, seeded and bounded (fast-check): every message encodes
 * and decodes back to itself; the scanner finds the same frames whatever the chunking and whatever
 * junk sits between them; arbitrary bytes never make the decoder or the scanner throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes } from '../../core/bytes.ts';
import { decode, encodeMessage, MlgwFrameScanner, secondsToTime, type MlgwMessage, type MlgwScanEvent } from './index.ts';

const SEED = 20261130;
const status = fc.record({ valve: fc.constantFrom('open', 'closed', 'abnormal'), batteryLow: fc.boolean(), valveMoving: fc.boolean() }).map((s) => ({
  ...s,
  raw: (s.valve === 'open' ? 0 : s.valve === 'closed' ? 1 : 3) | (s.batteryLow ? 4 : 0) | (s.valveMoving ? 8 : 0),
}));
const head = fc.record({ meterId: fc.integer({ min: 0, max: 99_999_999 }).map((n) => String(n).padStart(8, '0')), seq: fc.integer({ min: 0, max: 255 }) });
const message: fc.Arbitrary<MlgwMessage> = fc.oneof(
  head.map((h) => ({ ...h, kind: 'readCurrent' as const })),
  head.map((h) => ({ ...h, kind: 'readBattery' as const })),
  fc.tuple(head, fc.constantFrom('open' as const, 'close' as const)).map(([h, action]) => ({ ...h, kind: 'valve' as const, action })),
  fc.tuple(head, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), status).map(([h, v, s, seconds, st]) => ({
    ...h,
    kind: 'readCurrentReply' as const,
    volumeLitres: v,
    settledLitres: s,
    seconds,
    time: secondsToTime(seconds),
    status: st,
  })),
  fc.tuple(head, status).map(([h, st]) => ({ ...h, kind: 'valveReply' as const, status: st })),
  fc.tuple(head, fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 100 }), status).map(([h, mv, pct, st]) => ({ ...h, kind: 'readBatteryReply' as const, millivolts: mv, levelPercent: pct, status: st })),
);

const frames = (events: MlgwScanEvent[]) => events.filter((e) => e.type === 'frame').map((e) => (e.type === 'frame' ? `${e.decoded.start}:${e.decoded.frame.seq}:${e.decoded.frame.preamble}` : ''));

describe('MLGW properties', () => {
  it('encodes and decodes every message back to itself', () => {
    fc.assert(
      fc.property(message, fc.integer({ min: 4, max: 700 }), (m, preamble) => {
        const r = decode(encodeMessage(m, { preamble }));
        expect(r.ok && r.value.message).toEqual(m);
        expect(r.ok && r.value.decoded.frame.preamble).toBe(preamble);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('finds the same frames whatever the chunking and the junk between them', () => {
    const junk = fc.uint8Array({ maxLength: 6 }).map((b) => b.map((x) => (x === 0x55 || x === 0xd3 ? 0 : x)));
    fc.assert(
      fc.property(fc.array(fc.tuple(junk, message), { minLength: 1, maxLength: 5 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), (parts, cuts) => {
        const stream = concatBytes(...parts.flatMap(([j, m]) => [j, encodeMessage(m)]));
        const whole = new MlgwFrameScanner();
        const once = frames([...whole.push(stream), ...whole.flush()]);
        expect(once).toHaveLength(parts.length);
        const split = new MlgwFrameScanner();
        const events: MlgwScanEvent[] = [];
        let at = 0;
        for (let i = 0; at < stream.length; i++) {
          const n = cuts[i % cuts.length]!;
          events.push(...split.push(stream.subarray(at, at + n)));
          at += n;
        }
        events.push(...split.flush());
        expect(frames(events)).toEqual(once);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        decode(bytes);
        const s = new MlgwFrameScanner();
        s.push(bytes);
        s.flush();
      }),
      { seed: SEED, numRuns: 500 },
    );
  });
});
