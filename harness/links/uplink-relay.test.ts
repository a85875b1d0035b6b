import { describe, expect, it } from 'vitest';
import { createMemoryPair } from './memory.ts';
import { UplinkRelay } from './uplink-relay.ts';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('UplinkRelay', () => {
  it('relays both ways, survives a drop on the station side, and refuses connections while down', async () => {
    const [master, stationEnd] = createMemoryPair();
    const relay = new UplinkRelay(stationEnd);
    const atMaster: number[] = [];
    master.on('data', (c) => atMaster.push(...c));

    const first = await relay.connect();
    const atTerminal: number[] = [];
    first.on('data', (c) => atTerminal.push(...c));
    let firstClosed = false;
    first.on('close', () => (firstClosed = true));
    await first.write(bytes(1, 2));
    await master.write(bytes(3));
    await settle();
    expect(atMaster).toEqual([1, 2]);
    expect(atTerminal).toEqual([3]);

    await relay.drop();
    await settle();
    expect(firstClosed).toBe(true);
    expect(master.isOpen).toBe(true);
    // Lost while no connection is up, as on a dead GPRS link.
    await master.write(bytes(9));
    await settle();

    await relay.setDown(true);
    await expect(relay.connect()).rejects.toThrow(/down/);
    await relay.setDown(false);
    const second = await relay.connect();
    const atSecond: number[] = [];
    second.on('data', (c) => atSecond.push(...c));
    await second.write(bytes(4));
    await master.write(bytes(5));
    await settle();
    expect(atMaster).toEqual([1, 2, 4]);
    expect(atSecond).toEqual([5]);
    expect(relay.connections).toBe(2);
    await relay.close();
    await master.close();
  });
});
