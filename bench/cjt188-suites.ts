/**
 * Wall time of the CJ/T 188 suites (issue 10) against the reference water and gas meters on the
 * simulated RS-485 bus, in virtual time: every reading and valve case, per kind, median of `runs`
 * (bench/stats.ts), with the simulated time the run covered (the leak case alone watches a day).
 * A section of bench/run.ts: `npm run bench -- --only cjt188-suites`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDeviceTarget, parseDeviceTargetProfile } from '../harness/targets/index.ts';
import { runCase } from '../suites/framework/case.ts';
import { cjt188ReadingCases } from '../suites/cjt188-reading/cases.ts';
import { cjt188ValveCases } from '../suites/cjt188-valve/cases.ts';
import { median } from './stats.ts';

interface Row {
  readonly name: string;
  readonly median: number;
  readonly unit: string;
  readonly note: string;
}

const PROFILES = resolve(import.meta.dirname, '../suites/profiles');

export async function cjt188SuiteBenchmarks(runs: number): Promise<Row[]> {
  const rows: Row[] = [];
  const cases = [...cjt188ReadingCases, ...cjt188ValveCases];
  for (const kind of ['water', 'gas'] as const) {
    const file = resolve(PROFILES, `reference-${kind}-meter.json`);
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const wall: number[] = [];
    const simulated: number[] = [];
    for (let i = 0; i < runs; i++) {
      const startWall = performance.now();
      const target = await openDeviceTarget(parseDeviceTargetProfile(json, { source: file }), { describe: false });
      const startVirtual = target.clock.now();
      for (const c of cases) {
        const r = await runCase(c, target);
        if (r.verdict !== 'passed' && r.verdict !== 'notApplicable') throw new Error(`reference ${kind} meter: ${r.id} ${r.verdict}: ${r.reason}`);
      }
      simulated.push(target.clock.now() - startVirtual);
      await target.close();
      wall.push(performance.now() - startWall);
    }
    const w = median(wall);
    rows.push(
      { name: `CJ/T 188 reading + valve suites vs reference ${kind} meter (bus, virtual time)`, median: Math.round(w), unit: 'ms wall', note: `${cases.length} cases, median of ${runs} runs` },
      { name: `  simulated time covered (${kind})`, median: Math.round(median(simulated) / 1000), unit: 's virtual', note: 'the leak case watches a whole day; every byte paced at 2400 8E1' },
    );
  }
  return rows;
}
