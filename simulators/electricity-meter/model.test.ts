import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../harness/core/clock.ts';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { RemoteControlCommand } from '../../harness/protocols/dlt645/types.ts';
import { ElectricityMeterModel } from './model.ts';
import { loadSimulatorProfile } from './profile.ts';
import { EXTERNAL_RELAY_METER_PROFILE_INPUT, REFERENCE_METER_PROFILE_INPUT } from './profile.ts';
import { profileWith } from './test-support.ts';

const REF_CAPS = REFERENCE_METER_PROFILE_INPUT.meter.capabilities;

const HOUR = 3_600_000;
const MINUTE = 60_000;
const local = (year: number, month: number, day: number, hour = 0, minute = 0): number =>
  fromCalendar({ year, month, day, hour, minute, second: 0 });

function meter(simulation: Record<string, unknown> = {}, start = local(2026, 3, 2), meterOverrides: Record<string, unknown> = {}) {
  const clock = new VirtualClock({ start, autoAdvance: false });
  const profile = loadSimulatorProfile(profileWith({ simulation, meter: meterOverrides }));
  const model = new ElectricityMeterModel({ profile, clock });
  return { clock, model, profile };
}

const NON_PREPAID = { meterType: 'non-prepaid', registers: { forwardActiveKWh: [0, 0, 0, 0] } };
const close = (a: number, b: number, digits = 6): void => expect(a).toBeCloseTo(b, digits);
const { Trip, CloseAllowed, DirectClose, Alarm, AlarmRelease, KeepPower, KeepPowerRelease } = RemoteControlCommand;

describe('energy accumulation', () => {
  it('attributes a day of constant load to the tariff of each time slot', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } });
    await clock.advance(24 * HOUR);
    // Default slots: T4 00-08 + 23-24 (9 h), T2 08-10 + 17-19 (4 h), T1 10-12 + 19-21 (4 h), T3 12-17 + 21-23 (7 h).
    const e = model.snapshot().energy.forwardActive;
    close(e[0], 4);
    close(e[1], 4);
    close(e[2], 7);
    close(e[3], 9);
    close(model.snapshot().forwardActiveTotal, 24);
  });

  it('follows a daily load profile across tariff boundaries', async () => {
    const { clock, model } = meter({
      ...NON_PREPAID,
      load: { kW: [{ from: '00:00', kW: 0.5 }, { from: '09:30', kW: 2 }, { from: '18:00', kW: 1 }] },
    });
    await clock.advance(24 * HOUR);
    const [t1, t2, t3, t4] = model.snapshot().energy.forwardActive;
    // T1 10-12 (2 kW) + 19-21 (1 kW) = 4 + 2; T2 08-09:30 (0.5) + 09:30-10 (2) + 17-18 (2) + 18-19 (1) = 0.75 + 1 + 2 + 1;
    // T3 12-17 (2) + 21-23 (1) = 10 + 2; T4 00-08 (0.5) + 23-24 (1) = 4 + 1.
    close(t1, 6);
    close(t2, 4.75);
    close(t3, 12);
    close(t4, 5);
  });

  it('counts export as reverse active energy and sets the reverse-power bits of status word 2', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: -2 } });
    await clock.advance(HOUR);
    const s = model.snapshot();
    close(s.reverseActiveTotal, 2);
    close(s.forwardActiveTotal, 0);
    expect(model.statusWord2()).toBe(0b10111);
  });

  it('uses the meter clock, not the harness clock, for tariffs', async () => {
    // Harness 06:00; the meter runs 2 h fast, so it is in the 08:00-10:00 peak (T2).
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 }, clockOffsetMs: 2 * HOUR }, local(2026, 3, 2, 6));
    await clock.advance(2 * HOUR);
    const [t1, t2] = model.snapshot().energy.forwardActive;
    close(t2, 2);
    close(t1, 0);
  });

  it('draws a load for a while (backchannel) and returns to the profile afterwards', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 0 } }, local(2026, 3, 2, 13));
    model.drawFor(3, HOUR);
    await clock.advance(3 * HOUR);
    close(model.snapshot().forwardActiveTotal, 3);
    model.setLoad(1.5);
    await clock.advance(2 * HOUR);
    close(model.snapshot().forwardActiveTotal, 6);
  });

  it('records the maximum demand with its time and clears it on 19H', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } }, local(2026, 3, 2, 10));
    await clock.advance(HOUR);
    model.drawFor(4.5, 30 * MINUTE);
    await clock.advance(HOUR);
    const d = model.snapshot().forwardDemand;
    expect(d[0]).toEqual({ kW: 4.5, at: local(2026, 3, 2, 11) });
    expect(d[1]!.kW).toBe(4.5); // T1 10:00-12:00
    model.clearMaxDemand('00000001');
    expect(model.snapshot().forwardDemand[0]).toEqual({ kW: 0, at: null });
    expect(model.snapshot().events.demandClear.count).toBe(1);
  });

  it('measures demand over whole 15-minute periods: none until one has passed, none again right after a clear', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 2 } }, local(2026, 3, 2, 10, 7));
    await clock.advance(20 * MINUTE); // 10:07-10:27: the 10:00 period began before the meter did
    expect(model.snapshot().forwardDemand[0]).toEqual({ kW: 0, at: null });
    await clock.advance(10 * MINUTE); // the 10:15-10:30 period is whole
    expect(model.snapshot().forwardDemand[0]).toEqual({ kW: 2, at: local(2026, 3, 2, 10, 15) });
    await clock.advance(2 * MINUTE);
    model.clearMaxDemand('00000001'); // 10:39: the 10:30 period is cut by the clear
    await clock.advance(20 * MINUTE);
    expect(model.snapshot().forwardDemand[0]).toEqual({ kW: 0, at: null });
    model.drawFor(3, 10 * MINUTE); // 10:59-11:09: 3 kW for 9 of the 11:00 period's 15 minutes
    await clock.advance(HOUR);
    // 11:00-11:15: (9 min × 3 kW + 6 min × 2 kW) / 15 min = 2.6 kW
    expect(model.snapshot().forwardDemand[0]).toEqual({ kW: 2.6, at: local(2026, 3, 2, 11) });
  });

  it('restarts the demand period when the clock is set', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 2 } }, local(2026, 3, 2, 10));
    await clock.advance(10 * MINUTE);
    model.setMeterTime(local(2026, 3, 2, 10, 14)); // 4 minutes ahead: the period no longer has 15 minutes of energy
    await clock.advance(5 * MINUTE);
    expect(model.snapshot().forwardDemand[0]).toEqual({ kW: 0, at: null });
  });
});

describe('freezes and settlement', () => {
  it('freezes the registers at 00:00 every day and keeps the last 62', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } }, local(2026, 3, 2, 12));
    await clock.advance(12 * HOUR);
    const first = model.snapshot().dailyFreezes;
    expect(first).toHaveLength(1);
    expect(first[0]!.time).toBe(local(2026, 3, 3));
    close(first[0]!.energy.forwardActive.reduce((a, b) => a + b, 0), 12);
    expect(model.readValue('05060001')).toEqual({ year: 2026, month: 3, day: 3, hour: 0, minute: 0 });
    expect(model.readValue('05060101')).toEqual([12, 2, 2, 7, 1]); // 12-24 h: T1 19-21, T2 17-19, T3 12-17 + 21-23, T4 23-24
    await clock.advance(70 * 24 * HOUR);
    const all = model.snapshot().dailyFreezes;
    expect(all).toHaveLength(62);
    expect(all[0]!.time).toBe(local(2026, 5, 12));
    // An empty slot reads as zeros; a slot beyond the 62 kept is not an identifier the dictionary has.
    expect(model.readValue('0506003E')).toEqual({ year: 2026, month: 3, day: 12, hour: 0, minute: 0 });
  });

  it('keeps freezing while the mains are off (ROB-07: no freeze lost) and records the outage', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } }, local(2026, 3, 2, 23, 59));
    model.cutMains();
    await clock.advance(10 * MINUTE);
    model.restoreMains();
    const s = model.snapshot();
    expect(s.dailyFreezes[0]!.time).toBe(local(2026, 3, 3));
    close(s.forwardActiveTotal, 0);
    expect(s.events.powerDown.count).toBe(1);
    expect(s.events.powerDown.records[0]).toEqual({ start: local(2026, 3, 2, 23, 59), end: local(2026, 3, 3, 0, 9) });
    expect(model.readValue('03110001')).toEqual({
      start: { year: 2026, month: 3, day: 2, hour: 23, minute: 59, second: 0 },
      end: { year: 2026, month: 3, day: 3, hour: 0, minute: 9, second: 0 },
    });
  });

  it('settles on the settlement day, rolls the last 12 settlements and restarts the demand', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 2 } }, local(2026, 2, 28, 22));
    await clock.advance(3 * HOUR); // past 2026-03-01 00:00
    let s = model.snapshot();
    expect(s.settlements).toHaveLength(1);
    expect(s.settlements[0]!.time).toBe(local(2026, 3, 1));
    expect(model.readValue('00010001')).toBe(4); // 2 h at 2 kW before the settlement
    expect(model.readValue('0001FF01')).toEqual([4, 0, 0, 2, 2]); // 22-23 T3, 23-24 T4
    expect(model.readValue('01010001')).toEqual({ demand: 2, time: { year: 2026, month: 2, day: 28, hour: 22, minute: 0 } });
    expect(s.forwardDemand[0]!.kW).toBe(2); // measured again after the settlement
    await clock.advance(400 * 24 * HOUR);
    s = model.snapshot();
    expect(s.settlements).toHaveLength(12);
    expect(s.settlements[0]!.time).toBe(local(2027, 4, 1));
    expect(s.settlements[11]!.time).toBe(local(2026, 5, 1));
  });

  it('moves the settlement instant when 04000B01 is written', async () => {
    const { clock, model } = meter({ ...NON_PREPAID }, local(2026, 3, 2));
    const pw = { level: 4, value: '123456' };
    expect(model.writeValue('04000B01', { day: 15, hour: 12 }, pw, '00000001')).toEqual({ ok: true });
    await clock.advance(14 * 24 * HOUR);
    expect(model.snapshot().settlements.map((r) => r.time)).toEqual([local(2026, 3, 15, 12)]);
    expect(model.readValue('04000B01')).toEqual({ day: 15, hour: 12 });
  });

  it('freezes at once on an all-99 pattern and on schedule for a timed pattern', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } }, local(2026, 3, 2, 10));
    await clock.advance(HOUR);
    expect(model.freeze({ minute: 'any', hour: 'any', day: 'any', month: 'any' })).toEqual({ ok: true });
    expect(model.readValue('05010001')).toEqual({ year: 2026, month: 3, day: 2, hour: 11, minute: 0 });
    expect(model.readValue('05010101')).toEqual([1, 1, 0, 0, 0]);
    expect(model.freeze({ minute: 30, hour: 12, day: 'any', month: 'any' })).toEqual({ ok: true });
    await clock.advance(2 * HOUR);
    expect(model.readValue('05000001')).toEqual({ year: 2026, month: 3, day: 2, hour: 12, minute: 30 });
    expect(model.freeze({ minute: 'any', hour: 12, day: 'any', month: 'any' })).toEqual({ ok: false, error: 'invalid' });
  });
});

describe('clock', () => {
  it('keeps an offset and drift, and records a time setting', async () => {
    const { clock, model } = meter({ clockOffsetMs: 90_000, clockDriftPpm: 100 }, local(2026, 3, 2, 10));
    expect(model.meterNow()).toBe(local(2026, 3, 2, 10, 1) + 30_000);
    await clock.advance(10_000 * 1000); // 10^7 ms at 100 ppm = 1 s
    expect(model.meterNow() - clock.now()).toBe(91_000);
    model.setMeterTime(clock.now(), '12345678');
    expect(model.meterNow()).toBe(clock.now());
    expect(model.snapshot().events.timeSet.records[0]).toMatchObject({ operator: '12345678', after: clock.now() });
  });
});

describe('relay, alarm and keep-power (FEE-06/07/11, KP-01..04)', () => {
  const op = '11223344';

  it('trips, reports it in status word 3 and stops counting energy', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } }, local(2026, 3, 2, 13));
    expect(model.remoteControl(Trip, op, null)).toEqual({ ok: true });
    const w = model.statusWord3();
    expect(w & 0x10).toBe(0x10); // bit 4 relay open
    expect(w & 0x40).toBe(0x40); // bit 6 trip command
    await clock.advance(HOUR);
    close(model.snapshot().forwardActiveTotal, 0);
    expect(model.readValue('1D000001')).toBe(1);
    expect(model.readValue('1D000101')).toMatchObject({ time: { year: 2026, month: 3, day: 2, hour: 13, minute: 0, second: 0 }, operator: op });
  });

  it('close-allowed waits for the key on an internal relay; direct close closes at once', async () => {
    const { model } = meter({ ...NON_PREPAID }, local(2026, 3, 2, 13));
    model.remoteControl(Trip, op, null);
    expect(model.pressButton()).toBe(false); // tripped by command: the key does nothing
    model.remoteControl(CloseAllowed, op, null);
    expect(model.relay).toMatchObject({ open: true, commandTrip: false, closeAllowed: true });
    expect(model.pressButton()).toBe(true);
    expect(model.relay.open).toBe(false);
    model.remoteControl(Trip, op, null);
    model.remoteControl(DirectClose, op, null);
    expect(model.relay).toMatchObject({ open: false, commandTrip: false });
    expect(model.snapshot().events.close.count).toBe(2);
  });

  it('close-allowed closes an external relay at once (FEE-11)', () => {
    const { model } = meter({ ...NON_PREPAID, relay: { kind: 'external' } });
    model.remoteControl(Trip, op, null);
    model.remoteControl(CloseAllowed, op, null);
    expect(model.relay.open).toBe(false);
  });

  it('executes a trip after the trip delay, with the pre-trip alarm meanwhile (FEE-07)', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, relay: { tripDelayMs: 5 * MINUTE } });
    model.remoteControl(Trip, op, null);
    expect(model.statusWord3() & 0xd0).toBe(0xc0); // command trip + pre-trip alarm, relay still closed
    await clock.advance(5 * MINUTE - 1);
    expect(model.relay.open).toBe(false);
    await clock.advance(1);
    expect(model.relay.open).toBe(true);
    expect(model.statusWord3() & 0xd0).toBe(0x50);
    expect(model.readValue('04001401')).toBe(5);
  });

  it('tells onRelayChange each actual movement at its harness instant, the lazy delayed trip dated when it fell due', async () => {
    // The meter clock runs 90 s ahead and drifts: the instant reported is the harness's, not the meter's.
    const { clock, model } = meter({ ...NON_PREPAID, clockOffsetMs: 90_000, clockDriftPpm: 50, relay: { tripDelayMs: 5 * MINUTE } });
    const seen: [ElectricityMeterModel, boolean, number, string][] = [];
    model.onRelayChange = (m, open, at, cause) => seen.push([m, open, at, cause]);
    const t0 = clock.now();
    model.remoteControl(Trip, op, null);
    expect(seen).toEqual([]); // only the command so far: the relay waits out its delay
    await clock.advance(HOUR); // nothing touches the meter until the read below
    expect(model.relay.open).toBe(true);
    model.remoteControl(DirectClose, op, null);
    model.faults.relayStuck = true;
    model.remoteControl(Trip, op, null);
    await clock.advance(HOUR);
    expect(model.relay.open).toBe(false); // stuck: acknowledged, never moved, never reported
    expect(seen.every(([m]) => m === model)).toBe(true);
    expect(seen.map(([, open, at, cause]) => [open, at, cause])).toEqual([
      [true, t0 + 5 * MINUTE, 'remote'],
      [false, t0 + HOUR, 'forced'], // 1CH direct close is recorded as 'forced'
    ]);
  });

  it('sets and clears the alarm (2AH / 2BH)', () => {
    const { model } = meter({ ...NON_PREPAID });
    model.remoteControl(Alarm, op, null);
    expect(model.statusWord3() & 0x80).toBe(0x80);
    model.remoteControl(AlarmRelease, op, null);
    expect(model.statusWord3() & 0x80).toBe(0);
  });

  it('refuses a trip under keep-power (KP-01) and shows keep-power in bit 12', async () => {
    const { clock, model } = meter({ ...NON_PREPAID });
    model.remoteControl(KeepPower, op, null);
    expect(model.statusWord3() & 0x1000).toBe(0x1000);
    expect(model.remoteControl(Trip, op, null)).toEqual({ ok: false, error: 'keep-power' });
    await clock.advance(HOUR);
    expect(model.relay).toMatchObject({ open: false, commandTrip: false });
  });

  it('keep-power on a tripped meter: internal relay to close-allowed, external closes (KP-03)', () => {
    const internal = meter({ ...NON_PREPAID }).model;
    internal.remoteControl(Trip, op, null);
    internal.remoteControl(KeepPower, op, null);
    expect(internal.relay).toMatchObject({ open: true, closeAllowed: true, keepPower: true });
    expect(internal.pressButton()).toBe(true);
    const external = meter({ ...NON_PREPAID, relay: { kind: 'external' } }).model;
    external.remoteControl(Trip, op, null);
    external.remoteControl(KeepPower, op, null);
    expect(external.relay.open).toBe(false);
  });

  it('keep-power cancels a pending trip (KP-04); its release leaves the relay alone (KP-02)', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, relay: { tripDelayMs: 10 * MINUTE } });
    model.remoteControl(Trip, op, null);
    await clock.advance(5 * MINUTE);
    model.remoteControl(KeepPower, op, null);
    await clock.advance(10 * MINUTE);
    expect(model.relay).toMatchObject({ open: false, pendingTripAt: null });
    model.remoteControl(KeepPowerRelease, op, null);
    await clock.advance(HOUR);
    expect(model.relay).toMatchObject({ open: false, keepPower: false, commandTrip: false });
    expect(model.remoteControl(Trip, op, null)).toEqual({ ok: true }); // a NEW trip is needed
  });

  it('rejects a command whose valid-until time has passed', () => {
    const { model } = meter({ ...NON_PREPAID }, local(2026, 3, 2, 10));
    const past = { year: 2026, month: 3, day: 2, hour: 9, minute: 59, second: 59 };
    const future = { year: 2026, month: 3, day: 2, hour: 10, minute: 5, second: 0 };
    expect(model.remoteControl(Trip, op, past)).toEqual({ ok: false, error: 'expired' });
    expect(model.remoteControl(Trip, op, future)).toEqual({ ok: true });
  });
});

describe('prepaid balance (FEE-02, FEE-03, FEE-04)', () => {
  // 10 kW in T1 (1.20 yuan/kWh) costs 12 yuan an hour.
  const prepaid = {
    meterType: 'money-prepaid',
    load: { kW: 10 },
    registers: { remainingAmount: 30, purchaseCount: 1, purchaseTotal: 30 },
    prepaid: { alarmAmount1: 20, alarmAmount2: 10, overdraftAmountLimit: 0 },
  };

  it('deducts energy × price, alarms at alarm 1, trips at alarm 2 (the key restores), locks at zero', async () => {
    const { clock, model } = meter(prepaid, local(2026, 3, 2, 10));
    await clock.advance(30 * MINUTE);
    expect(model.readValue('00900200')).toBe(24);
    expect(model.alarm).toBe(false);
    await clock.advance(21 * MINUTE); // 30 - 12 × 51/60 = 19.80
    expect(model.alarm).toBe(true);
    expect(model.statusWord3() & 0x90).toBe(0x80);
    expect(model.relay.open).toBe(false);
    await clock.advance(49 * MINUTE); // 100 min: the balance reaches alarm 2 = 10
    expect(model.relay).toMatchObject({ open: true, localLock: 'releasable', commandTrip: false });
    expect(model.readValue('00900200')).toBe(10);
    expect(model.snapshot().events.trip.records[0]).toMatchObject({ time: local(2026, 3, 2, 11, 40), cause: 'local', operator: 'FFFFFFFF' });
    await clock.advance(HOUR);
    expect(model.readValue('00900200')).toBe(10); // relay open: nothing consumed
    expect(model.pressButton()).toBe(true);
    await clock.advance(2 * HOUR); // from 12:40 in T3 (0.60 yuan/kWh): 10 yuan last 100 minutes
    expect(model.relay).toMatchObject({ open: true, localLock: 'locked' });
    expect(model.readValue('00900200')).toBe(0);
    expect(model.pressButton()).toBe(false); // FEE-02: only a top-up releases it
  });

  it('lets the balance go into the overdraft when allowed, then locks at the limit', async () => {
    const { clock, model } = meter({ ...prepaid, registers: { remainingAmount: 5 }, prepaid: { alarmAmount1: 0, alarmAmount2: 0, overdraftAmountLimit: 6 } }, local(2026, 3, 2, 10));
    await clock.advance(25 * MINUTE); // 5 yuan
    expect(model.relay).toMatchObject({ open: true, localLock: 'releasable' });
    expect(model.pressButton()).toBe(true);
    await clock.advance(HOUR);
    expect(model.relay).toMatchObject({ open: true, localLock: 'locked' });
    expect(model.readValue('00900201')).toBe(6);
    expect(model.readValue('00900200')).toBe(0);
  });

  it('a top-up pays the overdraft first and allows closing only with a positive balance (FEE-03)', async () => {
    const { clock, model } = meter({ ...prepaid, registers: { remainingAmount: 5 }, prepaid: { alarmAmount1: 0, alarmAmount2: 0, overdraftAmountLimit: 6 } }, local(2026, 3, 2, 10));
    await clock.advance(25 * MINUTE);
    model.pressButton();
    await clock.advance(HOUR);
    expect(model.topUp(4)).toBe(true); // -6 + 4 = -2: the overdraft is paid back first, the balance is not > 0
    expect(model.relay).toMatchObject({ open: true, localLock: 'locked' });
    expect(model.pressButton()).toBe(false); // FEE-03: no close until the balance is positive
    expect(model.topUp(50)).toBe(true);
    expect(model.relay).toMatchObject({ open: true, localLock: 'none', closeAllowed: true });
    expect(model.pressButton()).toBe(true);
    expect(model.readValue('00900200')).toBe(48);
    expect(model.readValue('03330201')).toBe(2); // purchase count after the last purchase
    expect(model.readValue('03330301')).toBe(50);
    expect(model.readValue('03330601')).toBe(54); // cumulative (no purchases before the simulation)
  });

  it('refuses a top-up beyond the hoarding limit (FEE-04)', () => {
    const { model } = meter({ ...prepaid, prepaid: { hoardingLimit: 100 } });
    expect(model.topUp(71)).toBe(false);
    expect(model.topUp(70)).toBe(true);
  });

  it('does not trip under keep-power, and trips on release when the balance says so (KP-01, KP-02)', async () => {
    const { clock, model } = meter(prepaid, local(2026, 3, 2, 10));
    model.remoteControl(KeepPower, '00000000', null);
    await clock.advance(3 * HOUR);
    expect(model.relay.open).toBe(false);
    model.remoteControl(KeepPowerRelease, '00000000', null);
    expect(model.relay).toMatchObject({ open: true, localLock: 'locked' });
  });

  it('energy-prepaid meters count down kWh; remote cost control never trips by itself', async () => {
    const energy = meter({ meterType: 'energy-prepaid', load: { kW: 2 }, registers: { remainingEnergyKWh: 50 } }, local(2026, 3, 2, 10));
    await energy.clock.advance(HOUR);
    expect(energy.model.readValue('00900100')).toBe(48);
    expect(energy.model.statusWord3() & 0x300).toBe(0x100);
    const remote = meter({ ...prepaid, costControl: 'remote' }, local(2026, 3, 2, 10));
    await remote.clock.advance(5 * HOUR);
    expect(remote.model.relay.open).toBe(false);
    expect(remote.model.readValue('00900200')).toBe(30);
    expect(remote.model.statusWord3() & 0xc000).toBe(0x8000);
  });

  it('rejects alarm limits that would make alarm 1 < alarm 2 (FEE-02)', () => {
    const { model } = meter(prepaid);
    const pw = { level: 2, value: '000000' };
    expect(model.writeValue('04001001', 5, pw, '00000000')).toEqual({ ok: false, error: 'invalid' });
    expect(model.writeValue('04001001', 50, pw, '00000000')).toEqual({ ok: true });
    expect(model.writeValue('04001001', 50, { level: 2, value: '999999' }, '00000000')).toEqual({ ok: false, error: 'password' });
    expect(model.snapshot().events.programming.records[0]).toMatchObject({ identifiers: ['04001001'] });
  });
});

describe('other backchannel events and clears', () => {
  it('records cover opening with the energies before and after', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } }, local(2026, 3, 2, 13));
    model.openCover();
    await clock.advance(HOUR);
    model.closeCover();
    expect(model.readValue('03300D00')).toBe(1);
    expect(model.readValue('03300D01')).toMatchObject({
      start: { hour: 13, minute: 0 },
      end: { hour: 14, minute: 0 },
      forwardActiveEnergyBefore: 0,
      forwardActiveEnergyAfter: 1,
    });
  });

  it('meter clear zeroes the registers and the records; event clear zeroes the event logs', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 1 } }, local(2026, 3, 2, 13));
    model.openCover();
    await clock.advance(24 * HOUR);
    model.meterClear('00000001');
    expect(model.readValue('00010000')).toBe(0);
    expect(model.snapshot().dailyFreezes).toHaveLength(0);
    expect(model.readValue('03300D00')).toBe(0);
    model.cutMains();
    model.restoreMains();
    expect(model.eventClear('FFFFFFFF', '00000001')).toEqual({ ok: true });
    expect(model.readValue('03110000')).toBe(0);
    expect(model.snapshot().events.eventClear.count).toBe(1);
  });

  it('changes a password only with the old one of the same or a stronger level', () => {
    const { model } = meter();
    expect(model.changePassword('04000C05', { level: 4, value: '000000' }, { level: 4, value: '654321' })).toEqual({ ok: false, error: 'password' });
    expect(model.changePassword('04000C05', { level: 2, value: '000000' }, { level: 4, value: '654321' })).toEqual({ ok: true });
    expect(model.checkPassword({ level: 4, value: '654321' }, 4)).toBe(true);
    expect(model.checkPassword({ level: 4, value: '654321' }, 2)).toBe(false); // too weak for a clear
  });
});

describe('1CH checks and the relay model of issue 8 (FEE-06/07/09/11, KP-01..04)', () => {
  const op = '55667788';
  const future = { year: 2027, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  const past = { year: 2026, month: 3, day: 1, hour: 23, minute: 59, second: 59 };

  it('refuses an N1 the declaration does not list, and acts on none of it', () => {
    const { model } = meter({ ...NON_PREPAID }, undefined, { remoteControl: { commands: ['1A', '1B', '1C'] }, capabilities: { ...REF_CAPS, keepPower: false } });
    expect(model.remoteControl(KeepPower, op, future)).toEqual({ ok: false, error: 'unsupported' });
    expect(model.remoteControl(Alarm, op, future)).toEqual({ ok: false, error: 'unsupported' });
    expect(model.relay).toMatchObject({ keepPower: false, remoteAlarm: false });
    expect(model.remoteControl(Trip, op, future)).toEqual({ ok: true });
  });

  it('refuses an expired valid-until, and an all-zero one when the declaration does not accept it', () => {
    const { model } = meter({ ...NON_PREPAID }, local(2026, 3, 2), { remoteControl: { acceptsZeroValidUntil: false } });
    expect(model.remoteControl(Trip, op, past)).toEqual({ ok: false, error: 'expired' });
    expect(model.remoteControl(Trip, op, null)).toEqual({ ok: false, error: 'expired' });
    expect(model.relay).toMatchObject({ open: false, commandTrip: false });
    expect(model.remoteControl(Trip, op, future)).toEqual({ ok: true });
    expect(model.relay.open).toBe(true);
  });

  it('a trip with delay: status word 3 shows the command (bit 6) and the pre-trip alarm (bit 7) before the relay opens (bit 4)', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, relay: { tripDelayMs: 3000 } });
    model.remoteControl(Trip, op, future);
    expect(model.statusWord3() & 0xd0).toBe(0xc0);
    await clock.advance(2999);
    expect(model.statusWord3() & 0xd0).toBe(0xc0);
    await clock.advance(1);
    expect(model.statusWord3() & 0xd0).toBe(0x50);
    expect(model.readValue('1D000001')).toBe(1);
    expect(model.readValue('1D000101')).toMatchObject({ time: { second: 3 }, operator: op });
  });

  it('the declaration rules the relay: no pre-trip alarm unless meter.relay.preTripAlarm; the declared trip delay when the simulation names none', async () => {
    const relay = { type: 'internal', tripDelayMs: 3000, preTripAlarm: false, closeNeedsButton: true };
    const { clock, model } = meter(NON_PREPAID, local(2026, 3, 2), { relay });
    model.remoteControl(Trip, op, future);
    expect(model.statusWord3() & 0xd0).toBe(0x40); // command trip, relay closed, no bit 7
    await clock.advance(3000);
    expect(model.statusWord3() & 0xd0).toBe(0x50);
    // A declared range: the simulated meter trips in the middle of it.
    const ranged = meter(NON_PREPAID, local(2026, 3, 2), { relay: { ...relay, tripDelayMs: [2000, 4000] } });
    ranged.model.remoteControl(Trip, op, future);
    await ranged.clock.advance(2999);
    expect(ranged.model.relay.open).toBe(false);
    await ranged.clock.advance(1);
    expect(ranged.model.relay.open).toBe(true);
  });

  it('FEE-10 pre-trip: 1DH re-closes after N2 × 5 min, 1EH goes to close allowed (the key closes), N2 = 0 takes 300 s; refused on a tripped relay and under keep-power', async () => {
    const { clock, model } = meter(NON_PREPAID);
    expect(model.remoteControl(0x1d, op, future, 2).ok).toBe(true);
    expect(model.statusWord3() & 0x50).toBe(0x50); // command trip, relay open
    await clock.advance(10 * MINUTE - 1);
    expect(model.relay.open).toBe(true);
    await clock.advance(1);
    expect(model.statusWord3() & 0x50).toBe(0);
    expect(model.remoteControl(0x1e, op, future, 0).ok).toBe(true);
    await clock.advance(300_000);
    expect(model.statusWord3() & 0x50).toBe(0x10); // close allowed: command close, relay still open
    expect(model.pressButton()).toBe(true);
    model.remoteControl(Trip, op, future);
    expect(model.remoteControl(0x1d, op, future, 1)).toEqual({ ok: false, error: 'invalid' });
    model.remoteControl(DirectClose, op, future);
    model.remoteControl(KeepPower, op, future);
    expect(model.remoteControl(0x1d, op, future, 1)).toEqual({ ok: false, error: 'keep-power' });
  });

  it('close-allowed follows meter.relay.closeNeedsButton: an internal relay declared without the key closes at once', () => {
    const { model } = meter(NON_PREPAID, local(2026, 3, 2), { relay: { type: 'internal', closeNeedsButton: false } });
    model.remoteControl(Trip, op, future);
    expect(model.relay.open).toBe(true);
    model.remoteControl(CloseAllowed, op, future);
    expect(model.relay.open).toBe(false);
  });

  it('a second trip during the delay does not restart it; close-allowed during the delay cancels it', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, relay: { tripDelayMs: 3000 } });
    model.remoteControl(Trip, op, future);
    await clock.advance(2000);
    model.remoteControl(Trip, op, future);
    await clock.advance(1000);
    expect(model.relay.open).toBe(true);
    model.remoteControl(DirectClose, op, future);
    model.remoteControl(Trip, op, future);
    await clock.advance(1000);
    model.remoteControl(CloseAllowed, op, future);
    await clock.advance(10_000);
    expect(model.relay).toMatchObject({ open: false, commandTrip: false, pendingTripAt: null });
    expect(model.statusWord3() & 0xd0).toBe(0);
  });

  it('FEE-09: a trip under a large current waits until the current drops', async () => {
    // 60 kW on three phases at 220 V, pf 0.95: 95.7 A a phase, over the reference's 60 A.
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 60 } });
    model.remoteControl(Trip, op, future);
    expect(model.relay).toMatchObject({ open: false, commandTrip: true });
    expect(model.relay.tripProtectUntil).toBe(clock.now() + 24 * HOUR);
    expect(model.statusWord3() & 0xd0).toBe(0xc0);
    await clock.advance(10 * MINUTE);
    expect(model.relay.open).toBe(false);
    model.setLoad(5); // 8 A
    expect(model.relay).toMatchObject({ open: true, tripProtectUntil: null });
    expect(model.statusWord3() & 0xd0).toBe(0x50);
  });

  it('FEE-09: the deferred trip executes when the protection time runs out, even under load', async () => {
    const { clock, model } = meter({ ...NON_PREPAID, load: { kW: 60 } }, undefined, {
      relay: { type: 'internal', largeCurrentProtection: { thresholdA: 60, maxDeferMs: 30 * MINUTE } },
    });
    model.remoteControl(Trip, op, future);
    await clock.advance(30 * MINUTE - 1);
    expect(model.relay.open).toBe(false);
    await clock.advance(1);
    expect(model.relay.open).toBe(true);
    expect(model.readValue('1D000001')).toBe(1);
  });

  it('FEE-09: no protection declared, or an external relay: the trip executes at once', () => {
    const none = meter({ ...NON_PREPAID, load: { kW: 60 } }, undefined, { relay: { type: 'internal' } }).model;
    none.remoteControl(Trip, op, future);
    expect(none.relay.open).toBe(true);
    const external = meter({ ...NON_PREPAID, load: { kW: 60 }, relay: { kind: 'external' } }).model;
    external.remoteControl(Trip, op, future);
    expect(external.relay.open).toBe(true);
  });

  it('keeps the relay state across a mains cut; a trip falling due during the cut executes on restore; the key is dead without mains', async () => {
    const { clock, model } = meter({ ...NON_PREPAID });
    model.remoteControl(Trip, op, future);
    model.cutMains();
    await clock.advance(HOUR);
    model.restoreMains();
    expect(model.relay).toMatchObject({ open: true, commandTrip: true });
    model.remoteControl(CloseAllowed, op, future);
    model.cutMains();
    expect(model.pressButton()).toBe(false);
    model.restoreMains();
    expect(model.relay).toMatchObject({ open: true, closeAllowed: true });
    expect(model.pressButton()).toBe(true);

    const delayed = meter({ ...NON_PREPAID, relay: { tripDelayMs: 5 * MINUTE } });
    delayed.model.remoteControl(Trip, op, future);
    delayed.model.cutMains();
    await delayed.clock.advance(10 * MINUTE);
    expect(delayed.model.relay.open).toBe(false);
    delayed.model.restoreMains();
    expect(delayed.model.relay.open).toBe(true);
  });

  it('records trips and closes with time, operator and counts (1D00xxxx / 1E00xxxx)', async () => {
    const { clock, model } = meter({ ...NON_PREPAID }, local(2026, 3, 2, 13));
    model.remoteControl(Trip, '00000001', future);
    await clock.advance(MINUTE);
    model.remoteControl(DirectClose, '00000002', future);
    await clock.advance(MINUTE);
    model.remoteControl(Trip, '00000003', future);
    expect(model.readValue('1D000001')).toBe(2);
    expect(model.readValue('1E000001')).toBe(1);
    expect(model.readValue('1D000101')).toMatchObject({ operator: '00000003', time: { hour: 13, minute: 2 } });
    expect(model.readValue('1D000102')).toMatchObject({ operator: '00000001', time: { hour: 13, minute: 0 } });
    expect(model.readValue('1E000101')).toMatchObject({ operator: '00000002', time: { hour: 13, minute: 1 } });
  });

  it('local cost control: exhausted → locked; a top-up to a positive balance allows close, the key closes (FEE-02, FEE-03)', async () => {
    const { clock, model } = meter(
      { meterType: 'money-prepaid', costControl: 'local', registers: { remainingAmount: 2 }, prepaid: { alarmAmount1: 1, alarmAmount2: 0, overdraftAmountLimit: 0 } },
      local(2026, 3, 2, 13), // flat tariff T3, 0.6 yuan/kWh
    );
    await clock.advance(4 * HOUR); // 1 kW: 2.4 yuan > 2
    expect(model.relay).toMatchObject({ open: true, localLock: 'locked' });
    expect(model.readValue('00900200')).toBe(0);
    expect(model.remoteControl(CloseAllowed, op, future)).toEqual({ ok: true });
    expect(model.relay.closeAllowed).toBe(false); // FEE-03: not while the balance is 0
    expect(model.pressButton()).toBe(false);
    expect(model.topUp(10)).toBe(true);
    expect(model.readValue('00900200')).toBe(10);
    expect(model.relay).toMatchObject({ open: true, closeAllowed: true, localLock: 'none' });
    expect(model.pressButton()).toBe(true);
  });

  it('the external-relay reference: trip after 3 s, close-allowed closes at once, 3AH unsupported, no local balance trip', async () => {
    const clock = new VirtualClock({ start: local(2026, 3, 2, 13), autoAdvance: false });
    const model = new ElectricityMeterModel({ profile: loadSimulatorProfile(EXTERNAL_RELAY_METER_PROFILE_INPUT), clock });
    expect(model.remoteControl(Trip, op, future)).toEqual({ ok: true });
    expect(model.statusWord3() & 0xd0).toBe(0xc0);
    await clock.advance(3000);
    expect(model.statusWord3() & 0xd0).toBe(0x50);
    expect(model.remoteControl(CloseAllowed, op, future)).toEqual({ ok: true });
    expect(model.relay.open).toBe(false);
    expect(model.remoteControl(KeepPower, op, future)).toEqual({ ok: false, error: 'unsupported' });
    expect(model.localCostControl).toBe(false);
  });

  describe('fault switches of the broken variants', () => {
    it('ignoreValidUntil executes an expired command', () => {
      const { model } = meter({ ...NON_PREPAID });
      model.faults.ignoreValidUntil = true;
      expect(model.remoteControl(Trip, op, past)).toEqual({ ok: true });
      expect(model.relay.open).toBe(true);
    });

    it('closeWithoutButton closes an internal relay on close-allowed', () => {
      const { model } = meter({ ...NON_PREPAID });
      model.faults.closeWithoutButton = true;
      model.remoteControl(Trip, op, future);
      model.remoteControl(CloseAllowed, op, future);
      expect(model.relay.open).toBe(false);
    });

    it('ignoreRemoteControl acknowledges and does nothing, but still refuses what the checks refuse', () => {
      const { model } = meter({ ...NON_PREPAID });
      model.faults.ignoreRemoteControl = true;
      expect(model.remoteControl(Trip, op, future)).toEqual({ ok: true });
      expect(model.remoteControl(KeepPower, op, future)).toEqual({ ok: true });
      expect(model.relay).toMatchObject({ open: false, commandTrip: false, keepPower: false });
      expect(model.remoteControl(Trip, op, past)).toEqual({ ok: false, error: 'expired' });
    });

    it('statusWord3Lies: always-closed hides an open relay; command-as-state shows open during the trip delay', () => {
      const a = meter({ ...NON_PREPAID }).model;
      a.faults.statusWord3Lies = 'always-closed';
      a.remoteControl(Trip, op, future);
      expect(a.relay.open).toBe(true);
      expect(a.statusWord3() & 0x50).toBe(0x40);
      const b = meter({ ...NON_PREPAID, relay: { tripDelayMs: 3000 } }).model;
      b.faults.statusWord3Lies = 'command-as-state';
      b.remoteControl(Trip, op, future);
      expect(b.relay.open).toBe(false);
      expect(b.statusWord3() & 0x50).toBe(0x50);
    });

    it('keepPowerCommandIgnored: 3AH acknowledged, no bit 12, a trip is executed', () => {
      const { model } = meter({ ...NON_PREPAID });
      model.faults.keepPowerCommandIgnored = true;
      expect(model.remoteControl(KeepPower, op, future)).toEqual({ ok: true });
      expect(model.statusWord3() & 0x1000).toBe(0);
      expect(model.remoteControl(Trip, op, future)).toEqual({ ok: true });
      expect(model.relay.open).toBe(true);
    });
  });
});
