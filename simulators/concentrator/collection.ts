/**
 * The collection task (COL-03, COL-04, GAP-02): every night at 00:05 terminal time the concentrator
 * reads the daily data of every archived point, retries what failed every 30 minutes until 04:00,
 * and at 04:00 writes one ERC 39 (failed re-read) per point and day still missing.
 *
 * Which day. A night's run collects the frozen data of `day` = yesterday (the terminal's local
 * date minus one). A DL/T 645 daily freeze taken at 00:00 of date X closes day X - 1 and is stored
 * as X - 1 (the same day the master station asks for with AFN 0D F161 "yesterday"); the day comes
 * from the freeze time the meter reports (0506000N), not from when it was read, so a meter whose
 * clock is late and has not frozen yet is simply missing the day until a retry finds the freeze.
 *
 * Per point and pass:
 * - Due days: `day`, `day - 1`, `day - 2` (COL-03: re-read the last 3 days), without the days that
 *   ended before the point was archived, without the days already stored (they are never read again).
 *   With the `skipReRead` defect only `day`.
 * - DL/T 645: for N = 1..3 read 0506000N (freeze time), and when its day is due 0506010N (forward
 *   active, total and tariffs); stop once nothing due is left or the freezes are older than the
 *   oldest due day. An empty slot (all zero) ends the walk. Missing days are the re-read (补抄).
 * - CJ/T 188 (901F) and M-Bus (REQ_UD2, the current energy record): no daily freeze, so the current
 *   value read after 00:00 is stored as `day` (COL-03); the days before cannot be recovered.
 * - A failed exchange (3 attempts, CON-05, inside the master) ends the point's pass; the next pass
 *   (every 30 minutes from 00:05, the last at 03:35) tries again.
 * - `attempt` of a stored reading = the passes in which its (pn, day) was tried, this one included
 *   (1 = the first pass that tried it got it: COL-01's first-attempt success).
 * - At 04:00 (GAP-02: daily data at the concentrator by 04:00): every due day still missing gets
 *   one important ERC 39 event { pn, time, day } (COL-04), once per (pn, day) for good.
 *
 * Load curves (COL-12, when the core reads them: `curves`). After its daily freezes, a DL/T 645
 * point's curve days are read: the same due days (`day` first, then the re-read days), each not yet
 * stored, with one 11H 06000001 "given time record block" read of the day's 96 quarter-hour records
 * from its 00:00 (follow-up frames joined). The records become the day's `DailyCurve` (F101 forward
 * active energy, F81 active power, F89 phase A voltage; NaN where the meter has no valid record),
 * stored once per (pn, day). A meter that answers abnormally (it keeps no load records, or not that
 * far back) is not asked for that day again; a meter that does not answer, or whose records do not
 * decode, is tried on the next pass.
 * Curves never decide a point's daily success, its ERC 39 or `attempt`; a point whose daily freeze
 * walk ended without a reply is not asked for its curves on that pass.
 *
 * Each pass is one `CollectionRun` (the first of the night always, a retry only when it had work):
 * points due, read (`day` stored), failed, recovered (earlier days stored), and per port the first
 * and last exchange instants and the line-time lower bound (characters on the port x character time).
 *
 * Passes are scheduled on the injected clock, in terminal time (`now()`, which time sync moves:
 * `replan()`). A start inside the window with no pass done that night runs one at once (a
 * concentrator restarted at 00:20 does not wait for 00:35). A cut (stop, reboot) disposes the port
 * channels, so the running pass ends at its next exchange; what it stored stays.
 */
import type { Clock, TimerHandle } from '../../harness/core/clock.ts';
import { toCalendar } from '../../harness/core/calendar.ts';
import type { Archive, ArchiveEntry } from './archive.ts';
import type { LoadRecordBlock } from '../../harness/protocols/dlt645/load-record.ts';
import { readCurrentValue, readFreezeEnergy, readFreezeTime, readLoadRecords, type PortChannel, type PortSession, type SessionRecord } from './readers.ts';
import { addDays, CURVE_DAYS_KEPT, DAYS_KEPT, type CurveStore, type DailyStore } from './storage.ts';
import type { CollectionRun, ConcentratorEvent, DailyCurve, DailyReading } from './types.ts';

/** COL-03: the task starts at 00:05. */
export const TASK_START_MINUTES = 5;
/** Retries of what failed: every 30 minutes (MeterLab's choice inside GAP-02's window). */
export const RETRY_EVERY_MINUTES = 30;
/** GAP-02: all daily frozen data at the concentrator by 04:00 (HPLC); the window closes then. */
export const WINDOW_CLOSE_MINUTES = 4 * 60;
/** COL-03: the last 3 days are re-read. */
export const RE_READ_DAYS = 3;
/** DL/T 645 daily freezes walked back: 上1次..上3次 (COL-03's 3 days). */
export const FREEZES_READ = 3;
/** 1376.1 ERC 39, failed re-read (补抄失败, COL-04). */
export const ERC_FAILED_RE_READ = 39;

const MINUTE = 60_000;

export interface CollectionContext {
  readonly clock: Clock;
  /** Terminal clock. */
  now(): number;
  readonly utcOffsetMinutes: number;
  readonly archive: Archive;
  readonly store: DailyStore;
  channel(port: number): PortChannel | undefined;
  recordEvent(e: ConcentratorEvent): void;
  readonly skipReRead: boolean;
  /** False: the noFailedReReadEvent defect. */
  readonly failedReReadEvent: boolean;
  /** The dayFromReadTime defect: the N-th freeze is taken as `day` - (N - 1). */
  readonly dayFromReadTime: boolean;
  /** The noRetry defect: one pass a night, at 00:05. */
  readonly noRetry?: boolean;
  /** COL-12: read the load curves of DL/T 645 points into `store`, points `intervalMinutes` apart. Absent: no curves. */
  readonly curves?: { readonly store: CurveStore; readonly intervalMinutes: number };
  /** The curveShifted defect: each load record is filed one interval early. */
  readonly curveShifted?: boolean;
}

/** Local date "YYYY-MM-DD" of a terminal instant. */
export function localDate(ms: number, utcOffsetMinutes: number): string {
  const c = toCalendar(ms, utcOffsetMinutes);
  return `${c.year}-${pad(c.month)}-${pad(c.day)}`;
}

/** "YYYY-MM-DD hh:mm" of a terminal instant (1376.1 A.15 as the dictionary writes it). */
export function localMinute(ms: number, utcOffsetMinutes: number): string {
  const c = toCalendar(ms, utcOffsetMinutes);
  return `${c.year}-${pad(c.month)}-${pad(c.day)} ${pad(c.hour)}:${pad(c.minute)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** 00:00 local of `day` as ms. */
function dayStart(day: string, utcOffsetMinutes: number): number {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) - utcOffsetMinutes * MINUTE;
}

/** The day a daily freeze closes: a freeze at 00:00 of X closes X - 1 (see the file header). */
export function dayOfFreeze(frozenAt: number, utcOffsetMinutes: number): string {
  return addDays(localDate(frozenAt, utcOffsetMinutes), -1);
}

interface Night {
  /** Local date of the night (the run collects the day before). */
  readonly date: string;
  /** Slot index of the last pass (0 = 00:05, 1 = 00:35, ...), -1 before the first. */
  lastSlot: number;
  closed: boolean;
}

type PointOutcome = { readonly complete: boolean; readonly readDay: boolean; readonly recovered: number; readonly curves: number };

export class CollectionTask {
  private readonly runs: CollectionRun[] = [];
  /** (pn, day) that got their ERC 39. */
  private readonly reported = new Set<string>();
  /** Passes that tried each (pn, day). */
  private readonly tries = new Map<string, number>();
  /** (pn, day) whose meter answered abnormally to its load-record read: not asked again. */
  private readonly noCurve = new Set<string>();
  private night: Night | undefined;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private generation = 0;
  private started = false;

  constructor(private readonly ctx: CollectionContext) {}

  collectionRuns(): readonly CollectionRun[] {
    return this.runs;
  }

  get isStarted(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.generation++;
    this.plan();
  }

  /** Stops the timer; a running pass ends at its next exchange (the caller disposes the channels). */
  stop(): void {
    this.started = false;
    this.generation++;
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The terminal clock moved (time sync): schedule again from the new time. */
  replan(): void {
    if (!this.started || this.running) return;
    this.ctx.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.plan();
  }

  /** Resolves when no pass is running (tests, reboot). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  // -------------------------------------------------------------------------------------------
  // Scheduling

  private slotAt(date: string, k: number): number {
    return dayStart(date, this.ctx.utcOffsetMinutes) + (TASK_START_MINUTES + k * RETRY_EVERY_MINUTES) * MINUTE;
  }

  private closeAt(date: string): number {
    return dayStart(date, this.ctx.utcOffsetMinutes) + WINDOW_CLOSE_MINUTES * MINUTE;
  }

  /** Slots of a night: 00:05 + 30k minutes before 04:00 (00:05 .. 03:35). */
  private get slots(): number {
    return Math.floor((WINDOW_CLOSE_MINUTES - TASK_START_MINUTES - 1) / RETRY_EVERY_MINUTES) + 1;
  }

  /** Does what is due now (a pass, the window's close), then sets the timer for the next thing. */
  private plan(): void {
    if (!this.started || this.running) return;
    const t = this.ctx.now();
    const today = localDate(t, this.ctx.utcOffsetMinutes);
    if (this.night?.date !== today) this.night = { date: today, lastSlot: -1, closed: false };
    const night = this.night;
    const close = this.closeAt(today);
    const first = this.slotAt(today, 0);
    if (t >= close) {
      if (night.lastSlot >= 0 && !night.closed) {
        night.closed = true;
        this.closeWindow(today);
      }
      this.wakeAt(this.slotAt(addDays(today, 1), 0));
      return;
    }
    if (t < first) {
      this.wakeAt(first);
      return;
    }
    // Inside the window: the slot whose time has come.
    const current = Math.min(this.slots - 1, Math.floor((t - first) / (RETRY_EVERY_MINUTES * MINUTE)));
    if (current > night.lastSlot && !(this.ctx.noRetry === true && night.lastSlot >= 0)) {
      const firstOfNight = night.lastSlot < 0;
      night.lastSlot = current;
      this.runPass(firstOfNight);
      return;
    }
    const next = night.lastSlot + 1;
    this.wakeAt(next < this.slots && this.ctx.noRetry !== true ? this.slotAt(today, next) : close);
  }

  private wakeAt(terminalInstant: number): void {
    this.ctx.clock.clearTimeout(this.timer);
    const gen = this.generation;
    this.timer = this.ctx.clock.setTimeout(() => {
      this.timer = undefined;
      if (gen === this.generation) this.plan();
    }, Math.max(0, terminalInstant - this.ctx.now()));
  }

  private runPass(firstOfNight: boolean): void {
    const gen = this.generation;
    const night = this.night!;
    const p = this.pass(night, firstOfNight, gen)
      .catch(() => undefined)
      .finally(() => {
        if (this.running === p) this.running = undefined;
        // Also after a stop and a start while this pass was winding down: the new start could not plan then.
        if (this.started) this.plan();
      });
    this.running = p;
  }

  // -------------------------------------------------------------------------------------------
  // One pass

  private async pass(night: Night, firstOfNight: boolean, gen: number): Promise<void> {
    const { ctx } = this;
    const day = addDays(night.date, -1);
    ctx.store.prune(addDays(night.date, -DAYS_KEPT));
    ctx.curves?.store.prune(addDays(night.date, -CURVE_DAYS_KEPT));
    this.pruneKeys(addDays(night.date, -DAYS_KEPT));
    const startedAt = ctx.now();
    const byPort = new Map<number, ArchiveEntry[]>();
    for (const e of ctx.archive.entries()) {
      const list = byPort.get(e.point.port);
      if (list) list.push(e);
      else byPort.set(e.point.port, [e]);
    }
    let due = 0;
    let read = 0;
    let failed = 0;
    let recovered = 0;
    let curves = 0;
    const ports: { port: number; startedAt: number; endedAt: number; lineTimeMs: number }[] = [];
    await Promise.all(
      [...byPort.entries()].map(async ([port, entries]) => {
        const channel = ctx.channel(port);
        if (!channel) return;
        let first = NaN;
        let last = NaN;
        let characters = 0;
        for (const entry of entries) {
          if (gen !== this.generation) return;
          const needed = this.neededDays(entry, day);
          const curveDays = this.neededCurveDays(entry, day);
          if (needed.size === 0 && curveDays.length === 0) continue;
          const dailyDue = needed.size > 0;
          if (dailyDue) due++;
          for (const d of needed) this.tries.set(key(entry.point.pn, d), (this.tries.get(key(entry.point.pn, d)) ?? 0) + 1);
          let record: SessionRecord | undefined;
          let outcome: PointOutcome;
          try {
            outcome = await channel.use('collection', async (s) => {
              record = s.record;
              try {
                return await this.collectPoint(s, entry, needed, curveDays, day, gen);
              } finally {
                if (Number.isNaN(s.record.lastAt) || ctx.now() > s.record.lastAt) s.record.lastAt = ctx.now();
              }
            });
          } catch {
            outcome = { complete: false, readDay: false, recovered: 0, curves: 0 };
          }
          if (record && !Number.isNaN(record.firstAt)) {
            if (Number.isNaN(first)) first = record.firstAt;
            last = record.lastAt;
            characters += record.characters;
          }
          if (outcome.readDay) read++;
          recovered += outcome.recovered;
          curves += outcome.curves;
          if (dailyDue && !outcome.complete) failed++;
        }
        if (!Number.isNaN(first)) ports.push({ port, startedAt: first, endedAt: last, lineTimeMs: characters * channel.charMs });
      }),
    );
    if (gen !== this.generation) return;
    if (!firstOfNight && due === 0 && curves === 0) return;
    ports.sort((a, b) => a.port - b.port);
    this.runs.push({ day, startedAt, endedAt: ctx.now(), due, read, failed, recovered, ...(ctx.curves ? { curves } : {}), ports });
  }

  /** Due days of a point for the run of `day` that are not stored and can still be read. */
  private neededDays(entry: ArchiveEntry, day: string): Set<string> {
    const { ctx } = this;
    const p = entry.point;
    const firstDue = localDate(entry.archivedAt, ctx.utcOffsetMinutes);
    const days = this.consideredDays(day).filter((d) => d >= firstDue && !ctx.store.has(p.pn, d));
    // Without a daily freeze only `day` can be read (its current value after 00:00).
    return new Set(p.protocol === 'dlt645-2007' ? days : days.filter((d) => d === day));
  }

  /** Curve days of a DL/T 645 point for the run of `day` not stored yet, newest first (COL-12). */
  private neededCurveDays(entry: ArchiveEntry, day: string): string[] {
    const { ctx } = this;
    const p = entry.point;
    if (!ctx.curves || p.protocol !== 'dlt645-2007') return [];
    const firstDue = localDate(entry.archivedAt, ctx.utcOffsetMinutes);
    return this.consideredDays(day).filter((d) => d >= firstDue && !ctx.curves!.store.has(p.pn, d) && !this.noCurve.has(key(p.pn, d)));
  }

  private consideredDays(day: string): string[] {
    if (this.ctx.skipReRead) return [day];
    return Array.from({ length: RE_READ_DAYS }, (_, i) => addDays(day, -i));
  }

  private async collectPoint(s: PortSession, entry: ArchiveEntry, needed: Set<string>, curveDays: readonly string[], day: string, gen: number): Promise<PointOutcome> {
    const { ctx } = this;
    const p = entry.point;
    let readDay = false;
    let recovered = 0;
    const store = (d: string, frozenAt: number, value: DailyReading['value']): void => {
      if (gen !== this.generation) return;
      const reading: DailyReading = { pn: p.pn, day: d, frozenAt, readAt: ctx.now(), attempt: this.tries.get(key(p.pn, d)) ?? 1, value };
      if (!ctx.store.put(reading)) return;
      needed.delete(d);
      if (d === day) readDay = true;
      else recovered++;
    };
    let curves = 0;
    const outcome = (): PointOutcome => ({ complete: needed.size === 0, readDay, recovered, curves });

    if (p.protocol !== 'dlt645-2007') {
      const r = await readCurrentValue(s, p);
      if (r.ok) store(day, ctx.now(), r.value);
      return outcome();
    }
    let silent = false;
    if (needed.size > 0) {
      const oldest = [...needed].sort()[0]!;
      const freezes = ctx.skipReRead ? 1 : FREEZES_READ;
      for (let n = 1; n <= freezes && needed.size > 0; n++) {
        if (gen !== this.generation) break;
        const t = await readFreezeTime(s, p, n, ctx.utcOffsetMinutes);
        if (!t.ok || t.value === null) {
          silent = !t.ok && t.reason === 'no-reply';
          break;
        }
        const d = ctx.dayFromReadTime ? addDays(day, -(n - 1)) : dayOfFreeze(t.value, ctx.utcOffsetMinutes);
        if (d < oldest) break;
        if (!needed.has(d)) continue;
        const e = await readFreezeEnergy(s, p, n);
        if (!e.ok) {
          silent = e.reason === 'no-reply';
          break;
        }
        store(d, t.value, { kind: 'electricity', forwardActiveKwh: e.value });
      }
    }
    const c = ctx.curves;
    if (!c || silent) return outcome();
    const points = Math.floor(MINUTES_PER_DAY / c.intervalMinutes);
    for (const d of curveDays) {
      if (gen !== this.generation) break;
      const from = dayStart(d, ctx.utcOffsetMinutes);
      const r = await readLoadRecords(s, p, from, points, ctx.utcOffsetMinutes);
      if (!r.ok) {
        // The meter says it has no such records: not asked again for that day. Anything else
        // (no reply, a garbled exchange): the next pass tries again.
        if (r.reason !== 'refused') break;
        this.noCurve.add(key(p.pn, d));
        continue;
      }
      if (gen !== this.generation) break;
      if (c.store.put(curveOf(p.pn, d, from, c.intervalMinutes, points, r.value, ctx.now(), ctx.utcOffsetMinutes, ctx.curveShifted === true ? -1 : 0))) curves++;
    }
    return outcome();
  }

  // -------------------------------------------------------------------------------------------
  // The window's close: ERC 39

  private closeWindow(date: string): void {
    const { ctx } = this;
    const day = addDays(date, -1);
    const at = ctx.now();
    for (const entry of ctx.archive.entries()) {
      const p = entry.point;
      const firstDue = localDate(entry.archivedAt, ctx.utcOffsetMinutes);
      for (const d of this.consideredDays(day).sort()) {
        if (d < firstDue || ctx.store.has(p.pn, d) || this.reported.has(key(p.pn, d))) continue;
        this.reported.add(key(p.pn, d));
        if (ctx.failedReReadEvent) ctx.recordEvent({ erc: ERC_FAILED_RE_READ, important: true, at, fields: { pn: p.pn, time: localMinute(at, ctx.utcOffsetMinutes), day: d } });
      }
    }
  }

  private pruneKeys(firstKept: string): void {
    for (const set of [this.reported, this.tries, this.noCurve]) {
      for (const k of set.keys()) if (k.slice(k.indexOf('|') + 1) < firstKept) set.delete(k);
    }
  }
}

const MINUTES_PER_DAY = 1440;

/**
 * A day's curve from the meter's load records: each valid block on the day's grid (00:00 + i x
 * interval, terminal local time) gives point i its forward active energy (F101), total active power
 * (F81) and phase A voltage (F89), when the meter's load-record mode word enables the class; the
 * rest stay NaN (no data: EEH upstream).
 */
export function curveOf(
  pn: number,
  day: string,
  from: number,
  intervalMinutes: number,
  points: number,
  blocks: readonly LoadRecordBlock[],
  readAt: number,
  utcOffsetMinutes: number,
  /** Points added to each record's index (the curveShifted defect: -1); 0 for a right curve. */
  shift = 0,
): DailyCurve {
  const forwardActiveKwh = new Float64Array(points).fill(NaN);
  const activePowerKw = new Float64Array(points).fill(NaN);
  const voltageAV = new Float64Array(points).fill(NaN);
  const step = intervalMinutes * MINUTE;
  for (const b of blocks) {
    if (!b.valid) continue;
    const t = Date.UTC(b.time.year, b.time.month - 1, b.time.day, b.time.hour, b.time.minute) - utcOffsetMinutes * MINUTE;
    const i = (t - from) / step + shift;
    if (!Number.isInteger(i) || i < 0 || i >= points) continue;
    if (b.energy) forwardActiveKwh[i] = b.energy.forwardActiveKwh;
    if (b.power) activePowerKw[i] = b.power.activeKw[0];
    if (b.voltageCurrentFrequency) voltageAV[i] = b.voltageCurrentFrequency.voltageV[0];
  }
  return { pn, day, intervalMinutes, readAt, forwardActiveKwh, activePowerKw, voltageAV };
}

function key(pn: number, day: string): string {
  return `${pn}|${day}`;
}
