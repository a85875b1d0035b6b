/**
 * One collection day of a scenario's concentrators (issue 12, "Beyond one machine"), the unit the
 * province benchmark (`province-day.ts`) runs, shards and merges.
 *
 * For each concentrator (global index in the scenario, `simulators/collection/plan.ts`): its meters
 * (`buildCollectionWorld`, that concentrator only) and the reference concentrator core over its
 * ports with its archive (`createConcentratorCore`), its planned reboot scheduled, on a VirtualClock
 * of its own standing at the scenario's start, run until the collection window has closed (04:00
 * of the first night, GAP-02; ERC 39 written then). Concentrators are independent simulations, so
 * each runs alone on its own clock, one after the other: the result of a concentrator does not
 * depend on which others run in the same process, and memory holds one concentrator's world at a
 * time. That is what makes `--shard i/n` (whole concentrators, `partitionConcentrators`) exact: the
 * shards' results merged (`mergeDayResults`) are the single run's, digest for digest (test).
 *
 * What is counted (bench/README.md "Province day"):
 * - a **reading** is one stored daily reading of one point for the day (`core.daily(pn, day)`);
 * - a **data item** is one data identifier read from a meter and stored: a DL/T 645 point's reading
 *   holds two (0506000N, the freeze time, and 0506010N, the forward active energy block of total and
 *   tariffs), a CJ/T 188 point's one (901F, the cumulative volume), an M-Bus point's one (the
 *   energy record of its REQ_UD2 answer);
 * - with curves (COL-12, a scenario's `curves`): every point of a stored day curve that holds a
 *   value is one data item per quantity (F101 forward active energy, F81 active power, F89 phase A
 *   voltage): a full 15-minute day of one meter is 3 x 96 = 288 items;
 * - `wrong`: stored readings the world's truth refuses (`truth.check`: the meter's own freeze or
 *   register). Never expected to be anything but 0: a benchmark that stores wrong values is not
 *   measuring collection.
 *
 * Into the master (COL-12 "into the master"): with curves, after the night each concentrator's
 * 1376.1 terminal (over its core) dials a `Gw1376Master` on an in-memory uplink, which asks 0D F161
 * / F249 for every point's day and F101 / F81 / F89 for every DL/T 645 point's curves (4 points a
 * request), as a master station collects them. `uplink.items` counts the data items that reached the
 * master the same way as at the concentrator (must equal `items`), `uplink.mismatched` the points
 * whose curve or reading arrived different from what the core stored (expected 0), `uplink.bytes`
 * the terminal's bytes to the master.
 *
 * `mode: 'station'` runs the chosen concentrators instead as full concentrators against one master
 * station over 1376.1 (collection-station-day.ts); the core's figures are computed the same way.
 */
import { VirtualClock } from '../harness/core/clock.ts';
import type { CollectionScenario } from '../simulators/collection/scenario.ts';
import { buildCollectionWorld, type WorldConcentrator } from '../simulators/collection/world.ts';
import { concentratorCount, nightInstant, partitionConcentrators } from '../simulators/collection/plan.ts';
import { localDate } from '../simulators/concentrator/collection.ts';
import { createConcentratorCore } from '../simulators/concentrator/core.ts';
import { createConcentratorTerminal } from '../simulators/concentrator/terminal.ts';
import { createMemoryPair } from '../harness/links/memory.ts';
import { Gw1376Master } from '../harness/masters/gw1376-master.ts';
import { FOUR_METER_FN } from '../harness/protocols/gw1376/index.ts';
import type { ConcentratorCore, DailyCurve, DailyReading, MeterKind } from '../simulators/concentrator/types.ts';
import { fnv1a } from '../simulators/fleet/read.ts';

/** Terminal local time of the scenarios (UTC+8, simulators/collection/README.md). */
const UTC_OFFSET_MINUTES = 480;
/** The run ends one minute after the window closes at 04:00 (GAP-02), so the 04:00 ERC 39 pass is in. */
const RUN_UNTIL = '04:01';
/** Data identifiers stored per reading, by protocol (see the file header). */
export const ITEMS_PER_READING = { 'dlt645-2007': 2, cjt188: 1, mbus: 1 } as const;

const KINDS: readonly MeterKind[] = ['electricity', 'water', 'gas', 'heat'];

export interface KindCounts {
  due: number;
  collected: number;
  items: number;
}

export interface ConcentratorDayResult {
  /** 0-based global index in the scenario. */
  readonly index: number;
  readonly id: string;
  readonly address: { readonly areaCode: string; readonly terminal: number };
  /** Archive points; each is due the day once (the first night after archiving). */
  readonly due: number;
  /** Points whose reading of the day is stored by 04:00. */
  readonly collected: number;
  /** ... of those, read by the 00:05 pass (attempt 1: COL-01's first-attempt success). */
  readonly firstAttempt: number;
  readonly items: number;
  /** COL-12: day curves stored (points with one) and the data items they hold (included in `items`). */
  readonly curves: { readonly points: number; readonly items: number };
  /** Stored readings and curves the truth refuses (expected 0). */
  readonly wrong: number;
  readonly byKind: Readonly<Record<MeterKind, KindCounts>>;
  /** ERC 39 (failed re-read) events recorded at 04:00 (COL-04). */
  readonly erc39: number;
  /** The planned reboot happened in the window. */
  readonly rebooted: boolean;
  /** The night's first pass (00:05): simulated duration; the line-time lower bound = the largest of its ports' (ports run in parallel); the port that took longest, with its own bound. */
  readonly firstPass: { readonly simulatedMs: number; readonly lineTimeBoundMs: number; readonly slowestPort: PortPass | null; readonly ports: readonly PortPass[] };
  /** Every pass of the night: their count, the first start to the last end, and the time of the last stored reading (local hh:mm:ss). */
  readonly night: { readonly passes: number; readonly simulatedMs: number; readonly lastReadingLocal: string | null };
  /** FNV-1a (32 bit, hex) over every stored reading of the day, in pn order (`readingLine`). */
  readonly digest: string;
  /** Host cost of this concentrator: wall ms to build its world and core, and to run its day (station mode: the whole run's, on the first concentrator). */
  readonly wallMs: { readonly build: number; readonly run: number };
  /** Station mode (collection-station-day.ts): what the master station collected from it over 1376.1. */
  readonly station?: StationSide;
  /** Core mode with curves: what a master got over the 1376.1 uplink (file header). */
  readonly uplink?: UplinkSide;
}

/** What a master collected from one concentrator over 1376.1 after its night (core mode with curves). */
export interface UplinkSide {
  readonly items: number;
  readonly mismatched: number;
  readonly bytes: number;
  readonly requests: number;
  readonly wallMs: number;
}

/** One port in a pass: what it carries (plan.ts PortKind), its points, first to last exchange, and its line-time lower bound. */
export interface PortPass {
  readonly port: number;
  readonly kind: string;
  readonly points: number;
  readonly simulatedMs: number;
  readonly lineTimeMs: number;
}

/** The master station's side of one concentrator's day (COL-01 counts by 12:00, COL-02). */
export interface StationSide {
  readonly due: number;
  readonly collected: number;
  readonly firstAttempt: number;
  /** Collected by 12:00 of the next day. */
  readonly byDeadline: number;
  /** No request for the day answered by the deadline (TERMINA_OFFLINE_NUM). */
  readonly offline: boolean;
  /** Readings the station stored for the day; `mismatched`: of those, not equal to the concentrator's own (expected 0). */
  readonly readings: number;
  readonly mismatched: number;
  /** FNV-1a over the station's readings in pn order. */
  readonly digest: string;
}

export interface DayResult {
  /** 'core': each concentrator's core alone on its own clock; 'station': full concentrators and a master station over 1376.1. */
  readonly mode: 'core' | 'station';
  readonly scenario: { readonly source: string; readonly seed: number; readonly concentrators: number };
  /** The local date collected. */
  readonly day: string;
  /** The shard this result is (1-based), or null for a run of chosen concentrators. */
  readonly shard: { readonly index: number; readonly count: number } | null;
  readonly concentrators: readonly ConcentratorDayResult[];
  readonly totals: DayTotals;
  /** FNV-1a over `${id} ${digest}\n` of every concentrator in index order: equal runs, equal digest. */
  readonly digest: string;
}

export interface DayTotals {
  concentrators: number;
  due: number;
  collected: number;
  firstAttempt: number;
  items: number;
  curves: { points: number; items: number };
  wrong: number;
  erc39: number;
  byKind: Record<MeterKind, KindCounts>;
  /** Core mode with curves: what masters got over the uplinks, summed. */
  uplink?: { items: number; mismatched: number; bytes: number; requests: number; wallMs: number };
  /** Station mode: the station's counts summed, `offline` = offline terminals. */
  station?: { due: number; collected: number; firstAttempt: number; byDeadline: number; offline: number; readings: number; mismatched: number };
}

/** The local date a scenario's first night collects: the day of its start (a start is before that night's midnight). */
export function collectedDay(s: CollectionScenario): string {
  return localDate(s.startMs, UTC_OFFSET_MINUTES);
}

/** Data items of a day curve: its points that hold a value, per quantity (F101, F81, F89). */
export function curveItems(c: DailyCurve): number {
  let n = 0;
  for (const series of [c.forwardActiveKwh, c.activePowerKw, c.voltageAV]) for (const v of series) if (!Number.isNaN(v)) n++;
  return n;
}

/** One stored curve as the digest sees it. */
export function curveLine(c: DailyCurve): string {
  return `${c.pn} ${c.day} C ${c.intervalMinutes} ${c.readAt} ${c.forwardActiveKwh.join(',')} ${c.activePowerKw.join(',')} ${c.voltageAV.join(',')}\n`;
}

/** One stored reading as the digest sees it: every field, values in full. */
export function readingLine(r: DailyReading): string {
  const v = r.value;
  const value = v.kind === 'electricity' ? `E ${v.forwardActiveKwh.join(',')}` : `${v.kind} ${v.value} ${v.unit} ${v.meterType} ${v.status ?? '-'}`;
  return `${r.pn} ${r.day} ${r.frozenAt} ${r.readAt} ${r.attempt} ${value}\n`;
}

function emptyKinds(): Record<MeterKind, KindCounts> {
  return Object.fromEntries(KINDS.map((k) => [k, { due: 0, collected: 0, items: 0 }])) as Record<MeterKind, KindCounts>;
}

const hex32 = (h: number): string => h.toString(16).padStart(8, '0');

/** Runs concentrator `index`'s first night on a clock of its own; everything it built is closed before it returns. */
export async function runConcentratorDay(s: CollectionScenario, index: number, o: { readonly checkTruth?: boolean } = {}): Promise<ConcentratorDayResult> {
  const t0 = performance.now();
  const clock = new VirtualClock({ start: s.startMs, autoAdvance: false });
  const world = buildCollectionWorld(s, { clock, concentrators: [index] });
  const wc = world.concentrators[0]!;
  const core = createConcentratorCore({ clock, ports: wc.ports, archive: wc.archive, utcOffsetMinutes: UTC_OFFSET_MINUTES, ...(wc.curves ? { curves: wc.curves } : {}) });
  let rebooted = false;
  const cancelReboot = wc.scheduleReboot((offMs) => {
    rebooted = true;
    return core.reboot(offMs);
  });
  const t1 = performance.now();
  try {
    core.start();
    await clock.advanceTo(nightInstant(s.startMs, 0, RUN_UNTIL, UTC_OFFSET_MINUTES));
    const result = concentratorResult(s, wc, core, { rebooted, checkTruth: o.checkTruth !== false, wallMs: { build: t1 - t0, run: performance.now() - t1 } });
    return wc.curves ? { ...result, uplink: await collectOverUplink(wc, core, clock, collectedDay(s)) } : result;
  } finally {
    cancelReboot();
    core.stop();
    await world.close();
  }
}

/** Points per 1376.1 request of the uplink collection (one DA names up to 8 pn; 4 pn x 3 curves x 96 points is a few frames). */
const UPLINK_POINTS_PER_REQUEST = 4;
/** Td_c density m = 1 (15 min), 96 points from 00:00 (1376.1). */
const CURVE_DENSITY = 1;

/** The night's data of `wc` pulled over a 1376.1 uplink by a master (file header, "Into the master"). */
async function collectOverUplink(wc: WorldConcentrator, core: ConcentratorCore, clock: VirtualClock, day: string): Promise<UplinkSide> {
  const t0 = performance.now();
  const [terminalEnd, masterEnd] = createMemoryPair({ names: [`uplink:${wc.id}`, `master:${wc.id}`] });
  let bytes = 0;
  masterEnd.on('data', (chunk: Uint8Array) => void (bytes += chunk.length));
  const terminal = createConcentratorTerminal({ core, clock, address: wc.address, password: wc.password, connect: () => Promise.resolve(terminalEnd), utcOffsetMinutes: UTC_OFFSET_MINUTES });
  const master = new Gw1376Master({ link: masterEnd, clock, password: wc.password, terminal: wc.address, utcOffsetMinutes: UTC_OFFSET_MINUTES });
  let items = 0;
  let mismatched = 0;
  let requests = 0;
  try {
    const login = new Promise<void>((resolve) => master.once('login', () => resolve()));
    terminal.start();
    await clock.run(login);
    const points = wc.archive;
    for (let i = 0; i < points.length; i += UPLINK_POINTS_PER_REQUEST) {
      const chunk = points.slice(i, i + UPLINK_POINTS_PER_REQUEST);
      // Daily data: F161 for DL/T 645, F249 for the others.
      for (const fn of [161, FOUR_METER_FN]) {
        const mine = chunk.filter((p) => (fn === 161) === (p.protocol === 'dlt645-2007'));
        if (mine.length === 0) continue;
        requests++;
        const got = await clock.run(master.class2(mine.map((p) => ({ pn: p.pn, fn, value: { day } }))));
        const seen = new Set<number>();
        for (const it of got) {
          if (typeof it.pn !== 'number' || it.value === null) continue;
          seen.add(it.pn);
          const p = mine.find((x) => x.pn === it.pn);
          if (!p) continue;
          items += ITEMS_PER_READING[p.protocol];
          if (!sameDaily(core.daily(p.pn, day), it.value as Record<string, unknown>)) mismatched++;
        }
        for (const p of mine) if (!seen.has(p.pn) && core.daily(p.pn, day)) mismatched++;
      }
      const dlt = chunk.filter((p) => p.protocol === 'dlt645-2007' && core.curve?.(p.pn, day));
      if (dlt.length === 0) continue;
      requests++;
      const curves = await clock.run(master.readCurves(dlt.flatMap((p) => [101, 81, 89].map((fn) => ({ pn: p.pn, fn }))), `${day} 00:00`, CURVE_DENSITY, 96));
      for (const p of dlt) {
        const stored = core.curve!(p.pn, day)!;
        for (const [fn, series] of [[101, stored.forwardActiveKwh], [81, stored.activePowerKw], [89, stored.voltageAV]] as const) {
          const c = curves.find((x) => x.pn === p.pn && x.fn === fn);
          if (!c) {
            mismatched++;
            continue;
          }
          let same = c.points.length === series.length;
          c.points.forEach((v, k) => {
            if (v !== null) items++;
            if (!(v === null ? Number.isNaN(series[k]!) : Math.abs(v - series[k]!) < 1e-6)) same = false;
          });
          if (!same) mismatched++;
        }
      }
    }
  } finally {
    master.dispose();
    await terminal.stop();
  }
  return { items, mismatched, bytes, requests, wallMs: performance.now() - t0 };
}

/** Does a 0D F161 / F249 unit carry the reading the core stored? */
function sameDaily(r: DailyReading | undefined, v: Record<string, unknown>): boolean {
  if (!r) return false;
  if (r.value.kind === 'electricity') {
    const list = v['forwardActive'];
    if (!Array.isArray(list)) return false;
    const got = list.map((x) => Number((x as Record<string, unknown>)['value']));
    return r.value.forwardActiveKwh.every((e, i) => Math.abs(e - (got[i] ?? NaN)) < 1e-6);
  }
  return Math.abs(Number(v['value']) - r.value.value) < 1e-6;
}

/** The result of concentrator `wc`'s day from its core once the run is over (readings, counts, passes, digest). */
export function concentratorResult(
  s: CollectionScenario,
  wc: WorldConcentrator,
  core: ConcentratorCore,
  o: { readonly rebooted: boolean; readonly checkTruth: boolean; readonly wallMs: { readonly build: number; readonly run: number } },
): ConcentratorDayResult {
  const day = collectedDay(s);
  const byKind = emptyKinds();
  let collected = 0;
  let firstAttempt = 0;
  let items = 0;
  let wrong = 0;
  let digest = 0x811c9dc5;
  let lastRead = -Infinity;
  for (const p of wc.archive) {
    const k = byKind[p.kind];
    k.due++;
    const r = core.daily(p.pn, day);
    if (!r) continue;
    const n = ITEMS_PER_READING[p.protocol];
    collected++;
    k.collected++;
    k.items += n;
    items += n;
    if (r.attempt === 1) firstAttempt++;
    if (r.readAt > lastRead) lastRead = r.readAt;
    if (o.checkTruth && !wc.truth.check(r).ok) wrong++;
    digest = fnv1a(readingLine(r), digest);
  }
  const curves = { points: 0, items: 0 };
  for (const p of wc.archive) {
    const c = core.curve?.(p.pn, day);
    if (!c) continue;
    const n = curveItems(c);
    curves.points++;
    curves.items += n;
    byKind[p.kind].items += n;
    items += n;
    if (o.checkTruth && !wc.truth.checkCurve(c).ok) wrong++;
    digest = fnv1a(curveLine(c), digest);
  }
  const runs = core.collectionRuns().filter((r) => r.day === day);
  const first = runs[0];
  // The port whose exchanges took longest decides the pass; the bound is the largest port's line time.
  let slowest: PortPass | null = null;
  let bound = 0;
  const ports: PortPass[] = [];
  for (const p of first?.ports ?? []) {
    bound = Math.max(bound, p.lineTimeMs);
    const plan = wc.plan.ports.find((x) => x.port === p.port);
    const pass: PortPass = { port: p.port, kind: plan?.kind ?? '?', points: plan?.points.length ?? 0, simulatedMs: p.endedAt - p.startedAt, lineTimeMs: p.lineTimeMs };
    ports.push(pass);
    if (!slowest || pass.simulatedMs > slowest.simulatedMs) slowest = pass;
  }
  return {
    index: wc.index,
    id: wc.id,
    address: wc.address,
    due: wc.archive.length,
    collected,
    firstAttempt,
    items,
    curves,
    wrong,
    byKind,
    erc39: core.events(true).filter((e) => e.erc === 39).length,
    rebooted: o.rebooted,
    firstPass: { simulatedMs: first ? first.endedAt - first.startedAt : 0, lineTimeBoundMs: bound, slowestPort: slowest, ports },
    night: {
      passes: runs.length,
      simulatedMs: runs.length ? runs.at(-1)!.endedAt - runs[0]!.startedAt : 0,
      lastReadingLocal: Number.isFinite(lastRead) ? new Date(lastRead + UTC_OFFSET_MINUTES * 60_000).toISOString().slice(11, 19) : null,
    },
    digest: hex32(digest),
    wallMs: o.wallMs,
  };
}

/** Totals and digest of concentrator results given in index order. */
export function summarize(concentrators: readonly ConcentratorDayResult[]): { totals: DayTotals; digest: string } {
  const totals: DayTotals = { concentrators: concentrators.length, due: 0, collected: 0, firstAttempt: 0, items: 0, curves: { points: 0, items: 0 }, wrong: 0, erc39: 0, byKind: emptyKinds() };
  let digest = 0x811c9dc5;
  for (const c of concentrators) {
    totals.due += c.due;
    totals.collected += c.collected;
    totals.firstAttempt += c.firstAttempt;
    totals.items += c.items;
    totals.curves.points += c.curves.points;
    totals.curves.items += c.curves.items;
    totals.wrong += c.wrong;
    totals.erc39 += c.erc39;
    for (const k of KINDS) {
      totals.byKind[k].due += c.byKind[k].due;
      totals.byKind[k].collected += c.byKind[k].collected;
      totals.byKind[k].items += c.byKind[k].items;
    }
    if (c.uplink) {
      const u = (totals.uplink ??= { items: 0, mismatched: 0, bytes: 0, requests: 0, wallMs: 0 });
      u.items += c.uplink.items;
      u.mismatched += c.uplink.mismatched;
      u.bytes += c.uplink.bytes;
      u.requests += c.uplink.requests;
      u.wallMs += c.uplink.wallMs;
    }
    if (c.station) {
      const t = (totals.station ??= { due: 0, collected: 0, firstAttempt: 0, byDeadline: 0, offline: 0, readings: 0, mismatched: 0 });
      t.due += c.station.due;
      t.collected += c.station.collected;
      t.firstAttempt += c.station.firstAttempt;
      t.byDeadline += c.station.byDeadline;
      t.offline += c.station.offline ? 1 : 0;
      t.readings += c.station.readings;
      t.mismatched += c.station.mismatched;
    }
    digest = fnv1a(`${c.id} ${c.digest}${c.station ? ` ${c.station.digest}` : ''}\n`, digest);
  }
  return { totals, digest: hex32(digest) };
}

export interface RunDayOptions {
  readonly source: string;
  /** Global indices to run, or a shard (1-based, as `--shard i/n`). Default: every concentrator. */
  readonly concentrators?: readonly number[];
  readonly shard?: { readonly index: number; readonly count: number };
  readonly checkTruth?: boolean;
  /** 'station': run them as full concentrators against one master station (collection-station-day.ts). */
  readonly mode?: 'core' | 'station';
  /** Station mode: the database URL (default PGlite in memory). */
  readonly db?: string;
  /** Called after each concentrator (progress). */
  readonly onConcentrator?: (c: ConcentratorDayResult, done: number, of: number) => void;
}

/** Runs the chosen concentrators' day one after the other and returns the result a shard writes. */
export async function runCollectionDay(s: CollectionScenario, o: RunDayOptions): Promise<DayResult> {
  if (o.concentrators && o.shard) throw new TypeError('runCollectionDay: give concentrators or shard, not both');
  const total = concentratorCount(s);
  const indices = o.shard ? partitionConcentrators(s, o.shard.index, o.shard.count) : (o.concentrators ?? Array.from({ length: total }, (_, i) => i));
  const out: ConcentratorDayResult[] = [];
  const mode = o.mode ?? 'core';
  if (mode === 'station') {
    const { runStationDay } = await import('./collection-station-day.ts');
    out.push(...(await runStationDay(s, indices, { ...(o.db ? { db: o.db } : {}), ...(o.checkTruth !== undefined ? { checkTruth: o.checkTruth } : {}) })));
    out.forEach((c, i) => o.onConcentrator?.(c, i + 1, out.length));
  } else {
    for (const c of [...indices].sort((a, b) => a - b)) {
      out.push(await runConcentratorDay(s, c, { ...(o.checkTruth !== undefined ? { checkTruth: o.checkTruth } : {}) }));
      o.onConcentrator?.(out.at(-1)!, out.length, indices.length);
    }
  }
  return { mode, scenario: { source: o.source, seed: s.seed, concentrators: total }, day: collectedDay(s), shard: o.shard ?? null, concentrators: out, ...summarize(out) };
}

/** Why shard results cannot be merged. */
export class MergeError extends Error {
  override readonly name = 'MergeError';
}

/**
 * Merges the results of shards 1..n of one scenario and day into the one result: every shard of the
 * same count present exactly once, the same scenario (source, seed, concentrator count) and day, no
 * concentrator twice, and together every concentrator of the scenario. Anything else is a MergeError
 * naming it (a missing shard is not silently a smaller province).
 */
export function mergeDayResults(parts: readonly DayResult[]): DayResult {
  if (parts.length === 0) throw new MergeError('nothing to merge');
  const first = parts[0]!;
  const problems: string[] = [];
  const count = first.shard?.count;
  if (count === undefined) problems.push('part 1 is not a shard result (shard: null)');
  const seen = new Set<number>();
  for (const [i, p] of parts.entries()) {
    if (p.scenario.source !== first.scenario.source || p.scenario.seed !== first.scenario.seed || p.scenario.concentrators !== first.scenario.concentrators) {
      problems.push(`part ${i + 1} is of scenario ${p.scenario.source} (seed ${p.scenario.seed}, ${p.scenario.concentrators} concentrators), part 1 of ${first.scenario.source} (seed ${first.scenario.seed}, ${first.scenario.concentrators})`);
    }
    if (p.mode !== first.mode) problems.push(`part ${i + 1} ran in ${p.mode} mode, part 1 in ${first.mode}`);
    if (p.day !== first.day) problems.push(`part ${i + 1} collected ${p.day}, part 1 ${first.day}`);
    if (!p.shard || p.shard.count !== count) problems.push(`part ${i + 1} is shard ${p.shard ? `${p.shard.index}/${p.shard.count}` : 'null'}, not one of ${count}`);
    else if (seen.has(p.shard.index)) problems.push(`shard ${p.shard.index}/${count} given twice`);
    else seen.add(p.shard.index);
  }
  if (count !== undefined) for (let i = 1; i <= count; i++) if (!seen.has(i)) problems.push(`shard ${i}/${count} missing`);
  const all = parts.flatMap((p) => p.concentrators).sort((a, b) => a.index - b.index);
  for (let i = 1; i < all.length; i++) if (all[i]!.index === all[i - 1]!.index) problems.push(`concentrator ${all[i]!.id} in two parts`);
  if (problems.length === 0 && all.length !== first.scenario.concentrators) problems.push(`the parts hold ${all.length} concentrators, the scenario has ${first.scenario.concentrators}`);
  if (problems.length) throw new MergeError(`cannot merge: ${problems.join('; ')}`);
  return { mode: first.mode, scenario: first.scenario, day: first.day, shard: null, concentrators: all, ...summarize(all) };
}
