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

  it('declared records: the fields before scale/tariff/function/subunit/range still load; the new ones are validated', () => {
    const old = profile('bus', { ...declaration, records: [{ quantity: 'Energy', unit: 'Wh', storageNumber: 1 }] });
    expect((old.device.declaration as { records: unknown[]; telegrams?: number }).records).toEqual([{ quantity: 'Energy', unit: 'Wh', storageNumber: 1 }]);
    expect((old.device.declaration as { telegrams?: number }).telegrams).toBeUndefined();
    const full = { quantity: 'Energy', unit: 'Wh', scale: 1000, tariff: 1, function: 'maximum', subunit: 0, range: { min: 0, max: 5 } };
    expect((profile('bus', { ...declaration, telegrams: 3, records: [full] }).device.declaration as { records: unknown[] }).records).toEqual([{ ...full, storageNumber: 0 }]);
    expect(() => profile('bus', { ...declaration, records: [{ ...full, range: { min: 5, max: 1 } }] })).toThrow(/device\.declaration\.records\[0\]\.range: min must not exceed max/);
    expect(() => profile('bus', { ...declaration, records: [{ ...full, function: 'average' }] })).toThrow(/device\.declaration\.records\[0\]\.function/);
    expect(() => profile('bus', { ...declaration, records: [{ ...full, scale: 0 }] })).toThrow(/device\.declaration\.records\[0\]\.scale/);
    expect(() => profile('bus', { ...declaration, telegrams: 0 })).toThrow(/device\.declaration\.telegrams/);
  });

  it('builds the reference meter from the declaration: storages, history and telegrams', async () => {
    const t = await openDeviceTarget(
      profile('memory', { ...declaration, telegrams: 3, records: [{ quantity: 'Energy', unit: 'Wh', storageNumber: 4 }] }),
    );
    opened.push(t);
    const r = await t.masters.mbus!.readData(5, { reset: true });
    expect(r.telegrams).toHaveLength(3);
    // Storages 1..4 are there from the first read (the meter counted for five 31-day months).
    const storages = new Set(r.records.flatMap((x) => (x.kind === 'data' ? [x.storageNumber] : [])));
    expect([...storages].sort()).toEqual([0, 1, 2, 3, 4]);
  });
});
