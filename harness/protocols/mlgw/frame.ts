/**
 * MLGW link layer (docs/protocols/meterlab-gas-wireless.md 2):
 *
 *   [55 x n] D3 91 LEN CTRL ID0 ID1 ID2 ID3 SEQ CMD DATA.. CRC_L CRC_H
 *
 * CRC-16/MODBUS over LEN .. last DATA byte, low byte first. Decoding never throws on wire bytes: it
 * returns a DecodeError with a stable code and the absolute offset of the problem. Encoding invalid
 * arguments throws EncodeError.
 */
import { isBcdByte } from '../../core/bcd.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  BROADCAST_ID,
  COMMAND_OFFSET,
  CONTROL_DIRECTION_BIT,
  CONTROL_ERROR_BIT,
  CONTROL_OFFSET,
  CONTROL_RESERVED_MASK,
  CONTROL_VERSION_MASK,
  DATA_OFFSET,
  FRAME_OVERHEAD,
  ID_LENGTH,
  ID_OFFSET,
  LEN_WITHOUT_DATA,
  LENGTH_OFFSET,
  MAX_LEN,
  MIN_LEN,
  MIN_PREAMBLE,
  PREAMBLE_BYTE,
  SEQ_OFFSET,
  SYNC0,
  SYNC1,
  VERSION,
} from './constants.ts';
import { crc16Modbus } from './crc.ts';
import type { MlgwDecodedFrame, MlgwFrame } from './types.ts';

/** Every frame error code, in the order the checks run. */
export const FRAME_ERROR_CODES = ['mlgw.sync', 'mlgw.length', 'mlgw.truncated', 'mlgw.crc', 'mlgw.version', 'mlgw.id'] as const;

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));

export function hexByte(b: number): string {
  return `${HEX2[b & 0xff]!}H`;
}

/** "12345678" -> 78 56 34 12; "FFFFFFFF" -> FF FF FF FF. Throws EncodeError for anything else. */
export function meterIdToWire(meterId: string): Uint8Array {
  if (typeof meterId !== 'string' || !(/^\d{8}$/.test(meterId) || meterId.toUpperCase() === BROADCAST_ID)) {
    throw new EncodeError(`MLGW meter ID must be 8 decimal digits (or FFFFFFFF), got ${JSON.stringify(meterId)}`);
  }
  const out = new Uint8Array(ID_LENGTH);
  for (let i = 0; i < ID_LENGTH; i++) out[i] = parseInt(meterId.slice(6 - 2 * i, 8 - 2 * i), 16);
  return out;
}

/** Inverse of meterIdToWire (any bytes; the frame check decides what is allowed). */
export function wireToMeterId(bytes: Uint8Array): string {
  let s = '';
  for (let i = bytes.length - 1; i >= 0; i--) s += HEX2[bytes[i]!]!;
  return s;
}

export function isBroadcastId(meterId: string): boolean {
  return meterId.toUpperCase() === BROADCAST_ID;
}

/**
 * Decodes exactly one frame beginning at `offset` (optionally after 55H preamble bytes). Checks in
 * wire order, each with its own code and absolute offset into `bytes`:
 * - `mlgw.sync`      the first byte after the preamble is not D3H, or the next is not 91H
 * - `mlgw.length`    LEN is outside 7..64 (offset of LEN)
 * - `mlgw.truncated` the input ends before the frame does (offset = input length)
 * - `mlgw.crc`       CRC_L CRC_H is not the CRC-16/MODBUS of LEN .. last DATA byte (offset of CRC_L)
 * - `mlgw.version`   CTRL's version is not 1 or a reserved bit is set (offset of CTRL)
 * - `mlgw.id`        an ID byte is not BCD, and the ID is not FF x 4 (offset of that byte)
 */
export function decodeFrame(bytes: Uint8Array, offset = 0): Result<MlgwDecodedFrame, DecodeError> {
  const n = bytes.length;
  const start = Math.max(0, Math.trunc(offset) || 0);
  let p = start;
  while (p < n && bytes[p] === PREAMBLE_BYTE) p++;
  if (p >= n) return err(truncated(n, start));
  const head = p;
  if (bytes[head] !== SYNC0) return err(decodeError('mlgw.sync', `expected sync byte D3H, found ${hexByte(bytes[head]!)}`, head));
  if (head + 1 >= n) return err(truncated(n, start));
  if (bytes[head + 1] !== SYNC1) return err(decodeError('mlgw.sync', `expected sync byte 91H after D3H, found ${hexByte(bytes[head + 1]!)}`, head + 1));
  const lenAt = head + LENGTH_OFFSET;
  if (lenAt >= n) return err(truncated(n, start));
  const len = bytes[lenAt]!;
  if (len < MIN_LEN || len > MAX_LEN) return err(decodeError('mlgw.length', `LEN = ${len} is outside ${MIN_LEN}..${MAX_LEN}`, lenAt));
  const crcAt = lenAt + 1 + len;
  const end = crcAt + 2;
  if (end > n) return err(truncated(n, start));
  const expected = crc16Modbus(bytes, lenAt, crcAt);
  const found = bytes[crcAt]! | (bytes[crcAt + 1]! << 8);
  if (expected !== found) {
    return err(decodeError('mlgw.crc', `CRC mismatch: expected ${HEX2[expected & 0xff]} ${HEX2[expected >> 8]}, found ${HEX2[found & 0xff]} ${HEX2[found >> 8]}`, crcAt));
  }
  const control = bytes[head + CONTROL_OFFSET]!;
  if ((control & CONTROL_VERSION_MASK) !== VERSION || (control & CONTROL_RESERVED_MASK) !== 0) {
    return err(decodeError('mlgw.version', `CTRL ${hexByte(control)}: version ${control & CONTROL_VERSION_MASK} or reserved bits not supported (version 1, D5 D4 = 0)`, head + CONTROL_OFFSET));
  }
  const idBytes = bytes.subarray(head + ID_OFFSET, head + ID_OFFSET + ID_LENGTH);
  const broadcast = idBytes.every((b) => b === 0xff);
  if (!broadcast) {
    for (let i = 0; i < ID_LENGTH; i++) {
      if (!isBcdByte(idBytes[i]!)) return err(decodeError('mlgw.id', `ID byte ${i} = ${hexByte(idBytes[i]!)} is not BCD`, head + ID_OFFSET + i));
    }
  }
  const frame: MlgwFrame = {
    isReply: (control & CONTROL_DIRECTION_BIT) !== 0,
    isError: (control & CONTROL_ERROR_BIT) !== 0,
    version: control & CONTROL_VERSION_MASK,
    control,
    meterId: wireToMeterId(idBytes),
    seq: bytes[head + SEQ_OFFSET]!,
    command: bytes[head + COMMAND_OFFSET]!,
    data: bytes.slice(head + DATA_OFFSET, crcAt),
    preamble: head - start,
    crc: found,
  };
  return ok({ frame, start, end, raw: bytes.slice(start, end) });
}

function truncated(n: number, start: number): DecodeError {
  return decodeError('mlgw.truncated', `input ends after ${n - start} byte(s) of an unfinished frame`, n);
}

export interface EncodeFrameOptions {
  readonly meterId: string;
  readonly isReply: boolean;
  readonly isError?: boolean;
  readonly seq: number;
  readonly command: number;
  readonly data?: Uint8Array;
  /** 55H bytes first: at least 4 (spec 2); a wake-up is many more (spec 5). Default 4. */
  readonly preamble?: number;
}

/** Builds `[55..] D3 91 LEN CTRL ID SEQ CMD DATA CRC` (spec 2). Throws EncodeError for bad arguments. */
export function encodeFrame(o: EncodeFrameOptions): Uint8Array {
  const data = o.data ?? new Uint8Array(0);
  const preamble = o.preamble ?? MIN_PREAMBLE;
  if (!Number.isInteger(preamble) || preamble < MIN_PREAMBLE) throw new EncodeError(`MLGW preamble must be at least ${MIN_PREAMBLE} bytes of 55H, got ${String(preamble)}`);
  for (const [name, v] of [['SEQ', o.seq], ['CMD', o.command]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`MLGW ${name} must be one byte, got ${String(v)}`);
  }
  const len = LEN_WITHOUT_DATA + data.length;
  if (!(data instanceof Uint8Array) || len > MAX_LEN) throw new EncodeError(`MLGW data must be at most ${MAX_LEN - LEN_WITHOUT_DATA} bytes, got ${data.length}`);
  if (o.isError && !o.isReply) throw new EncodeError('an MLGW error frame must be a reply');
  const id = meterIdToWire(o.meterId);
  const out = new Uint8Array(preamble + FRAME_OVERHEAD + len);
  out.fill(PREAMBLE_BYTE, 0, preamble);
  const h = preamble;
  out[h] = SYNC0;
  out[h + 1] = SYNC1;
  out[h + LENGTH_OFFSET] = len;
  out[h + CONTROL_OFFSET] = (o.isReply ? CONTROL_DIRECTION_BIT : 0) | (o.isError ? CONTROL_ERROR_BIT : 0) | VERSION;
  out.set(id, h + ID_OFFSET);
  out[h + SEQ_OFFSET] = o.seq;
  out[h + COMMAND_OFFSET] = o.command;
  out.set(data, h + DATA_OFFSET);
  const crcAt = h + LENGTH_OFFSET + 1 + len;
  const crc = crc16Modbus(out, h + LENGTH_OFFSET, crcAt);
  out[crcAt] = crc & 0xff;
  out[crcAt + 1] = crc >> 8;
  return out;
}
