/**
 * Robustness and round trips of the M-Bus codec, seeded (FUZZ_SEED): the fuzz targets of
 * fuzz-support.ts bounded, encode∘decode round trips for frames and records, random bytes never
 * throw, truncation and bit flips give typed errors with offsets.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../core/bytes.ts';
import { assertFuzzTarget, FUZZ_SEED } from '../../core/fuzz-support.ts';
import { decodeApplication } from './application.ts';
import { decodeFrame, encodeFrame, FRAME_ERROR_CODES } from './frame.ts';
import { applicationTarget, frameOptionsArbitrary, frameTarget, recordSpecArbitrary, scannerTarget, variableDataFrameArbitrary, wireBytesArbitrary } from './fuzz-support.ts';
import { decodeMbusHex } from './json.ts';
import { decodeRecords, encodeRecord, RECORD_ERROR_CODES, type DataRecord, type RecordSpec } from './records.ts';

const options = { seed: FUZZ_SEED, numRuns: 2000 };

describe('fuzz targets (fixed seed, bounded)', () => {
  it('mbus.frame: typed errors, re-encoding round trip', () => assertFuzzTarget(frameTarget, { numRuns: 4000 }));
  it('mbus.application: typed errors, JSON-clean', () => assertFuzzTarget(applicationTarget, { numRuns: 3000 }));
  it('mbus.scanner: conserves bytes in order, bounded, only valid frames', () => assertFuzzTarget(scannerTarget, { numRuns: 1500 }));
});

describe('round trips', () => {
  it('frames: decode(encode(options)) gives the options back', () => {
    fc.assert(
      fc.property(frameOptionsArbitrary, (o) => {
        const bytes = encodeFrame(o);
        const r = decodeFrame(bytes);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const f = r.value.frame;
        expect(r.value.end).toBe(bytes.length);
        if (o.type === 'ack') expect(f.type).toBe('ack');
        else if (o.type === 'short') expect(f).toMatchObject({ type: 'short', address: o.address, control: { raw: o.control } });
        else expect(f).toMatchObject({ type: (o.data ?? []).length === 0 ? 'control' : 'long', address: o.address, ci: o.ci, data: o.data ?? new Uint8Array(0), control: { raw: o.control } });
      }),
      options,
    );
  });

  it('records: decode(encode(spec)) gives the spec back, and re-encoding gives the same bytes', () => {
    fc.assert(
      fc.property(recordSpecArbitrary, (spec) => {
        const bytes = encodeRecord(spec);
        const r = decodeRecords(bytes);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.records).toHaveLength(1);
        const d = r.value.records[0] as DataRecord;
        expect(d.kind).toBe('data');
        expect([d.function, d.storageNumber, d.tariff, d.subunit, d.dataField]).toEqual([
          spec.function ?? 'instantaneous', spec.storageNumber ?? 0, spec.tariff ?? 0, spec.subunit ?? 0, spec.dataField,
        ]);
        expect([d.vib.vif, ...d.vib.vife]).toEqual(spec.vib);
        if (spec.plainText !== undefined) expect(d.vib.plainText).toBe(spec.plainText);
        expectValue(spec, d);
        expect(toHex(encodeRecord(specOf(d)))).toBe(toHex(bytes));
      }),
      options,
    );
  });

  it('variable-data responses: every generated record comes back in order', () => {
    fc.assert(
      fc.property(variableDataFrameArbitrary, ({ frame, specs }) => {
        const f = decodeFrame(frame);
        if (!f.ok || f.value.frame.type === 'ack' || f.value.frame.type === 'short') throw new Error('not a long frame');
        const app = decodeApplication(f.value.frame);
        expect(app.ok && app.value.kind === 'variableData' && app.value.records.length).toBe(specs.length);
      }),
      { ...options, numRuns: 500 },
    );
  });
});

function expectValue(spec: RecordSpec, d: DataRecord): void {
  const v = spec.value;
  const got = d.value;
  switch (v.type) {
    case 'integer':
      expect(got).toEqual({ type: 'integer', value: typeof v.value === 'bigint' && v.value >= BigInt(Number.MIN_SAFE_INTEGER) && v.value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.value) : v.value });
      break;
    case 'real':
      expect(got).toEqual({ type: 'real', value: Math.fround(v.value) });
      break;
    case 'bcd':
      expect(got.type === 'bcd' && got.value).toBe(v.value === 0 ? 0 : v.value);
      break;
    case 'date':
      expect(got).toEqual(v);
      break;
    case 'dateTime':
      expect(got).toEqual({ ...v, second: null, invalid: v.invalid ?? false, summerTime: v.summerTime ?? false });
      break;
    case 'text':
      expect(got).toEqual(v);
      break;
    case 'bytes':
      expect(got).toEqual({ type: 'bytes', hex: toHex(v.bytes) });
      break;
    default:
      expect(got).toEqual({ type: 'none' });
  }
}

/** The spec a decoded record re-encodes from. */
function specOf(d: DataRecord): RecordSpec {
  const v = d.value;
  const base = { dataField: d.dataField, function: d.function, storageNumber: d.storageNumber, tariff: d.tariff, subunit: d.subunit, vib: [d.vib.vif, ...d.vib.vife], ...(d.vib.plainText !== undefined ? { plainText: d.vib.plainText } : {}) };
  switch (v.type) {
    case 'bcd':
      return { ...base, value: { type: 'bcd', value: v.value! } };
    case 'bytes':
      return { ...base, value: { type: 'bytes', bytes: d.data } };
    case 'dateTime':
      return { ...base, value: { ...v } };
    default:
      return { ...base, value: v };
  }
}

describe('hostile input', () => {
  it('random bytes never throw: frames, records, decodeMbusHex', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        const f = decodeFrame(bytes);
        if (!f.ok) expect(FRAME_ERROR_CODES.has(f.error.code)).toBe(true);
        const r = decodeRecords(bytes);
        if (!r.ok) {
          expect(RECORD_ERROR_CODES.has(r.error.code)).toBe(true);
          expect(r.error.offset).toBeGreaterThanOrEqual(0);
          expect(r.error.offset).toBeLessThanOrEqual(bytes.length);
        }
        const line = decodeMbusHex(toHex(bytes) || '00');
        expect(typeof line.ok).toBe('boolean');
        expect((line.json as { error?: { code: string } }).error?.code).not.toBe('internal');
      }),
      { ...options, numRuns: 3000 },
    );
  });

  it('every truncation of a valid frame is mbus.truncated at the end of the input', () => {
    fc.assert(
      fc.property(fc.oneof(variableDataFrameArbitrary.map((f) => f.frame), frameOptionsArbitrary.map(encodeFrame)), fc.nat(), (frame, cut) => {
        if (frame.length < 2) return;
        const n = 1 + (cut % (frame.length - 1)); // 1 .. length-1 bytes
        const r = decodeFrame(frame.subarray(0, n));
        expect(r.ok ? 'ok' : { code: r.error.code, offset: r.error.offset }).toEqual({ code: 'mbus.truncated', offset: n });
      }),
      options,
    );
  });

  it('every single bit flip of a valid frame is a typed error at an offset inside it', () => {
    fc.assert(
      fc.property(fc.oneof(variableDataFrameArbitrary.map((f) => f.frame), frameOptionsArbitrary.filter((o) => o.type !== 'ack').map(encodeFrame)), fc.nat(), fc.integer({ min: 0, max: 7 }), (frame, at, bit) => {
        const flipped = frame.slice();
        const i = at % frame.length;
        flipped[i] = flipped[i]! ^ (1 << bit);
        const r = decodeFrame(flipped);
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(FRAME_ERROR_CODES.has(r.error.code)).toBe(true);
        expect(r.error.offset).toBeGreaterThanOrEqual(0);
        expect(r.error.offset).toBeLessThanOrEqual(frame.length);
      }),
      options,
    );
  });

  it('the generators reach every frame and record error code', () => {
    const frameCodes = new Set<string>();
    for (const b of fc.sample(wireBytesArbitrary, { seed: FUZZ_SEED, numRuns: 3000 })) {
      const r = decodeFrame(b);
      frameCodes.add(r.ok ? 'ok' : r.error.code);
    }
    expect([...frameCodes].sort()).toEqual([...FRAME_ERROR_CODES, 'ok'].sort());
    const recordCodes = new Set<string>();
    for (const b of fc.sample(fc.tuple(recordSpecArbitrary, fc.uint8Array({ maxLength: 3 }), fc.nat()), { seed: FUZZ_SEED, numRuns: 3000 })) {
      const bytes = concatBytes(encodeRecord(b[0]), b[1]);
      const r = decodeRecords(bytes.subarray(0, b[2] % (bytes.length + 1)));
      recordCodes.add(r.ok ? 'ok' : r.error.code);
    }
    for (const code of ['ok', 'mbus.dif-truncated', 'mbus.vif-truncated', 'mbus.data-truncated']) expect(recordCodes.has(code), code).toBe(true);
  });
});
