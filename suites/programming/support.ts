/**
 * What the programming cases share: liveness around every probe, passwords by level from the
 * declaration, abnormal-reply checks with the error-word bits named, the destructive opt-in gate,
 * and following a meter through a baud-rate change (with recovery when it does not come back).
 *
 * A case never lets "no answer" pass: it first shows the meter answers (inconclusive otherwise:
 * a dead meter cannot be judged), and after a probe that expects silence or a refusal it shows the
 * meter still answers (failed otherwise: the probe broke it).
 */
import { toHex } from '../../harness/core/bytes.ts';
import { Dlt645AbnormalReplyError, Dlt645NoReplyError } from '../../harness/masters/index.ts';
import {
  BAUD_FEATURE_WORD,
  ERROR_WORD_BITS,
  encodeMessage,
  featureWordToBaud,
  lookup,
  type Dlt645Message,
  type ErrorWordBit,
  type Password,
} from '../../harness/protocols/dlt645/index.ts';
import type { AllowDestructive, Target } from '../../harness/targets/index.ts';
import type { CheckContext } from '../framework/case.ts';
import { describeReply, probe, type ProbeReply } from '../reading/probe.ts';

/** Forward active total energy (PROTOCOLS.md 1.9): the read that shows a meter is alive. */
export const FORWARD_ACTIVE_TOTAL = '00010000';

export function meterAddress(t: Target): string {
  return t.profile.meter.address;
}

/** The identifier ordinary reads use: forward active total when declared, else the first declared one. */
export function ordinaryIdentifier(t: Target): string {
  const ids = t.profile.meter.identifiers;
  return ids.includes(FORWARD_ACTIVE_TOTAL) ? FORWARD_ACTIVE_TOTAL : ids[0]!;
}

export function hex2(b: number): string {
  return (b & 0xff).toString(16).toUpperCase().padStart(2, '0');
}

export function isDeclared(t: Target, di: string): boolean {
  return t.profile.meter.identifiers.includes(di);
}

// ---------------------------------------------------------------------------------------------
// Liveness

/**
 * True when the meter at `address` answers a read of the ordinary identifier (a normal or an
 * abnormal reply: either way it is listening), false when every attempt went unanswered.
 */
export async function answers(t: Target, address = meterAddress(t)): Promise<boolean> {
  return (await silence(t, address)) === null;
}

/** Null when the meter at `address` answers a read; otherwise the master's account of the silence. */
async function silence(t: Target, address: string): Promise<string | null> {
  try {
    await t.master.readData(address, ordinaryIdentifier(t));
    return null;
  } catch (e) {
    if (e instanceof Dlt645AbnormalReplyError) return null;
    if (e instanceof Dlt645NoReplyError) return e.message;
    throw e;
  }
}

/** Before a probe: a meter that does not answer cannot be judged (inconclusive, never passed). */
export async function requireAlive(ctx: CheckContext, t: Target, before: string): Promise<void> {
  const why = await silence(t, meterAddress(t));
  if (why === null) return;
  ctx.inconclusive(`the meter does not answer before ${before} (${why}): it cannot be judged; check the wiring, the line settings and meter.address`);
}

/** After a probe: a meter that stopped answering fails the case that sent the probe. */
export async function requireStillAlive(ctx: CheckContext, t: Target, after: string, address = meterAddress(t)): Promise<void> {
  const why = await silence(t, address);
  if (why === null) return;
  ctx.fail(`the meter stopped answering after ${after} (${why})`);
}

// ---------------------------------------------------------------------------------------------
// Declaration gates

/**
 * Null when a destructive command may run: always on a simulated (reference) target, on a real
 * meter only when the target profile opts in. Otherwise the not-applicable reason naming the field.
 */
export function destructiveGate(t: Target, field: keyof AllowDestructive, what: string): string | null {
  if (t.kind === 'reference') return null;
  if (t.profile.allowDestructive[field]) return null;
  return `destructive (${what}): on a real meter it runs only with allowDestructive.${field}: true in the target profile`;
}

export type LevelUse = keyof Target['profile']['meter']['passwordLevels'];

/** The declared password of the level `use` needs, or the not-applicable reason naming the fields. */
export function passwordFor(t: Target, use: LevelUse): Password | string {
  const level = t.profile.meter.passwordLevels[use];
  const value = t.profile.meter.passwords[level];
  if (value === undefined) {
    return `meter.passwords declares no level-${level} password (meter.passwordLevels.${use} = "${level}")`;
  }
  return { level: parseInt(level, 16), value: value.toUpperCase() };
}

/** The same level with every digit changed: surely not the meter's password. */
export function wrongPassword(p: Password): Password {
  return { level: p.level, value: [...p.value].map((c) => ((parseInt(c, 16) + 1) % 10).toString()).join('') };
}

/** Declared passwords of levels weaker (a larger PA) than the one `use` needs. */
export function weakerPasswords(t: Target, use: LevelUse): Password[] {
  const required = parseInt(t.profile.meter.passwordLevels[use], 16);
  return Object.entries(t.profile.meter.passwords)
    .map(([level, value]) => ({ level: parseInt(level, 16), value: value.toUpperCase() }))
    .filter((p) => p.level > required)
    .sort((a, b) => a.level - b.level);
}

export function describePassword(p: Password): string {
  return `level ${hex2(p.level)}`;
}

// ---------------------------------------------------------------------------------------------
// Replies

const BIT_NAMES: Readonly<Record<ErrorWordBit, string>> = {
  otherError: 'other error',
  noRequestedData: 'no requested data',
  passwordErrorOrUnauthorised: 'password error / unauthorised',
  baudRateNotChangeable: 'baud rate cannot be changed',
  yearTimeZoneCountExceeded: 'year time-zone count exceeded',
  dailyTimeSlotCountExceeded: 'daily time-slot count exceeded',
  tariffCountExceeded: 'tariff count exceeded',
  reserved: 'reserved',
};

/** `bit 1 "no requested data"` (PROTOCOLS.md 1.7). */
export function describeBit(bit: ErrorWordBit): string {
  return `bit ${ERROR_WORD_BITS.indexOf(bit)} "${BIT_NAMES[bit]}"`;
}

/** Sends a request frame (encoded here, with the master's preamble) and returns what came back. */
export async function ask(t: Target, address: string, message: Dlt645Message, listenMs?: number): Promise<ProbeReply[]> {
  // An undefined listenMs takes probe()'s default window.
  return probe(t, encodeMessage(address, message, { preamble: t.master.preamble }), listenMs);
}

/**
 * Checks that `replies` is the abnormal reply to function `fc` with at least one of `bits` set;
 * returns true when it is. Each problem is a failed check naming what was sent (`what`).
 */
export function checkAbnormal(ctx: CheckContext, replies: readonly ProbeReply[], fc: number, bits: readonly ErrorWordBit[], what: string): boolean {
  const expected = `the abnormal reply ${hex2(fc | 0xc0)}H with ${bits.map(describeBit).join(' or ')}`;
  if (replies.length === 0) return ctx.check(false, `${what}: no reply, expected ${expected}`);
  const r = replies[0]!;
  const m = r.message;
  if (m?.kind !== 'errorResponse') return ctx.check(false, `${what} was answered with ${describeReply(r)}, not ${expected}`);
  if (!ctx.check(m.functionCode === fc, `${what} got an abnormal reply for function ${hex2(m.functionCode)}H, not ${hex2(fc)}H`)) return false;
  return ctx.check(
    bits.some((b) => m.errors.includes(b)),
    `${what} got error word ${hex2(m.errorWord)}H (${m.errors.map(describeBit).join(', ') || 'no bit set'}), expected ${bits.map(describeBit).join(' or ')}`,
  );
}

/**
 * Like `checkAbnormal`, but the error word must be exactly one of `bits` alone (02H, not 03H or
 * 06H): where a requirement names the reason for a refusal, a word with other bits set says
 * something else as well. Returns true when it is.
 */
export function checkErrorWord(ctx: CheckContext, replies: readonly ProbeReply[], fc: number, bits: readonly ErrorWordBit[], what: string): boolean {
  const words = bits.map((b) => 1 << ERROR_WORD_BITS.indexOf(b));
  const expected = `the abnormal reply ${hex2(fc | 0xc0)}H with error word ${words.map((w, i) => `${hex2(w)}H (${describeBit(bits[i]!)})`).join(' or ')}`;
  if (replies.length === 0) return ctx.check(false, `${what}: no reply, expected ${expected}`);
  const r = replies[0]!;
  const m = r.message;
  if (m?.kind !== 'errorResponse') return ctx.check(false, `${what} was answered with ${describeReply(r)}, not ${expected}`);
  if (!ctx.check(m.functionCode === fc, `${what} got an abnormal reply for function ${hex2(m.functionCode)}H, not ${hex2(fc)}H`)) return false;
  return ctx.check(
    words.includes(m.errorWord),
    `${what} got error word ${hex2(m.errorWord)}H (${m.errors.map(describeBit).join(', ') || 'no bit set'}), expected ${words.map((w) => `${hex2(w)}H`).join(' or ')} alone`,
  );
}

/** The kind of the first reply, or why there is none usable. */
export function replyKind(replies: readonly ProbeReply[]): string {
  const r = replies[0];
  if (!r) return 'no reply';
  return r.message?.kind ?? describeReply(r);
}

// ---------------------------------------------------------------------------------------------
// Values

/** Reads `di` and returns its payload; the master's errors propagate (withMeterFaults reports them). */
export async function readPayload(t: Target, di: string, address = meterAddress(t)): Promise<Uint8Array> {
  return (await t.master.readData(address, di)).payload;
}

/** Decimal places and largest value of a plain numeric format such as XXXXXX.XX; null for other formats. */
export function numericFormat(di: string): { decimals: number; max: number } | null {
  const def = lookup(di);
  if (!def || def.fields || def.members || def.signed || (def.encoding && def.encoding !== 'bcd')) return null;
  const m = /^(X+)(?:\.(X+))?$/.exec(def.format);
  if (!m) return null;
  const decimals = m[2]?.length ?? 0;
  const digits = m[1]!.length + decimals;
  return { decimals, max: (10 ** digits - 1) / 10 ** decimals };
}

/** A value one step (one unit of the last digit) away from `value`, inside the format's range; null when none is. */
export function neighbourValue(value: number, format: { decimals: number; max: number }): number | null {
  const step = 1 / 10 ** format.decimals;
  const round = (x: number): number => Math.round(x * 10 ** format.decimals) / 10 ** format.decimals;
  if (round(value + step) <= format.max) return round(value + step);
  if (round(value - step) >= 0) return round(value - step);
  return null;
}

/** Byte-wise equality (harness/core/bytes.ts), re-exported for the programming cases. */
export { bytesEqual } from '../../harness/core/bytes.ts';

export function show(bytes: Uint8Array): string {
  return bytes.length > 0 ? toHex(bytes) : '(no bytes)';
}

// ---------------------------------------------------------------------------------------------
// Line speed (17H)

/** The rates a 17H case switches to: declared, other than the line rate, lowest first. */
export function switchRates(t: Target): number[] {
  const home = t.profile.meter.line.baudRate;
  return [...new Set(t.profile.meter.baudRates)].filter((b) => b !== home).sort((a, b) => a - b);
}

/** Rates with a feature word (PROTOCOLS.md 1.6) that the meter declares neither in meter.baudRates nor as its line rate. */
export function undeclaredRates(t: Target): number[] {
  const declared = new Set([t.profile.meter.line.baudRate, ...t.profile.meter.baudRates]);
  return Object.keys(BAUD_FEATURE_WORD)
    .map(Number)
    .filter((b) => !declared.has(b))
    .sort((a, b) => a - b);
}

/** Null when the 17H cases can run on this target, otherwise the reason naming the field. */
export function baudChangeGate(t: Target): string | null {
  if (switchRates(t).length === 0) {
    return `meter.baudRates declares no rate other than the line rate ${t.profile.meter.line.baudRate} bit/s`;
  }
  if (!t.setBaudRate) {
    return `connection.type ${t.kind}: the harness cannot follow a rate change (the serial server's port rate is set in the server)`;
  }
  return null;
}

export function featureWord(baudRate: number): number {
  return (BAUD_FEATURE_WORD as Readonly<Record<number, number>>)[baudRate]!;
}

export function describeRate(baudRate: number): string {
  return `${baudRate} bit/s (Z = ${hex2(featureWord(baudRate))}H)`;
}

/** The rate a feature word stands for, or its hex when it stands for none. */
export function describeFeatureWord(z: number): string {
  const b = featureWordToBaud(z);
  return b === null ? `${hex2(z)}H` : `${hex2(z)}H (${b} bit/s)`;
}

/**
 * Brings the meter back to its declared line rate after a 17H went wrong: listens at every
 * declared rate, and where the meter answers sends 17H back to the line rate. Returns the rate the
 * meter was found at, or null when it answers at none (the master is left at the line rate).
 */
export async function recoverLineRate(t: Target): Promise<number | null> {
  const home = t.profile.meter.line.baudRate;
  if (!t.setBaudRate) return (await answers(t)) ? home : null;
  const rates = [home, ...switchRates(t)];
  for (const rate of rates) {
    await t.setBaudRate(rate);
    if (!(await answers(t))) continue;
    if (rate !== home) {
      await ask(t, meterAddress(t), { kind: 'changeBaud', z: featureWord(home), baudRate: home });
      await t.setBaudRate(home);
      if (!(await answers(t))) continue;
    }
    return rate;
  }
  await t.setBaudRate(home);
  return null;
}
