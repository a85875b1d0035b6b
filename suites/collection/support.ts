/**
 * The collection suite's target (issue 12): a concentrator reached through its Q/GDW 1376.1 uplink,
 * MeterLab its master station (`masters.gw1376`) and the owner of the meters behind it (the
 * collection scenario its declaration names). Cases share one target in order: the clock only moves
 * forward, the archive downloaded by one case is the next one's.
 *
 * - The reference concentrator (`connection.type "reference"`) runs in virtual time: the clock moves
 *   only inside `run` / `until` / `wait` (no auto-advance), or the concentrator's heartbeats and
 *   nightly task would race ahead while the runner writes files.
 * - A vendor's concentrator (`connection.type "listen"`: it dials MeterLab; its ports wired to
 *   MeterLab's adapters, `device.declaration.vendor`) runs in real time on a ShiftedRealClock that
 *   starts at the scenario's start ("skip") or now ("real"); `until` lives through its nights as
 *   night.ts says, `wait` is plain real time, `run` just awaits.
 */
import { join } from 'node:path';
import { ShiftedRealClock, VirtualClock, type Clock } from '../../harness/core/clock.ts';
import type { UplinkListener } from '../../harness/links/uplink-listener.ts';
import type { Gw1376Master } from '../../harness/masters/gw1376-master.ts';
import { DEFAULT_VENDOR_TIME, type ConcentratorDeclaration, type DataUnitItem } from '../../harness/protocols/gw1376/index.ts';
import { loadDeviceTargetProfile } from '../../harness/targets/device-profile.ts';
import { scenarioOf, type ConcentratorBackchannel, type ConcentratorCounterpart } from '../../harness/targets/gw1376-protocol.ts';
import type { WorldConcentrator } from '../../simulators/collection/index.ts';
import { openDeviceTarget, type DeviceTarget } from '../../harness/targets/target.ts';
import { DEFAULT_CASE_TIMEOUT_MS, TargetNotInScope } from '../framework/case.ts';
import { runOutputDir } from '../framework/env.ts';
import { suiteTargetSpec } from '../framework/suite-target.ts';
import { NightKeeper } from './night.ts';

export interface CollectionTarget extends DeviceTarget {
  /** Virtual (the reference) or real time, shifted and jumped by the night keeper (a vendor's). */
  readonly clock: Clock;
  /** How time goes: the reference's virtual time; a vendor's real time, its quiet stretches skipped or not. */
  readonly time: 'virtual' | 'skip' | 'real';
  readonly master: Gw1376Master;
  readonly declaration: ConcentratorDeclaration;
  /** The meters behind the concentrator (ports, buses, archive, truth): the reference's or those MeterLab serves a vendor's on its adapters. */
  readonly meters: WorldConcentrator | undefined;
  /** The reference concentrator's world, concentrator and uplink; undefined for a vendor's. */
  readonly bench: ConcentratorBackchannel | undefined;
  /** A vendor's: its counterpart (the adapters) and the night keeper ("skip" mode). */
  readonly vendor: { readonly counterpart: ConcentratorCounterpart; readonly keeper: NightKeeper | undefined; readonly uplink: UplinkListener } | undefined;
  /** Closes the concentrator's uplink connection (the reference's relay; MeterLab's listener for a vendor's): it must dial again. */
  dropUplink(): Promise<void>;
  /** Logins and heartbeats seen since the target opened (instants on the target's clock). */
  readonly logins: number[];
  readonly heartbeats: number[];
  /** Active reports (AFN 0E) the concentrator sent, decoded. */
  readonly reports: { readonly at: number; readonly items: readonly DataUnitItem[] }[];
  /** Set by the archive case: the points MeterLab downloaded. */
  archiveLoaded: boolean;
}

export const SUITE = 'collection';

/** Opens the selected target (METERLAB_TARGET, default the reference concentrator), or the profile file `spec`. */
export async function openCollectionTarget(spec: string = suiteTargetSpec({ suite: SUITE, protocol: 'gw1376', kind: 'concentrator' })): Promise<CollectionTarget> {
  const profile = loadDeviceTargetProfile(spec);
  if (profile.device.kind !== 'concentrator' || profile.device.protocol !== 'gw1376') {
    throw new TargetNotInScope(`the target "${profile.name}" is a ${profile.device.kind} read over ${profile.device.protocol}; this suite tests concentrators over Q/GDW 1376.1`);
  }
  const c = profile.connection;
  if (c.type !== 'reference' && c.type !== 'listen') {
    throw new Error(
      `target profile ${profile.source}: connection.type "${c.type}": a concentrator dials its master station; give { "type": "listen", "port": <the port its uplink dials> } and device.declaration.vendor (the adapters wired to its meter ports)`,
    );
  }
  const declaration = profile.device.declaration as ConcentratorDeclaration;
  const scenario = scenarioOf(declaration, profile.source);
  const vendorTime = c.type === 'listen' ? (declaration.vendor?.time ?? DEFAULT_VENDOR_TIME) : undefined;
  // The reference: virtual, at the scenario's start. A vendor's: real, from the scenario's start ("skip") or now ("real").
  const clock = vendorTime ? new ShiftedRealClock(vendorTime.mode === 'skip' ? { start: scenario.startMs } : {}) : new VirtualClock({ start: scenario.startMs, autoAdvance: false });
  const out = runOutputDir();
  const target = await openDeviceTarget(profile, { clock, ...(out ? { captureFile: join(out, 'captures', `${SUITE}.concentrator.jsonl`) } : {}) }).catch((e: unknown) => {
    if (clock instanceof ShiftedRealClock) clock.dispose();
    throw e;
  });
  const master = target.masters.gw1376;
  if (!master) throw new Error('the target has no Q/GDW 1376.1 master');
  const counterpart = target.counterpart?.backchannel as ConcentratorCounterpart | undefined;
  const bench = target.simulator?.backchannel as ConcentratorBackchannel | undefined;
  const keeper =
    counterpart && clock instanceof ShiftedRealClock && vendorTime?.mode === 'skip' ? new NightKeeper(clock, master, declaration, counterpart.world.world.ports, vendorTime) : undefined;
  const uplink = target.listener;
  const logins: number[] = [];
  const heartbeats: number[] = [];
  const reports: { at: number; items: readonly DataUnitItem[] }[] = [];
  master.on('login', () => logins.push(clock.now()));
  master.on('heartbeat', () => heartbeats.push(clock.now()));
  master.on('report', (m) => reports.push({ at: clock.now(), items: m.units.flatMap((g) => g.items) }));
  const close = target.close.bind(target);
  return Object.assign(target, {
    clock,
    time: vendorTime?.mode ?? ('virtual' as const),
    master,
    declaration,
    meters: bench?.world ?? counterpart?.world,
    bench,
    vendor: counterpart && uplink ? { counterpart, keeper, uplink } : undefined,
    dropUplink: async () => {
      if (bench) await bench.uplink.drop();
      else await uplink?.drop();
    },
    logins,
    heartbeats,
    reports,
    archiveLoaded: false,
    close: async () => {
      await keeper?.close().catch(() => undefined);
      try {
        await close();
      } finally {
        if (clock instanceof ShiftedRealClock) clock.dispose();
      }
    },
  });
}

/** Null when the concentrator has logged in; otherwise why nothing can be judged over its uplink. */
export function offline(t: CollectionTarget): string | null {
  return t.logins.length > 0 ? null : `the concentrator has not logged in to MeterLab (no AFN 02 F1 on its uplink): nothing can be judged over 1376.1`;
}

/** Runs `work` with virtual time moving while it waits (in real time: just awaits it). */
export function run<T>(t: CollectionTarget, work: Promise<T>): Promise<T> {
  return t.clock instanceof VirtualClock ? t.clock.run(work) : work;
}

/**
 * Lets time run until `ms` (an instant), everything due on the way happening: virtual time at
 * once; a vendor's concentrator's nights as night.ts says (quiet stretches skipped in "skip" mode).
 */
export async function until(t: CollectionTarget, ms: number): Promise<void> {
  if (ms <= t.clock.now()) return;
  if (t.vendor?.keeper) await t.vendor.keeper.until(ms);
  else await wait(t, ms);
}

/** Lets time run until `ms` without skipping anything (logins, heartbeats, timeouts: real-time matters). */
export async function wait(t: CollectionTarget, ms: number): Promise<void> {
  if (ms <= t.clock.now()) return;
  if (t.clock instanceof VirtualClock) await t.clock.run(t.clock.sleep(ms - t.clock.now()));
  else await t.clock.sleep(ms - t.clock.now());
}

/** Waits (as `wait`) until `done()` holds or the instant `ms`, looking every second. */
export async function waitFor(t: CollectionTarget, done: () => boolean, ms: number): Promise<void> {
  while (!done() && t.clock.now() < ms) await wait(t, Math.min(ms, t.clock.now() + 1000));
}

/**
 * The time budget of a case that lives through `nights` collection nights: the default in virtual
 * time; a safety net against a hang for a vendor's (its nights take real time, in "skip" mode the
 * collection itself and the quiet waits) [MeterLab: 3 h a night skipped, 25 h a night in real time].
 */
export function nightsBudget(t: CollectionTarget, nights: number): number {
  if (t.time === 'virtual') return DEFAULT_CASE_TIMEOUT_MS;
  return Math.max(DEFAULT_CASE_TIMEOUT_MS, nights * (t.time === 'skip' ? 3 : 25) * 3_600_000);
}

/** Minutes east of UTC of the concentrator's local time. */
const offset = (t: CollectionTarget): number => t.declaration.utcOffsetMinutes * 60_000;

/** The local date "YYYY-MM-DD" of an instant. */
export function localDay(t: CollectionTarget, ms: number): string {
  return new Date(ms + offset(t)).toISOString().slice(0, 10);
}

/** The instant of local `hh:mm` on local date `day`. */
export function localInstant(t: CollectionTarget, day: string, hhmm: string): number {
  return Date.parse(`${day}T${hhmm}:00Z`) - offset(t);
}

/** The local date `n` days after `day`. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** The next instant at local `hh:mm` strictly after now. */
export function nextLocal(t: CollectionTarget, hhmm: string): number {
  const today = localDay(t, t.clock.now());
  const at = localInstant(t, today, hhmm);
  return at > t.clock.now() ? at : localInstant(t, addDays(today, 1), hhmm);
}

/** "hh:mm:ss" local. */
export function localClock(t: CollectionTarget, ms: number): string {
  return new Date(ms + offset(t)).toISOString().slice(11, 19);
}

/** The reason a reference-only case does not apply to a vendor's concentrator. */
export function needsBench(t: CollectionTarget, what: string): string | null {
  return t.bench ? null : `${what} needs MeterLab's hand on the concentrator (the reference only)`;
}

/** The reason a case that needs MeterLab's meters behind the concentrator does not apply. */
export function needsMeters(t: CollectionTarget, what: string): string | null {
  return t.meters ? null : `${what} needs MeterLab's meters behind the concentrator`;
}

export { field } from './daily.ts';
