/**
 * `npm run fuzz`: every decoder and reader of outside input, 10 million generated inputs each
 * (issue 5), split into shards run by worker processes (one per core by default), with a
 * watchdog for inputs that never return. Prints per target: inputs, exceptions, contract
 * violations, inputs over 100 ms, max and p99.9 time per input, decoder throughput (inputs/s and
 * MiB/s inside the decoder, one core), peak RSS. Exit 0 only when nothing was found.
 *
 *   npm run fuzz                                   all targets, --count 10000000, --seed 6452007
 *   npm run fuzz -- --only dlt645.scanner --count 100000
 *   npm run fuzz -- --only dlt645.frame --seed 6452007 --from 123456 --count 1     replay one input
 *   npm run fuzz -- --list
 *
 * Options: --count N (inputs per target; targets with large inputs run a fixed fraction, see
 * --list), --seed S, --only a,b (repeatable), --from I (first input index), --jobs J (workers,
 * default one per core), --hang-ms M (default 100), --stall-s S (a worker silent this long is
 * stopped and the input found by replaying it, default 60), --json FILE (results as JSON).
 * Details and how to reproduce a failure: scripts/README.md.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RealClock, type TimerHandle } from '../harness/core/clock.ts';
import { FUZZ_BATCH, FUZZ_SEED, fuzzInput, type AnyFuzzTarget } from '../harness/core/fuzz-support.ts';
import { emptyResult, mergeResults, quantileMs, type FailureSample, type ShardResult } from './fuzz-runner.ts';
import { FUZZ_TARGET_NAMES, loadAllTargets, loadTarget, SELFTEST_TARGETS } from './fuzz-targets.ts';

const DEFAULT_COUNT = 10_000_000;
/** A shard stops after this many inputs that never return (each costs --stall-s twice). */
const MAX_STUCK_PER_SHARD = 3;
const WORKER = fileURLToPath(new URL('./fuzz-worker.ts', import.meta.url));
const clock = new RealClock();

interface Options {
  readonly count: number;
  readonly seed: number;
  readonly from: number;
  readonly jobs: number;
  readonly hangMs: number;
  readonly stallMs: number;
  readonly targets: readonly AnyFuzzTarget[];
  readonly json: string | undefined;
}

class UsageProblem extends Error {}

function integer(text: string | undefined, name: string, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const n = Number(text.replace(/_/g, ''));
  if (!Number.isSafeInteger(n) || n < min) throw new UsageProblem(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return n;
}

async function parseOptions(argv: string[]): Promise<Options | 'list'> {
  const { values } = parseArgs({
    args: argv,
    options: {
      count: { type: 'string' },
      seed: { type: 'string' },
      from: { type: 'string' },
      only: { type: 'string', multiple: true },
      jobs: { type: 'string' },
      'hang-ms': { type: 'string' },
      'stall-s': { type: 'string' },
      json: { type: 'string' },
      list: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.list) return 'list';
  const names = (values.only ?? []).flatMap((o) => o.split(',')).map((s) => s.trim()).filter((s) => s !== '');
  const targets: AnyFuzzTarget[] = [];
  for (const n of names.length === 0 ? FUZZ_TARGET_NAMES : names) targets.push((await loadTarget(n)) ?? fail(`unknown target "${n}" (see --list)`));
  return {
    count: integer(values.count, 'count', DEFAULT_COUNT, 1),
    seed: integer(values.seed, 'seed', FUZZ_SEED, -(2 ** 31)) | 0,
    from: integer(values.from, 'from', 0, 0),
    jobs: integer(values.jobs, 'jobs', availableParallelism(), 1),
    hangMs: integer(values['hang-ms'], 'hang-ms', 100, 1),
    stallMs: integer(values['stall-s'], 'stall-s', 60, 1) * 1000,
    targets,
    json: values.json,
  };
}

function fail(message: string): never {
  throw new UsageProblem(message);
}

/** Inputs a target runs for --count (targets with huge inputs run a fraction, at least 1). */
function inputsFor(target: AnyFuzzTarget, count: number): number {
  return Math.max(1, Math.round(count * (target.countScale ?? 1)));
}

// ---------------------------------------------------------------------------------------------
// One worker process

type WorkerOutcome =
  | { readonly kind: 'done'; readonly result: ShardResult }
  | { readonly kind: 'fatal'; readonly partial: ShardResult | undefined; readonly message: string }
  | {
      readonly kind: 'stalled' | 'died';
      /** Stats of the inputs before `next` (from the last progress line), if any came. */
      readonly partial: ShardResult | undefined;
      readonly next: number;
      /** Trace mode: the index of the input that was running. */
      readonly lastAt: number | undefined;
      readonly detail: string;
    };

function runWorker(target: string, seed: number, from: number, count: number, opts: Options, trace: boolean): Promise<WorkerOutcome> {
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', WORKER, target, String(seed), String(from), String(count), String(opts.hangMs), ...(trace ? ['trace'] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial: ShardResult | undefined;
    let next = from;
    let lastAt: number | undefined;
    let result: ShardResult | undefined;
    let fatal: string | undefined;
    let stalled = false;
    let buffered = '';
    let stderr = '';
    let timer: TimerHandle | undefined;
    const arm = (): void => {
      clock.clearTimeout(timer);
      timer = clock.setTimeout(() => {
        stalled = true;
        child.kill('SIGKILL');
      }, opts.stallMs);
    };
    arm();
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      arm();
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const msg = JSON.parse(text) as { type: string; next?: number; index?: number; result?: ShardResult };
        if (msg.type === 'progress') {
          next = msg.next!;
          partial = msg.result;
        } else if (msg.type === 'at') lastAt = msg.index!;
        else if (msg.type === 'result') result = msg.result;
        else if (msg.type === 'fatal') fatal = (msg as { message?: string }).message ?? 'fatal';
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
    });
    child.on('close', (code, signal) => {
      clock.clearTimeout(timer);
      if (result && code === 0) {
        resolve({ kind: 'done', result });
        return;
      }
      if (fatal !== undefined) {
        resolve({ kind: 'fatal', partial, message: fatal });
        return;
      }
      const detail = stalled
        ? `no output for ${opts.stallMs / 1000} s`
        : `worker exited with ${signal ?? `code ${String(code)}`}${stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
      resolve({ kind: stalled ? 'stalled' : 'died', partial, next, lastAt, detail });
    });
  });
}

/**
 * Runs inputs [from, from + count) of a target. A worker that stalls (an input that never
 * returns) or dies (out of memory, a crash) is replayed from its last progress point in trace
 * mode to find the input; that input is reported as stuck and the shard goes on after it.
 */
async function runShardProcesses(target: AnyFuzzTarget, from: number, count: number, opts: Options): Promise<ShardResult> {
  const parts: ShardResult[] = [];
  const end = from + count;
  let cursor = from;
  let trace = false;
  let unexplained: (FailureSample & { kind: 'stalled' | 'died' }) | undefined;
  const stuck = emptyResult(target.name, opts.seed, from);
  while (cursor < end) {
    const outcome = await runWorker(target.name, opts.seed, cursor, end - cursor, opts, trace);
    if (outcome.kind === 'done') {
      parts.push(outcome.result);
      if (trace && unexplained) {
        // The replay ran through: the stall or crash did not come back (a machine hiccup, or an
        // input whose cost depends on what ran before). Still a finding.
        const s = { ...unexplained, message: `${unexplained.message}; the replay from input ${unexplained.index} did not reproduce it` };
        if (unexplained.kind === 'stalled') {
          stuck.hangs++;
          stuck.hangSamples.push({ ...s, ms: opts.stallMs });
        } else {
          stuck.exceptions++;
          stuck.exceptionSamples.push(s);
        }
      }
      break;
    }
    if (outcome.partial) parts.push(outcome.partial);
    if (outcome.kind === 'fatal') {
      stuck.notes.push(`${outcome.message}; the rest of the shard was not run`);
      break;
    }
    if (trace && outcome.lastAt === undefined) {
      stuck.notes.push(`inputs ${outcome.next}..${end - 1} not run: before running an input, ${outcome.detail}`);
      break;
    }
    if (stuck.inputs >= MAX_STUCK_PER_SHARD) {
      stuck.notes.push(`inputs ${outcome.next}..${end - 1} not run: stopped after ${stuck.inputs} inputs that never returned or crashed the worker`);
      break;
    }
    if (!trace) {
      // Replay from the last progress point, naming each input before running it.
      unexplained = { kind: outcome.kind, index: outcome.next, message: outcome.detail, input: '' };
      cursor = outcome.next;
      trace = true;
      continue;
    }
    // The input at lastAt never returned (or killed the worker). Inputs between the last
    // progress point and it ran fine: count them again without trace.
    const culprit = outcome.lastAt!; // defined: checked above for trace runs
    if (culprit > outcome.next) {
      const before = await runWorker(target.name, opts.seed, outcome.next, culprit - outcome.next, opts, false);
      if (before.kind === 'done') parts.push(before.result);
    }
    const input = target.show(fuzzInput(target, opts.seed, culprit));
    const sample: FailureSample = { index: culprit, message: outcome.kind === 'stalled' ? `never returned (${outcome.detail})` : outcome.detail, input: input.slice(0, 4000) };
    stuck.inputs++;
    if (outcome.kind === 'stalled') {
      stuck.stuck++;
      stuck.hangs++;
      stuck.maxMs = Math.max(stuck.maxMs, opts.stallMs);
      stuck.maxIndex = culprit;
      stuck.hangSamples.push({ ...sample, ms: opts.stallMs });
    } else {
      stuck.exceptions++;
      stuck.exceptionSamples.push(sample);
    }
    cursor = culprit + 1;
    trace = false;
    unexplained = undefined;
  }
  return mergeResults([...parts, stuck]);
}

// ---------------------------------------------------------------------------------------------

interface TargetRun {
  readonly target: AnyFuzzTarget;
  readonly planned: number;
  readonly shards: ShardResult[];
  result?: ShardResult;
}

async function main(): Promise<number> {
  let parsed: Options | 'list';
  try {
    parsed = await parseOptions(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageProblem || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`fuzz: ${(e as Error).message}\n`);
      return 2;
    }
    throw e;
  }
  if (parsed === 'list') {
    for (const t of [...(await loadAllTargets()), ...SELFTEST_TARGETS]) {
      const scale = t.countScale === undefined ? '' : ` (runs ${t.countScale >= 0.001 ? `${t.countScale * 100} %` : `1/${Math.round(1 / t.countScale)}`} of --count)`;
      process.stdout.write(`${t.name.padEnd(24)} ${t.description}${scale}\n`);
    }
    return 0;
  }
  const opts = parsed;
  const runs: TargetRun[] = opts.targets.map((target) => ({ target, planned: inputsFor(target, opts.count), shards: [] }));
  // Shards: one per worker for each target, on batch boundaries.
  const queue: { run: TargetRun; from: number; count: number }[] = [];
  for (const run of runs) {
    const per = Math.max(FUZZ_BATCH, Math.ceil(run.planned / opts.jobs / FUZZ_BATCH) * FUZZ_BATCH);
    for (let from = 0; from < run.planned; from += per) queue.push({ run, from: opts.from + from, count: Math.min(per, run.planned - from) });
  }
  const totalInputs = runs.reduce((n, r) => n + r.planned, 0);
  process.stderr.write(
    `fuzz: ${runs.length} target(s), ${totalInputs.toLocaleString('en-US')} inputs, seed ${opts.seed}, from ${opts.from}, ${opts.jobs} worker(s), node ${process.version}\n`,
  );
  const started = clock.now();
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      const r = await runShardProcesses(job.run.target, job.from, job.count, opts);
      job.run.shards.push(r);
      done += r.inputs;
      process.stderr.write(
        `fuzz: ${job.run.target.name} inputs ${job.from.toLocaleString('en-US')}..${(job.from + job.count - 1).toLocaleString('en-US')} done ` +
          `(${r.exceptions + r.violations + r.hangs} finding(s)); ${Math.round((100 * done) / totalInputs)} % after ${Math.round((clock.now() - started) / 1000)} s\n`,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, queue.length) }, worker));
  const wallS = (clock.now() - started) / 1000;
  for (const run of runs) run.result = mergeResults(run.shards);
  process.stdout.write(report(runs, opts, wallS));
  if (opts.json) writeFileSync(opts.json, `${JSON.stringify(jsonReport(runs, opts, wallS), null, 2)}\n`);
  const found = runs.some((r) => r.result!.exceptions + r.result!.violations + r.result!.hangs > 0 || r.result!.inputs < r.planned || r.result!.notes.length > 0);
  return found ? 1 : 0;
}

/** Characters of a failing input shown on the console (--json keeps up to 4000). */
const CONSOLE_INPUT_CHARS = 300;
const clip = (text: string, n: number): string => (text.length > n ? `${text.slice(0, n)}… (${text.length} characters; --json keeps more)` : text);
const num = (n: number): string => n.toLocaleString('en-US');
const fixed = (n: number, digits: number): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function figures(r: ShardResult): { inputsPerS: number; mibPerS: number; p999Ms: number } {
  const s = r.runMs / 1000;
  return { inputsPerS: s > 0 ? r.inputs / s : 0, mibPerS: s > 0 ? r.bytes / 1048576 / s : 0, p999Ms: quantileMs(r.histogram, 0.999) };
}

function report(runs: readonly TargetRun[], opts: Options, wallS: number): string {
  const lines: string[] = [];
  lines.push('');
  lines.push(`| target | inputs | exceptions | violations | over ${opts.hangMs} ms | max ms | p99.9 ms | decoder inputs/s | decoder MiB/s | avg bytes | peak RSS MiB | CPU s | slow once |`);
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const run of runs) {
    const r = run.result!;
    const f = figures(r);
    const cpu = (r.generateMs + r.runMs + r.verifyMs) / 1000;
    lines.push(
      `| ${r.target} | ${num(r.inputs)}${r.inputs < run.planned ? ` of ${num(run.planned)}` : ''} | ${r.exceptions} | ${r.violations} | ${r.hangs} | ${fixed(r.maxMs, 2)} | ${fixed(f.p999Ms, 3)} | ${num(Math.round(f.inputsPerS))} | ${fixed(f.mibPerS, 1)} | ${fixed(r.inputs > 0 ? r.bytes / r.inputs : 0, 0)} | ${fixed(r.maxRssKiB / 1024, 0)} | ${fixed(cpu, 0)} | ${num(r.slowOnce)} |`,
    );
  }
  lines.push('');
  lines.push(`seed ${opts.seed}, inputs from index ${opts.from}, ${opts.jobs} worker(s), wall time ${fixed(wallS, 0)} s, node ${process.version}`);
  lines.push(
    `An input over ${opts.hangMs} ms is run again: over ${opts.hangMs} ms twice is a finding ("over ${opts.hangMs} ms"); once only is "slow once" (the machine, e.g. a descheduled worker or a GC pause; not a finding). Times per input are the shorter of the two runs.`,
  );
  for (const run of runs) {
    const r = run.result!;
    for (const note of r.notes) lines.push('', `${r.target}: ${note}`);
    const groups: [string, FailureSample[], number][] = [
      ['exception(s)', r.exceptionSamples, r.exceptions],
      ['contract violation(s)', r.violationSamples, r.violations],
      [`input(s) over ${opts.hangMs} ms`, r.hangSamples, r.hangs],
    ];
    for (const [kind, samples, n] of groups) {
      if (n === 0) continue;
      lines.push('');
      lines.push(`${r.target}: ${num(n)} ${kind}; the first ${samples.length}:`);
      for (const s of samples) {
        lines.push(`  input ${s.index}${s.ms !== undefined ? ` (${fixed(s.ms, 1)} ms)` : ''}: ${clip(s.message, 400)}`);
        if (s.input) lines.push(`    input: ${clip(s.input, CONSOLE_INPUT_CHARS)}`);
        lines.push(`    replay: npm run fuzz -- --only ${r.target} --seed ${opts.seed} --from ${s.index} --count 1`);
      }
    }
  }
  lines.push('');
  return lines.join('\n');
}

function jsonReport(runs: readonly TargetRun[], opts: Options, wallS: number): unknown {
  return {
    seed: opts.seed,
    from: opts.from,
    count: opts.count,
    jobs: opts.jobs,
    hangMs: opts.hangMs,
    node: process.version,
    wallSeconds: wallS,
    targets: runs.map((run) => {
      const r = run.result!;
      const f = figures(r);
      return {
        target: r.target,
        planned: run.planned,
        inputs: r.inputs,
        bytes: r.bytes,
        exceptions: r.exceptions,
        violations: r.violations,
        hangs: r.hangs,
        slowOnce: r.slowOnce,
        stuck: r.stuck,
        maxMs: r.maxMs,
        maxIndex: r.maxIndex,
        p999Ms: f.p999Ms,
        p50Ms: quantileMs(r.histogram, 0.5),
        decoderInputsPerSecond: f.inputsPerS,
        decoderMiBPerSecond: f.mibPerS,
        peakRssMiB: r.maxRssKiB / 1024,
        cpuSeconds: { generate: r.generateMs / 1000, run: r.runMs / 1000, verify: r.verifyMs / 1000 },
        samples: { exceptions: r.exceptionSamples, violations: r.violationSamples, hangs: r.hangSamples, slowOnce: r.slowOnceSamples },
      };
    }),
  };
}

process.exitCode = await main();
