/**
 * Fleet benchmark (issue 7's scale table): N meters of the reference model in buses of 32, one
 * DL/T 645 master per bus reading 4 items from each meter, and a "50-item day", buses
 * partitioned over worker threads (simulators/fleet). Run: `npm run bench:fleet -- [options]`.
 *
 *   --sizes 1000,10000          fleet sizes (default 100,1000: under a minute)
 *   --items 4,50                identifier lists (default both)
 *   --workers N                 worker threads (default 2: this machine's cores)
 *   --repeats R                 runs per size and list; the table shows medians (default 3 for
 *                               sizes up to 100 meters, 1 above)
 *   --max-seconds S             stop a run after S seconds of wall time and report what it read
 *                               (default 600); a run that cannot stop in time is terminated and
 *                               reported from its last progress
 *   --seed N                    scenario seed (default 645)
 *   --json FILE                 also write the figures as JSON (default bench/fleet-results.json)
 *
 * Per run: items read / failed / planned, CPU per item (process.cpuUsage: every thread of the
 * process; in brackets only the CPU spent after every meter was built, i.e. the read alone), wall time, peak RSS (process.memoryUsage().rss sampled every 250 ms, and the
 * process's maxRSS; worker threads share the process, so this covers them) and the peak sum of
 * the workers' V8 heaps, and the simulated time of the slowest bus next to its line-time bound
 * (characters of the exchanged frames × character time + Σ Td). Progress goes to stderr every
 * 5 s. Medians, never timed tests (STYLE.md; README "Benchmarks").
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { RealClock, type TimerHandle } from '../harness/core/clock.ts';
import { ITEM_LISTS } from '../simulators/fleet/identifiers.ts';
import { FleetStoppedError, readFleetInWorkers, type FleetProgress } from '../simulators/fleet/parallel.ts';
import { loadFleetScenario } from '../simulators/fleet/scenario.ts';
import { median } from './stats.ts';

interface Options {
  sizes: number[];
  items: string[];
  workers: number;
  repeats: number | undefined;
  maxSeconds: number;
  seed: number;
  json: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { sizes: [100, 1000], items: ['4', '50'], workers: 2, repeats: undefined, maxSeconds: 600, seed: 645, json: resolve(import.meta.dirname, 'fleet-results.json') };
  const whole = (name: string, v: string | undefined, min: number): number => {
    if (v === undefined || !/^\d+$/.test(v.replace(/_/g, '')) || Number(v.replace(/_/g, '')) < min) {
      throw new Error(`${name} needs a whole number ≥ ${min}, got ${v ?? 'nothing'}`);
    }
    return Number(v.replace(/_/g, ''));
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = argv[i + 1];
    switch (a) {
      case '--sizes':
        o.sizes = (v ?? '').split(',').map((x) => whole('--sizes', x, 1));
        i++;
        break;
      case '--items':
        o.items = (v ?? '').split(',');
        for (const x of o.items) if (!ITEM_LISTS[x]) throw new Error(`--items: unknown list "${x}" (known: ${Object.keys(ITEM_LISTS).join(', ')})`);
        i++;
        break;
      case '--workers':
        o.workers = whole(a, v, 1);
        i++;
        break;
      case '--repeats':
        o.repeats = whole(a, v, 1);
        i++;
        break;
      case '--max-seconds':
        o.maxSeconds = whole(a, v, 1);
        i++;
        break;
      case '--seed':
        o.seed = whole(a, v, 0);
        i++;
        break;
      case '--json':
        if (!v) throw new Error('--json needs a file');
        o.json = resolve(v);
        i++;
        break;
      default:
        throw new Error(`unknown option ${a} (see the header of bench/fleet.ts)`);
    }
  }
  return o;
}

interface RunFigures {
  readonly meters: number;
  readonly items: string;
  readonly workers: number;
  readonly complete: boolean;
  /** True when the workers had to be terminated: counts are from the last progress report. */
  readonly terminated: boolean;
  readonly itemsPlanned: number;
  readonly itemsRead: number;
  readonly itemsFailed: number;
  readonly metersBuilt: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  /** Wall time until every meter was built (from progress reports: within about 1 s). */
  readonly buildWallMs: number | null;
  readonly cpuPerItemMs: number | null;
  /** CPU after every meter was built, per item: the read engine alone (worker start-up and meter creation excluded). */
  readonly readCpuPerItemMs: number | null;
  readonly peakRssBytes: number;
  readonly maxRssBytes: number;
  readonly peakWorkerHeapBytes: number;
  /** Simulated time of the slowest bus, and that bus's line-time bound. */
  readonly simulatedMs: number | null;
  readonly lineTimeMs: number | null;
  readonly digest: string | null;
}

const real = new RealClock();

async function runOnce(meters: number, items: string, o: Options, label: string): Promise<RunFigures> {
  const scenario = loadFleetScenario({ seed: o.seed, meters, metersPerBus: 32, models: [{ name: 'reference', profile: 'reference' }] });
  const identifiers = ITEM_LISTS[items]!;
  const planned = meters * identifiers.length;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let peakRss = process.memoryUsage.rss();
  let last: FleetProgress = { built: 0, read: 0, failed: 0, heapUsedBytes: 0 };
  let peakHeap = 0;
  let builtAt: number | null = null;
  let cpuAtBuilt: NodeJS.CpuUsage | null = null;
  let sampler: TimerHandle | undefined;
  const sample = (): void => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    sampler = real.setTimeout(sample, 250);
  };
  sample();
  let reporter: TimerHandle | undefined;
  const report = (): void => {
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    process.stderr.write(
      `${label}: ${s} s, built ${last.built}/${meters} meters, read ${last.read} + failed ${last.failed} of ${planned} items, RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB\n`,
    );
    reporter = real.setTimeout(report, 5000);
  };
  reporter = real.setTimeout(report, 5000);
  const ac = new AbortController();
  const limit = real.setTimeout(() => {
    process.stderr.write(`${label}: --max-seconds ${o.maxSeconds} reached: stopping the workers\n`);
    ac.abort();
  }, o.maxSeconds * 1000);
  let terminated = false;
  let result: Awaited<ReturnType<typeof readFleetInWorkers>> | undefined;
  try {
    result = await readFleetInWorkers(scenario, identifiers, {
      workers: o.workers,
      signal: ac.signal,
      graceMs: 30_000,
      onProgress: (p) => {
        last = p;
        peakHeap = Math.max(peakHeap, p.heapUsedBytes);
        if (builtAt === null && p.built >= meters) {
          builtAt = performance.now() - t0;
          cpuAtBuilt = process.cpuUsage();
        }
      },
    });
  } catch (e) {
    if (!(e instanceof FleetStoppedError)) throw e;
    terminated = true;
    last = e.progress;
  } finally {
    real.clearTimeout(limit);
    real.clearTimeout(sampler);
    real.clearTimeout(reporter);
  }
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  const cpuMs = (c.user + c.system) / 1000;
  const r = cpuAtBuilt === null ? null : process.cpuUsage(cpuAtBuilt);
  const readCpuMs = r === null ? null : (r.user + r.system) / 1000;
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  const read = result ? result.itemsRead : last.read;
  const failed = result ? result.itemsFailed : last.failed;
  const slowest = result?.buses.reduce((a, b) => (b.simulatedMs > a.simulatedMs ? b : a), result.buses[0]!);
  return {
    meters,
    items,
    workers: o.workers,
    complete: result?.complete ?? false,
    terminated,
    itemsPlanned: planned,
    itemsRead: read,
    itemsFailed: failed,
    metersBuilt: last.built,
    cpuMs,
    wallMs,
    buildWallMs: builtAt,
    cpuPerItemMs: read + failed > 0 ? cpuMs / (read + failed) : null,
    readCpuPerItemMs: read + failed > 0 && readCpuMs !== null ? readCpuMs / (read + failed) : null,
    peakRssBytes: peakRss,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakWorkerHeapBytes: peakHeap,
    simulatedMs: slowest?.simulatedMs ?? null,
    lineTimeMs: slowest?.lineTimeMs ?? null,
    digest: result?.digest ?? null,
  };
}


function seconds(ms: number | null): string {
  if (ms === null) return '—';
  return ms >= 100_000 ? `${(ms / 1000).toFixed(0)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** CPU per item: in ms from 1 ms up, else in µs (a read costs some µs since the collection reader, issue 7). */
function ms(x: number | null): string {
  if (x === null) return '—';
  return x >= 1 ? `${x.toFixed(2)} ms` : `${(x * 1000).toFixed(1)} µs`;
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const rows: { figures: RunFigures[]; medianOf: RunFigures }[] = [];
  process.stderr.write(`bench/fleet: sizes ${o.sizes.join(', ')}; items ${o.items.join(', ')}; ${o.workers} worker(s); max ${o.maxSeconds} s per run\n`);
  for (const meters of o.sizes) {
    for (const items of o.items) {
      const repeats = o.repeats ?? (meters <= 100 ? 3 : 1);
      const figures: RunFigures[] = [];
      for (let r = 0; r < repeats; r++) {
        figures.push(await runOnce(meters, items, o, `${meters} meters × ${items} items, run ${r + 1}/${repeats}`));
      }
      const digests = new Set(figures.filter((f) => f.complete).map((f) => f.digest));
      if (digests.size > 1) throw new Error(`${meters} × ${items}: repeats read different values (digests ${[...digests].join(', ')}): not deterministic`);
      // The run with the median CPU per item stands for the size; every run is in the JSON.
      const byCpu = [...figures].sort((a, b) => (a.cpuPerItemMs ?? Infinity) - (b.cpuPerItemMs ?? Infinity));
      const medianOf = { ...byCpu[(byCpu.length - 1) >> 1]!, wallMs: median(figures.map((f) => f.wallMs)), peakRssBytes: median(figures.map((f) => f.peakRssBytes)) };
      rows.push({ figures, medianOf });
    }
  }
  const lines = [
    `| meters | items each | workers | items read (failed) of planned | CPU per item (read only) | wall | build | peak RSS | worker heaps | simulated (slowest bus) | line-time bound (that bus) | runs |`,
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const { figures, medianOf: f } of rows) {
    const status = f.terminated ? ' (terminated)' : f.complete ? '' : ' (stopped)';
    lines.push(
      `| ${f.meters.toLocaleString('en')} | ${f.items} | ${f.workers} | ${f.itemsRead.toLocaleString('en')} (${f.itemsFailed}) of ${f.itemsPlanned.toLocaleString('en')}${status} | ` +
        `${ms(f.cpuPerItemMs)} (${ms(f.readCpuPerItemMs)}) | ${seconds(f.wallMs)} | ${seconds(f.buildWallMs)} | ${mib(f.peakRssBytes)} | ${mib(f.peakWorkerHeapBytes)} | ` +
        `${seconds(f.simulatedMs)} | ${seconds(f.lineTimeMs)} | ${figures.length} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  process.stdout.write(`node ${process.version}; peak RSS = process.memoryUsage().rss sampled every 250 ms (worker threads share it); CPU = process.cpuUsage() (all threads)\n`);
  writeFileSync(o.json, `${JSON.stringify({ node: process.version, options: o, rows: rows.map((r) => r.figures) }, null, 2)}\n`);
  process.stderr.write(`bench/fleet: figures written to ${o.json}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/fleet: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 2;
});
