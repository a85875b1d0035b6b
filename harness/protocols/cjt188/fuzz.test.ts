/**
 * Robustness of the CJ/T 188 codec, bounded for `npm test` (fast-check, fixed seed): encode ∘
 * decode round trips, random bytes never throw, truncations and bit flips give typed errors with
 * offsets, the scanner accounts for every byte; that the generators reach what they claim to; and
 * that each contract check fails on a wrong result.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex } from '../../core/bytes.ts';
import { decodeError } from '../../core/errors.ts';
import { assertFuzzTarget, ContractViolation, FUZZ_SEED } from '../../core/fuzz-support.ts';
import { err, ok } from '../../core/result.ts';
import { decodeFrame } from './frame.ts';
import {
  fixedChecksumFrameArbitrary,
  frameTarget,
  messageArbitrary,
  messageTarget,
  oracleFrameEnd,
  renderTarget,
  runScanner,
  scannerTarget,
  truncationAndFlipTarget,
  valueTarget,
  verifyScanner,
  VECTOR_FRAMES,
  wireBytesArbitrary,
} from './fuzz-support.ts';
import { decode } from './messages.ts';
import type { Cjt188MessageKind } from './types.ts';

const MESSAGE_KINDS = [
  'readData', 'readDataResponse', 'readAddress', 'readAddressResponse', 'readKeyVersion', 'readKeyVersionResponse', 'writeData', 'writeDataResponse',
  'writeAddress', 'writeAddressResponse', 'writeSyncData', 'writeSyncDataResponse', 'valveControl', 'valveControlResponse', 'abnormalResponse', 'other',
] as const satisfies readonly Cjt188MessageKind[];
/** Vector 1 without preamble: read 901F, CS 80H. */
const REQUEST = hex('68 10 44 33 22 11 00 33 78 01 03 1F 90 00 80 16');

describe('fuzz targets (fixed seed, bounded)', () => {
  it('decodeFrame: typed errors, agreement with an independent reading of the format, round trip', () => {
    assertFuzzTarget(frameTarget, { numRuns: 4000 });
  });
  it('decode: every control code and direction, typed errors, encodeMessage round trip', () => {
    assertFuzzTarget(messageTarget, { numRuns: 4000 });
  });
  it('truncations are cjt188.truncated at the cut; one flipped bit is refused at or after it', () => {
    assertFuzzTarget(truncationAndFlipTarget, { numRuns: 3000 });
  });
  it('decodeValue: typed errors, encodeValue round trip', () => {
    assertFuzzTarget(valueTarget, { numRuns: 3000 });
  });
  it('frameToJson / describeFrame: JSON-clean, one line, in every dialect', () => {
    assertFuzzTarget(renderTarget, { numRuns: 1500 });
  });
  it('scanner: conserves bytes, stays bounded, finds every valid frame, same frames whatever the chunking', () => {
    assertFuzzTarget(scannerTarget, { numRuns: 1000 });
  });
  it('random bytes never throw, at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: -5, max: 500 }), (bytes, offset) => {
        const r = decode(bytes, offset);
        expect(typeof r.ok).toBe('boolean');
      }),
      { seed: FUZZ_SEED, numRuns: 3000 },
    );
  });
});

describe('the generators reach what they claim to', () => {
  const sample = <T>(arb: fc.Arbitrary<T>, n: number): T[] => fc.sample(arb, { seed: FUZZ_SEED, numRuns: n });

  it('wire bytes hit every frame error code and valid frames', () => {
    const codes = new Map<string, number>();
    for (const b of sample(wireBytesArbitrary, 3000)) {
      const r = decodeFrame(b);
      const k = r.ok ? 'ok' : r.error.code;
      codes.set(k, (codes.get(k) ?? 0) + 1);
    }
    for (const code of ['ok', 'cjt188.start', 'cjt188.address', 'cjt188.length', 'cjt188.truncated', 'cjt188.checksum', 'cjt188.end']) expect(codes.get(code) ?? 0, code).toBeGreaterThan(5);
  });

  it('fixed-checksum frames reach every message error code and most kinds', () => {
    const codes = new Set<string>();
    const kinds = new Set<string>();
    for (const b of sample(fixedChecksumFrameArbitrary, 4000)) {
      const r = decode(b);
      if (r.ok) kinds.add(r.value.message.kind);
      else codes.add(r.error.code);
    }
    for (const code of ['cjt188.data-length', 'cjt188.control', 'cjt188.address', 'cjt188.value-length', 'cjt188.bcd']) expect(codes.has(code), code).toBe(true);
    expect(kinds.size).toBeGreaterThanOrEqual(12);
  });

  it('generated messages cover every kind', () => {
    const kinds = new Set(sample(messageArbitrary, 3000).map((m) => m.kind));
    expect([...kinds].sort()).toEqual([...MESSAGE_KINDS].sort());
  });
});

describe('the contract checks fail on wrong results', () => {
  const violates = (check: () => void): void => {
    expect(check).toThrow(ContractViolation);
  };

  it('decodeFrame: accepting what the oracle rejects, an unknown code, an offset outside the input', () => {
    const broken = REQUEST.slice();
    broken[14] = 0x81;
    expect(oracleFrameEnd(broken, 0)).toBe(-1);
    violates(() => frameTarget.verify(broken, decodeFrame(REQUEST)));
    violates(() => frameTarget.verify(REQUEST, err(decodeError('cjt188.checksum', 'x', 14))));
    violates(() => frameTarget.verify(broken, err(decodeError('cjt188.bogus', 'x', 14))));
    violates(() => frameTarget.verify(broken, err(decodeError('cjt188.checksum', 'x', 99))));
    expect(() => frameTarget.verify(REQUEST, decodeFrame(REQUEST))).not.toThrow();
  });

  it('decode: a message that does not encode back', () => {
    const r = decode(REQUEST);
    if (!r.ok) throw new Error('request does not decode');
    violates(() => messageTarget.verify(REQUEST, ok({ ...r.value, message: { ...r.value.message, ser: 1 } })));
    expect(() => messageTarget.verify(REQUEST, r)).not.toThrow();
  });

  it('truncation and flips: a prefix that decodes, a flip that is accepted', () => {
    const input = { frame: REQUEST, at: 12, bit: 0, cut: 5 };
    const out = truncationAndFlipTarget.run(input);
    expect(() => truncationAndFlipTarget.verify(input, out)).not.toThrow();
    violates(() => truncationAndFlipTarget.verify(input, { ...out, flipped: decodeFrame(REQUEST) }));
    violates(() => truncationAndFlipTarget.verify(input, { ...out, cut: err(decodeError('cjt188.start', 'x', 0)) }));
  });

  it('decodeValue: a value that does not encode back', () => {
    const input = { di: '8103', payload: hex('15'), heat: false };
    expect(() => valueTarget.verify(input, valueTarget.run(input))).not.toThrow();
    violates(() => valueTarget.verify(input, ok({ day: 16 })));
  });

  it('scanner: a lost byte, a hidden frame', () => {
    const input = { pieces: [{ bytes: hex('00 68 11'), mustFind: false }, { bytes: REQUEST, mustFind: true }], chunks: [2], maxBufferLength: 1024 };
    const steps = runScanner(input);
    expect(() => verifyScanner(input, steps)).not.toThrow();
    violates(() => verifyScanner(input, steps.map((s) => ({ ...s, events: s.events.filter((e) => e.type === 'frame') }))));
    violates(() =>
      verifyScanner(input, steps.map((s) => ({ ...s, events: s.events.map((e) => (e.type === 'frame' ? { type: 'discarded' as const, bytes: e.decoded.raw, error: decodeError('cjt188.checksum', 'x', 3) } : e)) }))),
    );
  });

  it('the 23 real frames are all frames to the oracle', () => {
    expect(VECTOR_FRAMES).toHaveLength(23);
    for (const f of VECTOR_FRAMES) expect(oracleFrameEnd(f, 0)).toBe(f.length);
    void renderTarget;
  });
});
