/**
 * CJ/T 188 targets through the protocol registry: a water meter and a sleeping gas meter declared
 * in profiles open on the reference transports with their simulated meters, `masters.cjt188`
 * reads them (the gas meter with the wake-up its declared sniff period needs), captures are
 * described frame by frame, and a bad declaration is one error naming the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDeviceTarget, parseDeviceTargetProfile, type DeviceTarget } from './index.ts';

const opened: DeviceTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

const profile = (transport: string, declaration: unknown, kind = 'water-meter') =>
  parseDeviceTargetProfile({ name: 'flow', connection: { type: 'reference', transport }, device: { kind, protocol: 'cjt188', declaration } });

describe('CJ/T 188 target protocol', () => {
  it.each(['bus', 'memory'])('opens a reference water meter over the %s transport and reads 901F through masters.cjt188', async (transport) => {
    const t = await openDeviceTarget(profile(transport, { meter: 'cold-water', address: '00000000000042' }));
    opened.push(t);
    const r = await t.masters.cjt188!.readData(0x10, '00000000000042', '901F');
    expect(r.address).toBe('00000000000042');
    expect(r.status).toMatchObject({ valve: 'open' });
    t.flushCaptures();
    expect(t.captures.map((c) => c.decode ?? '').join('\n')).toMatch(/901F/);
  });

  it('reads a sleeping gas meter: the master sends the wake-up its declared sniff period needs', async () => {
    const t = await openDeviceTarget(profile('bus', { meter: 'gas', address: '00000000000043', sleeps: true, dialect: { preset: 'foxEdge' } }, 'gas-meter'));
    opened.push(t);
    const r = await t.masters.cjt188!.readData(0x30, '00000000000043', '901F');
    expect(r.address).toBe('00000000000043');
    expect(r.exchange.attemptLog[0]!.preamble).toBeGreaterThanOrEqual(546); // 2.5 s of FE at 2400 8E1 (MM-06)
  });

  it('names the bad field of a declaration', () => {
    expect(() => profile('bus', { meter: 'cold-water', address: '123' })).toThrow(/device\.declaration\.address: 14 decimal digits/);
    expect(() => profile('bus', { meter: 'cold-water', address: '00000000000042', dialect: { diOrder: 'sideways' } })).toThrow(/device\.declaration\.dialect\.diOrder/);
  });
});
