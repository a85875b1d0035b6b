import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProfileError } from '../../harness/core/errors.ts';
import { loadCollectionScenario, readCollectionScenarioFile, type CollectionScenarioInput } from './scenario.ts';

const SMALL: CollectionScenarioInput = {
  seed: 1,
  areas: [{ name: 'a', areaCode: '0101', households: 10, householdsPerConcentrator: 5, meters: { electricity: { share: 1, channel: 'rs485' } } }],
};

function message(json: unknown): string {
  try {
    loadCollectionScenario(json, 'x.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return (e as Error).message;
  }
  throw new Error('the scenario was accepted');
}

describe('collection scenario', () => {
  it('fills the defaults: 2400 8E1 lines, buses of 32, segments of 60, converters of 64, no faults', () => {
    const s = loadCollectionScenario(SMALL);
    expect(s.startMs).toBe(Date.parse('2026-01-11T12:00:00+08:00'));
    expect(s.channels.rs485).toEqual({ metersPerBus: 32, line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } });
    expect(s.channels.mbus.metersPerSegment).toBe(60);
    expect(s.channels.wireless).toMatchObject({ metersPerConverter: 64, convertersPerBus: 8, hopLossProbability: 0.03, sleeps: { gas: true, water: false } });
    expect(s.faults).toEqual({ deadMeters: 0 });
    expect(s.areas[0]!.firstTerminal).toBe(1);
  });

  it('names every bad field in one ProfileError, the file first', () => {
    const m = message({
      seed: -1,
      areas: [
        { name: 'a b', areaCode: '12345', households: 0, householdsPerConcentrator: 5, meters: { heat: { share: 1, channel: 'rs485' }, steam: {} } },
        { name: 'ok', areaCode: '0101', households: 10, householdsPerConcentrator: 5, meters: { water: { share: 2, channel: 'wireless' } } },
      ],
      faults: { reboots: { share: 0.1, at: '25:00' }, deadmeters: 0.1 },
    });
    expect(m).toMatch(/^scenario x\.json: /);
    for (const field of ['seed', 'areas[0].name', 'areas[0].areaCode', 'areas[0].households', 'areas[0].meters', 'areas[1].meters.water.share', 'faults.reboots.at', 'faults']) {
      expect(m).toContain(`${field}: `);
    }
    expect(m).toMatch(/Unrecognized key.*steam/);
    expect(m).toMatch(/Unrecognized key.*deadmeters/);
    expect(m).toMatch(/areas\[0\]\.meters\.heat\.channel: heat meters are reached over mbus, not rs485/);
  });

  it('refuses concentrators that could not hold their meters: archive points, local ports, terminal addresses, area codes', () => {
    const area = (over: object) => ({ ...SMALL, areas: [{ ...SMALL.areas[0]!, ...over }] });
    expect(message(area({ householdsPerConcentrator: 1100, meters: { electricity: { share: 1, channel: 'wireless' }, water: { share: 1, channel: 'wireless' } } }))).toMatch(
      /areas\[0\]\.householdsPerConcentrator: up to 2200 meters behind one concentrator, more than its 2040 archive points/,
    );
    // 1000 electricity meters on buses of 32: 32 buses, a concentrator has 29 local ports.
    expect(message(area({ households: 1000, householdsPerConcentrator: 1000 }))).toMatch(/householdsPerConcentrator: up to 32 local ports needed, a concentrator has 29/);
    expect(message(area({ firstTerminal: 65535 }))).toMatch(/areas\[0\]\.firstTerminal: 2 concentrators from terminal 65535 would pass 65535/);
    expect(message({ ...SMALL, areas: [SMALL.areas[0], { ...SMALL.areas[0], name: 'b' }] })).toMatch(/areas\[1\]\.areaCode: area code 0101 is also areas\[0\]'s/);
    expect(message(area({ meters: { water: { share: 0, channel: 'rs485' } } }))).toMatch(/areas\[0\]\.meters: no meter kind with a share above 0/);
    expect(message({ ...SMALL, channels: { rs485: { line: { baudRate: 300 } } } })).toMatch(/channels\.rs485\.line\.baudRate/);
    expect(message({ ...SMALL, channels: { wireless: { hopLatencyMs: [60, 20] } } })).toMatch(/channels\.wireless\.hopLatencyMs: \[min, max\] with min <= max/);
  });

  it('reads a file: missing, invalid JSON and a bad field each one ProfileError naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'collection-scenario-'));
    expect(() => readCollectionScenarioFile(join(dir, 'none.json'))).toThrow(/scenario .*none\.json: no such file/);
    writeFileSync(join(dir, 'bad.json'), '{ "seed": ');
    expect(() => readCollectionScenarioFile(join(dir, 'bad.json'))).toThrow(/scenario .*bad\.json: invalid JSON/);
    writeFileSync(join(dir, 'field.json'), JSON.stringify({ ...SMALL, seed: 'x' }));
    expect(() => readCollectionScenarioFile(join(dir, 'field.json'))).toThrow(/scenario .*field\.json: seed: /);
  });

  it('the checked-in scenarios load', () => {
    for (const f of ['pilot-2172', 'district-5389', 'province-50000']) {
      const s = readCollectionScenarioFile(new URL(`./scenarios/${f}.json`, import.meta.url).pathname);
      expect(s.areas.reduce((a, b) => a + b.households, 0)).toBe(Number(f.split('-')[1]));
    }
  });
});
