/**
 * Robustness of the Q/GDW 1376.1 codec, bounded for `npm test` (fast-check, fixed seed): round
 * trips, random bytes never throw, truncations and bit flips give typed errors with offsets, the
 * scanner accounts for every byte; that the generators reach what they claim to; and that the
 * contract checks fail on a wrong result.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex } from '../../core/bytes.ts';
import { decodeError } from '../../core/errors.ts';
import { assertFuzzTarget, ContractViolation, FUZZ_SEED } from '../../core/fuzz-support.ts';
import { err } from '../../core/result.ts';
import { decodeFrame } from './frame.ts';
import { fixedChecksumFrameArbitrary, frameTarget, messageFrameArbitrary, messageTarget, oracleFrameEnd, scannerTarget, truncationAndFlipTarget, valueTarget, VECTOR_FRAMES, wireBytesArbitrary } from './fuzz-support.ts';
import { decode, items } from './messages.ts';

describe('fuzz targets (fixed seed, bounded)', () => {
  it('decodeFrame: typed errors, agreement with an independent reading of the format, round trip', () => {
    assertFuzzTarget(frameTarget, { numRuns: 4000 });
  });
  it('decode: data units through the dictionary, typed errors, encodeMessage round trip, renderings', () => {
    assertFuzzTarget(messageTarget, { numRuns: 3000 });
  });
  it('truncations are gw1376.truncated at the cut; one flipped bit is refused at or after it', () => {
    assertFuzzTarget(truncationAndFlipTarget, { numRuns: 3000 });
  });
  it('decodeLayout for every layout: typed errors, encodeLayout round trip', () => {
    assertFuzzTarget(valueTarget, { numRuns: 3000 });
  });
  it('scanner: conserves bytes, stays bounded, finds every valid frame, same frames whatever the chunking', () => {
    assertFuzzTarget(scannerTarget, { numRuns: 800 });
  });
  it('random bytes never throw, at any offset', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.integer({ min: -5, max: 500 }), (bytes, offset) => {
        decodeFrame(bytes, offset);
        decode(bytes, offset);
      }),
      { seed: FUZZ_SEED, numRuns: 3000 },
    );
  });
});

describe('the generators reach what they claim to', () => {
  it('generated frames decode, with data units of many AFNs and Fn; shaped frames reach the unit decoder', () => {
    const frames = fc.sample(messageFrameArbitrary, { seed: FUZZ_SEED, numRuns: 400 });
    const afns = new Set<number>();
    let withData = 0;
    for (const f of frames) {
      const r = decode(f);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      afns.add(r.value.frame.afn);
      if (items(r.value).some((i) => i.data.length > 0)) withData++;
    }
    expect(afns.size).toBeGreaterThanOrEqual(8);
    expect(withData).toBeGreaterThan(100);
    const shaped = fc.sample(fixedChecksumFrameArbitrary, { seed: FUZZ_SEED, numRuns: 400 }).map((b) => decode(b));
    expect(shaped.filter((r) => r.ok).length).toBeGreaterThan(20);
    expect(new Set(shaped.flatMap((r) => (r.ok ? [] : [r.error.code]))).size).toBeGreaterThanOrEqual(3);
  });
  it('wire bytes cover acceptance and many error codes', () => {
    const codes = new Set(fc.sample(wireBytesArbitrary, { seed: FUZZ_SEED, numRuns: 2000 }).map((b) => {
      const r = decodeFrame(b);
      return r.ok ? 'ok' : r.error.code;
    }));
    for (const c of ['ok', 'gw1376.start', 'gw1376.truncated', 'gw1376.checksum', 'gw1376.length-mismatch']) expect(codes.has(c), c).toBe(true);
  });
});

describe('the contract checks fail on a wrong result', () => {
  const login = VECTOR_FRAMES[0]!;
  it('frame target: an accepted non-frame, a wrong code, a wrong offset', () => {
    const r = decodeFrame(login);
    expect(() => frameTarget.verify(login, err(decodeError('gw1376.checksum', 'x', 18)))).toThrow(ContractViolation);
    expect(() => frameTarget.verify(login, err(decodeError('gw1376.bogus', 'x', 0)))).toThrow(ContractViolation);
    expect(() => frameTarget.verify(login.subarray(0, 5), err(decodeError('gw1376.truncated', 'x', 2)))).toThrow(ContractViolation);
    expect(() => frameTarget.verify(hex('00'), r)).toThrow(ContractViolation);
    expect(oracleFrameEnd(login, 0)).toBe(20);
  });
  it('truncate-flip target: an accepted flip is a violation', () => {
    const ok = decodeFrame(login);
    expect(() => truncationAndFlipTarget.verify({ frame: login, at: 7, bit: 0, cut: 3 }, { cut: decodeFrame(login.subarray(0, 3)), flipped: ok })).toThrow(ContractViolation);
  });
});
