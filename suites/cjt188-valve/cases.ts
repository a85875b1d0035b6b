/**
 * The valve suite for CJ/T 188-2004 water and gas meters (issue 10): valve control A017 (55H open,
 * 99H close, or the dialect's vendor code) confirmed through ST, the motor time measured against the
 * declared limit, and a jammed valve reported (ST abnormal or an abnormal reply). A separate suite
 * from cjt188-reading because these cases shut off a customer's water or gas: a utility reading a
 * meter in service runs `--suite cjt188-reading` alone. Same wrapper (liveness, evidence, wake-up)
 * as the reading suite (../cjt188-reading/support.ts).
 *
 * Each case leaves the valve open as it found it (a case that cannot reopen it says so in its log).
 */
import { Cjt188AbnormalReplyError } from '../../harness/masters/errors.ts';
import type { Cjt188Status, ValveState } from '../../harness/protocols/cjt188/index.ts';
import type { CheckContext } from '../framework/case.ts';
import {
  METERING_DATA,
  MeterFault,
  asCjt188Case,
  backchannelGate,
  backchannelOf,
  declares,
  meterOf,
  type Cjt188Case,
  type Cjt188Target,
} from '../cjt188-reading/support.ts';

/** Time between two status reads while the motor runs: 500 ms, MeterLab's choice (the measured time's resolution). */
export const VALVE_POLL_MS = 500;
/** How long past the declared motor limit the suite keeps reading before it calls a state never reached. */
const GRACE_MS = 5000;

type Target = Cjt188Target;

function valveGate(t: Target): string | null {
  const { d } = meterOf(t);
  if (d.valve === undefined) return 'device.declaration.valve is not declared (a meter without a valve)';
  return declares(t, 'A017') ? null : 'A017 (valve control) is not in device.declaration.identifiers';
}

function hex(n: number): string {
  return `${n.toString(16).toUpperCase().padStart(2, '0')}H`;
}

/** ST of a 901F read; a read for a battery meter that is awake goes with a short preamble first (the long one only after silence). */
async function readStatus(t: Target): Promise<Cjt188Status> {
  const { master, type, address } = meterOf(t);
  const wake = master.wakeUp ? { wakeUp: { preambleMs: 0, retryPreambleMs: master.wakeUp.preambleMs ?? 2500 } } : {};
  const r = await master.readData(type, address, METERING_DATA, wake);
  if (!r.status) throw new MeterFault('901F answered without ST');
  return r.status;
}

/**
 * Sends a valve command; an abnormal reply is returned (not thrown) with its ST. Some meters answer
 * only once the valve has moved: the reply may take up to the declared motor time. `at` is the end
 * of the command's transmission, where the motor can start.
 */
async function command(t: Target, to: 'open' | 'close'): Promise<{ refused: Cjt188AbnormalReplyError | null; status: Cjt188Status | null; at: number }> {
  const { d, master, type, address } = meterOf(t);
  const timeoutMs = Math.max(master.timeoutMs, d.valve?.motorLimitMs ?? 0);
  try {
    const r = await master.valveControl(type, address, to, { timeoutMs });
    return { refused: null, status: r.status, at: r.exchange.transmittedAt };
  } catch (e) {
    if (e instanceof Cjt188AbnormalReplyError) return { refused: e, status: e.status, at: e.exchange?.transmittedAt ?? t.clock.now() };
    throw e;
  }
}

interface Watched {
  /** The state first reported that is not `from` (or the last seen). */
  readonly state: ValveState;
  readonly raw: string;
  /** Ms from the end of the command to the read that showed `state`. */
  readonly afterMs: number;
  readonly reads: number;
}

/** Reads ST every VALVE_POLL_MS until it leaves `from` (or shows `until`), or the limit plus grace runs out. */
async function watchValve(t: Target, since: number, from: readonly ValveState[], limitMs: number): Promise<Watched> {
  let reads = 0;
  for (;;) {
    const s = await readStatus(t);
    reads++;
    const afterMs = Math.round(t.clock.now() - since);
    if (!from.includes(s.valve) || afterMs > limitMs + GRACE_MS) return { state: s.valve, raw: s.raw, afterMs, reads };
    await t.clock.sleep(VALVE_POLL_MS);
  }
}

/** Commands `to` and waits for ST to show it; records the motor time against the declared limit. */
async function moveAndConfirm(ctx: CheckContext, t: Target, to: 'open' | 'closed'): Promise<boolean> {
  const limit = meterOf(t).d.valve!.motorLimitMs;
  const c = await command(t, to === 'open' ? 'open' : 'close');
  if (c.refused) {
    ctx.check(false, `the ${to === 'open' ? 'open (55H)' : 'close (99H)'} command was refused: abnormal reply ${hex(c.refused.control)}${c.refused.status ? ` with ST ${c.refused.status.raw} (valve ${c.refused.status.valve})` : ''}`);
    return false;
  }
  const other: ValveState = to === 'open' ? 'closed' : 'open';
  const w = await watchValve(t, c.at, [other], limit);
  ctx.log(`${to}: ST ${w.raw} (valve ${w.state}) ${w.afterMs} ms after the command, ${w.reads} read(s)`);
  if (w.state !== to) {
    ctx.check(false, `after the ${to === 'open' ? 'open (55H)' : 'close (99H)'} command ST reported the valve ${w.state} (ST ${w.raw}) ${Math.round(w.afterMs / 100) / 10} s later, never ${to}, within the declared ${limit} ms (device.declaration.valve.motorLimitMs) + ${GRACE_MS} ms`);
    return false;
  }
  ctx.measure(`valve ${to === 'open' ? 'open' : 'close'} time`, w.afterMs, 'ms', { max: limit });
  return true;
}

export const CJT188_VALVE_CASES: readonly Cjt188Case[] = [
  {
    id: 'cjt188-valve.close-and-open',
    requirement: 'CJT188-05',
    title: 'close (99H) and open (55H) are confirmed through ST within the declared motor time',
    applies: valveGate,
    timeoutMs: (t) => 120_000 + 4 * (meterOf(t).d.valve?.motorLimitMs ?? 0),
    async run(ctx, t) {
      const before = await readStatus(t);
      ctx.log(`before: ST ${before.raw} (valve ${before.valve})`);
      if (before.valve === 'abnormal') ctx.inconclusive(`the valve reports abnormal before the case (ST ${before.raw}): it cannot be judged`);
      if (before.valve === 'closed') {
        ctx.log('the valve was closed: opening it first');
        if (!(await moveAndConfirm(ctx, t, 'open'))) return;
      }
      if (!(await moveAndConfirm(ctx, t, 'closed'))) {
        // Leave it open: an open command and the motor time (ST cannot be trusted here).
        await command(t, 'open').catch(() => undefined);
        await t.clock.sleep(meterOf(t).d.valve!.motorLimitMs);
        return;
      }
      await moveAndConfirm(ctx, t, 'open');
    },
  },
  {
    id: 'cjt188-valve.stuck-reported',
    requirement: 'CJT188-06',
    title: 'a jammed valve is reported: ST abnormal or an abnormal reply, never the commanded state',
    applies: (t) => valveGate(t) ?? backchannelGate(t, 'a jammed valve'),
    timeoutMs: (t) => 120_000 + 4 * (meterOf(t).d.valve?.motorLimitMs ?? 0),
    async run(ctx, t) {
      const bc = backchannelOf(t)!;
      const limit = meterOf(t).d.valve!.motorLimitMs;
      const before = await readStatus(t);
      if (before.valve !== 'open') ctx.inconclusive(`the valve is ${before.valve} before the case (ST ${before.raw}); the case jams an open valve`);
      // A movement still running from an earlier command would refuse the close for another reason: wait it out.
      await t.clock.sleep(limit);
      bc.setValveStuck(true);
      try {
        const c = await command(t, 'close');
        if (c.refused) {
          ctx.log(`the close command on the jammed valve got an abnormal reply ${hex(c.refused.control)}${c.refused.status ? ` (ST ${c.refused.status.raw}, valve ${c.refused.status.valve})` : ''}: reported`);
          return;
        }
        const w = await watchValve(t, c.at, ['open'], limit);
        ctx.log(`jammed: ST ${w.raw} (valve ${w.state}) ${w.afterMs} ms after the close command, ${w.reads} read(s)`);
        ctx.check(w.state !== 'closed', `ST reports the valve closed (ST ${w.raw}) though it is jammed open: a stuck valve must read abnormal (11)`);
        ctx.check(w.state !== 'open', `the jammed valve was never reported: ST said open (ST ${w.raw}) for ${Math.round(w.afterMs / 100) / 10} s after the close command, past the declared ${limit} ms (device.declaration.valve.motorLimitMs); a stuck valve must read abnormal (11) or the command be refused`);
        if (w.state === 'abnormal') ctx.measure('time until the jammed valve was reported', w.afterMs, 'ms', { max: limit + GRACE_MS }, { enforce: false });
      } finally {
        bc.setValveStuck(false);
        // Leave it open: one open command and a wait for ST to say so (logged only).
        const c = await command(t, 'open').catch(() => null);
        if (c && !c.refused) {
          const w = await watchValve(t, c.at, ['closed', 'abnormal'], limit).catch(() => null);
          ctx.log(`after the case: valve ${w?.state ?? 'unknown'}`);
        }
      }
    },
  },
];

export const cjt188ValveCases = CJT188_VALVE_CASES.map(asCjt188Case);
