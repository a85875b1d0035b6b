import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../harness/core/clock.ts';
import { ProfileError } from '../../harness/core/errors.ts';
import { DICTIONARY } from '../../harness/protocols/dlt645/dictionary.ts';
import { ElectricityMeterModel } from './model.ts';
import {
  DISTINCT_ERRORS_METER_PROFILE_INPUT,
  EXTERNAL_RELAY_METER_PROFILE_INPUT,
  REFERENCE_METER_PROFILE,
  REFERENCE_METER_PROFILE_INPUT,
  TRIP_DELAY_METER_PROFILE_INPUT,
  loadSimulatorProfile,
} from './profile.ts';
import { REFERENCE_FOLLOW_UP_IDENTIFIERS, REFERENCE_IDENTIFIERS } from './reference-identifiers.ts';
import { profileWith, T0 } from './test-support.ts';
import { servedIdentifiers } from './values.ts';

const REGENERATE = 'run: npx tsx simulators/electricity-meter/tools/generate-reference-profile.ts';

describe('the reference profile', () => {
  const json: unknown = JSON.parse(readFileSync(new URL('./profiles/reference-meter.json', import.meta.url), 'utf8'));

  it('profiles/reference-meter.json is REFERENCE_METER_PROFILE_INPUT', () => {
    expect(json, REGENERATE).toEqual(JSON.parse(JSON.stringify(REFERENCE_METER_PROFILE_INPUT)));
    expect(loadSimulatorProfile(json)).toEqual(REFERENCE_METER_PROFILE);
  });

  it('declares exactly the identifiers the model serves', () => {
    expect(REFERENCE_IDENTIFIERS, REGENERATE).toEqual(servedIdentifiers(DICTIONARY.all()));
    expect(REFERENCE_METER_PROFILE.meter.identifiers).toEqual(REFERENCE_IDENTIFIERS);
    expect(REFERENCE_IDENTIFIERS.length).toBeGreaterThan(1000);
    for (const di of REFERENCE_FOLLOW_UP_IDENTIFIERS) expect(REFERENCE_IDENTIFIERS).toContain(di);
    expect(REFERENCE_IDENTIFIERS).toContain('0506FF01');
    expect(REFERENCE_IDENTIFIERS).not.toContain(REFERENCE_METER_PROFILE.meter.unsupportedIdentifier);
    expect(REFERENCE_IDENTIFIERS).toContain(REFERENCE_METER_PROFILE.meter.writableIdentifier);
    expect(REFERENCE_METER_PROFILE.meter.capabilities).toMatchObject({ remoteControl: true, followUp: true, freeze: true });
  });

  it('profiles/external-relay-meter.json is EXTERNAL_RELAY_METER_PROFILE_INPUT, and declares its switching side as it behaves', () => {
    const ext: unknown = JSON.parse(readFileSync(new URL('./profiles/external-relay-meter.json', import.meta.url), 'utf8'));
    expect(ext, REGENERATE).toEqual(JSON.parse(JSON.stringify(EXTERNAL_RELAY_METER_PROFILE_INPUT)));
    const { meter, simulation } = loadSimulatorProfile(ext);
    expect(meter.capabilities).toMatchObject({ remoteControl: true, keepPower: false, localCostControl: false });
    expect(simulation.costControl).toBe('remote');
    expect(meter.relay).toMatchObject({ type: simulation.relay.kind, tripDelayMs: simulation.relay.tripDelayMs, closeNeedsButton: false });
    expect(meter.relay.largeCurrentProtection).toBeUndefined();
  });

  it('profiles/distinct-errors-meter.json is DISTINCT_ERRORS_METER_PROFILE_INPUT: three different 1CH refusal words, none 01H or 04H', () => {
    const json: unknown = JSON.parse(readFileSync(new URL('./profiles/distinct-errors-meter.json', import.meta.url), 'utf8'));
    expect(json, REGENERATE).toEqual(JSON.parse(JSON.stringify(DISTINCT_ERRORS_METER_PROFILE_INPUT)));
    const { remoteControl } = loadSimulatorProfile(json).meter;
    const words = Object.values(remoteControl.errors);
    expect(new Set([...words, '01', '04']).size).toBe(5);
    expect(remoteControl).toMatchObject({ acceptsZeroValidUntil: false, passwordBeforeValidUntil: false });
  });

  it('profiles/trip-delay-meter.json is TRIP_DELAY_METER_PROFILE_INPUT: a 3 s trip delay with the pre-trip alarm, simulated as declared', () => {
    const json: unknown = JSON.parse(readFileSync(new URL('./profiles/trip-delay-meter.json', import.meta.url), 'utf8'));
    expect(json, REGENERATE).toEqual(JSON.parse(JSON.stringify(TRIP_DELAY_METER_PROFILE_INPUT)));
    const { meter, simulation } = loadSimulatorProfile(json);
    expect(meter.relay).toMatchObject({ type: 'internal', tripDelayMs: 3000, preTripAlarm: true });
    expect(simulation.relay).toEqual({ kind: 'internal', tripDelayMs: 3000 });
  });

  it('declares its switching side as the simulation behaves (issue 8)', () => {
    const { meter, simulation } = REFERENCE_METER_PROFILE;
    expect(meter.capabilities).toMatchObject({ remoteControl: true, keepPower: true, localCostControl: true });
    expect(meter.capabilities.localCostControl).toBe(simulation.meterType !== 'non-prepaid' && simulation.costControl === 'local');
    expect(meter.relay.type).toBe(simulation.relay.kind);
    expect(meter.relay.tripDelayMs).toBe(simulation.relay.tripDelayMs);
    expect(meter.relay.closeNeedsButton).toBe(simulation.relay.kind === 'internal');
    expect(meter.remoteControl.commands).toEqual(['1A', '1B', '1C', '2A', '2B', '3A', '3B']);
    expect(meter.passwords[meter.passwordLevels.remoteControl]).toBeDefined();
    // status words, relay events and the prepaid registers the switching suite reads
    for (const di of ['04000501', '04000503', '04000507', '1D000001', '1D000101', '1E000001', '1E000101', '00900200', '00900201', '04001001', '04001002']) {
      expect(meter.identifiers, di).toContain(di);
    }
  });

  it('every declared identifier reads, encodes with the dictionary and decodes back, in a fresh and a used meter', async () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const model = new ElectricityMeterModel({ profile: REFERENCE_METER_PROFILE, clock });
    const check = (): void => {
      for (const di of REFERENCE_IDENTIFIERS) {
        const value = model.readValue(di);
        expect(value, di).toBeDefined();
        const bytes = DICTIONARY.encodeValue(di, value!);
        expect(DICTIONARY.decodeValue(di, bytes), di).toEqual({ ok: true, value });
      }
    };
    check();
    // A month later with history: freezes, a settlement, events, a purchase.
    model.drawFor(7.5, 3_600_000);
    model.openCover();
    await clock.advance(40 * 86_400_000);
    model.closeCover();
    model.cutMains();
    await clock.advance(60_000);
    model.restoreMains();
    model.topUp(123.45);
    model.freeze({ minute: 'any', hour: 'any', day: 'any', month: 'any' });
    check();
  });
});

describe('loadSimulatorProfile errors name the field', () => {
  const fails = (profile: unknown): string => {
    try {
      loadSimulatorProfile(profile);
    } catch (e) {
      expect(e).toBeInstanceOf(ProfileError);
      return (e as Error).message;
    }
    throw new Error('the profile was accepted');
  };

  it('reports the path of a bad simulation setting', () => {
    expect(fails(profileWith({ simulation: { responseDelayMs: -5 } }))).toMatch(/simulation\.responseDelayMs/);
    expect(fails(profileWith({ simulation: { responseDelayMs: [300, 100] } }))).toMatch(/simulation\.responseDelayMs: \[min, max\] needs min ≤ max/);
    expect(fails(profileWith({ simulation: { meterType: 'gas' } }))).toMatch(/simulation\.meterType/);
    expect(fails(profileWith({ simulation: { tariffs: { timeSlots: [{ from: '00:00', tariff: 1 }, { from: '25:00', tariff: 2 }] } } }))).toMatch(
      /simulation\.tariffs\.timeSlots\[1\]\.from/,
    );
    expect(fails(profileWith({ simulation: { tariffs: { count: 8 } } }))).toMatch(/simulation\.tariffs\.count/);
    expect(fails(profileWith({ simulation: { load: { kW: [{ from: '06:00', kW: 1 }] } } }))).toMatch(/simulation\.load\.kW/);
    expect(fails(profileWith({ simulation: { prepaid: { alarmAmount1: 5, alarmAmount2: 10 } } }))).toMatch(
      /simulation\.prepaid\.alarmAmount1: alarm amount 1 must be ≥ alarm amount 2/,
    );
    expect(fails(profileWith({ simulation: { colour: 'red' } }))).toMatch(/simulation.*colour/);
  });

  it('reports the path of a bad declaration field', () => {
    expect(fails(profileWith({ meter: { address: '12345' } }))).toMatch(/meter\.address: address must be 12 decimal digits/);
    expect(fails(profileWith({ meter: { followUpIdentifiers: ['03010000'] } }))).toMatch(/meter\.followUpIdentifiers/);
  });

  it('refuses a declared value longer than one reply when follow-up frames are off', () => {
    // 0506FF01 (daily freeze block): DI 4 + 45 bytes, more than 16; 00010000 (4 bytes) fits.
    const small = { identifiers: ['00010000', '0506FF01'], followUpIdentifiers: [], maxFrameDataLength: 16 };
    // (The reference simulation sets its own maxFrameDataLength 200: set it to the declared 16.)
    expect(fails(profileWith({ meter: { ...small, capabilities: { ...REFERENCE_METER_PROFILE.meter.capabilities, followUp: false } }, simulation: { maxFrameDataLength: 16 } }))).toMatch(
      /meter\.identifiers\[1\]: 0506FF01 needs 49 data bytes \(DI \+ value\), more than one reply carries \(16\), and follow-up frames are off/,
    );
    expect(fails(profileWith({ meter: small, simulation: { supportsFollowUp: false, maxFrameDataLength: 16 } }))).toMatch(/meter\.identifiers\[1\]: 0506FF01 needs 49 data bytes/);
    // With follow-up on, or frames large enough, the same declaration loads.
    expect(loadSimulatorProfile(profileWith({ meter: small, simulation: { maxFrameDataLength: 16 } })).meter.identifiers).toHaveLength(2);
    expect(loadSimulatorProfile(profileWith({ meter: small, simulation: { supportsFollowUp: false, maxFrameDataLength: 49 } })).meter.identifiers).toHaveLength(2);
  });

  it('refuses a declared identifier the simulator does not serve, naming it and its index', () => {
    // 03010000 (event records) is in the dictionary but the model does not serve it.
    expect(servedIdentifiers(DICTIONARY.all())).not.toContain('03010000');
    expect(fails(profileWith({ meter: { identifiers: ['00010000', '03010000'], followUpIdentifiers: [] } }))).toMatch(
      /meter\.identifiers\[1\]: 03010000 is declared readable but the simulator does not serve it/,
    );
    expect(loadSimulatorProfile(profileWith({ meter: { identifiers: ['00010000', '00020000', '04000401'], followUpIdentifiers: [] } })).meter.identifiers).toEqual(['00010000', '00020000', '04000401']);
  });

  it('reports unknown behaviours and bad behaviour parameters', () => {
    expect(fails(profileWith({ behaviours: [{ name: 'teleport' }] }))).toMatch(/behaviours\[0\]\.name: unknown behaviour "teleport" \(known: wrong-checksum/);
    expect(fails(profileWith({ behaviours: [{ name: 'silent' }, { name: 'late-reply', delayMs: 'slow' }] }))).toMatch(/behaviours\[1\]\.delayMs/);
    expect(fails(profileWith({ behaviours: [{ name: 'drop-every-nth', every: 3 }] }))).toMatch(/behaviours\[0\]/);
  });

  it('refuses a simulated relay its declaration contradicts, naming both fields, in one ProfileError', () => {
    const base = structuredClone(REFERENCE_METER_PROFILE_INPUT) as Record<string, any>;
    base.meter.relay = { ...base.meter.relay, tripDelayMs: [2000, 4000] };
    base.simulation.relay = { kind: 'external', tripDelayMs: 5000 };
    let error: unknown;
    try {
      loadSimulatorProfile(base, 'sim.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ProfileError);
    const m = (error as Error).message;
    expect(m).toMatch(/^sim\.json: /);
    expect(m).toContain('simulation.relay.kind: "external" contradicts meter.relay.type "internal"');
    expect(m).toContain('simulation.relay.tripDelayMs: 5000 ms is outside meter.relay.tripDelayMs [2000, 4000] ms');
    // Within the range it is the simulation's choice; left out, the declaration decides.
    base.simulation.relay = { tripDelayMs: 2500 };
    expect(loadSimulatorProfile(base).simulation.relay).toEqual({ kind: 'internal', tripDelayMs: 2500 });
    base.simulation.relay = {};
    expect(loadSimulatorProfile(base).simulation.relay).toEqual({ kind: 'internal', tripDelayMs: 3000 });
  });

  it('names the source in the message', () => {
    expect(() => loadSimulatorProfile({}, 'profiles/x.json')).toThrow(/^profiles\/x\.json: meter: /);
  });
});
