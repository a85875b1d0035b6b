import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import {
  addressKind,
  decodeFrame,
  decodeSingleFrame,
  encodeFrame,
  encodeReqUd2,
  encodeSndNke,
  isBroadcast,
  makeControl,
  parseControl,
} from './frame.ts';

describe('C field (MBUS.md 3)', () => {
  it('names every function and its bits', () => {
    expect(parseControl(0x40)).toEqual({ raw: 0x40, fromMaster: true, fcb: false, fcv: false, functionCode: 0, functionName: 'SND_NKE' });
    expect(parseControl(0x7b)).toMatchObject({ fromMaster: true, fcb: true, fcv: true, functionName: 'REQ_UD2' });
    expect(parseControl(0x5b)).toMatchObject({ fcb: false, fcv: true, functionName: 'REQ_UD2' });
    expect(parseControl(0x7a)).toMatchObject({ fcb: true, functionName: 'REQ_UD1' });
    expect(parseControl(0x73)).toMatchObject({ fcb: true, functionName: 'SND_UD' });
    expect(parseControl(0x38)).toEqual({ raw: 0x38, fromMaster: false, acd: true, dfc: true, functionCode: 8, functionName: 'RSP_UD' });
    expect(parseControl(0x08)).toMatchObject({ acd: false, dfc: false, functionName: 'RSP_UD' });
    expect(parseControl(0x49).functionName).toBeNull();
  });

  it('makeControl builds 40, 53/73, 5A/7A, 5B/7B, 08/18/28/38 and refuses the wrong direction bits', () => {
    expect(makeControl({ function: 'SND_NKE' })).toBe(0x40);
    expect(makeControl({ function: 'SND_UD' })).toBe(0x53);
    expect(makeControl({ function: 'SND_UD', fcb: true })).toBe(0x73);
    expect(makeControl({ function: 'REQ_UD1', fcb: true })).toBe(0x7a);
    expect(makeControl({ function: 'REQ_UD2' })).toBe(0x5b);
    expect(makeControl({ function: 'REQ_UD2', fcb: true })).toBe(0x7b);
    expect(makeControl({ function: 'RSP_UD' })).toBe(0x08);
    expect(makeControl({ function: 'RSP_UD', acd: true, dfc: true })).toBe(0x38);
    expect(() => makeControl({ function: 'RSP_UD', fcb: true })).toThrow(EncodeError);
    expect(() => makeControl({ function: 'REQ_UD2', acd: true })).toThrow(EncodeError);
  });
});

describe('addresses (MBUS.md 4)', () => {
  it('kinds and broadcasts', () => {
    expect([0, 1, 250, 251, 252, 253, 254, 255].map(addressKind)).toEqual([
      'unconfigured', 'primary', 'primary', 'reserved', 'reserved', 'network-layer', 'broadcast-reply', 'broadcast-no-reply',
    ]);
    expect([253, 254, 255].map(isBroadcast)).toEqual([false, true, true]);
  });
});

describe('frames (MBUS.md 2)', () => {
  it('E5 is the single-character acknowledgement', () => {
    const r = decodeFrame(hex('E5'));
    expect(r.ok && r.value.frame).toEqual({ type: 'ack' });
  });

  it('short frame: SND_NKE to 5 is 10 40 05 45 16; REQ_UD2 with FCB to 254 is 10 7B FE 79 16', () => {
    expect(toHex(encodeSndNke(5))).toBe('10 40 05 45 16');
    expect(toHex(encodeReqUd2(254, true))).toBe('10 7B FE 79 16');
    const r = decodeFrame(hex('10 7B FE 79 16'));
    expect(r.ok && r.value.frame).toMatchObject({ type: 'short', address: 254, checksum: 0x79, control: { functionName: 'REQ_UD2', fcb: true } });
  });

  it('control frame: baud switch to 9600 (CI BD) to 1 is 68 03 03 68 53 01 BD 11 16', () => {
    const bytes = encodeFrame({ type: 'long', control: 0x53, address: 1, ci: 0xbd });
    expect(toHex(bytes)).toBe('68 03 03 68 53 01 BD 11 16');
    const r = decodeFrame(bytes);
    expect(r.ok && r.value.frame).toMatchObject({ type: 'control', ci: 0xbd, address: 1, data: new Uint8Array(0) });
  });

  it('long frame: an application error "busy" from 1 (corpus application_busy.hex)', () => {
    const bytes = hex('68 04 04 68 08 01 70 08 81 16'); // RSP_UD, A 01, CI 70, code 08, CS 81
    const r = decodeSingleFrame(bytes);
    expect(r.ok && r.value.frame).toMatchObject({ type: 'long', ci: 0x70, address: 1, data: hex('08'), checksum: 0x81 });
    expect(encodeFrame({ type: 'long', control: 0x08, address: 1, ci: 0x70, data: hex('08') })).toEqual(bytes);
  });

  it('every malformed frame is a typed error at the offending byte', () => {
    const cases: [string, string, number][] = [
      ['42', 'mbus.start', 0],
      ['10 53 01 54 16', 'mbus.control', 1], // SND_UD does not go in a short frame
      ['10 5B 01 5D 16', 'mbus.checksum', 3],
      ['10 5B 01 5C 17', 'mbus.stop', 4],
      ['10 5B 01', 'mbus.truncated', 3],
      ['68 02 02 68', 'mbus.length', 1],
      ['68 04 05 68', 'mbus.length-mismatch', 2],
      ['68 04 04 69', 'mbus.second-start', 3],
      ['68 04 04 68 5B', 'mbus.control', 4], // REQ_UD2 does not go in a long frame
      ['68 04 04 68 08 01 70 08 80 16', 'mbus.checksum', 8],
      ['68 04 04 68 08 01 70 08 81 17', 'mbus.stop', 9],
      ['68 04 04 68 08 01 70', 'mbus.truncated', 7],
      ['', 'mbus.truncated', 0],
    ];
    for (const [h, code, offset] of cases) {
      const r = decodeFrame(h === '' ? new Uint8Array(0) : hex(h));
      expect(r.ok ? 'ok' : { code: r.error.code, offset: r.error.offset }, h).toEqual({ code, offset });
    }
  });

  it('offsets are absolute when decoding from the middle of a buffer', () => {
    const r = decodeFrame(hex('00 00 10 5B 01 5D 16'), 2);
    expect(!r.ok && r.error).toMatchObject({ code: 'mbus.checksum', offset: 5 });
  });

  it('decodeSingleFrame refuses bytes after the frame (exactly L + 6 bytes, MBUS.md 2)', () => {
    const r = decodeSingleFrame(hex('E5 E5'));
    expect(!r.ok && r.error).toMatchObject({ code: 'mbus.trailing', offset: 1 });
  });

  it('encodeFrame refuses what cannot go on the wire', () => {
    expect(() => encodeFrame({ type: 'short', control: 0x08, address: 1 })).toThrow(EncodeError);
    expect(() => encodeFrame({ type: 'long', control: 0x5b, address: 1, ci: 0x72 })).toThrow(EncodeError);
    expect(() => encodeFrame({ type: 'long', control: 0x08, address: 256, ci: 0x72 })).toThrow(EncodeError);
    expect(() => encodeFrame({ type: 'long', control: 0x08, address: 1, ci: 0x72, data: new Uint8Array(253) })).toThrow(EncodeError);
    expect(encodeFrame({ type: 'long', control: 0x08, address: 1, ci: 0x72, data: new Uint8Array(252) })).toHaveLength(261);
  });
});
