/**
 * The electricity meter itself, in the injected clock's time: meter clock, energy registers per
 * tariff, freezes and settlements, status words, event records, relay, keep-power (保电), alarm and
 * the prepaid balance. The DL/T 645 server (server.ts) reads and writes it; tests and the reference
 * target drive its physical side through the backchannel (setLoad, drawFor, cutMains, pressButton,
 * topUp, ...).
 *
 * Everything is computed lazily: `sync()` integrates energy from the last integration instant up to
 * `clock.now()`, stopping at every instant where something changes (time-slot boundary, load step,
 * midnight daily freeze, settlement, timed freeze, load-record interval boundary, end of a
 * `drawFor`, a delayed trip, a prepaid threshold crossing). The model schedules NO timers: an ever-pending midnight timer would make an
 * auto-advancing VirtualClock run simulated days forever. Any read, write, command or backchannel
 * call syncs first, so what the master observes is exactly what a continuously running meter shows.
 *
 * Meter time is local time UTC+8 (harness/core/calendar.ts) and may be offset and drift from the
 * harness clock. Energy accumulates in simulated (harness) time and is attributed to the tariff of
 * the meter's own clock, as a real meter does.
 *
 * Values served over DL/T 645 (`readValue`) are built in values.ts from the data dictionary.
 */
import type { Clock } from '../../harness/core/clock.ts';
import { fromCalendar, toCalendar, CHINA_UTC_OFFSET_MINUTES, type CalendarTime } from '../../harness/core/calendar.ts';
import type { FreezeField, FrameDateTime, Password } from '../../harness/protocols/dlt645/types.ts';
import { RemoteControlCommand } from '../../harness/protocols/dlt645/types.ts';
import type { DataValue } from '../../harness/protocols/dlt645/dictionary-types.ts';
import { encodeStatusWord3 } from '../../harness/protocols/dlt645/dictionary.ts';
import type { SimulatorProfile, SimulationSettings } from './profile.ts';
import { checkMeterAddress, meterTypeOf, profileAtAddress, type CompiledLoadStep, type CompiledSlot, type MeterType } from './meter-type.ts';
import { readModelValue, writeModelValue, servesIdentifier } from './values.ts';
import { LoadRecordStore, type LoadRecordSettings } from './load-records.ts';
import type { LoadRecordBlock } from '../../harness/protocols/dlt645/load-record.ts';

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
const LOCAL_OFFSET_MS = CHINA_UTC_OFFSET_MINUTES * 60_000;
/**
 * Demand period (04000103 reads 15 min). Max demand is the average power over a whole period,
 * in fixed blocks aligned to the quarter hours of the meter clock [BK: block method; meters may
 * also use a sliding window with a slip time, 04000104]. A period cut short (the meter started,
 * or a clear or a clock change happened inside it) is not a demand.
 */
export const DEMAND_PERIOD_MS = 15 * 60_000;

/** Records kept (DL/T 645-2007 appendix A: "last 1..N" identifiers). */
export const DAILY_FREEZES_KEPT = 62;
export const SETTLEMENTS_KEPT = 12;
export const INSTANT_FREEZES_KEPT = 3;
export const TIMED_FREEZES_KEPT = 60;
export const EVENT_RECORDS_KEPT = 10;

/** Operator code recorded for actions the meter takes by itself (local prepaid trip, key press). */
export const LOCAL_OPERATOR = 'FFFFFFFF';

/** Per-tariff energy: index 0 = T1 ... 3 = T4. The total is the sum. */
export type TariffEnergy = [number, number, number, number];

export interface EnergyRegisters {
  /** Forward active energy per tariff, kWh. */
  forwardActive: TariffEnergy;
  /** Reverse active energy per tariff, kWh. */
  reverseActive: TariffEnergy;
  /** Reactive energy by quadrant I..IV, per tariff, kvarh. */
  reactive: [TariffEnergy, TariffEnergy, TariffEnergy, TariffEnergy];
}

export interface DemandRecord {
  /** kW. */
  readonly kW: number;
  /** Meter time (ms) of the start of the demand, minute resolution; null when never set. */
  readonly at: number | null;
}

/** Max demand: index 0 = total, 1..4 = T1..T4. */
export type DemandSet = [DemandRecord, DemandRecord, DemandRecord, DemandRecord, DemandRecord];

export interface FreezeRecord {
  /** Meter time of the freeze (ms). */
  readonly time: number;
  readonly energy: EnergyRegisters;
  readonly forwardDemand: DemandSet;
  readonly reverseDemand: DemandSet;
  /** Active power at the freeze instant, kW: total, A, B, C. */
  readonly powerKW: readonly [number, number, number, number];
}

export interface PowerDownRecord {
  readonly start: number;
  readonly end: number | null;
}

export interface CoverOpenRecord {
  readonly start: number;
  readonly end: number | null;
  readonly energyAtStart: EnergyRegisters;
  readonly energyAtEnd: EnergyRegisters | null;
}

export interface RelayEventRecord {
  readonly time: number;
  readonly operator: string;
  readonly energy: EnergyRegisters;
  /** 'remote' = 1CH command, 'local' = prepaid balance / key press, 'keep-power' = KP-03 restore. */
  readonly cause: 'remote' | 'local' | 'keep-power' | 'forced';
}

/**
 * Told every actual relay movement (status word 3 bit 4): `open` the new state, `at` the harness
 * instant it moved (a trip executed lazily, e.g. after its delay, is dated when it fell due), and
 * the cause recorded with it. It gets the meter, so one function can observe a whole fleet.
 */
export type RelayChangeObserver = (meter: ElectricityMeterModel, open: boolean, at: number, cause: RelayEventRecord['cause']) => void;

export interface ProgrammingRecord {
  readonly time: number;
  readonly operator: string;
  /** Identifiers written in this programming session (most recent first, at most 10). */
  readonly identifiers: readonly string[];
}

export interface TimeSetRecord {
  readonly operator: string;
  readonly before: number;
  readonly after: number;
}

export interface ClearRecord {
  readonly time: number;
  readonly operator: string;
  readonly energy: EnergyRegisters;
  /** Event clear only: the DI cleared (FFFFFFFF = all). */
  readonly di?: string;
}

export interface PurchaseRecord {
  /** Meter time of the purchase. */
  readonly time: number;
  /** Total purchase count after this purchase. */
  readonly countAfter: number;
  /** yuan (money-prepaid) or kWh (energy-prepaid). */
  readonly amount: number;
  readonly before: number;
  readonly after: number;
  readonly cumulative: number;
}

export interface EventLog<T> {
  /** Total count since manufacture (or the last event clear). */
  count: number;
  /** Most recent first, at most EVENT_RECORDS_KEPT. */
  records: T[];
}

/** Timed-freeze pattern of 16H (mm hh DD MM, 'any' = 99H). */
export interface FreezePattern {
  readonly minute: FreezeField;
  readonly hour: FreezeField;
  readonly day: FreezeField;
  readonly month: FreezeField;
}

export type WriteResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: 'password' | 'unsupported' | 'read-only' | 'invalid' };

export type CommandResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: 'password' | 'expired' | 'keep-power' | 'invalid' | 'unsupported' };

export interface RelayState {
  /** Status word 3 bit 4: the relay is actually open (supply cut). */
  readonly open: boolean;
  /** Status word 3 bit 6: the last relay command was trip (a trip is wanted). */
  readonly commandTrip: boolean;
  /** Waiting for the customer's key press to close (合闸允许, FEE-11). */
  readonly closeAllowed: boolean;
  /** A trip command waiting for its trip delay (FEE-07), meter-independent harness time (ms). */
  readonly pendingTripAt: number | null;
  /**
   * FEE-09 trip protection: a trip fell due while the phase current exceeded the declared threshold
   * (`meter.relay.largeCurrentProtection`); the relay opens when the current drops or at this
   * harness instant (ms). Null: no deferred trip.
   */
  readonly tripProtectUntil: number | null;
  /** Status word 3 bit 12: keep-power (保电). */
  readonly keepPower: boolean;
  /** Alarm commanded by the master (2AH, until 2BH). */
  readonly remoteAlarm: boolean;
  /**
   * Local prepaid trip state (FEE-02): 'releasable' = tripped by a low balance, the key restores
   * supply; 'locked' = overdraft exhausted, only a top-up releases it.
   */
  readonly localLock: 'none' | 'releasable' | 'locked';
}

export interface MeterSnapshot {
  readonly now: number;
  readonly meterTime: number;
  readonly meterCalendar: CalendarTime;
  readonly address: string;
  readonly meterNumber: string;
  readonly mainsOn: boolean;
  readonly coverOpen: boolean;
  readonly loadKW: number;
  readonly currentTariff: number;
  readonly energy: EnergyRegisters;
  readonly forwardActiveTotal: number;
  readonly reverseActiveTotal: number;
  readonly forwardDemand: DemandSet;
  readonly reverseDemand: DemandSet;
  readonly relay: RelayState;
  readonly alarm: boolean;
  readonly statusWord3: number;
  readonly balance: { readonly remainingAmount: number; readonly overdraftAmount: number; readonly remainingEnergy: number; readonly overdraftEnergy: number; readonly level: number };
  readonly purchases: { readonly count: number; readonly total: number };
  readonly dailyFreezes: readonly FreezeRecord[];
  readonly settlements: readonly FreezeRecord[];
  readonly instantFreezes: readonly FreezeRecord[];
  readonly timedFreezes: readonly FreezeRecord[];
  readonly timedFreezePattern: FreezePattern | null;
  readonly events: {
    readonly powerDown: EventLog<PowerDownRecord>;
    readonly coverOpen: EventLog<CoverOpenRecord>;
    readonly trip: EventLog<RelayEventRecord>;
    readonly close: EventLog<RelayEventRecord>;
    readonly programming: EventLog<ProgrammingRecord>;
    readonly timeSet: EventLog<TimeSetRecord>;
    readonly meterClear: EventLog<ClearRecord>;
    readonly demandClear: EventLog<ClearRecord>;
    readonly eventClear: EventLog<ClearRecord>;
  };
}

export interface ElectricityMeterModelOptions {
  /**
   * A validated profile (its type is compiled once per profile object, meter-type.ts), or leave it
   * out and give `type`. With both, `profile` is this meter's own profile and `type` its model's.
   */
  readonly profile?: SimulatorProfile;
  /** The shared meter type (meter-type.ts): nothing of the profile is copied per meter. */
  readonly type?: MeterType;
  /** This meter's address, instead of the profile's (12 decimal digits). */
  readonly address?: string;
  readonly clock: Clock;
  /** Diagnostics (relay operations, freezes); quiet by default. */
  readonly logger?: (message: string) => void;
}

/**
 * Weakest password level `writeValue` accepts (direct model use). The server takes the levels for
 * 14H, 19H/1AH/1BH and 1CH from the declaration (`meter.passwordLevels`).
 */
export const WRITE_MAX_LEVEL = 4;

const zeroTariffs = (): TariffEnergy => [0, 0, 0, 0];
const zeroEnergy = (): EnergyRegisters => ({
  forwardActive: zeroTariffs(),
  reverseActive: zeroTariffs(),
  reactive: [zeroTariffs(), zeroTariffs(), zeroTariffs(), zeroTariffs()],
});
/**
 * Demand sets are immutable (a new demand makes a new set), so every meter starts from this one
 * shared zero set and freeze records keep the set they saw instead of a copy.
 */
const NO_DEMAND: DemandRecord = Object.freeze({ kW: 0, at: null });
const ZERO_DEMAND = Object.freeze([NO_DEMAND, NO_DEMAND, NO_DEMAND, NO_DEMAND, NO_DEMAND]) as unknown as DemandSet;
const zeroDemand = (): DemandSet => ZERO_DEMAND;
const copyEnergy = (e: EnergyRegisters): EnergyRegisters => ({
  forwardActive: [...e.forwardActive],
  reverseActive: [...e.reverseActive],
  reactive: [[...e.reactive[0]], [...e.reactive[1]], [...e.reactive[2]], [...e.reactive[3]]],
});
/** Tariff registers that are all exactly zero, shared by the freeze records of every meter (never written). */
const ZERO_TARIFFS = Object.freeze([0, 0, 0, 0]) as unknown as TariffEnergy;
const recordTariffs = (t: TariffEnergy): TariffEnergy =>
  Object.is(t[0], 0) && Object.is(t[1], 0) && Object.is(t[2], 0) && Object.is(t[3], 0) ? ZERO_TARIFFS : [...t];
/**
 * The registers as a freeze record keeps them: a copy, with the all-zero tariff arrays (reverse
 * energy and three reactive quadrants on most meters) shared: a daily freeze a day per meter.
 */
const recordEnergy = (e: EnergyRegisters): EnergyRegisters => ({
  forwardActive: recordTariffs(e.forwardActive),
  reverseActive: recordTariffs(e.reverseActive),
  reactive: [recordTariffs(e.reactive[0]), recordTariffs(e.reactive[1]), recordTariffs(e.reactive[2]), recordTariffs(e.reactive[3])],
});
const newLog = <T>(): EventLog<T> => ({ count: 0, records: [] });
const newEventLogs = () => ({
  powerDown: newLog<PowerDownRecord>(),
  coverOpen: newLog<CoverOpenRecord>(),
  trip: newLog<RelayEventRecord>(),
  close: newLog<RelayEventRecord>(),
  programming: newLog<ProgrammingRecord>(),
  timeSet: newLog<TimeSetRecord>(),
  meterClear: newLog<ClearRecord>(),
  demandClear: newLog<ClearRecord>(),
  eventClear: newLog<ClearRecord>(),
});
type EventLogs = ReturnType<typeof newEventLogs>;
/** What `eventLogs` shows for a meter that never recorded an event (shared, frozen: reads only). */
const NO_EVENTS: EventLogs = (() => {
  const logs = newEventLogs();
  for (const log of Object.values(logs)) Object.freeze(Object.freeze(log).records);
  return Object.freeze(logs);
})();
const quiet = (): void => undefined;

interface FreezeLists {
  daily: FreezeRecord[];
  settlements: FreezeRecord[];
  instant: FreezeRecord[];
  timed: FreezeRecord[];
}
/** What `records` shows for a meter that never froze (shared, frozen: reads only). */
const NO_FREEZES: FreezeLists = Object.freeze({
  daily: Object.freeze([]) as unknown as FreezeRecord[],
  settlements: Object.freeze([]) as unknown as FreezeRecord[],
  instant: Object.freeze([]) as unknown as FreezeRecord[],
  timed: Object.freeze([]) as unknown as FreezeRecord[],
});

/** Puts `record` first in list `kind`, keeping the most recent `kept` (a list is made with its first record). */
function unshiftKept(lists: FreezeLists, kind: keyof FreezeLists, record: FreezeRecord, kept: number): void {
  const list = lists[kind];
  if (list.length === 0) {
    lists[kind] = [record];
    return;
  }
  list.unshift(record);
  if (list.length > kept) list.length = kept;
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

function pushRecord<T>(log: EventLog<T>, record: T, kept = EVENT_RECORDS_KEPT): void {
  log.count++;
  log.records.unshift(record);
  if (log.records.length > kept) log.records.length = kept;
}

/** Start of the local (UTC+8) day containing meter instant `m`. */
function localDayStart(m: number): number {
  return Math.floor((m + LOCAL_OFFSET_MS) / MS_PER_DAY) * MS_PER_DAY - LOCAL_OFFSET_MS;
}

/**
 * Average power of a whole demand period holding `kWh`, as XX.XXXX kW on the wire: rounded, so
 * the float noise of summing integration steps goes away. (A module function, not a closure made
 * per period: under tsx each named closure costs an Object.defineProperty.)
 */
function periodDemandKW(kWh: number): number {
  const hours = DEMAND_PERIOD_MS / MS_PER_HOUR;
  return Math.round((kWh / hours) * 1e4) / 1e4;
}

/**
 * The last settlement instant computed, shared by every meter: settlement instants depend only on
 * the meter time and the settlement day and hour, and the meters of a fleet integrate through the
 * same month, so one entry saves each integration step two calendar conversions.
 * `at` is the first settlement instant strictly after `from` (so also after any m in [from, at)).
 */
const settlementCache = { from: Number.NaN, at: Number.NaN, day: 0, hour: 0 };

/** Truncate to the minute (meter records carry YYMMDDhhmm). */
function floorMinute(m: number): number {
  return Math.floor(m / 60_000) * 60_000;
}

export class ElectricityMeterModel {
  /** The profile given, or null: built from the type and `profileAddress` when first asked for. */
  private profile_: SimulatorProfile | null;
  /** The address this meter was created with (its profile's `meter.address`). */
  private readonly profileAddress: string;
  /** What every meter of this model shares (meter-type.ts). */
  readonly type: MeterType;
  readonly clock: Clock;
  private readonly sim: SimulationSettings;
  private readonly log: (message: string) => void;

  /**
   * Fault switches (STYLE.md): each reproduces a field defect. Set by behaviours
   * ('refuse-trip', 'trip-despite-keep-power') or directly by a test.
   */
  readonly faults = {
    /** ROB-11 / FEE-12: the relay does not move (stuck contacts, dead drive) although commands are acknowledged. */
    relayStuck: false,
    /** Violates KP-01: trip commands execute even in keep-power (保电). */
    ignoreKeepPower: false,
    /** The RS-485 port keeps running on a battery while the mains are off (replies and partial frames survive a cut). */
    commsWithoutMains: false,
    /** Violates KP-01..KP-04: 3AH keep-power is acknowledged but never entered (bit 12 stays 0). */
    keepPowerCommandIgnored: false,
    /** Violates FEE-06: 1CH valid-until is not checked (an expired or malformed command executes). */
    ignoreValidUntil: false,
    /** Violates FEE-11: close-allowed (1B) closes an internal relay at once, without the customer's key. */
    closeWithoutButton: false,
    /** 1CH is acknowledged (9CH) after its checks but nothing happens: no relay, alarm or keep-power change. */
    ignoreRemoteControl: false,
    /**
     * Status word 3 lies about the relay (PROTOCOLS.md 1.8): 'always-closed' reports bit 4 = 0
     * whatever the relay; 'command-as-state' reports the command (bit 6) as the actual state (bit 4).
     */
    statusWord3Lies: 'none' as 'none' | 'always-closed' | 'command-as-state',
    /** Violates FEE-07: trip and close records carry this operator code instead of the one the command carried (null: the right one). */
    recordedOperator: null as string | null,
    /** Violates FEE-02/FEE-03: 1BH close-allowed (and then the key) closes a relay locked by an exhausted balance. */
    closeAllowedDespiteExhaustedBalance: false,
    /** Violates FEE-10: a pre-trip is carried out as a plain trip; the relay is never restored when its time ends. */
    preTripNoRestore: false,
  };

  // identity and security
  private address_ = '';
  /**
   * @internal Called after the communication address changes (15H, or any assignment): the meter
   * server keeps its bus receive filter on the current address (server.ts).
   */
  onAddressChange: (() => void) | undefined = undefined;
  /**
   * Observer of the actual relay (simulators/prepaid records relay truth with it), or undefined:
   * then nothing but this one empty slot is spent, and a relay movement costs one comparison.
   */
  onRelayChange: RelayChangeObserver | undefined = undefined;

  /** Communication address (A0..A5 as 12 digits). */
  get address(): string {
    return this.address_;
  }

  set address(address: string) {
    if (address === this.address_) return;
    this.address_ = address;
    this.onAddressChange?.();
  }

  meterNumber: string;
  /** 0400040E customer number. */
  customerNumber: string;
  /** Current RS-485 port baud rate (the server updates it after 17H; DI 04000703). */
  baudRate: number;
  /**
   * Password by level (0..9): 6 hex digits P2P1P0. Null while they are the type's initial ones
   * (copied on the first 18H change, so a fleet does not hold one map per meter).
   */
  private ownPasswords: Map<number, string> | null = null;

  // clock: meter = sim + offset + (sim - driftEpoch) * drift
  private offsetMs: number;
  private driftPpm: number;
  private driftEpoch: number;

  // registers
  private energy: EnergyRegisters;
  private forwardDemand: DemandSet = zeroDemand();
  private reverseDemand: DemandSet = zeroDemand();
  /** The demand period being measured (meter time), and the energy in it so far. */
  private demandBlock = { start: 0, whole: false, forwardKWh: 0, reverseKWh: 0 };
  /** Average forward power of the last whole demand period, kW (load-record class 6); 0 before one. */
  private lastDemandKW = 0;
  /** Signed balance: money (yuan) for money-prepaid, energy (kWh) for energy-prepaid. */
  private balance: number;
  private purchaseCount: number;
  private purchaseTotal: number;
  /** Balance thresholds and prices, writable over DL/T 645. */
  alarmAmount1: number;
  alarmAmount2: number;
  overdraftAmountLimit: number;
  alarmEnergy1: number;
  alarmEnergy2: number;
  overdraftEnergyLimit: number;
  readonly prices: TariffEnergy;
  settlementDay: number;
  settlementHour: number;
  /** FEE-04 anti-hoarding limit (0 = none): yuan or kWh by meter type. */
  hoardingLimit: number;
  /** 04001005 close-allowed amount limit (served; a top-up above it allows closing, as for any positive balance). */
  closeAllowedAmountLimit = 0;
  /** FEE-07 trip delay (04001401, minutes on the wire). */
  tripDelayMs: number;
  private readonly slots: readonly CompiledSlot[];

  // load and physical state
  private readonly loadSteps: readonly CompiledLoadStep[];
  private loadOverride: number | null = null;
  private draw: { kW: number; until: number } | null = null;
  private mainsOn = true;
  private coverOpen = false;

  // relay and cost control
  private relayOpen = false;
  private commandTrip = false;
  private closeAllowed = false;
  private pendingTripAt: number | null = null;
  private pendingTripOperator = '00000000';
  /** FEE-10: a pre-trip in progress (relay open until `restoreAt`, harness time), or null. */
  private preTrip: { kind: 1 | 2; restoreAt: number; operator: string } | null = null;
  /** FEE-09: a trip deferred by a large current, until this harness instant (or the current drops). */
  private tripProtectUntil: number | null = null;
  private tripProtect: { cause: RelayEventRecord['cause']; operator: string } | null = null;
  private keepPower = false;
  private remoteAlarm = false;
  private localLock: 'none' | 'releasable' | 'locked' = 'none';
  private level = 0;

  /** Purchases, most recent first (0332/0333 records, last 10). */
  private purchases_: PurchaseRecord[] = [];

  // freezes
  /** Daily, settlement, instantaneous and timed freezes, most recent first; allocated with the first one. */
  private freezes_: FreezeLists | null = null;
  private get freezes(): FreezeLists {
    return (this.freezes_ ??= { ...NO_FREEZES });
  }
  private timedFreezePattern: FreezePattern | null = null;

  /**
   * Load records (load-records.ts): null while none was made, or when the mode word is 0. The
   * interval in meter ms, 0 when off.
   */
  private loadRecords_: LoadRecordStore | null = null;
  private readonly loadRecordMs: number;

  // events: allocated on first use (most meters of a fleet never record one)
  private eventLogs_: EventLogs | null = null;
  private get events(): EventLogs {
    return (this.eventLogs_ ??= newEventLogs());
  }

  /** Harness instant up to which energy has been integrated. */
  private integratedTo: number;

  constructor(options: ElectricityMeterModelOptions) {
    const type = options.type ?? meterTypeOf(options.profile);
    this.type = type;
    const given = options.profile ?? type.profile;
    if (options.address !== undefined && options.address !== given.meter.address) {
      // Only the address differs from the profile: no profile object per meter until one is asked for.
      this.profileAddress = checkMeterAddress(options.address);
      this.profile_ = null;
    } else {
      this.profileAddress = given.meter.address;
      this.profile_ = given;
    }
    this.clock = options.clock;
    this.sim = given.simulation;
    this.log = options.logger ?? quiet;
    const meter = given.meter;
    this.address = this.profileAddress;
    this.meterNumber = this.profileAddress;
    this.customerNumber = this.profileAddress;
    this.baudRate = meter.line.baudRate;

    const now = this.clock.now();
    this.offsetMs = this.sim.clockOffsetMs;
    this.driftPpm = this.sim.clockDriftPpm;
    this.driftEpoch = now;
    this.integratedTo = now;
    this.restartDemandPeriod(this.meterTimeAt(now));

    const r = this.sim.registers;
    this.energy = zeroEnergy();
    this.energy.forwardActive = [...r.forwardActiveKWh];
    this.energy.reverseActive = [...r.reverseActiveKWh];
    this.balance = this.sim.meterType === 'energy-prepaid' ? r.remainingEnergyKWh : r.remainingAmount;
    this.purchaseCount = r.purchaseCount;
    this.purchaseTotal = r.purchaseTotal;

    const p = this.sim.prepaid;
    this.alarmAmount1 = p.alarmAmount1;
    this.alarmAmount2 = p.alarmAmount2;
    this.overdraftAmountLimit = p.overdraftAmountLimit;
    this.alarmEnergy1 = p.alarmEnergy1KWh;
    this.alarmEnergy2 = p.alarmEnergy2KWh;
    this.overdraftEnergyLimit = p.overdraftEnergyLimitKWh;
    this.hoardingLimit = p.hoardingLimit;
    this.tripDelayMs = this.sim.relay.tripDelayMs;
    this.prices = [...this.sim.tariffs.prices];
    this.settlementDay = this.sim.settlement.day;
    this.settlementHour = this.sim.settlement.hour;
    this.slots = type.slots;
    this.loadSteps = type.loadSteps;
    this.loadRecordMs = this.sim.loadRecord.modeWord === 0 ? 0 : this.sim.loadRecord.intervalMinutes * 60_000;

    if (this.purchaseCount > 0) {
      // The purchases before the simulation began, summed up as one record.
      this.purchases_ = [{ time: this.meterNow(), countAfter: this.purchaseCount, amount: this.purchaseTotal, before: 0, after: this.balance, cumulative: this.purchaseTotal }];
    }

    // A meter that starts with a low balance starts in the matching state (no trip event: it was
    // already tripped before the simulation began).
    this.level = this.levelOf(this.balance);
    if (this.localCostControl && this.level >= 2) {
      this.relayOpen = true;
      this.localLock = this.level >= 4 ? 'locked' : 'releasable';
    }
    // A simulation that starts on a load-record boundary records it: the registers at that instant
    // are the starting values (a scenario starting at 00:00 has the whole day's 96 records).
    if (this.loadRecordMs > 0) {
      const m = this.meterTimeAt(this.integratedTo);
      if (m % this.loadRecordMs === 0) this.recordLoad(m, this.integratedTo);
    }
  }

  /** This meter's profile: the one given, or its type's with this meter's address (`meter.address`). */
  get profile(): SimulatorProfile {
    return (this.profile_ ??= profileAtAddress(this.type, this.profileAddress));
  }

  // -------------------------------------------------------------------------------------------
  // Clock

  /** Meter time (ms since the epoch) at harness instant `sim`. */
  meterTimeAt(sim: number): number {
    return sim + this.offsetMs + ((sim - this.driftEpoch) * this.driftPpm) / 1e6;
  }

  /** The first harness instant at which the meter clock reads at least `meter`. */
  private simTimeFor(meter: number): number {
    const k = this.driftPpm / 1e6;
    const s = (meter - this.offsetMs + this.driftEpoch * k) / (1 + k);
    let c = Math.ceil(s);
    // Guard against float rounding: step until the meter clock really has reached `meter`.
    while (this.meterTimeAt(c) < meter) c++;
    return c;
  }

  /** The meter's clock now (ms since the epoch, integer). */
  meterNow(): number {
    return Math.floor(this.meterTimeAt(this.clock.now()));
  }

  /** Local calendar (UTC+8) of the meter clock now. */
  meterCalendar(): CalendarTime {
    return toCalendar(this.meterNow());
  }

  /**
   * Sets the meter clock (broadcast time sync 08H, or a write of 04000101/04000102). Energy is
   * integrated up to this instant first; freezes the jump skips over are not made up. [BK]
   * Recorded as a time-set event (CLK-02).
   */
  setMeterTime(meterMs: number, operator = '00000000'): void {
    this.sync();
    const now = this.clock.now();
    const before = this.meterNow();
    this.offsetMs = meterMs - now;
    this.driftEpoch = now;
    this.restartDemandPeriod(meterMs);
    pushRecord(this.events.timeSet, { operator, before, after: meterMs });
    this.log(`clock set from ${before} to ${meterMs}`);
  }

  /** Backchannel: puts the meter clock `ms` ahead of the harness clock (negative = behind). */
  setClockOffsetMs(ms: number): void {
    this.sync();
    const now = this.clock.now();
    this.offsetMs = ms;
    this.driftEpoch = now;
    this.restartDemandPeriod(this.meterTimeAt(now));
  }

  /** Backchannel: changes the clock drift from now on. */
  setClockDriftPpm(ppm: number): void {
    this.sync();
    const now = this.clock.now();
    this.offsetMs = this.meterTimeAt(now) - now;
    this.driftEpoch = now;
    this.driftPpm = ppm;
  }

  // -------------------------------------------------------------------------------------------
  // Integration

  /** Brings every register up to `clock.now()`. Cheap when nothing changed. */
  sync(): void {
    if (this.syncing) return;
    this.syncing = true;
    try {
      this.integrate();
    } finally {
      this.syncing = false;
    }
  }

  private syncing = false;

  private integrate(): void {
    const target = this.clock.now();
    let steps = 0;
    while (this.integratedTo < target) {
      const s0 = this.integratedTo;
      const m0 = this.meterTimeAt(s0);
      let s1 = target;
      const meterDue = this.nextMeterBoundary(m0);
      s1 = Math.min(s1, Math.max(s0 + 1, this.simTimeFor(meterDue)));
      if (this.draw && this.draw.until > s0) s1 = Math.min(s1, this.draw.until);
      if (this.pendingTripAt !== null && this.pendingTripAt > s0) s1 = Math.min(s1, this.pendingTripAt);
      if (this.preTrip !== null && this.preTrip.restoreAt > s0) s1 = Math.min(s1, this.preTrip.restoreAt);
      if (this.tripProtectUntil !== null && this.tripProtectUntil > s0) s1 = Math.min(s1, this.tripProtectUntil);
      const kW = this.powerAt(s0, m0);
      const tariff = this.tariffAt(m0);
      let threshold: number | null = null;
      if (kW > 0 && this.localCostControl) {
        const crossing = this.msToNextThreshold(kW, tariff);
        if (crossing !== null) {
          const at = s0 + Math.max(1, Math.ceil(crossing.ms - 1e-6));
          if (at <= s1) {
            s1 = at;
            threshold = crossing.threshold;
          }
        }
      }
      this.accumulate(kW, tariff, s1 - s0, m0);
      // A step that ends on a threshold crossing lands the balance exactly on it (not a fraction of a ms beyond).
      if (threshold !== null && Math.abs(this.balance - threshold) < 1e-3) this.balance = threshold;
      this.integratedTo = s1;
      this.afterStep(m0, this.meterTimeAt(s1), s1);
      if (++steps > 10_000_000) throw new Error('ElectricityMeterModel.sync: runaway integration');
    }
  }

  /** Next instant (meter time) strictly after m0 where the tariff, the load step or a record changes. */
  private nextMeterBoundary(m0: number): number {
    const day = localDayStart(m0);
    let due = day + MS_PER_DAY; // midnight: daily freeze
    for (const s of this.slots) {
      const at = day + s.minute * 60_000;
      if (at > m0) {
        due = Math.min(due, at);
        break;
      }
    }
    if (this.loadOverride === null && !(this.draw && this.draw.until > this.integratedTo)) {
      for (const s of this.loadSteps) {
        const at = day + s.minute * 60_000;
        if (at > m0) {
          due = Math.min(due, at);
          break;
        }
      }
    }
    due = Math.min(due, this.demandBlock.start + DEMAND_PERIOD_MS);
    // Load records: every interval boundary (UTC+8 is a whole number of hours, the interval divides 60 min).
    const every = this.loadRecordMs;
    if (every > 0) due = Math.min(due, Math.floor(m0 / every) * every + every);
    due = Math.min(due, this.nextSettlement(m0));
    const timed = this.nextTimedFreeze(m0);
    if (timed !== null) due = Math.min(due, timed);
    return due;
  }

  /** The first settlement instant strictly after m0. */
  private nextSettlement(m0: number): number {
    const cache = settlementCache;
    if (cache.day === this.settlementDay && cache.hour === this.settlementHour && m0 >= cache.from && m0 < cache.at) return cache.at;
    const at = this.firstSettlementAfter(m0);
    if (Number.isFinite(at)) {
      cache.from = m0;
      cache.at = at;
      cache.day = this.settlementDay;
      cache.hour = this.settlementHour;
    }
    return at;
  }

  private firstSettlementAfter(m0: number): number {
    const c = toCalendar(m0);
    let year = c.year;
    let month = c.month;
    for (let i = 0; i < 3; i++) {
      const at = fromCalendar({ year, month, day: this.settlementDay, hour: this.settlementHour, minute: 0, second: 0 });
      if (at > m0) return at;
      month++;
      if (month > 12) {
        month = 1;
        year++;
      }
    }
    return Number.POSITIVE_INFINITY;
  }

  /** The first instant strictly after m0 matching the timed-freeze pattern (null: none set). */
  private nextTimedFreeze(m0: number): number | null {
    const p = this.timedFreezePattern;
    if (!p || p.minute === 'any') return null;
    const minute = p.minute;
    if (p.hour === 'any') {
      // hourly at mm
      const hourStart = Math.floor(m0 / MS_PER_HOUR) * MS_PER_HOUR; // UTC+8 is a whole number of hours
      let at = hourStart + minute * 60_000;
      if (at <= m0) at += MS_PER_HOUR;
      return at;
    }
    const hour = p.hour;
    const start = toCalendar(m0);
    // Walk days forward (at most ~4 years for 29 February).
    let dayStart = fromCalendar({ year: start.year, month: start.month, day: start.day, hour: 0, minute: 0, second: 0 });
    for (let i = 0; i < 1500; i++, dayStart += MS_PER_DAY) {
      const c = toCalendar(dayStart);
      if (p.day !== 'any' && c.day !== p.day) continue;
      if (p.month !== 'any' && c.month !== p.month) continue;
      const at = dayStart + (hour * 60 + minute) * 60_000;
      if (at > m0) return at;
    }
    return null;
  }

  /** Customer power at harness instant s (kW, negative = export); 0 with the relay open or no mains. */
  private powerAt(s: number, m: number): number {
    if (!this.mainsOn || this.relayOpen) return 0;
    return this.demandAt(s, m);
  }

  /** What the customer's installation wants to draw (whatever the relay). */
  private demandAt(s: number, m: number): number {
    if (this.draw && this.draw.until > s) return this.draw.kW;
    if (this.loadOverride !== null) return this.loadOverride;
    const minute = Math.floor((m - localDayStart(m)) / 60_000);
    let kW = this.loadSteps[0]!.kW;
    for (const step of this.loadSteps) if (step.minute <= minute) kW = step.kW;
    return kW;
  }

  /** Tariff 1..4 active at meter instant m. */
  tariffAt(m: number): number {
    const minute = Math.floor((m - localDayStart(m)) / 60_000);
    const slots = this.slots;
    let t = slots[0]!.tariff;
    for (let i = 0; i < slots.length; i++) if (slots[i]!.minute <= minute) t = slots[i]!.tariff;
    return t;
  }

  private accumulate(kW: number, tariff: number, ms: number, m0: number): void {
    if (kW === 0 || ms <= 0) return;
    const hours = ms / MS_PER_HOUR;
    const i = (tariff - 1) as 0 | 1 | 2 | 3;
    const kWh = Math.abs(kW) * hours;
    const pf = this.sim.load.powerFactor;
    const kvarh = kWh * Math.tan(Math.acos(pf));
    if (kW > 0) {
      this.energy.forwardActive[i] += kWh;
      this.energy.reactive[0][i] += kvarh; // quadrant I: import, inductive
      this.demandBlock.forwardKWh += kWh;
      if (this.localCostControl) {
        this.balance -= this.sim.meterType === 'money-prepaid' ? kWh * this.prices[i] : kWh;
      }
    } else {
      this.energy.reverseActive[i] += kWh;
      this.energy.reactive[2][i] += kvarh; // quadrant III: export, (P-, Q-)
      this.demandBlock.reverseKWh += kWh;
    }
  }

  /** Max demand (total and the tariff's) raised to `kW` when higher, stamped with the period start. */
  private noteDemand(set: DemandSet, kW: number, tariff: number, periodStart: number): DemandSet {
    const total = kW > set[0].kW;
    const ofTariff = kW > set[tariff]!.kW;
    if (!total && !ofTariff) return set;
    const at = floorMinute(periodStart);
    const next = [...set] as DemandSet;
    if (total) next[0] = { kW, at };
    if (ofTariff) next[tariff] = { kW, at };
    return next;
  }

  /** A new demand period from `start` (reused in place: one period every 15 minutes of every meter). */
  private startDemandBlock(start: number, whole: boolean): void {
    const b = this.demandBlock;
    b.start = start;
    b.whole = whole;
    b.forwardKWh = 0;
    b.reverseKWh = 0;
  }

  /** Starts measuring the demand period that contains meter instant `m`; it counts only if `m` is its start. */
  private restartDemandPeriod(m: number): void {
    const start = Math.floor(m / DEMAND_PERIOD_MS) * DEMAND_PERIOD_MS; // UTC+8 is a whole number of quarter hours
    this.startDemandBlock(start, m === start);
  }

  /** At the end of a demand period: its average power is a demand (if the period was whole); the next one starts. */
  private endDemandPeriod(m1: number): void {
    const b = this.demandBlock;
    const end = b.start + DEMAND_PERIOD_MS;
    if (m1 < end) return;
    this.lastDemandKW = b.whole ? periodDemandKW(b.forwardKWh) : 0;
    if (b.whole) {
      const tariff = this.tariffAt(b.start);
      this.forwardDemand = this.noteDemand(this.forwardDemand, periodDemandKW(b.forwardKWh), tariff, b.start);
      this.reverseDemand = this.noteDemand(this.reverseDemand, periodDemandKW(b.reverseKWh), tariff, b.start);
    }
    // Steps end on period boundaries, so m1 is the end (a drifting clock may overshoot it by < 1 ms).
    if (m1 < end + DEMAND_PERIOD_MS) this.startDemandBlock(end, true);
    else this.restartDemandPeriod(m1);
  }

  private afterStep(m0: number, m1: number, s1: number): void {
    this.endDemandPeriod(m1);
    // A load record at the interval boundary this step ended on (steps stop at each one).
    const every = this.loadRecordMs;
    if (every > 0) {
      const boundary = Math.floor(m1 / every) * every;
      if (boundary > m0) this.recordLoad(boundary, s1);
    }
    // Daily freeze at local midnight (keep the last 62).
    const midnight = localDayStart(m1);
    if (midnight > m0 && midnight <= m1) {
      unshiftKept(this.freezes, 'daily', this.freezeRecord(midnight, s1), DAILY_FREEZES_KEPT);
    }
    // Monthly settlement: the energy and demand at that instant; demand restarts (keep 12).
    const settlement = this.nextSettlement(m0);
    if (settlement <= m1) {
      unshiftKept(this.freezes, 'settlements', this.freezeRecord(settlement, s1), SETTLEMENTS_KEPT);
      this.forwardDemand = zeroDemand();
      this.reverseDemand = zeroDemand();
      this.restartDemandPeriod(settlement);
    }
    const timed = this.nextTimedFreeze(m0);
    if (timed !== null && timed <= m1) {
      unshiftKept(this.freezes, 'timed', this.freezeRecord(timed, s1), TIMED_FREEZES_KEPT);
    }
    // A relay is driven only with the mains on (FEE-12: an internal relay needs > 0.75 Un): a trip
    // falling due during a cut executes when the mains return.
    if (this.pendingTripAt !== null && this.pendingTripAt <= s1 && this.mainsOn) {
      this.pendingTripAt = null;
      if (this.commandTrip && (!this.keepPower || this.faults.ignoreKeepPower)) this.tripFallsDue('remote', this.pendingTripOperator, m1, s1);
    }
    if (this.preTrip !== null && this.preTrip.restoreAt <= s1 && this.mainsOn) this.endPreTrip(m1);
    if (this.draw && this.draw.until <= s1) this.draw = null;
    this.checkTripProtect(s1, m1);
    this.updateLevel(m1);
  }

  /** The load record of meter instant `m` (harness instant `s`): the values at that instant. */
  private recordLoad(m: number, s: number): void {
    (this.loadRecords_ ??= new LoadRecordStore(this.sim.loadRecord, this.sim.load)).add(m, this.mainsOn, this.powerAt(s, m), this.energy, this.lastDemandKW);
  }

  private freezeRecord(time: number, s: number): FreezeRecord {
    const kW = this.powerAt(s, time);
    const phases = this.sim.load.phases;
    const perPhase = phases === 3 ? kW / 3 : kW;
    return {
      time,
      energy: recordEnergy(this.energy),
      // Demand sets are never changed in place: the record can keep the current ones.
      forwardDemand: this.forwardDemand,
      reverseDemand: this.reverseDemand,
      powerKW: [kW, perPhase, phases === 3 ? perPhase : 0, phases === 3 ? perPhase : 0],
    };
  }

  // -------------------------------------------------------------------------------------------
  // Prepaid balance (FEE-02, FEE-03)

  /** Local cost control: the meter itself holds the balance and trips (FEE-01). */
  get localCostControl(): boolean {
    return this.sim.meterType !== 'non-prepaid' && this.sim.costControl === 'local';
  }

  private thresholds(): [number, number, number, number] {
    if (this.sim.meterType === 'energy-prepaid') return [this.alarmEnergy1, this.alarmEnergy2, 0, -this.overdraftEnergyLimit];
    return [this.alarmAmount1, this.alarmAmount2, 0, -this.overdraftAmountLimit];
  }

  /**
   * 0: above alarm 1; 1: ≤ alarm 1 (alarm); 2: ≤ alarm 2 (trip, key restores); 3: ≤ 0 within the
   * overdraft (trip, key restores); 4: overdraft exhausted (trip only a top-up releases). FEE-02.
   */
  private levelOf(balance: number): number {
    const [a1, a2, zero, od] = this.thresholds();
    const eps = 1e-9;
    if (balance > a1 + eps) return 0;
    if (balance > a2 + eps) return 1;
    if (balance > zero + eps) return 2;
    if (balance > od + eps) return 3;
    return 4;
  }

  /** Harness ms until the balance reaches the next threshold at constant kW (and which), or null. */
  private msToNextThreshold(kW: number, tariff: number): { ms: number; threshold: number } | null {
    const rate = this.sim.meterType === 'money-prepaid' ? kW * this.prices[tariff - 1]! : kW; // per hour
    if (rate <= 0) return null;
    for (const t of this.thresholds()) {
      if (this.balance > t + 1e-9) return { ms: ((this.balance - t) / rate) * MS_PER_HOUR, threshold: t };
    }
    return null;
  }

  private updateLevel(m: number): void {
    const level = this.levelOf(this.balance);
    const previous = this.level;
    this.level = level;
    if (!this.localCostControl || level === previous) return;
    if (level > previous) {
      if (level >= 2 && !this.keepPower) {
        const lock = level >= 4 ? 'locked' : 'releasable';
        // Entering level 2 or 3 trips (the key restores supply); entering 4 locks until a top-up.
        this.localLock = lock;
        this.closeAllowed = false;
        this.tripFallsDue('local', LOCAL_OPERATOR, m, this.clock.now());
        this.log(`local prepaid trip at balance ${this.balance.toFixed(2)} (level ${level})`);
      }
    } else {
      // Balance went up (top-up): FEE-03 closing is allowed only with a positive balance.
      if (level <= 1 && this.localLock !== 'none') {
        this.localLock = 'none';
        if (this.tripProtect?.cause === 'local') this.cancelTripProtect();
        if (this.relayOpen && !this.commandTrip) this.allowClose(m, LOCAL_OPERATOR, 'local');
      } else if (level <= 2 && this.localLock === 'locked') {
        // FEE-03: out of the lock only with a positive balance (level 3 is still ≤ 0).
        this.localLock = 'releasable';
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Relay (FEE-06, FEE-07, FEE-11, KP-01..04)

  /** Phase current (A) the installation draws at harness instant s with the relay closed. */
  private phaseCurrentAt(s: number, m: number): number {
    const load = this.sim.load;
    if (!this.mainsOn || load.voltageV <= 0) return 0;
    const kW = Math.abs(this.demandAt(s, m));
    return (kW * 1000) / (load.phases === 3 ? 3 : 1) / (load.voltageV * load.powerFactor);
  }

  /**
   * A trip falls due (remote after its delay, or local prepaid). FEE-09: an internal relay whose
   * phase current exceeds the declared threshold defers it (trip-protect) until the current drops
   * or the protection time runs out; otherwise the relay opens now.
   */
  private tripFallsDue(cause: RelayEventRecord['cause'], operator: string, m: number, s: number): void {
    const protection = this.meter.relay.largeCurrentProtection;
    if (protection && this.sim.relay.kind === 'internal' && !this.relayOpen && this.phaseCurrentAt(s, m) > protection.thresholdA) {
      this.tripProtect = { cause, operator };
      this.tripProtectUntil = s + protection.maxDeferMs;
      this.log(`trip deferred: ${this.phaseCurrentAt(s, m).toFixed(1)} A > ${protection.thresholdA} A (FEE-09)`);
      return;
    }
    this.openRelay(cause, operator, m);
  }

  /** FEE-09: executes a deferred trip once the current has dropped or the protection time is over. */
  private checkTripProtect(s: number, m: number): void {
    const p = this.tripProtect;
    if (!p || this.tripProtectUntil === null) return;
    const threshold = this.meter.relay.largeCurrentProtection?.thresholdA ?? 0;
    if (s < this.tripProtectUntil && this.phaseCurrentAt(s, m) > threshold) return;
    if (!this.mainsOn) return;
    this.tripProtect = null;
    this.tripProtectUntil = null;
    this.openRelay(p.cause, p.operator, m);
  }

  /**
   * FEE-10: the restore time of a pre-trip has run out: pre-trip 1 re-closes the relay by itself,
   * pre-trip 2 goes to close allowed (an internal relay then waits for the key, an external one closes).
   */
  private endPreTrip(m: number): void {
    const p = this.preTrip;
    if (!p) return;
    this.preTrip = null;
    if (this.faults.preTripNoRestore) return;
    this.commandTrip = false;
    this.cancelTripProtect();
    if (p.kind === 1) this.closeRelay('remote', p.operator, m);
    else this.allowClose(m, p.operator, 'remote');
  }

  /** Drops a deferred trip (a close, keep-power, or a top-up cancels what was due). */
  private cancelTripProtect(): void {
    this.tripProtect = null;
    this.tripProtectUntil = null;
  }

  /**
   * Harness instant of a relay movement at meter time `m` (for onRelayChange only): now when it
   * happens now (`m` is the meter clock now, floored to the ms), else the exact inverse of the meter
   * clock, to the microsecond (a trip executed lazily, dated when it fell due).
   */
  private relayInstant(m: number): number {
    const now = this.clock.now();
    if (Math.abs(this.meterTimeAt(now) - m) < 1) return now;
    const k = this.driftPpm / 1e6;
    return Math.round(((m - this.offsetMs + this.driftEpoch * k) / (1 + k)) * 1000) / 1000;
  }

  private openRelay(cause: RelayEventRecord['cause'], operator: string, m: number): void {
    if (this.relayOpen || this.faults.relayStuck) return;
    this.relayOpen = true;
    pushRecord(this.events.trip, { time: m, operator: this.faults.recordedOperator ?? operator, energy: copyEnergy(this.energy), cause });
    this.log(`relay open (${cause})`);
    if (this.onRelayChange !== undefined) this.onRelayChange(this, true, this.relayInstant(m), cause);
  }

  private closeRelay(cause: RelayEventRecord['cause'], operator: string, m: number): void {
    this.closeAllowed = false;
    if (!this.relayOpen || this.faults.relayStuck) return;
    this.relayOpen = false;
    pushRecord(this.events.close, { time: m, operator: this.faults.recordedOperator ?? operator, energy: copyEnergy(this.energy), cause });
    this.log(`relay closed (${cause})`);
    if (this.onRelayChange !== undefined) this.onRelayChange(this, false, this.relayInstant(m), cause);
  }

  /**
   * 合闸允许: a relay declared to need the key (`meter.relay.closeNeedsButton`, default for an internal
   * relay) waits for it; one that does not (an external relay) closes at once (FEE-11).
   */
  private allowClose(m: number, operator: string, cause: RelayEventRecord['cause']): void {
    if (!this.relayOpen) return;
    if (!this.meter.relay.closeNeedsButton || this.faults.closeWithoutButton) this.closeRelay(cause, operator, m);
    else this.closeAllowed = true;
  }

  /** The meter's declaration (`meter`): the 1CH commands it accepts, its relay. */
  private get meter(): SimulatorProfile['meter'] {
    return this.type.profile.meter;
  }

  /**
   * 1CH remote control (PROTOCOLS.md 1.5, FEE-06). The caller has already checked the password.
   * Refusals, in this order:
   * - an N1 the declaration does not list (`meter.remoteControl.commands`) → 'unsupported'
   * - valid-until before the meter clock, or all zero (null) when the declaration does not accept
   *   that (`meter.remoteControl.acceptsZeroValidUntil`, [BK]) → 'expired'
   * - trip under keep-power → 'keep-power' (KP-01)
   */
  /**
   * True when a 1CH valid until `validUntil` is refused as expired (FEE-06): a time before the meter
   * clock, or all zero (null) when the declaration does not accept that. Never under the
   * `ignoreValidUntil` fault.
   */
  validUntilRefused(validUntil: FrameDateTime | null): boolean {
    if (this.faults.ignoreValidUntil) return false;
    return validUntil === null ? !this.meter.remoteControl.acceptsZeroValidUntil : fromCalendar(validUntil) < this.meterNow();
  }

  remoteControl(command: number, operator: string, validUntil: FrameDateTime | null, n2 = 0): CommandResult {
    this.sync();
    const m = this.meterNow();
    const code = command.toString(16).toUpperCase().padStart(2, '0');
    const preTrip = this.meter.remoteControl.preTrip;
    const preTripKind = preTrip?.restoreClose === code ? 1 : preTrip?.restoreAllow === code ? 2 : null;
    if (!(this.meter.remoteControl.commands as readonly string[]).includes(code) && preTripKind === null) return { ok: false, error: 'unsupported' };
    if (this.validUntilRefused(validUntil)) return { ok: false, error: 'expired' };
    const tripping = command === RemoteControlCommand.Trip || preTripKind !== null;
    if (tripping && this.keepPower && !this.faults.ignoreKeepPower) return { ok: false, error: 'keep-power' };
    if (this.faults.ignoreRemoteControl) return { ok: true };
    const now = this.clock.now();
    if (preTrip && preTripKind !== null) {
      // FEE-10 (Wisdom Relay_Remote.c): refused on a relay already open for another reason; trips at
      // once (the restore time replaces the trip delay); restores after N2 × unit (0: the default).
      if (this.relayOpen && this.preTrip === null) return { ok: false, error: 'invalid' };
      const restoreMs = n2 === 0 ? preTrip.defaultRestoreMs : n2 * preTrip.n2UnitMs;
      this.commandTrip = true;
      this.closeAllowed = false;
      this.pendingTripAt = null;
      this.preTrip = { kind: preTripKind, restoreAt: now + restoreMs, operator };
      if (!this.relayOpen && this.tripProtect === null) this.tripFallsDue('remote', operator, m, now);
      return { ok: true };
    }
    // A trip, a close or keep-power ends a pre-trip in progress (after a trip the relay stays open for good).
    const { Trip, CloseAllowed, DirectClose, KeepPower } = RemoteControlCommand;
    if (command === Trip || command === CloseAllowed || command === DirectClose || command === KeepPower) this.preTrip = null;
    switch (command) {
      case RemoteControlCommand.Trip: {
        this.commandTrip = true;
        this.closeAllowed = false;
        const delay = this.tripDelayMs;
        if (delay > 0 && !this.relayOpen) {
          // FEE-07: bit 6 now, bit 7 (pre-trip alarm) during the delay, bit 4 when it opens.
          if (this.pendingTripAt === null) this.pendingTripAt = now + delay;
          this.pendingTripOperator = operator;
        } else if (this.tripProtect === null) {
          this.tripFallsDue('remote', operator, m, now);
        }
        return { ok: true };
      }
      case RemoteControlCommand.CloseAllowed:
        this.commandTrip = false;
        this.pendingTripAt = null;
        if (this.tripProtect?.cause === 'remote') this.cancelTripProtect();
        if (this.localLock !== 'locked' || this.faults.closeAllowedDespiteExhaustedBalance) this.allowClose(m, operator, 'remote');
        return { ok: true };
      case RemoteControlCommand.DirectClose:
        // Forced reconnect (FEE-18) overrides the balance check.
        this.commandTrip = false;
        this.pendingTripAt = null;
        this.cancelTripProtect();
        this.localLock = 'none';
        this.closeRelay('forced', operator, m);
        return { ok: true };
      case RemoteControlCommand.Alarm:
        this.remoteAlarm = true;
        return { ok: true };
      case RemoteControlCommand.AlarmRelease:
        this.remoteAlarm = false;
        return { ok: true };
      case RemoteControlCommand.KeepPower:
        if (this.faults.keepPowerCommandIgnored) return { ok: true };
        this.keepPower = true;
        // KP-04: a pending trip is cancelled; KP-01: no trip from any cause while kept.
        this.pendingTripAt = null;
        this.cancelTripProtect();
        this.commandTrip = false;
        this.localLock = 'none';
        // KP-03: already tripped → internal relay to close-allowed, external closes at once.
        if (this.relayOpen) this.allowClose(m, operator, 'keep-power');
        return { ok: true };
      case RemoteControlCommand.KeepPowerRelease:
        // KP-02: only the keep-power state changes; a local meter then decides from its balance.
        this.keepPower = false;
        if (this.localCostControl && this.level >= 2) {
          this.localLock = this.level >= 4 ? 'locked' : 'releasable';
          this.closeAllowed = false;
          this.tripFallsDue('local', LOCAL_OPERATOR, m, now);
        }
        return { ok: true };
      default:
        return { ok: false, error: 'invalid' };
    }
  }

  // -------------------------------------------------------------------------------------------
  // Passwords

  /** True when `password` matches the stored password of its level and the level is strong enough (0 strongest). */
  checkPassword(password: Password, maxLevel: number): boolean {
    const stored = (this.ownPasswords ?? this.type.passwords).get(password.level);
    return stored !== undefined && password.level <= maxLevel && stored === password.value.toUpperCase();
  }

  /**
   * 18H change password: DI 04000C01..0A names level 0..9 (PROTOCOLS.md 1.9). The old password
   * must be valid and of the same or a stronger level [BK].
   */
  changePassword(di: string, oldPassword: Password, newPassword: Password, skipPasswordCheck = false): CommandResult {
    const m = /^04000C(0[1-9]|0A)$/i.exec(di);
    if (!m) return { ok: false, error: 'unsupported' };
    const level = parseInt(m[1]!, 16) - 1;
    if (newPassword.level !== level) return { ok: false, error: 'invalid' };
    if (!skipPasswordCheck && !this.checkPassword(oldPassword, level)) return { ok: false, error: 'password' };
    this.ownPasswords ??= new Map(this.type.passwords);
    this.ownPasswords.set(level, newPassword.value.toUpperCase());
    return { ok: true };
  }

  // -------------------------------------------------------------------------------------------
  // Reads and writes (values.ts maps identifiers to these registers through the dictionary)

  /** The value of `di` now, shaped for the dictionary's encodeValue; undefined when not served. */
  readValue(di: string): DataValue | undefined {
    this.sync();
    return readModelValue(this, di.toUpperCase());
  }

  /** True when the model can serve `di` (whatever the declaration says). */
  serves(di: string): boolean {
    return servesIdentifier(this, di.toUpperCase());
  }

  /** 14H write data: password (level ≤ 04), then the value; recorded as a programming event. */
  writeValue(di: string, value: DataValue, password: Password, operator: string): WriteResult {
    this.sync();
    if (!this.checkPassword(password, WRITE_MAX_LEVEL)) return { ok: false, error: 'password' };
    return this.writeDecoded(di, value, operator);
  }

  /** 14H write after the caller has checked the password (the server, or accept-wrong-password). */
  writeDecoded(di: string, value: DataValue, operator: string): WriteResult {
    this.sync();
    const r = writeModelValue(this, di.toUpperCase(), value, operator);
    if (r.ok) this.noteProgramming(di.toUpperCase(), operator);
    return r;
  }

  /** 04000B01: a new monthly settlement instant (energy is integrated up to now first). */
  setSettlement(day: number, hour: number): void {
    this.sync();
    this.settlementDay = day;
    this.settlementHour = hour;
  }

  private noteProgramming(di: string, operator: string): void {
    const m = this.meterNow();
    pushRecord(this.events.programming, { time: m, operator, identifiers: [di] });
  }

  /** 15H write address. */
  setAddress(address: string): void {
    this.address = address;
  }

  /** Used by values.ts for writes of thresholds; FEE-02 rejects alarm 1 < alarm 2. */
  setThreshold(which: 'alarmAmount1' | 'alarmAmount2' | 'overdraftAmountLimit' | 'alarmEnergy1' | 'alarmEnergy2' | 'overdraftEnergyLimit', value: number): boolean {
    const next = { alarmAmount1: this.alarmAmount1, alarmAmount2: this.alarmAmount2, alarmEnergy1: this.alarmEnergy1, alarmEnergy2: this.alarmEnergy2 } as Record<string, number>;
    next[which] = value;
    if (next.alarmAmount1! < next.alarmAmount2! || next.alarmEnergy1! < next.alarmEnergy2!) return false;
    this[which] = value;
    this.updateLevel(this.meterNow());
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Freeze (16H), clears (19H/1AH/1BH)

  /**
   * 16H freeze. All four fields 99H → freeze now (instantaneous freeze, records 0501xxxx) [BK].
   * Otherwise the pattern sets the timed freeze (records 0500xxxx): mm (hourly), hh mm (daily),
   * DD hh mm (monthly), MM DD hh mm (yearly). Other combinations ('any' minute with a fixed hour)
   * are refused [BK].
   */
  freeze(pattern: FreezePattern): CommandResult {
    this.sync();
    const { minute, hour, day, month } = pattern;
    if (minute === 'any' && hour === 'any' && day === 'any' && month === 'any') {
      unshiftKept(this.freezes, 'instant', this.freezeRecord(this.meterNow(), this.clock.now()), INSTANT_FREEZES_KEPT);
      return { ok: true };
    }
    const fixed = [minute, hour, day, month].map((f) => f !== 'any');
    // Fixed fields must be a prefix: mm | mm hh | mm hh DD | mm hh DD MM.
    const firstAny = fixed.indexOf(false);
    if (firstAny !== -1 && fixed.slice(firstAny).some((f) => f)) return { ok: false, error: 'invalid' };
    this.timedFreezePattern = { minute, hour, day, month };
    return { ok: true };
  }

  clearMaxDemand(operator: string): void {
    this.sync();
    this.forwardDemand = zeroDemand();
    this.reverseDemand = zeroDemand();
    this.restartDemandPeriod(this.meterNow());
    pushRecord(this.events.demandClear, { time: this.meterNow(), operator, energy: copyEnergy(this.energy) });
  }

  /** 1AH meter clear: energy, demand, freezes and event records (except the clear record itself). */
  meterClear(operator: string): void {
    this.sync();
    const before = copyEnergy(this.energy);
    this.energy = zeroEnergy();
    this.forwardDemand = zeroDemand();
    this.reverseDemand = zeroDemand();
    this.restartDemandPeriod(this.meterNow());
    this.freezes_ = null;
    this.loadRecords_?.clear();
    for (const [name, log] of Object.entries(this.events)) {
      if (name === 'meterClear') continue;
      log.count = 0;
      log.records.length = 0;
    }
    pushRecord(this.events.meterClear, { time: this.meterNow(), operator, energy: before });
  }

  /** 1BH event clear; DI FFFFFFFF = all event logs [BK: 600888 server], otherwise the log of that DI's family. */
  eventClear(di: string, operator: string): CommandResult {
    this.sync();
    const d = di.toUpperCase();
    const families: Record<string, keyof typeof this.events> = {
      '0311': 'powerDown',
      '03300D': 'coverOpen',
      '1D00': 'trip',
      '1E00': 'close',
      '033000': 'programming',
      '033004': 'timeSet',
      '033001': 'meterClear',
      '033002': 'demandClear',
    };
    const keys: (keyof typeof this.events)[] = [];
    if (d === 'FFFFFFFF') {
      for (const k of Object.keys(this.events) as (keyof typeof this.events)[]) if (k !== 'eventClear') keys.push(k);
    } else {
      for (const [prefix, key] of Object.entries(families)) if (d.startsWith(prefix)) keys.push(key);
      if (keys.length === 0) return { ok: false, error: 'unsupported' };
    }
    for (const k of keys) {
      this.events[k].count = 0;
      this.events[k].records.length = 0;
    }
    pushRecord(this.events.eventClear, { time: this.meterNow(), operator, energy: copyEnergy(this.energy), di: d });
    return { ok: true };
  }

  // -------------------------------------------------------------------------------------------
  // Backchannel: the physical world

  /** The customer's load from now on, kW (negative = export); replaces the profile's load. null = back to the profile. */
  setLoad(kW: number | null): void {
    this.sync();
    this.loadOverride = kW;
    this.checkTripProtect(this.clock.now(), this.meterNow());
  }

  /** The customer draws `kW` for `ms` of simulated time starting now (then the previous load resumes). No timer. */
  drawFor(kW: number, ms: number): void {
    this.sync();
    this.draw = { kW, until: this.clock.now() + Math.max(0, ms) };
    this.checkTripProtect(this.clock.now(), this.meterNow());
  }

  /** Mains supply fails: no energy, the server stays silent, a power-down event opens. */
  cutMains(): void {
    this.sync();
    if (!this.mainsOn) return;
    this.mainsOn = false;
    if (!this.faults.commsWithoutMains) this.commsLosses++;
    pushRecord(this.events.powerDown, { start: this.meterNow(), end: null });
  }

  restoreMains(): void {
    this.sync();
    if (this.mainsOn) return;
    this.mainsOn = true;
    const last = this.events.powerDown.records[0];
    if (last && last.end === null) this.events.powerDown.records[0] = { ...last, end: this.meterNow() };
    // The relay kept its state through the cut; a trip that fell due meanwhile executes now.
    const now = this.clock.now();
    if (this.pendingTripAt !== null && this.pendingTripAt <= now) {
      this.pendingTripAt = null;
      if (this.commandTrip && (!this.keepPower || this.faults.ignoreKeepPower)) this.tripFallsDue('remote', this.pendingTripOperator, this.meterNow(), now);
    }
    if (this.preTrip !== null && this.preTrip.restoreAt <= now) this.endPreTrip(this.meterNow());
    this.checkTripProtect(now, this.meterNow());
  }

  get isPowered(): boolean {
    return this.mainsOn;
  }

  /** Whether the RS-485 port has power: the mains, or a battery under the `commsWithoutMains` fault. */
  get commsPowered(): boolean {
    return this.mainsOn || this.faults.commsWithoutMains;
  }

  /**
   * Times the RS-485 port lost power (mains cuts, unless `commsWithoutMains`): the server forgets a
   * partial frame when this changed since its last byte, even if no byte arrived during the cut.
   */
  get commsPowerLosses(): number {
    return this.commsLosses;
  }
  private commsLosses = 0;

  openCover(): void {
    this.sync();
    if (this.coverOpen) return;
    this.coverOpen = true;
    pushRecord(this.events.coverOpen, { start: this.meterNow(), end: null, energyAtStart: copyEnergy(this.energy), energyAtEnd: null });
  }

  closeCover(): void {
    this.sync();
    if (!this.coverOpen) return;
    this.coverOpen = false;
    const last = this.events.coverOpen.records[0];
    if (last && last.end === null) this.events.coverOpen.records[0] = { ...last, end: this.meterNow(), energyAtEnd: copyEnergy(this.energy) };
  }

  /**
   * The customer holds the close key (FEE-11, 3 s): closes the relay when close is allowed, or
   * after a releasable local prepaid trip (FEE-02). Returns whether the relay closed.
   */
  pressButton(): boolean {
    this.sync();
    // Without mains the meter's display and key are dead.
    if (!this.mainsOn || !this.relayOpen || this.commandTrip) return false;
    const m = this.meterNow();
    if (this.localLock === 'locked' && !this.keepPower && !(this.faults.closeAllowedDespiteExhaustedBalance && this.closeAllowed)) return false;
    if (this.closeAllowed || this.localLock === 'releasable') {
      this.localLock = 'none';
      this.closeRelay('local', LOCAL_OPERATOR, m);
      return true;
    }
    return false;
  }

  /**
   * A purchase (card or remote top-up): yuan for money-prepaid, kWh for energy-prepaid. The
   * overdraft is paid back first (FEE-03). Refused when it would exceed the hoarding limit (FEE-04).
   */
  topUp(amount: number): boolean {
    this.sync();
    if (!(amount > 0)) return false;
    const limit = this.hoardingLimit;
    if (limit > 0 && this.balance + amount > limit) return false;
    const before = this.balance;
    this.balance += amount;
    this.purchaseCount++;
    this.purchaseTotal += amount;
    this.purchases_.unshift({ time: this.meterNow(), countAfter: this.purchaseCount, amount, before, after: this.balance, cumulative: this.purchaseTotal });
    if (this.purchases_.length > EVENT_RECORDS_KEPT) this.purchases_.length = EVENT_RECORDS_KEPT;
    this.updateLevel(this.meterNow());
    return true;
  }

  // -------------------------------------------------------------------------------------------
  // Derived state used by values.ts and the snapshot

  /** Instantaneous customer power now, kW (0 with the relay open or no mains). */
  powerNow(): number {
    this.sync();
    const now = this.clock.now();
    return this.powerAt(now, this.meterTimeAt(now));
  }

  get registers(): Readonly<EnergyRegisters> {
    this.sync();
    return this.energy;
  }

  get demand(): { readonly forward: DemandSet; readonly reverse: DemandSet } {
    this.sync();
    return { forward: this.forwardDemand, reverse: this.reverseDemand };
  }

  get relay(): RelayState {
    this.sync();
    return {
      open: this.relayOpen,
      commandTrip: this.commandTrip,
      closeAllowed: this.closeAllowed,
      pendingTripAt: this.pendingTripAt,
      tripProtectUntil: this.tripProtectUntil,
      keepPower: this.keepPower,
      remoteAlarm: this.remoteAlarm,
      localLock: this.localLock,
    };
  }

  /** Status word 3 bit 7 "pre-trip alarm": commanded alarm, low balance (local), or a trip waiting for its delay. */
  get alarm(): boolean {
    this.sync();
    // A trip waiting out its delay or its trip protection shows as the pre-trip alarm only when the meter declares one (meter.relay.preTripAlarm).
    const preTrip = this.meter.relay.preTripAlarm && (this.pendingTripAt !== null || this.tripProtect !== null);
    return this.remoteAlarm || preTrip || (this.localCostControl && this.level >= 1 && !this.keepPower);
  }

  get balanceState(): MeterSnapshot['balance'] {
    this.sync();
    const energyType = this.sim.meterType === 'energy-prepaid';
    const remaining = Math.max(0, this.balance);
    const overdraft = Math.max(0, -this.balance);
    return {
      remainingAmount: energyType ? 0 : remaining,
      overdraftAmount: energyType ? 0 : overdraft,
      remainingEnergy: energyType ? remaining : 0,
      overdraftEnergy: energyType ? overdraft : 0,
      level: this.level,
    };
  }

  get purchases(): { readonly count: number; readonly total: number } {
    return { count: this.purchaseCount, total: this.purchaseTotal };
  }

  /** Purchase records, most recent first. */
  get purchaseLog(): readonly PurchaseRecord[] {
    return this.purchases_;
  }

  get records(): {
    readonly daily: readonly FreezeRecord[];
    readonly settlements: readonly FreezeRecord[];
    readonly instant: readonly FreezeRecord[];
    readonly timed: readonly FreezeRecord[];
  } {
    this.sync();
    const f = this.freezes_ ?? NO_FREEZES;
    return { daily: f.daily, settlements: f.settlements, instant: f.instant, timed: f.timed };
  }

  /** The event logs (read them only: a meter that never recorded one shows a shared empty set). */
  get eventLogs(): MeterSnapshot['events'] {
    this.sync();
    return this.eventLogs_ ?? NO_EVENTS;
  }

  get settings(): SimulationSettings {
    return this.sim;
  }

  /** `simulation.loadRecord` (mode word 0: no load records). */
  get loadRecordSettings(): LoadRecordSettings {
    return this.sim.loadRecord;
  }

  /** Whether the meter keeps load records (its mode word enables a class). */
  get recordsLoad(): boolean {
    return this.loadRecordMs > 0;
  }

  /**
   * Load records (DI 06000001): the blocks whose meter time is at or after `fromMeterMs`, at most
   * `count`, oldest first; only the classes the mode word enables. Empty when none.
   */
  loadRecords(fromMeterMs: number, count: number): LoadRecordBlock[] {
    this.sync();
    return this.loadRecords_?.blocks(fromMeterMs, count) ?? [];
  }

  /** Records kept and the bytes of their storage (0 when none was made). */
  get loadRecordStorage(): { readonly records: number; readonly bytes: number } {
    this.sync();
    return { records: this.loadRecords_?.count ?? 0, bytes: this.loadRecords_?.bytes ?? 0 };
  }

  /**
   * Status word 3 (PROTOCOLS.md 1.8): bit 4 relay open, bit 6 trip command, bit 7 pre-trip alarm,
   * bits 8-9 meter type, bit 12 keep-power, bit 14 local / bit 15 remote account opened.
   * Bits 0-3, 5, 10, 11, 13 stay 0 (first tables, main supply, programming not allowed).
   * Built with the dictionary's encodeStatusWord3, so the bit names are not re-typed here.
   */
  statusWord3(): number {
    this.sync();
    const meterType = this.sim.meterType === 'energy-prepaid' ? 'energyPrepaid' : this.sim.meterType === 'money-prepaid' ? 'moneyPrepaid' : 'nonPrepaid';
    const prepaid = this.sim.meterType !== 'non-prepaid';
    const lie = this.faults.statusWord3Lies;
    const reportedOpen = lie === 'always-closed' ? false : lie === 'command-as-state' ? this.commandTrip : this.relayOpen;
    return encodeStatusWord3({
      relay: reportedOpen ? 'open' : 'closed',
      relayCommand: this.commandTrip ? 'trip' : 'close',
      preTripAlarm: this.alarm,
      meterType,
      keepPower: this.keepPower,
      localAccountOpened: prepaid && this.sim.costControl === 'local',
      remoteAccountOpened: prepaid && this.sim.costControl === 'remote',
    });
  }

  /**
   * Status word 2 (DI 04000502): power direction, bits 0-2 active power reverse on phase A/B/C,
   * bit 4 total active reverse [BK].
   */
  statusWord2(): number {
    const p = this.powerNow();
    if (p >= 0) return 0;
    return this.sim.load.phases === 3 ? 0b10111 : 0b10001;
  }

  /** Full picture for tests and the reference target. */
  snapshot(): MeterSnapshot {
    this.sync();
    const meterTime = this.meterNow();
    return {
      now: this.clock.now(),
      meterTime,
      meterCalendar: toCalendar(meterTime),
      address: this.address,
      meterNumber: this.meterNumber,
      mainsOn: this.mainsOn,
      coverOpen: this.coverOpen,
      loadKW: this.powerNow(),
      currentTariff: this.tariffAt(meterTime),
      energy: copyEnergy(this.energy),
      forwardActiveTotal: sum(this.energy.forwardActive),
      reverseActiveTotal: sum(this.energy.reverseActive),
      forwardDemand: this.forwardDemand.map((d) => ({ ...d })) as DemandSet,
      reverseDemand: this.reverseDemand.map((d) => ({ ...d })) as DemandSet,
      relay: this.relay,
      alarm: this.alarm,
      statusWord3: this.statusWord3(),
      balance: this.balanceState,
      purchases: this.purchases,
      dailyFreezes: [...(this.freezes_ ?? NO_FREEZES).daily],
      settlements: [...(this.freezes_ ?? NO_FREEZES).settlements],
      instantFreezes: [...(this.freezes_ ?? NO_FREEZES).instant],
      timedFreezes: [...(this.freezes_ ?? NO_FREEZES).timed],
      timedFreezePattern: this.timedFreezePattern,
      events: structuredClone(this.eventLogs_ ?? newEventLogs()),
    };
  }
}

