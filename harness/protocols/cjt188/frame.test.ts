/** CJ/T 188 link layer (PROTOCOLS.md 2.1 - 2.3): golden frames, every error code with its offset. */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { meterTypeInfo } from './constants.ts';
import { addressMatches, addressToWire, decodeFrame, encodeFrame, makeControl, parseControl } from './frame.ts';

/**
 * Read data 901F to cold water meter 78330011223344, SER 00 (vector 1, syntropic test: CS 80H):
 * FE FE FE FE | 68 | 10 | 44 33 22 11 00 33 78 | 01 | 03 | 1F 90 00 | 80 | 16
 */
const READ_901F = 'FE FE FE FE 68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16';

describe('decodeFrame', () => {
  it('decodes a golden frame field by field', () => {
    const r = decodeFrame(hex(READ_901F));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.start).toBe(0);
    expect(r.value.end).toBe(20);
    expect(r.value.frame).toEqual({
      meterType: 0x10,
      address: '78330011223344',
      control: { raw: 0x01, isResponse: false, isAbnormal: false, functionCode: 0x01 },
      data: hex('1F 90 00'),
      preamble: 4,
      checksum: 0x80,
    });
  });

  it('encodes the same bytes back', () => {
    expect(toHex(encodeFrame({ meterType: 0x10, address: '78330011223344', control: 0x01, data: hex('1F 90 00'), preamble: 4 }))).toBe(READ_901F);
  });

  it('starts at an offset and reports absolute offsets', () => {
    const bytes = hex(`00 11 ${READ_901F}`);
    const r = decodeFrame(bytes, 2);
    expect(r.ok && r.value.start).toBe(2);
    const bad = bytes.slice();
    bad[20] = 0x81; // CS
    expect(decodeFrame(bad, 2)).toEqual({ ok: false, error: { code: 'cjt188.checksum', message: 'checksum mismatch: expected 80H, found 81H', offset: 20 } });
  });

  it.each([
    ['not a start character', '69 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16', 'cjt188.start', 0],
    ['address byte not BCD (A2 = 2AH), refused before the rest arrives', '68 10 44 33 2A', 'cjt188.address', 4],
    ['L below 3 (DI0 DI1 SER)', '68 10 44 33 22 11 00 33 78 01 02 1F 90 7F 16', 'cjt188.length', 10],
    ['truncated: offset is the input length', '68 10 44 33 22 11 00 33 78 01 03 1F 90', 'cjt188.truncated', 13],
    ['only FE', 'FE FE', 'cjt188.truncated', 2],
    ['wrong checksum', '68 10 44 33 22 11 00 33 78 01 03 1F 90 00 81 16', 'cjt188.checksum', 14],
    ['no end character', '68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 17', 'cjt188.end', 15],
  ])('%s -> %s at %i', (_what, text, code, offset) => {
    const r = decodeFrame(hex(text));
    expect(r.ok).toBe(false);
    if (!r.ok) expect([r.error.code, r.error.offset]).toEqual([code, offset]);
  });

  it('accepts any address byte with addressBytes "any" (vendor hex codes, [BK])', () => {
    const f = encodeFrame({ meterType: 0x10, address: '7AB30011223344', control: 0x01, data: hex('1F 90 00'), anyAddressBytes: true });
    expect(decodeFrame(f).ok).toBe(false);
    const r = decodeFrame(f, 0, { addressBytes: 'any' });
    expect(r.ok && r.value.frame.address).toBe('7AB30011223344');
  });

  it('takes a smaller L limit', () => {
    const r = decodeFrame(hex('68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16'), 0, { maxDataLength: 2 });
    expect(!r.ok && r.error.code).toBe('cjt188.length');
  });
});

describe('control, address, meter type', () => {
  it('splits C: D7 direction, D6 abnormal, D5..D0 function (PROTOCOLS.md 2.3 table)', () => {
    for (const [request, normal, abnormal] of [[0x01, 0x81, 0xc1], [0x09, 0x89, 0xc9], [0x03, 0x83, 0xc3], [0x04, 0x84, 0xc4], [0x15, 0x95, 0xd5], [0x16, 0x96, 0xd6]] as const) {
      expect(makeControl(request, true)).toBe(normal);
      expect(makeControl(request, true, true)).toBe(abnormal);
      expect(parseControl(abnormal)).toEqual({ raw: abnormal, isResponse: true, isAbnormal: true, functionCode: request });
    }
    expect(parseControl(0xaa)).toEqual({ raw: 0xaa, isResponse: true, isAbnormal: false, functionCode: 0x2a }); // Fox-Edge valve reply
    expect(() => makeControl(0x40)).toThrow(/00H\.\.3FH/);
  });

  it('puts the address low byte first and matches the wildcard', () => {
    expect(toHex(addressToWire('78330011223344'))).toBe('44 33 22 11 00 33 78');
    expect(() => addressToWire('7833001122334')).toThrow(/14 characters/);
    expect(() => addressToWire('7833001122334A')).toThrow(/decimal digits or AA/);
    expect(addressMatches('AAAAAAAAAAAAAA', '78330011223344')).toBe(true);
    expect(addressMatches('78330011223344', '78330011223344')).toBe(true);
    expect(addressMatches('78330011223345', '78330011223344')).toBe(false);
  });

  it('names every meter type of PROTOCOLS.md 2.2 and classifies custom ones', () => {
    expect([0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x30, 0x40, 0xaa].map((t) => meterTypeInfo(t).name)).toEqual([
      'coldWater', 'hotWater', 'drinkingWater', 'reclaimedWater', 'heat', 'cooling', 'gas', 'electricity', 'any',
    ]);
    expect(meterTypeInfo(0x25)).toMatchObject({ name: 'custom', family: 'heat' });
    expect(meterTypeInfo(0x99)).toMatchObject({ name: 'custom', family: 'custom' });
  });

  it('refuses bad encode arguments', () => {
    expect(() => encodeFrame({ meterType: 0x10, address: '78330011223344', control: 0x01, data: hex('1F 90') })).toThrow(/3\.\.255/);
    expect(() => encodeFrame({ meterType: 256, address: '78330011223344', control: 0x01, data: hex('1F 90 00') })).toThrow(/meter type/);
    expect(() => encodeFrame({ meterType: 0x10, address: '78330011223344', control: 0x01, data: hex('1F 90 00'), preamble: -1 })).toThrow(/preamble/);
  });
});
