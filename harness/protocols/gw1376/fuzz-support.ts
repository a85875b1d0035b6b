/**
 * Fuzz targets and generators for the Q/GDW 1376.1 codec. Test support: used by `fuzz.test.ts`
 * (bounded, seeded, in `npm test`) and `npm run fuzz` (scripts/fuzz-targets.ts); never imported
 * by production code. Contracts checked are the ones the codec documents:
 *
 * - `decodeFrame` / `decode` never throw; an error has a documented code and an offset inside the
 *   input; a frame is accepted exactly when an independent reading of PROTOCOLS.md 3.1/3.6 accepts
 *   it; every accepted frame and message encodes back to its bytes.
 * - every proper prefix of a valid frame is `gw1376.truncated` at the prefix length; one flipped
 *   bit anywhere is refused with a documented code at or after the flipped byte.
 * - `decodeLayout` never throws on any bytes for any dictionary layout, and what it accepts
 *   encodes back to the bytes it consumed.
 * - `Gw1376FrameScanner` never throws, accounts for every byte once and in order, stays bounded,
 *   finds every valid frame put in the stream (unless it lies inside another frame it delivered),
 *   and finds the same frames whatever the chunking.
 * - `frameToJson` / `describeFrame` never throw, give JSON-clean objects and single lines.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { concatBytes, toHex } from '../../core/bytes.ts';
import { sum8 } from '../../core/checksum.ts';
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
import { ok } from '../../core/result.ts';
import { DEFAULT_PW_AFNS } from './constants.ts';
import { DICTIONARY, decodeLayout, encodeLayout, VALUE_ERROR_CODES, type Layout } from './dictionary.ts';
import { decodeFrame, encodeDecodedFrame, encodeFrame, FRAME_ERROR_CODES } from './frame.ts';
import { describeFrame, frameToJson } from './json.ts';
import { decode, encodeMessage, encodeUnitSpecs, MESSAGE_ERROR_CODES, type UnitSpec } from './messages.ts';
import { Gw1376FrameScanner, SCANNER_DISCARD_CODES, type Gw1376ScanEvent } from './scanner.ts';
import type { Address } from './types.ts';

export const FRAME_CODES: ReadonlySet<string> = new Set(FRAME_ERROR_CODES);
export const MESSAGE_CODES: ReadonlySet<string> = new Set(MESSAGE_ERROR_CODES);
const DECODE_CODES: ReadonlySet<string> = new Set([...FRAME_ERROR_CODES, ...MESSAGE_ERROR_CODES]);
const DISCARD_CODES: ReadonlySet<string> = new Set(SCANNER_DISCARD_CODES);
const VALUE_CODES: ReadonlySet<string> = new Set(VALUE_ERROR_CODES);

/** Bytes that steer the parsers: start, end, L of small frames, C values, AFNs, FF and EE (no data: generic, curve points). */
export const GW1376_SPECIAL_BYTES = [0x68, 0x16, 0x32, 0x00, 0x01, 0x02, 0x04, 0xc9, 0x0b, 0x4b, 0xa0, 0x41, 0x0c, 0x0d, 0x0e, 0x10, 0x71, 0xf0, 0xff, 0xfe, 0x80, 0xee];

// ---------------------------------------------------------------------------------------------
// An independent reading of PROTOCOLS.md 3.1 and 3.6

/** End of the frame at `start`, or -1 when those bytes are not one (default options). */
export function oracleFrameEnd(b: Uint8Array, start: number): number {
  if (start + 6 > b.length || b[start] !== 0x68 || b[start + 5] !== 0x68) return -1;
  if (b[start + 1] !== b[start + 3] || b[start + 2] !== b[start + 4]) return -1;
  const l = b[start + 1]! + 256 * b[start + 2]!;
  if (l % 4 !== 2) return -1;
  const len = Math.floor(l / 4);
  if (len < 8 || len > 16383) return -1;
  const cs = start + 6 + len;
  if (cs + 2 > b.length || sum8(b, start + 6, cs) !== b[cs] || b[cs + 1] !== 0x16) return -1;
  const c = b[start + 6]!;
  const afn = b[start + 12]!;
  const seq = b[start + 13]!;
  const up = c >= 0x80;
  let aux = 0;
  if (DEFAULT_PW_AFNS.includes(afn) && (!up || afn === 0x06)) aux += 16;
  if (up && (c & 0x20) !== 0) aux += 2;
  if (seq >= 0x80) aux += 6;
  if (len - 8 < aux) return -1;
  if (seq >= 0x80) {
    for (let i = cs - 5; i <= cs - 2; i++) if ((b[i]! & 0x0f) > 9 || b[i]! >> 4 > 9) return -1;
  }
  return cs + 2;
}

// ---------------------------------------------------------------------------------------------
// Generators

/** The 20 real frames of fixtures/1376-1-vectors.json. */
export const VECTOR_FRAMES: readonly Uint8Array[] = (
  JSON.parse(readFileSync(new URL('./fixtures/1376-1-vectors.json', import.meta.url), 'utf8')) as { hex: string }[]
).map((v) => Uint8Array.from(v.hex.trim().split(/\s+/), (h) => parseInt(h, 16)));

const byte = fc.integer({ min: 0, max: 255 });
const addressArbitrary: fc.Arbitrary<Address> = fc.record({
  areaCode: fc.integer({ min: 0, max: 0xffff }).map((v) => v.toString(16).toUpperCase().padStart(4, '0')),
  terminal: fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.constantFrom(0, 1, 0xffff, 0x6868)),
  msa: fc.integer({ min: 0, max: 127 }),
  group: fc.boolean(),
});
const LAYOUTS: readonly { afn: number; fn: number; uplink: boolean; layout: Layout }[] = DICTIONARY.flatMap((d) => [
  ...(d.down ? [{ afn: d.afn, fn: d.fn, uplink: false, layout: d.down }] : []),
  ...(d.up ? [{ afn: d.afn, fn: d.fn, uplink: true, layout: d.up }] : []),
]);

/** Bytes a layout is likely to accept: small counts, BCD digits, FF runs, EE runs (curve points with no data). */
function layoutishBytes(rnd: SeededRandom, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const r = rnd.next();
    if (r < 0.35) out[i] = rnd.int(0, 3);
    else if (r < 0.85) out[i] = ((rnd.int(0, 9) << 4) | rnd.int(0, 9)) & 0xff;
    else if (r < 0.92) out[i] = 0xff;
    else if (r < 0.95) {
      // A run of EEH as long as a curve point (2-4 bytes).
      const run = rnd.int(2, 4);
      for (let k = 0; k < run && i < n; k++, i++) out[i] = 0xee;
      i--;
    } else out[i] = rnd.int(0, 255);
  }
  return out;
}

/** Input of the value target: a layout and bytes. */
export interface LayoutInput {
  readonly index: number;
  readonly bytes: Uint8Array;
}

export const layoutInputArbitrary: fc.Arbitrary<LayoutInput> = fc.tuple(fc.nat({ max: LAYOUTS.length - 1 }), fc.integer(), fc.integer({ min: 0, max: 200 }), fc.boolean()).map(([index, seed, n, uniform]) => {
  const rnd = new SeededRandom(seed);
  return { index, bytes: uniform ? Uint8Array.from({ length: n }, () => rnd.int(0, 255)) : layoutishBytes(rnd, n) };
});

/** A valid data unit of `afn` F`fn` in one direction, or null when the random bytes did not fit. */
function validUnit(rnd: SeededRandom): { afn: number; uplink: boolean; spec: UnitSpec } | null {
  const l = LAYOUTS[rnd.int(0, LAYOUTS.length - 1)]!;
  const bytes = layoutishBytes(rnd, rnd.int(0, 160));
  const r = decodeLayout(l.layout, bytes, 0, bytes.length);
  if (!r.ok) return null;
  const pn = rnd.chance(0.5) ? 0 : rnd.int(1, 2040);
  return { afn: l.afn, uplink: l.uplink, spec: { pn, fn: l.fn, data: bytes.slice(0, r.value.next) } };
}

/** Frames built by the encoder: a dictionary unit (or a request naming Fn), random header bits and AUX. */
export const messageFrameArbitrary: fc.Arbitrary<Uint8Array> = fc.tuple(addressArbitrary, fc.integer(), byte, fc.boolean()).map(([address, seed, seqByte, withTp]) => {
  const rnd = new SeededRandom(seed);
  let unit = validUnit(rnd);
  for (let i = 0; unit === null && i < 5; i++) unit = validUnit(rnd);
  const afn = unit?.afn ?? 0x0c;
  const uplink = unit?.uplink ?? false;
  const units: UnitSpec[] = unit ? [unit.spec] : [{ pn: rnd.int(0, 16), fn: rnd.int(1, 248) }];
  const control = (uplink ? 0x80 : 0) | (rnd.chance(0.5) ? 0x40 : 0) | (rnd.chance(0.3) ? 0x20 : 0) | (rnd.chance(0.3) ? 0x10 : 0) | rnd.int(0, 15);
  const seq = (seqByte & 0x7f) | (withTp ? 0x80 : 0);
  const hasPw = DEFAULT_PW_AFNS.includes(afn) && (!uplink || afn === 0x06);
  const hasEc = uplink && (control & 0x20) !== 0;
  return encodeFrame({
    control,
    address,
    afn,
    seq,
    data: encodeUnitSpecs(afn, uplink, units),
    pw: hasPw ? Uint8Array.from({ length: 16 }, () => rnd.int(0, 255)) : null,
    ec: hasEc ? { important: rnd.int(0, 255), normal: rnd.int(0, 255) } : null,
    tp: withTp ? { pfc: rnd.int(0, 255), second: rnd.int(0, 59), minute: rnd.int(0, 59), hour: rnd.int(0, 23), day: rnd.int(1, 31), delayMinutes: rnd.int(0, 255) } : null,
  });
});

/** Frames with a valid checksum whose header and data-unit bytes are random but shaped. */
export const fixedChecksumFrameArbitrary: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.constantFrom(0xc9, 0x0b, 0x4b, 0x4a, 0x41, 0xa0, 0x88, 0xa8, 0x80, 0x00), fc.constantFrom(0x00, 0x01, 0x02, 0x04, 0x05, 0x09, 0x0a, 0x0c, 0x0d, 0x0e, 0x10, 0x06, 0x03), byte, fc.integer(), fc.integer({ min: 0, max: 120 }))
  .map(([c, afn, seq, seed, n]) => {
    const rnd = new SeededRandom(seed);
    const user = concatBytes(Uint8Array.of(c, 0x00, 0x02, 0x34, 0x12, rnd.int(0, 255), afn, seq), layoutishBytes(rnd, n));
    const l = (user.length << 2) | 2;
    return concatBytes(Uint8Array.of(0x68, l & 0xff, l >> 8, l & 0xff, l >> 8, 0x68), user, Uint8Array.of(sum8(user), 0x16));
  });

export const mutatedFrameArbitrary: fc.Arbitrary<Uint8Array> = mutatedBytes(fc.oneof(fc.constantFrom(...VECTOR_FRAMES), messageFrameArbitrary), GW1376_SPECIAL_BYTES, VECTOR_FRAMES);

export const randomBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(fc.uint8Array({ maxLength: 300 }), bytesArbitrary(160, GW1376_SPECIAL_BYTES));

export const validFrameArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(fc.constantFrom(...VECTOR_FRAMES), messageFrameArbitrary);

/** Everything a wire may deliver. */
export const wireBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 2, arbitrary: randomBytesArbitrary },
  { weight: 3, arbitrary: mutatedFrameArbitrary },
  { weight: 3, arbitrary: fixedChecksumFrameArbitrary },
  { weight: 2, arbitrary: messageFrameArbitrary },
  { weight: 1, arbitrary: fc.constantFrom(...VECTOR_FRAMES) },
);

// ---------------------------------------------------------------------------------------------
// Targets

export const frameTarget = fuzzTarget({
  name: 'gw1376.frame',
  description: 'decodeFrame on wire bytes: typed errors, agreement with an independent reading of the frame format, encode round trip',
  arbitrary: wireBytesArbitrary,
  run: (bytes: Uint8Array) => decodeFrame(bytes),
  verify(bytes, r) {
    const oracle = oracleFrameEnd(bytes, 0);
    if (!r.ok) {
      expectDecodeError(r.error, FRAME_CODES, 0, bytes.length, 'decodeFrame');
      expectThat(oracle < 0, () => `decodeFrame rejected (${r.error.code} at ${r.error.offset}) a frame the oracle accepts`);
      if (r.error.code === 'gw1376.truncated') expectThat(r.error.offset === bytes.length, 'truncated is reported at the end of the input');
      return;
    }
    expectThat(oracle === r.value.end, () => `decodeFrame accepted 0..${r.value.end}, the oracle says ${oracle}`);
    expectSameBytes(r.value.raw, bytes.subarray(0, r.value.end), 'raw is not the input bytes');
    let again: Uint8Array;
    try {
      again = encodeDecodedFrame(r.value.frame);
    } catch (e) {
      throw new ContractViolation(`encodeDecodedFrame threw on a decoded frame: ${(e as Error).message}`);
    }
    expectSameBytes(again, r.value.raw, 'encode(decodeFrame(x)) is not x');
  },
  size: (b) => b.length,
  show: (b) => toHex(b),
});

export const messageTarget = fuzzTarget({
  name: 'gw1376.message',
  description: 'decode (frame + data units through the dictionary): typed errors, encodeMessage round trip, JSON and one-line renderings',
  arbitrary: fc.oneof({ weight: 3, arbitrary: fixedChecksumFrameArbitrary }, { weight: 4, arbitrary: messageFrameArbitrary }, { weight: 1, arbitrary: fc.constantFrom(...VECTOR_FRAMES) }, { weight: 1, arbitrary: mutatedFrameArbitrary }),
  run(bytes: Uint8Array) {
    const r = decode(bytes);
    const json = r.ok ? frameToJson(r.value.decoded, ok(r.value)) : null;
    const line = r.ok ? describeFrame(r.value.decoded, ok(r.value)) : null;
    return { r, json, line };
  },
  verify(bytes, { r, json, line }) {
    if (!r.ok) {
      expectDecodeError(r.error, DECODE_CODES, 0, bytes.length, 'decode');
      return;
    }
    let again: Uint8Array;
    try {
      again = encodeMessage(r.value);
    } catch (e) {
      throw new ContractViolation(`encodeMessage threw on a decoded message: ${(e as Error).message}`);
    }
    expectSameBytes(again, r.value.decoded.raw, 'encodeMessage(decode(x)) is not x');
    expectJsonClean(json as unknown, 'frame JSON');
    expectThat(line !== null && line.length > 0 && !/[\r\n]/.test(line), () => `not one line: ${JSON.stringify(line)}`);
  },
  size: (b) => b.length,
  show: (b) => toHex(b),
});

export interface FlipInput {
  readonly frame: Uint8Array;
  readonly at: number;
  readonly bit: number;
  readonly cut: number;
}

export const truncationAndFlipTarget = fuzzTarget({
  name: 'gw1376.truncate-flip',
  description: 'a valid frame cut short (gw1376.truncated at the cut) and with one bit flipped (refused with a typed error at or after the flip)',
  arbitrary: fc.tuple(validFrameArbitrary, fc.nat(), fc.integer({ min: 0, max: 7 }), fc.nat()).map(([frame, at, bit, cut]): FlipInput => ({ frame, at: at % frame.length, bit, cut: cut % frame.length })),
  run(input: FlipInput) {
    const flipped = input.frame.slice();
    flipped[input.at] = flipped[input.at]! ^ (1 << input.bit);
    return { cut: decodeFrame(input.frame.subarray(0, input.cut)), flipped: decodeFrame(flipped) };
  },
  verify(input, out) {
    expectThat(!out.cut.ok && out.cut.error.code === 'gw1376.truncated' && out.cut.error.offset === input.cut, () => `a prefix of ${input.cut} bytes gave ${JSON.stringify(out.cut.ok ? 'ok' : out.cut.error)}`);
    expectThat(!out.flipped.ok, () => `bit ${input.bit} of byte ${input.at} flipped and the frame still decodes`);
    if (!out.flipped.ok) {
      expectDecodeError(out.flipped.error, FRAME_CODES, 0, input.frame.length, 'flipped frame');
      expectThat(out.flipped.error.offset >= input.at, () => `error at ${out.flipped.ok ? -1 : out.flipped.error.offset}, before the flipped byte ${input.at}`);
    }
  },
  size: (input) => input.frame.length,
  show: (input) => `${toHex(input.frame)} flip byte ${input.at} bit ${input.bit}, cut ${input.cut}`,
});

export const valueTarget = fuzzTarget({
  name: 'gw1376.value',
  description: 'decodeLayout for every dictionary layout on shaped and random bytes: typed errors, encodeLayout round trip',
  arbitrary: layoutInputArbitrary,
  run: (input: LayoutInput) => decodeLayout(LAYOUTS[input.index]!.layout, input.bytes, 0, input.bytes.length),
  verify(input, r) {
    const l = LAYOUTS[input.index]!;
    if (!r.ok) {
      expectDecodeError(r.error, VALUE_CODES, 0, input.bytes.length, `AFN ${l.afn} F${l.fn}`);
      return;
    }
    expectJsonClean(JSON.parse(JSON.stringify(r.value.value)) as unknown, 'value');
    let again: Uint8Array;
    try {
      again = encodeLayout(l.layout, r.value.value);
    } catch (e) {
      throw new ContractViolation(`encodeLayout threw on a decoded AFN ${l.afn} F${l.fn}: ${(e as Error).message}`);
    }
    expectSameBytes(again, input.bytes.subarray(0, r.value.next), `encodeLayout(decodeLayout(AFN ${l.afn} F${l.fn}, x)) is not x`);
  },
  size: (input) => input.bytes.length,
  show: (input) => `layout ${input.index} ${toHex(input.bytes)}`,
});

export interface ScannerPiece {
  readonly bytes: Uint8Array;
  /** A valid frame the scanner must find. */
  readonly valid: boolean;
}

export interface ScannerInput {
  readonly pieces: readonly ScannerPiece[];
  /** Chunk sizes used cyclically. */
  readonly chunks: readonly number[];
}

export function runScanner(input: ScannerInput): { whole: Gw1376ScanEvent[]; chunked: Gw1376ScanEvent[]; maxPending: number } {
  const stream = concatBytes(...input.pieces.map((p) => p.bytes));
  const a = new Gw1376FrameScanner();
  const whole = [...a.push(stream), ...a.flush()];
  const b = new Gw1376FrameScanner();
  const chunked: Gw1376ScanEvent[] = [];
  let maxPending = 0;
  for (let i = 0, k = 0; i < stream.length; k++) {
    const n = input.chunks[k % input.chunks.length]!;
    chunked.push(...b.push(stream.subarray(i, i + n)));
    maxPending = Math.max(maxPending, b.pending);
    i += n;
  }
  chunked.push(...b.flush());
  return { whole, chunked, maxPending };
}

function verifyEvents(stream: Uint8Array, events: readonly Gw1376ScanEvent[], what: string): void {
  let pos = 0;
  for (const e of events) {
    if (e.type === 'frame') {
      const d = e.decoded;
      expectThat(d.start === pos, () => `${what}: frame starts at ${d.start}, expected ${pos}`);
      expectSameBytes(d.raw, stream.subarray(pos, d.end), `${what}: frame at ${pos} is not the input's bytes`);
      expectThat(oracleFrameEnd(d.raw, 0) === d.raw.length, () => `${what}: frame at ${pos} is not a frame to the oracle`);
      const m = e.message;
      if (!m.ok) expectDecodeError(m.error, MESSAGE_CODES, d.start, d.end, `${what} message`);
      pos = d.end;
    } else {
      expectThat(e.bytes.length > 0, `${what}: empty discarded event`);
      expectSameBytes(e.bytes, stream.subarray(pos, pos + e.bytes.length), `${what}: discarded bytes at ${pos} are not the input's`);
      expectDecodeError(e.error, DISCARD_CODES, 0, stream.length, `${what} discard`);
      pos += e.bytes.length;
    }
  }
  expectThat(pos === stream.length, () => `${what}: ${pos} of ${stream.length} bytes accounted for`);
}

export const scannerTarget = fuzzTarget({
  name: 'gw1376.scanner',
  description: 'Gw1376FrameScanner over junk, broken and valid frames in random chunks: every byte once and in order, bounded, every valid frame found, same frames whatever the chunking',
  arbitrary: fc.record({
    pieces: fc.array(
      fc.oneof(
        validFrameArbitrary.map((bytes): ScannerPiece => ({ bytes, valid: true })),
        wireBytesArbitrary.map((bytes): ScannerPiece => ({ bytes: bytes.subarray(0, 80), valid: false })),
      ),
      { maxLength: 6 },
    ),
    chunks: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
  }),
  run: runScanner,
  verify(input, out) {
    const stream = concatBytes(...input.pieces.map((p) => p.bytes));
    verifyEvents(stream, out.whole, 'whole');
    verifyEvents(stream, out.chunked, 'chunked');
    expectThat(out.maxPending <= 8 + 16383, () => `${out.maxPending} pending bytes exceed the bound`);
    const frames = (ev: readonly Gw1376ScanEvent[]): string[] => ev.flatMap((e) => (e.type === 'frame' ? [`${e.decoded.start}-${e.decoded.end}`] : []));
    const whole = frames(out.whole);
    expectThat(whole.join() === frames(out.chunked).join(), () => `frames differ by chunking: ${whole.join()} vs ${frames(out.chunked).join()}`);
    let at = 0;
    for (const piece of input.pieces) {
      const s = at;
      const e = at + piece.bytes.length;
      at = e;
      if (!piece.valid) continue;
      const found = whole.includes(`${s}-${e}`);
      const covered = out.whole.some((ev) => ev.type === 'frame' && ev.decoded.start <= s && ev.decoded.end >= e);
      expectThat(found || covered, () => `the valid frame at ${s}..${e} (${toHex(piece.bytes)}) was not found`);
    }
  },
  size: (input) => input.pieces.reduce((n, p) => n + p.bytes.length, 0),
  show: (input) => JSON.stringify({ pieces: input.pieces.map((p) => ({ hex: toHex(p.bytes), valid: p.valid })), chunks: input.chunks }),
});

export const GW1376_FUZZ_TARGETS: readonly AnyFuzzTarget[] = [frameTarget, messageTarget, truncationAndFlipTarget, valueTarget, scannerTarget];
