/**
 * The CJ/T 188 reading and valve suites judged against known devices:
 * - the reference water meter passes every case over each simulated transport, the reference gas
 *   meter (a sleeping battery meter) over the bus, the cases they cannot run not applicable with
 *   the declaration field that gates them;
 * - each broken variant (suites/profiles/reference-broken-*-meter-*.json, `connection.defects`)
 *   fails the case that names its defect, and only that one;
 * - a meter that has gone silent fails no requirement: every case is inconclusive with the reason.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDeviceTargetProfile, openDeviceTarget, parseDeviceTargetProfile, type DeviceTargetProfile } from '../../harness/targets/index.ts';
import { runCases, verdictLines, type CaseResult } from '../framework/case.ts';
import { getRequirement } from '../requirements/catalog.ts';
import { cjt188ValveCases } from '../cjt188-valve/cases.ts';
import { cjt188ReadingCases } from './cases.ts';

const PROFILES = resolve(import.meta.dirname, '../profiles');
const ALL = [...cjt188ReadingCases, ...cjt188ValveCases];

function profile(file: string, edit: (json: { connection: Record<string, unknown> }) => void = () => undefined): DeviceTargetProfile {
  const path = resolve(PROFILES, file);
  const json = JSON.parse(readFileSync(path, 'utf8')) as { connection: Record<string, unknown> };
  edit(json);
  return parseDeviceTargetProfile(json, { source: path });
}

async function run(p: DeviceTargetProfile, ids?: readonly string[]): Promise<CaseResult[]> {
  const target = await openDeviceTarget(p, { describe: false });
  try {
    return await runCases(ALL, target, ids);
  } finally {
    await target.close();
  }
}

const SLEEPS_GATE = 'cjt188-reading.battery-wake-up: notApplicable — device.declaration.sleeps is false (a mains-powered meter that never sleeps)';

describe('CJ/T 188 suites against the reference meters', () => {
  it('ties every case to a requirement in the catalog, with unique ids', () => {
    for (const c of ALL) expect(() => getRequirement(c.requirement), c.id).not.toThrow();
    expect(new Set(ALL.map((c) => c.id)).size).toBe(ALL.length);
  });

  it.each(['bus', 'mock-serial', 'memory'])('the reference water meter passes every case over the %s transport (the battery case not applicable)', async (transport) => {
    const results = await run(profile('reference-water-meter.json', (j) => void (j.connection['transport'] = transport)));
    expect(verdictLines(results)).toEqual(ALL.map((c) => (c.id === 'cjt188-reading.battery-wake-up' ? SLEEPS_GATE : `${c.id}: passed`)));
    // The valve's motor time was measured against the declared limit (6 s motor, 10 s declared).
    const valve = results.find((r) => r.id === 'cjt188-valve.close-and-open')!;
    expect(valve.measurements.map((m) => [m.name, m.limit, m.ok])).toEqual([
      ['valve close time', '<= 10000', true],
      ['valve open time', '<= 10000', true],
    ]);
  });

  it('the reference gas meter, a battery meter that sleeps, passes every case over the bus; every request carried a wake-up', async () => {
    const results = await run(loadDeviceTargetProfile(resolve(PROFILES, 'reference-gas-meter.json')));
    expect(verdictLines(results)).toEqual(ALL.map((c) => `${c.id}: passed`));
    const wake = results.find((r) => r.id === 'cjt188-reading.battery-wake-up')!;
    expect(wake.measurements[0]).toMatchObject({ name: 'wake-up preamble that got the reply', ok: true });
    expect(wake.measurements[0]!.value).toBeGreaterThanOrEqual(2000);
    // The leak case read the volume a minute past each hour for a day: 25 reads, each one rising.
    const leak = results.find((r) => r.id === 'cjt188-reading.leak-visible')!;
    const hourly = leak.evidence.find((e) => e.name === 'hourly volumes')!.body.split('\n');
    expect(hourly).toHaveLength(25);
    expect(hourly[0]).toMatch(/ 00:01:0\d /); // a minute past midnight, plus the 2.5 s wake-up
  });
});

describe('broken variants fail the case that names their defect, and only it', () => {
  // [broken profile, the cases it must fail, what the reason must say]
  const table: [string, Record<string, RegExp>][] = [
    ['reference-broken-water-meter-wrong-unit-byte.json', { 'cjt188-reading.units': /901F current cumulative flow has unit byte 29H \(L\), device\.declaration\.volumeUnit is m³ \(2CH\)/ }],
    ['reference-broken-water-meter-hide-low-flow.json', { 'cjt188-reading.leak-visible': /with 12 L\/h flowing continuously .* the volume did not rise in \d+ of 24 hours \(from 00:00, 01:00/ }],
    ['reference-broken-water-meter-ignores-meter-type.json', { 'cjt188-reading.wrong-meter-type': /a 901F read with meter type 30H \(gas\) to a coldWater meter was answered: reply C=81 T=10 from 00000000000042/ }],
    ['reference-broken-water-meter-ignores-time-sync.json', { 'cjt188-reading.time-sync': /clock error after sync one hour ahead 3600(\.\d)? s outside <= 10 s/ }],
    ['reference-broken-water-meter-battery-low-never-reported.json', { 'cjt188-reading.status-word': /ST 00 00 does not report the battery low with 5 % charge left \(layout standard\)/ }],
    ['reference-broken-gas-meter-answers-without-wake-up.json', { 'cjt188-reading.battery-wake-up': /answered requests with only 4 FE bytes after 13 s of quiet, twice in a row, though it declares it sleeps with a 2000 ms sniff period/ }],
    [
      'reference-broken-gas-meter-hide-valve-state.json',
      {
        // ST 04 00: open, battery low (cjt188-reading.status-word drained the cell before).
        'cjt188-valve.close-and-open': /after the close \(99H\) command ST reported the valve open \(ST 04 00\) 1\d\.\d s later, never closed, within the declared 10000 ms/,
        'cjt188-valve.stuck-reported': /the jammed valve was never reported: ST said open/,
      },
    ],
  ];

  it.each(table)('%s', async (file, failing) => {
    const results = await run(loadDeviceTargetProfile(resolve(PROFILES, file)));
    for (const r of results) {
      const want = failing[r.id];
      if (want) {
        expect(r.verdict, `${r.id}: ${r.reason}`).toBe('failed');
        expect(r.reason).toMatch(want);
      } else {
        expect(['passed', 'notApplicable'], `${r.id}: ${r.verdict} — ${r.reason}`).toContain(r.verdict);
      }
    }
  });

  it('a meter that answers any meter type passes wrong-meter-type when it declares ignoresMeterType, its reply carrying its own type', async () => {
    const p = profile('reference-broken-water-meter-ignores-meter-type.json', (j) => {
      ((j as unknown as { device: { declaration: Record<string, unknown> } }).device.declaration)['ignoresMeterType'] = true;
    });
    const [r] = await run(p, ['cjt188-reading.wrong-meter-type']);
    expect(`${r!.verdict} ${r!.reason}`).toBe('passed ');
    expect(r!.log.join('\n')).toMatch(/ignoresMeterType is true/);
  });

  it('a defect the CJ/T 188 entry does not know is one profile error naming the field', () => {
    expect(() => profile('reference-water-meter.json', (j) => void (j.connection['defects'] = [{ name: 'ignore-fcb' }]))).toThrow(/connection\.defects\[0\]\.name: Invalid discriminator value\. Expected 'hide-valve-state' \| 'wrong-unit-byte'/);
  });
});

describe('a dead meter fails no requirement', () => {
  it('every case against a meter that stopped answering is inconclusive (or not applicable), naming the silence', async () => {
    const target = await openDeviceTarget(loadDeviceTargetProfile(resolve(PROFILES, 'reference-water-meter.json')), { describe: false });
    try {
      target.simulator!.stop();
      const results = await runCases(ALL, target);
      for (const r of results) {
        if (r.id === 'cjt188-reading.battery-wake-up') continue;
        expect(r.verdict, `${r.id}: ${r.reason}`).toBe('inconclusive');
        expect(r.reason).toMatch(/meter not answering since the target was opened .*: no reply to 901F at 00000000000042 nor to 03H at AA…AA/);
      }
    } finally {
      await target.close();
    }
  });
});
