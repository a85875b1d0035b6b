/**
 * Memory and creation cost of simulated DL/T 645 meters (issue 7: under 4 KiB per meter).
 *
 *   node --expose-gc --import tsx bench/meter-memory.ts [--sizes 1000,10000,50000] [--api type,profile] [--days 1] [--breakdown]
 *
 * For each size N and each way of creating a meter (`--api`):
 * - `type`: one `compileMeterType(REFERENCE_METER_PROFILE)` shared by all N meters, each created
 *   with its own address (`createElectricityMeter({ type, address, link, clock, seed })`): what a fleet does.
 * - `profile`: each meter from its own raw profile JSON (the reference with the meter's address),
 *   validated per meter: what a fleet had to do before meter types (about 60 KB a meter, so
 *   run only up to 10,000 meters; larger sizes are skipped for it).
 * - `same-profile`: every meter from the one validated `REFERENCE_METER_PROFILE` object (same address).
 *
 * N in-memory link pairs are made first (their cost is not the meter's), then N meters; each
 * meter is then read once (11H 00010000, forward active total; the reply is decoded and checked),
 * so the state a meter allocates lazily on its first request is counted too. With `--days D`,
 * the clock then jumps a day at a time (no timer runs: the model integrates on demand) and every
 * meter is read again: a day's integration (96 demand periods, the midnight daily freeze) per
 * meter and read, and what a day of records adds to a meter. Heap figures are
 * taken after two forced collections: `heapUsed` (V8 heap) plus `arrayBuffers` (typed-array
 * backing stores live outside the V8 heap), per meter. Creation time is the median over batches
 * of 100 meters. `--breakdown` measures the parts of one meter separately (10,000 of each).
 *
 * Medians and means over many meters, never timed tests. Prints Markdown tables.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { VirtualClock } from '../harness/core/clock.ts';
import { SeededRandom } from '../harness/core/random.ts';
import { FlushOnSilence } from '../harness/core/silence.ts';
import { createMemoryPair } from '../harness/links/memory.ts';
import type { Link } from '../harness/links/link.ts';
import { Dlt645FrameScanner, decode, encodeMessage } from '../harness/protocols/dlt645/index.ts';
import {
  ElectricityMeterModel,
  Dlt645MeterServer,
  REFERENCE_METER_PROFILE,
  REFERENCE_METER_PROFILE_INPUT,
  compileMeterType,
  createElectricityMeter,
  type ElectricityMeter,
} from '../simulators/electricity-meter/index.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  process.stderr.write('run with node --expose-gc --import tsx bench/meter-memory.ts\n');
  process.exit(2);
}

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,10000,50000' },
    api: { type: 'string', default: 'type,profile' },
    breakdown: { type: 'boolean', default: false },
    days: { type: 'string', default: '0' },
  },
});
const days = Number(values.days);
const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
const apis = values.api.split(',').map((s) => s.trim()) as Api[];
type Api = 'type' | 'profile' | 'same-profile';
for (const a of apis) if (!['type', 'profile', 'same-profile'].includes(a)) throw new Error(`unknown --api ${a}`);

/** V8 heap plus typed-array backing stores, after two full collections. */
function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** Address of meter i: 12 decimal digits, distinct per i. */
const addressOf = (i: number): string => String(100_000_000_000 + i);

/** Largest fleet measured with a profile validated per meter (60 KB each: 10,000 is 600 MB). */
const PROFILE_API_MAX = 10_000;
const READ_DI = '00010000'; // forward active energy total (PROTOCOLS.md, DL/T 645-2007 appendix A)

interface SizeResult {
  readonly api: Api;
  readonly n: number;
  readonly createdBytes: number;
  readonly readBytes: number;
  readonly createMs: number;
  readonly readWallMs: number;
  /** After `days` more days, each ending with a read of every meter. */
  readonly dayBytes: number | null;
  /** Wall time of one day's read of every meter (integration over the day included), per meter. */
  readonly dayReadMs: number | null;
}

async function measure(api: Api, n: number): Promise<SizeResult> {
  const clock = new VirtualClock({ start: Date.UTC(2026, 2, 2, 2, 0, 0), autoAdvance: false });
  let replies = 0;
  let bad = 0;
  const onReply = (chunk: Uint8Array): void => {
    const r = decode(chunk);
    if (r.ok && r.value.message.kind === 'readDataResponse' && r.value.message.di === READ_DI) replies++;
    else bad++;
  };
  const masters: Link[] = [];
  const meterLinks: Link[] = [];
  for (let i = 0; i < n; i++) {
    const [master, meterLink] = createMemoryPair();
    master.on('data', onReply);
    masters.push(master);
    meterLinks.push(meterLink);
  }
  const type = api === 'type' ? compileMeterType(REFERENCE_METER_PROFILE) : null;
  const before = used();

  const meters: ElectricityMeter[] = new Array(n);
  const perMeterMs: number[] = [];
  const BATCH = 100;
  for (let i = 0; i < n; i += BATCH) {
    const t0 = performance.now();
    const end = Math.min(n, i + BATCH);
    for (let j = i; j < end; j++) {
      const link = meterLinks[j]!;
      if (type) meters[j] = createElectricityMeter({ type, address: addressOf(j), link, clock, seed: j });
      else if (api === 'profile') {
        const json = { ...REFERENCE_METER_PROFILE_INPUT, meter: { ...REFERENCE_METER_PROFILE_INPUT.meter, address: addressOf(j) } };
        meters[j] = createElectricityMeter({ profile: json, link, clock, seed: j });
      } else meters[j] = createElectricityMeter({ profile: REFERENCE_METER_PROFILE, link, clock, seed: j });
    }
    perMeterMs.push((performance.now() - t0) / (end - i));
  }
  const created = used();

  const readStart = performance.now();
  const READ_BATCH = 1000;
  const readAll = async (): Promise<void> => {
    for (let i = 0; i < n; i += READ_BATCH) {
      const end = Math.min(n, i + READ_BATCH);
      for (let j = i; j < end; j++) {
        const request = encodeMessage(meters[j]!.model.address, { kind: 'readData', di: READ_DI, extra: new Uint8Array(0) }, { preamble: 4 });
        void masters[j]!.write(request);
      }
      await clock.advance(1000);
    }
  };
  await readAll();
  const readWallMs = performance.now() - readStart;
  if (replies !== n || bad !== 0) throw new Error(`${api} ${n}: ${replies} good replies and ${bad} bad ones from ${n} meters`);
  const read = used();
  let dayBytes: number | null = null;
  let dayReadMs: number | null = null;
  if (days > 0) {
    const dayWall: number[] = [];
    for (let d = 0; d < days; d++) {
      await clock.advance(24 * 3_600_000 - n); // the reads above took 1 s per batch of 1,000 meters
      const t0 = performance.now();
      await readAll();
      dayWall.push((performance.now() - t0) / n);
    }
    if (replies !== n * (days + 1) || bad !== 0) throw new Error(`${api} ${n}: ${replies} good replies and ${bad} bad ones after ${days} days`);
    const daily = meters[0]!.model.records.daily.length;
    if (daily !== days) throw new Error(`meter 0 holds ${daily} daily freezes after ${days} days`);
    dayBytes = (used() - before) / n;
    dayReadMs = median(dayWall);
  }
  // Keep everything alive until measured.
  if (meters.length !== n || masters.length !== n) throw new Error('unreachable');
  for (const m of meters) m.stop();
  return { api, n, createdBytes: (created - before) / n, readBytes: (read - before) / n, createMs: median(perMeterMs), readWallMs, dayBytes, dayReadMs };
}

/** Bytes per instance of what `make` returns, over `n` instances kept alive. */
function costOf(n: number, make: (i: number) => unknown): number {
  const keep: unknown[] = new Array(n);
  const before = used();
  for (let i = 0; i < n; i++) keep[i] = make(i);
  const after = used();
  if (keep.length !== n) throw new Error('unreachable');
  return (after - before) / n;
}

function breakdown(): string[] {
  const n = 10_000;
  const clock = new VirtualClock({ start: Date.UTC(2026, 2, 2, 2, 0, 0), autoAdvance: false });
  const type = compileMeterType(REFERENCE_METER_PROFILE);
  const links = Array.from({ length: n }, () => createMemoryPair()[1]);
  const rows: [string, number][] = [
    ['memory link pair (not the meter\'s)', costOf(n, () => createMemoryPair())],
    ['Dlt645FrameScanner', costOf(n, () => new Dlt645FrameScanner())],
    ['FlushOnSilence + scanner', costOf(n, () => new FlushOnSilence({ scanner: new Dlt645FrameScanner(), clock, silenceMs: 500, deliver: () => undefined }))],
    ['SeededRandom', costOf(n, (i) => new SeededRandom(i))],
    ['ElectricityMeterModel (shared type)', costOf(n, (i) => new ElectricityMeterModel({ type, address: addressOf(i), clock }))],
    [
      'Dlt645MeterServer with its model (shared type)',
      costOf(n, (i) => {
        const model = new ElectricityMeterModel({ type, address: addressOf(i), clock });
        return new Dlt645MeterServer({ type, link: links[i]!, model, clock, random: new SeededRandom(i) });
      }),
    ],
    ['whole meter: createElectricityMeter({ type, address })', costOf(n, (i) => createElectricityMeter({ type, address: addressOf(i), link: links[i]!, clock, seed: i, start: false }))],
  ];
  return ['| part (10,000 of each) | bytes each |', '|---|---:|', ...rows.map(([name, b]) => `| ${name} | ${Math.round(b).toLocaleString('en-US')} |`)];
}

const dayHead = days > 0 ? ` heap/meter after ${days} day(s) | read after a day, per meter |` : '';
const lines = [`| api | meters | heap/meter created | heap/meter after one read | create (median) | read wall |${dayHead}`, `|---|---:|---:|---:|---:|---:|${days > 0 ? '---:|---:|' : ''}`];
const bytes = (b: number): string => `${Math.round(b).toLocaleString('en-US')} B`;
for (const n of sizes) {
  for (const api of apis) {
    if (api === 'profile' && n > PROFILE_API_MAX) {
      process.stderr.write(`skipped: --api profile at ${n} meters (about 60 KB each)\n`);
      continue;
    }
    const r = await measure(api, n);
    lines.push(
      `| ${r.api} | ${r.n.toLocaleString('en-US')} | ${bytes(r.createdBytes)} | ${bytes(r.readBytes)} | ${r.createMs.toFixed(3)} ms | ${Math.round(r.readWallMs).toLocaleString('en-US')} ms |` +
        (r.dayBytes !== null && r.dayReadMs !== null ? ` ${bytes(r.dayBytes)} | ${r.dayReadMs.toFixed(3)} ms |` : ''),
    );
    process.stderr.write(`${lines[lines.length - 1]}\n`);
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
if (values.breakdown) process.stdout.write(`\n${breakdown().join('\n')}\n`);
process.stdout.write(`\nnode ${process.version}, peak RSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MiB\n`);
