/**
 * The collection suite's other target (issue 12): a master station as the system under test.
 * MeterLab runs the concentrators of a scenario (harness/targets/gw1376-station-target.ts), which
 * log in to the station; every frame on their uplinks is MeterLab's to see. From those frames
 * (`delivered`) and the world's truth MeterLab computes what the station was given — which point's
 * daily data each concentrator delivered for a day, on the station's how-many-th request, and
 * whether the concentrator was reached at all — and the cases compare the station's own figures
 * and readings (`t.report`) with it.
 *
 * Time moves only inside `until`: virtual on the reference (no auto-advance), real on a vendor's
 * station (the target's `timing` says how long; `openStationTarget` prints it). Under `meterlab run`
 * every uplink frame goes to METERLAB_OUT/captures/collection.master-station.jsonl.
 */
import { join } from 'node:path';
import { items, type DataUnitItem, type Gw1376Message, type UnitValue } from '../../harness/protocols/gw1376/index.ts';
import type { DailyReading } from '../../harness/targets/gw1376-protocol.ts';
import { loadDeviceTargetProfile } from '../../harness/targets/device-profile.ts';
import { openMasterStationTarget, type MasterStationTarget, type ObservedUplink, type StationTargetConcentrator } from '../../harness/targets/gw1376-station-target.ts';
import { DEFAULT_CASE_TIMEOUT_MS, TargetNotInScope } from '../framework/case.ts';
import { runOutputDir } from '../framework/env.ts';
import { dailyReadingOf, field } from './daily.ts';
import { suiteTargetSpec } from '../framework/suite-target.ts';

export type StationTarget = MasterStationTarget;

export const SUITE = 'collection';

/** AFN 00 (confirm/deny) and AFN 0D (class 2 data), PROTOCOLS.md 3.7. */
const AFN_CONFIRM = 0x00;
const AFN_CLASS2 = 0x0d;
/**
 * A request frame repeated with the same PSEQ within this long is the master's retransmission of
 * one request, not a new attempt (CON-02/CON-04: 3 tries of 5 s, or 60 s) [MeterLab].
 */
export const RETRANSMISSION_WINDOW_MS = 60_000;

/** Opens the selected target (METERLAB_TARGET, default suites/profiles/reference-master-station.json), or the profile file `spec`. */
export async function openStationTarget(spec: string = suiteTargetSpec({ suite: SUITE, protocol: 'gw1376', kind: 'master-station' })): Promise<StationTarget> {
  const profile = loadDeviceTargetProfile(spec);
  if (profile.device.kind !== 'master-station' || profile.device.protocol !== 'gw1376') {
    throw new TargetNotInScope(`the target "${profile.name}" is a ${profile.device.kind} read over ${profile.device.protocol}; these cases test master stations over Q/GDW 1376.1`);
  }
  const out = runOutputDir();
  let set: { probe: RecollectionProbe; concentrator: StationTargetConcentrator } | undefined;
  const t = await openMasterStationTarget(profile, {
    ...(out ? { captureFile: join(out, 'captures', `${SUITE}.master-station.jsonl`) } : {}),
    // Real time (a vendor's station with an export): ROB-10's probe on day D, set before the first login (see installRecollectionProbe).
    beforeOnline: (concentrators, day, now) => {
      const d = profile.device.declaration as { vendor?: { export?: unknown } };
      const c = concentrators.find((x) => x.world.faults.uplinkDown === undefined) ?? concentrators[0];
      if (d.vendor?.export !== undefined && c) set = { probe: installRecollectionProbe(c, day, now), concentrator: c };
    },
  });
  if (set) probes.set(t, set);
  // A vendor's station runs in real time: `meterlab run` says beforehand how long the run will take
  // (vendorTimingNote, in the CLI: a vitest worker's output does not reach the user); `t.timing` keeps it.
  return t;
}

/**
 * Lets time run until `ms` (an instant), then waits for what the station has in flight. In real time
 * (a vendor's station) `done` ends the wait as soon as it holds.
 */
export async function until(t: StationTarget, ms: number, done?: () => boolean): Promise<void> {
  await t.until(ms, done);
}

/** What a case needs beyond its wait: the checks and the station's export [MeterLab's choice]. */
const CASE_MARGIN_MS = 120_000;

/**
 * A case's time budget (runCase's `timeoutMs`): in real time the wait until `ms` plus a margin
 * (a vendor's station takes hours: the case must not be cut at DEFAULT_CASE_TIMEOUT_MS); in virtual
 * time the default.
 */
export function budgetUntil(t: StationTarget, ms: number): number {
  return t.time === 'real' ? Math.max(DEFAULT_CASE_TIMEOUT_MS, ms - t.clock.now() + CASE_MARGIN_MS) : DEFAULT_CASE_TIMEOUT_MS;
}

/** What ROB-10's probe did to one concentrator's replies. */
export interface RecollectionProbe {
  /** Reply frames dropped (every reply to the station's first request for the day, retransmissions too). */
  readonly lost: number;
  /** Reply frames of the day sent twice (after the first request). */
  readonly doubled: number;
  remove(): void;
}

/**
 * ROB-10's probe on concentrator `c` for `day`: from `from` on, every reply to the station's first
 * AFN 0D request naming the day (and to its retransmissions, same PSEQ within
 * RETRANSMISSION_WINDOW_MS) is lost, and every later reply carrying the day is sent twice (a replayed
 * response). The station must collect the day again and store and count it once.
 */
export function installRecollectionProbe(c: StationTargetConcentrator, day: string, from: number): RecollectionProbe {
  let first: { pseq: number; at: number } | undefined;
  const counts = { lost: 0, doubled: 0 };
  const rule = (m: Gw1376Message, at: number): 'pass' | 'drop' | 'duplicate' => {
    if (first === undefined) {
      const req = [...c.uplink.frames].reverse().find((f) => f.dir === 'down' && f.message.frame.control.prm && f.message.frame.afn === AFN_CLASS2);
      if (req && req.at >= from && req.message.units.some((u) => u.items.some((it) => field(it.value, 'day') === day))) first = { pseq: req.message.frame.seq.seq, at: req.at };
    }
    const fr = m.frame;
    if (fr.control.prm || (fr.afn !== AFN_CLASS2 && fr.afn !== AFN_CONFIRM) || first === undefined) return 'pass';
    if (fr.seq.seq === first.pseq && at - first.at <= RETRANSMISSION_WINDOW_MS) {
      counts.lost++;
      return 'drop';
    }
    if (fr.afn === AFN_CLASS2 && m.units.some((u) => u.items.some((it) => field(it.value, 'day') === day))) {
      counts.doubled++;
      return 'duplicate';
    }
    return 'pass';
  };
  c.uplink.rule = rule;
  return {
    get lost() {
      return counts.lost;
    },
    get doubled() {
      return counts.doubled;
    },
    remove() {
      if (c.uplink.rule === rule) c.uplink.rule = undefined;
    },
  };
}

/** The concentrator ROB-10 probes: the first without a planned outage. */
export function probeConcentrator(t: StationTarget): StationTargetConcentrator | undefined {
  return t.concentrators.find((x) => x.world.faults.uplinkDown === undefined) ?? t.concentrators[0];
}

const probes = new WeakMap<StationTarget, { probe: RecollectionProbe; concentrator: StationTargetConcentrator }>();

/** The probe openStationTarget set on a real-time target's first day (with an export), if any. */
export function probeOf(t: StationTarget): { probe: RecollectionProbe; concentrator: StationTargetConcentrator } | undefined {
  return probes.get(t);
}

/** A step title for a wait until `ms`: in real time it says how long that is. */
export function waitTitle(t: StationTarget, ms: number, what: string): string {
  if (t.time === 'virtual') return `run to ${localTime(t, ms)} (${what})`;
  const left = Math.max(0, Math.round((ms - t.clock.now()) / 1000));
  return `wait in real time until ${localTime(t, ms)} (${what}): at most ${left} s, less once every point is delivered`;
}

/** True once every concentrator delivered `day` for every point whose meter answers (the early end of a real-time wait). */
export function allDelivered(t: StationTarget, day: string): () => boolean {
  return () =>
    t.concentrators.every((c) => {
      const got = delivered(c.uplink, day, Number.POSITIVE_INFINITY).points;
      return c.world.archive.every((p) => c.world.truth.point(p.pn)?.dead || got.has(p.pn));
    });
}

const offset = (t: StationTarget): number => t.declaration.utcOffsetMinutes * 60_000;

/** The local date "YYYY-MM-DD" of an instant. */
export function localDay(t: StationTarget, ms: number): string {
  return new Date(ms + offset(t)).toISOString().slice(0, 10);
}

/** The instant of local `hh:mm` on local date `day`. */
export function localInstant(t: StationTarget, day: string, hhmm: string): number {
  return Date.parse(`${day}T${hhmm}:00Z`) - offset(t);
}

/** The local date `n` days after `day`. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** "MM-DD hh:mm" local. */
export function localTime(t: StationTarget, ms: number): string {
  return new Date(ms + offset(t)).toISOString().slice(5, 16).replace('T', ' ');
}

/** The first day whose data the concentrators have: the day the scenario starts (its freeze is at the next midnight). */
export function firstDay(t: StationTarget): string {
  return localDay(t, t.scenario.startMs);
}

/** When the station must have `day` (COL-02): the declared deadline on the next day. */
export function deadlineOf(t: StationTarget, day: string): number {
  return localInstant(t, addDays(day, 1), t.declaration.collection.deadline);
}

/** When the station may start on `day` (GAP-02): the declared start on the next day. */
export function windowStartOf(t: StationTarget, day: string): number {
  return localInstant(t, addDays(day, 1), t.declaration.collection.start);
}

/** The reason a case that reads the station's own figures does not apply to a station that gives none. */
export function needsReport(t: StationTarget): string | null {
  return t.report
    ? null
    : "needs the station's own daily success rate and stored readings: its profile declares no export (device.declaration.vendor.export, MeterLab's station export format, harness/targets/gw1376-station-export.ts)";
}

/**
 * A delivery as a DailyReading the truth can check (F161 electricity, F249 the others); undefined
 * when it lacks what the check needs (no reading time, no registers).
 */
export function deliveredDaily(t: StationTarget, c: StationTargetConcentrator, x: Delivery): DailyReading | undefined {
  const p = c.world.archive.find((a) => a.pn === x.pn);
  return p ? dailyReadingOf(p, x.fn, x.value, t.declaration.utcOffsetMinutes) : undefined;
}

/** One point's daily data as a concentrator delivered it to the station. */
export interface Delivery {
  readonly pn: number;
  readonly fn: number;
  /** When the reply carrying it went up. */
  readonly at: number;
  /** How many distinct requests of the station had named this point and day by then (1: the first attempt). */
  readonly attempt: number;
  readonly value: UnitValue;
}

/** What one concentrator gave the station for a day, seen on its uplink. */
export interface Delivered {
  /** The first delivery of each point. */
  readonly points: ReadonlyMap<number, Delivery>;
  /** Deliveries beyond the first of a point (a re-collection answered again, a reply sent twice). */
  readonly repeats: number;
  /** When a request of the station for the day first got an answer (data or a deny): undefined = never reached. */
  readonly reachedAt: number | undefined;
  /** Distinct requests of the station for the day. */
  readonly requests: number;
}

const dayOf = (it: DataUnitItem): unknown => field(it.value, 'day');

/**
 * What `uplink`'s concentrator delivered for `day` until `by` (an instant): reads the frames both
 * ways in order — the station's AFN 0D requests naming the day (a new PSEQ, or the same after
 * RETRANSMISSION_WINDOW_MS, is a new attempt) and the concentrator's replies that reached the
 * station (AFN 0D data for the day, or an AFN 00 answer to such a request). A reply counts only
 * as the answer to a request of the day with its PSEQ (within RETRANSMISSION_WINDOW_MS), and only
 * for points that request named.
 */
export function delivered(uplink: ObservedUplink, day: string, by: number): Delivered {
  const attempts = new Map<number, number>();
  const last = new Map<number, { pseq: number; at: number }>();
  /** PSEQ → the station's latest request for the day with it: when, and the points it named. */
  const open = new Map<number, { at: number; pns: ReadonlySet<number> }>();
  const points = new Map<number, Delivery>();
  let repeats = 0;
  let reachedAt: number | undefined;
  let requests = 0;
  let lastRequest: { pseq: number; at: number } | undefined;
  for (const f of uplink.frames) {
    if (f.at > by) break;
    const fr = f.message.frame;
    const pseq = fr.seq.seq;
    if (f.dir === 'down' && fr.control.prm && fr.afn === AFN_CLASS2) {
      const mine = items(f.message).filter((it) => dayOf(it) === day && typeof it.pn === 'number');
      if (mine.length === 0) continue;
      const repeat = lastRequest !== undefined && lastRequest.pseq === pseq && f.at - lastRequest.at <= RETRANSMISSION_WINDOW_MS;
      if (!repeat) requests++;
      lastRequest = { pseq, at: f.at };
      open.set(pseq, { at: f.at, pns: new Set(mine.map((it) => it.pn as number)) });
      for (const it of mine) {
        const pn = it.pn as number;
        const l = last.get(pn);
        if (!(l && l.pseq === pseq && f.at - l.at <= RETRANSMISSION_WINDOW_MS)) attempts.set(pn, (attempts.get(pn) ?? 0) + 1);
        last.set(pn, { pseq, at: f.at });
      }
      continue;
    }
    if (f.dir !== 'up' || fr.control.prm) continue;
    const asked = open.get(pseq);
    // Only an answer to a request for the day counts: a reply to nothing asked is no delivery.
    if (asked === undefined || f.at - asked.at > RETRANSMISSION_WINDOW_MS) continue;
    if (fr.afn === AFN_CONFIRM) reachedAt ??= f.at;
    if (fr.afn !== AFN_CLASS2) continue;
    reachedAt ??= f.at;
    for (const it of items(f.message)) {
      if (typeof it.pn !== 'number' || !asked.pns.has(it.pn) || it.value === null || dayOf(it) !== day) continue;
      if (points.has(it.pn)) {
        repeats++;
        continue;
      }
      points.set(it.pn, { pn: it.pn, fn: it.fn, at: f.at, attempt: attempts.get(it.pn) ?? 0, value: it.value });
    }
  }
  return { points, repeats, reachedAt, requests };
}
