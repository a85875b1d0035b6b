/**
 * Binary-coded decimal helpers. The metering protocols put multi-byte BCD values on the wire
 * low byte first (DL/T 645-2007 and CJ/T 188: "低字节在前"); these helpers follow that order.
 */
import { EncodeError } from './errors.ts';

export function isBcdByte(b: number): boolean {
  return (b & 0x0f) <= 9 && b >> 4 <= 9;
}

export function bcdByteToNumber(b: number): number {
  return (b >> 4) * 10 + (b & 0x0f);
}

export function numberToBcdByte(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 99) throw new EncodeError(`cannot encode ${n} as one BCD byte`);
  return ((n / 10) << 4) | n % 10;
}

/**
 * Decimal digits of a little-endian BCD field, most significant digit first
 * (`12 90 78 56 34 12` -> `"123456789012"`). Returns null when a nibble is not 0-9.
 */
export function bcdLeToDigits(bytes: Uint8Array): string | null {
  let out = '';
  for (let i = bytes.length - 1; i >= 0; i--) {
    const b = bytes[i]!;
    if (!isBcdByte(b)) return null;
    out += String(b >> 4) + String(b & 0x0f);
  }
  return out;
}

/** Inverse of `bcdLeToDigits`: `"123456789012"`, 6 -> `12 90 78 56 34 12`. */
export function digitsToBcdLe(digits: string, length: number): Uint8Array {
  if (!/^\d*$/.test(digits) || digits.length > length * 2) {
    throw new EncodeError(`"${digits}" is not at most ${length * 2} decimal digits`);
  }
  const padded = digits.padStart(length * 2, '0');
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    const hi = padded.charCodeAt(padded.length - 2 * i - 2) - 48;
    const lo = padded.charCodeAt(padded.length - 2 * i - 1) - 48;
    out[i] = (hi << 4) | lo;
  }
  return out;
}

/** Unsigned integer of a little-endian BCD field, or null when a nibble is not 0-9. */
export function bcdLeToNumber(bytes: Uint8Array): number | null {
  const d = bcdLeToDigits(bytes);
  return d === null ? null : Number(d);
}

export function numberToBcdLe(value: number, length: number): Uint8Array {
  if (!Number.isInteger(value) || value < 0) throw new EncodeError(`cannot encode ${value} as unsigned BCD`);
  return digitsToBcdLe(String(value), length);
}
