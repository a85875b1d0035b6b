/** Byte helpers. Hex is written upper-case, bytes separated by one space (as in the standards' examples). */
import { decodeError, type DecodeError } from './errors.ts';
import { err, ok, type Result } from './result.ts';

const HEX = '0123456789ABCDEF';

export function toHex(bytes: Uint8Array, separator = ' '): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (i > 0) out += separator;
    out += HEX[b >> 4]! + HEX[b & 0x0f]!;
  }
  return out;
}

export function byteHex(b: number): string {
  return HEX[(b >> 4) & 0x0f]! + HEX[b & 0x0f]!;
}

/**
 * Parses hex text such as `68 AA AA 16`, `68aaaa16`, `0x68,0xAA` or `68:AA`.
 * Separators (white space, `,`, `:`, `-`) and `0x` prefixes are ignored.
 * Returns a `DecodeError` (code `hex.*`, offset = character index) for anything else.
 */
export function parseHex(text: string): Result<Uint8Array, DecodeError> {
  const digits: number[] = [];
  const positions: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
      // A 0x prefix only when it starts a byte (not the second nibble of "10x..").
      if (digits.length % 2 === 0) {
        i++;
        continue;
      }
    }
    if (/\s|,|:|-/.test(c)) {
      if (digits.length % 2 !== 0) {
        return err(decodeError('hex.split-byte', `hex byte split by a separator at character ${i}`, i));
      }
      continue;
    }
    const v = HEX.indexOf(c.toUpperCase());
    if (v < 0) return err(decodeError('hex.invalid-character', `invalid hex character '${c}' at character ${i}`, i));
    digits.push(v);
    positions.push(i);
  }
  if (digits.length === 0) return err(decodeError('hex.empty', 'no hex digits', 0));
  if (digits.length % 2 !== 0) {
    return err(decodeError('hex.odd-length', `odd number of hex digits (${digits.length})`, positions[positions.length - 1]!));
  }
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = (digits[2 * i]! << 4) | digits[2 * i + 1]!;
  return ok(out);
}

/** Parses hex that the program itself wrote (tests, fixtures). Throws on bad input. */
export function hex(text: string): Uint8Array {
  const r = parseHex(text);
  if (!r.ok) throw new Error(`bad hex literal: ${r.error.message}`);
  return r.value;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Little-endian unsigned integer of `bytes` (at most 6 bytes, so it stays exact). */
export function readUIntLE(bytes: Uint8Array, offset = 0, length = bytes.length - offset): number {
  let v = 0;
  for (let i = length - 1; i >= 0; i--) v = v * 256 + bytes[offset + i]!;
  return v;
}

export function writeUIntLE(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = 0; i < length; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}
