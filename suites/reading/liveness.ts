/**
 * Is the meter still answering? The reading suite asks before it blames a requirement (issue 6:
 * one dead meter, or one defect that kills the meter's parser, must not fail six requirements,
 * and silence from a dead meter must never pass a "no reply expected" case).
 *
 * Per target, the suite remembers when the meter last answered anything (an accepted reply to a
 * master request, a rejected reply, a frame a raw probe caught), in which case, and how the last
 * presence check came out. `withLiveness` (probe.ts) wraps every case:
 * - before it, when the previous case on this target did not pass (or none ran yet), one presence
 *   check (harness/targets/preflight.ts: one read at the declared address, then 13H): a silent
 *   meter makes the case inconclusive, "meter not answering since <the last case that got an
 *   answer>"; a meter that answers only from another address makes the cases that need the
 *   declared address inconclusive with what was seen (and the byte-order hint);
 * - after it, when it failed without a single answer from the meter, the same check: a silent
 *   meter turns the failure into that inconclusive verdict.
 * A case that passed leaves the meter known to answer (its last exchange was answered), so the
 * next case needs no extra read.
 */
import { checkMeterPresence, type MeterPresence, type Target } from '../../harness/targets/index.ts';

type Exchange = NonNullable<Target['master']['lastExchange']>;

/** What the suite knows about one target's meter. */
export interface MeterWatch {
  /** Answers seen since the target was opened (a counter: cases compare before and after). */
  answers: number;
  /** Clock instant of the last answer. */
  lastAnswerAt: number;
  /** Id of the last case during which the meter answered. */
  lastAnsweredCase: string | undefined;
  /** The case running now. */
  currentCase: string | undefined;
  /** True when the last case passed or the last presence check found the meter answering. */
  knownAnswering: boolean;
  /** The last presence check. */
  lastPresence: MeterPresence | undefined;
  /**
   * `answers` when the running case started or its last raw probe ended: a probe needs no read
   * before it when the meter has answered since (expectNoReply in probe.ts).
   */
  mark: number;
}

/** Symbol under which a guarded target (probe.ts) exposes the target it wraps. */
export const ORIGINAL_TARGET = Symbol('meterlab.originalTarget');

const watches = new WeakMap<Target, MeterWatch>();

function original(t: Target): Target {
  return ((t as unknown as Record<symbol, Target | undefined>)[ORIGINAL_TARGET]) ?? t;
}

/** True when an exchange brought back anything from a meter (accepted, rejected or unexpected replies). */
function exchangeAnswered(x: Exchange): boolean {
  if (x.reply) return true;
  return x.rejected.some((r) => r.frame.control.isResponse) || x.unexpected.some((f) => f.frame.control.isResponse);
}

/** The watch of `t`'s meter, created (and subscribed to the master's exchanges) on first use. */
export function watchOf(t: Target): MeterWatch {
  const key = original(t);
  let w = watches.get(key);
  if (!w) {
    const created: MeterWatch = {
      answers: 0,
      lastAnswerAt: -Infinity,
      lastAnsweredCase: undefined,
      currentCase: undefined,
      knownAnswering: false,
      lastPresence: undefined,
      mark: 0,
    };
    key.master.on('exchange', (x) => {
      if (exchangeAnswered(x)) noteAnswer(key);
    });
    watches.set(key, created);
    w = created;
  }
  return w;
}

/** Records that the meter answered something just now (raw probes call this for their replies). */
export function noteAnswer(t: Target): void {
  const w = watchOf(t);
  w.answers++;
  w.lastAnswerAt = t.clock.now();
  if (w.currentCase) w.lastAnsweredCase = w.currentCase;
}

/** Checks presence (one read at the declared address, then 13H) and records the outcome. */
export async function checkPresence(t: Target, signal?: AbortSignal): Promise<MeterPresence> {
  const w = watchOf(t);
  const p = await checkMeterPresence(t, signal ? { signal } : {});
  w.lastPresence = p;
  w.knownAnswering = p.state === 'answering';
  return p;
}

/** "meter not answering since reading.x: <detail>" (or "since the target was opened"). */
export function notAnsweringReason(t: Target, presence: MeterPresence): string {
  const w = watchOf(t);
  const since = w.lastAnsweredCase ? `since ${w.lastAnsweredCase}` : 'since the target was opened (no case has had an answer)';
  return `meter not answering ${since}: ${presence.detail}`;
}

/**
 * The inconclusive reason for a case that needs usable replies from the declared address when
 * the meter answers only from another address, or only with bytes that are no frame.
 */
export function unusableReason(t: Target, presence: MeterPresence): string {
  const declared = t.profile.meter.address;
  if (presence.state === 'garbled') {
    return `the meter answers with bytes that are no valid frame, so this case cannot judge it (reading.reply-frame-format does): ${presence.detail}`;
  }
  const seen = presence.seenAddress ? ` (it answers as ${presence.seenAddress})` : '';
  return `the meter does not answer at its declared address ${declared}${seen}, so this case cannot judge it: ${presence.detail}${presence.hint ? `; ${presence.hint}` : ''}`;
}
