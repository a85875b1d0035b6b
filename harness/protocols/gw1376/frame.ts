/**
 * Q/GDW 1376.1 link layer and application header (PROTOCOLS.md 3.1 - 3.4, 3.6):
 *
 *   68 L L 68 | C | A1(2) A2(2) A3 | AFN | SEQ | data units | [PW | EC] [Tp] | CS 16
 *
 * L (2 bytes LE, sent twice): bits 2-15 user-data length (C .. last AUX byte), bits 0-1 protocol
 * id (2). CS = sum of the user data mod 256. The AUX parts are at the end of the user data and
 * their presence follows from the header alone (PW: downlink AFN 01/04/05/06/0F/10; EC: uplink
 * with ACD [BK]; Tp: SEQ.TpV), so they are split off here and the data-unit region is left for
 * messages.ts. Decoding never throws on wire bytes: it returns a `DecodeError` with a stable code
 * and the absolute offset of the problem. Encoding invalid arguments throws `EncodeError`.
 */
import { bcdByteToNumber, isBcdByte, numberToBcdByte } from '../../core/bcd.ts';
import { byteHex } from '../../core/bytes.ts';
import { sum8 } from '../../core/checksum.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import {
  A3_GROUP,
  ADDRESS_OFFSET,
  AFN_OFFSET,
  C_DIR,
  C_FCB_ACD,
  C_FCV,
  C_FUNCTION_MASK,
  C_PRM,
  CONTROL_OFFSET,
  DATA_OFFSET,
  DEFAULT_PW_AFNS,
  EC_LENGTH,
  END,
  FIXED_USER_DATA_LENGTH,
  FRAME_OVERHEAD,
  HEADER_LENGTH,
  LENGTH1_OFFSET,
  LENGTH2_OFFSET,
  MAX_MSA,
  MAX_USER_DATA_NETWORK,
  MAX_USER_DATA_LENGTH,
  PROTOCOL_ID,
  PROTOCOL_ID_MASK,
  PW_LENGTH,
  SEQ_CON,
  SEQ_FIN,
  SEQ_FIR,
  SEQ_NUMBER_MASK,
  SEQ_OFFSET,
  SEQ_TPV,
  START,
  START2_OFFSET,
  TP_LENGTH,
} from './constants.ts';
import type { Address, Aux, ControlField, EventCounter, FramePosition, Gw1376DecodedFrame, Gw1376Frame, Seq, TimeTag } from './types.ts';

// ---------------------------------------------------------------------------------------------
// Options a device may need (the [BK] rules made switchable)

export interface Gw1376FrameOptions {
  /** Largest user-data length accepted (default 16383, network channel; 255 on private radio). */
  readonly maxUserDataLength?: number;
  /** Protocol ids accepted in L bits 0-1 (default [2]; 1 = Q/GDW 130-2005 [BK]). */
  readonly protocolIds?: readonly number[];
  /** Downlink AFNs that carry PW (default 01 04 05 06 0F 10, PROTOCOLS.md 3.6). */
  readonly pwAfns?: readonly number[];
  /** PW length (default 16, 1376.1-2013; 2 in older terminals [BK]). */
  readonly pwLength?: number;
  /**
   * When EC is present: `acd` (default; uplink frames with ACD = 1, the standard rule [BK]) or
   * `never`. (The 2009 C library's rule, EC in every AFN 00 frame, is contradicted by real login
   * confirms and is not offered.)
   */
  readonly ecRule?: 'acd' | 'never';
}

export interface ResolvedFrameOptions {
  readonly maxUserDataLength: number;
  readonly protocolIds: readonly number[];
  readonly pwAfns: readonly number[];
  readonly pwLength: number;
  readonly ecRule: 'acd' | 'never';
}

export const DEFAULT_FRAME_OPTIONS: ResolvedFrameOptions = {
  maxUserDataLength: MAX_USER_DATA_NETWORK,
  protocolIds: [PROTOCOL_ID],
  pwAfns: DEFAULT_PW_AFNS,
  pwLength: PW_LENGTH,
  ecRule: 'acd',
};

export function resolveFrameOptions(o: Gw1376FrameOptions = {}): ResolvedFrameOptions {
  if (o === DEFAULT_FRAME_OPTIONS) return DEFAULT_FRAME_OPTIONS;
  const r = { ...DEFAULT_FRAME_OPTIONS, ...o };
  if (!Number.isInteger(r.maxUserDataLength) || r.maxUserDataLength < FIXED_USER_DATA_LENGTH || r.maxUserDataLength > MAX_USER_DATA_LENGTH) {
    throw new EncodeError(`maxUserDataLength must be ${FIXED_USER_DATA_LENGTH}..${MAX_USER_DATA_LENGTH}, got ${String(r.maxUserDataLength)}`);
  }
  if (!Number.isInteger(r.pwLength) || r.pwLength < 0 || r.pwLength > 64) throw new EncodeError(`pwLength must be 0..64, got ${String(r.pwLength)}`);
  return r;
}

/** Whether a frame with this header carries PW (3.6). */
export function hasPw(control: ControlField, afn: number, o: ResolvedFrameOptions = DEFAULT_FRAME_OPTIONS): boolean {
  if (o.pwLength === 0) return false;
  if (afn === 0x06) return o.pwAfns.includes(afn); // both directions (3.6)
  return !control.dir && o.pwAfns.includes(afn);
}

/** Whether a frame with this header carries EC (3.6): uplink with ACD [BK]. */
export function hasEc(control: ControlField, o: ResolvedFrameOptions = DEFAULT_FRAME_OPTIONS): boolean {
  return o.ecRule === 'acd' && control.dir && control.acd;
}

// ---------------------------------------------------------------------------------------------
// Control field C (3.2)

export function parseControl(raw: number): ControlField {
  const c = raw & 0xff;
  const dir = (c & C_DIR) !== 0;
  const d5 = (c & C_FCB_ACD) !== 0;
  return { raw: c, dir, prm: (c & C_PRM) !== 0, fcb: !dir && d5, acd: dir && d5, fcv: (c & C_FCV) !== 0, functionCode: c & C_FUNCTION_MASK };
}

export interface ControlParts {
  readonly dir: boolean;
  readonly prm: boolean;
  /** FCB (downlink) or ACD (uplink): D5. */
  readonly fcbOrAcd?: boolean;
  readonly fcv?: boolean;
  readonly functionCode: number;
}

/** C from its parts (3.2). Throws EncodeError for a function code outside 0..15. */
export function makeControl(p: ControlParts): number {
  if (!Number.isInteger(p.functionCode) || p.functionCode < 0 || p.functionCode > C_FUNCTION_MASK) {
    throw new EncodeError(`1376.1 function code must be 0..15, got ${String(p.functionCode)}`);
  }
  return (p.dir ? C_DIR : 0) | (p.prm ? C_PRM : 0) | (p.fcbOrAcd ? C_FCB_ACD : 0) | (p.fcv ? C_FCV : 0) | p.functionCode;
}

// ---------------------------------------------------------------------------------------------
// SEQ (3.4)

export function parseSeq(raw: number): Seq {
  const s = raw & 0xff;
  const fir = (s & SEQ_FIR) !== 0;
  const fin = (s & SEQ_FIN) !== 0;
  const position: FramePosition = fir ? (fin ? 'single' : 'first') : fin ? 'last' : 'middle';
  return { raw: s, tpv: (s & SEQ_TPV) !== 0, fir, fin, con: (s & SEQ_CON) !== 0, seq: s & SEQ_NUMBER_MASK, position };
}

export interface SeqParts {
  readonly tpv?: boolean;
  /** Default 'single' (FIR = FIN = 1). */
  readonly position?: FramePosition;
  readonly con?: boolean;
  readonly seq: number;
}

export function makeSeq(p: SeqParts): number {
  if (!Number.isInteger(p.seq) || p.seq < 0 || p.seq > SEQ_NUMBER_MASK) throw new EncodeError(`1376.1 PSEQ/RSEQ must be 0..15, got ${String(p.seq)}`);
  const pos = p.position ?? 'single';
  const fir = pos === 'single' || pos === 'first';
  const fin = pos === 'single' || pos === 'last';
  return (p.tpv ? SEQ_TPV : 0) | (fir ? SEQ_FIR : 0) | (fin ? SEQ_FIN : 0) | (p.con ? SEQ_CON : 0) | p.seq;
}

/** The next 4-bit sequence number (PSEQ = PFC low 4 bits, responses increment RSEQ; 3.4). */
export function nextSeq(seq: number): number {
  return (seq + 1) & SEQ_NUMBER_MASK;
}

// ---------------------------------------------------------------------------------------------
// Address (3.3)

export function parseAddress(bytes: Uint8Array, at: number): Address {
  const a3 = bytes[at + 4]!;
  return {
    areaCode: byteHex(bytes[at + 1]!) + byteHex(bytes[at]!),
    terminal: bytes[at + 2]! | (bytes[at + 3]! << 8),
    msa: a3 >> 1,
    group: (a3 & A3_GROUP) !== 0,
  };
}

/** Wire bytes of an address. Throws EncodeError for a bad area code, terminal or MSA. */
export function addressToWire(a: Address): Uint8Array {
  if (typeof a.areaCode !== 'string' || !/^[0-9A-Fa-f]{4}$/.test(a.areaCode)) {
    throw new EncodeError(`1376.1 area code A1 must be 4 hex/BCD digits (e.g. "0200"), got ${JSON.stringify(a.areaCode)}`);
  }
  if (!Number.isInteger(a.terminal) || a.terminal < 0 || a.terminal > 0xffff) throw new EncodeError(`1376.1 terminal address A2 must be 0..65535, got ${String(a.terminal)}`);
  if (!Number.isInteger(a.msa) || a.msa < 0 || a.msa > MAX_MSA) throw new EncodeError(`1376.1 master-station address must be 0..127, got ${String(a.msa)}`);
  const v = parseInt(a.areaCode, 16);
  return Uint8Array.of(v & 0xff, v >> 8, a.terminal & 0xff, a.terminal >> 8, (a.msa << 1) | (a.group ? A3_GROUP : 0));
}

/** Broadcast: terminal FFFF with the group flag (3.3). */
export function isBroadcast(a: Address): boolean {
  return a.terminal === 0xffff && a.group;
}

// ---------------------------------------------------------------------------------------------
// Tp (3.6)

/** Tp from its 6 bytes, or null when the send time is not BCD. */
export function parseTimeTag(bytes: Uint8Array, at: number): TimeTag | null {
  for (let i = 1; i <= 4; i++) if (!isBcdByte(bytes[at + i]!)) return null;
  return {
    pfc: bytes[at]!,
    second: bcdByteToNumber(bytes[at + 1]!),
    minute: bcdByteToNumber(bytes[at + 2]!),
    hour: bcdByteToNumber(bytes[at + 3]!),
    day: bcdByteToNumber(bytes[at + 4]!),
    delayMinutes: bytes[at + 5]!,
  };
}

export function timeTagToWire(tp: TimeTag): Uint8Array {
  for (const [k, v, max] of [['pfc', tp.pfc, 255], ['delayMinutes', tp.delayMinutes, 255]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new EncodeError(`Tp ${k} must be 0..${max}, got ${String(v)}`);
  }
  return Uint8Array.of(tp.pfc, numberToBcdByte(tp.second), numberToBcdByte(tp.minute), numberToBcdByte(tp.hour), numberToBcdByte(tp.day), tp.delayMinutes);
}

/** The receiver's clock reading, as Tp compares it (day of month, hh mm ss). */
export interface TimeOfMonth {
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Days in the previous month, for a send time on the last days of it (default 31). */
  readonly daysInPreviousMonth?: number;
}

/**
 * Whether a frame with time tag `tp` arriving at `now` has outlived its allowed delay (3.6): the
 * receiver discards such a frame. Delay 0 means "no check" [BK]. A send time up to a few days
 * before `now` across a month end is handled with `daysInPreviousMonth`; a send time later than
 * `now` (clock skew) is not expired [BK].
 */
export function isTimeTagExpired(tp: TimeTag, now: TimeOfMonth): boolean {
  if (tp.delayMinutes === 0) return false;
  const secondsOf = (day: number, h: number, m: number, s: number): number => ((day * 24 + h) * 60 + m) * 60 + s;
  const sent = secondsOf(tp.day, tp.hour, tp.minute, tp.second);
  let at = secondsOf(now.day, now.hour, now.minute, now.second);
  if (tp.day > now.day) at += (now.daysInPreviousMonth ?? 31) * 86400; // sent last month
  const elapsed = at - sent;
  return elapsed > tp.delayMinutes * 60;
}

// ---------------------------------------------------------------------------------------------
// Frames (3.1)

/** Every frame error code, in the order the checks run. */
export const FRAME_ERROR_CODES = [
  'gw1376.start',
  'gw1376.protocol-id',
  'gw1376.length',
  'gw1376.length-mismatch',
  'gw1376.start2',
  'gw1376.truncated',
  'gw1376.checksum',
  'gw1376.end',
  'gw1376.aux',
  'gw1376.tp',
] as const;

/**
 * Decodes exactly one frame that begins at `offset`. Checks in wire order, each with its own code
 * and absolute offset into `bytes`:
 * - `gw1376.start`           the byte at `offset` is not 68H
 * - `gw1376.protocol-id`     L bits 0-1 are not an accepted protocol id (offset of L)
 * - `gw1376.length`          the user-data length is below 8 (C A AFN SEQ) or above the maximum
 * - `gw1376.length-mismatch` the second L differs from the first (offset of the differing byte)
 * - `gw1376.start2`          the byte after the two L is not 68H
 * - `gw1376.truncated`       the input ends before the frame does (offset = input length), only
 *                            when every byte present passed the checks above
 * - `gw1376.checksum`        CS is not the sum of the user data mod 256 (offset of CS)
 * - `gw1376.end`             the byte after CS is not 16H
 * - `gw1376.aux`             the user data is too short for the AUX its header announces
 * - `gw1376.tp`              Tp's send time is not BCD (offset of Tp)
 */
export function decodeFrame(bytes: Uint8Array, offset = 0, options: Gw1376FrameOptions = DEFAULT_FRAME_OPTIONS): Result<Gw1376DecodedFrame, DecodeError> {
  const o = resolveFrameOptions(options);
  const n = bytes.length;
  const head = Math.max(0, Math.trunc(offset) || 0);
  if (head >= n) return err(truncated(n, head));
  if (bytes[head] !== START) return err(decodeError('gw1376.start', `expected start character 68H, found ${hexByte(bytes[head]!)}`, head));
  const header = checkHeader(bytes, head, o);
  if (header !== null && typeof header !== 'number') return err(header);
  if (header === null) return err(truncated(n, head));
  const userLength = header;
  const csAt = head + HEADER_LENGTH + userLength;
  const endAt = csAt + 1;
  if (endAt >= n) return err(truncated(n, head));
  const expected = sum8(bytes, head + HEADER_LENGTH, csAt);
  const found = bytes[csAt]!;
  if (expected !== found) return err(decodeError('gw1376.checksum', `checksum mismatch: expected ${hexByte(expected)}, found ${hexByte(found)}`, csAt));
  if (bytes[endAt] !== END) return err(decodeError('gw1376.end', `expected end character 16H after CS, found ${hexByte(bytes[endAt]!)}`, endAt));

  const control = parseControl(bytes[head + CONTROL_OFFSET]!);
  const afn = bytes[head + AFN_OFFSET]!;
  const seq = parseSeq(bytes[head + SEQ_OFFSET]!);
  const pwLength = hasPw(control, afn, o) ? o.pwLength : 0;
  const ecLength = hasEc(control, o) ? EC_LENGTH : 0;
  const tpLength = seq.tpv ? TP_LENGTH : 0;
  const dataStart = head + DATA_OFFSET;
  const auxStart = csAt - tpLength - ecLength - pwLength;
  if (auxStart < dataStart) {
    return err(
      decodeError(
        'gw1376.aux',
        `user data leaves ${csAt - dataStart} byte(s) after SEQ, fewer than the ${pwLength + ecLength + tpLength} of its AUX (${[pwLength ? `PW ${pwLength}` : '', ecLength ? 'EC 2' : '', tpLength ? 'Tp 6' : ''].filter(Boolean).join(', ')})`,
        dataStart,
      ),
    );
  }
  let tp: TimeTag | null = null;
  if (tpLength > 0) {
    tp = parseTimeTag(bytes, csAt - TP_LENGTH);
    if (tp === null) return err(decodeError('gw1376.tp', 'time tag Tp send time (ss mm hh DD) is not BCD', csAt - TP_LENGTH));
  }
  const ecAt = auxStart + pwLength;
  const ec: EventCounter | null = ecLength > 0 ? { important: bytes[ecAt]!, normal: bytes[ecAt + 1]! } : null;
  const aux: Aux = { pw: pwLength > 0 ? bytes.slice(auxStart, auxStart + pwLength) : null, ec, tp };
  const l = bytes[head + LENGTH1_OFFSET]! | (bytes[head + LENGTH1_OFFSET + 1]! << 8);
  const frame: Gw1376Frame = {
    protocolId: l & PROTOCOL_ID_MASK,
    control,
    address: parseAddress(bytes, head + ADDRESS_OFFSET),
    afn,
    seq,
    data: bytes.slice(dataStart, auxStart),
    aux,
    checksum: found,
  };
  const end = endAt + 1;
  return ok({ frame, start: head, end, dataOffset: dataStart, raw: bytes.slice(head, end) });
}

/**
 * Checks `68 L L 68` at `head` as far as bytes are present: the user-data length when all six
 * are there and valid, a DecodeError at the first bad byte, or null when more bytes are needed.
 * The scanner uses it to refuse a spurious 68H early.
 */
export function checkHeader(bytes: Uint8Array, head: number, o: ResolvedFrameOptions = DEFAULT_FRAME_OPTIONS): number | DecodeError | null {
  const n = bytes.length;
  const at1 = head + LENGTH1_OFFSET;
  if (at1 >= n) return null;
  const id = bytes[at1]! & PROTOCOL_ID_MASK;
  if (!o.protocolIds.includes(id)) return decodeError('gw1376.protocol-id', `protocol id (L bits 0-1) is ${id}, expected ${o.protocolIds.join(' or ')}`, at1);
  if (at1 + 1 >= n) return null;
  const l1 = bytes[at1]! | (bytes[at1 + 1]! << 8);
  const userLength = l1 >> 2;
  if (userLength < FIXED_USER_DATA_LENGTH || userLength > o.maxUserDataLength) {
    return decodeError(
      'gw1376.length',
      userLength < FIXED_USER_DATA_LENGTH
        ? `user-data length ${userLength} is below ${FIXED_USER_DATA_LENGTH} (C A AFN SEQ)`
        : `user-data length ${userLength} exceeds the maximum ${o.maxUserDataLength}`,
      at1,
    );
  }
  for (let i = 0; i < 2; i++) {
    const at = head + LENGTH2_OFFSET + i;
    if (at >= n) return null;
    if (bytes[at] !== bytes[at1 + i]) {
      return decodeError('gw1376.length-mismatch', `second length field ${hexByte(bytes[at]!)} differs from the first ${hexByte(bytes[at1 + i]!)}`, at);
    }
  }
  const at2 = head + START2_OFFSET;
  if (at2 >= n) return null;
  if (bytes[at2] !== START) return decodeError('gw1376.start2', `expected second start character 68H, found ${hexByte(bytes[at2]!)}`, at2);
  return userLength;
}

function truncated(n: number, start: number): DecodeError {
  return decodeError('gw1376.truncated', `input ends after ${n - start} byte(s) of an unfinished frame`, n);
}

export function hexByte(b: number): string {
  return `${byteHex(b & 0xff)}H`;
}

export interface EncodeFrameOptions {
  /** C as a byte (see makeControl). */
  readonly control: number;
  readonly address: Address;
  readonly afn: number;
  /** SEQ as a byte (see makeSeq); TpV must match `tp`. */
  readonly seq: number;
  /** The data-unit region (DA DT data ...), see messages.ts. */
  readonly data: Uint8Array;
  /** PW: required exactly when the header carries it (hasPw). */
  readonly pw?: Uint8Array | null;
  /** EC: required exactly when the header carries it (hasEc). */
  readonly ec?: EventCounter | null;
  /** Tp: required exactly when SEQ.TpV = 1. */
  readonly tp?: TimeTag | null;
  /** Protocol id in L bits 0-1 (default 2). */
  readonly protocolId?: number;
}

/** Builds `68 L L 68 C A AFN SEQ data [PW|EC] [Tp] CS 16`. Throws EncodeError for bad or inconsistent arguments. */
export function encodeFrame(e: EncodeFrameOptions, options: Gw1376FrameOptions = DEFAULT_FRAME_OPTIONS): Uint8Array {
  const o = resolveFrameOptions(options);
  for (const [name, v] of [['control', e.control], ['AFN', e.afn], ['SEQ', e.seq]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new EncodeError(`1376.1 ${name} must be one byte, got ${String(v)}`);
  }
  if (!(e.data instanceof Uint8Array)) throw new EncodeError('1376.1 data must be a Uint8Array');
  const control = parseControl(e.control);
  const seq = parseSeq(e.seq);
  const pwWanted = hasPw(control, e.afn, o);
  const pw = e.pw ?? null;
  if (pwWanted !== (pw !== null)) throw new EncodeError(`this header ${pwWanted ? 'requires' : 'carries no'} PW (C ${hexByte(e.control)}, AFN ${hexByte(e.afn)})`);
  if (pw !== null && (!(pw instanceof Uint8Array) || pw.length !== o.pwLength)) throw new EncodeError(`PW must be ${o.pwLength} bytes`);
  const ecWanted = hasEc(control, o);
  const ec = e.ec ?? null;
  if (ecWanted !== (ec !== null)) throw new EncodeError(`this header ${ecWanted ? 'requires' : 'carries no'} EC (uplink with ACD)`);
  if (ec !== null) {
    for (const v of [ec.important, ec.normal]) if (!Number.isInteger(v) || v < 0 || v > 255) throw new EncodeError(`EC counters must be 0..255, got ${String(v)}`);
  }
  const tp = e.tp ?? null;
  if (seq.tpv !== (tp !== null)) throw new EncodeError(`SEQ.TpV is ${seq.tpv ? 1 : 0} but Tp is ${tp === null ? 'missing' : 'given'}`);
  const protocolId = e.protocolId ?? PROTOCOL_ID;
  if (!Number.isInteger(protocolId) || protocolId < 0 || protocolId > 3) throw new EncodeError(`protocol id must be 0..3, got ${String(protocolId)}`);
  const userLength = FIXED_USER_DATA_LENGTH + e.data.length + (pw?.length ?? 0) + (ec ? EC_LENGTH : 0) + (tp ? TP_LENGTH : 0);
  if (userLength > o.maxUserDataLength) throw new EncodeError(`user data of ${userLength} bytes exceeds the maximum ${o.maxUserDataLength}`);
  const out = new Uint8Array(FRAME_OVERHEAD + userLength);
  const l = (userLength << 2) | protocolId;
  out[0] = START;
  out[1] = out[3] = l & 0xff;
  out[2] = out[4] = l >> 8;
  out[5] = START;
  out[CONTROL_OFFSET] = e.control;
  out.set(addressToWire(e.address), ADDRESS_OFFSET);
  out[AFN_OFFSET] = e.afn;
  out[SEQ_OFFSET] = e.seq;
  let p = DATA_OFFSET;
  out.set(e.data, p);
  p += e.data.length;
  if (pw) {
    out.set(pw, p);
    p += pw.length;
  }
  if (ec) {
    out[p++] = ec.important;
    out[p++] = ec.normal;
  }
  if (tp) {
    out.set(timeTagToWire(tp), p);
    p += TP_LENGTH;
  }
  out[p] = sum8(out, HEADER_LENGTH, p);
  out[p + 1] = END;
  return out;
}

/** Encodes a decoded frame back (decode ∘ encode = identity for every accepted frame). */
export function encodeDecodedFrame(f: Gw1376Frame, options: Gw1376FrameOptions = DEFAULT_FRAME_OPTIONS): Uint8Array {
  return encodeFrame(
    { control: f.control.raw, address: f.address, afn: f.afn, seq: f.seq.raw, data: f.data, pw: f.aux.pw, ec: f.aux.ec, tp: f.aux.tp, protocolId: f.protocolId },
    options,
  );
}
