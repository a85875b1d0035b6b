/** Link layer, C, A, SEQ, AUX and DA/DT (PROTOCOLS.md 3.1 - 3.6): golden bytes both ways, every error code with its offset. */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import { decodeDa, decodeDt, encodeDa, encodeDt, groupPairs } from './dadt.ts';
import { decodeFrame, encodeDecodedFrame, encodeFrame, isTimeTagExpired, makeControl, makeSeq, parseControl, parseSeq } from './frame.ts';

/** Vector 0: terminal login, A1 0200 A2 1234H, C9, SEQ 71, p0 F1. */
const LOGIN = hex('68 32 00 32 00 68 C9 00 02 34 12 00 02 71 00 00 01 00 85 16');
/** Vector 3: reset AFN 01 F1 with PW 16 x 00 and Tp. */
const RESET = hex('68 8A 00 8A 00 68 41 00 02 34 12 04 01 F0 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 28 53 13 07 05 19 16');

describe('control field C and SEQ', () => {
  it('splits C into DIR PRM FCB/ACD FCV function (login C9, confirm with ACD A0, read 4B)', () => {
    expect(parseControl(0xc9)).toEqual({ raw: 0xc9, dir: true, prm: true, fcb: false, acd: false, fcv: false, functionCode: 9 });
    expect(parseControl(0xa0)).toMatchObject({ dir: true, prm: false, acd: true, fcb: false, functionCode: 0 });
    expect(parseControl(0x7a)).toMatchObject({ dir: false, prm: true, fcb: true, acd: false, fcv: true, functionCode: 10 });
    expect(makeControl({ dir: false, prm: true, fcv: false, functionCode: 11 })).toBe(0x4b);
    expect(makeControl({ dir: true, prm: false, fcbOrAcd: true, functionCode: 0 })).toBe(0xa0);
    expect(() => makeControl({ dir: false, prm: true, functionCode: 16 })).toThrow(EncodeError);
  });
  it('SEQ: TpV FIR FIN CON and PSEQ, frame positions', () => {
    expect(parseSeq(0x71)).toEqual({ raw: 0x71, tpv: false, fir: true, fin: true, con: true, seq: 1, position: 'single' });
    expect(parseSeq(0xf0)).toMatchObject({ tpv: true, position: 'single', con: true, seq: 0 });
    expect(parseSeq(0x45).position).toBe('first');
    expect(parseSeq(0x05).position).toBe('middle');
    expect(parseSeq(0x25).position).toBe('last');
    expect(makeSeq({ seq: 1, con: true })).toBe(0x71);
    expect(makeSeq({ seq: 0, con: true, tpv: true })).toBe(0xf0);
    expect(makeSeq({ seq: 3, position: 'middle' })).toBe(0x03);
    expect(() => makeSeq({ seq: 16 })).toThrow(EncodeError);
  });
});

describe('decodeFrame / encodeFrame', () => {
  it('decodes the login and encodes it back', () => {
    const r = decodeFrame(LOGIN);
    if (!r.ok) throw new Error(r.error.message);
    const f = r.value.frame;
    expect(f.protocolId).toBe(2);
    expect(f.address).toEqual({ areaCode: '0200', terminal: 0x1234, msa: 0, group: false });
    expect(f.afn).toBe(2);
    expect(f.data).toEqual(hex('00 00 01 00'));
    expect(f.aux).toEqual({ pw: null, ec: null, tp: null });
    expect(r.value.dataOffset).toBe(14);
    expect(toHex(encodeDecodedFrame(f))).toBe(toHex(LOGIN));
    expect(toHex(encodeFrame({ control: 0xc9, address: f.address, afn: 2, seq: 0x71, data: hex('00 00 01 00') }))).toBe(toHex(LOGIN));
  });

  it('splits PW and Tp off a downlink AFN 01 frame', () => {
    const r = decodeFrame(RESET);
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.frame.data).toEqual(hex('00 00 01 00'));
    expect(r.value.frame.aux.pw).toHaveLength(16);
    expect(toHex(encodeDecodedFrame(r.value.frame))).toBe(toHex(RESET));
  });

  it('PW length is an option (2-byte PW of older terminals [BK])', () => {
    const short = encodeFrame({ control: 0x41, address: { areaCode: '0200', terminal: 1, msa: 2, group: false }, afn: 1, seq: 0x70, data: hex('00 00 01 00'), pw: hex('12 34') }, { pwLength: 2 });
    const r = decodeFrame(short, 0, { pwLength: 2 });
    expect(r.ok && toHex(r.value.frame.aux.pw!)).toBe('12 34');
    const asStandard = decodeFrame(short);
    expect(asStandard.ok ? 'ok' : asStandard.error.code).toBe('gw1376.aux');
  });

  it('every error has its code and offset', () => {
    const code = (b: Uint8Array): [string, number] => {
      const r = decodeFrame(b);
      return r.ok ? ['ok', -1] : [r.error.code, r.error.offset];
    };
    const patch = (i: number, v: number): Uint8Array => {
      const b = LOGIN.slice();
      b[i] = v;
      return b;
    };
    expect(code(patch(0, 0x69))).toEqual(['gw1376.start', 0]);
    expect(code(patch(1, 0x31))).toEqual(['gw1376.protocol-id', 1]);
    expect(code(patch(1, 0x1e))).toEqual(['gw1376.length', 1]); // 7 bytes of user data
    expect(code(patch(3, 0x36))).toEqual(['gw1376.length-mismatch', 3]);
    expect(code(patch(4, 0x01))).toEqual(['gw1376.length-mismatch', 4]);
    expect(code(patch(5, 0x16))).toEqual(['gw1376.start2', 5]);
    expect(code(LOGIN.subarray(0, 10))).toEqual(['gw1376.truncated', 10]);
    expect(code(LOGIN.subarray(0, 3))).toEqual(['gw1376.truncated', 3]);
    expect(code(new Uint8Array(0))).toEqual(['gw1376.truncated', 0]);
    expect(code(patch(18, 0x86))).toEqual(['gw1376.checksum', 18]);
    expect(code(patch(19, 0x17))).toEqual(['gw1376.end', 19]);
    // A downlink AFN 04 frame of 12 bytes of user data cannot hold its 16-byte PW.
    const noPw = encodeFrame({ control: 0x4a, address: { areaCode: '0200', terminal: 1, msa: 1, group: false }, afn: 0x0c, seq: 0x70, data: hex('00 00 01 00') });
    noPw[12] = 0x04;
    noPw[18] = (noPw[18]! + 0x04 - 0x0c) & 0xff;
    expect(code(noPw)).toEqual(['gw1376.aux', 14]);
    // Tp whose send time is not BCD.
    const badTp = RESET.slice();
    badTp[35] = 0x5a; // seconds (Tp = PFC at 34, ss mm hh DD, delay)
    badTp[40] = (badTp[40]! + 0x5a - 0x28) & 0xff;
    expect(code(badTp)).toEqual(['gw1376.tp', 34]);
  });

  it('longer than the limit: gw1376.length (255 on private radio)', () => {
    const big = encodeFrame({ control: 0x4b, address: { areaCode: '0200', terminal: 1, msa: 1, group: false }, afn: 0x0c, seq: 0x70, data: new Uint8Array(300) });
    expect(decodeFrame(big).ok).toBe(true);
    const r = decodeFrame(big, 0, { maxUserDataLength: 255 });
    expect(r.ok ? 'ok' : [r.error.code, r.error.offset]).toEqual(['gw1376.length', 1]);
  });

  it('encoding inconsistent AUX throws', () => {
    const base = { control: 0x41, address: { areaCode: '0200', terminal: 1, msa: 1, group: false }, afn: 1, seq: 0x70, data: hex('00 00 01 00') };
    expect(() => encodeFrame(base)).toThrow(/requires PW/);
    expect(() => encodeFrame({ ...base, pw: new Uint8Array(16), seq: 0xf0 })).toThrow(/TpV/);
    expect(() => encodeFrame({ ...base, control: 0xa0, afn: 0, pw: null })).toThrow(/EC/);
    expect(() => encodeFrame({ ...base, pw: new Uint8Array(16), address: { ...base.address, areaCode: 'XYZ' } })).toThrow(EncodeError);
  });
});

describe('time tag Tp', () => {
  const tp = { pfc: 0, day: 7, hour: 13, minute: 53, second: 28, delayMinutes: 5 };
  it('expires after its allowed delay, across midnight and a month end; delay 0 never expires [BK]', () => {
    expect(isTimeTagExpired(tp, { day: 7, hour: 13, minute: 58, second: 28 })).toBe(false);
    expect(isTimeTagExpired(tp, { day: 7, hour: 13, minute: 58, second: 29 })).toBe(true);
    expect(isTimeTagExpired({ ...tp, day: 31, hour: 23, minute: 59, second: 0 }, { day: 1, hour: 0, minute: 3, second: 0 })).toBe(false);
    expect(isTimeTagExpired({ ...tp, day: 30, hour: 23, minute: 59, second: 0 }, { day: 1, hour: 0, minute: 3, second: 0, daysInPreviousMonth: 30 })).toBe(false);
    expect(isTimeTagExpired({ ...tp, day: 30, hour: 23, minute: 50, second: 0 }, { day: 1, hour: 0, minute: 3, second: 0, daysInPreviousMonth: 30 })).toBe(true);
    expect(isTimeTagExpired({ ...tp, delayMinutes: 0 }, { day: 9, hour: 0, minute: 0, second: 0 })).toBe(false);
  });
});

describe('DA / DT (PROTOCOLS.md 3.5)', () => {
  it('worked examples', () => {
    expect(encodeDt([1])).toEqual([0x01, 0x00]);
    expect(encodeDt([3])).toEqual([0x04, 0x00]);
    expect(encodeDt([85])).toEqual([0x10, 0x0a]);
    expect(encodeDt([161])).toEqual([0x01, 0x14]);
    expect(encodeDt([167])).toEqual([0x40, 0x14]);
    expect(encodeDa([0])).toEqual([0, 0]);
    expect(encodeDa([1])).toEqual([0x01, 0x01]);
    expect(encodeDa([9])).toEqual([0x01, 0x02]);
    expect(decodeDt(0x80, 0xfe)).toEqual({ ok: true, value: [2040] });
  });
  it('several pn and Fn in one identifier, and back', () => {
    expect(decodeDa(0x05, 0x02)).toEqual({ ok: true, value: [9, 11] });
    expect(decodeDt(0x03, 0x00)).toEqual({ ok: true, value: [1, 2] });
    expect(encodeDa([9, 11])).toEqual([0x05, 0x02]);
    expect(encodeDt([33, 34, 40])).toEqual([0x83, 0x04]);
    expect(decodeDa(0xff, 0x00)).toEqual({ ok: true, value: 'all' });
    expect(encodeDa('all')).toEqual([0xff, 0x00]);
  });
  it('identifiers that name nothing are typed errors; out-of-group sets throw', () => {
    expect(decodeDa(0x01, 0x00, 20)).toMatchObject({ ok: false, error: { code: 'gw1376.da', offset: 20 } });
    expect(decodeDa(0x00, 0x03, 20)).toMatchObject({ ok: false, error: { code: 'gw1376.da' } });
    expect(decodeDt(0x00, 0x01, 22)).toMatchObject({ ok: false, error: { code: 'gw1376.dt', offset: 22 } });
    expect(() => encodeDa([1, 9])).toThrow(EncodeError);
    expect(() => encodeDa([0, 1])).toThrow(EncodeError);
    expect(() => encodeDt([8, 9])).toThrow(EncodeError);
    expect(() => encodeDt([2041])).toThrow(EncodeError);
  });
  it('groupPairs packs complete cross products into one identifier', () => {
    expect(groupPairs([{ pn: 1, fn: 129 }, { pn: 2, fn: 129 }, { pn: 1, fn: 130 }, { pn: 2, fn: 130 }])).toEqual([{ pns: [1, 2], fns: [129, 130] }]);
    expect(groupPairs([{ pn: 1, fn: 129 }, { pn: 2, fn: 130 }])).toEqual([{ pns: [1], fns: [129] }, { pns: [2], fns: [130] }]);
    expect(groupPairs([{ pn: 1, fn: 1 }, { pn: 9, fn: 1 }])).toEqual([{ pns: [1], fns: [1] }, { pns: [9], fns: [1] }]);
  });
});
