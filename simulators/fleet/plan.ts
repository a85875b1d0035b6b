/**
 * The fleet plan: which meter sits on which bus, with which model, address, load profile, fault
 * and random seed. Every function here is pure: a meter's plan depends only on the scenario and
 * the meter's index (each meter draws from its own fork of the scenario seed), so any subset of
 * buses — a worker's partition, a later `--shard i/n` on another machine — plans exactly the
 * meters the whole fleet would, in O(meters of that subset).
 */
import { SeededRandom } from '../../harness/core/random.ts';
import type { BehaviourConfig } from '../electricity-meter/index.ts';
import type { FleetScenario } from './scenario.ts';

export type MeterFault =
  | { readonly kind: 'none' }
  | { readonly kind: 'dead' }
  | { readonly kind: 'slow'; readonly delayMs: number }
  | { readonly kind: 'broken'; readonly behaviour: BehaviourConfig };

export interface MeterPlan {
  /** 0-based position in the fleet. */
  readonly index: number;
  readonly address: string;
  /** Index into scenario.models. */
  readonly model: number;
  /** Index into scenario.loadProfiles, or -1 for the model's own load. */
  readonly load: number;
  readonly fault: MeterFault;
  /** Seed of the meter's own random stream (reply-delay jitter). */
  readonly seed: number;
}

export interface BusPlan {
  /** 0-based. */
  readonly index: number;
  readonly name: string;
  readonly meters: readonly MeterPlan[];
}

/** Number of buses: meters in buses of `metersPerBus`, the last one possibly shorter. */
export function busCount(scenario: Pick<FleetScenario, 'meters' | 'metersPerBus'>): number {
  return Math.ceil(scenario.meters / scenario.metersPerBus);
}

/** `bus0042`: zero-padded so names sort in bus order. */
export function busName(scenario: Pick<FleetScenario, 'meters' | 'metersPerBus'>, index: number): string {
  const width = Math.max(2, String(busCount(scenario) - 1).length);
  return `bus${String(index).padStart(width, '0')}`;
}

/** 12-digit address space without the broadcast address 999999999999 (PROTOCOLS.md 1.4). */
const ADDRESS_SPACE = 999_999_999_999n;

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Multiplier and offset of the scattered-address bijection k -> (a k + c) mod ADDRESS_SPACE. */
function scatterParameters(seed: number): { a: bigint; c: bigint } {
  const r = new SeededRandom(seed).fork('fleet:addresses');
  const draw = (): bigint => BigInt(Math.floor(r.next() * 1e6)) * 1_000_000n + BigInt(Math.floor(r.next() * 1e6));
  let a = (draw() % ADDRESS_SPACE) | 1n;
  while (a < 2n || gcd(a, ADDRESS_SPACE) !== 1n) a = (a + 2n) % ADDRESS_SPACE;
  return { a, c: draw() % ADDRESS_SPACE };
}

const scatterCache = new Map<number, { a: bigint; c: bigint }>();

/** Address of meter `index` (0-based): distinct for distinct indices, never the broadcast address. */
export function meterAddress(scenario: Pick<FleetScenario, 'addresses' | 'seed'>, index: number): string {
  if (scenario.addresses.mode === 'sequential') {
    return (BigInt(scenario.addresses.first) + BigInt(index)).toString().padStart(12, '0');
  }
  let p = scatterCache.get(scenario.seed);
  if (!p) {
    p = scatterParameters(scenario.seed);
    scatterCache.set(scenario.seed, p);
  }
  return ((p.a * BigInt(index) + p.c) % ADDRESS_SPACE).toString().padStart(12, '0');
}

/** Index of the weighted choice that `u` in [0, 1) falls on. */
function weighted(shares: readonly number[], u: number): number {
  const total = shares.reduce((a, b) => a + b, 0);
  let acc = 0;
  for (let i = 0; i < shares.length; i++) {
    acc += shares[i]! / total;
    if (u < acc) return i;
  }
  return shares.length - 1;
}

/** The plan of meter `index` (0-based). */
export function planMeter(scenario: FleetScenario, index: number): MeterPlan {
  const r = new SeededRandom(scenario.seed).fork(`fleet:meter:${index}`);
  const model = weighted(
    scenario.models.map((m) => m.share),
    r.next(),
  );
  const load = scenario.loadProfiles ? weighted(scenario.loadProfiles.map((l) => l.share), r.next()) : -1;
  if (!scenario.loadProfiles) r.next(); // keep the draws aligned whether or not load profiles are given
  const fault = faultFor(scenario, r.next());
  const seed = r.int(0, 2 ** 31 - 1);
  return { index, address: meterAddress(scenario, index), model, load, fault, seed };
}

function faultFor(scenario: FleetScenario, u: number): MeterFault {
  const f = scenario.faults;
  let acc = f.dead;
  if (u < acc) return { kind: 'dead' };
  if (f.slow) {
    acc += f.slow.share;
    if (u < acc) return { kind: 'slow', delayMs: f.slow.delayMs };
  }
  for (const b of f.broken) {
    acc += b.share;
    if (u < acc) return { kind: 'broken', behaviour: b.behaviour };
  }
  return { kind: 'none' };
}

/** The plan of bus `index` (0-based): meters [index × metersPerBus, ...). */
export function planBus(scenario: FleetScenario, index: number): BusPlan {
  const count = busCount(scenario);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new RangeError(`bus ${index} does not exist (0..${count - 1})`);
  const first = index * scenario.metersPerBus;
  const last = Math.min(scenario.meters, first + scenario.metersPerBus);
  const meters: MeterPlan[] = [];
  for (let k = first; k < last; k++) meters.push(planMeter(scenario, k));
  return { index, name: busName(scenario, index), meters };
}

/** Shard `index` of `count` (1-based), as `--shard i/n` gives it. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/**
 * Parses `i/n` (1 ≤ i ≤ n, whole numbers, as `vitest --shard`). Throws RangeError saying what is
 * wrong (the CLI puts the option's name in front).
 */
export function parseShard(text: string): Shard {
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(text);
  if (!m) throw new RangeError(`must be i/n with whole numbers 1 ≤ i ≤ n (e.g. 1/2), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new RangeError(`must be i/n with n ≥ 1, got "${text}"`);
  if (index < 1 || index > count) throw new RangeError(`must be i/n with 1 ≤ i ≤ n (here 1..${count}), got "${text}"`);
  return { index, count };
}

/**
 * Buses of shard `i` of `n` (1-based, as `vitest --shard i/n`): a contiguous run of bus indices,
 * shards differing by at most one bus, every bus in exactly one shard, shard order = bus order.
 * Pure: what a worker thread runs, and what `--shard i/n` will run on another machine.
 */
export function partition(scenario: Pick<FleetScenario, 'meters' | 'metersPerBus'>, i: number, n: number): number[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`shard count must be a whole number ≥ 1, got ${n}`);
  if (!Number.isInteger(i) || i < 1 || i > n) throw new RangeError(`shard must be 1..${n}, got ${i}`);
  const buses = busCount(scenario);
  const from = Math.floor(((i - 1) * buses) / n);
  const to = Math.floor((i * buses) / n);
  const out: number[] = [];
  for (let b = from; b < to; b++) out.push(b);
  return out;
}
