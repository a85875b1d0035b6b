/**
 * Opening a handle on the system under test. Suites see only `Target`: a master on a
 * capture-tapped link, the clock it runs on, and (for the reference target) the simulator's
 * backchannel. The same suite code runs against
 * - the built-in reference simulator, in virtual time, over the RS-485 bus model (bytes paced
 *   at the declared line rate), the serialport mock binding, or an in-memory pair;
 * - a real meter on a serial port, or behind a TCP serial server, in real time.
 */
import type { Clock } from '../core/clock.ts';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
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
import { Dlt645Master } from '../masters/index.ts';
import { Dlt645FrameScanner, FRAME_OVERHEAD, PREAMBLE_BYTE, describeFrame } from '../protocols/dlt645/index.ts';
import { DICTIONARY } from '../protocols/dlt645/dictionary.ts';
import { createElectricityMeter, type ElectricityMeter, type ElectricityMeterBackchannel } from '../../simulators/electricity-meter/index.ts';
import type { TargetProfile } from './profile.ts';

export type TargetKind = 'reference' | 'serial' | 'tcp';

export interface Target {
  readonly profile: TargetProfile;
  /** Virtual (auto-advancing) for the reference target, real for hardware. */
  readonly clock: Clock;
  readonly kind: TargetKind;
  /** True when timings are modelled (virtual time), false when measured. */
  readonly virtualTime: boolean;
  /** The DL/T 645 master, set up with the profile's timeout, attempts and preamble. */
  readonly master: Dlt645Master;
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

/** Opens the target a profile describes. Link failures reject with the link's LinkError. */
export async function openTarget(profile: TargetProfile, options: OpenTargetOptions = {}): Promise<Target> {
  const memory = new MemoryCaptureSink();
  const sinks: CaptureSink[] = [memory];
  if (options.captureSink) sinks.push(options.captureSink);
  const file = options.captureFile ? new JsonlFileCaptureSink(options.captureFile) : undefined;
  if (file) sinks.push(file);
  const describe = options.describe === false ? undefined : (options.describe ?? describeDlt645);
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
      case 'tcp': {
        const clock = options.clock ?? new RealClock();
        const link = await connectTcpLink({ host: c.host, port: c.port });
        // The meter's line is behind the serial server: its rate still bounds the transmission time.
        const line = profile.meter.line;
        return assemble({ profile, kind: 'tcp', clock, raw: link, line, coalesceMs: HARDWARE_COALESCE_MS, memory, sinks, describe, cleanup: [], lineSpeedEnforced: true });
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

async function openReference(
  profile: TargetProfile,
  c: Extract<TargetProfile['connection'], { type: 'reference' }>,
  memory: MemoryCaptureSink,
  sinks: CaptureSink[],
  describe: Describe | undefined,
  givenClock: Clock | undefined,
): Promise<Target> {
  const clock = givenClock ?? new VirtualClock();
  const line = c.simulator.meter.line;
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
      deviceLink = bus.attach(`meter-${c.simulator.meter.address}`);
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
  let simulator: ElectricityMeter;
  try {
    simulator = createElectricityMeter({ profile: c.simulator, link: deviceLink, clock, seed: c.seed });
  } catch (e) {
    await hostLink.close().catch(() => undefined);
    for (const f of cleanup) await Promise.resolve(f()).catch(() => undefined);
    throw e;
  }
  cleanup.unshift(() => stopSimulator(simulator));
  return assemble({
    profile,
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

interface AssembleOptions {
  profile: TargetProfile;
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
  simulator?: ElectricityMeter;
  /** Switches the master's link to another baud rate; absent where the harness cannot. */
  switchBaud?: (baudRate: number) => Promise<void>;
  lineSpeedEnforced: boolean;
}

function assemble(o: AssembleOptions): Target {
  const tap = new CaptureTap({
    link: o.raw,
    clock: o.clock,
    sink: o.sinks,
    ...(o.describe ? { describe: o.describe } : {}),
    coalesceMs: o.coalesceMs,
  });
  const master = new Dlt645Master({
    link: tap,
    clock: o.clock,
    timeoutMs: o.profile.master.timeoutMs,
    attempts: o.profile.master.attempts,
    preamble: o.profile.master.preamble,
    ...(o.line ? { line: o.line } : {}),
  });
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
        await master.idle();
        await switchBaud(baudRate);
        if (master.line) master.setLine({ ...master.line, baudRate });
      }
    : undefined;
  return {
    profile: o.profile,
    clock: o.clock,
    kind: o.kind,
    virtualTime: o.clock.virtual,
    master,
    link: tap,
    ...(setBaudRate ? { setBaudRate } : {}),
    lineSpeedEnforced: o.lineSpeedEnforced,
    ...(o.simulator ? { simulator: o.simulator, backchannel: o.simulator.backchannel } : {}),
    captures: o.memory.records,
    flushCaptures: () => tap.flush(),
    close,
  };
}

/** Stops the simulator's server (it stops listening to its link and answers nothing more). */
function stopSimulator(sim: ElectricityMeter): void {
  sim.stop();
}

/** Scanner reasons that condemn a candidate whose length L was read: its bytes run to 68 + 12 + L. */
const WHOLE_FRAME_ERRORS: ReadonlySet<string> = new Set(['dlt645.checksum', 'dlt645.end', 'dlt645.address']);

/**
 * One-line decode of captured bytes: every complete frame in them, described by the codec
 * (with values from the dictionary), joined with " | "; bytes that are no frame are counted with
 * the reason. A complete frame that fails its checksum (or end byte, or address) is one discard
 * with that reason, bytes inside it that the scanner rescanned included: a wrong checksum byte
 * 68H looks like the start of a frame that never ends, but the frame is complete, and calling
 * it "truncated" would send the reader after the wrong fault (issue 6).
 */
export const describeDlt645: Describe = (bytes) => {
  const scanner = new Dlt645FrameScanner();
  const parts: string[] = [];
  let offset = 0;
  /** End (offset) of the last broken frame with a known length, and its part in `parts`. */
  let broken: { end: number; part: number; count: number; code: string } | undefined;
  for (const e of [...scanner.push(bytes), ...scanner.flush()]) {
    if (e.type === 'frame') {
      parts.push(describeFrame(e.decoded, e.message, DICTIONARY));
      offset = e.decoded.end;
      continue;
    }
    const start = offset;
    offset += e.bytes.length;
    if (broken && start < broken.end && broken.part === parts.length - 1) {
      broken.count += e.bytes.length;
      parts[broken.part] = `${broken.count} byte(s) discarded (${broken.code})`;
      continue;
    }
    parts.push(`${e.bytes.length} byte(s) discarded (${e.error.code})`);
    broken = undefined;
    if (WHOLE_FRAME_ERRORS.has(e.error.code)) {
      let head = start;
      while (head < bytes.length && bytes[head] === PREAMBLE_BYTE) head++;
      const length = bytes[head + 9];
      if (length !== undefined) broken = { end: head + FRAME_OVERHEAD + length, part: parts.length - 1, count: e.bytes.length, code: e.error.code };
    }
  }
  return parts.length > 0 ? parts.join(' | ') : undefined;
};
