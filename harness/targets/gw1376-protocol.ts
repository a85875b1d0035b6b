/**
 * The concentrator as a target protocol (issue 12): a profile with `device: { kind: "concentrator",
 * protocol: "gw1376", declaration: {...} }` (harness/protocols/gw1376/declaration.ts).
 *
 * The target's link is the concentrator's UPLINK: MeterLab is its master station
 * (`masters.gw1376`, a Gw1376Master on the capture-tapped link). The meters behind it are MeterLab's
 * too: the collection scenario the declaration names (simulators/collection) builds them, so a
 * collected value can be checked against the meter's own.
 *
 * The reference device (`connection: { type: "reference", transport: "memory" }`) is the reference
 * concentrator (simulators/concentrator: core over the world's ports, 1376.1 terminal) on a
 * virtual clock that must stand at the scenario's start (suites/collection opens it so). Its uplink
 * goes through an UplinkRelay, so a case can drop the GPRS link and the concentrator redials while
 * the master keeps its one link (ROB-09). Broken variants are `connection.defects`.
 *
 * The other gw1376 kind, "master-station" (the station is the system under test, MeterLab runs the
 * concentrators), has its own declaration and defects here (`kindDeclarations`, `kindDefects`) and
 * opens through gw1376-station-target.ts; this entry's address, master and simulator refuse it.
 *
 * A vendor's concentrator (`connection: { type: "listen", host, port }`) dials MeterLab: the
 * target listens (harness/links UplinkListener, the master's one link whatever connection is
 * current) and its counterpart (`createCounterpart`) is the meters of the declared scenario on the
 * target's clock, each bus carried to the concentrator's port by a serial adapter or a TCP serial
 * server (`declaration.vendor.ports`). How its nights run: `declaration.vendor.time` and
 * suites/collection/night.ts.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ProfileError } from '../core/errors.ts';
import { LinkError } from '../core/errors.ts';
import { connectTcpLink, openSerialLink, type Describe, type Link } from '../links/index.ts';
import { DLT645_DEFAULT_LINE } from '../links/link.ts';
import { UplinkRelay } from '../links/uplink-relay.ts';
import { Gw1376Master } from '../masters/gw1376-master.ts';
import { adapterText, ConcentratorDeclarationSchema, DEFAULT_VENDOR_TIME, MasterStationDeclarationSchema, describeFrame, Gw1376FrameScanner, passwordBytes, type ConcentratorDeclaration } from '../protocols/gw1376/index.ts';
import type { DeviceTargetProfile } from './profile.ts';
import { buildCollectionWorld, describePortPlan, readCollectionScenarioFile, type CollectionScenario, type WorldConcentrator, type WorldPort } from '../../simulators/collection/index.ts';
import { createConcentrator, type Concentrator, type ConcentratorDefects, type TerminalDefects } from '../../simulators/concentrator/index.ts';
import { describeByScanner, registerTargetProtocol } from './protocols.ts';

/** The archive records MeterLab downloads as a master station (the reference station's own, simulators/master-station). */
export { archiveChunks, archiveRecord, type ArchiveChunk } from '../../simulators/master-station/collection-archive.ts';
export type { ArchivePoint, DailyReading, PointValue } from '../../simulators/concentrator/index.ts';

declare module './protocols.ts' {
  interface TargetMasters {
    /** MeterLab as the master station of a concentrator (device.protocol "gw1376"). */
    readonly gw1376?: Gw1376Master;
  }
}

/** Where the named collection scenarios live (`meters.scenario: "bench"`). */
export const COLLECTION_SCENARIOS_DIR = fileURLToPath(new URL('../../simulators/collection/scenarios/', import.meta.url));

/** The scenario file a declaration names: a bare name from COLLECTION_SCENARIOS_DIR, or a path (relative to the profile's folder). */
export function scenarioPathOf(d: ConcentratorDeclaration, profileSource?: string): string {
  const s = d.meters.scenario;
  if (/^[a-z0-9-]+$/.test(s)) return join(COLLECTION_SCENARIOS_DIR, `${s}.json`);
  return isAbsolute(s) ? s : resolve(profileSource ? dirname(profileSource) : process.cwd(), s);
}

/** The scenario of a declaration, read and validated (ProfileError naming the field). */
export function scenarioOf(d: ConcentratorDeclaration, profileSource?: string): CollectionScenario {
  try {
    return readCollectionScenarioFile(scenarioPathOf(d, profileSource));
  } catch (e) {
    throw new ProfileError(`device.declaration.meters.scenario: ${(e as Error).message}`, { cause: e });
  }
}

/** One line per capture chunk: every 1376.1 frame by the codec, other bytes counted. */
export const describeGw1376: Describe = describeByScanner(
  () => new Gw1376FrameScanner(),
  (e) => describeFrame(e.decoded, e.message),
);

/** One broken variant of the reference concentrator (a profile's `connection.defects` element); simulators/concentrator/README.md. */
export const ConcentratorDefectSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('skip-re-read') }).strict().describe('reads only yesterday: no 补抄 of the last 3 days (COL-03)'),
  z.object({ name: z.literal('alter-forwarded-byte') }).strict().describe('changes one byte of a forwarded frame and fixes its checksum (CON-07)'),
  z.object({ name: z.literal('no-heartbeat') }).strict().describe('logs in, then never sends a heartbeat (CON-02)'),
  z.object({ name: z.literal('ignore-time-tag') }).strict().describe('acts on a request whose Tp has expired (ROB-10)'),
  z.object({ name: z.literal('no-failed-re-read-event') }).strict().describe('records no ERC 39 when a re-read fails (COL-04)'),
  z.object({ name: z.literal('day-from-read-time') }).strict().describe("files a freeze under the day it was read, not the meter's freeze time"),
  z.object({ name: z.literal('no-retry') }).strict().describe('one pass a night at 00:05, no retries until 04:00 (COL-03)'),
  z.object({ name: z.literal('curve-shifted') }).strict().describe('files each load record one interval early: every curve shifted by 15 minutes (COL-12)'),
]);
export type ConcentratorDefect = z.output<typeof ConcentratorDefectSchema>;

/**
 * One broken variant of the reference master station (kind "master-station", gw1376-station-target.ts):
 * simulators/master-station `CollectionFaults`.
 */
export const MasterStationDefectSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('count-retried-twice') }).strict().describe('counts a reading collected by a re-collection a second time in "collected" (COL-01, ROB-10)'),
]);
export type MasterStationDefect = z.output<typeof MasterStationDefectSchema>;

/** The core's and the terminal's switches for a list of defects. */
export function concentratorDefectSwitches(defects: readonly ConcentratorDefect[]): { core: ConcentratorDefects; terminal: TerminalDefects } {
  const core: { -readonly [K in keyof ConcentratorDefects]: ConcentratorDefects[K] } = {};
  const terminal: { -readonly [K in keyof TerminalDefects]: TerminalDefects[K] } = {};
  for (const d of defects) {
    switch (d.name) {
      case 'skip-re-read':
        core.skipReRead = true;
        break;
      case 'alter-forwarded-byte':
        core.alterForwardedByte = true;
        break;
      case 'no-failed-re-read-event':
        core.noFailedReReadEvent = true;
        break;
      case 'day-from-read-time':
        core.dayFromReadTime = true;
        break;
      case 'no-retry':
        core.noRetry = true;
        break;
      case 'curve-shifted':
        core.curveShifted = true;
        break;
      case 'no-heartbeat':
        terminal.noHeartbeat = true;
        break;
      case 'ignore-time-tag':
        terminal.ignoreTimeTag = true;
        break;
    }
  }
  return { core, terminal };
}

/** A master station's declaration reaching the concentrator's master or simulator is a wiring mistake: say where it opens. */
function notAStation(d: ConcentratorDeclaration): object {
  if (typeof (d as Partial<ConcentratorDeclaration>).terminal !== 'object') {
    throw new ProfileError('a master-station target is opened by openMasterStationTarget (harness/targets/gw1376-station-target.ts), not as a device on one link');
  }
  return {};
}

/** What a reference concentrator target's `backchannel` is (suites reach simulators only through targets). */
export interface ConcentratorBackchannel {
  readonly scenario: CollectionScenario;
  /** The meters behind it, their ports and their truth. */
  readonly world: WorldConcentrator;
  /** The reference concentrator (core and terminal). */
  readonly concentrator: Concentrator;
  /** Its uplink: drop() / setDown() play a GPRS link that goes away. */
  readonly uplink: UplinkRelay;
  /** Power off for `offMs`, then on (ROB-08): the link drops, the core restarts, the terminal dials and logs in again. */
  powerCycle(offMs: number): Promise<void>;
}

/**
 * What a vendor's concentrator target's `counterpart.backchannel` is: the meters MeterLab runs
 * behind it (the scenario's concentrator's world, on the target's clock) and the adapters that
 * carry each of its buses to the concentrator's ports.
 */
export interface ConcentratorCounterpart {
  /** The scenario as run (in "real" time rebased to the moment the target opened). */
  readonly scenario: CollectionScenario;
  readonly world: WorldConcentrator;
  /** Each port and where it is wired, for messages: "port 2 ↔ /dev/ttyUSB0". */
  readonly adapters: readonly { readonly port: number; readonly where: string }[];
}

/**
 * Before a run: one line saying where a vendor's concentrator (`connection.type "listen"`) must
 * dial, which adapter carries each of its ports and how its nights go (undefined for any other
 * profile, or when the scenario cannot be read: the target's open says why), so `meterlab run`
 * can say it at once (the run then takes real time).
 */
export function vendorConcentratorNote(profile: DeviceTargetProfile): string | undefined {
  const c = profile.connection;
  if (c.type !== 'listen' || profile.device.kind !== 'concentrator' || profile.device.protocol !== 'gw1376') return undefined;
  const d = profile.device.declaration as ConcentratorDeclaration;
  let scenario: CollectionScenario;
  try {
    scenario = scenarioOf(d, profile.source);
  } catch {
    return undefined;
  }
  const time = d.vendor?.time ?? DEFAULT_VENDOR_TIME;
  const local = new Date(scenario.startMs + d.utcOffsetMinutes * 60_000).toISOString().slice(0, 16).replace('T', ' ');
  const how =
    time.mode === 'real'
      ? "real time: the meters run on this machine's clock and nothing is skipped (each of the suite's six nights takes a night)"
      : `real time from the scenario's start ${local} local (its clock set to it by AFN 05 F31 at each login), quiet stretches skipped ` +
        `(after ${time.quietSeconds} s without a byte on any meter bus; by at most ${time.stepMinutes} min inside the ${d.collection.start}-${d.collection.deadline} window)`;
  const ports = Object.entries(d.vendor?.ports ?? {})
    .map(([port, a]) => `port ${port} ↔ ${adapterText(a)}`)
    .join(', ');
  return (
    `collection suite on ${profile.name}: listening on ${c.host}:${c.port} for the concentrator's Q/GDW 1376.1 uplink (terminal ${d.terminal.areaCode}-${d.terminal.address}); ` +
    `MeterLab's meters of scenario ${d.meters.scenario} (concentrator ${d.meters.concentrator}) on ${ports || 'no adapter (device.declaration.vendor.ports)'}; ${how}`
  );
}

/** "port 2 (RS-485, 2400 8E1, DL/T 645 meters)". */
const portText = (wp: WorldPort): string => describePortPlan({ ...wp.plan, line: wp.port.line });

/**
 * The meters behind a vendor's concentrator (`connection.type "listen"`): the declaration's
 * scenario concentrator built on the target's clock, each of its buses carried to the
 * concentrator's port by the adapter `vendor.ports` names. The adapter takes the place of the
 * reference concentrator's node on the bus: what the concentrator sends goes on the bus at its line
 * rate, what the meters answer goes back to it. Every port of the scenario's concentrator needs an
 * adapter and no other is named; an adapter that cannot be opened is a LinkError naming its field.
 */
async function createConcentratorCounterpart(d: ConcentratorDeclaration, profileSource: string, clock: import('../core/clock.ts').Clock) {
  notAStation(d);
  const v = d.vendor;
  if (!v) {
    throw new ProfileError(
      'device.declaration.vendor: a concentrator that dials in needs vendor.ports, the adapter wired to each of its meter ports ({ "2": { "path": "/dev/ttyUSB0" }, ... })',
    );
  }
  const base = scenarioOf(d, profileSource);
  const scenario: CollectionScenario = v.time.mode === 'real' ? { ...base, startMs: clock.now() } : base;
  const world = buildCollectionWorld(scenario, { clock, concentrators: [d.meters.concentrator - 1] });
  const wc = world.concentrators[0];
  const opened: Link[] = [];
  const fail = async (e: Error): Promise<never> => {
    for (const l of opened) await l.close().catch(() => undefined);
    await world.close().catch(() => undefined);
    throw e;
  };
  if (!wc) return fail(new ProfileError(`device.declaration.meters.concentrator: the scenario has no concentrator ${d.meters.concentrator}`));
  const ports = wc.world.ports;
  const missing = ports.filter((wp) => v.ports[String(wp.port.port)] === undefined);
  // Keys as given: "02" is no port of the plan (it names port 2 as "2"), and port 2 is then missing.
  const unknown = Object.keys(v.ports).filter((k) => !ports.some((wp) => String(wp.port.port) === k));
  if (missing.length > 0 || unknown.length > 0) {
    const parts = [
      ...(missing.length > 0 ? [`no adapter for ${missing.map(portText).join(', ')}`] : []),
      ...(unknown.length > 0 ? [`port ${unknown.join(', ')}: the scenario's concentrator has no such port`] : []),
    ];
    return fail(new ProfileError(`device.declaration.vendor.ports: ${parts.join('; ')} (its ports: ${ports.map(portText).join(', ')})`));
  }
  const adapters: { port: number; where: string }[] = [];
  for (const wp of ports) {
    const a = v.ports[String(wp.port.port)]!;
    const where = adapterText(a);
    let link: Link;
    try {
      link = 'path' in a ? await openSerialLink({ path: a.path, line: wp.port.line }) : await connectTcpLink({ host: a.host, port: a.port, name: `port ${wp.port.port}→${a.host}:${a.port}` });
    } catch (e) {
      return fail(new LinkError(`device.declaration.vendor.ports.${wp.port.port}: ${(e as Error).message}`, { cause: e }));
    }
    opened.push(link);
    adapters.push({ port: wp.port.port, where });
    // The adapter in the concentrator's place on the bus: both ways, in order.
    const node = wp.port.link;
    link.on('data', (chunk) => void node.write(chunk).catch(() => undefined));
    node.on('data', (chunk) => void link.write(chunk).catch(() => undefined));
    link.on('error', () => undefined);
  }
  const backchannel: ConcentratorCounterpart = { scenario, world: wc, adapters };
  return {
    backchannel,
    stop: async () => {
      for (const l of opened) await l.close().catch(() => undefined);
      await world.close().catch(() => undefined);
    },
  };
}

registerTargetProtocol<ConcentratorDeclaration, Gw1376Master, ConcentratorDefect>({
  id: 'gw1376',
  title: 'Q/GDW 1376.1-2013 (concentrator uplink)',
  kinds: ['concentrator', 'master-station'],
  declaration: ConcentratorDeclarationSchema,
  // A master station is the system under test, MeterLab runs the concentrators: opened by
  // openMasterStationTarget (gw1376-station-target.ts), never by createMaster / createSimulator.
  kindDeclarations: { 'master-station': MasterStationDeclarationSchema },
  kindDefects: { 'master-station': MasterStationDefectSchema },
  // The uplink is a TCP/GPRS link with no serial line; a line is only asked of a serial connection.
  lineOf: () => DLT645_DEFAULT_LINE,
  addressOf: (d) => (notAStation(d), `${d.terminal.areaCode}-${String(d.terminal.address).padStart(5, '0')}`),
  describe: describeGw1376,
  createMaster: ({ link, clock, settings, declaration: d }) =>
    new Gw1376Master({
      ...notAStation(d),
      link,
      clock,
      msa: d.msa,
      password: passwordBytes(d),
      // CON-02: 5 s response timeout; a profile may ask for more.
      timeoutMs: Math.max(5000, settings.timeoutMs),
      attempts: settings.attempts,
      utcOffsetMinutes: d.utcOffsetMinutes,
      terminal: { areaCode: d.terminal.areaCode, terminal: d.terminal.address },
    }),
  createSimulator: ({ declaration: d, defects, link, clock }) => {
    notAStation(d);
    const scenario = scenarioOf(d);
    const index = d.meters.concentrator - 1;
    const world = buildCollectionWorld(scenario, { clock, concentrators: [index] });
    const wc = world.concentrators[0];
    if (!wc) throw new ProfileError(`device.declaration.meters.concentrator: the scenario has no concentrator ${d.meters.concentrator}`);
    const uplink = new UplinkRelay(link, `uplink ${d.terminal.areaCode}-${d.terminal.address}`);
    const switches = concentratorDefectSwitches(defects);
    const concentrator = createConcentrator({
      clock,
      ports: wc.ports,
      // One object for both: the core reads its switches, the terminal its own.
      defects: { ...switches.core, ...switches.terminal },
      utcOffsetMinutes: d.utcOffsetMinutes,
      ...(wc.curves ? { curves: wc.curves } : {}),
      address: { areaCode: d.terminal.areaCode, terminal: d.terminal.address },
      password: passwordBytes(d),
      connect: wc.throughUplink(() => uplink.connect()),
      parameters: { heartbeatMinutes: d.heartbeatMinutes },
    });
    const cancelReboot = wc.scheduleReboot((offMs) => concentrator.powerCycle(offMs));
    concentrator.start();
    const backchannel: ConcentratorBackchannel = {
      scenario,
      world: wc,
      concentrator,
      uplink,
      powerCycle: (offMs) => concentrator.powerCycle(offMs),
    };
    return {
      backchannel,
      stop: () => {
        cancelReboot();
        void (async () => {
          await concentrator.stop().catch(() => undefined);
          await uplink.close().catch(() => undefined);
          await world.close().catch(() => undefined);
        })();
      },
    };
  },
  createCounterpart: ({ declaration, profileSource, clock }) => createConcentratorCounterpart(declaration, profileSource, clock),
  defects: ConcentratorDefectSchema,
});
