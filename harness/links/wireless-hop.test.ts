import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import { SeededRandom } from '../core/random.ts';
import type { ChunkTiming } from './link.ts';
import { createWirelessHop } from './wireless-hop.ts';

const CHAR_MS = 10_000 / 2400; // 2400 bit/s, 10 bit times a byte

describe('wireless hop', () => {
  it('delivers a frame whole after its air time and latency, with byte timing, half duplex', async () => {
    const clock = new VirtualClock({ start: 0 });
    const hop = createWirelessHop({ clock, random: new SeededRandom(1), latencyMs: 30 });
    const got: { at: number; bytes: number; timing?: ChunkTiming; side: string }[] = [];
    hop.meter.on('data', (c, timing) => got.push({ at: clock.now(), bytes: c.length, side: 'meter', ...(timing ? { timing } : {}) }));
    hop.converter.on('data', (c) => got.push({ at: clock.now(), bytes: c.length, side: 'converter' }));
    const sent = clock.run(async () => {
      const w1 = hop.converter.write(new Uint8Array(600)); // a 2.5 s wake-up preamble
      const w2 = hop.meter.write(new Uint8Array(24)); // must wait for the channel
      await w1;
      const t1 = clock.now();
      await w2;
      return [t1, clock.now()];
    });
    const [t1, t2] = await sent;
    expect(t1).toBeCloseTo(600 * CHAR_MS, 6); // 2500 ms on the air
    expect(t2).toBeCloseTo(624 * CHAR_MS, 6);
    await clock.run(() => clock.sleep(100));
    expect(got.map((g) => [g.side, g.bytes])).toEqual([['meter', 600], ['converter', 24]]);
    expect(got[0]!.at).toBeCloseTo(2500 + 30, 6);
    expect(got[0]!.timing!.firstByteAt).toBeCloseTo(2530 - 599 * CHAR_MS, 6);
    expect(got[1]!.at).toBeCloseTo(624 * CHAR_MS + 30, 6);
    expect(hop.stats.down).toMatchObject({ frames: 1, lost: 0, bytes: 600 });
    await hop.close();
    expect(hop.converter.isOpen).toBe(false);
  });

  it('loses frames whole at the seeded rate, the same ones for the same seed', async () => {
    const run = async (seed: number) => {
      const clock = new VirtualClock({ start: 0 });
      const hop = createWirelessHop({ clock, random: new SeededRandom(seed), lossProbability: 0.2, latencyMs: [10, 50] });
      const arrived: number[] = [];
      hop.meter.on('data', (c) => arrived.push(c[0]!));
      await clock.run(async () => {
        for (let i = 0; i < 500; i++) await hop.converter.write(Uint8Array.of(i & 0xff, 1, 2));
        await clock.sleep(100);
      });
      await hop.close();
      return { arrived, lost: hop.stats.down.lost };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a).toEqual(b);
    expect(a.arrived).not.toEqual(c.arrived);
    expect(a.lost + a.arrived.length).toBe(500);
    expect(a.lost).toBeGreaterThan(70); // 100 expected
    expect(a.lost).toBeLessThan(130);
  });

  it('refuses bad settings and writes after close', async () => {
    const clock = new VirtualClock({ start: 0 });
    expect(() => createWirelessHop({ clock, random: new SeededRandom(1), lossProbability: 1.5 })).toThrow(RangeError);
    expect(() => createWirelessHop({ clock, random: new SeededRandom(1), latencyMs: [50, 10] })).toThrow(RangeError);
    const hop = createWirelessHop({ clock, random: new SeededRandom(1) });
    await hop.close();
    await expect(hop.meter.write(Uint8Array.of(1))).rejects.toThrow(/closed/);
  });
});
