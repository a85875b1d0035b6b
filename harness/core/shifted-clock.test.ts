/**
 * ShiftedRealClock: real time from a chosen start, jumped forward by a test (a vendor's
 * concentrator as a target). Short real waits only (tens of ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ShiftedRealClock } from './clock.ts';

const clocks: ShiftedRealClock[] = [];
afterEach(() => {
  for (const c of clocks.splice(0)) c.dispose();
});
const make = (start: number): ShiftedRealClock => {
  const c = new ShiftedRealClock({ start });
  clocks.push(c);
  return c;
};
const START = Date.UTC(2026, 0, 10, 16, 0, 0);

describe('ShiftedRealClock', () => {
  it('starts at the given instant and runs at the speed of real time', async () => {
    const c = make(START);
    expect(Math.abs(c.now() - START)).toBeLessThan(50);
    const before = c.now();
    await new Promise((r) => setTimeout(r, 30));
    expect(c.now() - before).toBeGreaterThanOrEqual(25);
    expect(c.virtual).toBe(false);
  });

  it('fires a timer after its real delay', async () => {
    const c = make(START);
    const at = c.now();
    await c.sleep(20);
    expect(c.now() - at).toBeGreaterThanOrEqual(19);
  });

  it('a jump fires every timer now due, in (due, creation) order, and leaves the later ones', async () => {
    const c = make(START);
    const shift = c.shiftMs;
    const fired: string[] = [];
    c.setTimeout(() => fired.push('b 2h'), 2 * 3_600_000);
    c.setTimeout(() => fired.push('a 1h'), 3_600_000);
    c.setTimeout(() => fired.push('c 1h, later'), 3_600_000);
    const cancelled = c.setTimeout(() => fired.push('cancelled'), 1_800_000);
    c.setTimeout(() => fired.push('d 5h'), 5 * 3_600_000);
    c.clearTimeout(cancelled);
    await c.jumpTo(START + 3 * 3_600_000);
    expect(fired).toEqual(['a 1h', 'c 1h, later', 'b 2h']);
    expect(c.pendingTimers).toBe(1);
    expect(Math.abs(c.now() - (START + 3 * 3_600_000))).toBeLessThan(50);
    expect(c.shiftMs - shift).toBeGreaterThan(3 * 3_600_000 - 100);
  });

  it("a timer's follow-up work runs before the next timer fires", async () => {
    const c = make(START);
    const seen: string[] = [];
    c.setTimeout(() => void Promise.resolve().then(() => seen.push('first, settled')), 60_000);
    c.setTimeout(() => seen.push('second'), 60_000);
    await c.jumpTo(START + 120_000);
    expect(seen).toEqual(['first, settled', 'second']);
  });

  it('a sleep that spans the jump ends with it; a jump backwards changes nothing', async () => {
    const c = make(START);
    let woke = false;
    void c.sleep(10 * 60_000).then(() => (woke = true));
    await c.jumpTo(START - 3_600_000);
    expect(Math.abs(c.now() - START)).toBeLessThan(50);
    expect(woke).toBe(false);
    await c.jumpTo(START + 11 * 60_000);
    expect(woke).toBe(true);
  });

  it('a timer set before a jump and due soon after it fires then, not after its old real delay', async () => {
    const c = make(START);
    let fired = 0;
    c.setTimeout(() => (fired = c.now()), 3_600_000 + 30);
    await c.jumpTo(START + 3_600_000);
    await new Promise((r) => setTimeout(r, 80));
    expect(fired).toBeGreaterThan(0);
    expect(fired - (START + 3_600_000)).toBeLessThan(500);
  });

  it('a timer set after a jump is timed from the new instant', async () => {
    const c = make(START);
    await c.jumpTo(START + 86_400_000);
    const at = c.now();
    let fired = 0;
    c.setTimeout(() => (fired = c.now()), 15);
    await new Promise((r) => setTimeout(r, 40));
    expect(fired - at).toBeGreaterThanOrEqual(14);
    expect(fired - at).toBeLessThan(1000);
  });
});
