/**
 * Manufacturer codes and secondary addressing (MBUS.md 6, 7).
 *
 * A secondary address is bytes 0-7 of the long header: identification number (8 BCD digits, least
 * significant byte first), manufacturer (2 bytes, little-endian), version, medium. The selection
 * telegram (SND_UD to FD, CI 52) carries the same 8 bytes, where any ID nibble F, manufacturer
 * FFFF, version FF or medium FF is a wildcard.
 */
import { toHex } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { SELECTION_LENGTH } from './constants.ts';

/** Three letters of a manufacturer value: each (ASCII - 64) in 5 bits, first letter in bits 14-10 (MBUS.md 7). */
export function manufacturerCode(value: number): string {
  const v = value & 0xffff;
  return String.fromCharCode((((v >> 10) & 0x1f) + 64), (((v >> 5) & 0x1f) + 64), ((v & 0x1f) + 64));
}

/** Inverse of `manufacturerCode`: "KAM" -> 0x2C2D. Throws EncodeError unless three letters A-Z. */
export function manufacturerValue(code: string): number {
  if (!/^[A-Z]{3}$/.test(code)) throw new EncodeError(`manufacturer code must be three letters A-Z, got ${JSON.stringify(code)}`);
  return ((code.charCodeAt(0) - 64) << 10) | ((code.charCodeAt(1) - 64) << 5) | (code.charCodeAt(2) - 64);
}

export interface SecondaryAddress {
  /** 8 characters, most significant digit first: 0-9, or F as a wildcard (selection) / non-BCD nibble. */
  readonly id: string;
  /** 0..FFFF; FFFF is the wildcard in a selection. */
  readonly manufacturer: number;
  /** 0..FF; FF is the wildcard in a selection. */
  readonly version: number;
  /** 0..FF; FF is the wildcard in a selection. */
  readonly medium: number;
}

const WILDCARD_MANUFACTURER = 0xffff;
const WILDCARD_BYTE = 0xff;

/** The 8 bytes of a secondary address in wire order (the CI 52 data; MBUS.md 6). Throws EncodeError. */
export function encodeSecondaryAddress(a: SecondaryAddress): Uint8Array {
  if (typeof a.id !== 'string' || !/^[0-9F]{8}$/i.test(a.id)) throw new EncodeError(`identification must be 8 characters 0-9 or F, got ${JSON.stringify(a.id)}`);
  for (const [name, v, max] of [['manufacturer', a.manufacturer, 0xffff], ['version', a.version, 0xff], ['medium', a.medium, 0xff]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(`${name} must be 0..${max.toString(16).toUpperCase()}H, got ${String(v)}`);
  }
  const id = a.id.toUpperCase();
  const out = new Uint8Array(SELECTION_LENGTH);
  for (let i = 0; i < 4; i++) out[i] = parseInt(id.slice(6 - 2 * i, 8 - 2 * i), 16);
  out[4] = a.manufacturer & 0xff;
  out[5] = a.manufacturer >> 8;
  out[6] = a.version;
  out[7] = a.medium;
  return out;
}

/**
 * Reads 8 bytes as a secondary address. `mbus.selection-id` (offset of the byte) when an ID
 * nibble is neither 0-9 nor F. `base` is added to offsets.
 */
export function decodeSecondaryAddress(bytes: Uint8Array, from = 0, base = 0): Result<SecondaryAddress, DecodeError> {
  if (from + SELECTION_LENGTH > bytes.length) {
    return err(decodeError('mbus.selection-length', `a secondary address is ${SELECTION_LENGTH} bytes, ${bytes.length - from} present`, base + bytes.length));
  }
  let id = '';
  for (let i = 3; i >= 0; i--) {
    const b = bytes[from + i]!;
    for (const nibble of [b >> 4, b & 0x0f]) {
      if (nibble > 9 && nibble !== 0xf) {
        return err(decodeError('mbus.selection-id', `identification byte ${toHex(Uint8Array.of(b))} holds a nibble that is neither 0-9 nor F`, base + from + i));
      }
    }
    id += toHex(Uint8Array.of(b));
  }
  return ok({ id, manufacturer: bytes[from + 4]! | (bytes[from + 5]! << 8), version: bytes[from + 6]!, medium: bytes[from + 7]! });
}

/**
 * libmbus's 16-character form (MBUS.md 6): ID digits as printed, then the manufacturer bytes in
 * WIRE order (KAM = 2C2D is written 2D2C), version, medium: `068558172D2C0804`. An identification
 * read from a header is shown as it came, even where a nibble is not BCD.
 */
export function formatSecondaryAddress(a: SecondaryAddress): string {
  const tail = Uint8Array.of(a.manufacturer & 0xff, (a.manufacturer >> 8) & 0xff, a.version & 0xff, a.medium & 0xff);
  return a.id.toUpperCase() + toHex(tail, '');
}

/** Inverse of `formatSecondaryAddress`: `mbus.secondary-address` (offset = character index) for anything but 16 hex characters with an ID of 0-9/F. */
export function parseSecondaryAddress(text: string): Result<SecondaryAddress, DecodeError> {
  const t = text.trim().toUpperCase();
  if (!/^[0-9A-F]{16}$/.test(t)) {
    return err(decodeError('mbus.secondary-address', `a secondary address is 16 hex characters (e.g. 068558172D2C0804), got ${JSON.stringify(text)}`, 0));
  }
  const bad = t.slice(0, 8).search(/[A-E]/);
  if (bad >= 0) return err(decodeError('mbus.secondary-address', `identification digit ${t[bad]} is neither 0-9 nor the wildcard F`, bad));
  return ok({
    id: t.slice(0, 8),
    manufacturer: parseInt(t.slice(8, 10), 16) | (parseInt(t.slice(10, 12), 16) << 8),
    version: parseInt(t.slice(12, 14), 16),
    medium: parseInt(t.slice(14, 16), 16),
  });
}

/** True when the pattern has a wildcard anywhere (MBUS.md 6). */
export function hasWildcard(pattern: SecondaryAddress): boolean {
  return /F/i.test(pattern.id) || pattern.manufacturer === WILDCARD_MANUFACTURER || pattern.version === WILDCARD_BYTE || pattern.medium === WILDCARD_BYTE;
}

/**
 * Whether a slave with `identity` is selected by `pattern` (MBUS.md 6): each ID nibble equal or F,
 * manufacturer equal or FFFF, version and medium equal or FF.
 */
export function secondaryAddressMatches(pattern: SecondaryAddress, identity: SecondaryAddress): boolean {
  const p = pattern.id.toUpperCase();
  const id = identity.id.toUpperCase();
  if (p.length !== 8 || id.length !== 8) return false;
  for (let i = 0; i < 8; i++) if (p[i] !== 'F' && p[i] !== id[i]) return false;
  if (pattern.manufacturer !== WILDCARD_MANUFACTURER && pattern.manufacturer !== identity.manufacturer) return false;
  if (pattern.version !== WILDCARD_BYTE && pattern.version !== identity.version) return false;
  return pattern.medium === WILDCARD_BYTE || pattern.medium === identity.medium;
}
