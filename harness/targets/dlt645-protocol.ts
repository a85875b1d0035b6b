/**
 * DL/T 645-2007, the built-in target protocol: the electricity meter's declaration
 * (harness/protocols/dlt645/declaration.ts), its master (harness/masters) and the capture decode.
 * The reference simulator of a DL/T 645 target is built in target.ts from the profile's simulator
 * profile (behaviours, clock offset), which only DL/T 645 profiles carry.
 */
import { Dlt645Master } from '../masters/index.ts';
import { Dlt645FrameScanner, FRAME_OVERHEAD, PREAMBLE_BYTE, describeFrame } from '../protocols/dlt645/index.ts';
import { DICTIONARY } from '../protocols/dlt645/dictionary.ts';
import { MeterDeclarationSchema, type MeterDeclaration } from '../protocols/dlt645/declaration.ts';
import type { Describe } from '../links/index.ts';
import { registerTargetProtocol, type TargetProtocol } from './protocols.ts';

declare module './protocols.ts' {
  interface TargetMasters {
    /** The DL/T 645 master (also `Target.master`). */
    readonly dlt645?: Dlt645Master;
  }
}

/** Scanner reasons that condemn a candidate whose length L was read: its bytes run to 68 + 12 + L. */
const WHOLE_FRAME_ERRORS: ReadonlySet<string> = new Set(['dlt645.checksum', 'dlt645.end', 'dlt645.address']);

/**
 * One-line decode of captured bytes: every complete frame in them, described by the codec
 * (with values from the dictionary), joined with " | "; bytes that are no frame are counted with
 * the reason. A complete frame that fails its checksum (or end byte, or address) is one discard
 * with that reason, bytes inside it that the scanner rescanned included: a wrong checksum byte
 * 68H looks like the start of a frame that never ends, but the frame is complete, and calling
 * it "truncated" would send the reader after the wrong fault (issue 6).
 */
export const describeDlt645: Describe = (bytes) => {
  const scanner = new Dlt645FrameScanner();
  const parts: string[] = [];
  let offset = 0;
  /** End (offset) of the last broken frame with a known length, and its part in `parts`. */
  let broken: { end: number; part: number; count: number; code: string } | undefined;
  for (const e of [...scanner.push(bytes), ...scanner.flush()]) {
    if (e.type === 'frame') {
      parts.push(describeFrame(e.decoded, e.message, DICTIONARY));
      offset = e.decoded.end;
      continue;
    }
    const start = offset;
    offset += e.bytes.length;
    if (broken && start < broken.end && broken.part === parts.length - 1) {
      broken.count += e.bytes.length;
      parts[broken.part] = `${broken.count} byte(s) discarded (${broken.code})`;
      continue;
    }
    parts.push(`${e.bytes.length} byte(s) discarded (${e.error.code})`);
    broken = undefined;
    if (WHOLE_FRAME_ERRORS.has(e.error.code)) {
      let head = start;
      while (head < bytes.length && bytes[head] === PREAMBLE_BYTE) head++;
      const length = bytes[head + 9];
      if (length !== undefined) broken = { end: head + FRAME_OVERHEAD + length, part: parts.length - 1, count: e.bytes.length, code: e.error.code };
    }
  }
  return parts.length > 0 ? parts.join(' | ') : undefined;
};

export const DLT645_TARGET_PROTOCOL: TargetProtocol<MeterDeclaration, Dlt645Master> = {
  id: 'dlt645',
  title: 'DL/T 645-2007',
  kinds: ['electricity-meter'],
  declaration: MeterDeclarationSchema,
  lineOf: (meter) => meter.line,
  addressOf: (meter) => meter.address,
  describe: describeDlt645,
  createMaster: ({ link, clock, settings, line }) =>
    new Dlt645Master({
      link,
      clock,
      timeoutMs: settings.timeoutMs,
      attempts: settings.attempts,
      preamble: settings.preamble,
      ...(line ? { line } : {}),
    }),
};

registerTargetProtocol(DLT645_TARGET_PROTOCOL);
