/**
 * AFN 0D curves (COL-12): F81 total active power (A.9), F89 phase A voltage (A.7), F101 forward
 * active total energy reading (A.11), requested with Td_c (start A.15, density m, point count n)
 * and answered with Td_c + n points, EEH for a point with no data. Golden frames with their bytes
 * commented; round trips through the dictionary; bad lengths give typed errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import { ok } from '../../core/result.ts';
import { CurveFn, curveDensityMinutes, curveDensityOf } from './constants.ts';
import { decodeLayout, encodeLayout, layoutFor, type UnitValue } from './dictionary.ts';
import { A9, eeFilled, A7 } from './formats.ts';
import { describeFrame, frameToJson } from './json.ts';
import { buildFrame, decode, encodeMessage, items, type UnitSpec } from './messages.ts';
import type { Address } from './types.ts';

const TERMINAL: Address = { areaCode: '0200', terminal: 0x1234, msa: 1, group: false };
const UP = { dir: true, prm: false, functionCode: 8 } as const;
const DOWN = { dir: false, prm: true, functionCode: 11 } as const;

function decoded(bytes: Uint8Array): ReturnType<typeof items> {
  const r = decode(bytes);
  if (!r.ok) throw new Error(`${r.error.code} at ${r.error.offset}: ${r.error.message}`);
  expect(toHex(encodeMessage(r.value))).toBe(toHex(bytes));
  const json = frameToJson(r.value.decoded, ok(r.value));
  expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  expect(describeFrame(r.value.decoded, ok(r.value))).not.toMatch(/[\r\n]/);
  return items(r.value);
}

function roundTrip(uplink: boolean, units: UnitSpec[]): ReturnType<typeof items> {
  return decoded(buildFrame({ control: uplink ? UP : DOWN, address: TERMINAL, afn: 0x0d, seq: { seq: 3 }, units }));
}

/** The data-unit region of a frame with no AUX (after SEQ, before CS). */
function region(frame: Uint8Array): Uint8Array {
  return frame.subarray(14, frame.length - 2);
}

describe('golden frames', () => {
  it('request: AFN 0D F81 p1, Td_c 2026-11-29 23:30, 15 min, 4 points', () => {
    const frame = hex(
      '68 4E 00 4E 00 68' + // start, L = 19 << 2 | 2 (twice), start
        ' 4B' + // C: DIR 0, PRM 1, function 11 (request class 2)
        ' 00 02 34 12 02' + // A1 area 0200, A2 terminal 1234H, A3 MSA 1
        ' 0D 63' + // AFN 0D, SEQ FIR FIN, PSEQ 3
        ' 01 01 01 0A' + // DA p1, DT F81 (DT2 0AH = group 10, DT1 bit 0)
        ' 30 23 29 11 26' + // Td_c start A.15 mm hh DD MM YY = 2026-11-29 23:30
        ' 01' + // density m = 1 (15 min)
        ' 04' + // n = 4 points
        ' CA 16', // CS, end
    );
    const built = buildFrame({ control: DOWN, address: TERMINAL, afn: 0x0d, seq: { seq: 3 }, units: [{ pn: 1, fn: 81, value: { start: '2026-11-29 23:30', density: 1, pointCount: 4 } }] });
    expect(toHex(built)).toBe(toHex(frame));
    expect(decoded(frame).map((i) => [i.pn, i.fn, i.value])).toEqual([[1, 81, { start: '2026-11-29 23:30', density: 1, pointCount: 4 }]]);
  });

  it('reply: AFN 0D F81 p1, 4 points A.9 signed, the third EEH (null)', () => {
    const frame = hex(
      '68 7E 00 7E 00 68' + // L = 31 << 2 | 2
        ' 88' + // C: DIR 1, PRM 0, function 8 (user data response)
        ' 00 02 34 12 02' + // A1 0200, A2 1234H, MSA 1
        ' 0D 63' + // AFN 0D, SEQ single, RSEQ 3
        ' 01 01 01 0A' + // p1 F81
        ' 30 23 29 11 26 01 04' + // Td_c: 2026-11-29 23:30, m 1, n 4
        ' 00 50 01' + // 23:30  +01.5000 kW (A.9 XX.XXXX, low byte first)
        ' 00 25 80' + // 23:45  -00.2500 kW (D7 of the last byte = sign)
        ' EE EE EE' + // 00:00  no data
        ' 99 99 79' + // 00:15  +79.9999 kW (the largest A.9)
        ' 72 16',
    );
    const value: UnitValue = { start: '2026-11-29 23:30', density: 1, pointCount: 4, points: [{ value: 1.5 }, { value: -0.25 }, { value: null }, { value: 79.9999 }] };
    expect(toHex(buildFrame({ control: UP, address: TERMINAL, afn: 0x0d, seq: { seq: 3 }, units: [{ pn: 1, fn: 81, value }] }))).toBe(toHex(frame));
    const [item] = decoded(frame);
    expect(item!.value).toEqual(value);
    const r = decode(frame);
    if (!r.ok) throw new Error(r.error.message);
    const json = JSON.stringify(frameToJson(r.value.decoded, ok(r.value)));
    expect(json).toContain('"name":"total active power curve"');
    expect(json).toContain('"points":[{"value":1.5},{"value":-0.25},{"value":null},{"value":79.9999}]');
  });

  it('reply: F89 phase A voltage (A.7) and F101 forward active energy (A.11), p2, 30 min', () => {
    const f89 = { start: '2026-11-30 00:00', density: 2, pointCount: 3, points: [{ value: 220.1 }, { value: null }, { value: 0 }] };
    const f101 = { start: '2026-11-30 00:00', density: 2, pointCount: 2, points: [{ value: 12345.67 }, { value: null }] };
    const got = roundTrip(true, [
      { pn: 2, fn: 89, value: f89 },
      { pn: 2, fn: 101, value: f101 },
    ]);
    expect(got.map((i) => [i.pn, i.fn, i.value])).toEqual([
      [2, 89, f89],
      [2, 101, f101],
    ]);
    expect(toHex(got[0]!.data)).toBe(
      ['00 00 30 11 26 02 03', // Td_c 2026-11-30 00:00, m 2 (30 min), n 3
        '01 22', // 220.1 V (A.7 XXX.X)
        'EE EE', // no data
        '00 00'].join(' '), // 0.0 V
    );
    expect(toHex(got[1]!.data)).toBe(
      ['00 00 30 11 26 02 02', // Td_c, n 2
        '67 45 23 01', // 12345.67 kWh (A.11 XXXXXX.XX)
        'EE EE EE EE'].join(' '), // no data
    );
  });

  it('one request for F81, F89, F101 of p1 and p2 (three identifiers: F81, F89, F101 are in different DT groups)', () => {
    const tdc = { start: '2026-11-29 00:00', density: 1, pointCount: 96 };
    const units: UnitSpec[] = [1, 2].flatMap((pn) => [CurveFn.activePower, CurveFn.phaseAVoltage, CurveFn.forwardActiveEnergy].map((fn) => ({ pn, fn, value: tdc })));
    const frame = buildFrame({ control: DOWN, address: TERMINAL, afn: 0x0d, seq: { seq: 0 }, units });
    expect(toHex(region(frame).subarray(0, 4))).toBe('03 01 01 0A'); // p1-p2, F81
    expect(roundTrip(false, units).map((i) => [i.pn, i.fn, i.value])).toEqual(units.map((u) => [u.pn, u.fn, tdc]).sort((a, b) => Number(a[1]) - Number(b[1]) || Number(a[0]) - Number(b[0])));
  });

  it('96 points of a day fit one frame; n = 0 carries no point', () => {
    const day = { start: '2026-11-29 00:00', density: 1, pointCount: 96, points: Array.from({ length: 96 }, (_, i) => ({ value: i % 7 === 0 ? null : (i * 125) / 10000 })) };
    const [item] = roundTrip(true, [{ pn: 1, fn: 81, value: day }]);
    expect(item!.data).toHaveLength(7 + 96 * 3);
    expect(item!.value).toEqual(day);
    const none = { start: '2026-11-29 00:00', density: 0, pointCount: 0, points: [] };
    expect(roundTrip(true, [{ pn: 1, fn: 101, value: none }])[0]!.value).toEqual(none);
  });
});

describe('errors: typed, never a throw', () => {
  const layout81 = layoutFor(0x0d, 81, true)!;

  it('a reply announcing more points than it carries: gw1376.value-length at the missing point', () => {
    // Td_c n = 4, three points: the fourth needs 3 bytes where 0 are left.
    const data = hex('30 23 29 11 26 01 04 00 50 01 00 25 80 EE EE EE');
    const r = decodeLayout(layout81, data, 0, data.length, 100);
    expect(r.ok).toBe(false);
    if (!r.ok) expect([r.error.code, r.error.offset]).toEqual(['gw1376.value-length', 100 + 16]);
    // A point cut in the middle.
    const cut = decodeLayout(layout81, data.subarray(0, 15), 0, 15);
    if (cut.ok) throw new Error('accepted a cut point');
    expect([cut.error.code, cut.error.offset]).toEqual(['gw1376.value-length', 13]);
  });

  it('in a whole frame: the error offset is absolute, and opaque mode keeps the bytes', () => {
    const good = buildFrame({ control: UP, address: TERMINAL, afn: 0x0d, seq: { seq: 3 }, units: [{ pn: 1, fn: 101, value: { start: '2026-11-29 23:30', density: 1, pointCount: 1, points: [{ value: 1 }] } }] });
    // Same frame with n = 2 (one point missing): re-checksum by building the frame from raw bytes.
    const data = Uint8Array.from(region(good));
    data[4 + 6] = 2;
    const bad = buildFrame({ control: UP, address: TERMINAL, afn: 0x0d, seq: { seq: 3 }, units: [{ pn: 1, fn: 101, data: data.subarray(4) }] });
    const r = decode(bad);
    if (r.ok) throw new Error('accepted');
    expect([r.error.code, r.error.offset]).toEqual(['gw1376.value-length', 14 + 4 + 7 + 4]);
    const lenient = decode(bad, 0, undefined, { layoutMismatch: 'opaque' });
    if (!lenient.ok) throw new Error(lenient.error.message);
    expect(items(lenient.value)[0]).toMatchObject({ opaque: true, layoutError: { code: 'gw1376.value-length' } });
  });

  it('a request with Td_c cut short: gw1376.value-length', () => {
    const layout = layoutFor(0x0d, 89, false)!;
    const data = hex('30 23 29 11 26 01'); // n missing
    const r = decodeLayout(layout, data, 0, data.length);
    if (r.ok) throw new Error('accepted');
    expect([r.error.code, r.error.offset]).toEqual(['gw1376.value-length', 6]);
  });

  it('FFH points and non-BCD bytes are gw1376.bcd (EEH is the curves\' fill)', () => {
    const ff = hex('30 23 29 11 26 01 01 FF FF FF');
    const r = decodeLayout(layout81, ff, 0, ff.length);
    if (r.ok) throw new Error('accepted FFH as a point');
    expect([r.error.code, r.error.offset]).toEqual(['gw1376.bcd', 7]);
    const badStart = hex('3A 23 29 11 26 01 00');
    const s = decodeLayout(layout81, badStart, 0, badStart.length);
    if (s.ok) throw new Error('accepted a non-BCD start');
    expect([s.error.code, s.error.offset]).toEqual(['gw1376.bcd', 0]);
  });

  it('encoding: n must match the points, values must fit their format (EncodeError)', () => {
    expect(() => encodeLayout(layout81, { start: '2026-11-29 23:30', density: 1, pointCount: 2, points: [{ value: 1 }] })).toThrow(EncodeError);
    expect(() => encodeLayout(layout81, { start: '2026-11-29 23:30', density: 1, pointCount: 1, points: [{ value: 80 }] })).toThrow(/does not fit A\.9/);
    expect(() => encodeLayout(layout81, { start: '2026-11-29 23:30', density: 1, pointCount: 1, points: [{ value: Number.NaN }] })).toThrow(EncodeError);
    expect(() => encodeLayout(layout81, { start: '2026-11-29 23:30', density: 256, pointCount: 0, points: [] })).toThrow(EncodeError);
  });
});

describe('formats', () => {
  it('A.9: sign in D7 of the last byte, negative zero kept, all FFH = null (the generic rule)', () => {
    expect(toHex(A9.encode(-15))).toBe('00 00 95');
    expect(A9.decode(hex('00 00 95'), 0)).toBe(-15);
    expect(Object.is(A9.decode(hex('00 00 80'), 0), -0)).toBe(true);
    expect(toHex(A9.encode(-0))).toBe('00 00 80');
    expect(A9.decode(hex('FF FF FF'), 0)).toBeNull();
    expect(A9.decode(hex('0A 00 00'), 0)).toBeUndefined();
    expect(A9.decode(hex('00 00 8A'), 0)).toBeUndefined();
    expect(toHex(A9.encode(-79.9999))).toBe('99 99 F9');
  });

  it('eeFilled: EEH = null both ways, FFH is no value', () => {
    const v = eeFilled(A7);
    expect(v.decode(hex('EE EE'), 0)).toBeNull();
    expect(toHex(v.encode(null))).toBe('EE EE');
    expect(v.decode(hex('FF FF'), 0)).toBeUndefined();
    expect(v.decode(hex('01 22'), 0)).toBe(220.1);
    // A half-filled value is not BCD either.
    expect(v.decode(hex('EE 22'), 0)).toBeUndefined();
  });

  it('density codes: 1/2/3 = 15/30/60 min, 254 = 5, 255 = 1 [BK], 0 and reserved have none', () => {
    expect([1, 2, 3, 254, 255, 0, 4, 253].map(curveDensityMinutes)).toEqual([15, 30, 60, 5, 1, undefined, undefined, undefined]);
    expect([15, 30, 60, 5, 1, 10].map(curveDensityOf)).toEqual([1, 2, 3, 254, 255, undefined]);
  });

  it('round trip of random curves (fast-check, fixed seed): decode(encode(v)) = v and the bytes come back', () => {
    const point = (fn: number): fc.Arbitrary<number | null> => {
      const [max, decimals] = fn === 81 ? [799999, 4] : fn === 89 ? [9999, 1] : [99999999, 2];
      const signed = fn === 81;
      return fc.option(fc.integer({ min: signed ? -max : 0, max }).map((x) => x / 10 ** decimals), { freq: 5 });
    };
    const arb = fc.constantFrom(81, 89, 101).chain((fn) =>
      fc.record({
        fn: fc.constant(fn),
        uplink: fc.boolean(),
        minute: fc.integer({ min: 0, max: 59 }),
        hour: fc.integer({ min: 0, max: 23 }),
        density: fc.constantFrom(0, 1, 2, 3, 254, 255, 7),
        points: fc.array(point(fn), { maxLength: 255 }),
      }),
    );
    fc.assert(
      fc.property(arb, ({ fn, uplink, minute, hour, density, points }) => {
        const start = `2026-02-28 ${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`;
        const value: UnitValue = uplink
          ? { start, density, pointCount: points.length, points: points.map((p) => ({ value: p })) }
          : { start, density, pointCount: points.length };
        const layout = layoutFor(0x0d, fn, uplink)!;
        const bytes = encodeLayout(layout, value);
        expect(bytes).toHaveLength(7 + (uplink ? points.length * (fn === 81 ? 3 : fn === 89 ? 2 : 4) : 0));
        const r = decodeLayout(layout, bytes, 0, bytes.length);
        if (!r.ok) throw new Error(r.error.message);
        expect(r.value.next).toBe(bytes.length);
        expect(r.value.value).toEqual(value);
        expect(toHex(encodeLayout(layout, r.value.value))).toBe(toHex(bytes));
      }),
      { seed: 0x1376_0d, numRuns: 300 },
    );
  });

  it('random bytes never throw for the curve layouts (typed error or a value that encodes back)', () => {
    fc.assert(
      fc.property(fc.constantFrom(81, 89, 101), fc.boolean(), fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 3 }), (fn, uplink, raw, n) => {
        const bytes = Uint8Array.from(raw);
        if (bytes.length > 6) bytes[6] = n; // small n so that some inputs are whole
        const layout = layoutFor(0x0d, fn, uplink)!;
        const r = decodeLayout(layout, bytes, 0, bytes.length);
        if (!r.ok) {
          expect(['gw1376.value-length', 'gw1376.bcd']).toContain(r.error.code);
          expect(r.error.offset).toBeGreaterThanOrEqual(0);
          expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
          return;
        }
        expect(toHex(encodeLayout(layout, r.value.value))).toBe(toHex(bytes.subarray(0, r.value.next)));
      }),
      { seed: 0x1376_0e, numRuns: 2000 },
    );
  });
});
