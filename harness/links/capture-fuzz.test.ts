/**
 * Robustness of the capture reader and replayer (issue 5), bounded for `npm test`: capture text
 * (well-formed, edited as text, records edited as JSON, any JSON) reads back as records or one
 * CaptureError; a well-formed capture replays through ScriptedPeer byte for byte; bytes the
 * capture did not expect are reported as mismatches, never thrown. `npm run fuzz` runs the reader
 * with more inputs (scripts/README.md).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../core/bytes.ts';
import { VirtualClock, withTimeout } from '../core/clock.ts';
import { assertFuzzTarget, ContractViolation, FUZZ_SEED } from '../core/fuzz-support.ts';
import { CaptureError, recordBytes, ScriptedPeer } from './capture.ts';
import { captureRecordsArbitrary, captureTarget } from './capture-fuzz.ts';
import { createMemoryPair } from './memory.ts';

describe('capture reader (fixed seed, bounded)', () => {
  it('records or one CaptureError naming the file and line; records survive a write and a read', () => {
    assertFuzzTarget(captureTarget, { numRuns: 2000 });
  });

  it('the checks fail on a wrong result', () => {
    expect(() => captureTarget.verify('a\nb', { error: new CaptureError('elsewhere: bad', 1) })).toThrow(ContractViolation);
    expect(() => captureTarget.verify('a\nb', { error: new CaptureError('fuzz.jsonl line 9: bad', 9) })).toThrow(ContractViolation);
    const rec = { t: '2026-01-01T00:00:00.000Z', ms: 0, link: 'm', dir: 'tx' as const, hex: '68 16' };
    expect(() => captureTarget.verify(JSON.stringify(rec), { records: [rec], merged: [] })).toThrow(ContractViolation);
  });
});

describe('ScriptedPeer replay (fixed seed, bounded)', () => {
  it('a well-formed capture replays: the requests it expects get the recorded answers, in order', async () => {
    await fc.assert(
      fc.asyncProperty(captureRecordsArbitrary, fc.boolean(), async (records, chunked) => {
        const clock = new VirtualClock({ start: 0 });
        const [master, peerEnd] = createMemoryPair();
        const got: Uint8Array[] = [];
        master.on('data', (c) => got.push(c));
        const peer = new ScriptedPeer({ link: peerEnd, records, clock, timing: 'immediate' });
        const requests = concatBytes(...records.filter((r) => r.dir === 'tx').map(recordBytes));
        if (chunked) for (const b of requests) await master.write(Uint8Array.of(b));
        else if (requests.length > 0) await master.write(requests);
        await withTimeout(clock, peer.done, 60_000, 'the replay did not finish');
        await clock.sleep(1);
        expect(peer.mismatches).toEqual([]);
        expect(toHex(concatBytes(...got))).toBe(toHex(concatBytes(...records.filter((r) => r.dir === 'rx').map(recordBytes))));
      }),
      { seed: FUZZ_SEED, numRuns: 150 },
    );
  });

  it('bytes the capture does not expect are reported as mismatches, never thrown', async () => {
    await fc.assert(
      fc.asyncProperty(captureRecordsArbitrary, fc.array(fc.uint8Array({ minLength: 1, maxLength: 16 }), { maxLength: 6 }), async (records, junk) => {
        const clock = new VirtualClock({ start: 0 });
        const [master, peerEnd] = createMemoryPair();
        master.on('data', () => undefined);
        const peer = new ScriptedPeer({ link: peerEnd, records, clock, timing: 'immediate' });
        for (const j of junk) await master.write(j);
        await clock.sleep(10);
        const expected = concatBytes(...records.filter((r) => r.dir === 'tx').map(recordBytes));
        const sent = concatBytes(...junk);
        const isPrefix = sent.length <= expected.length && toHex(expected.subarray(0, sent.length)) === toHex(sent);
        if (!isPrefix) expect(peer.mismatches.length).toBeGreaterThan(0);
        peer.stop();
      }),
      { seed: FUZZ_SEED, numRuns: 150 },
    );
  });
});
