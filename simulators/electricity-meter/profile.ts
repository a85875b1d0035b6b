/**
 * Simulator profile of a DL/T 645-2007 electricity meter: what the meter declares (the shared
 * `MeterDeclaration`: address, identifiers, capabilities, passwords), how the physical meter
 * behaves in simulated time (clock, tariffs, load, registers, prepaid, relay, reply timing), and
 * which faulty behaviours are stacked on top (behaviours.ts).
 *
 * The CLI loads profiles from JSON files (profiles/*.json); `loadSimulatorProfile` validates
 * one and throws a ProfileError whose message names the offending field path.
 */
import { z } from 'zod';
import { MeterDeclarationSchema, type MeterDeclarationInput } from '../../harness/protocols/dlt645/declaration.ts';
import { DICTIONARY } from '../../harness/protocols/dlt645/dictionary.ts';
import { validateBehaviourConfig, type BehaviourConfig } from './behaviours.ts';
import { formatIssuePath, parseDeviceProfile } from '../device/profile-loading.ts';
/** Identifiers the reference meter declares; kept in sync with the model by profile.test.ts. */
import { REFERENCE_FOLLOW_UP_IDENTIFIERS, REFERENCE_IDENTIFIERS } from './reference-identifiers.ts';
import { isServedIdentifier } from './values.ts';

/** "hh:mm" in meter local time (UTC+8). */
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected "hh:mm" (00:00 to 23:59)');

/** Tariff numbers T1..T4 (T1 sharp 尖, T2 peak 峰, T3 flat 平, T4 valley 谷 — the usual assignment). */
export const TARIFF_COUNT = 4;
const tariff = z.number().int().min(1).max(TARIFF_COUNT);
const fourNonNegative = z.tuple([z.number().min(0), z.number().min(0), z.number().min(0), z.number().min(0)]);

/** Daily time-slot table: each slot starts at `from` and runs until the next slot's `from`. */
export const DEFAULT_TIME_SLOTS: readonly { from: string; tariff: number }[] = [
  { from: '00:00', tariff: 4 }, // valley
  { from: '08:00', tariff: 2 }, // peak
  { from: '10:00', tariff: 1 }, // sharp
  { from: '12:00', tariff: 3 }, // flat
  { from: '17:00', tariff: 2 }, // peak
  { from: '19:00', tariff: 1 }, // sharp
  { from: '21:00', tariff: 3 }, // flat
  { from: '23:00', tariff: 4 }, // valley
];

/** Default prices per tariff T1..T4, yuan/kWh (only money-prepaid meters use them). */
export const DEFAULT_PRICES: readonly [number, number, number, number] = [1.2, 0.9, 0.6, 0.3];

/** Time slots must start at 00:00 and be strictly increasing, so every minute of the day has one tariff. */
const TimeSlotsSchema = z
  .array(z.object({ from: hhmm, tariff }).strict())
  .min(1)
  .max(14) // DL/T 645-2007 allows at most 14 daily time slots (04000203) [BK]
  .superRefine((slots, ctx) => {
    if (slots[0] && slots[0].from !== '00:00') {
      ctx.addIssue({ code: 'custom', path: [0, 'from'], message: 'the first time slot must start at 00:00' });
    }
    for (let i = 1; i < slots.length; i++) {
      if (slots[i]!.from <= slots[i - 1]!.from) {
        ctx.addIssue({ code: 'custom', path: [i, 'from'], message: `time slots must be in increasing order (${slots[i]!.from} after ${slots[i - 1]!.from})` });
      }
    }
  });

const LoadStepsSchema = z
  .array(z.object({ from: hhmm, kW: z.number() }).strict())
  .min(1)
  .superRefine((steps, ctx) => {
    if (steps[0] && steps[0].from !== '00:00') {
      ctx.addIssue({ code: 'custom', path: [0, 'from'], message: 'a daily load profile must start at 00:00' });
    }
    for (let i = 1; i < steps.length; i++) {
      if (steps[i]!.from <= steps[i - 1]!.from) {
        ctx.addIssue({ code: 'custom', path: [i, 'from'], message: `load steps must be in increasing order (${steps[i]!.from} after ${steps[i - 1]!.from})` });
      }
    }
  });

const delayMs = z.number().min(0).max(60_000);

export const SimulationSchema = z
  .object({
    /** Meter clock = harness clock + this offset (ms). A meter that is 2 minutes fast: 120000. */
    clockOffsetMs: z.number().int().default(0),
    /** Clock drift in parts per million (+ runs fast). CLK-01 allows 0.5 s/day, about 5.8 ppm. */
    clockDriftPpm: z.number().min(-10_000).max(10_000).default(0),
    /** Status word 3 bits 8-9 (PROTOCOLS.md 1.8). */
    meterType: z.enum(['non-prepaid', 'energy-prepaid', 'money-prepaid']).default('non-prepaid'),
    /**
     * FEE-01: 'local' meters hold the balance and trip themselves; 'remote' meters only measure and
     * actuate on the master's commands (balance registers are still served but never trip).
     */
    costControl: z.enum(['local', 'remote']).default('local'),
    tariffs: z
      .object({
        /** Fixed at 4 (T1..T4); a different count is a profile error. */
        count: z.literal(TARIFF_COUNT).default(TARIFF_COUNT),
        timeSlots: TimeSlotsSchema.default(DEFAULT_TIME_SLOTS.map((s) => ({ ...s }))),
        /** yuan/kWh for T1..T4. */
        prices: fourNonNegative.default([...DEFAULT_PRICES]),
      })
      .strict()
      .default({ count: TARIFF_COUNT, timeSlots: DEFAULT_TIME_SLOTS.map((s) => ({ ...s })), prices: [...DEFAULT_PRICES] }),
    load: z
      .object({
        /**
         * Active power drawn by the customer, kW: a constant, or daily steps `{from: "hh:mm", kW}`.
         * Negative = export (counted as reverse active energy).
         */
        kW: z.union([z.number(), LoadStepsSchema]).default(1),
        powerFactor: z.number().min(0.01).max(1).default(0.95),
        /** Phase voltage, V. */
        voltageV: z.number().min(0).max(999.9).default(220),
        frequencyHz: z.number().min(0).max(99.99).default(50),
        /** 1 = single-phase (only phase A is served), 3 = three-phase (load shared equally). */
        phases: z.union([z.literal(1), z.literal(3)]).default(3),
      })
      .strict()
      .default({ kW: 1, powerFactor: 0.95, voltageV: 220, frequencyHz: 50, phases: 3 }),
    registers: z
      .object({
        /** Forward active energy per tariff T1..T4, kWh (the total is their sum). */
        forwardActiveKWh: fourNonNegative.default([0, 0, 0, 0]),
        reverseActiveKWh: fourNonNegative.default([0, 0, 0, 0]),
        /** Money-prepaid balance, yuan (00900200). */
        remainingAmount: z.number().min(0).default(0),
        /** Energy-prepaid balance, kWh (00900100). */
        remainingEnergyKWh: z.number().min(0).default(0),
        purchaseCount: z.number().int().min(0).default(0),
        /** Cumulative purchases (yuan for money-prepaid, kWh for energy-prepaid). */
        purchaseTotal: z.number().min(0).default(0),
      })
      .strict()
      .default({ forwardActiveKWh: [0, 0, 0, 0], reverseActiveKWh: [0, 0, 0, 0], remainingAmount: 0, remainingEnergyKWh: 0, purchaseCount: 0, purchaseTotal: 0 }),
    prepaid: z
      .object({
        /** FEE-02 alarm amounts (yuan): ≤ alarm 1 → alarm; ≤ alarm 2 → trip (local), key restores. */
        alarmAmount1: z.number().min(0).default(20),
        alarmAmount2: z.number().min(0).default(10),
        /** Overdraft allowed below zero, yuan (0 = none: trip at zero that only a top-up releases). */
        overdraftAmountLimit: z.number().min(0).default(0),
        alarmEnergy1KWh: z.number().min(0).default(20),
        alarmEnergy2KWh: z.number().min(0).default(10),
        overdraftEnergyLimitKWh: z.number().min(0).default(0),
        /** FEE-04 anti-hoarding: maximum stored balance (0 = no limit). */
        hoardingLimit: z.number().min(0).default(0),
      })
      .strict()
      .superRefine((p, ctx) => {
        // FEE-02: reject a configuration where alarm 1 < alarm 2.
        if (p.alarmAmount1 < p.alarmAmount2) {
          ctx.addIssue({ code: 'custom', path: ['alarmAmount1'], message: 'alarm amount 1 must be ≥ alarm amount 2 (FEE-02)' });
        }
        if (p.alarmEnergy1KWh < p.alarmEnergy2KWh) {
          ctx.addIssue({ code: 'custom', path: ['alarmEnergy1KWh'], message: 'alarm energy 1 must be ≥ alarm energy 2 (FEE-02)' });
        }
      })
      .default({ alarmAmount1: 20, alarmAmount2: 10, overdraftAmountLimit: 0, alarmEnergy1KWh: 20, alarmEnergy2KWh: 10, overdraftEnergyLimitKWh: 0, hoardingLimit: 0 }),
    /**
     * The simulated relay, within what the meter declares (`meter.relay`): each field may only
     * choose inside the declaration, and is taken from it when left out (a contradiction is a
     * ProfileError naming both fields).
     */
    relay: z
      .object({
        /** FEE-11 / KP-03: must equal `meter.relay.type`. Absent: the declared type. */
        kind: z.enum(['internal', 'external']).optional(),
        /**
         * FEE-07 trip delay, ms: a trip command sets the command bit at once and opens the relay after
         * this. Must lie within `meter.relay.tripDelayMs` (a number, or [min, max]). Absent: the
         * declared delay (the middle of a declared range, rounded).
         */
        tripDelayMs: z.number().int().min(0).optional(),
      })
      .strict()
      .default({}),
    /** Monthly settlement instant (DI 04000B01 DDhh): day 1..28, hour 0..23. Default the 1st at 00:00. */
    settlement: z
      .object({ day: z.number().int().min(1).max(28).default(1), hour: z.number().int().min(0).max(23).default(0) })
      .strict()
      .default({ day: 1, hour: 0 }),
    /**
     * Response delay Td after the last request byte, ms: a constant or [min, max] drawn with the
     * seeded generator. PROTOCOLS.md 1.1 allows 20 ms ≤ Td ≤ 500 ms; 60 ms is comfortably inside.
     */
    responseDelayMs: z
      .union([delayMs, z.tuple([delayMs, delayMs])])
      .default(60)
      .refine((d) => typeof d === 'number' || d[0] <= d[1], { message: '[min, max] needs min ≤ max' }),
    /**
     * FE bytes before each reply. Default 4: the same wake-up preamble masters send, and what the
     * 600888 peer sends (PROTOCOLS.md 1.1); a master must skip any number of FE anyway (ROB-02).
     */
    replyPreamble: z.number().int().min(0).max(8).default(4),
    /**
     * Largest data field L of one reply; a longer item is split into follow-up frames (B1, then 12H).
     * Absent: the declaration's `meter.maxFrameDataLength` (default 200 for 2007, PROTOCOLS.md 1.2,
     * [BK]). L is one byte, so at most 255.
     */
    maxFrameDataLength: z.number().int().min(16).max(255).optional(),
    /** 'own-address' is conformant (PROTOCOLS.md 1.4); 'echo-wildcard' reproduces the 600888 peer. */
    wildcardReply: z.enum(['own-address', 'echo-wildcard']).default('own-address'),
    /** Serve long items with follow-up frames. Absent: follows `meter.capabilities.followUp`. */
    supportsFollowUp: z.boolean().optional(),
    /**
     * Load records (负荷记录, load-records.ts): one record at every interval boundary of the meter
     * clock, read with 11H DI 06000001 (block count and given time). Off by default (mode word 0):
     * a meter then keeps and allocates nothing.
     */
    loadRecord: z
      .object({
        /** Load-record mode word (04000901): bit c−1 records class c (1 U/I/f, 2 P/Q, 3 PF, 4 energy, 5 quadrant reactive, 6 demand). */
        modeWord: z.number().int().min(0).max(0b111111).default(0),
        /** Record interval (04000A02..07), minutes: a divisor of 60, so records fall on the same instants every hour. */
        intervalMinutes: z
          .number()
          .int()
          .min(1)
          .max(60)
          .refine((m) => 60 % m === 0, { message: 'must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)' })
          .default(15),
        /** Days of records kept: a ring of daysKept × 1440 / intervalMinutes records. */
        daysKept: z.number().int().min(1).max(62).default(4),
      })
      .strict()
      .default({ modeWord: 0, intervalMinutes: 15, daysKept: 4 }),
  })
  .strict();

const BehaviourEntrySchema = z
  .object({ name: z.string() })
  .catchall(z.unknown())
  .superRefine((entry, ctx) => {
    for (const issue of validateBehaviourConfig(entry)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .transform((entry) => entry as BehaviourConfig);

/** DI3..DI0 at the head of every read reply's data field (PROTOCOLS.md 1.3). */
const DI_LENGTH = 4;

type RelayDeclaration = z.output<typeof MeterDeclarationSchema>['relay'];

/** The declared trip delay as [min, max], ms. */
function declaredTripDelay(relay: RelayDeclaration): readonly [number, number] {
  const d = relay.tripDelayMs;
  return typeof d === 'number' ? [d, d] : d;
}

function describeDelay(relay: RelayDeclaration): string {
  const [min, max] = declaredTripDelay(relay);
  return min === max ? `${min} ms` : `[${min}, ${max}] ms`;
}

export const SimulatorProfileSchema = z
  .object({
    /** Free text shown in logs and reports. */
    description: z.string().optional(),
    meter: MeterDeclarationSchema,
    simulation: SimulationSchema.default(SimulationSchema.parse({})),
    /** Faulty behaviours stacked on the conformant server, bottom first (behaviours.ts). */
    behaviours: z.array(BehaviourEntrySchema).default([]),
  })
  .strict()
  .superRefine((p, ctx) => {
    // A declared identifier the simulator cannot serve would be refused on the wire: a profile
    // mistake, not a meter to simulate (broken variants are behaviours).
    // Without follow-up frames every declared value must fit in one reply: DI (4 bytes) + value.
    const followUp = p.simulation.supportsFollowUp ?? p.meter.capabilities.followUp;
    const maxData = p.simulation.maxFrameDataLength ?? p.meter.maxFrameDataLength;
    p.meter.identifiers.forEach((di, i) => {
      if (!isServedIdentifier(di)) {
        ctx.addIssue({
          code: 'custom',
          path: ['meter', 'identifiers', i],
          message: `${di} is declared readable but the simulator does not serve it (simulators/README.md: reference-identifiers.ts lists every identifier it serves)`,
        });
        return;
      }
      const length = DI_LENGTH + (DICTIONARY.lookup(di)?.length ?? 0);
      if (!followUp && length > maxData) {
        ctx.addIssue({
          code: 'custom',
          path: ['meter', 'identifiers', i],
          message: `${di} needs ${length} data bytes (DI + value), more than one reply carries (${maxData}), and follow-up frames are off (capabilities.followUp / simulation.supportsFollowUp)`,
        });
      }
    });
    // The simulated relay may only choose within what the meter declares (issue 8).
    const declared = p.meter.relay;
    const sim = p.simulation.relay;
    if (sim.kind !== undefined && sim.kind !== declared.type) {
      ctx.addIssue({
        code: 'custom',
        path: ['simulation', 'relay', 'kind'],
        message: `"${sim.kind}" contradicts meter.relay.type "${declared.type}": the simulated relay must be the declared one (leave simulation.relay.kind out to use the declaration)`,
      });
    }
    const [min, max] = declaredTripDelay(declared);
    if (sim.tripDelayMs !== undefined && (sim.tripDelayMs < min || sim.tripDelayMs > max)) {
      ctx.addIssue({
        code: 'custom',
        path: ['simulation', 'relay', 'tripDelayMs'],
        message: `${sim.tripDelayMs} ms is outside meter.relay.tripDelayMs ${describeDelay(declared)}: the simulated trip delay may only choose within the declared one (leave simulation.relay.tripDelayMs out to use the declaration)`,
      });
    }
  })
  .transform((p) => {
    const [min, max] = declaredTripDelay(p.meter.relay);
    const relay = {
      kind: p.simulation.relay.kind ?? p.meter.relay.type,
      tripDelayMs: p.simulation.relay.tripDelayMs ?? Math.round((min + max) / 2),
    };
    return { ...p, simulation: { ...p.simulation, relay } };
  });

export type SimulatorProfile = z.output<typeof SimulatorProfileSchema>;
export type SimulatorProfileInput = z.input<typeof SimulatorProfileSchema>;
/** The simulation settings of a validated profile (the relay resolved against the declaration). */
export type SimulationSettings = SimulatorProfile['simulation'];

/** Issue paths as ProfileError names them (simulators/device/profile-loading.ts). */
export { formatIssuePath };

/** Profiles `loadSimulatorProfile` returned: meter-type.ts compiles each of them once. */
const validatedProfiles = new WeakSet<object>();

/** Whether `value` is a profile object `loadSimulatorProfile` returned (validated, with defaults). */
export function isValidatedSimulatorProfile(value: unknown): value is SimulatorProfile {
  return typeof value === 'object' && value !== null && validatedProfiles.has(value);
}

/**
 * Validates a parsed JSON value as a simulator profile. Throws ProfileError naming every bad
 * field: `simulator profile: simulation.responseDelayMs: Too big: expected number to be <=60000`.
 */
export function loadSimulatorProfile(json: unknown, source = 'simulator profile'): SimulatorProfile {
  const profile = parseDeviceProfile(SimulatorProfileSchema, json, source);
  validatedProfiles.add(profile);
  return profile;
}

// ---------------------------------------------------------------------------------------------
// The reference meter: our built-in conformant implementation (it must pass every suite).
// ---------------------------------------------------------------------------------------------

/**
 * Reference trip delay (FEE-07): 0, the trip executes at once (the usual factory setting of the
 * NNNN-minute parameter, [BK]). Profiles with a delay exercise the pre-trip phase.
 */
export const REFERENCE_TRIP_DELAY_MS = 0;
/** Reference large-current trip-protection threshold (FEE-09), A per phase: our choice (a 60 A direct meter). */
export const REFERENCE_TRIP_PROTECT_THRESHOLD_A = 60;

export const REFERENCE_METER_PROFILE_INPUT = {
  description: 'MeterLab reference DL/T 645-2007 three-phase money-prepaid meter (conformant)',
  meter: {
    protocol: 'dlt645-2007',
    address: '123456789012',
    line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 },
    identifiers: [...REFERENCE_IDENTIFIERS],
    followUpIdentifiers: [...REFERENCE_FOLLOW_UP_IDENTIFIERS],
    unsupportedIdentifier: '03010000',
    capabilities: {
      readAddressWithWildcard: true,
      readWithWildcard: true,
      broadcastTimeSync: true,
      freeze: true,
      followUp: true,
      writeData: true,
      remoteControl: true,
      keepPower: true,
      localCostControl: true,
      writeAddress: true,
      changePassword: true,
      clearMaxDemand: true,
      meterClear: true,
      eventClear: true,
    },
    passwords: { '02': '000000', '04': '123456' },
    passwordLevels: { writeData: '04', clear: '02', remoteControl: '02' },
    remoteControl: {
      commands: ['1A', '1B', '1C', '2A', '2B', '3A', '3B'],
      acceptsZeroValidUntil: true,
      // FEE-10 pre-trip with auto-restore: N1 1D / 1E, restore time N2 × 5 min (Wisdom 645 handler, [src]).
      preTrip: { restoreClose: '1D', restoreAllow: '1E', n2UnitMs: 5 * 60_000, defaultRestoreMs: 300_000 },
      errors: { expired: '01', keepPowerTrip: '01', unsupportedCommand: '01' },
    },
    relay: {
      type: 'internal',
      tripDelayMs: REFERENCE_TRIP_DELAY_MS,
      preTripAlarm: true,
      closeNeedsButton: true,
      largeCurrentProtection: { thresholdA: REFERENCE_TRIP_PROTECT_THRESHOLD_A, maxDeferMs: 24 * 3600_000 },
      keepsStateAcrossPowerCycle: true,
    },
    baudRates: [1200, 2400, 4800, 9600],
    operatorCode: '00000000',
    writableIdentifier: '04001001',
    multiFunctionOutputs: ['00', '01', '02'],
  },
  simulation: {
    clockOffsetMs: 0,
    clockDriftPpm: 0,
    meterType: 'money-prepaid',
    costControl: 'local',
    tariffs: { count: 4, timeSlots: DEFAULT_TIME_SLOTS.map((s) => ({ ...s })), prices: [...DEFAULT_PRICES] },
    load: { kW: 1, powerFactor: 0.95, voltageV: 220, frequencyHz: 50, phases: 3 },
    registers: {
      forwardActiveKWh: [100, 200, 300, 400],
      reverseActiveKWh: [0, 0, 0, 0],
      remainingAmount: 500,
      remainingEnergyKWh: 0,
      purchaseCount: 1,
      purchaseTotal: 500,
    },
    prepaid: {
      alarmAmount1: 20,
      alarmAmount2: 10,
      overdraftAmountLimit: 0,
      alarmEnergy1KWh: 20,
      alarmEnergy2KWh: 10,
      overdraftEnergyLimitKWh: 0,
      hoardingLimit: 0,
    },
    // simulation.relay left out: the simulated relay is the declared one (meter.relay).
    settlement: { day: 1, hour: 0 },
    responseDelayMs: 60,
    replyPreamble: 4,
    maxFrameDataLength: 200,
    wildcardReply: 'own-address',
  },
  behaviours: [],
} satisfies SimulatorProfileInput & { meter: MeterDeclarationInput };

export const REFERENCE_METER_PROFILE: SimulatorProfile = loadSimulatorProfile(REFERENCE_METER_PROFILE_INPUT, 'REFERENCE_METER_PROFILE');

/** Trip delay of the external-relay reference (FEE-07): 3 s, so status word 3 shows the trip command before the relay opens. */
export const EXTERNAL_RELAY_TRIP_DELAY_MS = 3000;

/**
 * A second conformant switching declaration (profiles/external-relay-meter.json): the reference
 * meter with an external relay (close-allowed closes at once, FEE-11), a 3 s trip delay with the
 * pre-trip alarm, remote cost control (no local balance trips, FEE-01), no keep-power (N1 1A 1B 1C
 * 2A 2B only) and no trip protection.
 */
export const EXTERNAL_RELAY_METER_PROFILE_INPUT = {
  ...REFERENCE_METER_PROFILE_INPUT,
  description: 'MeterLab reference meter, switching variant: external relay, 3 s trip delay, remote cost control, no keep-power (conformant)',
  meter: {
    ...REFERENCE_METER_PROFILE_INPUT.meter,
    capabilities: { ...REFERENCE_METER_PROFILE_INPUT.meter.capabilities, keepPower: false, localCostControl: false },
    remoteControl: { ...REFERENCE_METER_PROFILE_INPUT.meter.remoteControl, commands: ['1A', '1B', '1C', '2A', '2B'] },
    relay: { type: 'external', tripDelayMs: EXTERNAL_RELAY_TRIP_DELAY_MS, preTripAlarm: true, closeNeedsButton: false, keepsStateAcrossPowerCycle: true },
  },
  simulation: {
    ...REFERENCE_METER_PROFILE_INPUT.simulation,
    costControl: 'remote',
  },
} satisfies SimulatorProfileInput & { meter: MeterDeclarationInput };

/**
 * 1CH refusal words of the distinct-errors declaration: three different words, none the default
 * 01H nor the password word 04H, so a meter (or a mutant of the simulator) that answers one refusal
 * with another's word is caught. The words themselves are [BK] (PROTOCOLS.md 1.7 names no bit for
 * these refusals): 10H for an expired command echoes bit4 "time label invalid" (时间标签无效) of the
 * 2-byte control error status in the Wisdom firmware (float12/WorkProjectsSVN, Relay_Remote.c
 * api_SetRelayRelayErrStatus); 20H and 02H are our choice.
 */
export const DISTINCT_REMOTE_CONTROL_ERRORS = { expired: '10', keepPowerTrip: '20', unsupportedCommand: '02' } as const;

/**
 * A third conformant switching declaration (profiles/distinct-errors-meter.json): the reference
 * meter declaring distinct 1CH refusal words (DISTINCT_REMOTE_CONTROL_ERRORS), an all-zero
 * valid-until refused (`acceptsZeroValidUntil` false), the valid-until checked before the password
 * (`passwordBeforeValidUntil` false) and no 1CH direct close (1B close-allowed and the key are the
 * way back), so every [BK] 1CH option is exercised the other way round from the reference.
 */
export const DISTINCT_ERRORS_METER_PROFILE_INPUT = {
  ...REFERENCE_METER_PROFILE_INPUT,
  description: 'MeterLab reference meter, switching variant: distinct 1CH refusal words, all-zero valid-until refused, valid-until checked before the password, no direct close (conformant)',
  meter: {
    ...REFERENCE_METER_PROFILE_INPUT.meter,
    remoteControl: {
      commands: ['1A', '1B', '2A', '2B', '3A', '3B'],
      acceptsZeroValidUntil: false,
      passwordBeforeValidUntil: false,
      errors: { ...DISTINCT_REMOTE_CONTROL_ERRORS },
    },
  },
} satisfies SimulatorProfileInput & { meter: MeterDeclarationInput };

/** Trip delay of the trip-delay reference (FEE-07): 3 s, in virtual time, so the pre-trip phase is exercised without slowing the suite. */
export const TRIP_DELAY_REFERENCE_MS = 3000;

/**
 * 1CH refusal words of the trip-delay declaration: distinct again but not those of the
 * distinct-errors one ([BK], our choice), with the password checked first as in the reference, so
 * the words of refusals the model decides after the password (expired, keep-power) show too.
 */
export const TRIP_DELAY_REMOTE_CONTROL_ERRORS = { expired: '20', keepPowerTrip: '10', unsupportedCommand: '40' } as const;

/**
 * A fourth conformant switching declaration (profiles/trip-delay-meter.json): the reference meter
 * with a 3 s trip delay and the pre-trip alarm (status word 3 bit 7 while a trip waits), so the
 * trip-delay path, the pre-trip alarm (FEE-07) and keep-power cancelling a pending trip (KP-04)
 * are exercised, and refusal words of its own (TRIP_DELAY_REMOTE_CONTROL_ERRORS); everything
 * else as the reference.
 */
export const TRIP_DELAY_METER_PROFILE_INPUT = {
  ...REFERENCE_METER_PROFILE_INPUT,
  description: 'MeterLab reference meter, switching variant: 3 s trip delay with the pre-trip alarm, refusal words of its own (conformant)',
  meter: {
    ...REFERENCE_METER_PROFILE_INPUT.meter,
    relay: { ...REFERENCE_METER_PROFILE_INPUT.meter.relay, tripDelayMs: TRIP_DELAY_REFERENCE_MS, preTripAlarm: true },
    remoteControl: { ...REFERENCE_METER_PROFILE_INPUT.meter.remoteControl, errors: { ...TRIP_DELAY_REMOTE_CONTROL_ERRORS } },
  },
} satisfies SimulatorProfileInput & { meter: MeterDeclarationInput };
