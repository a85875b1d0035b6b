import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import {
  BAUD_FEATURE_WORD,
  BROADCAST_ADDRESS,
  FunctionCode,
  FunctionCode1997,
  WILDCARD_ADDRESS,
  baudToFeatureWord,
  editionOf,
  featureWordToBaud,
  functionCodeByName,
  functionName,
} from './constants.ts';
import {
  addressMatches,
  addressToWire,
  decodeFrame,
  encodeFrame,
  frameExtent,
  isBroadcast,
  isWildcard,
  makeControl,
  parseControl,
  wireToAddress,
} from './frame.ts';

describe('control field C (PROTOCOLS.md 1.3)', () => {
  it('splits D7 direction, D6 abnormal, D5 follow-up, D4..D0 function', () => {
    expect(parseControl(0x11)).toEqual({ raw: 0x11, isResponse: false, isAbnormal: false, hasFollowUp: false, functionCode: 0x11 });
    expect(parseControl(0x91)).toEqual({ raw: 0x91, isResponse: true, isAbnormal: false, hasFollowUp: false, functionCode: 0x11 });
    expect(parseControl(0xb1)).toEqual({ raw: 0xb1, isResponse: true, isAbnormal: false, hasFollowUp: true, functionCode: 0x11 });
    expect(parseControl(0xd1)).toEqual({ raw: 0xd1, isResponse: true, isAbnormal: true, hasFollowUp: false, functionCode: 0x11 });
    expect(parseControl(0xc1)).toMatchObject({ isResponse: true, isAbnormal: true, functionCode: 0x01 });
  });
  it('builds C: reply = request | 80H, abnormal = request | C0H, follow-up adds 20H', () => {
    expect(makeControl({ functionCode: FunctionCode.ReadData })).toBe(0x11);
    expect(makeControl({ functionCode: FunctionCode.ReadData, isResponse: true })).toBe(0x91);
    expect(makeControl({ functionCode: FunctionCode.ReadData, isResponse: true, hasFollowUp: true })).toBe(0xb1);
    expect(makeControl({ functionCode: FunctionCode.RemoteControl, isResponse: true, isAbnormal: true })).toBe(0xdc);
    expect(() => makeControl({ functionCode: 0x20 })).toThrow(EncodeError);
    expect(() => makeControl({ functionCode: -1 })).toThrow(EncodeError);
  });
});

describe('constants', () => {
  it('maps baud rates to feature words one bit each (PROTOCOLS.md 1.6)', () => {
    expect(BAUD_FEATURE_WORD[2400]).toBe(0x08);
    expect(baudToFeatureWord(600)).toBe(0x02);
    expect(baudToFeatureWord(19200)).toBe(0x40);
    expect(featureWordToBaud(0x10)).toBe(4800);
    expect(featureWordToBaud(0x20)).toBe(9600);
    // 600888/dlt645's BCD reading (9600 -> 32H) is not a feature word; neither is 0, two bits, or D0/D7.
    for (const z of [0x00, 0x01, 0x32, 0x16, 0x0a, 0x80, 0xd5]) expect(featureWordToBaud(z)).toBeNull();
    expect(() => baudToFeatureWord(2401)).toThrow(EncodeError);
  });
  it('names function codes per edition, and back', () => {
    expect(functionName(0x11)).toBe('readData');
    expect(functionName(FunctionCode.MultiFunctionOutput)).toBe('multiFunctionOutput');
    expect(functionName(FunctionCode1997.Read)).toBe('readData1997');
    expect(functionName(0x08, '1997')).toBe('broadcastTimeSync');
    expect(functionName(0x1e)).toBe('unknown1E');
    expect(functionName(0x11, '1997')).toBe('unknown11');
    expect(functionCodeByName('changeBaud1997')).toBe(0x0c);
    expect(functionCodeByName('unknown1E')).toBe(0x1e);
    expect(functionCodeByName('nonsense')).toBeNull();
    expect(editionOf(0x01)).toBe('1997');
    expect(editionOf(0x08)).toBe('2007');
    expect(editionOf(0x10)).toBe('1997');
    expect(editionOf(0x11)).toBe('2007');
  });
});

describe('addresses (PROTOCOLS.md 1.4)', () => {
  it('puts the low byte first: 123456789012 -> 12 90 78 56 34 12', () => {
    expect(toHex(addressToWire('123456789012'))).toBe('12 90 78 56 34 12');
    expect(wireToAddress(hex('12 90 78 56 34 12'))).toBe('123456789012');
    expect(toHex(addressToWire('aaaaaa123456'))).toBe('56 34 12 AA AA AA');
    expect(wireToAddress(hex('56 34 12 AA AA AA'))).toBe('AAAAAA123456');
    expect(wireToAddress(hex('1A 00 00 00 00 00'))).toBeNull();
    expect(wireToAddress(hex('00 00 00'))).toBeNull();
  });
  it('rejects addresses that are not 6 bytes of BCD or AA', () => {
    for (const bad of ['12345678901', '1234567890123', '12345678901A', 'AAAAAAAAAAA9', 'A1A1A1A1A1A1', '']) {
      expect(() => addressToWire(bad)).toThrow(EncodeError);
    }
  });
  it('classifies broadcast, full and abbreviated wildcard', () => {
    expect(isBroadcast(BROADCAST_ADDRESS)).toBe(true);
    expect(isBroadcast('123456789012')).toBe(false);
    expect(isWildcard(WILDCARD_ADDRESS)).toBe(true);
    expect(isWildcard('AAAAAA123456')).toBe(true);
    expect(isWildcard('aa0000000001')).toBe(true);
    expect(isWildcard('123456789012')).toBe(false);
    expect(isWildcard('12AAAAAAAAAA')).toBe(false); // AA must replace the high-order bytes
    expect(isWildcard('AA12AA345678')).toBe(false);
  });
  it('matches exact, wildcard, abbreviated wildcard and broadcast requests', () => {
    const meter = '123456789012';
    expect(addressMatches('123456789012', meter)).toBe(true);
    expect(addressMatches('123456789013', meter)).toBe(false);
    expect(addressMatches(WILDCARD_ADDRESS, meter)).toBe(true);
    expect(addressMatches('AAAAAA789012', meter)).toBe(true);
    expect(addressMatches('AAAAAA789013', meter)).toBe(false);
    expect(addressMatches('AAAAAAAAAA12', meter)).toBe(true);
    expect(addressMatches(BROADCAST_ADDRESS, meter)).toBe(true); // act, but never reply
    expect(addressMatches('12AAAAAAAAAA', meter)).toBe(false);
  });
});

describe('decodeFrame', () => {
  it('decodes a read-data reply (vector 6)', () => {
    // 68 | 12 90 78 56 34 12 = 123456789012 | 68 | C=91 | L=08 | 33 33 34 33 89 67 45 33 (+33H) | CS=54 | 16
    const bytes = hex('68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 54 16');
    const r = decodeFrame(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.start).toBe(0);
    expect(r.value.end).toBe(20);
    expect(toHex(r.value.raw)).toBe(toHex(bytes));
    expect(r.value.frame).toEqual({
      address: '123456789012',
      control: { raw: 0x91, isResponse: true, isAbnormal: false, hasFollowUp: false, functionCode: 0x11 },
      data: hex('00 00 01 00 56 34 12 00'),
      preamble: 0,
      checksum: 0x54,
      edition: '2007',
    });
  });
  it('counts FE preamble bytes, which the checksum does not cover (vector 0)', () => {
    const r = decodeFrame(hex('FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16'));
    expect(r).toMatchObject({ ok: true, value: { start: 0, end: 16, frame: { preamble: 4, address: 'AAAAAAAAAAAA', checksum: 0xdf } } });
  });
  it('decodes at an offset and reports the 1997 edition for 1997-only codes (vector 49)', () => {
    const bytes = hex('00 11 22 68 11 11 11 53 12 35 68 01 02 43 C3 A6 16 99');
    const r = decodeFrame(bytes, 3);
    expect(r).toMatchObject({ ok: true, value: { start: 3, end: 17, frame: { edition: '1997', address: '351253111111' } } });
  });
  it('accepts the abbreviated wildcard address AAAAAA123456', () => {
    // 68 | 56 34 12 AA AA AA | 68 | 11 | 04 | 33 33 34 33 (DI 00010000) | 4C | 16
    const r = decodeFrame(hex('68 56 34 12 AA AA AA 68 11 04 33 33 34 33 4C 16'));
    expect(r).toMatchObject({ ok: true, value: { frame: { address: 'AAAAAA123456' } } });
  });

  describe('errors, each with its code and absolute offset', () => {
    it('dlt645.truncated at the input length', () => {
      expect(decodeFrame(hex('68 12 90'))).toMatchObject({ ok: false, error: { code: 'dlt645.truncated', offset: 3 } });
      expect(decodeFrame(hex('FE FE'))).toMatchObject({ ok: false, error: { code: 'dlt645.truncated', offset: 2 } });
      expect(decodeFrame(new Uint8Array(0))).toMatchObject({ ok: false, error: { code: 'dlt645.truncated', offset: 0 } });
      // header complete, data and CS missing
      expect(decodeFrame(hex('68 12 90 78 56 34 12 68 91 08 33 33'))).toMatchObject({
        ok: false,
        error: { code: 'dlt645.truncated', offset: 12 },
      });
      // everything but the final 16H
      expect(decodeFrame(hex('68 12 90 78 56 34 12 68 94 00 1A'))).toMatchObject({
        ok: false,
        error: { code: 'dlt645.truncated', offset: 11 },
      });
    });
    it('dlt645.start at the first byte after the preamble', () => {
      expect(decodeFrame(hex('FE FE 69 12 90 78 56 34 12 68 94 00 1A 16'))).toMatchObject({
        ok: false,
        error: { code: 'dlt645.start', offset: 2 },
      });
      expect(decodeFrame(hex('00 68'), 0)).toMatchObject({ ok: false, error: { code: 'dlt645.start', offset: 0 } });
    });
    it('dlt645.second-start at byte 7 of the frame (after the preamble)', () => {
      expect(decodeFrame(hex('68 12 90 78 56 34 12 67 94 00 1A 16'))).toMatchObject({
        ok: false,
        error: { code: 'dlt645.second-start', offset: 7 },
      });
      expect(decodeFrame(hex('FE FE 68 12 90 78 56 34 12 00'))).toMatchObject({
        ok: false,
        error: { code: 'dlt645.second-start', offset: 9 },
      });
    });
    it('dlt645.length at L when L exceeds the limit (default 200 [BK], configurable)', () => {
      // L = C9H = 201
      expect(decodeFrame(hex('68 12 90 78 56 34 12 68 91 C9'))).toMatchObject({ ok: false, error: { code: 'dlt645.length', offset: 9 } });
      const short = hex('68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 54 16');
      expect(decodeFrame(short, 0, { maxDataLength: 7 })).toMatchObject({ ok: false, error: { code: 'dlt645.length', offset: 9 } });
      expect(decodeFrame(short, 0, { maxDataLength: 8 }).ok).toBe(true);
    });
    it('dlt645.checksum at CS, naming expected and found', () => {
      const r = decodeFrame(hex('FE 68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 55 16'));
      expect(r).toMatchObject({ ok: false, error: { code: 'dlt645.checksum', offset: 19 } });
      if (!r.ok) expect(r.error.message).toContain('expected 54H, found 55H');
    });
    it('dlt645.end at the byte after CS', () => {
      expect(decodeFrame(hex('68 12 90 78 56 34 12 68 94 00 1A 17'))).toMatchObject({ ok: false, error: { code: 'dlt645.end', offset: 11 } });
    });
    it('dlt645.address at the first byte that is neither BCD nor AAH', () => {
      // 68 | 1A 90 78 56 34 12 | 68 11 04 33 33 34 33 | CS 70 | 16 - checksum and framing are fine
      expect(decodeFrame(hex('68 1A 90 78 56 34 12 68 11 04 33 33 34 33 70 16'))).toMatchObject({
        ok: false,
        error: { code: 'dlt645.address', offset: 1 },
      });
    });
  });
});

describe('encodeFrame', () => {
  it('adds +33H, CS and 16H, with an optional FE preamble', () => {
    const bytes = encodeFrame({ address: '123456789012', control: 0x91, data: hex('00 00 01 00 56 34 12 00') });
    expect(toHex(bytes)).toBe('68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 54 16');
    expect(toHex(encodeFrame({ address: WILDCARD_ADDRESS, control: parseControl(0x13), preamble: 4 }))).toBe(
      'FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16',
    );
  });
  it('throws EncodeError for bad arguments', () => {
    expect(() => encodeFrame({ address: '12345678901', control: 0x11 })).toThrow(EncodeError);
    expect(() => encodeFrame({ address: '123456789012', control: 0x100 })).toThrow(EncodeError);
    expect(() => encodeFrame({ address: '123456789012', control: 0x11, preamble: -1 })).toThrow(EncodeError);
    expect(() => encodeFrame({ address: '123456789012', control: 0x11, data: new Uint8Array(256) })).toThrow(EncodeError);
    expect(encodeFrame({ address: '123456789012', control: 0x11, data: new Uint8Array(255) }).length).toBe(267);
  });
});

describe('frameExtent (a receiver\'s in-place fast path)', () => {
  const frame = encodeFrame({ address: '123456789012', control: 0x91, data: hex('33 33 34 33 89 67 45 33'), preamble: 2 });

  it('is the length exactly when decodeFrame decodes the whole input as one frame, else -1', () => {
    // Valid frames, with every single-byte corruption and every truncation or extension of them.
    const variants: Uint8Array[] = [frame, frame.subarray(2), encodeFrame({ address: 'AAAAAAAAAAAA', control: 0x13 })];
    for (let i = 0; i < frame.length; i++) {
      for (const delta of [1, 0x33]) {
        const v = frame.slice();
        v[i] = (v[i]! + delta) & 0xff;
        variants.push(v);
      }
      variants.push(frame.subarray(0, i));
    }
    variants.push(Uint8Array.of(...frame, 0x16), Uint8Array.of(0x00, ...frame));
    for (const v of variants) {
      const r = decodeFrame(v);
      expect(frameExtent(v), toHex(v)).toBe(r.ok && r.value.end === v.length ? v.length : -1);
    }
  });

  it('agrees with decodeFrame on arbitrary bytes and never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), fc.nat({ max: 12 }), (junk, cut) => {
        for (const v of [junk, Uint8Array.of(...frame.subarray(0, frame.length - cut), ...junk.subarray(0, cut))]) {
          const r = decodeFrame(v);
          expect(frameExtent(v)).toBe(r.ok && r.value.end === v.length ? v.length : -1);
        }
      }),
      { seed: 645, numRuns: 500 },
    );
  });
});
