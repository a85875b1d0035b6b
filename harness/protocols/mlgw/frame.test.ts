import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import { crc16Modbus, decode, decodeFrame, encodeFrame, encodeMessage, FRAME_ERROR_CODES, timeToSeconds } from './index.ts';

/** READ CURRENT DATA to meter 12345678, SEQ 07 (docs/protocols/meterlab-gas-wireless.md 8). */
const READ_CURRENT = hex(
  '55 55 55 55' + //   preamble, 4 x 55H (the minimum, spec 2)
    ' D3 91' + //        sync word
    ' 07' + //           LEN: CTRL ID SEQ CMD = 7, no data
    ' 01' + //           CTRL: D7 = 0 request, D6 = 0, version 1
    ' 78 56 34 12' + //  ID 12345678, BCD low byte first
    ' 07' + //           SEQ
    ' 01' + //           CMD 01H READ CURRENT DATA
    ' 3E 9C', //         CRC-16/MODBUS of 07 .. 01 = 9C3EH, low byte first
);

/** Its reply: 123456 L, settled 120000 L, 2026-01-01 08:30:00, valve closed, battery low. */
const READ_CURRENT_REPLY = hex(
  '55 55 55 55 D3 91' + // preamble, sync
    ' 14' + //           LEN = 7 + 13 data bytes = 20
    ' 81' + //           CTRL: D7 = 1 reply, version 1
    ' 78 56 34 12' + //  ID 12345678
    ' 07 01' + //        SEQ echoed, CMD 01H
    ' 40 E2 01 00' + //  VOLUME 0001E240H = 123456 L
    ' C0 D4 01 00' + //  SETTLED 0001D4C0H = 120000 L
    ' 08 ED E8 30' + //  TIME 30E8ED08H = 820571400 s after 2000-01-01 00:00:00 = 2026-01-01 08:30:00
    ' 05' + //           STATUS: D1 D0 = 01 closed, D2 = 1 battery low, D3 = 0 motor idle
    ' F7 66', //         CRC 66F7H
);

/** VALVE close (SEQ 08) and the error reply "valve refused" while the motor runs. */
const VALVE_CLOSE = hex('55 55 55 55 D3 91 08 01 78 56 34 12 08 02 02 ED 12'); // LEN 8, CMD 02H, ACTION 02H close, CRC 12EDH
const VALVE_REFUSED = hex(
  '55 55 55 55 D3 91 09' + // preamble, sync, LEN 9
    ' C1' + //              CTRL: reply, D6 = 1 error, version 1
    ' 78 56 34 12 08 02' + // ID, SEQ 08, CMD 02H echoed
    ' 03' + //              CODE 03H valve refused
    ' 08' + //              STATUS: valve open, motor running (D3)
    ' D3 DB', //            CRC DBD3H
);

describe('MLGW frame', () => {
  it('computes CRC-16/MODBUS with its published check value', () => {
    expect(crc16Modbus(new TextEncoder().encode('123456789'))).toBe(0x4b37);
  });

  it('encodes the golden frames byte for byte and decodes them back', () => {
    expect(toHex(encodeMessage({ kind: 'readCurrent', meterId: '12345678', seq: 7 }))).toBe(toHex(READ_CURRENT));
    const seconds = timeToSeconds({ year: 2026, month: 1, day: 1, hour: 8, minute: 30, second: 0 });
    const reply = encodeMessage({
      kind: 'readCurrentReply',
      meterId: '12345678',
      seq: 7,
      volumeLitres: 123456,
      settledLitres: 120000,
      seconds,
      time: { year: 2026, month: 1, day: 1, hour: 8, minute: 30, second: 0 },
      status: { raw: 5, valve: 'closed', batteryLow: true, valveMoving: false },
    });
    expect(toHex(reply)).toBe(toHex(READ_CURRENT_REPLY));
    const d = decode(READ_CURRENT_REPLY);
    expect(d.ok && d.value.message).toEqual({
      kind: 'readCurrentReply',
      meterId: '12345678',
      seq: 7,
      volumeLitres: 123456,
      settledLitres: 120000,
      seconds: 820571400,
      time: { year: 2026, month: 1, day: 1, hour: 8, minute: 30, second: 0 },
      status: { raw: 5, valve: 'closed', batteryLow: true, valveMoving: false },
    });
    expect(toHex(encodeMessage({ kind: 'valve', meterId: '12345678', seq: 8, action: 'close' }))).toBe(toHex(VALVE_CLOSE));
    const v = decode(VALVE_REFUSED);
    expect(v.ok && v.value.message).toMatchObject({ kind: 'errorReply', command: 2, code: 3, codeName: 'valve-refused', status: { valve: 'open', valveMoving: true } });
    const r = decode(READ_CURRENT);
    expect(r.ok && r.value.decoded.frame).toMatchObject({ isReply: false, meterId: '12345678', seq: 7, command: 1, preamble: 4, crc: 0x9c3e });
  });

  it('counts a long wake-up preamble', () => {
    const wake = encodeMessage({ kind: 'readCurrent', meterId: '12345678', seq: 7 }, { preamble: 600 });
    const r = decodeFrame(wake);
    expect(r.ok && r.value.frame.preamble).toBe(600);
    expect(r.ok && r.value.end).toBe(wake.length);
  });

  it('rejects bad frames with a typed error at the offending offset, never throwing', () => {
    const at = (bytes: Uint8Array) => {
      const r = decodeFrame(bytes);
      return r.ok ? 'ok' : `${r.error.code}@${r.error.offset}`;
    };
    const bad = (i: number, v: number) => {
      const b = READ_CURRENT.slice();
      b[i] = v;
      return b;
    };
    expect(at(bad(4, 0xd4))).toBe('mlgw.sync@4');
    expect(at(bad(5, 0x90))).toBe('mlgw.sync@5');
    expect(at(bad(6, 0x06))).toBe('mlgw.length@6');
    expect(at(bad(6, 65))).toBe('mlgw.length@6');
    expect(at(READ_CURRENT.subarray(0, 15))).toBe('mlgw.truncated@15');
    expect(at(bad(13, 0x02))).toBe('mlgw.crc@14');
    // CTRL version 2 and an ID byte that is not BCD, each with a CRC that matches.
    const reframe = (b: Uint8Array) => {
      const c = crc16Modbus(b, 6, 14);
      b[14] = c & 0xff;
      b[15] = c >> 8;
      return b;
    };
    expect(at(reframe(bad(7, 0x02)))).toBe('mlgw.version@7');
    expect(at(reframe(bad(9, 0x5a)))).toBe('mlgw.id@9');
    expect(at(new Uint8Array(0))).toBe('mlgw.truncated@0');
    for (const code of FRAME_ERROR_CODES) expect(code).toMatch(/^mlgw\./);
  });

  it('decodes random bytes without throwing', () => {
    let seed = 1;
    for (let k = 0; k < 2000; k++) {
      const n = (k % 40) + 1;
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        b[i] = i === 0 ? 0xd3 : i === 1 ? 0x91 : seed >>> 24;
      }
      expect(() => decode(b)).not.toThrow();
    }
  });

  it('refuses to encode what cannot go on the wire', () => {
    expect(() => encodeFrame({ meterId: '1234567', isReply: false, seq: 0, command: 1 })).toThrow(EncodeError);
    expect(() => encodeFrame({ meterId: '12345678', isReply: false, seq: 256, command: 1 })).toThrow(EncodeError);
    expect(() => encodeFrame({ meterId: '12345678', isReply: false, seq: 0, command: 1, preamble: 3 })).toThrow(EncodeError);
    expect(() => encodeFrame({ meterId: '12345678', isReply: false, seq: 0, command: 1, data: new Uint8Array(58) })).toThrow(EncodeError);
    expect(() => encodeFrame({ meterId: '12345678', isReply: false, isError: true, seq: 0, command: 1 })).toThrow(EncodeError);
  });
});

describe('MLGW messages', () => {
  const reply = (command: number, data: string, error = false) => encodeFrame({ meterId: '12345678', isReply: true, isError: error, seq: 1, command, data: hex(data) });
  const msg = (b: Uint8Array) => {
    const r = decode(b);
    return r.ok ? r.value.message : `${r.error.code}@${r.error.offset}`;
  };

  it('reads battery and identify replies', () => {
    expect(msg(reply(3, 'D4 0D 5A 00'))).toMatchObject({ kind: 'readBatteryReply', millivolts: 3540, levelPercent: 90, status: { valve: 'open', batteryLow: false } });
    expect(msg(reply(4, '01 07'))).toMatchObject({ kind: 'identifyReply', meterKind: 'gas', firmware: 7 });
    expect(msg(reply(4, '09 07'))).toMatchObject({ kind: 'identifyReply', meterKind: null, meterKindCode: 9 });
  });

  it('reports wrong data lengths, values and broadcast misuse with offsets', () => {
    // DATA starts at offset 4 (preamble) + 10 = 14.
    expect(msg(reply(1, '00 00'))).toBe('mlgw.data-length@16');
    expect(msg(reply(2, '02'))).toBe('mlgw.value@14'); // STATUS D1 D0 = 10
    expect(msg(reply(3, 'D4 0D 65 00'))).toBe('mlgw.value@16'); // LEVEL 101 %
    expect(msg(encodeFrame({ meterId: '12345678', isReply: false, seq: 1, command: 2, data: hex('03') }))).toBe('mlgw.value@14');
    expect(msg(encodeFrame({ meterId: 'FFFFFFFF', isReply: false, seq: 1, command: 1 }))).toBe('mlgw.broadcast@8');
    expect(msg(encodeFrame({ meterId: 'FFFFFFFF', isReply: false, seq: 1, command: 4 }))).toMatchObject({ kind: 'identify', meterId: 'FFFFFFFF' });
    expect(msg(encodeFrame({ meterId: '12345678', isReply: false, seq: 1, command: 0x33, data: hex('AA') }))).toMatchObject({ kind: 'unknownRequest', command: 0x33 });
  });
});
