/**
 * How the collection suite lives through a vendor's concentrator's nights (issue 12): the
 * concentrator runs in real time on its own clock, MeterLab's meters on the target's clock (a
 * ShiftedRealClock). In "real" mode nothing is skipped: a wait for 04:00 tomorrow takes until
 * then. In "skip" mode (the default, `device.declaration.vendor.time`) the suite keeps the two
 * clocks together and skips the stretches nobody needs to live through:
 *
 * - At each login, the concentrator's clock is set to the meters' (AFN 05 F31): the world starts at
 *   the scenario's start, whatever the concentrator's clock said.
 * - A wait for a later instant (`until`) runs in real time while anything is heard on a meter bus;
 *   once every bus has been quiet for `quietSeconds`, both clocks jump forward (the meters' by the
 *   ShiftedRealClock, the concentrator's by F31): outside the collection window straight to
 *   `leadMinutes` before the next window opens, inside a window by at most `stepMinutes` (and never past its start), so a
 *   concentrator that retries on its own schedule sees each retry slot come and starts talking
 *   again, which stops the skipping until its buses are quiet again. [MeterLab's method; a
 *   concentrator whose task does not follow a clock set forward shows it as missed readings, and
 *   its vendor can run in "real" mode.]
 *
 * Jumps happen only here, never inside `wait` (heartbeats, logins and timeouts are real-time
 * matters: a jump would stretch what the suite measures).
 */
import type { ShiftedRealClock } from '../../harness/core/clock.ts';
import type { Gw1376Master } from '../../harness/masters/gw1376-master.ts';
import type { ConcentratorDeclaration, UnitValue } from '../../harness/protocols/gw1376/index.ts';
import type { WorldPort } from '../../simulators/collection/index.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;

export type SkipTime = Extract<NonNullable<ConcentratorDeclaration['vendor']>['time'], { mode: 'skip' }>;

/** A.1 clock of an instant in the terminal's local time (AFN 05 F31, 0C F2). */
export function a1Clock(ms: number, utcOffsetMinutes: number): UnitValue {
  const local = new Date(ms + utcOffsetMinutes * MINUTE);
  return { clock: { time: local.toISOString().slice(0, 19).replace('T', ' '), week: local.getUTCDay() === 0 ? 7 : local.getUTCDay() } };
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export class NightKeeper {
  /** The last instant a byte was heard on a meter bus, or the last jump. */
  private lastHeard: number;
  private readonly nodes: { close(): Promise<void> }[] = [];
  private readonly onLogin = (): void => void this.sync();
  /** Jumps made, and the time they skipped, ms. */
  jumps = 0;
  skippedMs = 0;
  /** F31 requests not confirmed (the concentrator's clock may then be off). */
  syncFailures = 0;

  constructor(
    private readonly clock: ShiftedRealClock,
    private readonly master: Gw1376Master,
    private readonly d: ConcentratorDeclaration,
    ports: readonly WorldPort[],
    private readonly time: SkipTime,
  ) {
    this.lastHeard = clock.now();
    for (const wp of ports) {
      // A listening node: MeterLab's side of the wire, it never writes.
      const node = wp.bus.attach(`night-keeper-${wp.port.port}`);
      node.on('data', () => {
        this.lastHeard = this.clock.now();
      });
      this.nodes.push(node);
    }
    master.on('login', this.onLogin);
  }

  /** Sets the concentrator's clock to the meters' (AFN 05 F31). False when it was not confirmed. */
  async sync(): Promise<boolean> {
    const r = await this.master.control(31, 0, a1Clock(this.clock.now(), this.d.utcOffsetMinutes)).catch(() => undefined);
    const ok = r !== undefined && !r.denied;
    if (!ok) this.syncFailures++;
    return ok;
  }

  /** Runs until `ms` (an instant), skipping quiet stretches (the file header). */
  async until(ms: number): Promise<void> {
    const quietMs = this.time.quietSeconds * 1000;
    while (this.clock.now() < ms) {
      const now = this.clock.now();
      const quietFor = now - this.lastHeard;
      if (quietFor < quietMs) {
        await this.clock.sleep(Math.min(quietMs - quietFor, ms - now));
        continue;
      }
      const to = this.nextStop(now, ms);
      await this.clock.jumpTo(to);
      this.jumps++;
      this.skippedMs += to - now;
      this.lastHeard = this.clock.now();
      await this.sync();
    }
  }

  /** Where a jump from `now` lands on the way to `ms` (the file header). */
  nextStop(now: number, ms: number): number {
    const tz = this.d.utcOffsetMinutes * MINUTE;
    const start = minutesOf(this.d.collection.start) * MINUTE;
    let close = minutesOf(this.d.collection.deadline) * MINUTE;
    if (close <= start) close += DAY; // a window across midnight
    const lead = this.time.leadMinutes * MINUTE;
    const midnight = Math.floor((now + tz) / DAY) * DAY - tz;
    // Windows of yesterday, today and tomorrow: [start - lead, deadline].
    for (const day of [midnight - DAY, midnight, midnight + DAY]) {
      const open = day + start - lead;
      const shut = day + close;
      if (now < open) return Math.min(ms, open);
      // Before the start: to the start itself (the concentrator's first pass is not skipped).
      if (now < day + start) return Math.min(ms, day + start);
      if (now < shut) return Math.min(ms, now + this.time.stepMinutes * MINUTE, shut);
    }
    return ms;
  }

  async close(): Promise<void> {
    this.master.off('login', this.onLogin);
    for (const n of this.nodes.splice(0)) await n.close();
  }
}
