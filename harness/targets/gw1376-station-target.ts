/**
 * A master station as the target (issue 12): `device: { kind: "master-station", protocol: "gw1376",
 * declaration: MasterStationDeclaration }`. The station is the system under test; MeterLab runs
 * the concentrators of the declared collection scenario (the reference concentrator over the
 * scenario's world, simulators/collection + simulators/concentrator), which dial it and log in,
 * and watches every frame on each concentrator's uplink (`ObservedUplink`), so a case can compute
 * from its own side what the station was given: which points' daily data each concentrator
 * delivered for a day, on which request, and when.
 *
 * The reference station (`connection: { type: "reference" }`) is simulators/master-station's
 * `CollectionStation` on PGlite in memory, over harness/masters' `Gw1376Station`, configured with
 * the scenario's plan (concentrators, archives), on the target's virtual clock (no auto-advance:
 * time moves only inside `clock.run`). Its `report` (success rate, readings) is what the cases
 * judge. Broken variants: `connection.defects` (`MasterStationDefectSchema`).
 *
 * A vendor's master station (`connection: { type: "tcp", host, port }`) runs in real time: its
 * clock cannot be virtual. MeterLab's side (meters, concentrators) still starts on a VirtualClock:
 *
 * 1. The station's time now is the real time plus `declaration.vendor.clockOffsetSeconds` (a station
 *    whose clock was set for a test day). The first day D is the last day whose deadline
 *    (`collection.deadline` on D+1) is still ahead; the scenario is rebased to D (its start's time
 *    of day, or now if that is later), so the scenario's night faults fall on the night after D.
 * 2. Pre-roll: the world and the concentrators' cores (archive preloaded) run in virtual time from
 *    that start to the station's now, at full speed and with no uplink: the meters freeze at 00:00,
 *    the concentrators read them from 00:05 (COL-03).
 * 3. Then the same VirtualClock is paced by the real clock (`Pacer`: every TICK_MS it advances to
 *    real time + offset), the concentrators' terminals start and dial the station over TCP
 *    (`throughUplink`: a concentrator whose planned outage is still on dials after it ends, with its
 *    F8 redial interval `vendor.redialSeconds`), log in, send heartbeats and answer it.
 *
 * So a case waits in real time until the station's deadline for D (`timing` says when, as a
 * line the suite prints), or less when everything it judges is delivered (`until`'s `done`).
 * A station whose clock is right starts its window at the next real 04:00: the run then lasts until
 * the next real deadline. The station must be configured beforehand with the scenario's
 * concentrators, archives and PWs (their plan: `meterlab simulate concentrator --verbose` prints
 * them). What the station itself stored and counts comes only from an export it declares
 * (`vendor.export`, gw1376-station-export.ts); without one `report` is undefined and the cases that
 * need it are not applicable.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { LinkError, ProfileError } from '../core/errors.ts';
import { RealClock, VirtualClock, type TimerHandle } from '../core/clock.ts';
import { connectTcpLink } from '../links/tcp.ts';
import { CaptureTap, JsonlFileCaptureSink } from '../links/capture.ts';
import { LinkBase, type Link } from '../links/link.ts';
import { createMemoryPair } from '../links/memory.ts';
import { Gw1376Station } from '../masters/gw1376-station.ts';
import { Gw1376FrameScanner, type Gw1376Message, type MasterStationDeclaration } from '../protocols/gw1376/index.ts';
import { buildCollectionWorld, readCollectionScenarioFile, type CollectionScenario, type CollectionWorld, type WorldConcentrator } from '../../simulators/collection/index.ts';
import { createConcentrator, type Concentrator } from '../../simulators/concentrator/index.ts';
import { gw1376CollectionLink } from '../../simulators/master-station/collection-gw1376.ts';
import { CollectionStation, type DailySuccessRate, type StoredReading, type TerminalId } from '../../simulators/master-station/collection.ts';
import type { Db } from '../../simulators/master-station/db.ts';
import { openDatabase } from '../../simulators/master-station/storage.ts';
import type { DeviceTargetProfile } from './profile.ts';
import { describeGw1376, scenarioPathOf, type MasterStationDefect } from './gw1376-protocol.ts';
import { readStationExport, readingsOf, successRateOf, type StationExportSource } from './gw1376-station-export.ts';

export type { DailySuccessRate, StoredReading } from '../../simulators/master-station/collection.ts';

export { MasterStationDefectSchema, type MasterStationDefect } from './gw1376-protocol.ts';

// ---------------------------------------------------------------------------------------------
// The uplink as MeterLab's concentrator sees it

/** One frame on a concentrator's uplink: 'up' from the concentrator (as it reached the station), 'down' from the station. */
export interface UplinkFrame {
  readonly at: number;
  readonly dir: 'up' | 'down';
  readonly message: Gw1376Message;
}

/** What a case may do to the frames a concentrator sends up (MeterLab's own concentrator: no power over the station). */
export type UplinkRule = (m: Gw1376Message, at: number) => 'pass' | 'drop' | 'duplicate';

/**
 * Everything on one concentrator's uplink, over all its connections: the frames both ways
 * (decoded; bytes that are no frame are passed on and counted), and the rule applied to what it
 * sends (a reply lost or sent twice, ROB-10).
 */
export class ObservedUplink {
  readonly frames: UplinkFrame[] = [];
  /** Instants of its connections and of their ends. */
  readonly connects: number[] = [];
  readonly disconnects: number[] = [];
  /** Chunks that held no frame (either way). */
  garbage = 0;
  rule: UplinkRule | undefined;

  constructor(readonly clock: { now(): number }) {}

  /** The concentrator's end of a new connection, observed. */
  wrap(inner: Link): Link {
    this.connects.push(this.clock.now());
    return new ObservedLink(inner, this);
  }

  /** Logins (AFN 02 F1 sent up), as instants. */
  get logins(): number[] {
    return this.frames.filter((f) => f.dir === 'up' && f.message.frame.afn === 0x02 && f.message.frame.control.prm && f.message.units.some((u) => u.fns.includes(1))).map((f) => f.at);
  }

  /** @internal */
  record(dir: 'up' | 'down', m: Gw1376Message): void {
    this.frames.push({ at: this.clock.now(), dir, message: m });
  }
}

/** Decodes every frame of a chunk (a fresh scanner: the concentrator writes whole frames, one a write). */
function framesOf(chunk: Uint8Array, scanner = new Gw1376FrameScanner()): { messages: Gw1376Message[]; garbage: boolean } {
  const messages: Gw1376Message[] = [];
  let garbage = false;
  for (const e of [...scanner.push(chunk)]) {
    if (e.type === 'frame' && e.message.ok) messages.push(e.message.value);
    else garbage = true;
  }
  return { messages, garbage };
}

class ObservedLink extends LinkBase {
  readonly name: string;
  private readonly down = new Gw1376FrameScanner();

  constructor(
    private readonly inner: Link,
    private readonly log: ObservedUplink,
  ) {
    super();
    this.name = `observed:${inner.name}`;
    inner.on('data', (chunk, timing) => {
      for (const e of this.down.push(chunk)) {
        if (e.type === 'frame' && e.message.ok) log.record('down', e.message.value);
        else log.garbage++;
      }
      this.emit('data', chunk, timing);
    });
    inner.on('error', (e) => this.emit('error', e));
    inner.once('close', () => {
      log.disconnects.push(log.clock.now());
      this.emit('close');
    });
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  async write(bytes: Uint8Array): Promise<void> {
    const scanner = new Gw1376FrameScanner();
    const { messages, garbage } = framesOf(bytes, scanner);
    if (garbage || messages.length === 0) this.log.garbage++;
    const now = this.log.clock.now();
    const verdicts = messages.map((m) => this.log.rule?.(m, now) ?? 'pass');
    if (verdicts.includes('drop')) return;
    await this.inner.write(bytes);
    for (const m of messages) this.log.record('up', m);
    if (verdicts.includes('duplicate')) {
      await this.inner.write(bytes);
      for (const m of messages) this.log.record('up', m);
    }
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The target

/** The station's own figures, where it gives them (the reference: its CollectionStation). */
export interface StationReport {
  /** COL-01: the daily success rate per concentrator and per kind, as the station computes it. */
  successRate(day: string): Promise<DailySuccessRate>;
  /** Its stored readings of a concentrator for a day. */
  readings(concentrator: TerminalId, day: string): Promise<StoredReading[]>;
}

/** One concentrator MeterLab runs for the station. */
export interface StationTargetConcentrator {
  readonly world: WorldConcentrator;
  readonly concentrator: Concentrator;
  readonly uplink: ObservedUplink;
}

export interface MasterStationTarget {
  readonly profile: DeviceTargetProfile;
  readonly declaration: MasterStationDeclaration;
  readonly scenario: CollectionScenario;
  readonly clock: VirtualClock;
  readonly world: CollectionWorld;
  readonly concentrators: readonly StationTargetConcentrator[];
  /** The station's success rate and readings; undefined where the station exports none (a vendor's without `vendor.export`). */
  readonly report: StationReport | undefined;
  /** 'virtual' (the reference: time moves only inside `until`) or 'real' (a vendor's station). */
  readonly time: 'virtual' | 'real';
  /** One line saying how time runs for this target and how long its cases may take. */
  readonly timing: string;
  /**
   * Lets time run to the instant `ms` (virtual: at once; real: waits for it), then settles. In
   * real time, `done` (asked every second) ends the wait early: a case stops waiting once all it
   * judges has happened. Virtual time ignores it (nothing is saved by stopping early).
   */
  until(ms: number, done?: () => boolean): Promise<void>;
  /** Waits for work the reference station has in flight (a login's archive, a round); a no-op otherwise. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** 16 bytes from 32 hex digits (a validated declaration). */
function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from({ length: hex.length / 2 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** "hh:mm" → minutes of the day. */
function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number) as [number, number];
  return h * 60 + m;
}

/** Rounds every 30 min from the start (MeterLab's reference station; issue 12). */
const RETRY_MINUTES = 30;

/**
 * Opens a master-station target: the reference station on a virtual clock standing at the
 * scenario's start, the scenario's world and a reference concentrator per planned concentrator,
 * each dialling the station through an ObservedUplink (and the scenario's uplink outages).
 */
export interface OpenMasterStationOptions {
  /** Every frame on every uplink, as the station's side saw it, to this JSONL file (one `link` per concentrator connection), decoded. */
  readonly captureFile?: string;
  /**
   * A vendor's station only: called once the world has run to the station's now, before the
   * concentrators dial it, with them, the first day D and the instant (a rule to set on an uplink
   * from the first login on, e.g. ROB-10's probe: a second day would cost 24 h of real time).
   */
  readonly beforeOnline?: (concentrators: readonly StationTargetConcentrator[], day: string, now: number) => void;
}

export async function openMasterStationTarget(profile: DeviceTargetProfile, options: OpenMasterStationOptions = {}): Promise<MasterStationTarget> {
  if (profile.device.kind !== 'master-station' || profile.device.protocol !== 'gw1376') {
    throw new ProfileError(`target profile ${profile.source}: a ${profile.device.kind} over ${profile.device.protocol} is no Q/GDW 1376.1 master station`);
  }
  const c = profile.connection;
  const d = profile.device.declaration as MasterStationDeclaration;
  let scenario: CollectionScenario;
  try {
    scenario = readCollectionScenarioFile(scenarioPathOf({ meters: { scenario: d.meters.scenario, concentrator: 1 } } as Parameters<typeof scenarioPathOf>[0], profile.source));
  } catch (e) {
    throw new ProfileError(`device.declaration.meters.scenario: ${(e as Error).message}`, { cause: e });
  }
  if (c.type === 'tcp') return openVendorStation(profile, d, c, scenario, options);
  if (c.type !== 'reference') {
    throw new ProfileError(`target profile ${profile.source}: connection: a master station is reached over TCP ({ "type": "tcp", "host", "port" }: its listener for concentrators) or is the reference; not over ${c.type}`);
  }
  const defects = (c.defects ?? []) as MasterStationDefect[];
  const clock = new VirtualClock({ start: scenario.startMs, autoAdvance: false });
  const declared = d.password === undefined ? undefined : hexBytes(d.password);
  const world = buildCollectionWorld(scenario, { clock });
  /** Each concentrator's PW: the declared one for all, else its own from the plan. */
  const passwordOf = (w: WorldConcentrator): Uint8Array => declared ?? w.password;
  const sink = options.captureFile ? new JsonlFileCaptureSink(options.captureFile) : undefined;
  let db: Db | undefined;
  const concentrators: StationTargetConcentrator[] = [];
  const cancels: (() => void)[] = [];
  const gw = new Gw1376Station({
    clock,
    master: { msa: d.msa, utcOffsetMinutes: d.utcOffsetMinutes },
    passwords: world.concentrators.map((w) => ({ areaCode: w.address.areaCode, terminal: w.address.terminal, password: passwordOf(w) })),
  });
  let station: CollectionStation | undefined;
  try {
    db = await openDatabase('memory');
    station = new CollectionStation({
      db,
      clock,
      link: gw1376CollectionLink(gw),
      concentrators: world.concentrators.map((w) => ({ areaCode: w.address.areaCode, terminal: w.address.terminal, password: passwordOf(w), archive: w.archive })),
      schedule: { startMinute: minutesOf(d.collection.start), endMinute: minutesOf(d.collection.deadline), retryMinutes: RETRY_MINUTES },
      utcOffsetMinutes: d.utcOffsetMinutes,
      faults: { countRetriedTwice: defects.some((x) => x.name === 'count-retried-twice') },
    });
    await clock.run(station.start());
    for (const w of world.concentrators) {
      const uplink = new ObservedUplink(clock);
      const dial = async (): Promise<Link> => {
        const [stationSide, terminalSide] = createMemoryPair({ names: [`station:${w.id}`, `uplink:${w.id}`] });
        gw.accept(sink ? new CaptureTap({ link: stationSide, clock, sink, describe: describeGw1376 }) : stationSide);
        return uplink.wrap(terminalSide);
      };
      const concentrator = createConcentrator({
        clock,
        ports: w.ports,
        utcOffsetMinutes: d.utcOffsetMinutes,
        ...(w.curves ? { curves: w.curves } : {}),
        address: w.address,
        password: passwordOf(w),
        connect: w.throughUplink(dial),
        parameters: { heartbeatMinutes: d.heartbeatMinutes },
      });
      cancels.push(w.scheduleReboot((offMs) => concentrator.powerCycle(offMs)));
      concentrator.start();
      concentrators.push({ world: w, concentrator, uplink });
    }
  } catch (e) {
    for (const x of cancels) x();
    for (const x of concentrators) await x.concentrator.stop().catch(() => undefined);
    await station?.stop().catch(() => undefined);
    await gw.close().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await world.close().catch(() => undefined);
    await sink?.close().catch(() => undefined);
    throw e instanceof LinkError || e instanceof ProfileError ? e : new ProfileError(`target profile ${profile.source}: the reference master station did not start: ${(e as Error).message}`, { cause: e });
  }
  const s = station;
  const report: StationReport = {
    successRate: (day) => clock.run(s.successRate(day)),
    readings: (id, day) => clock.run(s.readings(id, day)),
  };
  let closing: Promise<void> | undefined;
  const settle = (): Promise<void> => clock.run(s.idle());
  return {
    profile,
    declaration: d,
    scenario,
    clock,
    world,
    concentrators,
    report,
    time: 'virtual',
    timing: 'virtual time: the reference station and MeterLab\'s concentrators share one VirtualClock that moves only inside the cases; the whole run takes seconds',
    async until(ms) {
      if (ms > clock.now()) await clock.run(clock.sleep(ms - clock.now()));
      await settle();
    },
    settle,
    close: () =>
      (closing ??= (async () => {
        for (const x of cancels) x();
        for (const x of concentrators) await clock.run(x.concentrator.stop()).catch(() => undefined);
        await clock.run(s.stop()).catch(() => undefined);
        await clock.run(gw.close()).catch(() => undefined);
        await world.close().catch(() => undefined);
        await db!.close().catch(() => undefined);
        await sink?.close();
      })()),
  };
}

// ---------------------------------------------------------------------------------------------
// A vendor's station, in real time (see the file header)

/** How often the paced clock catches up with real time, ms [MeterLab's choice: well under a 1376.1 timeout of seconds]. */
export const PACER_TICK_MS = 10;
/** Give up a TCP connect after this long (as `meterlab simulate concentrator`: a GPRS terminal's connect takes seconds) [BK]. */
export const VENDOR_CONNECT_TIMEOUT_MS = 30_000;
/** How often a real-time wait asks its `done`, ms. */
const DONE_POLL_MS = 1000;
/**
 * After `done` holds, a real-time wait goes on this long so the station has stored and counted what
 * it was given before a case reads its export [MeterLab's choice: a station stores a reply in ms].
 */
export const SETTLE_AFTER_DONE_MS = 3000;
const DAY_MS = 86_400_000;

/**
 * Drives a VirtualClock at the pace of the real clock, shifted by `offsetMs`: every tick it fires
 * what is due up to real time + offset. Timers then fire in real time (within a tick), and real
 * I/O (the TCP uplinks) runs between ticks.
 */
export class Pacer {
  private timer: TimerHandle | undefined;
  private stopped = false;
  private busy: Promise<void> | undefined;

  constructor(
    readonly clock: VirtualClock,
    readonly real: RealClock,
    readonly offsetMs: number,
  ) {}

  /** The station's time now (real time + offset). */
  target(): number {
    return this.real.now() + this.offsetMs;
  }

  /** Runs the clock at full speed up to the station's now (the pre-roll). */
  async catchUp(): Promise<void> {
    while (this.clock.now() < this.target() - PACER_TICK_MS) await this.clock.advanceTo(this.target());
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.busy = this.clock.advanceTo(this.target()).finally(() => {
        this.busy = undefined;
        if (!this.stopped) this.timer = this.real.setTimeout(tick, PACER_TICK_MS);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.real.clearTimeout(this.timer);
    await this.busy;
  }
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
/** "YYYY-MM-DD hh:mm:ss" local. */
const localText = (ms: number, offsetMinutes: number): string => new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19).replace('T', ' ');
/** "1 h 5 min", "40 s". */
export function durationText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${pad2(m % 60)} min`;
}

/** When a vendor's station run stands (all instants in the station's time). */
export interface VendorSchedule {
  /** The station's now. */
  readonly now: number;
  /** The first day D ("YYYY-MM-DD" local): the last day whose deadline is still ahead. */
  readonly day: string;
  /** The rebased scenario's start: D at the scenario's start time of day, or now if that is later. */
  readonly startMs: number;
  /** D's window: the station's start and deadline on D+1. */
  readonly windowStart: number;
  readonly deadline: number;
}

/** Where a run against a vendor's station whose time is `stationNow` stands (see the file header). */
export function vendorSchedule(d: MasterStationDeclaration, scenarioStartMs: number, stationNow: number): VendorSchedule {
  const tz = d.utcOffsetMinutes * 60_000;
  const minute = (hhmm: string): number => minutesOf(hhmm) * 60_000;
  const localMs = stationNow + tz;
  const today = Math.floor(localMs / DAY_MS) * DAY_MS - tz; // 00:00 local of today, as an instant
  const dayStart = localMs - (today + tz) < minute(d.collection.deadline) ? today - DAY_MS : today;
  const startOfDay = (((scenarioStartMs + tz) % DAY_MS) + DAY_MS) % DAY_MS;
  return {
    now: stationNow,
    day: new Date(dayStart + tz).toISOString().slice(0, 10),
    startMs: Math.min(dayStart + startOfDay, stationNow),
    windowStart: dayStart + DAY_MS + minute(d.collection.start),
    deadline: dayStart + DAY_MS + minute(d.collection.deadline),
  };
}

/** The `timing` line of a vendor's station. */
function vendorTimingText(d: MasterStationDeclaration, remote: string, concentrators: number | undefined, s: VendorSchedule): string {
  const offset = d.vendor?.clockOffsetSeconds ?? 0;
  const local = (ms: number): string => localText(ms, d.utcOffsetMinutes);
  const zone = `UTC${d.utcOffsetMinutes >= 0 ? '+' : '-'}${pad2(Math.floor(Math.abs(d.utcOffsetMinutes) / 60))}:${pad2(Math.abs(d.utcOffsetMinutes) % 60)}`;
  return (
    `real time: the station ${remote} reads ${local(s.now)} ${zone} (${offset === 0 ? 'its clock is right' : `its clock set ${offset > 0 ? '+' : ''}${offset} s from the real time, as declared`}); ` +
    `MeterLab runs ${concentrators === undefined ? 'the scenario\'s' : `its ${concentrators}`} concentrator(s) and their meters in virtual time from ${local(s.startMs)} to then and follows real time from there. ` +
    `Day ${s.day}: the station's window opens at ${local(s.windowStart)}${s.windowStart > s.now ? ` (in ${durationText(s.windowStart - s.now)})` : ' (open)'}; ` +
    `the cases wait until its deadline ${local(s.deadline)}, at most ${durationText(s.deadline - s.now)} from now (less once every point is delivered)` +
    (d.vendor?.export !== undefined ? `; ROB-10 probes the same day (one concentrator's replies to the station's first request lost, later ones sent twice).` : '.')
  );
}

/**
 * Before a run: the `timing` line a vendor's master-station profile will have (undefined for any
 * other profile), from the real time `realNow`, so `meterlab run` can say how long it will take.
 */
export function vendorTimingNote(profile: DeviceTargetProfile, realNow: number): string | undefined {
  const c = profile.connection;
  if (profile.device.kind !== 'master-station' || profile.device.protocol !== 'gw1376' || c.type !== 'tcp') return undefined;
  const d = profile.device.declaration as MasterStationDeclaration;
  let startMs: number;
  try {
    startMs = readCollectionScenarioFile(scenarioPathOf({ meters: { scenario: d.meters.scenario, concentrator: 1 } } as Parameters<typeof scenarioPathOf>[0], profile.source)).startMs;
  } catch {
    return undefined; // the target's open says what is wrong with the scenario
  }
  const remote = `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`;
  return vendorTimingText(d, remote, undefined, vendorSchedule(d, startMs, realNow + (d.vendor?.clockOffsetSeconds ?? 0) * 1000));
}

async function openVendorStation(
  profile: DeviceTargetProfile,
  d: MasterStationDeclaration,
  c: { readonly type: 'tcp'; readonly host: string; readonly port: number },
  baseScenario: CollectionScenario,
  options: OpenMasterStationOptions,
): Promise<MasterStationTarget> {
  const remote = `${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`;
  const v = { clockOffsetSeconds: d.vendor?.clockOffsetSeconds ?? 0, redialSeconds: d.vendor?.redialSeconds ?? 60, export: d.vendor?.export };
  let exportToken: string | undefined;
  if (v.export && 'url' in v.export && v.export.tokenEnv !== undefined) {
    exportToken = process.env[v.export.tokenEnv];
    if (exportToken === undefined || exportToken === '') {
      throw new ProfileError(`target profile ${profile.source}: device.declaration.vendor.export.tokenEnv: the environment variable ${v.export.tokenEnv} is not set (the bearer token of the station's export)`);
    }
  }
  const real = new RealClock();
  // The station must be listening before anything is built: one connection opened and closed.
  try {
    const probe = await dialTcp(real, c.host, c.port, `probe→${remote}`);
    await probe.close();
  } catch (e) {
    throw new LinkError(`target profile ${profile.source}: connection: the master station ${remote} is not reachable (${(e as Error).message}); start it (its listener for concentrators) before the run`, { cause: e });
  }
  const offsetMs = v.clockOffsetSeconds * 1000;
  const { startMs } = vendorSchedule(d, baseScenario.startMs, real.now() + offsetMs);
  const scenario: CollectionScenario = { ...baseScenario, startMs };
  const clock = new VirtualClock({ start: startMs, autoAdvance: false });
  const pacer = new Pacer(clock, real, offsetMs);
  const declared = d.password === undefined ? undefined : hexBytes(d.password);
  const world = buildCollectionWorld(scenario, { clock });
  const sink = options.captureFile ? new JsonlFileCaptureSink(options.captureFile) : undefined;
  const concentrators: StationTargetConcentrator[] = [];
  const cancels: (() => void)[] = [];
  let paced = false;
  try {
    for (const w of world.concentrators) {
      const uplink = new ObservedUplink(clock);
      const dial = async (): Promise<Link> => {
        const link = await dialTcp(real, c.host, c.port, `${w.id}→${remote}`);
        return uplink.wrap(sink ? new CaptureTap({ link, clock, sink, describe: describeGw1376 }) : link);
      };
      const concentrator = createConcentrator({
        clock,
        ports: w.ports,
        archive: w.archive,
        utcOffsetMinutes: d.utcOffsetMinutes,
        ...(w.curves ? { curves: w.curves } : {}),
        address: w.address,
        password: declared ?? w.password,
        connect: w.throughUplink(dial),
        parameters: { heartbeatMinutes: d.heartbeatMinutes, redialIntervalSeconds: v.redialSeconds },
      });
      cancels.push(w.scheduleReboot((offMs) => concentrator.powerCycle(offMs)));
      // The meters' side first: the terminal dials only once the clock follows real time.
      concentrator.core.start();
      concentrators.push({ world: w, concentrator, uplink });
    }
    await pacer.catchUp();
    options.beforeOnline?.(concentrators, vendorSchedule(d, baseScenario.startMs, clock.now()).day, clock.now());
    pacer.start();
    paced = true;
    for (const x of concentrators) x.concentrator.terminal.start();
  } catch (e) {
    for (const x of cancels) x();
    for (const x of concentrators) await (paced ? x.concentrator.stop() : clock.run(x.concentrator.stop())).catch(() => undefined);
    await pacer.stop();
    await world.close().catch(() => undefined);
    await sink?.close().catch(() => undefined);
    throw e instanceof LinkError || e instanceof ProfileError ? e : new ProfileError(`target profile ${profile.source}: MeterLab's concentrators for ${remote} did not start: ${(e as Error).message}`, { cause: e });
  }

  let report: StationReport | undefined;
  if (v.export) {
    const source: StationExportSource = 'url' in v.export ? { url: v.export.url, ...(exportToken !== undefined ? { token: exportToken } : {}) } : { file: isAbsolute(v.export.file) ? v.export.file : resolve(profile.source ? dirname(profile.source) : process.cwd(), v.export.file) };
    report = {
      successRate: async (day) => successRateOf(await readStationExport(source, real), day),
      readings: async (id, day) => readingsOf(await readStationExport(source, real), id, day),
    };
  }

  const timing = vendorTimingText(d, remote, concentrators.length, { ...vendorSchedule(d, baseScenario.startMs, clock.now()), startMs });

  let closing: Promise<void> | undefined;
  let settledOnce = false;
  return {
    profile,
    declaration: d,
    scenario,
    clock,
    world,
    concentrators,
    report,
    time: 'real',
    timing,
    async until(ms, done) {
      // A wait that starts with everything there already after an earlier settled wait: nothing to wait for.
      if (settledOnce && done?.()) return;
      let end = ms;
      while (clock.now() < end) {
        // Once everything is there, give the station SETTLE_AFTER_DONE_MS to store and count it.
        if (end === ms && done?.()) end = Math.min(ms, clock.now() + SETTLE_AFTER_DONE_MS);
        await new Promise<void>((r) => clock.setTimeout(r, Math.max(0, Math.min(DONE_POLL_MS, end - clock.now()))));
      }
      if (end < ms) settledOnce = true;
    },
    settle: async () => undefined,
    close: () =>
      (closing ??= (async () => {
        for (const x of cancels) x();
        // The pacer still runs: a terminal's logout and close take (real) time.
        await Promise.all(concentrators.map((x) => x.concentrator.stop().catch(() => undefined)));
        await pacer.stop();
        await world.close().catch(() => undefined);
        await sink?.close();
      })()),
  };
}

/** A TCP connect to the station, given up after VENDOR_CONNECT_TIMEOUT_MS on the real clock (connects are real I/O). */
async function dialTcp(clock: RealClock, host: string, port: number, name: string): Promise<Link> {
  const controller = new AbortController();
  const timer = clock.setTimeout(() => controller.abort(new Error(`no answer within ${VENDOR_CONNECT_TIMEOUT_MS / 1000} s`)), VENDOR_CONNECT_TIMEOUT_MS);
  try {
    return await connectTcpLink({ host, port, name, signal: controller.signal });
  } finally {
    clock.clearTimeout(timer);
  }
}
