/**
 * The physical model of a household water or gas meter (issue 10), protocol-free: what a CJ/T 188
 * server (or a converter's downstream protocol) reads and drives. Volume from a seeded household
 * consumption profile in virtual time (morning and evening peaks, empty days), a leak (a small flow
 * that never stops: no zero-flow hour, MM-08) and a burst, daily and settlement-day freezes, a valve
 * with its motor time and a stuck-valve fault, a battery drained by every wake-up and valve
 * operation (MM-06, MM-07), and a prepaid balance for gas meters.
 *
 * Lazy, like the electricity meter: nothing runs between two questions. `settle(t)` integrates the
 * flow hour by hour from the last settled instant to t, recording the freezes at each local
 * midnight it crosses; every change (valve moves, leak starts, top-up) settles first. One meter costs
 * a few hundred bytes and no timer, so a converter can hold thousands.
 *
 * Units: volume in litres internally (a 0.01 m³ register is 10 L), money in fen, instants in epoch
 * ms of the injected Clock, local time UTC+8 unless told otherwise.
 */
import { CHINA_UTC_OFFSET_MINUTES, fromCalendar, toCalendar } from '../../harness/core/calendar.ts';
import type { Clock } from '../../harness/core/clock.ts';
import { SeededRandom } from '../../harness/core/random.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The CJ/T 188 meter kinds a flow meter plays (PROTOCOLS.md 2.2: T = 10, 11, 12, 13, 30). */
export type FlowMeterKind = 'cold-water' | 'hot-water' | 'drinking-water' | 'reclaimed-water' | 'gas';

/**
 * Share of a household's daily use in each local hour, 0..23: a morning peak (06-09), a smaller
 * midday, an evening peak (18-22), almost nothing at night. MeterLab's choice, shaped after the
 * hourly-bucket leak heuristics of MM-08 (which assume night hours near zero).
 */
export const HOUSEHOLD_HOURLY_WEIGHTS: readonly number[] = [
  0.2, 0.1, 0.1, 0.1, 0.2, 0.8, 4, 7, 6, 3, 2, 2.5, 3.5, 2.5, 1.5, 1.5, 2, 3, 6, 7, 6, 4, 2, 0.8,
];

export interface ConsumptionProfile {
  /** Volume an occupied day uses, litres (drawn uniformly per day). A household: 200-600 L of water, 0.5-2 m³ of gas. */
  readonly dailyLitres: { readonly min: number; readonly max: number };
  /** Chance that nobody is home on a day (no use at all). */
  readonly emptyDayProbability: number;
  /** Relative use per local hour (24 numbers); default HOUSEHOLD_HOURLY_WEIGHTS. */
  readonly hourlyWeights?: readonly number[];
}

export type ValveState = 'open' | 'closed' | 'abnormal';

export interface FlowMeterOptions {
  readonly clock: Clock;
  readonly kind: FlowMeterKind;
  readonly seed: number;
  /** Register at creation, litres. */
  readonly startLitres?: number;
  readonly consumption: ConsumptionProfile;
  /** Day of the month (1..28) the settlement freeze is taken at 00:00. Default 1. */
  readonly settlementDay?: number;
  readonly utcOffsetMinutes?: number;
  readonly valve?: {
    /** Time the motor takes to open or close, ms. Default 6000 [BK]: vendor sheets give 5-10 s. */
    readonly motorMs?: number;
    readonly initially?: 'open' | 'closed';
    /** false: a meter without a valve (commands refused). Default true. */
    readonly fitted?: boolean;
  };
  readonly battery?: {
    /** Capacity, mAh. Default 2400 (an ER18505 lithium cell, typical of water meters) [BK]. */
    readonly capacityMah?: number;
    /** Charge of one wake-up and exchange, mAh. Default 0.02 [BK]. */
    readonly wakeUpMah?: number;
    /** Charge of one valve movement, mAh. Default 1.5 [BK]. */
    readonly valveMah?: number;
    /** Sleep current over a day, mAh. Default 0.5 (about 20 µA) [BK]; 2400 mAh then last 8 years without reads (MM-07: 5-8 years). */
    readonly idleMahPerDay?: number;
    /** Reported low below this share of the capacity. Default 0.1 [BK]. */
    readonly lowBelow?: number;
    /** Charge left at creation, share of the capacity. Default 1. */
    readonly initialShare?: number;
  };
  /** Gas meters under local prepayment: price and opening balance; the valve closes at zero [BK]. */
  readonly prepaid?: { readonly fenPerCubicMetre: number; readonly balanceFen: number };
  /**
   * A meter that has been in service: this many past settlement-day freezes (at most 12) made up at
   * creation, one a month back from `startLitres` by the profile's average month of use, so the
   * history identifiers (D120..D12B) carry data from the start. Default 0.
   */
  readonly historyMonths?: number;
}

export interface FreezeRecord {
  /** The instant of the freeze (a local midnight). */
  readonly at: number;
  readonly litres: number;
}

export interface FlowMeterSnapshot {
  readonly at: number;
  readonly litres: number;
  /** The register as the meter shows it: 0.01 m³ steps (XXXXXX.XX). */
  readonly cubicMetres: number;
  readonly valve: ValveState;
  /** A valve movement in progress: where it goes and when it arrives. */
  readonly valveMoving: { readonly to: 'open' | 'closed'; readonly at: number } | null;
  readonly batteryShare: number;
  readonly batteryLow: boolean;
  readonly balanceFen: number | null;
  readonly leakLitresPerHour: number;
  readonly lastSettlement: FreezeRecord | null;
}

/** Daily freezes kept (a month: CJ/T 188 readers ask for the last day; MM-07 freezes once a day). */
export const DAILY_FREEZES_KEPT = 31;
/** Settlement-day freezes kept: D120..D12B are the last 1..12 months (PROTOCOLS.md 2.4, [BK]). */
export const SETTLEMENT_FREEZES_KEPT = 12;
/** Hourly volumes kept for leak analysis (MM-08 works on 24 hourly buckets; two days). */
export const HOURS_KEPT = 48;

export class FlowMeterModel {
  readonly kind: FlowMeterKind;
  private readonly clock: Clock;
  private readonly random: SeededRandom;
  private readonly consumption: ConsumptionProfile;
  private readonly weights: readonly number[];
  private readonly weightSum: number;
  private readonly offsetMs: number;
  private readonly settlementDay: number;
  private readonly motorMs: number;
  readonly valveFitted: boolean;
  private readonly capacityMah: number;
  private readonly wakeUpMah: number;
  private readonly valveMah: number;
  private readonly idleMahPerDay: number;
  private readonly lowBelow: number;

  private settledAt: number;
  private litres: number;
  private valve: ValveState;
  private moving: { to: 'open' | 'closed'; at: number } | null = null;
  private chargeMah: number;
  private balanceFen: number | null;
  private readonly fenPerCubicMetre: number;
  private leakLph = 0;
  private burst: { lph: number; until: number } | null = null;
  /** Stuck-valve fault (a behaviour sets it): the motor runs, the valve does not move, the state reads abnormal. */
  valveStuck = false;
  /** Leak-hiding fault (broken variant): the register leaves out flows below this rate, L/h. */
  hideFlowBelowLph = 0;

  private readonly daily: FreezeRecord[] = [];
  private readonly settlements: FreezeRecord[] = [];
  private readonly hourly: { at: number; litres: number }[] = [];
  private dayCache: { day: number; occupied: boolean; litres: number } | null = null;

  constructor(o: FlowMeterOptions) {
    this.kind = o.kind;
    this.clock = o.clock;
    this.random = new SeededRandom(o.seed).fork('flow-meter');
    this.consumption = o.consumption;
    this.weights = o.consumption.hourlyWeights ?? HOUSEHOLD_HOURLY_WEIGHTS;
    if (this.weights.length !== 24 || this.weights.some((w) => !(w >= 0))) throw new RangeError('hourlyWeights: 24 numbers, each 0 or more');
    this.weightSum = this.weights.reduce((a, b) => a + b, 0);
    this.offsetMs = (o.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES) * 60_000;
    this.settlementDay = o.settlementDay ?? 1;
    if (!Number.isInteger(this.settlementDay) || this.settlementDay < 1 || this.settlementDay > 28) throw new RangeError('settlementDay: 1..28');
    this.motorMs = o.valve?.motorMs ?? 6000;
    this.valveFitted = o.valve?.fitted ?? true;
    this.valve = o.valve?.initially ?? 'open';
    this.capacityMah = o.battery?.capacityMah ?? 2400;
    this.wakeUpMah = o.battery?.wakeUpMah ?? 0.02;
    this.valveMah = o.battery?.valveMah ?? 1.5;
    this.idleMahPerDay = o.battery?.idleMahPerDay ?? 0.5;
    this.lowBelow = o.battery?.lowBelow ?? 0.1;
    this.chargeMah = this.capacityMah * (o.battery?.initialShare ?? 1);
    this.balanceFen = o.prepaid ? o.prepaid.balanceFen : null;
    this.fenPerCubicMetre = o.prepaid?.fenPerCubicMetre ?? 0;
    this.litres = o.startLitres ?? 0;
    this.settledAt = o.clock.now();
    this.backfillSettlements(o.historyMonths ?? 0);
  }

  // -------------------------------------------------------------------------------------------
  // Integration

  /** Local day number of an instant (days since the epoch in local time). */
  private localDay(t: number): number {
    return Math.floor((t + this.offsetMs) / DAY_MS);
  }

  /** Whether the household is home on a local day and what it uses then (seeded per day). */
  private dayPlan(day: number): { occupied: boolean; litres: number } {
    if (this.dayCache?.day === day) return this.dayCache;
    const r = this.random.fork(`day:${day}`);
    const occupied = !r.chance(this.consumption.emptyDayProbability);
    const { min, max } = this.consumption.dailyLitres;
    this.dayCache = { day, occupied, litres: occupied ? min + r.next() * (max - min) : 0 };
    return this.dayCache;
  }

  /** Household flow, L/h, during the local hour containing t. */
  private householdLph(t: number): number {
    const plan = this.dayPlan(this.localDay(t));
    if (!plan.occupied || this.weightSum === 0) return 0;
    const hour = Math.floor(((t + this.offsetMs) % DAY_MS) / HOUR_MS);
    return (plan.litres * this.weights[hour]!) / this.weightSum;
  }

  /** Flow through the register, L/h, at t (a closed or moving-shut valve stops it). */
  private flowLph(t: number): number {
    if (this.valve !== 'open') return 0;
    let lph = this.householdLph(t) + this.leakLph;
    if (this.burst && t < this.burst.until) lph += this.burst.lph;
    return lph < this.hideFlowBelowLph ? 0 : lph;
  }

  /** Brings the model to `to`: volume, freezes, battery, balance, a finished valve movement. */
  settle(to: number = this.clock.now()): void {
    let t = this.settledAt;
    if (to <= t) return;
    while (t < to) {
      // Next boundary: the next local hour, a burst end or a valve arrival, whichever is first.
      const nextHour = (Math.floor((t + this.offsetMs) / HOUR_MS) + 1) * HOUR_MS - this.offsetMs;
      let end = Math.min(to, nextHour);
      if (this.burst && this.burst.until > t) end = Math.min(end, this.burst.until);
      if (this.moving && this.moving.at > t) end = Math.min(end, this.moving.at);
      const lph = this.flowLph(t);
      // A prepaid balance that runs out inside the segment ends it there: the valve starts closing then.
      if (this.balanceFen !== null && this.balanceFen > 0 && lph > 0 && this.fenPerCubicMetre > 0) {
        const emptyAt = t + Math.ceil(((this.balanceFen / this.fenPerCubicMetre) * 1000 * HOUR_MS) / lph);
        end = Math.min(end, emptyAt);
      }
      this.addUse(t, (lph * (end - t)) / HOUR_MS);
      t = end;
      // Local prepayment: the valve closes when the balance runs out [BK].
      if (this.balanceFen !== null && this.balanceFen <= 0 && this.valve === 'open' && !this.moving) this.startValve('closed', t);
      if (this.moving && t >= this.moving.at) this.arrive();
      if (t === nextHour) this.onHourBoundary(t);
    }
    this.chargeMah = Math.max(0, this.chargeMah - (this.idleMahPerDay * (to - this.settledAt)) / DAY_MS);
    this.settledAt = to;
  }

  private addUse(at: number, litres: number): void {
    if (litres <= 0) return;
    this.litres += litres;
    const hourStart = Math.floor((at + this.offsetMs) / HOUR_MS) * HOUR_MS - this.offsetMs;
    const last = this.hourly.at(-1);
    if (last?.at === hourStart) last.litres += litres;
    else {
      this.hourly.push({ at: hourStart, litres });
      if (this.hourly.length > HOURS_KEPT) this.hourly.shift();
    }
    if (this.balanceFen !== null) this.balanceFen -= (litres / 1000) * this.fenPerCubicMetre;
  }

  private onHourBoundary(t: number): void {
    if ((t + this.offsetMs) % DAY_MS !== 0) return;
    const record = { at: t, litres: this.litres };
    this.daily.unshift(record);
    if (this.daily.length > DAILY_FREEZES_KEPT) this.daily.pop();
    if (toCalendar(t, this.offsetMs / 60_000).day === this.settlementDay) {
      this.settlements.unshift(record);
      if (this.settlements.length > SETTLEMENT_FREEZES_KEPT) this.settlements.pop();
    }
  }

  /** The last `months` settlement freezes before creation, each an average month of use below the next. */
  private backfillSettlements(months: number): void {
    if (!Number.isInteger(months) || months < 0 || months > SETTLEMENT_FREEZES_KEPT) throw new RangeError(`historyMonths: 0..${SETTLEMENT_FREEZES_KEPT}`);
    if (months === 0) return;
    const { min, max } = this.consumption.dailyLitres;
    const perMonth = ((min + max) / 2) * (1 - this.consumption.emptyDayProbability) * 30;
    const offsetMinutes = this.offsetMs / 60_000;
    const now = toCalendar(this.settledAt, offsetMinutes);
    let year = now.year;
    let month = now.month;
    // The latest settlement midnight at or before creation, then one a month back.
    if (fromCalendar({ year, month, day: this.settlementDay, hour: 0, minute: 0, second: 0 }, offsetMinutes) > this.settledAt) month -= 1;
    for (let k = 0; k < months; k++, month--) {
      if (month < 1) {
        month += 12;
        year -= 1;
      }
      const at = fromCalendar({ year, month, day: this.settlementDay, hour: 0, minute: 0, second: 0 }, offsetMinutes);
      this.settlements.push({ at, litres: Math.max(0, Math.round(this.litres - (k + 0.5) * perMonth)) });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Valve

  private startValve(to: 'open' | 'closed', at: number): void {
    this.moving = { to, at: at + this.motorMs };
    this.chargeMah = Math.max(0, this.chargeMah - this.valveMah);
  }

  private arrive(): void {
    const m = this.moving!;
    this.moving = null;
    this.valve = this.valveStuck ? 'abnormal' : m.to;
  }

  /**
   * A valve command (CJ/T 188 A017: 55H open, 99H close). Returns false when refused: no valve, a
   * movement already in progress, or an open refused on an empty prepaid balance. Reaching the
   * state takes the motor time; a stuck valve ends abnormal.
   */
  commandValve(to: 'open' | 'closed'): boolean {
    this.settle();
    if (!this.valveFitted || this.moving) return false;
    if (to === 'open' && this.balanceFen !== null && this.balanceFen <= 0) return false;
    if (this.valve === to) return true;
    this.startValve(to, this.settledAt);
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Physical events (the backchannel)

  /** A leak from now on (litres per hour; 0 stops it): a flow that never stops, no zero-flow hour (MM-08). */
  setLeak(litresPerHour: number): void {
    this.settle();
    this.leakLph = Math.max(0, litresPerHour);
  }

  /** A burst pipe: `litresPerHour` more for `ms`. */
  startBurst(litresPerHour: number, ms: number): void {
    this.settle();
    this.burst = { lph: litresPerHour, until: this.settledAt + ms };
  }

  /** One wake-up and exchange of a battery meter (MM-06): costs charge. */
  wake(): void {
    this.settle();
    this.chargeMah = Math.max(0, this.chargeMah - this.wakeUpMah);
  }

  /** Drains the battery to `share` of its capacity (0..1) now: a worn cell, for the battery-low status (MM-03). */
  drainBattery(share: number): void {
    this.settle();
    this.chargeMah = Math.min(this.chargeMah, Math.max(0, share) * this.capacityMah);
  }

  /** A purchase (CJ/T 188 A013 on a prepaid gas meter). Returns false on a meter without prepayment. */
  topUp(fen: number): boolean {
    this.settle();
    if (this.balanceFen === null) return false;
    this.balanceFen += fen;
    return true;
  }

  /** Sets the register (CJ/T 188 A016 motor-sync data, 写机电同步数据). */
  setRegister(litres: number): void {
    this.settle();
    this.litres = litres;
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  snapshot(): FlowMeterSnapshot {
    this.settle();
    return {
      at: this.settledAt,
      litres: this.litres,
      cubicMetres: Math.floor(this.litres / 10) / 100,
      valve: this.valve,
      valveMoving: this.moving ? { ...this.moving } : null,
      batteryShare: this.chargeMah / this.capacityMah,
      batteryLow: this.chargeMah < this.capacityMah * this.lowBelow,
      balanceFen: this.balanceFen === null ? null : Math.round(this.balanceFen),
      leakLitresPerHour: this.leakLph,
      lastSettlement: this.settlements[0] ?? null,
    };
  }

  /** Daily freezes, most recent first (each a local midnight). */
  dailyFreezes(): readonly FreezeRecord[] {
    this.settle();
    return this.daily;
  }

  /** Settlement-day freezes, most recent first: index 0 is D120 (last month), 11 is D12B [BK]. */
  settlementFreezes(): readonly FreezeRecord[] {
    this.settle();
    return this.settlements;
  }

  /** Volume per local hour over the last HOURS_KEPT hours that had any flow, oldest first. */
  hourlyUse(): readonly { readonly at: number; readonly litres: number }[] {
    this.settle();
    return this.hourly;
  }
}

/**
 * MM-08's leak rule as MeterLab applies it: in the last `hours` whole local hours before `now`,
 * no hour without flow. (Published variants add a seasonal "unoccupied" threshold; GAP-08.)
 */
export function looksLikeLeak(hourly: readonly { at: number; litres: number }[], now: number, hours = 24, minLitres = 0.5): boolean {
  const end = Math.floor(now / HOUR_MS) * HOUR_MS;
  for (let h = end - hours * HOUR_MS; h < end; h += HOUR_MS) {
    const used = hourly.find((x) => x.at === h)?.litres ?? 0;
    if (used < minLitres) return false;
  }
  return true;
}
