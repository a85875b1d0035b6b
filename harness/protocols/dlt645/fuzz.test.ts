/**
 * Robustness of the DL/T 645 codec (issue 5), bounded for `npm test`: every fuzz target of
 * fuzz-support.ts with a fixed seed, that the generators reach what they claim to (error codes,
 * message kinds, rescans), and that each contract check fails on a wrong result. `npm run fuzz`
 * runs the same targets with 10 million inputs each (scripts/README.md).
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
  messageTarget,
  mutatedFrameArbitrary,
  oracleFrameEnd,
  renderTarget,
  runScanner,
  scannerFloodTarget,
  scannerTarget,
  valueInputArbitrary,
  valueTarget,
  verifyScanner,
  VECTOR_FRAMES,
  wireBytesArbitrary,
  type ScannerInput,
} from './fuzz-support.ts';
import { decode, encodeMessage } from './messages.ts';
import type { Dlt645MessageKind } from './types.ts';
import { decodeValue } from './dictionary.ts';

/** Read 00010000 from 123456789012: 68 12 90 78 56 34 12 68 11 04 33 33 34 33 AE 16. */
/** Every `kind` of Dlt645Message (types.ts). */
const MESSAGE_KINDS = [
  'broadcastTimeSync', 'readData', 'readDataResponse', 'readFollowUp', 'readFollowUpResponse', 'readAddress', 'readAddressResponse',
  'writeData', 'writeDataResponse', 'writeAddress', 'writeAddressResponse', 'freeze', 'freezeResponse', 'changeBaud', 'changeBaudResponse',
  'changePassword', 'changePasswordResponse', 'clearMaxDemand', 'clearMaxDemandResponse', 'meterClear', 'meterClearResponse', 'eventClear',
  'eventClearResponse', 'remoteControl', 'remoteControlResponse', 'multiFunctionOutput', 'multiFunctionOutputResponse', 'errorResponse',
  'readData1997', 'readDataResponse1997', 'other',
] as const satisfies readonly Dlt645MessageKind[];
const REQUEST = encodeMessage('123456789012', { kind: 'readData', di: '00010000', extra: new Uint8Array(0) });
/** Its reply, 1234.56 kWh: 68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 54 16. */
const REPLY = encodeMessage('123456789012', { kind: 'readDataResponse', di: '00010000', payload: hex('56 34 12 00'), hasFollowUp: false });

describe('fuzz targets (fixed seed, bounded)', () => {
  it('decodeFrame: typed errors, agreement with an independent reading of the frame format, round trip', () => {
    assertFuzzTarget(frameTarget, { numRuns: 4000 });
  });

  it('decode (frame + message): every control code and direction, typed errors, encodeMessage round trip', () => {
    assertFuzzTarget(messageTarget, { numRuns: 4000 });
  });

  it('scanner: conserves bytes, stays bounded, finds embedded frames, same frames whatever the chunking', () => {
    assertFuzzTarget(scannerTarget, { numRuns: 1500 });
  });

  it('scanner: 1-8 KiB floods of 68H, FEH and headers, in one push or large chunks, then a frame', () => {
    assertFuzzTarget(scannerFloodTarget(1024, 8 * 1024), { numRuns: 30 });
  });

  it("decodeValue: every identifier's format, typed errors, encodeValue round trip", () => {
    assertFuzzTarget(valueTarget, { numRuns: 4000 });
  });

  it('frameToJson / describeFrame: JSON-clean, one line, values shown for valid dictionary payloads', () => {
    assertFuzzTarget(renderTarget, { numRuns: 1500 });
  });
});

describe('the generators reach what they claim to', () => {
  const sample = <T>(arb: fc.Arbitrary<T>, n: number): T[] => fc.sample(arb, { seed: FUZZ_SEED, numRuns: n });

  it('wire bytes hit every frame error code and plenty of valid frames', () => {
    const codes = new Map<string, number>();
    for (const b of sample(wireBytesArbitrary, 3000)) {
      const r = decodeFrame(b);
      const key = r.ok ? 'ok' : r.error.code;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    for (const code of ['dlt645.start', 'dlt645.second-start', 'dlt645.length', 'dlt645.truncated', 'dlt645.checksum', 'dlt645.end', 'dlt645.address']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    expect(codes.get('ok')!).toBeGreaterThan(600);
  });

  it('frames with fixed-up checksums reach the message decoder and hit every message error code', () => {
    const codes = new Map<string, number>();
    const kinds = new Set<string>();
    for (const b of sample(fixedChecksumFrameArbitrary, 4000)) {
      const r = decode(b);
      if (r.ok) kinds.add(r.value.message.kind);
      const key = r.ok ? 'ok' : r.error.code;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    expect(codes.get('dlt645.checksum') ?? 0).toBe(0); // fixed up: never stopped at CS
    for (const code of ['dlt645.data-length', 'dlt645.control', 'dlt645.time', 'dlt645.baud-feature-word', 'dlt645.address']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    expect(codes.get('ok')!).toBeGreaterThan(1000);
    expect(kinds.size).toBeGreaterThanOrEqual(25);
  });

  it('message inputs decode to every message kind the codec models', () => {
    const kinds = new Set<string>();
    for (const b of sample(messageTarget.arbitrary, 4000)) {
      const r = decode(b);
      if (r.ok) kinds.add(r.value.message.kind);
    }
    expect([...kinds].sort()).toEqual([...MESSAGE_KINDS].sort());
  });

  it('mutated real frames are mostly broken, and not all at the same check', () => {
    const codes = new Set(sample(mutatedFrameArbitrary, 1000).map((b) => decodeFrame(b)).map((r) => (r.ok ? 'ok' : r.error.code)));
    expect(codes.size).toBeGreaterThanOrEqual(7);
  });

  it('value inputs cover valid, invalid BCD, out-of-range dates, wrong lengths and unknown identifiers', () => {
    const codes = new Map<string, number>();
    for (const v of sample(valueInputArbitrary, 3000)) {
      const r = decodeValue(v.di, v.payload, v.lenient ? { trailingBytes: 'ignore' } : undefined);
      const key = r.ok ? 'ok' : r.error.code;
      codes.set(key, (codes.get(key) ?? 0) + 1);
    }
    for (const code of ['ok', 'dlt645.unknown-di', 'dlt645.value-length', 'dlt645.bcd', 'dlt645.value-range']) expect(codes.get(code) ?? 0, code).toBeGreaterThan(10);
    expect(codes.get('ok')!).toBeGreaterThan(1000);
  });

  it('scanner inputs produce frames, every discard reason including overflow, and rescans', () => {
    const reasons = new Set<string>();
    let frames = 0;
    for (const input of sample(scannerTarget.arbitrary, 1500)) {
      for (const step of runScanner(input)) {
        if (step.kind === 'reset') continue;
        for (const e of step.events) {
          if (e.type === 'frame') frames++;
          else reasons.add(e.error.code);
        }
      }
    }
    expect(frames).toBeGreaterThan(1000);
    expect([...reasons].sort()).toEqual(
      ['dlt645.address', 'dlt645.checksum', 'dlt645.end', 'dlt645.length', 'dlt645.overflow', 'dlt645.second-start', 'dlt645.start', 'dlt645.truncated'].sort(),
    );
  });
});

describe('the contract checks fail on wrong results', () => {
  const violates = (check: () => void): void => {
    expect(check).toThrow(ContractViolation);
  };

  it('decodeFrame: accepting a frame the oracle rejects, an unknown code, an offset outside the input', () => {
    const broken = REPLY.slice();
    broken[broken.length - 2] = broken[broken.length - 2]! ^ 1; // CS
    expect(oracleFrameEnd(broken, 0)).toBe(-1);
    const good = decodeFrame(REPLY);
    violates(() => frameTarget.verify({ bytes: broken, offset: 0 }, good));
    violates(() => frameTarget.verify({ bytes: REPLY, offset: 0 }, err(decodeError('dlt645.checksum', 'x', 18))));
    violates(() => frameTarget.verify({ bytes: broken, offset: 0 }, err(decodeError('dlt645.bogus', 'x', 18))));
    violates(() => frameTarget.verify({ bytes: broken, offset: 0 }, err(decodeError('dlt645.checksum', 'x', 99))));
    expect(() => frameTarget.verify({ bytes: REPLY, offset: 0 }, good)).not.toThrow();
  });

  it('decode: a message that does not encode back to its bytes, a message error outside the frame', () => {
    const r = decode(REPLY);
    if (!r.ok) throw new Error('reply does not decode');
    const wrong = ok({ ...r.value, message: { ...r.value.message, di: '00020000' } as typeof r.value.message });
    violates(() => messageTarget.verify(REPLY, wrong));
    violates(() => messageTarget.verify(REPLY, err(decodeError('dlt645.data-length', 'x', 2))));
    expect(() => messageTarget.verify(REPLY, r)).not.toThrow();
  });

  it('scanner: a lost byte, a frame not found, pending beyond the bound', () => {
    const input: ScannerInput = {
      pieces: [
        { bytes: hex('00 68 11 22'), mustFind: false },
        { bytes: REQUEST, mustFind: true },
      ],
      chunks: [3],
      actions: [],
      maxBufferLength: 1024,
    };
    const steps = runScanner(input);
    expect(() => verifyScanner(input, steps)).not.toThrow();
    // Drop the first discarded event: bytes unaccounted for.
    const lost = steps.map((s) => (s.kind === 'reset' ? s : { ...s, events: s.events.filter((e, i) => !(e.type === 'discarded' && i === 0)) }));
    violates(() => verifyScanner(input, lost));
    // Report the frame as discarded instead: the valid frame was not found.
    const hidden = steps.map((s) =>
      s.kind === 'reset' ? s : { ...s, events: s.events.map((e) => (e.type === 'frame' ? { type: 'discarded' as const, bytes: e.decoded.raw, error: decodeError('dlt645.checksum', 'x', 20) } : e)) },
    );
    violates(() => verifyScanner(input, hidden));
    violates(() => verifyScanner({ ...input, maxBufferLength: 1 }, steps.map((s) => (s.kind === 'push' ? { ...s, pending: s.pending } : s))));
  });

  it('decodeValue: a value that does not encode back, an unknown code', () => {
    const di = '00010000';
    const payload = hex('56 34 12 00');
    expect(() => valueTarget.verify({ di, payload, lenient: false }, decodeValue(di, payload))).not.toThrow();
    violates(() => valueTarget.verify({ di, payload, lenient: false }, ok(1234.57)));
    violates(() => valueTarget.verify({ di, payload, lenient: false }, err(decodeError('dlt645.other', 'x', 0))));
  });

  it('rendering: NaN in the JSON, a two-line description', () => {
    const out = renderTarget.run(REPLY);
    expect(() => renderTarget.verify(REPLY, out)).not.toThrow();
    violates(() => renderTarget.verify(REPLY, { ...out, json: { ...(out.json as object), length: Number.NaN } }));
    violates(() => renderTarget.verify(REPLY, { ...out, line: `${out.line!}\nmore` }));
  });

  it('the 65 real frames are all frames to the oracle', () => {
    expect(VECTOR_FRAMES).toHaveLength(65);
    for (const f of VECTOR_FRAMES) expect(oracleFrameEnd(f, 0)).toBe(f.length);
  });
});
