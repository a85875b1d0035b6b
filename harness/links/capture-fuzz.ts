/**
 * Fuzz target for the capture reader: JSON Lines capture text read back by `parseCapture` (what
 * `readCapture` runs on a file) and merged by `coalesceCapture`. Contract: the records, or one
 * CaptureError naming the line; never another exception. Test support (harness/core/fuzz-support.ts).
 */
import fc from 'fast-check';
import { toHex } from '../core/bytes.ts';
import {
  applyJsonEdits,
  ContractViolation,
  expectThat,
  fuzzTarget,
  jsonEditArbitrary,
  mutatedText,
  SPECIAL_TEXT,
} from '../core/fuzz-support.ts';
import { CaptureError, coalesceCapture, formatCapture, parseCapture, recordBytes, validateCaptureRecord, type CaptureRecord } from './capture.ts';

const START_MS = Date.UTC(2026, 2, 2, 2, 0, 0);

/** Records as a tap writes them: times, links, directions, hex (DL/T 645-looking or not), decodes. */
export const captureRecordsArbitrary: fc.Arbitrary<CaptureRecord[]> = fc
  .array(
    fc.tuple(
      fc.nat({ max: 600_000 }),
      fc.constantFrom('master', 'meter', 'bus', 'tcp 127.0.0.1:8645', 'ü-link'),
      fc.constantFrom('tx' as const, 'rx' as const),
      fc.uint8Array({ minLength: 1, maxLength: 48 }),
      fc.option(fc.oneof(fc.constantFrom('11 readData 123456789012 DI 00010000', 'undecodable', ''), fc.string({ maxLength: 20 })), { nil: undefined }),
    ),
    { maxLength: 12 },
  )
  .map((rows) => {
    let ms = START_MS;
    return rows.map(([dt, link, dir, bytes, decode]) => {
      ms += dt / 8; // fractional ms, as on a modelled line
      return { t: new Date(ms).toISOString(), ms, link, dir, hex: toHex(bytes), ...(decode !== undefined ? { decode } : {}) };
    });
  });

const RECORD_KEYS = ['t', 'ms', 'link', 'dir', 'hex', 'decode'];

/** Capture text: well-formed, edited as text, with records edited as JSON, or lines of any JSON. */
export const captureTextArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: captureRecordsArbitrary.map(formatCapture) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(captureRecordsArbitrary, fc.constantFrom('\r\n', '\n\n', '\n \n'), fc.boolean())
      .map(([records, eol, bom]) => (bom ? '\uFEFF' : '') + formatCapture(records).replace(/\n/g, eol)),
  },
  { weight: 3, arbitrary: mutatedText(captureRecordsArbitrary.map(formatCapture)) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(captureRecordsArbitrary, fc.array(jsonEditArbitrary(RECORD_KEYS), { minLength: 1, maxLength: 3 }))
      .map(([records, edits]) => {
        const edited = applyJsonEdits(records, edits);
        return (Array.isArray(edited) ? edited : [edited]).map((r) => JSON.stringify(r) ?? 'undefined').join('\n');
      }),
  },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), { maxLength: 5 }).map((lines) => lines.join('\n')) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...SPECIAL_TEXT), { maxLength: 12 }).map((a) => a.join('')) },
);

export type CaptureReadOutput = { readonly records: CaptureRecord[]; readonly merged: CaptureRecord[] } | { readonly error: CaptureError };

export const captureTarget = fuzzTarget({
  name: 'links.capture',
  description: 'parseCapture + coalesceCapture on JSON Lines capture text (well-formed, edited, any JSON): records or one CaptureError',
  arbitrary: captureTextArbitrary,
  run(text: string): CaptureReadOutput {
    try {
      const records = parseCapture(text, 'fuzz.jsonl');
      return { records, merged: coalesceCapture(records, 5) };
    } catch (e) {
      if (e instanceof CaptureError) return { error: e };
      throw e;
    }
  },
  verify(text, out) {
    const lines = text.split('\n');
    if ('error' in out) {
      const { line, message } = out.error;
      expectThat(message.startsWith('fuzz.jsonl'), () => `CaptureError does not name the file: ${message}`);
      expectThat(line === undefined || (Number.isInteger(line) && line >= 1 && line <= lines.length), () => `CaptureError line ${String(line)} of ${lines.length}`);
      expectThat(!/[\r\n]/.test(message), () => `CaptureError message is not one line: ${JSON.stringify(message)}`);
      return;
    }
    const { records, merged } = out;
    expectThat(records.length <= lines.filter((l) => l.trim() !== '').length, 'more records than non-blank lines');
    for (const r of records) {
      const again = validateCaptureRecord(JSON.parse(JSON.stringify(r)));
      expectThat(typeof again !== 'string' && JSON.stringify(again) === JSON.stringify(r), () => `a record read back does not validate to itself: ${JSON.stringify(r)}`);
      try {
        recordBytes(r);
      } catch (e) {
        throw new ContractViolation(`recordBytes threw on a record parseCapture accepted: ${(e as Error).message}`);
      }
    }
    const reread = parseCapture(formatCapture(records));
    expectThat(JSON.stringify(reread) === JSON.stringify(records), 'formatCapture then parseCapture changes the records');
    const total = (rs: readonly CaptureRecord[]): number => rs.reduce((n, r) => n + recordBytes(r).length, 0);
    expectThat(total(merged) === total(records) && merged.length <= records.length, 'coalesceCapture lost or added bytes');
  },
  size: (text) => Buffer.byteLength(text),
  show: (text) => JSON.stringify(text),
  // A capture file per input (about 500 bytes of JSON Lines): 1 input per 10 of --count.
  countScale: 1 / 10,
});
