import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import {
  decodeLoadRecordBlocks,
  decodeLoadRecordRequest,
  encodeLoadRecordBlocks,
  encodeLoadRecordRequest,
  loadRecordBlockLength,
  loadRecordModeWord,
  type LoadRecordBlock,
} from './load-record.ts';
import * as dlt645 from './index.ts';

/**
 * Golden blocks next to the values they must decode to and encode from. Bytes as in the data
 * field after −33H. Computed by hand from the layout in load-record.ts (public concentrator
 * firmware); the checksums with a one-line sum.
 */
const FULL_HEX = [
  'A0 A0', // start code: a correct block
  '62', // len = 98: time 5 + classes 17+24+8+16+16+6 + six AAH
  '15 10 02 03 26', // time mm hh DD MM YY = 2026-03-02 10:15
  // class 1
  '01 22', // Ua 220.1 V (XXX.X)
  '95 21', // Ub 219.5 V
  '10 22', // Uc 221.0 V
  '34 12 00', // Ia 1.234 A (XXX.XXX)
  '00 05 80', // Ib −0.500 A (sign: top bit of the last byte)
  '00 00 01', // Ic 10.000 A
  '01 50', // f 50.01 Hz (XX.XX)
  'AA',
  // class 2
  '00 50 01', // P total 1.5 kW (XX.XXXX)
  '00 50 00', // P A 0.5 kW
  '00 50 00', // P B 0.5 kW
  '00 50 00', // P C 0.5 kW
  '31 49 80', // Q total −0.4931 kvar
  '44 16 00', // Q A 0.1644 kvar
  '00 00 00', // Q B 0
  '56 34 12', // Q C 12.3456 kvar
  'AA',
  // class 3
  '50 09', // PF total 0.950 (X.XXX)
  '50 89', // PF A −0.950
  '00 10', // PF B 1.000
  '00 00', // PF C 0
  'AA',
  // class 4
  '56 34 12 00', // forward active 1234.56 kWh (XXXXXX.XX)
  '01 00 00 00', // reverse active 0.01 kWh
  '78 05 04 00', // combined reactive 1: 405.78 kvarh
  '99 99 99 99', // combined reactive 2: 999999.99 kvarh
  'AA',
  // class 5
  '00 00 04 00', // QI 400.00 kvarh
  '78 05 00 00', // QII 5.78 kvarh
  '00 00 00 00', // QIII 0
  'FF FF FF FF', // QIV: the meter has no value (NaN)
  'AA',
  // class 6
  '00 50 01', // active demand 1.5 kW (XX.XXXX)
  '31 49 00', // reactive demand 0.4931 kvar
  'AA',
  '53', // cs: sum of the 101 bytes from A0 through the last AA, mod 256
  'E5', // end code
].join(' ');

const FULL: LoadRecordBlock = {
  time: { year: 2026, month: 3, day: 2, hour: 10, minute: 15 },
  valid: true,
  voltageCurrentFrequency: { voltageV: [220.1, 219.5, 221], currentA: [1.234, -0.5, 10], frequencyHz: 50.01 },
  power: { activeKw: [1.5, 0.5, 0.5, 0.5], reactiveKvar: [-0.4931, 0.1644, 0, 12.3456] },
  powerFactor: [0.95, -0.95, 1, 0],
  energy: { forwardActiveKwh: 1234.56, reverseActiveKwh: 0.01, combinedReactive1Kvarh: 405.78, combinedReactive2Kvarh: 999999.99 },
  quadrantReactiveKvarh: [400, 5.78, 0, Number.NaN],
  demand: { activeKw: 1.5, reactiveKvar: 0.4931 },
};

const ENERGY_ONLY_HEX = [
  'A0 A0', // start
  '1B', // len = 27: time 5 + class 4 16 + six AAH
  '00 00 01 03 26', // time 2026-03-01 00:00
  'AA', // class 1 empty
  'AA', // class 2 empty
  'AA', // class 3 empty
  '56 34 12 00', // forward active 1234.56 kWh
  '00 00 00 00', // reverse active 0
  '00 00 00 00', // combined reactive 1: 0
  '00 00 00 00', // combined reactive 2: 0
  'AA', // after class 4
  'AA', // class 5 empty
  'AA', // class 6 empty
  '1D', // cs
  'E5',
].join(' ');

const ENERGY_ONLY: LoadRecordBlock = {
  time: { year: 2026, month: 3, day: 1, hour: 0, minute: 0 },
  valid: true,
  energy: { forwardActiveKwh: 1234.56, reverseActiveKwh: 0, combinedReactive1Kvarh: 0, combinedReactive2Kvarh: 0 },
};

const INVALID_EMPTY_HEX = [
  'E0 E0', // start code: the meter says this block is not correct
  '0B', // len = 11: time + six AAH
  '45 23 31 12 25', // time 2025-12-31 23:45
  'AA AA AA AA AA AA', // all six classes empty
  '97', // cs
  'E5',
].join(' ');

const INVALID_EMPTY: LoadRecordBlock = { time: { year: 2025, month: 12, day: 31, hour: 23, minute: 45 }, valid: false };

describe('load record blocks: golden bytes', () => {
  it('decodes and encodes a block with all six classes', () => {
    expect(decodeLoadRecordBlocks(hex(FULL_HEX))).toEqual({ ok: true, blocks: [FULL] });
    expect(toHex(encodeLoadRecordBlocks([FULL]))).toBe(toHex(hex(FULL_HEX)));
    expect(loadRecordModeWord(FULL)).toBe(0x3f);
    expect(loadRecordBlockLength(0x3f)).toBe(103);
  });

  it('decodes and encodes blocks with empty classes, back to back, the E0H E0H one as not valid', () => {
    const bytes = hex(`${ENERGY_ONLY_HEX} ${INVALID_EMPTY_HEX} ${FULL_HEX}`);
    expect(decodeLoadRecordBlocks(bytes)).toEqual({ ok: true, blocks: [ENERGY_ONLY, INVALID_EMPTY, FULL] });
    expect(toHex(encodeLoadRecordBlocks([ENERGY_ONLY, INVALID_EMPTY, FULL]))).toBe(toHex(bytes));
    expect(loadRecordBlockLength(0x08)).toBe(32);
    expect(loadRecordBlockLength(0)).toBe(16);
  });

  it('decodes no bytes as no blocks', () => {
    expect(decodeLoadRecordBlocks(new Uint8Array(0))).toEqual({ ok: true, blocks: [] });
  });

  it('names the offset of what is wrong', () => {
    const full = hex(FULL_HEX);
    const cases: { name: string; bytes: Uint8Array; offset: number; code?: string }[] = [
      { name: 'start code', bytes: patch(full, 0, 0x68), offset: 0 },
      { name: 'second start byte', bytes: patch(full, 1, 0xe0), offset: 1 },
      { name: 'checksum', bytes: patch(full, 101, 0x54), offset: 101 },
      { name: 'end code', bytes: patch(full, 102, 0x16), offset: 102 },
      { name: 'separator after class 1', bytes: patch(full, 25, 0xab), offset: 25 },
      { name: 'length longer than the classes', bytes: fixCs(patch(hex(ENERGY_ONLY_HEX), 2, 0x1c)), offset: 30 },
      { name: 'cut short', bytes: full.subarray(0, 60), offset: 60 },
      { name: 'not BCD', bytes: patch(full, 8, 0x1a), offset: 8, code: 'dlt645.bcd' },
      { name: 'minute 60', bytes: patch(full, 3, 0x60), offset: 3, code: 'dlt645.value-range' },
      { name: 'junk after a block', bytes: hex(`${INVALID_EMPTY_HEX} 00`), offset: 16 },
    ];
    for (const c of cases) {
      const r = decodeLoadRecordBlocks(c.bytes);
      expect(r.ok, c.name).toBe(false);
      if (r.ok) continue;
      expect(r.error.offset, c.name).toBe(c.offset);
      expect(r.error.code, c.name).toBe(c.code ?? 'dlt645.load-record');
    }
  });

  it('refuses to encode a value that does not fit its field', () => {
    expect(() => encodeLoadRecordBlocks([{ ...ENERGY_ONLY, demand: { activeKw: 100, reactiveKvar: 0 } }])).toThrow(EncodeError);
    expect(() => encodeLoadRecordBlocks([{ ...ENERGY_ONLY, demand: { activeKw: -1, reactiveKvar: 0 } }])).toThrow(EncodeError);
    expect(() => encodeLoadRecordBlocks([{ ...ENERGY_ONLY, time: { year: 2026, month: 2, day: 30, hour: 0, minute: 0 } }])).toThrow(EncodeError);
  });

  it('is exported from the dlt645 index', () => {
    expect(dlt645.LOAD_RECORD_GIVEN_TIME_DI).toBe('06000001');
    expect(dlt645.decodeLoadRecordBlocks).toBe(decodeLoadRecordBlocks);
    expect(dlt645.encodeLoadRecordRequest).toBe(encodeLoadRecordRequest);
  });
});

describe('load record request (DI 06000001 given time)', () => {
  it('is NN then mm hh DD MM YY', () => {
    const golden = hex('96 00 00 01 03 26'); // NN = 96 blocks | 00:00 on 2026-03-01
    const from = { year: 2026, month: 3, day: 1, hour: 0, minute: 0 };
    expect(toHex(encodeLoadRecordRequest({ count: 96, from }))).toBe(toHex(golden));
    expect(decodeLoadRecordRequest(golden)).toEqual({ ok: true, count: 96, from });
  });

  it('refuses a malformed request with the offset', () => {
    const cases: [string, string, number][] = [
      ['too short', '96 00 00 01 03', 5],
      ['too long', '96 00 00 01 03 26 00', 6],
      ['NN zero', '00 00 00 01 03 26', 0],
      ['NN not BCD', '9A 00 00 01 03 26', 0],
      ['NN FF', 'FF 00 00 01 03 26', 0],
      ['hour 24', '01 00 24 01 03 26', 2],
      ['30 February', '01 00 00 30 02 26', 1],
      ['time FF', '01 FF FF FF FF FF', 1],
    ];
    for (const [name, h, offset] of cases) {
      const r = decodeLoadRecordRequest(hex(h));
      expect(r.ok, name).toBe(false);
      if (!r.ok) expect(r.error.offset, name).toBe(offset);
    }
    expect(() => encodeLoadRecordRequest({ count: 0, from: { year: 2026, month: 3, day: 1, hour: 0, minute: 0 } })).toThrow(EncodeError);
    expect(() => encodeLoadRecordRequest({ count: 100, from: { year: 2026, month: 3, day: 1, hour: 0, minute: 0 } })).toThrow(EncodeError);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const SEED = 20261130;

/** A value exactly representable in a field: an integer count of its last digit. */
const scaled = (maxRaw: number, decimals: number, signed: boolean): fc.Arbitrary<number> =>
  fc.oneof(
    { weight: 9, arbitrary: fc.integer({ min: signed ? -maxRaw : 0, max: maxRaw }).map((n) => (n === 0 ? 0 : n / 10 ** decimals)) },
    { weight: 1, arbitrary: fc.constant(Number.NaN) },
  );
const volts = scaled(9999, 1, false);
const amps = scaled(799_999, 3, true);
const hz = scaled(9999, 2, false);
const kw = scaled(799_999, 4, true);
const pf = scaled(7999, 3, true);
const kwh = scaled(99_999_999, 2, false);
const demand = scaled(999_999, 4, false);
const four = (a: fc.Arbitrary<number>) => fc.tuple(a, a, a, a);

const timeArb = fc
  .date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2099, 11, 31, 23, 59)), noInvalidDate: true })
  .map((d) => ({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() }));

const blockArb: fc.Arbitrary<LoadRecordBlock> = fc
  .record(
    {
      time: timeArb,
      valid: fc.boolean(),
      voltageCurrentFrequency: fc.record({ voltageV: fc.tuple(volts, volts, volts), currentA: fc.tuple(amps, amps, amps), frequencyHz: hz }),
      power: fc.record({ activeKw: four(kw), reactiveKvar: four(kw) }),
      powerFactor: four(pf),
      energy: fc.record({ forwardActiveKwh: kwh, reverseActiveKwh: kwh, combinedReactive1Kvarh: kwh, combinedReactive2Kvarh: kwh }),
      quadrantReactiveKvarh: four(kwh),
      demand: fc.record({ activeKw: demand, reactiveKvar: demand }),
    },
    { requiredKeys: ['time', 'valid'] },
  )
  .map((b) => b as LoadRecordBlock);

describe('load record properties', () => {
  it('blocks round-trip: decode(encode(blocks)) = blocks, and the length is what the mode word says', () => {
    fc.assert(
      fc.property(fc.array(blockArb, { maxLength: 5 }), (blocks) => {
        const bytes = encodeLoadRecordBlocks(blocks);
        expect(bytes.length).toBe(blocks.reduce((n, b) => n + loadRecordBlockLength(loadRecordModeWord(b)), 0));
        expect(decodeLoadRecordBlocks(bytes)).toEqual({ ok: true, blocks });
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it('requests round-trip', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99 }), timeArb, (count, from) => {
        expect(decodeLoadRecordRequest(encodeLoadRecordRequest({ count, from }))).toEqual({ ok: true, count, from });
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('random bytes and damaged blocks never throw, and an error offset lies within the input', () => {
    const damaged = fc
      .tuple(fc.array(blockArb, { minLength: 1, maxLength: 3 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat())
      .map(([blocks, at, byte, cut]) => {
        const b = encodeLoadRecordBlocks(blocks);
        const c = new Uint8Array(b);
        c[at % c.length] = byte;
        return cut % 3 === 0 ? c.subarray(0, cut % (c.length + 1)) : c;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), damaged), (bytes) => {
        const r = decodeLoadRecordBlocks(bytes);
        if (!r.ok) {
          expect(r.error.offset).toBeGreaterThanOrEqual(0);
          expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
        }
        const q = decodeLoadRecordRequest(bytes.subarray(0, 8));
        if (!q.ok) expect(q.error.offset).toBeLessThanOrEqual(8);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});

function patch(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[at] = value;
  return out;
}

/** Recomputes the checksum of a single block whose len byte was changed (so only the length disagrees). */
function fixCs(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  const len = bytes[2]!;
  // Take the block as len says: time..(len bytes), then cs and E5.
  out.set(bytes.subarray(0, 3 + len - 1));
  out[3 + len - 1] = 0xaa;
  let cs = 0;
  for (let i = 0; i < 3 + len; i++) cs = (cs + out[i]!) & 0xff;
  out[3 + len] = cs;
  out[3 + len + 1] = 0xe5;
  return out.subarray(0, 3 + len + 2);
}
