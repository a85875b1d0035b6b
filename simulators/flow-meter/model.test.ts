import { describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { FlowMeterModel, looksLikeLeak, type FlowMeterOptions } from './model.ts';

/** 2026-03-01 00:00 local. */
const T0 = fromCalendar({ year: 2026, month: 3, day: 1, hour: 0, minute: 0, second: 0 });
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function meter(extra: Partial<FlowMeterOptions> = {}): { clock: VirtualClock; m: FlowMeterModel } {
  const clock = new VirtualClock({ start: T0, autoAdvance: false });
  const m = new FlowMeterModel({ clock, kind: 'cold-water', seed: 7, consumption: { dailyLitres: { min: 300, max: 300 }, emptyDayProbability: 0 }, ...extra });
  return { clock, m };
}

describe('flow meter model', () => {
  it('uses its daily volume on an occupied day, most of it in the morning and evening peaks', async () => {
    const { clock, m } = meter();
    await clock.advance(DAY);
    expect(m.snapshot().litres).toBeCloseTo(300, 6);
    const hours = m.hourlyUse();
    const byHour = (h: number) => hours.find((x) => x.at === T0 + h * HOUR)?.litres ?? 0;
    expect(byHour(7)).toBeGreaterThan(10 * byHour(2));
    expect(byHour(19)).toBeGreaterThan(10 * byHour(3));
  });

  it('freezes the register at every local midnight and on the settlement day', async () => {
    const { clock, m } = meter({ settlementDay: 2 });
    await clock.advance(3 * DAY + HOUR);
    const daily = m.dailyFreezes();
    expect(daily.map((f) => f.at)).toEqual([T0 + 3 * DAY, T0 + 2 * DAY, T0 + DAY]);
    expect(daily[0]!.litres).toBeCloseTo(900, 6);
    expect(m.settlementFreezes().map((f) => f.at)).toEqual([T0 + DAY]); // 03-02 00:00
    expect(m.snapshot().cubicMetres).toBe(Math.floor(m.snapshot().litres / 10) / 100);
  });

  it('a meter in service starts with its past settlement freezes, one a month back, each a month of use below the next', async () => {
    // T0 is 03-01 00:00, a settlement midnight itself (day 1): the freezes are 03-01, 02-01, 01-01, 12-01.
    const { clock, m } = meter({ startLitres: 50_000, historyMonths: 4 });
    const f = m.settlementFreezes();
    expect(f.map((x) => x.at)).toEqual([T0, fromCalendar({ year: 2026, month: 2, day: 1, hour: 0, minute: 0, second: 0 }), fromCalendar({ year: 2026, month: 1, day: 1, hour: 0, minute: 0, second: 0 }), fromCalendar({ year: 2025, month: 12, day: 1, hour: 0, minute: 0, second: 0 })]);
    // 300 L a day, no empty days: 9,000 L a month, the latest half a month below the register.
    expect(f.map((x) => x.litres)).toEqual([45_500, 36_500, 27_500, 18_500]);
    // The next settlement freeze goes in front of them.
    await clock.advance(31 * DAY + HOUR);
    expect(m.settlementFreezes()).toHaveLength(5);
    expect(m.settlementFreezes()[0]!.litres).toBeGreaterThan(50_000);
    expect(() => meter({ historyMonths: 13 })).toThrow(/historyMonths: 0\.\.12/);
  });

  it('is deterministic per seed and varies across seeds with empty days', async () => {
    const run = async (seed: number) => {
      const clock = new VirtualClock({ start: T0, autoAdvance: false });
      const m = new FlowMeterModel({ clock, kind: 'cold-water', seed, consumption: { dailyLitres: { min: 100, max: 500 }, emptyDayProbability: 0.3 } });
      await clock.advance(20 * DAY);
      return m.dailyFreezes().map((f) => Math.round(f.litres));
    };
    expect(await run(1)).toEqual(await run(1));
    expect(await run(1)).not.toEqual(await run(2));
    const days = await run(3);
    const perDay = days.slice(0, -1).map((v, i) => v - days[i + 1]!);
    expect(perDay.some((d) => d === 0)).toBe(true); // an empty day
  });

  it('a leak leaves no hour without flow (MM-08); without it the night has empty hours', async () => {
    const night = { dailyLitres: { min: 300, max: 300 }, emptyDayProbability: 0, hourlyWeights: [0, 0, 0, 0, 0, 0, 4, 7, 6, 3, 2, 2, 3, 2, 1, 1, 2, 3, 6, 7, 6, 4, 2, 0] };
    const quiet = meter({ consumption: night });
    await quiet.clock.advance(2 * DAY);
    expect(looksLikeLeak(quiet.m.hourlyUse(), quiet.clock.now())).toBe(false);
    const leaking = meter({ consumption: night });
    leaking.m.setLeak(2);
    await leaking.clock.advance(2 * DAY);
    expect(looksLikeLeak(leaking.m.hourlyUse(), leaking.clock.now())).toBe(true);
    expect(leaking.m.snapshot().litres).toBeCloseTo(600 + 2 * 48, 6);
  });

  it('closes its valve after the motor time and stops the flow; a stuck valve ends abnormal and keeps flowing', async () => {
    const { clock, m } = meter({ valve: { motorMs: 8000 } });
    await clock.advance(8 * HOUR); // into the morning peak
    expect(m.commandValve('closed')).toBe(true);
    expect(m.snapshot()).toMatchObject({ valve: 'open', valveMoving: { to: 'closed' } });
    await clock.advance(8000);
    expect(m.snapshot()).toMatchObject({ valve: 'closed', valveMoving: null });
    const shut = m.snapshot().litres;
    await clock.advance(4 * HOUR);
    expect(m.snapshot().litres).toBe(shut);

    const stuck = meter();
    stuck.m.valveStuck = true;
    await stuck.clock.advance(8 * HOUR);
    stuck.m.commandValve('closed');
    await stuck.clock.advance(10_000);
    expect(stuck.m.snapshot().valve).toBe('abnormal');
  });

  it('drains its battery with wake-ups and valve moves and reports low below its threshold', async () => {
    const { clock, m } = meter({ battery: { capacityMah: 10, wakeUpMah: 0.5, valveMah: 2, idleMahPerDay: 0, lowBelow: 0.1 } });
    for (let i = 0; i < 10; i++) m.wake();
    m.commandValve('closed');
    await clock.advance(10_000);
    expect(m.snapshot()).toMatchObject({ batteryShare: expect.closeTo(0.3, 6), batteryLow: false });
    m.commandValve('open');
    await clock.advance(10_000);
    expect(m.snapshot()).toMatchObject({ batteryShare: expect.closeTo(0.1, 6) });
    m.wake();
    expect(m.snapshot().batteryLow).toBe(true);
  });

  it('a prepaid gas meter closes its valve when the balance runs out and refuses to open until topped up', async () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const m = new FlowMeterModel({
      clock,
      kind: 'gas',
      seed: 1,
      consumption: { dailyLitres: { min: 1000, max: 1000 }, emptyDayProbability: 0 },
      prepaid: { fenPerCubicMetre: 300, balanceFen: 150 }, // 0.5 m³ of gas
      valve: { motorMs: 5000 },
    });
    await clock.advance(DAY);
    const s = m.snapshot();
    expect(s.valve).toBe('closed');
    expect(s.litres).toBeGreaterThanOrEqual(500);
    expect(s.litres).toBeLessThan(500.2); // 0.5 m³, plus the motor time's worth of flow (5 s at ~100 L/h)
    expect(m.commandValve('open')).toBe(false);
    expect(m.topUp(3000)).toBe(true);
    expect(m.commandValve('open')).toBe(true);
    await clock.advance(5000);
    expect(m.snapshot().valve).toBe('open');
  });

  it('a broken register that hides low flows never shows the leak', async () => {
    const { clock, m } = meter({ consumption: { dailyLitres: { min: 0, max: 0 }, emptyDayProbability: 0 } });
    m.setLeak(3);
    m.hideFlowBelowLph = 5;
    await clock.advance(DAY);
    expect(m.snapshot().litres).toBe(0);
  });
});
