/**
 * M-Bus targets through the protocol registry: a profile declaring an M-Bus heat meter opens on
 * the reference transports with its simulated meter, `masters.mbus` reads it, the captures are
 * described frame by frame, and a bad declaration is one error naming the field.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDeviceTarget, parseDeviceTargetProfile, type DeviceTarget } from './index.ts';

const opened: DeviceTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

const declaration = { primaryAddress: 5, secondary: { id: '12345678', manufacturer: 'MLB', version: 1 } };
const profile = (transport: string, decl: unknown = declaration) =>
  parseDeviceTargetProfile({ name: 'heat', connection: { type: 'reference', transport }, device: { kind: 'heat-meter', protocol: 'mbus', declaration: decl } });

describe('M-Bus target protocol', () => {
  it.each(['bus', 'memory'])('opens a reference heat meter over the %s transport and reads it through masters.mbus', async (transport) => {
    const t = await openDeviceTarget(profile(transport));
    opened.push(t);
    const mbus = t.masters.mbus!;
    // The reference target's clock auto-advances while the exchange waits on simulated line time.
    const r = await mbus.readData(5, { reset: true });
    expect(r.identity).toMatchObject({ id: '12345678', version: 1, medium: 4 });
    t.flushCaptures();
    expect(t.captures.map((c) => c.decode ?? '').join('\n')).toMatch(/RSP_UD/);
  });

  it('names the bad field of a declaration', () => {
    expect(() => profile('bus', { ...declaration, primaryAddress: 251 })).toThrow(/device\.declaration\.primaryAddress/);
    expect(() => profile('bus', { ...declaration, secondary: { ...declaration.secondary, manufacturer: 'mlb' } })).toThrow(/device\.declaration\.secondary\.manufacturer: three capital letters/);
  });
});
