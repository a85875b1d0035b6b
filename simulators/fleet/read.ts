/**
 * The fleet read engine: one DL/T 645 master (harness/masters) per bus reads a list of
 * identifiers from every meter on its bus, meter after meter, item after item, as a
 * concentrator's collection task does. All buses of a partition run at once on one
 * VirtualClock. Per bus it counts items read and failed, the simulated time the bus took, and
 * the line-time bound: the character times of every frame exchanged plus every reply delay Td,
 * the least time one master could need for the same exchanges on that line.
 */
import { VirtualClock, type Clock } from '../../harness/core/clock.ts';
import { TimeoutError } from '../../harness/core/errors.ts';
import { toHex } from '../../harness/core/bytes.ts';
import { characterTimeMs } from '../../harness/links/link.ts';
import { Dlt645AbnormalReplyError, Dlt645Master, Dlt645NoReplyError, type Exchange } from '../../harness/masters/index.ts';
import { Dlt645Reader, type ReadOutcome } from '../../harness/masters/dlt645-reader.ts';
import { buildBus, type FleetBus } from './fleet.ts';
import { busName } from './plan.ts';
import type { FleetScenario } from './scenario.ts';

export interface FailureCounts {
  /** Every attempt went unanswered (CON-05: 3 × 3000 ms). */
  noReply: number;
  /** The meter answered with an abnormal reply (error word). */
  abnormal: number;
  /** Anything else (a reply the master could not use, a link error). */
  other: number;
}

export interface BusReadResult {
  readonly bus: number;
  readonly name: string;
  readonly meters: number;
  /** Items the bus was asked to read (meters × identifiers). */
  readonly itemsPlanned: number;
  itemsRead: number;
  itemsFailed: number;
  readonly failures: FailureCounts;
  /** Request/reply exchanges (an item with follow-up frames has several) and attempts sent. */
  exchanges: number;
  attempts: number;
  /** Simulated time from the start of the read to its end on this bus. */
  simulatedMs: number;
  /** Characters of every frame exchanged (requests of every attempt, replies, rejected and discarded bytes) × character time + Σ Td. */
  lineTimeMs: number;
  /** Timed-out attempts × the master's timeout (not line time: the master only waits). */
  timeoutWaitMs: number;
  /** FNV-1a (32-bit, hex) over every item's address, identifier and payload or failure, in read order. */
  digest: string;
  /** False when the read was stopped before every item was tried. */
  complete: boolean;
}

export interface ReadBusOptions {
  /** Checked before each item; true stops the bus (the result says complete: false). */
  readonly shouldStop?: () => boolean;
  /** Called after each item. */
  readonly onItem?: (ok: boolean) => void;
  /** Master reply timeout per attempt (default CON-05's 3000 ms). */
  readonly timeoutMs?: number;
  /** Master attempts (default CON-05's 3). */
  readonly attempts?: number;
  /**
   * 'reader' (default): the allocation-light `Dlt645Reader` (harness/masters/dlt645-reader.ts);
   * 'master': the general `Dlt645Master.readData` with its exchange records. Both read the same
   * items, failures, line counts and digest (test); the reader costs a fraction of the CPU.
   */
  readonly engine?: 'reader' | 'master';
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a, 32 bit, over a string's UTF-16 code units (all ASCII here). */
export function fnv1a(text: string, hash = FNV_OFFSET): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME) >>> 0;
  return h;
}

const HEX_DIGITS = '0123456789ABCDEF';

/**
 * FNV-1a of `${address} ${di} ${toHex(payload)}\n` (toHex: upper case, bytes separated by one
 * space), hashed character by character without building the string.
 */
export function fnv1aItem(address: string, di: string, payload: Uint8Array, length: number, hash: number): number {
  let h = fnv1a(address, hash);
  h = Math.imul(h ^ 0x20, FNV_PRIME) >>> 0;
  h = fnv1a(di, h);
  h = Math.imul(h ^ 0x20, FNV_PRIME) >>> 0;
  for (let i = 0; i < length; i++) {
    if (i > 0) h = Math.imul(h ^ 0x20, FNV_PRIME) >>> 0;
    const b = payload[i]!;
    h = Math.imul(h ^ HEX_DIGITS.charCodeAt(b >> 4), FNV_PRIME) >>> 0;
    h = Math.imul(h ^ HEX_DIGITS.charCodeAt(b & 0x0f), FNV_PRIME) >>> 0;
  }
  return Math.imul(h ^ 0x0a, FNV_PRIME) >>> 0;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** Reads `identifiers` from every meter of one built bus. The clock must be the bus's. */
export function readBus(fleetBus: FleetBus, identifiers: readonly string[], clock: Clock, options: ReadBusOptions = {}): Promise<BusReadResult> {
  return options.engine === 'master' ? readBusWithMaster(fleetBus, identifiers, clock, options) : readBusWithReader(fleetBus, identifiers, clock, options);
}

/**
 * readBus over `Dlt645Reader`: item after item from callbacks, no promise per item. The loop is a
 * trampoline: a read that ends at once (a closed link) does not recurse.
 */
function readBusWithReader(fleetBus: FleetBus, identifiers: readonly string[], clock: Clock, options: ReadBusOptions): Promise<BusReadResult> {
  const line = fleetBus.bus.line;
  const reader = new Dlt645Reader({
    link: fleetBus.adapter,
    clock,
    line,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
  });
  const result = emptyBusResult(fleetBus.plan.index, fleetBus.plan.name, fleetBus.meters.length, identifiers.length, true);
  const meters = fleetBus.meters;
  const started = clock.now();
  let digest = FNV_OFFSET;
  let m = 0;
  let i = 0;
  let inLoop = false;
  let endedInLoop = false;
  return new Promise<BusReadResult>((resolve, reject) => {
    const finish = (): void => {
      reader.dispose();
      const s = reader.stats;
      result.exchanges = s.exchanges;
      result.attempts = s.attempts;
      result.timeoutWaitMs = s.timeouts * reader.timeoutMs;
      result.simulatedMs = clock.now() - started;
      result.lineTimeMs = s.characters * characterTimeMs(line) + s.replyDelayMs;
      result.digest = hex32(digest);
      resolve(result);
    };
    const onRead = (outcome: ReadOutcome, payload: Uint8Array, length: number): void => {
      try {
        counted(outcome, payload, length);
      } catch (e) {
        // A throwing onItem ends the bus's read (as it rejects the master's), not the clock.
        inLoop = false;
        reader.dispose();
        reject(e);
        return;
      }
      if (inLoop) endedInLoop = true;
      else next();
    };
    const counted = (outcome: ReadOutcome, payload: Uint8Array, length: number): void => {
      const address = meters[m]!.plan.address;
      const di = identifiers[i]!;
      if (outcome === 'ok') {
        digest = fnv1aItem(address, di, payload, length, digest);
        result.itemsRead++;
      } else {
        let kind: string;
        if (outcome === 'no-reply') {
          result.failures.noReply++;
          kind = 'no-reply';
        } else if (outcome === 'abnormal') {
          result.failures.abnormal++;
          kind = 'abnormal';
        } else {
          result.failures.other++;
          kind = reader.lastError?.name ?? 'Error';
        }
        digest = fnv1a(`${address} ${di} !${kind}\n`, digest);
        result.itemsFailed++;
      }
      options.onItem?.(outcome === 'ok');
      if (++i === identifiers.length) {
        i = 0;
        m++;
      }
    };
    const next = (): void => {
      try {
        for (;;) {
          if (m === meters.length) {
            finish();
            return;
          }
          if (options.shouldStop?.()) {
            result.complete = false;
            finish();
            return;
          }
          inLoop = true;
          endedInLoop = false;
          reader.read(meters[m]!.plan.address, identifiers[i]!, onRead);
          inLoop = false;
          if (!endedInLoop) return; // the read goes on: onRead calls next()
        }
      } catch (e) {
        inLoop = false;
        reader.dispose();
        reject(e);
      }
    };
    next();
  });
}

/** readBus over the general `Dlt645Master.readData` (the reference the reader is tested against). */
async function readBusWithMaster(fleetBus: FleetBus, identifiers: readonly string[], clock: Clock, options: ReadBusOptions): Promise<BusReadResult> {
  const line = fleetBus.bus.line;
  const charMs = characterTimeMs(line);
  const master = new Dlt645Master({
    link: fleetBus.adapter,
    clock,
    line,
    // Failures are counted, never shown with a stack: no stack capture per request.
    callSites: false,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.attempts !== undefined ? { attempts: options.attempts } : {}),
  });
  const result = emptyBusResult(fleetBus.plan.index, fleetBus.plan.name, fleetBus.meters.length, identifiers.length, true);
  let characters = 0;
  let delays = 0;
  master.on('exchange', (x: Exchange) => {
    result.exchanges++;
    result.attempts += x.attempts;
    characters += x.request.length * x.attempts;
    for (const a of x.attemptLog) if (a.outcome === 'timeout') result.timeoutWaitMs += master.timeoutMs;
    if (x.reply) {
      characters += x.reply.raw.length;
      delays += x.responseDelayMs ?? 0;
    }
    for (const r of x.rejected) characters += r.raw.length;
    for (const d of x.discarded) characters += d.bytes.length;
  });
  let digest = FNV_OFFSET;
  const started = clock.now();
  try {
    outer: for (const m of fleetBus.meters) {
      for (const di of identifiers) {
        if (options.shouldStop?.()) {
          result.complete = false;
          break outer;
        }
        const address = m.plan.address;
        let ok = false;
        try {
          const r = await master.readData(address, di);
          digest = fnv1a(`${address} ${di} ${toHex(r.payload)}\n`, digest);
          ok = true;
        } catch (e) {
          let kind: string;
          if (e instanceof Dlt645NoReplyError || e instanceof TimeoutError) {
            result.failures.noReply++;
            kind = 'no-reply';
          } else if (e instanceof Dlt645AbnormalReplyError) {
            result.failures.abnormal++;
            kind = 'abnormal';
          } else if (e instanceof Error) {
            // Dlt645ProtocolError (a reply the master cannot use), LinkError
            result.failures.other++;
            kind = e.name;
          } else {
            throw e;
          }
          digest = fnv1a(`${address} ${di} !${kind}\n`, digest);
        }
        if (ok) result.itemsRead++;
        else result.itemsFailed++;
        options.onItem?.(ok);
      }
    }
  } finally {
    master.dispose();
  }
  result.simulatedMs = clock.now() - started;
  result.lineTimeMs = characters * charMs + delays;
  result.digest = hex32(digest);
  return result;
}

export interface ReadPartitionOptions extends ReadBusOptions {
  /** Called after each bus is built, with its meter count (all buses are built before any read). */
  readonly onBuilt?: (meters: number) => void;
  /**
   * Awaited after building each bus, so a caller can let other work in (a worker thread's stop
   * message) while a large partition is built; `shouldStop` is checked after it.
   */
  readonly betweenBuses?: () => Promise<void>;
  /** Buses read at once, each group on its own clock (default BUSES_AT_ONCE; see readPartition). */
  readonly busesAtOnce?: number;
}

/**
 * Buses of a partition read at once (one clock each group). Enough for lockstep batching to
 * collapse a group's events at one instant into one event-loop turn; few enough that the objects
 * of one exchange (request, reply, promises, timers) still die young: with every bus of a large
 * partition on one clock, an exchange lived, in real time, as long as every other bus's step, so
 * its objects were promoted out of V8's young generation and the cost per item grew with the
 * partition (issue 7's "constant within 1.5x"). Measured in bench/README.md.
 */
export const BUSES_AT_ONCE = 16;

/**
 * Builds the given buses (every meter of them exists before the first read), each group of
 * `busesAtOnce` buses on its own new VirtualClock starting at the scenario's start, and reads
 * `identifiers` from every meter: group after group, all buses of a group at once. Buses are
 * independent simulations (one master each, no shared wire), so a bus reads the same in any
 * group as alone on its own clock (test), and the simulated time of the fleet is its slowest
 * bus's. Returns one result per bus in the order of `buses`.
 */
export async function readPartition(
  scenario: FleetScenario,
  buses: readonly number[],
  identifiers: readonly string[],
  options: ReadPartitionOptions = {},
): Promise<BusReadResult[]> {
  const atOnce = options.busesAtOnce ?? BUSES_AT_ONCE;
  if (!(Number.isInteger(atOnce) && atOnce > 0)) throw new RangeError(`busesAtOnce must be a positive integer, got ${String(atOnce)}`);
  // The buses of a group are independent simulations on one clock: every timer due at one
  // instant (buses with the same timing run in lockstep) fires in one event-loop turn
  // (sameInstant 'batch'). Test: each bus reads the same as alone on its own default clock.
  const newClock = (): VirtualClock =>
    new VirtualClock({ autoAdvance: false, sameInstant: 'batch', ...(scenario.startMs !== undefined ? { start: scenario.startMs } : {}) });
  const groups: { clock: VirtualClock; buses: FleetBus[] }[] = [];
  const built: FleetBus[] = [];
  try {
    for (const b of buses) {
      if (options.shouldStop?.()) break;
      let group = groups.at(-1);
      if (group === undefined || group.buses.length === atOnce) {
        group = { clock: newClock(), buses: [] };
        groups.push(group);
      }
      const fleetBus = buildBus(scenario, b, group.clock);
      group.buses.push(fleetBus);
      built.push(fleetBus);
      options.onBuilt?.(fleetBus.meters.length);
      await options.betweenBuses?.();
    }
    const read: BusReadResult[] = [];
    for (const { clock, buses: group } of groups) {
      read.push(...(await clock.run(Promise.all(group.map((b) => readBus(b, identifiers, clock, options))))));
    }
    // Buses never built (stopped while building): nothing read, not complete.
    for (const b of buses.slice(built.length)) read.push(unreadBus(scenario, b, identifiers.length));
    return read;
  } finally {
    await Promise.all(built.map((b) => b.close()));
  }
}

/** The result of a bus that was never built (a stop arrived first). */
function unreadBus(scenario: FleetScenario, index: number, items: number): BusReadResult {
  const meters = Math.min(scenario.metersPerBus, scenario.meters - index * scenario.metersPerBus);
  return emptyBusResult(index, busName(scenario, index), meters, items, false);
}

/** A bus result before its first item: nothing read, every counter at zero. */
function emptyBusResult(bus: number, name: string, meters: number, items: number, complete: boolean): BusReadResult {
  return {
    bus,
    name,
    meters,
    itemsPlanned: meters * items,
    itemsRead: 0,
    itemsFailed: 0,
    failures: { noReply: 0, abnormal: 0, other: 0 },
    exchanges: 0,
    attempts: 0,
    simulatedMs: 0,
    lineTimeMs: 0,
    timeoutWaitMs: 0,
    digest: hex32(FNV_OFFSET),
    complete,
  };
}

export interface FleetReadResult {
  readonly buses: readonly BusReadResult[];
  readonly meters: number;
  readonly itemsPlanned: number;
  readonly itemsRead: number;
  readonly itemsFailed: number;
  readonly failures: FailureCounts;
  /** Buses read in parallel: the fleet's simulated time is the slowest bus's. */
  readonly simulatedMs: number;
  /** The largest line-time bound of one bus (the bound on the fleet's simulated time). */
  readonly lineTimeMs: number;
  /** FNV-1a over the bus digests in bus order: equal digests = the same values read from the same meters. */
  readonly digest: string;
  readonly complete: boolean;
}

/** Merges per-bus results from any number of partitions, in bus order (deterministic). */
export function mergeBusResults(results: readonly BusReadResult[]): FleetReadResult {
  const buses = [...results].sort((a, b) => a.bus - b.bus);
  for (let i = 1; i < buses.length; i++) {
    if (buses[i]!.bus === buses[i - 1]!.bus) throw new Error(`bus ${buses[i]!.bus} reported twice`);
  }
  const failures: FailureCounts = { noReply: 0, abnormal: 0, other: 0 };
  let meters = 0;
  let planned = 0;
  let read = 0;
  let failed = 0;
  let simulatedMs = 0;
  let lineTimeMs = 0;
  let digest = FNV_OFFSET;
  for (const b of buses) {
    meters += b.meters;
    planned += b.itemsPlanned;
    read += b.itemsRead;
    failed += b.itemsFailed;
    failures.noReply += b.failures.noReply;
    failures.abnormal += b.failures.abnormal;
    failures.other += b.failures.other;
    simulatedMs = Math.max(simulatedMs, b.simulatedMs);
    lineTimeMs = Math.max(lineTimeMs, b.lineTimeMs);
    digest = fnv1a(`${b.bus}:${b.digest}\n`, digest);
  }
  return {
    buses,
    meters,
    itemsPlanned: planned,
    itemsRead: read,
    itemsFailed: failed,
    failures,
    simulatedMs,
    lineTimeMs,
    digest: hex32(digest),
    complete: buses.every((b) => b.complete),
  };
}
