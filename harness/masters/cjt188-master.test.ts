/**
 * Cjt188Master against a scripted CJ/T 188 responder (cjt188-test-support.ts) on the RS-485 bus
 * model, in virtual time: decoding through the dictionary, the golden vectors as requests and
 * replies, reply matching, retries, the wake-up of battery meters (MM-06), abnormal replies and
 * the scanner flush after silence.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { TimeoutError, UsageError } from '../core/errors.ts';
import { Rs485Bus } from '../links/bus.ts';
import { createMemoryPair } from '../links/memory.ts';
import { characterTimeMs, type LineSettings } from '../links/link.ts';
import {
  DIALECTS,
  MeterType,
  encodeStatus,
  type Cjt188Dialect,
  type Cjt188Message,
  type MeteringData,
} from '../protocols/cjt188/index.ts';
import { Cjt188Master, type Cjt188MasterOptions } from './cjt188-master.ts';
import { ScriptedCjt188Meter, type ScriptedCjt188MeterOptions } from './cjt188-test-support.ts';
import { AbnormalReplyError, Cjt188AbnormalReplyError, Cjt188NoReplyError, NoReplyError } from './errors.ts';

/** 2400 8E1, the usual CJ/T 188 RS-485 line (PROTOCOLS.md 2.1 [BK], CON-06). */
const LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };
const CHAR_MS = characterTimeMs(LINE); // 4.583 ms

interface Vector {
  readonly hex: string;
}
/** The golden vectors (verbatim copy of shared/vectors/cjt188.json), numbered from 1 as in its README. */
const VECTORS: readonly Vector[] = JSON.parse(readFileSync(new URL('../protocols/cjt188/fixtures/cjt188-vectors.json', import.meta.url), 'utf8')) as Vector[];
const vector = (n: number): Uint8Array => hex(VECTORS[n - 1]!.hex);

/** Vectors 1-2: cold water meter 78330011223344. */
const WATER = '78330011223344';
/** Vectors 6-13: meter 00000805000001 (Fox-Edge dialect). */
const FOX = '00000805000001';

type Handler = ScriptedCjt188MeterOptions['handler'];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(
  handler: Handler,
  options: {
    meter?: Partial<Omit<ScriptedCjt188MeterOptions, 'handler' | 'link' | 'clock'>>;
    master?: Partial<Omit<Cjt188MasterOptions, 'link' | 'clock'>>;
    dialect?: Cjt188Dialect;
  } = {},
) {
  const clock = new VirtualClock();
  const bus = new Rs485Bus({ clock, line: LINE });
  const meterLink = bus.attach('meter');
  const masterLink = bus.attach('master');
  const meter = new ScriptedCjt188Meter({
    link: meterLink,
    clock,
    line: LINE,
    meterType: MeterType.ColdWater,
    address: WATER,
    ...(options.dialect ? { dialect: options.dialect } : {}),
    ...options.meter,
    handler,
  });
  const master = new Cjt188Master({ link: masterLink, clock, line: LINE, ...(options.dialect ? { dialect: options.dialect } : {}), ...options.master });
  cleanups.push(async () => {
    master.dispose();
    await bus.close();
  });
  return { clock, bus, master, meter };
}

/** 901F water reply value: 12.34 m³ current, 10.00 m³ at settlement, valve as given. */
function metering(valve: 'open' | 'closed', batteryLow = false): MeteringData {
  return {
    currentFlow: { value: 12.34, unit: 'm³', unitCode: 0x2c },
    settlementFlow: { value: 10, unit: 'm³', unitCode: 0x2c },
    time: { year: 2026, month: 1, day: 1, hour: 8, minute: 0, second: 0 },
    status: { raw: '00 00', valve, batteryLow, layout: 'standard' },
  };
}

const answer901F: Handler = (f, m, meter) =>
  m.kind === 'readData' && m.di === '901F' ? meter.reply({ kind: 'readDataResponse', di: m.di, diOrder: m.diOrder, ser: m.ser, value: metering('open') as never }) : null;

describe('Cjt188Master reads', () => {
  it('sends vector 2 byte for byte (4 × FE default) and decodes the vector 1 reply with the dictionary', async () => {
    const { master, meter, clock } = setup((f, m) => (m.kind === 'readData' ? vector(1) : null));
    const t0 = clock.now();
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    const x = r.exchange;
    expect(toHex(x.request)).toBe(VECTORS[1]!.hex);
    expect(meter.heard.map((h) => h.outcome)).toEqual(['answered']);
    expect(r.address).toBe(WATER);
    expect(r.meterType).toBe(0x10);
    expect(r.definition?.name).toBe('metering data');
    const v = r.value as unknown as MeteringData;
    expect(v.currentFlow).toEqual({ value: 556677, unit: 'm³', unitCode: 0x2c });
    expect(v.time).toEqual({ year: 2015, month: 5, day: 11, hour: 22, minute: 1, second: 31 });
    expect(r.status?.raw).toBe('21 84');
    expect(r.status?.valve).toBe('closed');
    expect(x.attempts).toBe(1);
    expect(x.sentAt).toBe(t0);
    expect(x.transmittedAt - x.sentAt).toBeCloseTo(20 * CHAR_MS, 2);
    // Td: the responder waits 60 ms after the request arrived.
    expect(Math.abs(x.responseDelayMs! - 60)).toBeLessThanOrEqual(CHAR_MS);
    expect(x.timing).toBe('paced');
    expect(x.rejected).toEqual([]);
    expect(master.lastExchange).toBe(x);
  });

  it('reads history D120, settlement day 8103 and the key version (09H), one SER after another', async () => {
    const { master, meter } = setup((f, m, mt) => {
      const h = { di: m.di, diOrder: m.diOrder, ser: m.ser };
      if (m.kind === 'readData' && m.di === 'D120') return mt.reply({ kind: 'readDataResponse', ...h, value: { settlementFlow: { value: 1234.5, unit: 'm³', unitCode: 0x2c } } });
      if (m.kind === 'readData' && m.di === '8103') return mt.reply({ kind: 'readDataResponse', ...h, value: { day: 25 } });
      if (m.kind === 'readKeyVersion') return mt.reply({ kind: 'readKeyVersionResponse', ...h, value: { keyVersion: 7 } });
      return null;
    });
    const history = await master.readData(MeterType.ColdWater, WATER, 'd120');
    expect(history.di).toBe('D120');
    expect(history.value).toEqual({ settlementFlow: { value: 1234.5, unit: 'm³', unitCode: 0x2c } });
    expect(history.definition?.nameZh).toBe('上1月历史计量数据');
    expect((await master.readData(MeterType.ColdWater, WATER, '8103')).value).toEqual({ day: 25 });
    const key = await master.readKeyVersion(MeterType.ColdWater, WATER);
    expect(key.keyVersion).toBe(7);
    expect(key.exchange.reply!.frame.control.raw).toBe(0x89);
    expect(meter.heard.map((h) => [h.frame.control.raw, h.message.ser])).toEqual([
      [0x01, 0],
      [0x01, 1],
      [0x09, 2],
    ]);
  });

  it('reads the address with the wildcard (vector 6 byte for byte, Fox-Edge DI order), rejecting a reply that echoes the wildcard', async () => {
    const { master } = setup(
      (f, m, mt) => (m.kind === 'readAddress' ? [mt.reply({ kind: 'readAddressResponse', di: m.di, diOrder: m.diOrder, ser: m.ser }, { address: 'AAAAAAAAAAAAAA', preamble: 0 }), vector(7)] : null),
      { dialect: DIALECTS.foxEdge, meter: { address: FOX }, master: { preamble: 0 } },
    );
    const r = await master.readAddress();
    expect(toHex(r.exchange.request)).toBe(VECTORS[5]!.hex);
    expect(r.address).toBe(FOX);
    expect(r.meterType).toBe(MeterType.ColdWater);
    expect(r.exchange.rejected.map((j) => j.reason)).toEqual(['wildcard-echo']);
    expect(r.exchange.reply!.message.diOrder).toBe('reversed');
  });
});

describe('Cjt188Master real-device quirks (vectors 22-23)', () => {
  it('sends vector 22 byte for byte and takes the heat meter reply of vector 23 (type 25H for 20H, SER 03H for 12H) by default', async () => {
    const HEAT = '00312718241912';
    const { master } = setup((f, m) => (m.kind === 'readData' ? vector(23) : null), {
      meter: { meterType: MeterType.Heat, address: HEAT },
      master: { preamble: 5, firstSer: 0x12 },
    });
    const r = await master.readData(MeterType.Heat, HEAT, '901F');
    expect(toHex(r.exchange.request)).toBe(VECTORS[21]!.hex);
    expect(r.meterType).toBe(0x25);
    expect(r.exchange.reply!.message.ser).toBe(0x03);
    expect(r.value['cumulativeFlow']).toEqual({ value: 7156.08, unit: 'm³', unitCode: 0x2c });
    expect(r.value['supplyTemperature']).toBe(26.79);
    expect(r.status).toBeDefined();
  });

  it('with meterTypeMatch exact and matchSer the same reply is rejected, and the read fails with the evidence', async () => {
    const HEAT = '00312718241912';
    const { master } = setup((f, m) => (m.kind === 'readData' ? vector(23) : null), {
      meter: { meterType: MeterType.Heat, address: HEAT },
      master: { preamble: 5, firstSer: 0x12, meterTypeMatch: 'exact', matchSer: true, attempts: 1 },
    });
    const e = (await master.readData(MeterType.Heat, HEAT, '901F').catch((x: unknown) => x)) as Cjt188NoReplyError;
    expect(e).toBeInstanceOf(Cjt188NoReplyError);
    expect(e.exchange.rejected.map((j) => j.reason)).toEqual(['meter-type']);
    expect(e.message).toContain('rejected 1 frame(s): 1 meter-type (first: reply from meter type 25H, request to 20H (exact))');
  });
});

describe('Cjt188Master reply matching and retries', () => {
  it('discards a reply with a bad checksum and succeeds on the retry', async () => {
    let calls = 0;
    const { master } = setup((f, m) => {
      if (m.kind !== 'readData') return null;
      calls++;
      if (calls > 1) return vector(1);
      const bad = vector(1);
      bad[bad.length - 2]! ^= 0x01; // CS 13H -> 12H
      return bad;
    });
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    const x = r.exchange;
    expect(x.attempts).toBe(2);
    expect(x.attemptLog.map((a) => [a.outcome, a.silent])).toEqual([
      ['timeout', false],
      ['reply', false],
    ]);
    expect(x.discarded.map((d) => [d.error.code, d.attempt])).toEqual([['cjt188.checksum', 1]]);
    expect((r.value as unknown as MeteringData).currentFlow.value).toBe(556677);
  });

  it('rejects replies from another address, another meter type and for another DI, and keeps waiting', async () => {
    const { master } = setup((f, m, mt) => {
      if (m.kind !== 'readData') return null;
      const good: Cjt188Message = { kind: 'readDataResponse', di: m.di, diOrder: m.diOrder, ser: m.ser, value: metering('open') as never };
      return [
        mt.reply(good, { address: '78330011223399' }), // another meter
        mt.reply(good, { meterType: MeterType.Gas }), // a gas meter at the same address
        mt.reply({ ...good, di: 'D120', value: { settlementFlow: { value: 1, unit: 'm³', unitCode: 0x2c } } }),
        mt.reply(good, { meterType: 0x13 }), // reclaimed water: same family, accepted
      ];
    });
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    const x = r.exchange;
    expect(x.rejected.map((j) => j.reason)).toEqual(['address', 'meter-type', 'di']);
    expect(x.rejected[0]!.detail).toContain('78330011223399');
    expect(x.rejected[1]!.detail).toContain('30H');
    expect(x.replyMeterType).toBe(0x13);
    expect(x.attempts).toBe(1);
    expect(r.status?.valve).toBe('open');
  });

  it("meterTypeMatch 'exact' rejects the same family; matchSer rejects another SER", async () => {
    const { master } = setup(
      (f, m, mt) => {
        if (m.kind !== 'readData') return null;
        const good: Cjt188Message = { kind: 'readDataResponse', di: m.di, diOrder: m.diOrder, ser: m.ser, value: metering('open') as never };
        return [mt.reply(good, { meterType: 0x13 }), mt.reply({ ...good, ser: (m.ser + 1) & 0xff }), mt.reply(good)];
      },
      { master: { meterTypeMatch: 'exact', matchSer: true, firstSer: 0x12 } },
    );
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    expect(r.exchange.rejected.map((j) => [j.reason, j.detail])).toEqual([
      ['meter-type', 'reply from meter type 13H, request to 10H (exact)'],
      ['ser', 'reply SER 13H, request SER 12H'],
    ]);
  });

  it('on silence throws Cjt188NoReplyError naming the request, the attempts and the caller line, after 3 × 3000 ms', async () => {
    const { master, clock, meter } = setup(() => null);
    const t0 = clock.now();
    const e = await master.readData(MeterType.ColdWater, WATER, '901F').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Cjt188NoReplyError);
    expect(e).toBeInstanceOf(NoReplyError);
    expect(e).toBeInstanceOf(TimeoutError);
    const err = e as Cjt188NoReplyError;
    expect(err.message).toBe(
      'no reply to readData DI 901F SER 00 from coldWater (10H) meter 78330011223344 after 3 attempt(s) of 3000 ms (4 FE silent, 4 FE silent, 4 FE silent)',
    );
    expect(err.attempts).toBe(3);
    expect(err.exchange.attemptLog.map((a) => a.outcome)).toEqual(['timeout', 'timeout', 'timeout']);
    // The stack names this test file (the line that called readData), not the master's internals.
    expect(err.stack!.split('\n')[1]).toContain('cjt188-master.test.ts');
    expect(meter.heard).toHaveLength(3);
    expect(clock.now() - t0).toBeGreaterThanOrEqual(3 * 3000);
  });

  it('recovers from a stalled partial frame: the silence flush discards it before the good reply arrives', async () => {
    const { master } = setup((f, m) => {
      if (m.kind !== 'readData') return null;
      const good = vector(1);
      // 12 bytes of a reply (68 T A0..A6 C L DI0), then nothing for 800 ms (> 500 ms), then the whole reply.
      return [good.subarray(0, 12), { afterMs: 800, bytes: good }];
    });
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    const x = r.exchange;
    expect(x.attempts).toBe(1);
    expect(x.discarded.map((d) => [d.error.code, toHex(d.bytes.subarray(0, 2))])).toEqual([['cjt188.truncated', '68 10']]);
    // Flushed by silence (500 ms after its last byte), not when the next frame came.
    expect(x.discarded[0]!.at).toBeLessThan(x.firstByteAt!);
    expect(toHex(x.reply!.raw)).toBe(VECTORS[0]!.hex);
  });
});

describe('Cjt188Master abnormal replies', () => {
  it('turns an abnormal reply (C1H with ST) into Cjt188AbnormalReplyError carrying the status and the exchange', async () => {
    const { master } = setup((f, m, mt) =>
      m.kind === 'readData'
        ? mt.reply({
            kind: 'abnormalResponse',
            di: m.di,
            diOrder: m.diOrder,
            ser: m.ser,
            functionCode: 0x01,
            status: null,
            payload: encodeStatus({ valve: 'abnormal', batteryLow: true }),
          })
        : null,
    );
    const e = await master.readData(MeterType.ColdWater, WATER, '901F').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Cjt188AbnormalReplyError);
    expect(e).toBeInstanceOf(AbnormalReplyError);
    const err = e as Cjt188AbnormalReplyError;
    expect(err.code).toBe('cjt188.abnormal-reply');
    expect(err.control).toBe(0xc1);
    expect(err.status).toMatchObject({ valve: 'abnormal', batteryLow: true, raw: '07 00' });
    expect(err.message).toBe('78330011223344 answered readData DI 901F SER 00 with an abnormal reply C1H: ST 07 00 (valve abnormal, battery low)');
    expect(err.exchange.attempts).toBe(1);
  });
});

describe('Cjt188Master wake-up of battery meters (MM-06)', () => {
  const sleepy = { meter: { wakeUpMs: 2000 } };

  it('does not reach a meter that sniffs every 2 s with the 4 × FE preamble', async () => {
    const { master, meter } = setup(answer901F, sleepy);
    const e = await master.readData(MeterType.ColdWater, WATER, '901F').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Cjt188NoReplyError);
    expect(meter.heard.map((h) => h.outcome)).toEqual(['asleep', 'asleep', 'asleep']);
  });

  it('wakeUp: { preambleMs: 2500 } sends ceil(2500 / 4.583) = 546 FE, reaches it, and times the reply from the end of transmission', async () => {
    const { master, meter } = setup(answer901F, { ...sleepy, master: { wakeUp: { preambleMs: 2500 }, timeoutMs: 1000 } });
    expect(master.wakeUpPreamble(2500)).toBe(546);
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    const x = r.exchange;
    expect(x.attemptLog.map((a) => a.preamble)).toEqual([546]);
    expect(x.attemptLog[0]!.preambleMs).toBeGreaterThanOrEqual(2500);
    expect(toHex(x.request.subarray(544, 548))).toBe('FE FE 68 10');
    expect(meter.heard.map((h) => h.outcome)).toEqual(['answered']);
    // 562 bytes take 2.58 s on the line, longer than the 1000 ms timeout: the timeout starts after them.
    expect(x.transmittedAt - x.sentAt).toBeCloseTo(562 * CHAR_MS, 2);
    expect(Math.abs(x.responseDelayMs! - 60)).toBeLessThanOrEqual(CHAR_MS);
  });

  it('on a link whose write() resolves before the bytes are on the wire, the timeout still starts after the estimated end of transmission', async () => {
    // An in-memory pair stands for a serial port that takes the bytes at once; the line settings
    // say how long 562 bytes take (2.58 s). The responder answers 2.8 s after the request reached
    // it, which is 0.2 s after the bytes would have left a real line: inside a 1000 ms timeout.
    const clock = new VirtualClock();
    const [a, b] = createMemoryPair();
    cleanups.push(() => a.close());
    const meter = new ScriptedCjt188Meter({ link: b, clock, line: LINE, meterType: MeterType.ColdWater, address: WATER, wakeUpMs: 2000, delayMs: 2800, handler: answer901F });
    const master = new Cjt188Master({ link: a, clock, line: LINE, wakeUp: { preambleMs: 2500 }, timeoutMs: 1000 });
    cleanups.push(async () => master.dispose());
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    expect(r.exchange.attempts).toBe(1);
    expect(r.exchange.attemptLog[0]!.writtenAt).toBe(r.exchange.sentAt);
    expect(r.exchange.transmittedAt - r.exchange.sentAt).toBeCloseTo(562 * CHAR_MS, 2);
    expect(meter.heard.map((h) => h.outcome)).toEqual(['answered']);
  });

  it('a wake-up shorter than the sniff period is not enough either', async () => {
    const { master, meter } = setup(answer901F, { ...sleepy, master: { wakeUp: { preambleMs: 1500 }, attempts: 2 } });
    await expect(master.readData(MeterType.ColdWater, WATER, '901F')).rejects.toBeInstanceOf(Cjt188NoReplyError);
    expect(meter.heard.map((h) => h.outcome)).toEqual(['asleep', 'asleep']);
  });

  it('retryPreambleMs: short preamble first, the long wake-up only after a silent attempt', async () => {
    const { master, meter } = setup(answer901F, { ...sleepy, master: { wakeUp: { preambleMs: 0, retryPreambleMs: 2500 } } });
    const r = await master.readData(MeterType.ColdWater, WATER, '901F');
    expect(r.exchange.attemptLog.map((a) => [a.preamble, a.outcome, a.silent])).toEqual([
      [4, 'timeout', true],
      [546, 'reply', false],
    ]);
    expect(meter.heard.map((h) => h.outcome)).toEqual(['asleep', 'answered']);
    expect(toHex(r.exchange.request.subarray(0, 5))).toBe('FE FE FE FE 68');
  });

  it('a per-request wakeUp overrides the master; wakeUp without line settings is refused', async () => {
    const { master } = setup(answer901F, sleepy);
    const r = await master.readData(MeterType.ColdWater, WATER, '901F', { wakeUp: { preambleMs: 2100 } });
    expect(r.exchange.attemptLog[0]!.preamble).toBe(Math.ceil(2100 / CHAR_MS));
    const clock = new VirtualClock();
    const bus = new Rs485Bus({ clock, line: LINE });
    cleanups.push(() => bus.close());
    expect(() => new Cjt188Master({ link: bus.attach('m'), clock, wakeUp: { preambleMs: 2500 } })).toThrow(UsageError);
  });
});

describe('Cjt188Master writes', () => {
  it('valve open and close in the Fox-Edge dialect: vectors 10 and 11 byte for byte, ST of replies 12 and 13', async () => {
    const { master } = setup(
      (f, m) => (m.kind === 'valveControl' ? (m.command === 0x55 ? vector(12) : vector(13)) : null),
      { dialect: DIALECTS.foxEdge, meter: { address: FOX }, master: { preamble: 3 } },
    );
    const open = await master.valveControl(MeterType.ColdWater, FOX, 'open');
    expect(toHex(open.exchange.request)).toBe(VECTORS[9]!.hex);
    expect(open.status?.valve).toBe('open');
    const close = await master.valveControl(MeterType.ColdWater, FOX, 'close', {});
    // Vector 11 with SER 01 (the master's second request) instead of 00, so CS one more.
    const expected = vector(11);
    expected[16] = 0x01;
    expected[18]! += 1;
    expect(toHex(close.exchange.request)).toBe(toHex(expected));
    expect(close.status?.valve).toBe('closed');
    expect(close.exchange.reply!.frame.control.raw).toBe(0xaa);
  });

  it('standard valve (04H A017), sync time (A015), write address (15H) and motor-sync data (16H, vector 17)', async () => {
    const GAS = '00000000000003';
    const { master, meter } = setup(
      (f, m, mt) => {
        const h = { di: m.di, diOrder: m.diOrder, ser: m.ser };
        const st = { raw: '00 00', valve: 'closed', batteryLow: false, layout: 'standard' } as const;
        switch (m.kind) {
          case 'valveControl':
            return mt.reply({ kind: 'valveControlResponse', ...h, functionCode: m.functionCode, status: st });
          case 'writeData':
            return mt.reply({ kind: 'writeDataResponse', ...h, status: null });
          case 'writeAddress':
            return mt.reply({ kind: 'writeAddressResponse', ...h, status: null });
          case 'writeSyncData':
            return mt.reply({ kind: 'writeSyncDataResponse', ...h, status: null });
          default:
            return null;
        }
      },
      { meter: { meterType: MeterType.Gas, address: GAS }, master: { preamble: 3, firstSer: 0xff } },
    );
    const sync = await master.writeSyncData(MeterType.Gas, GAS, { value: 123456.78, unit: null, unitCode: 0x00 });
    expect(toHex(sync.exchange.request)).toBe(VECTORS[16]!.hex);
    const valve = await master.valveControl(MeterType.Gas, GAS, 'close');
    // Vector 15 with SER 00 (the master's next after FF) instead of 01, so CS one less.
    const expected = vector(15);
    expected[16] = 0x00;
    expected[18]! -= 1;
    expect(toHex(valve.exchange.request)).toBe(toHex(expected));
    expect(valve.status?.valve).toBe('closed');
    const time = { year: 2026, month: 1, day: 1, hour: 8, minute: 0, second: 5 };
    await master.syncTime(MeterType.Gas, GAS, time);
    await master.writeAddress(MeterType.Gas, GAS, '00000000000005');
    const kinds = meter.heard.map((h) => h.message);
    expect(kinds.map((k) => k.kind)).toEqual(['writeSyncData', 'valveControl', 'writeData', 'writeAddress']);
    expect(kinds[2]).toMatchObject({ di: 'A015', value: { time } });
    expect(kinds[3]).toMatchObject({ di: 'A018', newAddress: '00000000000005' });
    await expect(master.writeData(MeterType.Gas, GAS, 'A017', { command: 0x55 })).rejects.toBeInstanceOf(UsageError);
  });
});

describe('Cjt188Master sendRaw', () => {
  it('sends bytes as given and reports what came back: vector 2 gets vector 1, the same with a bad CS gets silence', async () => {
    const { master, meter } = setup((f, m) => (m.kind === 'readData' ? vector(1) : null));
    const good = await master.sendRaw(vector(2), { expectReply: true });
    expect(good.replies.map((f) => toHex(f.raw))).toEqual([VECTORS[0]!.hex]);
    expect(good.silent).toBe(false);
    expect(Math.abs(good.responseDelayMs! - 60)).toBeLessThanOrEqual(CHAR_MS);
    const broken = vector(2);
    broken[broken.length - 2]! ^= 0x01;
    const bad = await master.sendRaw(broken, { listenMs: 1000 });
    expect(bad.silent).toBe(true);
    expect(bad.replies).toEqual([]);
    expect(meter.heard).toHaveLength(1);
    // The master goes on as before.
    expect((await master.readData(MeterType.ColdWater, WATER, '901F')).exchange.attempts).toBe(1);
  });
});
