/**
 * Fuzz targets and generators for the CJ/T 188 codec. Test support: used by `fuzz.test.ts`
 * (bounded, seeded, in `npm test`); never imported by production code. Contracts checked are the
 * ones the codec documents:
 *
 * - `decodeFrame` / `decode` never throw; an error has a documented code and an offset inside the
 *   input; a frame is accepted exactly when an independent reading of PROTOCOLS.md 2.1 accepts
 *   it; every accepted frame and message encodes back to its bytes (encode ∘ decode = identity).
 * - every proper prefix of a valid frame is `cjt188.truncated` at the prefix length; a single bit
 *   flip anywhere in a valid frame is refused with a documented code (the checksum catches any
 *   one-bit change of a counted byte).
 * - `Cjt188FrameScanner` never throws, accounts for every byte once and in order, stays bounded,
 *   finds every valid frame embedded after garbage once flushed, and (unless a valid frame holds
 *   another whole valid frame, see scanner.ts) finds the same frames whatever the chunking.
 * - `decodeValue` never throws and everything it accepts encodes back to the same bytes.
 * - `frameToJson` / `describeFrame` never throw, give JSON-clean objects and single lines.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { isBcdByte, numberToBcdByte } from '../../core/bcd.ts';
import { concatBytes, toHex } from '../../core/bytes.ts';
import { sum8 } from '../../core/checksum.ts';
import type { DecodeError } from '../../core/errors.ts';
import {
  bytesArbitrary,
  ContractViolation,
  expectDecodeError,
  expectJsonClean,
  expectSameBytes,
  expectThat,
  fuzzTarget,
  mutatedBytes,
  type AnyFuzzTarget,
} from '../../core/fuzz-support.ts';
import { SeededRandom } from '../../core/random.ts';
import type { Result } from '../../core/result.ts';
import { FRAME_OVERHEAD, HEADER_LENGTH, LENGTH_OFFSET, MeterType } from './constants.ts';
import { DIALECTS, type Cjt188Dialect } from './dialect.ts';
import { dataItems, decodeValue, encodeValue, UNITS, type FieldDefinition } from './dictionary.ts';
import { decodeFrame, encodeFrame, FRAME_ERROR_CODES } from './frame.ts';
import { describeFrame, frameToJson } from './json.ts';
import { decode, decodeMessage, encodeMessage, encodeMessageData, MESSAGE_ERROR_CODES } from './messages.ts';
import { Cjt188FrameScanner, DEFAULT_SCANNER_BUFFER_LENGTH, SCANNER_DISCARD_CODES, type Cjt188ScanEvent } from './scanner.ts';
import { ValveCommand, type Cjt188DecodedFrame, type Cjt188Message } from './types.ts';

export const FRAME_CODES: ReadonlySet<string> = new Set(FRAME_ERROR_CODES);
export const MESSAGE_CODES: ReadonlySet<string> = new Set(MESSAGE_ERROR_CODES);
const DECODE_CODES: ReadonlySet<string> = new Set([...FRAME_ERROR_CODES, ...MESSAGE_ERROR_CODES]);
const DISCARD_CODES: ReadonlySet<string> = new Set(SCANNER_DISCARD_CODES);
const VALUE_CODES: ReadonlySet<string> = new Set(['cjt188.unknown-di', 'cjt188.value-length', 'cjt188.bcd']);

const START = 0x68;
const END = 0x16;
const FE = 0xfe;
/** Bytes that steer the parsers: start, end, preamble, wildcard, control codes, unit bytes, L edges. */
export const CJT188_SPECIAL_BYTES = [START, END, FE, 0xaa, 0x00, 0xff, 0x03, 0x16, 0x2e, 0x1f, 0x90, 0xa0, 0x17, 0x81, 0x84, 0xc1, 0x2a, 0x2c, 0x55, 0x99];

// ---------------------------------------------------------------------------------------------
// An independent reading of PROTOCOLS.md 2.1

/** End of the frame at `start` (after FE bytes), or -1 when those bytes are not one. */
export function oracleFrameEnd(bytes: Uint8Array, start: number, maxDataLength = 0xff): number {
  let p = start;
  while (p < bytes.length && bytes[p] === FE) p++;
  if (p + FRAME_OVERHEAD + 3 > bytes.length || bytes[p] !== START) return -1;
  for (let i = 2; i <= 8; i++) if (!isBcdByte(bytes[p + i]!) && bytes[p + i] !== 0xaa) return -1;
  const l = bytes[p + 10]!;
  if (l < 3 || l > maxDataLength) return -1;
  const cs = p + 11 + l;
  if (cs + 2 > bytes.length) return -1;
  return sum8(bytes, p, cs) === bytes[cs] && bytes[cs + 1] === END ? cs + 2 : -1;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** The 23 real frames of fixtures/cjt188-vectors.json. */
export const VECTOR_FRAMES: readonly Uint8Array[] = (
  JSON.parse(readFileSync(new URL('./fixtures/cjt188-vectors.json', import.meta.url), 'utf8')) as { hex: string }[]
).map((v) => Uint8Array.from(v.hex.trim().split(/\s+/), (h) => parseInt(h, 16)));

const byte = fc.integer({ min: 0, max: 255 });
const bcd7 = fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 7, maxLength: 7 }).map((a) => a.map((n) => String(n).padStart(2, '0')).join(''));
export const addressArbitrary = fc.oneof({ weight: 5, arbitrary: bcd7 }, { weight: 1, arbitrary: fc.constantFrom('AAAAAAAAAAAAAA', '00000000000000', '68686868686868', '16161616161616') });
const meterType = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...Object.values(MeterType)) }, { weight: 1, arbitrary: byte });
const diOrder = fc.constantFrom('standard' as const, 'reversed' as const);
const ser = byte;
const hex4 = fc.integer({ min: 0, max: 0xffff }).map((v) => v.toString(16).toUpperCase().padStart(4, '0'));
const KNOWN_DIS = dataItems().map((d) => d.di);
const UNIT_CODES = Object.keys(UNITS).map(Number);

/** Valid wire bytes for one field, from `rnd`. */
function validFieldBytes(f: FieldDefinition, rnd: SeededRandom): number[] {
  const bcd = (): number => numberToBcdByte(rnd.int(0, 99));
  switch (f.kind) {
    case 'quantity':
      return [bcd(), bcd(), bcd(), bcd(), rnd.chance(0.8) ? rnd.pick(UNIT_CODES) : rnd.int(0, 255)];
    case 'decimal':
    case 'dateTime':
      return Array.from({ length: f.length }, bcd);
    case 'status':
    case 'byte':
      return Array.from({ length: f.length }, () => rnd.int(0, 255));
    case 'address':
      return Array.from({ length: 7 }, () => (rnd.chance(0.1) ? 0xaa : bcd()));
    case 'bytes':
      return Array.from({ length: rnd.int(f.length, Math.min(f.maxLength ?? f.length, f.length + 12)) }, () => rnd.int(0, 255));
  }
}

export interface ValueInput {
  readonly di: string;
  readonly payload: Uint8Array;
  readonly heat: boolean;
}

/** A valid payload of a dictionary identifier (901F in both layouts). */
export const validValueArbitrary: fc.Arbitrary<ValueInput> = fc.tuple(fc.constantFrom(...dataItems()), fc.boolean(), fc.integer()).map(([item, heat, seed]) => {
  const rnd = new SeededRandom(seed);
  const fields = heat && item.heatFields ? item.heatFields : item.fields;
  return { di: item.di, heat: heat && item.heatFields !== undefined, payload: Uint8Array.from(fields.flatMap((f) => validFieldBytes(f, rnd))) };
});

/** A valid message of every kind the codec models, in both DI orders. */
export const messageArbitrary: fc.Arbitrary<Cjt188Message> = fc.oneof(
  fc.tuple(fc.constantFrom('readData' as const, 'readAddress' as const, 'readKeyVersion' as const, 'readAddressResponse' as const), fc.oneof(hex4, fc.constantFrom(...KNOWN_DIS)), diOrder, ser).map(
    ([kind, di, order, s]): Cjt188Message => ({ kind, di, diOrder: order, ser: s }),
  ),
  fc.tuple(validValueArbitrary, diOrder, ser).map(([v, order, s]): Cjt188Message => {
    const value = decodeValue(v.di, v.payload, { family: v.heat ? 'heat' : 'water' });
    if (!value.ok) throw new Error(`generator bug: ${v.di} ${toHex(v.payload)}: ${value.error.message}`);
    const item = dataItems().find((d) => d.di === v.di)!;
    const head = { di: v.di, diOrder: order, ser: s, value: value.value };
    if (v.di === 'A017') return { kind: 'valveControl', di: 'A017', diOrder: order, ser: s, functionCode: 0x04, command: v.payload[0]!, commandName: null };
    if (v.di === 'A018') return { kind: 'writeAddress', di: 'A018', diOrder: order, ser: s, newAddress: String(value.value.newAddress) };
    if (item.functionCode === 0x16) return { ...head, kind: 'writeSyncData' };
    if (item.functionCode === 0x09) return { ...head, kind: 'readKeyVersionResponse' };
    return item.direction === 'write' ? { ...head, kind: 'writeData' } : { ...head, kind: 'readDataResponse' };
  }),
  fc.tuple(fc.constantFrom('writeDataResponse' as const, 'writeAddressResponse' as const, 'writeSyncDataResponse' as const), fc.constantFrom('A015', 'A018', 'A016', '8103'), diOrder, ser, fc.option(fc.tuple(byte, byte), { nil: null })).map(
    ([kind, di, order, s, st]): Cjt188Message => ({ kind, di, diOrder: order, ser: s, status: st === null ? null : { raw: toHex(Uint8Array.from(st)), valve: 'open', batteryLow: false, layout: 'standard' } }),
  ),
  fc.tuple(fc.constantFrom(0x04, 0x2a), fc.oneof(fc.constantFrom(...Object.values(ValveCommand)), byte), diOrder, ser, fc.boolean(), fc.option(fc.tuple(byte, byte), { nil: null })).map(
    ([functionCode, command, order, s, response, st]): Cjt188Message =>
      response
        ? { kind: 'valveControlResponse', di: 'A017', diOrder: order, ser: s, functionCode, status: st === null ? null : { raw: toHex(Uint8Array.from(st)), valve: 'open', batteryLow: false, layout: 'standard' } }
        : { kind: 'valveControl', di: 'A017', diOrder: order, ser: s, functionCode, command, commandName: null },
  ),
  fc.tuple(fc.constantFrom(0x01, 0x03, 0x04, 0x09, 0x15, 0x16, 0x2a), fc.constantFrom(...KNOWN_DIS), diOrder, ser, fc.uint8Array({ maxLength: 6 })).map(
    ([functionCode, di, order, s, payload]): Cjt188Message => ({ kind: 'abnormalResponse', di, diOrder: order, ser: s, functionCode, status: null, payload }),
  ),
  fc.tuple(fc.constantFrom(0x00, 0x02, 0x05, 0x07, 0x0a, 0x20, 0x3f), hex4, diOrder, ser, fc.boolean(), fc.uint8Array({ maxLength: 30 })).map(
    ([functionCode, di, order, s, isResponse, payload]): Cjt188Message => ({ kind: 'other', di, diOrder: order, ser: s, functionCode, isResponse, payload }),
  ),
);

/** A message on the wire: its frame, with up to 5 FE. */
export const messageFrameArbitrary: fc.Arbitrary<Uint8Array> = fc
  .tuple(meterType, addressArbitrary, messageArbitrary, fc.integer({ min: 0, max: 5 }))
  .map(([t, address, message, preamble]) => encodeMessage(t, address, message, { preamble }));

const CONTROLS = [0x01, 0x81, 0xc1, 0x03, 0x83, 0xc3, 0x04, 0x84, 0xc4, 0x09, 0x89, 0xc9, 0x15, 0x95, 0xd5, 0x16, 0x96, 0xd6, 0x2a, 0xaa, 0xea, 0x41, 0x44, 0x07, 0x87];

/** Frames with a valid checksum whose control, DI and data are random but shaped: they reach the message decoder. */
export const fixedChecksumFrameArbitrary: fc.Arbitrary<Uint8Array> = fc
  .tuple(meterType, addressArbitrary, fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CONTROLS) }, { weight: 1, arbitrary: byte }), fc.constantFrom(...KNOWN_DIS, '1234'), diOrder, fc.integer(), fc.integer({ min: 0, max: 3 }))
  .map(([t, address, control, di, order, seed, preamble]) => {
    const rnd = new SeededRandom(seed);
    const diBytes = order === 'standard' ? [parseInt(di.slice(2), 16), parseInt(di.slice(0, 2), 16)] : [parseInt(di.slice(0, 2), 16), parseInt(di.slice(2), 16)];
    const n = rnd.chance(0.6) ? rnd.pick([0, 1, 2, 5, 7, 18, 19, 20, 42, 43, 44]) : rnd.int(0, 60);
    const payload = Array.from({ length: n }, () => (rnd.chance(0.7) ? numberToBcdByte(rnd.int(0, 99)) : rnd.int(0, 255)));
    return encodeFrame({ meterType: t, address, control, data: Uint8Array.from([...diBytes, rnd.int(0, 255), ...payload]), preamble });
  });

/** Real and generated frames with up to 4 byte-level edits (the checksum left broken). */
export const mutatedFrameArbitrary: fc.Arbitrary<Uint8Array> = mutatedBytes(fc.oneof(fc.constantFrom(...VECTOR_FRAMES), messageFrameArbitrary), CJT188_SPECIAL_BYTES, VECTOR_FRAMES);

/** Random bytes: uniform, or rich in structural bytes. */
export const randomBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 300 }), bytesArbitrary(160, CJT188_SPECIAL_BYTES));

/** Everything a wire may deliver. */
export const wireBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 2, arbitrary: randomBytesArbitrary },
  { weight: 3, arbitrary: mutatedFrameArbitrary },
  { weight: 3, arbitrary: fixedChecksumFrameArbitrary },
  { weight: 2, arbitrary: messageFrameArbitrary },
  { weight: 1, arbitrary: fc.constantFrom(...VECTOR_FRAMES) },
);

/** A valid frame (vector or generated) and a position/bit in it. */
export const validFrameArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(fc.constantFrom(...VECTOR_FRAMES), messageFrameArbitrary);

// ---------------------------------------------------------------------------------------------
// Targets

const hexOf = (b: Uint8Array): string => toHex(b);

export const frameTarget = fuzzTarget({
  name: 'cjt188.frame',
  description: 'decodeFrame on wire bytes: typed errors, agreement with an independent reading of the frame format, encodeFrame round trip',
  arbitrary: wireBytesArbitrary,
  run: (bytes: Uint8Array) => decodeFrame(bytes),
  verify(bytes, r) {
    const oracle = oracleFrameEnd(bytes, 0);
    if (!r.ok) {
      expectDecodeError(r.error, FRAME_CODES, 0, bytes.length, 'decodeFrame');
      expectThat(oracle < 0, () => `decodeFrame rejected (${r.error.code} at ${r.error.offset}) a frame the oracle accepts`);
      if (r.error.code === 'cjt188.truncated') expectThat(r.error.offset === bytes.length, 'truncated is reported at the end of the input');
      return;
    }
    const { frame, end, raw } = r.value;
    expectThat(oracle === end, () => `decodeFrame accepted 0..${end}, the oracle says ${oracle}`);
    expectSameBytes(raw, bytes.subarray(0, end), 'raw is not the input bytes');
    let again: Uint8Array;
    try {
      again = encodeFrame({ meterType: frame.meterType, address: frame.address, control: frame.control.raw, data: frame.data, preamble: frame.preamble });
    } catch (e) {
      throw new ContractViolation(`encodeFrame threw on a decoded frame: ${(e as Error).message}`);
    }
    expectSameBytes(again, raw, 'encodeFrame(decodeFrame(x)) is not x');
  },
  size: (b) => b.length,
  show: hexOf,
});

export const messageTarget = fuzzTarget({
  name: 'cjt188.message',
  description: 'decode (frame + message, every control code and direction, both DI orders): typed errors, encodeMessage round trip',
  arbitrary: fc.oneof({ weight: 4, arbitrary: fixedChecksumFrameArbitrary }, { weight: 3, arbitrary: messageFrameArbitrary }, { weight: 1, arbitrary: fc.constantFrom(...VECTOR_FRAMES) }, { weight: 1, arbitrary: mutatedFrameArbitrary }),
  run: (bytes: Uint8Array) => decode(bytes),
  verify(bytes, r) {
    if (!r.ok) {
      expectDecodeError(r.error, DECODE_CODES, 0, bytes.length, 'decode');
      return;
    }
    const { frame, message, raw } = r.value;
    let again: Uint8Array;
    try {
      again = encodeMessage(frame.meterType, frame.address, message, { preamble: frame.preamble });
    } catch (e) {
      throw new ContractViolation(`encodeMessage threw on a decoded ${message.kind}: ${(e as Error).message}`);
    }
    expectSameBytes(again, raw, `encodeMessage(decode(x)) is not x (${message.kind})`);
    expectJsonClean(JSON.parse(JSON.stringify(frameToJson(r.value, { ok: true, value: message }))) as unknown, 'frame JSON');
  },
  size: (b) => b.length,
  show: hexOf,
});

export interface FlipInput {
  readonly frame: Uint8Array;
  readonly at: number;
  readonly bit: number;
  readonly cut: number;
}

export const truncationAndFlipTarget = fuzzTarget({
  name: 'cjt188.truncate-flip',
  description: 'a valid frame cut short (cjt188.truncated at the cut) and with one bit flipped (refused with a typed error)',
  arbitrary: fc.tuple(validFrameArbitrary, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat()).map(([frame, at, bit, cut]): FlipInput => ({ frame, at: at % frame.length, bit, cut: cut % frame.length })),
  run(input: FlipInput) {
    const flipped = input.frame.slice();
    flipped[input.at] = flipped[input.at]! ^ (1 << input.bit);
    return { cut: decodeFrame(input.frame.subarray(0, input.cut)), flipped: decodeFrame(flipped) };
  },
  verify(input, out) {
    expectThat(!out.cut.ok && out.cut.error.code === 'cjt188.truncated' && out.cut.error.offset === input.cut, () => `a prefix of ${input.cut} bytes gave ${JSON.stringify(out.cut.ok ? 'ok' : out.cut.error)}`);
    expectThat(!out.flipped.ok, () => `bit ${input.bit} of byte ${input.at} flipped and the frame still decodes`);
    if (!out.flipped.ok) {
      expectDecodeError(out.flipped.error, FRAME_CODES, 0, input.frame.length, 'flipped frame');
      // The bytes before the flip are unchanged and every check runs in wire order: the error is at or after it.
      const at = out.flipped.error.offset;
      expectThat(at >= input.at, () => `error at ${at}, before the flipped byte ${input.at}`);
    }
  },
  size: (input) => input.frame.length,
  show: (input) => `${toHex(input.frame)} flip byte ${input.at} bit ${input.bit}, cut ${input.cut}`,
});

export const valueTarget = fuzzTarget({
  name: 'cjt188.value',
  description: 'decodeValue for every identifier (valid by layout, then mutated): typed errors, encodeValue round trip',
  arbitrary: fc.oneof(
    validValueArbitrary,
    fc.tuple(validValueArbitrary, fc.integer()).map(([v, seed]): ValueInput => {
      const rnd = new SeededRandom(seed);
      const p = v.payload.slice(0, Math.max(0, v.payload.length + rnd.int(-2, 1)));
      for (let k = rnd.int(0, 2); k > 0 && p.length > 0; k--) p[rnd.int(0, p.length - 1)] = rnd.int(0, 255);
      return { ...v, payload: p };
    }),
    fc.record({ di: fc.oneof(hex4, fc.string({ maxLength: 6 })), payload: fc.uint8Array({ maxLength: 50 }), heat: fc.boolean() }),
  ),
  run: (input: ValueInput) => decodeValue(input.di, input.payload, { family: input.heat ? 'heat' : 'water', statusLayout: 'standard' }),
  verify(input, r) {
    if (!r.ok) {
      expectDecodeError(r.error, VALUE_CODES, 0, input.payload.length, `decodeValue ${input.di}`);
      return;
    }
    expectJsonClean(r.value as unknown, 'value');
    let again: Uint8Array;
    try {
      again = encodeValue(input.di, r.value);
    } catch (e) {
      throw new ContractViolation(`encodeValue ${input.di} threw on a decoded value: ${(e as Error).message}`);
    }
    expectSameBytes(again, input.payload, `encodeValue(decodeValue(${input.di}, x)) is not x`);
  },
  size: (input) => input.payload.length,
  show: (input) => `${JSON.stringify(input.di)}${input.heat ? ' (heat)' : ''}: ${toHex(input.payload)}`,
});

export const renderTarget = fuzzTarget({
  name: 'cjt188.json',
  description: 'frameToJson and describeFrame on every frame that decodes, in every dialect',
  arbitrary: fc.tuple(fc.oneof(fixedChecksumFrameArbitrary, messageFrameArbitrary), fc.constantFrom(...Object.values(DIALECTS) as Cjt188Dialect[])),
  run([bytes, dialect]: [Uint8Array, Cjt188Dialect]) {
    const f = decodeFrame(bytes);
    if (!f.ok) return null;
    const m = decodeMessage(f.value.frame, f.value.start + f.value.frame.preamble + HEADER_LENGTH, dialect);
    return { m, json: frameToJson(f.value, m), line: describeFrame(f.value, m) };
  },
  verify(_input, out) {
    if (out === null) return;
    expectJsonClean(out.json as unknown, 'frame JSON');
    expectThat(out.json.ok === out.m.ok, 'JSON ok differs from the message result');
    expectThat(out.line.length > 0 && !/[\r\n]/.test(out.line), () => `not one line: ${JSON.stringify(out.line)}`);
  },
  size: ([b]) => b.length,
  show: ([b, d]) => `${d.name}: ${toHex(b)}`,
});

// --- scanner

export interface ScannerPiece {
  readonly bytes: Uint8Array;
  readonly mustFind: boolean;
}
export interface ScannerInput {
  readonly pieces: readonly ScannerPiece[];
  readonly chunks: readonly number[];
  readonly maxBufferLength: number;
}
export interface ScannerStep {
  readonly events: readonly Cjt188ScanEvent[];
  readonly pending: number;
  readonly pushed: number;
}

export function runScanner(input: ScannerInput): ScannerStep[] {
  const stream = concatBytes(...input.pieces.map((p) => p.bytes));
  const s = new Cjt188FrameScanner({ maxBufferLength: input.maxBufferLength });
  const steps: ScannerStep[] = [];
  let at = 0;
  let k = 0;
  while (at < stream.length) {
    const size = input.chunks.length === 0 ? stream.length : Math.max(1, input.chunks[k++ % input.chunks.length]!);
    const chunk = stream.subarray(at, at + size);
    at += chunk.length;
    steps.push({ events: s.push(chunk), pending: s.pending, pushed: at });
  }
  steps.push({ events: s.flush(), pending: s.pending, pushed: at });
  return steps;
}

/** Whether some valid frame holds another whole valid frame after its 68H (the documented look-ahead trade-off). */
function holdsNestedFrame(raw: Uint8Array, preamble: number): boolean {
  for (let i = preamble + 1; i < raw.length; i++) if (raw[i] === START && i + LENGTH_OFFSET < raw.length && decodeFrame(raw, i).ok) return true;
  return false;
}

export function verifyScanner(input: ScannerInput, steps: readonly ScannerStep[]): void {
  const stream = concatBytes(...input.pieces.map((p) => p.bytes));
  const frames: Cjt188DecodedFrame[] = [];
  let pos = 0;
  for (const step of steps) {
    for (const e of step.events) {
      if (e.type === 'frame') {
        const d = e.decoded;
        expectThat(d.start === pos, () => `frame starts at ${d.start}, expected ${pos}`);
        expectSameBytes(d.raw, stream.subarray(pos, d.end), `frame at ${pos} is not the input's bytes`);
        expectThat(oracleFrameEnd(d.raw, 0) === d.raw.length, () => `frame at ${pos} is not a frame to the oracle`);
        const m: Result<Cjt188Message, DecodeError> = e.message;
        if (!m.ok) expectDecodeError(m.error, MESSAGE_CODES, d.start, d.end, 'scanner message');
        frames.push(d);
        pos = d.end;
      } else {
        expectThat(e.bytes.length > 0, 'empty discarded event');
        expectSameBytes(e.bytes, stream.subarray(pos, pos + e.bytes.length), `discarded bytes at ${pos} are not the input's`);
        expectDecodeError(e.error, DISCARD_CODES, 0, step.pushed, 'scanner discard');
        pos += e.bytes.length;
      }
    }
    expectThat(step.pending <= input.maxBufferLength, () => `${step.pending} pending bytes exceed the bound ${input.maxBufferLength}`);
    expectThat(pos + step.pending === step.pushed, () => `${pos} reported + ${step.pending} pending != ${step.pushed} pushed`);
  }
  expectThat(pos === stream.length, () => `${pos} of ${stream.length} bytes accounted for`);
  // Every valid piece is found, or lies inside a frame found before it.
  let s = 0;
  for (const piece of input.pieces) {
    const e = s + piece.bytes.length;
    if (piece.mustFind) {
      let head = s;
      while (stream[head] === FE) head++;
      const found = frames.some((f) => f.end === e && f.start <= head);
      // Garbage before it may have formed a frame that covers its 68H.
      const covered = frames.some((f) => f.start + f.frame.preamble < head && f.end > head);
      expectThat(found || covered, () => `the valid frame at ${s}..${e} (${toHex(piece.bytes)}) was not found`);
    }
    s = e;
  }
  // The same frames whatever the chunking, unless a frame holds another (scanner.ts trade-off).
  if (input.chunks.length > 0) {
    const whole = runScanner({ ...input, chunks: [] }).flatMap((st) => st.events).flatMap((ev) => (ev.type === 'frame' ? [ev.decoded] : []));
    if (!whole.some((f) => holdsNestedFrame(f.raw, f.frame.preamble))) {
      expectThat(
        whole.length === frames.length && whole.every((f, i) => f.end === frames[i]!.end),
        () => `chunked: frames ending at ${frames.map((f) => f.end).join(',')}; one push: ${whole.map((f) => f.end).join(',')}`,
      );
    }
  }
}

const scannerPiece: fc.Arbitrary<ScannerPiece> = fc.oneof(
  { weight: 3, arbitrary: validFrameArbitrary.map((bytes) => ({ bytes, mustFind: true })) },
  { weight: 2, arbitrary: randomBytesArbitrary.map((bytes) => ({ bytes: bytes.subarray(0, 48), mustFind: false })) },
  { weight: 2, arbitrary: mutatedFrameArbitrary.map((bytes) => ({ bytes, mustFind: false })) },
  // A valid frame whose CS is replaced by 68H: the case scanner.ts was fixed for.
  { weight: 1, arbitrary: validFrameArbitrary.map((f) => { const b = f.slice(); b[b.length - 2] = START; return { bytes: b, mustFind: false }; }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1, max: 600 }), validFrameArbitrary).map(([n, f]) => ({ bytes: concatBytes(new Uint8Array(n).fill(FE), f), mustFind: true })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 400 }).map((n) => ({ bytes: new Uint8Array(n).fill(START), mustFind: false })) },
);

export const scannerTarget = fuzzTarget({
  name: 'cjt188.scanner',
  description: 'Cjt188FrameScanner: garbage, frames, mutated frames, 68H checksums, FE and 68H runs, pushed in random chunks',
  arbitrary: fc.record({
    pieces: fc.array(scannerPiece, { minLength: 1, maxLength: 4 }),
    chunks: fc.oneof(fc.constant([] as number[]), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 })),
    maxBufferLength: fc.oneof(fc.constant(DEFAULT_SCANNER_BUFFER_LENGTH), fc.integer({ min: 5 + FRAME_OVERHEAD + 255, max: 700 })),
  }),
  run: runScanner,
  verify: verifyScanner,
  size: (input) => input.pieces.reduce((n, p) => n + p.bytes.length, 0),
  show: (input) => JSON.stringify({ pieces: input.pieces.map((p) => (p.mustFind ? `frame ${toHex(p.bytes)}` : toHex(p.bytes))), chunks: input.chunks, maxBufferLength: input.maxBufferLength }),
});

export const CJT188_FUZZ_TARGETS: readonly AnyFuzzTarget[] = [frameTarget, messageTarget, truncationAndFlipTarget, valueTarget, renderTarget, scannerTarget];

/** Re-exported for tests of the generators. */
export { encodeMessageData };
