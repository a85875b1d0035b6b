/**
 * CJ/T 188 messages: golden frames (bytes commented) next to the message they decode to, in both
 * directions; dialects; every message error code with its offset.
 */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { DIALECTS, resolveDialect } from './dialect.ts';
import { decode, decodeMessage, diToWire, encodeMessage, readDi, valveControl } from './messages.ts';
import type { Cjt188Message } from './types.ts';

const METER = '78330011223344';

/** [meter type, golden frame, message]: decode(frame) = message and encodeMessage(message) = frame. */
const GOLDEN: readonly [string, number, string, Cjt188Message][] = [
  [
    // 68 | 10 | 44 33 22 11 00 33 78 | 04 | 0A | 15 A0 | SER 01 | 00 30 14 30 11 26 20 (ss mm hh DD MM YYYY) | 5C | 16
    'write standard time A015 2026-11-30 14:30:00',
    0x10,
    '68 10 44 33 22 11 00 33 78 04 0A 15 A0 01 00 30 14 30 11 26 20 5C 16',
    { kind: 'writeData', di: 'A015', diOrder: 'standard', ser: 1, value: { time: { year: 2026, month: 11, day: 30, hour: 14, minute: 30, second: 0 } } },
  ],
  [
    // 68 | 10 | A | 01 read | 03 | 21 D1 = D121 (history, month -2) | SER 02 | C5 | 16
    'read history month -2 (D121)',
    0x10,
    '68 10 44 33 22 11 00 33 78 01 03 21 D1 02 C5 16',
    { kind: 'readData', di: 'D121', diOrder: 'standard', ser: 2 },
  ],
  [
    // 68 | 10 | A | 81 | 08 | 21 D1 | 02 | 56 34 12 00 = 001234.56 | 2C m³ | 12 | 16
    'history reply 1234.56 m³ [BK layout]',
    0x10,
    '68 10 44 33 22 11 00 33 78 81 08 21 D1 02 56 34 12 00 2C 12 16',
    { kind: 'readDataResponse', di: 'D121', diOrder: 'standard', ser: 2, value: { settlementFlow: { value: 1234.56, unit: 'm³', unitCode: 0x2c } } },
  ],
  [
    // 68 | 30 gas | 03 00 .. 00 | 84 | 05 | 17 A0 | SER 01 | ST 01 00 (valve closed, standard layout) | DD | 16
    'valve reply with ST: closed',
    0x30,
    '68 30 03 00 00 00 00 00 00 84 05 17 A0 01 01 00 DD 16',
    { kind: 'valveControlResponse', di: 'A017', diOrder: 'standard', ser: 1, functionCode: 0x04, status: { raw: '01 00', valve: 'closed', batteryLow: false, layout: 'standard' } },
  ],
  [
    // 68 | 10 | A | C1 abnormal read reply | 05 | 1F 90 | 05 | ST 04 00 (battery low) | 4B | 16
    'abnormal read reply with ST [BK layout]',
    0x10,
    '68 10 44 33 22 11 00 33 78 C1 05 1F 90 05 04 00 4B 16',
    {
      kind: 'abnormalResponse',
      di: '901F',
      diOrder: 'standard',
      ser: 5,
      functionCode: 0x01,
      status: { raw: '04 00', valve: 'open', batteryLow: true, layout: 'standard' },
      payload: hex('04 00'),
    },
  ],
  [
    // 68 | 10 | A | 09 read key version | 03 | 06 81 = 8106 | 03 | 63 | 16
    'read key version 09H',
    0x10,
    '68 10 44 33 22 11 00 33 78 09 03 06 81 03 63 16',
    { kind: 'readKeyVersion', di: '8106', diOrder: 'standard', ser: 3 },
  ],
  [
    // 68 | 10 | A | 89 | 04 | 06 81 | 03 | key version 02 | E6 | 16
    'key version reply',
    0x10,
    '68 10 44 33 22 11 00 33 78 89 04 06 81 03 02 E6 16',
    { kind: 'readKeyVersionResponse', di: '8106', diOrder: 'standard', ser: 3, value: { keyVersion: 2 } },
  ],
  [
    // 68 | 10 | A | 04 | 04 | 11 A0 = A011 | 04 | day 15 | 9F | 16
    'write settlement day 15 [BK layout]',
    0x10,
    '68 10 44 33 22 11 00 33 78 04 04 11 A0 04 15 9F 16',
    { kind: 'writeData', di: 'A011', diOrder: 'standard', ser: 4, value: { day: 15 } },
  ],
  [
    // 68 | 20 heat | 78 56 34 12 00 11 11 | 96 sync-data reply | 03 | 16 A0 | 07 | 14 | 16
    'motor-sync reply without ST',
    0x20,
    '68 20 78 56 34 12 00 11 11 96 03 16 A0 07 14 16',
    { kind: 'writeSyncDataResponse', di: 'A016', diOrder: 'standard', ser: 7, status: null },
  ],
];

describe('golden frames', () => {
  it.each(GOLDEN)('%s', (_name, meterType, frame, message) => {
    const r = decode(hex(frame));
    if (!r.ok) throw new Error(`${r.error.code} at ${r.error.offset}`);
    expect(r.value.message).toEqual(message);
    expect(r.value.frame.meterType).toBe(meterType);
    const address = r.value.frame.address;
    expect(toHex(encodeMessage(meterType, address, message))).toBe(frame);
  });

  it('a valve command in each dialect: 04H standard (vector 14 bytes), 2AH Fox-Edge with DI big-endian (vector 10 bytes)', () => {
    const standard = encodeMessage(0x30, '00000000000003', valveControl('close', 1), { preamble: 3 });
    expect(toHex(standard)).toBe('FE FE FE 68 30 03 00 00 00 00 00 00 04 04 17 A0 01 99 F4 16');
    const fox = encodeMessage(0x10, '00000805000001', valveControl('close', 0, DIALECTS.foxEdge), { preamble: 3, dialect: DIALECTS.foxEdge });
    expect(toHex(fox)).toBe('FE FE FE 68 10 01 00 00 05 08 00 00 2A 04 A0 17 00 99 04 16');
  });
});

describe('DI byte order (PROTOCOLS.md 2.4)', () => {
  it('reads the dialect order first and the other order when only it names a known identifier', () => {
    expect(readDi(0x1f, 0x90)).toEqual({ di: '901F', diOrder: 'standard' });
    expect(readDi(0x90, 0x1f)).toEqual({ di: '901F', diOrder: 'reversed' });
    expect(readDi(0x34, 0x12)).toEqual({ di: '1234', diOrder: 'standard' }); // unknown either way: the dialect's order
    expect(readDi(0x90, 0x1f, resolveDialect({ acceptEitherDiOrder: false }))).toEqual({ di: '1F90', diOrder: 'standard' });
    expect(readDi(0x90, 0x1f, DIALECTS.foxEdge)).toEqual({ di: '901F', diOrder: 'reversed' });
    expect(toHex(diToWire('901F', 'standard'))).toBe('1F 90');
    expect(toHex(diToWire('901F', 'reversed'))).toBe('90 1F');
  });

  it('a strict dialect decodes a reversed 901F reply as an unknown identifier (other), not as metering data', () => {
    const bytes = hex('68 10 01 00 00 05 08 00 00 81 16 90 1F 00 00 23 01 00 2C 00 00 00 00 2C 00 00 00 00 00 00 00 00 00 48 16');
    const strict = decode(bytes, 0, resolveDialect({ acceptEitherDiOrder: false }));
    expect(strict.ok && strict.value.message.kind).toBe('other');
    const lenient = decode(bytes);
    expect(lenient.ok && lenient.value.message).toMatchObject({ kind: 'readDataResponse', di: '901F', diOrder: 'reversed' });
  });
});

describe('message errors carry a code and an absolute offset', () => {
  it.each([
    // read request with one byte after SER: the surplus byte at 14 (FE count 0)
    ['read request with data', '68 10 44 33 22 11 00 33 78 01 04 1F 90 00 55 D5 16', 'cjt188.data-length', 14],
    // a request with D6 set: offset of C (9)
    ['request with the abnormal bit', '68 10 44 33 22 11 00 33 78 41 03 1F 90 00 C0 16', 'cjt188.control', 9],
    // 901F reply one byte short: a value-length error inside the value
    ['short 901F reply', '68 10 44 33 22 11 00 33 78 81 15 1F 90 00 00 77 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 EE 16', 'cjt188.value-length', 32],
    // current flow byte 5A is not BCD: offset of that byte (15)
    ['non-BCD flow', '68 10 44 33 22 11 00 33 78 81 16 1F 90 00 00 5A 66 55 2C 00 77 66 55 2C 31 01 22 11 05 15 20 21 84 F6 16', 'cjt188.bcd', 15],
    // new address byte A1 = 0B: not BCD (offset 15)
    ['non-BCD new address', '68 10 02 00 00 05 08 00 00 15 0A 18 A0 00 01 0B 00 05 08 00 00 77 16', 'cjt188.address', 15],
    // valve command with two bytes
    ['valve command of two bytes', '68 30 03 00 00 00 00 00 00 04 05 17 A0 01 55 55 F3 16', 'cjt188.data-length', 15],
    // write reply with one byte (neither nothing nor ST)
    ['write reply with one byte', '68 30 03 00 00 00 00 00 00 84 04 17 A0 01 01 DC 16', 'cjt188.data-length', 15],
  ])('%s -> %s at %i', (_what, text, code, offset) => {
    const bytes = fixChecksum(hex(text));
    const r = decode(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect([r.error.code, r.error.offset]).toEqual([code, offset]);
  });

  it('offsets count the preamble', () => {
    const r = decode(fixChecksum(hex('FE FE 68 10 44 33 22 11 00 33 78 41 03 1F 90 00 C0 16')));
    expect(!r.ok && r.error.offset).toBe(11);
  });

  it('decodeMessage never throws on a frame object with less than DI SER', () => {
    const r = decodeMessage({ meterType: 0x10, address: METER, control: { raw: 1, isResponse: false, isAbnormal: false, functionCode: 1 }, data: hex('1F'), preamble: 0, checksum: 0 });
    expect(!r.ok && r.error.code).toBe('cjt188.data-length');
  });
});

describe('unknown function codes and identifiers', () => {
  it('decode as other and encode back', () => {
    const bytes = fixChecksum(hex('68 10 44 33 22 11 00 33 78 07 05 34 12 00 AB CD 00 16'));
    const r = decode(bytes);
    if (!r.ok) throw new Error(r.error.code);
    expect(r.value.message).toEqual({ kind: 'other', di: '1234', diOrder: 'standard', ser: 0, functionCode: 7, isResponse: false, payload: hex('AB CD') });
    expect(toHex(encodeMessage(0x10, METER, r.value.message))).toBe(toHex(bytes));
  });

  it('refuses what cannot go on the wire', () => {
    expect(() => encodeMessage(0x10, METER, { kind: 'readData', di: '901', diOrder: 'standard', ser: 0 })).toThrow(/4 hex digits/);
    expect(() => encodeMessage(0x10, METER, { kind: 'readData', di: '901F', diOrder: 'standard', ser: 256 })).toThrow(/SER/);
    expect(() => encodeMessage(0x10, METER, { kind: 'writeData', di: 'A017', diOrder: 'standard', ser: 0, value: { command: 0x55 } })).toThrow(/valveControl/);
    expect(() => encodeMessage(0x10, METER, { kind: 'writeData', di: 'A015', diOrder: 'standard', ser: 0, value: { time: { year: 2026, month: 100, day: 1, hour: 0, minute: 0, second: 0 } } })).toThrow(/month/);
  });
});

/** Sets CS to the sum of 68H .. the last data byte, so a test reaches the message decoder. */
function fixChecksum(bytes: Uint8Array): Uint8Array {
  const b = bytes.slice();
  let head = 0;
  while (b[head] === 0xfe) head++;
  const cs = b.length - 2;
  let s = 0;
  for (let i = head; i < cs; i++) s = (s + b[i]!) & 0xff;
  b[cs] = s;
  return b;
}
