/**
 * The fuzz loop of one shard (a contiguous range of input indices of one target), run inside a
 * worker process by scripts/fuzz-worker.ts, and the merging of shard results. Time is measured
 * per input with performance.now() around `run` only (generation and verification are timed
 * separately), so throughput and hangs are the code under test's.
 */
import { performance } from 'node:perf_hooks';
import { ContractViolation, FUZZ_BATCH, fuzzBatch, type AnyFuzzTarget } from '../harness/core/fuzz-support.ts';

/** Failing inputs kept per kind and shard (the counts are always complete). */
export const KEPT_SAMPLES = 5;
/** Longest reproducer text kept per sample. */
const MAX_SHOWN = 4000;

export interface FailureSample {
  readonly index: number;
  readonly message: string;
  readonly input: string;
  /** Milliseconds, for hangs. */
  readonly ms?: number;
}

/** Per-input times in a log-linear histogram: bucket k holds times in [2^(k/16), 2^((k+1)/16)) ns. */
export const HISTOGRAM_BUCKETS = 640;
const BUCKETS_PER_OCTAVE = 16;

export function bucketOf(ms: number): number {
  const ns = Math.max(1, ms * 1e6);
  return Math.min(HISTOGRAM_BUCKETS - 1, Math.floor(Math.log2(ns) * BUCKETS_PER_OCTAVE));
}

/** Upper bound in ms of bucket `k`. */
export function bucketUpperMs(k: number): number {
  return 2 ** ((k + 1) / BUCKETS_PER_OCTAVE) / 1e6;
}

/** The time below which a fraction `q` of the inputs ran (bucket upper bound: within 4.4 %). */
export function quantileMs(histogram: readonly number[], q: number): number {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let k = 0; k < histogram.length; k++) {
    seen += histogram[k]!;
    if (seen >= rank) return bucketUpperMs(k);
  }
  return bucketUpperMs(histogram.length - 1);
}

export interface ShardResult {
  readonly target: string;
  readonly seed: number;
  readonly from: number;
  /** Inputs run. */
  inputs: number;
  /** Input bytes (UTF-8 for text). */
  bytes: number;
  /** An exception escaped the decoder (or the product code called while verifying). */
  exceptions: number;
  /** The decoder returned but its result broke the contract. */
  violations: number;
  /** Inputs that took longer than `hangMs`, twice (the first run and a rerun). */
  hangs: number;
  /** Inputs over `hangMs` once but not on the rerun: the machine, not the decoder (not findings). */
  slowOnce: number;
  /** Inputs that never returned (the worker was stopped; see scripts/fuzz.ts). */
  stuck: number;
  readonly exceptionSamples: FailureSample[];
  readonly violationSamples: FailureSample[];
  readonly hangSamples: FailureSample[];
  readonly slowOnceSamples: FailureSample[];
  readonly histogram: number[];
  maxMs: number;
  maxIndex: number;
  /** Time inside `run`, generation and verification (ms). */
  runMs: number;
  generateMs: number;
  verifyMs: number;
  /** Peak resident set of the worker process (KiB), when known. */
  maxRssKiB: number;
  /** What the runner could not do (inputs not run, and why). */
  readonly notes: string[];
}

export function emptyResult(target: string, seed: number, from: number): ShardResult {
  return {
    target,
    seed,
    from,
    inputs: 0,
    bytes: 0,
    exceptions: 0,
    violations: 0,
    hangs: 0,
    slowOnce: 0,
    stuck: 0,
    exceptionSamples: [],
    violationSamples: [],
    hangSamples: [],
    slowOnceSamples: [],
    histogram: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
    maxMs: 0,
    maxIndex: -1,
    runMs: 0,
    generateMs: 0,
    verifyMs: 0,
    maxRssKiB: 0,
    notes: [],
  };
}

export interface ShardOptions {
  readonly seed: number;
  readonly from: number;
  readonly count: number;
  /** An input that runs longer than this is a hang (default 100 ms, issue 5). */
  readonly hangMs?: number;
  /** Called about every `progressMs` with the next index to run. */
  readonly onProgress?: (nextIndex: number, result: ShardResult) => void;
  readonly progressMs?: number;
  /** Called before each input (trace mode: find the input that never returns). */
  readonly beforeInput?: (index: number) => void;
}

/** The input generator itself failed: a bug in the fuzz target, not a finding about the decoder. */
export class GeneratorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeneratorError';
  }
}

function describeError(e: unknown): string {
  if (e instanceof Error) {
    const at = e.stack?.split('\n').find((l) => l.trim().startsWith('at '))?.trim();
    return `${e.name}: ${e.message}${at ? ` (${at})` : ''}`;
  }
  return String(e);
}

/** Time of one more run of `input` (its outcome was recorded by the first run). */
function timeRun(target: AnyFuzzTarget, input: unknown): number {
  const t = performance.now();
  try {
    target.run(input);
  } catch {
    // counted already
  }
  return performance.now() - t;
}

function sample(list: FailureSample[], s: FailureSample): void {
  if (list.length < KEPT_SAMPLES) list.push(s);
}

function shown(target: AnyFuzzTarget, input: unknown): string {
  let text: string;
  try {
    text = target.show(input);
  } catch (e) {
    text = `(show failed: ${describeError(e)})`;
  }
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}… (${text.length} characters)` : text;
}

/** Runs inputs `from` .. `from + count - 1` of `target` with `seed`. */
export function runShard(target: AnyFuzzTarget, options: ShardOptions): ShardResult {
  const { seed, from, count } = options;
  const hangMs = options.hangMs ?? 100;
  const progressMs = options.progressMs ?? 250;
  const result = emptyResult(target.name, seed, from);
  const end = from + count;
  let batchIndex = -1;
  let batch: unknown[] = [];
  let lastProgress = performance.now();
  for (let index = from; index < end; index++) {
    const t0 = performance.now();
    const b = Math.floor(index / FUZZ_BATCH);
    if (b !== batchIndex) {
      try {
        batch = fuzzBatch(target, seed, b);
      } catch (e) {
        throw new GeneratorError(`generating inputs ${b * FUZZ_BATCH}..${b * FUZZ_BATCH + FUZZ_BATCH - 1} of ${target.name} failed: ${describeError(e)}`);
      }
      batchIndex = b;
    }
    const input = batch[index % FUZZ_BATCH];
    options.beforeInput?.(index);
    const t1 = performance.now();
    result.generateMs += t1 - t0;
    let output: unknown;
    let threw = false;
    try {
      output = target.run(input);
    } catch (e) {
      threw = true;
      result.exceptions++;
      sample(result.exceptionSamples, { index, message: describeError(e), input: shown(target, input) });
    }
    let t2 = performance.now();
    let ms = t2 - t1;
    if (ms > hangMs) {
      // Confirm on a second run: on a shared machine a descheduled process or a GC pause can
      // stretch one run of any input. The input's time is the shorter of the two.
      const again = timeRun(target, input);
      if (again > hangMs) {
        result.hangs++;
        sample(result.hangSamples, { index, ms: Math.min(ms, again), message: `took ${ms.toFixed(1)} ms, then ${again.toFixed(1)} ms again`, input: shown(target, input) });
      } else {
        result.slowOnce++;
        sample(result.slowOnceSamples, { index, ms, message: `took ${ms.toFixed(1)} ms once, ${again.toFixed(1)} ms on the rerun`, input: shown(target, input) });
      }
      ms = Math.min(ms, again);
      t2 = performance.now();
    }
    result.runMs += ms;
    result.inputs++;
    result.histogram[bucketOf(ms)]!++;
    if (ms > result.maxMs) {
      result.maxMs = ms;
      result.maxIndex = index;
    }
    result.bytes += target.size(input);
    if (!threw) {
      try {
        target.verify(input, output);
      } catch (e) {
        if (e instanceof ContractViolation) {
          result.violations++;
          sample(result.violationSamples, { index, message: e.message, input: shown(target, input) });
        } else {
          result.exceptions++;
          sample(result.exceptionSamples, { index, message: `while verifying: ${describeError(e)}`, input: shown(target, input) });
        }
      }
    }
    const t3 = performance.now();
    result.verifyMs += t3 - t2;
    if (options.onProgress && t3 - lastProgress >= progressMs) {
      lastProgress = t3;
      result.maxRssKiB = process.resourceUsage().maxRSS;
      options.onProgress(index + 1, result);
    }
  }
  result.maxRssKiB = process.resourceUsage().maxRSS;
  return result;
}

/** Sums shard results of one target (samples: the lowest indices first). */
export function mergeResults(results: readonly ShardResult[]): ShardResult {
  const first = results[0]!;
  const out = emptyResult(first.target, first.seed, Math.min(...results.map((r) => r.from)));
  for (const r of results) {
    out.inputs += r.inputs;
    out.bytes += r.bytes;
    out.exceptions += r.exceptions;
    out.violations += r.violations;
    out.hangs += r.hangs;
    out.slowOnce += r.slowOnce;
    out.stuck += r.stuck;
    out.exceptionSamples.push(...r.exceptionSamples);
    out.violationSamples.push(...r.violationSamples);
    out.hangSamples.push(...r.hangSamples);
    out.slowOnceSamples.push(...r.slowOnceSamples);
    r.histogram.forEach((n, k) => (out.histogram[k]! += n));
    if (r.maxMs > out.maxMs) {
      out.maxMs = r.maxMs;
      out.maxIndex = r.maxIndex;
    }
    out.runMs += r.runMs;
    out.generateMs += r.generateMs;
    out.verifyMs += r.verifyMs;
    out.maxRssKiB = Math.max(out.maxRssKiB, r.maxRssKiB);
    out.notes.push(...r.notes);
  }
  for (const list of [out.exceptionSamples, out.violationSamples, out.hangSamples, out.slowOnceSamples]) {
    list.sort((a, b) => a.index - b.index);
    list.splice(KEPT_SAMPLES);
  }
  return out;
}
