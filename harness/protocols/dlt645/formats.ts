/**
 * DL/T 645 value formats: the standard's format strings ("XXXXXX.XX", "YYMMDDhhmm",
 * "NNNNNNNNNNNN", ...) turned into codecs for one value field. PROTOCOLS.md 1.9.
 *
 * Wire rules (all of them little-endian, least significant byte first, after −33H):
 * - X/N formats are BCD. The field's byte count sets the digits (2 per byte); the digits after the
 *   '.' in the format set the scale: "XXXXXX.XX" in 4 bytes, `56 34 12 00` → 1234.56.
 *   The format's own digit count is informational (1997 "XXX" voltage is 2 bytes: `00 01` → 100).
 * - Signed values carry the sign in the top bit of the most significant byte (the last byte on the
 *   wire) and the magnitude in BCD below it: "XXX.XXX" `00 50 81` → −15.000 [BK]. A negative zero
 *   decodes to −0 so that it re-encodes to the same bytes.
 * - N-only formats of 12 or more digits ("NNNNNNNNNNNN": address, meter number) decode to a digit
 *   string, most significant digit first: `08 02 02 41 22 00` → "002241020208". Shorter ones
 *   ("NNNN", "NNNNNN") decode to numbers.
 * - Date/time formats are one BCD byte per field, the last field first on the wire:
 *   "YYMMDDWW" `01 11 01 16` → {year: 2016, month: 1, day: 11, weekday: 1};
 *   "hhmmss" `55 53 21` → {hour: 21, minute: 53, second: 55}. Years are 2000 + YY. Zero months
 *   and days are accepted (empty event records are all zeros). Weekday 0 = Sunday.
 * - A BCD field sent as FF…FF decodes to the string "absent" (ABSENT_VALUE), and encoding
 *   "absent" writes FF…FF: the phase B/C voltages of a single-phase meter inside 0201FF00 [vec].
 * - encoding 'binary': little-endian unsigned integer (status words, baud feature words).
 * - encoding 'hex': opaque bytes as upper-case hex, most significant (last on the wire) first
 *   (passwords, operator codes C3..C0, data identifiers DI3..DI0 inside records).
 * - encoding 'bytes': opaque content as upper-case hex in wire order, first byte first (the parts
 *   of records whose layout no source gives): `01 02 03` → "010203".
 *
 * Decoding never throws on wire bytes. Error codes: `dlt645.bcd` (offset of the bad byte),
 * `dlt645.value-range` (a date/time field out of range; offset of that byte). Encoding a value
 * that does not fit throws EncodeError. Constructing a codec for an unknown format string is a
 * programmer error and throws Error.
 */
import { byteHex, writeUIntLE } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type { DataValue, ValueEncoding } from './dictionary-types.ts';

/** The decoded value of a BCD field sent as FF…FF (a value the meter does not have). */
export const ABSENT_VALUE = 'absent';

/** What a codec needs to know about one value field. */
export interface ValueFieldSpec {
  /** The standard's format string. */
  readonly format: string;
  /** Bytes on the wire. */
  readonly length: number;
  readonly signed?: boolean;
  readonly encoding?: ValueEncoding;
}

export type ValueFieldKind = 'decimal' | 'digits' | 'datetime' | 'binary' | 'hex' | 'bytes';

/** Date/time record keys, in the order the format strings name them. */
export type DateTimeFieldName = 'year' | 'month' | 'day' | 'weekday' | 'hour' | 'minute' | 'second';

/** Format tokens → record keys and the accepted range of the BCD byte. */
export const DATE_TIME_TOKENS: Readonly<Record<string, { readonly field: DateTimeFieldName; readonly min: number; readonly max: number }>> = {
  YY: { field: 'year', min: 0, max: 99 },
  MM: { field: 'month', min: 0, max: 12 },
  DD: { field: 'day', min: 0, max: 31 },
  WW: { field: 'weekday', min: 0, max: 6 },
  hh: { field: 'hour', min: 0, max: 23 },
  mm: { field: 'minute', min: 0, max: 59 },
  ss: { field: 'second', min: 0, max: 59 },
};

/** The full year of YY = 00 (years are 2000 + YY). */
export const TWO_DIGIT_YEAR_BASE = 2000;

export interface ValueFieldCodec {
  readonly spec: ValueFieldSpec;
  readonly kind: ValueFieldKind;
  /** Digits after the decimal point ('decimal' only; 0 otherwise). */
  readonly decimals: number;
  /** Record keys in format order ('datetime' only). */
  readonly dateFields: readonly DateTimeFieldName[];
  /** Whether FF…FF decodes to ABSENT_VALUE (the BCD kinds). */
  readonly absentAllowed: boolean;
  /**
   * Decodes `spec.length` bytes of `payload` at `offset` (the caller checked the length).
   * Error offsets are positions in `payload`.
   */
  decode(payload: Uint8Array, offset: number): Result<DataValue, DecodeError>;
  /** Throws EncodeError when the value does not fit the field. */
  encode(value: DataValue): Uint8Array;
  /** Human text of a value, without unit ("1234.56", "2016-01-11 (weekday 1)", "0010H"). */
  text(value: DataValue): string;
}

const DATE_TIME_FORMAT = /^(YY|MM|DD|WW|hh|mm|ss)+$/;
const DECIMAL_FORMAT = /^([XN]+)(?:\.([XN]+))?$/;
/** N-only formats at least this long are identifiers: decoded to a digit string. */
const DIGIT_STRING_MIN_DIGITS = 12;

const cache = new Map<string, ValueFieldCodec>();

/** The codec for one value field. Memoised; throws Error for a format it does not know. */
export function valueFieldCodec(spec: ValueFieldSpec): ValueFieldCodec {
  const key = `${spec.format}/${spec.length}/${spec.signed === true ? 's' : 'u'}/${spec.encoding ?? 'bcd'}`;
  let codec = cache.get(key);
  if (codec === undefined) {
    codec = buildCodec(spec);
    cache.set(key, codec);
  }
  return codec;
}

function buildCodec(given: ValueFieldSpec): ValueFieldCodec {
  // Keep only the codec's own fields: callers pass whole definitions.
  const spec: ValueFieldSpec = Object.freeze({
    format: given.format,
    length: given.length,
    ...(given.signed === true ? { signed: true } : {}),
    ...(given.encoding === undefined || given.encoding === 'bcd' ? {} : { encoding: given.encoding }),
  });
  const { format, length } = spec;
  if (!Number.isInteger(length) || length < 1) throw new Error(`format ${format}: bad length ${length}`);
  const encoding = spec.encoding ?? 'bcd';
  if (encoding === 'binary') {
    if (length > 6) throw new Error(`format ${format}: binary fields are at most 6 bytes`);
    return binaryCodec(spec);
  }
  if (encoding === 'hex') return hexCodec(spec, false);
  if (encoding === 'bytes') return hexCodec(spec, true);
  if (DATE_TIME_FORMAT.test(format)) {
    const tokens = format.match(/YY|MM|DD|WW|hh|mm|ss/g) ?? [];
    if (tokens.length !== length) throw new Error(`format ${format}: ${tokens.length} fields but ${length} bytes`);
    if (spec.signed === true) throw new Error(`format ${format}: date/time fields are not signed`);
    return dateTimeCodec(spec, tokens);
  }
  const m = DECIMAL_FORMAT.exec(format);
  if (m !== null) {
    const intDigits = m[1]!.length;
    const decimals = m[2]?.length ?? 0;
    if (intDigits + decimals > length * 2) throw new Error(`format ${format}: more digits than ${length} bytes hold`);
    if (/^N+$/.test(format) && intDigits >= DIGIT_STRING_MIN_DIGITS) {
      if (spec.signed === true) throw new Error(`format ${format}: digit strings are not signed`);
      return digitsCodec(spec);
    }
    if (length > 7) throw new Error(`format ${format}: decimal fields are at most 7 bytes`);
    return decimalCodec(spec, decimals);
  }
  throw new Error(`unsupported DL/T 645 format string "${format}"`);
}

// ---------------------------------------------------------------------------------------------
// shared helpers

function isBcd(b: number): boolean {
  return (b & 0x0f) <= 9 && b >> 4 <= 9;
}

function allFF(payload: Uint8Array, offset: number, length: number): boolean {
  for (let i = offset; i < offset + length; i++) if (payload[i] !== 0xff) return false;
  return true;
}

function bcdError(payload: Uint8Array, at: number, format: string): DecodeError {
  return decodeError('dlt645.bcd', `byte ${byteHex(payload[at] ?? 0)} at offset ${at} is not BCD (format ${format})`, at);
}

function absentBytes(length: number): Uint8Array {
  return new Uint8Array(length).fill(0xff);
}

function show(value: DataValue): string {
  return JSON.stringify(value);
}

function isRecord(value: DataValue): value is { readonly [field: string]: DataValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

// ---------------------------------------------------------------------------------------------
// scaled decimals: "XXXXXX.XX", "XXX.X", "XX.XXXX", "NNNN", "XXXXXX", ...

function decimalCodec(spec: ValueFieldSpec, decimals: number): ValueFieldCodec {
  const { format, length } = spec;
  const signed = spec.signed === true;
  const scale = 10 ** decimals;
  const digits = length * 2;
  // Signed: the top nibble keeps 3 bits of magnitude (0..7) under the sign bit.
  const maxRaw = signed ? 8 * 10 ** (digits - 1) - 1 : 10 ** digits - 1;
  return {
    spec,
    kind: 'decimal',
    decimals,
    dateFields: [],
    absentAllowed: true,
    decode(payload, offset) {
      if (allFF(payload, offset, length)) return ok(ABSENT_VALUE);
      let raw = 0;
      let negative = false;
      for (let i = offset + length - 1; i >= offset; i--) {
        let b = payload[i]!;
        if (signed && i === offset + length - 1) {
          negative = (b & 0x80) !== 0;
          b &= 0x7f;
        }
        if (!isBcd(b)) return err(bcdError(payload, i, format));
        raw = raw * 100 + (b >> 4) * 10 + (b & 0x0f);
      }
      const magnitude = raw / scale;
      return ok(negative ? -magnitude : magnitude);
    },
    encode(value) {
      if (value === ABSENT_VALUE) return absentBytes(length);
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new EncodeError(`format ${format} needs a number or "${ABSENT_VALUE}", got ${show(value)}`);
      }
      const negative = value < 0 || Object.is(value, -0);
      if (negative && !signed) throw new EncodeError(`format ${format} is unsigned, got ${value}`);
      const scaled = Math.abs(value) * scale;
      const raw = Math.round(scaled);
      // Tolerate the rounding of a double (a few ulps), nothing more: 1.005 with 2 decimals throws.
      if (Math.abs(scaled - raw) > 1e-7 + scaled * 1e-15) {
        throw new EncodeError(`${value} has more than ${decimals} decimals (format ${format})`);
      }
      if (raw > maxRaw) throw new EncodeError(`${value} does not fit format ${format} in ${length} bytes`);
      const text = String(raw).padStart(digits, '0');
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        const hi = text.charCodeAt(digits - 2 * i - 2) - 48;
        const lo = text.charCodeAt(digits - 2 * i - 1) - 48;
        out[i] = (hi << 4) | lo;
      }
      if (negative) out[length - 1]! |= 0x80;
      return out;
    },
    text(value) {
      if (value === ABSENT_VALUE) return ABSENT_VALUE;
      if (typeof value !== 'number') return show(value);
      const t = Math.abs(value).toFixed(decimals);
      return value < 0 || Object.is(value, -0) ? `-${t}` : t;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// digit strings: "NNNNNNNNNNNN"

function digitsCodec(spec: ValueFieldSpec): ValueFieldCodec {
  const { format, length } = spec;
  return {
    spec,
    kind: 'digits',
    decimals: 0,
    dateFields: [],
    absentAllowed: true,
    decode(payload, offset) {
      if (allFF(payload, offset, length)) return ok(ABSENT_VALUE);
      let out = '';
      for (let i = offset + length - 1; i >= offset; i--) {
        const b = payload[i]!;
        if (!isBcd(b)) return err(bcdError(payload, i, format));
        out += String(b >> 4) + String(b & 0x0f);
      }
      return ok(out);
    },
    encode(value) {
      if (value === ABSENT_VALUE) return absentBytes(length);
      if (typeof value !== 'string' || !/^\d+$/.test(value) || value.length > length * 2) {
        throw new EncodeError(`format ${format} needs at most ${length * 2} decimal digits, got ${show(value)}`);
      }
      const text = value.padStart(length * 2, '0');
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i++) {
        const hi = text.charCodeAt(text.length - 2 * i - 2) - 48;
        const lo = text.charCodeAt(text.length - 2 * i - 1) - 48;
        out[i] = (hi << 4) | lo;
      }
      return out;
    },
    text(value) {
      return typeof value === 'string' ? value : show(value);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// date/time: "YYMMDDWW", "hhmmss", "YYMMDDhhmm", "YYMMDDhhmmss", "MMDDhhmm", "DDhh", "hhmm"

function dateTimeCodec(spec: ValueFieldSpec, tokens: readonly string[]): ValueFieldCodec {
  const { format, length } = spec;
  const fields = tokens.map((t) => DATE_TIME_TOKENS[t]!);
  const names = fields.map((f) => f.field);
  return {
    spec,
    kind: 'datetime',
    decimals: 0,
    dateFields: names,
    absentAllowed: true,
    decode(payload, offset) {
      if (allFF(payload, offset, length)) return ok(ABSENT_VALUE);
      const out: Record<string, number> = {};
      for (let k = 0; k < fields.length; k++) {
        // The last field in the format is the first byte on the wire.
        const at = offset + length - 1 - k;
        const b = payload[at]!;
        if (!isBcd(b)) return err(bcdError(payload, at, format));
        const v = (b >> 4) * 10 + (b & 0x0f);
        const f = fields[k]!;
        if (v < f.min || v > f.max) {
          return err(decodeError('dlt645.value-range', `${f.field} ${v} at offset ${at} is out of range ${f.min}..${f.max} (format ${format})`, at));
        }
        out[f.field] = f.field === 'year' ? TWO_DIGIT_YEAR_BASE + v : v;
      }
      return ok(out);
    },
    encode(value) {
      if (value === ABSENT_VALUE) return absentBytes(length);
      if (!isRecord(value)) throw new EncodeError(`format ${format} needs a record {${names.join(', ')}}, got ${show(value)}`);
      const out = new Uint8Array(length);
      for (let k = 0; k < fields.length; k++) {
        const f = fields[k]!;
        const v = value[f.field];
        if (typeof v !== 'number' || !Number.isInteger(v)) {
          throw new EncodeError(`format ${format}: ${f.field} must be an integer, got ${show(v ?? 'nothing')}`);
        }
        const wire = f.field === 'year' ? v - TWO_DIGIT_YEAR_BASE : v;
        if (wire < f.min || wire > f.max) {
          const range = f.field === 'year' ? `${TWO_DIGIT_YEAR_BASE}..${TWO_DIGIT_YEAR_BASE + 99}` : `${f.min}..${f.max}`;
          throw new EncodeError(`format ${format}: ${f.field} ${v} is out of range ${range}`);
        }
        out[length - 1 - k] = ((wire / 10) << 4) | wire % 10;
      }
      return out;
    },
    text(value) {
      if (value === ABSENT_VALUE) return ABSENT_VALUE;
      if (!isRecord(value)) return show(value);
      const n = (f: DateTimeFieldName): number | undefined => (typeof value[f] === 'number' ? (value[f] as number) : undefined);
      const year = n('year');
      const month = n('month');
      const day = n('day');
      const hour = n('hour');
      const minute = n('minute');
      const second = n('second');
      const weekday = n('weekday');
      const parts: string[] = [];
      if (year !== undefined && month !== undefined && day !== undefined) parts.push(`${pad(year, 4)}-${pad(month)}-${pad(day)}`);
      else if (month !== undefined && day !== undefined) parts.push(`${pad(month)}-${pad(day)}`);
      else if (day !== undefined) parts.push(`day ${pad(day)}`);
      if (hour !== undefined && minute !== undefined) parts.push(second !== undefined ? `${pad(hour)}:${pad(minute)}:${pad(second)}` : `${pad(hour)}:${pad(minute)}`);
      else if (hour !== undefined) parts.push(`${pad(hour)}h`);
      if (weekday !== undefined) parts.push(`(weekday ${weekday})`);
      return parts.join(' ');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// binary words and opaque hex

function binaryCodec(spec: ValueFieldSpec): ValueFieldCodec {
  const { format, length } = spec;
  const max = 2 ** (8 * length) - 1;
  return {
    spec,
    kind: 'binary',
    decimals: 0,
    dateFields: [],
    absentAllowed: false,
    decode(payload, offset) {
      let v = 0;
      for (let i = offset + length - 1; i >= offset; i--) v = v * 256 + payload[i]!;
      return ok(v);
    },
    encode(value) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
        throw new EncodeError(`format ${format} (${length}-byte word) needs an integer 0..${max}, got ${show(value)}`);
      }
      return writeUIntLE(value, length);
    },
    text(value) {
      return typeof value === 'number' ? `${value.toString(16).toUpperCase().padStart(length * 2, '0')}H` : show(value);
    },
  };
}

/** 'hex' (most significant = last on the wire, first) or, with `wireOrder`, 'bytes' (first byte first). */
function hexCodec(spec: ValueFieldSpec, wireOrder: boolean): ValueFieldCodec {
  const { format, length } = spec;
  return {
    spec,
    kind: wireOrder ? 'bytes' : 'hex',
    decimals: 0,
    dateFields: [],
    absentAllowed: false,
    decode(payload, offset) {
      return ok(bytesToHex(payload, offset, length, wireOrder));
    },
    encode(value) {
      if (typeof value !== 'string' || value.length !== length * 2 || !/^[0-9A-Fa-f]*$/.test(value)) {
        throw new EncodeError(`format ${format} needs exactly ${length * 2} hex digits, got ${show(value)}`);
      }
      return hexToBytes(value, wireOrder);
    },
    text(value) {
      return typeof value === 'string' ? value.toUpperCase() : show(value);
    },
  };
}

/** Upper-case hex of `length` bytes at `offset`: wire order, or last byte first. */
export function bytesToHex(payload: Uint8Array, offset: number, length: number, wireOrder: boolean): string {
  let out = '';
  if (wireOrder) for (let i = offset; i < offset + length; i++) out += byteHex(payload[i]!);
  else for (let i = offset + length - 1; i >= offset; i--) out += byteHex(payload[i]!);
  return out;
}

/** The bytes of an even-length hex string (checked by the caller): wire order, or last byte first. */
export function hexToBytes(value: string, wireOrder: boolean): Uint8Array {
  const n = value.length / 2;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const at = wireOrder ? 2 * i : value.length - 2 * i - 2;
    out[i] = Number.parseInt(value.slice(at, at + 2), 16);
  }
  return out;
}
