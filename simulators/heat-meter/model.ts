/**
 * The physical model of a household heat meter (issue 11), protocol-free: what an M-Bus slave
 * (EN 13757-3 records) or a CJ/T 188 heat reply reads. A seeded heating profile in virtual time:
 * the heating season, a daily outdoor-temperature swing, a night setback, and the network's supply
 * temperature following the outdoor temperature. From them: power, flow and return temperatures,
 * flow rate, accumulated energy and volume, operating hours, monthly storage, error flags.
 *
 * The physics, stated once: the dwelling loses P = UA × (T_room − T_out) kW while heating is on;
 * the meter's water circuit carries it with ΔT = T_flow − T_return, so the volume flow is
 * q = P / (ΔT × 1.163) m³/h (1.163 kWh per m³·K: water's heat capacity near 50 °C, the constant heat
 * meters use per EN 1434). Lazy: `settle(t)` integrates quarter-hour by quarter-hour.
 */
import { CHINA_UTC_OFFSET_MINUTES, toCalendar } from '../../harness/core/calendar.ts';
import type { Clock } from '../../harness/core/clock.ts';
import { SeededRandom } from '../../harness/core/random.ts';

const MINUTE_MS = 60_000;
const STEP_MS = 15 * MINUTE_MS;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** kWh carried by one m³ of water per kelvin near 50 °C (EN 1434 heat coefficient, ≈ 4.19 MJ/(m³·K) / 3.6). */
export const KWH_PER_M3_K = 1.163;

export interface HeatingProfile {
  /** Heat loss per kelvin of the dwelling, kW/K (a 90 m² flat: about 0.12) [MeterLab's choice]. */
  readonly uaKwPerK: number;
  /** Room set point by day and in the night setback (22:00-06:00), °C. Default 20 / 17. */
  readonly roomC?: number;
  readonly nightRoomC?: number;
  /** Heating season as month-day ranges, local: default 11-15 .. 03-15 (northern China's statutory season). */
  readonly season?: { readonly from: readonly [number, number]; readonly to: readonly [number, number] };
  /** Daily mean outdoor temperature in season, °C (drawn per day), and the day-night swing. Default -10..5, ±4. */
  readonly outdoorMeanC?: { readonly min: number; readonly max: number };
  readonly outdoorSwingC?: number;
  /** Supply temperature at the design outdoor temperature and at +10 °C (a straight heating curve). Default 60 / 40 °C. */
  readonly supplyC?: { readonly atDesign: number; readonly atMild: number; readonly designOutdoorC?: number };
  /** Design ΔT between flow and return, K. Default 10. */
  readonly deltaTK?: number;
}

export type HeatMeterError = 'flow-sensor' | 'return-sensor' | 'flow-measurement' | 'low-battery';

export interface HeatMeterOptions {
  readonly clock: Clock;
  readonly seed: number;
  readonly heating: HeatingProfile;
  readonly startKwh?: number;
  readonly startM3?: number;
  /** Day of the month (1..28) the monthly storage is taken at 00:00. Default 1. */
  readonly storageDay?: number;
  readonly utcOffsetMinutes?: number;
  /**
   * Instant the meter started counting (default: now). Earlier than now, the first reading integrates
   * the heating profile from then on, taking the monthly storages of that history: a reference
   * meter that has storage numbers to send from its first telegram.
   */
  readonly countingSince?: number;
}

export interface HeatSnapshot {
  readonly at: number;
  readonly energyKwh: number;
  readonly volumeM3: number;
  readonly powerKw: number;
  readonly flowM3h: number;
  readonly flowC: number;
  readonly returnC: number;
  readonly operatingHours: number;
  readonly errors: readonly HeatMeterError[];
}

export interface HeatStorage {
  /** Storage number (EN 13757-3): 1 = the last month, 2 the one before ... */
  readonly storage: number;
  readonly at: number;
  readonly energyKwh: number;
  readonly volumeM3: number;
}

/** Monthly storages kept (storage numbers 1..15: a year and a season's start). MeterLab's choice. */
export const STORAGES_KEPT = 15;

interface Conditions {
  readonly powerKw: number;
  readonly flowM3h: number;
  readonly flowC: number;
  readonly returnC: number;
}

export class HeatMeterModel {
  private readonly clock: Clock;
  private readonly random: SeededRandom;
  private readonly h: Required<Omit<HeatingProfile, 'supplyC'>> & { supplyC: { atDesign: number; atMild: number; designOutdoorC: number } };
  private readonly offsetMs: number;
  private readonly storageDay: number;
  private settledAt: number;
  private energyKwh: number;
  private volumeM3: number;
  private operatingMs = 0;
  private readonly storages: { at: number; energyKwh: number; volumeM3: number }[] = [];
  private dayCache: { day: number; meanC: number } | null = null;
  /** Faults a behaviour sets: sensors that fail (reported, and their readings frozen). */
  readonly errors = new Set<HeatMeterError>();
  /** Broken-variant fault: energy counted with this factor (a wrong VIF scaling shows the same way). */
  energyFactor = 1;

  constructor(o: HeatMeterOptions) {
    this.clock = o.clock;
    this.random = new SeededRandom(o.seed).fork('heat-meter');
    const p = o.heating;
    this.h = {
      uaKwPerK: p.uaKwPerK,
      roomC: p.roomC ?? 20,
      nightRoomC: p.nightRoomC ?? 17,
      season: p.season ?? { from: [11, 15], to: [3, 15] },
      outdoorMeanC: p.outdoorMeanC ?? { min: -10, max: 5 },
      outdoorSwingC: p.outdoorSwingC ?? 4,
      supplyC: { atDesign: p.supplyC?.atDesign ?? 60, atMild: p.supplyC?.atMild ?? 40, designOutdoorC: p.supplyC?.designOutdoorC ?? -12 },
      deltaTK: p.deltaTK ?? 10,
    };
    this.offsetMs = (o.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES) * MINUTE_MS;
    this.storageDay = o.storageDay ?? 1;
    this.energyKwh = o.startKwh ?? 0;
    this.volumeM3 = o.startM3 ?? 0;
    const now = o.clock.now();
    if (o.countingSince !== undefined && !(Number.isFinite(o.countingSince) && o.countingSince <= now)) {
      throw new RangeError(`countingSince must be an instant not after now, got ${String(o.countingSince)}`);
    }
    this.settledAt = o.countingSince ?? now;
  }

  /** Is the local date of t inside the heating season (which wraps the new year)? */
  inSeason(t: number): boolean {
    const c = toCalendar(t, this.offsetMs / MINUTE_MS);
    const md = c.month * 100 + c.day;
    const from = this.h.season.from[0] * 100 + this.h.season.from[1];
    const to = this.h.season.to[0] * 100 + this.h.season.to[1];
    return from <= to ? md >= from && md < to : md >= from || md < to;
  }

  /** Outdoor temperature at t: the day's seeded mean with a swing peaking at 14:00. */
  outdoorC(t: number): number {
    const day = Math.floor((t + this.offsetMs) / DAY_MS);
    if (this.dayCache?.day !== day) {
      const { min, max } = this.h.outdoorMeanC;
      this.dayCache = { day, meanC: min + this.random.fork(`day:${day}`).next() * (max - min) };
    }
    const hour = ((t + this.offsetMs) % DAY_MS) / 3_600_000;
    return this.dayCache.meanC + this.h.outdoorSwingC * Math.cos(((hour - 14) / 24) * 2 * Math.PI);
  }

  /** Power, flow and temperatures at t. Out of season (or with a warm day) nothing flows. */
  conditions(t: number): Conditions {
    const out = this.outdoorC(t);
    const hour = ((t + this.offsetMs) % DAY_MS) / 3_600_000;
    const night = hour >= 22 || hour < 6;
    const room = night ? this.h.nightRoomC : this.h.roomC;
    const s = this.h.supplyC;
    const share = Math.min(1, Math.max(0, (10 - out) / (10 - s.designOutdoorC)));
    const flowC = s.atMild + (s.atDesign - s.atMild) * share;
    const powerKw = this.inSeason(t) ? Math.max(0, this.h.uaKwPerK * (room - out)) : 0;
    const deltaT = powerKw > 0 ? this.h.deltaTK : 0;
    return { powerKw, flowM3h: powerKw > 0 ? powerKw / (deltaT * KWH_PER_M3_K) : 0, flowC, returnC: flowC - deltaT };
  }

  /** Integrates energy, volume and operating time to `to`, taking the monthly storages on the way. */
  settle(to: number = this.clock.now()): void {
    let t = this.settledAt;
    while (t < to) {
      const next = Math.min(to, (Math.floor((t + this.offsetMs) / STEP_MS) + 1) * STEP_MS - this.offsetMs);
      const c = this.conditions(t);
      const hours = (next - t) / 3_600_000;
      if (!this.errors.has('flow-measurement')) {
        this.energyKwh += c.powerKw * hours * this.energyFactor;
        this.volumeM3 += c.flowM3h * hours;
      }
      this.operatingMs += next - t;
      t = next;
      if ((t + this.offsetMs) % DAY_MS === 0 && toCalendar(t, this.offsetMs / MINUTE_MS).day === this.storageDay) {
        this.storages.unshift({ at: t, energyKwh: this.energyKwh, volumeM3: this.volumeM3 });
        if (this.storages.length > STORAGES_KEPT) this.storages.pop();
      }
    }
    this.settledAt = Math.max(this.settledAt, to);
  }

  snapshot(): HeatSnapshot {
    this.settle();
    const c = this.conditions(this.settledAt);
    const failedFlow = this.errors.has('flow-measurement');
    return {
      at: this.settledAt,
      energyKwh: this.energyKwh,
      volumeM3: this.volumeM3,
      powerKw: failedFlow ? 0 : c.powerKw,
      flowM3h: failedFlow ? 0 : c.flowM3h,
      flowC: this.errors.has('flow-sensor') ? 0 : c.flowC,
      returnC: this.errors.has('return-sensor') ? 0 : c.returnC,
      operatingHours: Math.floor(this.operatingMs / 3_600_000),
      errors: [...this.errors].sort(),
    };
  }

  /** Monthly storages, storage number 1 first (the last month). */
  monthlyStorage(): readonly HeatStorage[] {
    this.settle();
    return this.storages.map((s, i) => ({ storage: i + 1, ...s }));
  }
}
