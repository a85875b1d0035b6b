/**
 * Robustness of the target-profile loader (issue 5), bounded for `npm test`: profile JSON from
 * the checked-in profiles, edited as JSON and as text, deeply nested, or junk, must load or be
 * one ProfileError naming the file; parseJsonText must agree with JSON.parse.
 * `npm run fuzz` runs the same targets with more inputs (scripts/README.md).
 */
import { describe, expect, it } from 'vitest';
import { ProfileError } from '../core/errors.ts';
import { assertFuzzTarget, ContractViolation } from '../core/fuzz-support.ts';
import { parseJsonText } from './json-text.ts';
import { BASE_TARGET_PROFILES, jsonTextFuzzTarget, ScratchFile, targetProfileFuzzTarget } from './profile-fuzz.ts';
import { loadTargetProfile } from './profile.ts';

const scratch = new ScratchFile();

/** What `meterlab run --target <file>` gets for `text`: the profile, or the ProfileError; anything else throws. */
function load(text: string): ProfileError | 'loaded' {
  try {
    loadTargetProfile(scratch.write(text));
    return 'loaded';
  } catch (e) {
    if (e instanceof ProfileError) return e;
    throw e;
  }
}

/**
 * Nested at most 2,000 deep here (below the stack overflow; the deep case has its own test
 * below). Control characters echoed into messages: checked by npm run fuzz, reported to the CLI
 * work of issue 5 (harness/cli/exit.ts folds only line feeds), not here.
 */
const jsonTextTarget = jsonTextFuzzTarget(2_000);
const targetProfileTarget = targetProfileFuzzTarget(2_000, false);

describe('fuzz targets (fixed seed, bounded)', () => {
  it('parseJsonText agrees with JSON.parse and points inside the text', () => {
    assertFuzzTarget(jsonTextTarget, { numRuns: 1500 });
  });

  it('loadTargetProfile: a profile or one ProfileError naming the file', () => {
    assertFuzzTarget(targetProfileTarget, { numRuns: 300 });
  });

  it('every base document loads unedited (so edits start from valid profiles)', () => {
    for (const doc of BASE_TARGET_PROFILES) expect(load(JSON.stringify(doc))).toBe('loaded');
  });

  it('the checks fail on a wrong result', () => {
    expect(() => jsonTextTarget.verify('{}', { ok: false, problem: { message: 'x', offset: 0, line: 1, column: 1 } })).toThrow(ContractViolation);
    expect(() => jsonTextTarget.verify('{', { ok: false, problem: { message: 'x', offset: 9, line: 1, column: 10 } })).toThrow(ContractViolation);
    const file = scratch.path;
    expect(() => targetProfileTarget.verify('', { error: new ProfileError('somewhere else: bad'), file })).toThrow(ContractViolation);
    // A control character in a ProfileError is escaped where the error is made (core/errors.ts), so the check holds by construction.
    expect(new ProfileError(`target profile ${file}: a carriage\rreturn`).message).toBe(`target profile ${file}: a carriage\\rreturn`);
    expect(() => targetProfileFuzzTarget(10, true).verify('', { error: new ProfileError(`target profile ${file}: a carriage\rreturn`), file })).not.toThrow();
  });
});

// A defect found by the fuzzer in json-text.ts, fixed there (syntaxErrorOffset).
describe('defects found by fuzzing', () => {
  it('a profile nested 20,000 deep with a syntax error is one ProfileError, not a RangeError (stack overflow in findSyntaxErrorOffset)', () => {
    // JSON.parse rejects it; the recursive line/column scanner then overflows the stack.
    const text = `{"name":"deep","connection":${'['.repeat(20_000)}`;
    expect(() => parseJsonText(text)).not.toThrow();
    expect(load(text)).toBeInstanceOf(ProfileError);
  });
});

describe('json-text reasons stay one line', () => {
  it('a control character V8 names as the offending token is escaped in the reason', () => {
    const r = parseJsonText('{"a":\n\u0001}');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problem.message).not.toMatch(/[\u0000-\u001f]/);
  });
});
