import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { readCollectionScenarioFile, loadCollectionScenario, type CollectionScenario } from './scenario.ts';
import { concentratorCount, concentratorIds, nightInstant, partitionConcentrators, planConcentrator, summarizePlans, type ConcentratorPlan } from './plan.ts';

const file = (name: string): CollectionScenario => readCollectionScenarioFile(new URL(`./scenarios/${name}.json`, import.meta.url).pathname);
const planAll = (s: CollectionScenario): ConcentratorPlan[] => Array.from({ length: concentratorCount(s) }, (_, i) => planConcentrator(s, i));
const SHANGHAI = 480;

describe('collection plan', () => {
  it('is the same for the same seed, and differs for another', () => {
    const s = file('pilot-2172');
    const a = planAll(s);
    const b = planAll(file('pilot-2172'));
    expect(b).toEqual(a);
    const other = planAll({ ...s, seed: s.seed + 1 });
    expect(other.map((p) => p.points.map((x) => x.dead))).not.toEqual(a.map((p) => p.points.map((x) => x.dead)));
    // Same households and layout (not seeded), other passwords.
    expect(other.map((p) => p.households)).toEqual(a.map((p) => p.households));
    expect(other[0]!.password).not.toEqual(a[0]!.password);
  });

  it("concentratorIds gives every concentrator's id by index, as its plan does", () => {
    const s = file('pilot-2172');
    expect(concentratorIds(s)).toEqual(planAll(s).map((p) => p.id));
    const moved = loadCollectionScenario({ seed: 1, areas: [{ name: 'a', areaCode: '0101', firstTerminal: 9, households: 5, householdsPerConcentrator: 2, meters: { electricity: { share: 1, channel: 'rs485' } } }] });
    expect(concentratorIds(moved)).toEqual(['a-0009', 'a-0010', 'a-0011']);
  });

  it('shards by whole concentrators: every concentrator in exactly one shard, in order, sizes within one', () => {
    const s = file('province-50000');
    const total = concentratorCount(s);
    expect(total).toBe(200);
    for (const n of [1, 2, 3, 7, 200, 201]) {
      const shards = Array.from({ length: n }, (_, i) => partitionConcentrators(s, i + 1, n));
      expect(shards.flat()).toEqual(Array.from({ length: total }, (_, i) => i));
      const sizes = shards.map((x) => x.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(() => partitionConcentrators(s, 0, 2)).toThrow(RangeError);
    expect(() => partitionConcentrators(s, 3, 2)).toThrow(RangeError);
    // A shard's concentrators planned alone are the whole province's: households cover it exactly.
    const two = [1, 2].map((i) => partitionConcentrators(s, i, 2).map((c) => planConcentrator(s, c)));
    const households = two.flat().map((p) => p.households);
    expect(households[0]!.first).toBe(0);
    for (let i = 1; i < households.length; i++) expect(households[i]!.first).toBe(households[i - 1]!.first + households[i - 1]!.count);
    expect(households.at(-1)!.first + households.at(-1)!.count).toBe(50_000);
    expect(summarizePlans(two.flat())).toEqual(summarizePlans(planAll(s)));
  });

  it('the pilot: 672 heat meters on M-Bus, 545 + 530 water and 425 gas meters behind converters, and every fault of the mix', () => {
    const plans = planAll(file('pilot-2172'));
    const sum = summarizePlans(plans);
    expect(sum.byKind).toEqual({ electricity: 0, water: 1075, gas: 425, heat: 672 });
    expect(plans.filter((p) => p.area === 'water-city-1').reduce((a, p) => a + p.points.length, 0)).toBe(545);
    expect(plans.filter((p) => p.area === 'water-city-2').reduce((a, p) => a + p.points.length, 0)).toBe(530);
    expect(sum.ports.mbus).toBeGreaterThan(0);
    expect(sum.ports.converter).toBeGreaterThan(0);
    for (const fault of ['dead', 'lossyHops', 'noisyBuses', 'reboots', 'uplinkDown'] as const) expect(sum[fault], fault).toBeGreaterThan(0);
  });

  it('the district and the province hold their households and every fault of the mix', () => {
    const d = summarizePlans(planAll(file('district-5389')));
    expect(d.byKind).toEqual({ electricity: 5389, water: 5389, gas: 5389, heat: 0 });
    const p = summarizePlans(planAll(file('province-50000')));
    expect(p.households).toBe(50_000);
    expect(p.byKind.electricity).toBe(50_000);
    for (const sum of [d, p]) for (const fault of ['dead', 'lossyHops', 'noisyBuses', 'reboots', 'uplinkDown'] as const) expect(sum[fault], fault).toBeGreaterThan(0);
  });

  it('archives are well formed: pn = serial 1.., ports 2..30, addresses distinct on a port and of the protocol\'s shape', () => {
    for (const plan of planAll(file('district-5389')).slice(0, 3).concat(planAll(file('pilot-2172')))) {
      expect(plan.archive.map((a) => a.pn)).toEqual(plan.archive.map((_, i) => i + 1));
      expect(plan.archive.every((a) => a.serial === a.pn && a.port >= 2 && a.port <= 30)).toBe(true);
      for (const port of plan.ports) {
        const addresses = port.points.map((pn) => plan.archive[pn - 1]!.address);
        expect(new Set(addresses).size).toBe(addresses.length);
        for (const pn of port.points) expect(plan.archive[pn - 1]!.port).toBe(port.port);
      }
      for (const a of plan.archive) {
        const shape = a.protocol === 'dlt645-2007' ? /^\d{12}$/ : a.protocol === 'cjt188' ? /^\d{14}$/ : /^([1-9]\d?|1\d\d|2[0-4]\d|250)$/;
        expect(a.address).toMatch(shape);
        if (a.protocol === 'dlt645-2007') expect(a).toMatchObject({ password: '02000000', operator: '00000000' });
        else expect(a.meterType).toBe(a.kind === 'heat' ? 0x04 : a.kind === 'gas' ? 0x30 : 0x10);
      }
      expect(plan.password.length).toBe(16);
    }
  });

  it('places the night faults: 01:30 after the first midnight, 23:00 before it', () => {
    const start = Date.parse('2026-01-11T12:00:00+08:00');
    expect(new Date(nightInstant(start, 0, '01:30', SHANGHAI)).toISOString()).toBe('2026-01-11T17:30:00.000Z');
    expect(new Date(nightInstant(start, 0, '23:00', SHANGHAI)).toISOString()).toBe('2026-01-11T15:00:00.000Z');
    expect(new Date(nightInstant(start, 1, '06:00', SHANGHAI)).toISOString()).toBe('2026-01-12T22:00:00.000Z');
    const s = loadCollectionScenario({
      seed: 3,
      start: '2026-01-11T12:00:00+08:00',
      areas: [{ name: 'a', areaCode: '0101', households: 4, householdsPerConcentrator: 1, meters: { electricity: { share: 1, channel: 'rs485' } } }],
      faults: { reboots: { share: 1, at: '02:10', offMinutes: 5 }, uplinkDown: { share: 1, from: '22:30', to: '05:00' } },
    });
    for (const p of planAll(s)) {
      expect(p.faults.reboot).toEqual({ at: Date.parse('2026-01-12T02:10:00+08:00'), offMs: 300_000 });
      expect(p.faults.uplinkDown).toEqual({ from: Date.parse('2026-01-11T22:30:00+08:00'), to: Date.parse('2026-01-12T05:00:00+08:00') });
    }
  });

  it('plans the whole province in reasonable memory (plan only: 145,000 points, about 300 B each)', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const s = file('province-50000');
    gc();
    const before = process.memoryUsage().heapUsed;
    const plans = planAll(s);
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    const points = plans.reduce((a, p) => a + p.points.length, 0);
    expect(points).toBeGreaterThan(140_000);
    // Measured 2026-11-30: 44 MB in all, 303 B a point (the plan and its archive). Bound: 512 B a point.
    expect(grown / points).toBeLessThan(512);
  });
});
