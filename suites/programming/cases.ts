/**
 * The programming suite for DL/T 645-2007 meters: the control codes that change a meter (14H
 * write, 15H write address, 16H broadcast freeze, 17H baud rate, 18H password, 19H/1AH/1BH clears)
 * and the refusals a meter owes for bad requests (error words, password levels, malformed data
 * fields, a follow-up SEQ out of range). One case per behaviour, each tied to a requirement in
 * suites/requirements and gated by the target's declaration; every skip names the field.
 *
 * Every case first shows the meter answers (a dead meter is inconclusive, never a pass), and
 * after a probe that expects a refusal or silence shows it still answers (otherwise the case
 * fails). What a case changes it restores: the written value, the address, the password, the
 * line rate. Destructive commands run on a real meter only with the profile's opt-in
 * (`allowDestructive.*`); simulated targets always run them.
 */
import { formatCalendar, fromCalendar, isValidCalendar, toCalendar } from '../../harness/core/calendar.ts';
import {
  BROADCAST_ADDRESS,
  DICTIONARY,
  UNDEFINED_IDENTIFIER,
  WILDCARD_ADDRESS,
  encodeFrame,
  encodeMessage,
  lookup,
  type DataValue,
  type ErrorWordBit,
  type Password,
} from '../../harness/protocols/dlt645/index.ts';
import type { Target } from '../../harness/targets/index.ts';
import type { CheckContext, ConformanceCase } from '../framework/case.ts';
import { asReadingCase, describeReply, freezeGate, probe, readValue, requireDeclared, silenceWindowMs, type ProbeReply } from '../reading/probe.ts';
import {
  FORWARD_ACTIVE_TOTAL,
  answers,
  ask,
  baudChangeGate,
  bytesEqual,
  checkAbnormal,
  checkErrorWord,
  undeclaredRates,
  describeBit,
  describeFeatureWord,
  describePassword,
  describeRate,
  destructiveGate,
  featureWord,
  hex2,
  isDeclared,
  meterAddress,
  neighbourValue,
  numericFormat,
  ordinaryIdentifier,
  passwordFor,
  readPayload,
  recoverLineRate,
  replyKind,
  requireAlive,
  requireStillAlive,
  show,
  switchRates,
  weakerPasswords,
  wrongPassword,
} from './support.ts';

type Case = ConformanceCase<Target>;

const DATE_AND_WEEK = '04000101';
const TIME_OF_DAY = '04000102';
const COMM_ADDRESS = '04000401';
/** RS-485 port 1 baud-rate feature word (PROTOCOLS.md 1.6, 1.9 040007xx). */
const PORT1_FEATURE_WORD = '04000703';
/** Forward active total maximum demand and its time (DL/T 645-2007 appendix A, 0101xxxx). */
const FORWARD_MAX_DEMAND = '01010000';
/** Event counts a 1BH event clear zeroes, in the order the case looks for a non-zero one (appendix A). */
const EVENT_COUNTS = ['03300000', '03300400', '03110000', '03300D00', '1D000001', '1E000001'];
/** 1BH with DI FFFFFFFF clears every event log [BK: the 600888/dlt645 server, PROTOCOLS.md 1.3]. */
const ALL_EVENTS = 'FFFFFFFF';
/** Demand period the reference meter reports (04000103 = 15 min); two of them give a whole period to measure. */
const DEMAND_PERIOD_MS = 15 * 60_000;
/**
 * Energy a meter may count between a 1AH clear and the read that follows it (a few seconds): even
 * 100 kW for 3 s is 0.083 kWh. Above this the registers were not cleared.
 */
const METER_CLEAR_RESIDUE_KWH = 0.1;
/** Meter clock tolerance for a freeze record (CLK-01: 10 s) plus its minute resolution (YYMMDDhhmm). */
const DEFAULT_CLOCK_TOLERANCE_S = 10;
/** Virtual time a simulated meter is given to make a daily freeze (a day and a minute past any midnight). */
const FOLLOW_UP_WAIT_MS = 24 * 3_600_000 + 60_000;
/** One past the ten password levels 04000C01..04000C0A (PROTOCOLS.md 1.9): an identifier no meter has. */
const NO_SUCH_PASSWORD = '04000C0B';
/** SEQ is one byte (PROTOCOLS.md 1.3, 12H). */
const MAX_SEQ = 255;

const FC = {
  read: 0x11,
  followUp: 0x12,
  readAddress: 0x13,
  write: 0x14,
  freeze: 0x16,
  baud: 0x17,
  password: 0x18,
  demandClear: 0x19,
  meterClear: 0x1a,
  eventClear: 0x1b,
  remoteControl: 0x1c,
  multiFunctionOutput: 0x1d,
} as const;

const OTHER: ErrorWordBit = 'otherError';
const NO_DATA: ErrorWordBit = 'noRequestedData';
const UNAUTHORISED: ErrorWordBit = 'passwordErrorOrUnauthorised';
const BAUD: ErrorWordBit = 'baudRateNotChangeable';


function operator(t: Target): string {
  return t.profile.meter.operatorCode;
}

function firstNumber(v: DataValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return firstNumber(v[0] as DataValue);
  if (v && typeof v === 'object' && 'demand' in v) return firstNumber((v as Record<string, DataValue>).demand);
  return undefined;
}

/** The writable identifier's current value and a neighbour to write, or the reason there is none. */
async function writableNeighbour(
  ctx: CheckContext,
  t: Target,
): Promise<{ di: string; before: Uint8Array; oldValue: number; newValue: number; newBytes: Uint8Array }> {
  const di = t.profile.meter.writableIdentifier;
  const format = numericFormat(di);
  if (!format) {
    ctx.notApplicable(
      `meter.writableIdentifier ${di} (${lookup(di)?.format ?? 'not in the dictionary'}) is not a plain number: declare a numeric writable item such as 04001001`,
    );
  }
  const { payload: before, value } = await readValue(t, meterAddress(t), di);
  if (typeof value !== 'number') ctx.fail(`${di} decodes to ${JSON.stringify(value)}, not a number`);
  const newValue = neighbourValue(value as number, format!);
  if (newValue === null) ctx.notApplicable(`meter.writableIdentifier ${di} = ${String(value)} has no neighbouring value to write`);
  return { di, before, oldValue: value as number, newValue: newValue!, newBytes: DICTIONARY.encodeValue(di, newValue!) };
}

/** A 14H that must be acknowledged with 94H; the reason names what went wrong otherwise. */
async function writeAcknowledged(ctx: CheckContext, t: Target, di: string, payload: Uint8Array, password: Password, what: string): Promise<boolean> {
  const replies = await ask(t, meterAddress(t), { kind: 'writeData', di, password, operator: operator(t), payload });
  const kind = replyKind(replies);
  if (kind === 'writeDataResponse') return true;
  ctx.check(
    false,
    replies.length === 0
      ? `${what}: no reply (expected 94H)`
      : `${what} was answered with ${describeReply(replies[0]!)}, not the normal reply 94H`,
  );
  return false;
}

/** Reads the meter clock (04000101 + 04000102) when declared, else takes the harness clock. */
async function meterInstant(t: Target): Promise<{ at: number; source: 'meter' | 'harness' }> {
  if (!isDeclared(t, DATE_AND_WEEK) || !isDeclared(t, TIME_OF_DAY)) return { at: t.clock.now(), source: 'harness' };
  const d = (await readValue(t, meterAddress(t), DATE_AND_WEEK)).value as Record<string, number>;
  const h = (await readValue(t, meterAddress(t), TIME_OF_DAY)).value as Record<string, number>;
  const fields = { year: d.year!, month: d.month!, day: d.day!, hour: h.hour!, minute: h.minute!, second: h.second! };
  return isValidCalendar(fields) ? { at: fromCalendar(fields), source: 'meter' } : { at: t.clock.now(), source: 'harness' };
}

function recordInstant(r: Record<string, number>): number | null {
  const fields = { year: r.year ?? 2000, month: r.month ?? 0, day: r.day ?? 0, hour: r.hour ?? 0, minute: r.minute ?? 0, second: r.second ?? 0 };
  return isValidCalendar(fields) ? fromCalendar(fields) : null;
}

/**
 * Alarm limits in pairs (PROTOCOLS.md 1.9): level 1 must stay at or above level 2
 * (REQUIREMENTS.md FEE-02: alarm amount 1 ≥ alarm amount 2, and a configuration breaking it is
 * rejected). [first, second] of each pair.
 */
const ALARM_PAIRS: readonly (readonly [string, string])[] = [
  ['04001001', '04001002'], // alarm amount 1 / 2
  ['04000F01', '04000F02'], // alarm energy 1 / 2
];

/**
 * A 14H of meter.writableIdentifier that breaks the alarm order (FEE-02) must be refused with
 * "other error" alone and change nothing; a meter that takes it is put back with the right password.
 * Logs and returns when the writable identifier is no alarm limit or its partner is not declared.
 */
async function refusedAlarmOrder(ctx: CheckContext, t: Target, password: Password, write: (di: string, payload: Uint8Array) => Promise<ProbeReply[]>): Promise<void> {
  const di = t.profile.meter.writableIdentifier;
  const pair = ALARM_PAIRS.find((p) => p.includes(di));
  const partner = pair ? (pair[0] === di ? pair[1] : pair[0]) : undefined;
  const format = numericFormat(di);
  if (!pair || !partner || !isDeclared(t, partner) || !format) {
    ctx.log(`refused-value check (FEE-02 alarm order) not run: meter.writableIdentifier ${di} is not an alarm limit with its partner declared (${ALARM_PAIRS.map((p) => p.join('/')).join(', ')})`);
    return;
  }
  const other = (await readValue(t, meterAddress(t), partner)).value;
  if (typeof other !== 'number') return void ctx.fail(`${partner} decodes to ${JSON.stringify(other)}, not a number`);
  const step = 1 / 10 ** format.decimals;
  // Level 1 one step below level 2, or level 2 one step above level 1.
  const value = Math.round((pair[0] === di ? other - step : other + step) * 10 ** format.decimals) / 10 ** format.decimals;
  if (value < 0 || value > format.max) {
    ctx.log(`refused-value check (FEE-02 alarm order) not run: ${partner} = ${other} leaves no value of ${di} on the wrong side of it`);
    return;
  }
  const before = await readPayload(t, di);
  const what = `a write of ${di} = ${value} while ${partner} = ${other} (alarm level 1 below level 2, FEE-02)`;
  checkErrorWord(ctx, await write(di, DICTIONARY.encodeValue(di, value)), FC.write, [OTHER], what);
  await requireStillAlive(ctx, t, what);
  const after = await readPayload(t, di);
  if (!ctx.check(bytesEqual(after, before), `${di} changed from ${show(before)} to ${show(after)} after ${what}`)) {
    await writeAcknowledged(ctx, t, di, before, password, `the write restoring ${di}`);
  }
}

// ---------------------------------------------------------------------------------------------

/** Gate of the 12H cases: follow-up frames declared, and at least one item that needs them. */
function needsFollowUpItems(t: Target): string | null {
  if (!t.profile.meter.capabilities.followUp) return 'meter.capabilities.followUp is false';
  if (t.profile.meter.followUpIdentifiers.length === 0) return 'meter.followUpIdentifiers is empty';
  return null;
}

const cases: Case[] = [
  {
    id: 'programming.malformed-data-field',
    requirement: 'DLT645-27',
    title: 'A data field too short for its control code gets the abnormal reply with "other error" (13H: no reply)',
    async run(ctx, t) {
      const address = meterAddress(t);
      const caps = t.profile.meter.capabilities;
      const di = ordinaryIdentifier(t);
      const diWire = Uint8Array.from([6, 4, 2, 0].map((i) => parseInt(di.slice(i, i + 2), 16)));
      const frame = (control: number, data: Uint8Array, to = address): Uint8Array =>
        encodeFrame({ address: to, control, data, preamble: t.master.preamble });
      // [what, frame, function code, accepted bits]; an empty bit list means "no reply".
      const probes: [string, Uint8Array, number, ErrorWordBit[]][] = [
        ['an 11H with a 3-byte DI', frame(FC.read, diWire.slice(0, 3)), FC.read, [OTHER, NO_DATA]],
      ];
      if (caps.followUp) probes.push(['a 12H with a DI but no SEQ', frame(FC.followUp, diWire), FC.followUp, [OTHER, NO_DATA]]);
      else ctx.log('12H probe skipped: meter.capabilities.followUp is false');
      if (caps.writeData) {
        // DI + PA P0 P1: three bytes of the 4-byte password, no operator code, no value.
        probes.push(['a 14H of DI + 3 bytes (shorter than DI + password + operator code)', frame(FC.write, Uint8Array.of(...diWire, 0x04, 0x00, 0x00)), FC.write, [OTHER]]);
      } else ctx.log('14H probe skipped: meter.capabilities.writeData is false');
      if (caps.freeze) probes.push(['a 16H of 3 bytes (mm hh DD, no MM)', frame(FC.freeze, Uint8Array.of(0x99, 0x99, 0x99)), FC.freeze, [OTHER]]);
      else ctx.log('16H probe skipped: meter.capabilities.freeze is false');
      if (baudChangeGate(t) === null) {
        const z = featureWord(t.profile.meter.line.baudRate);
        probes.push([`a 17H of 2 bytes (Z = ${hex2(z)}H, then 00H)`, frame(FC.baud, Uint8Array.of(z, 0x00)), FC.baud, [OTHER]]);
      } else ctx.log(`17H probe skipped: ${baudChangeGate(t)}`);
      if (caps.remoteControl) {
        // PA P0-P2, C0-C3, N1 = 2BH (alarm release: harmless should a meter act on it), N2, and five
        // of the six valid-until bytes: 15 of 16 (PROTOCOLS.md 1.5).
        const short = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0x2b, 0x00, 0, 0, 0, 0, 0);
        probes.push(['a 1CH of 15 bytes (the valid-until one byte short)', frame(FC.remoteControl, short), FC.remoteControl, [OTHER]]);
      } else ctx.log('1CH probe skipped: meter.capabilities.remoteControl is false');
      if (t.profile.meter.multiFunctionOutputs.length > 0) {
        probes.push(['a 1DH with no output-type byte', frame(FC.multiFunctionOutput, new Uint8Array(0)), FC.multiFunctionOutput, [OTHER]]);
      } else ctx.log('1DH probe skipped: meter.multiFunctionOutputs is empty');
      if (caps.readAddressWithWildcard) probes.push(['a 13H to AAAAAAAAAAAA carrying one data byte', frame(FC.readAddress, Uint8Array.of(0x00), WILDCARD_ADDRESS), FC.readAddress, []]);
      else ctx.log('13H probe skipped: meter.capabilities.readAddressWithWildcard is false');

      await requireAlive(ctx, t, probes[0]![0]);
      for (const [what, bytes, fc, bits] of probes) {
        if (bits.length === 0) {
          const replies = await probe(t, bytes, silenceWindowMs(t));
          ctx.check(replies.length === 0, `${what} was answered (${describeReplies(replies)}): ${hex2(fc)}H has no abnormal reply, so the meter must stay silent`);
        } else {
          checkAbnormal(ctx, await probe(t, bytes), fc, bits, what);
        }
        await requireStillAlive(ctx, t, what);
      }
    },
  },
  {
    id: 'programming.follow-up-without-read',
    requirement: 'DLT645-28',
    title: 'A 12H names its item itself: after an 11H of another item it gets that item\'s frame (or D2H 02H), never another item\'s bytes; an item the meter lacks gets D2H 02H',
    applies: needsFollowUpItems,
    async run(ctx, t) {
      const address = meterAddress(t);
      const [a, b] = t.profile.meter.followUpIdentifiers;
      const di = a!;
      await requireAlive(ctx, t, `a read of ${di}`);
      /** Frame 1 of `x` as a read gives it: 11H, then 12H SEQ 1 straight after. */
      const frameOne = async (x: string): Promise<Uint8Array | null> => {
        const first = (await ask(t, address, { kind: 'readData', di: x, extra: new Uint8Array(0) }))[0]?.message;
        if (first?.kind !== 'readDataResponse' || !first.hasFollowUp) return null;
        const next = (await ask(t, address, { kind: 'readFollowUp', di: x, seq: 1 }))[0]?.message;
        return next?.kind === 'readFollowUpResponse' ? next.payload : null;
      };
      /** Judges a reply to a 12H for `di` SEQ 1: frame 1 of `di` (`expected`), or D2H 02H alone. */
      const judge = (replies: readonly ProbeReply[], expected: Uint8Array, what: string, otherFrame: Uint8Array | null): void => {
        const m = replies[0]?.message;
        if (m?.kind === 'errorResponse') {
          // A meter that keeps no read of the item in progress may refuse: "no requested data" alone.
          checkErrorWord(ctx, replies, FC.followUp, [NO_DATA], what);
        } else if (m?.kind !== 'readFollowUpResponse') {
          ctx.check(false, `${what} was answered with ${describeReplies(replies)}, not 92H/B2H with frame 1 of ${di} (or D2H 02H)`);
        } else {
          ctx.check(m.di === di && m.seq === 1, `${what} was answered for ${m.di} SEQ ${m.seq}, not ${di} SEQ 1`);
          ctx.check(
            bytesEqual(m.payload, expected),
            `${what} carries ${show(m.payload)}, not frame 1 of ${di} (${show(expected)})` + (otherFrame && bytesEqual(m.payload, otherFrame) ? `: those are the bytes of ${other}, the item of the last 11H` : ''),
          );
        }
      };
      const other = b ?? ordinaryIdentifier(t);
      // First a 12H before any 11H of the item in this case (on a meter just started, before any
      // multi-frame read at all): the same answer is owed.
      const cold = `a 12H for ${di} SEQ 1 with no 11H of ${di} before it`;
      const coldReplies = await ask(t, address, { kind: 'readFollowUp', di, seq: 1 });
      await requireStillAlive(ctx, t, cold);
      let expected = await frameOne(di);
      if (!expected) ctx.inconclusive(`${di} does not come as an 11H with follow-up and a 12H SEQ 1 (reading.follow-up judges that)`);
      judge(coldReplies, expected!, cold, null);
      // The 11H in progress when the 12H comes: another follow-up item, else an ordinary one.
      let otherFrame = b ? await frameOne(b) : null;
      if (otherFrame && bytesEqual(otherFrame, expected!) && t.virtualTime) {
        // Both items hold the same bytes (no daily freeze yet): a 12H served from the wrong item
        // would look right. A simulated meter is given a day of virtual time to freeze one.
        ctx.log(`${di} and ${b} frame 1 hold the same bytes: waiting a day of virtual time for a freeze that tells them apart`);
        await t.clock.sleep(FOLLOW_UP_WAIT_MS);
        expected = (await frameOne(di)) ?? expected;
        otherFrame = await frameOne(b!);
      }
      if (otherFrame && bytesEqual(otherFrame, expected!)) ctx.log(`${di} and ${other} frame 1 hold the same bytes: a 12H answered from ${other} cannot be told from one answered from ${di}`);
      await ask(t, address, { kind: 'readData', di: other, extra: new Uint8Array(0) });
      const what = `a 12H for ${di} SEQ 1 right after an 11H of ${other}`;
      judge(await ask(t, address, { kind: 'readFollowUp', di, seq: 1 }), expected!, what, otherFrame);
      await requireStillAlive(ctx, t, what);

      const unknown = t.profile.meter.unsupportedIdentifier;
      const what2 = `a 12H for ${unknown} (meter.unsupportedIdentifier) SEQ 1`;
      checkErrorWord(ctx, await ask(t, address, { kind: 'readFollowUp', di: unknown, seq: 1 }), FC.followUp, [NO_DATA], what2);
      await requireStillAlive(ctx, t, what2);
    },
  },
  {
    id: 'programming.follow-up-sequence-out-of-range',
    requirement: 'DLT645-28',
    title: 'A 12H with a SEQ that names no frame of the item gets D2H "no requested data"',
    applies: needsFollowUpItems,
    async run(ctx, t) {
      const address = meterAddress(t);
      const di = t.profile.meter.followUpIdentifiers[0]!;
      await requireAlive(ctx, t, `a read of ${di}`);
      const read = await t.master.readData(address, di);
      const frames = read.exchanges.length;
      if (frames < 2) ctx.inconclusive(`${di} came in ${frames} frame: there is no last follow-up frame to go past (reading.follow-up judges that)`);
      // Follow-up frames carry SEQ 1 .. frames-1 (DLT645-06): SEQ `frames` and SEQ 0 name none.
      for (const seq of [frames, 0]) {
        if (seq > MAX_SEQ) continue; // 255 follow-up frames: SEQ cannot name one more
        const what = `a 12H for ${di} with SEQ ${seq} (the item has follow-up frames 1..${frames - 1})`;
        checkAbnormal(ctx, await ask(t, address, { kind: 'readFollowUp', di, seq }), FC.followUp, [NO_DATA], what);
        await requireStillAlive(ctx, t, what);
      }
    },
  },
  {
    id: 'programming.time-sync-own-address',
    requirement: 'DLT645-09',
    title: 'A time sync (08H) sent to the meter\'s own address gets no reply; the clock is set from it or left as it was',
    applies: (t) =>
      t.profile.meter.capabilities.broadcastTimeSync
        ? requireDeclared(t, DATE_AND_WEEK, 'reading the clock') ?? requireDeclared(t, TIME_OF_DAY, 'reading the clock')
        : 'meter.capabilities.broadcastTimeSync is false',
    async run(ctx, t) {
      const address = meterAddress(t);
      const what = `a time sync (08H) to the meter's own address ${address}`;
      await requireAlive(ctx, t, what);
      const tolerance = (t.profile.limits?.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S) * 1000;
      const before = await meterInstant(t);
      const harnessBefore = t.clock.now();
      // The harness time: a meter that takes the unicast 08H is set right, not wrong.
      const sent = toCalendar(t.clock.now());
      ctx.log(`08H to ${address} with ${formatCalendar(sent)} (UTC+8)`);
      const replies = await probe(t, encodeMessage(address, { kind: 'broadcastTimeSync', time: sent }, { preamble: t.master.preamble }), silenceWindowMs(t));
      ctx.check(replies.length === 0, `${what} was answered (${describeReplies(replies)}): 08H has no reply, normal or abnormal (PROTOCOLS.md 1.3)`);
      await requireStillAlive(ctx, t, what);
      const after = await meterInstant(t);
      const now = t.clock.now();
      const set = Math.abs(after.at - now) <= tolerance;
      const kept = Math.abs(after.at - (before.at + (now - harnessBefore))) <= tolerance;
      if (set && kept) ctx.log('the meter clock was already within tolerance of the harness clock: whether the 08H set it cannot be told');
      else if (set) ctx.log(`the meter set its clock from ${what} (it was ${Math.round((before.at - harnessBefore) / 1000)} s off)`);
      else if (kept) ctx.log(`the meter ignored ${what} (a non-standard use of 08H that some meters accept: vectors/dlt645.json frame 43)`);
      ctx.check(
        set || kept,
        `after ${what} the meter clock is ${Math.round((after.at - now) / 1000)} s off the time sent and ${Math.round((after.at - before.at - (now - harnessBefore)) / 1000)} s off its own time: it was neither set nor left alone`,
      );
    },
  },
  {
    id: 'programming.write-read-back',
    requirement: 'DLT645-20',
    title: 'A write (14H) with the right password is acknowledged with 94H, stored, read back and restored',
    applies: (t) => {
      if (!t.profile.meter.capabilities.writeData) return 'meter.capabilities.writeData is false';
      const pw = passwordFor(t, 'writeData');
      if (typeof pw === 'string') return pw;
      return requireDeclared(t, t.profile.meter.writableIdentifier, 'meter.writableIdentifier');
    },
    async run(ctx, t) {
      const password = passwordFor(t, 'writeData') as Password;
      await requireAlive(ctx, t, 'the write');
      const { di, before, oldValue, newValue, newBytes } = await writableNeighbour(ctx, t);
      ctx.log(`${di}: ${oldValue} -> ${newValue} with the ${describePassword(password)} password`);
      const written = await ctx.step(`write ${di} = ${newValue}`, () =>
        writeAcknowledged(ctx, t, di, newBytes, password, `a write of ${di} = ${newValue} with the ${describePassword(password)} password`),
      );
      if (!written) return;
      try {
        const after = await readPayload(t, di);
        ctx.check(
          bytesEqual(after, newBytes),
          `${di} reads ${show(after)} after a write of ${newValue} (${show(newBytes)}) acknowledged with 94H: the value was not stored`,
        );
      } finally {
        await ctx.step(`restore ${di} = ${oldValue}`, async () => {
          if (await writeAcknowledged(ctx, t, di, before, password, `the write restoring ${di} = ${oldValue}`)) {
            const restored = await readPayload(t, di);
            ctx.check(bytesEqual(restored, before), `${di} reads ${show(restored)} after the write restoring ${show(before)}`);
          }
        });
      }
    },
  },
  {
    id: 'programming.write-refusals',
    requirement: 'DLT645-21',
    title: 'A refused write (14H) names why: unknown identifier, read-only identifier, undecodable value',
    applies: (t) => {
      if (!t.profile.meter.capabilities.writeData) return 'meter.capabilities.writeData is false';
      const pw = passwordFor(t, 'writeData');
      if (typeof pw === 'string') return pw;
      return requireDeclared(t, t.profile.meter.writableIdentifier, 'meter.writableIdentifier');
    },
    async run(ctx, t) {
      const address = meterAddress(t);
      const password = passwordFor(t, 'writeData') as Password;
      const write = (di: string, payload: Uint8Array): Promise<ProbeReply[]> =>
        ask(t, address, { kind: 'writeData', di, password, operator: operator(t), payload });
      await requireAlive(ctx, t, 'the refused writes');

      // 1. An identifier the meter does not have: exactly 02H, never silence. The declared one,
      // and, when that one is in the dictionary, one the dictionary lacks as well (a meter that
      // looks the identifier up in its own table must still answer for one it has never heard of).
      const unknowns = [t.profile.meter.unsupportedIdentifier];
      if (lookup(unknowns[0]!) && !isDeclared(t, UNDEFINED_IDENTIFIER)) {
        const read = await ask(t, address, { kind: 'readData', di: UNDEFINED_IDENTIFIER, extra: new Uint8Array(0) });
        if (read[0]?.message?.kind === 'errorResponse') unknowns.push(UNDEFINED_IDENTIFIER);
        else ctx.log(`${UNDEFINED_IDENTIFIER} (in no table of the standard) not written: a read of it was answered with ${describeReplies(read)}`);
      }
      for (const unknown of unknowns) {
        const payload = new Uint8Array(lookup(unknown)?.length ?? 4);
        const what = unknown === t.profile.meter.unsupportedIdentifier ? `a write of ${unknown} (meter.unsupportedIdentifier)` : `a write of ${unknown} (no identifier of the standard)`;
        checkErrorWord(ctx, await write(unknown, payload), FC.write, [NO_DATA], what);
        await requireStillAlive(ctx, t, what);
      }

      // 2. A read-only identifier: an instantaneous value, so that a meter that wrongly accepts the
      // write cannot damage a billing register. Its own current value, then bytes that are no
      // value at all: either way the refusal is "unauthorised" (or "no requested data", which the
      // shipping firmware cited by DLT645-21 answers for every identifier it does not write), never
      // "other error" — the identifier is not writable, whatever the value.
      const readOnly = t.profile.meter.identifiers.find((di) => {
        const def = lookup(di);
        return def?.access === 'read' && def.category === 'instantaneous' && !def.members && (def.encoding ?? 'bcd') === 'bcd';
      });
      if (readOnly) {
        const current = await readPayload(t, readOnly);
        const name = `the read-only ${readOnly} (${lookup(readOnly)!.name})`;
        for (const [payload, how] of [
          [current, 'its own value'],
          [new Uint8Array(current.length).fill(0xaa), `${show(new Uint8Array(current.length).fill(0xaa))} (not BCD)`],
        ] as const) {
          const what = `a write of ${name} = ${how}`;
          checkErrorWord(ctx, await write(readOnly, payload), FC.write, [UNAUTHORISED, NO_DATA], what);
          await requireStillAlive(ctx, t, what);
        }
      } else {
        ctx.log('read-only refusal not checked: meter.identifiers declares no read-only instantaneous BCD identifier');
      }

      // 3. A value that does not decode: AAH is no BCD digit pair (and not the FF..FF "absent" marker).
      const di = t.profile.meter.writableIdentifier;
      const def = lookup(di);
      if (def && (def.encoding ?? 'bcd') === 'bcd' && !def.fields) {
        const before = await readPayload(t, di);
        const garbage = new Uint8Array(def.length).fill(0xaa);
        const what3 = `a write of ${di} = ${show(garbage)} (not BCD)`;
        checkErrorWord(ctx, await write(di, garbage), FC.write, [OTHER], what3);
        await requireStillAlive(ctx, t, what3);
        const after = await readPayload(t, di);
        ctx.check(bytesEqual(after, before), `${di} changed from ${show(before)} to ${show(after)} after ${what3}`);
      } else {
        ctx.log(`undecodable-value refusal not checked: meter.writableIdentifier ${di} is not a BCD value`);
      }

      // 4. A value that decodes but the meter must refuse: alarm level 1 below alarm level 2
      // (REQUIREMENTS.md FEE-02: "reject a configuration where alarm 1 < alarm 2"). "Other error".
      await refusedAlarmOrder(ctx, t, password, write);

      // 5. Identifiers the dictionary marks writable that this meter may not write: each declared
      // one (clock and meter.writableIdentifier aside) with its own current value, so that a meter
      // that writes it changes nothing. Written: 94H and the value reads the same. Not written:
      // the refusal names it like a read-only one (04H, or 02H), never "other error" (the value is
      // the meter's own, so nothing is wrong with it).
      const writable = t.profile.meter.identifiers.filter((x) => {
        const d = lookup(x);
        return x !== di && d?.access === 'readWrite' && d.category !== 'clock';
      });
      let refused = 0;
      for (const x of writable) {
        const own = await readPayload(t, x);
        const what = `a write of ${x} (${lookup(x)!.name}) = its own value ${show(own)}`;
        const replies = await write(x, own);
        if (replyKind(replies) === 'writeDataResponse') {
          const after = await readPayload(t, x);
          ctx.check(bytesEqual(after, own), `${x} reads ${show(after)} after ${what} acknowledged with 94H`);
          continue;
        }
        refused++;
        checkErrorWord(ctx, replies, FC.write, [UNAUTHORISED, NO_DATA], what);
        await requireStillAlive(ctx, t, what);
      }
      ctx.log(`${writable.length} declared writable identifiers written with their own value: ${writable.length - refused} accepted, ${refused} refused`);
    },
  },
  {
    id: 'programming.password-levels',
    requirement: 'DLT645-22',
    title: 'The password of a weaker level than a command needs is refused with error bit 2',
    applies: (t) => {
      const caps = t.profile.meter.capabilities;
      const levels = t.profile.meter.passwordLevels;
      const write = caps.writeData && weakerPasswords(t, 'writeData').length > 0 && isDeclared(t, t.profile.meter.writableIdentifier);
      const clear = caps.clearMaxDemand && weakerPasswords(t, 'clear').length > 0 && destructiveGate(t, 'maxDemandClear', '') === null;
      if (write || clear) return null;
      const parts = [
        `meter.passwords declares no level weaker than meter.passwordLevels.writeData ("${levels.writeData}") for a declared meter.writableIdentifier`,
        caps.clearMaxDemand
          ? weakerPasswords(t, 'clear').length > 0
            ? destructiveGate(t, 'maxDemandClear', 'a wrongly accepted 19H clears the maximum demand')!
            : `none weaker than meter.passwordLevels.clear ("${levels.clear}")`
          : 'meter.capabilities.clearMaxDemand is false',
      ];
      return parts.join('; ');
    },
    async run(ctx, t) {
      const address = meterAddress(t);
      const caps = t.profile.meter.capabilities;
      await requireAlive(ctx, t, 'the weak-password commands');
      const weakWrite = caps.writeData && isDeclared(t, t.profile.meter.writableIdentifier) ? weakerPasswords(t, 'writeData')[0] : undefined;
      if (weakWrite) {
        const { di, before, newValue, newBytes } = await writableNeighbour(ctx, t);
        const what = `a write of ${di} = ${newValue} with the ${describePassword(weakWrite)} password (meter.passwordLevels.writeData = "${t.profile.meter.passwordLevels.writeData}")`;
        const replies = await ask(t, address, { kind: 'writeData', di, password: weakWrite, operator: operator(t), payload: newBytes });
        checkAbnormal(ctx, replies, FC.write, [UNAUTHORISED], what);
        const after = await readPayload(t, di);
        if (!ctx.check(bytesEqual(after, before), `${di} changed from ${show(before)} to ${show(after)} after ${what}`)) {
          const password = passwordFor(t, 'writeData');
          if (typeof password !== 'string') await writeAcknowledged(ctx, t, di, before, password, `the write restoring ${di}`);
        }
      }
      const weakClear = caps.clearMaxDemand && destructiveGate(t, 'maxDemandClear', '') === null ? weakerPasswords(t, 'clear')[0] : undefined;
      if (weakClear) {
        const what = `a 19H maximum-demand clear with the ${describePassword(weakClear)} password (meter.passwordLevels.clear = "${t.profile.meter.passwordLevels.clear}")`;
        const demand = isDeclared(t, FORWARD_MAX_DEMAND) ? await measuredDemand(ctx, t) : undefined;
        checkAbnormal(ctx, await ask(t, address, { kind: 'clearMaxDemand', password: weakClear, operator: operator(t) }), FC.demandClear, [UNAUTHORISED], what);
        await requireStillAlive(ctx, t, what);
        if (demand !== undefined && demand > 0) {
          const after = firstNumber((await readValue(t, address, FORWARD_MAX_DEMAND)).value) ?? 0;
          ctx.check(after >= demand, `${FORWARD_MAX_DEMAND} went from ${demand} kW to ${after} kW after ${what}: the weak password cleared it`);
        }
      }
    },
  },
  {
    id: 'programming.change-password',
    requirement: 'DLT645-25',
    title: 'A password change (18H) needs the old password; the new one works, the old one stops; restored after',
    applies: (t) => {
      if (!t.profile.meter.capabilities.changePassword) return 'meter.capabilities.changePassword is false';
      const pw = passwordFor(t, 'writeData');
      if (typeof pw === 'string') return pw;
      return destructiveGate(t, 'passwordChange', `changes the level-${t.profile.meter.passwordLevels.writeData} password, restored afterwards`);
    },
    async run(ctx, t) {
      const address = meterAddress(t);
      const original = passwordFor(t, 'writeData') as Password;
      const level = original.level;
      // 04000C01 names level 0 ... 04000C0A level 9 (PROTOCOLS.md 1.9; layout [BK]).
      const di = `04000C${(level + 1).toString(16).toUpperCase().padStart(2, '0')}`;
      // The new password differs in every digit and has hex letters A-F in its first two (a
      // password is P0 P1 P2, six hex digits): a meter must take it as sent, whatever the case.
      const fresh: Password = {
        level,
        value: [...original.value].map((c, i) => (i < 2 ? 'ABCDEF'[(parseInt(c, 16) + 1) % 6]! : ((parseInt(c, 16) + 5) % 10).toString())).join(''),
      };
      let canWrite = t.profile.meter.capabilities.writeData && isDeclared(t, t.profile.meter.writableIdentifier);
      /** A write of the writable identifier's own value: harmless, and it shows whether `p` is accepted. */
      const worksFor = async (p: Password): Promise<boolean> => {
        const di2 = t.profile.meter.writableIdentifier;
        const current = await readPayload(t, di2);
        return replyKind(await ask(t, address, { kind: 'writeData', di: di2, password: p, operator: operator(t), payload: current })) === 'writeDataResponse';
      };
      const change = (oldPassword: Password, newPassword: Password) => ask(t, address, { kind: 'changePassword', di, oldPassword, newPassword });
      let current = original;
      await requireAlive(ctx, t, 'the password change');
      if (canWrite && !(await worksFor(original))) {
        // Writes are this case's way to see which password works; programming.write-read-back judges the writes.
        ctx.log(`a write with the ${describePassword(original)} password is refused before any change: which password works is not checked`);
        canWrite = false;
      }
      try {
        // 0. A password identifier the meter lacks (04000C01..0A name levels 0..9): "no requested
        // data" alone, even with the right old password.
        const what0 = `an 18H for ${NO_SUCH_PASSWORD} (no password level) with the right old password`;
        const lacking = await ask(t, address, { kind: 'changePassword', di: NO_SUCH_PASSWORD, oldPassword: original, newPassword: { level: 0x0a, value: fresh.value } });
        checkErrorWord(ctx, lacking, FC.password, [NO_DATA], what0);
        await requireStillAlive(ctx, t, what0);
        if (canWrite) ctx.check(await worksFor(original), `the ${describePassword(original)} password no longer works after ${what0}`);

        // 1. Without the old password: refused, nothing changes.
        const wrong = wrongPassword(original);
        const what = `an 18H for ${di} with a wrong old password`;
        const refused = await change(wrong, fresh);
        if (replyKind(refused) === 'changePasswordResponse') {
          current = fresh;
          ctx.check(false, `${what} was accepted (98H): the password changed without the old one`);
        } else {
          checkAbnormal(ctx, refused, FC.password, [UNAUTHORISED], what);
        }
        await requireStillAlive(ctx, t, what);
        if (canWrite && current === original) ctx.check(await worksFor(original), `the ${describePassword(original)} password no longer works after ${what}`);
        if (current !== original) return;

        // 2. With the old password: 98H + the new password; the new one works, the old one no longer.
        const replies = await change(original, fresh);
        const m = replies[0]?.message;
        if (m?.kind !== 'changePasswordResponse') {
          ctx.check(false, `an 18H for ${di} with the right old password was answered with ${replies.length ? describeReply(replies[0]!) : 'silence'}, not 98H`);
          return;
        }
        current = fresh;
        ctx.check(
          m.newPassword.level === fresh.level && m.newPassword.value.toUpperCase() === fresh.value,
          `the 98H reply carries ${describePassword(m.newPassword)} ${m.newPassword.value}, not the new password ${describePassword(fresh)} ${fresh.value}`,
        );
        if (canWrite) {
          ctx.check(await worksFor(fresh), `a write with the new ${describePassword(fresh)} password is refused after the 98H reply`);
          ctx.check(!(await worksFor(original)), `a write with the old ${describePassword(original)} password is still accepted after the change`);
        } else {
          ctx.log('meter.capabilities.writeData is false: whether the new password works is not checked');
        }
      } finally {
        if (current !== original) {
          // 3. Restore, whatever happened above.
          const back = await change(current, original);
          if (replyKind(back) === 'changePasswordResponse') {
            if (canWrite) ctx.check(await worksFor(original), `the restored ${describePassword(original)} password does not work`);
          } else {
            ctx.check(false, `restoring the password failed (${describeReplies(back)}): the meter's ${describePassword(original)} password is now ${current.value}`);
          }
        }
      }
    },
  },
  {
    id: 'programming.broadcast-freeze',
    requirement: 'DLT645-10',
    title: 'A broadcast freeze (16H to 999999999999) gets no reply and records a frozen record now',
    applies: freezeGate,
    async run(ctx, t) {
      const address = meterAddress(t);
      const { time: timeDi, energy: energyDi } = t.profile.meter.freezeIdentifiers;
      await requireAlive(ctx, t, 'the broadcast freeze');
      const { payload: before, value: last } = await readValue(t, address, timeDi);
      // A new record must be told from the last one: its minute must differ.
      let clock = await meterInstant(t);
      const previous = recordInstant(last as Record<string, number>);
      if (previous !== null && Math.floor(previous / 60_000) === Math.floor(clock.at / 60_000)) {
        await t.clock.sleep(60_000 - (clock.at % 60_000) + 1000);
        clock = await meterInstant(t);
      }
      const freeze = encodeMessage(BROADCAST_ADDRESS, { kind: 'freeze', minute: 'any', hour: 'any', day: 'any', month: 'any' }, { preamble: t.master.preamble });
      const replies = await probe(t, freeze, silenceWindowMs(t));
      ctx.check(replies.length === 0, `the broadcast freeze was answered (${replies.length ? describeReply(replies[0]!) : ''}): broadcasts get no reply`);
      await requireStillAlive(ctx, t, 'the broadcast freeze');
      const after = await readPayload(t, timeDi);
      if (bytesEqual(after, before)) ctx.fail(`${timeDi} still reads ${show(before)} after the broadcast freeze: no record was frozen`);
      const record = (await readValue(t, address, timeDi)).value as Record<string, number>;
      const at = recordInstant(record);
      if (at === null) ctx.fail(`${timeDi} reads ${JSON.stringify(record)} after the broadcast freeze, not a calendar time`);
      const tolerance = (t.profile.limits?.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S) + 60;
      ctx.measure(`freeze time offset from the ${clock.source} clock`, Math.abs(at! - clock.at) / 1000, 's', { max: tolerance });
      const frozen = firstNumber((await readValue(t, address, energyDi)).value);
      ctx.check(frozen !== undefined, `${energyDi} did not decode to an energy value`);
      if (frozen !== undefined && isDeclared(t, FORWARD_ACTIVE_TOTAL)) {
        const current = firstNumber((await readValue(t, address, FORWARD_ACTIVE_TOTAL)).value)!;
        ctx.check(frozen <= current, `frozen forward active total ${frozen} kWh exceeds the current register ${current} kWh`);
      }
    },
  },
  {
    id: 'programming.change-baud-rate',
    requirement: 'DLT645-24',
    title: 'A baud-rate change (17H) to each declared rate: 97H + Z, then the meter talks at the new rate; changed back after',
    applies: (t) => baudChangeGate(t),
    async run(ctx, t) {
      const address = meterAddress(t);
      const home = t.profile.meter.line.baudRate;
      const setRate = t.setBaudRate!;
      if (!t.lineSpeedEnforced) {
        ctx.log(`${t.link.name} carries bytes at any rate: the switch itself is judged by ${PORT1_FEATURE_WORD} only`);
      }
      await requireAlive(ctx, t, 'the baud-rate change');
      let lost = false;
      try {
        // The line rate itself is always one the meter can take (it talks at it): 97H + Z, and it
        // stays, whether meter.baudRates lists it or not.
        const homeZ = featureWord(home);
        const same = await ask(t, address, { kind: 'changeBaud', z: homeZ, baudRate: home });
        const sm = same[0]?.message;
        ctx.check(
          sm?.kind === 'changeBaudResponse' && sm.z === homeZ,
          `a 17H to the line rate ${describeRate(home)} was answered with ${describeReplies(same)}, not 97H + ${hex2(homeZ)}H`,
        );
        if (!(await answers(t))) {
          const found = await recoverLineRate(t);
          if (found === null) {
            lost = true;
            ctx.fail(`after a 17H to its own line rate the meter answers at no declared rate`);
          }
          ctx.check(false, `after a 17H to its own line rate ${home} bit/s the meter no longer answers at it (found at ${found} bit/s)`);
        }
        for (const rate of switchRates(t)) {
          const ok = await ctx.step(`switch to ${rate} bit/s and back`, () => switchAndBack(ctx, t, rate));
          if (!ok) {
            // The meter may be anywhere: find it and bring it home before the next rate.
            const found = await recoverLineRate(t);
            if (found === null) {
              lost = true;
              ctx.fail(`the meter no longer answers at ${home} bit/s nor at any declared rate (${[home, ...switchRates(t)].join(', ')})`);
            }
            if (found !== home) ctx.log(`found the meter at ${found} bit/s and sent it back to ${home} bit/s`);
          }
        }
      } finally {
        if (!lost) await setRate(home);
      }
      await requireStillAlive(ctx, t, 'the baud-rate changes', address);
    },
  },
  {
    id: 'programming.baud-rate-wrong-feature-word',
    requirement: 'DLT645-24',
    title: 'A 17H to a rate the meter does not declare, or whose feature word is not exactly one rate bit, gets D7H "baud rate cannot be changed" and the rate stays',
    applies: (t) => baudChangeGate(t),
    async run(ctx, t) {
      const address = meterAddress(t);
      const home = t.profile.meter.line.baudRate;
      // 30H sets two rate bits; 16H/32H/64H is 600888/dlt645's coding of 4800/9600/19200 (BCD of
      // rate / 300, PROTOCOLS.md 1.6): each sets more than one bit of the standard word.
      const words = new Map<number, string>([[0x30, '30H: two rate bits (4800 and 9600)']]);
      for (const rate of t.profile.meter.baudRates) {
        if (rate < 4800) continue;
        const bcd = parseInt(String(rate / 300), 16);
        words.set(bcd, `${hex2(bcd)}H: the BCD of ${rate} / 300, the 600888/dlt645 coding of ${rate} bit/s`);
      }
      await requireAlive(ctx, t, 'the wrong feature words');
      // Valid feature words of rates the meter does not declare (meter.baudRates, the line rate):
      // "baud rate cannot be changed" alone, and the meter stays at its rate.
      for (const rate of undeclaredRates(t)) {
        const z = featureWord(rate);
        const what = `a 17H to ${describeRate(rate)}, a rate meter.baudRates does not declare`;
        const replies = await ask(t, address, { kind: 'changeBaud', z, baudRate: rate });
        checkErrorWord(ctx, replies, FC.baud, [BAUD], what);
        if (replyKind(replies) === 'changeBaudResponse' && !(await answers(t))) {
          // It took the rate: follow it there and send it home.
          await t.setBaudRate!(rate);
          const there = await answers(t);
          if (there) await ask(t, address, { kind: 'changeBaud', z: featureWord(home), baudRate: home });
          await t.setBaudRate!(home);
          if (!(await answers(t))) {
            const found = await recoverLineRate(t);
            ctx.fail(`the meter stopped answering at ${home} bit/s after ${what}` + (there ? ` (it answered at ${rate} bit/s)` : '') + (found === null ? ' and answers at no declared rate' : ` (it was found at ${found} bit/s)`));
          }
          ctx.log(`after ${what} the meter answered at ${rate} bit/s and was sent back to ${home} bit/s`);
        }
        await requireStillAlive(ctx, t, what);
      }
      for (const [z, why] of words) {
        const what = `a 17H with Z = ${why}`;
        const replies = await probe(t, encodeFrame({ address, control: FC.baud, data: Uint8Array.of(z), preamble: t.master.preamble }));
        checkAbnormal(ctx, replies, FC.baud, [BAUD], what);
        if (!(await answers(t))) {
          const found = await recoverLineRate(t);
          ctx.check(false, `the meter stopped answering at ${home} bit/s after ${what}` + (found === null ? ' and answers at no declared rate' : ` (it was found at ${found} bit/s)`));
          if (found === null) return;
        }
      }
    },
  },
  {
    id: 'programming.write-address',
    requirement: 'DLT645-23',
    title: 'A write address (15H) to AAAAAAAAAAAA: 95H, the meter answers at the new address only; restored after',
    applies: (t) =>
      t.profile.meter.capabilities.writeAddress
        ? destructiveGate(t, 'addressWrite', 'changes the communication address, restored afterwards')
        : 'meter.capabilities.writeAddress is false',
    async run(ctx, t) {
      const original = meterAddress(t);
      // The last two digits moved by 50: another address, still 12 BCD digits.
      const moved = original.slice(0, 10) + ((Number(original.slice(10)) + 50) % 100).toString().padStart(2, '0');
      const writeAddress = (to: string) => ask(t, WILDCARD_ADDRESS, { kind: 'writeAddress', newAddress: to });
      await requireAlive(ctx, t, 'the address write');
      let current = original;
      try {
        // A 15H through the meter's own address, not the wildcard: ignored (no reply, no change).
        const what0 = `a 15H with the new address ${moved} sent to the meter's own address ${original} (not AAAAAAAAAAAA)`;
        const direct = await ask(t, original, { kind: 'writeAddress', newAddress: moved }, silenceWindowMs(t));
        ctx.check(direct.length === 0, `${what0} was answered (${describeReplies(direct)}): 15H is taken only through AAAAAAAAAAAA`);
        if (await answers(t, moved)) {
          current = moved;
          ctx.fail(`after ${what0} the meter answers at ${moved}: it took the new address`);
        }
        await requireStillAlive(ctx, t, what0);

        const replies = await writeAddress(moved);
        const r = replies[0];
        if (r?.message?.kind !== 'writeAddressResponse') {
          ctx.check(false, `a 15H to AAAAAAAAAAAA with the new address ${moved} was answered with ${r ? describeReply(r) : 'silence'}, not 95H`);
        } else {
          ctx.check(r.address === moved || r.address === original, `the 95H reply carries the address ${r.address ?? '?'}, neither the new ${moved} nor the old ${original}`);
        }
        if (await answers(t, moved)) current = moved;
        else if (!(await answers(t, original))) ctx.fail(`after the 15H the meter answers neither at ${moved} nor at ${original}`);
        if (current !== moved) return void ctx.check(false, `after the 15H the meter still answers only at its old address ${original}`);
        const old = await ask(t, original, { kind: 'readData', di: ordinaryIdentifier(t), extra: new Uint8Array(0) }, silenceWindowMs(t));
        ctx.check(old.length === 0, `after the 15H the meter still answers at its old address ${original} (${old.length ? describeReply(old[0]!) : ''})`);
        if (t.profile.meter.capabilities.readAddressWithWildcard) {
          const reported = await t.master.readAddress();
          ctx.check(reported === moved, `read address (13H) returns ${reported} after the change to ${moved}`);
        }
        if (isDeclared(t, COMM_ADDRESS)) {
          const v = (await readValue(t, moved, COMM_ADDRESS)).value;
          ctx.check(v === moved, `${COMM_ADDRESS} reads ${String(v)} after the change to ${moved}`);
        }
      } finally {
        if (current !== original) {
          const back = await writeAddress(original);
          ctx.check(replyKind(back) === 'writeAddressResponse', `the 15H restoring ${original} was answered with ${describeReplies(back)}, not 95H`);
          if (!(await answers(t, original))) ctx.fail(`restoring the address failed: the meter does not answer at ${original} (last set to ${current})`);
        }
      }
    },
  },
  {
    id: 'programming.clear-max-demand',
    requirement: 'DLT645-26',
    title: 'Maximum-demand clear (19H): a wrong password is refused, the right one clears the demand',
    applies: (t) => clearGate(t, 'clearMaxDemand', 'maxDemandClear', 'erases the maximum-demand registers') ?? requireDeclared(t, FORWARD_MAX_DEMAND, 'the maximum demand'),
    async run(ctx, t) {
      const address = meterAddress(t);
      const password = passwordFor(t, 'clear') as Password;
      await requireAlive(ctx, t, 'the 19H clear');
      const before = await measuredDemand(ctx, t);
      if (before === 0) ctx.inconclusive(`${FORWARD_MAX_DEMAND} reads 0 kW: a clear cannot be observed (let the meter carry a load for a whole demand period first)`);
      const demand = async (): Promise<number> => firstNumber((await readValue(t, address, FORWARD_MAX_DEMAND)).value) ?? NaN;
      const what = 'a 19H with a wrong password';
      checkAbnormal(ctx, await ask(t, address, { kind: 'clearMaxDemand', password: wrongPassword(password), operator: operator(t) }), FC.demandClear, [UNAUTHORISED], what);
      await requireStillAlive(ctx, t, what);
      const kept = await demand();
      ctx.check(kept >= before, `${FORWARD_MAX_DEMAND} went from ${before} kW to ${kept} kW after ${what}`);
      const replies = await ask(t, address, { kind: 'clearMaxDemand', password, operator: operator(t) });
      if (!ctx.check(replyKind(replies) === 'clearMaxDemandResponse', `a 19H with the ${describePassword(password)} password was answered with ${describeReplies(replies)}, not 99H`)) return;
      const after = await demand();
      ctx.check(after === 0, `${FORWARD_MAX_DEMAND} reads ${after} kW after the 99H reply (was ${before} kW): not cleared`);
    },
  },
  {
    id: 'programming.event-clear',
    requirement: 'DLT645-26',
    title: 'Event clear (1BH, all events): a wrong password is refused, the right one zeroes the event counts',
    applies: (t) =>
      clearGate(t, 'eventClear', 'eventClear', 'erases the event records') ??
      (EVENT_COUNTS.some((di) => isDeclared(t, di)) ? null : `meter.identifiers declares none of the event counts ${EVENT_COUNTS.join(', ')}`),
    async run(ctx, t) {
      const address = meterAddress(t);
      const password = passwordFor(t, 'clear') as Password;
      const counts = EVENT_COUNTS.filter((di) => isDeclared(t, di));
      const read = async (): Promise<Map<string, number>> => {
        const out = new Map<string, number>();
        for (const di of counts) out.set(di, firstNumber((await readValue(t, address, di)).value) ?? NaN);
        return out;
      };
      await requireAlive(ctx, t, 'the 1BH clear');
      let before = await read();
      if (![...before.values()].some((n) => n > 0)) {
        // Make an event: a write of the writable identifier's own value is a programming event.
        const pw = passwordFor(t, 'writeData');
        const di = t.profile.meter.writableIdentifier;
        if (t.profile.meter.capabilities.writeData && typeof pw !== 'string' && isDeclared(t, di)) {
          // Only a means to an event: programming.write-read-back judges whether writes work.
          const replies = await ask(t, address, { kind: 'writeData', di, password: pw, operator: operator(t), payload: await readPayload(t, di) });
          ctx.log(`a write of ${di}'s own value to record a programming event: ${describeReplies(replies)}`);
          before = await read();
        }
      }
      const witness = [...before].find(([, n]) => n > 0);
      if (!witness) ctx.inconclusive(`every event count (${counts.join(', ')}) reads 0: a clear cannot be observed`);
      const [countDi, count] = witness!;
      const what = 'a 1BH (all events) with a wrong password';
      const clear = (p: Password) => ask(t, address, { kind: 'eventClear', password: p, operator: operator(t), di: ALL_EVENTS });
      checkAbnormal(ctx, await clear(wrongPassword(password)), FC.eventClear, [UNAUTHORISED], what);
      await requireStillAlive(ctx, t, what);
      const kept = firstNumber((await readValue(t, address, countDi)).value) ?? NaN;
      ctx.check(kept >= count, `${countDi} went from ${count} to ${kept} after ${what}`);
      const replies = await clear(password);
      if (!ctx.check(replyKind(replies) === 'eventClearResponse', `a 1BH with the ${describePassword(password)} password was answered with ${describeReplies(replies)}, not 9BH`)) return;
      for (const [di, n] of await read()) ctx.check(n === 0, `event count ${di} reads ${n} after the 9BH reply (was ${before.get(di)}): not cleared`);
    },
  },
  {
    id: 'programming.meter-clear',
    requirement: 'DLT645-26',
    title: 'Meter clear (1AH): a wrong password is refused, the right one zeroes the energy registers',
    applies: (t) => clearGate(t, 'meterClear', 'meterClear', 'erases energy, demand, freezes and events') ?? requireDeclared(t, FORWARD_ACTIVE_TOTAL, 'the energy register'),
    async run(ctx, t) {
      const address = meterAddress(t);
      const password = passwordFor(t, 'clear') as Password;
      const energy = async (): Promise<number> => firstNumber((await readValue(t, address, FORWARD_ACTIVE_TOTAL)).value) ?? NaN;
      await requireAlive(ctx, t, 'the 1AH clear');
      const before = await energy();
      if (!(before > METER_CLEAR_RESIDUE_KWH)) {
        ctx.inconclusive(`${FORWARD_ACTIVE_TOTAL} reads ${before} kWh: a clear cannot be told from the energy counted after it (≤ ${METER_CLEAR_RESIDUE_KWH} kWh)`);
      }
      const what = 'a 1AH with a wrong password';
      checkAbnormal(ctx, await ask(t, address, { kind: 'meterClear', password: wrongPassword(password), operator: operator(t) }), FC.meterClear, [UNAUTHORISED], what);
      await requireStillAlive(ctx, t, what);
      const kept = await energy();
      ctx.check(kept >= before, `${FORWARD_ACTIVE_TOTAL} went from ${before} kWh to ${kept} kWh after ${what}`);
      const replies = await ask(t, address, { kind: 'meterClear', password, operator: operator(t) });
      if (!ctx.check(replyKind(replies) === 'meterClearResponse', `a 1AH with the ${describePassword(password)} password was answered with ${describeReplies(replies)}, not 9AH`)) return;
      const after = await energy();
      ctx.measure(`${FORWARD_ACTIVE_TOTAL} after the 9AH reply`, after, 'kWh', { max: METER_CLEAR_RESIDUE_KWH });
    },
  },
  {
    id: 'programming.multi-function-output',
    requirement: 'DLT645-34',
    title: 'Multi-function terminal output (1DH): each declared output type answered 9DH, an undeclared one refused with DDH',
    applies: (t) => (t.profile.meter.multiFunctionOutputs.length > 0 ? null : 'meter.multiFunctionOutputs is empty'),
    async run(ctx, t) {
      const address = meterAddress(t);
      const declared = t.profile.meter.multiFunctionOutputs.map((h) => parseInt(h, 16));
      await requireAlive(ctx, t, 'the 1DH requests');
      for (const output of declared) {
        const what = `a 1DH to output type ${hex2(output)}H (declared in meter.multiFunctionOutputs)`;
        const replies = await ask(t, address, { kind: 'multiFunctionOutput', output });
        const m = replies[0]?.message;
        if (!ctx.check(m?.kind === 'multiFunctionOutputResponse', `${what} was answered with ${describeReplies(replies)}, not 9DH`)) continue;
        if (m?.kind === 'multiFunctionOutputResponse' && m.output !== null) {
          ctx.check(m.output === output, `${what} was answered 9DH with output type ${hex2(m.output)}H`);
        }
      }
      // The lowest output type the meter does not declare: 03H for the three types of the source.
      const undeclared = [...Array(256).keys()].find((o) => !declared.includes(o))!;
      const what = `a 1DH to output type ${hex2(undeclared)}H (not in meter.multiFunctionOutputs)`;
      checkAbnormal(ctx, await ask(t, address, { kind: 'multiFunctionOutput', output: undeclared }), FC.multiFunctionOutput, [OTHER, NO_DATA, UNAUTHORISED], what);
      await requireStillAlive(ctx, t, what);
    },
  },
];

/** Null when a 19H/1AH/1BH case may run; otherwise the reason naming the capability, password or opt-in. */
function clearGate(
  t: Target,
  capability: 'clearMaxDemand' | 'meterClear' | 'eventClear',
  optIn: 'maxDemandClear' | 'meterClear' | 'eventClear',
  what: string,
): string | null {
  if (!t.profile.meter.capabilities[capability]) return `meter.capabilities.${capability} is false`;
  const pw = passwordFor(t, 'clear');
  if (typeof pw === 'string') return pw;
  return destructiveGate(t, optIn, what);
}

/**
 * The forward active maximum demand. A meter measures demand over whole periods (15 min), so a
 * simulated meter just started reads 0: wait two periods of virtual time. A real meter is read
 * as it is.
 */
async function measuredDemand(ctx: CheckContext, t: Target): Promise<number> {
  const read = async (): Promise<number> => firstNumber((await readValue(t, meterAddress(t), FORWARD_MAX_DEMAND)).value) ?? NaN;
  let kW = await read();
  if (kW === 0 && t.virtualTime) {
    ctx.log(`${FORWARD_MAX_DEMAND} reads 0 kW: waiting two demand periods of virtual time`);
    await t.clock.sleep(2 * DEMAND_PERIOD_MS);
    kW = await read();
  }
  return kW;
}

/** One line for a reply list: its description, or "silence". */
function describeReplies(list: readonly ProbeReply[]): string {
  return list.length > 0 ? describeReply(list[0]!) : 'silence';
}

/**
 * One 17H round trip to `rate`: 97H + Z at the line rate, the meter answers at `rate` (and
 * reports Z in 04000703 when declared), 17H back, the meter answers at the line rate. Returns
 * false when the meter's whereabouts are unknown (the caller then recovers it).
 */
async function switchAndBack(ctx: CheckContext, t: Target, rate: number): Promise<boolean> {
  const address = meterAddress(t);
  const home = t.profile.meter.line.baudRate;
  const setRate = t.setBaudRate!;
  const z = featureWord(rate);
  const to = await ask(t, address, { kind: 'changeBaud', z, baudRate: rate });
  const m = to[0]?.message;
  if (m?.kind === 'errorResponse') {
    ctx.check(
      false,
      `a 17H to ${describeRate(rate)} was refused with error word ${hex2(m.errorWord)}H (${m.errors.map(describeBit).join(', ') || 'no bit set'}): the meter declares ${rate} bit/s in meter.baudRates`,
    );
    return answers(t);
  }
  if (m?.kind !== 'changeBaudResponse') {
    ctx.check(false, `a 17H to ${describeRate(rate)} was answered with ${describeReplies(to)}, not 97H + ${hex2(z)}H`);
    return false;
  }
  ctx.check(m.z === z, `the 97H reply to a 17H to ${describeRate(rate)} carries Z = ${describeFeatureWord(m.z)}, not ${hex2(z)}H`);
  await setRate(rate);
  if (!(await answers(t))) {
    await setRate(home);
    const stayed = await answers(t);
    ctx.check(
      false,
      `after its 97H reply the meter does not answer at ${rate} bit/s` + (stayed ? ` and still answers at ${home} bit/s: the new rate was never applied` : ''),
    );
    return stayed;
  }
  if (isDeclared(t, PORT1_FEATURE_WORD)) {
    const v = (await readValue(t, address, PORT1_FEATURE_WORD)).value;
    ctx.check(v === z, `${PORT1_FEATURE_WORD} reads ${typeof v === 'number' ? describeFeatureWord(v) : String(v)} at the new rate, expected ${hex2(z)}H (${rate} bit/s)`);
  }
  const homeZ = featureWord(home);
  const back = await ask(t, address, { kind: 'changeBaud', z: homeZ, baudRate: home });
  ctx.check(replyKind(back) === 'changeBaudResponse', `the 17H back to ${describeRate(home)} was answered with ${describeReplies(back)}, not 97H + ${hex2(homeZ)}H`);
  await setRate(home);
  const returned = await answers(t);
  ctx.check(returned, `after the 17H back to ${home} bit/s the meter does not answer at ${home} bit/s`);
  return returned;
}

/** The programming suite: every case reports meter faults (no reply, undecodable data) as failures with evidence. */
export const programmingCases: Case[] = cases.map((c) => asReadingCase(c));
