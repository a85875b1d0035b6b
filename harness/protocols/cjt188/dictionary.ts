/**
 * The CJ/T 188 data dictionary: one definition per data identifier (DI1DI0, e.g. "901F") with
 * its name from the standard, the layout of the bytes after SER, units, direction and the control
 * code that carries it; the unit byte table; the status word ST. The codec, the simulators, the
 * suites and the reports all read this table; nobody re-types it. Section numbers refer to
 * ../shared/protocols/PROTOCOLS.md (section 2).
 *
 * Pure: no I/O, no clock. `decodeValue` never throws on wire bytes (errors carry offsets relative
 * to the first byte after SER); `encodeValue` throws EncodeError for values that do not fit.
 */
import { toHex } from '../../core/bytes.ts';
import { isBcdByte } from '../../core/bcd.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { FunctionCode, type MeterFamily } from './constants.ts';
import type { StatusLayout } from './dialect.ts';

// =============================================================================================
// Units (PROTOCOLS.md 2.5: unattributed public code; Fox CJT188Unit.java)

/** Unit byte -> unit. */
export const UNITS: Readonly<Record<number, string>> = {
  0x01: 'J',
  0x02: 'Wh',
  0x05: 'kWh',
  0x08: 'MWh',
  0x0a: 'MWh×100',
  0x0b: 'kJ',
  0x0e: 'MJ',
  0x11: 'GJ',
  0x13: 'GJ×100',
  0x14: 'W',
  0x17: 'kW',
  0x1a: 'MW',
  0x29: 'L',
  0x2c: 'm³',
  0x32: 'L/h',
  0x35: 'm³/h',
};

/** The unit of a unit byte, or null for a byte the table does not list (vector 16 sends 00H). */
export function unitName(code: number): string | null {
  return UNITS[code & 0xff] ?? null;
}

/** The unit byte of a unit name; throws EncodeError for a name the table does not list. */
export function unitCode(name: string): number {
  for (const [code, n] of Object.entries(UNITS)) if (n === name) return Number(code);
  throw new EncodeError(`no CJ/T 188 unit byte for "${name}" (known: ${Object.values(UNITS).join(', ')})`);
}

/** A value with its unit byte: current cumulative flow 556677.00 m³ = {value 556677, unit 'm³', unitCode 0x2C}. */
export interface Quantity {
  readonly value: number;
  readonly unit: string | null;
  readonly unitCode: number;
}

// =============================================================================================
// Status word ST (PROTOCOLS.md 2.5, REQUIREMENTS.md MM-03)

export type ValveState = 'open' | 'closed' | 'reserved' | 'abnormal';
const VALVE_STATES: readonly ValveState[] = ['open', 'closed', 'reserved', 'abnormal'];

/** ST decoded under a layout: valve 2 bits (00 open, 01 closed, 11 abnormal), battery 1 bit (1 = low). */
export interface Cjt188Status {
  /** ST0 ST1 in wire order, hex ("21 84"); the other bits are vendor-defined and kept here. */
  readonly raw: string;
  readonly valve: ValveState;
  readonly batteryLow: boolean;
  readonly layout: StatusLayout;
}

/** Where valve and battery sit in ST per layout (see dialect.ts StatusLayout for the sources). */
const STATUS_BITS: Readonly<Record<StatusLayout, { readonly valveShift: number; readonly batteryBit: number }>> = {
  standard: { valveShift: 0, batteryBit: 2 }, // ST0 D0-D1, D2 [BK]
  kingda: { valveShift: 8, batteryBit: 10 }, // word bits 8-9, 10 = ST1 D0-D1, D2
  masks: { valveShift: 6, batteryBit: 5 }, // ST0 mask C0H, 20H
};

export function decodeStatus(st0: number, st1: number, layout: StatusLayout): Cjt188Status {
  const word = (st0 & 0xff) | ((st1 & 0xff) << 8);
  const bits = STATUS_BITS[layout];
  return {
    raw: toHex(Uint8Array.of(st0, st1)),
    valve: VALVE_STATES[(word >> bits.valveShift) & 3]!,
    batteryLow: ((word >> bits.batteryBit) & 1) === 1,
    layout,
  };
}

/**
 * ST0 ST1 for a status: the `raw` bits (default 00 00) with valve and battery set as named, under
 * `layout` (default the status's own). Throws EncodeError for a bad valve state or raw.
 */
export function encodeStatus(
  status: { readonly valve: ValveState; readonly batteryLow: boolean; readonly raw?: string; readonly layout?: StatusLayout },
  layout: StatusLayout = status.layout ?? 'standard',
): Uint8Array {
  const rawBytes = status.raw === undefined ? Uint8Array.of(0, 0) : stBytes(status.raw);
  const v = VALVE_STATES.indexOf(status.valve);
  if (v < 0) throw new EncodeError(`valve state must be one of ${VALVE_STATES.join(', ')}, got ${JSON.stringify(status.valve)}`);
  const bits = STATUS_BITS[layout];
  if (bits === undefined) throw new EncodeError(`unknown ST layout ${JSON.stringify(layout)}`);
  let word = rawBytes[0]! | (rawBytes[1]! << 8);
  word = (word & ~(3 << bits.valveShift)) | (v << bits.valveShift);
  word = (word & ~(1 << bits.batteryBit)) | ((status.batteryLow ? 1 : 0) << bits.batteryBit);
  return Uint8Array.of(word & 0xff, (word >> 8) & 0xff);
}

/** ST0 ST1 of "21 84" (the form decodeStatus writes, parsed without a regular expression), else any hex of 2 bytes. */
function stBytes(raw: string): Uint8Array {
  if (typeof raw === 'string' && raw.length === 5 && raw[2] === ' ') {
    const v = [0, 1, 3, 4].map((i) => hexValue(raw.charCodeAt(i)));
    if (v.every((d) => d >= 0)) return Uint8Array.of((v[0]! << 4) | v[1]!, (v[2]! << 4) | v[3]!);
  }
  return hexBytes(raw, 2, 'ST');
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

// =============================================================================================
// Field layouts

/** Calendar fields of a 7-byte real time `ss mm hh DD MM YY YY` (PROTOCOLS.md 2.5), as sent: not checked against the calendar (real meters send all zeros, vectors 3-4). */
export interface Cjt188DateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

export type FieldValue = number | string | Quantity | Cjt188DateTime | Cjt188Status;

/** A decoded identifier value: named fields in wire order. */
export type Cjt188Value = { readonly [field: string]: FieldValue };

/** 901F of a water or gas meter (PROTOCOLS.md 2.5, MM-02). */
export interface MeteringData {
  readonly currentFlow: Quantity;
  readonly settlementFlow: Quantity;
  readonly time: Cjt188DateTime;
  readonly status: Cjt188Status;
}

/** 901F of a heat meter (PROTOCOLS.md 2.5, vector 22). */
export interface HeatMeteringData {
  readonly settlementHeat: Quantity;
  readonly currentHeat: Quantity;
  readonly heatPower: Quantity;
  readonly flowRate: Quantity;
  readonly cumulativeFlow: Quantity;
  readonly supplyTemperature: number;
  readonly returnTemperature: number;
  readonly workingHours: number;
  readonly time: Cjt188DateTime;
  readonly status: Cjt188Status;
}

export type FieldKind =
  /** 4 BCD bytes XXXXXX.XX then a unit byte (5 bytes). */
  | 'quantity'
  /** `length` BCD bytes with `decimals` decimals. */
  | 'decimal'
  /** 7 BCD bytes ss mm hh DD MM YY YY. */
  | 'dateTime'
  /** ST0 ST1. */
  | 'status'
  /** 7 address bytes A0..A6 -> 14 digits, most significant first. */
  | 'address'
  /** One byte shown as a number (valve command, key version). */
  | 'byte'
  /** Opaque bytes, hex in wire order; `length` is the minimum, `maxLength` the maximum. */
  | 'bytes';

export interface FieldDefinition {
  /** Key in the decoded value (camelCase). */
  readonly name: string;
  readonly kind: FieldKind;
  /** Bytes on the wire (the minimum for 'bytes'). */
  readonly length: number;
  readonly maxLength?: number;
  readonly decimals?: number;
  /** The standard's format string, e.g. "XXXXXX.XX". */
  readonly format: string;
  /** Fixed unit of a 'decimal' field (quantities carry their own unit byte). */
  readonly unit?: string;
  readonly meaning: string;
}

export type Direction = 'read' | 'write';

export interface Cjt188DataItem {
  /** DI1DI0 as written in the standard ("901F"); on the wire DI0 first in the standard order. */
  readonly di: string;
  readonly name: string;
  readonly nameZh: string;
  /** read: the layout is the reply's bytes after SER; write: the request's. */
  readonly direction: Direction;
  /** The control function that carries it (01 read data, 03 read address, 04 write data, 09, 15, 16). */
  readonly functionCode: number;
  readonly fields: readonly FieldDefinition[];
  /** 901F of a heat meter (meter type 2x) has its own layout. */
  readonly heatFields?: readonly FieldDefinition[];
  /** Where it comes from; "[BK]" when the layout is background knowledge. */
  readonly source: string;
}

const SRC_TABLE = 'PROTOCOLS.md 2.4 (unattributed public code, KingDa; gas-meter tool)';
const quantity = (name: string, meaning: string): FieldDefinition => ({ name, kind: 'quantity', length: 5, decimals: 2, format: 'XXXXXX.XX+unit', meaning });
const TIME: FieldDefinition = { name: 'time', kind: 'dateTime', length: 7, format: 'ssmmhhDDMMYYYY', meaning: 'real time (实时时间)' };
const STATUS: FieldDefinition = { name: 'status', kind: 'status', length: 2, format: 'ST0ST1', meaning: 'status ST (状态ST)' };
const opaque = (name: string, meaning: string, min = 1, max = 0xff - 3): FieldDefinition => ({
  name,
  kind: 'bytes',
  length: min,
  maxLength: max,
  format: 'bytes',
  meaning,
});
const DAY: FieldDefinition = { name: 'day', kind: 'decimal', length: 1, decimals: 0, format: 'DD', meaning: 'day of month' };

const WATER_GAS_901F: readonly FieldDefinition[] = [
  quantity('currentFlow', 'current cumulative flow (当前累积流量)'),
  quantity('settlementFlow', 'settlement-day cumulative flow (结算日累积流量)'),
  TIME,
  STATUS,
];

const HEAT_901F: readonly FieldDefinition[] = [
  quantity('settlementHeat', 'settlement-day heat (结算日热量)'),
  quantity('currentHeat', 'current heat (当前热量)'),
  quantity('heatPower', 'heat power (热功率)'),
  // Decimals of flow rate are [BK]: vector 22 carries 0, so 2 decimals (XXXXXX.XX) are not confirmed.
  quantity('flowRate', 'flow rate (流量) [BK decimals]'),
  quantity('cumulativeFlow', 'cumulative flow (累积流量)'),
  { name: 'supplyTemperature', kind: 'decimal', length: 3, decimals: 2, format: 'XXXX.XX', unit: '°C', meaning: 'supply water temperature (供水温度)' },
  { name: 'returnTemperature', kind: 'decimal', length: 3, decimals: 2, format: 'XXXX.XX', unit: '°C', meaning: 'return water temperature (回水温度)' },
  { name: 'workingHours', kind: 'decimal', length: 3, decimals: 0, format: 'XXXXXX', unit: 'h', meaning: 'cumulative working time (累积工作时间)' },
  TIME,
  STATUS,
];

/** History data of the last 1..12 months: D120..D12B (PROTOCOLS.md 2.4, [BK] identifiers and layout). */
const HISTORY_MONTHS = 12;

function buildItems(): Cjt188DataItem[] {
  const items: Cjt188DataItem[] = [
    {
      di: '901F',
      name: 'metering data',
      nameZh: '计量数据',
      direction: 'read',
      functionCode: FunctionCode.ReadData,
      fields: WATER_GAS_901F,
      heatFields: HEAT_901F,
      source: 'PROTOCOLS.md 2.5 (CJT_188_MeterData_Struct; vectors 1, 4, 5, 22); REQUIREMENTS.md MM-02',
    },
  ];
  for (let month = 1; month <= HISTORY_MONTHS; month++) {
    items.push({
      di: `D1${(0x20 + month - 1).toString(16).toUpperCase()}`,
      name: `history data, month -${month}`,
      nameZh: `上${month}月历史计量数据`,
      direction: 'read',
      functionCode: FunctionCode.ReadData,
      // [BK] The settlement-day cumulative flow of that month with its unit: recalled, not read.
      fields: [quantity('settlementFlow', `settlement-day cumulative flow of month -${month} [BK]`)],
      source: 'PROTOCOLS.md 2.4 [BK] (identifiers from the issue brief; layout recalled)',
    });
  }
  items.push(
    {
      di: '8102',
      name: 'price table',
      nameZh: '读价格表',
      direction: 'read',
      functionCode: FunctionCode.ReadData,
      fields: [opaque('priceTable', 'price table (layout not in the sources read: opaque)')],
      source: `${SRC_TABLE} [identifier partially visible; layout unknown]`,
    },
    { di: '8103', name: 'settlement day', nameZh: '读结算日', direction: 'read', functionCode: FunctionCode.ReadData, fields: [DAY], source: `${SRC_TABLE}; layout (1 BCD byte) [BK]` },
    { di: '8104', name: 'reading day', nameZh: '读抄表日', direction: 'read', functionCode: FunctionCode.ReadData, fields: [DAY], source: `${SRC_TABLE}; layout (1 BCD byte) [BK]` },
    {
      di: '8105',
      name: 'purchase amount',
      nameZh: '读购入金额',
      direction: 'read',
      functionCode: FunctionCode.ReadData,
      fields: [opaque('purchase', 'purchase record (layout not in the sources read: opaque)')],
      source: `${SRC_TABLE} [layout unknown]`,
    },
    {
      di: '8106',
      name: 'key version',
      nameZh: '读密钥版本号',
      direction: 'read',
      functionCode: FunctionCode.ReadKeyVersion,
      fields: [{ name: 'keyVersion', kind: 'byte', length: 1, format: 'NN', meaning: 'key version [BK: one byte]' }],
      source: `${SRC_TABLE}; control 09H (PROTOCOLS.md 2.3); layout [BK]`,
    },
    { di: '810A', name: 'address', nameZh: '读地址', direction: 'read', functionCode: FunctionCode.ReadAddress, fields: [], source: 'PROTOCOLS.md 2.3/2.4; vectors 6, 7 (the reply carries the address in A0..A6, no data)' },
    {
      di: 'A010',
      name: 'write price table',
      nameZh: '写价格表',
      direction: 'write',
      functionCode: FunctionCode.WriteData,
      fields: [opaque('priceTable', 'price table (layout unknown: opaque)')],
      source: `${SRC_TABLE} [layout unknown]`,
    },
    { di: 'A011', name: 'write settlement day', nameZh: '写结算日', direction: 'write', functionCode: FunctionCode.WriteData, fields: [DAY], source: `${SRC_TABLE}; layout [BK]` },
    { di: 'A012', name: 'write reading day', nameZh: '写抄表日', direction: 'write', functionCode: FunctionCode.WriteData, fields: [DAY], source: `${SRC_TABLE}; layout [BK]` },
    {
      di: 'A013',
      name: 'write purchase amount',
      nameZh: '写购入金额',
      direction: 'write',
      functionCode: FunctionCode.WriteData,
      fields: [opaque('purchase', 'purchase record (layout unknown: opaque)')],
      source: `${SRC_TABLE} [layout unknown]`,
    },
    {
      di: 'A014',
      name: 'write new key',
      nameZh: '写新密钥',
      direction: 'write',
      functionCode: FunctionCode.WriteData,
      fields: [opaque('key', 'key version and key (layout unknown: opaque)')],
      source: `${SRC_TABLE} [layout unknown]`,
    },
    {
      di: 'A015',
      name: 'write standard time',
      nameZh: '写标准时间',
      direction: 'write',
      functionCode: FunctionCode.WriteData,
      fields: [TIME],
      source: `${SRC_TABLE} (gas-meter tool: 04 0A 15 A0, L = 10 = DI SER + 7); byte order as real time [BK]`,
    },
    {
      di: 'A016',
      name: 'write motor-sync data',
      nameZh: '写机电同步数据',
      direction: 'write',
      functionCode: FunctionCode.WriteSyncData,
      fields: [quantity('baseReading', 'base reading (表底数)')],
      source: `${SRC_TABLE}; vector 16 (16 08 16 A0 SER 78 56 34 12 00)`,
    },
    {
      di: 'A017',
      name: 'valve control',
      nameZh: '写阀门控制',
      direction: 'write',
      functionCode: FunctionCode.WriteData,
      fields: [{ name: 'command', kind: 'byte', length: 1, format: 'NN', meaning: 'valve command: 55H open, 99H close (AAH exercise, 77H half-open: vendor extras)' }],
      source: `${SRC_TABLE}; vectors 9-15`,
    },
    {
      di: 'A018',
      name: 'write address',
      nameZh: '写地址',
      direction: 'write',
      functionCode: FunctionCode.WriteAddress,
      fields: [{ name: 'newAddress', kind: 'address', length: 7, format: 'A0..A6', meaning: 'the new address, low byte first' }],
      source: `${SRC_TABLE}; vectors 8, 15`,
    },
    {
      di: 'A019',
      name: 'factory enable',
      nameZh: '出厂启用',
      direction: 'write',
      functionCode: FunctionCode.WriteData,
      fields: [opaque('data', 'factory enable (layout unknown: opaque)', 0)],
      source: `${SRC_TABLE} [layout unknown]`,
    },
  );
  return items;
}

const ITEMS: readonly Cjt188DataItem[] = buildItems();
const BY_DI = new Map(ITEMS.map((d) => [d.di, d]));

export function lookup(di: string): Cjt188DataItem | undefined {
  return typeof di === 'string' ? BY_DI.get(di.toUpperCase()) : undefined;
}

export function dataItems(): readonly Cjt188DataItem[] {
  return ITEMS;
}

/** The layout of `di` for a meter family (901F of a heat meter differs). */
export function layoutOf(item: Cjt188DataItem, family?: MeterFamily): readonly FieldDefinition[] {
  return family === 'heat' && item.heatFields ? item.heatFields : item.fields;
}

function layoutLength(fields: readonly FieldDefinition[]): { min: number; max: number } {
  let min = 0;
  let max = 0;
  for (const f of fields) {
    min += f.length;
    max += f.maxLength ?? f.length;
  }
  return { min, max };
}

// =============================================================================================
// Value codec

export interface ValueOptions {
  /** Meter family of the frame (901F of a heat meter). When the payload length fits only the other layout, that one is used. */
  readonly family?: MeterFamily;
  /** ST layout (dialect). Default 'standard'. */
  readonly statusLayout?: StatusLayout;
}

export const VALUE_ERROR_CODES = ['cjt188.unknown-di', 'cjt188.value-length', 'cjt188.bcd'] as const;

/** Picks the layout a payload of `length` bytes fits (901F: water/gas 19 bytes, heat 43). */
function layoutFor(item: Cjt188DataItem, length: number, family?: MeterFamily): readonly FieldDefinition[] {
  const preferred = layoutOf(item, family);
  if (!item.heatFields) return preferred;
  const other = preferred === item.heatFields ? item.fields : item.heatFields;
  const fits = (l: readonly FieldDefinition[]): boolean => {
    const { min, max } = layoutLength(l);
    return length >= min && length <= max;
  };
  return !fits(preferred) && fits(other) ? other : preferred;
}

/** Decodes the bytes after SER of identifier `di`. Never throws; offsets relative to the payload. */
export function decodeValue(di: string, payload: Uint8Array, options: ValueOptions = {}): Result<Cjt188Value, DecodeError> {
  const item = lookup(di);
  if (!item) return err(decodeError('cjt188.unknown-di', `DI ${String(di)} is not in the CJ/T 188 dictionary`, 0));
  const fields = layoutFor(item, payload.length, options.family);
  const { min, max } = layoutLength(fields);
  if (payload.length < min || payload.length > max) {
    const expected = min === max ? `${min}` : `${min}..${max}`;
    return err(
      decodeError(
        'cjt188.value-length',
        `DI ${item.di} (${item.name}) carries ${expected} byte(s) after SER, got ${payload.length}`,
        Math.min(payload.length, payload.length < min ? payload.length : max),
      ),
    );
  }
  const layout = options.statusLayout ?? 'standard';
  const out: Record<string, FieldValue> = {};
  let at = 0;
  for (const f of fields) {
    const len = f.kind === 'bytes' ? payload.length - (min - f.length) : f.length;
    const bytes = payload.subarray(at, at + len);
    const v = decodeField(f, bytes, at, layout);
    if (!v.ok) return v;
    out[f.name] = v.value;
    at += len;
  }
  return ok(out);
}

function decodeField(f: FieldDefinition, b: Uint8Array, at: number, layout: StatusLayout): Result<FieldValue, DecodeError> {
  switch (f.kind) {
    case 'quantity': {
      const n = bcdNumber(b.subarray(0, 4), at, f.name);
      if (!n.ok) return n;
      const code = b[4]!;
      return ok({ value: n.value / 100, unit: unitName(code), unitCode: code });
    }
    case 'decimal': {
      const n = bcdNumber(b, at, f.name);
      if (!n.ok) return n;
      return ok(f.decimals ? n.value / 10 ** f.decimals : n.value);
    }
    case 'dateTime': {
      const bad = b.findIndex((x) => !isBcdByte(x));
      if (bad >= 0) return err(decodeError('cjt188.bcd', `${f.name}: byte ${toHex(b.subarray(bad, bad + 1))} is not BCD`, at + bad));
      const d = (i: number): number => (b[i]! >> 4) * 10 + (b[i]! & 0x0f);
      return ok({ year: d(6) * 100 + d(5), month: d(4), day: d(3), hour: d(2), minute: d(1), second: d(0) });
    }
    case 'status':
      return ok(decodeStatus(b[0]!, b[1]!, layout));
    case 'address':
      return ok(toHex(Uint8Array.from(b).reverse(), ''));
    case 'byte':
      return ok(b[0]!);
    case 'bytes':
      return ok(toHex(b));
  }
}

function bcdNumber(b: Uint8Array, at: number, name: string): Result<number, DecodeError> {
  let v = 0;
  for (let i = b.length - 1; i >= 0; i--) {
    const x = b[i]!;
    if (!isBcdByte(x)) return err(decodeError('cjt188.bcd', `${name}: byte ${toHex(b.subarray(i, i + 1))} is not BCD`, at + i));
    v = v * 100 + (x >> 4) * 10 + (x & 0x0f);
  }
  return ok(v);
}

/**
 * The bytes after SER for a value of `di`. 901F picks the heat layout when the value has its
 * fields. Throws EncodeError for an unknown DI, a missing field or a value that does not fit.
 */
export function encodeValue(di: string, value: Cjt188Value, options: ValueOptions = {}): Uint8Array {
  const item = lookup(di);
  if (!item) throw new EncodeError(`DI ${String(di)} is not in the CJ/T 188 dictionary`);
  const fields = item.heatFields && value !== null && typeof value === 'object' && 'currentHeat' in value ? item.heatFields : item.fields;
  const parts: number[] = [];
  for (const f of fields) {
    const v = (value as Record<string, FieldValue | undefined>)[f.name];
    if (v === undefined) throw new EncodeError(`DI ${item.di}: missing field ${f.name}`);
    parts.push(...encodeField(f, v, item.di, options.statusLayout));
  }
  return Uint8Array.from(parts);
}

function encodeField(f: FieldDefinition, v: FieldValue, di: string, layout: StatusLayout | undefined): number[] {
  const what = `DI ${di} field ${f.name}`;
  switch (f.kind) {
    case 'quantity': {
      const q = v as Quantity;
      if (typeof q !== 'object' || q === null || typeof q.value !== 'number') throw new EncodeError(`${what}: expected {value, unitCode}`);
      const code = typeof q.unitCode === 'number' ? q.unitCode : q.unit ? unitCode(q.unit) : NaN;
      if (!Number.isInteger(code) || code < 0 || code > 0xff) throw new EncodeError(`${what}: unit byte must be 00..FFH`);
      return [...bcdBytes(q.value, 4, 2, what), code];
    }
    case 'decimal':
      if (typeof v !== 'number') throw new EncodeError(`${what}: expected a number`);
      return bcdBytes(v, f.length, f.decimals ?? 0, what);
    case 'dateTime': {
      const t = v as Cjt188DateTime;
      if (typeof t !== 'object' || t === null) throw new EncodeError(`${what}: expected {year, month, day, hour, minute, second}`);
      const b = (n: number, max: number, name: string): number => {
        if (!Number.isInteger(n) || n < 0 || n > max) throw new EncodeError(`${what}: ${name} ${String(n)} is not 0..${max}`);
        return ((n / 10) << 4) | n % 10;
      };
      if (!Number.isInteger(t.year) || t.year < 0 || t.year > 9999) throw new EncodeError(`${what}: year ${String(t.year)} is not 0..9999`);
      return [b(t.second, 99, 'second'), b(t.minute, 99, 'minute'), b(t.hour, 99, 'hour'), b(t.day, 99, 'day'), b(t.month, 99, 'month'), b(t.year % 100, 99, 'year'), b(Math.floor(t.year / 100), 99, 'century')];
    }
    case 'status': {
      const s = v as Cjt188Status;
      if (typeof s !== 'object' || s === null) throw new EncodeError(`${what}: expected {valve, batteryLow, raw?}`);
      return [...encodeStatus(s, layout ?? s.layout ?? 'standard')];
    }
    case 'address':
      if (typeof v !== 'string' || !/^[0-9A-Fa-f]{14}$/.test(v)) throw new EncodeError(`${what}: expected 14 hex digits`);
      return [...hexBytes(v.replace(/(..)(?!$)/g, '$1 '), 7, what)].reverse();
    case 'byte':
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`${what}: expected one byte 0..255`);
      return [v];
    case 'bytes': {
      if (typeof v !== 'string') throw new EncodeError(`${what}: expected hex in wire order`);
      const b = v.trim() === '' ? new Uint8Array(0) : hexBytes(v, -1, what);
      if (b.length < f.length || b.length > (f.maxLength ?? f.length)) throw new EncodeError(`${what}: ${b.length} bytes, expected ${f.length}..${f.maxLength ?? f.length}`);
      return [...b];
    }
  }
}

/** Little-endian BCD of `value` with `decimals` decimals in `length` bytes; throws EncodeError if it does not fit. */
function bcdBytes(value: number, length: number, decimals: number, what: string): number[] {
  const scaled = Math.round(value * 10 ** decimals);
  if (!Number.isFinite(value) || scaled < 0 || scaled >= 100 ** length) {
    throw new EncodeError(`${what}: ${String(value)} does not fit ${length} BCD byte(s) with ${decimals} decimals`);
  }
  const out: number[] = [];
  let v = scaled;
  for (let i = 0; i < length; i++) {
    const two = v % 100;
    out.push(((two / 10) << 4) | two % 10);
    v = Math.floor(v / 100);
  }
  return out;
}

function hexBytes(text: string, length: number, what: string): Uint8Array {
  const parts = text.trim().split(/\s+/);
  if ((length >= 0 && parts.length !== length) || parts.some((p) => !/^[0-9A-Fa-f]{2}$/.test(p))) {
    throw new EncodeError(`${what}: expected ${length >= 0 ? `${length} ` : ''}hex bytes like "21 84", got ${JSON.stringify(text)}`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** One-line text of a value, e.g. "currentFlow 556677.00 m³, settlementFlow 556677.00 m³, time 2015-05-11 22:01:31, status valve closed battery ok (21 84)". */
export function describeValue(value: Cjt188Value): string {
  return Object.entries(value)
    .map(([k, v]) => `${k} ${fieldText(v)}`)
    .join(', ');
}

export function fieldText(v: FieldValue): string {
  if (typeof v === 'number' || typeof v === 'string') return String(v);
  if ('unitCode' in v) return `${v.value.toFixed(2)} ${v.unit ?? `(unit ${toHex(Uint8Array.of(v.unitCode))}H)`}`;
  if ('valve' in v) return `valve ${v.valve}, battery ${v.batteryLow ? 'low' : 'ok'} (${v.raw})`;
  return formatDateTime(v);
}

export function formatDateTime(t: Cjt188DateTime): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(t.year, 4)}-${p(t.month)}-${p(t.day)} ${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
}
