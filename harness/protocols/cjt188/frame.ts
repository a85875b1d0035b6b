/**
 * CJ/T 188 link layer (PROTOCOLS.md 2.1 - 2.3):
 *
 *   [FE..FE] 68 T A0 A1 A2 A3 A4 A5 A6 C L DI0 DI1 SER DATA CS 16
 *
 * No +33H; CS = sum of every byte from 68H to the last DATA byte, mod 256. Decoding never throws
 * on wire bytes: it returns a `DecodeError` with a stable code and the absolute offset of the
 * problem. Encoding invalid arguments throws `EncodeError`.
 */
import { isBcdByte } from '../../core/bcd.ts';
import { sum8 } from '../../core/checksum.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  ADDRESS_LENGTH,
  ADDRESS_OFFSET,
  CONTROL_ABNORMAL_BIT,
  CONTROL_DIRECTION_BIT,
  CONTROL_FUNCTION_MASK,
  CONTROL_OFFSET,
  DI_SER_LENGTH,
  END,
  FRAME_OVERHEAD,
  HEADER_LENGTH,
  LENGTH_OFFSET,
  MAX_DATA_LENGTH,
  PREAMBLE_BYTE,
  START,
  TYPE_OFFSET,
  WILDCARD_ADDRESS,
  WILDCARD_BYTE,
} from './constants.ts';
import type { ControlField, Cjt188DecodedFrame, Cjt188Frame } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Control field C (PROTOCOLS.md 2.3)

/** Splits C into D7 direction, D6 abnormal and D5..D0 function code. */
export function parseControl(raw: number): ControlField {
  const c = raw & 0xff;
  return {
    raw: c,
    isResponse: (c & CONTROL_DIRECTION_BIT) !== 0,
    isAbnormal: (c & CONTROL_ABNORMAL_BIT) !== 0,
    functionCode: c & CONTROL_FUNCTION_MASK,
  };
}

/** C from its parts: normal reply = request | 80H, abnormal reply = request | C0H (PROTOCOLS.md 2.3). */
export function makeControl(functionCode: number, isResponse = false, isAbnormal = false): number {
  if (!Number.isInteger(functionCode) || functionCode < 0 || functionCode > CONTROL_FUNCTION_MASK) {
    throw new EncodeError(`CJ/T 188 function code must be 00H..3FH (D5..D0), got ${String(functionCode)}`);
  }
  return functionCode | (isResponse ? CONTROL_DIRECTION_BIT : 0) | (isAbnormal ? CONTROL_ABNORMAL_BIT : 0);
}

// ---------------------------------------------------------------------------------------------
// Addresses (PROTOCOLS.md 2.1)

/**
 * Wire bytes A0..A6 (low byte first) of a 14-character address written most significant first:
 * `78330011223344` -> `44 33 22 11 00 33 78` (PROTOCOLS.md 2.1). Each byte is two hex digits;
 * with `bcdOnly` (the default) each must be two decimal digits or AA. Throws EncodeError.
 */
export function addressToWire(address: string, bcdOnly = true): Uint8Array {
  const out = new Uint8Array(ADDRESS_LENGTH);
  let valid = typeof address === 'string' && address.length === 2 * ADDRESS_LENGTH;
  for (let i = 0; valid && i < ADDRESS_LENGTH; i++) {
    const hi = hexDigit(address.charCodeAt(12 - 2 * i));
    const lo = hexDigit(address.charCodeAt(13 - 2 * i));
    const b = (hi << 4) | lo;
    valid = hi >= 0 && lo >= 0 && (!bcdOnly || isBcdByte(b) || b === WILDCARD_BYTE);
    out[i] = b;
  }
  if (!valid) {
    throw new EncodeError(
      `CJ/T 188 address must be 14 characters, each byte ${bcdOnly ? 'two decimal digits or AA' : 'two hex digits'} (e.g. "78330011223344"), got ${JSON.stringify(address)}`,
    );
  }
  return out;
}

/** Value of one hex digit character code (either case), or -1. */
export function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

/** Inverse of `addressToWire` (any bytes: the frame check decides what is allowed). */
export function wireToAddress(bytes: Uint8Array): string {
  let out = '';
  for (let i = bytes.length - 1; i >= 0; i--) out += HEX2[bytes[i]!]!;
  return out;
}

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));

/** True for AA x7, the address a single meter on the line answers whatever its own (vectors 6, 19). */
export function isWildcardAddress(address: string): boolean {
  return address.toUpperCase() === WILDCARD_ADDRESS;
}

/** Whether a meter at `meterAddress` is addressed by `requestAddress`: exact or the wildcard. */
export function addressMatches(requestAddress: string, meterAddress: string): boolean {
  return isWildcardAddress(requestAddress) || requestAddress.toUpperCase() === meterAddress.toUpperCase();
}

// ---------------------------------------------------------------------------------------------
// Frames (PROTOCOLS.md 2.1)

export interface DecodeFrameOptions {
  /** Largest L accepted (default 255: a one-byte L, no source gives less [BK]). */
  readonly maxDataLength?: number;
  /** `bcd` (default): each address byte BCD or AAH; `any`: any byte (vendor hex codes, [BK]). */
  readonly addressBytes?: 'bcd' | 'any';
}

/** Every frame error code, in the order the checks run. */
export const FRAME_ERROR_CODES = [
  'cjt188.start',
  'cjt188.address',
  'cjt188.length',
  'cjt188.truncated',
  'cjt188.checksum',
  'cjt188.end',
] as const;

/**
 * Decodes exactly one frame that begins at `offset` (optionally after FE wake-up bytes). Checks
 * in wire order, each with its own code and absolute offset into `bytes`:
 * - `cjt188.start`     the first byte after the preamble is not 68H
 * - `cjt188.address`   an address byte is neither BCD nor AAH (offset of that byte); checked as
 *                      soon as the byte is present, so a spurious 68H is refused early
 * - `cjt188.length`    L is below 3 (DI0 DI1 SER are always there) or above `maxDataLength`
 * - `cjt188.truncated` the input ends before the frame does (offset = input length); only when
 *                      every byte present passed the checks above
 * - `cjt188.checksum`  CS is not the sum of 68H .. last DATA byte mod 256 (offset of CS)
 * - `cjt188.end`       the byte after CS is not 16H
 */
export function decodeFrame(bytes: Uint8Array, offset = 0, options: DecodeFrameOptions = {}): Result<Cjt188DecodedFrame, DecodeError> {
  const maxDataLength = options.maxDataLength ?? MAX_DATA_LENGTH;
  const bcdOnly = (options.addressBytes ?? 'bcd') === 'bcd';
  const n = bytes.length;
  const start = Math.max(0, Math.trunc(offset) || 0);
  let p = start;
  while (p < n && bytes[p] === PREAMBLE_BYTE) p++;
  if (p >= n) return err(truncated(n, start));
  const head = p;
  if (bytes[head] !== START) {
    return err(decodeError('cjt188.start', `expected start character 68H, found ${hexByte(bytes[head]!)}`, head));
  }
  if (bcdOnly) {
    for (let i = 0; i < ADDRESS_LENGTH && head + ADDRESS_OFFSET + i < n; i++) {
      const b = bytes[head + ADDRESS_OFFSET + i]!;
      if (!isBcdByte(b) && b !== WILDCARD_BYTE) {
        return err(decodeError('cjt188.address', `address byte A${i} = ${hexByte(b)} is neither BCD nor AAH`, head + ADDRESS_OFFSET + i));
      }
    }
  }
  const lengthAt = head + LENGTH_OFFSET;
  if (lengthAt >= n) return err(truncated(n, start));
  const length = bytes[lengthAt]!;
  if (length < DI_SER_LENGTH || length > maxDataLength) {
    return err(
      decodeError(
        'cjt188.length',
        length < DI_SER_LENGTH
          ? `data length L = ${length} is below 3 (DI0 DI1 SER)`
          : `data length L = ${length} exceeds the maximum ${maxDataLength}`,
        lengthAt,
      ),
    );
  }
  const dataStart = head + HEADER_LENGTH;
  const csAt = dataStart + length;
  const endAt = csAt + 1;
  if (endAt >= n) return err(truncated(n, start));
  const expected = sum8(bytes, head, csAt);
  const found = bytes[csAt]!;
  if (expected !== found) {
    return err(decodeError('cjt188.checksum', `checksum mismatch: expected ${hexByte(expected)}, found ${hexByte(found)}`, csAt));
  }
  if (bytes[endAt] !== END) {
    return err(decodeError('cjt188.end', `expected end character 16H after CS, found ${hexByte(bytes[endAt]!)}`, endAt));
  }
  const frame: Cjt188Frame = {
    meterType: bytes[head + TYPE_OFFSET]!,
    address: wireToAddress(bytes.subarray(head + ADDRESS_OFFSET, head + ADDRESS_OFFSET + ADDRESS_LENGTH)),
    control: parseControl(bytes[head + CONTROL_OFFSET]!),
    data: bytes.slice(dataStart, csAt),
    preamble: head - start,
    checksum: found,
  };
  const end = endAt + 1;
  return ok({ frame, start, end, raw: bytes.slice(start, end) });
}

function truncated(n: number, start: number): DecodeError {
  return decodeError('cjt188.truncated', `input ends after ${n - start} byte(s) of an unfinished frame`, n);
}

export function hexByte(b: number): string {
  return `${(b & 0xff).toString(16).toUpperCase().padStart(2, '0')}H`;
}

export interface EncodeFrameOptions {
  /** Meter type T (MeterType; AAH = any). */
  readonly meterType: number;
  /** 14 characters, most significant byte first: "78330011223344", "AAAAAAAAAAAAAA". */
  readonly address: string;
  /** C as a byte (see `makeControl`). */
  readonly control: number;
  /** DI0 DI1 SER DATA: everything L counts, 3..255 bytes. */
  readonly data: Uint8Array;
  /** FE wake-up bytes to put first (field tools send 2-5; PROTOCOLS.md 2.1). */
  readonly preamble?: number;
  /** Allow any hex address byte (vendor codes, [BK]); default: BCD or AA. */
  readonly anyAddressBytes?: boolean;
}

/** Builds `[FE..] 68 T A C L DATA CS 16` (PROTOCOLS.md 2.1). Throws EncodeError for bad arguments. */
export function encodeFrame(options: EncodeFrameOptions): Uint8Array {
  const { preamble = 0, data, meterType, control } = options;
  for (const [name, v] of [['meter type', meterType], ['control', control]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`CJ/T 188 ${name} must be one byte, got ${String(v)}`);
  }
  if (!Number.isInteger(preamble) || preamble < 0) throw new EncodeError(`preamble must be a non-negative number of FE bytes, got ${String(preamble)}`);
  if (!(data instanceof Uint8Array) || data.length < DI_SER_LENGTH || data.length > MAX_DATA_LENGTH) {
    throw new EncodeError(`CJ/T 188 data (DI0 DI1 SER DATA) must be 3..255 bytes, got ${data instanceof Uint8Array ? data.length : typeof data}`);
  }
  const address = addressToWire(options.address, options.anyAddressBytes !== true);
  const out = new Uint8Array(preamble + FRAME_OVERHEAD + data.length);
  out.fill(PREAMBLE_BYTE, 0, preamble);
  const head = preamble;
  out[head] = START;
  out[head + TYPE_OFFSET] = meterType;
  out.set(address, head + ADDRESS_OFFSET);
  out[head + CONTROL_OFFSET] = control;
  out[head + LENGTH_OFFSET] = data.length;
  out.set(data, head + HEADER_LENGTH);
  const csAt = head + HEADER_LENGTH + data.length;
  out[csAt] = sum8(out, head, csAt);
  out[csAt + 1] = END;
  return out;
}
