/**
 * DL/T 645-2007 load records (负荷记录, appendix A table A.7, DI3 = 06): the record block a meter
 * keeps every interval, and the request data of the "given time record block" read (DI 06000001,
 * 给定时间记录块). Pure: no I/O, no clock. Decoding never throws on wire bytes (a typed
 * DecodeError with code `dlt645.load-record` or the format codec's `dlt645.bcd` /
 * `dlt645.value-range`, and the offset in the buffer given); encoding bad arguments throws
 * EncodeError.
 *
 * Layout of one block (bytes after −33H; sources: public concentrator firmware, three independent
 * ones agree; the standard's own table was not read [BK]):
 *
 *   A0H A0H          start code; E0H E0H marks a block the meter says is not correct   2
 *   len              byte count, binary, from the time through the last AAH            1
 *   time             YYMMDDhhmm, BCD, on the wire mm hh DD MM YY (low byte first,      5
 *                    as the dictionary's 'YYMMDDhhmm' fields) [BK]
 *   class 1          Ua Ub Uc (XXX.X V, 2 B), Ia Ib Ic (XXX.XXX A, 3 B, signed),       17 or 0
 *                    f (XX.XX Hz, 2 B)
 *   AAH
 *   class 2          P total, A, B, C (XX.XXXX kW, 3 B, signed);                       24 or 0
 *                    Q total, A, B, C (XX.XXXX kvar, 3 B, signed)
 *   AAH
 *   class 3          PF total, A, B, C (X.XXX, 2 B, signed)                            8 or 0
 *   AAH
 *   class 4          forward active, reverse active (kWh), combined reactive 1,         16 or 0
 *                    combined reactive 2 (kvarh) (XXXXXX.XX, 4 B)
 *   AAH
 *   class 5          quadrant I..IV reactive totals (XXXXXX.XX kvarh, 4 B)             16 or 0
 *   AAH
 *   class 6          active demand (XX.XXXX kW), reactive demand (XX.XXXX kvar), 3 B    6 or 0
 *   AAH
 *   cs               sum mod 256 from the first start byte through the last AAH       1
 *   E5H              end code                                                          1
 *
 * A class the load-record mode word (04000901, bit c−1 = class c) does not enable is empty: its
 * AAH still comes. Every value field is BCD, low byte first, decoded with the dictionary's format
 * codecs (formats.ts): a signed field carries the sign in the top bit of its last byte. A field
 * sent as FF…FF (a value the meter does not have) decodes to NaN, and NaN encodes to FF…FF [BK].
 * Whether a class is present is told by the byte at its position: AAH (never a BCD low byte) means
 * empty; the length byte must then equal what was parsed.
 *
 * Combined reactive 1 and 2 are the meter's combinations of the quadrants (04000602 / 04000603);
 * with the usual feature words 05H / 50H they are QI + QII and QIII + QIV [BK].
 *
 * The request data of 11H DI 06000001 after the DI: NN (block count, 1 BCD byte, 1..99) then the
 * given time mm hh DD MM YY (5 BCD bytes): the table's "YYMMDDhhmmNN" sent low byte first [BK].
 * The meter answers the blocks whose time is at or after the given time, at most NN, oldest
 * first, concatenated (split over follow-up frames like any long reply).
 */
import { byteHex } from '../../core/bytes.ts';
import { isValidCalendar } from '../../core/calendar.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { ABSENT_VALUE, valueFieldCodec, type ValueFieldCodec } from './formats.ts';

/** DI of the "given time record block" read of all classes (table A.7: 06 00 00 01). */
export const LOAD_RECORD_GIVEN_TIME_DI = '06000001';

/** Start code of a correct block, and of a block the meter marks as not correct (public concentrator firmware). */
export const LOAD_RECORD_START = 0xa0;
export const LOAD_RECORD_INVALID_START = 0xe0;
/** Separator after each class (empty or not). */
export const LOAD_RECORD_SEPARATOR = 0xaa;
/** End code. */
export const LOAD_RECORD_END = 0xe5;
/** Classes of a block (1..6, mode word bits 0..5). */
export const LOAD_RECORD_CLASSES = 6;
/** Bytes of each class's content, class 1 first (the layout above). */
export const LOAD_RECORD_CLASS_LENGTHS: readonly number[] = [17, 24, 8, 16, 16, 6];
/** Bytes of the record time. */
export const LOAD_RECORD_TIME_LENGTH = 5;
/** The block count NN of a request is one BCD byte: 1..99. */
export const LOAD_RECORD_MAX_COUNT = 99;
/** Request data: NN + mm hh DD MM YY. */
export const LOAD_RECORD_REQUEST_LENGTH = 1 + LOAD_RECORD_TIME_LENGTH;

/** Bytes of a block whose classes are `modeWord` (start 2, len 1, time, classes, 6 AAH, cs, E5). */
export function loadRecordBlockLength(modeWord: number): number {
  let n = 2 + 1 + LOAD_RECORD_TIME_LENGTH + LOAD_RECORD_CLASSES + 2;
  for (let c = 0; c < LOAD_RECORD_CLASSES; c++) if ((modeWord >> c) & 1) n += LOAD_RECORD_CLASS_LENGTHS[c]!;
  return n;
}

/** A record time in meter local time (UTC+8); year is the full year (2000 + YY). */
export interface LoadRecordTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
}

export interface LoadRecordBlock {
  readonly time: LoadRecordTime;
  /** False: the block started with E0H E0H (the meter says it is not correct). */
  readonly valid: boolean;
  /** Class 1. Phases A, B, C. */
  readonly voltageCurrentFrequency?: { voltageV: [number, number, number]; currentA: [number, number, number]; frequencyHz: number };
  /** Class 2. Total, A, B, C. */
  readonly power?: { activeKw: [number, number, number, number]; reactiveKvar: [number, number, number, number] };
  /** Class 3. Total, A, B, C. */
  readonly powerFactor?: [number, number, number, number];
  /** Class 4. */
  readonly energy?: { forwardActiveKwh: number; reverseActiveKwh: number; combinedReactive1Kvarh: number; combinedReactive2Kvarh: number };
  /** Class 5. Quadrants I..IV. */
  readonly quadrantReactiveKvarh?: [number, number, number, number];
  /** Class 6. */
  readonly demand?: { activeKw: number; reactiveKvar: number };
}

/** The mode word (bit c−1 = class c) of the classes a block carries. */
export function loadRecordModeWord(block: LoadRecordBlock): number {
  let w = 0;
  if (block.voltageCurrentFrequency) w |= 1 << 0;
  if (block.power) w |= 1 << 1;
  if (block.powerFactor) w |= 1 << 2;
  if (block.energy) w |= 1 << 3;
  if (block.quadrantReactiveKvarh) w |= 1 << 4;
  if (block.demand) w |= 1 << 5;
  return w;
}

// ---------------------------------------------------------------------------------------------
// Field codecs (the dictionary's formats)

const TIME = valueFieldCodec({ format: 'YYMMDDhhmm', length: LOAD_RECORD_TIME_LENGTH });
const VOLTAGE = valueFieldCodec({ format: 'XXX.X', length: 2 });
const CURRENT = valueFieldCodec({ format: 'XXX.XXX', length: 3, signed: true });
const FREQUENCY = valueFieldCodec({ format: 'XX.XX', length: 2 });
const POWER = valueFieldCodec({ format: 'XX.XXXX', length: 3, signed: true });
const POWER_FACTOR = valueFieldCodec({ format: 'X.XXX', length: 2, signed: true });
const ENERGY = valueFieldCodec({ format: 'XXXXXX.XX', length: 4 });
const DEMAND = valueFieldCodec({ format: 'XX.XXXX', length: 3 });
const COUNT = valueFieldCodec({ format: 'NN', length: 1 });

/** The codecs of each class's fields, in wire order. */
const CLASS_FIELDS: readonly (readonly ValueFieldCodec[])[] = [
  [VOLTAGE, VOLTAGE, VOLTAGE, CURRENT, CURRENT, CURRENT, FREQUENCY],
  [POWER, POWER, POWER, POWER, POWER, POWER, POWER, POWER],
  [POWER_FACTOR, POWER_FACTOR, POWER_FACTOR, POWER_FACTOR],
  [ENERGY, ENERGY, ENERGY, ENERGY],
  [ENERGY, ENERGY, ENERGY, ENERGY],
  [DEMAND, DEMAND],
];

/** A class's values in wire order, or undefined when the block leaves it empty. */
function classValues(block: LoadRecordBlock, c: number): readonly number[] | undefined {
  switch (c) {
    case 0: {
      const v = block.voltageCurrentFrequency;
      return v && [...v.voltageV, ...v.currentA, v.frequencyHz];
    }
    case 1: {
      const v = block.power;
      return v && [...v.activeKw, ...v.reactiveKvar];
    }
    case 2:
      return block.powerFactor;
    case 3: {
      const v = block.energy;
      return v && [v.forwardActiveKwh, v.reverseActiveKwh, v.combinedReactive1Kvarh, v.combinedReactive2Kvarh];
    }
    case 4:
      return block.quadrantReactiveKvarh;
    default: {
      const v = block.demand;
      return v && [v.activeKw, v.reactiveKvar];
    }
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function setClass(block: Mutable<LoadRecordBlock>, c: number, v: readonly number[]): void {
  const at = (i: number): number => v[i]!;
  switch (c) {
    case 0:
      block.voltageCurrentFrequency = { voltageV: [at(0), at(1), at(2)], currentA: [at(3), at(4), at(5)], frequencyHz: at(6) };
      return;
    case 1:
      block.power = { activeKw: [at(0), at(1), at(2), at(3)], reactiveKvar: [at(4), at(5), at(6), at(7)] };
      return;
    case 2:
      block.powerFactor = [at(0), at(1), at(2), at(3)];
      return;
    case 3:
      block.energy = { forwardActiveKwh: at(0), reverseActiveKwh: at(1), combinedReactive1Kvarh: at(2), combinedReactive2Kvarh: at(3) };
      return;
    case 4:
      block.quadrantReactiveKvarh = [at(0), at(1), at(2), at(3)];
      return;
    default:
      block.demand = { activeKw: at(0), reactiveKvar: at(1) };
  }
}

// ---------------------------------------------------------------------------------------------
// Encoding

function encodeTime(t: LoadRecordTime, what: string): Uint8Array {
  if (!isValidCalendar({ ...t, second: 0 })) throw new EncodeError(`${what}: ${JSON.stringify(t)} is not a date and time`);
  return TIME.encode({ year: t.year, month: t.month, day: t.day, hour: t.hour, minute: t.minute });
}

/** NaN → FF…FF (a value the meter does not have); otherwise the format codec (throws when it does not fit). */
function encodeField(codec: ValueFieldCodec, v: number): Uint8Array {
  return codec.encode(Number.isNaN(v) ? ABSENT_VALUE : v);
}

/** The blocks on the wire, concatenated. Throws EncodeError for a value that does not fit its field. */
export function encodeLoadRecordBlocks(blocks: readonly LoadRecordBlock[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const block of blocks) {
    const b = encodeBlock(block);
    parts.push(b);
    total += b.length;
  }
  const out = new Uint8Array(total);
  let p = 0;
  for (const b of parts) {
    out.set(b, p);
    p += b.length;
  }
  return out;
}

function encodeBlock(block: LoadRecordBlock): Uint8Array {
  const out = new Uint8Array(loadRecordBlockLength(loadRecordModeWord(block)));
  const start = block.valid ? LOAD_RECORD_START : LOAD_RECORD_INVALID_START;
  out[0] = start;
  out[1] = start;
  let p = 3;
  out.set(encodeTime(block.time, 'load record time'), p);
  p += LOAD_RECORD_TIME_LENGTH;
  for (let c = 0; c < LOAD_RECORD_CLASSES; c++) {
    const values = classValues(block, c);
    if (values) {
      const codecs = CLASS_FIELDS[c]!;
      if (values.length !== codecs.length) throw new EncodeError(`load record class ${c + 1} needs ${codecs.length} values, got ${values.length}`);
      for (let i = 0; i < codecs.length; i++) {
        const f = encodeField(codecs[i]!, values[i]!);
        out.set(f, p);
        p += f.length;
      }
    }
    out[p++] = LOAD_RECORD_SEPARATOR;
  }
  out[2] = p - 3; // len: from the time through the last AAH
  let cs = 0;
  for (let i = 0; i < p; i++) cs = (cs + out[i]!) & 0xff;
  out[p++] = cs;
  out[p] = LOAD_RECORD_END;
  return out;
}

/** The request data after DI 06000001: NN then mm hh DD MM YY. Throws EncodeError for a count outside 1..99 or a bad time. */
export function encodeLoadRecordRequest(r: { count: number; from: LoadRecordTime }): Uint8Array {
  if (!Number.isInteger(r.count) || r.count < 1 || r.count > LOAD_RECORD_MAX_COUNT) {
    throw new EncodeError(`load record block count must be 1..${LOAD_RECORD_MAX_COUNT}, got ${r.count}`);
  }
  const out = new Uint8Array(LOAD_RECORD_REQUEST_LENGTH);
  out.set(COUNT.encode(r.count), 0);
  out.set(encodeTime(r.from, 'load record given time'), 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

const CODE = 'dlt645.load-record';

function fail(message: string, offset: number): { ok: false; error: DecodeError } {
  return err(decodeError(CODE, message, offset));
}

function decodeTime(bytes: Uint8Array, at: number): Result<LoadRecordTime, DecodeError> {
  const r = TIME.decode(bytes, at);
  if (!r.ok) return r;
  if (r.value === ABSENT_VALUE) return fail(`record time at offset ${at} is FF FF FF FF FF`, at);
  const v = r.value as { year: number; month: number; day: number; hour: number; minute: number };
  return ok({ year: v.year, month: v.month, day: v.day, hour: v.hour, minute: v.minute });
}

/**
 * The blocks of a load-record reply (zero or more, back to back). Errors name the offset in
 * `bytes`: a start code that is neither A0H A0H nor E0H E0H, a block cut short, a class that is
 * neither empty nor its full length followed by AAH, a length byte that disagrees, a bad
 * checksum, a missing E5H, or a field that is not BCD.
 */
export function decodeLoadRecordBlocks(bytes: Uint8Array): { ok: true; blocks: LoadRecordBlock[] } | { ok: false; error: DecodeError } {
  const blocks: LoadRecordBlock[] = [];
  let p = 0;
  while (p < bytes.length) {
    const r = decodeBlock(bytes, p);
    if (!r.ok) return { ok: false, error: r.error };
    blocks.push(r.value.block);
    p = r.value.end;
  }
  return { ok: true, blocks };
}

function decodeBlock(bytes: Uint8Array, start: number): Result<{ block: LoadRecordBlock; end: number }, DecodeError> {
  const s0 = bytes[start]!;
  if (s0 !== LOAD_RECORD_START && s0 !== LOAD_RECORD_INVALID_START) {
    return fail(`load record block starts with ${byteHex(s0)}H, expected A0H A0H (or E0H E0H)`, start);
  }
  if (start + 1 >= bytes.length) return fail('load record block cut short after its first start byte', start + 1);
  if (bytes[start + 1] !== s0) return fail(`second start byte ${byteHex(bytes[start + 1]!)}H differs from the first ${byteHex(s0)}H`, start + 1);
  const lenAt = start + 2;
  if (lenAt >= bytes.length) return fail('load record block cut short before its length byte', lenAt);
  const len = bytes[lenAt]!;
  const bodyStart = lenAt + 1;
  // time + 6 separators at least; the full length (with cs and E5) must be there.
  const minLen = LOAD_RECORD_TIME_LENGTH + LOAD_RECORD_CLASSES;
  if (len < minLen) return fail(`load record length ${len} is less than ${minLen} (time and six AAH)`, lenAt);
  const end = bodyStart + len + 2;
  if (end > bytes.length) return fail(`load record block of length ${len} needs ${end - start} bytes, only ${bytes.length - start} left`, bytes.length);
  const bodyEnd = bodyStart + len; // exclusive: the checksum byte
  const time = decodeTime(bytes, bodyStart);
  if (!time.ok) return time;
  const block: Mutable<LoadRecordBlock> = { time: time.value, valid: s0 === LOAD_RECORD_START };
  let p = bodyStart + LOAD_RECORD_TIME_LENGTH;
  for (let c = 0; c < LOAD_RECORD_CLASSES; c++) {
    if (p >= bodyEnd) return fail(`load record ends (length ${len}) before the AAH of class ${c + 1}`, p);
    if (bytes[p] === LOAD_RECORD_SEPARATOR) {
      p++;
      continue;
    }
    const codecs = CLASS_FIELDS[c]!;
    const classLength = LOAD_RECORD_CLASS_LENGTHS[c]!;
    if (p + classLength >= bodyEnd) return fail(`class ${c + 1} (${classLength} bytes and AAH) does not fit in the record's length ${len}`, p);
    const values: number[] = [];
    let q = p;
    for (const codec of codecs) {
      const v = codec.decode(bytes, q);
      if (!v.ok) return v;
      values.push(v.value === ABSENT_VALUE ? Number.NaN : (v.value as number));
      q += codec.spec.length;
    }
    if (bytes[q] !== LOAD_RECORD_SEPARATOR) return fail(`class ${c + 1} is not followed by AAH (got ${byteHex(bytes[q]!)}H)`, q);
    setClass(block, c, values);
    p = q + 1;
  }
  if (p !== bodyEnd) return fail(`load record length ${len} but the classes end after ${p - bodyStart} bytes`, p);
  let cs = 0;
  for (let i = start; i < bodyEnd; i++) cs = (cs + bytes[i]!) & 0xff;
  if (bytes[bodyEnd] !== cs) return fail(`load record checksum ${byteHex(bytes[bodyEnd]!)}H, computed ${byteHex(cs)}H`, bodyEnd);
  if (bytes[bodyEnd + 1] !== LOAD_RECORD_END) return fail(`load record ends with ${byteHex(bytes[bodyEnd + 1]!)}H, expected E5H`, bodyEnd + 1);
  return ok({ block, end });
}

/**
 * The request data of DI 06000001 (what follows the DI in 11H): exactly NN + mm hh DD MM YY, NN
 * 1..99, the time a real date and time. Errors name the offset in `extra`.
 */
export function decodeLoadRecordRequest(extra: Uint8Array): { ok: true; count: number; from: LoadRecordTime } | { ok: false; error: DecodeError } {
  if (extra.length !== LOAD_RECORD_REQUEST_LENGTH) {
    const message = `load record request data is ${extra.length} bytes, expected ${LOAD_RECORD_REQUEST_LENGTH} (NN mm hh DD MM YY)`;
    return { ok: false, error: decodeError(CODE, message, Math.min(extra.length, LOAD_RECORD_REQUEST_LENGTH)) };
  }
  const n = COUNT.decode(extra, 0);
  if (!n.ok) return { ok: false, error: n.error };
  if (n.value === ABSENT_VALUE || (n.value as number) < 1) {
    return { ok: false, error: decodeError(CODE, `load record block count ${byteHex(extra[0]!)}H is not 1..${LOAD_RECORD_MAX_COUNT}`, 0) };
  }
  const t = decodeTime(extra, 1);
  if (!t.ok) return { ok: false, error: t.error };
  if (!isValidCalendar({ ...t.value, second: 0 })) {
    return { ok: false, error: decodeError('dlt645.value-range', `given time ${JSON.stringify(t.value)} is not a date and time`, 1) };
  }
  return { ok: true, count: n.value as number, from: t.value };
}
