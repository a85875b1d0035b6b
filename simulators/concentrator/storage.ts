/**
 * What the concentrator keeps over a power cycle (ROB-08): the daily readings per (pn, day) and the
 * event records. Plain in-memory structures owned by the core; a reboot cuts the running work but
 * never touches these.
 *
 * - Daily readings are idempotent per (pn, day) (ROB-10: "storage is idempotent, key meter, data
 *   item, freeze timestamp"): the first reading stored for a day stays, a later one for the same day
 *   is refused (put returns false), so a re-read never overwrites or doubles a day.
 * - Only the last 31 days are kept (`DAYS_KEPT`): older days are pruned when the collection task runs.
 * - Events: the important and the normal list (1376.1 AFN 0E F1 / F2), each bounded to the last 256
 *   records, with EC1 / EC2 counters mod 256 (the counters a 1376.1 terminal carries in EC).
 */
import type { ConcentratorEvent, DailyCurve, DailyReading } from './types.ts';

/** Days of daily readings kept: the last 31 (a month of daily frozen data, the contract of issue 12). */
export const DAYS_KEPT = 31;
/**
 * Days of load curves kept: the last 10 (MeterLab's choice [BK]: the terminal's curve storage is
 * not fixed by 1376.1; 10 days cover COL-03's 3-day re-read with room, and a province's curves of
 * 50,000 points take 10 x 2.3 KB each).
 */
export const CURVE_DAYS_KEPT = 10;
/** Records kept per event list: 256, the range of the 1376.1 event pointers pm..pn (one byte). */
export const EVENTS_KEPT = 256;

/** "YYYY-MM-DD" plus `days` (negative: earlier), in the proleptic Gregorian calendar. */
export function addDays(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d + days));
  return t.toISOString().slice(0, 10);
}

/**
 * Records per measuring point and day, idempotent (ROB-10): the first record stored for a (pn, day)
 * stays, a later one for the same day is refused (put returns false), so a re-read never overwrites
 * or doubles a day. The daily readings and the load curves are two of them.
 */
class PointDayStore<T extends { readonly pn: number; readonly day: string }> {
  private readonly byPn = new Map<number, Map<string, T>>();

  get(pn: number, day: string): T | undefined {
    return this.byPn.get(pn)?.get(day);
  }

  has(pn: number, day: string): boolean {
    return this.byPn.get(pn)?.has(day) ?? false;
  }

  /** Stores a record unless one for its (pn, day) is there already. Returns whether it was stored. */
  put(record: T): boolean {
    let days = this.byPn.get(record.pn);
    if (!days) {
      days = new Map();
      this.byPn.set(record.pn, days);
    }
    if (days.has(record.day)) return false;
    days.set(record.day, record);
    return true;
  }

  /** Every stored day of a point, oldest first. */
  days(pn: number): readonly string[] {
    return [...(this.byPn.get(pn)?.keys() ?? [])].sort();
  }

  /** Drops every record of a point (its archive entry now names another meter). */
  forget(pn: number): void {
    this.byPn.delete(pn);
  }

  /** Drops every record (AFN 01 F2-F4, data-area initialisation). */
  clear(): void {
    this.byPn.clear();
  }

  /** Keeps only days on or after `firstKept` ("YYYY-MM-DD"). */
  prune(firstKept: string): void {
    for (const [pn, days] of this.byPn) {
      for (const day of days.keys()) if (day < firstKept) days.delete(day);
      if (days.size === 0) this.byPn.delete(pn);
    }
  }

  /** Records stored, all points and days. */
  get size(): number {
    let n = 0;
    for (const days of this.byPn.values()) n += days.size;
    return n;
  }
}

/** Daily readings per measuring point and day (the last `DAYS_KEPT`). */
export class DailyStore extends PointDayStore<DailyReading> {}

/** Load curves per measuring point and day (COL-12; the last `CURVE_DAYS_KEPT`). */
export class CurveStore extends PointDayStore<DailyCurve> {}

/** The two event lists and their counters. */
export class EventLog {
  private readonly important: ConcentratorEvent[] = [];
  private readonly normal: ConcentratorEvent[] = [];
  private ec1 = 0;
  private ec2 = 0;

  add(e: ConcentratorEvent): void {
    const list = e.important ? this.important : this.normal;
    list.push(e);
    if (list.length > EVENTS_KEPT) list.shift();
    if (e.important) this.ec1 = (this.ec1 + 1) % 256;
    else this.ec2 = (this.ec2 + 1) % 256;
  }

  list(important: boolean): readonly ConcentratorEvent[] {
    return important ? this.important : this.normal;
  }

  counters(): { readonly important: number; readonly normal: number } {
    return { important: this.ec1, normal: this.ec2 };
  }

  /** Drops every record and zeroes EC1/EC2 (AFN 01 F2-F4). */
  clear(): void {
    this.important.length = 0;
    this.normal.length = 0;
    this.ec1 = 0;
    this.ec2 = 0;
  }
}
