import { describe, expect, it } from 'vitest';
import { addDays, DailyStore, EventLog, EVENTS_KEPT } from './storage.ts';
import type { DailyReading } from './types.ts';

const reading = (pn: number, day: string, kwh: number): DailyReading => ({
  pn,
  day,
  frozenAt: 0,
  readAt: 0,
  attempt: 1,
  value: { kind: 'electricity', forwardActiveKwh: [kwh] },
});

describe('concentrator storage', () => {
  it('keeps the first reading of a (pn, day): a re-read or a replayed reply changes nothing (ROB-10)', () => {
    const s = new DailyStore();
    expect(s.put(reading(1, '2026-01-10', 100))).toBe(true);
    expect(s.put(reading(1, '2026-01-10', 999))).toBe(false);
    expect(s.get(1, '2026-01-10')?.value).toEqual({ kind: 'electricity', forwardActiveKwh: [100] });
    expect(s.put(reading(2, '2026-01-10', 5))).toBe(true);
    expect(s.size).toBe(2);
  });

  it('prunes days before the first kept one and forgets a point', () => {
    const s = new DailyStore();
    for (let i = 0; i < 40; i++) s.put(reading(1, addDays('2026-01-01', i), i));
    // As the task does on the night of 2026-02-10: the 31 days up to yesterday stay.
    s.prune(addDays('2026-02-10', -31));
    expect(s.days(1)).toHaveLength(31);
    expect(s.days(1)[0]).toBe('2026-01-10');
    s.forget(1);
    expect(s.size).toBe(0);
  });

  it('addDays crosses months and years', () => {
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
  });

  it('keeps the last 256 events per list with counters mod 256', () => {
    const log = new EventLog();
    for (let i = 0; i < 300; i++) log.add({ erc: 39, important: true, at: i, fields: { pn: i } });
    log.add({ erc: 14, important: false, at: 0, fields: {} });
    expect(log.list(true)).toHaveLength(EVENTS_KEPT);
    expect(log.list(true)[0]!.at).toBe(300 - EVENTS_KEPT);
    expect(log.counters()).toEqual({ important: 300 % 256, normal: 1 });
  });
});
