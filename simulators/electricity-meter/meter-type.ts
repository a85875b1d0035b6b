/**
 * Meter types: what every meter of one model shares (issue 7, "devices that share what is the
 * same"). A `MeterType` is a simulator profile validated once and compiled into the lookups the
 * model and the server need (the declared identifier sets, follow-up set, tariff slots, load
 * steps, password levels, initial passwords); a fleet of 200,000 meters of a few models holds a
 * few types, and each meter keeps only what differs: its address, its random stream, its
 * registers and state (flyweight).
 *
 *   const type = compileMeterType(profileJson);           // validates once (ProfileError names the field)
 *   createElectricityMeter({ type, address: '000000000001', link, clock, seed: 1 });
 *
 * A type is immutable: its profile is a deep-frozen validated copy, so no meter and no caller can
 * change what the other meters of the type see. `meterTypeOf(profile)` returns the type of a
 * profile validated by `loadSimulatorProfile`, compiled once per profile object (WeakMap), so
 * `createElectricityMeter({ profile })` called many times with the same validated profile object
 * validates and compiles it once. Treat a validated profile as a value: to change something,
 * validate a new one (a mutated profile object keeps the type compiled before the change).
 */
import { ProfileError } from '../../harness/core/errors.ts';
import { MeterDeclarationSchema } from '../../harness/protocols/dlt645/declaration.ts';
import { isValidatedSimulatorProfile, loadSimulatorProfile, type SimulatorProfile } from './profile.ts';

/** One daily time slot, as minutes since local midnight. */
export interface CompiledSlot {
  readonly minute: number;
  readonly tariff: number;
}

/** One daily load step, as minutes since local midnight. */
export interface CompiledLoadStep {
  readonly minute: number;
  readonly kW: number;
}

export interface MeterType {
  /** Brand: tells a type from a profile in `createElectricityMeter({ profile })`. */
  readonly kind: 'electricity-meter-type';
  /** The validated profile (deep-frozen). Its `meter.address` is the type's default address. */
  readonly profile: SimulatorProfile;
  /** `profile.meter.identifiers` as a set: the identifiers every meter of the type answers. */
  readonly identifiers: ReadonlySet<string>;
  /** `profile.meter.followUpIdentifiers` as a set. */
  readonly followUpIdentifiers: ReadonlySet<string>;
  /** Whether long items are served with follow-up frames (`simulation.supportsFollowUp` ?? `capabilities.followUp`). */
  readonly followUpSupported: boolean;
  /** Password level 14H needs (`meter.passwordLevels.writeData`, parsed). */
  readonly writeLevel: number;
  /** Password level 19H/1AH/1BH need (`meter.passwordLevels.clear`, parsed). */
  readonly clearLevel: number;
  /** Password level 1CH needs (`meter.passwordLevels.remoteControl`, parsed). */
  readonly remoteControlLevel: number;
  /** Initial passwords by level (0..9), upper-case hex. A meter copies them only when one changes (18H). */
  readonly passwords: ReadonlyMap<number, string>;
  /** Daily time-slot table (`simulation.tariffs.timeSlots`). */
  readonly slots: readonly CompiledSlot[];
  /** Daily load profile (`simulation.load.kW`; a constant is one step at 00:00). */
  readonly loadSteps: readonly CompiledLoadStep[];
}

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A validated profile → its type. */
const types = new WeakMap<object, MeterType>();

export function isMeterType(value: unknown): value is MeterType {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'electricity-meter-type';
}

/**
 * Validates `profile` (raw JSON or a validated profile) once and compiles it into a type shared by
 * every meter created from it. Throws ProfileError naming the bad field. A type passed in is
 * returned as it is.
 */
export function compileMeterType(profile: unknown, source = 'simulator profile'): MeterType {
  if (isMeterType(profile)) return profile;
  const cached = typeof profile === 'object' && profile !== null ? types.get(profile) : undefined;
  if (cached) return cached;
  // A private copy (zod returns a new object), frozen: later changes to `profile` reach no meter.
  const validated = deepFreeze(loadSimulatorProfile(profile, source));
  const { meter, simulation } = validated;
  const passwords = new Map<number, string>();
  for (const [level, value] of Object.entries(meter.passwords)) passwords.set(parseInt(level, 16), value.toUpperCase());
  const kW = simulation.load.kW;
  const type: MeterType = Object.freeze({
    kind: 'electricity-meter-type',
    profile: validated,
    identifiers: new Set(meter.identifiers),
    followUpIdentifiers: new Set(meter.followUpIdentifiers),
    followUpSupported: simulation.supportsFollowUp ?? meter.capabilities.followUp,
    writeLevel: parseInt(meter.passwordLevels.writeData, 16),
    clearLevel: parseInt(meter.passwordLevels.clear, 16),
    remoteControlLevel: parseInt(meter.passwordLevels.remoteControl, 16),
    passwords,
    slots: Object.freeze(simulation.tariffs.timeSlots.map((s) => Object.freeze({ minute: minutesOf(s.from), tariff: s.tariff }))),
    loadSteps: Object.freeze(
      typeof kW === 'number' ? [Object.freeze({ minute: 0, kW })] : kW.map((s) => Object.freeze({ minute: minutesOf(s.from), kW: s.kW })),
    ),
  } as const);
  types.set(validated, type);
  // Only a validated profile is remembered: raw JSON may be edited and passed again, and must
  // then be validated again (as it always was).
  if (isValidatedSimulatorProfile(profile)) types.set(profile as object, type);
  return type;
}

/** The type of a profile (compiled on first use; a validated profile object is compiled once). */
export function meterTypeOf(profile: SimulatorProfile | MeterType | unknown): MeterType {
  return compileMeterType(profile);
}

const addressSchema = MeterDeclarationSchema.shape.address;

/** `address` if it is a meter address (12 decimal digits, as `meter.address`); ProfileError otherwise. */
export function checkMeterAddress(address: string): string {
  const r = addressSchema.safeParse(address);
  if (!r.success) throw new ProfileError(`meter.address: ${r.error.issues[0]?.message ?? 'invalid'} (got ${JSON.stringify(address)})`);
  return r.data;
}

/**
 * The profile of one meter of `type` at `address`: the type's profile with only `meter.address`
 * changed (two small objects; the identifier lists and everything else are the type's).
 * Throws ProfileError when `address` is not 12 decimal digits. Meters build it only when asked
 * for their `profile` (the model and server read the type's).
 */
export function profileAtAddress(type: MeterType, address: string | undefined): SimulatorProfile {
  if (address === undefined || address === type.profile.meter.address) return type.profile;
  const checked = checkMeterAddress(address);
  return Object.freeze({ ...type.profile, meter: Object.freeze({ ...type.profile.meter, address: checked }) });
}
