import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../harness/core/bytes.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { ProfileError } from '../../harness/core/errors.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import { createMemoryPair } from '../../harness/links/memory.ts';
import type { Link } from '../../harness/links/link.ts';
import { Dlt645FrameScanner, encodeMessage, type Dlt645Message } from '../../harness/protocols/dlt645/index.ts';
import { DICTIONARY } from '../../harness/protocols/dlt645/dictionary.ts';
import type { Password } from '../../harness/protocols/dlt645/types.ts';
import { compileMeterType, createElectricityMeter, ElectricityMeterModel, meterTypeOf, type ElectricityMeter } from './index.ts';
import { REFERENCE_METER_PROFILE, REFERENCE_METER_PROFILE_INPUT, loadSimulatorProfile } from './profile.ts';
import { T0, profileWith } from './test-support.ts';

const read = (di: string): Dlt645Message => ({ kind: 'readData', di, extra: new Uint8Array(0) });
const L04: Password = { level: 4, value: '123456' };

describe('compileMeterType', () => {
  it('validates once: a bad profile is a ProfileError naming the field', () => {
    expect(() => compileMeterType(profileWith({ simulation: { responseDelayMs: -1 } }))).toThrow(ProfileError);
    expect(() => compileMeterType(profileWith({ simulation: { responseDelayMs: -1 } }))).toThrow(/simulation\.responseDelayMs/);
  });

  it('compiles the declaration into shared lookups and freezes its profile', () => {
    const type = compileMeterType(REFERENCE_METER_PROFILE_INPUT);
    expect(type.identifiers.size).toBe(REFERENCE_METER_PROFILE.meter.identifiers.length);
    expect(type.identifiers.has('00010000')).toBe(true);
    expect([...type.followUpIdentifiers]).toEqual(REFERENCE_METER_PROFILE.meter.followUpIdentifiers);
    expect(type.writeLevel).toBe(4);
    expect(type.clearLevel).toBe(2);
    expect(type.passwords.get(4)).toBe('123456');
    expect(type.slots[1]).toEqual({ minute: 8 * 60, tariff: 2 });
    expect(type.loadSteps).toEqual([{ minute: 0, kW: 1 }]);
    expect(Object.isFrozen(type.profile.meter.identifiers)).toBe(true);
    expect(() => {
      (type.profile.simulation as { replyPreamble: number }).replyPreamble = 0;
    }).toThrow(TypeError);
  });

  it('compiles a validated profile object once, and raw JSON every time (it may have been edited)', () => {
    const validated = loadSimulatorProfile(REFERENCE_METER_PROFILE_INPUT);
    expect(meterTypeOf(validated)).toBe(meterTypeOf(validated));
    expect(compileMeterType(meterTypeOf(validated))).toBe(meterTypeOf(validated));
    const raw = profileWith();
    const first = compileMeterType(raw);
    (raw.simulation as { replyPreamble: number }).replyPreamble = 0;
    const second = compileMeterType(raw);
    expect(second).not.toBe(first);
    expect(first.profile.simulation.replyPreamble).toBe(4);
    expect(second.profile.simulation.replyPreamble).toBe(0);
  });

  it('createElectricityMeter with the same validated profile shares one type', () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const { meters } = fleetOn(clock, (link) => createElectricityMeter({ profile: REFERENCE_METER_PROFILE, link, clock }), 2);
    expect(meters[0]!.type).toBe(meters[1]!.type);
    expect(meters[0]!.server.type.identifiers).toBe(meters[1]!.server.type.identifiers);
  });
});

describe('meters of one type at their own addresses', () => {
  const type = compileMeterType(REFERENCE_METER_PROFILE);
  const address = (i: number): string => String(100_000_000_000 + i);

  it('each answers at its own address and only there, and its profile says so', async () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const h = fleetOn(clock, (link, i) => createElectricityMeter({ type, address: address(i), link, clock, seed: i }), 3);
    await h.send(1, encodeMessage(address(1), read('00010000'), { preamble: 4 }));
    await h.send(1, encodeMessage(address(2), read('00010000'), { preamble: 4 })); // not meter 1's
    expect(h.replies[1]).toHaveLength(1);
    expect(h.replies[1]![0]!.hex).toContain('68 01 00 00 00 00 10 68 91'); // 100000000001 in wire order
    expect(h.meters[1]!.profile.meter.address).toBe(address(1));
    expect(h.meters[1]!.model.address).toBe(address(1));
    expect(h.meters[1]!.profile.meter.identifiers).toBe(type.profile.meter.identifiers); // not copied
    expect(type.profile.meter.address).toBe('123456789012');
  });

  it('behaves byte for byte and instant for instant like a meter from a profile with that address', async () => {
    // Td drawn from [20, 200] ms with the meter's seeded generator: the generator must be the same too.
    const json = profileWith({ meter: { address: '000000000007' }, simulation: { responseDelayMs: [20, 200] } });
    const jittered = compileMeterType(profileWith({ simulation: { responseDelayMs: [20, 200] } }));
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const h = fleetOn(
      clock,
      (link, i) =>
        i === 0
          ? createElectricityMeter({ profile: json, link, clock, seed: 5 })
          : createElectricityMeter({ type: jittered, address: '000000000007', link, clock, seed: 5 }),
      2,
    );
    const requests = [read('00010000'), read('0001FF00'), read('04000102'), read('0506FF01'), read('03010000')];
    for (const m of requests) {
      for (const i of [0, 1]) {
        await h.send(i, encodeMessage('000000000007', m, { preamble: 4 }), 0);
      }
      await clock.advance(1000);
    }
    expect(h.replies[0]!.length).toBe(requests.length);
    expect(h.replies[1]).toEqual(h.replies[0]);
  });

  it('serves a bus of meters of one type, each read at its own address and answered from it alone', async () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const bus = new Rs485Bus({ clock });
    const master = bus.attach('master');
    const meters = Array.from({ length: 8 }, (_, i) => createElectricityMeter({ type, address: address(i), link: bus.attach(`meter-${i}`), clock, seed: i }));
    const scanner = new Dlt645FrameScanner();
    const got: Dlt645Message[] = [];
    const replyAddresses: string[] = [];
    master.on('data', (chunk) => {
      for (const ev of scanner.push(chunk)) {
        if (ev.type === 'frame' && ev.message.ok) {
          got.push(ev.message.value);
          replyAddresses.push(ev.decoded.frame.address);
        }
      }
    });
    for (let i = 0; i < meters.length; i++) meters[i]!.backchannel.setLoad(i); // meter i draws i kW
    await clock.advance(3_600_000);
    for (const m of meters) m.backchannel.setLoad(0); // registers stay put while the master reads
    for (let i = 0; i < meters.length; i++) {
      void master.write(encodeMessage(address(i), read('00010000'), { preamble: 4 }));
      await clock.advance(1000);
    }
    // Each meter answered with its own energy, 1000 kWh at the start plus i kWh, from its own address.
    const values = got.map((m) => (m.kind === 'readDataResponse' ? DICTIONARY.decodeValue('00010000', m.payload) : null));
    expect(values).toEqual(meters.map((_, i) => ({ ok: true, value: 1000 + i })));
    expect(replyAddresses).toEqual(meters.map((_, i) => address(i)));
    expect(bus.stats.collisions).toBe(0);
  });

  it('refuses an address that is not 12 decimal digits, and a type given twice', () => {
    const [, link] = createMemoryPair();
    const clock = new VirtualClock({ start: T0 });
    expect(() => createElectricityMeter({ type, address: '12345678901A', link, clock })).toThrow(ProfileError);
    expect(() => createElectricityMeter({ type, address: '12345678901A', link, clock })).toThrow(/meter\.address/);
    expect(() => createElectricityMeter({ type, profile: REFERENCE_METER_PROFILE, link, clock })).toThrow(TypeError);
  });

  it('keeps per-meter state apart: a password changed on one meter is not changed on the others', () => {
    const clock = new VirtualClock({ start: T0 });
    const a = new ElectricityMeterModel({ type, address: address(1), clock });
    const b = new ElectricityMeterModel({ type, address: address(2), clock });
    const changed = a.changePassword('04000C05', L04, { level: 4, value: '999999' });
    expect(changed.ok).toBe(true);
    expect(a.checkPassword({ level: 4, value: '999999' }, 4)).toBe(true);
    expect(a.checkPassword(L04, 4)).toBe(false);
    expect(b.checkPassword(L04, 4)).toBe(true);
    expect(b.checkPassword({ level: 4, value: '999999' }, 4)).toBe(false);
    expect(type.passwords.get(4)).toBe('123456');
  });

  it('keeps demand apart: a demand on one meter leaves the others (and the shared zero set) at zero', async () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const a = new ElectricityMeterModel({ type, address: address(1), clock });
    const b = new ElectricityMeterModel({ type, address: address(2), clock });
    a.setLoad(6);
    b.setLoad(0);
    await clock.advance(30 * 60_000);
    expect(a.demand.forward[0].kW).toBe(6);
    expect(b.demand.forward[0].kW).toBe(0);
    expect(new ElectricityMeterModel({ type, clock }).demand.forward[0].kW).toBe(0);
    // A freeze record keeps the demand it saw; a later, higher demand does not change it.
    expect(a.freeze({ minute: 'any', hour: 'any', day: 'any', month: 'any' }).ok).toBe(true); // instant freeze
    a.setLoad(9);
    await clock.advance(30 * 60_000);
    expect(a.demand.forward[0].kW).toBe(9);
    expect(a.records.instant[0]!.forwardDemand[0].kW).toBe(6);
  });

  it('still rebuilds a bad-checksum frame after the received history was restarted (answer-bad-checksum)', async () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const withBehaviour = compileMeterType(profileWith({ behaviours: [{ name: 'answer-bad-checksum' }] }));
    const h = fleetOn(clock, (link) => createElectricityMeter({ type: withBehaviour, address: address(3), link, clock }), 1);
    const good = encodeMessage(address(3), read('00010000'), { preamble: 4 });
    const bad = good.slice();
    bad[bad.length - 2] = (bad[bad.length - 2]! + 1) & 0xff;
    // Three good requests (the history restarts after each), then a bad one split over two writes.
    for (let i = 0; i < 3; i++) await h.send(0, good);
    await h.send(0, concatBytes(good, bad.subarray(0, 9)), 0);
    await h.send(0, bad.subarray(9));
    expect(h.replies[0]).toHaveLength(5);
    expect(new Set(h.replies[0]!.map((r) => r.hex.slice(0, 60))).size).toBe(1);
  });
});

/** Meters on their own memory pairs, one clock; the frames each master receives, with their instants. */
function fleetOn(clock: VirtualClock, make: (link: Link, i: number) => ElectricityMeter, n: number) {
  const replies: { at: number; hex: string }[][] = [];
  const masters: Link[] = [];
  const meters: ElectricityMeter[] = [];
  for (let i = 0; i < n; i++) {
    const [master, meterLink] = createMemoryPair();
    const got: { at: number; hex: string }[] = [];
    const scanner = new Dlt645FrameScanner();
    master.on('data', (chunk) => {
      for (const ev of scanner.push(chunk)) if (ev.type === 'frame') got.push({ at: clock.now(), hex: toHex(ev.decoded.raw) });
    });
    replies.push(got);
    masters.push(master);
    meters.push(make(meterLink, i));
  }
  const send = async (i: number, bytes: Uint8Array, waitMs = 1000): Promise<void> => {
    await masters[i]!.write(bytes);
    await clock.advance(waitMs);
  };
  return { meters, replies, send };
}
