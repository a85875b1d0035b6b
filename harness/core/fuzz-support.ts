/**
 * Fuzzing support (issue 5): the shape of a fuzz target, input generation from a seed, contract
 * checks, and byte/text mutation arbitraries. Shared by the bounded robustness tests
 * (`*.fuzz.test.ts`, part of `npm test`) and by `npm run fuzz` (scripts/fuzz.ts, 10 million
 * inputs per decoder). Test support only: production code never imports it (fast-check is a
 * development dependency).
 *
 * A fuzz target splits its work in two so that timings measure the code under test alone:
 * - `run(input)` calls the decoder (or loader) exactly as the product does. An exception that
 *   escapes `run` is a finding; a loader whose contract is to throw its own typed error (a
 *   ProfileError, a CaptureError) catches that type, and only that type, inside `run`.
 * - `verify(input, output)` checks the result against the decoder's contract (error codes from
 *   the known set, offsets inside the input, round trips, conservation) and throws a
 *   `ContractViolation` when it is broken.
 */
import fc from 'fast-check';
import { concatBytes, toHex } from './bytes.ts';
import type { DecodeError } from './errors.ts';
import { SeededRandom } from './random.ts';

/** The seed of `npm test`'s fuzz properties and the default of `npm run fuzz`. */
export const FUZZ_SEED = 6452007;

/** A decoder's result broke its documented contract (not an exception from the decoder itself). */
export class ContractViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContractViolation';
  }
}

/** Throws a ContractViolation with `message` unless `condition` holds. */
export function expectThat(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new ContractViolation(typeof message === 'string' ? message : message());
}

export interface FuzzTarget<I, O> {
  /** `<layer>.<decoder>`, e.g. `dlt645.frame`; what `npm run fuzz -- --only` takes. */
  readonly name: string;
  /** One line: what is fed to what. */
  readonly description: string;
  readonly arbitrary: fc.Arbitrary<I>;
  /** The code under test, called as the product calls it; an exception escaping it is a finding. */
  run(input: I): O;
  /** Checks the contract; throws ContractViolation. Not timed. */
  verify(input: I, output: O): void;
  /** Size of the input in bytes (UTF-8 for text), for MiB/s. */
  size(input: I): number;
  /** The input as a reproducer: hex for bytes, JSON for structures. */
  show(input: I): string;
  /**
   * Fraction of `--count` this target runs in `npm run fuzz` (default 1). Below 1 for targets
   * whose inputs are thousands of times larger than a frame (the 68H floods).
   */
  readonly countScale?: number;
}

/** Identity helper that lets TypeScript infer I and O from the object literal. */
export function fuzzTarget<I, O>(target: FuzzTarget<I, O>): FuzzTarget<I, O> {
  return target;
}

/** A target with its input and output types erased, for registries. */
export type AnyFuzzTarget = FuzzTarget<any, any>;

/** Inputs are generated in batches of this many (one fast-check sample per batch). */
export const FUZZ_BATCH = 100;

/**
 * The fast-check seed of batch `batch` of a run with `seed` (a bijection on 32-bit values for a
 * fixed seed, so every batch gets its own seed).
 */
export function batchSeed(seed: number, batch: number): number {
  let h = (seed ^ Math.imul(batch >>> 0, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/**
 * Inputs `batch * FUZZ_BATCH` .. `batch * FUZZ_BATCH + FUZZ_BATCH - 1` of a fuzz run with `seed`.
 * Input `index` depends on `(seed, index)` only: that is how `npm run fuzz` reports a failure and
 * replays it alone (`--seed S --from INDEX --count 1`).
 */
export function fuzzBatch<I>(target: FuzzTarget<I, unknown>, seed: number, batch: number): I[] {
  return fc.sample(target.arbitrary, { seed: batchSeed(seed, batch), numRuns: FUZZ_BATCH });
}

/** Input `index` of a fuzz run with `seed`. */
export function fuzzInput<I>(target: FuzzTarget<I, unknown>, seed: number, index: number): I {
  return fuzzBatch(target, seed, Math.floor(index / FUZZ_BATCH))[index % FUZZ_BATCH]!;
}

/** Runs one input through a target: run, then verify. Throws what either throws. */
export function checkInput<I, O>(target: FuzzTarget<I, O>, input: I): void {
  target.verify(input, target.run(input));
}

/**
 * The bounded form used in `npm test`: fast-check with a fixed seed (shrinks a failure to a
 * small input and prints the seed and path to replay it).
 */
export function assertFuzzTarget<I, O>(target: FuzzTarget<I, O>, options: { numRuns: number; seed?: number }): void {
  fc.assert(
    fc.property(target.arbitrary, (input) => checkInput(target, input)),
    { seed: options.seed ?? FUZZ_SEED, numRuns: options.numRuns },
  );
}

// ---------------------------------------------------------------------------------------------
// Contract checks shared by the decoders

/**
 * A DecodeError from the known set, at an integer offset in [min, max] (offsets are absolute
 * positions in the decoder's input; `max` is usually the input length, where "truncated" points).
 */
export function expectDecodeError(error: DecodeError, codes: ReadonlySet<string>, min: number, max: number, what: string): void {
  expectThat(typeof error === 'object' && error !== null, `${what}: error is not an object`);
  expectThat(codes.has(error.code), () => `${what}: error code ${JSON.stringify(error.code)} is not one of ${[...codes].join(', ')}`);
  expectThat(typeof error.message === 'string' && error.message.length > 0, `${what}: ${error.code} has no message`);
  expectThat(
    Number.isInteger(error.offset) && error.offset >= min && error.offset <= max,
    () => `${what}: ${error.code} offset ${error.offset} is outside [${min}, ${max}]`,
  );
}

/** Throws unless `a` and `b` hold the same bytes; the message shows both in hex. */
export function expectSameBytes(a: Uint8Array, b: Uint8Array, what: string): void {
  let same = a.length === b.length;
  for (let i = 0; same && i < a.length; i++) same = a[i] === b[i];
  expectThat(same, () => `${what}:\n  got      ${toHex(a)}\n  expected ${toHex(b)}`);
}

/**
 * Throws unless `value` survives JSON unchanged: only null, booleans, finite numbers, strings,
 * arrays and plain objects (no undefined, NaN, Infinity, bigint, typed arrays, functions).
 */
export function expectJsonClean(value: unknown, what: string, path = '$'): void {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    expectThat(Number.isFinite(value), () => `${what}: ${path} is ${value}, which JSON cannot carry`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => expectJsonClean(v, what, `${path}[${i}]`));
    return;
  }
  expectThat(typeof value === 'object', () => `${what}: ${path} is a ${typeof value}, which JSON cannot carry`);
  const proto = Object.getPrototypeOf(value) as unknown;
  expectThat(proto === Object.prototype || proto === null, () => `${what}: ${path} is not a plain object`);
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) expectJsonClean(v, what, `${path}.${k}`);
}

// ---------------------------------------------------------------------------------------------
// Mutations

/** One edit of a byte string; positions are taken modulo the current length. */
export type ByteMutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly count: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'splice'; readonly at: number; readonly other: Uint8Array; readonly from: number };

/** Applies edits in order; never throws, whatever the lengths. */
export function applyByteMutations(bytes: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let b = bytes;
  for (const m of mutations) {
    const n = b.length;
    const at = n === 0 ? 0 : m.at % n;
    switch (m.op) {
      case 'flip':
        if (n > 0) {
          b = b.slice();
          b[at] = b[at]! ^ (1 << m.bit);
        }
        break;
      case 'set':
        if (n > 0) {
          b = b.slice();
          b[at] = m.value;
        }
        break;
      case 'insert': {
        const i = m.at % (n + 1);
        b = concatBytes(b.subarray(0, i), m.bytes, b.subarray(i));
        break;
      }
      case 'delete':
        b = concatBytes(b.subarray(0, at), b.subarray(Math.min(n, at + m.count)));
        break;
      case 'duplicate':
        b = concatBytes(b.subarray(0, Math.min(n, at + m.count)), b.subarray(at));
        break;
      case 'truncate':
        b = b.slice(0, m.at % (n + 1));
        break;
      case 'splice': {
        // A prefix of this input followed by a suffix of another one.
        const i = m.at % (n + 1);
        const j = m.from % (m.other.length + 1);
        b = concatBytes(b.subarray(0, i), m.other.subarray(j));
        break;
      }
    }
  }
  return b;
}


/** A byte: uniform 60 % of the time, else one of `special` (the protocol's structural bytes). */
export function randomByte(rnd: SeededRandom, special: readonly number[]): number {
  return special.length > 0 && rnd.chance(0.4) ? rnd.pick(special) : rnd.int(0, 255);
}

/** `length` random bytes, rich in `special`. */
export function randomBytes(rnd: SeededRandom, length: number, special: readonly number[]): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = randomByte(rnd, special);
  return out;
}

/**
 * `count` edits chosen by `rnd`: bit flips, byte sets, inserts, deletes, duplicates, truncations
 * and splices with one of `others` (a prefix of the input followed by a suffix of the other).
 */
export function randomByteMutations(rnd: SeededRandom, count: number, special: readonly number[], others: readonly Uint8Array[]): ByteMutation[] {
  const out: ByteMutation[] = [];
  for (let k = 0; k < count; k++) {
    const at = rnd.int(0, 1 << 16);
    const r = rnd.int(0, 14);
    if (r < 4) out.push({ op: 'flip', at, bit: rnd.int(0, 7) });
    else if (r < 8) out.push({ op: 'set', at, value: randomByte(rnd, special) });
    else if (r < 10) out.push({ op: 'insert', at, bytes: randomBytes(rnd, rnd.int(1, 8), special) });
    else if (r < 12) out.push({ op: 'delete', at, count: rnd.int(1, 8) });
    else if (r < 13) out.push({ op: 'duplicate', at, count: rnd.int(1, 16) });
    else if (r < 14 || others.length === 0) out.push({ op: 'truncate', at });
    else out.push({ op: 'splice', at, other: rnd.pick(others), from: rnd.int(0, 1 << 16) });
  }
  return out;
}

/**
 * `base` with 1..`max` edits (see randomByteMutations). fast-check picks the base input, the
 * number of edits and a seed; the edits themselves come from that seed (cheap to generate, so
 * `npm run fuzz` can afford millions).
 */
export function mutatedBytes(
  base: fc.Arbitrary<Uint8Array>,
  special: readonly number[],
  others: readonly Uint8Array[],
  max = 4,
): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(base, fc.integer({ min: 1, max }), fc.integer())
    .map(([b, count, seed]) => applyByteMutations(b, randomByteMutations(new SeededRandom(seed), count, special, others)));
}

/** Random bytes of length 0..`maxLength`, rich in `special`. */
export function bytesArbitrary(maxLength: number, special: readonly number[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.nat({ max: maxLength }), fc.integer()).map(([n, seed]) => randomBytes(new SeededRandom(seed), n, special));
}

/** One edit of a text; positions are taken modulo the current length. */
export type TextMutation =
  | { readonly op: 'insert'; readonly at: number; readonly text: string }
  | { readonly op: 'delete'; readonly at: number; readonly count: number }
  | { readonly op: 'replace'; readonly at: number; readonly text: string }
  | { readonly op: 'duplicate'; readonly at: number; readonly count: number }
  | { readonly op: 'truncate'; readonly at: number };

export function applyTextMutations(text: string, mutations: readonly TextMutation[]): string {
  let t = text;
  for (const m of mutations) {
    const n = t.length;
    const at = m.at % (n + 1);
    switch (m.op) {
      case 'insert':
        t = t.slice(0, at) + m.text + t.slice(at);
        break;
      case 'delete':
        t = t.slice(0, at) + t.slice(at + m.count);
        break;
      case 'replace':
        t = t.slice(0, at) + m.text + t.slice(at + m.text.length);
        break;
      case 'duplicate':
        t = t.slice(0, at + m.count) + t.slice(at);
        break;
      case 'truncate':
        t = t.slice(0, at);
        break;
    }
  }
  return t;
}

/** Characters and words that matter to a JSON or hex reader, plus some that never should. */
export const SPECIAL_TEXT: readonly string[] = [
  '{', '}', '[', ']', '"', ':', ',', '\\', '\n', '\r', '\t', ' ', '0', '1', '-', '.', 'e', 'E', 'x', '0x', 'null', 'true', '\uFEFF',
  '\u0000', '\u2028', '\uD800', '\uDC00', '😀', 'é', '\\u0000', '\\uD800', '1e999', '-0', '9007199254740993', '[[[[[[[[', '{"":{"":',
];

/** A short random string: a special word, or 1..6 characters from all of Unicode. */
export function randomText(rnd: SeededRandom): string {
  if (rnd.chance(0.6)) return rnd.pick(SPECIAL_TEXT);
  let t = '';
  for (let i = rnd.int(1, 6); i > 0; i--) t += String.fromCharCode(rnd.chance(0.7) ? rnd.int(0x20, 0x7e) : rnd.int(0, 0xffff));
  return t;
}

export function randomTextMutations(rnd: SeededRandom, count: number): TextMutation[] {
  const out: TextMutation[] = [];
  for (let k = 0; k < count; k++) {
    const at = rnd.int(0, 1 << 16);
    const r = rnd.int(0, 10);
    if (r < 3) out.push({ op: 'insert', at, text: randomText(rnd) });
    else if (r < 6) out.push({ op: 'delete', at, count: rnd.int(1, 12) });
    else if (r < 9) out.push({ op: 'replace', at, text: randomText(rnd) });
    else if (r < 10) out.push({ op: 'duplicate', at, count: rnd.int(1, 40) });
    else out.push({ op: 'truncate', at });
  }
  return out;
}

/** `base` with 1..`max` text edits chosen by a seed (see mutatedBytes). */
export function mutatedText(base: fc.Arbitrary<string>, max = 4): fc.Arbitrary<string> {
  return fc
    .tuple(base, fc.integer({ min: 1, max }), fc.integer())
    .map(([t, count, seed]) => applyTextMutations(t, randomTextMutations(new SeededRandom(seed), count)));
}

/**
 * A JSON document with one node replaced by a random JSON value, one key deleted or one unknown
 * key added: structurally valid JSON that a schema must reject (or accept) cleanly.
 */
export type JsonEdit =
  | { readonly op: 'replace'; readonly pick: number; readonly value: unknown }
  | { readonly op: 'delete'; readonly pick: number }
  | { readonly op: 'add'; readonly pick: number; readonly key: string; readonly value: unknown };

export function applyJsonEdits(doc: unknown, edits: readonly JsonEdit[]): unknown {
  let root = structuredClone(doc);
  for (const e of edits) {
    const nodes: { parent: Record<string, unknown> | unknown[] | null; key: string | number; value: unknown }[] = [];
    const walk = (parent: Record<string, unknown> | unknown[] | null, key: string | number, value: unknown): void => {
      nodes.push({ parent, key, value });
      if (Array.isArray(value)) value.forEach((v, i) => walk(value, i, v));
      else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(value as Record<string, unknown>, k, v);
    };
    walk(null, '', root);
    const target = nodes[e.pick % nodes.length]!;
    // A copy: edit values may be shared constants, and a later edit may write into this one.
    const value = e.op === 'delete' ? undefined : structuredClone(e.value);
    if (e.op === 'replace') {
      if (target.parent === null) root = value;
      else (target.parent as Record<string | number, unknown>)[target.key] = value;
    } else if (e.op === 'delete') {
      if (Array.isArray(target.parent)) target.parent.splice(target.key as number, 1);
      else if (target.parent !== null) delete target.parent[target.key as string];
    } else if (target.value !== null && typeof target.value === 'object' && !Array.isArray(target.value)) {
      // An own property even for "__proto__", as JSON.parse makes it.
      Object.defineProperty(target.value, e.key, { value, enumerable: true, writable: true, configurable: true });
    } else if (Array.isArray(target.value)) {
      target.value.push(value);
    }
  }
  return root;
}

/** Edits for `applyJsonEdits`: values of every JSON type, including edge numbers and odd strings. */
export function jsonEditArbitrary(keys: readonly string[]): fc.Arbitrary<JsonEdit> {
  const value = fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<unknown>(null, true, false, 0, -1, 1, 0.5, 1e308, -1e308, 2 ** 53, -(2 ** 31), 65536, 255, 256, '', ' ', 'x', '0', '123456789012', 'AAAAAAAAAAAA', '00010000', [], {}, [null], { name: '' }),
    },
    { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_TEXT) },
  );
  const pick = fc.nat({ max: 1 << 16 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ op: fc.constant('replace' as const), pick, value }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete' as const), pick }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('add' as const), pick, key: fc.oneof(fc.constantFrom(...keys, '__proto__', 'constructor', ''), fc.string({ maxLength: 8 })), value }) },
  );
}
