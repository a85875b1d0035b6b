/**
 * Calendar fields in a fixed UTC offset. Meters in China keep local time, UTC+8 (no daylight
 * saving), so the default offset is +480 minutes. A fixed offset keeps simulations independent
 * of the host's time zone.
 */
export const CHINA_UTC_OFFSET_MINUTES = 480;

export interface CalendarTime {
  readonly year: number; // full year, e.g. 2026
  readonly month: number; // 1-12
  readonly day: number; // 1-31
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** 0 = Sunday ... 6 = Saturday (DL/T 645 week-day code WW uses the same numbering). */
  readonly weekday: number;
}

export function toCalendar(epochMs: number, offsetMinutes = CHINA_UTC_OFFSET_MINUTES): CalendarTime {
  const d = new Date(epochMs + offsetMinutes * 60_000);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

export function fromCalendar(
  t: Omit<CalendarTime, 'weekday'> & { weekday?: number },
  offsetMinutes = CHINA_UTC_OFFSET_MINUTES,
): number {
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - offsetMinutes * 60_000;
}

/** True when the fields name a real instant (e.g. rejects 2026-02-30 or 25:00). */
export function isValidCalendar(t: Omit<CalendarTime, 'weekday'>): boolean {
  if (t.month < 1 || t.month > 12 || t.day < 1 || t.hour > 23 || t.minute > 59 || t.second > 59) return false;
  const d = new Date(Date.UTC(t.year, t.month - 1, t.day));
  return d.getUTCMonth() === t.month - 1 && d.getUTCDate() === t.day;
}

export function formatCalendar(t: CalendarTime): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(t.year, 4)}-${p(t.month)}-${p(t.day)} ${p(t.hour)}:${p(t.minute)}:${p(t.second)}`;
}
