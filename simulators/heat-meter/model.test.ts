import { describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { HeatMeterModel, KWH_PER_M3_K } from './model.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (month: number, day: number, hour = 0) => fromCalendar({ year: month >= 7 ? 2025 : 2026, month, day, hour, minute: 0, second: 0 });

function meter(start: number, seed = 3) {
  const clock = new VirtualClock({ start, autoAdvance: false });
  return { clock, m: new HeatMeterModel({ clock, seed, heating: { uaKwPerK: 0.12 } }) };
}

describe('heat meter model', () => {
  it('heats in season: power from the heat loss, flow from ΔT, energy and volume consistent (EN 1434 coefficient)', async () => {
    const { clock, m } = meter(at(1, 10));
    await clock.advance(2 * DAY);
    const s = m.snapshot();
    expect(s.energyKwh).toBeGreaterThan(2 * 24 * 0.12 * 10); // at least ΔT_room-out 10 K all the time
    expect(s.energyKwh).toBeLessThan(2 * 24 * 0.12 * 40);
    // Every quarter hour carries energy = volume × ΔT × 1.163 with ΔT = 10 K: the totals agree.
    expect(s.energyKwh).toBeCloseTo(s.volumeM3 * 10 * KWH_PER_M3_K, 6);
    expect(s.flowC - s.returnC).toBeCloseTo(10, 9);
    expect(s.operatingHours).toBe(48);
  });

  it('the night setback lowers the power; out of season nothing flows', () => {
    const { m } = meter(at(1, 10));
    const day = m.conditions(at(1, 10, 14));
    const nightBefore = m.conditions(at(1, 10, 2));
    // Same day mean; at 02:00 it is colder outside but the room is set 3 K lower.
    const expectedNight = 0.12 * (17 - m.outdoorC(at(1, 10, 2)));
    expect(nightBefore.powerKw).toBeCloseTo(expectedNight, 9);
    expect(day.powerKw).toBeCloseTo(0.12 * (20 - m.outdoorC(at(1, 10, 14))), 9);
    expect(m.inSeason(at(7, 1))).toBe(false);
    expect(m.conditions(at(7, 1, 12))).toMatchObject({ powerKw: 0, flowM3h: 0 });
    expect(m.inSeason(at(11, 15))).toBe(true);
    expect(m.inSeason(at(3, 15))).toBe(false);
  });

  it('takes monthly storages at 00:00 of the storage day, storage number 1 the most recent', async () => {
    const { clock, m } = meter(at(11, 20));
    await clock.advance(70 * DAY); // to the end of January
    const st = m.monthlyStorage();
    expect(st.map((s) => [s.storage, new Date(s.at).toISOString()])).toEqual([
      [1, new Date(at(1, 1)).toISOString()],
      [2, new Date(at(12, 1)).toISOString()],
    ]);
    expect(st[0]!.energyKwh).toBeGreaterThan(st[1]!.energyKwh);
  });

  it('is deterministic per seed', async () => {
    const a = meter(at(1, 1), 9);
    const b = meter(at(1, 1), 9);
    const c = meter(at(1, 1), 10);
    for (const x of [a, b, c]) await x.clock.advance(3 * DAY);
    expect(a.m.snapshot()).toEqual(b.m.snapshot());
    expect(a.m.snapshot().energyKwh).not.toBe(c.m.snapshot().energyKwh);
  });

  it('reports sensor errors and stops counting on a flow-measurement fault; a wrong energy factor shows in the register', async () => {
    const { clock, m } = meter(at(1, 10));
    await clock.advance(DAY);
    const before = m.snapshot().energyKwh;
    m.errors.add('flow-measurement');
    m.errors.add('return-sensor');
    await clock.advance(DAY);
    const s = m.snapshot();
    expect(s.energyKwh).toBe(before);
    expect(s).toMatchObject({ flowM3h: 0, returnC: 0, errors: ['flow-measurement', 'return-sensor'] });

    const wrong = meter(at(1, 10));
    wrong.m.energyFactor = 10;
    const right = meter(at(1, 10));
    await wrong.clock.advance(DAY);
    await right.clock.advance(DAY);
    expect(wrong.m.snapshot().energyKwh).toBeCloseTo(10 * right.m.snapshot().energyKwh, 6);
  });

  it("counting since an earlier instant: the first reading carries that history and its monthly storages", async () => {
    const clock = new VirtualClock({ start: at(1, 10), autoAdvance: false });
    const since = at(1, 10) - 50 * DAY; // 21 November: storages on 1 December and 1 January (local)
    const m = new HeatMeterModel({ clock, seed: 3, heating: { uaKwPerK: 0.12 }, countingSince: since });
    const st = m.monthlyStorage();
    expect(st.map((x) => x.storage)).toEqual([1, 2]);
    expect(st[0]!.energyKwh).toBeGreaterThan(st[1]!.energyKwh);
    expect(m.snapshot().energyKwh).toBeGreaterThan(st[0]!.energyKwh);
    // The same history as a meter that started then and ran until now.
    const c2 = new VirtualClock({ start: since, autoAdvance: false });
    const ran = new HeatMeterModel({ clock: c2, seed: 3, heating: { uaKwPerK: 0.12 } });
    await c2.advance(50 * DAY);
    expect(ran.snapshot().energyKwh).toBeCloseTo(m.snapshot().energyKwh, 9);
    expect(() => new HeatMeterModel({ clock, seed: 3, heating: { uaKwPerK: 0.12 }, countingSince: at(1, 10) + 1 })).toThrow(RangeError);
  });
});
