/**
 * EN 13757-3 application layer: the CI field and what follows it (MBUS.md 5-8).
 *
 * Slave to master: 70 application error, 72 variable data with the 12-byte header, 73 legacy
 * fixed data, 78 variable data without header, 7A variable data with the 4-byte header.
 * Master to slave: 50 application reset, 51 data send, 52 selection (secondary addressing),
 * B8..BF baud-rate switch. Others (76/77 MSB-first, vendor B1..B6, ...) are `mbus.ci-unsupported`.
 */
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { decodeSecondaryAddress, encodeSecondaryAddress, manufacturerCode, type SecondaryAddress } from './address.ts';
import {
  ADDRESS_NETWORK_LAYER,
  APPLICATION_ERRORS,
  BAUD_RATE_CI_FIRST,
  BAUD_RATES_BY_CI,
  CI,
  FIXED_DATA_LENGTH,
  LONG_DATA_OFFSET,
  LONG_HEADER_LENGTH,
  MEDIA,
  SELECTION_LENGTH,
  SHORT_HEADER_LENGTH,
} from './constants.ts';
import { FIXED_UNITS } from './dictionary.ts';
import { encodeFrame, makeControl, type MbusDecodedFrame, type MbusLongFrame } from './frame.ts';
import { bcdValue, decodeRecords, signedLE, type MbusRecord, type RecordValue } from './records.ts';

export interface LongHeader {
  readonly type: 'long';
  /** Identification number, 8 characters most significant first (hex nibbles where not BCD). */
  readonly id: string;
  readonly manufacturer: number;
  /** Three letters (MBUS.md 7). */
  readonly manufacturerCode: string;
  readonly version: number;
  readonly medium: number;
  readonly mediumName: string;
  readonly accessNumber: number;
  readonly status: number;
  /** Bytes 10-11 as a little-endian value (0000 = no encryption). */
  readonly signature: number;
}

export interface ShortHeader {
  readonly type: 'short';
  readonly accessNumber: number;
  readonly status: number;
  readonly signature: number;
}

export interface FixedCounter {
  /** Low 6 bits of the medium/unit byte. */
  readonly unitCode: number;
  readonly unit: string;
  readonly value: RecordValue;
}

export type MbusApplication =
  | {
      readonly kind: 'variableData';
      readonly ci: number;
      readonly header: LongHeader | ShortHeader | null;
      readonly records: readonly MbusRecord[];
      readonly moreRecordsFollow: boolean;
      readonly fillers: number;
    }
  | {
      readonly kind: 'fixedData';
      readonly ci: number;
      readonly id: string;
      readonly accessNumber: number;
      readonly status: number;
      /** Status bit 7: counters in binary (true) or BCD. */
      readonly binary: boolean;
      /** Status bit 6: stored values (true) or actual values. */
      readonly stored: boolean;
      /** 4-bit medium from the top 2 bits of each medium/unit byte ([BK] bit order). */
      readonly medium: number;
      readonly counters: readonly [FixedCounter, FixedCounter];
    }
  | { readonly kind: 'applicationError'; readonly ci: number; readonly code: number | null; readonly description: string }
  | { readonly kind: 'dataSend'; readonly ci: number; readonly records: readonly MbusRecord[]; readonly moreRecordsFollow: boolean; readonly fillers: number }
  | { readonly kind: 'selection'; readonly ci: number; readonly address: SecondaryAddress }
  | { readonly kind: 'applicationReset'; readonly ci: number; readonly subcode: number | null }
  | { readonly kind: 'baudRate'; readonly ci: number; readonly baudRate: number };

/** Every code `decodeApplication` returns besides the record codes. */
export const APPLICATION_ERROR_CODES: ReadonlySet<string> = new Set([
  'mbus.ci-unsupported',
  'mbus.ci-direction',
  'mbus.header-truncated',
  'mbus.fixed-length',
  'mbus.selection-length',
  'mbus.selection-id',
  'mbus.application-error-length',
  'mbus.reset-length',
  'mbus.baud-rate-length',
]);

const SLAVE_CIS: ReadonlySet<number> = new Set([CI.APPLICATION_ERROR, CI.VARIABLE_DATA, CI.FIXED_DATA, CI.VARIABLE_DATA_NO_HEADER, CI.VARIABLE_DATA_SHORT_HEADER]);

/**
 * Decodes the CI field and data of a control or long frame. `frameStart` is the offset of the
 * frame's first 68H in the caller's buffer, so that error offsets point into it.
 */
export function decodeApplication(frame: MbusLongFrame, frameStart = 0): Result<MbusApplication, DecodeError> {
  const ci = frame.ci;
  const ciAt = frameStart + LONG_DATA_OFFSET - 1;
  const base = frameStart + LONG_DATA_OFFSET;
  const data = frame.data;
  const isMasterCi = ci === CI.APPLICATION_RESET || ci === CI.DATA_SEND || ci === CI.SELECTION || (ci >= BAUD_RATE_CI_FIRST && ci <= BAUD_RATE_CI_FIRST + 7);
  if (!isMasterCi && !SLAVE_CIS.has(ci)) {
    return err(decodeError('mbus.ci-unsupported', `CI field ${hex2(ci)} is not decoded (70, 72, 73, 78, 7A from slaves; 50, 51, 52, B8-BF from masters)`, ciAt));
  }
  if (isMasterCi !== frame.control.fromMaster) {
    return err(decodeError('mbus.ci-direction', `CI field ${hex2(ci)} belongs to ${isMasterCi ? 'master' : 'slave'} frames, C field ${hex2(frame.control.raw)} is a ${frame.control.fromMaster ? 'master' : 'slave'} frame`, ciAt));
  }
  switch (ci) {
    case CI.APPLICATION_ERROR: {
      if (data.length > 1) return err(decodeError('mbus.application-error-length', `an application error carries at most 1 byte, found ${data.length}`, base + 1));
      // [BK] An application error without its code byte (corpus error.hex) is read as unspecified, as libmbus does.
      const code = data.length === 1 ? data[0]! : null;
      return ok({ kind: 'applicationError', ci, code, description: code === null ? 'unspecified error (no error code byte)' : (APPLICATION_ERRORS[code] ?? 'reserved') });
    }
    case CI.VARIABLE_DATA:
    case CI.VARIABLE_DATA_SHORT_HEADER:
    case CI.VARIABLE_DATA_NO_HEADER: {
      const headerLength = ci === CI.VARIABLE_DATA ? LONG_HEADER_LENGTH : ci === CI.VARIABLE_DATA_SHORT_HEADER ? SHORT_HEADER_LENGTH : 0;
      if (data.length < headerLength) {
        return err(decodeError('mbus.header-truncated', `CI ${hex2(ci)} needs a ${headerLength}-byte header, the frame has ${data.length} data byte(s)`, base + data.length));
      }
      const header = ci === CI.VARIABLE_DATA ? longHeader(data) : ci === CI.VARIABLE_DATA_SHORT_HEADER ? shortHeader(data) : null;
      const records = decodeRecords(data, headerLength, data.length, base);
      if (!records.ok) return records;
      return ok({ kind: 'variableData', ci, header, ...records.value });
    }
    case CI.FIXED_DATA:
      return fixedData(data, base);
    case CI.DATA_SEND: {
      const records = decodeRecords(data, 0, data.length, base);
      if (!records.ok) return records;
      return ok({ kind: 'dataSend', ci, ...records.value });
    }
    case CI.SELECTION: {
      if (data.length !== SELECTION_LENGTH) {
        return err(decodeError('mbus.selection-length', `a selection carries ${SELECTION_LENGTH} bytes, found ${data.length}`, base + Math.min(data.length, SELECTION_LENGTH)));
      }
      const address = decodeSecondaryAddress(data, 0, base);
      if (!address.ok) return address;
      return ok({ kind: 'selection', ci, address: address.value });
    }
    case CI.APPLICATION_RESET:
      if (data.length > 1) return err(decodeError('mbus.reset-length', `an application reset carries at most 1 byte, found ${data.length}`, base + 1));
      return ok({ kind: 'applicationReset', ci, subcode: data.length === 1 ? data[0]! : null });
    default:
      if (data.length !== 0) return err(decodeError('mbus.baud-rate-length', `a baud-rate switch is a control frame (no data), found ${data.length} byte(s)`, base));
      return ok({ kind: 'baudRate', ci, baudRate: BAUD_RATES_BY_CI[ci - BAUD_RATE_CI_FIRST]! });
  }
}

function idOf(data: Uint8Array, at: number): string {
  let s = '';
  for (let i = at + 3; i >= at; i--) s += data[i]!.toString(16).toUpperCase().padStart(2, '0');
  return s;
}

function longHeader(d: Uint8Array): LongHeader {
  const manufacturer = d[4]! | (d[5]! << 8);
  return {
    type: 'long',
    id: idOf(d, 0),
    manufacturer,
    manufacturerCode: manufacturerCode(manufacturer),
    version: d[6]!,
    medium: d[7]!,
    mediumName: MEDIA[d[7]!] ?? 'Reserved',
    accessNumber: d[8]!,
    status: d[9]!,
    signature: d[10]! | (d[11]! << 8),
  };
}

function shortHeader(d: Uint8Array): ShortHeader {
  return { type: 'short', accessNumber: d[0]!, status: d[1]!, signature: d[2]! | (d[3]! << 8) };
}

/** Legacy fixed data (CI 73, MBUS.md 7): exactly 16 bytes. */
function fixedData(d: Uint8Array, base: number): Result<MbusApplication, DecodeError> {
  if (d.length !== FIXED_DATA_LENGTH) {
    return err(decodeError('mbus.fixed-length', `fixed data is ${FIXED_DATA_LENGTH} bytes, found ${d.length}`, base + Math.min(d.length, FIXED_DATA_LENGTH)));
  }
  const status = d[5]!;
  const binary = (status & 0x80) !== 0;
  const counter = (unitByte: number, at: number): FixedCounter => {
    const bytes = d.slice(at, at + 4);
    const unitCode = unitByte & 0x3f;
    return { unitCode, unit: FIXED_UNITS[unitCode]!.unit, value: binary ? { type: 'integer', value: signedLE(bytes) } : bcdValue(bytes, false) };
  };
  return ok({
    kind: 'fixedData',
    ci: CI.FIXED_DATA,
    id: idOf(d, 0),
    accessNumber: d[4]!,
    status,
    binary,
    stored: (status & 0x40) !== 0,
    medium: ((d[6]! & 0xc0) >> 6) | ((d[7]! & 0xc0) >> 4),
    counters: [counter(d[6]!, 8), counter(d[7]!, 12)],
  });
}

/** Frame + application in one: the frame must be a control or long frame. */
export function decodeLongFrameApplication(decoded: MbusDecodedFrame): Result<MbusApplication, DecodeError> | null {
  const f = decoded.frame;
  if (f.type !== 'long' && f.type !== 'control') return null;
  return decodeApplication(f, decoded.start);
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface LongHeaderSpec {
  /** 8 decimal digits. */
  readonly id: string;
  readonly manufacturer: number;
  readonly version: number;
  readonly medium: number;
  readonly accessNumber: number;
  readonly status: number;
  readonly signature?: number;
}

/** The 12-byte header of CI 72 (MBUS.md 7). Throws EncodeError. */
export function encodeLongHeader(h: LongHeaderSpec): Uint8Array {
  if (!/^[0-9]{8}$/.test(h.id)) throw new EncodeError(`identification must be 8 decimal digits, got ${JSON.stringify(h.id)}`);
  const sig = h.signature ?? 0;
  for (const [name, v, max] of [['access number', h.accessNumber, 0xff], ['status', h.status, 0xff], ['signature', sig, 0xffff]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(`${name} ${String(v)} is out of range`);
  }
  const out = new Uint8Array(LONG_HEADER_LENGTH);
  out.set(encodeSecondaryAddress({ id: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium }), 0);
  out[8] = h.accessNumber;
  out[9] = h.status;
  out[10] = sig & 0xff;
  out[11] = sig >> 8;
  return out;
}

/** RSP_UD with CI 72: header then the encoded records (each from `encodeRecord`). */
export function encodeVariableDataResponse(options: {
  readonly address: number;
  readonly header: LongHeaderSpec;
  readonly records: readonly Uint8Array[];
  readonly acd?: boolean;
  readonly dfc?: boolean;
}): Uint8Array {
  const header = encodeLongHeader(options.header);
  const n = header.length + options.records.reduce((s, r) => s + r.length, 0);
  const data = new Uint8Array(n);
  data.set(header, 0);
  let at = header.length;
  for (const r of options.records) {
    data.set(r, at);
    at += r.length;
  }
  return encodeFrame({ type: 'long', control: makeControl({ function: 'RSP_UD', acd: options.acd ?? false, dfc: options.dfc ?? false }), address: options.address, ci: CI.VARIABLE_DATA, data });
}

/** SND_UD to FD with CI 52: select the slave(s) matching `address` (wildcards allowed; MBUS.md 6). */
export function encodeSelection(address: SecondaryAddress, fcb = false): Uint8Array {
  return encodeFrame({ type: 'long', control: makeControl({ function: 'SND_UD', fcb }), address: ADDRESS_NETWORK_LAYER, ci: CI.SELECTION, data: encodeSecondaryAddress(address) });
}

/** RSP_UD with CI 70 (MBUS.md 5). */
export function encodeApplicationError(address: number, code: number): Uint8Array {
  if (!Number.isInteger(code) || code < 0 || code > 0xff) throw new EncodeError(`application error code must be one byte, got ${String(code)}`);
  return encodeFrame({ type: 'long', control: makeControl({ function: 'RSP_UD' }), address, ci: CI.APPLICATION_ERROR, data: Uint8Array.of(code) });
}

/** The secondary address (identity) of a long header. */
export function identityOf(h: LongHeader): SecondaryAddress {
  return { id: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium };
}

function hex2(b: number): string {
  return `${b.toString(16).toUpperCase().padStart(2, '0')}H`;
}
