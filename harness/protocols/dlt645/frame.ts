/**
 * DL/T 645 link layer (PROTOCOLS.md 1.2 - 1.4):
 *
 *   [FE..FE] 68 A0 A1 A2 A3 A4 A5 68 C L DATA(L bytes, each +33H) CS 16
 *
 * Decoding never throws on wire bytes: it returns a `DecodeError` with a stable code and the
 * absolute offset of the problem. Encoding invalid arguments throws `EncodeError`.
 */
import { toHex } from '../../core/bytes.ts';
import { isBcdByte } from '../../core/bcd.ts';
import { sum8 } from '../../core/checksum.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  BROADCAST_ADDRESS,
  CONTROL_ABNORMAL_BIT,
  CONTROL_DIRECTION_BIT,
  CONTROL_FOLLOW_UP_BIT,
  CONTROL_FUNCTION_MASK,
  DATA_OFFSET,
  END,
  FRAME_OVERHEAD,
  HEADER_LENGTH,
  MAX_DATA_LENGTH_2007,
  PREAMBLE_BYTE,
  START,
  WILDCARD_ADDRESS,
  WILDCARD_BYTE,
  editionOf,
} from './constants.ts';
import type { ControlField, Dlt645DecodedFrame, Dlt645Frame } from './types.ts';

/** Largest L a one-byte length field can carry. */
const MAX_L_FIELD = 0xff;

// ---------------------------------------------------------------------------------------------
// Control field C (PROTOCOLS.md 1.3)

/** Splits C into D7 direction, D6 abnormal, D5 follow-up and D4..D0 function code (PROTOCOLS.md 1.3). */
export function parseControl(raw: number): ControlField {
  const c = raw & 0xff;
  return {
    raw: c,
    isResponse: (c & CONTROL_DIRECTION_BIT) !== 0,
    isAbnormal: (c & CONTROL_ABNORMAL_BIT) !== 0,
    hasFollowUp: (c & CONTROL_FOLLOW_UP_BIT) !== 0,
    functionCode: c & CONTROL_FUNCTION_MASK,
  };
}

export interface ControlOptions {
  readonly functionCode: number;
  readonly isResponse?: boolean;
  readonly isAbnormal?: boolean;
  readonly hasFollowUp?: boolean;
}

/** Builds C (PROTOCOLS.md 1.3): normal reply = request | 80H, abnormal = request | C0H, follow-up adds 20H. */
export function makeControl(options: ControlOptions): number {
  const { functionCode } = options;
  if (!Number.isInteger(functionCode) || functionCode < 0 || functionCode > CONTROL_FUNCTION_MASK) {
    throw new EncodeError(`DL/T 645 function code must be 00H..1FH (D4..D0), got ${String(functionCode)}`);
  }
  return (
    functionCode |
    (options.isResponse ? CONTROL_DIRECTION_BIT : 0) |
    (options.isAbnormal ? CONTROL_ABNORMAL_BIT : 0) |
    (options.hasFollowUp ? CONTROL_FOLLOW_UP_BIT : 0)
  );
}

// ---------------------------------------------------------------------------------------------
// Addresses (PROTOCOLS.md 1.4)

const ADDRESS_PATTERN = /^(?:[0-9]{2}|AA){6}$/;

function normaliseAddress(address: string): string {
  return address.toUpperCase();
}

/**
 * Wire bytes A0..A5 (low byte first) of a 12-character address written most significant first:
 * `123456789012` -> `12 90 78 56 34 12` (PROTOCOLS.md 1.2). Each byte is two decimal digits or AA.
 * Throws EncodeError for anything else.
 */
export function addressToWire(address: string): Uint8Array {
  const a = typeof address === 'string' ? normaliseAddress(address) : '';
  if (!ADDRESS_PATTERN.test(a)) {
    throw new EncodeError(
      `DL/T 645 address must be 12 characters, each byte two decimal digits or AA (e.g. "123456789012", "AAAAAA123456"), got ${JSON.stringify(address)}`,
    );
  }
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(a.slice(10 - 2 * i, 12 - 2 * i), 16);
  return out;
}

/** Inverse of `addressToWire`; null when a byte is neither BCD nor AAH. */
export function wireToAddress(bytes: Uint8Array): string | null {
  if (bytes.length !== 6) return null;
  for (const b of bytes) if (!isBcdByte(b) && b !== WILDCARD_BYTE) return null;
  return toHex(Uint8Array.from(bytes).reverse(), '');
}

/** True for 999999999999 (PROTOCOLS.md 1.4): slaves act on it but never answer. */
export function isBroadcast(address: string): boolean {
  return normaliseAddress(address) === BROADCAST_ADDRESS;
}

/**
 * True for the full wildcard AAAAAAAAAAAA and for an abbreviated one: the high-order bytes AA, the
 * low-order bytes BCD, e.g. "AAAAAA123456" (abbreviation is [BK], PROTOCOLS.md 1.4).
 */
export function isWildcard(address: string): boolean {
  const a = normaliseAddress(address);
  if (!ADDRESS_PATTERN.test(a)) return false;
  return /^(?:AA)+(?:[0-9]{2})*$/.test(a);
}

/**
 * Whether a meter with address `meterAddress` is addressed by a frame sent to `requestAddress`:
 * exact match, full wildcard, abbreviated wildcard (the non-AA low-order bytes must match, [BK]),
 * or broadcast. A meter must act on a broadcast but must not reply to it (PROTOCOLS.md 1.4).
 */
export function addressMatches(requestAddress: string, meterAddress: string): boolean {
  const req = normaliseAddress(requestAddress);
  const meter = normaliseAddress(meterAddress);
  if (req === meter) return true;
  if (req === BROADCAST_ADDRESS || req === WILDCARD_ADDRESS) return true;
  if (!isWildcard(req) || meter.length !== 12) return false;
  const kept = req.replace(/^(?:AA)+/, '');
  return meter.endsWith(kept) && kept.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Frames (PROTOCOLS.md 1.2)

export interface DecodeFrameOptions {
  /**
   * Largest data length L accepted. Default 200: the 2007 limit is [BK] (PROTOCOLS.md 1.2), and
   * the 1997 limit is [BK] too, so one limit applies to both editions.
   */
  readonly maxDataLength?: number;
}

/**
 * Decodes exactly one frame that begins at `offset` (optionally after FE wake-up bytes).
 * Checks in wire order, each with its own code and absolute offset into `bytes`:
 * - `dlt645.start`        the first byte after the preamble is not 68H
 * - `dlt645.second-start` the byte after A5 is not 68H
 * - `dlt645.length`       L is larger than `maxDataLength`
 * - `dlt645.truncated`    the input ends before the frame does (offset = input length); only
 *                         reported when every byte that is present passed the checks above
 * - `dlt645.checksum`     CS is not the sum of 68..last data byte mod 256 (offset of CS)
 * - `dlt645.end`          the byte after CS is not 16H
 * - `dlt645.address`      an address byte is neither BCD nor AAH (offset of that byte)
 */
export function decodeFrame(
  bytes: Uint8Array,
  offset = 0,
  options: DecodeFrameOptions = {},
): Result<Dlt645DecodedFrame, DecodeError> {
  const maxDataLength = options.maxDataLength ?? MAX_DATA_LENGTH_2007;
  const n = bytes.length;
  const start = Math.max(0, Math.trunc(offset) || 0);
  let p = start;
  while (p < n && bytes[p] === PREAMBLE_BYTE) p++;
  if (p >= n) return err(truncated(n, start));
  const head = p; // the first 68H
  if (bytes[head] !== START) {
    return err(decodeError('dlt645.start', `expected start character 68H, found ${hexByte(bytes[head]!)}`, head));
  }
  const secondStart = head + 7;
  if (secondStart < n && bytes[secondStart] !== START) {
    return err(
      decodeError(
        'dlt645.second-start',
        `expected the second start character 68H after A5, found ${hexByte(bytes[secondStart]!)}`,
        secondStart,
      ),
    );
  }
  const lengthAt = head + 9;
  if (lengthAt < n && bytes[lengthAt]! > maxDataLength) {
    return err(
      decodeError('dlt645.length', `data length L = ${bytes[lengthAt]!} exceeds the maximum ${maxDataLength}`, lengthAt),
    );
  }
  if (lengthAt >= n) return err(truncated(n, start));
  const length = bytes[lengthAt]!;
  const dataStart = head + HEADER_LENGTH;
  const csAt = dataStart + length;
  const endAt = csAt + 1;
  if (endAt >= n) return err(truncated(n, start));

  const expected = sum8(bytes, head, csAt);
  const found = bytes[csAt]!;
  if (expected !== found) {
    return err(
      decodeError('dlt645.checksum', `checksum mismatch: expected ${hexByte(expected)}, found ${hexByte(found)}`, csAt),
    );
  }
  if (bytes[endAt] !== END) {
    return err(decodeError('dlt645.end', `expected end character 16H after CS, found ${hexByte(bytes[endAt]!)}`, endAt));
  }
  for (let i = 0; i < 6; i++) {
    const b = bytes[head + 1 + i]!;
    if (!isBcdByte(b) && b !== WILDCARD_BYTE) {
      return err(
        decodeError('dlt645.address', `address byte A${i} = ${hexByte(b)} is neither BCD nor AAH`, head + 1 + i),
      );
    }
  }

  const address = wireToAddress(bytes.subarray(head + 1, head + 7))!;
  const control = parseControl(bytes[head + 8]!);
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (bytes[dataStart + i]! - DATA_OFFSET) & 0xff;
  const frame: Dlt645Frame = {
    address,
    control,
    data,
    preamble: head - start,
    checksum: found,
    edition: editionOf(control.functionCode),
  };
  const end = endAt + 1;
  return ok({ frame, start, end, raw: bytes.slice(start, end) });
}

/**
 * End offset of the one whole, valid frame that `bytes[offset..]` holds exactly (`[FE..] 68 A 68 C
 * L DATA CS 16`: second 68H, L within `maxDataLength`, CS, 16H and a BCD-or-AAH address all as
 * `decodeFrame` checks them, and nothing after the 16H), or -1 when they hold anything else.
 * Allocates nothing and never throws: a receiver's fast path (a frame delivered as one chunk)
 * reads such a frame in place and leaves every other byte run to the scanner and `decodeFrame`,
 * which say what is wrong and where.
 */
export function frameExtent(bytes: Uint8Array, offset = 0, maxDataLength = MAX_DATA_LENGTH_2007): number {
  const n = bytes.length;
  let p = offset;
  while (p < n && bytes[p] === PREAMBLE_BYTE) p++;
  if (p + FRAME_OVERHEAD > n || bytes[p] !== START || bytes[p + 7] !== START) return -1;
  const length = bytes[p + 9]!;
  if (length > maxDataLength || p + FRAME_OVERHEAD + length !== n) return -1;
  const csAt = p + HEADER_LENGTH + length;
  if (sum8(bytes, p, csAt) !== bytes[csAt] || bytes[csAt + 1] !== END) return -1;
  for (let i = 1; i <= 6; i++) {
    const b = bytes[p + i]!;
    if (!isBcdByte(b) && b !== WILDCARD_BYTE) return -1;
  }
  return n;
}

function truncated(n: number, start: number): DecodeError {
  return decodeError('dlt645.truncated', `input ends after ${n - start} byte(s) of an unfinished frame`, n);
}

function hexByte(b: number): string {
  return `${(b & 0xff).toString(16).toUpperCase().padStart(2, '0')}H`;
}

export interface EncodeFrameOptions {
  /** 12 characters, most significant byte first: "123456789012", "AAAAAAAAAAAA", "AAAAAA123456". */
  readonly address: string;
  /** C as a byte (see `makeControl`) or a parsed control field. */
  readonly control: number | ControlField;
  /** Plain data (before +33H), at most 255 bytes. */
  readonly data?: Uint8Array;
  /** Number of FE wake-up bytes to put first (the master usually sends 4; PROTOCOLS.md 1.1). */
  readonly preamble?: number;
}

/** Builds `[FE..] 68 A 68 C L DATA+33H CS 16` (PROTOCOLS.md 1.2). Throws EncodeError for bad arguments. */
export function encodeFrame(options: EncodeFrameOptions): Uint8Array {
  const { preamble = 0, data = new Uint8Array(0) } = options;
  const control = typeof options.control === 'number' ? options.control : options.control.raw;
  if (!Number.isInteger(control) || control < 0 || control > 0xff) {
    throw new EncodeError(`DL/T 645 control code must be one byte, got ${String(control)}`);
  }
  if (!Number.isInteger(preamble) || preamble < 0) {
    throw new EncodeError(`preamble must be a non-negative number of FE bytes, got ${String(preamble)}`);
  }
  if (data.length > MAX_L_FIELD) {
    throw new EncodeError(`DL/T 645 data field of ${data.length} bytes does not fit the one-byte length L`);
  }
  const address = addressToWire(options.address);
  const out = new Uint8Array(preamble + FRAME_OVERHEAD + data.length);
  out.fill(PREAMBLE_BYTE, 0, preamble);
  const head = preamble;
  out[head] = START;
  out.set(address, head + 1);
  out[head + 7] = START;
  out[head + 8] = control;
  out[head + 9] = data.length;
  for (let i = 0; i < data.length; i++) out[head + HEADER_LENGTH + i] = (data[i]! + DATA_OFFSET) & 0xff;
  const csAt = head + HEADER_LENGTH + data.length;
  out[csAt] = sum8(out, head, csAt);
  out[csAt + 1] = END;
  return out;
}
