/**
 * The DL/T 645 data dictionary: every decoded value in ../shared/vectors/dlt645.json (payload =
 * data_minus_33 minus the DI), round trips, fuzzing of every DI, and the table's own consistency.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import type { DataValue } from './dictionary-types.ts';
import {
  DICTIONARY,
  STATUS_WORD_3_BITS,
  dataItems,
  decodeStatusWord3,
  decodeValue,
  describeValue,
  encodeStatusWord3,
  encodeValue,
  lookup,
  valueLayout,
} from './dictionary.ts';
import { ABSENT_VALUE, DATE_TIME_TOKENS, valueFieldCodec, type ValueFieldSpec } from './formats.ts';

const SEED = 645_2007;

function decoded(di: string, payloadHex: string): DataValue {
  const r = decodeValue(di, payloadHex === '' ? new Uint8Array(0) : hex(payloadHex));
  if (!r.ok) throw new Error(`${di} ${payloadHex}: ${r.error.code} ${r.error.message}`);
  return r.value;
}

/**
 * Payloads from the verified vectors (index in dlt645.json), the value recorded there, and how
 * many trailing quirk bytes the device appended (PROTOCOLS.md 1.10).
 */
const VECTOR_VALUES: readonly { vector: number; di: string; payload: string; value: DataValue; trailing?: number }[] = [
  // 56 34 12 00 = BCD 00123456, 2 decimals
  { vector: 6, di: '00010000', payload: '56 34 12 00', value: 1234.56 },
  { vector: 10, di: '00010000', payload: '06 00 00 00', value: 0.06 },
  { vector: 12, di: '00010000', payload: '26 80 22 11', value: 112280.26 },
  // meter number 002241020208, low byte first
  { vector: 14, di: '04000402', payload: '08 02 02 41 22 00', value: '002241020208' },
  // total 1.29 | T1 0.62 | T2 0.60 | T3 0.03 | T4 0.02 kWh
  { vector: 20, di: '0001FF00', payload: '29 01 00 00  62 00 00 00  60 00 00 00  03 00 00 00  02 00 00 00', value: [1.29, 0.62, 0.6, 0.03, 0.02] },
  // A = 22 56 → 225.6 V | B FF FF absent | C FF FF absent (single-phase meter)
  { vector: 22, di: '0201FF00', payload: '56 22  FF FF  FF FF', value: [225.6, ABSENT_VALUE, ABSENT_VALUE] },
  // WW 01 | DD 11 | MM 01 | YY 16
  { vector: 24, di: '04000101', payload: '01 11 01 16', value: { year: 2016, month: 1, day: 11, weekday: 1 } },
  // ss 55 | mm 53 | hh 21
  { vector: 26, di: '04000102', payload: '55 53 21', value: { hour: 21, minute: 53, second: 55 } },
  // mm 00 | hh 00 | DD 09 | MM 10 | YY 15
  { vector: 28, di: '05060001', payload: '00 00 09 10 15', value: { year: 2015, month: 10, day: 9, hour: 0, minute: 0 } },
  { vector: 30, di: '00900200', payload: '56 98 01 00', value: 198.56 },
  // XXXXXX count: 27 00 00 → 27
  { vector: 34, di: '03300D00', payload: '27 00 00', value: 27 },
  { vector: 36, di: '1D000001', payload: '00 00 00', value: 0 },
  // 37 26 00 00 = 26.37 kWh, then one extra byte 01
  { vector: 46, di: '00010000', payload: '37 26 00 00  01', value: 26.37, trailing: 1 },
  { vector: 47, di: '00010000', payload: '12 00 00 00  01', value: 0.12, trailing: 1 },
  // 1997 9010: 89 43 13 00 = 1343.89 kWh, then 01
  { vector: 50, di: '9010', payload: '89 43 13 00  01', value: 1343.89, trailing: 1 },
  // 1997 C032: 97 39 00 42 18 27 → 271842003997, then 03
  { vector: 51, di: 'C032', payload: '97 39 00 42 18 27  03', value: '271842003997', trailing: 1 },
  // 1997 B611 format XXX in 2 bytes: 00 01 → 0100 V
  { vector: 53, di: 'B611', payload: '00 01', value: 100 },
  { vector: 57, di: '02030000', payload: '00 00 00', value: 0 },
  { vector: 59, di: '00010000', payload: '56 34 12 00', value: 1234.56 },
  { vector: 60, di: '02010100', payload: '01 22', value: 220.1 },
  // WW 04 | DD 01 | MM 01 | YY 26 → 2026-01-01, a Thursday
  { vector: 61, di: '04000101', payload: '04 01 01 26', value: { year: 2026, month: 1, day: 1, weekday: 4 } },
  { vector: 63, di: '00010000', payload: '56 34 12 00', value: 1234.56 },
  // Read-address replies carry the address in the 04000401 format (vectors 1-3).
  { vector: 2, di: '04000401', payload: '12 90 78 56 34 12', value: '123456789012' },
  { vector: 3, di: '04000401', payload: '12 00 00 00 10 20', value: '201000000012' },
];

describe('vector values', () => {
  for (const v of VECTOR_VALUES) {
    it(`vector ${v.vector}: ${v.di} ${v.payload} → ${JSON.stringify(v.value)}`, () => {
      const payload = hex(v.payload);
      if (v.trailing === undefined) {
        expect(decodeValue(v.di, payload)).toEqual({ ok: true, value: v.value });
      } else {
        // Strict decoding names where the length goes wrong; lenient decoding skips the quirk.
        const valueLength = payload.length - v.trailing;
        expect(decodeValue(v.di, payload)).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: valueLength } });
        expect(decodeValue(v.di, payload, { trailingBytes: 'ignore' })).toEqual({ ok: true, value: v.value });
      }
    });
  }

  it('encode(decode(payload)) gives the vector payload back (without the quirk bytes)', () => {
    for (const v of VECTOR_VALUES) {
      const payload = hex(v.payload);
      const value = decodeValue(v.di, payload, { trailingBytes: 'ignore' });
      expect(value.ok, v.di).toBe(true);
      if (!value.ok) continue;
      expect(toHex(encodeValue(v.di, value.value)), `vector ${v.vector}`).toBe(toHex(payload.subarray(0, payload.length - (v.trailing ?? 0))));
    }
  });

  it('covers every normal reply with a DI payload in fixtures/dlt645-vectors.json', () => {
    interface Vector {
      readonly fields: { readonly control: string; readonly DI?: string; readonly payload_after_DI?: string };
    }
    const vectors = JSON.parse(readFileSync(new URL('./fixtures/dlt645-vectors.json', import.meta.url), 'utf8')) as readonly Vector[];
    const replies = vectors.flatMap((v, i) =>
      (v.fields.control === '91' || v.fields.control === '81') && v.fields.DI !== undefined && (v.fields.payload_after_DI ?? '') !== ''
        ? [{ i, di: v.fields.DI, payload: v.fields.payload_after_DI! }]
        : [],
    );
    expect(replies.length).toBeGreaterThan(15);
    for (const r of replies) {
      const mine = VECTOR_VALUES.find((v) => v.vector === r.i);
      expect(mine, `vector ${r.i} (${r.di}) has a recorded value above`).toBeDefined();
      expect(mine!.di).toBe(r.di);
      expect(toHex(hex(mine!.payload))).toBe(toHex(hex(r.payload)));
    }
  });

  it('describes values on one line', () => {
    expect(describeValue('00010000', 1234.56)).toBe('forward active total energy = 1234.56 kWh');
    expect(describeValue('0001FF00', decoded('0001FF00', '29 01 00 00 62 00 00 00 60 00 00 00 03 00 00 00 02 00 00 00'))).toBe(
      'forward active energy block (total and tariffs) = [1.29, 0.62, 0.60, 0.03, 0.02] kWh',
    );
    expect(describeValue('0201FF00', [225.6, ABSENT_VALUE, ABSENT_VALUE])).toBe('voltage block (phases A, B, C) = [225.6, absent, absent] V');
    expect(describeValue('04000101', { year: 2016, month: 1, day: 11, weekday: 1 })).toBe('date and weekday = 2016-01-11 (weekday 1)');
    expect(describeValue('04000102', { hour: 21, minute: 53, second: 55 })).toBe('time = 21:53:55');
    expect(describeValue('00900200', 198.56)).toBe('remaining amount = 198.56 yuan');
    expect(describeValue('00010203', 1.5)).toBe('forward active energy, tariff 2, last 3rd settlement = 1.50 kWh');
    expect(describeValue('02020100', -15)).toBe('phase A current = -15.000 A');
    expect(describeValue('04000503', 0x0050)).toBe('meter status word 3 = 0050H (relay open, relayCommand trip)');
    expect(describeValue('01010000', { demand: 1.2345, time: { year: 2024, month: 3, day: 1, hour: 12, minute: 15 } })).toBe(
      'forward active total maximum demand and time = {demand 1.2345 kW, time 2024-03-01 12:15}',
    );
    expect(describeValue('FFFFFFFF', 1)).toBe('FFFFFFFF = 1');
  });
});

describe('formats', () => {
  it('reads signed values with the sign in the top bit of the last byte [BK]', () => {
    // 00 50 81: sign set, magnitude 01 50 00 → 15.000 A
    expect(decoded('02020100', '00 50 81')).toBe(-15);
    expect(toHex(encodeValue('02020100', -15))).toBe('00 50 81');
    // power factor X.XXX: 50 89 → −0.950
    expect(decoded('02060000', '50 89')).toBe(-0.95);
    // combined active energy may be negative: 00 00 00 80 is −0, kept so it re-encodes
    expect(Object.is(decoded('00000000', '00 00 00 80'), -0)).toBe(true);
    expect(toHex(encodeValue('00000000', -0))).toBe('00 00 00 80');
  });

  it('reads 12-digit identifiers as digit strings and binary words as numbers', () => {
    expect(decoded('0400040E', '01 00 00 00 00 00')).toBe('000000000001');
    expect(decoded('04000503', '10 00')).toBe(0x10);
    // baud feature word 20H = 9600 bit/s is a bit map, not BCD 20
    expect(decoded('04000703', '20')).toBe(0x20);
    expect(decoded('04000C01', '02 56 34 12')).toBe('12345602');
    expect(toHex(encodeValue('04000C01', '12345602'))).toBe('02 56 34 12');
  });

  it('reads the other date/time formats in reverse field order', () => {
    // DDhh: hh 00 | DD 01 → settlement on day 1 at 00 h
    expect(decoded('04000B01', '00 01')).toEqual({ day: 1, hour: 0 });
    // hhmm: mm 30 | hh 23
    expect(decoded('04001203', '30 23')).toEqual({ hour: 23, minute: 30 });
    // YYMMDDhhmmss: ss mm hh DD MM YY, twice (power-down start and end)
    expect(decoded('03110001', '05 04 03 02 01 24  10 04 03 02 01 24')).toEqual({
      start: { year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 5 },
      end: { year: 2024, month: 1, day: 2, hour: 3, minute: 4, second: 10 },
    });
    expect(describeValue('04000B01', { day: 1, hour: 0 })).toBe('monthly settlement day 1 = day 01 00h');
  });

  it('gives dlt645.bcd with the offset of the bad byte', () => {
    expect(decodeValue('00010000', hex('56 3A 12 00'))).toMatchObject({ ok: false, error: { code: 'dlt645.bcd', offset: 1 } });
    expect(decodeValue('0001FF00', hex('29 01 00 00 62 00 00 00 60 0F 00 00 03 00 00 00 02 00 00 00'))).toMatchObject({
      ok: false,
      error: { code: 'dlt645.bcd', offset: 9 },
    });
    expect(decodeValue('04000101', hex('01 11 1A 16'))).toMatchObject({ ok: false, error: { code: 'dlt645.bcd', offset: 2 } });
    expect(decodeValue('04000401', hex('12 90 78 56 3F 12'))).toMatchObject({ ok: false, error: { code: 'dlt645.bcd', offset: 4 } });
    // the sign bit is masked before the BCD check: 8A is not a digit pair even without it
    expect(decodeValue('02020100', hex('00 00 8A'))).toMatchObject({ ok: false, error: { code: 'dlt645.bcd', offset: 2 } });
    // trip record: operator (hex) is opaque, but the energy after it is BCD; byte 10 is its first
    expect(decodeValue('1D000101', hex(`${'00 '.repeat(10)}AB${' 00'.repeat(23)}`))).toMatchObject({ ok: false, error: { code: 'dlt645.bcd', offset: 10 } });
  });

  it('gives dlt645.value-range for a date/time field out of range, and dlt645.unknown-di', () => {
    // month 13 at offset 2
    expect(decodeValue('04000101', hex('01 11 13 16'))).toMatchObject({ ok: false, error: { code: 'dlt645.value-range', offset: 2 } });
    // weekday 7 at offset 0
    expect(decodeValue('04000101', hex('07 11 12 16'))).toMatchObject({ ok: false, error: { code: 'dlt645.value-range', offset: 0 } });
    expect(decodeValue('12345678', hex('00'))).toMatchObject({ ok: false, error: { code: 'dlt645.unknown-di', offset: 0 } });
  });

  it('gives dlt645.value-length at the point where the length goes wrong', () => {
    expect(decodeValue('00010000', hex('56 34 12'))).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: 3 } });
    expect(decodeValue('00010000', new Uint8Array(0))).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: 0 } });
    // 9 bytes: two whole values (8 bytes) then one stray byte
    expect(decodeValue('0001FF00', hex('29 01 00 00 62 00 00 00 60'))).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: 8 } });
    expect(decodeValue('0001FF00', hex('29 01 00'))).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: 3 } });
    expect(decodeValue('0201FF00', hex('56 22 FF FF FF FF 00'))).toMatchObject({ ok: false, error: { code: 'dlt645.value-length', offset: 6 } });
  });

  it('throws EncodeError for values that do not fit', () => {
    const bad: readonly [string, DataValue][] = [
      ['00010000', -1], // unsigned
      ['00010000', 1.005], // three decimals
      ['00010000', 1_000_000], // 9 digits
      ['02020100', 800], // signed 3 bytes: magnitude < 800
      ['00010000', '1.00'],
      ['04000401', '1234567890123'],
      ['04000401', 'AA'],
      ['04000101', { year: 1999, month: 1, day: 1, weekday: 5 }],
      ['04000101', { year: 2024, month: 13, day: 1, weekday: 5 }],
      ['04000101', { year: 2024, month: 1, day: 1 }],
      ['04000503', 65536],
      ['04000503', ABSENT_VALUE],
      ['04000C01', '1234'],
      ['0001FF00', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65]],
      ['0001FF00', []],
      ['0201FF00', [1, 2]],
      ['01010000', { demand: 1 }],
      ['01010000', { demand: 1, time: ABSENT_VALUE, extra: 1 }],
      // the daily freeze block's two energy blocks must agree on the tariff count
      ['0506FF01', [{ year: 2024, month: 1, day: 1, hour: 0, minute: 0 }, [1, 1, 1, 1, 1], [1, 1]]],
    ];
    for (const [di, v] of bad) expect(() => encodeValue(di, v), `${di} ${JSON.stringify(v)}`).toThrow(EncodeError);
    expect(() => encodeValue('12345678', 1)).toThrow(EncodeError);
  });

  it('follows the tariff count in total-and-tariff blocks [BK]', () => {
    // total only
    expect(decoded('0001FF00', '29 01 00 00')).toEqual([1.29]);
    // total + 2 tariffs
    expect(decoded('0001FF00', '29 01 00 00 62 00 00 00 67 00 00 00')).toEqual([1.29, 0.62, 0.67]);
    const eight = [8, 1, 1, 1, 1, 1, 1, 1, 1];
    expect(decodeValue('0001FF00', encodeValue('0001FF00', eight))).toEqual({ ok: true, value: eight });
    expect(describeValue('0001FF00', [1.29, 0.62, 0.67])).toBe('forward active energy block (total and tariffs) = [1.29, 0.62, 0.67] kWh');
    expect(valueLayout('0001FF00', 2)?.map((e) => `${e.path}@${e.offset}`)).toEqual(['[0]@0', '[1]@4', '[2]@8']);
    expect(valueLayout('0001FF00', 64)).toBeUndefined();
    expect(valueLayout('00010000', 2)).toBeUndefined();
  });

  it('rejects formats it does not know when a codec is built', () => {
    expect(() => valueFieldCodec({ format: 'ZZZ', length: 2 })).toThrow(Error);
    expect(() => valueFieldCodec({ format: 'YYMMDD', length: 4 })).toThrow(Error);
  });
});

describe('daily freeze data block 0506FFnn [BK]', () => {
  it('is freeze time + forward + reverse active energy blocks: 45 bytes with 4 tariffs, over 200 only from 24 tariffs', () => {
    const def = lookup('0506FF01')!;
    expect(def.members).toEqual(['05060001', '05060101', '05060201']);
    expect(def.length).toBe(5 + 20 + 20);
    expect(valueLayout('0506FF01', 23)!.length).toBe(1 + 24 + 24);
    const bytesFor = (k: number): number => {
      const layout = valueLayout('0506FF01', k)!;
      const last = layout[layout.length - 1]!;
      return last.offset + last.spec.length;
    };
    expect(bytesFor(4)).toBe(45);
    expect(bytesFor(23)).toBe(197);
    expect(bytesFor(24)).toBe(205);
    expect(bytesFor(63)).toBe(517);
    // mm hh DD MM YY | forward total + 4 | reverse total + 4
    const payload = hex(`00 00 09 10 15  ${'29 01 00 00 '.repeat(5)} ${'01 00 00 00 '.repeat(5)}`);
    expect(decodeValue('0506FF01', payload)).toEqual({
      ok: true,
      value: [{ year: 2015, month: 10, day: 9, hour: 0, minute: 0 }, [1.29, 1.29, 1.29, 1.29, 1.29], [0.01, 0.01, 0.01, 0.01, 0.01]],
    });
  });
});

describe('status word 3 (PROTOCOLS.md 1.8)', () => {
  it('names the bits', () => {
    expect(decodeStatusWord3(0x0000)).toMatchObject({ relay: 'closed', relayCommand: 'close', preTripAlarm: false, meterType: 'nonPrepaid', keepPower: false });
    expect(decodeStatusWord3(1 << 4)).toMatchObject({ relay: 'open' });
    expect(decodeStatusWord3(1 << 6)).toMatchObject({ relay: 'closed', relayCommand: 'trip' });
    expect(decodeStatusWord3(1 << 7)).toMatchObject({ preTripAlarm: true });
    expect(decodeStatusWord3(0b10 << 8)).toMatchObject({ meterType: 'moneyPrepaid' });
    expect(decodeStatusWord3(0b01 << 8)).toMatchObject({ meterType: 'energyPrepaid' });
    expect(decodeStatusWord3(0b10 << 1)).toMatchObject({ powerSupply: 'battery' });
    expect(decodeStatusWord3(1 << 12)).toMatchObject({ keepPower: true });
    expect(encodeStatusWord3({ relay: 'open', relayCommand: 'trip', meterType: 'moneyPrepaid' })).toBe(0x0250);
    expect(() => encodeStatusWord3({ relay: 'ajar' } as never)).toThrow(EncodeError);
    expect(() => encodeStatusWord3({ nonsense: true } as never)).toThrow(EncodeError);
  });

  it('covers all 16 bits once and round-trips every word', () => {
    const covered = STATUS_WORD_3_BITS.flatMap((b) => Array.from({ length: b.width }, (_, i) => b.bit + i)).sort((a, b) => a - b);
    expect(covered).toEqual(Array.from({ length: 16 }, (_, i) => i));
    for (let w = 0; w <= 0xffff; w++) if (encodeStatusWord3(decodeStatusWord3(w)) !== w) throw new Error(`word ${w}`);
    expect(lookup('04000503')?.bits).toBe(STATUS_WORD_3_BITS);
  });
});

describe('the table', () => {
  const all = dataItems();

  it('has one definition per DI, unique names, well-formed identifiers and sources', () => {
    expect(new Set(all.map((d) => d.di)).size).toBe(all.length);
    expect(new Set(all.map((d) => d.name)).size).toBe(all.length);
    for (const d of all) {
      expect(d.di, d.name).toMatch(d.edition === '2007' ? /^[0-9A-F]{8}$/ : /^[0-9A-F]{4}$/);
      expect(d.name, d.di).toMatch(/^[a-zA-Z]/);
      expect(d.name, d.di).not.toMatch(/undefined|NaN/);
      expect(d.source.length, d.di).toBeGreaterThan(0);
      expect(lookup(d.di.toLowerCase())).toBe(d);
    }
  });

  it('lists block members that exist, and lengths that match the layout', () => {
    for (const d of all) {
      for (const m of d.members ?? []) expect(lookup(m), `${d.di} member ${m}`).toBeDefined();
      if (d.repeat !== undefined) expect(d.members!.length).toBeGreaterThan(d.repeat.from);
      const layout = valueLayout(d.di)!;
      const last = layout[layout.length - 1]!;
      expect(last.offset + last.spec.length, d.di).toBe(d.length);
    }
    expect(DICTIONARY.all()).toBe(all);
  });

  it('covers the required identifiers', () => {
    const required = [
      // energy: 9 kinds, total/tariffs/block, current and 12 settlements
      ...['00', '01', '02', '03', '04', '05', '06', '07', '08'].flatMap((k) => [`00${k}0000`, `00${k}0400`, `00${k}FF00`, `00${k}FF0C`, `00${k}020C`]),
      '01010000', '0101FF00', '0102FF0C', '01020401',
      '02010100', '02010300', '0201FF00', '02020100', '0202FF00', '02030000', '0203FF00', '02040000', '02050000', '02060000', '0206FF00', '02800002', '0280000B',
      '04000101', '04000102', '04000103', '04000104', '04000401', '04000402', '04000501', '04000503', '04000507', '04000701', '04000705', '04000B01',
      '04000C01', '04000C0A', '04000F01', '04000F02', '04000F04', '04001001', '04001002', '04001203',
      '00900100', '00900101', '00900200', '00900201', '03320201', '03330201', '03330601', '03320601',
      '05060001', '0506003E', '05060101', '0506013E', '05060201', '0506FF01', '0506FF3E', '05010001', '05010101', '05000001',
      '03110000', '03110001', '0311000A', '03300D00', '03300D01', '1D000001', '1D000101', '1E000001', '1E000101', '03300001',
      '9010', '901F', '9020', 'B611', 'B612', 'B613', 'B621', 'B622', 'B623', 'B630', 'C010', 'C011', 'C032', 'C033',
    ];
    for (const di of required) expect(lookup(di), di).toBeDefined();
  });

  it('gives the lengths and access of the standard', () => {
    const expectations: readonly [string, number, string][] = [
      ['0001FF00', 20, 'read'],
      ['01010000', 8, 'read'],
      ['0101FF00', 40, 'read'],
      ['02010100', 2, 'read'],
      ['02020100', 3, 'read'],
      ['02030000', 3, 'read'],
      ['02060000', 2, 'read'],
      ['04000101', 4, 'readWrite'],
      ['04000102', 3, 'readWrite'],
      ['04000401', 6, 'read'],
      ['04000503', 2, 'read'],
      ['04000C01', 4, 'write'],
      ['04001001', 4, 'readWrite'],
      ['03320201', 2, 'read'],
      ['03330601', 4, 'read'],
      ['05060001', 5, 'read'],
      ['03110000', 3, 'read'],
      ['03110001', 12, 'read'],
      ['03300001', 50, 'read'],
      ['03300D01', 60, 'read'],
      ['1D000101', 34, 'read'],
      ['901F', 20, 'read'],
      ['B611', 2, 'read'],
      ['C032', 6, 'read'],
    ];
    for (const [di, length, access] of expectations) expect(lookup(di), di).toMatchObject({ length, access });
    expect(lookup('04000401')?.category).toBe('identity');
    expect(lookup('00010000')?.signed).toBe(false);
    expect(lookup('00000000')?.signed).toBe(true);
  });

  it('filters', () => {
    expect(dataItems({ category: 'password' }).every((d) => d.access === 'write')).toBe(true);
    expect(dataItems({ readable: false }).map((d) => d.di)).toEqual(dataItems({ category: 'password' }).map((d) => d.di));
    expect(dataItems({ edition: '1997' }).every((d) => d.di.length === 4)).toBe(true);
    expect(dataItems({ prefix: '0201' }).map((d) => d.di)).toEqual(['02010100', '02010200', '02010300', '0201FF00']);
    expect(dataItems({ prefix: '0001', block: true, category: 'energy' }).length).toBe(13);
    expect(dataItems({ writable: true, category: ['clock'] }).map((d) => d.di)).toEqual(['04000101', '04000102', 'C010', 'C011']);
    expect(dataItems((d) => d.di === '00900200').map((d) => d.name)).toEqual(['remaining amount']);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties (fixed seed)

/** Valid wire bytes for one value field. */
function validField(spec: ValueFieldSpec): fc.Arbitrary<number[]> {
  const codec = valueFieldCodec(spec);
  const n = spec.length;
  const bcdByte = fc.integer({ min: 0, max: 99 }).map((v) => ((v / 10) << 4) | v % 10);
  const absent = fc.constant(Array.from({ length: n }, () => 0xff));
  switch (codec.kind) {
    case 'binary':
    case 'hex':
    case 'bytes':
      return fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n });
    case 'digits':
      return fc.oneof({ weight: 9, arbitrary: fc.array(bcdByte, { minLength: n, maxLength: n }) }, { weight: 1, arbitrary: absent });
    case 'decimal': {
      const digits = fc.array(bcdByte, { minLength: n, maxLength: n });
      const value = spec.signed
        ? fc.tuple(digits, fc.integer({ min: 0, max: 7 }), fc.boolean()).map(([d, top, neg]) => {
            const out = [...d];
            out[n - 1] = (neg ? 0x80 : 0) | (top << 4) | (out[n - 1]! & 0x0f);
            return out;
          })
        : digits;
      return fc.oneof({ weight: 9, arbitrary: value }, { weight: 1, arbitrary: absent });
    }
    case 'datetime': {
      const ranges = Object.values(DATE_TIME_TOKENS);
      const fields = codec.dateFields.map((f) => {
        const r = ranges.find((t) => t.field === f)!;
        return fc.integer({ min: r.min, max: r.max }).map((v) => ((v / 10) << 4) | v % 10);
      });
      // wire order is the reverse of format order
      const value = fc.tuple(...fields).map((bytes) => [...bytes].reverse());
      return fc.oneof({ weight: 9, arbitrary: value }, { weight: 1, arbitrary: absent });
    }
  }
}

function validPayload(di: string): fc.Arbitrary<Uint8Array> {
  const layouts = [undefined, 0, 1, 2, 4, 8, 63].map((k) => valueLayout(di, k)).filter((l) => l !== undefined);
  return fc.constantFrom(...layouts).chain((layout) => fc.tuple(...layout.map((e) => validField(e.spec))).map((parts) => Uint8Array.from(parts.flat())));
}

describe('properties (seed 6452007)', () => {
  const dis = dataItems().map((d) => d.di);

  it('decodeValue never throws on random payloads, and re-encodes every payload it accepts', () => {
    for (const di of dis) {
      const length = lookup(di)!.length;
      fc.assert(
        fc.property(
          fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: length, maxLength: length })),
          fc.boolean(),
          (payload, lenient) => {
            const r = decodeValue(di, payload, lenient ? { trailingBytes: 'ignore' } : undefined);
            if (!r.ok) {
              expect(r.error.code).toMatch(/^dlt645\./);
              expect(r.error.offset).toBeGreaterThanOrEqual(0);
              expect(r.error.offset).toBeLessThanOrEqual(payload.length);
              return;
            }
            const again = encodeValue(di, r.value);
            expect(toHex(again)).toBe(toHex(payload.subarray(0, again.length)));
            if (!lenient) expect(again.length).toBe(payload.length);
            describeValue(di, r.value);
          },
        ),
        { seed: SEED, numRuns: 12 },
      );
    }
  });

  it('encode∘decode is the identity on valid payloads, and decode∘encode on their values', () => {
    for (const di of dis) {
      fc.assert(
        fc.property(validPayload(di), (payload) => {
          const r = decodeValue(di, payload);
          if (!r.ok) throw new Error(`${di} ${toHex(payload)}: ${r.error.code} at ${r.error.offset}: ${r.error.message}`);
          const bytes = encodeValue(di, r.value);
          expect(toHex(bytes)).toBe(toHex(payload));
          expect(decodeValue(di, bytes)).toEqual(r);
        }),
        { seed: SEED, numRuns: 8 },
      );
    }
  });
});
