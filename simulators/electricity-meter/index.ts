/**
 * The simulated DL/T 645-2007 electricity meter: model (model.ts) + server (server.ts) +
 * behaviours (behaviours.ts), built from a profile (profile.ts) compiled into a meter type
 * (meter-type.ts) that all meters of the same model share.
 *
 *   const meter = createElectricityMeter({ profile: REFERENCE_METER_PROFILE, link, clock, seed: 1 });
 *   meter.backchannel.drawFor(3, 3_600_000); // the customer draws 3 kW for an hour
 *
 * A fleet: one type per model, one cheap meter per address (nothing of the profile is copied or
 * validated again):
 *
 *   const type = compileMeterType(profileJson);
 *   const meter = createElectricityMeter({ type, address: '000000000042', link, clock, seed: 42 });
 */
import type { Clock } from '../../harness/core/clock.ts';
import { SeededRandom } from '../../harness/core/random.ts';
import type { Link } from '../../harness/links/link.ts';
import { createBehaviour } from './behaviours.ts';
import { ElectricityMeterModel, type MeterSnapshot } from './model.ts';
import type { SimulatorProfile } from './profile.ts';
import { Dlt645MeterServer } from './server.ts';
import { compileMeterType, type MeterType } from './meter-type.ts';
import type { ClockBackchannel, DeviceBackchannel, MainsBackchannel } from '../device/backchannel.ts';

export * from './profile.ts';
export * from './meter-type.ts';
export * from './model.ts';
export * from './server.ts';
export * from './behaviours.ts';

/**
 * What a test (or the reference target) does to the physical meter. Mains, clock and snapshot are
 * the device-wide parts (simulators/device/backchannel.ts); the rest is this meter's own.
 */
export interface ElectricityMeterBackchannel extends MainsBackchannel, ClockBackchannel, DeviceBackchannel<MeterSnapshot> {
  /** The customer's load from now on, kW (negative = export); null = back to the profile's load. */
  setLoad(kW: number | null): void;
  /** The customer draws `kW` for `ms` of simulated time, then the previous load resumes. */
  drawFor(kW: number, ms: number): void;
  /** Mains fails: no energy, no replies, a power-down event. */
  cutMains(): void;
  openCover(): void;
  closeCover(): void;
  /** Holds the close key: closes the relay when close is allowed. Returns whether it closed. */
  pressButton(): boolean;
  /** A purchase (yuan or kWh by meter type). Returns false when refused (anti-hoarding). */
  topUp(amount: number): boolean;
}

export interface CreateElectricityMeterOptions {
  /**
   * A validated profile, raw JSON (validated here; a ProfileError names the bad field), or a
   * MeterType. A profile `loadSimulatorProfile` returned is validated and compiled once for all
   * the meters created from that object (meter-type.ts); raw JSON is validated on every call.
   * Give either `profile` or `type`.
   */
  readonly profile?: SimulatorProfile | MeterType | unknown;
  /** The shared meter type (`compileMeterType`): the cheap way to create many meters of one model. */
  readonly type?: MeterType;
  /** This meter's address (12 decimal digits) instead of the profile's; nothing else is copied. */
  readonly address?: string;
  readonly link: Link;
  readonly clock: Clock;
  /** Seed of the meter's random stream (response-delay jitter). Default 1. */
  readonly seed?: number;
  readonly logger?: (message: string) => void;
  /** Start serving at once (default true). */
  readonly start?: boolean;
}

export interface ElectricityMeter {
  /** This meter's profile: its type's, with `meter.address` replaced when an `address` was given. */
  readonly profile: SimulatorProfile;
  /** What this meter shares with every meter of its model. */
  readonly type: MeterType;
  readonly model: ElectricityMeterModel;
  readonly server: Dlt645MeterServer;
  readonly backchannel: ElectricityMeterBackchannel;
  /** Stops the server (the link stays open). */
  stop(): void;
}

export function createElectricityMeter(options: CreateElectricityMeterOptions): ElectricityMeter {
  if (options.type !== undefined && options.profile !== undefined) {
    throw new TypeError('createElectricityMeter: give either profile or type, not both');
  }
  const type = compileMeterType(options.type ?? options.profile);
  const { clock, link } = options;
  const logger = options.logger;
  const model = new ElectricityMeterModel({ type, clock, ...(options.address !== undefined ? { address: options.address } : {}), ...(logger ? { logger } : {}) });
  // The model's address is still the one it was created with (its profile's meter.address).
  const random = new SeededRandom(options.seed ?? 1).fork(`electricity-meter:${model.address}`);
  const server = new Dlt645MeterServer({
    link,
    model,
    clock,
    random,
    ...(logger ? { logger } : {}),
    behaviours: type.profile.behaviours.map((b) => createBehaviour(b)),
  });
  if (options.start !== false) server.start();
  return new SimulatedElectricityMeter(model, server);
}

/** Backchannel calls go straight to the model (one object per meter, no closures). */
class ModelBackchannel implements ElectricityMeterBackchannel {
  constructor(private readonly model: ElectricityMeterModel) {}
  setLoad(kW: number | null): void {
    this.model.setLoad(kW);
  }
  drawFor(kW: number, ms: number): void {
    this.model.drawFor(kW, ms);
  }
  cutMains(): void {
    this.model.cutMains();
  }
  restoreMains(): void {
    this.model.restoreMains();
  }
  openCover(): void {
    this.model.openCover();
  }
  closeCover(): void {
    this.model.closeCover();
  }
  pressButton(): boolean {
    return this.model.pressButton();
  }
  topUp(amount: number): boolean {
    return this.model.topUp(amount);
  }
  setClockOffsetMs(ms: number): void {
    this.model.setClockOffsetMs(ms);
  }
  setClockDriftPpm(ppm: number): void {
    this.model.setClockDriftPpm(ppm);
  }
  snapshot(): MeterSnapshot {
    return this.model.snapshot();
  }
}

class SimulatedElectricityMeter implements ElectricityMeter {
  private backchannel_: ElectricityMeterBackchannel | null = null;
  constructor(
    readonly model: ElectricityMeterModel,
    readonly server: Dlt645MeterServer,
  ) {}
  get profile(): SimulatorProfile {
    return this.model.profile;
  }
  get type(): MeterType {
    return this.model.type;
  }
  get backchannel(): ElectricityMeterBackchannel {
    return (this.backchannel_ ??= new ModelBackchannel(this.model));
  }
  stop(): void {
    this.server.stop();
  }
}
