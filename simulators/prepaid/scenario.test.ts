import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ProfileError } from '../../harness/core/errors.ts';
import { loadPrepaidScenario, readPrepaidScenarioFile } from './scenario.ts';

const SCENARIOS = join(import.meta.dirname, '../../suites/switching/scenarios');

/** The error `loadPrepaidScenario` throws for `json` (fails the test when it throws none). */
function errorOf(json: unknown): ProfileError {
  try {
    loadPrepaidScenario(json, 'p.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return e as ProfileError;
  }
  throw new Error('no error thrown');
}

describe('prepaid scenario', () => {
  it('fills the defaults; a start without an offset is Asia/Shanghai time', () => {
    const s = loadPrepaidScenario({ seed: 1 });
    expect(s).toMatchObject({ meters: 1000, metersPerBus: 32, days: 6, keepPowerShare: 0.03, stickingRelays: 1, outages: [] });
    expect(s.line).toEqual({ baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 });
    expect(s.startMs).toBe(Date.parse('2026-03-01T00:00:00+08:00'));
    expect(loadPrepaidScenario({ seed: 1, start: '2026-03-05T12:30:00' }).startMs).toBe(Date.parse('2026-03-05T04:30:00Z'));
    expect(loadPrepaidScenario({ seed: 1, start: '2026-03-05T12:30:00Z' }).startMs).toBe(Date.parse('2026-03-05T12:30:00Z'));
    expect(s.customers.delayMinutes).toEqual({ min: 2, max: 720 });
  });

  it('rejects an unknown key with a one-line message naming it, at any depth', () => {
    const top = errorOf({ seed: 1, meterz: 5 });
    expect(top.message).toMatch(/^scenario p\.json: .*Unrecognized key.*"meterz"/);
    expect(top.message).not.toContain('\n');
    expect(errorOf({ seed: 1, lossy: { share: 0.1, droprate: 0.1 } }).message).toMatch(/lossy: .*"droprate"/);
    expect(errorOf({ seed: 1, customers: { delayMinutes: { min: 1, max: 2, mean: 1 } } }).message).toMatch(/customers\.delayMinutes: .*"mean"/);
  });

  it('names the bad field', () => {
    expect(errorOf({}).message).toMatch(/seed: /);
    expect(errorOf({ seed: 1, metersPerBus: 33 }).message).toMatch(/metersPerBus: .*32/);
    expect(errorOf({ seed: 1, dailyKwh: { min: 5, max: 3 } }).message).toContain('dailyKwh.max: max 3 is below min 5');
    expect(errorOf({ seed: 1, tariffFenPerKwh: { min: 45.5, max: 60 } }).message).toMatch(/tariffFenPerKwh\.min: /);
    expect(errorOf({ seed: 1, customers: { topUpProbability: 1.5 } }).message).toMatch(/customers\.topUpProbability: /);
    expect(errorOf({ seed: 1, start: '1 March' }).message).toMatch(/start: /);
    expect(errorOf({ seed: 1, meters: 40, metersPerBus: 20, outages: [{ channel: 'bus02', startMinutes: 0, durationMinutes: 5 }] }).message).toContain(
      'outages[0].channel: no channel "bus02" (channels: bus00..bus01)',
    );
    expect(errorOf({ seed: 1, days: 1, meters: 4, outages: [{ channel: 'bus00', startMinutes: 1440, durationMinutes: 5 }] }).message).toContain('outages[0].startMinutes: ');
    expect(errorOf({ seed: 1, meters: 2, stickingRelays: 3 }).message).toContain('stickingRelays: 3 sticking relays among 2 meters');
  });

  it('reads the committed scenario files, and says what is wrong with a file', () => {
    const big = readPrepaidScenarioFile(join(SCENARIOS, 'prepaid-1000.json'));
    expect(big.meters).toBe(1000);
    expect(big.stickingRelays).toBeGreaterThanOrEqual(1);
    expect(big.keepPowerShare).toBeGreaterThan(0);
    expect(big.lossy.share).toBeGreaterThan(0);
    expect(big.customers.duplicateShare).toBeGreaterThan(0);
    expect(big.outages.length + big.randomOutages.count).toBeGreaterThan(0);
    expect(readPrepaidScenarioFile(join(SCENARIOS, 'prepaid-40.json')).meters).toBe(40);
    const dir = mkdtempSync(join(tmpdir(), 'prepaid-'));
    expect(() => readPrepaidScenarioFile(join(dir, 'none.json'))).toThrow(/none\.json: no such file$/);
    writeFileSync(join(dir, 'bad.json'), '{ "seed": ');
    expect(() => readPrepaidScenarioFile(join(dir, 'bad.json'))).toThrow(/bad\.json: invalid JSON: /);
    writeFileSync(join(dir, 'key.json'), '{ "seed": 1, "slow": { "share": 2, "delayMs": 1 } }');
    expect(() => readPrepaidScenarioFile(join(dir, 'key.json'))).toThrow(/key\.json: slow\.share: /);
  });
});
