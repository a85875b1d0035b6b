import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { SeededRandom } from '../core/random.ts';
import { FaultInjectingLink, type FaultSettings } from './fault.ts';
import type { Link } from './link.ts';
import { createMemoryPair } from './memory.ts';

const FRAME = hex('68 12 90 78 56 34 12 68 11 04 33 33 34 33 B3 16');

function collect(link: Link): string[] {
  const out: string[] = [];
  link.on('data', (c) => out.push(toHex(c)));
  return out;
}

async function run(seed: number, tx: FaultSettings, n = 50): Promise<{ received: string[]; stats: unknown }> {
  const clock = new VirtualClock({ start: 0 });
  const [a, b] = createMemoryPair();
  const f = new FaultInjectingLink({ link: a, random: new SeededRandom(seed), clock, tx });
  const received = collect(b);
  for (let i = 0; i < n; i++) await f.write(FRAME);
  await clock.sleep(10);
  return { received, stats: f.stats };
}

describe('FaultInjectingLink', () => {
  it('is deterministic for a seed and differs between seeds', async () => {
    const faults: FaultSettings = { drop: 0.1, corrupt: 0.1, duplicate: 0.1, split: 0.1 };
    const one = await run(7, faults);
    const two = await run(7, faults);
    const other = await run(8, faults);
    expect(two).toEqual(one);
    expect(other.received).not.toEqual(one.received);
  });

  it('makes each kind of fault observable and counts it', async () => {
    const total = 200;
    const { received, stats } = await run(1, { drop: 0.2, corrupt: 0.2, duplicate: 0.2, split: 0.2 }, total);
    const s = (stats as { tx: Record<string, number> }).tx;
    expect(s.chunks).toBe(total);
    for (const k of ['dropped', 'corrupted', 'duplicated', 'split'] as const) expect(s[k]).toBeGreaterThan(10);
    const whole = toHex(FRAME);
    // Corrupted frames differ from the original in exactly one bit.
    const corrupted = received.filter((r) => r.length === whole.length && r !== whole);
    expect(corrupted.length).toBeGreaterThan(0);
    // Split frames arrive as a shorter prefix followed by the rest.
    expect(received.some((r) => r.length < whole.length && whole.startsWith(r))).toBe(true);
    // Deliveries = chunks - dropped + split extra + duplicates.
    expect(received.length).toBeGreaterThan(total - s.dropped!);
  });

  it('delays chunks on the clock and keeps their order', async () => {
    const clock = new VirtualClock({ start: 0 });
    const [a, b] = createMemoryPair();
    const f = new FaultInjectingLink({ link: a, random: new SeededRandom(3), clock, tx: { delayMs: [10, 50] } });
    const at: [number, string][] = [];
    b.on('data', (c) => at.push([clock.now(), toHex(c)]));
    const writes = [f.write(hex('01')), f.write(hex('02')), f.write(hex('03'))];
    await Promise.all(writes);
    expect(at.map((x) => x[1])).toEqual(['01', '02', '03']);
    expect(at[0]![0]).toBeGreaterThanOrEqual(10);
    expect(at[2]![0]).toBeLessThanOrEqual(150);
    expect(f.stats.tx.delayed).toBe(3);
  });

  it('injects exactly one scripted fault, in the receive direction too', async () => {
    const clock = new VirtualClock({ start: 0 });
    const [a, b] = createMemoryPair();
    const f = new FaultInjectingLink({ link: a, random: new SeededRandom(1), clock });
    const atB = collect(b);
    const atF = collect(f);
    f.injectOnce({ direction: 'tx', kind: 'corrupt', byteIndex: 0, mask: 0x01 });
    f.injectOnce({ direction: 'rx', kind: 'drop', match: (c) => c[0] === 0x02 });
    f.injectOnce({ direction: 'rx', kind: 'split', at: 1 });
    await f.write(hex('68 16'));
    await f.write(hex('68 16'));
    await b.write(hex('01 01'));
    await b.write(hex('02 02'));
    await b.write(hex('03 03'));
    await clock.sleep(1);
    expect(atB).toEqual(['69 16', '68 16']);
    expect(atF).toEqual(['01', '01', '03 03']);
    expect(f.stats.rx).toMatchObject({ chunks: 3, dropped: 1, split: 1 });
    expect(f.pendingScripted).toEqual([]);
  });

  it('passes close through after the chunks already received', async () => {
    const clock = new VirtualClock({ start: 0 });
    const [a, b] = createMemoryPair();
    const f = new FaultInjectingLink({ link: a, random: new SeededRandom(1), clock });
    const events: string[] = [];
    f.on('data', (c) => events.push(toHex(c)));
    f.on('close', () => events.push('close'));
    void b.write(hex('16'));
    await b.close();
    await clock.sleep(1);
    expect(events).toEqual(['16', 'close']);
    expect(f.isOpen).toBe(false);
  });
});
