/**
 * Load records of the electricity meter (simulation.loadRecord, DI 06000001): recorded at every
 * interval boundary of the meter clock by the lazy model, stored compactly, read through
 * Dlt645Master over the in-memory rig with the given-time request and follow-up frames.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { Dlt645AbnormalReplyError, Dlt645Master } from '../../harness/masters/index.ts';
import {
  decodeLoadRecordBlocks,
  encodeLoadRecordRequest,
  loadRecordBlockLength,
  type LoadRecordBlock,
  type LoadRecordTime,
} from '../../harness/protocols/dlt645/index.ts';
import { ElectricityMeterModel } from './model.ts';
import { loadSimulatorProfile } from './profile.ts';
import { createRig, profileWith, T0, type Rig } from './test-support.ts';

const DI = '06000001';
/** Classes 1 (U, I, f), 2 (P, Q) and 4 (energy): what the concentrator's curves need. */
const MODE = 0b001011;
/** A household's day: steps on quarter hours, and one (18:40) inside a quarter. */
const STEPS = [
  { from: '00:00', kW: 0.4 },
  { from: '07:00', kW: 1.2 },
  { from: '12:00', kW: 2 },
  { from: '18:40', kW: 3.6 },
  { from: '22:00', kW: 0.8 },
];
const LOAD = { kW: STEPS, powerFactor: 0.8, voltageV: 230, frequencyHz: 50, phases: 3 };

function kWAt(minuteOfDay: number): number {
  let kW = STEPS[0]!.kW;
  for (const s of STEPS) if (Number(s.from.slice(0, 2)) * 60 + Number(s.from.slice(3)) <= minuteOfDay) kW = s.kW;
  return kW;
}

/** Energy of [m, m + 15) minutes of the day, kWh, minute by minute (the steps are on whole minutes). */
function quarterKWh(minuteOfDay: number): number {
  let e = 0;
  for (let m = minuteOfDay; m < minuteOfDay + 15; m++) e += kWAt(m) / 60;
  return e;
}

const at = (t: LoadRecordTime): number => fromCalendar({ ...t, second: 0 });
const day = (d: number, hour = 0, minute = 0): LoadRecordTime => ({ year: 2026, month: 3, day: d, hour, minute });

const masters: Dlt645Master[] = [];
afterEach(() => {
  for (const m of masters.splice(0)) m.dispose();
});

function masterOn(rig: Rig): Dlt645Master {
  const m = new Dlt645Master({ link: rig.master, clock: rig.clock, timeoutMs: 1000, attempts: 1 });
  masters.push(m);
  return m;
}

function read(rig: Rig, master: Dlt645Master, extra: Uint8Array) {
  return rig.clock.run(master.readData(rig.meter.model.address, DI, { extra }));
}

async function abnormal(rig: Rig, master: Dlt645Master, extra: Uint8Array): Promise<Dlt645AbnormalReplyError> {
  const e = await read(rig, master, extra).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(Dlt645AbnormalReplyError);
  return e as Dlt645AbnormalReplyError;
}

describe('load records over DL/T 645 (DI 06000001, given time)', () => {
  it("reads yesterday's 96 blocks after two simulated days: quarter-hour times, energy increments of the load, classes off empty", async () => {
    // T0 = 2026-03-02 10:00; run to 2026-03-04 00:10 (all of 2026-03-03 recorded).
    const rig = createRig(profileWith({ simulation: { load: LOAD, loadRecord: { modeWord: MODE } } }));
    await rig.clock.advanceTo(at(day(4, 0, 10)));
    const master = masterOn(rig);
    const r = await read(rig, master, encodeLoadRecordRequest({ count: 96, from: day(3) }));

    // Over follow-up frames: 96 blocks of 73 bytes do not fit one frame of 200.
    expect(loadRecordBlockLength(MODE)).toBe(73);
    expect(r.payload.length).toBe(96 * 73);
    // The dictionary takes a reply of up to 99 full blocks as its opaque 06000001 value.
    expect(r.valueError).toBeUndefined();
    expect(r.exchanges.length).toBeGreaterThan(30);
    expect(r.exchanges.slice(1).every((x) => x.message.kind === 'readFollowUp')).toBe(true);

    const decoded = decodeLoadRecordBlocks(r.payload);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const blocks = decoded.blocks;
    expect(blocks).toHaveLength(96);
    blocks.forEach((b, i) => {
      expect(b.time, `block ${i}`).toEqual(day(3, Math.floor(i / 4), (i % 4) * 15));
      expect(b.valid).toBe(true);
      // Classes 3, 5, 6 are off: empty.
      expect(b.powerFactor).toBeUndefined();
      expect(b.quadrantReactiveKvarh).toBeUndefined();
      expect(b.demand).toBeUndefined();
      // The instant's values: the load that starts at this quarter hour, shared by three phases.
      const kW = kWAt(i * 15);
      const perPhase = Math.round((kW / 3) * 1e4) / 1e4;
      const amps = Math.round(((kW / 3) * 1000 * 1000) / (230 * 0.8)) / 1000;
      expect(b.power?.activeKw, `block ${i}`).toEqual([kW, perPhase, perPhase, perPhase]);
      expect(b.power?.reactiveKvar[0]).toBeCloseTo(kW * 0.75, 4); // tan(acos 0.8) = 0.75
      expect(b.voltageCurrentFrequency).toEqual({ voltageV: [230, 230, 230], currentA: [amps, amps, amps], frequencyHz: 50 });
      expect(b.energy?.reverseActiveKwh).toBe(0);
    });
    // Energy: each quarter's increment is the load's energy in it (registers truncated to 0.01 kWh).
    for (let i = 0; i + 1 < 96; i++) {
      const increment = blocks[i + 1]!.energy!.forwardActiveKwh - blocks[i]!.energy!.forwardActiveKwh;
      expect(Math.abs(increment - quarterKWh(i * 15)), `quarter ${i}`).toBeLessThanOrEqual(0.01 + 1e-9);
    }
    // The 18:30 quarter holds the 18:40 step: 10 min at 2 kW + 5 min at 3.6 kW.
    expect(quarterKWh(18 * 60 + 30)).toBeCloseTo(2 / 6 + 3.6 / 12, 9);
    // Over the day, 00:00 to 23:45, within one truncation; and combined reactive 1 = QI = 0.75 × active.
    const first = blocks[0]!.energy!;
    const last = blocks[95]!.energy!;
    let dayKWh = 0;
    for (let i = 0; i < 95; i++) dayKWh += quarterKWh(i * 15);
    expect(Math.abs(last.forwardActiveKwh - first.forwardActiveKwh - dayKWh)).toBeLessThanOrEqual(0.01 + 1e-9);
    expect(Math.abs(last.combinedReactive1Kvarh - first.combinedReactive1Kvarh - 0.75 * dayKWh)).toBeLessThanOrEqual(0.02);
    expect(last.combinedReactive2Kvarh).toBe(0);
    // The register the meter serves at 00:00 of day 4 agrees with the record of 00:00 of day 3 plus the day.
    const model = rig.meter.model;
    const [at4] = model.loadRecords(at(day(4)), 1);
    expect(at4!.time).toEqual(day(4));
    expect(Math.abs(at4!.energy!.forwardActiveKwh - first.forwardActiveKwh - (dayKWh + quarterKWh(95 * 15)))).toBeLessThanOrEqual(0.01 + 1e-9);
  });

  it('answers from the given time at most NN blocks, oldest first, and each read with its own request data', async () => {
    const rig = createRig(profileWith({ simulation: { load: LOAD, loadRecord: { modeWord: MODE } } }));
    await rig.clock.advanceTo(at(day(3, 12, 5)));
    const master = masterOn(rig);
    const blocksOf = async (count: number, from: LoadRecordTime): Promise<LoadRecordBlock[]> => {
      const d = decodeLoadRecordBlocks((await read(rig, master, encodeLoadRecordRequest({ count, from }))).payload);
      if (!d.ok) throw new Error(d.error.message);
      return d.blocks;
    };
    expect((await blocksOf(4, day(3, 7, 0))).map((b) => b.time)).toEqual([day(3, 7, 0), day(3, 7, 15), day(3, 7, 30), day(3, 7, 45)]);
    // A time between two records: the first record after it.
    expect((await blocksOf(2, day(3, 7, 1))).map((b) => b.time)).toEqual([day(3, 7, 15), day(3, 7, 30)]);
    // Fewer records than NN after the time: those there are (12:00 is the last before 12:05).
    expect((await blocksOf(99, day(3, 11, 30))).map((b) => b.time)).toEqual([day(3, 11, 30), day(3, 11, 45), day(3, 12, 0)]);
    // The first record the meter made: 10:00 on the day it started (a start on a boundary records it).
    expect((await blocksOf(1, day(1)))[0]!.time).toEqual(day(2, 10, 0));
  });

  it('refuses: no record at or after the time → 02H no requested data; malformed request data → 01H other error', async () => {
    const rig = createRig(profileWith({ simulation: { load: LOAD, loadRecord: { modeWord: MODE } } }));
    await rig.clock.advanceTo(at(day(2, 12, 0)));
    const master = masterOn(rig);
    expect((await abnormal(rig, master, encodeLoadRecordRequest({ count: 1, from: day(2, 12, 15) }))).errorWord).toBe(0x02);
    const malformed = [
      new Uint8Array(0), // a plain read: no NN, no time
      Uint8Array.of(0x96, 0x00, 0x00, 0x01, 0x03), // the year missing
      Uint8Array.of(0x00, 0x00, 0x00, 0x01, 0x03, 0x26), // NN 0
      Uint8Array.of(0x01, 0x00, 0x00, 0x30, 0x02, 0x26), // 30 February
    ];
    for (const extra of malformed) expect((await abnormal(rig, master, extra)).errorWord).toBe(0x01);
  });

  it('a follow-up (12H) of DI 06000001 without its 11H gets 02H: the request data is not guessed', async () => {
    const rig = createRig(profileWith({ simulation: { load: LOAD, loadRecord: { modeWord: MODE } } }));
    await rig.clock.advanceTo(at(day(3, 12, 0)));
    const reply = await rig.ask({ kind: 'readFollowUp', di: DI, seq: 1 });
    expect(reply).toMatchObject({ kind: 'errorResponse', errorWord: 0x02 });
  });

  it('a meter whose mode word is 0 (the default) keeps and allocates nothing and answers 02H', async () => {
    const rig = createRig(profileWith({ simulation: { load: LOAD } }));
    await rig.clock.advanceTo(at(day(4)));
    const master = masterOn(rig);
    expect((await abnormal(rig, master, encodeLoadRecordRequest({ count: 96, from: day(3) }))).errorWord).toBe(0x02);
    expect(rig.meter.model.loadRecordStorage).toEqual({ records: 0, bytes: 0 });
    expect(rig.meter.model.settings.loadRecord).toEqual({ modeWord: 0, intervalMinutes: 15, daysKept: 4 });
  });
});

describe('load record store of the model', () => {
  function model(loadRecord: Record<string, unknown>, load: Record<string, unknown> = LOAD) {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const m = new ElectricityMeterModel({ profile: loadSimulatorProfile(profileWith({ simulation: { load, loadRecord } })), clock });
    return { clock, m };
  }

  it('keeps a ring of daysKept × 96 records, grown from one day, a column per quantity of the enabled classes that was ever non-zero', async () => {
    const { clock, m } = model({ modeWord: MODE, daysKept: 2 });
    await clock.advanceTo(at(day(2, 22, 0)));
    // 10:00 (the start, on a boundary) .. 22:00 in one day's columns: time, power, forward, combined reactive 1 (no export: no reverse, no combined reactive 2).
    expect(m.loadRecordStorage).toEqual({ records: 49, bytes: 96 * 4 * 4 });
    await clock.advanceTo(at(day(6, 0, 0)));
    expect(m.loadRecordStorage).toEqual({ records: 192, bytes: 192 * 4 * 4 });
    const all = m.loadRecords(0, 1000);
    expect(all).toHaveLength(192);
    expect(all[0]!.time).toEqual(day(4, 0, 15)); // 192 records back from 6 March 00:00
    expect(all[191]!.time).toEqual(day(6, 0, 0));
    // Energy only: time, forward, combined reactive 1.
    const e = model({ modeWord: 0b1000, daysKept: 1 });
    await e.clock.advanceTo(at(day(4)));
    expect(e.m.loadRecordStorage).toEqual({ records: 96, bytes: 96 * 3 * 4 });
  });

  it('a column first needed after the ring has wrapped (export from noon) reads 0 before and the values after', async () => {
    const { clock, m } = model({ modeWord: 0b1000, daysKept: 2 }, { kW: 1, powerFactor: 0.8, voltageV: 230, frequencyHz: 50, phases: 3 });
    await clock.advanceTo(at(day(4, 12, 0)));
    expect(m.loadRecordStorage.bytes).toBe(192 * 3 * 4); // time, forward, combined reactive 1
    m.setLoad(-2);
    await clock.advanceTo(at(day(5, 0, 0)));
    expect(m.loadRecordStorage).toEqual({ records: 192, bytes: 192 * 5 * 4 }); // + reverse, combined reactive 2
    const all = m.loadRecords(0, 200);
    expect(all[0]!.time).toEqual(day(3, 0, 15));
    const noon = all.findIndex((b) => b.time.day === 4 && b.time.hour === 12 && b.time.minute === 0);
    const before = all[noon]!.energy!;
    expect(before.reverseActiveKwh).toBe(0);
    expect(before.combinedReactive2Kvarh).toBe(0);
    for (let i = noon + 1; i < all.length; i++) {
      const e = all[i]!.energy!;
      const quarters = i - noon;
      expect(e.forwardActiveKwh).toBe(before.forwardActiveKwh);
      expect(e.reverseActiveKwh).toBeCloseTo(0.5 * quarters, 2); // 2 kW × 0.25 h
      expect(Math.abs(e.combinedReactive2Kvarh - 0.375 * quarters)).toBeLessThanOrEqual(0.01 + 1e-9); // QIII: 1.5 kvar × 0.25 h
    }
  });

  it('records every interval of 5 minutes too, and all six classes: PF, quadrants, demand of the last whole period', async () => {
    const { clock, m } = model({ modeWord: 0b111111, intervalMinutes: 5 }, { kW: 2, powerFactor: 0.8, voltageV: 220, frequencyHz: 50, phases: 1 });
    await clock.advanceTo(at(day(2, 11, 0)));
    const blocks = m.loadRecords(at(day(2, 10, 0)), 100);
    expect(blocks.map((b) => b.time.minute)).toEqual([0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 0]);
    const b = blocks.find((x) => x.time.minute === 30)!;
    // Single-phase: phases B and C have no voltage (FF FF on the wire) and no current.
    expect(b.voltageCurrentFrequency).toEqual({ voltageV: [220, Number.NaN, Number.NaN], currentA: [11.364, 0, 0], frequencyHz: 50 });
    expect(b.power).toEqual({ activeKw: [2, 2, 0, 0], reactiveKvar: [1.5, 1.5, 0, 0] });
    expect(b.powerFactor).toEqual([0.8, 0.8, 1, 1]);
    expect(b.quadrantReactiveKvarh).toEqual([0.75, 0, 0, 0]); // 30 min at 1.5 kvar
    expect(b.energy).toEqual({ forwardActiveKwh: 1001, reverseActiveKwh: 0, combinedReactive1Kvarh: 0.75, combinedReactive2Kvarh: 0 });
    // 10:15 ended the first whole demand period (10:00-10:15): 2 kW; at 10:00 (the start), 10:05 and 10:10 none yet.
    expect(blocks[0]!.demand).toEqual({ activeKw: 0, reactiveKvar: 0 });
    expect(blocks[2]!.demand).toEqual({ activeKw: 0, reactiveKvar: 0 });
    expect(blocks[3]!.demand).toEqual({ activeKw: 2, reactiveKvar: 1.5 });
  });

  it('records the mains off as no voltage, no frequency, no power; a meter clear forgets the records', async () => {
    const { clock, m } = model({ modeWord: 0b0011 });
    await clock.advanceTo(at(day(2, 10, 20)));
    m.cutMains();
    await clock.advanceTo(at(day(2, 10, 40)));
    m.restoreMains();
    await clock.advanceTo(at(day(2, 11, 0)));
    const [b1, b2, b3] = m.loadRecords(at(day(2, 10, 15)), 3);
    expect(b1!.voltageCurrentFrequency!.voltageV).toEqual([230, 230, 230]);
    expect(b2!.time).toEqual(day(2, 10, 30));
    expect(b2!.voltageCurrentFrequency).toEqual({ voltageV: [0, 0, 0], currentA: [0, 0, 0], frequencyHz: 0 });
    expect(b2!.power!.activeKw).toEqual([0, 0, 0, 0]);
    expect(b3!.voltageCurrentFrequency!.frequencyHz).toBe(50);
    m.meterClear('00000001');
    expect(m.loadRecords(0, 100)).toEqual([]);
    await clock.advanceTo(at(day(2, 11, 15)));
    expect(m.loadRecords(0, 100).map((b) => b.time)).toEqual([day(2, 11, 15)]);
  });

  it('04000901 and 04000A02..07 read the mode word and the interval of the profile, over the wire too', async () => {
    const { m } = model({ modeWord: 0b101001, intervalMinutes: 30 });
    expect(m.readValue('04000901')).toBe(0b101001);
    for (const di of ['04000A02', '04000A03', '04000A04', '04000A05', '04000A06', '04000A07']) expect(m.readValue(di), di).toBe(30);
    const rig = createRig(profileWith({ simulation: { loadRecord: { modeWord: 0b1000, intervalMinutes: 5 } } }));
    expect(await rig.ask({ kind: 'readData', di: '04000901', extra: new Uint8Array(0) })).toMatchObject({ kind: 'readDataResponse', payload: Uint8Array.of(0x08) });
    expect(await rig.ask({ kind: 'readData', di: '04000A05', extra: new Uint8Array(0) })).toMatchObject({ kind: 'readDataResponse', payload: Uint8Array.of(0x05, 0x00) });
  });

  it('the profile refuses an interval that does not divide 60 and a mode word beyond class 6', () => {
    expect(() => loadSimulatorProfile(profileWith({ simulation: { loadRecord: { modeWord: 1, intervalMinutes: 7 } } }))).toThrow(/simulation\.loadRecord\.intervalMinutes/);
    expect(() => loadSimulatorProfile(profileWith({ simulation: { loadRecord: { modeWord: 64 } } }))).toThrow(/simulation\.loadRecord\.modeWord/);
  });
});
