/**
 * CJ/T 188 application messages: the bytes L counts (DI0 DI1 SER DATA) read per control code and
 * direction (PROTOCOLS.md 2.3 - 2.5), typed through the data dictionary. `decodeMessage` never
 * throws; `encodeMessage` throws EncodeError for values that cannot go on the wire.
 *
 * Byte orders: DI goes DI0 first in the standard (`1F 90` = 901F); the dialect may send it the
 * other way and decoding accepts both (PROTOCOLS.md 2.4). Values are low byte first, no +33H.
 */
import { isBcdByte } from '../../core/bcd.ts';
import { concatBytes, toHex } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { DI_SER_LENGTH, FunctionCode, HEADER_LENGTH, meterTypeInfo, WILDCARD_BYTE } from './constants.ts';
import { STANDARD_DIALECT, type Cjt188Dialect } from './dialect.ts';
import { decodeStatus, decodeValue, encodeStatus, encodeValue, lookup, type Cjt188Status } from './dictionary.ts';
import { addressToWire, decodeFrame, encodeFrame, hexDigit, makeControl } from './frame.ts';
import { ValveCommand, type Cjt188DecodedFrame, type Cjt188Frame, type Cjt188Message, type DiOrder, type ValveCommandName } from './types.ts';

/** DI of valve control (PROTOCOLS.md 2.4). */
export const VALVE_DI = 'A017';
/** Bytes of the status word ST (PROTOCOLS.md 2.5). */
const STATUS_LENGTH = 2;
/** Bytes of a new address in 15H (PROTOCOLS.md 2.1, vectors 8, 15). */
const NEW_ADDRESS_LENGTH = 7;

export const MESSAGE_ERROR_CODES = ['cjt188.data-length', 'cjt188.control', 'cjt188.address', 'cjt188.value-length', 'cjt188.bcd'] as const;

// ---------------------------------------------------------------------------------------------
// DI byte order

/** Two upper-case hex digits of each byte value (readDi runs for every frame). */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));
const hex2 = (b: number): string => HEX2[b & 0xff]!;

/**
 * The DI of wire bytes `b0 b1` and the order it was read in: the dialect's order, unless the
 * dialect accepts either order and only the other one names an identifier the dictionary knows.
 */
export function readDi(b0: number, b1: number, dialect: Cjt188Dialect = STANDARD_DIALECT): { di: string; diOrder: DiOrder } {
  const standard = hex2(b1) + hex2(b0);
  const reversed = hex2(b0) + hex2(b1);
  const primary: DiOrder = dialect.diOrder;
  const first = primary === 'standard' ? standard : reversed;
  if (!dialect.acceptEitherDiOrder || lookup(first) || standard === reversed) return { di: first, diOrder: primary };
  const otherOrder: DiOrder = primary === 'standard' ? 'reversed' : 'standard';
  const second = otherOrder === 'standard' ? standard : reversed;
  return lookup(second) ? { di: second, diOrder: otherOrder } : { di: first, diOrder: primary };
}

/** Wire bytes of DI "901F" in an order: standard `1F 90`, reversed `90 1F`. Throws EncodeError. */
export function diToWire(di: string, order: DiOrder): Uint8Array {
  const d = typeof di === 'string' && di.length === 4 ? [0, 1, 2, 3].map((i) => hexDigit(di.charCodeAt(i))) : [-1];
  if (d.some((v) => v < 0)) throw new EncodeError(`CJ/T 188 DI must be 4 hex digits (DI1DI0, e.g. "901F"), got ${JSON.stringify(di)}`);
  const hi = (d[0]! << 4) | d[1]!;
  const lo = (d[2]! << 4) | d[3]!;
  return order === 'reversed' ? Uint8Array.of(hi, lo) : Uint8Array.of(lo, hi);
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Reads the bytes L counts of `frame` as a message. `dataOffset` is the absolute offset of DI0 in
 * the buffer the frame came from (default: a frame that began at offset 0), so errors carry
 * absolute offsets.
 *
 * Error codes: `cjt188.data-length` (the bytes after SER have the wrong length for the control
 * code; offset = the first missing or surplus byte), `cjt188.control` (a request with D6 set;
 * offset of C), `cjt188.address` (a new address in 15H that is not BCD), and the dictionary's
 * `cjt188.value-length` / `cjt188.bcd` (offset inside the value). A frame whose function code or
 * DI the codec does not model decodes as `other`.
 */
export function decodeMessage(
  frame: Cjt188Frame,
  dataOffset: number = frame.preamble + HEADER_LENGTH,
  dialect: Cjt188Dialect = STANDARD_DIALECT,
): Result<Cjt188Message, DecodeError> {
  const c = frame.control;
  const data = frame.data;
  if (data.length < DI_SER_LENGTH) {
    return err(decodeError('cjt188.data-length', `the data field carries DI0 DI1 SER (3 bytes), got ${data.length}`, dataOffset + data.length));
  }
  if (!c.isResponse && c.isAbnormal) {
    return err(decodeError('cjt188.control', `control ${hex2(c.raw)}H: a master request cannot have the abnormal bit (D6) set`, dataOffset - 2));
  }
  const { di, diOrder } = readDi(data[0]!, data[1]!, dialect);
  // One context object and module functions over it: closures made per call cost more than the
  // decoding itself under tsx (each is wrapped to keep its name).
  const x: Context = { frame, dialect, di, diOrder, ser: data[2]!, payloadOffset: dataOffset + DI_SER_LENGTH };
  const ser = x.ser;
  const payload = data.length - DI_SER_LENGTH; // bytes after SER (a subarray only where one is needed)
  const fc = c.functionCode;

  if (c.isResponse && c.isAbnormal) {
    // [BK] layout of abnormal replies: DI SER and ST when present; other bytes are kept.
    const st = payload === STATUS_LENGTH ? decodeStatus(data[DI_SER_LENGTH]!, data[DI_SER_LENGTH + 1]!, dialect.statusLayout) : null;
    return ok({ kind: 'abnormalResponse', di, diOrder, ser, functionCode: fc, status: st, payload: data.slice(DI_SER_LENGTH) });
  }

  switch (fc) {
    case FunctionCode.ReadData: {
      if (!c.isResponse) {
        const e = exactlyOf(x, 0, 'read data carries DI SER only');
        return e ? err(e) : ok({ kind: 'readData', di, diOrder, ser });
      }
      if (!lookup(di)) return otherOf(x);
      const v = valueOf(x);
      return v.ok ? ok({ kind: 'readDataResponse', di, diOrder, ser, value: v.value }) : v;
    }
    case FunctionCode.ReadAddress: {
      const e = exactlyOf(x, 0, c.isResponse ? 'a read-address reply carries DI SER only (the address is A0..A6)' : 'read address carries DI SER only');
      return e ? err(e) : ok({ kind: c.isResponse ? 'readAddressResponse' : 'readAddress', di, diOrder, ser });
    }
    case FunctionCode.ReadKeyVersion: {
      if (!c.isResponse) {
        const e = exactlyOf(x, 0, 'read key version carries DI SER only');
        return e ? err(e) : ok({ kind: 'readKeyVersion', di, diOrder, ser });
      }
      if (!lookup(di)) return otherOf(x);
      const v = valueOf(x);
      return v.ok ? ok({ kind: 'readKeyVersionResponse', di, diOrder, ser, value: v.value }) : v;
    }
    case FunctionCode.WriteData:
    case FunctionCode.VendorValveControl: {
      const valve = di === VALVE_DI;
      if (!valve && fc === FunctionCode.VendorValveControl) return otherOf(x);
      if (c.isResponse) {
        const s = statusOf(x, valve ? 'a valve-control reply' : 'a write-data reply');
        if (!s.ok) return s;
        return ok(valve ? { kind: 'valveControlResponse', di, diOrder, ser, functionCode: fc, status: s.value } : { kind: 'writeDataResponse', di, diOrder, ser, status: s.value });
      }
      if (valve) {
        const e = exactlyOf(x, 1, 'valve control carries one command byte');
        if (e) return err(e);
        const command = data[DI_SER_LENGTH]!;
        return ok({ kind: 'valveControl', di, diOrder, ser, functionCode: fc, command, commandName: valveCommandName(command) });
      }
      if (!lookup(di)) return otherOf(x);
      const v = valueOf(x);
      return v.ok ? ok({ kind: 'writeData', di, diOrder, ser, value: v.value }) : v;
    }
    case FunctionCode.WriteAddress: {
      if (c.isResponse) {
        const s = statusOf(x, 'a write-address reply');
        return s.ok ? ok({ kind: 'writeAddressResponse', di, diOrder, ser, status: s.value }) : s;
      }
      const e = exactlyOf(x, NEW_ADDRESS_LENGTH, 'write address carries the new address A0..A6');
      if (e) return err(e);
      if (dialect.addressBytes === 'bcd') {
        for (let i = 0; i < NEW_ADDRESS_LENGTH; i++) {
          const b = data[DI_SER_LENGTH + i]!;
          if (!isBcdByte(b) && b !== WILDCARD_BYTE) return err(decodeError('cjt188.address', `new address byte A${i} = ${hex2(b)}H is neither BCD nor AAH`, x.payloadOffset + i));
        }
      }
      return ok({ kind: 'writeAddress', di, diOrder, ser, newAddress: toHex(data.slice(DI_SER_LENGTH).reverse(), '') });
    }
    case FunctionCode.WriteSyncData: {
      if (c.isResponse) {
        const s = statusOf(x, 'a write-sync-data reply');
        return s.ok ? ok({ kind: 'writeSyncDataResponse', di, diOrder, ser, status: s.value }) : s;
      }
      if (!lookup(di)) return otherOf(x);
      const v = valueOf(x);
      return v.ok ? ok({ kind: 'writeSyncData', di, diOrder, ser, value: v.value }) : v;
    }
    default:
      return otherOf(x);
  }
}

interface Context {
  readonly frame: Cjt188Frame;
  readonly dialect: Cjt188Dialect;
  readonly di: string;
  readonly diOrder: DiOrder;
  readonly ser: number;
  /** Absolute offset of the first byte after SER. */
  readonly payloadOffset: number;
}

/** A frame the codec does not model: DI SER and the rest as bytes. */
function otherOf(x: Context): Result<Cjt188Message, DecodeError> {
  const c = x.frame.control;
  return ok({ kind: 'other', di: x.di, diOrder: x.diOrder, ser: x.ser, functionCode: c.functionCode, isResponse: c.isResponse, payload: x.frame.data.slice(DI_SER_LENGTH) });
}

/** Null when exactly `n` bytes follow SER; else the error at the first missing or surplus byte. */
function exactlyOf(x: Context, n: number, what: string): DecodeError | null {
  const got = x.frame.data.length - DI_SER_LENGTH;
  return got === n ? null : decodeError('cjt188.data-length', `${what}: ${n} byte(s) after SER, got ${got}`, x.payloadOffset + Math.min(n, got));
}

/** A reply's optional ST: nothing, or exactly 2 bytes. */
function statusOf(x: Context, what: string): Result<Cjt188Status | null, DecodeError> {
  const d = x.frame.data;
  const n = d.length - DI_SER_LENGTH;
  if (n === 0) return ok(null);
  if (n === STATUS_LENGTH) return ok(decodeStatus(d[DI_SER_LENGTH]!, d[DI_SER_LENGTH + 1]!, x.dialect.statusLayout));
  return err(decodeError('cjt188.data-length', `${what} carries nothing or ST (2 bytes) after SER, got ${n}`, x.payloadOffset + Math.min(n, STATUS_LENGTH)));
}

/** The dictionary value of the bytes after SER, errors at absolute offsets. */
function valueOf(x: Context): ReturnType<typeof decodeValue> {
  const v = decodeValue(x.di, x.frame.data.subarray(DI_SER_LENGTH), { family: meterTypeInfo(x.frame.meterType).family, statusLayout: x.dialect.statusLayout });
  return v.ok ? v : err({ ...v.error, offset: x.payloadOffset + v.error.offset });
}

export function valveCommandName(command: number): ValveCommandName | null {
  for (const [name, code] of Object.entries(ValveCommand)) if (code === command) return name as ValveCommandName;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** C and DI0 DI1 SER DATA of a message (the inverse of decodeMessage). Throws EncodeError. */
export function encodeMessageData(message: Cjt188Message, dialect: Cjt188Dialect = STANDARD_DIALECT): { control: number; data: Uint8Array } {
  const m = message;
  if (typeof m !== 'object' || m === null) throw new EncodeError('message must be an object');
  const order: DiOrder = m.diOrder ?? dialect.diOrder;
  const di = diToWire(m.di, order);
  if (!Number.isInteger(m.ser) || m.ser < 0 || m.ser > 0xff) throw new EncodeError(`SER must be one byte, got ${String(m.ser)}`);
  const head = concatBytes(di, Uint8Array.of(m.ser));
  const layout = dialect.statusLayout;
  const st = (s: Cjt188Status | null): Uint8Array => (s === null ? new Uint8Array(0) : encodeStatus(s, s.layout ?? layout));
  const val = (v: Parameters<typeof encodeValue>[1]): Uint8Array => encodeValue(m.di, v, { statusLayout: layout });
  const F = FunctionCode;
  const build = (functionCode: number, isResponse: boolean, body: Uint8Array, isAbnormal = false) => ({
    control: makeControl(functionCode, isResponse, isAbnormal),
    data: concatBytes(head, body),
  });
  switch (m.kind) {
    case 'readData':
      return build(F.ReadData, false, new Uint8Array(0));
    case 'readDataResponse':
      return build(F.ReadData, true, val(m.value));
    case 'readAddress':
      return build(F.ReadAddress, false, new Uint8Array(0));
    case 'readAddressResponse':
      return build(F.ReadAddress, true, new Uint8Array(0));
    case 'readKeyVersion':
      return build(F.ReadKeyVersion, false, new Uint8Array(0));
    case 'readKeyVersionResponse':
      return build(F.ReadKeyVersion, true, val(m.value));
    case 'writeData':
      if (m.di.toUpperCase() === VALVE_DI) throw new EncodeError('write data to A017 is a valveControl message');
      return build(F.WriteData, false, val(m.value));
    case 'writeDataResponse':
      return build(F.WriteData, true, st(m.status));
    case 'writeAddress':
      return build(F.WriteAddress, false, addressToWire(m.newAddress, dialect.addressBytes === 'bcd'));
    case 'writeAddressResponse':
      return build(F.WriteAddress, true, st(m.status));
    case 'writeSyncData':
      return build(F.WriteSyncData, false, val(m.value));
    case 'writeSyncDataResponse':
      return build(F.WriteSyncData, true, st(m.status));
    case 'valveControl':
    case 'valveControlResponse': {
      const fc = m.functionCode ?? dialect.valveFunction;
      if (fc !== F.WriteData && fc !== F.VendorValveControl) throw new EncodeError(`valve control goes with 04H or 2AH, got ${String(fc)}`);
      if (m.di.toUpperCase() !== VALVE_DI) throw new EncodeError(`valve control carries DI A017, got ${m.di}`);
      if (m.kind === 'valveControlResponse') return build(fc, true, st(m.status));
      if (!Number.isInteger(m.command) || m.command < 0 || m.command > 0xff) throw new EncodeError(`valve command must be one byte, got ${String(m.command)}`);
      return build(fc, false, Uint8Array.of(m.command));
    }
    case 'abnormalResponse':
      return build(m.functionCode, true, m.payload, true);
    case 'other':
      return build(m.functionCode, m.isResponse, m.payload);
    default:
      throw new EncodeError(`unknown CJ/T 188 message kind ${JSON.stringify((m as { kind?: unknown }).kind)}`);
  }
}

export interface EncodeMessageOptions {
  /** FE wake-up bytes first (default 0). */
  readonly preamble?: number;
  readonly dialect?: Cjt188Dialect;
}

/** A whole frame for a message to or from meter `address` of type `meterType`. Throws EncodeError. */
export function encodeMessage(meterType: number, address: string, message: Cjt188Message, options: EncodeMessageOptions = {}): Uint8Array {
  const dialect = options.dialect ?? STANDARD_DIALECT;
  const { control, data } = encodeMessageData(message, dialect);
  return encodeFrame({
    meterType,
    address,
    control,
    data,
    preamble: options.preamble ?? 0,
    anyAddressBytes: dialect.addressBytes === 'any',
  });
}

/** A valve command message (04H + A017 or the dialect's vendor code). */
export function valveControl(command: ValveCommandName | number, ser = 0, dialect: Cjt188Dialect = STANDARD_DIALECT): Cjt188Message {
  const code = typeof command === 'number' ? command : ValveCommand[command];
  return { kind: 'valveControl', di: VALVE_DI, diOrder: dialect.diOrder, ser, functionCode: dialect.valveFunction, command: code, commandName: valveCommandName(code) };
}

export interface Cjt188Decoded extends Cjt188DecodedFrame {
  readonly message: Cjt188Message;
}

/** Frame and message in one step (the first error either finds). Never throws. */
export function decode(bytes: Uint8Array, offset = 0, dialect: Cjt188Dialect = STANDARD_DIALECT): Result<Cjt188Decoded, DecodeError> {
  const f = decodeFrame(bytes, offset, { maxDataLength: dialect.maxDataLength, addressBytes: dialect.addressBytes });
  if (!f.ok) return f;
  const m = decodeMessage(f.value.frame, f.value.start + f.value.frame.preamble + HEADER_LENGTH, dialect);
  if (!m.ok) return m;
  const { frame, start, end, raw } = f.value;
  return ok({ frame, start, end, raw, message: m.value });
}
