/**
 * DL/T 645 application messages: the data field of a frame read per control code and direction
 * (PROTOCOLS.md 1.3, 1.5 - 1.7, 1.10). `decodeMessage` never throws; `encodeMessage` throws
 * EncodeError for values that cannot go on the wire.
 *
 * Byte orders (PROTOCOLS.md 1.2, 1.5): a DI goes DI0 first; a password is PA then P0 P1 P2 and is
 * written "P2P1P0"; an operator code goes C0 first and is written "C3C2C1C0"; times go
 * ss mm hh DD MM YY (BCD, 2-digit year = 20YY).
 */
import { concatBytes, toHex } from '../../core/bytes.ts';
import { bcdByteToNumber, isBcdByte, numberToBcdByte } from '../../core/bcd.ts';
import { isValidCalendar } from '../../core/calendar.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  FunctionCode,
  FunctionCode1997,
  HEADER_LENGTH,
  baudToFeatureWord,
  featureWordToBaud,
  functionCodeByName,
  functionName,
} from './constants.ts';
import { addressToWire, decodeFrame, encodeFrame, makeControl, parseControl, type DecodeFrameOptions } from './frame.ts';
import {
  ERROR_WORD_BITS,
  type ControlField,
  type Dlt645Frame,
  type Dlt645Message,
  type ErrorWordBit,
  type FrameDateTime,
  type FreezeField,
  type Password,
} from './types.ts';

/** Bytes of a 2007 DI (PROTOCOLS.md 1.9) and a 1997 DI (PROTOCOLS.md 1.10). */
const DI_LENGTH_2007 = 4;
const DI_LENGTH_1997 = 2;
/** PA P0 P1 P2 (PROTOCOLS.md 1.3, 1.5). */
const PASSWORD_LENGTH = 4;
/** C0 C1 C2 C3 (PROTOCOLS.md 1.3, 1.5). */
const OPERATOR_LENGTH = 4;
/** ss mm hh DD MM YY (PROTOCOLS.md 1.3 row 08H, 1.5 N3..N8). */
const DATE_TIME_LENGTH = 6;
/** Bytes of a communication address (PROTOCOLS.md 1.2). */
const ADDRESS_LENGTH = 6;
/** 1CH payload: PA P0-2 | C0-3 | N1 | N2 | N3..N8 = 16 bytes (PROTOCOLS.md 1.5). */
const REMOTE_CONTROL_LENGTH = PASSWORD_LENGTH + OPERATOR_LENGTH + 1 + 1 + DATE_TIME_LENGTH;
/** 99H in a freeze field means "any" (PROTOCOLS.md 1.3 row 16H, layout [BK]). */
const FREEZE_ANY = 0x99;
/** Freeze pattern mm hh DD MM (PROTOCOLS.md 1.3 row 16H, [BK]). */
const FREEZE_LENGTH = 4;

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Reads the data field of `frame` as a message. `dataOffset` is the absolute offset of the first
 * data byte in the buffer the frame was decoded from, so errors carry absolute offsets; it
 * defaults to `frame.preamble + 10` (a frame that began at offset 0).
 *
 * Error codes: `dlt645.data-length` (the data field has the wrong length for its control code;
 * offset = the first missing or first surplus byte), `dlt645.control` (a request with the D6 or
 * D5 bit, or a follow-up bit on a reply that has no follow-up frames; offset of C),
 * `dlt645.time` (a time field that is not BCD or not a calendar instant), `dlt645.baud-feature-word`
 * (Z not exactly one of D1..D6), `dlt645.address` (an address in the data field that is not BCD).
 */
export function decodeMessage(
  frame: Dlt645Frame,
  dataOffset: number = frame.preamble + HEADER_LENGTH,
): Result<Dlt645Message, DecodeError> {
  const r = new DataReader(frame.data, dataOffset);
  const c = frame.control;
  const controlOffset = dataOffset - 2;

  if (!c.isResponse && (c.isAbnormal || c.hasFollowUp)) {
    return err(
      decodeError(
        'dlt645.control',
        `control ${hex2(c.raw)}H: a master request cannot have the abnormal (D6) or follow-up (D5) bit set`,
        controlOffset,
      ),
    );
  }
  if (c.isResponse && c.isAbnormal) {
    if (c.hasFollowUp) {
      return err(decodeError('dlt645.control', `control ${hex2(c.raw)}H: an abnormal reply cannot announce follow-up frames`, controlOffset));
    }
    const e = r.exactly(1, 'an abnormal reply carries exactly one error word ERR');
    if (e) return err(e);
    const errorWord = frame.data[0]!;
    return ok({ kind: 'errorResponse', functionCode: c.functionCode, errorWord, errors: errorWordBits(errorWord) });
  }
  const result = frame.edition === '1997' ? decode1997(frame, r) : decode2007(frame, r);
  if (!result.ok) return result;
  const m = result.value;
  if (c.hasFollowUp && !('hasFollowUp' in m)) {
    return err(
      decodeError('dlt645.control', `control ${hex2(c.raw)}H: the follow-up bit (D5) is not defined for this reply`, controlOffset),
    );
  }
  return result;
}

function decode2007(frame: Dlt645Frame, r: DataReader): Result<Dlt645Message, DecodeError> {
  const c = frame.control;
  const fc = c.functionCode;
  if (!c.isResponse) {
    switch (fc) {
      case FunctionCode.BroadcastTimeSync: {
        const e = r.exactly(DATE_TIME_LENGTH, 'broadcast time sync carries ss mm hh DD MM YY');
        if (e) return err(e);
        const t = r.dateTime(0);
        return t.ok ? ok({ kind: 'broadcastTimeSync', time: t.value }) : t;
      }
      case FunctionCode.ReadData: {
        const e = r.atLeast(DI_LENGTH_2007, 'read data carries a 4-byte DI');
        if (e) return err(e);
        return ok({ kind: 'readData', di: r.di(0, DI_LENGTH_2007), extra: r.slice(DI_LENGTH_2007) });
      }
      case FunctionCode.ReadFollowUp: {
        const e = r.exactly(DI_LENGTH_2007 + 1, 'read follow-up carries DI(4) + SEQ(1)');
        if (e) return err(e);
        return ok({ kind: 'readFollowUp', di: r.di(0, DI_LENGTH_2007), seq: r.byte(DI_LENGTH_2007) });
      }
      case FunctionCode.ReadAddress: {
        const e = r.exactly(0, 'read address carries no data');
        return e ? err(e) : ok({ kind: 'readAddress' });
      }
      case FunctionCode.WriteData: {
        const e = r.atLeast(DI_LENGTH_2007 + PASSWORD_LENGTH + OPERATOR_LENGTH, 'write data carries DI(4) + PA P0-P2 + C0-C3 + value');
        if (e) return err(e);
        return ok({
          kind: 'writeData',
          di: r.di(0, DI_LENGTH_2007),
          password: r.password(4),
          operator: r.operator(8),
          payload: r.slice(12),
        });
      }
      case FunctionCode.WriteAddress: {
        // New address (6 bytes) to AA..AA: layout [BK] (PROTOCOLS.md 1.3 row 15H).
        const e = r.exactly(ADDRESS_LENGTH, 'write address carries the new 6-byte address');
        if (e) return err(e);
        const a = r.bcdAddress(0);
        return a.ok ? ok({ kind: 'writeAddress', newAddress: a.value }) : a;
      }
      case FunctionCode.Freeze: {
        // mm hh DD MM, 99H = any: layout [BK] (PROTOCOLS.md 1.3 row 16H).
        const e = r.exactly(FREEZE_LENGTH, 'freeze carries mm hh DD MM');
        if (e) return err(e);
        const f = r.freeze(0);
        return f.ok ? ok({ kind: 'freeze', ...f.value }) : f;
      }
      case FunctionCode.ChangeBaud: {
        const e = r.exactly(1, 'change baud rate carries the feature word Z');
        if (e) return err(e);
        const z = r.baud(0);
        return z.ok ? ok({ kind: 'changeBaud', ...z.value }) : z;
      }
      case FunctionCode.ChangePassword: {
        // DI (04000C0x) + old PA P0-P2 + new PA P0-P2: layout [BK] (PROTOCOLS.md 1.3 row 18H). The DI
        // is carried, not checked against 04000C0x.
        const e = r.exactly(DI_LENGTH_2007 + 2 * PASSWORD_LENGTH, 'change password carries DI(4) + old PA P0-P2 + new PA P0-P2');
        if (e) return err(e);
        return ok({
          kind: 'changePassword',
          di: r.di(0, DI_LENGTH_2007),
          oldPassword: r.password(4),
          newPassword: r.password(8),
        });
      }
      case FunctionCode.ClearMaxDemand:
      case FunctionCode.MeterClear: {
        // PA P0-P2 + C0-C3: layouts [BK] (PROTOCOLS.md 1.3 rows 19H, 1AH).
        const e = r.exactly(PASSWORD_LENGTH + OPERATOR_LENGTH, `${functionName(fc)} carries PA P0-P2 + C0-C3`);
        if (e) return err(e);
        const kind = fc === FunctionCode.ClearMaxDemand ? 'clearMaxDemand' : 'meterClear';
        return ok({ kind, password: r.password(0), operator: r.operator(4) });
      }
      case FunctionCode.EventClear: {
        const e = r.exactly(PASSWORD_LENGTH + OPERATOR_LENGTH + DI_LENGTH_2007, 'event clear carries PA P0-P2 + C0-C3 + DI(4)');
        if (e) return err(e);
        return ok({ kind: 'eventClear', password: r.password(0), operator: r.operator(4), di: r.di(8, DI_LENGTH_2007) });
      }
      case FunctionCode.RemoteControl: {
        // Plain 16-byte layout; an ESAM-protected 1CH (PA = 98H/99H + ciphertext + MAC) is longer
        // and is reported as a data-length error ([BK], PROTOCOLS.md 1.5).
        const e = r.exactly(REMOTE_CONTROL_LENGTH, 'remote control carries PA P0-P2 | C0-C3 | N1 | N2 | N3..N8 (16 bytes)');
        if (e) return err(e);
        const allZero = frame.data.subarray(10, 16).every((b) => b === 0);
        let validUntil: FrameDateTime | null = null;
        if (!allZero) {
          const t = r.dateTime(10);
          if (!t.ok) return t;
          validUntil = t.value;
        }
        return ok({
          kind: 'remoteControl',
          password: r.password(0),
          operator: r.operator(4),
          command: r.byte(8),
          reserved: r.byte(9),
          validUntil,
        });
      }
      case FunctionCode.MultiFunctionOutput: {
        // One output-type byte: [BK] (PROTOCOLS.md 1.3 row 1DH).
        const e = r.exactly(1, 'multi-function terminal output control carries one output-type byte');
        return e ? err(e) : ok({ kind: 'multiFunctionOutput', output: r.byte(0) });
      }
      default:
        return ok(other(frame));
    }
  }
  switch (fc) {
    case FunctionCode.ReadData: {
      const e = r.atLeast(DI_LENGTH_2007, 'a read-data reply carries DI(4) + value');
      if (e) return err(e);
      return ok({
        kind: 'readDataResponse',
        di: r.di(0, DI_LENGTH_2007),
        payload: r.slice(DI_LENGTH_2007),
        hasFollowUp: c.hasFollowUp,
      });
    }
    case FunctionCode.ReadFollowUp: {
      const e = r.atLeast(DI_LENGTH_2007 + 1, 'a read-follow-up reply carries DI(4) + value + SEQ(1)');
      if (e) return err(e);
      const n = frame.data.length;
      return ok({
        kind: 'readFollowUpResponse',
        di: r.di(0, DI_LENGTH_2007),
        payload: r.slice(DI_LENGTH_2007, n - 1),
        seq: r.byte(n - 1),
        hasFollowUp: c.hasFollowUp,
      });
    }
    case FunctionCode.ReadAddress: {
      const e = r.exactly(ADDRESS_LENGTH, 'a read-address reply carries the 6-byte address');
      if (e) return err(e);
      const a = r.bcdAddress(0);
      return a.ok ? ok({ kind: 'readAddressResponse', address: a.value }) : a;
    }
    case FunctionCode.WriteData:
    case FunctionCode.WriteAddress:
    case FunctionCode.Freeze:
    case FunctionCode.ClearMaxDemand:
    case FunctionCode.MeterClear:
    case FunctionCode.EventClear:
    case FunctionCode.RemoteControl: {
      const kind = EMPTY_REPLY_KIND[fc]!;
      const e = r.exactly(0, `a normal ${functionName(fc)} reply carries no data`);
      return e ? err(e) : ok({ kind } as Dlt645Message);
    }
    case FunctionCode.ChangeBaud: {
      const e = r.exactly(1, 'a change-baud reply carries the feature word Z');
      if (e) return err(e);
      const z = r.baud(0);
      return z.ok ? ok({ kind: 'changeBaudResponse', ...z.value }) : z;
    }
    case FunctionCode.ChangePassword: {
      // 98H + the new PA P0-P2 (PROTOCOLS.md 1.3 row 18H, [BK]).
      const e = r.exactly(PASSWORD_LENGTH, 'a change-password reply carries the new PA P0-P2');
      return e ? err(e) : ok({ kind: 'changePasswordResponse', newPassword: r.password(0) });
    }
    case FunctionCode.MultiFunctionOutput: {
      // 9DH: PROTOCOLS.md 1.3 lists no data; some meters are said to echo the output type ([BK]),
      // so zero or one byte is accepted.
      const e = r.atMost(1, 'a multi-function output reply carries at most the output-type byte');
      if (e) return err(e);
      return ok({ kind: 'multiFunctionOutputResponse', output: frame.data.length === 1 ? r.byte(0) : null });
    }
    default:
      return ok(other(frame));
  }
}

const EMPTY_REPLY_KIND: Readonly<Record<number, Dlt645Message['kind']>> = {
  [FunctionCode.WriteData]: 'writeDataResponse',
  [FunctionCode.WriteAddress]: 'writeAddressResponse',
  [FunctionCode.Freeze]: 'freezeResponse',
  [FunctionCode.ClearMaxDemand]: 'clearMaxDemandResponse',
  [FunctionCode.MeterClear]: 'meterClearResponse',
  [FunctionCode.EventClear]: 'eventClearResponse',
  [FunctionCode.RemoteControl]: 'remoteControlResponse',
};

function decode1997(frame: Dlt645Frame, r: DataReader): Result<Dlt645Message, DecodeError> {
  const c = frame.control;
  if (c.functionCode === FunctionCode1997.Read) {
    if (!c.isResponse) {
      const e = r.exactly(DI_LENGTH_1997, 'a 1997 read carries a 2-byte DI');
      return e ? err(e) : ok({ kind: 'readData1997', di: r.di(0, DI_LENGTH_1997) });
    }
    const e = r.atLeast(DI_LENGTH_1997, 'a 1997 read reply carries DI(2) + value');
    if (e) return err(e);
    return ok({
      kind: 'readDataResponse1997',
      di: r.di(0, DI_LENGTH_1997),
      payload: r.slice(DI_LENGTH_1997),
      hasFollowUp: c.hasFollowUp,
    });
  }
  // Every other 1997 layout is [BK] (PROTOCOLS.md 1.10): known by name only.
  return ok(other(frame));
}

/**
 * A frame the codec knows by name only. The name is `functionName(code, edition)` plus
 * "Response" for a reply, so that `encodeMessage` can rebuild C from it.
 */
function other(frame: Dlt645Frame): Dlt645Message {
  const c = frame.control;
  return {
    kind: 'other',
    functionName: functionName(c.functionCode, frame.edition) + (c.isResponse ? 'Response' : ''),
    data: frame.data.slice(),
  };
}

/** Names of the bits set in an error word ERR (PROTOCOLS.md 1.7), bit 0 first. */
export function errorWordBits(errorWord: number): ErrorWordBit[] {
  const out: ErrorWordBit[] = [];
  for (let bit = 0; bit < ERROR_WORD_BITS.length; bit++) if (errorWord & (1 << bit)) out.push(ERROR_WORD_BITS[bit]!);
  return out;
}

/** Error word ERR with the named bits set (PROTOCOLS.md 1.7). */
export function errorWordFromBits(bits: readonly ErrorWordBit[]): number {
  let w = 0;
  for (const b of bits) w |= 1 << ERROR_WORD_BITS.indexOf(b);
  return w;
}

/** Reads fields from a data field (−33H already applied), reporting absolute offsets. */
class DataReader {
  constructor(
    readonly data: Uint8Array,
    readonly base: number,
  ) {}

  byte(at: number): number {
    return this.data[at]!;
  }

  slice(from: number, to = this.data.length): Uint8Array {
    return this.data.slice(from, to);
  }

  exactly(n: number, what: string): DecodeError | null {
    return this.atLeast(n, what) ?? this.atMost(n, what);
  }

  atLeast(n: number, what: string): DecodeError | null {
    if (this.data.length >= n) return null;
    return decodeError(
      'dlt645.data-length',
      `data field too short: ${this.data.length} byte(s), ${what} (${n} byte(s))`,
      this.base + this.data.length,
    );
  }

  atMost(n: number, what: string): DecodeError | null {
    if (this.data.length <= n) return null;
    return decodeError('dlt645.data-length', `data field too long: ${this.data.length} byte(s), ${what} (${n} byte(s))`, this.base + n);
  }

  /** DI of `length` bytes sent DI0 first, written DI3..DI0 (PROTOCOLS.md 1.2). */
  di(at: number, length: number): string {
    return toHex(this.data.slice(at, at + length).reverse(), '');
  }

  /** PA P0 P1 P2 -> level PA, value "P2P1P0" (PROTOCOLS.md 1.5). */
  password(at: number): Password {
    return { level: this.data[at]!, value: toHex(this.data.slice(at + 1, at + 4).reverse(), '') };
  }

  /** C0 C1 C2 C3 -> "C3C2C1C0" (PROTOCOLS.md 1.5). */
  operator(at: number): string {
    return toHex(this.data.slice(at, at + OPERATOR_LENGTH).reverse(), '');
  }

  bcdAddress(at: number): Result<string, DecodeError> {
    for (let i = 0; i < ADDRESS_LENGTH; i++) {
      const b = this.data[at + i]!;
      if (!isBcdByte(b)) {
        return err(decodeError('dlt645.address', `address byte ${i} in the data field is ${hex2(b)}H, not BCD`, this.base + at + i));
      }
    }
    return ok(toHex(this.data.slice(at, at + ADDRESS_LENGTH).reverse(), ''));
  }

  /** ss mm hh DD MM YY, BCD, a real calendar instant in 2000-2099. */
  dateTime(at: number): Result<FrameDateTime, DecodeError> {
    const names = ['second', 'minute', 'hour', 'day', 'month', 'year'] as const;
    const v: number[] = [];
    for (let i = 0; i < DATE_TIME_LENGTH; i++) {
      const b = this.data[at + i]!;
      if (!isBcdByte(b)) {
        return err(decodeError('dlt645.time', `${names[i]} byte ${hex2(b)}H is not BCD`, this.base + at + i));
      }
      v.push(bcdByteToNumber(b));
    }
    const t: FrameDateTime = { second: v[0]!, minute: v[1]!, hour: v[2]!, day: v[3]!, month: v[4]!, year: 2000 + v[5]! };
    if (!isValidCalendar(t)) {
      // Point at the first field out of range; a day past the month's end points at DD.
      const bad =
        t.second > 59 ? 0 : t.minute > 59 ? 1 : t.hour > 23 ? 2 : t.month < 1 || t.month > 12 ? 4 : 3;
      return err(decodeError('dlt645.time', `not a calendar time: ${formatDateTime(t)}`, this.base + at + bad));
    }
    return ok(t);
  }

  /** mm hh DD MM, each BCD in range or 99H = any (PROTOCOLS.md 1.3 row 16H, [BK]). */
  freeze(at: number): Result<{ minute: FreezeField; hour: FreezeField; day: FreezeField; month: FreezeField }, DecodeError> {
    const fields = [
      ['minute', 0, 59],
      ['hour', 0, 23],
      ['day', 1, 31],
      ['month', 1, 12],
    ] as const;
    const out: Record<string, FreezeField> = {};
    for (let i = 0; i < fields.length; i++) {
      const [name, min, max] = fields[i]!;
      const b = this.data[at + i]!;
      if (b === FREEZE_ANY) {
        out[name] = 'any';
        continue;
      }
      const n = isBcdByte(b) ? bcdByteToNumber(b) : -1;
      if (n < min || n > max) {
        return err(decodeError('dlt645.time', `freeze ${name} ${hex2(b)}H is neither BCD ${min}..${max} nor 99H (any)`, this.base + at + i));
      }
      out[name] = n;
    }
    return ok({ minute: out.minute!, hour: out.hour!, day: out.day!, month: out.month! });
  }

  /** Z: exactly one of the bits D1..D6 (PROTOCOLS.md 1.6). */
  baud(at: number): Result<{ z: number; baudRate: number }, DecodeError> {
    const z = this.data[at]!;
    const baudRate = featureWordToBaud(z);
    if (baudRate === null) {
      return err(
        decodeError(
          'dlt645.baud-feature-word',
          `baud-rate feature word Z = ${hex2(z)}H is not exactly one of the bits D1..D6 (02H 600 ... 40H 19200 bit/s)`,
          this.base + at,
        ),
      );
    }
    return ok({ z, baudRate });
  }
}

function hex2(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

/** "2017-06-05 10:22:51" */
export function formatDateTime(t: FrameDateTime): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(t.year, 4)}-${p(t.month)}-${p(t.day)} ${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface EncodeMessageOptions {
  /** FE wake-up bytes before the frame (masters usually send 4; PROTOCOLS.md 1.1). Default 0. */
  readonly preamble?: number;
}

/** Control code and plain data field (before +33H) of a message. Throws EncodeError for bad values. */
/** A request's control code and data (module functions, not closures per call: encodeMessageData runs per frame). */
function req(functionCode: number, ...parts: Uint8Array[]): { control: number; data: Uint8Array } {
  return { control: makeControl({ functionCode }), data: concatBytes(...parts) };
}

/** A reply's control code and data. */
function rsp(functionCode: number, hasFollowUp: boolean, ...parts: Uint8Array[]): { control: number; data: Uint8Array } {
  return { control: makeControl({ functionCode, isResponse: true, hasFollowUp }), data: concatBytes(...parts) };
}

export function encodeMessageData(message: Dlt645Message): { control: number; data: Uint8Array } {
  const m = message;
  switch (m.kind) {
    case 'broadcastTimeSync':
      return req(FunctionCode.BroadcastTimeSync, dateTimeToWire(m.time, 'time'));
    case 'readData':
      return req(FunctionCode.ReadData, diToWire(m.di, DI_LENGTH_2007), bytesArg(m.extra, 'extra'));
    case 'readDataResponse':
      return rsp(FunctionCode.ReadData, m.hasFollowUp, diToWire(m.di, DI_LENGTH_2007), bytesArg(m.payload, 'payload'));
    case 'readFollowUp':
      return req(FunctionCode.ReadFollowUp, diToWire(m.di, DI_LENGTH_2007), byteArg(m.seq, 'seq'));
    case 'readFollowUpResponse':
      return rsp(
        FunctionCode.ReadFollowUp,
        m.hasFollowUp,
        diToWire(m.di, DI_LENGTH_2007),
        bytesArg(m.payload, 'payload'),
        byteArg(m.seq, 'seq'),
      );
    case 'readAddress':
      return req(FunctionCode.ReadAddress);
    case 'readAddressResponse':
      return rsp(FunctionCode.ReadAddress, false, bcdAddressToWire(m.address, 'address'));
    case 'writeData':
      return req(
        FunctionCode.WriteData,
        diToWire(m.di, DI_LENGTH_2007),
        passwordToWire(m.password),
        operatorToWire(m.operator),
        bytesArg(m.payload, 'payload'),
      );
    case 'writeDataResponse':
      return rsp(FunctionCode.WriteData, false);
    case 'writeAddress':
      return req(FunctionCode.WriteAddress, bcdAddressToWire(m.newAddress, 'newAddress'));
    case 'writeAddressResponse':
      return rsp(FunctionCode.WriteAddress, false);
    case 'freeze':
      return req(
        FunctionCode.Freeze,
        Uint8Array.of(
          freezeFieldToWire(m.minute, 'minute', 0, 59),
          freezeFieldToWire(m.hour, 'hour', 0, 23),
          freezeFieldToWire(m.day, 'day', 1, 31),
          freezeFieldToWire(m.month, 'month', 1, 12),
        ),
      );
    case 'freezeResponse':
      return rsp(FunctionCode.Freeze, false);
    case 'changeBaud':
      return req(FunctionCode.ChangeBaud, Uint8Array.of(featureWordArg(m.z, m.baudRate)));
    case 'changeBaudResponse':
      return rsp(FunctionCode.ChangeBaud, false, Uint8Array.of(featureWordArg(m.z, m.baudRate)));
    case 'changePassword':
      return req(
        FunctionCode.ChangePassword,
        diToWire(m.di, DI_LENGTH_2007),
        passwordToWire(m.oldPassword),
        passwordToWire(m.newPassword),
      );
    case 'changePasswordResponse':
      return rsp(FunctionCode.ChangePassword, false, passwordToWire(m.newPassword));
    case 'clearMaxDemand':
      return req(FunctionCode.ClearMaxDemand, passwordToWire(m.password), operatorToWire(m.operator));
    case 'clearMaxDemandResponse':
      return rsp(FunctionCode.ClearMaxDemand, false);
    case 'meterClear':
      return req(FunctionCode.MeterClear, passwordToWire(m.password), operatorToWire(m.operator));
    case 'meterClearResponse':
      return rsp(FunctionCode.MeterClear, false);
    case 'eventClear':
      return req(FunctionCode.EventClear, passwordToWire(m.password), operatorToWire(m.operator), diToWire(m.di, DI_LENGTH_2007));
    case 'eventClearResponse':
      return rsp(FunctionCode.EventClear, false);
    case 'remoteControl':
      return req(
        FunctionCode.RemoteControl,
        passwordToWire(m.password),
        operatorToWire(m.operator),
        Uint8Array.of(byteArg(m.command, 'command')[0]!, byteArg(m.reserved, 'reserved')[0]!),
        m.validUntil === null ? new Uint8Array(DATE_TIME_LENGTH) : dateTimeToWire(m.validUntil, 'validUntil'),
      );
    case 'remoteControlResponse':
      return rsp(FunctionCode.RemoteControl, false);
    case 'multiFunctionOutput':
      return req(FunctionCode.MultiFunctionOutput, byteArg(m.output, 'output'));
    case 'multiFunctionOutputResponse':
      return rsp(FunctionCode.MultiFunctionOutput, false, m.output === null ? new Uint8Array(0) : byteArg(m.output, 'output'));
    case 'errorResponse':
      return {
        control: makeControl({ functionCode: m.functionCode, isResponse: true, isAbnormal: true }),
        data: byteArg(m.errorWord, 'errorWord'),
      };
    case 'readData1997':
      return req(FunctionCode1997.Read, diToWire(m.di, DI_LENGTH_1997));
    case 'readDataResponse1997':
      return rsp(FunctionCode1997.Read, m.hasFollowUp, diToWire(m.di, DI_LENGTH_1997), bytesArg(m.payload, 'payload'));
    case 'other': {
      const isResponse = m.functionName.endsWith('Response');
      const base = isResponse ? m.functionName.slice(0, -'Response'.length) : m.functionName;
      const functionCode = functionCodeByName(base);
      if (functionCode === null) throw new EncodeError(`unknown DL/T 645 function name ${JSON.stringify(m.functionName)}`);
      return { control: makeControl({ functionCode, isResponse }), data: bytesArg(m.data, 'data') };
    }
    default: {
      const never: never = m;
      throw new EncodeError(`unknown DL/T 645 message kind ${JSON.stringify((never as { kind?: unknown }).kind)}`);
    }
  }
}

/** The whole frame for `message` sent to or from `address`. Throws EncodeError for bad values. */
export function encodeMessage(address: string, message: Dlt645Message, options: EncodeMessageOptions = {}): Uint8Array {
  const { control, data } = encodeMessageData(message);
  return encodeFrame({ address, control, data, preamble: options.preamble ?? 0 });
}


function bytesArg(b: Uint8Array, name: string): Uint8Array {
  if (!(b instanceof Uint8Array)) throw new EncodeError(`${name} must be a Uint8Array`);
  return b;
}

function byteArg(v: number, name: string): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`${name} must be one byte 0..255, got ${String(v)}`);
  return Uint8Array.of(v);
}

/** "00010000" -> 00 00 01 00 (DI0 first, PROTOCOLS.md 1.2); 4 hex digits for a 1997 DI. */
export function diToWire(di: string, length: number = di.length / 2): Uint8Array {
  const pattern = length === DI_LENGTH_1997 ? /^[0-9A-Fa-f]{4}$/ : /^[0-9A-Fa-f]{8}$/;
  if (typeof di !== 'string' || !pattern.test(di) || (length !== DI_LENGTH_1997 && length !== DI_LENGTH_2007)) {
    throw new EncodeError(`a DL/T 645 DI must be ${length * 2} hex digits (DI3..DI0 for 2007, DI1 DI0 for 1997), got ${JSON.stringify(di)}`);
  }
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = parseInt(di.slice(di.length - 2 - 2 * i, di.length - 2 * i), 16);
  return out;
}

/** { level PA, value "P2P1P0" } -> PA P0 P1 P2 (PROTOCOLS.md 1.5). */
export function passwordToWire(password: Password): Uint8Array {
  if (!password || !Number.isInteger(password.level) || password.level < 0 || password.level > 0xff) {
    throw new EncodeError(`password level PA must be one byte, got ${String(password?.level)}`);
  }
  if (typeof password.value !== 'string' || !/^[0-9A-Fa-f]{6}$/.test(password.value)) {
    throw new EncodeError(`password must be 6 hex digits P2P1P0, got ${JSON.stringify(password.value)}`);
  }
  const v = password.value;
  return Uint8Array.of(password.level, parseInt(v.slice(4, 6), 16), parseInt(v.slice(2, 4), 16), parseInt(v.slice(0, 2), 16));
}

/** "C3C2C1C0" -> C0 C1 C2 C3 (PROTOCOLS.md 1.5). */
export function operatorToWire(operator: string): Uint8Array {
  if (typeof operator !== 'string' || !/^[0-9A-Fa-f]{8}$/.test(operator)) {
    throw new EncodeError(`operator code must be 8 hex digits C3C2C1C0, got ${JSON.stringify(operator)}`);
  }
  const out = new Uint8Array(OPERATOR_LENGTH);
  for (let i = 0; i < OPERATOR_LENGTH; i++) out[i] = parseInt(operator.slice(6 - 2 * i, 8 - 2 * i), 16);
  return out;
}

function bcdAddressToWire(address: string, name: string): Uint8Array {
  if (typeof address !== 'string' || !/^\d{12}$/.test(address)) {
    throw new EncodeError(`${name} must be 12 decimal digits, got ${JSON.stringify(address)}`);
  }
  return addressToWire(address);
}

/** ss mm hh DD MM YY (BCD, PROTOCOLS.md 1.3 row 08H and 1.5). */
export function dateTimeToWire(t: FrameDateTime, name = 'time'): Uint8Array {
  if (!t || !Number.isInteger(t.year) || t.year < 2000 || t.year > 2099 || !isValidCalendar(t)) {
    throw new EncodeError(`${name} is not a calendar time in 2000-2099: ${JSON.stringify(t)}`);
  }
  return Uint8Array.of(
    numberToBcdByte(t.second),
    numberToBcdByte(t.minute),
    numberToBcdByte(t.hour),
    numberToBcdByte(t.day),
    numberToBcdByte(t.month),
    numberToBcdByte(t.year - 2000),
  );
}

function freezeFieldToWire(v: FreezeField, name: string, min: number, max: number): number {
  if (v === 'any') return FREEZE_ANY;
  if (!Number.isInteger(v) || v < min || v > max) throw new EncodeError(`freeze ${name} must be ${min}..${max} or 'any', got ${String(v)}`);
  return numberToBcdByte(v);
}

function featureWordArg(z: number, baudRate: number): number {
  const expected = baudToFeatureWord(baudRate);
  if (z !== expected) {
    throw new EncodeError(`feature word Z = ${String(z)} does not match ${baudRate} bit/s (Z = ${hex2(expected)}H, PROTOCOLS.md 1.6)`);
  }
  return z;
}

// ---------------------------------------------------------------------------------------------
// Frame + message in one step

export interface Dlt645Decoded {
  readonly frame: Dlt645Frame;
  readonly message: Dlt645Message;
  /** Offset of the first byte of the frame (first FE, or the 68H). */
  readonly start: number;
  /** Offset just past 16H. */
  readonly end: number;
  readonly raw: Uint8Array;
}

/** decodeFrame + decodeMessage with absolute offsets in errors. */
export function decode(bytes: Uint8Array, offset = 0, options: DecodeFrameOptions = {}): Result<Dlt645Decoded, DecodeError> {
  const f = decodeFrame(bytes, offset, options);
  if (!f.ok) return f;
  const { frame, start, end, raw } = f.value;
  const m = decodeMessage(frame, start + frame.preamble + HEADER_LENGTH);
  if (!m.ok) return m;
  return ok({ frame, message: m.value, start, end, raw });
}

/** The control field a message would be sent with (handy for logs and simulators). */
export function controlOf(message: Dlt645Message): ControlField {
  return parseControl(encodeMessageData(message).control);
}
