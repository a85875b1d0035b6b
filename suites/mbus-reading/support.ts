/**
 * What every M-Bus reading case shares: the target's M-Bus master and declaration, raw requests
 * below the master (an exact FCB, a bad checksum: where the master would hide the defect), silence
 * judged only between two answers, and the wrapper that tells a dead device from a defect.
 *
 * Cases talk to the device only through `masters.mbus` and the target's link; never a simulator.
 *
 * A dead device fails no requirement (as suites/reading/liveness.ts for DL/T 645): before a case,
 * when the previous one did not pass (or none ran yet), one presence check (SND_NKE at the declared
 * primary address, then a REQ_UD2 at 254, one attempt each): silent → inconclusive "device not
 * answering since <the last case that got an answer>"; answering only at another primary address →
 * inconclusive for the cases that need the declared address (`reaches: 'declared'`, the default),
 * naming the address it answers at. A case that fails without a single answer from the device
 * during it gets the same check afterwards, and the failure becomes that inconclusive verdict.
 */
import { toHex } from '../../harness/core/bytes.ts';
import {
  MbusApplicationError,
  MbusCollisionError,
  MbusNoReplyError,
  MbusProtocolError,
  type MbusExchange,
  type MbusMaster,
  type MbusSendRawResult,
} from '../../harness/masters/index.ts';
import {
  decodeApplication,
  hexByte,
  type MbusApplication,
  type MbusDeclaration,
  type MbusFrame,
} from '../../harness/protocols/mbus/index.ts';
import { mbusPresence, type DevicePresence, type DeviceTarget } from '../../harness/targets/index.ts';
import type { CheckContext, ConformanceCase } from '../framework/case.ts';
import { withLiveness, type LivenessCase, type LivenessPolicy } from '../framework/liveness-case.ts';

export type MbusTarget = DeviceTarget;

/** A case of this suite: a conformance case plus how it reaches the device ('declared' primary address, the default, or 'any'). */
export type MbusCase = LivenessCase<MbusTarget>;

/** Not applicable unless the target is an M-Bus device: the reason names `device.protocol`. */
export function mbusGate(t: MbusTarget): string | null {
  if (t.profile.device.protocol !== 'mbus') return `device.protocol is "${t.profile.device.protocol}": this suite reads M-Bus (EN 13757) devices`;
  if (!t.masters.mbus) return 'the target has no M-Bus master (masters.mbus)';
  return null;
}

export function mbusOf(t: MbusTarget): MbusMaster {
  const m = t.masters.mbus;
  if (!m) throw new Error('the target has no M-Bus master (masters.mbus)');
  return m;
}

export function declarationOf(t: MbusTarget): MbusDeclaration {
  return t.profile.device.declaration as MbusDeclaration;
}

// ---------------------------------------------------------------------------------------------
// Liveness

interface DeviceWatch {
  answers: number;
  lastAnsweredCase: string | undefined;
  currentCase: string | undefined;
  knownAnswering: boolean;
  /** `answers` when the running case started or its last silence probe ended. */
  mark: number;
}

const watches = new WeakMap<MbusMaster, DeviceWatch>();

/** True when an exchange brought anything back from a slave (accepted, rejected, or garbled bytes). */
function answered(x: MbusExchange): boolean {
  return x.reply !== undefined || x.rejected.some((r) => r.reason !== 'direction' && r.reason !== 'late') || x.discarded.length > 0;
}

export function watchOf(t: MbusTarget): DeviceWatch {
  const m = mbusOf(t);
  let w = watches.get(m);
  if (!w) {
    const created: DeviceWatch = { answers: 0, lastAnsweredCase: undefined, currentCase: undefined, knownAnswering: false, mark: 0 };
    m.on('exchange', (x) => {
      if (answered(x)) noteAnswer(t);
    });
    watches.set(m, created);
    w = created;
  }
  return w;
}

function noteAnswer(t: MbusTarget): void {
  const w = watchOf(t);
  w.answers++;
  if (w.currentCase) w.lastAnsweredCase = w.currentCase;
}

export type Presence = DevicePresence;

/** SND_NKE at the declared primary address; when silent, a REQ_UD2 at 254 (harness/targets mbusPresence); the watch learns the outcome. */
export async function checkPresence(t: MbusTarget): Promise<Presence> {
  const p = await mbusPresence(mbusOf(t), declarationOf(t));
  watchOf(t).knownAnswering = p.state === 'answering';
  return p;
}

function notAnsweringReason(t: MbusTarget, p: Presence): string {
  const w = watchOf(t);
  const since = w.lastAnsweredCase ? `since ${w.lastAnsweredCase}` : 'since the target was opened (no case has had an answer)';
  return `device not answering ${since}: ${p.detail}`;
}

function misaddressedReason(t: MbusTarget, p: Presence): string {
  return `the device does not answer at its declared primary address ${declarationOf(t).primaryAddress}, so this case cannot judge it (mbus-reading.primary-addressing does): ${p.detail}`;
}

// ---------------------------------------------------------------------------------------------
// Raw requests

/** A reply caught below the master. */
export interface RawReply {
  readonly raw: Uint8Array;
  readonly frame?: MbusFrame;
  readonly application?: MbusApplication;
  /** Why the bytes are no frame, or the application layer does not decode. */
  readonly error?: string;
}

/** Window a raw request listens to: the master's data-request timeout (the longest frame starting at the end of EN 13757-2's reply window). */
export function listenWindowMs(t: MbusTarget): number {
  return mbusOf(t).timeoutMs;
}

/** Sends exact bytes and returns every slave frame (and garbled run) that came back within the window. */
export async function rawRequest(t: MbusTarget, bytes: Uint8Array, listenMs = listenWindowMs(t)): Promise<RawReply[]> {
  const r: MbusSendRawResult = await mbusOf(t).sendRaw(bytes, { listenMs });
  const out: RawReply[] = [];
  for (const f of r.frames) {
    if (f.frame.type !== 'ack' && f.frame.control.fromMaster) continue; // an echo of the request
    noteAnswer(t);
    if (f.frame.type === 'long' || f.frame.type === 'control') {
      const app = decodeApplication(f.frame, 0);
      out.push(app.ok ? { raw: f.raw, frame: f.frame, application: app.value } : { raw: f.raw, frame: f.frame, error: `${app.error.code} at ${app.error.offset}: ${app.error.message}` });
    } else out.push({ raw: f.raw, frame: f.frame });
  }
  for (const d of r.discarded) {
    noteAnswer(t);
    out.push({ raw: d.bytes, error: `${d.error.code}: ${d.error.message}` });
  }
  return out;
}

export function describeRawReply(r: RawReply): string {
  if (!r.frame) return `bytes that are no frame ${toHex(r.raw)} (${r.error ?? 'invalid'})`;
  const f = r.frame;
  if (f.type === 'ack') return 'E5';
  const what = `${f.type} frame C ${hexByte(f.control.raw)} A ${f.address}`;
  if (r.application) return `${what} (${r.application.kind}${r.application.kind === 'variableData' && r.application.header?.type === 'long' ? `, access number ${r.application.header.accessNumber}` : ''})`;
  return r.error ? `${what} (${r.error})` : what;
}

/** The one RSP_UD with variable data among the replies, or a failure reason. */
export function telegramOf(replies: readonly RawReply[], what: string): { ok: true; raw: Uint8Array; app: Extract<MbusApplication, { kind: 'variableData' }> } | { ok: false; reason: string } {
  const data = replies.filter((r) => r.application?.kind === 'variableData');
  if (replies.length === 0) return { ok: false, reason: `${what}: no reply` };
  if (data.length !== 1 || replies.length !== 1) return { ok: false, reason: `${what}: expected one RSP_UD with variable data, got ${replies.map(describeRawReply).join('; ')}` };
  return { ok: true, raw: data[0]!.raw, app: data[0]!.application as Extract<MbusApplication, { kind: 'variableData' }> };
}

/** One SND_NKE at the declared primary address through the master (attempts as the profile); null when answered, else why not. */
async function validRequest(t: MbusTarget): Promise<string | null> {
  try {
    await mbusOf(t).sndNke(declarationOf(t).primaryAddress);
    return null;
  } catch (e) {
    if (e instanceof MbusNoReplyError || e instanceof MbusCollisionError) return e.message;
    throw e;
  }
}

/**
 * Bytes that must get no reply: the device answers a valid request before them (reusing any answer
 * since the case started or the last probe; none: inconclusive), the bytes are met with silence (a
 * failed check if not), and the next valid request is answered (the case fails if not: "the device
 * stopped answering after <what>").
 */
export async function expectNoReply(ctx: CheckContext, t: MbusTarget, bytes: Uint8Array, what: string): Promise<void> {
  const w = watchOf(t);
  if (w.answers <= w.mark) {
    const missing = await validRequest(t);
    if (missing) ctx.inconclusive(`device not answering before ${what}: ${missing}`);
  }
  const replies = await rawRequest(t, bytes);
  ctx.check(replies.length === 0, `${what} was answered: ${replies.map(describeRawReply).join('; ')}`);
  const missing = await validRequest(t);
  if (missing) ctx.fail(`the device stopped answering after ${what}: ${missing}`);
  w.mark = w.answers;
}

// ---------------------------------------------------------------------------------------------
// The wrapper

/** Errors that mean the device failed the case, not that the harness broke. */
function isDeviceFault(e: unknown): e is Error {
  return e instanceof MbusNoReplyError || e instanceof MbusCollisionError || e instanceof MbusProtocolError || e instanceof MbusApplicationError;
}


/** Methods of the master that put bytes on the line. */
const SENDING = new Set(['sndNke', 'reqUd2', 'readData', 'select', 'readSecondary', 'scanPrimary', 'searchSecondary', 'sendRaw']);

/** A view of `t` whose master sends nothing more once `signal` is aborted (the case ran out of time). */
function guarded(t: MbusTarget, signal: AbortSignal): MbusTarget {
  const m = mbusOf(t);
  const master = new Proxy(m, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (typeof prop === 'string' && SENDING.has(prop) && signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the case was stopped');
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const masters = { ...t.masters, mbus: master };
  return new Proxy(t, { get: (target, prop) => (prop === 'masters' ? masters : (Reflect.get(target, prop, target) as unknown)) });
}

/** Where a case stands, for the reason of a case out of time. */
function progressOf(t: MbusTarget): string {
  t.flushCaptures();
  const last = t.captures.at(-1);
  if (!last) return 'nothing exchanged with the device yet';
  return `last frame on the line ${last.dir === 'tx' ? 'sent' : 'received'} ${((t.clock.now() - last.ms) / 1000).toFixed(1)} s earlier: ${last.decode ?? last.hex}`;
}

/** How the M-Bus suite tells a dead or misaddressed device from a defect (suites/framework/liveness-case.ts). */
const MBUS_LIVENESS: LivenessPolicy<MbusTarget, Presence> = {
  noun: 'device',
  watch: (t) => watchOf(t),
  async checkPresence(t) {
    const p = await checkPresence(t);
    // Answers up to here were the presence check's, not the case's probes.
    watchOf(t).mark = watchOf(t).answers;
    return p;
  },
  unusable: (t, p, reaches) => (p.state === 'silent' ? notAnsweringReason(t, p) : p.state === 'misaddressed' && reaches === 'declared' ? misaddressedReason(t, p) : null),
  isDeviceFault,
  guarded,
  progress: progressOf,
  gate: mbusGate,
};

/**
 * Wraps a case: the M-Bus gate, a dead device made inconclusive instead of failing the requirement,
 * a device fault (no reply, garbled reply, application error) as a failure with the master's
 * reason, no sending after the time budget, and the frames exchanged attached as evidence.
 */
export function asMbusCase(c: MbusCase): ConformanceCase<MbusTarget> {
  return withLiveness(c, MBUS_LIVENESS);
}
