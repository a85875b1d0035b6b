import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import {
  decodeSecondaryAddress,
  encodeSecondaryAddress,
  formatSecondaryAddress,
  hasWildcard,
  manufacturerCode,
  manufacturerValue,
  parseSecondaryAddress,
  secondaryAddressMatches,
} from './address.ts';
import { decodeApplication, encodeApplicationError, encodeSelection, encodeVariableDataResponse, identityOf } from './application.ts';
import { FB_VIFS, FD_VIFS, findVif, PRIMARY_VIFS, vibBytesOf } from './dictionary.ts';
import { decodeFrame, encodeFrame, type MbusLongFrame } from './frame.ts';
import { decodeMbusHex, describeFrame } from './json.ts';
import { decodeRecords, encodeManufacturerData, encodeRecord, type DataRecord, type RecordSpec } from './records.ts';

function one(bytes: Uint8Array): DataRecord {
  const r = decodeRecords(bytes);
  if (!r.ok) throw new Error(r.error.message);
  expect(r.value.records).toHaveLength(1);
  return r.value.records[0] as DataRecord;
}

function longFrame(bytes: Uint8Array): MbusLongFrame {
  const r = decodeFrame(bytes);
  if (!r.ok || (r.value.frame.type !== 'long' && r.value.frame.type !== 'control')) throw new Error('not a long frame');
  return r.value.frame;
}

describe('data records (MBUS.md 8)', () => {
  it('DIF/DIFE: storage number, tariff, subunit built up across DIFEs', () => {
    // 84 80 40 ...: 32-bit integer, DIFE 80 (continues), DIFE 40: subunit 2 (corpus example, MBUS.md 8)
    const a = one(hex('84 80 40 03 01 00 00 00'));
    expect([a.storageNumber, a.tariff, a.subunit]).toEqual([0, 0, 2]);
    // C4 9F 25: DIF storage bit 1, DIFE 9F: storage 15 << 1, tariff 1; DIFE 25: storage 5 << 5, tariff 2 << 2
    const b = one(hex('C4 9F 25 03 01 00 00 00'));
    expect([b.storageNumber, b.tariff, b.subunit]).toEqual([1 + (15 << 1) + (5 << 5), 1 + (2 << 2), 0]);
    expect(b.function).toBe('instantaneous');
    expect(one(hex('14 03 01 00 00 00')).function).toBe('maximum');
    expect(one(hex('24 03 01 00 00 00')).function).toBe('minimum');
    expect(one(hex('34 03 01 00 00 00')).function).toBe('error');
  });

  it('data types: integers are signed, reals, BCD with the F sign nibble, non-decimal BCD kept as digits', () => {
    expect(one(hex('01 03 FF')).value).toEqual({ type: 'integer', value: -1 });
    expect(one(hex('02 03 00 80')).value).toEqual({ type: 'integer', value: -32768 });
    expect(one(hex('03 03 01 02 03')).value).toEqual({ type: 'integer', value: 0x030201 });
    expect(one(hex('06 03 FF FF FF FF FF FF')).value).toEqual({ type: 'integer', value: -1 });
    expect(one(hex('07 03 FF FF FF FF FF FF FF 7F')).value).toEqual({ type: 'integer', value: 2n ** 63n - 1n });
    expect(one(hex('05 03 00 00 C0 3F')).value).toEqual({ type: 'real', value: 1.5 });
    expect(one(hex('0C 03 78 56 34 12')).value).toEqual({ type: 'bcd', digits: '12345678', value: 12345678 });
    expect(one(hex('0C 03 23 01 00 F0')).value).toEqual({ type: 'bcd', digits: 'F0000123', value: -123 });
    expect(one(hex('09 03 12')).value).toEqual({ type: 'bcd', digits: '12', value: 12 });
    expect(one(hex('0E 03 01 00 00 00 00 10')).value).toEqual({ type: 'bcd', digits: '100000000001', value: 100000000001 });
    expect(one(hex('3C 2B BD EB DD DD')).value).toEqual({ type: 'bcd', digits: 'DDDDEBBD', value: null }); // value during error state
  });

  it('scaling from the dictionary: energy 10^3 Wh, volume 10^-2 m^3, return temperature 0.1 °C, corrections', () => {
    const e = one(hex('04 06 10 27 00 00')); // 10000 × 1 kWh
    expect([e.vib.entry?.quantity, e.vib.entry?.unit, e.scaled]).toEqual(['Energy', 'Wh', 10_000_000]);
    expect(one(hex('04 14 10 27 00 00')).scaled).toBeCloseTo(100, 9);
    expect(one(hex('02 5E 2C 01')).vib.entry?.quantity).toBe('Return temperature');
    expect(one(hex('02 5E 2C 01')).scaled).toBeCloseTo(30, 9);
    // VIF 96 (volume 1 m^3, E bit) + VIFE 74 (×10^-2): 250 × 1 × 0.01
    const c = one(hex('02 96 74 FA 00'));
    expect(c.vib.combinable.map((x) => x.code)).toEqual([0x74]);
    expect(c.scaled).toBeCloseTo(2.5, 9);
    // 3B forward flow: no effect on the number
    expect(one(hex('04 86 3B 01 00 00 00')).scaled).toBe(1000);
  });

  it('FD and FB extension tables: voltage, current, error flags, MWh', () => {
    const v = one(hex('02 FD 48 E6 08')); // FD 48: voltage 10^-1 V, 2278 -> 227.8 V
    expect([v.vib.kind, v.vib.entry?.quantity, v.vib.entry?.unit]).toEqual(['fd', 'Voltage', 'V']);
    expect(v.scaled).toBeCloseTo(227.8, 9);
    expect(one(hex('02 FD 59 0A 00')).vib.entry).toMatchObject({ quantity: 'Current', unit: 'A', exponent: -3 });
    expect(one(hex('01 FD 17 04')).vib.entry?.quantity).toBe('Error flags');
    const m = one(hex('04 FB 01 02 00 00 00')); // FB 01: energy 1 MWh
    expect([m.vib.kind, m.scaled]).toEqual(['fb', 2e6]);
  });

  it('dates and times: type G, type F (with summer time and invalid bits), type I', () => {
    // 42 6C BF 15: storage 1, type G: day 31, month 5, year (5 | 1 << 3) = 13 -> 2013-05-31
    expect(one(hex('42 6C BF 15')).value).toEqual({ type: 'date', year: 2013, month: 5, day: 31 });
    // 04 6D 1E 0D 2C 12: minute 30, hour 13, day 12, month 2, year 1 | (1 << 3) = 9 -> 2009-02-12T13:30
    expect(one(hex('04 6D 1E 0D 2C 12')).value).toMatchObject({ type: 'dateTime', year: 2009, month: 2, day: 12, hour: 13, minute: 30, invalid: false, summerTime: false });
    expect(one(hex('04 6D 9E 8D 2C 12')).value).toMatchObject({ invalid: true, summerTime: true });
    expect(one(hex('06 6D 2A 1E 0D 2C 12 00')).value).toMatchObject({ type: 'dateTime', second: 42, minute: 30, hour: 13, year: 2009 });
    expect(one(hex('04 FD 70 1E 0D 2C 12')).value).toMatchObject({ type: 'dateTime', hour: 13 }); // battery change
  });

  it('variable length: text sent last character first, BCD, binary; plain-text VIF', () => {
    expect(one(hex('0D 78 03 43 42 41')).value).toEqual({ type: 'text', value: 'ABC' });
    expect(one(hex('0D 13 C2 34 12')).value).toEqual({ type: 'bcd', digits: '1234', value: 1234 });
    expect(one(hex('0D 13 D1 05')).value).toEqual({ type: 'bcd', digits: '05', value: -5 });
    expect(one(hex('0D 13 E2 AB CD')).value).toEqual({ type: 'bytes', hex: 'AB CD' });
    // 02 FC 03 48 52 25 74 D4 11: plain-text "%RH", VIFE 74 (×10^-2), 4564 -> 45.64 (corpus elv_temp_humid)
    const rh = one(hex('02 FC 03 48 52 25 74 D4 11'));
    expect([rh.vib.kind, rh.vib.plainText]).toEqual(['plain-text', '%RH']);
    expect(rh.scaled).toBeCloseTo(45.64, 9);
  });

  it('special DIFs: 2F filler skipped, 0F manufacturer data to the end, 1F more records follow', () => {
    const r = decodeRecords(hex('2F 2F 01 03 05 1F 01 02 03'));
    expect(r.ok && r.value.fillers).toBe(2);
    expect(r.ok && r.value.moreRecordsFollow).toBe(true);
    expect(r.ok && r.value.records[1]).toMatchObject({ kind: 'manufacturer', dif: 0x1f, moreRecordsFollow: true, data: hex('01 02 03') });
    const m = decodeRecords(hex('0F AA'));
    expect(m.ok && m.value.moreRecordsFollow).toBe(false);
  });

  it('malformed records: typed errors with offsets', () => {
    const cases: [string, string, number][] = [
      ['84', 'mbus.dif-truncated', 1],
      ['04', 'mbus.vif-truncated', 1],
      ['04 86', 'mbus.vif-truncated', 2],
      ['04 03 01 02', 'mbus.data-truncated', 4],
      ['3F', 'mbus.dif-reserved', 0],
      ['0D 03 F8', 'mbus.lvar-reserved', 2],
      ['02 7C 81', 'mbus.plain-vif-length', 2],
      [`8C ${'80 '.repeat(10)}00 03`, 'mbus.dife-limit', 11],
      [`0C 83 ${'80 '.repeat(10)}00`, 'mbus.vife-limit', 12],
    ];
    for (const [h, code, offset] of cases) {
      const r = decodeRecords(hex(h));
      expect(r.ok ? 'ok' : { code: r.error.code, offset: r.error.offset }, h).toEqual({ code, offset });
    }
  });
});

describe('encodeRecord', () => {
  it('encodes the golden records back to their bytes', () => {
    const specs: [RecordSpec, string][] = [
      [{ dataField: 0x4, vib: [0x06], value: { type: 'integer', value: 10000 } }, '04 06 10 27 00 00'],
      [{ dataField: 0x4, subunit: 2, vib: [0x03], value: { type: 'integer', value: 1 } }, '84 80 40 03 01 00 00 00'],
      [{ dataField: 0xc, vib: [0x03], value: { type: 'bcd', value: -123 } }, '0C 03 23 01 00 F0'],
      [{ dataField: 0x2, storageNumber: 1, vib: [0x6c], value: { type: 'date', year: 2013, month: 5, day: 31 } }, '42 6C BF 15'],
      [{ dataField: 0x2, vib: [0xfc, 0x74], plainText: '%RH', value: { type: 'integer', value: 4564 } }, '02 FC 03 48 52 25 74 D4 11'],
      [{ dataField: 0xd, vib: [0x78], value: { type: 'text', value: 'ABC' } }, '0D 78 03 43 42 41'],
      [{ dataField: 0x4, function: 'maximum', tariff: 1, vib: [0x2b], value: { type: 'integer', value: 0 } }, '94 10 2B 00 00 00 00'],
    ];
    for (const [spec, h] of specs) expect(toHex(encodeRecord(spec)), h).toBe(h);
    expect(toHex(encodeManufacturerData(hex('01 02'), true))).toBe('1F 01 02');
  });

  it('refuses values that do not fit', () => {
    expect(() => encodeRecord({ dataField: 0x1, vib: [0x03], value: { type: 'integer', value: 256 } })).toThrow(EncodeError);
    expect(() => encodeRecord({ dataField: 0x9, vib: [0x03], value: { type: 'bcd', value: 100 } })).toThrow(EncodeError);
    expect(() => encodeRecord({ dataField: 0x4, vib: [0x83], value: { type: 'integer', value: 1 } })).toThrow(EncodeError); // E bit on the last VIB byte
    expect(() => encodeRecord({ dataField: 0x4, vib: [0x03], value: { type: 'text', value: 'x' } })).toThrow(EncodeError);
    expect(() => encodeRecord({ dataField: 0x2, vib: [0x6c], value: { type: 'date', year: 1970, month: 1, day: 1 } })).toThrow(EncodeError);
  });
});

describe('dictionary', () => {
  it('one entry per code, in the tables MBUS.md 9-10 give', () => {
    expect(PRIMARY_VIFS.size).toBe(0x7b); // 00..7A
    expect(FD_VIFS.size).toBe(0x80);
    expect(FB_VIFS.size).toBe(0x80);
    expect(PRIMARY_VIFS.get(0x13)).toMatchObject({ quantity: 'Volume', unit: 'm^3', exponent: -3 });
    expect(PRIMARY_VIFS.get(0x22)).toMatchObject({ quantity: 'On time', unit: 's', scale: 3600 });
    expect(FB_VIFS.get(0x08)).toMatchObject({ quantity: 'Energy', unit: 'J', scale: 1e8 });
    const kwh = findVif('Energy', 'Wh', 1000)!;
    expect(vibBytesOf(kwh)).toEqual([0x06]);
    expect(vibBytesOf(findVif('Voltage', 'V', 0.1)!)).toEqual([0xfd, 0x48]);
  });
});

describe('fixed header, CI dispatch, application errors (MBUS.md 5, 7)', () => {
  const frame = encodeVariableDataResponse({
    address: 5,
    header: { id: '12345678', manufacturer: manufacturerValue('KAM'), version: 1, medium: 0x04, accessNumber: 7, status: 0, signature: 0 },
    records: [encodeRecord({ dataField: 0x4, vib: [0x06], value: { type: 'integer', value: 1234 } })],
  });

  it('CI 72 round trip: header and records', () => {
    const app = decodeApplication(longFrame(frame));
    expect(app.ok).toBe(true);
    if (!app.ok || app.value.kind !== 'variableData' || app.value.header?.type !== 'long') return;
    expect(app.value.header).toMatchObject({ id: '12345678', manufacturerCode: 'KAM', version: 1, medium: 4, mediumName: 'Heat (outlet)', accessNumber: 7 });
    expect(formatSecondaryAddress(identityOf(app.value.header))).toBe('123456782D2C0104');
    expect(app.value.records[0]).toMatchObject({ kind: 'data', scaled: 1234000 });
  });

  it('application error, wrong direction, unsupported CI, short header', () => {
    const e = decodeApplication(longFrame(encodeApplicationError(1, 8)));
    expect(e.ok && e.value).toMatchObject({ kind: 'applicationError', code: 8 });
    const wrongDirection = decodeApplication(longFrame(encodeFrame({ type: 'long', control: 0x53, address: 1, ci: 0x72, data: hex('00') })));
    expect(!wrongDirection.ok && wrongDirection.error).toMatchObject({ code: 'mbus.ci-direction', offset: 6 });
    const msbFirst = decodeApplication(longFrame(encodeFrame({ type: 'long', control: 0x08, address: 1, ci: 0x76 })));
    expect(!msbFirst.ok && msbFirst.error).toMatchObject({ code: 'mbus.ci-unsupported', offset: 6 });
    const short = decodeApplication(longFrame(encodeFrame({ type: 'long', control: 0x08, address: 1, ci: 0x7a, data: hex('07 00 00 00 01 03 0E') })));
    expect(short.ok && short.value).toMatchObject({ kind: 'variableData', header: { type: 'short', accessNumber: 7 } });
  });

  it('decodeMbusHex: JSON-clean, ok for a good frame, typed error otherwise', () => {
    const good = decodeMbusHex(toHex(frame));
    expect(good.ok).toBe(true);
    expect(JSON.parse(JSON.stringify(good.json))).toMatchObject({ type: 'long', address: 5, ci: '72', application: { header: { manufacturerCode: 'KAM' } } });
    expect(decodeMbusHex('10 5B 01 5C 16').json).toMatchObject({ ok: true, type: 'short', control: { functionName: 'REQ_UD2' } });
    expect(decodeMbusHex('zz').json).toMatchObject({ ok: false, error: { code: 'hex.invalid-character', offset: 0 } });
    expect(decodeMbusHex('E5 00').json).toMatchObject({ ok: false, error: { code: 'mbus.trailing', offset: 1 } });
  });
});

describe('secondary addressing (MBUS.md 6)', () => {
  const kam = { id: '06855817', manufacturer: manufacturerValue('KAM'), version: 0x08, medium: 0x04 };

  it('manufacturer codes: KAM = 2C2D', () => {
    expect(manufacturerValue('KAM')).toBe(0x2c2d);
    expect(manufacturerCode(0x2c2d)).toBe('KAM');
    expect(() => manufacturerValue('kam')).toThrow(EncodeError);
  });

  it("libmbus's 16-character form keeps the manufacturer in wire order", () => {
    expect(formatSecondaryAddress(kam)).toBe('068558172D2C0804');
    const p = parseSecondaryAddress('068558172D2C0804');
    expect(p.ok && p.value).toEqual(kam);
    const bad = parseSecondaryAddress('0685581A2D2C0804');
    expect(!bad.ok && bad.error).toMatchObject({ code: 'mbus.secondary-address', offset: 7 });
  });

  it('selection frame: SND_UD to FD, CI 52, the 8 address bytes; encode and decode', () => {
    const wildcard = parseSecondaryAddress('06855817FFFFFFFF');
    if (!wildcard.ok) throw new Error('parse');
    const bytes = encodeSelection(wildcard.value);
    expect(toHex(bytes)).toBe('68 0B 0B 68 53 FD 52 17 58 85 06 FF FF FF FF 98 16');
    const app = decodeApplication(longFrame(bytes));
    expect(app.ok && app.value).toEqual({ kind: 'selection', ci: 0x52, address: wildcard.value });
    expect(encodeSelection(kam, true)[4]).toBe(0x73);
  });

  it('wildcards: any ID nibble F, manufacturer FFFF, version FF, medium FF', () => {
    const match = (text: string): boolean => {
      const p = parseSecondaryAddress(text);
      if (!p.ok) throw new Error(text);
      return secondaryAddressMatches(p.value, kam);
    };
    expect(match('068558172D2C0804')).toBe(true);
    expect(match('06855817FFFFFFFF')).toBe(true);
    expect(match('FFFFFFFFFFFFFFFF')).toBe(true);
    expect(match('0685FFFF2D2CFF04')).toBe(true);
    expect(match('F6855817FFFFFFFF')).toBe(true); // F in the first digit: any
    expect(match('16855817FFFFFFFF')).toBe(false);
    expect(match('06855818FFFFFFFF')).toBe(false);
    expect(match('068558172C2D0804')).toBe(false); // manufacturer written the "natural" way selects nothing
    expect(match('06855817FFFF0904')).toBe(false);
    expect(match('06855817FFFFFF07')).toBe(false);
    expect(hasWildcard(kam)).toBe(false);
  });

  it('a selection ID nibble A-E is a typed error', () => {
    const r = decodeSecondaryAddress(hex('1A 58 85 06 2D 2C 08 04'));
    expect(!r.ok && r.error).toMatchObject({ code: 'mbus.selection-id', offset: 0 });
    expect(toHex(encodeSecondaryAddress(kam))).toBe('17 58 85 06 2D 2C 08 04');
  });
});

describe('a heat meter telegram (issue 11): what the simulator will send, decoded back', () => {
  // RSP_UD from 7, CI 72, ID 11223344 KAM v1, medium 04 (heat, outlet), access 3, status 0, then:
  const records = [
    encodeRecord({ dataField: 0xc, vib: [0x06], value: { type: 'bcd', value: 12345 } }), // 0C 06: energy 12345 kWh
    encodeRecord({ dataField: 0xc, vib: [0x14], value: { type: 'bcd', value: 45678 } }), // 0C 14: volume 456.78 m^3
    encodeRecord({ dataField: 0x2, vib: [0x59], value: { type: 'integer', value: 7012 } }), // 02 59: flow 70.12 °C
    encodeRecord({ dataField: 0x2, vib: [0x5d], value: { type: 'integer', value: 4505 } }), // 02 5D: return 45.05 °C
    encodeRecord({ dataField: 0x2, vib: [0x61], value: { type: 'integer', value: 2507 } }), // 02 61: difference 25.07 K
    encodeRecord({ dataField: 0x4, vib: [0x2b], value: { type: 'integer', value: 14600 } }), // 04 2B: power 14600 W
    encodeRecord({ dataField: 0x4, vib: [0x3b], value: { type: 'integer', value: 503 } }), // 04 3B: flow 0.503 m^3/h
    encodeRecord({ dataField: 0x4, vib: [0x6d], value: { type: 'dateTime', year: 2026, month: 11, day: 30, hour: 3, minute: 10 } }),
    encodeRecord({ dataField: 0xc, storageNumber: 1, vib: [0x06], value: { type: 'bcd', value: 12000 } }), // 4C 06: energy at the month end
    encodeRecord({ dataField: 0x2, storageNumber: 1, vib: [0x6c], value: { type: 'date', year: 2026, month: 10, day: 31 } }), // 42 6C
    encodeRecord({ dataField: 0x1, vib: [0xfd, 0x17], value: { type: 'integer', value: 0 } }), // 01 FD 17: error flags
  ];
  const frame = encodeVariableDataResponse({
    address: 7,
    header: { id: '11223344', manufacturer: manufacturerValue('KAM'), version: 1, medium: 0x04, accessNumber: 3, status: 0 },
    records,
  });

  it('every record comes back with its quantity, unit, scaled value and storage number', () => {
    const f = decodeFrame(frame);
    if (!f.ok) throw new Error(f.error.message);
    const app = decodeApplication(longFrame(frame));
    if (!app.ok || app.value.kind !== 'variableData') throw new Error('not variable data');
    const rows = app.value.records.map((r) =>
      r.kind === 'data' ? [r.vib.entry?.quantity, r.vib.entry?.unit, r.storageNumber, r.scaled === null ? r.value.type : Number(r.scaled.toPrecision(12))] : [r.kind],
    );
    expect(rows).toEqual([
      ['Energy', 'Wh', 0, 12345000],
      ['Volume', 'm^3', 0, 456.78],
      ['Flow temperature', '°C', 0, 70.12],
      ['Return temperature', '°C', 0, 45.05],
      ['Temperature difference', 'K', 0, 25.07],
      ['Power', 'W', 0, 14600],
      ['Volume flow', 'm^3/h', 0, 0.503],
      ['Time point (date & time)', '', 0, 'dateTime'],
      ['Energy', 'Wh', 1, 12000000],
      ['Time point (date)', '', 1, 'date'],
      ['Error flags', '', 0, 0],
    ]);
    expect(describeFrame(f.value, app)).toBe('RSP_UD ← 7 CI 72 11223344 KAM v1 Heat (outlet) acc 3: 11 record(s)');
  });

  it('describeFrame: the requests of a readout in one line each', () => {
    const d = (bytes: Uint8Array): string => {
      const f = decodeFrame(bytes);
      if (!f.ok) throw new Error(f.error.message);
      const lf = f.value.frame;
      return describeFrame(f.value, lf.type === 'long' || lf.type === 'control' ? decodeApplication(lf, 0) : undefined);
    };
    expect(d(hex('E5'))).toBe('E5');
    expect(d(hex('10 40 07 47 16'))).toBe('SND_NKE → 7');
    expect(d(hex('10 7B FE 79 16'))).toBe('REQ_UD2 FCB=1 → 254');
    expect(d(encodeSelection({ id: '11223344', manufacturer: 0xffff, version: 0xff, medium: 0xff }))).toBe('SND_UD FCB=0 → 253 CI 52 select 11223344FFFFFFFF');
    expect(d(encodeApplicationError(7, 9))).toBe('RSP_UD ← 7 CI 70 application error 09 too many readouts (for slaves with limited readouts per time)');
  });
});
