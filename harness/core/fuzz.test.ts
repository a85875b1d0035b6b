/**
 * The fuzzing support itself (fuzz-support.ts) and the parseHex fuzz target (hex-fuzz.ts):
 * inputs replay from (seed, index), mutations never throw whatever the lengths, and parseHex
 * keeps its contract on hex as people write it, edited hex and random text.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hex, parseHex } from './bytes.ts';
import {
  applyByteMutations,
  applyJsonEdits,
  applyTextMutations,
  assertFuzzTarget,
  batchSeed,
  ContractViolation,
  expectJsonClean,
  FUZZ_BATCH,
  FUZZ_SEED,
  fuzzBatch,
  fuzzInput,
  jsonEditArbitrary,
  randomByteMutations,
  randomTextMutations,
} from './fuzz-support.ts';
import { hexTarget } from './hex-fuzz.ts';
import { SeededRandom } from './random.ts';

describe('fuzz support', () => {
  it('input i of a run depends on (seed, i) only: alone, in its batch, and again', () => {
    const batch = fuzzBatch(hexTarget, FUZZ_SEED, 3);
    expect(batch).toHaveLength(FUZZ_BATCH);
    expect(fuzzInput(hexTarget, FUZZ_SEED, 3 * FUZZ_BATCH + 17)).toEqual(batch[17]);
    expect(fuzzBatch(hexTarget, FUZZ_SEED, 3)).toEqual(batch);
    expect(fuzzBatch(hexTarget, FUZZ_SEED + 1, 3)).not.toEqual(batch);
  });

  it('batch seeds differ for every batch of a run', () => {
    const seeds = new Set(Array.from({ length: 100_000 }, (_, b) => batchSeed(FUZZ_SEED, b)));
    expect(seeds.size).toBe(100_000);
  });

  it('byte and text mutations never throw, whatever the input length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), fc.integer(), fc.integer({ min: 1, max: 8 }), (bytes, seed, n) => {
        const rnd = new SeededRandom(seed);
        const out = applyByteMutations(bytes, randomByteMutations(rnd, n, [0x68, 0x16], [hex('68 16')]));
        expect(out).toBeInstanceOf(Uint8Array);
        expect(typeof applyTextMutations(String.fromCharCode(...bytes), randomTextMutations(rnd, n))).toBe('string');
      }),
      { seed: FUZZ_SEED, numRuns: 2000 },
    );
  });

  it('each byte edit does what it says', () => {
    const b = hex('01 02 03 04');
    expect(applyByteMutations(b, [{ op: 'flip', at: 1, bit: 0 }])).toEqual(hex('01 03 03 04'));
    expect(applyByteMutations(b, [{ op: 'set', at: 6, value: 0x68 }])).toEqual(hex('01 02 68 04'));
    expect(applyByteMutations(b, [{ op: 'insert', at: 4, bytes: hex('16') }])).toEqual(hex('01 02 03 04 16'));
    expect(applyByteMutations(b, [{ op: 'delete', at: 1, count: 2 }])).toEqual(hex('01 04'));
    expect(applyByteMutations(b, [{ op: 'duplicate', at: 1, count: 2 }])).toEqual(hex('01 02 03 02 03 04'));
    expect(applyByteMutations(b, [{ op: 'truncate', at: 3 }])).toEqual(hex('01 02 03'));
    expect(applyByteMutations(b, [{ op: 'splice', at: 2, other: hex('AA BB CC'), from: 1 }])).toEqual(hex('01 02 BB CC'));
    expect(b).toEqual(hex('01 02 03 04')); // the input is not modified
  });

  it('JSON edits replace, delete and add (an own "__proto__" key included)', () => {
    expect(applyJsonEdits({ a: 1, b: [2] }, [{ op: 'replace', pick: 1, value: 'x' }])).toEqual({ a: 'x', b: [2] });
    expect(applyJsonEdits({ a: 1, b: [2] }, [{ op: 'delete', pick: 3 }])).toEqual({ a: 1, b: [] });
    const added = applyJsonEdits({ a: 1 }, [{ op: 'add', pick: 0, key: '__proto__', value: 5 }]);
    expect(JSON.stringify(added)).toBe('{"a":1,"__proto__":5}');
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 3 }), fc.array(jsonEditArbitrary(['a']), { maxLength: 4 }), (doc, edits) => {
        expect(() => JSON.stringify(applyJsonEdits(doc, edits))).not.toThrow();
      }),
      { seed: FUZZ_SEED, numRuns: 500 },
    );
  });

  it('expectJsonClean rejects what JSON cannot carry', () => {
    expect(() => expectJsonClean({ a: [1, 'x', null, { b: true }] }, 't')).not.toThrow();
    for (const bad of [{ a: Number.NaN }, { a: undefined }, [Infinity], { a: new Uint8Array(1) }, { a: 1n }]) {
      expect(() => expectJsonClean(bad, 't')).toThrow(ContractViolation);
    }
  });
});

describe('parseHex (fixed seed, bounded)', () => {
  it('typed errors pointing inside the text; well-formed hex gives its bytes; toHex round trip', () => {
    assertFuzzTarget(hexTarget, { numRuns: 5000 });
  });

  it('the checks fail on a wrong result', () => {
    expect(() => hexTarget.verify({ text: '68 16', expected: hex('68 16') }, parseHex('68 17'))).toThrow(ContractViolation);
    expect(() => hexTarget.verify({ text: 'zz' }, { ok: false, error: { code: 'hex.other', message: 'x', offset: 0 } })).toThrow(ContractViolation);
    expect(() => hexTarget.verify({ text: 'zz' }, { ok: false, error: { code: 'hex.invalid-character', message: 'x', offset: 5 } })).toThrow(ContractViolation);
  });
});
