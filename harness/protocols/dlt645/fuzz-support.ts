/**
 * Fuzz targets and generators for the DL/T 645 codec (issue 5). Test support: used by
 * `fuzz.test.ts` (bounded, in `npm test`) and `npm run fuzz` (scripts/fuzz.ts); never imported
 * by production code. Contracts checked are the ones the codec documents:
 *
 * - `decodeFrame` / `decode` never throw; an error has a code from the documented set and an
 *   offset inside the input; a frame is accepted exactly when an independent reading of
 *   PROTOCOLS.md 1.2 accepts it; every accepted frame and message encodes back to its bytes.
 * - `Dlt645FrameScanner` never throws, accounts for every byte once and in order (frames +
 *   discarded + what `reset()` forgot = input), keeps its buffer bounded, finds the same frames
 *   whatever the chunking, and finds every valid frame embedded after garbage once flushed.
 * - `decodeValue` never throws, reports a known code at an offset inside the payload, and every
 *   value it accepts encodes back to the same bytes.
 * - `frameToJson` / `describeFrame` never throw, produce JSON-clean objects and single lines.
 *
 * Generators: random bytes rich in 68H/16H/FEH; the 65 real vector frames and generated frames
 * of every message kind, mutated (bit flips, byte insert/delete/duplicate, truncation, splices of
 * two frames); frames whose checksum is fixed up after the mutation, so that the mutation reaches
 * the message decoder; adversarial runs (68H floods, FEH runs, 68 .. 68 headers with large L, 16H
 * everywhere); frames carrying dictionary values built from each identifier's layout.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { numberToBcdByte, isBcdByte } from '../../core/bcd.ts';
import { concatBytes, toHex } from '../../core/bytes.ts';
import { sum8 } from '../../core/checksum.ts';
import {
  ContractViolation,
  expectDecodeError,
  expectJsonClean,
  expectSameBytes,
  expectThat,
  fuzzTarget,
  mutatedBytes,
  bytesArbitrary,
  randomBytes,
  applyByteMutations,
  randomByteMutations,
  type AnyFuzzTarget,
} from '../../core/fuzz-support.ts';
import { SeededRandom } from '../../core/random.ts';
import type { Result } from '../../core/result.ts';
import type { DecodeError } from '../../core/errors.ts';
import { BAUD_FEATURE_WORD, FRAME_OVERHEAD, HEADER_LENGTH, MAX_DATA_LENGTH_2007 } from './constants.ts';
import { RemoteControlCommand, type Dlt645DecodedFrame, type Dlt645Message } from './types.ts';
import { DATE_TIME_TOKENS, valueFieldCodec, type ValueFieldSpec } from './formats.ts';
import { DICTIONARY, dataItems, decodeValue, describeValue, encodeValue, lookup, valueLayout } from './dictionary.ts';
import type { DataValue } from './dictionary-types.ts';
import { decodeFrame, encodeFrame } from './frame.ts';
import { describeFrame, frameToJson, errorToJson } from './json.ts';
import { decode, decodeMessage, encodeMessage, encodeMessageData, errorWordBits } from './messages.ts';
import { Dlt645FrameScanner, DEFAULT_SCANNER_BUFFER_LENGTH, type Dlt645ScanEvent } from './scanner.ts';

// ---------------------------------------------------------------------------------------------
// The documented error codes (frame.ts, messages.ts, scanner.ts, dictionary.ts)

export const FRAME_ERROR_CODES: ReadonlySet<string> = new Set([
  'dlt645.start',
  'dlt645.second-start',
  'dlt645.length',
  'dlt645.truncated',
  'dlt645.checksum',
  'dlt645.end',
  'dlt645.address',
]);
export const MESSAGE_ERROR_CODES: ReadonlySet<string> = new Set([
  'dlt645.data-length',
  'dlt645.control',
  'dlt645.time',
  'dlt645.baud-feature-word',
  'dlt645.address',
]);
export const SCANNER_DISCARD_CODES: ReadonlySet<string> = new Set([...FRAME_ERROR_CODES, 'dlt645.overflow']);
export const VALUE_ERROR_CODES: ReadonlySet<string> = new Set(['dlt645.unknown-di', 'dlt645.value-length', 'dlt645.bcd', 'dlt645.value-range']);

const START = 0x68;
const END = 0x16;
const FE = 0xfe;
/** Bytes that steer the DL/T 645 parsers: start, end, preamble, wildcard, broadcast, +33H, L around 200. */
export const DLT645_SPECIAL_BYTES = [START, END, FE, 0xaa, 0x99, 0x33, 0x00, 0xff, 0xc8, 0xc9, 0xfb, 0x11, 0x91, 0xd1];

// ---------------------------------------------------------------------------------------------
// An independent reading of PROTOCOLS.md 1.2, for the differential check of decodeFrame

/** End of the frame that starts at `start` (after FE bytes), or -1 when those bytes are not one. */
export function oracleFrameEnd(bytes: Uint8Array, start: number, maxDataLength = MAX_DATA_LENGTH_2007): number {
  let p = start;
  while (p < bytes.length && bytes[p] === FE) p++;
  if (p + FRAME_OVERHEAD > bytes.length) return -1;
  if (bytes[p] !== START || bytes[p + 7] !== START) return -1;
  for (let i = 1; i <= 6; i++) {
    const b = bytes[p + i]!;
    if (!isBcdByte(b) && b !== 0xaa) return -1;
  }
  const l = bytes[p + 9]!;
  if (l > maxDataLength) return -1;
  const cs = p + HEADER_LENGTH + l;
  if (cs + 2 > bytes.length) return -1;
  if (sum8(bytes, p, cs) !== bytes[cs] || bytes[cs + 1] !== END) return -1;
  return cs + 2;
}

// ---------------------------------------------------------------------------------------------
// Generators

interface Vector {
  readonly hex: string;
}
/** The 65 real frames of fixtures/dlt645-vectors.json. */
export const VECTOR_FRAMES: readonly Uint8Array[] = (
  JSON.parse(readFileSync(new URL('./fixtures/dlt645-vectors.json', import.meta.url), 'utf8')) as Vector[]
).map((v) => Uint8Array.from(v.hex.trim().split(/\s+/), (h) => parseInt(h, 16)));

const byte = fc.integer({ min: 0, max: 255 });
const hex2 = (b: number): string => b.toString(16).toUpperCase().padStart(2, '0');
/** n (even, ≤ 8) hex digits from one integer. */
const hexDigits = (n: number): fc.Arbitrary<string> =>
  fc.integer({ min: 0, max: 2 ** (4 * n) - 1 }).map((v) => v.toString(16).toUpperCase().padStart(n, '0'));
const bcd6 = fc.nat({ max: 999_999 }).map((v) => String(v).padStart(6, '0'));

const bcdAddress = fc.tuple(bcd6, bcd6).map(([a, b]) => a + b);
export const addressArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: bcdAddress },
  { weight: 2, arbitrary: fc.constantFrom('AAAAAAAAAAAA', '999999999999', 'AAAAAA123456', 'AAAAAAAAAA01', '000000000000', '686868686868', '161616161616') },
  {
    weight: 1,
    arbitrary: fc.tuple(bcdAddress, fc.nat({ max: 63 })).map(([a, mask]) => a.replace(/../g, (pair, i: number) => (mask & (1 << (i / 2)) ? 'AA' : pair))),
  },
);

const smallBytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max });
const DIS_2007 = dataItems({ edition: '2007' }).map((d) => d.di);
const DIS_1997 = dataItems({ edition: '1997' }).map((d) => d.di);
const di4 = fc.oneof({ weight: 3, arbitrary: hexDigits(8) }, { weight: 2, arbitrary: fc.constantFrom(...DIS_2007) });
const di2 = fc.oneof(hexDigits(4), fc.constantFrom(...DIS_1997));
const password = fc.tuple(byte, hexDigits(6)).map(([level, value]) => ({ level, value }));
const operator = hexDigits(8);
/** 2000-01-01 .. 2099-12-31, whole seconds (calendar fields in UTC: the codec carries local fields as they are). */
const DAYS_2000_2099 = 36_524;
const dateTime = fc.tuple(fc.nat({ max: DAYS_2000_2099 }), fc.nat({ max: 86_399 })).map(([day, second]) => {
  const d = new Date(Date.UTC(2000, 0, 1) + day * 86_400_000 + second * 1000);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes(), second: d.getUTCSeconds() };
});
const freezeField = (min: number, max: number): fc.Arbitrary<number | 'any'> => fc.oneof(fc.integer({ min, max }), fc.constant('any' as const));
const baud = fc.constantFrom(...Object.entries(BAUD_FEATURE_WORD).map(([b, z]) => ({ z, baudRate: Number(b) })));
/** Payloads: mostly short, sometimes long enough to cross the 200-byte limit of L. */
const payload = fc.oneof({ weight: 9, arbitrary: smallBytes(40) }, { weight: 1, arbitrary: fc.uint8Array({ minLength: 150, maxLength: 230 }) });
/** Names the codec knows by name only, with and without "Response" (functionName in constants.ts). */
const OTHER_NAMES = [
  'unknown00', 'unknown05', 'unknown06', 'unknown07', 'unknown09', 'unknown0B', 'unknown0D', 'unknown0E', 'unknown1E', 'unknown1F',
  'readFollowUp1997', 'reRead1997', 'writeData1997', 'writeAddress1997', 'changeBaud1997', 'changePassword1997', 'clearMaxDemand1997',
];
const otherName = fc.constantFrom(...OTHER_NAMES, ...[...OTHER_NAMES, 'broadcastTimeSync'].map((n) => `${n}Response`));
const EMPTY_REPLIES = ['writeDataResponse', 'writeAddressResponse', 'freezeResponse', 'clearMaxDemandResponse', 'meterClearResponse', 'eventClearResponse', 'remoteControlResponse'] as const;

/** A valid message of every kind the codec models (both directions, 2007 and 1997). */
export const messageArbitrary: fc.Arbitrary<Dlt645Message> = fc.oneof(
  dateTime.map((time): Dlt645Message => ({ kind: 'broadcastTimeSync', time })),
  fc.tuple(di4, fc.oneof({ weight: 5, arbitrary: fc.constant(new Uint8Array(0)) }, { weight: 1, arbitrary: smallBytes(6) })).map(([di, extra]): Dlt645Message => ({ kind: 'readData', di, extra })),
  fc.tuple(di4, payload, fc.boolean()).map(([di, p, hasFollowUp]): Dlt645Message => ({ kind: 'readDataResponse', di, payload: p, hasFollowUp })),
  fc.tuple(di4, byte).map(([di, seq]): Dlt645Message => ({ kind: 'readFollowUp', di, seq })),
  fc.tuple(di4, smallBytes(40), byte, fc.boolean()).map(([di, p, seq, hasFollowUp]): Dlt645Message => ({ kind: 'readFollowUpResponse', di, payload: p, seq, hasFollowUp })),
  fc.constant<Dlt645Message>({ kind: 'readAddress' }),
  bcdAddress.map((address): Dlt645Message => ({ kind: 'readAddressResponse', address })),
  fc.tuple(di4, password, operator, smallBytes(40)).map(([di, pw, op, p]): Dlt645Message => ({ kind: 'writeData', di, password: pw, operator: op, payload: p })),
  fc.constantFrom(...EMPTY_REPLIES).map((kind) => ({ kind }) as Dlt645Message),
  bcdAddress.map((newAddress): Dlt645Message => ({ kind: 'writeAddress', newAddress })),
  fc.tuple(freezeField(0, 59), freezeField(0, 23), freezeField(1, 31), freezeField(1, 12)).map(([minute, hour, day, month]): Dlt645Message => ({ kind: 'freeze', minute, hour, day, month })),
  fc.tuple(baud, fc.boolean()).map(([b, response]): Dlt645Message => ({ kind: response ? 'changeBaudResponse' : 'changeBaud', ...b })),
  fc.tuple(di4, password, password).map(([di, oldPassword, newPassword]): Dlt645Message => ({ kind: 'changePassword', di, oldPassword, newPassword })),
  password.map((newPassword): Dlt645Message => ({ kind: 'changePasswordResponse', newPassword })),
  fc.tuple(fc.constantFrom('clearMaxDemand' as const, 'meterClear' as const), password, operator).map(([kind, pw, op]): Dlt645Message => ({ kind, password: pw, operator: op })),
  fc.tuple(password, operator, di4).map(([pw, op, di]): Dlt645Message => ({ kind: 'eventClear', password: pw, operator: op, di })),
  fc
    .tuple(password, operator, fc.oneof(fc.constantFrom(...Object.values(RemoteControlCommand)), byte), byte, fc.option(dateTime, { nil: null }))
    .map(([pw, op, command, reserved, validUntil]): Dlt645Message => ({ kind: 'remoteControl', password: pw, operator: op, command, reserved, validUntil })),
  byte.map((output): Dlt645Message => ({ kind: 'multiFunctionOutput', output })),
  fc.option(byte, { nil: null }).map((output): Dlt645Message => ({ kind: 'multiFunctionOutputResponse', output })),
  fc.tuple(fc.integer({ min: 0, max: 31 }), byte).map(([functionCode, errorWord]): Dlt645Message => ({ kind: 'errorResponse', functionCode, errorWord, errors: errorWordBits(errorWord) })),
  di2.map((di): Dlt645Message => ({ kind: 'readData1997', di })),
  fc.tuple(di2, smallBytes(40), fc.boolean()).map(([di, p, hasFollowUp]): Dlt645Message => ({ kind: 'readDataResponse1997', di, payload: p, hasFollowUp })),
  fc.tuple(otherName, smallBytes(24)).map(([functionName, data]): Dlt645Message => ({ kind: 'other', functionName, data })),
);

/** A message, its address and preamble, as bytes on the wire. */
export const messageFrameArbitrary: fc.Arbitrary<Uint8Array> = fc
  .tuple(addressArbitrary, messageArbitrary, fc.integer({ min: 0, max: 4 }))
  .map(([address, message, preamble]) => encodeMessage(address, message, { preamble }));

/** Control codes of every function in both directions, abnormal replies and undefined codes. */
const CONTROLS = [
  0x08, 0x88, 0x11, 0x91, 0xb1, 0xd1, 0x12, 0x92, 0xb2, 0xd2, 0x13, 0x93, 0xd3, 0x14, 0x94, 0xd4, 0x15, 0x95, 0xd5, 0x16, 0x96, 0xd6,
  0x17, 0x97, 0xd7, 0x18, 0x98, 0xd8, 0x19, 0x99, 0xd9, 0x1a, 0x9a, 0xda, 0x1b, 0x9b, 0xdb, 0x1c, 0x9c, 0xdc, 0x1d, 0x9d, 0xdd,
  0x01, 0x81, 0xa1, 0xc1, 0x02, 0x03, 0x04, 0x84, 0x0a, 0x0c, 0x0f, 0x10, 0x1e, 0x9e, 0x00, 0x31, 0x51, 0x71, 0xf1, 0xe1,
];
/** Data bytes on the edges of the message fields: BCD limits, 99H (any), 00H, FFH, baud bits. */
const DATA_EDGE_BYTES = [0x00, 0x99, 0xff, 0x59, 0x60, 0x23, 0x24, 0x31, 0x32, 0x12, 0x13, 0x29, 0x30, 0x02, 0x08, 0x40, 0x80, 0x0a, 0xa0, 0x09, 0x10];
/** Data lengths of the message layouts (0 .. 16 bytes) and their neighbours. */
const DATA_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 15, 16, 17];

function shapedData(rnd: SeededRandom): Uint8Array {
  const n = rnd.chance(0.8) ? rnd.pick(DATA_LENGTHS) : rnd.int(0, 40);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rnd.int(0, 7);
    out[i] = r < 3 ? rnd.int(0, 255) : r < 6 ? numberToBcdByte(rnd.int(0, 99)) : rnd.pick(DATA_EDGE_BYTES);
  }
  return out;
}

/**
 * A frame with any bytes in A0..A5 (BCD, AAH or neither) and a valid checksum: reaches the
 * address check, which decodeFrame makes after CS and 16H.
 */
export const rawAddressFrameArbitrary: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.uint8Array({ minLength: 6, maxLength: 6 }), fc.constantFrom(...CONTROLS), fc.integer(), fc.integer({ min: 0, max: 2 }))
  .map(([address, control, seed, preamble]) => {
    const f = encodeFrame({ address: '000000000000', control, data: shapedData(new SeededRandom(seed)), preamble });
    f.set(address, preamble + 1);
    const cs = f.length - 2;
    f[cs] = sum8(f, preamble, cs);
    return f;
  });

/**
 * Frames with a valid checksum whose control and data are random but shaped like the message
 * layouts, or taken from a valid message and then edited: the edit gets past CS and 16H and
 * reaches the message decoder.
 */
export const fixedChecksumFrameArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 1, arbitrary: rawAddressFrameArbitrary },
  {
    weight: 5,
    arbitrary: fc
      .tuple(addressArbitrary, fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...CONTROLS) }, { weight: 1, arbitrary: byte }), fc.integer(), fc.integer({ min: 0, max: 4 }))
      .map(([address, control, seed, preamble]) => encodeFrame({ address, control, data: shapedData(new SeededRandom(seed)), preamble })),
  },
  { weight: 5, arbitrary: fc.tuple(addressArbitrary, messageArbitrary, fc.integer({ min: 0, max: 4 }), fc.integer()).map(([address, message, preamble, seed]) => {
    const rnd = new SeededRandom(seed);
    const { control, data } = encodeMessageData(message);
    // Shorter or longer by up to 3 bytes (zeros appended), then up to 3 bytes set, maybe one control bit flipped.
    const d = new Uint8Array(Math.max(0, Math.min(255, data.length + rnd.int(-3, 3))));
    d.set(data.subarray(0, d.length));
    for (let k = rnd.int(0, 3); k > 0 && d.length > 0; k--) d[rnd.int(0, d.length - 1)] = rnd.chance(0.5) ? rnd.pick(DATA_EDGE_BYTES) : rnd.int(0, 255);
    const c = rnd.chance(0.3) ? control ^ (1 << rnd.int(0, 7)) : control;
    return encodeFrame({ address, control: c, data: d, preamble });
  }) },
);

/** Real frames and generated ones with up to 4 byte-level edits (the checksum is left broken). */
export const mutatedFrameArbitrary: fc.Arbitrary<Uint8Array> = mutatedBytes(
  fc.oneof(fc.constantFrom(...VECTOR_FRAMES), messageFrameArbitrary),
  DLT645_SPECIAL_BYTES,
  VECTOR_FRAMES,
);

/** Random bytes: uniform, or with structural bytes (68H, 16H, FEH ...) sprinkled in. */
export const randomBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 300 }), bytesArbitrary(160, DLT645_SPECIAL_BYTES));

const FLOOD_UNITS = [Uint8Array.of(START, FE), Uint8Array.of(START, END), Uint8Array.of(FE, START, END), Uint8Array.of(START, START, 0x16, 0x68)];

/**
 * Adversarial runs, at most `maxLength` bytes: 68H floods (alone or before a frame), FEH runs
 * (with or without a frame behind), repeating 68/FE/16 patterns, repeated 68 A 68 C L headers with
 * large L, a frame with 16H everywhere, a broken frame whose L covers a valid frame.
 */
export function adversarialArbitrary(maxLength: number): fc.Arbitrary<Uint8Array> {
  const frame = fc.oneof(fc.constantFrom(...VECTOR_FRAMES), messageFrameArbitrary);
  return fc.tuple(fc.nat({ max: 6 }), fc.integer({ min: 1, max: maxLength }), frame, fc.integer()).map(([kind, n, f, seed]) => {
    const rnd = new SeededRandom(seed);
    switch (kind) {
      case 0:
        return new Uint8Array(n).fill(START);
      case 1:
        return concatBytes(new Uint8Array(Math.max(0, n - f.length)).fill(START), f);
      case 2:
        return concatBytes(new Uint8Array(n).fill(FE), rnd.chance(0.5) ? f : new Uint8Array(0));
      case 3:
        return repeat(rnd.pick(FLOOD_UNITS), n);
      case 4: {
        const parts: Uint8Array[] = [];
        for (let k = rnd.int(1, 24); k > 0; k--) {
          const h = new Uint8Array(HEADER_LENGTH);
          h[0] = START;
          for (let i = 1; i <= 6; i++) h[i] = rnd.chance(0.8) ? numberToBcdByte(rnd.int(0, 99)) : 0xaa;
          h[7] = START;
          h[8] = rnd.int(0, 255);
          h[9] = rnd.int(150, 255);
          parts.push(h);
        }
        if (rnd.chance(0.5)) parts.push(f);
        return concatBytes(...parts).subarray(0, maxLength);
      }
      case 5: {
        const b = f.slice();
        for (let k = rnd.int(1, 12); k > 0; k--) b[rnd.int(0, b.length - 1)] = END;
        return b;
      }
      default: {
        // 68 A 68 C L=200 then a valid frame inside the claimed data: the outer one fails at CS.
        const h = encodeFrame({ address: '123456789012', control: rnd.int(0, 255) }).subarray(0, HEADER_LENGTH);
        h[9] = MAX_DATA_LENGTH_2007;
        return concatBytes(h, randomBytes(rnd, rnd.int(0, 20), DLT645_SPECIAL_BYTES), f);
      }
    }
  });
}

/** Every byte-level generator: what a wire may deliver. */
export const wireBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 2, arbitrary: randomBytesArbitrary },
  { weight: 3, arbitrary: mutatedFrameArbitrary },
  { weight: 3, arbitrary: fixedChecksumFrameArbitrary },
  { weight: 2, arbitrary: messageFrameArbitrary },
  { weight: 1, arbitrary: fc.constantFrom(...VECTOR_FRAMES) },
  { weight: 1, arbitrary: adversarialArbitrary(600) },
);

// ---------------------------------------------------------------------------------------------
// Dictionary values

const DICTIONARY_DIS = dataItems().map((d) => d.di);
const tariffCounts = new Map<string, readonly (number | undefined)[]>();
/**
 * Tariff counts to try for a DI: undefined (the listed layout) for fixed layouts; for blocks that
 * follow the tariff count, the smallest, 1, 2, the listed 4, 8 and the largest it takes.
 */
function tariffCountsOf(di: string): readonly (number | undefined)[] {
  let ts = tariffCounts.get(di);
  if (ts === undefined) {
    const takes = (t: number): boolean => valueLayout(di, t) !== undefined;
    const all: number[] = [];
    for (let t = 0; t <= 64; t++) if (takes(t)) all.push(t);
    ts = all.length === 0 ? [undefined] : [...new Set([all[0]!, 1, 2, 4, 8, all[all.length - 1]!].filter(takes))];
    tariffCounts.set(di, ts);
  }
  return ts;
}

const layouts = new Map<string, readonly ValueFieldSpec[]>();
function fieldSpecs(di: string, tariffs: number | undefined): readonly ValueFieldSpec[] {
  const key = `${di}/${String(tariffs)}`;
  let specs = layouts.get(key);
  if (specs === undefined) {
    const layout = valueLayout(di, tariffs);
    if (layout === undefined) throw new Error(`no layout for ${di} with ${String(tariffs)} tariffs`);
    specs = layout.map((e) => e.spec);
    layouts.set(key, specs);
  }
  return specs;
}

/** Valid wire bytes (before +33H) for `di` with `tariffs`, chosen by `rnd` field by field. */
export function validValuePayload(di: string, tariffs: number | undefined, rnd: SeededRandom): Uint8Array {
  const out: number[] = [];
  for (const spec of fieldSpecs(di, tariffs)) validField(spec, rnd, out);
  return Uint8Array.from(out);
}

function validField(spec: ValueFieldSpec, rnd: SeededRandom, out: number[]): void {
  const codec = valueFieldCodec(spec);
  const n = spec.length;
  if (codec.kind === 'binary' || codec.kind === 'hex') {
    for (let i = 0; i < n; i++) out.push(rnd.int(0, 255));
    return;
  }
  if (codec.absentAllowed && rnd.chance(0.1)) {
    for (let i = 0; i < n; i++) out.push(0xff);
    return;
  }
  if (codec.kind === 'datetime') {
    // One BCD byte per field; the last field of the format goes first on the wire.
    for (let i = codec.dateFields.length - 1; i >= 0; i--) {
      const r = DATE_TIME_RANGES[codec.dateFields[i]!]!;
      out.push(numberToBcdByte(rnd.int(r.min, r.max)));
    }
    return;
  }
  for (let i = 0; i < n - 1; i++) out.push(numberToBcdByte(rnd.int(0, 99)));
  const top = numberToBcdByte(rnd.int(0, 99));
  out.push(codec.kind === 'decimal' && spec.signed === true ? (rnd.chance(0.5) ? 0x80 : 0) | (rnd.int(0, 7) << 4) | (top & 0x0f) : top);
}

const DATE_TIME_RANGES: Readonly<Record<string, { readonly min: number; readonly max: number }>> = Object.fromEntries(
  Object.values(DATE_TIME_TOKENS).map((t) => [t.field, { min: t.min, max: t.max }]),
);

export interface ValueInput {
  readonly di: string;
  readonly payload: Uint8Array;
  readonly lenient: boolean;
}

const dictionaryDi = fc.constantFrom(...DICTIONARY_DIS);
const validValue = fc.tuple(dictionaryDi, fc.integer()).map(([di, seed]) => {
  const rnd = new SeededRandom(seed);
  return { di, payload: validValuePayload(di, rnd.pick(tariffCountsOf(di)), rnd) };
});
/** Bytes on the edges of value fields: FFH (absent), non-BCD nibbles, date/time limits, the sign bit. */
const VALUE_SPECIAL_BYTES = [0xff, 0x99, 0x9a, 0xa0, 0x00, 0x80, 0x59, 0x60, 0x12, 0x13, 0x31, 0x32, 0x24, 0x07];

/** (DI, payload) pairs for decodeValue: valid by layout, mutated, random, unknown identifiers. */
export const valueInputArbitrary: fc.Arbitrary<ValueInput> = fc.oneof(
  { weight: 4, arbitrary: validValue.map((v) => ({ ...v, lenient: false })) },
  {
    weight: 4,
    arbitrary: fc.tuple(validValue, fc.boolean(), fc.integer({ min: 1, max: 3 }), fc.integer()).map(([v, lenient, count, seed]) => ({
      di: v.di,
      payload: applyByteMutations(v.payload, randomByteMutations(new SeededRandom(seed), count, VALUE_SPECIAL_BYTES, [])),
      lenient,
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(validValue, fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([v, extra]) => ({ di: v.di, payload: concatBytes(v.payload, extra), lenient: true })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(dictionaryDi, fc.boolean(), fc.integer({ min: -2, max: 2 }), fc.integer()).map(([di, lenient, delta, seed]) => ({
      di,
      payload: randomBytes(new SeededRandom(seed), Math.max(0, lookup(di)!.length + delta), VALUE_SPECIAL_BYTES),
      lenient,
    })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      di: fc.oneof(hexDigits(8), hexDigits(4), dictionaryDi.map((d) => d.toLowerCase()), fc.string({ maxLength: 10 })),
      payload: fc.uint8Array({ maxLength: 40 }),
      lenient: fc.boolean(),
    }),
  },
);

/** A frame carrying a valid dictionary value: read reply (2007 or 1997) or a write. */
export const dictionaryFrameArbitrary: fc.Arbitrary<Uint8Array> = fc
  .tuple(validValue, addressArbitrary, fc.integer({ min: 0, max: 4 }), password, operator, fc.boolean())
  .map(([v, address, preamble, pw, op, write]) => {
    const is1997 = v.di.length === 4;
    const message: Dlt645Message = is1997
      ? { kind: 'readDataResponse1997', di: v.di, payload: v.payload, hasFollowUp: false }
      : write
        ? { kind: 'writeData', di: v.di, password: pw, operator: op, payload: v.payload }
        : { kind: 'readDataResponse', di: v.di, payload: v.payload, hasFollowUp: false };
    // A value longer than one frame (L ≤ 200) is sent in parts: keep what fits.
    const data = encodeMessageData(message);
    if (data.data.length > 255) return encodeMessage(address, { kind: 'readData', di: is1997 ? '00010000' : v.di, extra: new Uint8Array(0) }, { preamble });
    return encodeFrame({ address, control: data.control, data: data.data, preamble });
  });

// ---------------------------------------------------------------------------------------------
// Targets

export interface BytesAtOffset {
  readonly bytes: Uint8Array;
  readonly offset: number;
}

const atOffset = (bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<BytesAtOffset> =>
  fc.oneof(
    { weight: 6, arbitrary: bytes.map((b) => ({ bytes: b, offset: 0 })) },
    { weight: 1, arbitrary: fc.tuple(bytes, fc.integer({ min: -3, max: 320 })).map(([b, o]) => ({ bytes: b, offset: o })) },
  );

const hexOf = (b: Uint8Array): string => toHex(b);

export const frameTarget = fuzzTarget({
  name: 'dlt645.frame',
  description: 'decodeFrame on wire bytes at an offset: typed errors, oracle agreement, encodeFrame round trip',
  arbitrary: atOffset(wireBytesArbitrary),
  run: (input: BytesAtOffset) => decodeFrame(input.bytes, input.offset),
  verify(input, r) {
    const { bytes, offset } = input;
    const n = bytes.length;
    const start = Math.max(0, Math.trunc(offset) || 0);
    const oracle = start <= n ? oracleFrameEnd(bytes, start) : -1;
    if (!r.ok) {
      expectDecodeError(r.error, FRAME_ERROR_CODES, Math.min(start, n), n, 'decodeFrame');
      expectThat(oracle < 0, () => `decodeFrame rejected (${r.error.code} at ${r.error.offset}) a frame the oracle accepts (end ${oracle})`);
      if (r.error.code === 'dlt645.truncated') expectThat(r.error.offset === n, 'a truncated frame is reported at the end of the input');
      return;
    }
    const { frame, start: s, end, raw } = r.value;
    expectThat(oracle === end, () => `decodeFrame accepted bytes ${s}..${end} but the oracle says ${oracle < 0 ? 'not a frame' : `a frame ending at ${oracle}`}`);
    expectThat(s === start && end <= n, `frame bounds ${s}..${end} outside the input`);
    expectSameBytes(raw, bytes.subarray(s, end), 'raw is not the input bytes');
    expectThat(frame.data.length === raw.length - frame.preamble - FRAME_OVERHEAD, 'data length disagrees with the frame length');
    let again: Uint8Array;
    try {
      again = encodeFrame({ address: frame.address, control: frame.control.raw, data: frame.data, preamble: frame.preamble });
    } catch (e) {
      throw new ContractViolation(`encodeFrame threw on a decoded frame: ${(e as Error).message}`);
    }
    expectSameBytes(again, raw, 'encodeFrame(decodeFrame(x)) is not x');
  },
  size: (input) => input.bytes.length,
  show: (input) => (input.offset === 0 ? hexOf(input.bytes) : `offset ${input.offset}: ${hexOf(input.bytes)}`),
});

/** Message-level inputs: mostly frames with valid checksums so the message decoder is reached. */
const messageBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 5, arbitrary: fixedChecksumFrameArbitrary },
  { weight: 3, arbitrary: messageFrameArbitrary },
  { weight: 1, arbitrary: dictionaryFrameArbitrary },
  { weight: 1, arbitrary: fc.constantFrom(...VECTOR_FRAMES) },
  { weight: 1, arbitrary: mutatedFrameArbitrary },
);

export const messageTarget = fuzzTarget({
  name: 'dlt645.message',
  description: 'decode (frame + message, every control code, both directions): typed errors, encodeMessage round trip',
  arbitrary: messageBytesArbitrary,
  run: (bytes: Uint8Array) => decode(bytes),
  verify(bytes, r) {
    const f = decodeFrame(bytes);
    if (!f.ok) {
      expectThat(!r.ok && r.error.code === f.error.code && r.error.offset === f.error.offset, 'decode and decodeFrame disagree on a bad frame');
      return;
    }
    const head = f.value.start + f.value.frame.preamble;
    if (!r.ok) {
      // C (head + 8) through the CS position (the first missing data byte).
      expectDecodeError(r.error, MESSAGE_ERROR_CODES, head + 8, f.value.end - 2, 'decode');
      return;
    }
    const { frame, message, raw } = r.value;
    let again: Uint8Array;
    try {
      again = encodeMessage(frame.address, message, { preamble: frame.preamble });
    } catch (e) {
      throw new ContractViolation(`encodeMessage threw on the decoded ${message.kind}: ${(e as Error).message}`);
    }
    expectSameBytes(again, raw, `encodeMessage(decode(x)) is not x (${message.kind})`);
  },
  size: (bytes) => bytes.length,
  show: hexOf,
});

// --- scanner

export interface ScannerPiece {
  readonly bytes: Uint8Array;
  /** A valid frame that must come out as a frame (unless a flush/reset cuts it or garbage before it forms a frame over it). */
  readonly mustFind: boolean;
}

export interface ScannerInput {
  readonly pieces: readonly ScannerPiece[];
  /** Chunk sizes, used in turn; empty = the whole stream in one push. */
  readonly chunks: readonly number[];
  /** flush() or reset() after the chunk with this index. */
  readonly actions: readonly { readonly afterChunk: number; readonly action: 'flush' | 'reset' }[];
  readonly maxBufferLength: number;
}

export type ScannerStep =
  | { readonly kind: 'push'; readonly pushed: number; readonly events: Dlt645ScanEvent[]; readonly pending: number }
  | { readonly kind: 'flush'; readonly events: Dlt645ScanEvent[]; readonly pending: number }
  | { readonly kind: 'reset'; readonly forgotten: number };

export function scannerStream(input: ScannerInput): Uint8Array {
  return concatBytes(...input.pieces.map((p) => p.bytes));
}

/** Feeds the stream in the input's chunks with its flush/reset actions, then flushes. */
export function runScanner(input: ScannerInput): ScannerStep[] {
  const stream = scannerStream(input);
  const scanner = new Dlt645FrameScanner({ maxBufferLength: input.maxBufferLength });
  const steps: ScannerStep[] = [];
  let at = 0;
  let chunk = 0;
  let actionIndex = 0;
  const actions = [...input.actions].sort((a, b) => a.afterChunk - b.afterChunk);
  while (at < stream.length) {
    const size = input.chunks.length === 0 ? stream.length : Math.max(1, input.chunks[chunk % input.chunks.length]!);
    const piece = stream.subarray(at, at + size);
    at += piece.length;
    steps.push({ kind: 'push', pushed: at, events: scanner.push(piece), pending: scanner.pending });
    while (actionIndex < actions.length && actions[actionIndex]!.afterChunk <= chunk) {
      const a = actions[actionIndex++]!;
      if (a.action === 'flush') steps.push({ kind: 'flush', events: scanner.flush(), pending: scanner.pending });
      else {
        const forgotten = scanner.pending;
        scanner.reset();
        steps.push({ kind: 'reset', forgotten });
      }
    }
    chunk++;
  }
  steps.push({ kind: 'flush', events: scanner.flush(), pending: scanner.pending });
  return steps;
}

function sameFrame(a: Dlt645DecodedFrame, b: Dlt645DecodedFrame): boolean {
  const fa = a.frame;
  const fb = b.frame;
  return fa.address === fb.address && fa.control.raw === fb.control.raw && toHex(fa.data) === toHex(fb.data);
}

function sameMessage(a: Result<Dlt645Message, DecodeError>, b: Result<Dlt645Message, DecodeError>): boolean {
  if (a.ok !== b.ok) return false;
  if (!a.ok && !b.ok) return a.error.code === b.error.code;
  return a.ok && b.ok && a.value.kind === b.value.kind;
}

/** Checks the scanner's contract on one run (see the file header). */
export function verifyScanner(input: ScannerInput, steps: readonly ScannerStep[]): void {
  const stream = scannerStream(input);
  const frames: { decoded: Dlt645DecodedFrame; message: Result<Dlt645Message, DecodeError> }[] = [];
  /** Stream positions at which a flush happened before the end. */
  const flushes: number[] = [];
  /** Stream ranges [from, to) that reset() forgot. */
  const forgotten: [number, number][] = [];
  let pos = 0;
  let pushed = 0;
  for (const step of steps) {
    if (step.kind === 'reset') {
      pos += step.forgotten;
      if (step.forgotten > 0) forgotten.push([pushed - step.forgotten, pushed]);
      expectThat(pos === pushed, () => `after reset(): ${pos} bytes accounted for, ${pushed} pushed`);
      continue;
    }
    if (step.kind === 'push') pushed = step.pushed;
    for (const e of step.events) {
      if (e.type === 'frame') {
        const d = e.decoded;
        expectThat(d.start === pos, () => `frame starts at ${d.start}, expected ${pos} (bytes lost or repeated)`);
        expectThat(d.end === pos + d.raw.length, () => `frame ${d.start}..${d.end} has ${d.raw.length} raw bytes`);
        expectSameBytes(d.raw, stream.subarray(pos, d.end), `frame at ${pos} is not the input's bytes`);
        const alone = decodeFrame(d.raw);
        expectThat(alone.ok && sameFrame(alone.value, d) && alone.value.frame.preamble === d.frame.preamble, () => `frame at ${pos} does not decode alone to the same frame`);
        const message = decodeMessage(d.frame, d.start + d.frame.preamble + HEADER_LENGTH);
        expectThat(sameMessage(message, e.message), () => `the scanner's message for the frame at ${pos} differs from decodeMessage`);
        if (!e.message.ok) expectDecodeError(e.message.error, MESSAGE_ERROR_CODES, d.start, d.end, 'scanner message');
        frames.push({ decoded: d, message: e.message });
        pos = d.end;
      } else {
        expectThat(e.bytes.length > 0, () => `empty discarded event at ${pos}`);
        expectSameBytes(e.bytes, stream.subarray(pos, pos + e.bytes.length), `discarded bytes at ${pos} are not the input's bytes`);
        expectDecodeError(e.error, SCANNER_DISCARD_CODES, 0, pushed, 'scanner discard');
        pos += e.bytes.length;
      }
    }
    expectThat(step.pending <= Math.max(input.maxBufferLength, 0), () => `${step.pending} bytes pending exceed the ${input.maxBufferLength}-byte bound`);
    expectThat(pos + step.pending === pushed, () => `${pos} bytes reported + ${step.pending} pending != ${pushed} pushed`);
    if (step.kind === 'flush') {
      expectThat(step.pending === 0, 'bytes left pending after flush()');
      if (step !== steps[steps.length - 1]) flushes.push(pushed);
    }
  }
  expectThat(pos === stream.length, () => `${pos} of ${stream.length} bytes accounted for`);

  // Every valid frame embedded in the stream is found, unless a flush cut it, reset() forgot some
  // of its bytes (held back behind an unfinished candidate), or garbage before it formed a frame
  // that covers its start.
  let s = 0;
  for (const piece of input.pieces) {
    const e = s + piece.bytes.length;
    const cut = flushes.some((c) => c > s && c < e) || forgotten.some(([from, to]) => from < e && to > s);
    if (piece.mustFind && !cut) {
      const self = decodeFrame(piece.bytes);
      if (!self.ok) throw new Error(`generator bug: a mustFind piece is not a frame: ${toHex(piece.bytes)}`);
      const head = s + self.value.frame.preamble;
      const found = frames.some((f) => f.decoded.end === e && sameFrame(f.decoded, self.value));
      const covered = frames.some((f) => f.decoded.start + f.decoded.frame.preamble < head && f.decoded.end > head);
      expectThat(found || covered, () => `the valid frame at ${s}..${e} (${toHex(piece.bytes)}) was not found`);
    }
    s = e;
  }

  // The same frames whatever the chunking (preambles may be trimmed by an overflowing FE run).
  if (input.actions.length === 0 && input.chunks.length > 0) {
    const whole = runScanner({ ...input, chunks: [] });
    const other = whole.flatMap((st) => (st.kind === 'reset' ? [] : st.events)).flatMap((e) => (e.type === 'frame' ? [e.decoded] : []));
    expectThat(
      other.length === frames.length && other.every((d, i) => sameFrame(d, frames[i]!.decoded) && d.end === frames[i]!.decoded.end),
      () => `chunked: ${frames.length} frames ending at ${frames.map((f) => f.decoded.end).join(',')}; one push: ${other.length} ending at ${other.map((d) => d.end).join(',')}`,
    );
  }
}

const chunkSizes = fc.oneof(
  { weight: 1, arbitrary: fc.constant([] as number[]) },
  { weight: 3, arbitrary: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 }) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 600 }), { minLength: 1, maxLength: 4 }) },
);
/** Frames the scanner must find (L ≤ 200: generated payloads may be longer). */
const validFramePiece = fc.oneof(messageFrameArbitrary, fc.constantFrom(...VECTOR_FRAMES), dictionaryFrameArbitrary).filter((b) => decodeFrame(b).ok);
const scannerPiece: fc.Arbitrary<ScannerPiece> = fc.oneof(
  { weight: 3, arbitrary: validFramePiece.map((bytes) => ({ bytes, mustFind: true })) },
  { weight: 2, arbitrary: randomBytesArbitrary.map((bytes) => ({ bytes: bytes.subarray(0, 48), mustFind: false })) },
  { weight: 2, arbitrary: mutatedFrameArbitrary.map((bytes) => ({ bytes, mustFind: false })) },
  { weight: 1, arbitrary: fixedChecksumFrameArbitrary.map((bytes) => ({ bytes, mustFind: false })) },
  { weight: 1, arbitrary: adversarialArbitrary(400).map((bytes) => ({ bytes, mustFind: false })) },
  // A valid frame behind 200..1100 FEH: longer runs overflow the receive buffer, and the frame
  // must still come out (with the 4 FEH the scanner keeps).
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 200, max: 1100 }), validFramePiece).map(([n, f]) => ({ bytes: concatBytes(new Uint8Array(n).fill(FE), f), mustFind: true })),
  },
);
/** The default bound, the smallest the scanner takes (4 FEH + the longest frame) and others. */
const bufferBound = fc.oneof(
  { weight: 3, arbitrary: fc.constant(DEFAULT_SCANNER_BUFFER_LENGTH) },
  { weight: 1, arbitrary: fc.integer({ min: 4 + FRAME_OVERHEAD + MAX_DATA_LENGTH_2007, max: 320 }) },
  { weight: 1, arbitrary: fc.integer({ min: 320, max: 2048 }) },
);

export const scannerTarget = fuzzTarget({
  name: 'dlt645.scanner',
  description: 'Dlt645FrameScanner: garbage, frames, mutated frames and adversarial runs pushed in random chunks with flush/reset',
  arbitrary: fc.record({
    pieces: fc.array(scannerPiece, { minLength: 1, maxLength: 4 }),
    chunks: chunkSizes,
    actions: fc.oneof(
      { weight: 3, arbitrary: fc.constant([]) },
      { weight: 1, arbitrary: fc.array(fc.record({ afterChunk: fc.nat({ max: 60 }), action: fc.constantFrom('flush' as const, 'reset' as const) }), { maxLength: 3 }) },
    ),
    maxBufferLength: bufferBound,
  }),
  run: runScanner,
  verify: verifyScanner,
  size: (input) => input.pieces.reduce((n, p) => n + p.bytes.length, 0),
  show: (input) =>
    JSON.stringify({
      pieces: input.pieces.map((p) => (p.mustFind ? `frame ${toHex(p.bytes)}` : toHex(p.bytes))),
      chunks: input.chunks,
      actions: input.actions,
      maxBufferLength: input.maxBufferLength,
    }),
});

const FLOOD_PATTERNS = [
  Uint8Array.of(START),
  Uint8Array.of(START, FE),
  Uint8Array.of(FE),
  Uint8Array.of(START, START, START, START, START, START, START, START, 0x11, 0xc8),
  Uint8Array.of(START, END),
];

/**
 * The scanner on floods of `minBytes`..`maxBytes` of one adversarial pattern (68H, 68H FEH, FEH,
 * 68 .. 68 headers with L = 200, 68H 16H), in one push or large chunks, sometimes with a valid
 * frame behind that must be found.
 */
export function scannerFloodTarget(minBytes: number, maxBytes: number, countScale?: number) {
  const flood = fc
    .tuple(fc.integer({ min: minBytes, max: maxBytes }), fc.constantFrom(...FLOOD_PATTERNS))
    .map(([n, unit]) => repeat(unit, n));
  return fuzzTarget({
    name: 'dlt645.scanner-flood',
    description: `Dlt645FrameScanner on ${minBytes / 1024}-${maxBytes / 1024} KiB floods (68H, 68H FEH, FEH, 68..68 headers, 68H 16H), in one push or large chunks, then a valid frame`,
    arbitrary: fc.record({
      pieces: fc.tuple(flood, fc.option(validFramePiece, { nil: undefined })).map(([bytes, frame]): ScannerPiece[] => [
        { bytes, mustFind: false },
        ...(frame ? [{ bytes: frame, mustFind: true }] : []),
      ]),
      chunks: fc.oneof(fc.constant([] as number[]), fc.array(fc.integer({ min: 256, max: Math.max(256, maxBytes / 2) }), { minLength: 1, maxLength: 3 })),
      actions: fc.constant([]),
      maxBufferLength: fc.constant(DEFAULT_SCANNER_BUFFER_LENGTH),
    }),
    run: runScanner,
    verify: verifyScanner,
    size: (input: ScannerInput) => input.pieces.reduce((n, p) => n + p.bytes.length, 0),
    show: (input: ScannerInput) => {
      const bytes = input.pieces[0]!.bytes;
      const frame = input.pieces[1]?.bytes;
      return `${bytes.length} bytes repeating ${toHex(bytes.subarray(0, 10))}…${frame ? ` then frame ${toHex(frame)}` : ''}; chunks ${JSON.stringify(input.chunks)}`;
    },
    ...(countScale !== undefined ? { countScale } : {}),
  });
}

/** `npm run fuzz`: 16-128 KiB floods, 1 input per 50,000 of --count (200 at the default 10 million). */
export const scannerFlood = scannerFloodTarget(16 * 1024, 128 * 1024, 1 / 50_000);

// --- dictionary

export const valueTarget = fuzzTarget({
  name: 'dlt645.value',
  description: "dictionary decodeValue for every identifier's format (valid by layout, mutated, random, unknown DIs): typed errors, encodeValue round trip",
  arbitrary: valueInputArbitrary,
  run: (input: ValueInput) => decodeValue(input.di, input.payload, input.lenient ? { trailingBytes: 'ignore' } : undefined),
  verify(input, r) {
    const { di, payload } = input;
    if (!r.ok) {
      expectDecodeError(r.error, VALUE_ERROR_CODES, 0, payload.length, `decodeValue ${di}`);
      return;
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeValue(di, r.value);
    } catch (e) {
      throw new ContractViolation(`encodeValue ${di} threw on a decoded value ${JSON.stringify(r.value)}: ${(e as Error).message}`);
    }
    const expected = input.lenient ? payload.subarray(0, bytes.length) : payload;
    expectSameBytes(bytes, expected, `encodeValue(decodeValue(${di}, x)) is not x (value ${JSON.stringify(r.value)})`);
    expectJsonClean(r.value as unknown, `value of ${di}`);
    const text = describeValue(di, r.value);
    expectThat(typeof text === 'string' && !/[\r\n]/.test(text), `describeValue ${di} is not one line`);
  },
  size: (input) => input.payload.length,
  show: (input) => `di ${JSON.stringify(input.di)}${input.lenient ? ' (trailing bytes ignored)' : ''}: ${toHex(input.payload)}`,
});

// --- JSON and one-line renderings

export interface RenderOutput {
  readonly decoded: Result<Dlt645DecodedFrame, DecodeError>;
  readonly message?: Result<Dlt645Message, DecodeError>;
  readonly json: unknown;
  readonly jsonPlain?: unknown;
  readonly line?: string;
  readonly linePlain?: string;
}

export const renderTarget = fuzzTarget({
  name: 'dlt645.json',
  description: 'frameToJson and describeFrame (with and without the dictionary) on every frame that decodes',
  arbitrary: fc.oneof(messageBytesArbitrary, { weight: 1, arbitrary: dictionaryFrameArbitrary }),
  run(bytes: Uint8Array): RenderOutput {
    const decoded = decodeFrame(bytes);
    if (!decoded.ok) return { decoded, json: errorToJson(decoded.error) };
    const f = decoded.value;
    const message = decodeMessage(f.frame, f.start + f.frame.preamble + HEADER_LENGTH);
    return {
      decoded,
      message,
      json: frameToJson(f, message, DICTIONARY),
      jsonPlain: frameToJson(f, message),
      line: describeFrame(f, message, DICTIONARY),
      linePlain: describeFrame(f, message),
    };
  },
  verify(bytes, out) {
    expectJsonClean(out.json, 'frame JSON');
    if (!out.decoded.ok || !out.message) return;
    const f = out.decoded.value;
    const m = out.message;
    expectJsonClean(out.jsonPlain, 'frame JSON without dictionary');
    const json = out.json as { ok: boolean; error?: { code: string }; item?: { di: string; value?: DataValue; error?: { code: string; offset: number }; partBytes?: number } };
    expectThat(json.ok === m.ok, 'JSON ok differs from the message result');
    if (!m.ok) expectThat(json.error?.code === m.error.code, 'JSON error code differs from the message error');
    for (const line of [out.line!, out.linePlain!]) {
      expectThat(line.length > 0 && !/[\r\n]/.test(line), () => `describeFrame is not one line: ${JSON.stringify(line)}`);
      expectThat(line.startsWith(hex2(f.frame.control.raw)), 'describeFrame does not start with C');
    }
    const item = json.item;
    if (item?.error) {
      expectDecodeError(item.error as DecodeError & { message: string }, VALUE_ERROR_CODES, f.start, f.end, 'JSON item error');
    }
    // A read reply or write carrying a dictionary value valid by its layout shows that value.
    if (m.ok && (m.value.kind === 'readDataResponse' || m.value.kind === 'writeData' || m.value.kind === 'readDataResponse1997') && !('hasFollowUp' in m.value && m.value.hasFollowUp)) {
      const v = decodeValue(m.value.di, m.value.payload);
      if (v.ok) expectThat(item !== undefined && item.value !== undefined && item.error === undefined, () => `JSON shows no value for ${m.value.kind} ${'di' in m.value ? m.value.di : ''} whose payload decodes`);
    }
    void bytes;
  },
  size: (bytes) => bytes.length,
  show: hexOf,
});

export const DLT645_FUZZ_TARGETS: readonly AnyFuzzTarget[] = [frameTarget, messageTarget, scannerTarget, scannerFlood, valueTarget, renderTarget];

// ---------------------------------------------------------------------------------------------


function repeat(unit: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = unit[i % unit.length]!;
  return out;
}
