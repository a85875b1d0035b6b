import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bcdLeToDigits, bcdLeToNumber, digitsToBcdLe, numberToBcdLe } from './bcd.ts';
import { concatBytes, hex, parseHex, toHex } from './bytes.ts';
import { toCalendar, fromCalendar, isValidCalendar } from './calendar.ts';
import { sum8 } from './checksum.ts';
import { VirtualClock, withTimeout } from './clock.ts';
import { TimeoutError } from './errors.ts';
import { SeededRandom } from './random.ts';
import { escapeControlCharacters } from './text.ts';

describe('bytes', () => {
  it('round-trips hex in the standards\' spelling', () => {
    expect(toHex(hex('68 aa AA 16'))).toBe('68 AA AA 16');
    expect(toHex(hex('0x68,0x16'))).toBe('68 16');
    expect(toHex(concatBytes(hex('01'), hex('02 03')))).toBe('01 02 03');
  });
  it('rejects malformed hex with the character offset', () => {
    expect(parseHex('68 A')).toMatchObject({ ok: false, error: { code: 'hex.odd-length', offset: 3 } });
    expect(parseHex('68 ZZ')).toMatchObject({ ok: false, error: { code: 'hex.invalid-character', offset: 3 } });
    expect(parseHex('6 8')).toMatchObject({ ok: false, error: { code: 'hex.split-byte', offset: 1 } });
    expect(parseHex('  ')).toMatchObject({ ok: false, error: { code: 'hex.empty' } });
  });
});

describe('bcd', () => {
  it('reads and writes low-byte-first BCD (address 123456789012 -> 12 90 78 56 34 12)', () => {
    expect(toHex(digitsToBcdLe('123456789012', 6))).toBe('12 90 78 56 34 12');
    expect(bcdLeToDigits(hex('12 90 78 56 34 12'))).toBe('123456789012');
    expect(bcdLeToNumber(hex('56 34 12 00'))).toBe(123456);
    expect(toHex(numberToBcdLe(19856, 4))).toBe('56 98 01 00');
    expect(bcdLeToDigits(hex('1A'))).toBeNull();
  });
});

describe('checksum', () => {
  it('is the byte sum modulo 256 (DL/T 645 read-address frame CS = DF)', () => {
    const f = hex('68 AA AA AA AA AA AA 68 13 00');
    expect(sum8(f)).toBe(0xdf);
  });
});

describe('calendar', () => {
  it('keeps China local time (UTC+8) regardless of the host zone', () => {
    const t = toCalendar(Date.UTC(2017, 5, 5, 2, 22, 51));
    expect(t).toMatchObject({ year: 2017, month: 6, day: 5, hour: 10, minute: 22, second: 51, weekday: 1 });
    expect(fromCalendar(t)).toBe(Date.UTC(2017, 5, 5, 2, 22, 51));
    expect(isValidCalendar({ year: 2026, month: 2, day: 30, hour: 0, minute: 0, second: 0 })).toBe(false);
  });
});

describe('VirtualClock', () => {
  it('fires timers in due order and auto-advances when idle', async () => {
    const clock = new VirtualClock({ start: 0 });
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('b@20'), 20);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('c@20'), 20);
    await clock.sleep(900_000); // 15 minutes of virtual time
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.now()).toBe(900_000);
  });
  it('does not jump while held', async () => {
    const clock = new VirtualClock({ start: 0 });
    const release = clock.hold();
    let done = false;
    void clock.sleep(1000).then(() => (done = true));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    release();
    await clock.run(() => clock.sleep(0));
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(done).toBe(true);
  });
  it('times out with a TimeoutError in virtual time', async () => {
    const clock = new VirtualClock({ start: 0 });
    await expect(withTimeout(clock, new Promise(() => undefined), 3000, 'no reply')).rejects.toBeInstanceOf(TimeoutError);
    expect(clock.now()).toBe(3000);
  });
  it('advances manually when auto-advance is off', async () => {
    const clock = new VirtualClock({ start: 0, autoAdvance: false });
    let n = 0;
    clock.setTimeout(() => n++, 100);
    await clock.advance(99);
    expect(n).toBe(0);
    await clock.advance(1);
    expect(n).toBe(1);
  });
});

describe('VirtualClock timer queue (heap, cancellation by handle)', () => {
  it.each(['settle', 'batch'] as const)('fires exactly the live timers in (due, creation) order, whatever was set and cleared (fast-check, fixed seed, sameInstant %s)', async (sameInstant) => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), ms: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant('clear' as const), which: fc.nat() }),
      fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 30 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 300 }), async (ops) => {
        const clock = new VirtualClock({ start: 0, autoAdvance: false, sameInstant });
        const fired: number[] = [];
        // The model: every timer ever set, with its due instant, creation order and state.
        const model: { n: number; due: number; handle: ReturnType<VirtualClock['setTimeout']>; live: boolean }[] = [];
        const expected: number[] = [];
        const fireModelUpTo = (t: number): void => {
          const due = model.filter((m) => m.live && m.due <= t).sort((a, b) => a.due - b.due || a.n - b.n);
          for (const m of due) {
            m.live = false;
            expected.push(m.n);
          }
        };
        for (const o of ops) {
          if (o.kind === 'set') {
            const n = model.length;
            model.push({ n, due: clock.now() + o.ms, handle: clock.setTimeout(() => fired.push(n), o.ms), live: true });
          } else if (o.kind === 'clear' && model.length > 0) {
            const m = model[o.which % model.length]!;
            clock.clearTimeout(m.handle);
            m.live = false;
          } else if (o.kind === 'advance') {
            fireModelUpTo(clock.now() + o.ms);
            await clock.advance(o.ms);
          }
          expect(clock.pendingTimers).toBe(model.filter((m) => m.live).length);
        }
        fireModelUpTo(Number.MAX_SAFE_INTEGER);
        await clock.advance(1_000_000);
        expect(fired).toEqual(expected);
      }),
      { seed: 20261129, numRuns: 200 },
    );
  });

  it('ignores a handle of another clock, and a second clear of the same timer', async () => {
    const a = new VirtualClock({ start: 0, autoAdvance: false });
    const b = new VirtualClock({ start: 0, autoAdvance: false });
    const fired: string[] = [];
    const ha = a.setTimeout(() => fired.push('a'), 10);
    const hb = b.setTimeout(() => fired.push('b'), 10);
    a.clearTimeout(hb);
    b.clearTimeout({ id: ha.id });
    b.clearTimeout(hb);
    b.clearTimeout(hb);
    expect([a.pendingTimers, b.pendingTimers]).toEqual([1, 0]);
    await a.advance(10);
    await b.advance(10);
    expect(fired).toEqual(['a']);
  });
});

describe('VirtualClock timers due at the same instant', () => {
  /** Three timers at t=10; the first one's promise follow-up cancels the third. */
  async function scenario(sameInstant: 'settle' | 'batch', drive: (clock: VirtualClock) => Promise<void>): Promise<string[]> {
    const clock = new VirtualClock({ start: 0, autoAdvance: false, sameInstant });
    const log: string[] = [];
    let third: ReturnType<VirtualClock['setTimeout']> | undefined;
    clock.setTimeout(() => {
      log.push('1');
      void Promise.resolve().then(() => {
        log.push('1 settled');
        clock.clearTimeout(third);
      });
    }, 10);
    clock.setTimeout(() => log.push('2'), 10);
    third = clock.setTimeout(() => log.push('3'), 10);
    clock.setTimeout(() => log.push('4@11'), 11);
    await drive(clock);
    return log;
  }

  it("'settle' (default) lets each timer's work settle before the next timer at that instant fires", async () => {
    expect(await scenario('settle', (c) => c.advance(20))).toEqual(['1', '1 settled', '2', '4@11']);
    expect(await scenario('settle', (c) => c.run(() => c.sleep(20)))).toEqual(['1', '1 settled', '2', '4@11']);
  });

  it("'batch' fires every timer due at the instant back to back, then lets their work run, before the next instant", async () => {
    expect(await scenario('batch', (c) => c.advance(20))).toEqual(['1', '2', '3', '1 settled', '4@11']);
    expect(await scenario('batch', (c) => c.run(() => c.sleep(20)))).toEqual(['1', '2', '3', '1 settled', '4@11']);
  });

  it("'batch' on an auto-advancing clock: same order, and a timer that holds the clock ends the batch", async () => {
    const clock = new VirtualClock({ start: 0, sameInstant: 'batch' });
    const log: string[] = [];
    let release: (() => void) | undefined;
    clock.setTimeout(() => log.push('a'), 5);
    clock.setTimeout(() => {
      log.push('b holds');
      release = clock.hold();
    }, 5);
    clock.setTimeout(() => log.push('c'), 5);
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a', 'b holds']);
    release!();
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['a', 'b holds', 'c']);
    expect(clock.now()).toBe(5);
  });
});

describe('SeededRandom', () => {
  it('replays the same sequence from the same seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 5 }, () => a.int(0, 1000));
    expect(Array.from({ length: 5 }, () => b.int(0, 1000))).toEqual(xs);
    expect(new SeededRandom(43).int(0, 1000)).not.toBe(xs[0]);
  });
});

describe('escapeControlCharacters', () => {
  it('writes C0 controls and DEL as JSON escapes and leaves other text alone', () => {
    expect(escapeControlCharacters('a\rb\n\t\u0000\u001b\u007fé')).toBe('a\\rb\\n\\t\\u0000\\u001b\\u007fé');
  });
});
