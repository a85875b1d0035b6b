/**
 * A fleet read partitioned over worker threads: worker i of n runs the buses `partition(scenario,
 * i, n)` on its own VirtualClock; the per-bus results are merged in bus order, so the merged
 * result (counts, simulated times, line-time bounds, digest) is the same for any worker count.
 *
 * Workers load TypeScript through tsx: a worker thread does not inherit the `--import tsx`
 * loader of its parent on Node 20, so each starts from a tiny ES module that registers tsx's
 * ESM loader (`tsx/esm/api`) and then imports worker.ts.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RealClock, type TimerHandle } from '../../harness/core/clock.ts';
import { partition, type Shard } from './plan.ts';
import { mergeBusResults, type BusReadResult, type FleetReadResult } from './read.ts';
import type { FleetScenario } from './scenario.ts';

export interface FleetProgress {
  /** Meters built so far. */
  built: number;
  read: number;
  failed: number;
  /** Sum of the workers' V8 heaps at their last reports (threads share the process RSS; this is theirs alone). */
  heapUsedBytes: number;
}

export interface ParallelReadOptions {
  /** Worker threads (each one partition). Default 1. More workers than buses run idle-free: extra ones get no bus. */
  readonly workers?: number;
  /**
   * Read only shard `index` of `count` of the buses (`partition`, as `meterlab simulate fleet
   * --shard i/n`), split over the workers; the result holds that shard's buses. Default 1/1.
   */
  readonly shard?: Shard;
  /** Called whenever a worker reports (about every progressMs). */
  readonly onProgress?: (p: FleetProgress) => void;
  /** Real-time interval of worker progress reports. Default 1000 ms. */
  readonly progressMs?: number;
  /** Aborting asks every worker to stop before its next item; the partial results are merged (complete: false). */
  readonly signal?: AbortSignal;
  /**
   * Real time a worker gets to stop after an abort (it may be deep in building a bus) before it is
   * terminated; the read then rejects with FleetStoppedError carrying the last progress. Default 10 s.
   */
  readonly graceMs?: number;
  /**
   * Old-generation limit of each worker's V8 heap, in MiB, from its partition's meter count
   * (default workerOldGenerationMb). V8 collects harder as the heap nears it; a partition whose
   * live objects exceed it fails (the worker reports an out-of-memory error).
   */
  readonly oldGenerationMb?: (meters: number) => number;
}

/**
 * Without a limit V8 lets a worker's old generation grow to about four times what is live before
 * a full collection (objects of exchanges that outlived two scavenges pile up), which made 200,000
 * meters take 3.1 GiB of RSS (issue 7: at most 2 GB). A fleet meter with its bus node holds about
 * 3.3 KiB once read (bench/meter-memory.ts, and in-process after a read): 5 KiB a meter plus 256
 * MiB for the code, the dictionary and the in-flight exchanges leaves half again as much headroom.
 */
export function workerOldGenerationMb(meters: number): number {
  return 256 + Math.ceil((meters * 5) / 1024);
}

/** Workers did not stop within the grace time and were terminated: only progress counts are known. */
export class FleetStoppedError extends Error {
  constructor(readonly progress: FleetProgress) {
    super(`fleet workers terminated after the stop grace time: ${progress.built} meters built, ${progress.read} items read, ${progress.failed} failed`);
    this.name = 'FleetStoppedError';
  }
}

export interface ParallelReadResult extends FleetReadResult {
  readonly workers: number;
}

/** Real time a worker gets to stop after an abort before it is terminated. */
const DEFAULT_GRACE_MS = 10_000;

/** The module text a worker starts from: register tsx, then run worker.ts. */
function bootstrapUrl(): URL {
  const require = createRequire(import.meta.url);
  const tsxDir = dirname(require.resolve('tsx/package.json'));
  const api = pathToFileURL(join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const worker = new URL('./worker.ts', import.meta.url).href;
  const text = `import { register } from ${JSON.stringify(api)};\nregister();\nawait import(${JSON.stringify(worker)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(text)}`);
}

/**
 * V8 young generation of each worker (3 × its semi-space: 192 MB = 64 MB semi-spaces; Node's
 * default semi-space is 16 MB). A fleet read allocates some 25 KB of short-lived objects per item
 * (frames, messages, promises); with larger semi-spaces fewer of them survive a scavenge, and
 * scavenges are fewer: about 15% less CPU per item at 10,000 meters (bench/README.md), for
 * at most 2 × 64 MB more resident memory per worker.
 */
export const WORKER_YOUNG_GENERATION_MB = 192;

function partitionMeters(s: FleetScenario, buses: readonly number[]): number {
  return buses.reduce((a, b) => a + Math.min(s.metersPerBus, s.meters - b * s.metersPerBus), 0);
}

/** Reads `identifiers` from every meter of the fleet, `workers` partitions in parallel. */
export async function readFleetInWorkers(scenario: FleetScenario, identifiers: readonly string[], options: ParallelReadOptions = {}): Promise<ParallelReadResult> {
  const n = options.workers ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`workers must be a whole number ≥ 1, got ${n}`);
  const progress: FleetProgress = { built: 0, read: 0, failed: 0, heapUsedBytes: 0 };
  const perWorker = Array.from({ length: n }, () => ({ built: 0, read: 0, failed: 0, heapUsed: 0 }));
  const url = bootstrapUrl();
  let killed = false;
  const workers: Worker[] = [];
  const runs: Promise<BusReadResult[]>[] = [];
  const shard = options.shard ?? { index: 1, count: 1 };
  const mine = partition(scenario, shard.index, shard.count);
  for (let i = 1; i <= n; i++) {
    // Worker i of n: the i-th contiguous run of the shard's buses (partition's split, over the shard).
    const buses = mine.slice(Math.floor(((i - 1) * mine.length) / n), Math.floor((i * mine.length) / n));
    if (buses.length === 0) continue;
    const w = new Worker(url, {
      workerData: { scenario, buses, identifiers: [...identifiers], progressMs: options.progressMs ?? 1000 },
      resourceLimits: {
        maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB,
        maxOldGenerationSizeMb: (options.oldGenerationMb ?? workerOldGenerationMb)(partitionMeters(scenario, buses)),
      },
    });
    workers.push(w);
    const slot = perWorker[i - 1]!;
    runs.push(
      new Promise<BusReadResult[]>((resolve, reject) => {
        let done = false;
        w.on('message', (m: { type: string; built?: number; read?: number; failed?: number; heapUsed?: number; buses?: BusReadResult[]; message?: string }) => {
          if (m.type === 'progress') {
            progress.built += (m.built ?? 0) - slot.built;
            slot.built = m.built ?? 0;
            progress.heapUsedBytes += (m.heapUsed ?? 0) - slot.heapUsed;
            slot.heapUsed = m.heapUsed ?? 0;
            progress.read += (m.read ?? 0) - slot.read;
            progress.failed += (m.failed ?? 0) - slot.failed;
            slot.read = m.read ?? 0;
            slot.failed = m.failed ?? 0;
            options.onProgress?.({ ...progress });
          } else if (m.type === 'result') {
            done = true;
            resolve(m.buses ?? []);
          } else if (m.type === 'error') {
            done = true;
            reject(new Error(`fleet worker ${i}/${n}: ${m.message}`));
          }
        });
        w.on('error', (e) => {
          done = true;
          reject(e);
        });
        w.on('exit', (code) => {
          if (done) return;
          reject(killed ? new FleetStoppedError({ ...progress }) : new Error(`fleet worker ${i}/${n} exited (${code}) without a result`));
        });
      }),
    );
  }
  const real = new RealClock();
  let grace: TimerHandle | undefined;
  const onAbort = (): void => {
    for (const w of workers) w.postMessage({ type: 'stop' });
    grace = real.setTimeout(() => {
      killed = true;
      for (const w of workers) void w.terminate();
    }, options.graceMs ?? DEFAULT_GRACE_MS);
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const results = await Promise.all(runs);
    return { ...mergeBusResults(results.flat()), workers: n };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    real.clearTimeout(grace);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
