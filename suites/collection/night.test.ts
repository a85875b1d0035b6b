/**
 * The night keeper (night.ts): where a jump lands, and that it jumps only over quiet stretches,
 * setting the concentrator's clock (AFN 05 F31) after each jump. Real time, a few seconds.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ShiftedRealClock } from '../../harness/core/clock.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import type { Gw1376Master } from '../../harness/masters/gw1376-master.ts';
import { ConcentratorDeclarationSchema, type UnitValue } from '../../harness/protocols/gw1376/index.ts';
import type { WorldPort } from '../../simulators/collection/index.ts';
import { NightKeeper, type SkipTime } from './night.ts';

const D = ConcentratorDeclarationSchema.parse({ terminal: { areaCode: '3701', address: 1 } });
/** Local (UTC+8) "MM-DDThh:mm" of 2026 as an instant. */
const at = (local: string): number => Date.parse(`2026-${local}:00+08:00`);
const local = (ms: number): string => new Date(ms + 8 * 3_600_000).toISOString().slice(5, 16);

/** A master that records the clocks it is asked to set. */
class FakeMaster extends EventEmitter {
  readonly set: string[] = [];
  async control(fn: number, _pn: number, value: UnitValue): Promise<{ denied: boolean }> {
    expect(fn).toBe(31);
    this.set.push(String((value as { clock: { time: string } }).clock.time).slice(5, 16));
    return { denied: false };
  }
}

const opened: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});
function keeper(start: number, time: Partial<SkipTime> = {}, ports: readonly WorldPort[] = []): { k: NightKeeper; clock: ShiftedRealClock; master: FakeMaster } {
  const clock = new ShiftedRealClock({ start });
  const master = new FakeMaster();
  const k = new NightKeeper(clock, master as unknown as Gw1376Master, D, ports, { mode: 'skip', quietSeconds: 1, stepMinutes: 30, leadMinutes: 2, ...time });
  opened.push({ close: () => clock.dispose() }, k);
  return { k, clock, master };
}

describe('NightKeeper.nextStop (window 00:05-04:00, lead 2 min, step 30 min)', () => {
  const { k } = keeper(at('01-11T12:00'));
  it.each([
    ['01-11T12:00', '01-13T04:00', '01-12T00:03', 'before the window: to 2 minutes before its start'],
    ['01-12T00:03', '01-13T04:00', '01-12T00:05', 'in the lead: to the start itself'],
    ['01-12T00:05', '01-13T04:00', '01-12T00:35', 'inside: one step'],
    ['01-12T03:50', '01-13T04:00', '01-12T04:00', 'a step ends at the deadline'],
    ['01-12T04:00', '01-13T04:00', '01-13T00:03', 'after the deadline: to the next window'],
    ['01-12T00:05', '01-12T00:20', '01-12T00:20', 'never past the instant waited for'],
    ['01-11T23:59', '01-13T04:00', '01-12T00:03', 'just before midnight: the window after it'],
  ])('from %s towards %s: %s (%s)', (from, to, want) => {
    expect(local(k.nextStop(at(from), at(to)))).toBe(want);
  });
  it('a window across midnight (22:00-02:00) is inside from 21:58 to 02:00', () => {
    const clock = new ShiftedRealClock({ start: at('01-11T12:00') });
    opened.push({ close: () => clock.dispose() });
    const d = ConcentratorDeclarationSchema.parse({ terminal: { areaCode: '3701', address: 1 }, collection: { start: '22:00', deadline: '02:00' } });
    const x = new NightKeeper(clock, new FakeMaster() as unknown as Gw1376Master, d, [], { mode: 'skip', quietSeconds: 1, stepMinutes: 30, leadMinutes: 2 });
    expect(local(x.nextStop(at('01-11T12:00'), at('01-13T00:00')))).toBe('01-11T21:58');
    expect(local(x.nextStop(at('01-12T01:45'), at('01-13T00:00')))).toBe('01-12T02:00');
    expect(local(x.nextStop(at('01-12T02:00'), at('01-13T00:00')))).toBe('01-12T21:58');
  });
});

describe('NightKeeper.until', () => {
  it('jumps over quiet stretches, setting the concentrator clock after each jump, and stops at the instant', async () => {
    const { k, clock, master } = keeper(at('01-12T03:00'));
    await k.until(at('01-13T00:10'));
    expect(local(clock.now())).toBe('01-13T00:10');
    // 03:00 -> 03:30 -> 04:00 (deadline) -> 00:03 (lead) -> 00:05 (start) -> 00:10 (the instant), one quiet second each.
    expect(k.jumps).toBe(5);
    expect(master.set).toEqual(['01-12 03:30', '01-12 04:00', '01-13 00:03', '01-13 00:05', '01-13 00:10']);
  });

  it('does not jump while a meter bus is talking', async () => {
    const clock = new ShiftedRealClock({ start: at('01-12T03:00') });
    opened.push({ close: () => clock.dispose() });
    const bus = new Rs485Bus({ clock });
    const talker = bus.attach('concentrator');
    opened.push(talker);
    const master = new FakeMaster();
    const k = new NightKeeper(clock, master as unknown as Gw1376Master, D, [{ bus, port: { port: 2 } } as unknown as WorldPort], { mode: 'skip', quietSeconds: 1, stepMinutes: 30, leadMinutes: 2 });
    opened.push(k);
    // Talk every 300 ms for 2 s: the keeper waits in real time meanwhile.
    let talking = true;
    void (async () => {
      while (talking) {
        await talker.write(Uint8Array.of(0x68));
        await clock.sleep(300);
      }
    })();
    clock.setTimeout(() => (talking = false), 2000);
    const began = clock.now();
    await k.until(at('01-12T03:45'));
    // No jump in the first 2 s of talk; then 1 s of quiet, one jump of 30 min, one more second and the rest.
    expect(master.set[0]).toBe('01-12 03:30');
    expect(k.jumps).toBe(2);
    expect(k.skippedMs).toBeLessThan(45 * 60_000 - 2900);
    expect(k.skippedMs).toBeGreaterThan(45 * 60_000 - 4000 - 2000);
    expect(clock.now() - began - k.skippedMs).toBeGreaterThanOrEqual(2900);
  });
});
