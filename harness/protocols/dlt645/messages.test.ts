import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import { decodeFrame } from './frame.ts';
import { controlOf, decode, decodeMessage, encodeMessage, errorWordBits, errorWordFromBits } from './messages.ts';
import { RemoteControlCommand, type Dlt645Message } from './types.ts';

/**
 * Golden frames next to the messages they must decode to (and encode from). Bytes after L are
 * on the wire +33H; comments give the plain values. Unless noted the meter is 123456789012
 * (A0..A5 = 12 90 78 56 34 12). Frames marked "vector N" are real frames from
 * fixtures/dlt645-vectors.json; the others were computed by hand/script per PROTOCOLS.md 1.3.
 */
interface Golden {
  readonly title: string;
  readonly hex: string;
  readonly address: string;
  readonly message: Dlt645Message;
}

const EMPTY = new Uint8Array(0);
const M = '123456789012';
const PW = { level: 0x02, value: '123456' }; // PA=02, P0 P1 P2 = 56 34 12
const OP = '00000001'; // C0..C3 = 01 00 00 00

const GOLDEN: readonly Golden[] = [
  {
    title: '08 broadcast time sync (vector 42)',
    // 08 | L=06 | ss mm hh DD MM YY = 51 22 10 05 06 17
    hex: '68 99 99 99 99 99 99 68 08 06 84 55 43 38 39 4A 4B 16',
    address: '999999999999',
    message: { kind: 'broadcastTimeSync', time: { year: 2017, month: 6, day: 5, hour: 10, minute: 22, second: 51 } },
  },
  {
    title: '11 read data, wildcard address, 4 FE (vector 4)',
    // 11 | L=04 | DI0..DI3 = 00 00 01 00
    hex: 'FE FE FE FE 68 AA AA AA AA AA AA 68 11 04 33 33 34 33 AE 16',
    address: 'AAAAAAAAAAAA',
    message: { kind: 'readData', di: '00010000', extra: EMPTY },
  },
  {
    title: '11 read data, abbreviated wildcard AAAAAA123456',
    // A0..A5 = 56 34 12 AA AA AA | 11 | L=04 | DI 00010000
    hex: '68 56 34 12 AA AA AA 68 11 04 33 33 34 33 4C 16',
    address: 'AAAAAA123456',
    message: { kind: 'readData', di: '00010000', extra: EMPTY },
  },
  {
    title: '11 read data with one extra byte after the DI (load-record block count)',
    // 11 | L=05 | DI 06000001 (wire 01 00 00 06) | extra 01
    hex: '68 12 90 78 56 34 12 68 11 05 34 33 33 39 34 A3 16',
    address: M,
    message: { kind: 'readData', di: '06000001', extra: hex('01') },
  },
  {
    title: '91 read-data reply (vector 6)',
    // 91 | L=08 | DI 00010000 | 56 34 12 00 = 1234.56 kWh
    hex: '68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 54 16',
    address: M,
    message: { kind: 'readDataResponse', di: '00010000', payload: hex('56 34 12 00'), hasFollowUp: false },
  },
  {
    title: 'B1 read-data reply with the follow-up bit',
    // B1 | L=06 | DI 03300001 (wire 01 00 30 03) | 01 02
    hex: '68 12 90 78 56 34 12 68 B1 06 34 33 63 36 34 35 A6 16',
    address: M,
    message: { kind: 'readDataResponse', di: '03300001', payload: hex('01 02'), hasFollowUp: true },
  },
  {
    title: '12 read follow-up (vector 7)',
    // 12 | L=05 | DI 03300001 | SEQ 01
    hex: '68 12 90 78 56 34 12 68 12 05 34 33 63 36 34 D1 16',
    address: M,
    message: { kind: 'readFollowUp', di: '03300001', seq: 1 },
  },
  {
    title: '92 read-follow-up reply, last frame',
    // 92 | L=07 | DI 03300001 | 03 04 | SEQ 01
    hex: '68 12 90 78 56 34 12 68 92 07 34 33 63 36 36 37 34 C0 16',
    address: M,
    message: { kind: 'readFollowUpResponse', di: '03300001', payload: hex('03 04'), seq: 1, hasFollowUp: false },
  },
  {
    title: 'B2 read-follow-up reply, more follows',
    // B2 | L=07 | DI 03300001 | 05 06 | SEQ 02
    hex: '68 12 90 78 56 34 12 68 B2 07 34 33 63 36 38 39 35 E5 16',
    address: M,
    message: { kind: 'readFollowUpResponse', di: '03300001', payload: hex('05 06'), seq: 2, hasFollowUp: true },
  },
  {
    title: '13 read address to the wildcard (vector 0)',
    // 4 x FE | 68 AA..AA 68 | 13 | L=00 | CS DF
    hex: 'FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16',
    address: 'AAAAAAAAAAAA',
    message: { kind: 'readAddress' },
  },
  {
    title: '93 read-address reply (vector 2)',
    // FE | 93 | L=06 | 12 90 78 56 34 12
    hex: 'FE 68 12 90 78 56 34 12 68 93 06 45 C3 AB 89 67 45 07 16',
    address: M,
    message: { kind: 'readAddressResponse', address: '123456789012' },
  },
  {
    title: '14 write data',
    // 14 | L=10 | DI 04001001 (wire 01 10 00 04) | PA P0 P1 P2 = 02 56 34 12 | C0..C3 = 01 00 00 00 | 00 10 00 00
    hex: '68 12 90 78 56 34 12 68 14 10 34 43 33 37 35 89 67 45 34 33 33 33 33 43 33 33 9E 16',
    address: M,
    message: { kind: 'writeData', di: '04001001', password: PW, operator: OP, payload: hex('00 10 00 00') },
  },
  {
    title: '94 write-data reply',
    hex: '68 12 90 78 56 34 12 68 94 00 1A 16',
    address: M,
    message: { kind: 'writeDataResponse' },
  },
  {
    title: '15 write address to the wildcard',
    // 15 | L=06 | new address 12 90 78 56 34 12
    hex: '68 AA AA AA AA AA AA 68 15 06 45 C3 AB 89 67 45 CF 16',
    address: 'AAAAAAAAAAAA',
    message: { kind: 'writeAddress', newAddress: '123456789012' },
  },
  {
    title: '95 write-address reply',
    hex: '68 12 90 78 56 34 12 68 95 00 1B 16',
    address: M,
    message: { kind: 'writeAddressResponse' },
  },
  {
    title: '16 freeze, broadcast: every day at 00:00',
    // 16 | L=04 | mm hh DD MM = 00 00 99 99
    hex: '68 99 99 99 99 99 99 68 16 04 33 33 CC CC 7E 16',
    address: '999999999999',
    message: { kind: 'freeze', minute: 0, hour: 0, day: 'any', month: 'any' },
  },
  {
    title: '16 freeze, all fields 99H',
    hex: '68 99 99 99 99 99 99 68 16 04 CC CC CC CC B0 16',
    address: '999999999999',
    message: { kind: 'freeze', minute: 'any', hour: 'any', day: 'any', month: 'any' },
  },
  {
    title: '96 freeze reply',
    hex: '68 12 90 78 56 34 12 68 96 00 1C 16',
    address: M,
    message: { kind: 'freezeResponse' },
  },
  {
    title: '17 change baud to 2400 (vector 44)',
    // 17 | L=01 | Z = 08 (D3)
    hex: '68 01 00 12 01 19 20 68 17 01 3B 70 16',
    address: '201901120001',
    message: { kind: 'changeBaud', z: 0x08, baudRate: 2400 },
  },
  {
    title: '97 change-baud reply, 9600',
    // 97 | L=01 | Z = 20 (D5)
    hex: '68 12 90 78 56 34 12 68 97 01 53 71 16',
    address: M,
    message: { kind: 'changeBaudResponse', z: 0x20, baudRate: 9600 },
  },
  {
    title: '18 change password',
    // 18 | L=0C | DI 04000C03 (wire 03 0C 00 04) | old 02 56 34 12 | new 02 21 43 65
    hex: '68 12 90 78 56 34 12 68 18 0C 36 3F 33 37 35 89 67 45 35 54 76 98 8A 16',
    address: M,
    message: { kind: 'changePassword', di: '04000C03', oldPassword: PW, newPassword: { level: 2, value: '654321' } },
  },
  {
    title: '98 change-password reply',
    // 98 | L=04 | 02 21 43 65
    hex: '68 12 90 78 56 34 12 68 98 04 35 54 76 98 B9 16',
    address: M,
    message: { kind: 'changePasswordResponse', newPassword: { level: 2, value: '654321' } },
  },
  {
    title: '19 clear maximum demand',
    // 19 | L=08 | 02 56 34 12 | 01 00 00 00
    hex: '68 12 90 78 56 34 12 68 19 08 35 89 67 45 34 33 33 33 DE 16',
    address: M,
    message: { kind: 'clearMaxDemand', password: PW, operator: OP },
  },
  {
    title: '99 clear-maximum-demand reply',
    hex: '68 12 90 78 56 34 12 68 99 00 1F 16',
    address: M,
    message: { kind: 'clearMaxDemandResponse' },
  },
  {
    title: '1A meter clear',
    hex: '68 12 90 78 56 34 12 68 1A 08 35 89 67 45 34 33 33 33 DF 16',
    address: M,
    message: { kind: 'meterClear', password: PW, operator: OP },
  },
  {
    title: '9A meter-clear reply',
    hex: '68 12 90 78 56 34 12 68 9A 00 20 16',
    address: M,
    message: { kind: 'meterClearResponse' },
  },
  {
    title: '1B event clear, all events',
    // 1B | L=0C | 02 56 34 12 | 01 00 00 00 | DI FF FF FF FF
    hex: '68 12 90 78 56 34 12 68 1B 0C 35 89 67 45 34 33 33 33 32 32 32 32 AC 16',
    address: M,
    message: { kind: 'eventClear', password: PW, operator: OP, di: 'FFFFFFFF' },
  },
  {
    title: '9B event-clear reply',
    hex: '68 12 90 78 56 34 12 68 9B 00 21 16',
    address: M,
    message: { kind: 'eventClearResponse' },
  },
  {
    title: '1C trip with a valid-until time (vector 37)',
    // 1C | L=10 | PA 00 000000 | C 00000000 | N1=1A N2=00 | 24 41 15 12 05 18
    hex: '68 11 11 11 11 11 11 68 1C 10 33 33 33 33 33 33 33 33 4D 33 57 74 48 45 38 4B 55 16',
    address: '111111111111',
    message: {
      kind: 'remoteControl',
      password: { level: 0, value: '000000' },
      operator: '00000000',
      command: RemoteControlCommand.Trip,
      reserved: 0,
      validUntil: { year: 2018, month: 5, day: 12, hour: 15, minute: 41, second: 24 },
    },
  },
  {
    title: '1C close allowed, all-zero valid-until (vector 40)',
    // 1C | L=10 | PA 02 000000 | C 30 30 30 30 | N1=1B N2=00 | 00 x 6
    hex: '68 98 99 21 00 00 00 68 1C 10 35 33 33 33 63 63 63 63 4E 33 33 33 33 33 33 33 5B 16',
    address: '000000219998',
    message: {
      kind: 'remoteControl',
      password: { level: 2, value: '000000' },
      operator: '30303030',
      command: RemoteControlCommand.CloseAllowed,
      reserved: 0,
      validUntil: null,
    },
  },
  {
    title: '1C keep power until 2026-01-01 00:00:00',
    // 1C | L=10 | 02 56 34 12 | 01 00 00 00 | N1=3A N2=00 | 00 00 00 01 01 26
    hex: '68 12 90 78 56 34 12 68 1C 10 35 89 67 45 34 33 33 33 6D 33 33 33 33 34 34 59 E3 16',
    address: M,
    message: {
      kind: 'remoteControl',
      password: PW,
      operator: OP,
      command: RemoteControlCommand.KeepPower,
      reserved: 0,
      validUntil: { year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0 },
    },
  },
  {
    title: '9C remote-control reply (vector 38)',
    hex: '68 11 11 11 11 11 11 68 9C 00 D2 16',
    address: '111111111111',
    message: { kind: 'remoteControlResponse' },
  },
  {
    title: '1D multi-function terminal output',
    // 1D | L=01 | 02
    hex: '68 12 90 78 56 34 12 68 1D 01 35 D9 16',
    address: M,
    message: { kind: 'multiFunctionOutput', output: 2 },
  },
  {
    title: '9D multi-function output reply echoing the output',
    hex: '68 12 90 78 56 34 12 68 9D 01 35 59 16',
    address: M,
    message: { kind: 'multiFunctionOutputResponse', output: 2 },
  },
  {
    title: '9D multi-function output reply without data',
    hex: '68 12 90 78 56 34 12 68 9D 00 23 16',
    address: M,
    message: { kind: 'multiFunctionOutputResponse', output: null },
  },
  {
    title: 'D1 abnormal read reply: no requested data (vector 8)',
    // D1 | L=01 | ERR 02
    hex: '68 12 90 78 56 34 12 68 D1 01 35 8D 16',
    address: M,
    message: { kind: 'errorResponse', functionCode: 0x11, errorWord: 0x02, errors: ['noRequestedData'] },
  },
  {
    title: 'D4 abnormal write reply: password error',
    hex: '68 12 90 78 56 34 12 68 D4 01 37 92 16',
    address: M,
    message: { kind: 'errorResponse', functionCode: 0x14, errorWord: 0x04, errors: ['passwordErrorOrUnauthorised'] },
  },
  {
    title: 'D7 abnormal change-baud reply: baud rate cannot be changed',
    hex: '68 12 90 78 56 34 12 68 D7 01 3B 99 16',
    address: M,
    message: { kind: 'errorResponse', functionCode: 0x17, errorWord: 0x08, errors: ['baudRateNotChangeable'] },
  },
  {
    title: 'DC abnormal control reply: other error (vector 64)',
    hex: '68 12 34 56 78 90 12 68 DC 01 34 97 16',
    address: '129078563412',
    message: { kind: 'errorResponse', functionCode: 0x1c, errorWord: 0x01, errors: ['otherError'] },
  },
  {
    title: '1997 01 read DI 9010 (vector 49)',
    // 01 | L=02 | DI0 DI1 = 10 90
    hex: '68 11 11 11 53 12 35 68 01 02 43 C3 A6 16',
    address: '351253111111',
    message: { kind: 'readData1997', di: '9010' },
  },
  {
    title: '1997 81 read reply with a trailing byte (vector 50)',
    // 4 x FE | 81 | L=07 | DI 9010 | 89 43 13 00 | 01
    hex: 'FE FE FE FE 68 11 11 11 53 12 35 68 81 07 43 C3 BC 76 46 33 34 0A 16',
    address: '351253111111',
    message: { kind: 'readDataResponse1997', di: '9010', payload: hex('89 43 13 00 01'), hasFollowUp: false },
  },
  {
    title: '1997 A1 read reply with the follow-up bit',
    // A1 | L=06 | DI 9010 | 00 00 00 00
    hex: '68 03 00 00 00 00 00 68 A1 06 43 C3 33 33 33 33 4C 16',
    address: '000000000003',
    message: { kind: 'readDataResponse1997', di: '9010', payload: hex('00 00 00 00'), hasFollowUp: true },
  },
  {
    title: '1997 C1 abnormal read reply',
    hex: '68 03 00 00 00 00 00 68 C1 01 35 CA 16',
    address: '000000000003',
    message: { kind: 'errorResponse', functionCode: 0x01, errorWord: 0x02, errors: ['noRequestedData'] },
  },
  {
    title: '1997 04 write: known by name only ([BK] layout)',
    // 04 | L=04 | 32 C0 00 11
    hex: '68 03 00 00 00 00 00 68 04 04 65 F3 33 44 AA 16',
    address: '000000000003',
    message: { kind: 'other', functionName: 'writeData1997', data: hex('32 C0 00 11') },
  },
  {
    title: '1997 84 write reply: known by name only',
    hex: '68 03 00 00 00 00 00 68 84 00 57 16',
    address: '000000000003',
    message: { kind: 'other', functionName: 'writeData1997Response', data: EMPTY },
  },
  {
    title: '88: a reply to broadcast time sync does not exist; kept as other',
    hex: '68 12 90 78 56 34 12 68 88 00 0E 16',
    address: M,
    message: { kind: 'other', functionName: 'broadcastTimeSyncResponse', data: EMPTY },
  },
  {
    title: '1E: an undefined 2007 function code',
    hex: '68 12 90 78 56 34 12 68 1E 01 34 D9 16',
    address: M,
    message: { kind: 'other', functionName: 'unknown1E', data: hex('01') },
  },
];

describe('golden frames: decode to the message and encode back to the same bytes', () => {
  it.each(GOLDEN.map((g) => [g.title, g] as const))('%s', (_title, g) => {
    const bytes = hex(g.hex);
    const r = decode(bytes);
    if (!r.ok) throw new Error(`${g.title}: ${r.error.code} at ${r.error.offset}: ${r.error.message}`);
    expect(r.value.frame.address).toBe(g.address);
    expect(r.value.message).toEqual(g.message);
    expect(r.value.end).toBe(bytes.length);
    expect(toHex(encodeMessage(g.address, g.message, { preamble: r.value.frame.preamble }))).toBe(toHex(bytes));
    expect(controlOf(g.message).raw).toBe(r.value.frame.control.raw);
  });
  it('covers every 2007 control code 08, 11..1D with normal and abnormal replies', () => {
    const codes = new Set(GOLDEN.map((g) => decode(hex(g.hex))).flatMap((r) => (r.ok ? [r.value.frame.control.raw] : [])));
    for (const c of [0x08, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d]) {
      expect(codes.has(c), `request ${c.toString(16)}`).toBe(true);
    }
    for (const c of [0x91, 0xb1, 0x92, 0xb2, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0xd1, 0xd4, 0xd7, 0xdc]) {
      expect(codes.has(c), `reply ${c.toString(16)}`).toBe(true);
    }
  });
});

describe('message errors, each with its code and absolute offset', () => {
  const fails = (h: string, offset = 0): ReturnType<typeof decode> => decode(hex(h), offset);

  it('dlt645.baud-feature-word at the Z byte (vector 45: Z not +33H-encoded, D5H after -33H)', () => {
    expect(fails('68 01 00 12 01 19 20 68 17 01 08 3D 16')).toMatchObject({
      ok: false,
      error: { code: 'dlt645.baud-feature-word', offset: 10 },
    });
    // same frame with 4 FE, decoded at offset 2 of a larger buffer: Z at 2 + 4 + 10
    expect(fails('00 00 FE FE FE FE 68 01 00 12 01 19 20 68 17 01 08 3D 16', 2)).toMatchObject({
      ok: false,
      error: { code: 'dlt645.baud-feature-word', offset: 16 },
    });
  });
  it('dlt645.data-length at the first missing or first surplus byte', () => {
    // 11 with L=03: the 4th DI byte is missing at 10 + 3
    expect(fails('68 12 90 78 56 34 12 68 11 03 33 34 33 34 16')).toMatchObject({ ok: false, error: { code: 'dlt645.data-length', offset: 13 } });
    // 13 with one data byte: the surplus byte is at 10
    expect(fails('68 12 90 78 56 34 12 68 13 01 33 CD 16')).toMatchObject({ ok: false, error: { code: 'dlt645.data-length', offset: 10 } });
    // ESAM-protected 1C (20 bytes, [BK]) is not the plain 16-byte layout: first surplus byte at 10 + 16
    expect(fails('68 12 90 78 56 34 12 68 1C 14 33 33 33 33 33 33 33 33 33 33 33 33 33 33 33 33 33 33 33 33 B2 16')).toMatchObject({
      ok: false,
      error: { code: 'dlt645.data-length', offset: 26 },
    });
    // abnormal reply with two bytes: the second is surplus
    expect(fails('68 12 90 78 56 34 12 68 D1 02 35 33 C1 16')).toMatchObject({ ok: false, error: { code: 'dlt645.data-length', offset: 11 } });
  });
  it('dlt645.control at C for a request with D6 set, or a follow-up bit a reply cannot carry', () => {
    expect(fails('68 12 90 78 56 34 12 68 51 04 33 33 34 33 A8 16')).toMatchObject({ ok: false, error: { code: 'dlt645.control', offset: 8 } });
    expect(fails('68 12 90 78 56 34 12 68 B4 00 3A 16')).toMatchObject({ ok: false, error: { code: 'dlt645.control', offset: 8 } });
    expect(fails('68 12 90 78 56 34 12 68 F1 01 35 AD 16')).toMatchObject({ ok: false, error: { code: 'dlt645.control', offset: 8 } });
  });
  it('dlt645.time at the offending field', () => {
    // ss mm hh DD MM YY = 00 00 00 01 13 20: month 13 at 10 + 4
    expect(fails('68 99 99 99 99 99 99 68 08 06 33 33 33 34 46 53 DA 16')).toMatchObject({ ok: false, error: { code: 'dlt645.time', offset: 14 } });
    // 2026-02-30: the day at 10 + 3
    expect(fails('68 99 99 99 99 99 99 68 08 06 33 33 33 63 35 59 FE 16')).toMatchObject({ ok: false, error: { code: 'dlt645.time', offset: 13 } });
    // seconds 0AH is not BCD: at 10
    expect(fails('68 99 99 99 99 99 99 68 08 06 3D 33 33 34 34 59 D8 16')).toMatchObject({ ok: false, error: { code: 'dlt645.time', offset: 10 } });
    // freeze minute 60: at 10
    expect(fails('68 99 99 99 99 99 99 68 16 04 93 33 CC CC DE 16')).toMatchObject({ ok: false, error: { code: 'dlt645.time', offset: 10 } });
    // 1C valid-until 00 00 00 32 05 18: day 32 at 10 + 10 + 3
    expect(fails('68 12 90 78 56 34 12 68 1C 10 33 33 33 33 33 33 33 33 4D 33 33 33 33 65 38 4B 4B 16')).toMatchObject({
      ok: false,
      error: { code: 'dlt645.time', offset: 23 },
    });
  });
  it('dlt645.address for a non-BCD address in a read-address reply', () => {
    // data 12 90 78 56 34 1A: the last byte at 10 + 5
    expect(fails('68 12 90 78 56 34 12 68 93 06 45 C3 AB 89 67 4D 0F 16')).toMatchObject({ ok: false, error: { code: 'dlt645.address', offset: 15 } });
  });
  it('decodeMessage defaults dataOffset to preamble + 10 and accepts an explicit one', () => {
    const f = decodeFrame(hex('FE FE 68 01 00 12 01 19 20 68 17 01 08 3D 16'));
    expect(f.ok).toBe(true);
    if (!f.ok) return;
    expect(decodeMessage(f.value.frame)).toMatchObject({ ok: false, error: { offset: 12 } });
    expect(decodeMessage(f.value.frame, 100)).toMatchObject({ ok: false, error: { offset: 100 } });
  });
  it('decode reports frame errors unchanged', () => {
    expect(fails('68 12 90 78 56 34 12 68 94 00 1B 16')).toMatchObject({ ok: false, error: { code: 'dlt645.checksum', offset: 10 } });
  });
});

describe('encodeMessage', () => {
  it('throws EncodeError for values that cannot go on the wire', () => {
    const bad: Dlt645Message[] = [
      { kind: 'readData', di: '0001000', extra: EMPTY },
      { kind: 'readData1997', di: '00010000' },
      { kind: 'readFollowUp', di: '00010000', seq: 256 },
      { kind: 'writeData', di: '04001001', password: { level: 2, value: '12345' }, operator: OP, payload: EMPTY },
      { kind: 'writeData', di: '04001001', password: { level: 256, value: '123456' }, operator: OP, payload: EMPTY },
      { kind: 'meterClear', password: PW, operator: '0000001' },
      { kind: 'writeAddress', newAddress: 'AAAAAAAAAAAA' },
      { kind: 'freeze', minute: 60, hour: 0, day: 1, month: 1 },
      { kind: 'changeBaud', z: 0x08, baudRate: 9600 },
      { kind: 'changeBaud', z: 0x32, baudRate: 9600 },
      { kind: 'broadcastTimeSync', time: { year: 2026, month: 2, day: 30, hour: 0, minute: 0, second: 0 } },
      { kind: 'broadcastTimeSync', time: { year: 1999, month: 1, day: 1, hour: 0, minute: 0, second: 0 } },
      { kind: 'errorResponse', functionCode: 0x11, errorWord: 0x100, errors: [] },
      { kind: 'other', functionName: 'noSuchFunction', data: EMPTY },
    ];
    for (const m of bad) expect(() => encodeMessage(M, m), JSON.stringify(m)).toThrow(EncodeError);
  });
  it('adds the FE preamble a master sends', () => {
    expect(toHex(encodeMessage(M, { kind: 'readData', di: '00010000', extra: EMPTY }, { preamble: 4 }))).toBe(
      'FE FE FE FE 68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16',
    );
  });
});

describe('error word ERR (PROTOCOLS.md 1.7)', () => {
  it('names each bit, bit 0 first', () => {
    expect(errorWordBits(0x7f)).toHaveLength(7);
    expect(errorWordBits(0x06)).toEqual(['noRequestedData', 'passwordErrorOrUnauthorised']);
    expect(errorWordFromBits(['noRequestedData', 'passwordErrorOrUnauthorised'])).toBe(0x06);
    expect(errorWordBits(0)).toEqual([]);
  });
});
