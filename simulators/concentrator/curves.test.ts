/**
 * The concentrator's load curves (COL-12): after the daily freezes it reads each DL/T 645 meter's
 * 15-minute load records of the day (06000001) and stores them as the day's curves.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeLoadRecordRequest, LOAD_RECORD_GIVEN_TIME_DI } from '../../harness/protocols/dlt645/load-record.ts';
import { decode as decodeDlt645 } from '../../harness/protocols/dlt645/messages.ts';
import { at, buildWorld, type World } from './test-support.ts';
import type { DailyCurve } from './types.ts';

let world: World | undefined;
afterEach(() => {
  world?.core.stop();
  world = undefined;
});

/**
 * What the meter's own load records say for `day` (the curve a concentrator must store), placed by
 * the records' own time fields: not with the code under test.
 */
function truthOf(w: World, i: number, day: string): DailyCurve {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  expect([y, m]).toEqual([2026, 1]);
  const series = (): Float64Array => new Float64Array(96).fill(NaN);
  const c = { pn: i + 1, day, intervalMinutes: 15, readAt: 0, forwardActiveKwh: series(), activePowerKw: series(), voltageAV: series() };
  for (const r of w.electricity[i]!.model.loadRecords(at(d, 0), 97)) {
    if (r.time.day !== d || r.time.minute % 15 !== 0) continue;
    const k = r.time.hour * 4 + r.time.minute / 15;
    c.forwardActiveKwh[k] = r.energy!.forwardActiveKwh;
    c.activePowerKw[k] = r.power!.activeKw[0];
    c.voltageAV[k] = r.voltageCurrentFrequency!.voltageV[0];
  }
  return c;
}

function sameSeries(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && a.every((v, i) => (Number.isNaN(b[i]!) ? Number.isNaN(v) : Math.abs(v - b[i]!) < 1e-6));
}

/** 11H 06000001 requests the concentrator sent on RS-485 1, with their given time (hh:mm DD). */
function curveRequests(w: World): string[] {
  const out: string[] = [];
  for (const s of w.heard.port2) {
    const f = decodeDlt645(s.bytes);
    if (!f.ok || f.value.frame.control.isResponse) continue;
    const m = f.value.message;
    if (m?.kind !== 'readData' || m.di !== LOAD_RECORD_GIVEN_TIME_DI) continue;
    const r = decodeLoadRecordRequest(m.extra);
    if (r.ok) out.push(`${String(r.from.day).padStart(2, '0')} ${String(r.from.hour).padStart(2, '0')}:${String(r.from.minute).padStart(2, '0')} x${r.count}`);
  }
  return out;
}

describe('load curves (COL-12)', () => {
  it("stores each DL/T 645 meter's day curve equal to its own load records, a whole day and the half day it ran", async () => {
    const w = (world = buildWorld({ electricity: 2, heat: 0, curves: true }));
    w.core.start();
    await w.until(at(12, 4, 1));
    for (const i of [0, 1]) {
      const full = w.core.curve(i + 1, '2026-01-11');
      expect(full).toBeDefined();
      const want = truthOf(w, i, '2026-01-11');
      expect(want.forwardActiveKwh.every((v) => !Number.isNaN(v))).toBe(true);
      for (const k of ['forwardActiveKwh', 'activePowerKw', 'voltageAV'] as const) expect(sameSeries(full![k], want[k]), `${k} of meter ${i + 1}`).toBe(true);
      // The world started at 12:00 on the 10th: that day's curve has its afternoon only.
      const half = w.core.curve(i + 1, '2026-01-10')!;
      expect(half.forwardActiveKwh.filter((v) => !Number.isNaN(v)).length).toBe(48);
      expect(Number.isNaN(half.forwardActiveKwh[47]!)).toBe(true);
      expect(half.forwardActiveKwh[48]).toBeGreaterThan(0);
    }
    // Energy never falls along the day, and the voltage is the meter's.
    const c = w.core.curve(1, '2026-01-11')!;
    for (let i = 1; i < 96; i++) expect(c.forwardActiveKwh[i]!).toBeGreaterThanOrEqual(c.forwardActiveKwh[i - 1]!);
    expect(c.voltageAV[0]).toBeCloseTo(220, 6);
    // One request per meter and day: 96 blocks from the day's 00:00.
    expect(curveRequests(w)).toEqual(['10 00:00 x96', '10 00:00 x96', '11 00:00 x96', '11 00:00 x96']);
    const run = w.core.collectionRuns().find((r) => r.day === '2026-01-11')!;
    expect(run.curves).toBe(2);
  }, 60_000);

  it('a meter without load records is asked once a day and has no curve; daily data is unaffected', async () => {
    const w = (world = buildWorld({ electricity: 1, heat: 0 }));
    // The core reads curves, the meter keeps none (the reference profile's mode word is 0).
    const { createConcentratorCore } = await import('./core.ts');
    w.core.stop();
    const core = createConcentratorCore({ clock: w.clock, ports: w.ports, archive: w.archive, curves: true });
    core.start();
    try {
      await w.until(at(11, 4, 1));
      expect(core.curve(1, '2026-01-10')).toBeUndefined();
      expect(core.daily(1, '2026-01-10')).toBeDefined();
      expect(curveRequests(w)).toEqual(['10 00:00 x96']);
    } finally {
      core.stop();
    }
  }, 60_000);

  it('a meter silent at 00:05 gets its curve on a later pass', async () => {
    const w = (world = buildWorld({ electricity: 1, heat: 0, curves: true }));
    w.core.start();
    w.electricity[0]!.server.stop();
    await w.until(at(11, 0, 50));
    expect(w.core.curve(1, '2026-01-10')).toBeUndefined();
    w.electricity[0]!.server.start();
    await w.until(at(11, 4, 1));
    const c = w.core.curve(1, '2026-01-10');
    expect(c).toBeDefined();
    expect(sameSeries(c!.forwardActiveKwh, truthOf(w, 0, '2026-01-10').forwardActiveKwh)).toBe(true);
  }, 60_000);
});
