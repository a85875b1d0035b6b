/**
 * Identifier → value mapping of the electricity meter model: which DL/T 645-2007 identifiers the
 * model serves, and their values shaped as the data dictionary decodes them (DataValue), so that
 * `DICTIONARY.encodeValue(di, value)` puts them on the wire. Numbers are cut to the resolution of
 * their format here (the dictionary refuses extra decimals): registers are truncated, as a meter
 * display does; instantaneous values are rounded.
 *
 * An empty record slot (a settlement or freeze that has not happened yet, an event never seen)
 * reads as zeros, as a meter's cleared storage does: it is still "served".
 */
import { isValidCalendar, toCalendar, fromCalendar } from '../../harness/core/calendar.ts';
import { baudToFeatureWord } from '../../harness/protocols/dlt645/constants.ts';
import { lookup } from '../../harness/protocols/dlt645/dictionary.ts';
import { LOAD_RECORD_GIVEN_TIME_DI } from '../../harness/protocols/dlt645/load-record.ts';
import type { DataValue } from '../../harness/protocols/dlt645/dictionary-types.ts';
import type { ElectricityMeterModel, EnergyRegisters, FreezeRecord, DemandRecord, WriteResult } from './model.ts';

type Getter = (m: ElectricityMeterModel) => DataValue;

const ENERGY_MAX = 1_000_000; // XXXXXX.XX rolls over at 999999.99

/** Truncates toward zero to `decimals` (a register shows what it has counted, never more). */
export function truncateTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  const t = Math.trunc(value * scale + (value >= 0 ? 1e-7 : -1e-7)) / scale;
  return Object.is(t, -0) ? 0 : t;
}

/** Rounds to `decimals` and clamps into ±max (instantaneous values). */
export function roundTo(value: number, decimals: number, max: number): number {
  const scale = 10 ** decimals;
  const r = Math.round(value * scale) / scale;
  const c = Math.max(-max, Math.min(max, r));
  return Object.is(c, -0) ? 0 : c;
}

const kWh = (v: number): number => truncateTo(v % ENERGY_MAX, 2);
const sum = (a: readonly number[]): number => a.reduce((s, x) => s + x, 0);

/** Date/time record of a meter instant for a format's fields; zeros for null (empty slot). */
function stamp(ms: number | null, withSeconds: boolean): DataValue {
  if (ms === null) {
    return withSeconds ? { year: 2000, month: 0, day: 0, hour: 0, minute: 0, second: 0 } : { year: 2000, month: 0, day: 0, hour: 0, minute: 0 };
  }
  const c = toCalendar(ms);
  return withSeconds
    ? { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second }
    : { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute };
}

/** The per-tariff values of energy kind DI2 (00..08) in a set of registers. */
function kindTariffs(e: EnergyRegisters, kind: number): readonly number[] {
  const q = e.reactive;
  switch (kind) {
    case 0x00: // combined active = forward + reverse (feature word 05H)
      return e.forwardActive.map((v, i) => v + e.reverseActive[i]!);
    case 0x01:
      return e.forwardActive;
    case 0x02:
      return e.reverseActive;
    case 0x03: // combined reactive 1 = QI + QII (feature word 05H)
      return q[0].map((v, i) => v + q[1][i]!);
    case 0x04: // combined reactive 2 = QIII + QIV (feature word 50H)
      return q[2].map((v, i) => v + q[3][i]!);
    default:
      return q[kind - 0x05]!;
  }
}

/** Energy DI1: 00 total, 01..04 tariff, FF block. */
function energyValue(e: EnergyRegisters | null, kind: number, di1: number): DataValue {
  const t = e ? kindTariffs(e, kind) : [0, 0, 0, 0];
  if (di1 === 0x00) return kWh(sum(t));
  if (di1 === 0xff) return [kWh(sum(t)), ...t.map(kWh)];
  return kWh(t[di1 - 1]!);
}

function demandRecord(d: DemandRecord | undefined): DataValue {
  return { demand: truncateTo(Math.min(d?.kW ?? 0, 99.9999), 4), time: stamp(d?.at ?? null, false) };
}

function demandValue(set: readonly DemandRecord[] | null, di1: number): DataValue {
  if (di1 === 0xff) return [0, 1, 2, 3, 4].map((i) => demandRecord(set?.[i]));
  return demandRecord(set?.[di1]);
}

function freezeSlot(records: readonly FreezeRecord[], n: number): FreezeRecord | null {
  return records[n - 1] ?? null;
}

function energySnapshot(e: EnergyRegisters | null, suffix: string): Record<string, DataValue> {
  const total = (a: readonly number[] | undefined): number => kWh(sum(a ?? [0]));
  return {
    [`forwardActiveEnergy${suffix}`]: total(e?.forwardActive),
    [`reverseActiveEnergy${suffix}`]: total(e?.reverseActive),
    [`quadrant1ReactiveEnergy${suffix}`]: total(e?.reactive[0]),
    [`quadrant2ReactiveEnergy${suffix}`]: total(e?.reactive[1]),
    [`quadrant3ReactiveEnergy${suffix}`]: total(e?.reactive[2]),
    [`quadrant4ReactiveEnergy${suffix}`]: total(e?.reactive[3]),
  };
}

// ---------------------------------------------------------------------------------------------
// Instantaneous values

/** The instantaneous quantities served on 0201..0206 (and recorded in load-record classes 1..3, load-records.ts). */
export interface Electrical {
  readonly voltage: readonly DataValue[]; // A, B, C
  readonly current: readonly number[];
  readonly activeKW: readonly number[]; // total, A, B, C
  readonly reactiveKvar: readonly number[];
  readonly apparentKVA: readonly number[];
  readonly powerFactor: readonly number[];
}

/**
 * The last electrical quantities of each model with what they were computed from: they depend on
 * the load settings, mains and power only, so the instantaneous items of one collection (19 of the
 * fleet's 50-item day) compute them once while the power stays the same.
 */
const lastElectrical = new WeakMap<ElectricityMeterModel, { load: unknown; on: boolean; p: number; e: Electrical }>();

function electrical(m: ElectricityMeterModel): Electrical {
  const load = m.settings.load;
  const on = m.isPowered;
  const p = m.powerNow();
  const last = lastElectrical.get(m);
  if (last !== undefined && last.load === load && last.on === on && Object.is(last.p, p)) return last.e;
  const e = computeElectrical(load, on, p);
  lastElectrical.set(m, { load, on, p, e });
  return e;
}

/** Voltages, currents, powers and power factors at total power `p` (kW) with the mains on or off. */
export function computeElectrical(load: ElectricityMeterModel['settings']['load'], on: boolean, p: number): Electrical {
  const three = load.phases === 3;
  const pf = load.powerFactor;
  const perPhase = three ? p / 3 : p;
  const u = on ? load.voltageV : 0;
  // Total, then phases A, B, C. Plain functions and literals, no closure or array pass per read:
  // a fleet reads these for every meter (issue 7).
  const a = perPhase;
  const b = three ? perPhase : 0;
  const c = three ? perPhase : 0;
  const tanPhi = Math.tan(Math.acos(pf));
  const volts = roundTo(u, 1, 999.9);
  const others: DataValue = three ? volts : 'absent';
  return {
    voltage: [volts, others, others],
    current: [ampsOf(a, u, pf), ampsOf(b, u, pf), ampsOf(c, u, pf)],
    activeKW: [kwOf(p), kwOf(a), kwOf(b), kwOf(c)],
    reactiveKvar: [kwOf(p * tanPhi), kwOf(a * tanPhi), kwOf(b * tanPhi), kwOf(c * tanPhi)],
    apparentKVA: [kwOf(Math.abs(p) / pf), kwOf(Math.abs(a) / pf), kwOf(Math.abs(b) / pf), kwOf(Math.abs(c) / pf)],
    powerFactor: [pfOf(p, pf), pfOf(a, pf), pfOf(b, pf), pfOf(c, pf)],
  };
}

function ampsOf(kw: number, u: number, pf: number): number {
  return u > 0 ? roundTo((kw * 1000) / (u * pf), 3, 799.999) : 0;
}

function kwOf(x: number): number {
  return roundTo(x, 4, 79.9999);
}

function pfOf(x: number, pf: number): number {
  return x === 0 ? 1 : roundTo(pf * Math.sign(x), 3, 7.999);
}

// ---------------------------------------------------------------------------------------------
// The resolver: DI → getter (memoised per DI)

const cache = new Map<string, Getter | null>();

function resolve(di: string): Getter | undefined {
  let g = cache.get(di);
  if (g === undefined) {
    const def = lookup(di);
    g = def && def.edition === '2007' && def.access !== 'write' ? build(di) ?? null : null;
    cache.set(di, g);
  }
  return g ?? undefined;
}

function build(di: string): Getter | undefined {
  const b = [0, 2, 4, 6].map((i) => parseInt(di.slice(i, i + 2), 16)) as [number, number, number, number];
  const [di3, di2, di1, di0] = b;
  switch (di3) {
    case 0x00:
      return energyGetter(di2, di1, di0);
    case 0x01:
      return demandGetter(di2, di1, di0);
    case 0x02:
      return instantaneousGetter(di2, di1, di0);
    case 0x03:
      return eventOrPurchaseGetter(di, di2, di1, di0);
    case 0x04:
      return parameterGetter(di);
    case 0x05:
      return freezeGetter(di2, di1, di0);
    case 0x1d:
    case 0x1e:
      return relayEventGetter(di3, di2, di1, di0);
    default:
      return undefined;
  }
}

function energyGetter(di2: number, di1: number, di0: number): Getter | undefined {
  if (di2 === 0x90) {
    // Prepaid balances 0090 01/02 00/01.
    const key = di1 === 0x01 ? (di0 === 0 ? 'remainingEnergy' : 'overdraftEnergy') : di0 === 0 ? 'remainingAmount' : 'overdraftAmount';
    return (m) => truncateTo(Math.min(m.balanceState[key], ENERGY_MAX - 0.01), 2);
  }
  if (di2 > 0x08 || di0 > 12) return undefined;
  if (di0 === 0) return (m) => energyValue(m.registers, di2, di1);
  return (m) => {
    const r = freezeSlot(m.records.settlements, di0);
    return energyValue(r?.energy ?? null, di2, di1);
  };
}

function demandGetter(di2: number, di1: number, di0: number): Getter | undefined {
  // Only active demand is modelled (forward 01, reverse 02).
  if (di2 !== 0x01 && di2 !== 0x02) return undefined;
  if (di0 > 12) return undefined;
  const pick = (d: { forward: readonly DemandRecord[]; reverse: readonly DemandRecord[] }): readonly DemandRecord[] => (di2 === 0x01 ? d.forward : d.reverse);
  if (di0 === 0) return (m) => demandValue(pick(m.demand), di1);
  return (m) => {
    const r = freezeSlot(m.records.settlements, di0);
    return demandValue(r ? pick({ forward: r.forwardDemand, reverse: r.reverseDemand }) : null, di1);
  };
}

function instantaneousGetter(di2: number, di1: number, di0: number): Getter | undefined {
  const phase = (arr: (e: Electrical) => readonly DataValue[], offset: number): Getter | undefined => {
    // offset 0: arrays indexed A,B,C (DI1 01..03); offset 1: total first (DI1 00..03).
    if (di1 === 0xff) return (m) => [...arr(electrical(m))];
    const i = di1 - 1 + offset;
    if (i < 0 || i > 2 + offset) return undefined;
    return (m) => arr(electrical(m))[i]!;
  };
  if (di0 !== 0 && di2 !== 0x80) return undefined;
  switch (di2) {
    case 0x01:
      return phase((e) => e.voltage, 0);
    case 0x02:
      return phase((e) => e.current, 0);
    case 0x03:
      return phase((e) => e.activeKW, 1);
    case 0x04:
      return phase((e) => e.reactiveKvar, 1);
    case 0x05:
      return phase((e) => e.apparentKVA, 1);
    case 0x06:
      return phase((e) => e.powerFactor, 1);
    case 0x80:
      if (di1 !== 0) return undefined;
      switch (di0) {
        case 0x01: // neutral current: zero for a balanced three-phase load, the phase current otherwise
          return (m) => (m.settings.load.phases === 3 ? 0 : electrical(m).current[0]!);
        case 0x02:
          return (m) => (m.isPowered ? roundTo(m.settings.load.frequencyHz, 2, 99.99) : 0);
        case 0x03: // one-minute average active power (import only)
          return (m) => roundTo(Math.max(0, m.powerNow()), 4, 99.9999);
        case 0x04:
          return (m) => roundTo(m.powerNow(), 4, 79.9999);
        case 0x05:
          return (m) => electrical(m).reactiveKvar[0]!;
        case 0x06:
          return (m) => electrical(m).apparentKVA[0]!;
        case 0x07:
          return () => 25; // meter temperature, °C
        case 0x08:
          return () => 3.6; // clock battery, V
        case 0x09:
          return () => 3.6; // meter-reading battery, V
        case 0x0a:
          return () => 0; // internal battery working time, min (never on battery)
        case 0x0b:
          return () => 0; // current ladder price: no ladder (step) pricing modelled
        default:
          return undefined;
      }
    default:
      return undefined;
  }
}

function parameterGetter(di: string): Getter | undefined {
  switch (di) {
    case '04000101':
      return (m) => {
        const c = m.meterCalendar();
        return { year: c.year, month: c.month, day: c.day, weekday: c.weekday };
      };
    case '04000102':
      return (m) => {
        const c = m.meterCalendar();
        return { hour: c.hour, minute: c.minute, second: c.second };
      };
    case '04000103':
      return () => 15; // demand period, min
    case '04000104':
      return () => 1; // slide time, min
    case '04000201':
      return () => 1; // annual time zones
    case '04000202':
      return () => 1; // daily time-slot tables
    case '04000203':
      return (m) => m.settings.tariffs.timeSlots.length;
    case '04000204':
      return () => 4;
    case '04000205':
      return () => 0; // public holidays
    case '04000207':
      return () => 0; // ladders
    case '04000306':
    case '04000307':
      return () => 1; // direct-connected: CT and VT ratio 1
    case '04000401':
      return (m) => m.address;
    case '04000402':
      return (m) => m.meterNumber;
    case '04000409':
    case '0400040A':
      return () => 1200; // imp/kWh, imp/kvarh
    case '0400040E':
      return (m) => m.customerNumber;
    case '04000501':
      return () => 0; // status word 1: battery and demand method all normal
    case '04000502':
      return (m) => m.statusWord2();
    case '04000503':
      return (m) => m.statusWord3();
    case '04000504':
    case '04000505':
    case '04000506':
    case '04000507':
      return () => 0; // phase faults: none modelled (the meter is silent without mains)
    case '04000601':
      return () => 0x05; // combined active = forward + reverse
    case '04000602':
      return () => 0x05; // combined reactive 1 = QI + QII
    case '04000603':
      return () => 0x50; // combined reactive 2 = QIII + QIV
    case '04000703':
      return (m) => baudToFeatureWord(m.baudRate); // RS-485 port 1 (PROTOCOLS.md 1.6)
    case '04000901':
      return (m) => m.loadRecordSettings.modeWord; // load-record mode word (simulation.loadRecord)
    case '04000A02':
    case '04000A03':
    case '04000A04':
    case '04000A05':
    case '04000A06':
    case '04000A07':
      return (m) => m.loadRecordSettings.intervalMinutes; // class 1..6 interval: one for all classes
    case '04000B01':
      return (m) => ({ day: m.settlementDay, hour: m.settlementHour });
    case '04000F01':
      return (m) => truncateTo(m.alarmEnergy1, 2);
    case '04000F02':
      return (m) => truncateTo(m.alarmEnergy2, 2);
    case '04000F03':
      return (m) => (m.settings.meterType === 'energy-prepaid' ? truncateTo(m.hoardingLimit, 2) : 0);
    case '04000F04':
      return (m) => truncateTo(m.overdraftEnergyLimit, 2);
    case '04001001':
      return (m) => truncateTo(m.alarmAmount1, 2);
    case '04001002':
      return (m) => truncateTo(m.alarmAmount2, 2);
    case '04001003':
      return (m) => truncateTo(m.overdraftAmountLimit, 2);
    case '04001004':
      return (m) => (m.settings.meterType === 'energy-prepaid' ? 0 : truncateTo(m.hoardingLimit, 2));
    case '04001005':
      return (m) => truncateTo(m.closeAllowedAmountLimit, 2);
    case '04001203':
      return () => ({ hour: 0, minute: 0 }); // daily freeze at 00:00
    case '04001401':
      return (m) => Math.min(9999, Math.round(m.tripDelayMs / 60_000)); // minutes [BK]
    default:
      return undefined;
  }
}

function freezeGetter(di2: number, di1: number, di0: number): Getter | undefined {
  const kept = di2 === 0x00 ? 12 : di2 === 0x01 ? 3 : di2 === 0x06 ? 62 : 0;
  if (kept === 0 || di0 < 1 || di0 > kept) return undefined;
  const list = (m: ElectricityMeterModel): readonly FreezeRecord[] =>
    di2 === 0x00 ? m.records.timed : di2 === 0x01 ? m.records.instant : m.records.daily;
  const time = (r: FreezeRecord | null): DataValue => stamp(r ? r.time : null, false);
  const fwd = (r: FreezeRecord | null): DataValue => energyValue(r?.energy ?? null, 0x01, 0xff);
  const rev = (r: FreezeRecord | null): DataValue => energyValue(r?.energy ?? null, 0x02, 0xff);
  switch (di1) {
    case 0x00:
      return (m) => time(freezeSlot(list(m), di0));
    case 0x01:
      return (m) => fwd(freezeSlot(list(m), di0));
    case 0x02:
      return (m) => rev(freezeSlot(list(m), di0));
    case 0xff:
      return (m) => {
        const r = freezeSlot(list(m), di0);
        return [time(r), fwd(r), rev(r)];
      };
    default:
      return undefined;
  }
}

function eventOrPurchaseGetter(di: string, di2: number, di1: number, di0: number): Getter | undefined {
  // Purchase records 0332 (energy) / 0333 (money): DI1 = item 1..6, DI0 = last n.
  if (di2 === 0x32 || di2 === 0x33) {
    return (m) => {
      const p = m.purchaseLog[di0 - 1];
      switch (di1) {
        case 1:
          return stamp(p?.time ?? null, false);
        case 2:
          return p?.countAfter ?? 0;
        case 3:
          return truncateTo(p?.amount ?? 0, 2);
        case 4:
          return truncateTo(Math.max(0, p?.before ?? 0), 2);
        case 5:
          return truncateTo(Math.max(0, p?.after ?? 0), 2);
        default:
          return truncateTo(p?.cumulative ?? 0, 2);
      }
    };
  }
  const count = (pick: (m: ElectricityMeterModel) => { count: number }): Getter => (m) => pick(m).count % 1_000_000;
  switch (di.slice(0, 6)) {
    case '031100': // power down
      if (di0 === 0) return count((m) => m.eventLogs.powerDown);
      return (m) => {
        const r = m.eventLogs.powerDown.records[di0 - 1];
        return { start: stamp(r?.start ?? null, true), end: stamp(r?.end ?? null, true) };
      };
    case '033000': // programming
      if (di0 === 0) return count((m) => m.eventLogs.programming);
      return (m) => {
        const r = m.eventLogs.programming.records[di0 - 1];
        const ids = [...(r?.identifiers ?? [])];
        while (ids.length < 10) ids.push(r ? 'FFFFFFFF' : '00000000');
        return { time: stamp(r?.time ?? null, true), operator: r?.operator ?? '00000000', identifiers: ids.slice(0, 10) };
      };
    case '033004': // time setting
      if (di0 === 0) return count((m) => m.eventLogs.timeSet);
      return (m) => {
        const r = m.eventLogs.timeSet.records[di0 - 1];
        return { operator: r?.operator ?? '00000000', before: stamp(r?.before ?? null, true), after: stamp(r?.after ?? null, true) };
      };
    case '03300D': // meter cover
      if (di0 === 0) return count((m) => m.eventLogs.coverOpen);
      return (m) => {
        const r = m.eventLogs.coverOpen.records[di0 - 1];
        return {
          start: stamp(r?.start ?? null, true),
          end: stamp(r?.end ?? null, true),
          ...energySnapshot(r?.energyAtStart ?? null, 'Before'),
          ...energySnapshot(r?.energyAtEnd ?? null, 'After'),
        };
      };
    default:
      return undefined;
  }
}

function relayEventGetter(di3: number, di2: number, di1: number, di0: number): Getter | undefined {
  if (di2 !== 0) return undefined;
  const log = (m: ElectricityMeterModel) => (di3 === 0x1d ? m.eventLogs.trip : m.eventLogs.close);
  if (di1 === 0x00 && di0 === 0x01) return (m) => log(m).count % 1_000_000;
  if (di1 !== 0x01 || di0 < 1 || di0 > 10) return undefined;
  return (m) => {
    const r = log(m).records[di0 - 1];
    return { time: stamp(r?.time ?? null, true), operator: r?.operator ?? '00000000', ...energySnapshot(r?.energy ?? null, '') };
  };
}

// ---------------------------------------------------------------------------------------------
// Public entry points (used by the model)

/** The value of `di` (upper-case), or undefined when the model does not serve it. */
export function readModelValue(model: ElectricityMeterModel, di: string): DataValue | undefined {
  const g = resolve(di);
  return g ? g(model) : undefined;
}

/** Whether the model serves `di` (independent of the meter's state). */
export function servesIdentifier(_model: ElectricityMeterModel, di: string): boolean {
  return resolve(di) !== undefined;
}

/**
 * Whether the simulator serves `di` at all (what a profile may declare readable): the values of
 * `resolve`, and DI 06000001, the load records at a given time, which need request data after the
 * DI (server.ts) and so are not among `servedIdentifiers` (the reference declares only what a
 * plain 11H reads).
 */
export function isServedIdentifier(di: string): boolean {
  const id = di.toUpperCase();
  return id === LOAD_RECORD_GIVEN_TIME_DI || resolve(id) !== undefined;
}

/** Every 2007 identifier of the dictionary the model serves, in dictionary order. */
export function servedIdentifiers(all: readonly { di: string; edition: string }[]): string[] {
  return all.filter((d) => d.edition === '2007' && resolve(d.di) !== undefined).map((d) => d.di);
}

const isRecord = (v: DataValue): v is { readonly [k: string]: DataValue } => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: DataValue | undefined): number | null => (typeof v === 'number' ? v : null);

/**
 * 14H write of a decoded value (the password has been checked). Supported: date, time, meter
 * number, settlement day, prepaid limits (FEE-02: alarm 1 ≥ alarm 2), trip delay. Every other
 * identifier the dictionary marks writable is refused as read-only by this meter.
 */
export function writeModelValue(model: ElectricityMeterModel, di: string, value: DataValue, operator: string): WriteResult {
  const def = lookup(di);
  if (!def || def.edition !== '2007') return { ok: false, error: 'unsupported' };
  if (def.access === 'read') return { ok: false, error: 'read-only' };
  const threshold = (which: Parameters<ElectricityMeterModel['setThreshold']>[0]): WriteResult => {
    const v = num(value);
    if (v === null || v < 0) return { ok: false, error: 'invalid' };
    return model.setThreshold(which, v) ? { ok: true } : { ok: false, error: 'invalid' };
  };
  switch (di) {
    case '04000101': {
      if (!isRecord(value)) return { ok: false, error: 'invalid' };
      const c = model.meterCalendar();
      const t = { year: num(value.year) ?? -1, month: num(value.month) ?? -1, day: num(value.day) ?? -1, hour: c.hour, minute: c.minute, second: c.second };
      if (!isValidCalendar(t)) return { ok: false, error: 'invalid' };
      model.setMeterTime(fromCalendar(t), operator);
      return { ok: true };
    }
    case '04000102': {
      if (!isRecord(value)) return { ok: false, error: 'invalid' };
      const c = model.meterCalendar();
      const t = { year: c.year, month: c.month, day: c.day, hour: num(value.hour) ?? -1, minute: num(value.minute) ?? -1, second: num(value.second) ?? -1 };
      if (!isValidCalendar(t) || t.hour < 0 || t.minute < 0 || t.second < 0) return { ok: false, error: 'invalid' };
      model.setMeterTime(fromCalendar(t), operator);
      return { ok: true };
    }
    case '04000402':
      if (typeof value !== 'string' || !/^\d{12}$/.test(value)) return { ok: false, error: 'invalid' };
      model.meterNumber = value;
      return { ok: true };
    case '04000B01': {
      if (!isRecord(value)) return { ok: false, error: 'invalid' };
      const day = num(value.day);
      const hour = num(value.hour);
      if (day === null || hour === null || day < 1 || day > 28 || hour > 23) return { ok: false, error: 'invalid' };
      model.setSettlement(day, hour);
      return { ok: true };
    }
    case '04000F01':
      return threshold('alarmEnergy1');
    case '04000F02':
      return threshold('alarmEnergy2');
    case '04000F04':
      return threshold('overdraftEnergyLimit');
    case '04001001':
      return threshold('alarmAmount1');
    case '04001002':
      return threshold('alarmAmount2');
    case '04001003':
      return threshold('overdraftAmountLimit');
    case '04001004':
    case '04000F03': {
      const v = num(value);
      if (v === null || v < 0) return { ok: false, error: 'invalid' };
      model.hoardingLimit = v;
      return { ok: true };
    }
    case '04001005': {
      const v = num(value);
      if (v === null || v < 0) return { ok: false, error: 'invalid' };
      model.closeAllowedAmountLimit = v;
      return { ok: true };
    }
    case '04001401': {
      const v = num(value);
      if (v === null || v < 0) return { ok: false, error: 'invalid' };
      model.tripDelayMs = v * 60_000;
      return { ok: true };
    }
    default:
      return { ok: false, error: 'read-only' };
  }
}
