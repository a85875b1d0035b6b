import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import type { Link } from './link.ts';
import { createMemoryPair } from './memory.ts';

function collect(link: Link): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  link.on('data', (c) => chunks.push(c));
  return chunks;
}

describe('createMemoryPair', () => {
  it('delivers bytes to the other end asynchronously and in order', async () => {
    const [a, b] = createMemoryPair();
    const atB = collect(b);
    const atA = collect(a);
    const w1 = a.write(hex('68 01'));
    const w2 = a.write(hex('02 16'));
    expect(atB).toEqual([]); // never inside write()
    await Promise.all([w1, w2, b.write(hex('FE'))]);
    await Promise.resolve();
    expect(atB.map((c) => toHex(c))).toEqual(['68 01', '02 16']);
    expect(atA.map((c) => toHex(c))).toEqual(['FE']);
    expect(a.name).toBe('memory:a');
  });

  it('copies the written bytes', async () => {
    const [a, b] = createMemoryPair({ names: ['master', 'meter'] });
    const got = collect(b);
    const buf = hex('01 02');
    void a.write(buf);
    buf[0] = 0xff;
    await Promise.resolve();
    expect(toHex(got[0]!)).toBe('01 02');
    expect(b.name).toBe('meter');
  });

  it('closes both ends when either closes, after delivering what was written', async () => {
    const [a, b] = createMemoryPair();
    const events: string[] = [];
    b.on('data', (c) => events.push(`b data ${toHex(c)}`));
    a.on('close', () => events.push('a close'));
    b.on('close', () => events.push('b close'));
    void a.write(hex('16'));
    await a.close();
    await Promise.resolve();
    expect(events).toEqual(['b data 16', 'a close', 'b close']);
    expect(a.isOpen).toBe(false);
    expect(b.isOpen).toBe(false);
    await expect(b.write(hex('00'))).rejects.toBeInstanceOf(LinkError);
    await b.close(); // idempotent
  });

  it('models latency on the clock', async () => {
    const clock = new VirtualClock({ start: 0 });
    const [a, b] = createMemoryPair({ clock, latencyMs: 20 });
    const at: number[] = [];
    b.on('data', () => at.push(clock.now()));
    await a.write(hex('01'));
    await clock.sleep(5);
    await a.write(hex('02'));
    await clock.sleep(100);
    expect(at).toEqual([20, 25]);
  });
});
