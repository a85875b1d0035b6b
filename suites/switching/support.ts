/**
 * What the switching cases share: the 1CH request with the declared password and a valid-until
 * time, status word 3 (PROTOCOLS.md 1.8) read and judged field by field, the simulator's own relay
 * for targets that have one, waiting for the relay with the time measured, and putting the meter
 * back (relay closed, no trip command, keep-power and alarm off) after every case.
 *
 * Status word 3 is the meter's own account of its relay; on the reference target the suite also
 * looks at the relay itself (the backchannel's snapshot), so a meter whose status word lies fails.
 */
import { toCalendar } from '../../harness/core/calendar.ts';
import {
  ERROR_WORD_BITS,
  RemoteControlCommand,
  decodeStatusWord3,
  encodeFrame,
  encodeMessageData,
  type Dlt645Message,
  type ErrorWordBit,
  type FrameDateTime,
  type Password,
  type RemoteControlCommandCode,
  type StatusWord3,
} from '../../harness/protocols/dlt645/index.ts';
import type { Target } from '../../harness/targets/index.ts';
import type { CheckContext } from '../framework/case.ts';
import { ask, describeBit, hex2, isDeclared, meterAddress, passwordFor } from '../programming/support.ts';
import { describeReply, probe, readValue, type ProbeReply } from '../reading/probe.ts';

/** Status word 3 (PROTOCOLS.md 1.8): bit4 relay, bit6 relay command, bit7 pre-trip alarm, bit12 keep-power. */
export const STATUS_WORD_3 = '04000503';
/** Trip total count 跳闸总次数 (DL/T 645-2007 appendix A, dictionary 1D000001; FEE-07 records). */
export const TRIP_COUNT = '1D000001';
/** Function code of remote control (PROTOCOLS.md 1.3, 1.5). */
export const FC_REMOTE_CONTROL = 0x1c;

/**
 * Time the meter may take to report a relay state once it is due: REQUIREMENTS.md FEE-12 says the
 * actual state is judged after about 3–4 s of consistent sensing; 5 s leaves room for one status
 * word read at 2400 bit/s. MeterLab's figure (the catalog's FEE-07 notes say so).
 */
export const RELAY_SETTLE_MS = 5000;
/** How often status word 3 is read while the suite waits for the relay. */
export const POLL_MS = 250;
/** Valid-until a day ahead of (or behind) the harness clock: far beyond any meter clock error (CLK-01: 10 s). */
export const VALID_UNTIL_MARGIN_MS = 24 * 3_600_000;

/** The N1 of each declared command code (PROTOCOLS.md 1.5). */
export const N1: Readonly<Record<RemoteControlCommandCode, number>> = {
  '1A': RemoteControlCommand.Trip,
  '1B': RemoteControlCommand.CloseAllowed,
  '1C': RemoteControlCommand.DirectClose,
  '2A': RemoteControlCommand.Alarm,
  '2B': RemoteControlCommand.AlarmRelease,
  '3A': RemoteControlCommand.KeepPower,
  '3B': RemoteControlCommand.KeepPowerRelease,
};

export const COMMAND_NAMES: Readonly<Record<RemoteControlCommandCode, string>> = {
  '1A': 'trip',
  '1B': 'close allowed',
  '1C': 'direct close',
  '2A': 'alarm',
  '2B': 'alarm release',
  '3A': 'keep-power',
  '3B': 'keep-power release',
};

/** "1CH 1AH (trip)". */
export function describeCommand(code: RemoteControlCommandCode): string {
  return `1CH ${code}H (${COMMAND_NAMES[code]})`;
}

// ---------------------------------------------------------------------------------------------
// Declaration

export function supports(t: Target, code: RemoteControlCommandCode): boolean {
  const m = t.profile.meter;
  return m.capabilities.remoteControl && m.remoteControl.commands.includes(code);
}

/**
 * Null when every command in `codes` is declared and status word 3 is readable; otherwise the
 * not-applicable reason naming the field.
 */
export function commandGate(t: Target, ...codes: RemoteControlCommandCode[]): string | null {
  const m = t.profile.meter;
  if (!m.capabilities.remoteControl) return 'meter.capabilities.remoteControl is false: the meter declares no plain 1CH remote control';
  const missing = codes.filter((c) => !m.remoteControl.commands.includes(c));
  if (missing.length > 0) return `meter.remoteControl.commands does not list ${missing.map((c) => `${c} (${COMMAND_NAMES[c]})`).join(', ')}`;
  if (!isDeclared(t, STATUS_WORD_3)) return `status word 3 ${STATUS_WORD_3} is not declared in meter.identifiers: the relay state cannot be read`;
  return null;
}

/** Null when keep-power is declared (with 3A/3B and status word 3), else the reason naming the field. */
export function keepPowerGate(t: Target, ...codes: RemoteControlCommandCode[]): string | null {
  const g = commandGate(t, ...codes);
  if (g) return g;
  return t.profile.meter.capabilities.keepPower ? null : 'meter.capabilities.keepPower is false';
}

/**
 * Null when a meter that was tripped can be closed again without a person: on a simulated target
 * (the backchannel presses the key) always; on a real meter with 1C declared, or 1B with a relay that
 * closes without the key. Otherwise the reason naming the fields.
 */
export function wayBackGate(t: Target): string | null {
  if (t.backchannel) return null;
  if (supports(t, '1C')) return null;
  if (supports(t, '1B') && !t.profile.meter.relay.closeNeedsButton) return null;
  return 'a trip could not be undone without a person at the meter: meter.remoteControl.commands lists no 1C (direct close) and meter.relay.closeNeedsButton is true';
}

/** The declared trip delay as [min, max], ms (FEE-07). */
export function tripDelay(t: Target): { min: number; max: number } {
  const d = t.profile.meter.relay.tripDelayMs;
  return typeof d === 'number' ? { min: d, max: d } : { min: d[0], max: d[1] };
}

/** Time budget of a case that waits out the trip delay a few times (real meters: minutes). */
export function switchingBudgetMs(t: Target): number {
  return 180_000 + 3 * tripDelay(t).max;
}

/** The password 1CH needs (meter.passwordLevels.remoteControl), or the not-applicable reason. */
export function controlPassword(t: Target): Password | string {
  return passwordFor(t, 'remoteControl');
}

/** The error word the declaration gives for a refusal, with its bits. */
export function declaredErrorWord(word: string): { word: number; bits: ErrorWordBit[] } {
  const w = parseInt(word, 16);
  return { word: w, bits: ERROR_WORD_BITS.filter((_, i) => (w & (1 << i)) !== 0) };
}

// ---------------------------------------------------------------------------------------------
// Requests

export function validUntil(t: Target, offsetMs = VALID_UNTIL_MARGIN_MS): FrameDateTime {
  const c = toCalendar(t.clock.now() + offsetMs);
  return { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second };
}

export interface ControlOptions {
  readonly password?: Password;
  readonly validUntil?: FrameDateTime | null;
  /** N2 (reserved in PROTOCOLS.md 1.5; the restore time of a pre-trip, FEE-10). Default 0. */
  readonly n2?: number;
}

/** The 1CH message for `n1` with the declared password and operator code, valid until a day ahead. */
export function controlMessage(t: Target, n1: number, password: Password, options: ControlOptions = {}): Dlt645Message {
  return {
    kind: 'remoteControl',
    password: options.password ?? password,
    operator: t.profile.meter.operatorCode,
    command: n1,
    reserved: options.n2 ?? 0,
    validUntil: options.validUntil === undefined ? validUntil(t) : options.validUntil,
  };
}

/** Sends a 1CH and returns what came back (raw probe: abnormal replies are data, not errors). */
export async function sendControl(t: Target, n1: number, password: Password, options: ControlOptions = {}): Promise<ProbeReply[]> {
  return ask(t, meterAddress(t), controlMessage(t, n1, password, options));
}

/**
 * A 1CH whose valid-until names no date (month 13): built from a valid request with N7 (MM)
 * replaced, since the codec refuses to encode an impossible date.
 */
export async function sendMalformedValidUntil(t: Target, n1: number, password: Password, options: Pick<ControlOptions, 'password'> = {}): Promise<ProbeReply[]> {
  const { control, data } = encodeMessageData(controlMessage(t, n1, password, options));
  const patched = Uint8Array.from(data);
  // N3..N8 = ss mm hh DD MM YY at bytes 10..15 (PROTOCOLS.md 1.5): MM is byte 14, BCD.
  patched[14] = 0x13;
  return probe(t, encodeFrame({ address: meterAddress(t), control, data: patched, preamble: t.master.preamble }));
}

/** Control code C and data length L of a reply frame as received (FE wake-up bytes skipped), or null when no frame starts. */
export function frameShape(r: ProbeReply): { control: number; length: number } | null {
  let i = 0;
  while (i < r.raw.length && r.raw[i] === 0xfe) i++;
  // 68H A0..A5 68H C L (PROTOCOLS.md 1.2): C at +8, L at +9 from the first 68H.
  if (r.raw[i] !== 0x68 || r.raw.length < i + 10) return null;
  return { control: r.raw[i + 8]!, length: r.raw[i + 9]! };
}

/**
 * DLT645-29: checks the bytes of a 1CH reply as received: the normal reply is C = 9CH with L = 0, an
 * abnormal one C = DCH with L = 1 (the error word). True when the shape is right.
 */
export function checkReplyShape(ctx: CheckContext, r: ProbeReply | undefined, normal: boolean, what: string): boolean {
  const want = normal ? 'C = 9CH, L = 0 (the normal reply carries no data)' : 'C = DCH, L = 1 (the abnormal reply carries the error word alone)';
  if (!r) return ctx.check(false, `${what}: no reply, expected a frame with ${want}`);
  const shape = frameShape(r);
  if (!shape) return ctx.check(false, `${what}: the reply ${describeReply(r)} holds no DL/T 645 frame, expected ${want}`);
  const [c, l] = normal ? [0x9c, 0] : [0xdc, 1];
  return ctx.check(
    shape.control === c && shape.length === l,
    `${what}: the reply has C = ${hex2(shape.control)}H, L = ${shape.length}, expected ${want} (PROTOCOLS.md 1.5, 1.7)`,
  );
}

/**
 * On a simulated target, checks that status word 3 bits 4, 6 and 12 (relay, relay command,
 * keep-power) say what the simulator's relay is (DLT645-29); on a real meter nothing to compare.
 */
export function checkStatusTruth(ctx: CheckContext, t: Target, s: RelayReport, when: string): void {
  const sim = actualRelay(t);
  if (!sim) return;
  const lies: string[] = [];
  if ((s.sw3.relay === 'open') !== sim.open) lies.push(`bit4 says the relay is ${s.sw3.relay}, the relay is ${sim.open ? 'open' : 'closed'}`);
  if ((s.sw3.relayCommand === 'trip') !== sim.commandTrip) lies.push(`bit6 says command ${s.sw3.relayCommand}, the meter holds command ${sim.commandTrip ? 'trip' : 'close'}`);
  if (s.sw3.keepPower !== sim.keepPower) lies.push(`bit12 says keep-power ${s.sw3.keepPower ? 'on' : 'off'}, the meter's keep-power is ${sim.keepPower ? 'on' : 'off'}`);
  ctx.check(lies.length === 0, `status word 3 ${when} does not tell the truth (simulator): ${lies.join('; ')}: ${describeStatus(s)}`);
}

/** True when the reply is the normal 9CH; otherwise a failed check naming what came back. */
export function checkAccepted(ctx: CheckContext, replies: readonly ProbeReply[], what: string): boolean {
  const r = replies[0];
  if (!r) return ctx.check(false, `${what}: no reply, expected the normal reply 9CH`);
  if (r.message?.kind === 'remoteControlResponse') return true;
  return ctx.check(false, `${what} was answered with ${describeReply(r)}, not the normal reply 9CH`);
}

/**
 * True when the reply is DCH with exactly the error word `expected` (the declaration's, or 04H for
 * a wrong password); otherwise a failed check naming what came back.
 */
export function checkRefused(ctx: CheckContext, replies: readonly ProbeReply[], expected: number, what: string, field: string): boolean {
  const bits = ERROR_WORD_BITS.filter((_, i) => (expected & (1 << i)) !== 0);
  const want = `the abnormal reply DCH with error word ${hex2(expected)}H (${bits.map(describeBit).join(', ')}; ${field})`;
  const r = replies[0];
  if (!r) return ctx.check(false, `${what}: no reply, expected ${want}`);
  const m = r.message;
  if (m?.kind === 'remoteControlResponse') return ctx.check(false, `${what} was accepted (9CH), expected ${want}`);
  if (m?.kind !== 'errorResponse') return ctx.check(false, `${what} was answered with ${describeReply(r)}, not ${want}`);
  if (!ctx.check(m.functionCode === FC_REMOTE_CONTROL, `${what} got an abnormal reply for function ${hex2(m.functionCode)}H, not 1CH`)) return false;
  return ctx.check(
    m.errorWord === expected,
    `${what} got error word ${hex2(m.errorWord)}H (${m.errors.map(describeBit).join(', ') || 'no bit set'}), expected ${hex2(expected)}H alone (${field})`,
  );
}

// ---------------------------------------------------------------------------------------------
// Relay state

export interface RelayReport {
  readonly word: number;
  readonly sw3: StatusWord3;
}

/** Reads status word 3; the master's errors propagate (the case wrapper turns them into failures). */
export async function readStatus(t: Target): Promise<RelayReport> {
  const { value } = await readValue(t, meterAddress(t), STATUS_WORD_3);
  const word = typeof value === 'number' ? value : 0;
  return { word, sw3: decodeStatusWord3(word) };
}

/** "relay open (bit4 = 1), command trip (bit6 = 1), pre-trip alarm off (bit7 = 0), keep-power off (bit12 = 0)". */
export function describeStatus(s: RelayReport): string {
  const w = s.sw3;
  return (
    `relay ${w.relay} (bit4 = ${w.relay === 'open' ? 1 : 0}), command ${w.relayCommand} (bit6 = ${w.relayCommand === 'trip' ? 1 : 0}), ` +
    `pre-trip alarm ${w.preTripAlarm ? 'on' : 'off'} (bit7 = ${w.preTripAlarm ? 1 : 0}), keep-power ${w.keepPower ? 'on' : 'off'} (bit12 = ${w.keepPower ? 1 : 0}) ` +
    `[status word 3 = ${s.word.toString(16).toUpperCase().padStart(4, '0')}H]`
  );
}

/** The relay as the simulator holds it (reference targets), or null on real meters. */
export function actualRelay(t: Target): { open: boolean; keepPower: boolean; remoteAlarm: boolean; commandTrip: boolean } | null {
  if (!t.backchannel) return null;
  const r = t.backchannel.snapshot().relay;
  return { open: r.open, keepPower: r.keepPower, remoteAlarm: r.remoteAlarm, commandTrip: r.commandTrip };
}

export interface Expected {
  readonly relay?: 'open' | 'closed';
  readonly relayCommand?: 'trip' | 'close';
  readonly preTripAlarm?: boolean;
  readonly keepPower?: boolean;
}

/**
 * Reads status word 3 and checks each expected field; on a simulated target also checks that the
 * simulator's relay is where status word 3 says (and where it is expected). `when` says at what
 * point of the case ("after 9CH to 1CH 1AH (trip)"). Returns what was read.
 */
export async function expectStatus(ctx: CheckContext, t: Target, expected: Expected, when: string): Promise<RelayReport> {
  const s = await readStatus(t);
  const w = s.sw3;
  const bit = (name: string, n: number, got: string | boolean, want: string | boolean): void => {
    ctx.check(got === want, `status word 3 ${when} reports ${name} ${String(got)} (bit${n}), expected ${String(want)}: ${describeStatus(s)}`);
  };
  if (expected.relay !== undefined) bit('the relay', 4, w.relay, expected.relay);
  if (expected.relayCommand !== undefined) bit('the relay command', 6, w.relayCommand, expected.relayCommand);
  if (expected.preTripAlarm !== undefined) bit('the pre-trip alarm', 7, w.preTripAlarm, expected.preTripAlarm);
  if (expected.keepPower !== undefined) bit('keep-power', 12, w.keepPower, expected.keepPower);
  const actual = actualRelay(t);
  if (actual) {
    const actualState = actual.open ? 'open' : 'closed';
    ctx.check(
      actualState === w.relay,
      `status word 3 ${when} reports the relay ${w.relay} (bit4) while the meter's relay is ${actualState} (simulator): the status word does not tell the truth`,
    );
    if (expected.relay !== undefined && actualState !== expected.relay && w.relay === actualState) {
      // Already reported through bit 4 above; say that the relay itself agrees with the report.
      ctx.log(`the simulator's relay is ${actualState} ${when}, as status word 3 says`);
    }
    if (expected.keepPower !== undefined) {
      ctx.check(actual.keepPower === expected.keepPower, `the meter's keep-power state (simulator) is ${actual.keepPower ? 'on' : 'off'} ${when}, expected ${expected.keepPower ? 'on' : 'off'}`);
    }
  }
  ctx.log(`${when}: ${describeStatus(s)}${actual ? `; simulator relay ${actual.open ? 'open' : 'closed'}` : ''}`);
  return s;
}

/**
 * Polls status word 3 until it reports the relay `state`, from `fromMs` (the instant the command
 * was answered) for up to `limitMs` plus one poll; records the time as a measurement with its limit
 * (a time over the limit fails the case). Returns true when the state was reported in time. A
 * meter that never reports it is a failed check naming the limit. Reading starts at `fromMs +
 * earliestMs` (a declared trip delay needs no polling).
 */
export async function waitForRelay(
  ctx: CheckContext,
  t: Target,
  state: 'open' | 'closed',
  fromMs: number,
  limitMs: number,
  measurement: string,
  what: string,
  earliestMs = 0,
): Promise<boolean> {
  const deadline = fromMs + limitMs + POLL_MS;
  const firstAt = fromMs + Math.max(0, earliestMs - POLL_MS);
  if (t.clock.now() < firstAt) await t.clock.sleep(firstAt - t.clock.now());
  let last: RelayReport | undefined;
  for (;;) {
    last = await readStatus(t);
    if (last.sw3.relay === state) {
      ctx.measure(measurement, Math.max(0, t.clock.now() - fromMs), 'ms', { max: limitMs });
      return true;
    }
    if (t.clock.now() >= deadline) break;
    await t.clock.sleep(POLL_MS);
  }
  ctx.check(
    false,
    `status word 3 still reports the relay ${last.sw3.relay} ${((t.clock.now() - fromMs) / 1000).toFixed(1)} s after ${what} (limit ${limitMs / 1000} s): ${describeStatus(last)}`,
  );
  return false;
}

// ---------------------------------------------------------------------------------------------
// Starting state and restore

/** True when status word 3 shows the state every case starts from: relay closed, no trip command, keep-power off. */
export function atBase(s: RelayReport): boolean {
  return s.sw3.relay === 'closed' && s.sw3.relayCommand === 'close' && !s.sw3.keepPower;
}

/**
 * Brings the meter back to relay closed, close command, keep-power and commanded alarm off:
 * 3B, 2B, then 1C (or 1B and, on a simulated target, the key) as declared. Returns null when
 * status word 3 shows it there, else what is still wrong. Never throws for the meter's answers.
 */
export async function restoreMeter(t: Target, password: Password, log: (line: string) => void): Promise<string | null> {
  const send = async (code: RemoteControlCommandCode): Promise<void> => {
    const replies = await sendControl(t, N1[code], password);
    if (replies[0]?.message?.kind !== 'remoteControlResponse') log(`restore: ${describeCommand(code)} got ${replies[0] ? describeReply(replies[0]) : 'no reply'}`);
  };
  try {
    let s = await readStatus(t);
    if (s.sw3.keepPower && supports(t, '3B')) await send('3B');
    const alarm = actualRelay(t)?.remoteAlarm ?? s.sw3.preTripAlarm;
    if (alarm && supports(t, '2B')) await send('2B');
    s = await readStatus(t);
    if (s.sw3.relay === 'open' || s.sw3.relayCommand === 'trip') {
      if (supports(t, '1C')) await send('1C');
      else if (supports(t, '1B')) {
        await send('1B');
        if (t.profile.meter.relay.closeNeedsButton) {
          if (t.backchannel) t.backchannel.pressButton();
          else log('restore: the relay closes only when a person holds the meter key for 3 s (FEE-11)');
        }
      }
      const from = t.clock.now();
      while (t.clock.now() - from < RELAY_SETTLE_MS) {
        s = await readStatus(t);
        if (s.sw3.relay === 'closed') break;
        await t.clock.sleep(POLL_MS);
      }
    }
    s = await readStatus(t);
    return atBase(s) ? null : describeStatus(s);
  } catch (e) {
    return `status word 3 could not be read (${e instanceof Error ? e.message : String(e)})`;
  }
}

/** Trips the meter and waits for status word 3 to report the relay open; null when it did, else why not. */
export async function tripAndWait(t: Target, password: Password): Promise<string | null> {
  const replies = await sendControl(t, N1['1A'], password);
  if (replies[0]?.message?.kind !== 'remoteControlResponse') {
    return `${describeCommand('1A')} was answered with ${replies[0] ? describeReply(replies[0]) : 'nothing'}, not 9CH`;
  }
  const from = t.clock.now();
  const limit = tripDelay(t).max + RELAY_SETTLE_MS;
  let s = await readStatus(t);
  while (s.sw3.relay !== 'open' && t.clock.now() - from < limit) {
    await t.clock.sleep(POLL_MS);
    s = await readStatus(t);
  }
  return s.sw3.relay === 'open' ? null : `the relay did not open within ${limit / 1000} s of a 9CH to ${describeCommand('1A')}: ${describeStatus(s)}`;
}
