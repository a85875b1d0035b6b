/**
 * Opening a handle on the system under test. Suites see only `Target`: a master on a
 * capture-tapped link, the clock it runs on, and (for the reference target) the simulator's
 * backchannel. `openTarget` opens a DL/T 645 target (`Target`, with `master`); `openDeviceTarget`
 * opens a target of any registered protocol (`DeviceTarget`, with `masters[protocol]`;
 * protocols.ts). The same suite code runs against
 * - the built-in reference simulator, in virtual time, over the RS-485 bus model (bytes paced
 *   at the declared line rate), the serialport mock binding, or an in-memory pair;
 * - a real meter on a serial port, or behind a TCP serial server, in real time.
 */
import type { Clock } from '../core/clock.ts';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { LinkError, ProfileError } from '../core/errors.ts';
import {
  CaptureTap,
  JsonlFileCaptureSink,
  MemoryCaptureSink,
  Rs485Bus,
  connectTcpLink,
  createMemoryPair,
  createMockSerialPair,
  openSerialLink,
  type CaptureRecord,
  type CaptureSink,
  type Describe,
  type Link,
} from '../links/index.ts';
import { characterTimeMs, type LineSettings } from '../links/link.ts';
import { UplinkListener } from '../links/uplink-listener.ts';
import type { Dlt645Master } from '../masters/index.ts';
import { createElectricityMeter, type ElectricityMeter, type ElectricityMeterBackchannel } from '../../simulators/electricity-meter/index.ts';
import type { DeviceReferenceConnection, DeviceTargetProfile, ReferenceConnection, TargetProfile } from './profile.ts';
import { DLT645_TARGET_PROTOCOL } from './dlt645-protocol.ts';
import './protocol-entries.ts';
import { targetProtocol, targetProtocolIds, type TargetMasterBase, type TargetMasters, type TargetProtocol, type TargetSimulator, type TargetCounterpart } from './protocols.ts';

export { describeDlt645 } from './dlt645-protocol.ts';

/** How the target is reached: simulated, a serial port, a TCP serial server, or a device that dials MeterLab's listener. */
export type TargetKind = 'reference' | 'serial' | 'tcp' | 'listen';

/** A target of any protocol (openDeviceTarget). A DL/T 645 `Target` is one. */
export interface DeviceTarget {
  readonly profile: DeviceTargetProfile;
  /** Virtual (auto-advancing) for the reference target, real for hardware. */
  readonly clock: Clock;
  readonly kind: TargetKind;
  /** True when timings are modelled (virtual time), false when measured. */
  readonly virtualTime: boolean;
  /** One master per protocol the target speaks, keyed by protocol id (`masters.dlt645`, ...). */
  readonly masters: TargetMasters;
  /** The masters' link, capture-tapped. */
  readonly link: Link;
  /** As `Target.setBaudRate`: switches the master's side of the line (absent behind a TCP serial server). */
  readonly setBaudRate?: (baudRate: number) => Promise<void>;
  /** As `Target.lineSpeedEnforced`. */
  readonly lineSpeedEnforced: boolean;
  /** Reference targets: the simulated device ... */
  readonly simulator?: TargetSimulator;
  /** ... and its backchannel (typed per device kind: simulators/<device>). */
  readonly backchannel?: unknown;
  /** A device that dials in: what MeterLab runs on its far side (the meters behind a vendor's concentrator) ... */
  readonly counterpart?: TargetCounterpart;
  /** ... and the listener it dials (its port; `drop()` closes its connection, which it must dial again). */
  readonly listener?: UplinkListener;
  readonly captures: CaptureRecord[];
  flushCaptures(): void;
  close(): Promise<void>;
}

export interface Target extends DeviceTarget {
  readonly profile: TargetProfile;
  /** Virtual (auto-advancing) for the reference target, real for hardware. */
  readonly clock: Clock;
  readonly kind: TargetKind;
  /** True when timings are modelled (virtual time), false when measured. */
  readonly virtualTime: boolean;
  /** The DL/T 645 master, set up with the profile's timeout, attempts and preamble (also `masters.dlt645`). */
  readonly master: Dlt645Master;
  readonly masters: TargetMasters & { readonly dlt645: Dlt645Master };
  /** The master's link, capture-tapped. */
  readonly link: Link;
  /**
   * Switches the master's side of the line to another baud rate (after a 17H reply) and tells the
   * master to time exchanges at it. Absent where the harness cannot follow the meter: behind a
   * TCP serial server the server's port rate is set in the server, not from here.
   */
  readonly setBaudRate?: (baudRate: number) => Promise<void>;
  /**
   * True when bytes sent at the wrong line speed are garbled (the RS-485 bus model, a real serial
   * port): a meter that did not switch rate stops understanding the master. False on links that
   * carry bytes whatever the rate (the in-memory pair, the serialport mock binding).
   */
  readonly lineSpeedEnforced: boolean;
  /** Reference target only: the simulated meter (model, server) ... */
  readonly simulator?: ElectricityMeter;
  /** ... and its backchannel (cause physical events: load, mains, button presses). */
  readonly backchannel?: ElectricityMeterBackchannel;
  /**
   * Every chunk on the master's link, both directions, with one-line decodes. Chunks are
   * coalesced into frames by line silence, so the newest frame may still be held back: call
   * `flushCaptures()` before reading the end of this list.
   */
  readonly captures: CaptureRecord[];
  /** Records the frame the capture tap is still assembling, if any. */
  flushCaptures(): void;
  /** Stops the master, closes the link (and the simulator, bus, sinks); leaves no timer or handle. */
  close(): Promise<void>;
}

export interface OpenTargetOptions {
  /** A second capture sink (e.g. a JsonlFileCaptureSink for the evidence bundle); close() closes it. */
  readonly captureSink?: CaptureSink;
  /** Shorthand for `captureSink: new JsonlFileCaptureSink(captureFile)` (folders are created). */
  readonly captureFile?: string;
  /** One-line decode of captured bytes; default the DL/T 645 codec's describeFrame; false for none. */
  readonly describe?: Describe | false;
  /** Reference targets: the virtual clock to run on (default a new auto-advancing VirtualClock). */
  readonly clock?: Clock;
}

/** Opens the DL/T 645 target a profile describes. Link failures reject with the link's LinkError. */
export async function openTarget(profile: TargetProfile, options: OpenTargetOptions = {}): Promise<Target> {
  return (await openWith(profile, DLT645_TARGET_PROTOCOL as TargetProtocol<unknown, TargetMasterBase>, profile.meter, options)) as Target;
}

/**
 * Opens the target of any registered protocol (device-profile.ts loads its profile): its master
 * is `masters[profile.device.protocol]`; captures are decoded by the protocol's `describe`. A
 * DL/T 645 profile opens as openTarget does.
 */
export async function openDeviceTarget(profile: DeviceTargetProfile, options: OpenTargetOptions = {}): Promise<DeviceTarget> {
  if (isDlt645Profile(profile)) return openTarget(profile, options);
  return openWith(profile, protocolOf(profile), profile.device.declaration, options);
}

async function openWith(
  profile: DeviceTargetProfile,
  protocol: TargetProtocol<unknown, TargetMasterBase>,
  declaration: unknown,
  options: OpenTargetOptions,
): Promise<DeviceTarget> {
  const memory = new MemoryCaptureSink();
  const sinks: CaptureSink[] = [memory];
  if (options.captureSink) sinks.push(options.captureSink);
  const file = options.captureFile ? new JsonlFileCaptureSink(options.captureFile) : undefined;
  if (file) sinks.push(file);
  const describe = options.describe === false ? undefined : (options.describe ?? protocol.describe);
  const c = profile.connection;
  try {
    switch (c.type) {
      case 'reference':
        return await openReference(profile, c, memory, sinks, describe, options.clock);
      case 'serial': {
        const clock = options.clock ?? new RealClock();
        const link = await openSerialLink({ path: c.path, line: c.line });
        return assemble({
          profile,
          protocol,
          declaration,
          kind: 'serial',
          clock,
          raw: link,
          line: c.line,
          coalesceMs: HARDWARE_COALESCE_MS,
          memory,
          sinks,
          describe,
          cleanup: [],
          switchBaud: (baudRate) => link.setBaudRate(baudRate),
          lineSpeedEnforced: true,
        });
      }
      case 'listen': {
        const create = protocol.createCounterpart;
        if (!create) throw new ProfileError(`target profile ${profile.source}: connection.type: ${protocol.title} devices do not dial in; reach them over "serial" or "tcp"`);
        const clock = options.clock ?? new RealClock();
        // The far side first (its adapters, its meters): the device may dial the moment we listen.
        const counterpart = await create({ declaration, profileSource: profile.source, clock }).catch((e: unknown) => {
          // The counterpart's errors name a field; say which profile it is in.
          if (e instanceof ProfileError) throw new ProfileError(`target profile ${profile.source}: ${e.message}`, { cause: e });
          if (e instanceof LinkError) throw new LinkError(`target profile ${profile.source}: ${e.message}`, { cause: e });
          throw e;
        });
        let link: UplinkListener;
        try {
          link = await UplinkListener.listen({ host: c.host, port: c.port });
        } catch (e) {
          await counterpart.stop().catch(() => undefined);
          throw e;
        }
        return assemble({
          profile,
          protocol,
          declaration,
          kind: 'listen',
          clock,
          raw: link,
          line: undefined,
          coalesceMs: HARDWARE_COALESCE_MS,
          memory,
          sinks,
          describe,
          cleanup: [() => counterpart.stop()],
          counterpart,
          listener: link,
          lineSpeedEnforced: false,
        });
      }
      case 'tcp': {
        const clock = options.clock ?? new RealClock();
        const link = await connectTcpLink({ host: c.host, port: c.port });
        // The meter's line is behind the serial server: its rate still bounds the transmission time.
        const line = protocol.lineOf(declaration);
        return assemble({ profile, protocol, declaration, kind: 'tcp', clock, raw: link, line, coalesceMs: HARDWARE_COALESCE_MS, memory, sinks, describe, cleanup: [], lineSpeedEnforced: true });
      }
    }
  } catch (e) {
    // Nothing half-open survives a failed open: the file sink we created is closed.
    await file?.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Capture coalescing on hardware: a USB adapter or a serial server hands a frame over in
 * several chunks (USB latency timers are up to 16 ms); chunks closer than this are one record.
 */
const HARDWARE_COALESCE_MS = 50;

/**
 * A reference target: the transport between the master and the simulated device, then the device
 * (DL/T 645: the electricity meter from the profile's simulator profile; another protocol: its
 * entry's createSimulator from the declaration).
 */
async function openReference(
  profile: DeviceTargetProfile,
  c: DeviceReferenceConnection,
  memory: MemoryCaptureSink,
  sinks: CaptureSink[],
  describe: Describe | undefined,
  givenClock: Clock | undefined,
): Promise<DeviceTarget> {
  const clock = givenClock ?? new VirtualClock();
  const entry = protocolOf(profile);
  // A DL/T 645 reference connection carries the electricity meter's simulator profile (profile.ts).
  const meterProfile = isDlt645Profile(profile) ? (c as ReferenceConnection).simulator : undefined;
  const line = meterProfile ? meterProfile.meter.line : entry.lineOf(profile.device.declaration);
  const deviceAddress = meterProfile ? meterProfile.meter.address : entry.addressOf(profile.device.declaration);
  const cleanup: (() => Promise<void> | void)[] = [];
  let hostLink: Link;
  let deviceLink: Link;
  let masterLine: LineSettings | undefined;
  let coalesceMs = 0;
  let switchBaud: (baudRate: number) => Promise<void>;
  let lineSpeedEnforced = false;
  switch (c.transport) {
    case 'bus': {
      const bus = new Rs485Bus({ clock, line, name: 'rs485', delivery: c.delivery });
      deviceLink = bus.attach(`meter-${deviceAddress}`);
      const node = bus.attach('master');
      hostLink = node;
      cleanup.push(() => bus.close());
      masterLine = line;
      // Merge chunks less than 3.5 character times apart (a frame comes whole, or byte by byte
      // on a bus in byte delivery or around a collision): one record per frame either way.
      coalesceMs = 3.5 * characterTimeMs(line);
      switchBaud = async (baudRate) => node.setLine({ ...node.line, baudRate });
      lineSpeedEnforced = true;
      break;
    }
    case 'mock-serial': {
      const pair = await createMockSerialPair({ line, clock });
      hostLink = pair.host;
      deviceLink = pair.device;
      cleanup.push(() => pair.device.close());
      switchBaud = (baudRate) => pair.host.setBaudRate(baudRate);
      break;
    }
    case 'memory': {
      const [a, b] = createMemoryPair({ names: ['memory:master', 'memory:meter'] });
      hostLink = a;
      deviceLink = b;
      cleanup.push(() => b.close());
      // No line: nothing to switch.
      switchBaud = async () => undefined;
      break;
    }
  }
  let simulator: TargetSimulator;
  try {
    if (meterProfile) {
      simulator = createElectricityMeter({ profile: meterProfile, link: deviceLink, clock, seed: c.seed });
    } else if (entry.createSimulator) {
      simulator = entry.createSimulator({ declaration: profile.device.declaration, defects: c.defects ?? [], link: deviceLink, clock, seed: c.seed });
    } else {
      throw new ProfileError(`target profile ${profile.source}: connection: ${entry.title} has no reference simulator yet; use a serial or TCP connection`);
    }
  } catch (e) {
    await hostLink.close().catch(() => undefined);
    for (const f of cleanup) await Promise.resolve(f()).catch(() => undefined);
    throw e;
  }
  cleanup.unshift(() => stopSimulator(simulator));
  return assemble({
    profile,
    protocol: entry,
    declaration: profile.device.declaration,
    kind: 'reference',
    clock,
    raw: hostLink,
    line: masterLine,
    coalesceMs,
    memory,
    sinks,
    describe,
    cleanup,
    simulator,
    switchBaud,
    lineSpeedEnforced,
  });
}

/** The protocol entry of a profile: DL/T 645, or a registered one (ProfileError when none is). */
function protocolOf(profile: DeviceTargetProfile): TargetProtocol<unknown, TargetMasterBase> {
  const entry = targetProtocol(profile.device.protocol);
  if (!entry) {
    throw new ProfileError(`target profile ${profile.source}: device.protocol: no protocol "${profile.device.protocol}" is registered (known: ${targetProtocolIds().join(', ')})`);
  }
  return entry;
}

/** True for a DL/T 645 profile (a `TargetProfile`, with `meter` and the DL/T 645 suites' fields). */
export function isDlt645Profile(profile: DeviceTargetProfile): profile is TargetProfile {
  return profile.device.protocol === DLT645_TARGET_PROTOCOL.id;
}

interface AssembleOptions {
  profile: DeviceTargetProfile;
  protocol: TargetProtocol<unknown, TargetMasterBase>;
  declaration: unknown;
  kind: TargetKind;
  clock: Clock;
  raw: Link;
  /** Line settings for the master's timing estimates; undefined where no line time is modelled. */
  line: LineSettings | undefined;
  coalesceMs: number;
  memory: MemoryCaptureSink;
  sinks: CaptureSink[];
  describe: Describe | undefined;
  cleanup: (() => Promise<void> | void)[];
  simulator?: TargetSimulator;
  counterpart?: TargetCounterpart;
  listener?: UplinkListener;
  /** Switches the master's link to another baud rate; absent where the harness cannot. */
  switchBaud?: (baudRate: number) => Promise<void>;
  lineSpeedEnforced: boolean;
}

/** A Target (with `master`) for a DL/T 645 profile, a DeviceTarget otherwise. */
function assemble(o: AssembleOptions): DeviceTarget {
  const tap = new CaptureTap({
    link: o.raw,
    clock: o.clock,
    sink: o.sinks,
    ...(o.describe ? { describe: o.describe } : {}),
    coalesceMs: o.coalesceMs,
  });
  const master = o.protocol.createMaster({ link: tap, clock: o.clock, settings: o.profile.master, line: o.line, declaration: o.declaration });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      master.dispose();
      tap.flush();
      const errors: unknown[] = [];
      const step = async (f: () => Promise<void> | void): Promise<void> => {
        try {
          await f();
        } catch (e) {
          errors.push(e);
        }
      };
      await step(() => tap.close());
      for (const f of o.cleanup) await step(f);
      for (const s of o.sinks) await step(() => s.close());
      if (errors.length > 0) {
        const e = errors[0];
        throw e instanceof LinkError ? e : new LinkError(`closing target ${o.profile.name}: ${String((e as Error)?.message ?? e)}`, { cause: e });
      }
    })();
    return closing;
  };
  const switchBaud = o.switchBaud;
  const setBaudRate = switchBaud
    ? async (baudRate: number): Promise<void> => {
        await master.idle?.();
        await switchBaud(baudRate);
        if (master.line) master.setLine?.({ ...master.line, baudRate });
      }
    : undefined;
  const masters = { [o.protocol.id]: master } as TargetMasters;
  return {
    profile: o.profile,
    clock: o.clock,
    kind: o.kind,
    virtualTime: o.clock.virtual,
    // The DL/T 645 master is also `master` (every DL/T 645 suite reads it there).
    ...(o.protocol.id === DLT645_TARGET_PROTOCOL.id ? { master } : {}),
    masters,
    link: tap,
    ...(setBaudRate ? { setBaudRate } : {}),
    lineSpeedEnforced: o.lineSpeedEnforced,
    ...(o.simulator ? { simulator: o.simulator, ...(o.simulator.backchannel !== undefined ? { backchannel: o.simulator.backchannel } : {}) } : {}),
    ...(o.counterpart ? { counterpart: o.counterpart } : {}),
    ...(o.listener ? { listener: o.listener } : {}),
    captures: o.memory.records,
    flushCaptures: () => tap.flush(),
    close,
  };
}

/** Stops the simulator's server (it stops listening to its link and answers nothing more). */
function stopSimulator(sim: TargetSimulator): void {
  sim.stop();
}

