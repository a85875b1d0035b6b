/**
 * The terminal's load-curve answers (COL-12): AFN 0D F81 (active power), F89 (phase A voltage),
 * F101 (forward active energy) from the core's day curves, over the terminal-test-support rig in
 * virtual time: a whole day, a span across midnight, coarser and finer densities, a start off the
 * grid, records the meter did not give (EEH), points without curves, a core without curves, and a
 * reply over several frames.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../harness/core/bytes.ts';
import { Gw1376Master } from '../../harness/masters/gw1376-master.ts';
import { Afn, CurveFn, type DataUnitItem, type UnitValue } from '../../harness/protocols/gw1376/index.ts';
import { AREA, createRig, itemsOf, kindOf, MSA, START, TERMINAL, type Received, type Rig } from './terminal-test-support.ts';
import type { DailyCurve } from './types.ts';

const DAY = '2026-03-09';
const NEXT = '2026-03-10';
const INTERVAL = 15;
const POINTS = 1440 / INTERVAL;

/** Exact values in each format's decimals: power XX.XXXX kW, voltage XXX.X V, energy XXXXXX.XX kWh. */
const power = (pn: number, day: number, i: number): number => (pn * 10_000 + day * 1000 + i * 7 - 5000) / 10_000;
const voltage = (pn: number, day: number, i: number): number => (2200 + pn + day * 10 + i) / 10;
const energy = (pn: number, day: number, i: number): number => (pn * 100_000 + day * 10_000 + i * 25) / 100;

/** A day curve of `pn`; `missing` indexes are NaN (the meter had no valid record). */
function dayCurve(pn: number, day: string, missing: readonly number[] = []): DailyCurve {
  const d = Number(day.slice(8));
  const series = (f: (pn: number, day: number, i: number) => number): Float64Array => Float64Array.from({ length: POINTS }, (_, i) => (missing.includes(i) ? Number.NaN : f(pn, d, i)));
  return { pn, day, intervalMinutes: INTERVAL, readAt: START, activePowerKw: series(power), voltageAV: series(voltage), forwardActiveKwh: series(energy) };
}

function only(frames: Received[]): Received {
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

async function onlineRig(): Promise<Rig> {
  const rig = createRig();
  await rig.online();
  return rig;
}

function pointsOf(item: DataUnitItem): (number | null)[] {
  return (item.value!.points as readonly UnitValue[]).map((p) => p.value as number | null);
}

const tdc = (start: string, density: number, pointCount: number): UnitValue => ({ start, density, pointCount });

describe('AFN 0D F81 / F89 / F101 from the day curves', () => {
  it('a whole day at the curve density: 96 points of each curve, the request Td_c repeated, NaN as EEH', async () => {
    const rig = await onlineRig();
    rig.core.putCurve(dayCurve(1, DAY, [0, 50]));
    const req = tdc(`${DAY} 00:00`, 1, 96);
    const got = itemsOf(
      await rig.ask(Afn.class2Data, [
        { pn: 1, fn: CurveFn.activePower, value: req },
        { pn: 1, fn: CurveFn.phaseAVoltage, value: req },
        { pn: 1, fn: CurveFn.forwardActiveEnergy, value: req },
      ]),
    );
    expect(got.map((i) => [i.pn, i.fn])).toEqual([
      [1, 81],
      [1, 89],
      [1, 101],
    ]);
    const want = (f: (pn: number, day: number, i: number) => number): (number | null)[] => Array.from({ length: 96 }, (_, i) => (i === 0 || i === 50 ? null : f(1, 9, i)));
    expect(pointsOf(got[0]!)).toEqual(want(power));
    expect(pointsOf(got[1]!)).toEqual(want(voltage));
    expect(pointsOf(got[2]!)).toEqual(want(energy));
    for (const item of got) expect(item.value).toMatchObject({ start: `${DAY} 00:00`, density: 1, pointCount: 96 });
    // The bytes of F81: Td_c, then EEH for 00:00, then 00:15 = 1 + 0.9 + 0.0007 - 0.5 = 1.4007 kW.
    expect(toHex(got[0]!.data.subarray(0, 13))).toBe('00 00 09 03 26 01 60 EE EE EE 07 40 01');
    expect(got[0]!.data).toHaveLength(7 + 96 * 3);
  });

  it('a negative active power goes with the sign bit (A.9)', async () => {
    const rig = await onlineRig();
    const c = dayCurve(1, DAY);
    c.activePowerKw[4] = -1.25;
    rig.core.putCurve(c);
    const [item] = itemsOf(await rig.ask(Afn.class2Data, [{ pn: 1, fn: 81, value: tdc(`${DAY} 01:00`, 1, 1) }]));
    expect(pointsOf(item!)).toEqual([-1.25]);
    expect(toHex(item!.data.subarray(7))).toBe('00 25 81');
  });

  it('a span across midnight takes the points after 24:00 from the next day\'s curve; a missing next day gives EEH', async () => {
    const rig = await onlineRig();
    rig.core.putCurve(dayCurve(1, DAY));
    rig.core.putCurve(dayCurve(1, NEXT));
    rig.core.putCurve(dayCurve(2, DAY));
    const req = tdc(`${DAY} 23:15`, 1, 6);
    const got = itemsOf(
      await rig.ask(Afn.class2Data, [
        { pn: 1, fn: 101, value: req },
        { pn: 2, fn: 101, value: req },
      ]),
    );
    expect(pointsOf(got[0]!)).toEqual([energy(1, 9, 93), energy(1, 9, 94), energy(1, 9, 95), energy(1, 10, 0), energy(1, 10, 1), energy(1, 10, 2)]);
    expect(pointsOf(got[1]!)).toEqual([energy(2, 9, 93), energy(2, 9, 94), energy(2, 9, 95), null, null, null]);
    // The span also crosses a month end: 2026-02-28 23:30 + 4 x 15 min reaches 2026-03-01.
    rig.core.putCurve(dayCurve(3, '2026-02-28'));
    rig.core.putCurve(dayCurve(3, '2026-03-01'));
    const [feb] = itemsOf(await rig.ask(Afn.class2Data, [{ pn: 3, fn: 89, value: tdc('2026-02-28 23:30', 1, 4) }]));
    expect(pointsOf(feb!)).toEqual([voltage(3, 28, 94), voltage(3, 28, 95), voltage(3, 1, 0), voltage(3, 1, 1)]);
  });

  it('a coarser density takes every k-th record: 30 min every 2nd, 60 min every 4th (across midnight too)', async () => {
    const rig = await onlineRig();
    rig.core.putCurve(dayCurve(1, DAY));
    rig.core.putCurve(dayCurve(1, NEXT));
    const got = itemsOf(
      await rig.ask(Afn.class2Data, [
        { pn: 1, fn: 81, value: tdc(`${DAY} 00:00`, 2, 48) },
        { pn: 1, fn: 89, value: tdc(`${DAY} 22:00`, 3, 4) },
      ]),
    );
    expect(pointsOf(got[0]!)).toEqual(Array.from({ length: 48 }, (_, k) => power(1, 9, 2 * k)));
    expect(pointsOf(got[1]!)).toEqual([voltage(1, 9, 88), voltage(1, 9, 92), voltage(1, 10, 0), voltage(1, 10, 4)]);
  });

  it('a finer density (254 = 5 min, 255 = 1 min) or a start off the grid: the points on no record are EEH', async () => {
    const rig = await onlineRig();
    rig.core.putCurve(dayCurve(1, DAY));
    const got = itemsOf(
      await rig.ask(Afn.class2Data, [
        { pn: 1, fn: 81, value: tdc(`${DAY} 10:00`, 254, 7) },
        { pn: 1, fn: 89, value: tdc(`${DAY} 10:14`, 255, 3) },
        { pn: 1, fn: 101, value: tdc(`${DAY} 10:07`, 1, 3) },
      ]),
    );
    expect(pointsOf(got[0]!)).toEqual([power(1, 9, 40), null, null, power(1, 9, 41), null, null, power(1, 9, 42)]);
    expect(pointsOf(got[1]!)).toEqual([null, voltage(1, 9, 41), null]);
    // Off the grid: the point has a curve for its day but no record, so it is answered, all EEH.
    expect(pointsOf(got[2]!)).toEqual([null, null, null]);
    expect(toHex(got[2]!.data.subarray(7))).toBe('EE EE EE EE EE EE EE EE EE EE EE EE');
  });

  it('a point with no curve on the days of the span is left out; none at all: AFN 00 F2 (function 9)', async () => {
    const rig = await onlineRig();
    rig.core.putCurve(dayCurve(1, DAY));
    const req = tdc(`${DAY} 00:00`, 1, 4);
    const got = itemsOf(
      await rig.ask(Afn.class2Data, [
        { pn: 1, fn: 81, value: req },
        { pn: 7, fn: 81, value: req },
      ]),
    );
    expect(got.map((i) => i.pn)).toEqual([1]);
    expect(rig.core.curveCalls).toContain(`7/${DAY}`);
    // The day before has no curve for p1: nothing to give.
    const none = only(await rig.ask(Afn.class2Data, [{ pn: 1, fn: 81, value: tdc('2026-03-08 00:00', 1, 4) }]));
    expect(kindOf(none)).toBe('00 F2');
    expect(none.message.frame.control.functionCode).toBe(9);
  });

  it('density 0 (not frozen), a reserved density or an impossible start: denied with a log line', async () => {
    const rig = await onlineRig();
    rig.core.putCurve(dayCurve(1, DAY));
    for (const req of [tdc(`${DAY} 00:00`, 0, 4), tdc(`${DAY} 00:00`, 7, 4), tdc('2026-02-30 00:00', 1, 4)]) {
      expect(kindOf(only(await rig.ask(Afn.class2Data, [{ pn: 1, fn: 81, value: req }])))).toBe('00 F2');
    }
    expect(rig.logs.filter((l) => /AFN 0D F81: Td_c start/.test(l))).toHaveLength(3);
  });

  it('a core without curves (no `curve`) answers none', async () => {
    const rig = await onlineRig();
    (rig.core as { curve?: unknown }).curve = undefined;
    expect(kindOf(only(await rig.ask(Afn.class2Data, [{ pn: 1, fn: 81, value: tdc(`${DAY} 00:00`, 1, 4) }])))).toBe('00 F2');
  });

  it('40 points x 255 energy points go as several frames (FIR .. FIN, RSEQ counting up), every unit whole', async () => {
    const rig = await onlineRig();
    const pns = Array.from({ length: 40 }, (_, i) => i + 1);
    for (const pn of pns) {
      rig.core.putCurve(dayCurve(pn, DAY));
      rig.core.putCurve(dayCurve(pn, NEXT));
    }
    // 255 points from 2026-03-09 00:00: 96 + 96 + 63 across two midnights; 2026-03-11 has no curve.
    const frames = await rig.ask(Afn.class2Data, pns.map((pn) => ({ pn, fn: 101, value: tdc(`${DAY} 00:00`, 1, 255) })), { seq: 14 });
    expect(frames.length).toBeGreaterThan(2);
    expect(frames.map((f) => f.message.frame.seq.position)).toEqual(['first', ...Array<string>(frames.length - 2).fill('middle'), 'last']);
    expect(frames.map((f) => f.message.frame.seq.seq)).toEqual(frames.map((_, i) => (14 + i) & 0x0f));
    const got = itemsOf(frames);
    expect(got.map((i) => i.pn)).toEqual(pns);
    for (const item of got) {
      const pn = item.pn as number;
      const want = Array.from({ length: 255 }, (_, i) => (i < 96 ? energy(pn, 9, i) : i < 192 ? energy(pn, 10, i - 96) : null));
      expect(pointsOf(item)).toEqual(want);
    }
  });

  it('end to end: Gw1376Master.readCurves over the terminal gives the curves as the core holds them', async () => {
    const rig = await onlineRig();
    rig.core.putCurve(dayCurve(1, DAY, [10]));
    rig.core.putCurve(dayCurve(2, DAY));
    const master = new Gw1376Master({ link: rig.master.link, clock: rig.clock, msa: MSA, terminal: { areaCode: AREA, terminal: TERMINAL } });
    try {
      const got = await rig.clock.run(master.readCurves([1, 2, 3].flatMap((pn) => [81, 89, 101].map((fn) => ({ pn, fn }))), `${DAY} 00:00`, 1, 96));
      expect(got.map((c) => [c.pn, c.fn])).toEqual([
        [1, 81],
        [2, 81],
        [1, 89],
        [2, 89],
        [1, 101],
        [2, 101],
      ]);
      const series = { 81: power, 89: voltage, 101: energy } as const;
      for (const c of got) {
        const f = series[c.fn as 81 | 89 | 101];
        expect(c.points).toEqual(Array.from({ length: 96 }, (_, i) => (c.pn === 1 && i === 10 ? null : f(c.pn, 9, i))));
      }
      // A day without curves: null.
      expect(await rig.clock.run(master.readCurve(81, 1, '2026-03-01 00:00', 1, 96))).toBeNull();
    } finally {
      master.dispose();
    }
  });
});
