/**
 * Data formats of Q/GDW 1376.1 appendix A used by the dictionary (PROTOCOLS.md 3.9). All
 * multi-byte fields are low byte first. From the notes: A.1 clock ss mm hh DD (week << 5 | month)
 * YY; A.15 mm hh DD MM YY; A.11 XXXXXX.XX (4 BCD); A.14 XXXXXX.XXXX (5 BCD). Marked [BK]
 * (background knowledge, not in a source read): A.12 (12-digit address, 6 BCD), A.20 (DD MM YY),
 * A.13 XXXX.XXXX (4 BCD), A.7 XXX.X (2 BCD), A.9 XX.XXXX (3 BCD, signed), A.26 X.XXX (2 BCD),
 * the century 20YY, and "every byte FFH = no data" (decoded as null, encoded back as FFH); the
 * points of a curve use EEH as their fill instead (`eeFilled`).
 *
 * Decoding a field returns its value, or a typed error when a digit is not BCD; it never throws.
 * Encoding a bad value throws EncodeError.
 */
import { bcdLeToDigits, digitsToBcdLe } from '../../core/bcd.ts';
import { byteHex, readUIntLE, toHex, writeUIntLE } from '../../core/bytes.ts';
import { EncodeError } from '../../core/errors.ts';

/** A clock in A.1: the time as text and the week day (1..7, 0 = not given). */
export interface ClockA1 {
  /** "YYYY-MM-DD hh:mm:ss" (century 20 [BK]). */
  readonly time: string;
  readonly week: number;
}

export type FieldValue = number | string | ClockA1 | null;

export interface Format {
  /** "A.1", "A.11", "BIN", "ASCII", "BYTES". */
  readonly id: string;
  readonly length: number;
  readonly description: string;
  /** The value, or null for all FFH (no data); undefined when the bytes are not valid for the format. */
  decode(bytes: Uint8Array, at: number): FieldValue | undefined;
  encode(value: FieldValue): Uint8Array;
  /** Whether the format's definition is background knowledge. */
  readonly bk: boolean;
}

/** Every byte of the field is `fill` (FFH: no data; EEH: no data in a curve, `eeFilled`). */
function allOf(bytes: Uint8Array, at: number, length: number, fill: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[at + i] !== fill) return false;
  return true;
}

function ffs(length: number): Uint8Array {
  return new Uint8Array(length).fill(0xff);
}

/**
 * BCD number with `decimals` digits after the point. `signed`: the sign in D7 of the most
 * significant byte (the last on the wire), the magnitude in BCD below it, as DL/T 645's signed
 * fields ("XX.XXXX" `00 50 81` = -15.0000 [BK]); a negative zero decodes to -0 so that it encodes
 * back to the same bytes (JSON shows it as 0).
 */
function bcdNumber(id: string, length: number, decimals: number, description: string, bk: boolean, signed = false): Format {
  const scale = 10 ** decimals;
  // Signed, the top byte keeps 3 bits of magnitude (0..7) under the sign bit.
  const maxScaled = signed ? 8 * 10 ** (2 * length - 1) - 1 : 10 ** (2 * length) - 1;
  return {
    id,
    length,
    description,
    bk,
    decode(bytes, at) {
      if (allOf(bytes, at, length, 0xff)) return null;
      const top = bytes[at + length - 1]!;
      let magnitude = bytes.subarray(at, at + length);
      if (signed) {
        magnitude = Uint8Array.from(magnitude);
        magnitude[length - 1] = top & 0x7f;
      }
      const d = bcdLeToDigits(magnitude);
      if (d === null) return undefined;
      const v = Number(d) / scale;
      return signed && (top & 0x80) !== 0 ? -v : v;
    },
    encode(value) {
      if (value === null) return ffs(length);
      if (typeof value !== 'number' || !Number.isFinite(value) || (!signed && value < 0)) {
        throw new EncodeError(`${id} needs a ${signed ? '' : 'non-negative '}number or null, got ${JSON.stringify(value)}`);
      }
      const negative = signed && (value < 0 || Object.is(value, -0));
      const scaled = Math.round(Math.abs(value) * scale);
      if (scaled > maxScaled) throw new EncodeError(`${value} does not fit ${id} (${description})`);
      const out = digitsToBcdLe(String(scaled), length);
      if (negative) out[length - 1]! |= 0x80;
      return out;
    },
  };
}

/** Date/time fields as text: BCD bytes (low first) rendered by a pattern. */
function bcdText(id: string, parts: readonly ('ss' | 'mm' | 'hh' | 'DD' | 'MM' | 'YY')[], pattern: string, bk: boolean): Format {
  const length = parts.length;
  const re = new RegExp(`^${pattern.replace('YYYY', '20(\\d\\d)').replace(/ss|mm|hh|DD|MM/g, (k) => `(?<${k}>\\d\\d)`)}$`);
  return {
    id,
    length,
    description: pattern,
    bk,
    decode(bytes, at) {
      if (allOf(bytes, at, length, 0xff)) return null;
      const digits: Record<string, string> = {};
      for (let i = 0; i < length; i++) {
        const d = bcdLeToDigits(bytes.subarray(at + i, at + i + 1));
        if (d === null) return undefined;
        digits[parts[i]!] = d;
      }
      return pattern.replace('YYYY', `20${digits.YY ?? '00'}`).replace(/ss|mm|hh|DD|MM/g, (k) => digits[k]!);
    },
    encode(value) {
      if (value === null) return ffs(length);
      const m = typeof value === 'string' ? re.exec(value) : null;
      if (!m) throw new EncodeError(`${id} needs text like "${pattern}" or null, got ${JSON.stringify(value)}`);
      const yy = m[1]!;
      const g = m.groups ?? {};
      return Uint8Array.from(parts, (p) => parseInt(p === 'YY' ? yy : g[p]!, 16));
    },
  };
}

/** A.1 (PROTOCOLS.md 3.9): ss mm hh DD (week << 5 | month BCD) YY. */
export const A1: Format = {
  id: 'A.1',
  length: 6,
  description: 'ss mm hh DD WM YY (week in D7-D5 of the month byte)',
  bk: false,
  decode(bytes, at) {
    if (allOf(bytes, at, 6, 0xff)) return null;
    const month = bytes[at + 4]! & 0x1f;
    for (const b of [bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!, month, bytes[at + 5]!]) {
      if ((b & 0x0f) > 9 || b >> 4 > 9) return undefined;
    }
    const t = (b: number): string => byteHex(b);
    return { time: `20${t(bytes[at + 5]!)}-${t(month)}-${t(bytes[at + 3]!)} ${t(bytes[at + 2]!)}:${t(bytes[at + 1]!)}:${t(bytes[at]!)}`, week: bytes[at + 4]! >> 5 };
  },
  encode(value) {
    if (value === null) return ffs(6);
    const v = value as ClockA1;
    const m = typeof v === 'object' && typeof v.time === 'string' ? /^20(\d\d)-([01]\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(v.time) : null;
    if (!m || !Number.isInteger(v.week) || v.week < 0 || v.week > 7) throw new EncodeError(`A.1 needs { time: "YYYY-MM-DD hh:mm:ss", week: 0..7 }, got ${JSON.stringify(value)}`);
    const b = (s: string): number => parseInt(s, 16);
    return Uint8Array.of(b(m[6]!), b(m[5]!), b(m[4]!), b(m[3]!), (v.week << 5) | b(m[2]!), b(m[1]!));
  },
};

/** EEH: the fill of a missing data item part (Q/GDW 1376.1, COL-12 contract) [BK]. */
export const NO_DATA_FILL = 0xee;

/**
 * The same format with EEH as its "no data" fill: every byte EEH decodes to null and null encodes
 * to EEH (the fill of a data item's missing part, used for the points of a curve that fall on no
 * record, contract of COL-12 [BK]). All FFH is then not a value of the format (undefined, a
 * `gw1376.bcd` error): accepting both fills as null would not encode back to the bytes received.
 */
export function eeFilled(format: Format): Format {
  const length = format.length;
  return {
    id: format.id,
    length,
    description: `${format.description}; EEH = no data`,
    bk: format.bk,
    decode(bytes, at) {
      if (allOf(bytes, at, length, NO_DATA_FILL)) return null;
      const v = format.decode(bytes, at);
      return v === null ? undefined : v;
    },
    encode(value) {
      return value === null ? new Uint8Array(length).fill(NO_DATA_FILL) : format.encode(value);
    },
  };
}

export const A11 = bcdNumber('A.11', 4, 2, 'XXXXXX.XX (4 BCD), kWh/kvarh', false);
/** A.9 [BK]: XX.XXXX kW, 3 BCD, signed (sign in D7 of the last byte), e.g. active power. */
export const A9 = bcdNumber('A.9', 3, 4, 'XX.XXXX (3 BCD, sign in D7 of the high byte), kW [BK]', true, true);
export const A13 = bcdNumber('A.13', 4, 4, 'XXXX.XXXX (4 BCD) [BK]', true);
export const A14 = bcdNumber('A.14', 5, 4, 'XXXXXX.XXXX (5 BCD), kWh or yuan', false);
export const A7 = bcdNumber('A.7', 2, 1, 'XXX.X (2 BCD) [BK]', true);
export const A15 = bcdText('A.15', ['mm', 'hh', 'DD', 'MM', 'YY'], 'YYYY-MM-DD hh:mm', false);
export const A20 = bcdText('A.20', ['DD', 'MM', 'YY'], 'YYYY-MM-DD', true);

/** A.12 [BK]: a 12-digit address (meter, collector), 6 BCD low first, shown most significant first. */
export const A12: Format = {
  id: 'A.12',
  length: 6,
  description: '12-digit address, 6 BCD low byte first [BK]',
  bk: true,
  decode(bytes, at) {
    return bcdLeToDigits(bytes.subarray(at, at + 6)) ?? undefined;
  },
  encode(value) {
    if (typeof value !== 'string' || !/^\d{12}$/.test(value)) throw new EncodeError(`A.12 needs 12 decimal digits, got ${JSON.stringify(value)}`);
    return digitsToBcdLe(value, 6);
  },
};

/**
 * ML.7, MeterLab's: a 14-digit meter address, 7 BCD low byte first (the address field of CJ/T 188,
 * which A.12 cannot hold), shown most significant first. Used only by the four-meter extension
 * (F249, docs/protocols/meterlab-four-meter-1376.md): GAP-12, the four-meter extension of 1376.1
 * is not public.
 */
export const ML7: Format = {
  id: 'ML.7',
  length: 7,
  description: "14-digit address, 7 BCD low byte first (MeterLab's, for CJ/T 188 and M-Bus points)",
  bk: true,
  decode(bytes, at) {
    return bcdLeToDigits(bytes.subarray(at, at + 7)) ?? undefined;
  },
  encode(value) {
    if (typeof value !== 'string' || !/^\d{14}$/.test(value)) throw new EncodeError(`ML.7 needs 14 decimal digits, got ${JSON.stringify(value)}`);
    return digitsToBcdLe(value, 7);
  },
};

/** Unsigned binary, low byte first. */
export function bin(length: number): Format {
  const max = 2 ** (8 * length);
  return {
    id: 'BIN',
    length,
    description: `${length}-byte unsigned binary, low byte first`,
    bk: false,
    decode: (bytes, at) => readUIntLE(bytes, at, length),
    encode(value) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= max) throw new EncodeError(`BIN${length} needs an integer 0..${max - 1}, got ${JSON.stringify(value)}`);
      return writeUIntLE(value, length);
    },
  };
}

/** Opaque bytes of a fixed length, as hex text. */
export function bytesOf(length: number, description = 'opaque bytes'): Format {
  return {
    id: 'BYTES',
    length,
    description,
    bk: false,
    decode: (bytes, at) => toHex(bytes.subarray(at, at + length)),
    encode(value) {
      const hexText = typeof value === 'string' ? value.replace(/\s+/g, '') : '';
      if (hexText.length !== 2 * length || !/^[0-9A-Fa-f]*$/.test(hexText)) throw new EncodeError(`${length} byte(s) as hex needed, got ${JSON.stringify(value)}`);
      return Uint8Array.from({ length }, (_, i) => parseInt(hexText.slice(2 * i, 2 * i + 2), 16));
    },
  };
}

/**
 * ASCII text of a fixed length (terminal version strings). Decoded as hex when a byte is not
 * printable ASCII, so that every byte string round-trips: text is prefixed "ascii:", bytes "hex:".
 */
export function ascii(length: number): Format {
  return {
    id: 'ASCII',
    length,
    description: `${length} ASCII characters`,
    bk: false,
    decode(bytes, at) {
      let s = '';
      for (let i = 0; i < length; i++) {
        const b = bytes[at + i]!;
        if (b < 0x20 || b > 0x7e) return `hex:${toHex(bytes.subarray(at, at + length), '')}`;
        s += String.fromCharCode(b);
      }
      return `ascii:${s}`;
    },
    encode(value) {
      if (typeof value === 'string' && value.startsWith('ascii:') && value.length === 6 + length && /^[\x20-\x7e]*$/.test(value.slice(6))) {
        return Uint8Array.from(value.slice(6), (c) => c.charCodeAt(0));
      }
      if (typeof value === 'string' && value.startsWith('hex:')) return bytesOf(length).encode(value.slice(4));
      throw new EncodeError(`ASCII${length} needs "ascii:" + ${length} printable characters or "hex:" + ${2 * length} hex digits, got ${JSON.stringify(value)}`);
    },
  };
}
