/**
 * The protocols a target can speak, one entry each: what its device declares (a zod schema kept in
 * harness/protocols/<p>/declaration.ts), the line that declaration implies, the one-line decode of
 * captured bytes, the master on the target's link, and (optionally) the simulated device of a
 * reference target. harness/targets/README.md "Adding a protocol" and docs/adding-a-protocol.md.
 *
 * DL/T 645 is the built-in entry (dlt645-protocol.ts); its targets keep the typed `meter`,
 * `master` and `simulator` the DL/T 645 suites use. A new protocol adds one file that calls
 * `registerTargetProtocol` and one import line in protocol-entries.ts; nothing else in
 * harness/targets changes.
 */
import type { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import type { StreamScanner } from '../core/silence.ts';
import type { Describe, Link } from '../links/index.ts';
import type { LineSettings } from '../links/link.ts';

/**
 * The device kinds a target profile can declare (`device.kind`). A kind names what is measured;
 * the protocol names how it is read (a water meter may speak CJ/T 188 or M-Bus). An
 * 'interface-converter' (MM-01) is the device between a concentrator's RS-485 port and the meters
 * it reaches over micro-power wireless: one device upstream, its meters in its declaration. A
 * 'concentrator' (issue 12) is reached through its Q/GDW 1376.1 uplink, its meters behind it. A
 * 'master-station' (issue 12) is the system that collects from concentrators: MeterLab runs the
 * concentrators (and their meters) that log in to it.
 */
export const DEVICE_KINDS = ['electricity-meter', 'water-meter', 'gas-meter', 'heat-meter', 'interface-converter', 'concentrator', 'master-station'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/**
 * The masters of a target, one per protocol it speaks, keyed by protocol id. A protocol adds its
 * own key by declaration merging, next to its entry (dlt645-protocol.ts does):
 *
 *   declare module './protocols.ts' { interface TargetMasters { readonly cjt188?: Cjt188Master } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- filled by declaration merging
export interface TargetMasters {}

/** What openDeviceTarget needs of any protocol's master. */
export interface TargetMasterBase {
  /** Stops the master: pending exchanges fail, no timer is left. */
  dispose(): void;
  /** Resolves when no exchange is in progress (before a line switch). */
  idle?(): Promise<void>;
  /** The line the master times its exchanges at, if it models one. */
  readonly line?: LineSettings | undefined;
  setLine?(line: LineSettings | undefined): void;
}

/** What a protocol's master is built from. */
export interface TargetMasterContext<Declaration> {
  /** The target's capture-tapped link. */
  readonly link: Link;
  readonly clock: Clock;
  /** The profile's `master` settings (timeout per attempt, attempts, preamble). */
  readonly settings: { readonly timeoutMs: number; readonly attempts: number; readonly preamble: number };
  /** Line settings for the master's timing estimates; undefined where no line time is modelled. */
  readonly line: LineSettings | undefined;
  readonly declaration: Declaration;
}

/** The simulated device of a reference target: stopped by the target's close(). */
export interface TargetSimulator {
  stop(): void;
  /** What a test does to the physical device (simulators/device/backchannel.ts). */
  readonly backchannel?: unknown;
}

/** What a reference target's simulated device is built from. */
export interface TargetSimulatorContext<Declaration, Defect = unknown> {
  readonly declaration: Declaration;
  /**
   * The defects a broken variant of the reference device carries (profile `connection.defects`,
   * each validated by the entry's `defects` schema); empty for the conformant device.
   */
  readonly defects: readonly Defect[];
  /** The device's end of the link (a bus node, the mock port's device side, the memory pair's other end). */
  readonly link: Link;
  readonly clock: Clock;
  readonly seed: number;
}

/**
 * What MeterLab runs on the far side of a real device that dials in (`connection: { type: "listen" }`):
 * the meters behind a vendor's concentrator, served on MeterLab's serial adapters wired to its
 * ports. Stopped by the target's close(), after the master.
 */
export interface TargetCounterpart {
  stop(): Promise<void>;
  /** What a suite reaches through the target (typed per protocol: gw1376-protocol.ts `ConcentratorCounterpart`). */
  readonly backchannel: unknown;
}

/** What a counterpart is built from. */
export interface TargetCounterpartContext<Declaration> {
  readonly declaration: Declaration;
  /** The profile's file (relative paths in the declaration are relative to its folder). */
  readonly profileSource: string;
  /** The target's clock (real time, perhaps shifted: harness/core ShiftedRealClock). */
  readonly clock: Clock;
}

/**
 * One presence check of the declared device (harness/targets/preflight.ts preflightDevice, before
 * `meterlab run` starts a suite; the suites' liveness checks): it answers at its declared address,
 * answers only elsewhere (`seenAddress`), or not at all.
 */
export interface DevicePresence {
  readonly state: 'answering' | 'misaddressed' | 'silent';
  /** What was sent and what came back, one clause. */
  readonly detail: string;
  readonly seenAddress?: string;
}

export interface TargetProtocol<Declaration = unknown, Master extends TargetMasterBase = TargetMasterBase, Defect = unknown> {
  /** Protocol id as profiles name it (`device.protocol`): 'dlt645', 'cjt188', 'mbus'. */
  readonly id: string;
  /** The standard, for messages: "DL/T 645-2007". */
  readonly title: string;
  /** The device kinds this protocol reads. */
  readonly kinds: readonly DeviceKind[];
  /** The device's declaration (`device.declaration` in a profile); errors are reported under that path. */
  readonly declaration: z.ZodType<Declaration, unknown>;
  /**
   * A kind whose declaration is not `declaration` (gw1376: a master station declares what MeterLab's
   * concentrators need to reach it, not a concentrator). Such a kind is opened by its own opener,
   * not by `createMaster` / `createSimulator` (which see `declaration`'s kinds only).
   */
  readonly kindDeclarations?: Partial<Record<DeviceKind, z.ZodType<unknown, unknown>>>;
  /** The broken variants of such a kind's reference device (`connection.defects`), as `defects`. */
  readonly kindDefects?: Partial<Record<DeviceKind, z.ZodType<unknown, unknown>>>;
  /** The serial line the declaration implies (default of a serial connection; bus speed; timing behind a TCP server). */
  lineOf(declaration: Declaration): LineSettings;
  /** Address of the declared device, for names (the bus node of a reference target). */
  addressOf(declaration: Declaration): string;
  /** One-line decode of captured bytes (the capture tap's default). */
  readonly describe: Describe;
  /** The protocol's master on the target's link. */
  createMaster(context: TargetMasterContext<Declaration>): Master;
  /** The simulated device for reference targets; absent while the protocol has none. */
  createSimulator?(context: TargetSimulatorContext<Declaration, Defect>): TargetSimulator;
  /**
   * For a device that dials in (`connection.type "listen"`): what MeterLab runs on its far side.
   * Absent: the protocol's devices do not dial in and such a connection is refused.
   */
  createCounterpart?(context: TargetCounterpartContext<Declaration>): Promise<TargetCounterpart>;
  /**
   * The schema of ONE defect a broken variant of the reference device may declare in its profile
   * (`connection.defects: [{ "name": "ignore-fcb" }, ...]`), typically a discriminated union on
   * `name`. Absent: the protocol's reference device has no broken variants and the field is refused.
   */
  readonly defects?: z.ZodType<Defect, unknown>;
  /**
   * One presence check of the declared device through the protocol's master, one attempt per
   * request (a dead or misaddressed vendor device stops `meterlab run` in seconds, exit 3).
   * Absent: no pre-flight for this protocol.
   */
  presence?(master: Master, declaration: Declaration): Promise<DevicePresence>;
}

const registry = new Map<string, TargetProtocol<never, TargetMasterBase>>();

/** Adds a protocol. Throws if its id is taken (two entries for one protocol are a wiring mistake). */
export function registerTargetProtocol<D, M extends TargetMasterBase, F = unknown>(protocol: TargetProtocol<D, M, F>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(protocol.id)) throw new TypeError(`target protocol id "${protocol.id}": use lower-case letters, digits and "-"`);
  if (registry.has(protocol.id)) throw new TypeError(`target protocol "${protocol.id}" is registered twice`);
  registry.set(protocol.id, protocol as unknown as TargetProtocol<never, TargetMasterBase>);
}

/** Removes a protocol (tests that register a fake one). */
export function unregisterTargetProtocol(id: string): boolean {
  return registry.delete(id);
}

/** The entry of protocol `id`, or undefined. */
export function targetProtocol(id: string): TargetProtocol<unknown, TargetMasterBase> | undefined {
  return registry.get(id) as TargetProtocol<unknown, TargetMasterBase> | undefined;
}

/** Ids of the registered protocols, in registration order. */
export function targetProtocolIds(): string[] {
  return [...registry.keys()];
}

/** Bytes a protocol scanner could not take for a frame, with why. */
interface DiscardedEvent {
  readonly type: 'discarded';
  readonly bytes: Uint8Array;
  readonly error: { readonly code: string };
}

function isDiscarded(e: { readonly type: string }): e is DiscardedEvent {
  return e.type === 'discarded';
}

/**
 * A capture describer built from a protocol's scanner: every frame in the chunk described by
 * `frame`, bytes that are no frame counted with the scanner's reason, joined with " | ".
 */
export function describeByScanner<E extends { readonly type: 'frame' } | DiscardedEvent>(
  newScanner: () => StreamScanner<E>,
  frame: (event: Extract<E, { readonly type: 'frame' }>) => string,
): Describe {
  return (bytes) => {
    const scanner = newScanner();
    const parts: string[] = [];
    for (const e of [...scanner.push(bytes), ...scanner.flush()]) {
      if (isDiscarded(e)) parts.push(`${e.bytes.length} byte(s) not a frame (${e.error.code})`);
      else parts.push(frame(e as Extract<E, { readonly type: 'frame' }>));
    }
    return parts.length > 0 ? parts.join(' | ') : undefined;
  };
}
