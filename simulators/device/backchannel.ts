/**
 * The backchannel: what a test (or a reference target) does to the physical device, outside its
 * protocol. Each device kind has its own typed interface (ElectricityMeterBackchannel in
 * simulators/electricity-meter); the parts several kinds share are declared here once so suites
 * that only cut power or shift a clock can be written against the common part.
 */

/** A mains-powered device: with the mains off it measures nothing and answers nothing. */
export interface MainsBackchannel {
  /** Mains fails: no measurement, no replies (and whatever power-down record the device keeps). */
  cutMains(): void;
  restoreMains(): void;
}

/** A device with its own real-time clock. */
export interface ClockBackchannel {
  /** Puts the device clock `ms` ahead of the harness clock (negative = behind). */
  setClockOffsetMs(ms: number): void;
  setClockDriftPpm(ppm: number): void;
}

/**
 * A battery-powered device (CJ/T 188 water and gas meters, issue 10): the battery drains with
 * every wake-up; a test may set its charge directly to reach the low-battery state.
 */
export interface BatteryBackchannel {
  /** Remaining charge, 0..1. */
  readonly batteryLevel: number;
  setBatteryLevel(level: number): void;
}

/** Every backchannel can report the device's state as plain data (for evidence and assertions). */
export interface DeviceBackchannel<Snapshot> {
  snapshot(): Snapshot;
}
