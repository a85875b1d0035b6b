/**
 * The system switching scenario as a benchmark (issue 9): the suite's default prepaid world
 * (suites/switching/scenarios/prepaid-1000.json) with its meter count changed, run against the
 * reference station in virtual time exactly as the system cases run it (harness/targets/system.ts:
 * PGlite in memory, HTTP API, SMS to a loopback fake, a crash and restart on day 4).
 *
 *   npx tsx bench/master-station-system.ts [--sizes 250,1000,4000] [--repeats 3] [--json FILE]
 *
 * Each run is its own process (zx), so peak RSS (process.resourceUsage().maxRSS) belongs to that
 * size alone. Reported per size: median wall time, median peak RSS, CPU per meter-day (user +
 * system CPU of the run / meters / simulated days), and the work done (payments, switching jobs,
 * events). Medians, never timed tests (README "Benchmarks").
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { RealClock } from '../harness/core/clock.ts';
import { runReferenceSystem } from '../harness/targets/system.ts';
import { SCENARIOS_DIR } from '../harness/targets/profile.ts';
import { busName } from '../simulators/fleet/plan.ts';
import { loadPrepaidScenario } from '../simulators/prepaid/scenario.ts';
import { median } from './stats.ts';

interface ChildResult {
  meters: number;
  days: number;
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
  payments: number;
  jobs: number;
  events: number;
  passedChecks: boolean;
}

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '250,1000,4000' },
    repeats: { type: 'string', default: '3' },
    json: { type: 'string', default: resolve(import.meta.dirname, 'master-station-system-results.json') },
    child: { type: 'string' },
  },
});

async function child(meters: number): Promise<void> {
  const json = JSON.parse(readFileSync(resolve(SCENARIOS_DIR, 'prepaid-1000.json'), 'utf8')) as Record<string, unknown>;
  // The file's outages name buses of the 1,000-meter world: keep those that exist at this size.
  const buses = Math.ceil(meters / Number(json.metersPerBus));
  const outages = (json.outages as { channel: string }[])
    .filter((o) => Number(o.channel.slice(3)) < buses)
    .map((o) => ({ ...o, channel: busName({ meters, metersPerBus: Number(json.metersPerBus) }, Number(o.channel.slice(3))) }));
  const scenario = loadPrepaidScenario({ ...json, meters, outages }, `prepaid-1000 with ${meters} meters`);
  const cpu0 = process.cpuUsage();
  const run = await runReferenceSystem({ scenario, crash: { atMinutes: 3 * 1440 + 80, downMinutes: 5 } });
  const cpu = process.cpuUsage(cpu0);
  const result: ChildResult = {
    meters,
    days: scenario.days,
    wallMs: run.wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    payments: run.payments.length,
    jobs: run.jobs.length,
    events: run.events.length,
    // A sanity check that the run did the work: as many accounts at the end as at the start.
    passedChecks: run.accountsAtEnd.length === meters && run.crash !== null,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}


async function main(): Promise<void> {
  const sizes = values.sizes!.split(',').map((s) => Number(s));
  const repeats = Number(values.repeats);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1 || s > 10_000) || !Number.isInteger(repeats) || repeats < 1) {
    console.error('usage: --sizes N,N,... (1..10000 meters) --repeats R (≥ 1)');
    process.exit(2);
  }
  $.verbose = false;
  const rows: { meters: number; runs: ChildResult[] }[] = [];
  for (const meters of sizes) {
    const runs: ChildResult[] = [];
    for (let r = 0; r < repeats; r++) {
      const out = await $`npx tsx ${import.meta.filename} --child ${String(meters)}`.nothrow();
      if (out.exitCode !== 0) {
        console.error(`bench: the run of ${meters} meters failed: ${out.stderr.split('\n').find((l) => /Error/.test(l)) ?? out.stderr.slice(0, 300)}`);
        process.exit(1);
      }
      const res = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as ChildResult;
      if (!res.passedChecks) throw new Error(`run of ${meters} meters did not complete its scenario`);
      runs.push(res);
      console.error(`  ${meters} meters, run ${r + 1}/${repeats}: ${(res.wallMs / 1000).toFixed(1)} s wall, ${res.maxRssMiB.toFixed(0)} MiB`);
    }
    rows.push({ meters, runs });
  }
  console.log('| meters | days | wall s (median) | peak RSS MiB | CPU ms per meter-day | payments | switching jobs | events |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  const table = rows.map(({ meters, runs }) => {
    const days = runs[0]!.days;
    const row = {
      meters,
      days,
      wallS: median(runs.map((r) => r.wallMs)) / 1000,
      rssMiB: median(runs.map((r) => r.maxRssMiB)),
      cpuMsPerMeterDay: median(runs.map((r) => r.cpuMs / meters / days)),
      payments: runs[0]!.payments,
      jobs: runs[0]!.jobs,
      events: runs[0]!.events,
    };
    console.log(`| ${meters} | ${days} | ${row.wallS.toFixed(1)} | ${row.rssMiB.toFixed(0)} | ${row.cpuMsPerMeterDay.toFixed(2)} | ${row.payments} | ${row.jobs} | ${row.events} |`);
    return row;
  });
  writeFileSync(values.json!, `${JSON.stringify({ at: new Date(new RealClock().now()).toISOString(), repeats, table }, null, 2)}\n`);
}

if (values.child !== undefined) await child(Number(values.child));
else await main();
