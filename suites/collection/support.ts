/**
 * The collection suite's target (issue 12): a concentrator reached through its Q/GDW 1376.1 uplink,
 * MeterLab its master station (`masters.gw1376`) and the owner of the meters behind it (the
 * collection scenario its declaration names). Cases share one target in order: the clock only moves
 * forward, the archive downloaded by one case is the next one's.
 *
 * The clock is virtual and moves only inside `run` / `until` (no auto-advance): the concentrator's
 * heartbeats and nightly task would otherwise race ahead while the runner writes files.
 */
import { join } from 'node:path';
import { VirtualClock } from '../../harness/core/clock.ts';
import type { Gw1376Master } from '../../harness/masters/gw1376-master.ts';
import type { ConcentratorDeclaration, DataUnitItem, UnitValue } from '../../harness/protocols/gw1376/index.ts';
import { loadDeviceTargetProfile } from '../../harness/targets/device-profile.ts';
import { scenarioOf, type ConcentratorBackchannel } from '../../harness/targets/gw1376-protocol.ts';
import { openDeviceTarget, type DeviceTarget } from '../../harness/targets/target.ts';
import { TargetNotInScope } from '../framework/case.ts';
import { runOutputDir } from '../framework/env.ts';
import { suiteTargetSpec } from '../framework/suite-target.ts';

export interface CollectionTarget extends DeviceTarget {
  readonly clock: VirtualClock;
  readonly master: Gw1376Master;
  readonly declaration: ConcentratorDeclaration;
  /** The reference concentrator's world, concentrator and uplink; undefined for a vendor's. */
  readonly bench: ConcentratorBackchannel | undefined;
  /** Logins and heartbeats seen since the target opened (virtual instants). */
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
  if (profile.connection.type !== 'reference') {
    throw new Error(
      `target profile ${profile.source}: a vendor's concentrator is not supported yet — its meters would be MeterLab's simulated ones served on serial adapters and its uplink a TCP connection to MeterLab (issue 12, next step); only the reference concentrator runs today`,
    );
  }
  const declaration = profile.device.declaration as ConcentratorDeclaration;
  const scenario = scenarioOf(declaration, profile.source);
  const clock = new VirtualClock({ start: scenario.startMs, autoAdvance: false });
  const out = runOutputDir();
  const target = await openDeviceTarget(profile, { clock, ...(out ? { captureFile: join(out, 'captures', `${SUITE}.concentrator.jsonl`) } : {}) });
  const master = target.masters.gw1376;
  if (!master) throw new Error('the target has no Q/GDW 1376.1 master');
  const logins: number[] = [];
  const heartbeats: number[] = [];
  const reports: { at: number; items: readonly DataUnitItem[] }[] = [];
  master.on('login', () => logins.push(clock.now()));
  master.on('heartbeat', () => heartbeats.push(clock.now()));
  master.on('report', (m) => reports.push({ at: clock.now(), items: m.units.flatMap((g) => g.items) }));
  return Object.assign(target, {
    clock,
    master,
    declaration,
    bench: target.simulator?.backchannel as ConcentratorBackchannel | undefined,
    logins,
    heartbeats,
    reports,
    archiveLoaded: false,
  });
}

/** Null when the concentrator has logged in; otherwise why nothing can be judged over its uplink. */
export function offline(t: CollectionTarget): string | null {
  return t.logins.length > 0 ? null : `the concentrator has not logged in to MeterLab (no AFN 02 F1 on its uplink): nothing can be judged over 1376.1`;
}

/** Runs `work` with virtual time moving while it waits. */
export function run<T>(t: CollectionTarget, work: Promise<T>): Promise<T> {
  return t.clock.run(work);
}

/** Lets virtual time run until `ms` (an instant), everything due on the way happening. */
export async function until(t: CollectionTarget, ms: number): Promise<void> {
  if (ms > t.clock.now()) await t.clock.run(t.clock.sleep(ms - t.clock.now()));
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

/** One unit's value, by field. */
export function field(v: UnitValue | null | undefined, name: string): unknown {
  return v ? (v as Record<string, unknown>)[name] : undefined;
}
