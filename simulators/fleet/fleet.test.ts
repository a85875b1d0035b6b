import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProfileError } from '../../harness/core/errors.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { characterTimeMs } from '../../harness/links/link.ts';
import { Dlt645Master } from '../../harness/masters/index.ts';
import { REFERENCE_FOLLOW_UP_IDENTIFIERS, REFERENCE_IDENTIFIERS } from '../electricity-meter/reference-identifiers.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import { createElectricityMeter, type BehaviourConfig } from '../electricity-meter/index.ts';
import { ADAPTER_NODE, buildBus, fleetMeterType, meterProfile, type FleetBus } from './fleet.ts';
import { FIFTY_ITEM_DAY, FOUR_ITEMS } from './identifiers.ts';
import { FleetStoppedError, readFleetInWorkers } from './parallel.ts';
import { busCount, meterAddress, parseShard, partition, planBus, planMeter } from './plan.ts';
import { mergeBusResults, readBus, readPartition, type BusReadResult } from './read.ts';
import { loadFleetScenario, readFleetScenarioFile, type FleetScenarioInput } from './scenario.ts';

const REF = [{ name: 'ref', profile: 'reference' }];

function scenario(extra: Partial<FleetScenarioInput> = {}) {
  return loadFleetScenario({ seed: 7, meters: 6, metersPerBus: 3, models: REF, ...extra });
}

function errorOf(json: unknown): string {
  try {
    loadFleetScenario(json, { source: 'x.json' });
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return (e as Error).message;
  }
  throw new Error('the scenario was accepted');
}

describe('scenario', () => {
  it('names the bad field in one message', () => {
    expect(errorOf({ seed: 1, meters: 0, models: REF })).toMatch(/^scenario x\.json: meters: /);
    expect(errorOf({ seed: 1, meters: 10, metersPerBus: 33, models: REF })).toMatch(/metersPerBus: .*32/);
    expect(errorOf({ seed: 1, meters: 10, models: [] })).toMatch(/models: /);
    expect(errorOf({ seed: 1, meters: 10, models: REF, colour: 'red' })).toMatch(/colour/);
    expect(errorOf({ seed: 1, meters: 10, models: [...REF, ...REF] })).toMatch(/models\[1\]\.name: duplicate name "ref"/);
    expect(errorOf({ seed: 1, meters: 10, models: REF, faults: { dead: 0.6, slow: { share: 0.5 } } })).toMatch(/faults: fault shares add up to 1\.1/);
    expect(errorOf({ seed: 1, meters: 10, models: REF, faults: { broken: [{ share: 0.1, behaviour: { name: 'no-such' } }] } })).toMatch(
      /faults\.broken\[0\]\.behaviour/,
    );
    expect(errorOf({ seed: 1, meters: 10, models: REF, loadProfiles: [{ name: 'a', load: { kW: [{ from: '01:00', kW: 1 }] } }] })).toMatch(
      /loadProfiles\[0\]\.load\.kW\[0\]\.from: a daily load profile must start at 00:00/,
    );
    expect(errorOf({ seed: 1, meters: 10, models: [{ name: 'm', profile: 'no/such.json' }] })).toMatch(/models\[0\]\.profile: no such file "no\/such\.json"/);
    expect(errorOf({ seed: 1, meters: 10, models: REF, addresses: { mode: 'sequential', first: '999999999995' } })).toMatch(/addresses\.first: .*broadcast/);
  });

  it('loads model profiles from files relative to the scenario and reports their bad fields', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleet-scenario-'));
    writeFileSync(join(dir, 'bad-model.json'), JSON.stringify({ meter: { address: '1' } }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ seed: 1, meters: 3, models: [{ name: 'b', profile: 'bad-model.json' }] }));
    expect(() => readFleetScenarioFile(join(dir, 'bad.json'))).toThrow(/models\[0\]\.profile "bad-model\.json": meter\.address/);
    writeFileSync(join(dir, 'broken.json'), '{"seed": 1,');
    expect(() => readFleetScenarioFile(join(dir, 'broken.json'))).toThrow(/invalid JSON/);
    expect(() => readFleetScenarioFile(join(dir, 'missing.json'))).toThrow(/missing\.json: no such file/);
  });
});

describe('plan', () => {
  it('is a pure function of the scenario and the meter index', () => {
    const s = scenario({ meters: 40, metersPerBus: 8, faults: { dead: 0.2, broken: [{ share: 0.2, behaviour: { name: 'wrong-checksum' } }] } });
    expect(planBus(s, 2)).toEqual(planBus(s, 2));
    expect(planBus(s, 2).meters.map((m) => m.index)).toEqual([16, 17, 18, 19, 20, 21, 22, 23]);
    expect(planBus(s, 2).meters[3]).toEqual(planMeter(s, 19));
    const other = loadFleetScenario({ seed: 8, meters: 40, metersPerBus: 8, models: REF, faults: s.faults });
    expect(planBus(other, 2).meters.map((m) => m.seed)).not.toEqual(planBus(s, 2).meters.map((m) => m.seed));
  });

  it('allocates sequential and scattered addresses, distinct and never the broadcast address', () => {
    const seq = scenario({ addresses: { mode: 'sequential', first: '000000000998' } });
    expect([0, 1, 2].map((k) => meterAddress(seq, k))).toEqual(['000000000998', '000000000999', '000000001000']);
    const sc = scenario({ meters: 20_000, addresses: { mode: 'scattered' } });
    const all = Array.from({ length: 20_000 }, (_, k) => meterAddress(sc, k));
    expect(new Set(all).size).toBe(20_000);
    for (const a of all) expect(a).toMatch(/^\d{12}$/);
    expect(all).not.toContain('999999999999');
  });

  it('draws faults, models and load profiles in their shares', () => {
    const s = loadFleetScenario({
      seed: 3,
      meters: 10_000,
      models: [
        { name: 'a', profile: 'reference', share: 3 },
        { name: 'b', profile: 'reference', share: 1 },
      ],
      loadProfiles: [
        { name: 'low', share: 1, load: { kW: 0.2 } },
        { name: 'high', share: 1, load: { kW: 5 } },
      ],
      faults: { dead: 0.1, slow: { share: 0.05, delayMs: 700 }, broken: [{ share: 0.02, behaviour: { name: 'wrong-checksum' } }] },
    });
    const plans = Array.from({ length: 10_000 }, (_, k) => planMeter(s, k));
    const count = (f: (p: (typeof plans)[number]) => boolean): number => plans.filter(f).length;
    expect(count((p) => p.fault.kind === 'dead')).toBeGreaterThan(900);
    expect(count((p) => p.fault.kind === 'dead')).toBeLessThan(1100);
    expect(count((p) => p.fault.kind === 'slow')).toBeGreaterThan(420);
    expect(count((p) => p.fault.kind === 'slow')).toBeLessThan(580);
    expect(count((p) => p.fault.kind === 'broken')).toBeGreaterThan(150);
    expect(count((p) => p.fault.kind === 'broken')).toBeLessThan(250);
    expect(count((p) => p.model === 0)).toBeGreaterThan(7300);
    expect(count((p) => p.model === 0)).toBeLessThan(7700);
    expect(count((p) => p.load === 1)).toBeGreaterThan(4800);
    expect(count((p) => p.load === 1)).toBeLessThan(5200);
  });

  it('parseShard reads i/n with 1 ≤ i ≤ n and says what is wrong otherwise', () => {
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(parseShard('3/8')).toEqual({ index: 3, count: 8 });
    for (const bad of ['0/2', '3/2', 'a/b', '1/0', '1/', '/2', '1/2/3', ' 1/2', '-1/2', '1.5/2', '']) expect(() => parseShard(bad), bad).toThrow(RangeError);
  });

  it('partition(scenario, i, n) puts every bus in exactly one shard, contiguous and balanced', () => {
    for (const meters of [1, 31, 32, 33, 1000, 200_000]) {
      const s = { meters, metersPerBus: 32 };
      for (const n of [1, 2, 3, 7, 64]) {
        const shards = Array.from({ length: n }, (_, i) => partition(s, i + 1, n));
        expect(shards.flat()).toEqual(Array.from({ length: busCount(s) }, (_, b) => b));
        const sizes = shards.map((x) => x.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(partition(s, 1, n)).toEqual(shards[0]);
      }
    }
    expect(() => partition({ meters: 10, metersPerBus: 32 }, 0, 2)).toThrow(RangeError);
    expect(() => partition({ meters: 10, metersPerBus: 32 }, 3, 2)).toThrow(RangeError);
    expect(() => partition({ meters: 10, metersPerBus: 32 }, 1, 0)).toThrow(RangeError);
  });
});

describe('identifier lists', () => {
  it('holds 4 and 50 distinct identifiers that the reference meter declares, none needing follow-up frames', () => {
    const declared = new Set(REFERENCE_IDENTIFIERS);
    for (const [list, n] of [
      [FOUR_ITEMS, 4],
      [FIFTY_ITEM_DAY, 50],
    ] as const) {
      expect(list.length).toBe(n);
      expect(new Set(list).size).toBe(n);
      for (const di of list) {
        expect(declared.has(di), di).toBe(true);
        expect(REFERENCE_FOLLOW_UP_IDENTIFIERS.includes(di), di).toBe(false);
      }
    }
  });
});

describe('read engine', () => {
  it('reads every item of a healthy bus in exactly its line time', async () => {
    const s = scenario();
    const clock = new VirtualClock({ autoAdvance: false });
    const bus = buildBus(s, 1, clock);
    expect(bus.meters.map((m) => m.plan.address)).toEqual(['000000000004', '000000000005', '000000000006']);
    const r = await clock.run(readBus(bus, FOUR_ITEMS, clock));
    await bus.close();
    expect(r).toMatchObject({ bus: 1, meters: 3, itemsPlanned: 12, itemsRead: 12, itemsFailed: 0, exchanges: 12, attempts: 12, complete: true });
    // One master, half duplex, nothing lost: the bus is busy exactly the characters it carried plus each Td.
    const charMs = characterTimeMs(s.line);
    expect(r.lineTimeMs).toBeGreaterThan(bus.bus.stats.bytes * charMs);
    expect(r.lineTimeMs - bus.bus.stats.bytes * charMs).toBeCloseTo(12 * 60, 6); // 12 replies × Td 60 ms (reference profile)
    expect(Math.abs(r.simulatedMs - r.lineTimeMs)).toBeLessThan(0.01);
  });

  it('reads with the collection reader exactly what the general master reads: items, failures, counts, line time, digest', async () => {
    // Faults that exercise every path of the reader besides its fast one: silence, a late reply,
    // a reply later than the timeout (it lands in the next attempt), bad checksums, a foreign
    // address, a wildcard echo, dropped replies; identifiers with follow-up frames (12H) and an
    // identifier the meter does not declare (abnormal reply).
    const broken = (behaviour: BehaviourConfig) => ({ share: 0.08, behaviour });
    const s = loadFleetScenario({
      seed: 13,
      meters: 48,
      metersPerBus: 16,
      models: REF,
      faults: {
        dead: 0.08,
        slow: { share: 0.08, delayMs: 3200 },
        broken: [
          broken({ name: 'wrong-checksum' }),
          broken({ name: 'wrong-address-reply' }),
          broken({ name: 'drop-every-nth', n: 3 }),
          broken({ name: 'late-reply', delayMs: 700 }),
          broken({ name: 'ignore-follow-up' }),
          broken({ name: 'stale-follow-up' }),
        ],
      },
    });
    const ids = [...FOUR_ITEMS, ...REFERENCE_FOLLOW_UP_IDENTIFIERS.slice(0, 2), 'EEEEEEEE'];
    const kinds = new Set([0, 1, 2].flatMap((b) => planBus(s, b).meters.map((m) => (m.fault.kind === 'broken' ? m.fault.behaviour.name : m.fault.kind))));
    expect(kinds.size).toBeGreaterThanOrEqual(7);
    const withReader = await readPartition(s, [0, 1, 2], ids);
    const withMaster = await readPartition(s, [0, 1, 2], ids, { engine: 'master' });
    expect(withReader).toEqual(withMaster);
    const merged = mergeBusResults(withReader);
    expect(merged.failures.noReply).toBeGreaterThan(0);
    expect(merged.failures.abnormal).toBeGreaterThanOrEqual(48 - merged.failures.noReply / ids.length);
    expect(merged.itemsRead).toBeGreaterThan(0);
  });

  it('an onItem that throws rejects the bus read, with either engine', async () => {
    for (const engine of ['reader', 'master'] as const) {
      const clock = new VirtualClock({ autoAdvance: false });
      const bus = buildBus(scenario(), 0, clock);
      let items = 0;
      const onItem = (): void => {
        if (++items === 2) throw new Error('collector full');
      };
      // The bus read itself rejects (not a timer of the clock, which would fail clock.run instead).
      const read = readBus(bus, FOUR_ITEMS, clock, { onItem, engine });
      expect(await clock.run(read.then(() => 'resolved', (e: Error) => e.message))).toBe('collector full');
      expect(items).toBe(2);
      await bus.close();
    }
  });

  it('builds meters from shared types that answer exactly as meters built from their own profiles', async () => {
    const s = loadFleetScenario({
      seed: 5,
      meters: 16,
      metersPerBus: 8,
      models: REF,
      loadProfiles: [
        { name: 'night', share: 0.5, load: { kW: [{ from: '00:00', kW: 0.4 }, { from: '08:00', kW: 2.5 }] } },
        { name: 'flat', share: 0.5, load: { kW: [{ from: '00:00', kW: 1.2 }] } },
      ],
      faults: { slow: { share: 0.2, delayMs: 700 }, broken: [{ share: 0.2, behaviour: { name: 'wrong-checksum' } }] },
    });
    const plans = planBus(s, 1).meters;
    expect(new Set(plans.map((p) => p.fault.kind)).size).toBeGreaterThan(1);
    expect(new Set(plans.map((p) => p.load)).size).toBe(2);
    // Shared: one type per (model, load profile), the same object for every meter that has both.
    const a = plans[0]!;
    const b = plans.filter((p) => p.load === a.load)[1]!;
    expect(fleetMeterType(s, a)).toBe(fleetMeterType(s, b));
    expect(fleetMeterType(s, a)).not.toBe(fleetMeterType(s, plans.find((p) => p.load !== a.load)!));

    const read = async (build: (clock: VirtualClock) => FleetBus) => {
      const clock = new VirtualClock({ autoAdvance: false });
      const fleetBus = build(clock);
      await clock.advance(9 * 3_600_000); // registers grown under each load profile
      const r = await clock.run(readBus(fleetBus, FOUR_ITEMS, clock));
      await fleetBus.close();
      return r;
    };
    const shared = await read((clock) => buildBus(s, 1, clock));
    const ownProfiles = await read((clock) => {
      const bus = new Rs485Bus({ clock, line: s.line, name: 'own' });
      const adapter = bus.attach(ADAPTER_NODE, { line: s.line });
      const meters = plans.map((plan) => {
        const node = bus.attach(plan.address);
        return { plan, node, meter: createElectricityMeter({ profile: meterProfile(s, plan), link: node, clock, seed: plan.seed }) };
      });
      return { plan: planBus(s, 1), bus, adapter, meters, close: () => bus.close() };
    });
    expect(shared.itemsFailed).toBeGreaterThan(0);
    expect({ ...shared, name: '' }).toEqual({ ...ownProfiles, name: '' });
  });

  it('counts dead, slow and broken meters and keeps line time below simulated time', async () => {
    const s = loadFleetScenario({
      seed: 11,
      meters: 24,
      metersPerBus: 8,
      models: REF,
      faults: { dead: 0.15, slow: { share: 0.15, delayMs: 900 }, broken: [{ share: 0.15, behaviour: { name: 'wrong-checksum' } }] },
    });
    const plans = [0, 1, 2].flatMap((b) => planBus(s, b).meters);
    const dead = plans.filter((p) => p.fault.kind === 'dead' || p.fault.kind === 'broken').length;
    const slow = plans.filter((p) => p.fault.kind === 'slow').length;
    expect(dead).toBeGreaterThan(0);
    expect(slow).toBeGreaterThan(0);
    const result = mergeBusResults(await readPartition(s, [0, 1, 2], FOUR_ITEMS));
    expect(result.itemsFailed).toBe(dead * 4);
    expect(result.failures.noReply).toBe(dead * 4);
    expect(result.itemsRead).toBe((24 - dead) * 4);
    for (const b of result.buses) {
      expect(b.simulatedMs).toBeGreaterThanOrEqual(b.lineTimeMs);
      expect(b.attempts).toBe(b.exchanges + 2 * b.failures.noReply); // 3 attempts each (CON-05)
    }
    // A slow meter's Td (900 ms) is in the line-time bound.
    const slowBus = result.buses.find((b) => planBus(s, b.bus).meters.some((m) => m.fault.kind === 'slow'))!;
    expect(slowBus.lineTimeMs).toBeGreaterThan(4 * 900);
  });

  it('reads every bus on a group\'s shared clock (sameInstant batch), in groups of any size, exactly as alone on its own default clock', async () => {
    const s = loadFleetScenario({
      seed: 11,
      meters: 24,
      metersPerBus: 8,
      models: REF,
      start: '2026-03-01T00:00:00+08:00',
      faults: { dead: 0.15, slow: { share: 0.15, delayMs: 900 }, broken: [{ share: 0.15, behaviour: { name: 'wrong-checksum' } }] },
    });
    const together = await readPartition(s, [0, 1, 2], FOUR_ITEMS);
    // In groups of two buses, each group on its own clock: the same.
    expect(await readPartition(s, [0, 1, 2], FOUR_ITEMS, { busesAtOnce: 2 })).toEqual(together);
    for (const b of [0, 1, 2]) {
      const clock = new VirtualClock({ autoAdvance: false, start: s.startMs! });
      const bus = buildBus(s, b, clock);
      const alone = await clock.run(readBus(bus, FOUR_ITEMS, clock));
      await bus.close();
      expect(together[b]).toEqual(alone);
    }
  });

  it('gives the same merged result for the same scenario and seed, another for another seed', async () => {
    const s = scenario({ faults: { dead: 0.2 } });
    const a = mergeBusResults(await readPartition(s, [0, 1], FOUR_ITEMS));
    const b = mergeBusResults([...(await readPartition(s, [1], FOUR_ITEMS)), ...(await readPartition(s, [0], FOUR_ITEMS))]);
    expect(b).toEqual(a);
    const c = mergeBusResults(await readPartition(scenario({ seed: 8, faults: { dead: 0.2 } }), [0, 1], FOUR_ITEMS));
    expect(c.digest).not.toBe(a.digest);
  });

  it('reads the energy a meter holds under the load profile and start instant of the scenario', async () => {
    const s = scenario({ loadProfiles: [{ name: 'big', load: { kW: 30 } }], start: '2026-03-01T00:00:00+08:00' });
    const clock = new VirtualClock({ autoAdvance: false, start: s.startMs! });
    const bus = buildBus(s, 0, clock);
    const master = new Dlt645Master({ link: bus.adapter, clock, line: s.line });
    await clock.run(clock.sleep(3_600_000));
    const r = await clock.run(master.readData(bus.meters[0]!.plan.address, '00010000'));
    master.dispose();
    await bus.close();
    // Reference registers 100+200+300+400 kWh, then 30 kW for an hour.
    expect(r.value).toBeCloseTo(1030, 1);
  });

  it('stops before the next item when asked, and says the result is not complete', async () => {
    const s = scenario();
    let items = 0;
    const r = await readPartition(s, [0, 1], FOUR_ITEMS, { shouldStop: () => items >= 5, onItem: () => void items++ });
    const m = mergeBusResults(r);
    expect(m.complete).toBe(false);
    expect(m.itemsRead).toBeLessThan(m.itemsPlanned);
    expect(m.itemsRead).toBeGreaterThanOrEqual(5);
  });

  it('refuses a bus reported twice', () => {
    const b = { bus: 0 } as BusReadResult;
    expect(() => mergeBusResults([b, b])).toThrow(/twice/);
  });
});

describe('worker threads', () => {
  it('merges the same result whatever the number of workers', async () => {
    const s = loadFleetScenario({ seed: 5, meters: 10, metersPerBus: 2, models: REF, faults: { dead: 0.2, slow: { share: 0.2 } } });
    const inProcess = mergeBusResults(await readPartition(s, [0, 1, 2, 3, 4], FOUR_ITEMS));
    for (const workers of [1, 2, 3]) {
      const { workers: w, ...merged } = await readFleetInWorkers(s, FOUR_ITEMS, { workers });
      expect(w).toBe(workers);
      expect(merged).toEqual(inProcess);
    }
    // Shards (what separate machines run with --shard i/n), two workers each: their buses merge into the same fleet.
    const shards = await Promise.all([1, 2].map((index) => readFleetInWorkers(s, FOUR_ITEMS, { workers: 2, shard: { index, count: 2 } })));
    expect(shards.map((r) => r.buses.map((b) => b.bus))).toEqual([[0, 1], [2, 3, 4]]);
    expect(mergeBusResults(shards.flatMap((r) => r.buses))).toEqual(inProcess);
  }, 60_000);

  it('stops the workers on abort and merges what they read', async () => {
    const s = loadFleetScenario({ seed: 5, meters: 10, metersPerBus: 2, models: REF });
    const ac = new AbortController();
    ac.abort();
    const r = await readFleetInWorkers(s, FOUR_ITEMS, { workers: 2, signal: ac.signal });
    expect(r.complete).toBe(false);
    expect(r.itemsRead).toBeLessThan(r.itemsPlanned);
    expect(r.buses.map((b) => b.bus)).toEqual([0, 1, 2, 3, 4]);
  }, 60_000);

  it('terminates workers that do not stop within the grace time and reports their last progress', async () => {
    const s = loadFleetScenario({ seed: 5, meters: 10, metersPerBus: 2, models: REF });
    const ac = new AbortController();
    ac.abort();
    // 1 ms is far less than a worker needs to start (loading tsx and the dictionary).
    const error = await readFleetInWorkers(s, FOUR_ITEMS, { workers: 2, signal: ac.signal, graceMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetStoppedError);
    expect((error as FleetStoppedError).progress).toMatchObject({ read: 0, failed: 0 });
  }, 60_000);
});
