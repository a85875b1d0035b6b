/**
 * The M-Bus segment is the RS-485 bus model at 2400 8E1 (mbus-segment.ts): line time per
 * character, and what a master hears when several slaves answer one selection.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import type { ChunkTiming } from './link.ts';
import { characterTimeMs } from './link.ts';
import { MBUS_DEFAULT_LINE, createMbusSegment } from './mbus-segment.ts';

const CHAR_MS = characterTimeMs(MBUS_DEFAULT_LINE);

function hear(link: { on(e: 'data', l: (c: Uint8Array, t?: ChunkTiming) => void): unknown }, clock: VirtualClock) {
  const got: { bytes: number[]; at: number }[] = [];
  link.on('data', (c) => got.push({ bytes: [...c], at: clock.now() }));
  return got;
}

describe('M-Bus segment', () => {
  it('runs at 2400 8E1 (11-bit characters, 4.583 ms) and names its nodes', async () => {
    const clock = new VirtualClock();
    const seg = createMbusSegment({ clock });
    const slave = seg.attachSlave('heat-1');
    expect(seg.bus.line).toEqual(MBUS_DEFAULT_LINE);
    expect(CHAR_MS).toBeCloseTo(11000 / 2400, 9);
    expect([seg.master.name, slave.name]).toEqual(['mbus:master', 'mbus:heat-1']);
    const got = hear(slave, clock);
    const t0 = clock.now();
    await seg.master.write(Uint8Array.of(0x10, 0x5b, 0x01, 0x5c, 0x16));
    expect(got).toEqual([{ bytes: [0x10, 0x5b, 0x01, 0x5c, 0x16], at: t0 + 5 * CHAR_MS }]);
    await seg.close();
  });

  it('two slaves acknowledging one selection: the master hears two characters and the bus counts a collision', async () => {
    const clock = new VirtualClock();
    const seg = createMbusSegment({ clock });
    const a = seg.attachSlave('a');
    const b = seg.attachSlave('b');
    const got = hear(seg.master, clock);
    await Promise.all([a.write(Uint8Array.of(0xe5)), b.write(Uint8Array.of(0xe5))]);
    expect(got.flatMap((g) => g.bytes)).toEqual([0xe5, 0xe5]);
    expect(seg.bus.stats.collisions).toBe(1);
    // Colliding long answers: the overlapping characters are corrupted (OR of both).
    got.length = 0;
    await Promise.all([a.write(Uint8Array.of(0x68, 0x03, 0x03, 0x68, 0x08)), b.write(Uint8Array.of(0x68, 0x04, 0x04, 0x68, 0x08))]);
    expect(got.flatMap((g) => g.bytes)).toEqual([0x68, 0x68, 0x07, 0x07, 0x07, 0x07, 0x68, 0x68, 0x08, 0x08]);
    expect(seg.bus.stats.collisions).toBe(2);
    await seg.close();
  });
});

describe('M-Bus segment directions', () => {
  it('slaves hear the master but not each other; the master and a peer sniffer hear the slaves', async () => {
    const clock = new VirtualClock();
    const seg = createMbusSegment({ clock });
    const a = seg.attachSlave('a');
    const b = seg.attachSlave('b');
    const sniffer = seg.bus.attach('sniffer');
    const [atA, atB, atMaster, atSniffer] = [hear(a, clock), hear(b, clock), hear(seg.master, clock), hear(sniffer, clock)];
    await a.write(Uint8Array.of(0xe5));
    expect([atB.length, atMaster.length, atSniffer.length]).toEqual([0, 1, 1]);
    await seg.master.write(Uint8Array.of(0x10, 0x40, 0x01, 0x41, 0x16));
    expect([atA.length, atB.length, atSniffer.length]).toEqual([1, 1, 2]);
    await seg.close();
  });
});
