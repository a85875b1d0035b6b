/**
 * MeterLab benchmarks (run: `npm run bench`). Medians, never timed tests.
 *
 * - DL/T 645 codec: decode (frame + message) and encode rates over the 65 real vector frames,
 *   the streaming scanner's throughput on a chunked byte stream, and dictionary value decoding.
 * - CJ/T 188 codec (`--only cjt188`): decode and encode rates over its 23 real vector frames, its
 *   scanner on a chunked stream and on a 68H flood.
 * - Hostile input: the scanner's CPU per byte on 68H and FEH floods at 16, 64 and 256 KiB.
 * - VirtualClock: the cost of a timer set + clear with 10, 1,000 and 100,000 timers pending, and
 *   timers fired per second by advance() and run() (sameInstant 'settle' and 'batch').
 * - One RS-485 bus of 32 reference meters read by a master (bench/bus.ts): CPU per item, byte
 *   and frame delivery.
 * - The reading suite: wall time of all cases against the reference meter on the simulated
 *   RS-485 bus (virtual time), with the simulated time it covered and the heap it used.
 * - The suites of the other devices against their reference devices (bench/device-suites.ts, virtual
 *   time: wall, simulated time covered, ratio): the CJ/T 188 reading and valve suites
 *   (`--only cjt188-suites`, water and gas meters), the converter suite (`--only converter-suite`)
 *   and the M-Bus reading suite (`--only mbus-suite`, heat meter).
 * - M-Bus: decode rate (frames and records per second) over the 76 good frames of the libmbus corpus.
 * - Q/GDW 1376.1 codec (`--only gw1376`): decode (frame + data units through the dictionary) and
 *   encode rates over its 20 real vector frames and over built reply frames with data (AFN 0C F129
 *   for 8 points, AFN 0D F161), and its scanner on a chunked stream.
 *
 * Prints a Markdown table and writes bench/results.json (machine-readable, for comparisons).
 * `npm run bench -- --only clock,bus` runs only the named sections (codec, flood, cjt188, clock,
 * bus, suite, cjt188-suites, converter-suite, mbus, mbus-suite, gw1376) and writes no results.json.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { hex } from '../harness/core/bytes.ts';
import { RealClock, VirtualClock } from '../harness/core/clock.ts';
import { SeededRandom } from '../harness/core/random.ts';
import { Dlt645FrameScanner, decode, decodeValue, encodeMessage, type Dlt645Message } from '../harness/protocols/dlt645/index.ts';
import type { UnitValue } from '../harness/protocols/gw1376/index.ts';
import { openTarget, referenceTargetProfile } from '../harness/targets/index.ts';
import { runCase } from '../suites/framework/case.ts';
import { readingCases } from '../suites/reading/cases.ts';

interface Row {
  readonly name: string;
  readonly median: number;
  readonly unit: string;
  readonly note: string;
}

const here = import.meta.dirname;
const vectors = JSON.parse(readFileSync(resolve(here, '../harness/protocols/dlt645/fixtures/dlt645-vectors.json'), 'utf8')) as {
  hex: string;
  negative?: boolean;
}[];
const frames = vectors.filter((v) => !v.negative).map((v) => hex(v.hex));

async function codecBenchmarks(): Promise<Row[]> {
  // Messages decoded once, so the encode benchmark re-encodes exactly the vector set.
  const decoded = frames.map((f) => {
    const r = decode(f);
    if (!r.ok) throw new Error(`vector does not decode: ${r.error.message}`);
    return { address: r.value.frame.address, message: r.value.message, preamble: r.value.frame.preamble };
  });
  // A stream of 1000 frames split into chunks of 1..32 bytes (seeded), as a serial port delivers them.
  const random = new SeededRandom(645);
  const stream: Uint8Array[] = [];
  let streamFrames = 0;
  let streamBytes = 0;
  for (let i = 0; i < 1000; i++) {
    const f = frames[i % frames.length]!;
    streamFrames++;
    streamBytes += f.length;
    let o = 0;
    while (o < f.length) {
      const n = Math.min(f.length - o, random.int(1, 32));
      stream.push(f.subarray(o, o + n));
      o += n;
    }
  }
  const block = hex('29 01 00 00 62 00 00 00 60 00 00 00 03 00 00 00 02 00 00 00'); // 0001FF00: 1.29, 0.62, 0.60, 0.03, 0.02 kWh

  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench
    .add('decode', () => {
      for (const f of frames) decode(f);
    })
    .add('encode', () => {
      for (const d of decoded) encodeMessage(d.address, d.message as Dlt645Message, { preamble: d.preamble });
    })
    .add('scan', () => {
      const s = new Dlt645FrameScanner();
      for (const c of stream) s.push(c);
    })
    .add('value', () => {
      for (let i = 0; i < 100; i++) decodeValue('0001FF00', block);
    });
  await bench.run();
  const medianMs = (name: string): number => {
    const t = bench.getTask(name);
    const p50 = t?.result && 'latency' in t.result ? t.result.latency.p50 : undefined;
    if (p50 === undefined) throw new Error(`benchmark ${name} produced no result`);
    return p50;
  };
  const perSecond = (count: number, ms: number): number => Math.round((count * 1000) / ms);
  return [
    { name: 'DL/T 645 decode (frame + message)', median: perSecond(frames.length, medianMs('decode')), unit: 'frames/s', note: `${frames.length} real vector frames per iteration` },
    { name: 'DL/T 645 encode (message → frame)', median: perSecond(decoded.length, medianMs('encode')), unit: 'frames/s', note: 'the same frames re-encoded' },
    { name: 'DL/T 645 streaming scanner', median: perSecond(streamFrames, medianMs('scan')), unit: 'frames/s', note: `${streamBytes} bytes in 1..32-byte chunks` },
    { name: 'DL/T 645 scanner byte rate', median: Math.round((streamBytes * 1000) / medianMs('scan') / 1024), unit: 'KiB/s', note: '2400 baud carries 0.21 KiB/s' },
    { name: 'dictionary decodeValue (0001FF00 block)', median: perSecond(100, medianMs('value')), unit: 'values/s', note: 'total + 4 tariffs' },
  ];
}

/**
 * Hostile input: CPU per byte of the scanner on floods of 68H (every byte a frame candidate) and
 * FEH (an endless preamble), at several sizes, in one chunk and one byte per push (a bus delivers
 * bytes one at a time). Linear cost shows as a flat ns/byte across sizes.
 */
async function floodBenchmarks(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const [label, fill] of [['68H', 0x68], ['FEH', 0xfe]] as const) {
    for (const chunk of ['whole', 'byte'] as const) {
      for (const kib of [16, 64, 256]) {
        const flood = new Uint8Array(kib * 1024).fill(fill);
        const bench = new Bench({ time: 300, warmupTime: 50, iterations: 3 });
        bench.add('flood', () => {
          const s = new Dlt645FrameScanner();
          if (chunk === 'whole') s.push(flood);
          else for (let i = 0; i < flood.length; i++) s.push(flood.subarray(i, i + 1));
          s.flush();
        });
        await bench.run();
        const r = bench.getTask('flood')?.result;
        const p50 = r && 'latency' in r ? r.latency.p50 : undefined;
        if (p50 === undefined) throw new Error('flood benchmark produced no result');
        rows.push({
          name: `scanner on a ${label} flood, ${kib} KiB, ${chunk === 'whole' ? 'one push' : 'one byte per push'}`,
          median: Math.round((p50 * 1e6) / flood.length),
          unit: 'ns/byte',
          note: 'flat across sizes = linear',
        });
      }
    }
  }
  return rows;
}

/**
 * CJ/T 188 codec: decode (frame + message, typed values) and encode over the 23 real vector
 * frames, the streaming scanner on a chunked stream of them, and the scanner on 68H floods (no
 * second 68H: every 68H opens a candidate, the look-ahead decides the complete ones).
 */
async function cjt188Benchmarks(): Promise<Row[]> {
  const cjt188 = await import('../harness/protocols/cjt188/index.ts');
  const cjtVectors = JSON.parse(readFileSync(resolve(here, '../harness/protocols/cjt188/fixtures/cjt188-vectors.json'), 'utf8')) as { hex: string }[];
  const cjtFrames = cjtVectors.map((v) => hex(v.hex));
  const decoded = cjtFrames.map((f) => {
    const r = cjt188.decode(f);
    if (!r.ok) throw new Error(`CJ/T 188 vector does not decode: ${r.error.message}`);
    return { meterType: r.value.frame.meterType, address: r.value.frame.address, message: r.value.message, preamble: r.value.frame.preamble };
  });
  const random = new SeededRandom(188);
  const stream: Uint8Array[] = [];
  let streamFrames = 0;
  let streamBytes = 0;
  for (let i = 0; i < 1000; i++) {
    const f = cjtFrames[i % cjtFrames.length]!;
    streamFrames++;
    streamBytes += f.length;
    for (let o = 0; o < f.length; ) {
      const n = Math.min(f.length - o, random.int(1, 32));
      stream.push(f.subarray(o, o + n));
      o += n;
    }
  }
  const flood = new Uint8Array(16 * 1024).fill(0x68);
  const feFlood = new Uint8Array(256 * 1024).fill(0xfe);
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench
    .add('decode', () => {
      for (const f of cjtFrames) cjt188.decode(f);
    })
    .add('encode', () => {
      for (const d of decoded) cjt188.encodeMessage(d.meterType, d.address, d.message, { preamble: d.preamble });
    })
    .add('scan', () => {
      const s = new cjt188.Cjt188FrameScanner();
      for (const c of stream) s.push(c);
    })
    .add('flood-whole', () => {
      const s = new cjt188.Cjt188FrameScanner();
      s.push(flood);
      s.flush();
    })
    .add('flood-byte', () => {
      const s = new cjt188.Cjt188FrameScanner();
      for (let i = 0; i < flood.length; i++) s.push(flood.subarray(i, i + 1));
      s.flush();
    })
    .add('fe-byte', () => {
      const s = new cjt188.Cjt188FrameScanner();
      for (let i = 0; i < feFlood.length; i++) s.push(feFlood.subarray(i, i + 1));
      s.flush();
    });
  await bench.run();
  const medianMs = (name: string): number => {
    const t = bench.getTask(name);
    const p50 = t?.result && 'latency' in t.result ? t.result.latency.p50 : undefined;
    if (p50 === undefined) throw new Error(`benchmark ${name} produced no result`);
    return p50;
  };
  const perSecond = (count: number, ms: number): number => Math.round((count * 1000) / ms);
  return [
    { name: 'CJ/T 188 decode (frame + message + typed value)', median: perSecond(cjtFrames.length, medianMs('decode')), unit: 'frames/s', note: `${cjtFrames.length} real vector frames per iteration` },
    { name: 'CJ/T 188 encode (message → frame)', median: perSecond(decoded.length, medianMs('encode')), unit: 'frames/s', note: 'the same frames re-encoded' },
    { name: 'CJ/T 188 streaming scanner', median: perSecond(streamFrames, medianMs('scan')), unit: 'frames/s', note: `${streamBytes} bytes in 1..32-byte chunks` },
    { name: 'CJ/T 188 scanner on a 68H flood, 16 KiB, one push', median: Math.round((medianMs('flood-whole') * 1e6) / flood.length), unit: 'ns/byte', note: 'every byte a candidate' },
    { name: 'CJ/T 188 scanner on a 68H flood, 16 KiB, one byte per push', median: Math.round((medianMs('flood-byte') * 1e6) / flood.length), unit: 'ns/byte', note: 'look-ahead bounded by the 1 KiB buffer' },
    { name: 'CJ/T 188 scanner on a FEH flood, 256 KiB, one byte per push', median: Math.round((medianMs('fe-byte') * 1e6) / feFlood.length), unit: 'ns/byte', note: 'an endless preamble waits for a non-FE byte' },
  ];
}

/**
 * VirtualClock timer cost: one setTimeout + clearTimeout pair with 10, 1,000 and 100,000 timers
 * pending (issue 7: within 2× of each other), and one set + fire.
 */
async function timerBenchmarks(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const pending of [10, 1_000, 100_000]) {
    const clock = new VirtualClock({ start: 0, autoAdvance: false });
    const random = new SeededRandom(7);
    for (let i = 0; i < pending; i++) clock.setTimeout(() => undefined, random.int(1, 1_000_000));
    const bench = new Bench({ time: 300, warmupTime: 50 });
    bench.add('set+clear', () => {
      for (let i = 0; i < 1000; i++) clock.clearTimeout(clock.setTimeout(() => undefined, random.int(1, 1_000_000)));
    });
    await bench.run();
    const r = bench.getTask('set+clear')?.result;
    const p50 = r && 'latency' in r ? r.latency.p50 : undefined;
    if (p50 === undefined) throw new Error('timer benchmark produced no result');
    rows.push({ name: `VirtualClock setTimeout + clearTimeout, ${pending.toLocaleString('en-US')} pending`, median: Math.round((p50 * 1e6) / 1000), unit: 'ns/pair', note: 'flat across sizes = O(log n) or better' });
  }
  return [...rows, ...(await firedBenchmarks())];
}

/**
 * VirtualClock timers FIRED per second (median of 5): 20,000 timers at distinct instants and
 * 20,000 at one instant, fired by advance() (auto-advance off), and a chain of 5,000 sleeps
 * under run() (each timer's work sets the next timer, as a simulation does).
 */
async function firedBenchmarks(): Promise<Row[]> {
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rate = async (count: number, once: () => Promise<void>): Promise<number> => {
    const rates: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await once();
      rates.push((count * 1000) / (performance.now() - t0));
    }
    return Math.round(median(rates));
  };
  const n = 20_000;
  const fireAll = (sameInstant: boolean, mode: 'settle' | 'batch') => async (): Promise<void> => {
    const clock = new VirtualClock({ start: 0, autoAdvance: false, sameInstant: mode });
    let fired = 0;
    for (let i = 0; i < n; i++) clock.setTimeout(() => fired++, sameInstant ? 1 : i + 1);
    await clock.advance(n + 1);
    if (fired !== n) throw new Error(`fired ${fired} of ${n}`);
  };
  const chain = 5_000;
  const runChain = async (): Promise<void> => {
    const clock = new VirtualClock({ start: 0 });
    await clock.run(async () => {
      for (let i = 0; i < chain; i++) await clock.sleep(1);
    });
    if (clock.now() !== chain) throw new Error('chain did not cover its time');
  };
  return [
    { name: 'VirtualClock timers fired by advance(), distinct instants', median: await rate(n, fireAll(false, 'settle')), unit: 'timers/s', note: `${n.toLocaleString('en-US')} timers` },
    { name: 'VirtualClock timers fired by advance(), one instant', median: await rate(n, fireAll(true, 'settle')), unit: 'timers/s', note: `${n.toLocaleString('en-US')} timers, sameInstant 'settle' (default)` },
    { name: 'VirtualClock timers fired by advance(), one instant, batched', median: await rate(n, fireAll(true, 'batch')), unit: 'timers/s', note: `${n.toLocaleString('en-US')} timers, sameInstant 'batch'` },
    { name: 'VirtualClock sleep chain under run()', median: await rate(chain, runChain), unit: 'timers/s', note: 'each timer sets the next' },
  ];
}

async function suiteBenchmark(runs: number): Promise<Row[]> {
  const wall: number[] = [];
  const simulated: number[] = [];
  let heapAfter = 0;
  for (let i = 0; i < runs; i++) {
    const startWall = performance.now();
    const target = await openTarget(referenceTargetProfile({ transport: 'bus' }), { describe: false });
    const startVirtual = target.clock.now();
    for (const c of readingCases) {
      const r = await runCase(c, target);
      if (r.verdict !== 'passed') throw new Error(`reference failed ${r.id}: ${r.reason}`);
    }
    simulated.push(target.clock.now() - startVirtual);
    await target.close();
    wall.push(performance.now() - startWall);
    heapAfter = process.memoryUsage().heapUsed;
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const w = median(wall);
  const s = median(simulated);
  return [
    { name: 'reading suite vs reference (bus, virtual time)', median: Math.round(w), unit: 'ms wall', note: `${readingCases.length} cases, median of ${runs} runs` },
    { name: 'simulated line time covered', median: Math.round(s / 1000), unit: 's virtual', note: 'every byte paced at 2400 8E1' },
    { name: 'virtual / wall time ratio', median: Math.round(s / w), unit: '×', note: 'how much faster than real time' },
    { name: 'heap after the suite runs', median: Math.round(heapAfter / 1024 / 1024), unit: 'MiB', note: 'process.memoryUsage().heapUsed' },
  ];
}

/**
 * M-Bus codec over the libmbus corpus (issue 11): the 76 good frames decoded (frame + application
 * layer with every record) per iteration; frames and records per second, median.
 */
async function mbusBenchmarks(): Promise<Row[]> {
  const { corpusDirectory } = await import('../harness/protocols/mbus/corpus-support.ts');
  const { decodeFrame, decodeApplication } = await import('../harness/protocols/mbus/index.ts');
  const dir = corpusDirectory();
  if (dir === null) throw new Error('M-Bus corpus not found (shared/corpus/mbus-libmbus beside the worktree, or MBUS_CORPUS)');
  const folder = resolve(dir, 'test-frames');
  const corpus = readdirSync(folder).filter((f) => f.endsWith('.hex')).map((f) => hex(readFileSync(resolve(folder, f), 'utf8')));

  const decodeAll = (): number => {
    let n = 0;
    for (const bytes of corpus) {
      const f = decodeFrame(bytes);
      if (!f.ok || (f.value.frame.type !== 'long' && f.value.frame.type !== 'control')) throw new Error('corpus frame does not decode');
      const app = decodeApplication(f.value.frame, 0);
      if (!app.ok) throw new Error(`corpus frame does not decode: ${app.error.message}`);
      if (app.value.kind === 'variableData') n += app.value.records.length;
      else if (app.value.kind === 'fixedData') n += 2;
    }
    return n;
  };
  const records = decodeAll();
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench.add('mbus', () => {
    decodeAll();
  });
  await bench.run();
  const t = bench.getTask('mbus')?.result;
  const p50 = t && 'latency' in t ? t.latency.p50 : undefined;
  if (p50 === undefined) throw new Error('M-Bus benchmark produced no result');
  const bytes = corpus.reduce((s, b) => s + b.length, 0);
  return [
    { name: 'M-Bus decode (frame + records), libmbus corpus', median: Math.round((corpus.length * 1000) / p50), unit: 'frames/s', note: `${corpus.length} good frames, ${bytes} bytes per iteration` },
    { name: 'M-Bus records decoded', median: Math.round((records * 1000) / p50), unit: 'records/s', note: `${records} records per iteration` },
  ];
}

/**
 * Q/GDW 1376.1 codec: decode (frame, AUX, data units through the dictionary) and encode over the
 * 20 real vector frames (short: logins, heartbeats, reads), over two built replies that carry data
 * (AFN 0C F129 for p1..p8 with 4 tariffs, AFN 0D F161 for p1), and the scanner on a chunked stream.
 */
async function gw1376Benchmarks(): Promise<Row[]> {
  const gw = await import('../harness/protocols/gw1376/index.ts');
  const vectors = JSON.parse(readFileSync(resolve(here, '../harness/protocols/gw1376/fixtures/1376-1-vectors.json'), 'utf8')) as { hex: string }[];
  const frames = vectors.map((v) => hex(v.hex));
  const address = { areaCode: '0200', terminal: 0x1234, msa: 1, group: false };
  const energies = (p: number): UnitValue => ({ readingTime: '2026-11-30 00:05', tariffCount: 4, forwardActive: [0, 1, 2, 3, 4].map((t) => ({ value: 1000 * p + t + 0.1234 })) });
  const replies = [
    gw.buildFrame({ control: { dir: true, prm: false, functionCode: 8 }, address, afn: 0x0c, seq: { seq: 1 }, units: [1, 2, 3, 4, 5, 6, 7, 8].map((pn) => ({ pn, fn: 129, value: energies(pn) })) }),
    gw.buildFrame({ control: { dir: true, prm: false, functionCode: 8 }, address, afn: 0x0d, seq: { seq: 2 }, units: [{ pn: 1, fn: 161, value: { day: '2026-11-29', ...energies(1) } }] }),
  ];
  const decodeAll = (list: Uint8Array[]): ReturnType<typeof gw.decode>[] => list.map((f) => gw.decode(f));
  const decodedVectors = decodeAll(frames).map((r) => {
    if (!r.ok) throw new Error(`1376.1 vector does not decode: ${r.error.message}`);
    return r.value;
  });
  const decodedReplies = decodeAll(replies).map((r) => {
    if (!r.ok) throw new Error(`1376.1 built reply does not decode: ${r.error.message}`);
    return r.value;
  });
  const random = new SeededRandom(1376);
  const stream: Uint8Array[] = [];
  let streamFrames = 0;
  let streamBytes = 0;
  for (let i = 0; i < 1000; i++) {
    const f = i % 10 === 9 ? replies[i % 2]! : frames[i % frames.length]!;
    streamFrames++;
    streamBytes += f.length;
    for (let o = 0; o < f.length; ) {
      const n = Math.min(f.length - o, random.int(1, 32));
      stream.push(f.subarray(o, o + n));
      o += n;
    }
  }
  // 64 KiB of valid headers (68 FE FF FE FF 68), each announcing 16383 bytes of user data.
  const headerFlood = Uint8Array.from({ length: 64 * 1024 }, (_, i) => [0x68, 0xfe, 0xff, 0xfe, 0xff, 0x68][i % 6]!);
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench
    .add('decode', () => {
      for (const f of frames) gw.decode(f);
    })
    .add('encode', () => {
      for (const m of decodedVectors) gw.encodeMessage(m);
    })
    .add('decode-replies', () => {
      for (const f of replies) gw.decode(f);
    })
    .add('encode-replies', () => {
      for (const m of decodedReplies) gw.encodeMessage(m);
    })
    .add('scan', () => {
      const s = new gw.Gw1376FrameScanner();
      for (const c of stream) s.push(c);
    })
    .add('header-flood-byte', () => {
      const s = new gw.Gw1376FrameScanner();
      for (let i = 0; i < headerFlood.length; i++) s.push(headerFlood.subarray(i, i + 1));
      s.flush();
    });
  await bench.run();
  const medianMs = (name: string): number => {
    const t = bench.getTask(name);
    const p50 = t?.result && 'latency' in t.result ? t.result.latency.p50 : undefined;
    if (p50 === undefined) throw new Error(`benchmark ${name} produced no result`);
    return p50;
  };
  const perSecond = (count: number, ms: number): number => Math.round((count * 1000) / ms);
  const replyItems = decodedReplies.reduce((n, m) => n + gw.items(m).length, 0);
  return [
    { name: 'Q/GDW 1376.1 decode (frame + data units)', median: perSecond(frames.length, medianMs('decode')), unit: 'frames/s', note: `${frames.length} real vector frames per iteration` },
    { name: 'Q/GDW 1376.1 encode (message → frame)', median: perSecond(frames.length, medianMs('encode')), unit: 'frames/s', note: 'the same frames re-encoded' },
    { name: 'Q/GDW 1376.1 decode, replies with data', median: perSecond(replies.length, medianMs('decode-replies')), unit: 'frames/s', note: `AFN 0C F129 p1..p8 and AFN 0D F161: ${replyItems} data units, ${replies[0]!.length + replies[1]!.length} bytes` },
    { name: 'Q/GDW 1376.1 encode, replies with data', median: perSecond(replies.length, medianMs('encode-replies')), unit: 'frames/s', note: 'the same replies re-encoded' },
    { name: 'Q/GDW 1376.1 streaming scanner', median: perSecond(streamFrames, medianMs('scan')), unit: 'frames/s', note: `${streamBytes} bytes in 1..32-byte chunks` },
    { name: 'Q/GDW 1376.1 scanner on a valid-header flood, 64 KiB, one byte per push', median: Math.round((medianMs('header-flood-byte') * 1e6) / headerFlood.length), unit: 'ns/byte', note: 'every 6 bytes a header announcing 16383 bytes: heap of candidate ends, O(1) checksum' },
  ];
}

const runs = Number(process.env.BENCH_SUITE_RUNS ?? 5);
/** Sections, in order; `npm run bench -- --only clock,bus` runs only those (results.json is then not written). */
const sections: Record<string, () => Promise<Row[]>> = {
  codec: codecBenchmarks,
  flood: floodBenchmarks,
  cjt188: cjt188Benchmarks,
  clock: timerBenchmarks,
  bus: async () => (await import('./bus.ts')).busBenchmarks(),
  suite: () => suiteBenchmark(runs),
  'cjt188-suites': async () => (await import('./device-suites.ts')).cjt188SuiteBenchmarks(runs),
  'converter-suite': async () => (await import('./device-suites.ts')).converterSuiteBenchmark(runs),
  mbus: mbusBenchmarks,
  'mbus-suite': async () => (await import('./device-suites.ts')).mbusSuiteBenchmark(runs),
  gw1376: gw1376Benchmarks,
};
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? '').split(',').filter(Boolean) : undefined;
for (const name of only ?? []) if (!(name in sections)) throw new Error(`unknown bench section "${name}" (known: ${Object.keys(sections).join(', ')})`);
const rows: Row[] = [];
for (const [name, section] of Object.entries(sections)) if (!only || only.includes(name)) rows.push(...(await section()));
const lines = ['| benchmark | median | unit | note |', '|---|---:|---|---|', ...rows.map((r) => `| ${r.name} | ${r.median.toLocaleString('en-US')} | ${r.unit} | ${r.note} |`)];
process.stdout.write(`${lines.join('\n')}\n\nnode ${process.version}, ${new Date(new RealClock().now()).toISOString().slice(0, 10)}\n`);
if (!only) writeFileSync(resolve(here, 'results.json'), `${JSON.stringify({ node: process.version, rows }, null, 2)}\n`);
