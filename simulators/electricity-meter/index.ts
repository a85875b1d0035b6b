/**
 * The simulated DL/T 645-2007 electricity meter: model (model.ts) + server (server.ts) +
 * behaviours (behaviours.ts), built from a profile (profile.ts).
 *
 *   const meter = createElectricityMeter({ profile: REFERENCE_METER_PROFILE, link, clock, seed: 1 });
 *   meter.backchannel.drawFor(3, 3_600_000); // the customer draws 3 kW for an hour
 */
import type { Clock } from '../../harness/core/clock.ts';
import { SeededRandom } from '../../harness/core/random.ts';
import type { Link } from '../../harness/links/link.ts';
import { createBehaviour } from './behaviours.ts';
import { ElectricityMeterModel, type MeterSnapshot } from './model.ts';
import { loadSimulatorProfile, type SimulatorProfile } from './profile.ts';
import { Dlt645MeterServer } from './server.ts';

export * from './profile.ts';
export * from './model.ts';
export * from './server.ts';
export * from './behaviours.ts';

/** What a test (or the reference target) does to the physical meter. */
export interface ElectricityMeterBackchannel {
  /** The customer's load from now on, kW (negative = export); null = back to the profile's load. */
  setLoad(kW: number | null): void;
  /** The customer draws `kW` for `ms` of simulated time, then the previous load resumes. */
  drawFor(kW: number, ms: number): void;
  /** Mains fails: no energy, no replies, a power-down event. */
  cutMains(): void;
  restoreMains(): void;
  openCover(): void;
  closeCover(): void;
  /** Holds the close key: closes the relay when close is allowed. Returns whether it closed. */
  pressButton(): boolean;
  /** A purchase (yuan or kWh by meter type). Returns false when refused (anti-hoarding). */
  topUp(amount: number): boolean;
  /** Puts the meter clock `ms` ahead of the harness clock (negative = behind). */
  setClockOffsetMs(ms: number): void;
  setClockDriftPpm(ppm: number): void;
  snapshot(): MeterSnapshot;
}

export interface CreateElectricityMeterOptions {
  /** A validated profile, or raw JSON (validated here; a ProfileError names the bad field). */
  readonly profile: SimulatorProfile | unknown;
  readonly link: Link;
  readonly clock: Clock;
  /** Seed of the meter's random stream (response-delay jitter). Default 1. */
  readonly seed?: number;
  readonly logger?: (message: string) => void;
  /** Start serving at once (default true). */
  readonly start?: boolean;
}

export interface ElectricityMeter {
  readonly profile: SimulatorProfile;
  readonly model: ElectricityMeterModel;
  readonly server: Dlt645MeterServer;
  readonly backchannel: ElectricityMeterBackchannel;
  /** Stops the server (the link stays open). */
  stop(): void;
}

export function createElectricityMeter(options: CreateElectricityMeterOptions): ElectricityMeter {
  const profile = loadSimulatorProfile(options.profile);
  const { clock, link } = options;
  const random = new SeededRandom(options.seed ?? 1).fork(`electricity-meter:${profile.meter.address}`);
  const logger = options.logger;
  const model = new ElectricityMeterModel({ profile, clock, ...(logger ? { logger } : {}) });
  const server = new Dlt645MeterServer({
    link,
    model,
    profile,
    clock,
    random,
    ...(logger ? { logger } : {}),
    behaviours: profile.behaviours.map((b) => createBehaviour(b)),
  });
  server.on('baudRateChanged', (baud) => {
    model.baudRate = baud;
  });
  if (options.start !== false) server.start();
  const backchannel: ElectricityMeterBackchannel = {
    setLoad: (kW) => model.setLoad(kW),
    drawFor: (kW, ms) => model.drawFor(kW, ms),
    cutMains: () => model.cutMains(),
    restoreMains: () => model.restoreMains(),
    openCover: () => model.openCover(),
    closeCover: () => model.closeCover(),
    pressButton: () => model.pressButton(),
    topUp: (amount) => model.topUp(amount),
    setClockOffsetMs: (ms) => model.setClockOffsetMs(ms),
    setClockDriftPpm: (ppm) => model.setClockDriftPpm(ppm),
    snapshot: () => model.snapshot(),
  };
  return { profile, model, server, backchannel, stop: () => server.stop() };
}
