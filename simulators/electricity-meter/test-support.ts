/**
 * Test support for the electricity-meter tests: a meter on one end of an in-memory link, a tiny
 * master on the other end that writes request frames and collects reply frames with their
 * arrival times, all on a VirtualClock that only moves when the test advances it.
 */
import { VirtualClock } from '../../harness/core/clock.ts';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { createMemoryPair } from '../../harness/links/memory.ts';
import type { Link } from '../../harness/links/link.ts';
import { Dlt645FrameScanner, encodeMessage, type Dlt645Frame, type Dlt645Message } from '../../harness/protocols/dlt645/index.ts';
import { createElectricityMeter, type ElectricityMeter } from './index.ts';
import { REFERENCE_METER_PROFILE_INPUT, type SimulatorProfileInput } from './profile.ts';

/** 2026-03-02 10:00:00 local (UTC+8): a Monday, tariff T1 (sharp) in the default slot table. */
export const T0 = fromCalendar({ year: 2026, month: 3, day: 2, hour: 10, minute: 0, second: 0 });
export const ADDRESS = '123456789012';

export interface ReceivedFrame {
  /** Harness time the last byte arrived. */
  readonly at: number;
  readonly raw: Uint8Array;
  readonly frame: Dlt645Frame;
  readonly message: Dlt645Message | null;
}

export interface Rig {
  readonly clock: VirtualClock;
  readonly meter: ElectricityMeter;
  readonly master: Link;
  readonly frames: ReceivedFrame[];
  /** Every scanner discard on the master side (e.g. a reply with a bad checksum). */
  readonly discarded: { at: number; bytes: Uint8Array; code: string }[];
  /** Writes bytes, advances `waitMs` (default 1 s), returns the frames received meanwhile. */
  send(bytes: Uint8Array, waitMs?: number): Promise<ReceivedFrame[]>;
  /** Encodes a request to `address` (default the meter's) with 4 FE and sends it. */
  request(message: Dlt645Message, address?: string, waitMs?: number): Promise<ReceivedFrame[]>;
  /** Sends and expects exactly one reply; returns its message. */
  ask(message: Dlt645Message, address?: string): Promise<Dlt645Message>;
  logs: string[];
}

/**
 * The reference profile with overrides merged one level deep into meter / simulation. A
 * `simulation.relay` given without `meter.relay` is declared too (type, trip delay, the key for an
 * internal relay only): the profile refuses a simulated relay its declaration contradicts.
 */
export function profileWith(overrides: {
  meter?: Partial<SimulatorProfileInput['meter']>;
  simulation?: Record<string, unknown>;
  behaviours?: SimulatorProfileInput['behaviours'];
} = {}): SimulatorProfileInput {
  const base = structuredClone(REFERENCE_METER_PROFILE_INPUT) as SimulatorProfileInput;
  const meter = { ...base.meter, ...overrides.meter };
  const simRelay = overrides.simulation?.relay as { kind?: 'internal' | 'external'; tripDelayMs?: number } | undefined;
  if (simRelay && overrides.meter?.relay === undefined) {
    const type = simRelay.kind ?? base.meter.relay?.type ?? 'internal';
    meter.relay = {
      ...base.meter.relay,
      type,
      ...(simRelay.tripDelayMs !== undefined ? { tripDelayMs: simRelay.tripDelayMs } : {}),
      closeNeedsButton: type === 'internal',
    };
  }
  return {
    ...base,
    meter,
    simulation: { ...(base.simulation as Record<string, unknown>), ...overrides.simulation },
    behaviours: overrides.behaviours ?? base.behaviours ?? [],
  } as SimulatorProfileInput;
}

export function createRig(profile: unknown = REFERENCE_METER_PROFILE_INPUT, start = T0): Rig {
  const clock = new VirtualClock({ start, autoAdvance: false });
  const [master, meterLink] = createMemoryPair({ names: ['master', 'meter'] });
  const logs: string[] = [];
  const meter = createElectricityMeter({ profile, link: meterLink, clock, seed: 7, logger: (m) => logs.push(m) });
  const frames: ReceivedFrame[] = [];
  const discarded: Rig['discarded'] = [];
  const scanner = new Dlt645FrameScanner();
  master.on('data', (chunk) => {
    for (const ev of scanner.push(chunk)) {
      if (ev.type === 'frame') {
        frames.push({ at: clock.now(), raw: ev.decoded.raw, frame: ev.decoded.frame, message: ev.message.ok ? ev.message.value : null });
      } else {
        discarded.push({ at: clock.now(), bytes: ev.bytes, code: ev.error.code });
      }
    }
  });
  const send = async (bytes: Uint8Array, waitMs = 1000): Promise<ReceivedFrame[]> => {
    const before = frames.length;
    await master.write(bytes);
    await clock.advance(waitMs);
    return frames.slice(before);
  };
  const request = (message: Dlt645Message, address = meter.model.address, waitMs?: number): Promise<ReceivedFrame[]> =>
    send(encodeMessage(address, message, { preamble: 4 }), waitMs);
  const ask = async (message: Dlt645Message, address?: string): Promise<Dlt645Message> => {
    const replies = await request(message, address);
    if (replies.length !== 1) throw new Error(`expected one reply, got ${replies.length}`);
    const m = replies[0]!.message;
    if (!m) throw new Error('reply did not decode');
    return m;
  };
  return { clock, meter, master, frames, discarded, send, request, ask, logs };
}
