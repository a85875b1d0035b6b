/**
 * Profiles one thread's fleet read (issue 7): `readPartition` over every bus of an N-meter
 * reference fleet in this thread, after a warm-up of 16 buses. Prints the CPU per item.
 *
 *   node --import tsx bench/fleet-profile.ts [meters=2000] [items=50] [--alloc]
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/fleet-profile.ts 4000 50
 *
 * --alloc: V8's sampling heap profiler over the read, keeping objects that minor and major GCs
 * collected, so the report is what the read allocates (not what stays live): bytes per item,
 * and the functions that allocate most (self bytes).
 */
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { ITEM_LISTS } from '../simulators/fleet/identifiers.ts';
import { partition } from '../simulators/fleet/plan.ts';
import { readPartition } from '../simulators/fleet/read.ts';
import { loadFleetScenario } from '../simulators/fleet/scenario.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const alloc = process.argv.includes('--alloc');
const meters = Number(args[0] ?? 2000);
const ids = ITEM_LISTS[args[1] ?? '50'];
if (!ids || !(meters > 0)) throw new Error('usage: fleet-profile.ts [meters] [4|50] [--alloc]');
const s = loadFleetScenario({ seed: 645, meters, metersPerBus: 32, models: [{ name: 'reference', profile: 'reference' }] });
const buses = partition(s, 1, 1);
await readPartition(s, buses.slice(0, 16), ids); // warm-up (JIT)

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}
let session: Session | undefined;
if (alloc) {
  session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
const c0 = process.cpuUsage();
const t0 = performance.now();
const r = await readPartition(s, buses, ids);
const c = process.cpuUsage(c0);
const wall = performance.now() - t0;
const n = r.reduce((a, b) => a + b.itemsRead + b.itemsFailed, 0);
const failed = r.reduce((a, b) => a + b.itemsFailed, 0);
console.log(`${meters} meters x ${ids.length} items: ${n} items (${failed} failed), CPU ${((c.user + c.system) / n).toFixed(1)} us/item, wall ${(wall / 1000).toFixed(1)} s, bus 0 digest ${r[0]!.digest}`);
if (session) {
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode } };
  const self = new Map<string, number>();
  let total = 0;
  const walk = (node: SampleNode): void => {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(harness|simulators|node_modules)\//, '$1/')}`;
    self.set(key, (self.get(key) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const child of node.children) walk(child);
  };
  walk(profile.head);
  console.log(`allocated ~${(total / n / 1024).toFixed(1)} KiB per item (sampled)`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${(v / n).toFixed(0).padStart(7)} B/item  ${k}`);
}
