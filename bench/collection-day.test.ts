/**
 * The province day's sharding (issue 12 "Beyond one machine"): a scenario run as shards of whole
 * concentrators and merged is the single run, reading for reading (digest), and a merge refuses
 * parts that do not make one scenario. Over pilot-2172 (9 concentrators, 2,172 points, its fault mix:
 * dead meters, lossy hops, noisy buses, reboots), small enough for a test; the province itself is the
 * benchmark's (`npx tsx bench/province-day.ts --sizes all --shards 2`, bench/README.md).
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { partitionConcentrators } from '../simulators/collection/plan.ts';
import { readCollectionScenarioFile, type CollectionScenario } from '../simulators/collection/scenario.ts';
import type { DailyReading } from '../simulators/concentrator/types.ts';
import { mergeDayResults, MergeError, readingLine, runCollectionDay, type DayResult } from './collection-day.ts';

const PILOT = join(import.meta.dirname, '../simulators/collection/scenarios/pilot-2172.json');

describe('collection day: shards of whole concentrators merge to the single run', () => {
  let s: CollectionScenario;
  let single: DayResult;
  let shards: DayResult[];

  beforeAll(async () => {
    s = readCollectionScenarioFile(PILOT);
    single = await runCollectionDay(s, { source: 'pilot-2172' });
    // Shard 2 first: a concentrator's day must not depend on what ran before it in the process.
    const second = await runCollectionDay(s, { source: 'pilot-2172', shard: { index: 2, count: 2 } });
    const first = await runCollectionDay(s, { source: 'pilot-2172', shard: { index: 1, count: 2 } });
    shards = [first, second];
  }, 300_000);

  it('runs the pilot night: every point due, nearly all collected and each checked against its meter, the dead ones as ERC 39', () => {
    expect(single.day).toBe('2026-01-11');
    expect(single.totals.concentrators).toBe(9);
    expect(single.totals.due).toBe(2172);
    expect(single.totals.byKind.heat.due).toBe(672);
    expect(single.totals.byKind.gas.due).toBe(425);
    expect(single.totals.byKind.water.due).toBe(1075);
    expect(single.totals.wrong).toBe(0);
    // COL-01/GAP-08 acceptance: water, gas, heat ≥ 98 % (the pilot's dead meters and lossy hops cost a few).
    expect(single.totals.collected / single.totals.due).toBeGreaterThanOrEqual(0.98);
    expect(single.totals.collected).toBeLessThan(single.totals.due);
    // Every missing point of the day is one ERC 39 at 04:00 (COL-04): no more, no fewer.
    expect(single.totals.erc39).toBe(single.totals.due - single.totals.collected);
    // CJ/T 188 and M-Bus points: one data item per reading.
    expect(single.totals.items).toBe(single.totals.collected);
    expect(single.concentrators.some((c) => c.rebooted)).toBe(true);
    for (const c of single.concentrators) {
      expect(c.firstPass.lineTimeBoundMs).toBeGreaterThan(0);
      expect(c.firstPass.simulatedMs).toBeGreaterThanOrEqual(c.firstPass.lineTimeBoundMs);
      expect(c.night.lastReadingLocal! < '04:00:00').toBe(true);
    }
  });

  it('shards hold the concentrators partitionConcentrators gives them, and merged equal the single run', () => {
    expect(shards.map((r) => r.concentrators.map((c) => c.index))).toEqual([partitionConcentrators(s, 1, 2), partitionConcentrators(s, 2, 2)]);
    const merged = mergeDayResults([shards[1]!, shards[0]!]);
    expect(merged.digest).toBe(single.digest);
    expect(merged.totals).toEqual(single.totals);
    expect(merged.concentrators.map(({ wallMs: _, ...c }) => c)).toEqual(single.concentrators.map(({ wallMs: _, ...c }) => c));
    // The shards' own digests differ from the whole (each covers its part only).
    expect(shards[0]!.digest).not.toBe(single.digest);
  });

  it('refuses a missing shard, a shard twice, another scenario or a plain run', () => {
    const [a, b] = shards as [DayResult, DayResult];
    expect(() => mergeDayResults([a])).toThrow(/shard 2\/2 missing/);
    expect(() => mergeDayResults([a, a, b])).toThrow(/shard 1\/2 given twice/);
    expect(() => mergeDayResults([a, { ...b, scenario: { ...b.scenario, seed: 7 } }])).toThrow(/part 2 is of scenario pilot-2172 \(seed 7/);
    expect(() => mergeDayResults([a, { ...b, day: '2026-01-12' }])).toThrow(/part 2 collected 2026-01-12/);
    expect(() => mergeDayResults([single])).toThrow(MergeError);
    expect(() => mergeDayResults([])).toThrow(/nothing to merge/);
  });

  it('the digest sees every field of a reading', () => {
    const r: DailyReading = { pn: 3, day: '2026-01-11', frozenAt: 1000, readAt: 2000, attempt: 1, value: { kind: 'electricity', forwardActiveKwh: [12.34, 1, 2, 3, 6.34] } };
    const variants: DailyReading[] = [
      { ...r, pn: 4 },
      { ...r, day: '2026-01-10' },
      { ...r, frozenAt: 1001 },
      { ...r, readAt: 2001 },
      { ...r, attempt: 2 },
      { ...r, value: { kind: 'electricity', forwardActiveKwh: [12.34, 1, 2, 3, 6.35] } },
      { ...r, value: { kind: 'water', value: 12.34, unit: 0x2c, meterType: 0x10 } },
    ];
    const lines = new Set([r, ...variants].map(readingLine));
    expect(lines.size).toBe(variants.length + 1);
  });
});

describe('collection day with the 1376.1 terminal and the master station', () => {
  it('the station collects over 1376.1 what the concentrators stored, and the concentrators store what they store alone', async () => {
    const s = readCollectionScenarioFile(PILOT);
    const alone = await runCollectionDay(s, { source: 'pilot-2172', concentrators: [0, 1] });
    const chain = await runCollectionDay(s, { source: 'pilot-2172', concentrators: [0, 1], mode: 'station' });
    expect(chain.mode).toBe('station');
    // The core's readings with the terminal and the station on one shared clock = alone on its own clock.
    expect(chain.concentrators.map((c) => c.digest)).toEqual(alone.concentrators.map((c) => c.digest));
    const st = chain.totals.station!;
    expect(st.due).toBe(alone.totals.due);
    expect(st.readings).toBe(alone.totals.collected);
    expect(st.collected).toBe(alone.totals.collected);
    expect(st.byDeadline).toBe(st.collected);
    expect(st.mismatched).toBe(0);
    expect(st.offline).toBe(0);
    expect(chain.digest).not.toBe(alone.digest); // the station's readings are part of the station-mode digest
  }, 300_000);
});
