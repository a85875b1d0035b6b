/**
 * One reading of a collected day, as both collection targets see it: a 1376.1 AFN 0D unit (F161
 * for DL/T 645, F249 for CJ/T 188 and M-Bus: MeterLab's four-meter extension) turned into the
 * DailyReading a scenario's truth checks. The concentrator cases read it from the concentrator, the
 * station cases from what a concentrator delivered to the station.
 */
import type { UnitValue } from '../../harness/protocols/gw1376/index.ts';
import type { ArchivePoint, DailyReading, PointValue } from '../../harness/targets/gw1376-protocol.ts';

/** One unit's value, by field. */
export function field(v: UnitValue | null | undefined, name: string): unknown {
  return v ? (v as Record<string, unknown>)[name] : undefined;
}

/**
 * The DailyReading a 0D F161 / F249 unit of point `p` carries (times in `utcOffsetMinutes` local
 * time); undefined when it lacks what the check needs (the day, the reading time, the registers).
 * A DL/T 645 freeze closes its day at the next 00:00 (simulators/concentrator README); the others
 * are read, not frozen: their instant is the reading time (to the minute, A.15).
 */
export function dailyReadingOf(p: ArchivePoint, fn: number, value: UnitValue | null | undefined, utcOffsetMinutes: number): DailyReading | undefined {
  const day = field(value, 'day');
  const readingTime = field(value, 'readingTime');
  if (typeof day !== 'string' || typeof readingTime !== 'string') return undefined;
  const offsetMs = utcOffsetMinutes * 60_000;
  const readAt = Date.parse(`${readingTime.replace(' ', 'T')}:00Z`) - offsetMs;
  let v: PointValue;
  if (fn === 161) {
    const list = field(value, 'forwardActive');
    if (!Array.isArray(list)) return undefined;
    v = { kind: 'electricity', forwardActiveKwh: (list as UnitValue[]).map((x) => Number(field(x, 'value') ?? Number.NaN)) };
    const nextMidnight = Date.parse(`${day}T00:00:00Z`) + 86_400_000 - offsetMs;
    return { pn: p.pn, day, frozenAt: nextMidnight, readAt, attempt: 1, value: v };
  }
  const kind = p.kind === 'electricity' ? 'water' : p.kind;
  v = { kind, value: Number(field(value, 'value')), unit: Number(field(value, 'unit')), meterType: Number(field(value, 'meterType')) };
  return { pn: p.pn, day, frozenAt: readAt, readAt, attempt: 1, value: v };
}
