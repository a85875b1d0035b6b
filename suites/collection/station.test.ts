/**
 * The collection suite's master-station cases judged on the reference master station and its
 * broken variant: every case passes on the reference; the station that counts a retried reading
 * twice (suites/profiles/reference-broken-master-station-count-retried-twice.json) fails the
 * re-collection case and only that one.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCases, verdictLines, type CaseResult } from '../framework/case.ts';
import { stationCases } from './station-cases.ts';
import { openStationTarget, type StationTarget } from './station-support.ts';

const profile = (name: string): string => fileURLToPath(new URL(`../profiles/${name}.json`, import.meta.url));
const ALL = stationCases.map((c) => c.id);
const byId = (results: readonly CaseResult[]): Record<string, CaseResult> => Object.fromEntries(results.map((r) => [r.id, r]));
const opened: StationTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});
async function open(name: string): Promise<StationTarget> {
  const t = await openStationTarget(profile(name));
  opened.push(t);
  return t;
}

describe('collection suite on the reference master station', () => {
  it('passes every case, with the success rates and the re-collection', async () => {
    const t = await open('reference-master-station');
    const results = await runCases(stationCases, t);
    expect(verdictLines(results)).toEqual(ALL.map((id) => `${id}: passed`));
    const r = byId(results);
    expect(r['collection.station-success-rate']!.measurements.map((m) => [m.name, m.value])).toEqual([
      ['daily success rate, electricity', 100],
      ['daily success rate, water', 100],
      ['daily success rate, gas', 100],
      ['daily success rate, heat', 100],
    ]);
    expect(r['collection.station-readings-by-deadline']!.measurements[0]).toMatchObject({ value: 29, ok: true });
    expect(r['collection.station-recollected-once']!.log.join('\n')).toMatch(/on a later attempt/);
  }, 120_000);
});

describe('collection suite on the broken master station (count-retried-twice)', () => {
  it('fails collection.station-recollected-once, and only it', async () => {
    const t = await open('reference-broken-master-station-count-retried-twice');
    const results = await runCases(stationCases, t);
    const lines = verdictLines(results).join('\n');
    expect(results.filter((x) => x.verdict === 'failed').map((x) => x.id), lines).toEqual(['collection.station-recollected-once']);
    expect(results.filter((x) => x.verdict !== 'failed').every((x) => x.verdict === 'passed'), lines).toBe(true);
    expect(byId(results)['collection.station-recollected-once']!.reason).toMatch(/the station counts \d+ collected of 10 due for 2026-01-12; 10 distinct point\(s\) were delivered/);
  }, 120_000);
});

describe('the station bench (simulators/collection/scenarios/station-bench.json)', () => {
  it('plans what the cases rely on: three concentrators with every meter kind, one uplink down the first night 23:00-06:00', async () => {
    const t = await open('reference-master-station');
    expect(t.concentrators.map((c) => [...new Set(c.world.archive.map((p) => p.kind))].sort())).toEqual([
      ['electricity', 'gas', 'heat', 'water'],
      ['electricity', 'gas', 'heat', 'water'],
      ['electricity', 'gas', 'heat', 'water'],
    ]);
    const down = t.concentrators.filter((c) => c.world.faults.uplinkDown);
    expect(down.map((c) => c.world.id)).toEqual(['station-bench-0003']);
    expect(down[0]!.world.faults.uplinkDown).toEqual({ from: Date.parse('2026-01-11T23:00:00+08:00'), to: Date.parse('2026-01-12T06:00:00+08:00') });
  });
});
