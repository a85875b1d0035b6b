/**
 * Probing a meter below the master: send exact bytes, listen on the link, and report every
 * reply as raw bytes plus its decode (or why it does not decode). Conformance cases need this
 * where the master would hide the defect being tested (a bad checksum, an echoed wildcard,
 * a reply where silence is required).
 */
import { toHex } from '../../harness/core/bytes.ts';
import { MeterLabError, TimeoutError } from '../../harness/core/errors.ts';
import {
  Dlt645FrameScanner,
  decodeFrame,
  decodeValue,
  lookup,
  type DataValue,
  type Dlt645Message,
} from '../../harness/protocols/dlt645/index.ts';
import type { CheckContext, ConformanceCase } from '../framework/case.ts';
import type { Target } from '../../harness/targets/index.ts';

export interface ProbeReply {
  /** The reply bytes as received (FE preamble included). */
  readonly raw: Uint8Array;
  /** True when the bytes form a valid frame. */
  readonly decoded: boolean;
  readonly address?: string;
  readonly message?: Dlt645Message;
  /** Why the bytes are not a valid frame / message. */
  readonly error?: string;
}

/** Quiet time after a complete reply before the probe stops listening. */
export const settleMs = 50;

/**
 * How long silence must last to count as "no reply": twice the longest allowed response
 * delay (PROTOCOLS.md 1.1: 500 ms), so a late reply is still caught.
 */
export function silenceWindowMs(t: Target): number {
  const max = t.profile.limits?.responseDelayMs?.max ?? 500;
  return Math.max(1000, 2 * max);
}

/**
 * Writes `bytes` and collects what comes back for up to `listenMs` (default: the silence
 * window plus the transmission time of a long reply). Returns early once a complete frame was
 * received and the line has been quiet for `settleMs`.
 */
export async function probe(t: Target, bytes: Uint8Array, listenMs = silenceWindowMs(t) + 1000): Promise<ProbeReply[]> {
  const received: Uint8Array[] = [];
  const scanner = new Dlt645FrameScanner();
  const frames: ProbeReply[] = [];
  let lastByteAt = 0;
  let complete = false;
  const onData = (chunk: Uint8Array): void => {
    received.push(chunk);
    lastByteAt = t.clock.now();
    for (const ev of scanner.push(chunk)) {
      if (ev.type !== 'frame') continue;
      complete = true;
      frames.push({
        raw: ev.decoded.raw,
        decoded: ev.message.ok,
        address: ev.decoded.frame.address,
        ...(ev.message.ok ? { message: ev.message.value } : { error: ev.message.error.message }),
      });
    }
  };
  await t.master.idle();
  t.link.on('data', onData);
  try {
    const start = t.clock.now();
    await t.link.write(bytes);
    while (t.clock.now() - start < listenMs) {
      await t.clock.sleep(10);
      if (complete && t.clock.now() - lastByteAt >= settleMs) break;
    }
  } finally {
    t.link.off('data', onData);
  }
  if (frames.length > 0) return frames;
  if (received.length === 0) return [];
  // Bytes came back but no valid frame: report them with the decoder's reason.
  const raw = new Uint8Array(received.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of received) {
    raw.set(c, o);
    o += c.length;
  }
  const start = raw.findIndex((b) => b === 0x68 || b === 0xfe);
  const d = decodeFrame(raw, Math.max(0, start));
  return [
    d.ok
      ? { raw, decoded: true, address: d.value.frame.address }
      : { raw, decoded: false, error: `${d.error.message} (${d.error.code} at byte ${d.error.offset})` },
  ];
}

export async function expectSilence(ctx: CheckContext, t: Target, bytes: Uint8Array, what: string): Promise<void> {
  const replies = await probe(t, bytes, silenceWindowMs(t));
  ctx.check(replies.length === 0, `${what} was answered: ${replies.map(describeReply).join('; ')}`);
}

export function replyAddressOf(r: ProbeReply): string {
  return r.address ?? '(none)';
}

export function describeReply(r: ProbeReply): string {
  if (!r.decoded) return `undecodable bytes ${toHex(r.raw)} (${r.error ?? 'invalid'})`;
  const m = r.message;
  if (!m) return `frame ${toHex(r.raw)}`;
  if (m.kind === 'errorResponse') return `abnormal reply to ${m.functionCode.toString(16).toUpperCase()}H, error word ${m.errorWord.toString(16).padStart(2, '0').toUpperCase()}H`;
  return `${m.kind} from ${r.address}`;
}

/** A meter behaved wrongly in a way that ends the case: reported as failed, not as a harness error. */
export class MeterFault extends MeterLabError {
  constructor(message: string) {
    super('meter-fault', message);
  }
}

/** Reads `di` through the master and decodes it with the dictionary; meter faults become MeterFault. */
export async function readValue(t: Target, address: string, di: string): Promise<{ payload: Uint8Array; value: DataValue }> {
  const { payload } = await t.master.readData(address, di);
  const decoded = decodeValue(di, payload);
  if (!decoded.ok) {
    throw new MeterFault(`${di} (${lookup(di)?.name ?? 'unknown identifier'}) returned ${toHex(payload)}: ${decoded.error.message}`);
  }
  return { payload, value: decoded.value };
}

/** Errors that mean the device failed the case, not that the harness broke. */
function isMeterFault(e: unknown): e is Error {
  if (e instanceof MeterFault || e instanceof TimeoutError) return true;
  // Abnormal replies from the master (Dlt645AbnormalReplyError) carry an error word.
  return e instanceof MeterLabError && e.code.startsWith('dlt645');
}

/**
 * Wraps a case so that (a) the frames it exchanged are attached as evidence, whatever its
 * verdict, and (b) a meter that does not answer or answers wrongly fails the case with the
 * reason instead of ending it as a harness error.
 */
export function withMeterFaults(c: ConformanceCase<Target>): ConformanceCase<Target> {
  return {
    ...c,
    async run(ctx: CheckContext, t: Target): Promise<void> {
      const from = t.captures.length;
      try {
        await c.run(ctx, t);
      } catch (e) {
        if (isMeterFault(e)) ctx.fail(e.message);
        throw e;
      } finally {
        t.flushCaptures();
        const lines = t.captures.slice(from).map((r) => `${r.t} ${r.dir} ${r.hex}${r.decode ? `  | ${r.decode}` : ''}`);
        if (lines.length > 0) ctx.evidence('frames', lines.join('\n'));
      }
    },
  };
}
