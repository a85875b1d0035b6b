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
 * Not yet: a vendor's master station. MeterLab's concentrators would dial its TCP listener
 * (`connection: { type: "tcp", host, port }`) in real time, as `meterlab simulate concentrator`
 * does; the station would be configured beforehand with the scenario's concentrators and archives
 * (an export of the plan, as station-api's account list); and its daily success rate and stored
 * readings would be read from an export it declares (as station-api's exports). Until then such a
 * profile is refused by `openMasterStationTarget` with that message.
 */
import { LinkError, ProfileError } from '../core/errors.ts';
import { VirtualClock } from '../core/clock.ts';
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
  /** The station's success rate and readings; undefined where the station exports none (a vendor's, today). */
  readonly report: StationReport | undefined;
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
}

export async function openMasterStationTarget(profile: DeviceTargetProfile, options: OpenMasterStationOptions = {}): Promise<MasterStationTarget> {
  if (profile.device.kind !== 'master-station' || profile.device.protocol !== 'gw1376') {
    throw new ProfileError(`target profile ${profile.source}: a ${profile.device.kind} over ${profile.device.protocol} is no Q/GDW 1376.1 master station`);
  }
  const c = profile.connection;
  if (c.type !== 'reference') {
    throw new ProfileError(
      `target profile ${profile.source}: connection: a vendor's master station is not supported yet — MeterLab's concentrators would dial it over TCP in real time, the station would need the scenario's concentrators and archives loaded beforehand, and its success rates and readings an export MeterLab can read (issue 12, next step); only the reference station runs today`,
    );
  }
  const d = profile.device.declaration as MasterStationDeclaration;
  let scenario: CollectionScenario;
  try {
    scenario = readCollectionScenarioFile(scenarioPathOf({ meters: { scenario: d.meters.scenario, concentrator: 1 } } as Parameters<typeof scenarioPathOf>[0], profile.source));
  } catch (e) {
    throw new ProfileError(`device.declaration.meters.scenario: ${(e as Error).message}`, { cause: e });
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
  return {
    profile,
    declaration: d,
    scenario,
    clock,
    world,
    concentrators,
    report,
    settle: () => clock.run(s.idle()),
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
