/**
 * EN 13757-3 data records (MBUS.md 8-11): DIB (DIF + DIFEs), VIB (VIF + VIFEs, plain-text VIF),
 * the data, and the special DIFs 0F/1F (manufacturer data, more records follow), 2F (filler) and
 * 7F (global readout). Pure; decoding never throws on bytes, encoding bad arguments throws.
 */
import { toHex } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  DATA_FIELD,
  DATA_FIELD_LENGTHS,
  DIF_DATA_MASK,
  DIF_FUNCTION_MASK,
  DIF_GLOBAL_READOUT,
  DIF_IDLE_FILLER,
  DIF_MANUFACTURER_SPECIFIC,
  DIF_MORE_RECORDS_FOLLOW,
  DIF_STORAGE_BIT,
  DIFE_STORAGE_MASK,
  DIFE_SUBUNIT_BIT,
  DIFE_TARIFF_MASK,
  EXTENSION_BIT,
  FUNCTIONS,
  MAX_DIFE,
  MAX_PLAIN_TEXT_VIF,
  MAX_VIFE,
  VIF,
  type RecordFunction,
} from './constants.ts';
import { COMBINABLE_VIFES, vifEntry, type CombinableVife, type VifEntry } from './dictionary.ts';

// ---------------------------------------------------------------------------------------------
// Types

export type RecordValue =
  | { readonly type: 'none' }
  /** Little-endian two's complement; a bigint only beyond 2^53 (48/64-bit fields). */
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'real'; readonly value: number }
  /**
   * BCD: `digits` are the nibbles as hex characters, most significant first, the sign nibble
   * included (`F0000123` = -123). `value` is null when a nibble other than the sign is not 0-9
   * (meters fill a value during error state with such bytes).
   */
  | { readonly type: 'bcd'; readonly digits: string; readonly value: number | null }
  /** Data type G (MBUS.md 8): `year` is the full year ([BK] century rule, see `fullYear`). */
  | { readonly type: 'date'; readonly year: number; readonly month: number; readonly day: number }
  /** Data type F (4 bytes) or I (6 bytes; `second` set). */
  | {
      readonly type: 'dateTime';
      readonly year: number;
      readonly month: number;
      readonly day: number;
      readonly hour: number;
      readonly minute: number;
      readonly second: number | null;
      readonly invalid: boolean;
      readonly summerTime: boolean;
    }
  /** Variable-length text (LVAR 00..BF), in reading order (the wire sends it last character first). */
  | { readonly type: 'text'; readonly value: string }
  /** Variable-length binary (LVAR E0..F6), hex in wire order. */
  | { readonly type: 'bytes'; readonly hex: string };

export type VibKind = 'primary' | 'fd' | 'fb' | 'plain-text' | 'any' | 'manufacturer' | 'unknown';

export interface DecodedVife {
  readonly code: number;
  /** The combinable VIFE's meaning; undefined after a manufacturer-specific VIFE (7F). */
  readonly meaning?: CombinableVife;
}

export interface Vib {
  readonly vif: number;
  /** Every VIFE byte as sent (the FD/FB table code included). */
  readonly vife: readonly number[];
  readonly kind: VibKind;
  /** Dictionary entry for primary, FD and FB codes; null for the others or an undefined code. */
  readonly entry: VifEntry | null;
  /** Plain-text VIF (7C/FC): the unit in reading order. */
  readonly plainText?: string;
  /** VIFEs after the VIF (after the table code for FD/FB). */
  readonly combinable: readonly DecodedVife[];
}

export interface DataRecord {
  readonly kind: 'data';
  /** Offset of the DIF (absolute, in the buffer the caller decoded). */
  readonly offset: number;
  readonly dif: number;
  readonly dife: readonly number[];
  readonly function: RecordFunction;
  readonly storageNumber: number;
  readonly tariff: number;
  readonly subunit: number;
  /** DIF bits 3-0. */
  readonly dataField: number;
  readonly vib: Vib;
  /** The data bytes as sent. */
  readonly data: Uint8Array;
  readonly value: RecordValue;
  /**
   * The value in the dictionary's unit: raw × scale, with multiplicative/additive correction
   * VIFEs applied; null for dates, text, bytes, invalid BCD and VIFs without a scale.
   */
  readonly scaled: number | null;
}

export interface ManufacturerRecord {
  readonly kind: 'manufacturer';
  readonly offset: number;
  /** 0F or 1F. */
  readonly dif: number;
  /** 1F: more records follow in the next telegram (MBUS.md 11). */
  readonly moreRecordsFollow: boolean;
  /** Everything after the DIF up to the end of the user data. */
  readonly data: Uint8Array;
}

export interface GlobalReadoutRecord {
  readonly kind: 'global-readout';
  readonly offset: number;
}

export type MbusRecord = DataRecord | ManufacturerRecord | GlobalReadoutRecord;

export interface DecodedRecords {
  readonly records: readonly MbusRecord[];
  /** The last record is a DIF 1F. */
  readonly moreRecordsFollow: boolean;
  /** Idle filler bytes (2F) skipped. */
  readonly fillers: number;
}

/** Every code `decodeRecords` returns. */
export const RECORD_ERROR_CODES: ReadonlySet<string> = new Set([
  'mbus.dif-truncated',
  'mbus.dife-limit',
  'mbus.dif-reserved',
  'mbus.vif-truncated',
  'mbus.vife-limit',
  'mbus.plain-vif-length',
  'mbus.data-truncated',
  'mbus.lvar-reserved',
]);

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Decodes the records in `bytes[from..to)`. Offsets in errors and records are absolute plus
 * `base` (so a caller that sliced the frame's data can report offsets into the frame).
 * Codes: `mbus.dif-truncated` (a DIF/DIFE announces a DIFE that is missing), `mbus.dife-limit`
 * (more than 10), `mbus.dif-reserved` (a special-function DIF other than 0F, 1F, 2F, 7F),
 * `mbus.vif-truncated`, `mbus.vife-limit`, `mbus.plain-vif-length` (plain-text VIF longer than 128),
 * `mbus.data-truncated`, `mbus.lvar-reserved` (a reserved variable-length code).
 */
export function decodeRecords(bytes: Uint8Array, from = 0, to = bytes.length, base = 0): Result<DecodedRecords, DecodeError> {
  const records: MbusRecord[] = [];
  let fillers = 0;
  let p = from;
  const at = (i: number): number => base + i;
  while (p < to) {
    const recordStart = p;
    const dif = bytes[p]!;
    if (dif === DIF_IDLE_FILLER) {
      fillers++;
      p++;
      continue;
    }
    if (dif === DIF_MANUFACTURER_SPECIFIC || dif === DIF_MORE_RECORDS_FOLLOW) {
      records.push({ kind: 'manufacturer', offset: at(p), dif, moreRecordsFollow: dif === DIF_MORE_RECORDS_FOLLOW, data: bytes.slice(p + 1, to) });
      p = to;
      break;
    }
    if (dif === DIF_GLOBAL_READOUT) {
      records.push({ kind: 'global-readout', offset: at(p) });
      p++;
      continue;
    }
    if ((dif & DIF_DATA_MASK) === DATA_FIELD.SPECIAL) {
      return err(decodeError('mbus.dif-reserved', `DIF ${hex2(dif)}: a special function other than 0F, 1F, 2F, 7F`, at(p)));
    }
    p++;
    // DIFEs
    const dife: number[] = [];
    let storageNumber = (dif & DIF_STORAGE_BIT) !== 0 ? 1 : 0;
    let tariff = 0;
    let subunit = 0;
    let extends_ = (dif & EXTENSION_BIT) !== 0;
    while (extends_) {
      if (p >= to) return err(decodeError('mbus.dif-truncated', 'the data ends where a DIFE should follow', at(p)));
      if (dife.length === MAX_DIFE) return err(decodeError('mbus.dife-limit', `more than ${MAX_DIFE} DIFEs`, at(p)));
      const e = bytes[p]!;
      const i = dife.length;
      dife.push(e);
      storageNumber += (e & DIFE_STORAGE_MASK) * 2 ** (1 + 4 * i);
      tariff += ((e & DIFE_TARIFF_MASK) >> 4) * 2 ** (2 * i);
      subunit += ((e & DIFE_SUBUNIT_BIT) >> 6) * 2 ** i;
      extends_ = (e & EXTENSION_BIT) !== 0;
      p++;
    }
    // VIB
    const vib = decodeVib(bytes, p, to, base);
    if (!vib.ok) return vib;
    p = vib.value.end;
    // Data
    const dataField = dif & DIF_DATA_MASK;
    let length = DATA_FIELD_LENGTHS[dataField]!;
    let lvar = -1;
    if (dataField === DATA_FIELD.VARIABLE) {
      if (p >= to) return err(decodeError('mbus.data-truncated', 'the data ends where the LVAR byte should be', at(p)));
      lvar = bytes[p]!;
      const n = lvarLength(lvar);
      if (n < 0) return err(decodeError('mbus.lvar-reserved', `LVAR ${hex2(lvar)} is reserved`, at(p)));
      p++;
      length = n;
    }
    if (p + length > to) {
      return err(decodeError('mbus.data-truncated', `the record needs ${length} data byte(s), ${to - p} left`, at(to)));
    }
    const data = bytes.slice(p, p + length);
    p += length;
    const value = decodeValue(dataField, data, lvar, vib.value.vib);
    records.push({
      kind: 'data',
      offset: at(recordStart),
      dif,
      dife,
      function: FUNCTIONS[(dif & DIF_FUNCTION_MASK) >> 4]!,
      storageNumber,
      tariff,
      subunit,
      dataField,
      vib: vib.value.vib,
      data,
      value,
      scaled: scaledValue(value, vib.value.vib),
    });
  }
  const last = records[records.length - 1];
  return ok({ records, moreRecordsFollow: last?.kind === 'manufacturer' && last.moreRecordsFollow, fillers });
}

/** Bytes of variable-length data for an LVAR (MBUS.md 8); -1 for a reserved code. */
export function lvarLength(lvar: number): number {
  if (lvar <= 0xbf) return lvar; // text
  // [BK] BCD: (LVAR - C0)·2 digits = LVAR - C0 bytes, as MBUS.md reads the standard (libmbus takes
  // twice as many bytes; the corpus has no case to tell).
  if (lvar <= 0xc9) return lvar - 0xc0; // positive BCD
  if (lvar >= 0xd0 && lvar <= 0xd9) return lvar - 0xd0; // negative BCD
  if (lvar >= 0xe0 && lvar <= 0xef) return lvar - 0xe0; // binary
  if (lvar >= 0xf0 && lvar <= 0xf4) return 4 * (lvar - 0xec); // binary 16..32 bytes
  if (lvar === 0xf5) return 48;
  if (lvar === 0xf6) return 64;
  return -1;
}

function decodeVib(bytes: Uint8Array, from: number, to: number, base: number): Result<{ vib: Vib; end: number }, DecodeError> {
  let p = from;
  if (p >= to) return err(decodeError('mbus.vif-truncated', 'the data ends where a VIF should follow', base + p));
  const vif = bytes[p++]!;
  const code = vif & 0x7f;
  let plainText: string | undefined;
  if (code === VIF.PLAIN_TEXT) {
    // 7C/FC: length byte, then the text (sent last character first), then VIFEs if the E bit is
    // set. [BK] MBUS.md says only "FC may add VIFEs"; this order is the one the corpus's
    // elv_temp_humid frame confirms (FC 03 "HR%" 74, value 45.64 %RH).
    if (p >= to) return err(decodeError('mbus.vif-truncated', 'the data ends where the plain-text VIF length should be', base + p));
    const len = bytes[p]!;
    if (len > MAX_PLAIN_TEXT_VIF) {
      return err(decodeError('mbus.plain-vif-length', `plain-text VIF of ${len} characters (at most ${MAX_PLAIN_TEXT_VIF})`, base + p));
    }
    p++;
    if (p + len > to) return err(decodeError('mbus.vif-truncated', `the plain-text VIF needs ${len} byte(s), ${to - p} left`, base + to));
    plainText = reversedText(bytes, p, len);
    p += len;
  }
  const vife: number[] = [];
  let more = (vif & EXTENSION_BIT) !== 0;
  while (more) {
    if (p >= to) return err(decodeError('mbus.vif-truncated', 'the data ends where a VIFE should follow', base + p));
    if (vife.length === MAX_VIFE) return err(decodeError('mbus.vife-limit', `more than ${MAX_VIFE} VIFEs`, base + p));
    const e = bytes[p++]!;
    vife.push(e);
    more = (e & EXTENSION_BIT) !== 0;
  }
  let kind: VibKind;
  let entry: VifEntry | null = null;
  let rest = vife;
  if (vif === 0xfd || vif === 0xfb) {
    kind = vif === 0xfd ? 'fd' : 'fb';
    entry = vifEntry(kind, vife[0]! & 0x7f) ?? null;
    rest = vife.slice(1);
  } else if (code === VIF.PLAIN_TEXT) {
    kind = 'plain-text';
  } else if (code === VIF.ANY) {
    kind = 'any';
  } else if (code === VIF.MANUFACTURER) {
    kind = 'manufacturer';
  } else if (code === VIF.EXTENSION_FB || code === VIF.EXTENSION_FD) {
    kind = 'unknown'; // 7B/7D without the E bit: no table code follows
  } else {
    kind = 'primary';
    entry = vifEntry('primary', code) ?? null;
  }
  const combinable: DecodedVife[] = [];
  let manufacturerVifes = false;
  for (const e of rest) {
    const c = e & 0x7f;
    if (manufacturerVifes) combinable.push({ code: c });
    else combinable.push({ code: c, meaning: COMBINABLE_VIFES.get(c)! });
    if (c === 0x7f) manufacturerVifes = true; // what follows a manufacturer-specific VIFE is the manufacturer's
  }
  return ok({ vib: { vif, vife, kind, entry, ...(plainText !== undefined ? { plainText } : {}), combinable }, end: p });
}

function reversedText(bytes: Uint8Array, from: number, len: number): string {
  let s = '';
  for (let i = from + len - 1; i >= from; i--) s += String.fromCharCode(bytes[i]!);
  return s;
}

function decodeValue(dataField: number, data: Uint8Array, lvar: number, vib: Vib): RecordValue {
  const coding = vib.entry?.coding;
  switch (dataField) {
    case DATA_FIELD.NONE:
    case DATA_FIELD.SELECTION_FOR_READOUT:
      return { type: 'none' };
    case DATA_FIELD.INT16:
      // A 16-bit time point is type G; also for FD 30/70, whose type follows the data field
      // (type G with 16 bits, F with 32; [BK] not in MBUS.md, which names FD 30/70 with type F).
      if (coding === 'date' || coding === 'dateTime') return dateG(data, 0);
      return { type: 'integer', value: signedLE(data) };
    case DATA_FIELD.INT32:
      if (coding === 'dateTime') return dateTimeF(data, 0, null);
      return { type: 'integer', value: signedLE(data) };
    case DATA_FIELD.INT48:
      if (coding === 'dateTime') return dateTimeF(data, 1, data[0]! & 0x3f);
      return { type: 'integer', value: signedLE(data) };
    case DATA_FIELD.INT8:
    case DATA_FIELD.INT24:
    case DATA_FIELD.INT64:
      return { type: 'integer', value: signedLE(data) };
    case DATA_FIELD.REAL32:
      return { type: 'real', value: new DataView(data.buffer, data.byteOffset, 4).getFloat32(0, true) };
    case DATA_FIELD.BCD2:
    case DATA_FIELD.BCD4:
    case DATA_FIELD.BCD6:
    case DATA_FIELD.BCD8:
    case DATA_FIELD.BCD12:
      return bcdValue(data, false);
    case DATA_FIELD.VARIABLE:
      if (lvar <= 0xbf) return { type: 'text', value: reversedText(data, 0, data.length) };
      if (lvar <= 0xc9) return bcdValue(data, false);
      if (lvar <= 0xd9) return bcdValue(data, true);
      return { type: 'bytes', hex: toHex(data) };
    default:
      return { type: 'none' }; // F is handled before (special DIFs)
  }
}

/** Signed little-endian integer of 1..8 bytes; a bigint beyond Number.MAX_SAFE_INTEGER. */
export function signedLE(data: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = data.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i]!);
  const bits = BigInt(8 * data.length);
  if (data.length > 0 && (data[data.length - 1]! & 0x80) !== 0) v -= 1n << bits;
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * BCD, little-endian, two digits a byte (MBUS.md 8). A top nibble F in the most significant byte
 * is the minus sign; `negative` forces the sign (LVAR D0..D9).
 */
export function bcdValue(data: Uint8Array, negative: boolean): RecordValue {
  let digits = '';
  for (let i = data.length - 1; i >= 0; i--) digits += data[i]!.toString(16).toUpperCase().padStart(2, '0');
  const signed = digits.startsWith('F');
  const body = signed ? digits.slice(1) : digits;
  if (!/^[0-9]*$/.test(body)) return { type: 'bcd', digits, value: null };
  const magnitude = body === '' ? 0 : Number(body);
  return { type: 'bcd', digits, value: signed !== negative ? -magnitude : magnitude };
}

/**
 * Full year of a two-digit M-Bus year. [BK] MBUS.md gives libmbus's rule for type F: the
 * hundred-year bits when set (19xx + 100·hy), else year <= 80 -> 20xx, else 19xx; used for G too.
 */
export function fullYear(year: number, hundredYear: number): number {
  if (hundredYear > 0) return 1900 + 100 * hundredYear + year;
  return year <= 80 ? 2000 + year : 1900 + year;
}

/** Type G at `data[at]`: day b0 4-0, month b1 3-0, year b0 7-5 (low) + b1 7-4 (high) (MBUS.md 8). */
function dateG(data: Uint8Array, at: number): RecordValue {
  const b0 = data[at]!;
  const b1 = data[at + 1]!;
  return { type: 'date', year: fullYear(((b0 & 0xe0) >> 5) | ((b1 & 0xf0) >> 1), 0), month: b1 & 0x0f, day: b0 & 0x1f };
}

/** Type F at `data[at..at+4)`; type I passes `at = 1` and the seconds (MBUS.md 8). */
function dateTimeF(data: Uint8Array, at: number, second: number | null): RecordValue {
  const b0 = data[at]!;
  const b1 = data[at + 1]!;
  const b2 = data[at + 2]!;
  const b3 = data[at + 3]!;
  return {
    type: 'dateTime',
    year: fullYear(((b2 & 0xe0) >> 5) | ((b3 & 0xf0) >> 1), (b1 & 0x60) >> 5),
    month: b3 & 0x0f,
    day: b2 & 0x1f,
    hour: b1 & 0x1f,
    minute: b0 & 0x3f,
    second,
    invalid: (b0 & 0x80) !== 0,
    summerTime: (b1 & 0x80) !== 0,
  };
}

/** raw × scale with the correction VIFEs (MBUS.md 10: 70-77 ×10^(n-6), 78-7B +10^(n-3), 7D ×1000). */
function scaledValue(value: RecordValue, vib: Vib): number | null {
  let raw: number;
  if (value.type === 'integer') raw = Number(value.value);
  else if (value.type === 'real') raw = value.value;
  else if (value.type === 'bcd' && value.value !== null) raw = value.value;
  else return null;
  if (vib.entry?.coding === 'identity') return null;
  let v: number;
  if (vib.entry && !vib.entry.reserved) v = raw * vib.entry.scale;
  else if (vib.kind === 'plain-text') v = raw;
  else return null;
  for (const e of vib.combinable) {
    const effect = e.meaning?.effect;
    if (effect?.kind === 'multiply') v *= effect.factor;
    else if (effect?.kind === 'add') v += effect.offset;
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export type EncodableValue =
  | { readonly type: 'none' }
  | { readonly type: 'integer'; readonly value: number | bigint }
  | { readonly type: 'real'; readonly value: number }
  | { readonly type: 'bcd'; readonly value: number }
  | { readonly type: 'date'; readonly year: number; readonly month: number; readonly day: number }
  | {
      readonly type: 'dateTime';
      readonly year: number;
      readonly month: number;
      readonly day: number;
      readonly hour: number;
      readonly minute: number;
      readonly invalid?: boolean;
      readonly summerTime?: boolean;
    }
  | { readonly type: 'text'; readonly value: string }
  | { readonly type: 'bytes'; readonly bytes: Uint8Array };

export interface RecordSpec {
  /** DIF bits 3-0 (see DATA_FIELD); must suit the value. */
  readonly dataField: number;
  readonly function?: RecordFunction;
  readonly storageNumber?: number;
  readonly tariff?: number;
  readonly subunit?: number;
  /** VIF then VIFE bytes, E bits as they go on the wire (`vibBytesOf` of a dictionary entry, plus VIFEs). */
  readonly vib: readonly number[];
  /** Plain-text VIF (with vib[0] = 7C/FC): the unit in reading order, sent reversed. */
  readonly plainText?: string;
  readonly value: EncodableValue;
}

/**
 * Encodes one data record. DIFEs: as few as hold the storage number (DIF bit + 4 bits a DIFE),
 * the tariff (2 bits a DIFE) and the subunit (1 bit a DIFE), at most 10. Throws EncodeError for a
 * value that does not fit its data field.
 */
export function encodeRecord(spec: RecordSpec): Uint8Array {
  const out: number[] = [];
  const storage = spec.storageNumber ?? 0;
  const tariff = spec.tariff ?? 0;
  const subunit = spec.subunit ?? 0;
  for (const [name, v] of [['storage number', storage], ['tariff', tariff], ['subunit', subunit]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new EncodeError(`M-Bus ${name} must be a non-negative integer, got ${String(v)}`);
  }
  if (!Number.isInteger(spec.dataField) || spec.dataField < 0 || spec.dataField > 0x0e) {
    throw new EncodeError(`data field must be 0..E (F is a special function), got ${String(spec.dataField)}`);
  }
  const fn = FUNCTIONS.indexOf(spec.function ?? 'instantaneous');
  if (fn < 0) throw new EncodeError(`unknown function ${String(spec.function)}`);
  let difes = 0;
  const needsStorage = Math.floor(storage / 2);
  while (
    Math.floor(needsStorage / 2 ** (4 * difes)) > 0 ||
    Math.floor(tariff / 2 ** (2 * difes)) > 0 ||
    Math.floor(subunit / 2 ** difes) > 0
  ) {
    difes++;
  }
  if (difes > MAX_DIFE) throw new EncodeError(`storage ${storage}, tariff ${tariff}, subunit ${subunit} need more than ${MAX_DIFE} DIFEs`);
  out.push((difes > 0 ? EXTENSION_BIT : 0) | (storage % 2 === 1 ? DIF_STORAGE_BIT : 0) | (fn << 4) | spec.dataField);
  for (let i = 0; i < difes; i++) {
    const s = Math.floor(needsStorage / 2 ** (4 * i)) % 16;
    const t = Math.floor(tariff / 2 ** (2 * i)) % 4;
    const u = Math.floor(subunit / 2 ** i) % 2;
    out.push((i < difes - 1 ? EXTENSION_BIT : 0) | (u << 6) | (t << 4) | s);
  }
  if (spec.vib.length === 0) throw new EncodeError('a data record needs a VIF');
  for (const b of spec.vib) if (!Number.isInteger(b) || b < 0 || b > 0xff) throw new EncodeError(`VIB byte ${String(b)} is not a byte`);
  for (let i = 0; i < spec.vib.length; i++) {
    const last = i === spec.vib.length - 1;
    if (((spec.vib[i]! & EXTENSION_BIT) !== 0) === last) {
      throw new EncodeError(`VIB ${toHex(Uint8Array.from(spec.vib))}: the E bit must be set on every byte but the last`);
    }
  }
  if (spec.vib.length - 1 > MAX_VIFE) throw new EncodeError(`more than ${MAX_VIFE} VIFEs`);
  out.push(spec.vib[0]!);
  if ((spec.vib[0]! & 0x7f) === VIF.PLAIN_TEXT) {
    const text = spec.plainText ?? '';
    if (text.length > MAX_PLAIN_TEXT_VIF || !/^[\x00-\xff]*$/.test(text)) throw new EncodeError('plain-text VIF must be at most 128 one-byte characters');
    out.push(text.length);
    for (let i = text.length - 1; i >= 0; i--) out.push(text.charCodeAt(i));
  } else if (spec.plainText !== undefined) {
    throw new EncodeError('plainText needs VIF 7C or FC');
  }
  out.push(...spec.vib.slice(1));
  out.push(...encodeValue(spec.dataField, spec.value));
  return Uint8Array.from(out);
}

function encodeValue(dataField: number, value: EncodableValue): number[] {
  const fixed = DATA_FIELD_LENGTHS[dataField]!;
  const mismatch = (): never => {
    throw new EncodeError(`a ${value.type} value does not go in data field ${dataField.toString(16).toUpperCase()}`);
  };
  switch (value.type) {
    case 'none':
      if (fixed !== 0) mismatch();
      return [];
    case 'integer': {
      if (![1, 2, 3, 4, 6, 7].includes(dataField)) mismatch();
      const v = BigInt(value.value);
      const bits = BigInt(8 * fixed);
      const min = -(1n << (bits - 1n));
      const max = (1n << bits) - 1n; // unsigned readings of the same bytes are accepted too
      if (v < min || v > max) throw new EncodeError(`${v} does not fit ${fixed} byte(s)`);
      const u = v < 0n ? v + (1n << bits) : v;
      return Array.from({ length: fixed }, (_, i) => Number((u >> BigInt(8 * i)) & 0xffn));
    }
    case 'real': {
      if (dataField !== DATA_FIELD.REAL32) mismatch();
      const b = new Uint8Array(4);
      new DataView(b.buffer).setFloat32(0, value.value, true);
      return [...b];
    }
    case 'bcd': {
      if (dataField === DATA_FIELD.VARIABLE) {
        const digits = String(Math.abs(value.value));
        const n = Math.ceil(digits.length / 2);
        if (!Number.isSafeInteger(value.value) || n > 9) throw new EncodeError(`${value.value} does not fit a variable-length BCD`);
        return [(value.value < 0 ? 0xd0 : 0xc0) + n, ...bcdBytes(Math.abs(value.value), n, false)];
      }
      if (![9, 10, 11, 12, 14].includes(dataField)) mismatch();
      return bcdBytes(value.value, fixed, true);
    }
    case 'date': {
      if (dataField !== DATA_FIELD.INT16) mismatch();
      if (!Number.isInteger(value.year) || value.year < 1981 || value.year > 2080) throw new EncodeError(`type G carries years 1981..2080, got ${String(value.year)}`);
      const y = value.year % 100;
      checkRange('month', value.month, 0, 15);
      checkRange('day', value.day, 0, 31);
      return [((y & 0x07) << 5) | value.day, ((y & 0x78) << 1) | value.month];
    }
    case 'dateTime': {
      if (dataField !== DATA_FIELD.INT32) mismatch();
      if (!Number.isInteger(value.year) || value.year < 1981 || value.year > 2299) throw new EncodeError(`type F carries years 1981..2299, got ${String(value.year)}`);
      const y = value.year % 100;
      checkRange('month', value.month, 0, 15);
      checkRange('day', value.day, 0, 31);
      checkRange('hour', value.hour, 0, 31);
      checkRange('minute', value.minute, 0, 63);
      // Hundred-year bits only where the two-digit rule of `fullYear` would read the year wrong.
      const hy = value.year <= 2080 ? 0 : Math.floor((value.year - 1900) / 100);
      return [
        (value.invalid ? 0x80 : 0) | value.minute,
        (value.summerTime ? 0x80 : 0) | (hy << 5) | value.hour,
        ((y & 0x07) << 5) | value.day,
        ((y & 0x78) << 1) | value.month,
      ];
    }
    case 'text': {
      if (dataField !== DATA_FIELD.VARIABLE) mismatch();
      if (value.value.length > 0xbf || !/^[\x00-\xff]*$/.test(value.value)) throw new EncodeError('variable-length text must be at most 191 one-byte characters');
      const out = [value.value.length];
      for (let i = value.value.length - 1; i >= 0; i--) out.push(value.value.charCodeAt(i));
      return out;
    }
    case 'bytes': {
      if (dataField !== DATA_FIELD.VARIABLE) mismatch();
      const n = value.bytes.length;
      let lvar: number;
      if (n <= 15) lvar = 0xe0 + n;
      else if (n % 4 === 0 && n >= 16 && n <= 32) lvar = 0xec + n / 4;
      else if (n === 48) lvar = 0xf5;
      else if (n === 64) lvar = 0xf6;
      else throw new EncodeError(`${n} binary bytes have no LVAR code (0..15, 16/20/24/28/32, 48, 64)`);
      return [lvar, ...value.bytes];
    }
  }
}

function checkRange(name: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new EncodeError(`${name} ${String(v)} is outside ${min}..${max}`);
}

/** Little-endian BCD of `n` bytes; a negative value puts F in the top nibble when `signed` (MBUS.md 8). */
function bcdBytes(value: number, n: number, signed: boolean): number[] {
  if (!Number.isSafeInteger(value)) throw new EncodeError(`BCD value must be an integer, got ${String(value)}`);
  const negative = value < 0;
  const digits = String(Math.abs(value));
  const capacity = 2 * n - (negative ? 1 : 0);
  if (negative && !signed) throw new EncodeError('negative BCD here needs LVAR D0..D9');
  if (digits.length > capacity) throw new EncodeError(`${value} does not fit ${n} BCD byte(s)`);
  const padded = digits.padStart(2 * n, '0');
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const hi = padded.charCodeAt(2 * n - 2 - 2 * i) - 48;
    const lo = padded.charCodeAt(2 * n - 1 - 2 * i) - 48;
    out.push((hi << 4) | lo);
  }
  if (negative) out[n - 1] = out[n - 1]! | 0xf0;
  return out;
}

/** Manufacturer-specific tail: 0F (or 1F when more records follow) then the bytes (MBUS.md 8, 11). */
export function encodeManufacturerData(data: Uint8Array, moreRecordsFollow = false): Uint8Array {
  const out = new Uint8Array(1 + data.length);
  out[0] = moreRecordsFollow ? DIF_MORE_RECORDS_FOLLOW : DIF_MANUFACTURER_SPECIFIC;
  out.set(data, 1);
  return out;
}

function hex2(b: number): string {
  return `${b.toString(16).toUpperCase().padStart(2, '0')}H`;
}
