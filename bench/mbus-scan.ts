/**
 * Issue 11 proof: the scan time of an M-Bus segment of simulated heat meters, in virtual time,
 * against its line-time lower bound.
 *
 *   npx tsx bench/mbus-scan.ts [--sizes 10,50,250] [--repeats 3] [--warmup 1] [--seed 11] [--json FILE]
 *
 * For each size N: a segment (links/mbus-segment.ts, 2400 8E1) of N heat meters
 * (simulators/heat-meter: createHeatMeter, reply delay 30 ms) at primary addresses 1..N, with
 * identification numbers 10000000..10000000+N-1 (shared prefixes for the wildcard search) dealt to
 * the addresses in a seeded order, on one VirtualClock; one MbusMaster with its defaults measures
 *   (a) scanPrimary({ from: 1, to: 250, method: 'SND_NKE' }),
 *   (b) searchSecondary() (the wildcard mask FFFFFFFFFFFFFFFF),
 *   (c) readData(a) for a = 1..N (REQ_UD2, one telegram each).
 * Every phase must find / read all N meters with the right identities, and the simulated figures
 * must be the same in every repeat (the simulation is deterministic): otherwise the run fails.
 *
 * The line-time lower bound of a phase is summed over every attempt the master made (retries
 * included: they are the master's policy, libmbus max_search_retry, MBUS.md 1), from the
 * exchange records (MbusExchange.attemptLog):
 * - the request's characters × character time (11 bits / 2400 Bd = 4.583 ms, MBUS.md 1);
 * - an answered request (read): the slave's reply delay (30 ms) + the reply's characters ×
 *   character time: the master can go on as soon as the frame is complete;
 * - a silent attempt: the EN 13757-2 response window, 330 bit times + 50 ms = 187.5 ms after the
 *   request (MBUS.md 1): a reply may start as late as that, so no master may conclude silence
 *   earlier;
 * - an answered probe (scan probe, selection, REQ_UD2 after a selection): the longer of the
 *   window and delay + reply: a second slave may still start answering until the window ends,
 *   and a probe is only a hit if nobody else answers (MBUS.md 6);
 * - a collision: delay + 1 character (at least one answer character must have arrived).
 * The bound holds for any master with the same retry policy; what the master spends beyond it is
 * its margins (the timeouts' slack character, the E5's character counted in the ack deadline,
 * the longest-frame window a REQ_UD2 probe listens to).
 *
 * Wall time: RealClock (harness/core), median of the repeats; CPU: process.cpuUsage() of the
 * phase, median. Building the segment and its meters is not in any phase. `--warmup` runs of the
 * smallest size go first and are not counted (JIT warm-up of a fresh process).
 */
import { writeFileSync } from 'node:fs';
import { cpuUsage } from 'node:process';
import { parseArgs } from 'node:util';
import { RealClock, VirtualClock } from '../harness/core/clock.ts';
import { SeededRandom } from '../harness/core/random.ts';
import { bitsPerCharacter, characterTimeMs } from '../harness/links/link.ts';
import { MBUS_DEFAULT_LINE, createMbusSegment } from '../harness/links/mbus-segment.ts';
import {
  MbusMaster,
  PRIMARY_SCAN_LAST,
  RESPONSE_WINDOW_BITS,
  RESPONSE_WINDOW_EXTRA_MS,
  type MbusExchange,
} from '../harness/masters/mbus-master.ts';
import { manufacturerValue } from '../harness/protocols/mbus/index.ts';
import { DEFAULT_REPLY_DELAY_MS, createHeatMeter, type HeatMeter } from '../simulators/heat-meter/index.ts';
import { median } from './stats.ts';

const LINE = MBUS_DEFAULT_LINE;
const CHAR_MS = characterTimeMs(LINE);
/** EN 13757-2 response window as libmbus cites it (MBUS.md 1): 330 bit times + 50 ms = 187.5 ms at 2400 Bd. */
const WINDOW_MS = (RESPONSE_WINDOW_BITS * 1000) / LINE.baudRate + RESPONSE_WINDOW_EXTRA_MS;
/** First identification number: 8 BCD digits, sequential from here, so IDs share their leading digits. */
const FIRST_ID = 10_000_000;
const PHASES = ['primary scan', 'secondary search', 'read all'] as const;
type Phase = (typeof PHASES)[number];

interface PhaseRun {
  readonly phase: Phase;
  readonly found: number;
  readonly exchanges: number;
  readonly attempts: number;
  /** Attempts by outcome. */
  readonly silent: number;
  readonly collisions: number;
  /** Characters the bound counts (requests of every attempt, replies, 1 per collision). */
  readonly characters: number;
  /** Characters the bus carried (bus.stats.bytes: every slave's answer counted, colliding ones too). */
  readonly wireCharacters: number;
  readonly simulatedMs: number;
  readonly boundMs: number;
  readonly wallMs: number;
  readonly cpuMs: number;
}

interface Bound {
  characters: number;
  ms: number;
  silent: number;
  collisions: number;
  attempts: number;
}

/** The line-time lower bound of one exchange (file header). */
function addBound(b: Bound, x: MbusExchange): void {
  const req = x.request.length;
  for (const a of x.attemptLog) {
    b.attempts++;
    b.characters += req;
    b.ms += req * CHAR_MS;
    switch (a.outcome) {
      case 'silence':
        b.silent++;
        b.ms += WINDOW_MS;
        break;
      case 'reply': {
        const r = x.reply!.raw.length;
        b.characters += r;
        const answered = DEFAULT_REPLY_DELAY_MS + r * CHAR_MS;
        b.ms += x.mode === 'probe' ? Math.max(WINDOW_MS, answered) : answered;
        break;
      }
      case 'collision':
        b.collisions++;
        b.characters += 1;
        b.ms += DEFAULT_REPLY_DELAY_MS + CHAR_MS;
        break;
      default:
        // 'garbled' / 'rejected': never on a healthy segment of simulated meters.
        throw new Error(`${x.kind} to ${x.secondary ?? x.address}: attempt ${a.attempt} was ${a.outcome} on a healthy segment`);
    }
  }
}

function idOf(k: number): string {
  return String(FIRST_ID + k).padStart(8, '0');
}

/** One run of the three phases on a fresh segment of `n` meters. */
async function runOnce(n: number, seed: number): Promise<PhaseRun[]> {
  if (!(n >= 1 && n <= PRIMARY_SCAN_LAST)) throw new Error(`segment size must be 1..${PRIMARY_SCAN_LAST}, got ${n}`);
  const wall = new RealClock();
  const clock = new VirtualClock();
  const segment = createMbusSegment({ clock });
  const rng = new SeededRandom(seed);
  // IDs 0..n-1 dealt to primary addresses 1..n in a seeded order (Fisher-Yates).
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const idAt = new Map<number, string>();
  const meters: HeatMeter[] = [];
  for (let a = 1; a <= n; a++) {
    const id = idOf(order[a - 1]!);
    idAt.set(a, id);
    meters.push(
      createHeatMeter({
        link: segment.attachSlave(`hm-${a}`),
        clock,
        seed: seed * 1000 + a,
        primaryAddress: a,
        identity: { id, manufacturer: manufacturerValue('MLB'), version: 1 },
      }),
    );
  }
  const master = new MbusMaster({ link: segment.master, clock, line: LINE, callSites: false });
  let log: MbusExchange[] = [];
  master.on('exchange', (x) => log.push(x));

  const measure = async (phase: Phase, work: () => Promise<number>): Promise<PhaseRun> => {
    log = [];
    const bytes0 = segment.bus.stats.bytes;
    const sim0 = clock.now();
    const cpu0 = cpuUsage();
    const wall0 = wall.now();
    const found = await clock.run(work);
    const wallMs = wall.now() - wall0;
    const cpu = cpuUsage(cpu0);
    const simulatedMs = clock.now() - sim0;
    const b: Bound = { characters: 0, ms: 0, silent: 0, collisions: 0, attempts: 0 };
    for (const x of log) addBound(b, x);
    if (found !== n) throw new Error(`N=${n} ${phase}: found ${found} of ${n} meters`);
    return {
      phase,
      found,
      exchanges: log.length,
      attempts: b.attempts,
      silent: b.silent,
      collisions: b.collisions,
      characters: b.characters,
      wireCharacters: segment.bus.stats.bytes - bytes0,
      simulatedMs,
      boundMs: b.ms,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  };

  const expectIds = (pairs: readonly (readonly [number, string | undefined])[], phase: Phase): number => {
    const seen = new Set<number>();
    for (const [a, id] of pairs) {
      if (idAt.get(a) !== id) throw new Error(`N=${n} ${phase}: address ${a} gave identity ${id ?? '(none)'}, expected ${idAt.get(a) ?? '(no meter)'}`);
      if (seen.has(a)) throw new Error(`N=${n} ${phase}: address ${a} found twice`);
      seen.add(a);
    }
    return seen.size;
  };

  const runs: PhaseRun[] = [];
  try {
    runs.push(
      await measure('primary scan', async () => {
        const r = await master.scanPrimary({ from: 1, to: PRIMARY_SCAN_LAST, method: 'SND_NKE' });
        if (r.collisions.length > 0) throw new Error(`N=${n} primary scan: collisions at ${r.collisions.map((c) => c.address).join(', ')}`);
        // SND_NKE gives no identity: the addresses must be exactly 1..n.
        const got = r.found.map((f) => f.address);
        if (got.length !== n || got.some((a, i) => a !== i + 1)) throw new Error(`N=${n} primary scan found ${got.join(',')}`);
        return got.length;
      }),
    );
    runs.push(
      await measure('secondary search', async () => {
        const r = await master.searchSecondary();
        if (r.unresolved.length > 0 || r.unreadable.length > 0) {
          throw new Error(`N=${n} secondary search: unresolved ${r.unresolved.join(',')} unreadable ${r.unreadable.join(',')}`);
        }
        return expectIds(r.found.map((h) => [h.primary, h.address.id] as const), 'secondary search');
      }),
    );
    runs.push(
      await measure('read all', async () => {
        const pairs: (readonly [number, string | undefined])[] = [];
        for (let a = 1; a <= n; a++) {
          const r = await master.readData(a);
          if (r.records.length === 0) throw new Error(`N=${n} read of ${a}: no records`);
          pairs.push([r.replyAddress, r.identity?.id]);
        }
        return expectIds(pairs, 'read all');
      }),
    );
  } finally {
    master.dispose();
    for (const m of meters) m.stop();
    await segment.close();
  }
  return runs;
}


interface Row {
  readonly meters: number;
  readonly phase: Phase;
  readonly found: number;
  readonly exchanges: number;
  readonly attempts: number;
  readonly silent: number;
  readonly collisions: number;
  readonly characters: number;
  readonly wireCharacters: number;
  readonly simulatedMs: number;
  readonly boundMs: number;
  readonly wallMedianMs: number;
  readonly cpuMedianMs: number;
  readonly wallMs: readonly number[];
}

/** Simulated figures must not differ between repeats of one deterministic simulation. */
const DETERMINISTIC: readonly (keyof PhaseRun)[] = ['found', 'exchanges', 'attempts', 'silent', 'collisions', 'characters', 'wireCharacters', 'simulatedMs', 'boundMs'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10,50,250' },
      repeats: { type: 'string', default: '3' },
      warmup: { type: 'string', default: '1' },
      seed: { type: 'string', default: '11' },
      json: { type: 'string' },
    },
    strict: true,
  });
  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  const repeats = Number(values.repeats);
  const seed = Number(values.seed);
  const warmup = Number(values.warmup);
  if (sizes.some((s) => !Number.isInteger(s) || s < 1 || s > PRIMARY_SCAN_LAST)) throw new Error(`--sizes: integers 1..${PRIMARY_SCAN_LAST}, got ${values.sizes}`);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats: a positive integer, got ${values.repeats}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup: a non-negative integer, got ${values.warmup}`);
  if (!Number.isInteger(seed)) throw new Error(`--seed: an integer, got ${values.seed}`);

  console.log(`M-Bus segment scan: 2400 8E1 (character ${CHAR_MS.toFixed(3)} ms, ${bitsPerCharacter(LINE)} bits), window ${WINDOW_MS} ms, reply delay ${DEFAULT_REPLY_DELAY_MS} ms, seed ${seed}, repeats ${repeats}, warm-up runs ${warmup}`);
  for (let w = 0; w < warmup; w++) await runOnce(Math.min(...sizes), seed);
  const rows: Row[] = [];
  for (const n of sizes) {
    const all: PhaseRun[][] = [];
    for (let r = 0; r < repeats; r++) all.push(await runOnce(n, seed));
    for (let p = 0; p < PHASES.length; p++) {
      const runs = all.map((rs) => rs[p]!);
      const first = runs[0]!;
      for (const run of runs) {
        for (const k of DETERMINISTIC) {
          if (run[k] !== first[k]) throw new Error(`N=${n} ${first.phase}: ${k} differs between repeats (${String(first[k])} vs ${String(run[k])})`);
        }
      }
      rows.push({
        meters: n,
        phase: first.phase,
        found: first.found,
        exchanges: first.exchanges,
        attempts: first.attempts,
        silent: first.silent,
        collisions: first.collisions,
        characters: first.characters,
        wireCharacters: first.wireCharacters,
        simulatedMs: first.simulatedMs,
        boundMs: first.boundMs,
        wallMedianMs: median(runs.map((x) => x.wallMs)),
        cpuMedianMs: median(runs.map((x) => x.cpuMs)),
        wallMs: runs.map((x) => x.wallMs),
      });
    }
  }

  const s = (ms: number): string => (ms / 1000).toFixed(1);
  console.log('');
  console.log('| meters | phase | found | exchanges (attempts: silent, collisions) | characters (on the wire) | simulated | line-time bound | simulated / bound | wall (median) | CPU (median) |');
  console.log('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.meters} | ${r.phase} | ${r.found}/${r.meters} | ${r.exchanges} (${r.attempts}: ${r.silent}, ${r.collisions}) | ${r.characters} (${r.wireCharacters}) | ${s(r.simulatedMs)} s | ${s(r.boundMs)} s | ${(r.simulatedMs / r.boundMs).toFixed(3)} | ${r.wallMedianMs.toFixed(0)} ms | ${r.cpuMedianMs.toFixed(0)} ms |`,
    );
  }
  if (values.json) {
    writeFileSync(values.json, `${JSON.stringify({ line: LINE, characterMs: CHAR_MS, windowMs: WINDOW_MS, replyDelayMs: DEFAULT_REPLY_DELAY_MS, seed, repeats, warmup, rows }, null, 2)}\n`);
    console.log(`\nwrote ${values.json}`);
  }
}

await main();
