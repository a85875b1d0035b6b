/**
 * Fuzz target for `parseHex` (what `meterlab decode` and the capture reader parse hex with).
 * Test support (see fuzz-support.ts): never imported by production code.
 */
import fc from 'fast-check';
import { parseHex, toHex } from './bytes.ts';
import { expectDecodeError, expectSameBytes, expectThat, fuzzTarget, mutatedText, SPECIAL_TEXT } from './fuzz-support.ts';
import { SeededRandom } from './random.ts';

export const HEX_ERROR_CODES: ReadonlySet<string> = new Set(['hex.empty', 'hex.invalid-character', 'hex.split-byte', 'hex.odd-length']);

export interface HexInput {
  readonly text: string;
  /** The bytes a well-formed text spells (absent for mutated and random text). */
  readonly expected?: Uint8Array;
}

const SEPARATORS = [' ', '', ',', ':', '-', '\t', ', ', '\n', '  ', '\u00a0'];

/** Bytes written as hex the ways people write them: separators, case, 0x prefixes. */
export const hexTextArbitrary: fc.Arbitrary<HexInput> = fc
  .tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer())
  .map(([bytes, seed]) => ({ text: formatHexLoosely(bytes, new SeededRandom(seed)), expected: bytes }));

/** `bytes` as hex with a random separator, letter case and optional 0x prefixes (one style per text). */
export function formatHexLoosely(bytes: Uint8Array, rnd: SeededRandom): string {
  const sep = rnd.pick(SEPARATORS);
  const prefix = rnd.chance(0.2) ? rnd.pick(['0x', '0X']) : '';
  const lower = rnd.chance(0.3);
  const pad = rnd.chance(0.1) ? rnd.pick([' ', '\t', '\r\n', '\n']) : '';
  let t = Array.from(bytes, (b) => prefix + b.toString(16).padStart(2, '0')).join(sep);
  t = lower ? t.toLowerCase() : t.toUpperCase().replace(/0X/g, prefix === '0x' ? '0x' : '0X');
  return pad + t + pad;
}

const HEX_ALPHABET = '0123456789abcdefABCDEF xX,:-\t\n';

export const hexTarget = fuzzTarget({
  name: 'core.hex',
  description: 'parseHex on hex as people write it, mutated hex and random text: typed errors, exact bytes',
  arbitrary: fc.oneof(
    { weight: 3, arbitrary: hexTextArbitrary },
    { weight: 3, arbitrary: mutatedText(hexTextArbitrary.map((h) => h.text)).map((text): HexInput => ({ text })) },
    { weight: 2, arbitrary: fc.string({ unit: fc.constantFrom(...HEX_ALPHABET), maxLength: 40 }).map((text): HexInput => ({ text })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }).map((text): HexInput => ({ text })) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...SPECIAL_TEXT), { maxLength: 8 }).map((a): HexInput => ({ text: a.join('') })) },
  ),
  run: (input: HexInput) => parseHex(input.text),
  verify(input, r) {
    const { text, expected } = input;
    if (!r.ok) {
      expectDecodeError(r.error, HEX_ERROR_CODES, 0, Math.max(0, text.length - 1), 'parseHex');
      expectThat(expected === undefined, () => `parseHex rejected well-formed hex (${r.error.code} at ${r.error.offset})`);
      if (r.error.code === 'hex.invalid-character') {
        expectThat(!/[0-9a-fA-F]/.test(text[r.error.offset] ?? ''), 'hex.invalid-character points at a hex digit');
      }
      return;
    }
    expectThat(r.value.length > 0, 'parseHex returned no bytes without an error');
    if (expected) expectSameBytes(r.value, expected, 'parseHex of well-formed hex');
    const again = parseHex(toHex(r.value));
    expectThat(again.ok, 'toHex output does not parse');
    expectSameBytes(again.value, r.value, 'parseHex(toHex(x)) is not x');
  },
  size: (input) => Buffer.byteLength(input.text),
  show: (input) => JSON.stringify(input.text),
});
