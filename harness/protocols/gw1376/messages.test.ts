/** Data units through the dictionary: build -> bytes -> decode -> same values, and the errors of the unit layer. */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';
import { ok } from '../../core/result.ts';
import { DICTIONARY, decodeLayout, encodeLayout, type UnitValue } from './dictionary.ts';
import { decodeFrame, encodeFrame } from './frame.ts';
import { describeFrame, frameToJson } from './json.ts';
import { buildFrame, decode, encodeMessage, items, type UnitSpec } from './messages.ts';
import type { Address } from './types.ts';

const TERMINAL: Address = { areaCode: '0200', terminal: 0x1234, msa: 1, group: false };
const PW = new Uint8Array(16);
const UP = { dir: true, prm: false, functionCode: 8 } as const;
const DOWN = { dir: false, prm: true, functionCode: 10 } as const;

function roundTrip(afn: number, uplink: boolean, units: UnitSpec[], extra: { pw?: Uint8Array } = {}): ReturnType<typeof items> {
  const bytes = buildFrame({ control: uplink ? UP : DOWN, address: TERMINAL, afn, seq: { seq: 5 }, units, ...extra });
  const r = decode(bytes);
  if (!r.ok) throw new Error(`${r.error.code} at ${r.error.offset}: ${r.error.message}`);
  expect(toHex(encodeMessage(r.value))).toBe(toHex(bytes));
  const json = frameToJson(r.value.decoded, ok(r.value));
  expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  expect(describeFrame(r.value.decoded, ok(r.value))).not.toMatch(/[\r\n]/);
  return items(r.value);
}

describe('class 1 and class 2 data', () => {
  it('AFN 0C F129 reply for p1 and p2 in one DA, 4 tariffs, a missing tariff as FF (null)', () => {
    const v = (t: number): UnitValue => ({
      readingTime: '2026-11-30 00:05',
      tariffCount: 4,
      forwardActive: [{ value: t }, { value: 1.5 }, { value: 2.25 }, { value: null }, { value: 999999.9999 }],
    });
    const got = roundTrip(0x0c, true, [{ pn: 1, fn: 129, value: v(1234.5678) }, { pn: 2, fn: 129, value: v(7) }]);
    expect(got.map((i) => [i.pn, i.fn, i.value])).toEqual([
      [1, 129, v(1234.5678)],
      [2, 129, v(7)],
    ]);
    expect(toHex(got[0]!.data.subarray(0, 11))).toBe('05 00 30 11 26 04 78 56 34 12 00');
  });

  it('AFN 0C F2 clock (A.1 with the week day), F161 switch state, F167 purchase and usage', () => {
    const clock = { clock: { time: '2026-11-30 13:53:28', week: 1 } };
    const [c] = roundTrip(0x0c, true, [{ pn: 0, fn: 2, value: clock }]);
    expect(toHex(c!.data)).toBe('28 53 13 30 31 26');
    const state = { readingTime: '2026-11-30 10:00', state: 0x11, lastOnTime: '2026-11-29 09:15', lastOffTime: '2026-11-28 20:00' };
    const purchase = {
      readingTime: '2026-11-30 10:00',
      purchaseCount: 12,
      remainingMoney: 123.45,
      totalPurchaseMoney: 2000,
      remainingEnergy: 250.5,
      overdraftEnergy: 0,
      totalPurchaseEnergy: 4000,
      creditLimitEnergy: 10,
      alarmEnergy: 20,
      faultEnergy: null,
    };
    const got = roundTrip(0x0c, true, [{ pn: 3, fn: 161, value: state }, { pn: 3, fn: 167, value: purchase }]);
    expect(got.map((i) => i.value)).toEqual([state, purchase]);
  });

  it('AFN 0D F161: the request carries the day, the reply the day and the energies', () => {
    const [req] = roundTrip(0x0d, false, [{ pn: 1, fn: 161, value: { day: '2026-11-29' } }]);
    expect(toHex(req!.data)).toBe('29 11 26');
    const reply = { day: '2026-11-29', readingTime: '2026-11-30 00:07', tariffCount: 0, forwardActive: [{ value: 8421.07 }] };
    const [rep] = roundTrip(0x0d, true, [{ pn: 1, fn: 161, value: reply }]);
    expect(rep!.value).toEqual(reply);
  });

  it('requests name several Fn of several points and carry no data', () => {
    const bytes = buildFrame({ control: DOWN, address: TERMINAL, afn: 0x0c, seq: { seq: 0 }, units: [1, 2, 3].flatMap((pn) => [129, 130].map((fn) => ({ pn, fn }))) });
    expect(toHex(bytes.subarray(14, bytes.length - 2))).toBe('07 01 03 10'); // one DA/DT: p1-p3 x F129-F130
    const r = decode(bytes);
    if (!r.ok) throw new Error(r.error.message);
    // F130 is not in the dictionary: a class 1 request carries no data whatever the Fn [BK], so it is still read.
    expect(items(r.value).map((i) => [i.pn, i.fn, i.opaque])).toEqual([[1, 129, false], [1, 130, false], [2, 129, false], [2, 130, false], [3, 129, false], [3, 130, false]]);
  });
});

describe('events, parameters, control, forwarding', () => {
  it('AFN 0E F1 reply with a failed re-read (ERC31) and an unknown ERC kept as bytes', () => {
    const erc31 = { pnAndFlag: 0x8005, time: '2026-11-30 01:10', lastSuccessTime: '2026-11-27 00:05', lastForwardActive: 1234.5, lastForwardReactive: 12.5 };
    const events: UnitValue[] = [{ erc: 31, length: 21, name: 'meter reading failed (485 re-read failure)', fields: erc31 }, { erc: 99, length: 2, data: 'AB CD' }];
    const value: UnitValue = { ec1: 3, ec2: 0, pm: 1, pn: 3, events };
    const [e] = roundTrip(0x0e, true, [{ pn: 0, fn: 1, value }]);
    expect(e!.value).toEqual(value);
    const [q] = roundTrip(0x0e, false, [{ pn: 0, fn: 1, value: { pm: 1, pn: 3 } }]);
    expect(toHex(q!.data)).toBe('01 03');
  });

  it('AFN 04 F10 meter archive (two meters) with PW, and AFN 0A F10 query by serial', () => {
    const meter = (serial: number): UnitValue => ({
      serial,
      pn: serial,
      rateAndPort: 0x62,
      protocol: 30,
      address: `00000000${String(serial).padStart(4, '0')}`,
      password: '00 00 00 00 00 00',
      tariffs: 4,
      digits: 0x09,
      collectorAddress: '000000000000',
      classes: 0x51,
    });
    const value = { count: 2, meters: [meter(1), meter(2)] };
    const bytes = buildFrame({ control: { dir: false, prm: true, functionCode: 10 }, address: TERMINAL, afn: 0x04, seq: { seq: 1, con: true }, units: [{ pn: 0, fn: 10, value }], pw: PW });
    const r = decode(bytes);
    if (!r.ok) throw new Error(r.error.message);
    expect(items(r.value)[0]!.value).toEqual(value);
    expect(items(r.value)[0]!.data).toHaveLength(2 + 2 * 27);
    expect(r.value.frame.aux.pw).toEqual(PW);
    const [q] = roundTrip(0x0a, false, [{ pn: 0, fn: 10, value: { count: 2, serials: [{ serial: 1 }, { serial: 2 }] } }]);
    expect(toHex(q!.data)).toBe('02 00 01 00 02 00');
    expect(() => buildFrame({ control: DOWN, address: TERMINAL, afn: 0x04, seq: { seq: 1 }, units: [{ pn: 0, fn: 10, value: { count: 3, meters: [meter(1)] } }], pw: PW })).toThrow(/count says 3/);
  });

  it('AFN 05: remote trip and allow close for a control round, time sync F31, keep power F25/F33', () => {
    const down = { dir: false, prm: true, fcv: true, functionCode: 10 } as const;
    const build = (units: UnitSpec[]): ReturnType<typeof items> => {
      const r = decode(buildFrame({ control: down, address: TERMINAL, afn: 0x05, seq: { seq: 2, con: true }, units, pw: PW }));
      if (!r.ok) throw new Error(r.error.message);
      return items(r.value);
    };
    expect(build([{ pn: 1, fn: 1, value: { limitAndDelay: 0x10 } }])[0]).toMatchObject({ pn: 1, fn: 1, value: { limitAndDelay: 0x10 } });
    expect(build([{ pn: 1, fn: 2 }])[0]).toMatchObject({ pn: 1, fn: 2, value: {} });
    expect(build([{ pn: 0, fn: 31, value: { clock: { time: '2026-11-30 04:00:00', week: 1 } } }])[0]!.data).toEqual(hex('00 00 04 30 31 26'));
    expect(build([{ pn: 0, fn: 25, value: { durationHalfHours: 0 } }, { pn: 0, fn: 33 }]).map((i) => i.fn)).toEqual([25, 33]);
  });

  it('AFN 10 F1 carries a DL/T 645 frame: decoded in the JSON with the DL/T 645 codec', () => {
    const frame645 = '68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16';
    const value = { port: 2, controlWord: 0x6b, frameTimeout: 0x82, byteTimeout: 0x32, content: frame645 };
    const bytes = buildFrame({ control: { dir: false, prm: true, functionCode: 10 }, address: TERMINAL, afn: 0x10, seq: { seq: 1, con: true }, units: [{ pn: 0, fn: 1, value }], pw: PW });
    expect(toHex(bytes.subarray(14, 24))).toBe('00 00 01 00 02 6B 82 32 10 00'); // PROTOCOLS.md 3.8 example
    const r = decode(bytes);
    if (!r.ok) throw new Error(r.error.message);
    expect(items(r.value)[0]!.value).toEqual(value);
    const json = frameToJson(r.value.decoded, ok(r.value)) as unknown as { units: { items: { dlt645: { message: { kind: string; di: string }; address: string } }[] }[] };
    expect(json.units[0]!.items[0]!.dlt645).toMatchObject({ ok: true, address: '123456789012', message: { kind: 'readData', di: '00010000' } });
    const [up] = roundTrip(0x10, true, [{ pn: 0, fn: 1, value: { port: 2, content: '68 12 90 78 56 34 12 68 91 08 33 33 34 33 33 45 67 89 1F 16' } }]);
    expect(up!.value).toMatchObject({ port: 2 });
  });

  it('AFN 09 F1 version reply; non-ASCII bytes stay as hex', () => {
    const value = { vendor: 'ascii:MTLB', deviceNumber: 'ascii:00001234', softwareVersion: 'ascii:V1.0', softwareDate: '2026-11-01', capacityCode: 'hex:0000000000000000000000', protocolVersion: 'ascii:1376', hardwareVersion: 'ascii:H1.0', hardwareDate: '2026-10-01' };
    const [v] = roundTrip(0x09, true, [{ pn: 0, fn: 1, value }]);
    expect(v!.value).toEqual(value);
  });
});

describe('the unit layer refuses what it cannot read', () => {
  const frameWith = (afn: number, control: number, data: string): Uint8Array =>
    encodeFrame({ control, address: TERMINAL, afn, seq: 0x60, data: hex(data) });

  it('an unknown Fn takes the rest of the region as opaque bytes, and parsing stops there', () => {
    const r = decode(frameWith(0x0c, 0x88, '01 01 01 18 AA BB CC 00 00 02 00'));
    if (!r.ok) throw new Error(r.error.message);
    expect(items(r.value)).toEqual([{ pn: 1, fn: 193, data: hex('AA BB CC 00 00 02 00'), value: null, opaque: true }]);
    expect(toHex(encodeMessage(r.value))).toBe(toHex(frameWith(0x0c, 0x88, '01 01 01 18 AA BB CC 00 00 02 00')));
  });

  it('typed errors with absolute offsets', () => {
    const err = (b: Uint8Array): [string, number] => {
      const r = decode(b);
      return r.ok ? ['ok', -1] : [r.error.code, r.error.offset];
    };
    expect(err(frameWith(0x02, 0xc9, '00 00 01 00 00'))).toEqual(['gw1376.data-unit', 18]);
    expect(err(frameWith(0x02, 0xc9, '01 00 01 00'))).toEqual(['gw1376.da', 14]);
    expect(err(frameWith(0x02, 0xc9, '00 00 00 00'))).toEqual(['gw1376.dt', 16]);
    expect(err(frameWith(0x0c, 0x88, '00 00 02 00 28 53 13'))).toEqual(['gw1376.value-length', 18]);
    expect(err(frameWith(0x0c, 0x88, '00 00 02 00 28 5A 13 30 31 26'))).toEqual(['gw1376.bcd', 18]);
    // A frame-level failure reaches decode() unchanged.
    expect(decodeFrame(hex('68 32 00')).ok).toBe(false);
  });

  it('a device whose reply does not fit a [BK] layout: strict by default, opaque on request (and still byte for byte)', () => {
    // Uplink AFN 0C F129 with only 3 bytes where the layout wants reading time, M and energies.
    const bytes = frameWith(0x0c, 0x88, '01 01 01 10 12 34 56');
    expect(decode(bytes)).toMatchObject({ ok: false, error: { code: 'gw1376.value-length', offset: 18 } });
    const r = decode(bytes, 0, undefined, { layoutMismatch: 'opaque' });
    if (!r.ok) throw new Error(r.error.message);
    expect(items(r.value)).toMatchObject([{ pn: 1, fn: 129, data: hex('12 34 56'), value: null, opaque: true, layoutError: { code: 'gw1376.value-length', offset: 18 } }]);
    expect(toHex(encodeMessage(r.value))).toBe(toHex(bytes));
  });

  it('encoding refuses values that do not fit', () => {
    expect(() => buildFrame({ control: UP, address: TERMINAL, afn: 0x0c, seq: { seq: 0 }, units: [{ pn: 0, fn: 2, value: { clock: { time: 'noon', week: 1 } } }] })).toThrow(EncodeError);
    expect(() => buildFrame({ control: UP, address: TERMINAL, afn: 0x0c, seq: { seq: 0 }, units: [{ pn: 0, fn: 2 }] })).toThrow(/needs a value/);
    expect(() => buildFrame({ control: UP, address: TERMINAL, afn: 0x0c, seq: { seq: 0 }, units: [{ pn: 0, fn: 193, value: {} }] })).toThrow(/give its data as bytes/);
  });
});

describe('the dictionary', () => {
  it('holds the AFNs of the brief, each Fn once', () => {
    const afns = new Set(DICTIONARY.map((d) => d.afn));
    for (const afn of [0x00, 0x01, 0x02, 0x04, 0x05, 0x09, 0x0a, 0x0c, 0x0d, 0x0e, 0x10]) expect(afns.has(afn)).toBe(true);
    const keys = DICTIONARY.map((d) => `${d.afn}/${d.fn}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
  it('every fixed-size layout decodes its own encoding of all-zero bytes back to the same bytes', () => {
    for (const d of DICTIONARY) {
      for (const layout of [d.down, d.up]) {
        if (!layout) continue;
        // 400 or 401 zero bytes: counts read 0, BCD reads 0; untilEnd / records fill the region
        // exactly for one of the two lengths (5-byte F3 items after the AFN byte, 2-byte ERC records).
        const r400 = decodeLayout(layout, new Uint8Array(400), 0, 400);
        const r = r400.ok ? r400 : decodeLayout(layout, new Uint8Array(401), 0, 401);
        const zeros = new Uint8Array(401);
        expect(r.ok, `AFN ${d.afn} F${d.fn}`).toBe(true);
        if (!r.ok) continue;
        expect(toHex(encodeLayout(layout, r.value.value))).toBe(toHex(zeros.subarray(0, r.value.next)));
      }
    }
  });
});

describe("MeterLab's four-meter extension (F249) and the uplink parameters (F1)", () => {
  it('AFN 04 F249 archive of a water meter (CJ/T 188) and a heat meter (M-Bus primary 5)', () => {
    const archive: UnitValue = {
      count: 2,
      meters: [
        { serial: 3, pn: 3, port: 2, protocol: 40, meterType: 0x10, address: '00000012345678' },
        { serial: 4, pn: 4, port: 5, protocol: 41, meterType: 0x04, address: '00000000000005' },
      ],
    };
    const got = roundTrip(0x04, false, [{ pn: 0, fn: 249, value: archive }], { pw: PW });
    expect(got[0]!.value).toEqual(archive);
    // DA 00 00, DT F249 = 01 1F; count 02 00; serial 03 00, pn 03 00, port 02, protocol 28H, T 10H, address low byte first
    expect(toHex(got[0]!.data.subarray(0, 16))).toBe('02 00 03 00 03 00 02 28 10 78 56 34 12 00 00 00');
  });

  it('AFN 0D F249 daily frozen water volume in m³ (unit 2CH) and AFN 0C F249 with ST', () => {
    const daily: UnitValue = { day: '2026-11-29', readingTime: '2026-11-30 00:07', meterType: 0x10, unit: 0x2c, value: 123.456 };
    expect(roundTrip(0x0d, true, [{ pn: 7, fn: 249, value: daily }])[0]!.value).toEqual(daily);
    const current: UnitValue = { readingTime: '2026-11-30 10:00', meterType: 0x30, unit: 0x2c, value: 9.5, status: '04 00' };
    expect(roundTrip(0x0c, true, [{ pn: 7, fn: 249, value: current }])[0]!.value).toEqual(current);
  });

  it('AFN 04 F1 uplink parameters: heartbeat 15 min, 5 s timeout with 3 retries (CON-02)', () => {
    const v: UnitValue = { rtsDelay20ms: 0, tpDelayMinutes: 5, timeoutAndRetries: (3 << 12) | 5, conFlags: 0x07, heartbeatMinutes: 15 };
    const got = roundTrip(0x04, false, [{ pn: 0, fn: 1, value: v }], { pw: PW });
    expect(toHex(got[0]!.data)).toBe('00 05 05 30 07 0F');
  });

  it('an F249 address that is not 14 digits is an encode error', () => {
    const bad = { count: 1, meters: [{ serial: 1, pn: 1, port: 2, protocol: 40, meterType: 0x10, address: '123456789012' }] };
    expect(() => buildFrame({ control: DOWN, address: TERMINAL, afn: 0x04, seq: { seq: 1 }, units: [{ pn: 0, fn: 249, value: bad }], pw: PW })).toThrow(EncodeError);
  });
});
