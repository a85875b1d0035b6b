/**
 * What every CJ/T 188 case shares (the reading and the valve suite): the declared meter of a
 * target, probes below the master for the cases where the master would hide the defect under test
 * (a reply to a bad checksum, to another address or meter type), and the wrapper that tells a dead
 * meter from a defect. The CJ/T 188 counterpart of suites/reading/probe.ts and liveness.ts:
 *
 * - **Silence is evidence only between two answers.** `expectNoReply` first shows that the meter
 *   answers (reusing an answer since the case started or the last probe; otherwise one valid read:
 *   none, inconclusive), sends its probe, then needs a valid read answered again (none: failed,
 *   "the meter stopped answering after <probe>").
 * - **A dead meter fails no requirement.** Before a case, when the previous one did not pass (or
 *   none ran yet), one presence check (901F at the declared address, then 03H to AA x7): silent →
 *   inconclusive "meter not answering since <the last case that got an answer>"; answering only
 *   from another address → inconclusive for the cases that need the declared address. After a case
 *   that failed without one answer from the meter, the same check turns the failure into that
 *   inconclusive verdict.
 * - **A battery meter is woken for every probe**: a raw probe carries the master's wake-up preamble
 *   (MM-06), so its silence is not just a sleeping meter.
 * - Cases talk to the meter only through the target's master and link; a case that needs a
 *   physical event (a leak, a jammed valve, a worn battery) uses the reference target's backchannel
 *   and is not applicable without one. Once a case is out of time, nothing more is sent.
 */
import { concatBytes, toHex } from '../../harness/core/bytes.ts';
import { MeterLabError, TimeoutError } from '../../harness/core/errors.ts';
import type { Cjt188Exchange } from '../../harness/masters/exchange.ts';
import type { Cjt188Master } from '../../harness/masters/cjt188-master.ts';
import {
  END,
  MeterType,
  PREAMBLE_BYTE,
  START,
  encodeMessage,
  meterTypeInfo,
  METER_TYPE_OF,
  type Cjt188Declaration,
  type Cjt188Message,
} from '../../harness/protocols/cjt188/index.ts';
import { cjt188Presence, isCjt188ReferenceBackchannel, type Cjt188ReferenceBackchannel, type DevicePresence, type DeviceTarget } from '../../harness/targets/index.ts';
import type { CheckContext, ConformanceCase } from '../framework/case.ts';
import { withLiveness, type LivenessCase, type LivenessPolicy } from '../framework/liveness-case.ts';

export type Cjt188Target = DeviceTarget;

/** The meter type T of each declared kind (PROTOCOLS.md 2.2; the declaration's map). */
export const METER_TYPE = METER_TYPE_OF;

/** Unit bytes of the volumes a declaration may name (PROTOCOLS.md 2.5: 29H L, 2CH m³). */
export const VOLUME_UNIT_CODE: Readonly<Record<Cjt188Declaration['volumeUnit'], number>> = { 'm³': 0x2c, L: 0x29 };

/** The metering data identifier every water and gas meter answers (MM-02, MM-09). */
export const METERING_DATA = '901F';

/** Not applicable unless the target is a CJ/T 188 device: the reason names `device.protocol`. */
export function protocolGate(t: Cjt188Target): string | null {
  return t.profile.device.protocol === 'cjt188' && t.masters.cjt188 ? null : `device.protocol is "${t.profile.device.protocol}", not "cjt188"`;
}

/** The declaration, master, meter type and address of a CJ/T 188 target. */
export function meterOf(t: Cjt188Target): { d: Cjt188Declaration; master: Cjt188Master; type: number; address: string } {
  const master = t.masters.cjt188;
  if (!master || t.profile.device.protocol !== 'cjt188') throw new MeterLabError('suite', 'not a CJ/T 188 target');
  const d = t.profile.device.declaration as Cjt188Declaration;
  return { d, master, type: METER_TYPE[d.meter], address: d.address };
}

/** The reference meter's backchannel, or undefined (a real meter, or a reference without one). */
export function backchannelOf(t: Cjt188Target): Cjt188ReferenceBackchannel | undefined {
  return isCjt188ReferenceBackchannel(t.backchannel) ? t.backchannel : undefined;
}

/** Not applicable without the reference backchannel: `what` says what MeterLab would do to the meter. */
export function backchannelGate(t: Cjt188Target, what: string): string | null {
  return backchannelOf(t) ? null : `needs ${what} through a simulated meter's backchannel (connection.type "reference"); MeterLab cannot do that to a real meter`;
}

/** Is `di` in device.declaration.identifiers? */
export function declares(t: Cjt188Target, di: string): boolean {
  return meterOf(t).d.identifiers.includes(di);
}

/** FE bytes in front of a raw probe: the master's wake-up for a battery meter (MM-06), else its preamble. */
export function probePreamble(t: Cjt188Target): number {
  const { master } = meterOf(t);
  return master.wakeUp ? master.wakeUpPreamble(master.wakeUp.preambleMs ?? 2500) : master.preamble;
}

/**
 * How long silence must last to count as "no reply": twice the longest allowed response delay
 * (the profile's limits.responseDelayMs.max, 500 ms by default: DL/T 645's Td, which readers
 * apply to CJ/T 188 on the same port [BK]), at least 1 s.
 */
export function silenceWindowMs(t: Cjt188Target): number {
  return Math.max(1000, 2 * (t.profile.limits?.responseDelayMs?.max ?? 500));
}

/** A request frame of this meter (its dialect, the probe preamble), as bytes. */
export function requestBytes(t: Cjt188Target, message: Cjt188Message, options: { meterType?: number; address?: string } = {}): Uint8Array {
  const m = meterOf(t);
  return encodeMessage(options.meterType ?? m.type, options.address ?? m.address, message, { dialect: m.master.dialect, preamble: probePreamble(t) });
}

/** A 901F read request message of this meter's dialect. */
export function readMessage(t: Cjt188Target, di = METERING_DATA, ser = 0): Cjt188Message {
  return { kind: 'readData', di, diOrder: meterOf(t).master.dialect.diOrder, ser };
}

// ---------------------------------------------------------------------------------------------
// Broken probes. A broken frame carries 68H/16H/FEH only where the frame format puts them, or a
// parser that resynchronises on start characters could take it for the start of another frame.

const RESYNC: ReadonlySet<number> = new Set([START, END, PREAMBLE_BYTE]);

/** Bytes after the preamble and first 68H, up to the last (excluded), hold no 68H/16H/FEH. */
export function cleanFraming(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && bytes[i] === PREAMBLE_BYTE) i++;
  for (let k = i + 1; k < bytes.length - 1; k++) if (RESYNC.has(bytes[k]!)) return false;
  return true;
}

/** A 901F read whose checksum is wrong (and no resync byte), SER chosen so the rest is clean too. */
export function badChecksumRead(t: Cjt188Target): Uint8Array {
  for (let ser = 0; ser < 256; ser++) {
    const good = requestBytes(t, readMessage(t, METERING_DATA, ser));
    const right = good[good.length - 2]!;
    for (let k = 1; k < 256; k++) {
      const cs = (right + k) & 0xff;
      if (RESYNC.has(cs)) continue;
      const bad = good.slice();
      bad[bad.length - 2] = cs;
      if (cleanFraming(bad)) return bad;
      break;
    }
  }
  const good = requestBytes(t, readMessage(t));
  const bad = good.slice();
  bad[bad.length - 2] = (bad[bad.length - 2]! + 1) & 0xff;
  return bad;
}

/** A 901F read whose body is one byte shorter than L says (SER left out, CS over what is sent). */
export function truncatedRead(t: Cjt188Target): Uint8Array {
  const p = probePreamble(t);
  for (let ser = 0; ser < 256; ser++) {
    const good = requestBytes(t, readMessage(t, METERING_DATA, ser));
    // FE.. 68 T A0..A6 C L DI0 DI1 | SER CS 16: keep up to DI1, then a checksum over it and 16H.
    const head = good.slice(0, p + 11 + 2);
    let cs = 0;
    for (let i = p; i < head.length; i++) cs = (cs + head[i]!) & 0xff;
    const bytes = concatBytes(head, Uint8Array.of(cs, END));
    if (cleanFraming(bytes)) return bytes;
  }
  const good = requestBytes(t, readMessage(t));
  return concatBytes(good.slice(0, p + 13), Uint8Array.of(0x00, END));
}

/** The declared address with its last digit changed (another meter on the same line). */
export function otherAddress(address: string): string {
  const last = Number(address.at(-1));
  return `${address.slice(0, -1)}${(last + 1) % 10}`;
}

/** A meter type of another family than the declared one (gas for a water meter, cold water for gas). */
export function otherMeterType(t: Cjt188Target): number {
  return meterTypeInfo(meterOf(t).type).family === 'gas' ? MeterType.ColdWater : MeterType.Gas;
}

// ---------------------------------------------------------------------------------------------
// Liveness

interface MeterWatch {
  answers: number;
  lastAnsweredCase: string | undefined;
  currentCase: string | undefined;
  knownAnswering: boolean;
  /** `answers` when the case started or its last probe ended. */
  mark: number;
}

const ORIGINAL = Symbol('meterlab.cjt188.originalTarget');
const watches = new WeakMap<Cjt188Target, MeterWatch>();

function original(t: Cjt188Target): Cjt188Target {
  return (t as unknown as Record<symbol, Cjt188Target | undefined>)[ORIGINAL] ?? t;
}

function exchangeAnswered(x: Cjt188Exchange): boolean {
  return x.reply !== undefined || x.rejected.some((r) => r.frame.control.isResponse);
}

function watchOf(t: Cjt188Target): MeterWatch {
  const key = original(t);
  let w = watches.get(key);
  if (!w) {
    const created: MeterWatch = { answers: 0, lastAnsweredCase: undefined, currentCase: undefined, knownAnswering: false, mark: 0 };
    meterOf(key).master.on('exchange', (x) => {
      if (exchangeAnswered(x)) noteAnswer(key);
    });
    watches.set(key, created);
    w = created;
  }
  return w;
}

function noteAnswer(t: Cjt188Target): void {
  const w = watchOf(t);
  w.answers++;
  if (w.currentCase) w.lastAnsweredCase = w.currentCase;
}

/** True for a master error that means "no reply". */
export function isNoReply(e: unknown): boolean {
  return e instanceof TimeoutError;
}

/** True for errors that mean the meter answered wrongly or not at all (a verdict, not a harness error). */
export function isMeterFault(e: unknown): e is Error {
  return e instanceof TimeoutError || e instanceof MeterFault || (e instanceof MeterLabError && e.code.startsWith('cjt188'));
}

/** A meter behaved wrongly in a way that ends the case. */
export class MeterFault extends MeterLabError {
  constructor(message: string) {
    super('meter-fault', message);
  }
}

export type Cjt188Presence = DevicePresence;

/** One 901F read at the declared address, then (when silent) one 03H to AA x7; one attempt each (harness/targets cjt188Presence). */
export async function checkPresence(t: Cjt188Target): Promise<Cjt188Presence> {
  const { master, d } = meterOf(t);
  return cjt188Presence(master, d);
}

function notAnsweringReason(t: Cjt188Target, p: Cjt188Presence): string {
  const w = watchOf(t);
  const since = w.lastAnsweredCase ? `since ${w.lastAnsweredCase}` : 'since the target was opened (no case has had an answer)';
  if (p.state === 'misaddressed') return `the meter does not answer at its declared address ${meterOf(t).d.address} (it answers as ${p.seenAddress}), so this case cannot judge it: ${p.detail}`;
  return `meter not answering ${since}: ${p.detail}`;
}

/** One valid 901F read; resolves with null, or the error of a missing reply. */
async function validRead(t: Cjt188Target): Promise<Error | null> {
  const { master, type, address } = meterOf(t);
  try {
    await master.readData(type, address, METERING_DATA);
    return null;
  } catch (e) {
    if (isNoReply(e)) return e as Error;
    if (e instanceof MeterLabError && e.code.startsWith('cjt188')) return null; // an abnormal reply is an answer
    throw e;
  }
}

export interface ProbeResult {
  /** Reply frames (D7 = 1) that came back, one line each. */
  readonly frames: readonly string[];
  /** Request frames (D7 = 0) heard: the echo of our own frame on an adapter that echoes, or another master. */
  readonly requests: readonly string[];
  /** Hex of every byte that came back. */
  readonly received: string;
  /** True when nothing but request frames came back: no reply, no stray bytes. */
  readonly silent: boolean;
}

/** Writes `bytes` as they are and listens for `listenMs` after their transmission. */
export async function probe(t: Cjt188Target, bytes: Uint8Array, listenMs = silenceWindowMs(t)): Promise<ProbeResult> {
  const r = await meterOf(t).master.sendRaw(bytes, { listenMs });
  const line = (f: (typeof r.replies)[number]) => `C=${toHex(Uint8Array.of(f.frame.control.raw))} T=${toHex(Uint8Array.of(f.frame.meterType))} from ${f.frame.address}`;
  const replies = r.replies.filter((f) => f.frame.control.isResponse);
  const requests = r.replies.filter((f) => !f.frame.control.isResponse);
  const stray = r.discarded.length > 0 || (replies.length === 0 && requests.length === 0 && !r.silent);
  if (replies.length > 0 || stray) noteAnswer(t);
  return { frames: replies.map((f) => `reply ${line(f)}`), requests: requests.map((f) => `request ${line(f)}`), received: toHex(r.received), silent: replies.length === 0 && !stray };
}

async function showAnswering(ctx: CheckContext, t: Cjt188Target, what: string): Promise<void> {
  const w = watchOf(t);
  if (w.answers > w.mark) return;
  const missing = await validRead(t);
  if (missing) ctx.inconclusive(`meter not answering before ${what}: ${missing.message}`);
}

async function stillAnswering(ctx: CheckContext, t: Cjt188Target, what: string): Promise<void> {
  const missing = await validRead(t);
  if (missing) ctx.fail(`the meter stopped answering after ${what}: ${missing.message}`);
}

/**
 * A frame that must get no reply: the meter answers before it (inconclusive if not), the probe is
 * met with silence (a failed check if not; `allowed` may accept a reply and judge it instead), and
 * the next valid read is answered (failed if not).
 */
export async function expectNoReply(
  ctx: CheckContext,
  t: Cjt188Target,
  bytes: Uint8Array,
  what: string,
  allowed?: (r: ProbeResult) => string | null,
): Promise<void> {
  await showAnswering(ctx, t, what);
  const r = await probe(t, bytes);
  const w = watchOf(t);
  w.mark = w.answers;
  ctx.log(`${what}: ${toHex(bytes)} → ${r.silent ? 'silence' : r.received}`);
  for (const q of r.requests) ctx.log(`${what}: not judged, ${q} (an echo of the probe or another master)`);
  if (!r.silent) {
    if (allowed) {
      const problem = allowed(r);
      ctx.check(problem === null, `${what}: ${problem ?? ''}`);
    } else {
      ctx.check(false, `${what} was answered: ${r.frames.length > 0 ? r.frames.join('; ') : `bytes ${r.received}`}`);
    }
  }
  await stillAnswering(ctx, t, what);
}

// ---------------------------------------------------------------------------------------------
// The wrapper every CJ/T 188 case runs in.

/** A case of these suites: 'declared' (default) needs the declared address; 'any' judges addresses itself (read address). */
export type Cjt188Case = LivenessCase<Cjt188Target>;

const SENDING = new Set(['request', 'readData', 'readAddress', 'readKeyVersion', 'writeData', 'syncTime', 'writeAddress', 'writeSyncData', 'valveControl', 'sendRaw', 'idle']);

/** A view of `t` that sends nothing more once `signal` is aborted (the case ran out of time). */
function guarded(t: Cjt188Target, signal: AbortSignal): Cjt188Target {
  const stopped = (): void => {
    if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('the case was stopped');
  };
  const wrap = <O extends object>(o: O, names: ReadonlySet<string>): O =>
    new Proxy(o, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function') return v;
        if (typeof prop === 'string' && names.has(prop)) {
          return (...args: unknown[]) => {
            stopped();
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (v as (...a: unknown[]) => unknown).bind(target);
      },
    });
  const master = wrap(meterOf(t).master, SENDING);
  const masters = { ...t.masters, cjt188: master };
  const link = wrap(t.link, new Set(['write']));
  return new Proxy(t, {
    get(target, prop) {
      if (prop === ORIGINAL) return target;
      if (prop === 'masters') return masters;
      if (prop === 'link') return link;
      return Reflect.get(target, prop, target) as unknown;
    },
  });
}


/** Where a case stands, for the reason of a case that ran out of time. */
function progressOf(t: Cjt188Target): string {
  t.flushCaptures();
  const last = t.captures.at(-1);
  const x = t.masters.cjt188?.lastExchange;
  const parts: string[] = [];
  if (last) parts.push(`last frame on the line ${last.dir === 'tx' ? 'sent' : 'received'}: ${last.decode ?? last.hex}`);
  if (x) parts.push(`last exchange: ${x.message.kind} ${x.message.di} to ${x.address}, ${x.reply ? `answered (${x.reply.message.kind})` : `no reply after ${x.attempts} attempt(s)`}`);
  return parts.length > 0 ? parts.join('; ') : 'nothing exchanged with the meter yet';
}

/** How the CJ/T 188 suites tell a dead or misaddressed meter from a defect (suites/framework/liveness-case.ts). */
const CJT188_LIVENESS: LivenessPolicy<Cjt188Target, Cjt188Presence> = {
  noun: 'meter',
  watch: (t) => watchOf(t),
  async checkPresence(t) {
    const p = await checkPresence(t);
    watchOf(t).knownAnswering = p.state === 'answering';
    return p;
  },
  unusable: (t, p, reaches) => (p.state === 'silent' || (p.state === 'misaddressed' && reaches === 'declared') ? notAnsweringReason(t, p) : null),
  isDeviceFault: isMeterFault,
  guarded,
  progress: progressOf,
  gate: protocolGate,
};

/**
 * Wraps a case: not applicable to a target of another protocol; a dead meter makes it
 * inconclusive instead of failing its requirement; a meter that does not answer or answers wrongly
 * fails it with the reason; it stops sending once out of time; its frames are attached as evidence.
 */
export function asCjt188Case(c: Cjt188Case): ConformanceCase<Cjt188Target> {
  return withLiveness(c, CJT188_LIVENESS);
}

/**
 * The cases of one conformance file, their ids naming the device kind ("cjt188-reading.units" →
 * "cjt188-reading.water.units"): the same cases run once per kind (water.conformance.ts,
 * gas.conformance.ts), and a run's summary, JUnit, Allure results and evidence folders
 * (captures/<case id>/) are keyed by case id, so without the kind the gas run's evidence would
 * overwrite the water run's and the summary could not say which meter a verdict is about.
 */
export function casesForKind(cases: readonly ConformanceCase<Cjt188Target>[], kind: 'water' | 'gas'): ConformanceCase<Cjt188Target>[] {
  return cases.map((c) => {
    const dot = c.id.indexOf('.');
    return { ...c, id: `${c.id.slice(0, dot)}.${kind}${c.id.slice(dot)}` };
  });
}
