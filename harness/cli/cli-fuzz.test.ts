/**
 * Robustness of the CLI's input readers (issue 5), bounded for `npm test`: `meterlab decode
 * dlt645 <hex>` never reaches its catch-all ("internal") and says ok exactly for one whole frame
 * that decodes; the simulator profile of `meterlab simulate --profile` loads or is one ProfileError,
 * printed as one line without control characters. `npm run fuzz` runs the same targets with more inputs (scripts/README.md).
 */
import { describe, expect, it } from 'vitest';
import { ProfileError } from '../core/errors.ts';
import { assertFuzzTarget, ContractViolation } from '../core/fuzz-support.ts';
import { cliDecodeCjt188Target, cliDecodeGw1376Target, cliDecodeTarget, simulatorProfileFuzzTarget } from './cli-fuzz.ts';

describe('CLI input readers (fixed seed, bounded)', () => {
  it('decode dlt645 <hex>: no internal error, JSON-clean, ok exactly for one whole decodable frame', () => {
    assertFuzzTarget(cliDecodeTarget, { numRuns: 2000 });
  });

  it('decode cjt188 <hex>: no internal error, JSON-clean, ok exactly for one whole decodable frame', () => {
    assertFuzzTarget(cliDecodeCjt188Target, { numRuns: 2000 });
    expect(() => cliDecodeCjt188Target.verify('68', { ok: false, json: { ok: false, error: { code: 'internal', message: 'decoder failed: boom', offset: 0 } } })).toThrow(ContractViolation);
    expect(() => cliDecodeCjt188Target.verify('FE FE', { ok: true, json: { ok: true } })).toThrow(ContractViolation);
  });

  it('decode gw1376 <hex>: no internal error, JSON-clean, ok exactly for one whole decodable frame', () => {
    assertFuzzTarget(cliDecodeGw1376Target, { numRuns: 2000 });
    expect(() => cliDecodeGw1376Target.verify('68', { ok: false, json: { ok: false, error: { code: 'internal', message: 'decoder failed: boom', offset: 0 } } })).toThrow(ContractViolation);
    expect(() => cliDecodeGw1376Target.verify('68 32 00', { ok: true, json: { ok: true } })).toThrow(ContractViolation);
  });

  it('simulate --profile <file>: a profile or one ProfileError naming the file', () => {
    // Control characters in the line: checked by npm run fuzz, left to the CLI's own tests here (see targetProfileFuzzTarget).
    assertFuzzTarget(simulatorProfileFuzzTarget(2_000, false), { numRuns: 150 });
  });

  it('the checks fail on a wrong result', () => {
    const internal = { ok: false, json: { ok: false, error: { code: 'internal', message: 'decoder failed: boom', offset: 0 } } };
    expect(() => cliDecodeTarget.verify('68', internal)).toThrow(ContractViolation);
    expect(() => cliDecodeTarget.verify('FE FE', { ok: true, json: { ok: true } })).toThrow(ContractViolation);
    const target = simulatorProfileFuzzTarget(10, true);
    expect(() => target.verify('', { error: new ProfileError('simulator profile /x: a\rb'), file: '/x' })).not.toThrow(); // escaped by the CLI (exit.ts oneLine)
    expect(() => target.verify('', { error: new ProfileError('simulator profile /x: a\nb'), file: '/x' })).not.toThrow(); // folded by the CLI
  });
});
