/**
 * MLGW application messages (docs/protocols/meterlab-gas-wireless.md 4): the DATA of a frame read
 * per command and direction. `decodeMessage` never throws; `encodeMessage` throws EncodeError for
 * values that cannot go on the wire. Integers little-endian.
 */
import { toHex } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  Command,
  commandName,
  DATA_OFFSET,
  errorCodeName,
  MeterKindCode,
  TIME_EPOCH_UTC_MS,
  ValveAction,
  type MlgwMeterKind,
  type ValveActionName,
} from './constants.ts';
import { decodeFrame, encodeFrame, isBroadcastId } from './frame.ts';
import type { MlgwDecodedFrame, MlgwFrame, MlgwMessage, MlgwStatus, MlgwTime, MlgwValveState } from './types.ts';

export const MESSAGE_ERROR_CODES = ['mlgw.data-length', 'mlgw.value', 'mlgw.broadcast'] as const;

/** DATA bytes of each reply (spec 4). */
const READ_CURRENT_REPLY_LENGTH = 13;
const BATTERY_REPLY_LENGTH = 4;
const IDENTIFY_REPLY_LENGTH = 2;
const ERROR_REPLY_LENGTH = 2;

// ---------------------------------------------------------------------------------------------
// STATUS and TIME

const VALVE_BITS: Readonly<Record<number, MlgwValveState | null>> = { 0: 'open', 1: 'closed', 2: null, 3: 'abnormal' };

/** STATUS byte (spec 4), or null when D1 D0 = 10 (not used) or a reserved bit is set. */
export function decodeStatus(raw: number): MlgwStatus | null {
  const valve = VALVE_BITS[raw & 0x03];
  if (!valve || (raw & 0xf0) !== 0) return null;
  return { raw, valve, batteryLow: (raw & 0x04) !== 0, valveMoving: (raw & 0x08) !== 0 };
}

export function encodeStatus(s: Omit<MlgwStatus, 'raw'>): number {
  const v = s.valve === 'open' ? 0 : s.valve === 'closed' ? 1 : s.valve === 'abnormal' ? 3 : -1;
  if (v < 0) throw new EncodeError(`MLGW valve state must be open, closed or abnormal, got ${JSON.stringify(s.valve)}`);
  return v | (s.batteryLow ? 0x04 : 0) | (s.valveMoving ? 0x08 : 0);
}

/** TIME seconds (since 2000-01-01 00:00:00 local) as calendar fields. */
export function secondsToTime(seconds: number): MlgwTime {
  const d = new Date(TIME_EPOCH_UTC_MS + seconds * 1000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
}

/** Calendar fields (local) as TIME seconds. Throws EncodeError outside 2000..2136. */
export function timeToSeconds(t: MlgwTime): number {
  const s = (Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - TIME_EPOCH_UTC_MS) / 1000;
  if (!Number.isInteger(s) || s < 0 || s > 0xffffffff) throw new EncodeError(`MLGW TIME must fall in 2000-01-01 .. 2136-02-07, got ${JSON.stringify(t)}`);
  return s;
}

const u32 = (d: Uint8Array, i: number): number => (d[i]! | (d[i + 1]! << 8) | (d[i + 2]! << 16) | (d[i + 3]! << 24)) >>> 0;

function putU32(out: Uint8Array, i: number, v: number, name: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new EncodeError(`MLGW ${name} must be an unsigned 32-bit integer, got ${String(v)}`);
  out[i] = v & 0xff;
  out[i + 1] = (v >>> 8) & 0xff;
  out[i + 2] = (v >>> 16) & 0xff;
  out[i + 3] = (v >>> 24) & 0xff;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/**
 * Reads a frame's DATA as a message. `dataOffset` is the absolute offset of DATA in the buffer the
 * frame came from, so errors carry absolute offsets. Codes: `mlgw.data-length` (DATA has the wrong
 * length for the command; offset = first missing or surplus byte), `mlgw.value` (an unknown valve
 * action, a STATUS with D1 D0 = 10 or reserved bits), `mlgw.broadcast` (FF x 4 with a command other
 * than IDENTIFY, or on a reply).
 */
export function decodeMessage(frame: MlgwFrame, dataOffset = 0): Result<MlgwMessage, DecodeError> {
  const { meterId, seq, command, data } = frame;
  const head = { meterId, seq };
  const length = (want: number): DecodeError | null =>
    data.length === want ? null : decodeError('mlgw.data-length', `${commandName(command)} ${frame.isReply ? 'reply' : 'request'} carries ${want} data byte(s), got ${data.length}`, dataOffset + Math.min(want, data.length));
  const status = (i: number): Result<MlgwStatus, DecodeError> => {
    const s = decodeStatus(data[i]!);
    return s ? ok(s) : err(decodeError('mlgw.value', `STATUS ${toHex(data.subarray(i, i + 1))}: valve bits 10 or reserved bits set`, dataOffset + i));
  };
  if (isBroadcastId(meterId) && (frame.isReply || command !== Command.Identify)) {
    return err(decodeError('mlgw.broadcast', `ID FFFFFFFF is allowed only on an IDENTIFY request, not on ${commandName(command)} ${frame.isReply ? 'reply' : 'request'}`, dataOffset - 6));
  }
  if (!frame.isReply) {
    switch (command) {
      case Command.ReadCurrent:
      case Command.ReadBattery:
      case Command.Identify: {
        const e = length(0);
        if (e) return err(e);
        const kind = command === Command.ReadCurrent ? 'readCurrent' : command === Command.ReadBattery ? 'readBattery' : 'identify';
        return ok({ ...head, kind });
      }
      case Command.Valve: {
        const e = length(1);
        if (e) return err(e);
        const action = data[0] === ValveAction.open ? 'open' : data[0] === ValveAction.close ? 'close' : null;
        if (!action) return err(decodeError('mlgw.value', `valve action ${toHex(data)} is neither 01H (open) nor 02H (close)`, dataOffset));
        return ok({ ...head, kind: 'valve', action });
      }
      default:
        return ok({ ...head, kind: 'unknownRequest', command, data: data.slice() });
    }
  }
  if (frame.isError) {
    const e = length(ERROR_REPLY_LENGTH);
    if (e) return err(e);
    const s = decodeStatus(data[1]!);
    return ok({ ...head, kind: 'errorReply', command, code: data[0]!, codeName: errorCodeName(data[0]!), status: s });
  }
  switch (command) {
    case Command.ReadCurrent: {
      const e = length(READ_CURRENT_REPLY_LENGTH);
      if (e) return err(e);
      const s = status(12);
      if (!s.ok) return s;
      const seconds = u32(data, 8);
      return ok({ ...head, kind: 'readCurrentReply', volumeLitres: u32(data, 0), settledLitres: u32(data, 4), seconds, time: secondsToTime(seconds), status: s.value });
    }
    case Command.Valve: {
      const e = length(1);
      if (e) return err(e);
      const s = status(0);
      if (!s.ok) return s;
      return ok({ ...head, kind: 'valveReply', status: s.value });
    }
    case Command.ReadBattery: {
      const e = length(BATTERY_REPLY_LENGTH);
      if (e) return err(e);
      const s = status(3);
      if (!s.ok) return s;
      if (data[2]! > 100) return err(decodeError('mlgw.value', `battery LEVEL ${data[2]} % is above 100`, dataOffset + 2));
      return ok({ ...head, kind: 'readBatteryReply', millivolts: data[0]! | (data[1]! << 8), levelPercent: data[2]!, status: s.value });
    }
    case Command.Identify: {
      const e = length(IDENTIFY_REPLY_LENGTH);
      if (e) return err(e);
      const code = data[0]!;
      const kind = (Object.keys(MeterKindCode) as MlgwMeterKind[]).find((k) => MeterKindCode[k] === code) ?? null;
      return ok({ ...head, kind: 'identifyReply', meterKind: kind, meterKindCode: code, firmware: data[1]! });
    }
    default:
      return err(decodeError('mlgw.value', `reply to unknown command ${commandName(command)}`, dataOffset - 1));
  }
}

/** Decodes a frame and its message (frame errors first). */
export function decode(bytes: Uint8Array, offset = 0): Result<{ decoded: MlgwDecodedFrame; message: MlgwMessage }, DecodeError> {
  const f = decodeFrame(bytes, offset);
  if (!f.ok) return f;
  const m = decodeMessage(f.value.frame, dataOffsetOf(f.value));
  return m.ok ? ok({ decoded: f.value, message: m.value }) : m;
}

/** Absolute offset of DATA in the buffer a decoded frame came from. */
export function dataOffsetOf(d: MlgwDecodedFrame): number {
  return d.start + d.frame.preamble + DATA_OFFSET;
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface EncodeMessageOptions {
  /** 55H bytes first (default 4; a wake-up is more, spec 5). */
  readonly preamble?: number;
}

/** The frame of a message. Throws EncodeError for values that cannot go on the wire. */
export function encodeMessage(m: MlgwMessage, options: EncodeMessageOptions = {}): Uint8Array {
  const base = { meterId: m.meterId, seq: m.seq, ...(options.preamble !== undefined ? { preamble: options.preamble } : {}) };
  switch (m.kind) {
    case 'readCurrent':
      return encodeFrame({ ...base, isReply: false, command: Command.ReadCurrent });
    case 'readBattery':
      return encodeFrame({ ...base, isReply: false, command: Command.ReadBattery });
    case 'identify':
      return encodeFrame({ ...base, isReply: false, command: Command.Identify });
    case 'valve': {
      const a = ValveAction[m.action as ValveActionName];
      if (a === undefined) throw new EncodeError(`MLGW valve action must be open or close, got ${JSON.stringify(m.action)}`);
      return encodeFrame({ ...base, isReply: false, command: Command.Valve, data: Uint8Array.of(a) });
    }
    case 'unknownRequest':
      return encodeFrame({ ...base, isReply: false, command: m.command, data: m.data });
    case 'readCurrentReply': {
      const d = new Uint8Array(READ_CURRENT_REPLY_LENGTH);
      putU32(d, 0, m.volumeLitres, 'VOLUME');
      putU32(d, 4, m.settledLitres, 'SETTLED');
      putU32(d, 8, m.seconds, 'TIME');
      d[12] = encodeStatus(m.status);
      return encodeFrame({ ...base, isReply: true, command: Command.ReadCurrent, data: d });
    }
    case 'valveReply':
      return encodeFrame({ ...base, isReply: true, command: Command.Valve, data: Uint8Array.of(encodeStatus(m.status)) });
    case 'readBatteryReply': {
      if (!Number.isInteger(m.millivolts) || m.millivolts < 0 || m.millivolts > 0xffff) throw new EncodeError(`MLGW VOLTAGE must be 0..65535 mV, got ${m.millivolts}`);
      if (!Number.isInteger(m.levelPercent) || m.levelPercent < 0 || m.levelPercent > 100) throw new EncodeError(`MLGW LEVEL must be 0..100 %, got ${m.levelPercent}`);
      const d = Uint8Array.of(m.millivolts & 0xff, m.millivolts >> 8, m.levelPercent, encodeStatus(m.status));
      return encodeFrame({ ...base, isReply: true, command: Command.ReadBattery, data: d });
    }
    case 'identifyReply':
      return encodeFrame({ ...base, isReply: true, command: Command.Identify, data: Uint8Array.of(m.meterKindCode, m.firmware) });
    case 'errorReply': {
      const st = m.status ? encodeStatus(m.status) : 0;
      return encodeFrame({ ...base, isReply: true, isError: true, command: m.command, data: Uint8Array.of(m.code, st) });
    }
  }
}

/** One line for captures and logs: "readCurrent -> 12345678 SEQ 07 (600 x 55H)". */
export function describeMlgw(d: MlgwDecodedFrame, message: Result<MlgwMessage, DecodeError>): string {
  const f = d.frame;
  const pre = `${f.preamble} x 55H`;
  const seq = f.seq.toString(16).toUpperCase().padStart(2, '0');
  if (!message.ok) return `MLGW ${f.isReply ? 'reply' : 'request'} ${commandName(f.command)} ${f.meterId} SEQ ${seq}: ${message.error.code} (${pre})`;
  const m = message.value;
  const arrow = f.isReply ? '<-' : '->';
  let detail = '';
  switch (m.kind) {
    case 'readCurrentReply':
      detail = ` volume ${m.volumeLitres} L, settled ${m.settledLitres} L, valve ${m.status.valve}${m.status.batteryLow ? ', battery low' : ''}`;
      break;
    case 'valve':
      detail = ` ${m.action}`;
      break;
    case 'valveReply':
      detail = ` valve ${m.status.valve}${m.status.valveMoving ? ' (moving)' : ''}`;
      break;
    case 'readBatteryReply':
      detail = ` ${m.millivolts} mV ${m.levelPercent} %`;
      break;
    case 'errorReply':
      detail = ` error ${m.code.toString(16).toUpperCase().padStart(2, '0')}H ${m.codeName}`;
      break;
    default:
      break;
  }
  return `MLGW ${m.kind} ${arrow} ${f.meterId} SEQ ${seq}${detail} (${pre})`;
}
