/**
 * Wall time of the suites of the other protocols' devices against their reference devices (each
 * `suites/profiles/reference-<kind>.json`, simulated line, virtual time): every case, median of
 * `runs` (bench/stats.ts), with the simulated time the run covered and the virtual/wall ratio.
 * Sections of bench/run.ts: `--only cjt188-suites` (issue 10: CJ/T 188 reading + valve, water and
 * gas meters), `--only converter-suite` (issue 10: the interface converter), `--only mbus-suite`
 * (issue 11: M-Bus reading, heat meter).
 */
import { performance } from 'node:perf_hooks';
import { loadDeviceTargetProfile, openDeviceTarget, type DeviceKind } from '../harness/targets/index.ts';
import { runCase, type ConformanceCase } from '../suites/framework/case.ts';
import { referenceDeviceProfilePath } from '../suites/framework/suite-target.ts';
import { median } from './stats.ts';

interface Row {
  readonly name: string;
  readonly median: number;
  readonly unit: string;
  readonly note: string;
}

/** One suite (its cases) against the reference device of `kind`; every case must pass or not apply. */
async function deviceSuiteBenchmark(title: string, kind: DeviceKind, cases: readonly ConformanceCase<never>[], runs: number, covers: string): Promise<Row[]> {
  const profile = loadDeviceTargetProfile(referenceDeviceProfilePath(kind));
  const wall: number[] = [];
  const simulated: number[] = [];
  for (let i = 0; i < runs; i++) {
    const startWall = performance.now();
    const target = await openDeviceTarget(profile, { describe: false });
    const startVirtual = target.clock.now();
    try {
      for (const c of cases) {
        const r = await runCase(c, target as never);
        if (r.verdict !== 'passed' && r.verdict !== 'notApplicable') throw new Error(`reference ${kind}: ${r.id} ${r.verdict}: ${r.reason}`);
      }
      simulated.push(target.clock.now() - startVirtual);
    } finally {
      await target.close();
    }
    wall.push(performance.now() - startWall);
  }
  const w = median(wall);
  const s = median(simulated);
  return [
    { name: `${title} vs reference ${kind} (virtual time)`, median: Math.round(w), unit: 'ms wall', note: `${cases.length} cases, median of ${runs} runs` },
    { name: `  simulated time covered`, median: Math.round(s / 1000), unit: 's virtual', note: covers },
    { name: `  virtual / wall time`, median: Math.round(s / w), unit: '×', note: 'how much faster than real time' },
  ];
}

export async function cjt188SuiteBenchmarks(runs: number): Promise<Row[]> {
  const { cjt188ReadingCases } = await import('../suites/cjt188-reading/cases.ts');
  const { cjt188ValveCases } = await import('../suites/cjt188-valve/cases.ts');
  const cases = [...cjt188ReadingCases, ...cjt188ValveCases] as ConformanceCase<never>[];
  const covers = 'the leak case watches a whole day; every byte paced at 2400 8E1';
  return [
    ...(await deviceSuiteBenchmark('CJ/T 188 reading + valve suites', 'water-meter', cases, runs, covers)),
    ...(await deviceSuiteBenchmark('CJ/T 188 reading + valve suites', 'gas-meter', cases, runs, `${covers}; every request with a 2.5 s wake-up`)),
  ];
}

export async function mbusSuiteBenchmark(runs: number): Promise<Row[]> {
  const { mbusReadingCases } = await import('../suites/mbus-reading/cases.ts');
  return deviceSuiteBenchmark('M-Bus reading suite', 'heat-meter', mbusReadingCases as ConformanceCase<never>[], runs, 'every byte paced at 2400 8E1; the full primary scan is most of it');
}

export async function converterSuiteBenchmark(runs: number): Promise<Row[]> {
  const { converterCases } = await import('../suites/converter/cases.ts');
  return deviceSuiteBenchmark('Converter suite', 'interface-converter', converterCases as ConformanceCase<never>[], runs, 'RS-485 at 2400 8E1 and seeded wireless hops; 40 reads for the loss case, wake-ups of battery meters');
}
