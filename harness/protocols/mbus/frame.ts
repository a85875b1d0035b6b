/**
 * EN 13757-2 link layer (MBUS.md 2-4):
 *
 *   single character   E5
 *   short frame        10 C A CS 16                     CS = C + A
 *   control frame      68 03 03 68 C A CI CS 16         CS = C + A + CI
 *   long frame         68 L L 68 C A CI data CS 16      CS = C + A + CI + data, L = 3 + data length
 *
 * Decoding never throws on wire bytes: it returns a `DecodeError` with a stable code and the
 * absolute offset of the problem. Encoding invalid arguments throws `EncodeError`.
 */
import { sum8 } from '../../core/checksum.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  ADDRESS_BROADCAST_NO_REPLY,
  ADDRESS_BROADCAST_REPLY,
  ADDRESS_NETWORK_LAYER,
  C_DIRECTION_MASTER,
  C_FCB_ACD,
  C_FCV_DFC,
  C_FUNCTION_MASK,
  FunctionCode,
  LONG_DATA_OFFSET,
  LONG_FRAME_C_FIELDS,
  LONG_FRAME_OVERHEAD,
  LONG_START,
  MAX_DATA_LENGTH,
  MAX_PRIMARY_ADDRESS,
  MIN_L_FIELD,
  SHORT_FRAME_C_FIELDS,
  SHORT_FRAME_LENGTH,
  SHORT_START,
  SINGLE_CHARACTER,
  STOP,
  type FunctionName,
} from './constants.ts';

// ---------------------------------------------------------------------------------------------
// C field (MBUS.md 3)

export interface ControlField {
  readonly raw: number;
  /** Bit 6: master to slave (true) or slave to master. */
  readonly fromMaster: boolean;
  /** Master frames: bit 5 frame count bit, bit 4 FCB valid. Absent in slave frames. */
  readonly fcb?: boolean;
  readonly fcv?: boolean;
  /** Slave frames: bit 5 access demand, bit 4 data flow control. Absent in master frames. */
  readonly acd?: boolean;
  readonly dfc?: boolean;
  /** Low nibble. */
  readonly functionCode: number;
  /** SND_NKE, SND_UD, REQ_UD1, REQ_UD2 (master) or RSP_UD (slave); null for any other code. */
  readonly functionName: FunctionName | null;
}

const MASTER_FUNCTIONS: Readonly<Record<number, FunctionName>> = {
  [FunctionCode.SND_NKE]: 'SND_NKE',
  [FunctionCode.SND_UD]: 'SND_UD',
  [FunctionCode.REQ_UD1]: 'REQ_UD1',
  [FunctionCode.REQ_UD2]: 'REQ_UD2',
};

export function parseControl(raw: number): ControlField {
  const c = raw & 0xff;
  const functionCode = c & C_FUNCTION_MASK;
  const bit5 = (c & C_FCB_ACD) !== 0;
  const bit4 = (c & C_FCV_DFC) !== 0;
  if ((c & C_DIRECTION_MASTER) !== 0) {
    return { raw: c, fromMaster: true, fcb: bit5, fcv: bit4, functionCode, functionName: MASTER_FUNCTIONS[functionCode] ?? null };
  }
  return {
    raw: c,
    fromMaster: false,
    acd: bit5,
    dfc: bit4,
    functionCode,
    functionName: functionCode === FunctionCode.RSP_UD ? 'RSP_UD' : null,
  };
}

export interface ControlOptions {
  readonly function: FunctionName;
  /** Master frames: the frame count bit (FCV is set with it for SND_UD, REQ_UD1, REQ_UD2; MBUS.md 3). */
  readonly fcb?: boolean;
  /** Master frames: FCB valid; default true for SND_UD/REQ_UD1/REQ_UD2, false for SND_NKE. */
  readonly fcv?: boolean;
  /** Slave frames: access demand, data flow control. */
  readonly acd?: boolean;
  readonly dfc?: boolean;
}

/** Builds C: 40 SND_NKE, 53/73 SND_UD, 5A/7A REQ_UD1, 5B/7B REQ_UD2, 08 (+10 DFC, +20 ACD) RSP_UD (MBUS.md 3). */
export function makeControl(options: ControlOptions): number {
  const code = FunctionCode[options.function];
  if (code === undefined) throw new EncodeError(`unknown M-Bus function ${String(options.function)}`);
  if (options.function === 'RSP_UD') {
    if (options.fcb !== undefined || options.fcv !== undefined) throw new EncodeError('FCB/FCV belong to master frames, not RSP_UD');
    return code | (options.acd ? C_FCB_ACD : 0) | (options.dfc ? C_FCV_DFC : 0);
  }
  if (options.acd !== undefined || options.dfc !== undefined) throw new EncodeError(`ACD/DFC belong to slave frames, not ${options.function}`);
  const fcv = options.fcv ?? options.function !== 'SND_NKE';
  return C_DIRECTION_MASTER | code | (options.fcb ? C_FCB_ACD : 0) | (fcv ? C_FCV_DFC : 0);
}

// ---------------------------------------------------------------------------------------------
// A field (MBUS.md 4)

export type AddressKind = 'unconfigured' | 'primary' | 'reserved' | 'network-layer' | 'broadcast-reply' | 'broadcast-no-reply';

export function addressKind(address: number): AddressKind {
  if (address === 0) return 'unconfigured';
  if (address <= MAX_PRIMARY_ADDRESS) return 'primary';
  if (address === ADDRESS_NETWORK_LAYER) return 'network-layer';
  if (address === ADDRESS_BROADCAST_REPLY) return 'broadcast-reply';
  if (address === ADDRESS_BROADCAST_NO_REPLY) return 'broadcast-no-reply';
  return 'reserved'; // 251, 252
}

/** True for 254 and 255 (MBUS.md 4). */
export function isBroadcast(address: number): boolean {
  return address === ADDRESS_BROADCAST_REPLY || address === ADDRESS_BROADCAST_NO_REPLY;
}

// ---------------------------------------------------------------------------------------------
// Frames

export type MbusFrame =
  | { readonly type: 'ack' }
  | { readonly type: 'short'; readonly control: ControlField; readonly address: number; readonly checksum: number }
  | {
      /** `control` when L = 3 (no data), `long` otherwise. */
      readonly type: 'control' | 'long';
      readonly control: ControlField;
      readonly address: number;
      readonly ci: number;
      readonly data: Uint8Array;
      readonly checksum: number;
    };

export type MbusLongFrame = Extract<MbusFrame, { type: 'control' | 'long' }>;

export interface MbusDecodedFrame {
  readonly frame: MbusFrame;
  /** Offsets into the decoded buffer: the first byte and one past the last. */
  readonly start: number;
  readonly end: number;
  readonly raw: Uint8Array;
}

/** Every code `decodeFrame` returns. */
export const FRAME_ERROR_CODES: ReadonlySet<string> = new Set([
  'mbus.start',
  'mbus.length',
  'mbus.length-mismatch',
  'mbus.second-start',
  'mbus.control',
  'mbus.truncated',
  'mbus.checksum',
  'mbus.stop',
]);

/**
 * Decodes exactly one frame that begins at `offset`. Checks in wire order, each with its own code
 * and absolute offset:
 * - `mbus.start`           the first byte is not E5, 10 or 68
 * - `mbus.length`          L < 3 (offset of the first L)
 * - `mbus.length-mismatch` the second L differs from the first
 * - `mbus.second-start`    the byte after the two L is not 68
 * - `mbus.control`         C is not one a frame of this type may carry (MBUS.md 2)
 * - `mbus.truncated`       the input ends before the frame does (offset = input length); only
 *                          when every byte present passed the checks above
 * - `mbus.checksum`        CS is not the sum of C .. last data byte mod 256 (offset of CS)
 * - `mbus.stop`            the byte after CS is not 16
 * Bytes after the frame are not looked at (see `decodeSingleFrame`).
 */
export function decodeFrame(bytes: Uint8Array, offset = 0): Result<MbusDecodedFrame, DecodeError> {
  const n = bytes.length;
  const start = Math.max(0, Math.trunc(offset) || 0);
  if (start >= n) return err(truncated(n, start));
  const first = bytes[start]!;
  if (first === SINGLE_CHARACTER) {
    return ok({ frame: { type: 'ack' }, start, end: start + 1, raw: bytes.slice(start, start + 1) });
  }
  if (first === SHORT_START) return decodeShort(bytes, start);
  if (first === LONG_START) return decodeLong(bytes, start);
  return err(decodeError('mbus.start', `expected E5, 10H or 68H, found ${hexByte(first)}`, start));
}

function decodeShort(bytes: Uint8Array, start: number): Result<MbusDecodedFrame, DecodeError> {
  const n = bytes.length;
  const cAt = start + 1;
  if (cAt < n && !SHORT_FRAME_C_FIELDS.has(bytes[cAt]!)) {
    return err(decodeError('mbus.control', `C field ${hexByte(bytes[cAt]!)} is not one of 40H, 5AH/7AH, 5BH/7BH a short frame carries`, cAt));
  }
  const csAt = start + 3;
  const stopAt = start + 4;
  if (stopAt >= n) return err(truncated(n, start));
  const expected = sum8(bytes, cAt, csAt);
  if (bytes[csAt] !== expected) {
    return err(decodeError('mbus.checksum', `checksum mismatch: expected ${hexByte(expected)}, found ${hexByte(bytes[csAt]!)}`, csAt));
  }
  if (bytes[stopAt] !== STOP) return err(decodeError('mbus.stop', `expected stop character 16H, found ${hexByte(bytes[stopAt]!)}`, stopAt));
  const end = start + SHORT_FRAME_LENGTH;
  return ok({
    frame: { type: 'short', control: parseControl(bytes[cAt]!), address: bytes[start + 2]!, checksum: expected },
    start,
    end,
    raw: bytes.slice(start, end),
  });
}

function decodeLong(bytes: Uint8Array, start: number): Result<MbusDecodedFrame, DecodeError> {
  const n = bytes.length;
  const l1At = start + 1;
  const l2At = start + 2;
  const start2At = start + 3;
  const cAt = start + 4;
  if (l1At < n && bytes[l1At]! < MIN_L_FIELD) {
    return err(decodeError('mbus.length', `L = ${bytes[l1At]!} is less than 3 (C, A and CI)`, l1At));
  }
  if (l2At < n && bytes[l2At] !== bytes[l1At]) {
    return err(decodeError('mbus.length-mismatch', `the two L fields differ: ${hexByte(bytes[l1At]!)} and ${hexByte(bytes[l2At]!)}`, l2At));
  }
  if (start2At < n && bytes[start2At] !== LONG_START) {
    return err(decodeError('mbus.second-start', `expected the second start character 68H, found ${hexByte(bytes[start2At]!)}`, start2At));
  }
  if (cAt < n && !LONG_FRAME_C_FIELDS.has(bytes[cAt]!)) {
    return err(
      decodeError('mbus.control', `C field ${hexByte(bytes[cAt]!)} is not one of 53H/73H, 08H/18H/28H/38H a long frame carries`, cAt),
    );
  }
  if (l1At >= n) return err(truncated(n, start));
  const l = bytes[l1At]!;
  const csAt = cAt + l;
  const stopAt = csAt + 1;
  if (stopAt >= n) return err(truncated(n, start));
  const expected = sum8(bytes, cAt, csAt);
  if (bytes[csAt] !== expected) {
    return err(decodeError('mbus.checksum', `checksum mismatch: expected ${hexByte(expected)}, found ${hexByte(bytes[csAt]!)}`, csAt));
  }
  if (bytes[stopAt] !== STOP) return err(decodeError('mbus.stop', `expected stop character 16H, found ${hexByte(bytes[stopAt]!)}`, stopAt));
  const end = stopAt + 1;
  const data = bytes.slice(start + LONG_DATA_OFFSET, csAt);
  return ok({
    frame: {
      type: l === MIN_L_FIELD ? 'control' : 'long',
      control: parseControl(bytes[cAt]!),
      address: bytes[start + 5]!,
      ci: bytes[start + 6]!,
      data,
      checksum: expected,
    },
    start,
    end,
    raw: bytes.slice(start, end),
  });
}

/**
 * Decodes a buffer that must hold exactly one frame: as `decodeFrame`, and `mbus.trailing` (offset
 * of the first extra byte) when bytes follow it (MBUS.md 2: exactly L + 6 bytes).
 */
export function decodeSingleFrame(bytes: Uint8Array): Result<MbusDecodedFrame, DecodeError> {
  const r = decodeFrame(bytes, 0);
  if (!r.ok) return r;
  if (r.value.end < bytes.length) {
    return err(decodeError('mbus.trailing', `${bytes.length - r.value.end} byte(s) after the end of the frame`, r.value.end));
  }
  return r;
}

function truncated(n: number, start: number): DecodeError {
  return decodeError('mbus.truncated', `input ends after ${n - start} byte(s) of an unfinished frame`, n);
}

export function hexByte(b: number): string {
  return `${(b & 0xff).toString(16).toUpperCase().padStart(2, '0')}H`;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export type EncodeFrameOptions =
  | { readonly type: 'ack' }
  | { readonly type: 'short'; readonly control: number; readonly address: number }
  | { readonly type: 'long'; readonly control: number; readonly address: number; readonly ci: number; readonly data?: Uint8Array };

function checkByte(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`M-Bus ${name} must be one byte, got ${String(v)}`);
}

/**
 * Builds a frame. `long` with no data is the control frame (L = 3). Throws EncodeError for a
 * value that does not fit its byte, a C field the frame type may not carry (MBUS.md 2), or more
 * than 252 data bytes.
 */
export function encodeFrame(options: EncodeFrameOptions): Uint8Array {
  if (options.type === 'ack') return Uint8Array.of(SINGLE_CHARACTER);
  checkByte('C field', options.control);
  checkByte('address', options.address);
  if (options.type === 'short') {
    if (!SHORT_FRAME_C_FIELDS.has(options.control)) throw new EncodeError(`C field ${hexByte(options.control)} does not go in a short frame`);
    return Uint8Array.of(SHORT_START, options.control, options.address, (options.control + options.address) & 0xff, STOP);
  }
  checkByte('CI field', options.ci);
  if (!LONG_FRAME_C_FIELDS.has(options.control)) throw new EncodeError(`C field ${hexByte(options.control)} does not go in a long frame`);
  const data = options.data ?? new Uint8Array(0);
  if (data.length > MAX_DATA_LENGTH) throw new EncodeError(`M-Bus long frame data of ${data.length} bytes exceeds ${MAX_DATA_LENGTH}`);
  const l = MIN_L_FIELD + data.length;
  const out = new Uint8Array(LONG_FRAME_OVERHEAD + data.length);
  out[0] = LONG_START;
  out[1] = l;
  out[2] = l;
  out[3] = LONG_START;
  out[4] = options.control;
  out[5] = options.address;
  out[6] = options.ci;
  out.set(data, LONG_DATA_OFFSET);
  const csAt = LONG_DATA_OFFSET + data.length;
  out[csAt] = sum8(out, 4, csAt);
  out[csAt + 1] = STOP;
  return out;
}

/** SND_NKE to `address`: `10 40 A CS 16` (link reset; MBUS.md 3). */
export function encodeSndNke(address: number): Uint8Array {
  return encodeFrame({ type: 'short', control: makeControl({ function: 'SND_NKE' }), address });
}

/** REQ_UD2 to `address` with the given FCB: `10 5B/7B A CS 16` (MBUS.md 3). */
export function encodeReqUd2(address: number, fcb = false): Uint8Array {
  return encodeFrame({ type: 'short', control: makeControl({ function: 'REQ_UD2', fcb }), address });
}

/** REQ_UD1 to `address` with the given FCB: `10 5A/7A A CS 16` (MBUS.md 3). */
export function encodeReqUd1(address: number, fcb = false): Uint8Array {
  return encodeFrame({ type: 'short', control: makeControl({ function: 'REQ_UD1', fcb }), address });
}
