/**
 * The CJ/T 188-2004 side of a simulated water or gas meter (PROTOCOLS.md 2), as pure protocol
 * logic over the flow-meter model: `handle(decoded)` takes a frame the master sent (decoded with
 * the meter's dialect) and returns the reply frame, or null for silence. No I/O and no timer: a
 * serve loop (link, scanner, response delay, the battery meter's wake-up window) wraps it.
 *
 * Answers: 901F metering data (current and settlement-day cumulative flow in m³ with unit 2CH,
 * real time of the meter clock, ST with valve and battery in the dialect's layout), D120..D12B
 * history (the settlement freezes, [BK] identifiers), 8103 settlement day, 810A read address
 * (03H, also to the AA wildcard), 09H key version, A017 valve control (04H, or the dialect's vendor
 * code), A016 motor-sync (the register), A015 standard time (the meter clock). Requests for
 * another address or meter type, and replies, get silence. Every request it answers costs the
 * battery a wake-up (MM-06).
 */
import {
  MeterType,
  STANDARD_DIALECT,
  encodeMessage,
  isWildcardAddress,
  type Cjt188Decoded,
  type Cjt188Dialect,
  type Cjt188Message,
  type Cjt188Value,
} from '../../harness/protocols/cjt188/index.ts';
import { METER_TYPE_OF } from '../../harness/protocols/cjt188/declaration.ts';
import { CHINA_UTC_OFFSET_MINUTES, fromCalendar, toCalendar } from '../../harness/core/calendar.ts';
import type { FlowMeterModel } from './model.ts';

/** Unit byte 2CH: m³ (PROTOCOLS.md 2.5). */
export const UNIT_CUBIC_METRE = 0x2c;
/** Unit byte 29H: L (PROTOCOLS.md 2.5). */
export const UNIT_LITRE = 0x29;
/**
 * 8102 price table and 8105 purchase amount: the dictionary keeps them opaque (no layout in the
 * sources read); the reference answers 4 BCD bytes, a price in 0.0001 yuan per unit and the total
 * bought in 0.01 yuan, least significant first. MeterLab's choice [BK].
 */
const OPAQUE_BCD_LENGTH = 4;
/** History identifiers D120..D12B: months -1..-12 [BK]. */
const HISTORY_FIRST = 0xd120;

/** CJ/T 188 meter type T of a flow-meter kind (PROTOCOLS.md 2.2; the declaration's map). */
export { METER_TYPE_OF };

export interface Cjt188ResponderOptions {
  readonly model: FlowMeterModel;
  /** 14 digits A6..A0, most significant first. */
  readonly address: string;
  readonly dialect?: Cjt188Dialect;
  /** 8103's answer (the model's settlement day). Default 1. */
  readonly settlementDay?: number;
  /** 8104's answer (reading day, 抄表日). Default 1 [BK]. */
  readonly readingDay?: number;
  /** 8106 / 09H answer. Default 1 [BK]. */
  readonly keyVersion?: number;
  /** Unit of the volumes it sends (901F, history): m³ (2CH, default) or L (29H). */
  readonly volumeUnit?: 'm³' | 'L';
  /** 8102's answer: price per m³, fen. Default 350 (3.50 yuan, MeterLab's choice). */
  readonly priceFenPerCubicMetre?: number;
  readonly utcOffsetMinutes?: number;
}

export class Cjt188FlowMeterResponder {
  readonly model: FlowMeterModel;
  address: string;
  readonly meterType: number;
  readonly dialect: Cjt188Dialect;
  private readonly settlementDay: number;
  private readonly keyVersion: number;
  private readonly readingDay: number;
  private readonly volumeUnit: 'm³' | 'L';
  private readonly priceFen: number;
  private readonly offsetMinutes: number;
  /** Total bought through A013 (8105), fen. */
  private purchasedFen = 0;
  /** The meter clock's offset from the harness clock, ms (A015 sets it). */
  clockOffsetMs = 0;
  /** Broken-variant hook: ST always reports the valve open (valve state not reported). */
  hideValveState = false;
  /** Broken-variant hook: this unit byte goes out with every volume whatever its scale (a wrong unit byte); null: the right one. */
  unitCodeOverride: number | null = null;
  /** Broken-variant hook: answers a request whatever its meter type T (as if it were its own). */
  ignoreMeterType = false;
  /** Broken-variant hook: A015 answered normally, the clock left as it was. */
  ignoreTimeSync = false;
  /** Broken-variant hook: ST never reports the battery low. */
  hideBatteryLow = false;

  constructor(o: Cjt188ResponderOptions) {
    this.model = o.model;
    this.address = o.address;
    this.meterType = METER_TYPE_OF[o.model.kind];
    this.dialect = o.dialect ?? STANDARD_DIALECT;
    this.settlementDay = o.settlementDay ?? 1;
    this.keyVersion = o.keyVersion ?? 1;
    this.readingDay = o.readingDay ?? 1;
    this.volumeUnit = o.volumeUnit ?? 'm³';
    this.priceFen = o.priceFenPerCubicMetre ?? 350;
    this.offsetMinutes = o.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES;
  }

  /** The reply to a decoded request, or null (not for this meter, a reply, or nothing to say). */
  handle(d: Cjt188Decoded): Uint8Array | null {
    const { frame, message } = d;
    if (frame.control.isResponse) return null;
    const forMe = frame.address === this.address || isWildcardAddress(frame.address);
    const typeOk = frame.meterType === this.meterType || frame.meterType === MeterType.Any || this.ignoreMeterType;
    if (!forMe || !typeOk) return null;
    // A wildcard address is answered only by the read-address request (one meter on the line).
    if (isWildcardAddress(frame.address) && message.kind !== 'readAddress') return null;
    this.model.wake();
    const reply = this.reply(message);
    return reply ? encodeMessage(this.meterType, this.address, reply, { dialect: this.dialect }) : null;
  }

  private status(): Cjt188Value['status'] {
    const s = this.model.snapshot();
    const valve = this.hideValveState ? 'open' : s.valve;
    return { raw: '00 00', valve, batteryLow: s.batteryLow && !this.hideBatteryLow, layout: this.dialect.statusLayout };
  }

  private quantity(litres: number): { value: number; unit: string; unitCode: number } {
    // The register counts 0.01 m³ (10 L) steps; in litres it shows the same steps.
    const steps = Math.floor(litres / 10);
    const q = this.volumeUnit === 'L' ? { value: steps * 10, unit: 'L', unitCode: UNIT_LITRE } : { value: steps / 100, unit: 'm³', unitCode: UNIT_CUBIC_METRE };
    return this.unitCodeOverride === null ? q : { ...q, unitCode: this.unitCodeOverride };
  }

  private meterTime(): Cjt188Value['time'] {
    const c = toCalendar(this.model.snapshot().at + this.clockOffsetMs, this.offsetMinutes);
    return { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second };
  }

  private reply(m: Cjt188Message): Cjt188Message | null {
    // Replies go out in the meter's own DI order (a Fox-Edge meter answers big-endian whatever it was asked in).
    const head = { di: m.di, diOrder: this.dialect.diOrder, ser: m.ser };
    switch (m.kind) {
      case 'readData': {
        const value = this.readValue(m.di);
        return value ? { ...head, kind: 'readDataResponse', value } : this.abnormal(m, 0x01);
      }
      case 'readAddress':
        return { ...head, kind: 'readAddressResponse' };
      case 'readKeyVersion':
        return { ...head, kind: 'readKeyVersionResponse', value: { keyVersion: this.keyVersion } };
      case 'valveControl': {
        const to = m.commandName === 'open' ? 'open' : m.commandName === 'close' ? 'closed' : null;
        if (to === null || !this.model.commandValve(to)) return this.abnormal(m, m.functionCode);
        return { ...head, kind: 'valveControlResponse', functionCode: m.functionCode, status: this.status() as never };
      }
      case 'writeSyncData': {
        const q = m.value.baseReading as { value: number } | undefined;
        if (!q) return this.abnormal(m, 0x16);
        this.model.setRegister(Math.round(q.value * 1000));
        return { ...head, kind: 'writeSyncDataResponse', status: this.status() as never };
      }
      case 'writeData': {
        if (m.di === 'A015') {
          const t = m.value.time as { year: number; month: number; day: number; hour: number; minute: number; second: number } | undefined;
          if (!t) return this.abnormal(m, 0x04);
          if (!this.ignoreTimeSync) this.clockOffsetMs = fromCalendar(t, this.offsetMinutes) - this.model.snapshot().at;
          return { ...head, kind: 'writeDataResponse', status: this.status() as never };
        }
        if (m.di === 'A013') {
          const fen = bcdFen(m.value.purchase);
          if (fen === null || !this.model.topUp(fen)) return this.abnormal(m, 0x04);
          this.purchasedFen += fen;
          return { ...head, kind: 'writeDataResponse', status: this.status() as never };
        }
        return this.abnormal(m, 0x04);
      }
      default:
        return null;
    }
  }

  /** An abnormal reply (D6 = 1) carrying ST [BK layout]. */
  private abnormal(m: Cjt188Message, functionCode: number): Cjt188Message {
    return { di: m.di, diOrder: this.dialect.diOrder, ser: m.ser, kind: 'abnormalResponse', functionCode, status: this.status() as never, payload: new Uint8Array(0) };
  }

  private readValue(di: string): Cjt188Value | null {
    if (di === '901F') {
      const s = this.model.snapshot();
      return {
        currentFlow: this.quantity(s.litres),
        settlementFlow: this.quantity(s.lastSettlement?.litres ?? 0),
        time: this.meterTime(),
        status: this.status(),
      } as Cjt188Value;
    }
    const n = parseInt(di, 16) - HISTORY_FIRST;
    if (/^D12[0-9A-B]$/.test(di) && n >= 0 && n < 12) {
      const f = this.model.settlementFreezes()[n];
      return { settlementFlow: this.quantity(f?.litres ?? 0) } as Cjt188Value;
    }
    if (di === '8103') return { day: this.settlementDay };
    if (di === '8104') return { day: this.readingDay };
    if (di === '8102') return { priceTable: bcdHex(this.priceFen * 100) };
    if (di === '8105') return { purchase: bcdHex(this.purchasedFen) };
    return null;
  }
}

/** `n` as OPAQUE_BCD_LENGTH BCD bytes, least significant first, in the dictionary's hex form ("00 35 00 00"). */
function bcdHex(n: number): string {
  const out: string[] = [];
  let v = Math.max(0, Math.round(n));
  for (let i = 0; i < OPAQUE_BCD_LENGTH; i++) {
    const two = v % 100;
    v = Math.floor(v / 100);
    out.push((Math.floor(two / 10) * 16 + (two % 10)).toString(16).toUpperCase().padStart(2, '0'));
  }
  return out.join(' ');
}

/** The fen of an A013 purchase in the reference's layout (4 BCD bytes, 0.01 yuan, least significant first), or null. */
function bcdFen(field: unknown): number | null {
  if (typeof field !== 'string') return null;
  const bytes = field.trim().split(/\s+/).map((h) => parseInt(h, 16));
  if (bytes.length !== OPAQUE_BCD_LENGTH || bytes.some((b) => !(b >= 0) || (b >> 4) > 9 || (b & 15) > 9)) return null;
  return bytes.reduceRight((acc, b) => acc * 100 + (b >> 4) * 10 + (b & 15), 0);
}
