/**
 * Fuzz targets and generators for the M-Bus codec (test support, never imported by the codec):
 * `mbus.frame` (decodeFrame on wire bytes: random, valid, mutated), `mbus.application`
 * (decodeApplication on frames with valid checksums and random CI/data, and the JSON rendering),
 * `mbus.scanner` (the streaming framer on noisy chunked streams). `fuzz.test.ts` runs them bounded
 * with a fixed seed in `npm test`; `npm run fuzz -- --only mbus.frame` runs millions.
 */
import fc from 'fast-check';
import { concatBytes, toHex } from '../../core/bytes.ts';
import { applyByteMutations, expectDecodeError, expectJsonClean, expectSameBytes, expectThat, fuzzTarget, type ByteMutation } from '../../core/fuzz-support.ts';
import type { DecodeError } from '../../core/errors.ts';
import type { Result } from '../../core/result.ts';
import { APPLICATION_ERROR_CODES, decodeApplication, type MbusApplication } from './application.ts';
import { BAUD_RATE_CI_FIRST, CI, LONG_FRAME_C_FIELDS, SHORT_FRAME_C_FIELDS } from './constants.ts';
import { FD_VIFS, FB_VIFS, PRIMARY_VIFS, vibBytesOf } from './dictionary.ts';
import { decodeFrame, encodeFrame, FRAME_ERROR_CODES, type EncodeFrameOptions, type MbusDecodedFrame, type MbusLongFrame } from './frame.ts';
import { applicationToJson } from './json.ts';
import { encodeRecord, RECORD_ERROR_CODES, type EncodableValue, type RecordSpec } from './records.ts';
import { MbusFrameScanner, type MbusScanEvent } from './scanner.ts';

const byte = fc.integer({ min: 0, max: 255 });
const shortC = fc.constantFrom(...SHORT_FRAME_C_FIELDS);
const longC = fc.constantFrom(...LONG_FRAME_C_FIELDS);

/** Any frame the encoder accepts: E5, short, control and long frames (data up to 252 bytes). */
export const frameOptionsArbitrary: fc.Arbitrary<EncodeFrameOptions> = fc.oneof(
  fc.constant({ type: 'ack' as const }),
  fc.record({ type: fc.constant('short' as const), control: shortC, address: byte }),
  fc.record({ type: fc.constant('long' as const), control: longC, address: byte, ci: byte, data: fc.uint8Array({ maxLength: 252 }) }),
);

// ---------------------------------------------------------------------------------------------
// Records

const functions = fc.constantFrom('instantaneous', 'maximum', 'minimum', 'error') as fc.Arbitrary<RecordSpec['function'] & string>;
const numericEntries = [...PRIMARY_VIFS.values(), ...FD_VIFS.values(), ...FB_VIFS.values()].filter((e) => !e.coding);
/** Combinable VIFEs to append (corrections, forward/backward flow, per-time), never 7F (what follows it is the manufacturer's). */
const combinable = fc.array(fc.constantFrom(0x20, 0x22, 0x3b, 0x3c, 0x70, 0x74, 0x77, 0x78, 0x7b, 0x7d, 0x7e), { maxLength: 3 });

function withVifes(base: readonly number[], vifes: readonly number[]): number[] {
  const all = [...base, ...vifes];
  return all.map((b, i) => (i < all.length - 1 ? b | 0x80 : b & 0x7f));
}

/** A value and a data field that carries it. */
const numericValue: fc.Arbitrary<{ dataField: number; value: EncodableValue }> = fc.oneof(
  ...([[1, 1], [2, 2], [3, 3], [4, 4], [6, 6]] as const).map(([df, n]) =>
    fc.integer({ min: -(2 ** (8 * n - 1)), max: 2 ** (8 * n - 1) - 1 }).map((v) => ({ dataField: df, value: { type: 'integer' as const, value: v } })),
  ),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((v) => ({ dataField: 7, value: { type: 'integer' as const, value: v } })),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map((v) => ({ dataField: 5, value: { type: 'real' as const, value: v } })),
  ...([[9, 1], [10, 2], [11, 3], [12, 4], [14, 6]] as const).map(([df, n]) =>
    fc.integer({ min: -(10 ** (2 * n - 1) - 1), max: 10 ** (2 * n) - 1 }).map((v) => ({ dataField: df, value: { type: 'bcd' as const, value: v } })),
  ),
  fc.integer({ min: -(10 ** 15), max: 10 ** 15 }).map((v) => ({ dataField: 13, value: { type: 'bcd' as const, value: v } })),
);

/** Record specs: numeric values with dictionary VIFs and corrections, dates, text, binary, plain-text VIFs. */
export const recordSpecArbitrary: fc.Arbitrary<RecordSpec> = fc.oneof(
  fc
    .record({
      entry: fc.constantFrom(...numericEntries),
      vifes: combinable,
      v: numericValue,
      function: functions,
      storageNumber: fc.oneof(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 2 ** 30 })),
      tariff: fc.integer({ min: 0, max: 1023 }),
      subunit: fc.integer({ min: 0, max: 1023 }),
    })
    .map((r) => ({ dataField: r.v.dataField, function: r.function, storageNumber: r.storageNumber, tariff: r.tariff, subunit: r.subunit, vib: withVifes(vibBytesOf(r.entry), r.vifes), value: r.v.value })),
  fc
    .record({ year: fc.integer({ min: 1981, max: 2080 }), month: fc.integer({ min: 1, max: 12 }), day: fc.integer({ min: 1, max: 31 }), storageNumber: fc.integer({ min: 0, max: 40 }) })
    .map((d) => ({ dataField: 2, storageNumber: d.storageNumber, vib: [0x6c], value: { type: 'date' as const, year: d.year, month: d.month, day: d.day } })),
  fc
    .record({
      year: fc.integer({ min: 1981, max: 2299 }),
      month: fc.integer({ min: 1, max: 12 }),
      day: fc.integer({ min: 1, max: 31 }),
      hour: fc.integer({ min: 0, max: 23 }),
      minute: fc.integer({ min: 0, max: 59 }),
      invalid: fc.boolean(),
      summerTime: fc.boolean(),
      fd: fc.constantFrom([0x6d], [0xfd, 0x30], [0xfd, 0x70]),
    })
    .map((d) => ({ dataField: 4, vib: d.fd, value: { type: 'dateTime' as const, year: d.year, month: d.month, day: d.day, hour: d.hour, minute: d.minute, invalid: d.invalid, summerTime: d.summerTime } })),
  fc.string({ maxLength: 40, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }).map((t) => ({ dataField: 13, vib: [0x78], value: { type: 'text' as const, value: t } })),
  fc
    .oneof(fc.integer({ min: 0, max: 15 }), fc.constantFrom(16, 20, 24, 28, 32, 48, 64))
    .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
    .map((b) => ({ dataField: 13, vib: [0xfd, 0x0e], value: { type: 'bytes' as const, bytes: b } })),
  fc
    .record({ text: fc.string({ minLength: 1, maxLength: 10, unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)) }), vifes: combinable, v: numericValue })
    .map((r) => ({ dataField: r.v.dataField, vib: withVifes([0x7c], r.vifes), plainText: r.text, value: r.v.value })),
);

/** A CI 72 response of 1..8 generated records (within the 252 data bytes). */
export const variableDataFrameArbitrary: fc.Arbitrary<{ frame: Uint8Array; specs: RecordSpec[] }> = fc
  .record({ header: fc.uint8Array({ minLength: 12, maxLength: 12 }), specs: fc.array(recordSpecArbitrary, { minLength: 1, maxLength: 8 }), address: byte })
  .map(({ header, specs, address }) => {
    const h = header.slice();
    for (let i = 0; i < 4; i++) h[i] = ((h[i]! >> 4) % 10 << 4) | ((h[i]! & 0xf) % 10); // a BCD identification
    const kept: RecordSpec[] = [];
    let data: Uint8Array = h;
    for (const s of specs) {
      const next = concatBytes(data, encodeRecord(s));
      if (next.length > 252) break;
      data = next;
      kept.push(s);
    }
    return { frame: encodeFrame({ type: 'long', control: 0x08, address, ci: CI.VARIABLE_DATA, data }), specs: kept };
  });

// ---------------------------------------------------------------------------------------------
// Wire bytes

const mutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.constantFrom(0x68, 0x10, 0x16, 0xe5, 0x00, 0xff) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

const validFrameBytes: fc.Arbitrary<Uint8Array> = fc.oneof(frameOptionsArbitrary.map(encodeFrame), variableDataFrameArbitrary.map((f) => f.frame));

/** Random bytes, valid frames, and valid frames with 1..3 mutations. */
export const wireBytesArbitrary: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  validFrameBytes,
  fc.tuple(validFrameBytes, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([b, m]) => applyByteMutations(b, m)),
);

/** Checks a frame result against an independent reading of the format. */
function verifyFrame(bytes: Uint8Array, r: Result<MbusDecodedFrame, DecodeError>): void {
  if (!r.ok) {
    expectDecodeError(r.error, FRAME_ERROR_CODES, 0, bytes.length, 'decodeFrame');
    return;
  }
  const { frame, end, raw } = r.value;
  expectThat(end <= bytes.length && raw.length === end, 'decodeFrame: end/raw inconsistent');
  expectSameBytes(raw, bytes.subarray(0, end), 'decodeFrame raw');
  // Re-encoding gives the same bytes.
  const again =
    frame.type === 'ack'
      ? encodeFrame({ type: 'ack' })
      : frame.type === 'short'
        ? encodeFrame({ type: 'short', control: frame.control.raw, address: frame.address })
        : encodeFrame({ type: 'long', control: frame.control.raw, address: frame.address, ci: frame.ci, data: frame.data });
  expectSameBytes(again, raw, 'encodeFrame(decodeFrame(bytes))');
}

export const frameTarget = fuzzTarget({
  name: 'mbus.frame',
  description: 'decodeFrame on random, valid and mutated M-Bus frames: typed errors, re-encoding round trip',
  arbitrary: wireBytesArbitrary,
  run: (bytes: Uint8Array) => decodeFrame(bytes),
  verify: verifyFrame,
  size: (b) => b.length,
  show: (b) => toHex(b),
});

/** Long frames with a valid checksum and a CI/data mix that reaches every application decoder. */
export const applicationFrameArbitrary: fc.Arbitrary<MbusLongFrame> = fc.oneof(
  fc.record({
    control: longC,
    address: byte,
    ci: fc.oneof(byte, fc.constantFrom(0x50, 0x51, 0x52, 0x70, 0x72, 0x73, 0x78, 0x7a, BAUD_RATE_CI_FIRST + 3)),
    data: fc.oneof(fc.uint8Array({ maxLength: 60 }), fc.array(recordSpecArbitrary, { maxLength: 4 }).map((s) => concatBytes(new Uint8Array(12), ...s.map(encodeRecord)))),
  }),
  variableDataFrameArbitrary.map((f) => ({ control: 0x08, address: 1, ci: 0x72, data: f.frame.slice(7, -2) })),
).map((o) => {
  const d = decodeFrame(encodeFrame({ type: 'long', ...o }).slice(0, 9 + Math.min(o.data.length, 252)));
  if (!d.ok || (d.value.frame.type !== 'long' && d.value.frame.type !== 'control')) throw new Error('generator produced no long frame');
  return d.value.frame;
});

const APPLICATION_CODES = new Set([...APPLICATION_ERROR_CODES, ...RECORD_ERROR_CODES]);

export const applicationTarget = fuzzTarget({
  name: 'mbus.application',
  description: 'decodeApplication + applicationToJson on long frames with valid checksums: typed errors, JSON-clean',
  arbitrary: applicationFrameArbitrary,
  run: (f: MbusLongFrame): { r: Result<MbusApplication, DecodeError>; json: unknown } => {
    const r = decodeApplication(f, 0);
    return { r, json: r.ok ? applicationToJson(r.value) : null };
  },
  verify: (f, { r, json }) => {
    if (!r.ok) {
      expectDecodeError(r.error, APPLICATION_CODES, 6, 7 + f.data.length, 'decodeApplication');
      return;
    }
    expectJsonClean(json, 'applicationToJson');
  },
  size: (f) => f.data.length + 9,
  show: (f) => toHex(encodeFrame({ type: 'long', control: f.control.raw, address: f.address, ci: f.ci, data: f.data })),
});

export interface ScannerInput {
  readonly stream: Uint8Array;
  readonly chunks: readonly number[];
}

/** A stream of frames and noise, split into chunks of the given sizes. */
export const scannerInputArbitrary: fc.Arbitrary<ScannerInput> = fc.record({
  stream: fc.array(fc.oneof(validFrameBytes, wireBytesArbitrary, fc.uint8Array({ maxLength: 8 })), { maxLength: 8 }).map((parts) => concatBytes(...parts)),
  chunks: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
});

export function runScanner(input: ScannerInput): { events: MbusScanEvent[]; maxPending: number } {
  const s = new MbusFrameScanner();
  const events: MbusScanEvent[] = [];
  let maxPending = 0;
  let o = 0;
  let i = 0;
  while (o < input.stream.length) {
    const n = input.chunks[i++ % input.chunks.length]!;
    events.push(...s.push(input.stream.subarray(o, o + n)));
    maxPending = Math.max(maxPending, s.pending);
    o += n;
  }
  events.push(...s.flush());
  return { events, maxPending };
}

export const scannerTarget = fuzzTarget({
  name: 'mbus.scanner',
  description: 'MbusFrameScanner on chunked streams of frames and noise: conserves bytes, in order, bounded, every frame valid',
  arbitrary: scannerInputArbitrary,
  run: runScanner,
  verify: (input, { events, maxPending }) => {
    expectThat(maxPending <= 261, () => `scanner held ${maxPending} bytes (at most one 261-byte frame)`);
    const out: Uint8Array[] = [];
    for (const e of events) {
      if (e.type === 'frame') {
        const again = decodeFrame(e.decoded.raw);
        expectThat(again.ok && again.value.end === e.decoded.raw.length, 'scanner delivered a frame that does not decode alone');
        out.push(e.decoded.raw);
      } else {
        expectThat(e.bytes.length > 0, 'empty discarded event');
        out.push(e.bytes);
      }
    }
    expectSameBytes(concatBytes(...out), input.stream, 'scanner output (frames + discarded, in order)');
  },
  size: (i) => i.stream.length,
  show: (i) => JSON.stringify({ stream: toHex(i.stream), chunks: i.chunks }),
});
