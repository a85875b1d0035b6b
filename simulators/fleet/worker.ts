/**
 * One partition of a fleet read in a worker thread (started by parallel.ts through a tsx
 * bootstrap). workerData: { scenario, buses, identifiers, progressMs }. Posts
 * `{ type: 'progress', built, read, failed, heapUsed }` (meters built, items read and failed so far,
 * this thread's V8 heap) about
 * every progressMs of real time, and finally `{ type: 'result', buses: BusReadResult[] }`. A `{ type: 'stop' }` message
 * makes every bus stop before its next item (the result then says complete: false).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RealClock, type TimerHandle } from '../../harness/core/clock.ts';
import { readPartition } from './read.ts';
import type { FleetScenario } from './scenario.ts';

interface WorkerInput {
  readonly scenario: FleetScenario;
  readonly buses: number[];
  readonly identifiers: string[];
  readonly progressMs: number;
}

const input = workerData as WorkerInput;
const port = parentPort!;
let stop = false;
let read = 0;
let failed = 0;
let built = 0;
/** Real-time interval between event-loop turns while building buses. */
const YIELD_EVERY_MS = 100;
let lastTurn = 0;
port.on('message', (m: { type: string }) => {
  if (m.type === 'stop') stop = true;
});

// Real time only paces the progress reports (process plumbing); simulated time is the partition's VirtualClock.
const real = new RealClock();
let ticker: TimerHandle | undefined;
const tick = (again = true): void => {
  port.postMessage({ type: 'progress', built, read, failed, heapUsed: process.memoryUsage().heapUsed });
  if (again) ticker = real.setTimeout(() => tick(), input.progressMs);
};
ticker = real.setTimeout(() => tick(), input.progressMs);
const s = input.scenario;
const partitionMeters = input.buses.reduce((a, b) => a + Math.min(s.metersPerBus, s.meters - b * s.metersPerBus), 0);

try {
  const buses = await readPartition(input.scenario, input.buses, input.identifiers, {
    shouldStop: () => stop,
    onItem: (ok) => {
      if (ok) read++;
      else failed++;
    },
    onBuilt: (meters) => {
      built += meters;
      if (built === partitionMeters) tick(false); // the moment building ends, for the build time
    },
    // Building is synchronous per bus; a turn of the event loop now and then lets a stop message
    // and the progress ticker in.
    betweenBuses: async () => {
      if (real.now() - lastTurn < YIELD_EVERY_MS) return;
      await real.sleep(0);
      lastTurn = real.now();
    },
  });
  tick(false);
  port.postMessage({ type: 'result', buses });
} catch (e) {
  port.postMessage({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
} finally {
  real.clearTimeout(ticker);
  port.close();
}
