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
  byteOrderHint,
  decodeFrame,
  decodeValue,
  lookup,
  type DataValue,
  type Dlt645Message,
} from '../../harness/protocols/dlt645/index.ts';
import type { CheckContext, ConformanceCase } from '../framework/case.ts';
import { withLiveness, type LivenessCase, type LivenessPolicy } from '../framework/liveness-case.ts';
import { ordinaryIdentifier, rejectedAddresses, type MeterPresence, type Target } from '../../harness/targets/index.ts';
import { checkPresence, unusableReason, noteAnswer, notAnsweringReason, ORIGINAL_TARGET, watchOf } from './liveness.ts';

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
      if (ev.decoded.frame.control.isResponse) noteAnswer(t);
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

// ---------------------------------------------------------------------------------------------
// Liveness around probes (issue 6): silence is only evidence when the meter answers before and
// after it.

/** True for a master error that means "no reply" (every attempt timed out). */
function isNoReply(e: unknown): boolean {
  return e instanceof TimeoutError;
}

/** One valid read at the declared address (the master's timeout and attempts); resolves with null, or the error of a missing reply. */
async function validRead(t: Target): Promise<Error | null> {
  try {
    await t.master.readData(t.profile.meter.address, ordinaryIdentifier(t.profile));
    return null;
  } catch (e) {
    if (isNoReply(e)) return e as Error;
    if (e instanceof MeterLabError && e.code.startsWith('dlt645')) return null; // an abnormal reply is an answer
    throw e;
  }
}

/**
 * Before a probe: shows that the meter answers, reusing any answer it gave since the case started
 * or since the last probe ended; otherwise one valid read. No answer: inconclusive.
 */
async function showAnswering(ctx: CheckContext, t: Target, what: string): Promise<void> {
  const w = watchOf(t);
  if (w.answers > w.mark) return;
  const missing = await validRead(t);
  if (missing) ctx.inconclusive(`meter not answering before ${what}: ${missing.message}`);
}

/** After a probe: a valid request must still be answered, or the case fails naming the probe. */
async function stillAnswering(ctx: CheckContext, t: Target, what: string): Promise<void> {
  const missing = await validRead(t);
  if (missing) ctx.fail(`the meter stopped answering after ${what}: ${missing.message}`);
}

/**
 * A frame that must get no reply: the meter answers a valid read before it (inconclusive if not),
 * the probe is met with silence (a failed check if not), and the next valid request is answered
 * (the case fails if not: "the meter stopped answering after <what>"). `counts` picks the replies
 * that break the silence (default all; e.g. only the meter's own for a wildcard probe on a bus
 * shared with other meters); the others are logged.
 */
export async function expectNoReply(ctx: CheckContext, t: Target, bytes: Uint8Array, what: string, counts: (r: ProbeReply) => boolean = () => true): Promise<void> {
  await showAnswering(ctx, t, what);
  const replies = await probe(t, bytes, silenceWindowMs(t));
  watchOf(t).mark = watchOf(t).answers;
  const judged = replies.filter(counts);
  for (const r of replies.filter((x) => !counts(x))) ctx.log(`${what}: not judged, ${describeReply(r)} (another device on the line)`);
  ctx.check(judged.length === 0, `${what} was answered: ${judged.map(describeReply).join('; ')}`);
  await stillAnswering(ctx, t, what);
}

/**
 * A frame the meter must survive (a robustness probe): the meter answers before it, whatever
 * comes back is logged (another case judges replies to broken frames), and the next valid
 * request must be answered.
 */
export async function expectRecovery(ctx: CheckContext, t: Target, bytes: Uint8Array, what: string): Promise<void> {
  await showAnswering(ctx, t, what);
  const replies = await probe(t, bytes, silenceWindowMs(t));
  watchOf(t).mark = watchOf(t).answers;
  if (replies.length > 0) ctx.log(`${what} was answered: ${replies.map(describeReply).join('; ')}`);
  await stillAnswering(ctx, t, what);
}

// ---------------------------------------------------------------------------------------------
// The wrapper every reading case runs in.

/**
 * A reading case: a conformance case plus how it reaches the meter ('declared', the default, or
 * 'any': it reads through the wildcard, or checks the reply address itself).
 */
export type ReadingCase = LivenessCase<Target>;

/** Errors that mean the device failed the case, not that the harness broke. */
function isMeterFault(e: unknown): e is Error {
  if (e instanceof MeterFault || e instanceof TimeoutError) return true;
  // Abnormal replies and unusable replies from the master (dlt645.*) carry the meter's answer.
  return e instanceof MeterLabError && e.code.startsWith('dlt645');
}

/** The reason for a meter fault, with the byte-order hint when a rejected reply came from the declared address reversed. */
export function meterFaultReason(e: Error, t: Target): string {
  const declared = t.profile.meter.address;
  const hint = rejectedAddresses(e)
    .map((a) => byteOrderHint(a, declared))
    .find((h) => h !== '');
  return hint ? `${e.message}; ${hint}` : e.message;
}

/** A guarded view of `t`: once `signal` is aborted (the case ran out of time), nothing more is sent. */
function guarded(t: Target, signal: AbortSignal): Target {
  const stopped = (): void => {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the case was stopped');
  };
  const sending = new Set(['request', 'readData', 'readAddress', 'broadcastTimeSync', 'freeze', 'writeData', 'remoteControl', 'sendRaw', 'idle']);
  const master = new Proxy(t.master, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (typeof prop === 'string' && sending.has(prop)) {
        return (...args: unknown[]) => {
          stopped();
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  const link = new Proxy(t.link, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      if (prop === 'write') {
        return (...args: unknown[]) => {
          stopped();
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return new Proxy(t, {
    get(target, prop) {
      if (prop === ORIGINAL_TARGET) return target;
      if (prop === 'master') return master;
      if (prop === 'link') return link;
      return Reflect.get(target, prop, target) as unknown;
    },
  });
}


/** Where a case stands, for the reason of a case that ran out of time. */
export function progressOf(t: Target): string {
  t.flushCaptures();
  const now = t.clock.now();
  const parts: string[] = [];
  const last = t.captures.at(-1);
  if (last) {
    const ago = ((now - last.ms) / 1000).toFixed(1);
    parts.push(`last frame on the line ${last.dir === 'tx' ? 'sent' : 'received'} ${ago} s earlier: ${last.decode ?? last.hex}`);
  }
  const x = t.master.lastExchange;
  if (x) {
    const m = x.message;
    const what = `${m.kind}${'di' in m ? ` ${m.di}` : ''} to ${x.address}`;
    const outcome = x.reply ? `answered (${x.reply.message.kind})` : x.expect === 'none' ? 'no reply expected' : `no reply after ${x.attempts} attempt(s)`;
    parts.push(`last exchange: ${what}, ${outcome}`);
  }
  return parts.length > 0 ? parts.join('; ') : 'nothing exchanged with the meter yet';
}

/** How the DL/T 645 suites tell a dead or unusable meter from a defect (suites/framework/liveness-case.ts). */
const DLT645_LIVENESS: LivenessPolicy<Target, MeterPresence> = {
  noun: 'meter',
  watch: (t) => watchOf(t),
  checkPresence: (t, signal) => checkPresence(t, signal),
  unusable: (t, p, reaches) => (p.state === 'silent' ? notAnsweringReason(t, p) : p.state !== 'answering' && reaches === 'declared' ? unusableReason(t, p) : null),
  isDeviceFault: isMeterFault,
  faultReason: meterFaultReason,
  guarded,
  progress: progressOf,
};

/**
 * Wraps a case so that (a) a dead meter makes it inconclusive instead of failing its requirement
 * (liveness.ts), (b) a meter that does not answer or answers wrongly fails it with the reason
 * (and the byte-order hint) instead of ending it as a harness error, (c) it stops sending once it
 * ran out of time, and (d) the frames it exchanged are attached as evidence, whatever its verdict.
 */
export function asReadingCase(c: ReadingCase): ConformanceCase<Target> {
  return withLiveness(c, DLT645_LIVENESS);
}

// ---------------------------------------------------------------------------------------------
// Gates shared by the suites' `applies`.

/** Not applicable unless `di` is declared: the reason names what points at it (a profile field). */
export function requireDeclared(t: Target, di: string, what: string): string | null {
  return t.profile.meter.identifiers.includes(di) ? null : `${what} ${di} is not declared in meter.identifiers`;
}

/** Not applicable unless the meter declares the freeze (16H) and both identifiers it is read back from. */
export function freezeGate(t: Target): string | null {
  const { capabilities, freezeIdentifiers } = t.profile.meter;
  if (!capabilities.freeze) return 'meter.capabilities.freeze is false';
  return requireDeclared(t, freezeIdentifiers.time, 'meter.freezeIdentifiers.time') ?? requireDeclared(t, freezeIdentifiers.energy, 'meter.freezeIdentifiers.energy');
}
