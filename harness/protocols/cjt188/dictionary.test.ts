/** The CJ/T 188 data dictionary: identifiers the issue lists, units, ST under each layout (MM-03). */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { FunctionCode } from './constants.ts';
import { dataItems, decodeStatus, decodeValue, encodeStatus, encodeValue, lookup, unitCode, unitName, UNITS, type ValveState } from './dictionary.ts';

describe('identifiers', () => {
  it('defines every identifier of PROTOCOLS.md 2.4 with a name, a Chinese name, a direction and a source', () => {
    const expected = ['901F', ...Array.from({ length: 12 }, (_, i) => `D1${(0x20 + i).toString(16).toUpperCase()}`), '8102', '8103', '8104', '8105', '8106', '810A', 'A010', 'A011', 'A012', 'A013', 'A014', 'A015', 'A016', 'A017', 'A018', 'A019'];
    expect(dataItems().map((d) => d.di)).toEqual(expected);
    for (const d of dataItems()) {
      expect(d.name.length, d.di).toBeGreaterThan(0);
      expect(d.nameZh.length, d.di).toBeGreaterThan(0);
      expect(d.source.length, d.di).toBeGreaterThan(0);
      expect(d.direction, d.di).toBe(d.di.startsWith('A') ? 'write' : 'read');
    }
    expect(lookup('d12b')?.nameZh).toBe('上12月历史计量数据');
    expect(lookup('8106')?.functionCode).toBe(FunctionCode.ReadKeyVersion);
    expect(lookup('810A')?.functionCode).toBe(FunctionCode.ReadAddress);
    expect(lookup('A018')?.functionCode).toBe(FunctionCode.WriteAddress);
    expect(lookup('A016')?.functionCode).toBe(FunctionCode.WriteSyncData);
    expect(lookup('1234')).toBeUndefined();
  });

  it('no identifier is another one byte-reversed, so reading either DI order is never ambiguous (PROTOCOLS.md 2.4)', () => {
    const dis = new Set(dataItems().map((d) => d.di));
    for (const di of dis) {
      const reversed = di.slice(2) + di.slice(0, 2);
      if (reversed !== di) expect(dis.has(reversed), `${di} / ${reversed}`).toBe(false);
    }
  });

  it('lays 901F out as 19 bytes for water and gas and 43 for heat meters, chosen by family or by length', () => {
    const water = hex('00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84');
    expect(decodeValue('901F', water, { family: 'heat' })).toMatchObject({ ok: true, value: { currentFlow: { value: 556677 } } });
    const heat = hex('11 74 02 00 05 88 27 44 05 05 00 00 00 00 17 00 00 00 00 35 08 56 71 00 2C 79 26 00 64 26 00 66 47 07 11 52 17 03 09 25 20 00 05');
    const r = decodeValue('901F', heat, { family: 'water' });
    expect(r).toMatchObject({ ok: true, value: { supplyTemperature: 26.79, workingHours: 74766 } });
    if (r.ok) expect(toHex(encodeValue('901F', r.value))).toBe(toHex(heat));
  });

  it('reports unknown identifiers, wrong lengths and non-BCD bytes with offsets in the value', () => {
    expect(decodeValue('1234', hex('00'))).toMatchObject({ ok: false, error: { code: 'cjt188.unknown-di', offset: 0 } });
    expect(decodeValue('8103', hex('15 00'))).toMatchObject({ ok: false, error: { code: 'cjt188.value-length', offset: 1 } });
    expect(decodeValue('8103', hex('1A'))).toMatchObject({ ok: false, error: { code: 'cjt188.bcd', offset: 0 } });
    expect(decodeValue('A015', hex('00 30 14 30 11 2A 20'))).toMatchObject({ ok: false, error: { code: 'cjt188.bcd', offset: 5 } });
  });

  it('keeps opaque layouts as hex in wire order', () => {
    expect(decodeValue('8102', hex('01 02 03'))).toEqual({ ok: true, value: { priceTable: '01 02 03' } });
    expect(toHex(encodeValue('8102', { priceTable: '01 02 03' }))).toBe('01 02 03');
    expect(decodeValue('A019', new Uint8Array(0))).toEqual({ ok: true, value: { data: '' } });
  });
});

describe('units (PROTOCOLS.md 2.5)', () => {
  it('maps every unit byte of the table both ways, and keeps an unlisted byte', () => {
    expect(Object.keys(UNITS)).toHaveLength(16);
    for (const [code, name] of Object.entries(UNITS)) expect(unitCode(name)).toBe(Number(code));
    expect(unitName(0x2c)).toBe('m³');
    expect(unitName(0x35)).toBe('m³/h');
    expect(unitName(0x05)).toBe('kWh');
    expect(unitName(0x00)).toBeNull();
    expect(() => unitCode('ft³')).toThrow(/no CJ\/T 188 unit/);
  });
});

describe('status word ST (MM-03: every valve state and battery low, under each layout)', () => {
  const states: ValveState[] = ['open', 'closed', 'reserved', 'abnormal'];
  it.each([
    // layout, [ST0 ST1 for valve 00/01/10/11], ST0 ST1 for battery low alone
    ['standard', ['00 00', '01 00', '02 00', '03 00'], '04 00'],
    ['kingda', ['00 00', '00 01', '00 02', '00 03'], '00 04'],
    ['masks', ['00 00', '40 00', '80 00', 'C0 00'], '20 00'],
  ] as const)('%s', (layout, valve, battery) => {
    valve.forEach((st, i) => {
      const [a, b] = hex(st);
      expect(decodeStatus(a!, b!, layout)).toEqual({ raw: st, valve: states[i], batteryLow: false, layout });
      expect(toHex(encodeStatus({ valve: states[i]!, batteryLow: false }, layout))).toBe(st);
    });
    const [a, b] = hex(battery);
    expect(decodeStatus(a!, b!, layout)).toMatchObject({ valve: 'open', batteryLow: true });
    expect(toHex(encodeStatus({ valve: 'open', batteryLow: true }, layout))).toBe(battery);
  });

  it('keeps the vendor bits when valve and battery are set', () => {
    expect(toHex(encodeStatus({ raw: 'F8 FF', valve: 'closed', batteryLow: false }, 'standard'))).toBe('F9 FF');
    expect(() => encodeStatus({ valve: 'ajar' as ValveState, batteryLow: false })).toThrow(/valve state/);
  });

  it('reads the same bytes differently per layout (why it is a dialect option)', () => {
    // Vector 22, ST 00 05: standard says open and battery ok; KingDa says closed and battery low.
    expect(decodeStatus(0x00, 0x05, 'standard')).toMatchObject({ valve: 'open', batteryLow: false });
    expect(decodeStatus(0x00, 0x05, 'kingda')).toMatchObject({ valve: 'closed', batteryLow: true });
  });
});
