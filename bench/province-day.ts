/**
 * The province day (issue 12 "Proof", COL-12): a collection scenario's first night in virtual time,
 * every concentrator the reference concentrator core over the world's meters (bench/collection-day.ts),
 * at several sizes, sharded by whole concentrators, and merged.
 *
 *   npx tsx bench/province-day.ts [--scenario province-50000] [--sizes 1,10,50,all] [--shards 2] [--json FILE]
 *   npx tsx bench/province-day.ts --shard 2/4 --out shard-2.json        # one shard (a CI job, a pod)
 *   npx tsx bench/province-day.ts --merge shard-*.json [--out day.json] [--against single.json]
 *   npx tsx bench/province-day.ts --station [--db postgres://...] --sizes 1,10   # with the 1376.1 terminal and a master station
 *
 * Modes: by default each concentrator's core alone on its own clock (collection-day.ts); `--station`
 * runs full concentrators (core + 1376.1 terminal) logged in to one reference master station per
 * process, which collects over 1376.1 until 12:00 (collection-station-day.ts; PGlite in memory, or
 * the PostgreSQL server `--db` names).
 *
 * Sizes: the first N concentrators of the scenario (`all`: every one), each size in its own process
 * (zx) so peak memory is that size's. `--shards n`: the whole scenario again as n shard processes
 * (`--shard i/n`, one after the other; `--parallel` runs them at once), merged, and the merged digest
 * compared with the `all` size of the same invocation (exit 1 when they differ).
 *
 * Reported per size: concentrators, points due, collected, first attempt, data items (bench/README.md
 * "Province day" defines them), readings the truth refuses, ERC 39 events, wall and CPU time, peak
 * RSS (process.resourceUsage().maxRSS) and peak V8 heap (sampled every 250 ms and after each
 * concentrator), items per wall second; per concentrator the first pass's simulated time against the
 * line-time lower bound of its ports (summary here, every concentrator in the JSON). Medians and
 * figures, never timed tests (README "Benchmarks").
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { $ } from 'zx';
import { RealClock, type TimerHandle } from '../harness/core/clock.ts';
import { concentratorCount } from '../simulators/collection/plan.ts';
import { readCollectionScenarioFile } from '../simulators/collection/scenario.ts';
import { mergeDayResults, MergeError, runCollectionDay, type DayResult, type PortPass } from './collection-day.ts';
import { median } from './stats.ts';

const SCENARIOS = resolve(import.meta.dirname, '../simulators/collection/scenarios');
/** COL-12: the four-meter province's target, more than 10 million records a day. */
const COL12_ITEMS = 10_000_000;

interface HostFigures {
  wallMs: number;
  cpuMs: number;
  maxRssMiB: number;
  peakHeapMiB: number;
  loadBefore: number;
  loadAfter: number;
  node: string;
}

interface RunFile {
  result: DayResult;
  host: HostFigures;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scenario: { type: 'string', default: 'province-50000' },
    sizes: { type: 'string', default: '1,10,50' },
    shards: { type: 'string' },
    parallel: { type: 'boolean', default: false },
    shard: { type: 'string' },
    concentrators: { type: 'string' },
    out: { type: 'string' },
    merge: { type: 'boolean', default: false },
    against: { type: 'string' },
    json: { type: 'string', default: resolve(import.meta.dirname, 'province-day-results.json') },
    quiet: { type: 'boolean', default: false },
    station: { type: 'boolean', default: false },
    db: { type: 'string' },
  },
});

const scenarioPath = (name: string): string => (/^[a-z0-9-]+$/.test(name) ? join(SCENARIOS, `${name}.json`) : resolve(name));
const MiB = 2 ** 20;
const fmt = (n: number): string => n.toLocaleString('en-US');
const secs = (ms: number, digits = 1): string => (ms / 1000).toFixed(digits);

function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new Error(`--shard wants i/n (e.g. 2/4), got ${JSON.stringify(text)}`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** Runs in this process and writes `{ result, host }` to `out`. */
async function runHere(out: string): Promise<void> {
  const s = readCollectionScenarioFile(scenarioPath(values.scenario));
  const real = new RealClock();
  let peakHeap = 0;
  const sample = (): void => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  let timer: TimerHandle | undefined;
  const tick = (): void => {
    sample();
    timer = real.setTimeout(tick, 250);
  };
  tick();
  const loadBefore = loadavg()[0]!;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let lastReport = t0;
  const total = concentratorCount(s);
  const n = values.concentrators === undefined ? undefined : values.concentrators === 'all' ? total : Number(values.concentrators);
  const result = await runCollectionDay(s, {
    source: values.scenario,
    mode: values.station ? 'station' : 'core',
    ...(values.db ? { db: values.db } : {}),
    ...(values.shard ? { shard: parseShard(values.shard) } : { concentrators: Array.from({ length: Math.min(n ?? total, total) }, (_, i) => i) }),
    onConcentrator: (c, done, of) => {
      sample();
      const now = performance.now();
      if (!values.quiet && (now - lastReport > 5000 || done === of)) {
        lastReport = now;
        process.stderr.write(`  ${done}/${of} concentrators (last ${c.id}: ${c.collected}/${c.due}), ${secs(now - t0)} s, RSS ${(process.memoryUsage().rss / MiB).toFixed(0)} MiB\n`);
      }
    },
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  real.clearTimeout(timer);
  sample();
  const host: HostFigures = {
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    peakHeapMiB: peakHeap / MiB,
    loadBefore,
    loadAfter: loadavg()[0]!,
    node: process.version,
  };
  writeFileSync(out, JSON.stringify({ result, host } satisfies RunFile));
}

/** Runs this script in a child process with `args` and reads its `--out` file. */
async function inChild(args: string[], dir: string, name: string): Promise<RunFile> {
  const out = join(dir, `${name}.json`);
  const mode = values.station ? ['--station', ...(values.db ? ['--db', values.db] : [])] : [];
  const p = await $`npx tsx ${import.meta.filename} --scenario ${values.scenario} ${mode} ${args} --out ${out}`.nothrow().quiet();
  if (p.exitCode !== 0) throw new Error(`${name} failed (exit ${p.exitCode}):\n${p.stderr}`);
  return JSON.parse(readFileSync(out, 'utf8')) as RunFile;
}

/** One line per run for the table. */
function row(label: string, f: RunFile): string {
  const t = f.result.totals;
  const h = f.host;
  const ratios = f.result.concentrators.map((c) => c.firstPass.simulatedMs / Math.max(c.firstPass.lineTimeBoundMs, 1e-9));
  const slowest = f.result.concentrators.reduce((a, c) => (c.firstPass.simulatedMs > a.firstPass.simulatedMs ? c : a));
  return [
    label,
    fmt(t.concentrators),
    fmt(t.due),
    `${fmt(t.collected)} (${((100 * t.collected) / t.due).toFixed(2)} %)`,
    fmt(t.firstAttempt),
    fmt(t.items),
    String(t.wrong),
    String(t.erc39),
    secs(h.wallMs),
    secs(h.cpuMs),
    h.maxRssMiB.toFixed(0),
    h.peakHeapMiB.toFixed(0),
    fmt(Math.round(t.items / (h.wallMs / 1000))),
    `${secs(slowest.firstPass.simulatedMs, 0)} / ${secs(slowest.firstPass.lineTimeBoundMs, 0)}`,
    `${Math.min(...ratios).toFixed(2)} / ${median(ratios).toFixed(2)} / ${Math.max(...ratios).toFixed(2)}`,
    f.result.digest,
  ].join(' | ');
}

const HEADER =
  'run | concentrators | points due | collected | first attempt | data items | wrong | ERC 39 | wall s | CPU s | peak RSS MiB | peak heap MiB | items / wall s | slowest first pass: simulated / line-time s | simulated ÷ line time: min / median / max | digest';

function printRun(label: string, f: RunFile): void {
  console.log(`| ${row(label, f)} |`);
  stationNotes.push(stationLine(label, f.result));
}

/** Station mode: what the master station had by 12:00, one line per run under the table. */
const stationNotes: string[] = [];
function stationLine(label: string, r: DayResult): string {
  const t = r.totals.station;
  if (!t) return '';
  return `${label}: station ${fmt(t.collected)}/${fmt(t.due)} collected (${((100 * t.collected) / t.due).toFixed(2)} %), ${fmt(t.firstAttempt)} first attempt, ${fmt(t.byDeadline)} by 12:00, ${t.offline} offline terminals, ${fmt(t.readings)} readings stored, ${t.mismatched} not equal to the concentrator's`;
}

async function main(): Promise<void> {
  if (values.merge) {
    const parts = positionals.map((p) => (JSON.parse(readFileSync(p, 'utf8')) as RunFile | DayResult));
    const results = parts.map((p) => ('result' in p ? p.result : p));
    let merged: DayResult;
    try {
      merged = mergeDayResults(results);
    } catch (e) {
      if (e instanceof MergeError) {
        console.error(e.message);
        process.exit(2);
      }
      throw e;
    }
    if (values.out) writeFileSync(values.out, JSON.stringify({ result: merged }));
    const t = merged.totals;
    console.log(`merged ${results.length} shards (${merged.mode} mode): ${t.concentrators} concentrators, ${fmt(t.collected)}/${fmt(t.due)} points, ${fmt(t.items)} data items, ${t.wrong} wrong, ${t.erc39} ERC 39, digest ${merged.digest}`);
    const st = stationLine('merged', merged);
    if (st) console.log(st);
    if (values.against) {
      const single = JSON.parse(readFileSync(values.against, 'utf8')) as RunFile | DayResult;
      const d = ('result' in single ? single.result : single).digest;
      if (d !== merged.digest) {
        console.error(`digest differs from ${values.against}: ${merged.digest} ≠ ${d}`);
        process.exit(1);
      }
      console.log(`equal to ${values.against} (digest ${d})`);
    }
    return;
  }
  if (values.shard || values.concentrators) {
    if (!values.out) throw new Error('--shard / --concentrators need --out FILE');
    await runHere(values.out);
    return;
  }

  // Bad arguments: one line, exit 2, before anything runs.
  const sizes = values.sizes.split(',').filter((x) => x !== '');
  const badSize = sizes.find((x) => x !== 'all' && !(Number.isInteger(Number(x)) && Number(x) >= 1));
  const shardCount = values.shards === undefined ? 0 : Number(values.shards);
  if (badSize !== undefined || !Number.isInteger(shardCount) || shardCount < 0) {
    console.error(badSize !== undefined ? `--sizes: "${badSize}" is not a count of concentrators (1, 2, ... or all)` : `--shards: "${values.shards}" is not a number of shards (0 = none, 1, 2, ...)`);
    process.exit(2);
  }
  const s = readCollectionScenarioFile(scenarioPath(values.scenario));
  const total = concentratorCount(s);
  const dir = mkdtempSync(join(tmpdir(), 'province-day-'));
  const runs: { label: string; file: RunFile }[] = [];
  try {
    console.log(`${values.scenario} (${values.station ? 'station mode: full concentrators and a master station over 1376.1' : 'core mode'}): ${total} concentrators; node ${process.version}; load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(`| ${HEADER} |`);
    console.log(`|${HEADER.split('|').map(() => '---').join('|')}|`);
    for (const size of sizes) {
      const n = size === 'all' ? total : Math.min(Number(size), total);
      const f = await inChild(['--concentrators', String(n)], dir, `size-${n}`);
      runs.push({ label: `first ${n}`, file: f });
      printRun(`first ${n}`, f);
    }
    if (shardCount > 0) {
      const count = shardCount;
      const shardArgs = Array.from({ length: count }, (_, i) => ['--shard', `${i + 1}/${count}`]);
      const files = values.parallel
        ? await Promise.all(shardArgs.map((a, i) => inChild(a, dir, `shard-${i + 1}`)))
        : await shardArgs.reduce<Promise<RunFile[]>>(async (acc, a, i) => [...(await acc), await inChild(a, dir, `shard-${i + 1}`)], Promise.resolve([]));
      files.forEach((f, i) => {
        runs.push({ label: `shard ${i + 1}/${count}`, file: f });
        printRun(`shard ${i + 1}/${count}`, f);
      });
      const merged = mergeDayResults(files.map((f) => f.result));
      const single = runs.find((r) => r.file.result.shard === null && r.file.result.concentrators.length === total);
      console.log(`\nmerged ${count} shards: ${fmt(merged.totals.collected)}/${fmt(merged.totals.due)} points, ${fmt(merged.totals.items)} data items, digest ${merged.digest}` + (single ? `; single run ${single.file.result.digest}: ${single.file.result.digest === merged.digest ? 'EQUAL' : 'DIFFERENT'}` : ' (no single run of every concentrator to compare: add "all" to --sizes)'));
      if (single && single.file.result.digest !== merged.digest) process.exitCode = 1;
    }
    for (const line of stationNotes) if (line) console.log(line);
    const biggest = runs.filter((r) => r.file.result.shard === null).at(-1);
    if (biggest) {
      console.log(`\n${biggest.label}, first pass per port kind (medians over the ports; simulated = first to last exchange, line time = characters × character time):`);
      console.log('| port kind | ports | points a port | simulated s | line-time s | simulated ÷ line time | slowest port: simulated s / line-time s |');
      console.log('|---|---:|---:|---:|---:|---:|---:|');
      const byKind = new Map<string, PortPass[]>();
      for (const c of biggest.file.result.concentrators) for (const p of c.firstPass.ports) byKind.set(p.kind, [...(byKind.get(p.kind) ?? []), p]);
      for (const [kind, ps] of byKind) {
        const worst = ps.reduce((a, p) => (p.simulatedMs > a.simulatedMs ? p : a));
        console.log(
          `| ${kind} | ${ps.length} | ${median(ps.map((p) => p.points))} | ${secs(median(ps.map((p) => p.simulatedMs)))} | ${secs(median(ps.map((p) => p.lineTimeMs)))} | ${median(ps.map((p) => p.simulatedMs / Math.max(p.lineTimeMs, 1e-9))).toFixed(2)} | ${secs(worst.simulatedMs)} / ${secs(worst.lineTimeMs)} |`,
        );
      }
      const t = biggest.file.result.totals;
      const perConcentrator = biggest.file.host.wallMs / t.concentrators;
      console.log(
        `\n${biggest.label}: ${fmt(t.items)} data items (${(t.items / t.concentrators).toFixed(0)} a concentrator); ` +
          `the whole scenario at that rate: ~${fmt(Math.round((t.items / t.concentrators) * total))} items, ~${secs(perConcentrator * total, 0)} s wall in one process; ` +
          `COL-12 asks ${fmt(COL12_ITEMS)}: ${((100 * (t.items / t.concentrators) * total) / COL12_ITEMS).toFixed(1)} % of it` +
          (t.curves && t.curves.points > 0 ? `; of the items, ${fmt(t.curves.items)} are curve points of ${fmt(t.curves.points)} day curves (F101, F81, F89)` : ''),
      );
      if (t.uplink) {
        console.log(
          `into the master over 1376.1: ${fmt(t.uplink.items)} data items (${t.uplink.items === t.items ? 'all of them' : `of ${fmt(t.items)}`}), ${t.uplink.mismatched} mismatched, ` +
            `${fmt(Math.round(t.uplink.bytes / 1024))} KiB from the terminals in ${fmt(t.uplink.requests)} requests, ${secs(t.uplink.wallMs)} s wall of the run's ${secs(biggest.file.host.wallMs)} s`,
        );
      }
    }
    writeFileSync(values.json, JSON.stringify({ scenario: values.scenario, at: new Date(new RealClock().now()).toISOString(), runs }, null, 1));
    console.log(`figures: ${values.json}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
