/**
 * The switching suite for DL/T 645-2007 meters (issue 8): remote control 1CH at the meter — trip,
 * close allowed, direct close, alarm, keep-power (保电) — and the refusals a meter owes (wrong
 * password, expired or malformed valid-until, a trip under keep-power, a command it does not
 * offer). One case per command and refusal, each tied to a requirement in suites/requirements and
 * gated by the declaration (meter.capabilities.remoteControl / keepPower, meter.remoteControl,
 * meter.relay); every skip names the field.
 *
 * Each case is judged three ways: the reply (9CH, or DCH with the declared error word), status word
 * 3 (PROTOCOLS.md 1.8: bit4 relay, bit6 command, bit7 alarm, bit12 keep-power), and on simulated
 * targets the simulator's relay itself. The time from a command to the relay state the meter
 * reports is a measurement with its limit. Every case first shows the meter answers and starts
 * from relay closed / keep-power off, and puts the meter back there at the end. Steps that need a
 * person at a real meter (hold the close key, cycle the mains) end the case inconclusive, naming
 * the step: MeterLab has no operator confirmation in the target profile.
 */
import type { Password, RemoteControlCommandCode } from '../../harness/protocols/dlt645/index.ts';
import type { Target } from '../../harness/targets/index.ts';
import type { CheckContext, ConformanceCase } from '../framework/case.ts';
import { describePassword, isDeclared, requireAlive, wrongPassword } from '../programming/support.ts';
import { asReadingCase, readValue, type ReadingCase } from '../reading/probe.ts';
import {
  N1,
  RELAY_SETTLE_MS,
  TRIP_COUNT,
  actualRelay,
  atBase,
  checkAccepted,
  checkRefused,
  checkReplyShape,
  checkStatusTruth,
  commandGate,
  controlPassword,
  declaredErrorWord,
  describeCommand,
  type Expected,
  describeStatus,
  expectStatus,
  keepPowerGate,
  readStatus,
  restoreMeter,
  sendControl,
  sendMalformedValidUntil,
  supports,
  switchingBudgetMs,
  tripAndWait,
  tripDelay,
  validUntil,
  waitForRelay,
  wayBackGate,
} from './support.ts';

/** A switching case: its body gets the 1CH password; the wrapper handles liveness, the starting state and the restore. */
interface SwitchingCase {
  readonly id: string;
  readonly requirement: string;
  readonly title: string;
  applies?(t: Target): string | null;
  /** Time the case needs beyond the usual switching budget (a long restore time). */
  extraBudgetMs?(t: Target): number;
  run(ctx: CheckContext, t: Target, password: Password): Promise<void>;
}

/** Why a case needing a person at a real meter cannot conclude (FEE-11 key, mains cycle). */
function needsPerson(step: string): string {
  return `${step} needs a person at the meter; MeterLab has no operator confirmation in the target profile, so this step cannot be confirmed (run it against a simulated target, or check it by hand)`;
}

/** Mains off long enough for a meter to lose its supply (several seconds of the meter's hold-up time, [BK]). */
const MAINS_OFF_MS = 10_000;
/** The last trip record 上1次跳闸记录 (time, operator code, energy; DL/T 645-2007 appendix A, FEE-07). */
const LAST_TRIP_RECORD = '1D000101';
/** The last close record 上1次合闸记录 (time, operator code, energy; DL/T 645-2007 appendix A). */
const LAST_CLOSE_RECORD = '1E000101';
/** Remaining amount 剩余金额 (yuan), DL/T 645-2007 appendix A. */
const REMAINING_AMOUNT = '00900200';
/** Load that runs a local meter's balance down in virtual time, kW: below the reference's large-current protection (60 A a phase at 220 V). */
const LOCAL_LOAD_KW = 20;
/** How often the balance run-down looks at the relay (virtual time). */
const LOCAL_POLL_MS = 30 * 60_000;
/** Longest run-down before the case gives up (virtual time). */
const LOCAL_RUN_DOWN_LIMIT_MS = 14 * 24 * 3_600_000;
/** A top-up that makes any exhausted balance positive again (yuan). */
const LOCAL_TOP_UP = 100;

async function readAmount(t: Target): Promise<number> {
  const { value } = await readValue(t, t.profile.meter.address, REMAINING_AMOUNT);
  return typeof value === 'number' ? value : NaN;
}

/**
 * N2 of the pre-trip probes: two units of the declared restore time (FEE-10; 2 × 5 min by default),
 * so a meter that ignores N2 and restores after its 300 s default is told apart.
 */
const PRE_TRIP_N2 = 2;

/** A 1CH N1 that PROTOCOLS.md 1.5 gives no meaning: every meter must refuse it. */
const UNDEFINED_N1 = 0x55;

function switchingCase(c: SwitchingCase): ReadingCase {
  return {
    id: c.id,
    requirement: c.requirement,
    title: c.title,
    applies: (t) => {
      const own = c.applies?.(t) ?? null;
      if (own) return own;
      const pw = controlPassword(t);
      return typeof pw === 'string' ? pw : null;
    },
    timeoutMs: (t) => switchingBudgetMs(t) + (c.extraBudgetMs?.(t) ?? 0),
    async run(ctx, t) {
      const password = controlPassword(t) as Password;
      await requireAlive(ctx, t, `the first 1CH of ${c.id}`);
      const start = await readStatus(t);
      if (!atBase(start)) {
        ctx.log(`starting state: ${describeStatus(start)}; restoring`);
        const problem = await restoreMeter(t, password, (l) => ctx.log(l));
        if (problem) ctx.inconclusive(`the meter is not in the state the case starts from (relay closed, command close, keep-power off) and could not be brought there: ${problem}`);
      }
      try {
        await c.run(ctx, t, password);
      } finally {
        const problem = await restoreMeter(t, password, (l) => ctx.log(l));
        ctx.check(problem === null, `the meter could not be put back (relay closed, command close, keep-power off) after the case: ${problem}`);
      }
    },
  };
}

/** Sends `code` and requires 9CH; a refusal stops the case (what follows would judge nothing). */
async function command(ctx: CheckContext, t: Target, password: Password, code: RemoteControlCommandCode, when = ''): Promise<number> {
  const what = `${describeCommand(code)}${when}`;
  if (!checkAccepted(ctx, await sendControl(t, N1[code], password), what)) ctx.fail(`${what} was not carried out, so the rest of the case cannot be judged`);
  return t.clock.now();
}

/** Trips and waits for the relay to open; a meter that does not trip cannot be judged here (switching.trip judges that). */
async function tripFirst(ctx: CheckContext, t: Target, password: Password): Promise<void> {
  const problem = await tripAndWait(t, password);
  if (problem) ctx.inconclusive(`${problem} (switching.trip judges the trip)`);
  await expectStatus(ctx, t, { relay: 'open', relayCommand: 'trip' }, `after ${describeCommand('1A')}`);
}

/** Waits out the trip delay plus the settle time and checks the relay is still closed with no trip command. */
async function relayStayedClosed(ctx: CheckContext, t: Target, after: string): Promise<void> {
  await t.clock.sleep(tripDelay(t).max + RELAY_SETTLE_MS);
  await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'close' }, `${((tripDelay(t).max + RELAY_SETTLE_MS) / 1000).toFixed(1)} s after ${after}`);
}

/**
 * FEE-07: the last trip (close) record names the operator code the command carried
 * (`meter.operatorCode`); logged and skipped when the record is not declared.
 */
async function checkRecordOperator(ctx: CheckContext, t: Target, di: string, kind: 'trip' | 'close', command: string): Promise<void> {
  if (!isDeclared(t, di)) return ctx.log(`${kind} record not checked: ${di} is not declared in meter.identifiers`);
  const { value } = await readValue(t, t.profile.meter.address, di);
  const operator = (value as { operator?: unknown } | null)?.operator;
  const declared = t.profile.meter.operatorCode.toUpperCase();
  ctx.check(
    typeof operator === 'string' && operator.toUpperCase() === declared,
    `the last ${kind} record ${di} names operator ${String(operator)}, not the operator code ${declared} the ${command} carried (meter.operatorCode)`,
  );
}

async function readCount(t: Target, di: string): Promise<number | null> {
  if (!isDeclared(t, di)) return null;
  const { value } = await readValue(t, t.profile.meter.address, di);
  return typeof value === 'number' ? value : null;
}

const cases: SwitchingCase[] = [
  {
    id: 'switching.declaration-consistency',
    requirement: 'DLT645-32',
    title: 'The meter takes plain 1CH exactly when it declares capabilities.remoteControl (a harmless command: alarm or keep-power release)',
    async run(ctx, t, password) {
      const m = t.profile.meter;
      if (!m.capabilities.remoteControl) {
        const what = `${describeCommand('2B')} with the ${describePassword(password)} password`;
        const r = (await sendControl(t, N1['2B'], password))[0];
        ctx.check(
          r?.message?.kind !== 'remoteControlResponse',
          `${what} was accepted (9CH) although meter.capabilities.remoteControl is false: the meter takes plain 1CH, declare it (with meter.remoteControl.commands and meter.relay)`,
        );
        if (!r) ctx.log(`${what}: no reply (a meter without 1CH may stay silent)`);
        else ctx.log(`${what}: ${r.message?.kind === 'errorResponse' ? `refused, error word ${r.message.errorWord.toString(16).toUpperCase().padStart(2, '0')}H` : r.message?.kind ?? 'undecodable'}`);
        return;
      }
      const code = (['2B', '3B', '1C', '1B'] as const).find((c) => supports(t, c));
      if (!code) return ctx.notApplicable('meter.remoteControl.commands lists no command that leaves a closed meter as it is (2B, 3B, 1C or 1B)');
      const what = `${describeCommand(code)} with the ${describePassword(password)} password (meter.passwordLevels.remoteControl)`;
      const replies = await sendControl(t, N1[code], password);
      checkAccepted(ctx, replies, `${what}, a command the meter declares (meter.capabilities.remoteControl, meter.remoteControl.commands)`);
      if (isDeclared(t, '04000503')) await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'close', keepPower: false }, `after ${what}`);
    },
  },
  {
    id: 'switching.reply-and-status-word',
    requirement: 'DLT645-29',
    title: '1CH replies have the standard shape (9CH with L = 0, DCH with the error word alone) and status word 3 bits 4/6/7/12 follow each declared command',
    applies: (t) => commandGate(t),
    async run(ctx, t, password) {
      // Each declared command in an order that ends back at the base state (1C or 1B closes what 1A opened; the wrapper restores the rest).
      const steps: { code: RemoteControlCommandCode; expect: Expected; when?: () => boolean }[] = [
        { code: '2A', expect: { preTripAlarm: true, relay: 'closed', relayCommand: 'close' } },
        { code: '2B', expect: { relay: 'closed', relayCommand: 'close' } },
        { code: '3A', expect: { keepPower: true, relay: 'closed', relayCommand: 'close' }, when: () => t.profile.meter.capabilities.keepPower },
        { code: '3B', expect: { keepPower: false, relay: 'closed', relayCommand: 'close' }, when: () => t.profile.meter.capabilities.keepPower },
        { code: '1A', expect: { relayCommand: 'trip' }, when: () => wayBackGate(t) === null },
      ];
      const alarmBefore = (await readStatus(t)).sw3.preTripAlarm;
      let sent = 0;
      for (const step of steps) {
        if (!supports(t, step.code) || (step.when && !step.when())) continue;
        const what = describeCommand(step.code);
        const replies = await sendControl(t, N1[step.code], password);
        const at = t.clock.now();
        sent++;
        if (!checkReplyShape(ctx, replies[0], true, what)) continue;
        // 2BH clears bit7 only when nothing else (a low balance, a pending trip) holds it.
        const expected: Expected = step.code === '2B' && !alarmBefore ? { ...step.expect, preTripAlarm: false } : step.expect;
        const s = await expectStatus(ctx, t, expected, `after ${what}`);
        checkStatusTruth(ctx, t, s, `after ${what}`);
        if (step.code === '1A') {
          const opened = await waitForRelay(ctx, t, 'open', at, tripDelay(t).max + RELAY_SETTLE_MS, 'time from 9CH to 1AH trip to relay open (status word 3 bit4)', `9CH to ${what}`);
          // Whether or not bit4 ever said open, the status word must say what the relay is.
          const after = opened ? await expectStatus(ctx, t, { relay: 'open', relayCommand: 'trip' }, 'after the trip') : await readStatus(t);
          checkStatusTruth(ctx, t, after, 'after the trip');
        }
      }
      if (sent === 0) ctx.log('no declared command could be sent without leaving the meter tripped: only the refusal is checked');
      const refused = await sendControl(t, UNDEFINED_N1, password);
      checkReplyShape(ctx, refused[0], false, `a 1CH with N1 = ${UNDEFINED_N1.toString(16).toUpperCase()}H (no command of PROTOCOLS.md 1.5)`);
      checkStatusTruth(ctx, t, await readStatus(t), 'after the refused command');
    },
  },
  {
    id: 'switching.trip',
    requirement: 'FEE-07',
    title: '1CH 1AH trip: 9CH, status word 3 bit6 at once, bit4 (relay open) after the declared trip delay, the trip counted',
    applies: (t) => commandGate(t, '1A') ?? wayBackGate(t),
    async run(ctx, t, password) {
      const delay = tripDelay(t);
      const countBefore = await readCount(t, TRIP_COUNT);
      const sent = t.clock.now();
      const at = await command(ctx, t, password, '1A');
      const when = `right after 9CH to ${describeCommand('1A')}`;
      if (delay.min > RELAY_SETTLE_MS) {
        // Still inside the declared delay: the command is shown, the relay not yet moved (FEE-07).
        await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'trip', ...(t.profile.meter.relay.preTripAlarm ? { preTripAlarm: true } : {}) }, when);
      } else if (delay.min > 0) {
        const s = await expectStatus(ctx, t, { relayCommand: 'trip', ...(t.profile.meter.relay.preTripAlarm ? { preTripAlarm: true } : {}) }, when);
        // The first read may land after the delay on a slow line: judge the relay only when it still fell inside it.
        if (t.clock.now() - at < delay.min) ctx.check(s.sw3.relay === 'closed', `status word 3 ${when} reports the relay open before the declared trip delay of ${delay.min / 1000} s (meter.relay.tripDelayMs): ${describeStatus(s)}`);
      } else {
        await expectStatus(ctx, t, { relayCommand: 'trip' }, when);
      }
      ctx.log(`1AH sent at ${sent}, 9CH at ${at}`);
      await waitForRelay(ctx, t, 'open', at, delay.max + RELAY_SETTLE_MS, 'time from 9CH to 1AH trip to relay open (status word 3 bit4)', `9CH to ${describeCommand('1A')}`, delay.min);
      await expectStatus(ctx, t, { relay: 'open', relayCommand: 'trip' }, `after the trip delay`);
      if (countBefore !== null) {
        const after = await readCount(t, TRIP_COUNT);
        ctx.check(after === countBefore + 1, `the trip count ${TRIP_COUNT} went from ${countBefore} to ${after} over one trip, expected ${countBefore + 1}`);
      } else ctx.log(`trip count not checked: ${TRIP_COUNT} is not declared in meter.identifiers`);
      await checkRecordOperator(ctx, t, LAST_TRIP_RECORD, 'trip', describeCommand('1A'));
    },
  },
  {
    id: 'switching.close-allowed',
    requirement: 'FEE-11',
    title: '1CH 1BH close allowed after a trip: 9CH, bit6 back to close; an internal relay stays open until the customer holds the key, an external one closes at once',
    applies: (t) => commandGate(t, '1A', '1B') ?? wayBackGate(t),
    async run(ctx, t, password) {
      await tripFirst(ctx, t, password);
      const at = await command(ctx, t, password, '1B', ' after a trip');
      const needsButton = t.profile.meter.relay.closeNeedsButton;
      if (!needsButton) {
        await waitForRelay(ctx, t, 'closed', at, RELAY_SETTLE_MS, 'time from 9CH to 1BH close allowed to relay closed (status word 3 bit4)', `9CH to ${describeCommand('1B')} (meter.relay.closeNeedsButton is false: it closes at once)`);
        await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'close' }, `after ${describeCommand('1B')}`);
        return;
      }
      await expectStatus(ctx, t, { relayCommand: 'close' }, `right after 9CH to ${describeCommand('1B')}`);
      await t.clock.sleep(RELAY_SETTLE_MS);
      await expectStatus(ctx, t, { relay: 'open' }, `${RELAY_SETTLE_MS / 1000} s after ${describeCommand('1B')} with nobody at the key (meter.relay.closeNeedsButton: the relay must wait for the customer, FEE-11)`);
      if (!t.backchannel) return ctx.inconclusive(needsPerson('closing after 1BH (hold the meter key for 3 s, FEE-11)'));
      const pressedAt = t.clock.now();
      t.backchannel.pressButton();
      await waitForRelay(ctx, t, 'closed', pressedAt, RELAY_SETTLE_MS, 'time from the close key to relay closed (status word 3 bit4)', 'the customer held the close key');
      await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'close' }, 'after the close key');
    },
  },
  {
    id: 'switching.direct-close',
    requirement: 'DLT645-30',
    title: '1CH 1CH direct close after a trip: 9CH and the relay closed at once, without the key',
    applies: (t) => commandGate(t, '1A', '1C'),
    async run(ctx, t, password) {
      await tripFirst(ctx, t, password);
      const at = await command(ctx, t, password, '1C', ' after a trip');
      await waitForRelay(ctx, t, 'closed', at, RELAY_SETTLE_MS, 'time from 9CH to 1CH direct close to relay closed (status word 3 bit4)', `9CH to ${describeCommand('1C')}`);
      await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'close' }, `after ${describeCommand('1C')}`);
      await checkRecordOperator(ctx, t, LAST_CLOSE_RECORD, 'close', describeCommand('1C'));
    },
  },
  {
    id: 'switching.alarm',
    requirement: 'DLT645-31',
    title: '1CH 2AH sets the alarm (status word 3 bit7) and 2BH clears it, neither moving the relay',
    applies: (t) => commandGate(t, '2A', '2B'),
    async run(ctx, t, password) {
      const before = await readStatus(t);
      if (before.sw3.preTripAlarm) {
        ctx.inconclusive(`status word 3 bit7 is already set before 2AH (a low balance or a pending trip): an alarm command cannot be told apart: ${describeStatus(before)}`);
      }
      await command(ctx, t, password, '2A');
      await expectStatus(ctx, t, { preTripAlarm: true, relay: 'closed', relayCommand: 'close' }, `after ${describeCommand('2A')}`);
      const sim = actualRelay(t);
      if (sim) ctx.check(sim.remoteAlarm, `the meter's commanded alarm (simulator) is off after 9CH to ${describeCommand('2A')}`);
      await command(ctx, t, password, '2B');
      await expectStatus(ctx, t, { preTripAlarm: false, relay: 'closed', relayCommand: 'close' }, `after ${describeCommand('2B')}`);
    },
  },
  {
    id: 'switching.keep-power',
    requirement: 'KP-02',
    title: '1CH 3AH keep-power sets status word 3 bit12, 3BH clears it, and the release leaves the relay alone (no trip of its own)',
    applies: (t) => keepPowerGate(t, '3A', '3B'),
    async run(ctx, t, password) {
      await command(ctx, t, password, '3A');
      await expectStatus(ctx, t, { keepPower: true, relay: 'closed', relayCommand: 'close' }, `after ${describeCommand('3A')}`);
      const at = await command(ctx, t, password, '3B');
      await expectStatus(ctx, t, { keepPower: false, relay: 'closed', relayCommand: 'close' }, `after ${describeCommand('3B')}`);
      await t.clock.sleep(Math.max(0, at + tripDelay(t).max + RELAY_SETTLE_MS - t.clock.now()));
      await expectStatus(ctx, t, { keepPower: false, relay: 'closed', relayCommand: 'close' }, `${((tripDelay(t).max + RELAY_SETTLE_MS) / 1000).toFixed(1)} s after ${describeCommand('3B')} (KP-02: a release does not trip; a remote meter needs a new trip command)`);
    },
  },
  {
    id: 'switching.keep-power-while-tripped',
    requirement: 'KP-03',
    title: '1CH 3AH on a tripped meter: an internal relay goes to close allowed (closes on the key), an external one closes at once; 3BH then leaves it closed',
    applies: (t) => keepPowerGate(t, '1A', '3A', '3B') ?? wayBackGate(t),
    async run(ctx, t, password) {
      await tripFirst(ctx, t, password);
      const at = await command(ctx, t, password, '3A', ' on a tripped meter');
      await expectStatus(ctx, t, { keepPower: true }, `after ${describeCommand('3A')} on a tripped meter`);
      if (!t.profile.meter.relay.closeNeedsButton) {
        await waitForRelay(ctx, t, 'closed', at, RELAY_SETTLE_MS, 'time from 9CH to 3AH keep-power to relay closed (status word 3 bit4)', `9CH to ${describeCommand('3A')} on a tripped meter (meter.relay.closeNeedsButton is false: it closes at once, KP-03)`);
      } else {
        await t.clock.sleep(RELAY_SETTLE_MS);
        await expectStatus(ctx, t, { relay: 'open', keepPower: true }, `${RELAY_SETTLE_MS / 1000} s after ${describeCommand('3A')} on a tripped meter with nobody at the key (KP-03: an internal relay goes to close allowed)`);
        if (!t.backchannel) return ctx.inconclusive(needsPerson('closing after keep-power on a tripped meter (hold the meter key for 3 s, KP-03)'));
        const pressedAt = t.clock.now();
        t.backchannel.pressButton();
        await waitForRelay(ctx, t, 'closed', pressedAt, RELAY_SETTLE_MS, 'time from the close key under keep-power to relay closed (status word 3 bit4)', 'the customer held the close key under keep-power');
      }
      await command(ctx, t, password, '3B');
      await t.clock.sleep(RELAY_SETTLE_MS);
      await expectStatus(ctx, t, { relay: 'closed', keepPower: false }, `${RELAY_SETTLE_MS / 1000} s after ${describeCommand('3B')} (KP-02: the release leaves the relay alone)`);
    },
  },
  {
    id: 'switching.trip-refused-in-keep-power',
    requirement: 'KP-01',
    title: 'Under keep-power a 1CH 1AH trip is refused with the declared error word and the relay stays closed',
    applies: (t) => keepPowerGate(t, '1A', '3A', '3B') ?? wayBackGate(t),
    async run(ctx, t, password) {
      await command(ctx, t, password, '3A');
      await expectStatus(ctx, t, { keepPower: true, relay: 'closed' }, `after ${describeCommand('3A')}`);
      const word = t.profile.meter.remoteControl.errors.keepPowerTrip;
      const what = `${describeCommand('1A')} under keep-power`;
      checkRefused(ctx, await sendControl(t, N1['1A'], password), declaredErrorWord(word).word, what, `meter.remoteControl.errors.keepPowerTrip = "${word}"`);
      await t.clock.sleep(tripDelay(t).max + RELAY_SETTLE_MS);
      await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'close', keepPower: true }, `${((tripDelay(t).max + RELAY_SETTLE_MS) / 1000).toFixed(1)} s after ${what} (KP-01: no trip from any cause while kept)`);
    },
  },
  {
    id: 'switching.keep-power-cancels-pending-trip',
    requirement: 'KP-04',
    title: '1CH 3AH during the trip delay cancels the pending trip: the relay never opens',
    applies: (t) =>
      keepPowerGate(t, '1A', '3A', '3B') ?? wayBackGate(t) ?? (tripDelay(t).min > 0 ? null : 'meter.relay.tripDelayMs is 0: a trip is carried out at once, there is no pending trip to cancel'),
    async run(ctx, t, password) {
      const at = await command(ctx, t, password, '1A');
      await command(ctx, t, password, '3A', ' during the trip delay');
      const elapsed = t.clock.now() - at;
      const delay = tripDelay(t);
      if (elapsed >= delay.min) ctx.inconclusive(`3AH was answered ${Math.round(elapsed)} ms after the trip, not inside the declared trip delay of ${delay.min} ms (meter.relay.tripDelayMs): nothing to cancel`);
      await t.clock.sleep(Math.max(0, at + delay.max + RELAY_SETTLE_MS - t.clock.now()));
      await expectStatus(ctx, t, { relay: 'closed', keepPower: true }, `${((delay.max + RELAY_SETTLE_MS) / 1000).toFixed(1)} s after ${describeCommand('1A')}, keep-power sent ${Math.round(elapsed)} ms into its ${delay.min / 1000} s trip delay (KP-04)`);
    },
  },
  {
    id: 'switching.wrong-password',
    requirement: 'FEE-06',
    title: 'A 1CH 1AH trip with a wrong password is refused with error word 04H (bit2) and the relay stays closed',
    applies: (t) => commandGate(t, '1A') ?? wayBackGate(t),
    async run(ctx, t, password) {
      const wrong = wrongPassword(password);
      const what = `${describeCommand('1A')} with a wrong ${describePassword(password)} password`;
      checkRefused(ctx, await sendControl(t, N1['1A'], password, { password: wrong }), 0x04, what, 'FEE-06: SERR bit2 password error / unauthorised');
      await relayStayedClosed(ctx, t, what);
    },
  },
  {
    id: 'switching.expired-command',
    requirement: 'FEE-06',
    title: 'A 1CH 1AH trip whose valid-until has passed, or names no date, is refused with the declared error word (with a wrong password too: the word of the declared check order) and the relay stays closed',
    applies: (t) => commandGate(t, '1A') ?? wayBackGate(t),
    async run(ctx, t, password) {
      const word = t.profile.meter.remoteControl.errors.expired;
      const expected = declaredErrorWord(word).word;
      const field = `meter.remoteControl.errors.expired = "${word}"`;
      const past = validUntil(t, -24 * 3_600_000);
      const expired = `${describeCommand('1A')} valid until ${past.year}-${String(past.month).padStart(2, '0')}-${String(past.day).padStart(2, '0')} ${String(past.hour).padStart(2, '0')}:${String(past.minute).padStart(2, '0')} (a day ago)`;
      checkRefused(ctx, await sendControl(t, N1['1A'], password, { validUntil: past }), expected, expired, field);
      const malformed = `${describeCommand('1A')} with valid-until month 13 (no date)`;
      checkRefused(ctx, await sendMalformedValidUntil(t, N1['1A'], password), expected, malformed, field);
      if (!t.profile.meter.remoteControl.acceptsZeroValidUntil) {
        const zero = `${describeCommand('1A')} with an all-zero valid-until (meter.remoteControl.acceptsZeroValidUntil is false)`;
        checkRefused(ctx, await sendControl(t, N1['1A'], password, { validUntil: null }), expected, zero, field);
      } else ctx.log('all-zero valid-until not sent: meter.remoteControl.acceptsZeroValidUntil is true (the meter takes it as no deadline)');
      // Both faults at once: which refusal wins is the declared order ([BK]; meter.remoteControl.passwordBeforeValidUntil).
      const wrong = wrongPassword(password);
      const passwordFirst = t.profile.meter.remoteControl.passwordBeforeValidUntil;
      const [bothWord, bothField] = passwordFirst
        ? [0x04, 'FEE-06: SERR bit2; meter.remoteControl.passwordBeforeValidUntil is true: the password is checked first']
        : [expected, `${field}; meter.remoteControl.passwordBeforeValidUntil is false: the valid-until is checked first`];
      const wrongMalformed = `${describeCommand('1A')} with a wrong ${describePassword(password)} password and valid-until month 13`;
      checkRefused(ctx, await sendMalformedValidUntil(t, N1['1A'], password, { password: wrong }), bothWord, wrongMalformed, bothField);
      const wrongExpired = `${describeCommand('1A')} with a wrong ${describePassword(password)} password, valid until a day ago`;
      checkRefused(ctx, await sendControl(t, N1['1A'], password, { password: wrong, validUntil: past }), bothWord, wrongExpired, bothField);
      await relayStayedClosed(ctx, t, 'the refused trips');
    },
  },
  {
    id: 'switching.unsupported-command',
    requirement: 'DLT645-32',
    title: 'A 1CH command the meter does not declare, and an N1 the standard does not define, are refused with the declared error word and change nothing',
    applies: (t) => commandGate(t),
    async run(ctx, t, password) {
      const word = t.profile.meter.remoteControl.errors.unsupportedCommand;
      const expected = declaredErrorWord(word).word;
      const field = `meter.remoteControl.errors.unsupportedCommand = "${word}"`;
      const undeclared = (Object.keys(N1) as RemoteControlCommandCode[]).filter((c) => !t.profile.meter.remoteControl.commands.includes(c));
      const before = await readStatus(t);
      for (const code of undeclared) {
        const what = `${describeCommand(code)}, which meter.remoteControl.commands does not list`;
        checkRefused(ctx, await sendControl(t, N1[code], password), expected, what, field);
      }
      if (undeclared.length === 0) ctx.log('meter.remoteControl.commands lists every N1 of PROTOCOLS.md 1.5: only an undefined N1 is sent');
      const what = `a 1CH with N1 = ${UNDEFINED_N1.toString(16).toUpperCase()}H (no command of PROTOCOLS.md 1.5)`;
      checkRefused(ctx, await sendControl(t, UNDEFINED_N1, password), expected, what, field);
      await t.clock.sleep(tripDelay(t).max + RELAY_SETTLE_MS);
      await expectStatus(ctx, t, { relay: before.sw3.relay, relayCommand: before.sw3.relayCommand, keepPower: before.sw3.keepPower, preTripAlarm: before.sw3.preTripAlarm }, 'after the refused commands');
    },
  },
  {
    id: 'switching.local-cost-control',
    requirement: 'FEE-03',
    title: 'A local cost-control meter trips as its balance runs out, cannot be closed (key or 1BH) while it is exhausted, and closes once a top-up makes it positive',
    applies: (t) =>
      (t.profile.meter.capabilities.localCostControl ? null : 'meter.capabilities.localCostControl is false') ??
      commandGate(t, '1B') ??
      (isDeclared(t, REMAINING_AMOUNT) ? null : `remaining amount ${REMAINING_AMOUNT} is not declared in meter.identifiers`),
    async run(ctx, t, password) {
      if (!t.backchannel) return ctx.inconclusive(needsPerson('running the balance down and topping it up (a purchase card or an ESAM top-up, which MeterLab does not drive)'));
      const bc = t.backchannel;
      const start = await readAmount(t);
      try {
        bc.setLoad(LOCAL_LOAD_KW);
        // Run the balance down; a trip at alarm level 2 is released by the key (FEE-02) until the balance is gone.
        const from = t.clock.now();
        let exhausted = false;
        let keyReleases = 0;
        while (t.clock.now() - from < LOCAL_RUN_DOWN_LIMIT_MS) {
          await t.clock.sleep(LOCAL_POLL_MS);
          const s = await readStatus(t);
          if (s.sw3.relay !== 'open') continue;
          const amount = await readAmount(t);
          if (amount > 0) {
            keyReleases++;
            bc.pressButton();
            continue;
          }
          exhausted = true;
          break;
        }
        if (!exhausted) {
          return ctx.fail(`the relay was not open with the balance exhausted after ${(LOCAL_RUN_DOWN_LIMIT_MS / 3_600_000).toFixed(0)} h at ${LOCAL_LOAD_KW} kW (remaining amount ${await readAmount(t)} yuan, from ${start}; ${keyReleases} key release(s) at alarm level 2)`);
        }
        ctx.log(`balance ran out after ${((t.clock.now() - from) / 3_600_000).toFixed(1)} h at ${LOCAL_LOAD_KW} kW; ${keyReleases} key release(s) on the way`);
        bc.setLoad(null);
        await expectStatus(ctx, t, { relay: 'open' }, 'with the balance exhausted');
        bc.pressButton();
        await t.clock.sleep(RELAY_SETTLE_MS);
        await expectStatus(ctx, t, { relay: 'open' }, `${RELAY_SETTLE_MS / 1000} s after the close key with the balance exhausted (FEE-02: no release until a top-up)`);
        const replies = await sendControl(t, N1['1B'], password);
        ctx.log(`${describeCommand('1B')} with the balance exhausted: ${replies[0]?.message?.kind ?? 'no reply'}`);
        bc.pressButton();
        await t.clock.sleep(RELAY_SETTLE_MS);
        await expectStatus(ctx, t, { relay: 'open' }, `after ${describeCommand('1B')} and the close key with the balance exhausted (FEE-03: close only with a balance > 0)`);
        if (!ctx.check(bc.topUp(LOCAL_TOP_UP), `the simulator refused a top-up of ${LOCAL_TOP_UP} yuan`)) return;
        const after = await readAmount(t);
        ctx.check(after > 0, `remaining amount ${REMAINING_AMOUNT} reads ${after} yuan after a top-up of ${LOCAL_TOP_UP} yuan, expected above 0 (FEE-03: the overdraft is deducted first)`);
        const toppedAt = t.clock.now();
        if (t.profile.meter.relay.closeNeedsButton) bc.pressButton();
        await waitForRelay(ctx, t, 'closed', toppedAt, RELAY_SETTLE_MS, 'time from the top-up to relay closed (status word 3 bit4)', `a top-up of ${LOCAL_TOP_UP} yuan${t.profile.meter.relay.closeNeedsButton ? ' and the close key' : ''}`);
      } finally {
        bc.setLoad(null);
        // Give the meter its balance back for the cases after this one.
        const now = await readAmount(t).catch(() => start);
        if (now < start) bc.topUp(Math.round((start - now) * 100) / 100 + 1);
      }
    },
  },
  {
    id: 'switching.pre-trip-auto-restore',
    requirement: 'FEE-10',
    title: 'Pre-trip 1 and pre-trip 2 (declared N1, restore time in N2): the relay opens at once and stays open until the restore time; then pre-trip 1 re-closes by itself, pre-trip 2 allows close',
    applies: (t) =>
      commandGate(t) ??
      (t.profile.meter.remoteControl.preTrip ? null : 'meter.remoteControl.preTrip is not declared: the meter offers no pre-trip with auto-restore (FEE-10)') ??
      wayBackGate(t),
    extraBudgetMs: (t) => 2 * PRE_TRIP_N2 * (t.profile.meter.remoteControl.preTrip?.n2UnitMs ?? 0),
    async run(ctx, t, password) {
      const p = t.profile.meter.remoteControl.preTrip!;
      const restoreMs = PRE_TRIP_N2 * p.n2UnitMs;
      const steps = [
        { kind: 1, code: p.restoreClose },
        { kind: 2, code: p.restoreAllow },
      ] as const;
      for (const { kind, code } of steps) {
        const what = `1CH ${code}H (pre-trip ${kind}, N2 = ${PRE_TRIP_N2}: restore after ${restoreMs / 1000} s, meter.remoteControl.preTrip)`;
        const replies = await sendControl(t, parseInt(code, 16), password, { n2: PRE_TRIP_N2 });
        const at = t.clock.now();
        if (!checkAccepted(ctx, replies, what)) return ctx.fail(`${what} was not carried out, so the rest of the case cannot be judged`);
        if (!(await waitForRelay(ctx, t, 'open', at, RELAY_SETTLE_MS, `time from 9CH to pre-trip ${kind} to relay open (status word 3 bit4)`, `9CH to ${what}`))) return;
        await expectStatus(ctx, t, { relay: 'open', relayCommand: 'trip' }, `after ${what}`);
        const before = restoreMs - RELAY_SETTLE_MS;
        await t.clock.sleep(Math.max(0, at + before - t.clock.now()));
        await expectStatus(ctx, t, { relay: 'open', relayCommand: 'trip' }, `${before / 1000} s after ${what}, before its restore time`);
        const needsKey = kind === 2 && t.profile.meter.relay.closeNeedsButton;
        if (!needsKey) {
          await waitForRelay(ctx, t, 'closed', at, restoreMs + RELAY_SETTLE_MS, `time from 9CH to pre-trip ${kind} to relay closed again (status word 3 bit4)`, `9CH to ${what}`, restoreMs);
          await expectStatus(ctx, t, { relay: 'closed', relayCommand: 'close' }, `after the restore time of ${what}`);
          continue;
        }
        await t.clock.sleep(Math.max(0, at + restoreMs + RELAY_SETTLE_MS - t.clock.now()));
        await expectStatus(ctx, t, { relay: 'open', relayCommand: 'close' }, `${(restoreMs + RELAY_SETTLE_MS) / 1000} s after ${what} with nobody at the key (pre-trip 2 ends in close allowed, FEE-10)`);
        if (!t.backchannel) return ctx.inconclusive(needsPerson('closing after pre-trip 2 (hold the meter key for 3 s, FEE-10/FEE-11)'));
        const pressedAt = t.clock.now();
        t.backchannel.pressButton();
        await waitForRelay(ctx, t, 'closed', pressedAt, RELAY_SETTLE_MS, 'time from the close key after pre-trip 2 to relay closed (status word 3 bit4)', 'the customer held the close key after pre-trip 2');
      }
    },
  },
  {
    id: 'switching.relay-across-power-cycle',
    requirement: 'DLT645-33',
    title: 'A tripped relay stays open, with the trip command, across a mains cut',
    applies: (t) =>
      commandGate(t, '1A') ?? wayBackGate(t) ?? (t.profile.meter.relay.keepsStateAcrossPowerCycle ? null : 'meter.relay.keepsStateAcrossPowerCycle is false'),
    async run(ctx, t, password) {
      if (!t.backchannel) return ctx.inconclusive(needsPerson('cutting and restoring the mains of a tripped meter'));
      await tripFirst(ctx, t, password);
      t.backchannel.cutMains();
      await t.clock.sleep(MAINS_OFF_MS);
      t.backchannel.restoreMains();
      await requireAlive(ctx, t, 'status word 3 after the mains came back');
      await expectStatus(ctx, t, { relay: 'open', relayCommand: 'trip' }, `after ${MAINS_OFF_MS / 1000} s without mains`);
    },
  },
];

export const switchingCases: ConformanceCase<Target>[] = cases.map((c) => asReadingCase(switchingCase(c)));
