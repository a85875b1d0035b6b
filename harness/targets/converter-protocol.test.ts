/**
 * The interface converter as a target protocol: the reference profile loads and opens over the bus
 * model and the in-memory pair, `masters.converter` reads through the converter in CJ/T 188 and
 * DL/T 645 on the same link, captures are decoded by both codecs, the masters' timeout covers the
 * declared worst case, and bad declarations and defects are one ProfileError naming the field.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { ProfileError } from '../core/errors.ts';
import { MeterType } from '../protocols/cjt188/index.ts';
import { converterDefectSwitches, converterTimeoutMs } from './converter-protocol.ts';
import { openDeviceTarget, parseDeviceTargetProfile, type DeviceTarget } from './index.ts';

const REFERENCE = new URL('../../suites/profiles/reference-interface-converter.json', import.meta.url);
const json = () => JSON.parse(readFileSync(REFERENCE, 'utf8')) as { device: { declaration: { archive: Record<string, unknown>[] } }; connection: Record<string, unknown> };
const opened: DeviceTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

describe('converter target protocol', () => {
  it.each(['bus', 'memory'])('opens the reference converter over %s and reads through it in both protocols', async (transport) => {
    const doc = json();
    doc.connection = { ...doc.connection, transport };
    const t = await openDeviceTarget(parseDeviceTargetProfile(doc, { source: 'inline' }));
    opened.push(t);
    const m = t.masters.converter!;
    expect(m.timeoutMs).toBe(12_000); // 10 000 ms declared with a wake-up, + 2000 ms margin
    const water = await m.cjt188.readData(MeterType.ColdWater, '10000000000001', '901F');
    expect(water.address).toBe('10000000000001');
    const energy = await m.dlt645.readData('000000000004', '00010000');
    expect(energy.address).toBe('000000000004');
    t.flushCaptures();
    const decodes = t.captures.map((c) => c.decode ?? '');
    expect(decodes.some((d) => /readDataResponse 10 10000000000001 DI 901F/.test(d))).toBe(true);
    expect(decodes.some((d) => /000000000004/.test(d) && !/readDataResponse 10/.test(d))).toBe(true);
  });

  it('refuses bad declarations and defects with one ProfileError naming the field', () => {
    const bad = (edit: (d: ReturnType<typeof json>) => void): string => {
      const doc = json();
      edit(doc);
      try {
        parseDeviceTargetProfile(doc, { source: 'c.json' });
        return 'loaded';
      } catch (e) {
        expect(e).toBeInstanceOf(ProfileError);
        return (e as Error).message;
      }
    };
    expect(bad((d) => void (d.device.declaration.archive[2]!['meterId'] = undefined))).toMatch(/device\.declaration\.archive\[2\]\.meterId: an MLGW meter needs its 8-digit meterId/);
    expect(bad((d) => void (d.connection['defects'] = [{ name: 'alter-every-byte' }]))).toMatch(/connection\.defects\[0\]\.name/);
    expect(bad((d) => void (d.connection['defects'] = [{ name: 'slow-forwarding', delayMs: -1 }]))).toMatch(/connection\.defects\[0\]\.delayMs/);
    expect(bad((d) => void (d.connection['defects'] = [{ name: 'slow-forwarding' }]))).toBe('loaded');
  });

  it('maps defects to the simulator switches and sizes the timeout from the declaration', () => {
    expect(converterDefectSwitches([{ name: 'alter-forwarded-byte' }, { name: 'slow-forwarding', delayMs: 300 }])).toEqual({ alterForwardedByte: true, extraDelayMs: 300 });
    const d = parseDeviceTargetProfile(json(), { source: 'inline' }).device.declaration as Parameters<typeof converterTimeoutMs>[0];
    expect(converterTimeoutMs(d, 3000)).toBe(12_000);
    expect(converterTimeoutMs({ ...d, archive: d.archive.filter((e) => !e.sleeps) }, 3000)).toBe(4500);
    expect(converterTimeoutMs(d, 20_000)).toBe(20_000);
  });
});
