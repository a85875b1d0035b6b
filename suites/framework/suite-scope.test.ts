/**
 * Which suites a target runs: every suite folder declares its protocol and device kinds in
 * suite.json; `meterlab run` chooses by the target's device; a suite file run against a target of
 * another kind says "not applicable" for every case instead of failing them.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../harness/core/clock.ts';
import { chooseSuites, discoverSuites, type DiscoveredSuite, type ResolvedTarget } from '../../harness/cli/run.ts';
import { targetProtocolIds } from '../../harness/targets/index.ts';
import { TargetNotInScope } from './case.ts';
import { filesForDevice, readSuiteScope, scopeCovers } from './suite-scope.ts';
import { openSuiteTarget, referenceDeviceProfilePath, suiteTargetSpec } from './suite-target.ts';

const SUITES_DIR = new URL('..', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'meterlab-scope-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const target = (device?: { protocol: string; kind: string }): ResolvedTarget => ({
  env: '/x/t.json',
  target: { name: 't', spec: '/x/t.json', kind: 'serial' },
  ...(device ? { device } : {}),
});

describe("MeterLab's suites", () => {
  it('each declares a registered protocol and the device kinds it tests', () => {
    const suites = discoverSuites(SUITES_DIR);
    expect(suites.size).toBeGreaterThanOrEqual(3);
    for (const [name, s] of suites) {
      expect(s.scope, `suites/${name}/suite.json`).toBeDefined();
      expect(targetProtocolIds(), `suites/${name}/suite.json protocol`).toContain(s.scope!.protocol);
    }
    expect(suites.get('reading')!.scope).toEqual({ protocol: 'dlt645', kinds: ['electricity-meter'], systemCases: false });
    expect(suites.get('switching')!.scope!.systemCases).toBe(true);
  });
});

describe('choosing the suites of a run', () => {
  const suites = new Map([
    ['reading', { files: ['r'], scope: { protocol: 'dlt645', kinds: ['electricity-meter' as const] } }],
    ['mbus-reading', { files: ['m'], scope: { protocol: 'mbus', kinds: ['heat-meter' as const] } }],
    ['flow', { files: ['w', 'g'], scope: { protocol: 'cjt188', kinds: ['water-meter' as const, 'gas-meter' as const] } }],
    ['demo', { files: ['d'], scope: undefined }],
  ]);

  it('the built-in reference runs every suite; a profile runs the suites of its device', () => {
    expect(chooseSuites(suites, undefined, target())).toEqual(['reading', 'mbus-reading', 'flow', 'demo']);
    expect(chooseSuites(suites, undefined, target({ protocol: 'mbus', kind: 'heat-meter' }))).toEqual(['mbus-reading', 'demo']);
    expect(chooseSuites(suites, undefined, target({ protocol: 'cjt188', kind: 'gas-meter' }))).toEqual(['flow', 'demo']);
    expect(chooseSuites(suites, 'flow', target({ protocol: 'cjt188', kind: 'water-meter' }))).toEqual(['flow']);
  });

  it("a vendor's station profile runs only the suites holding system cases", () => {
    const withSystem = new Map<string, DiscoveredSuite>([...suites, ['switching', { files: ['s'], scope: { protocol: 'dlt645', kinds: ['electricity-meter'], systemCases: true } }]]);
    const station = target({ protocol: 'dlt645', kind: 'electricity-meter', stationOnly: true } as never);
    expect(chooseSuites(withSystem, undefined, station)).toEqual(['demo', 'switching']);
    expect(() => chooseSuites(withSystem, 'reading', station)).toThrow(/^suite "reading" tests electricity-meter read over dlt645; the target "t" is a vendor's master station/);
  });

  it('a suite for another device, or no suite at all, is one usage error naming both', () => {
    expect(() => chooseSuites(suites, 'mbus-reading', target({ protocol: 'dlt645', kind: 'electricity-meter' }))).toThrow(
      'suite "mbus-reading" tests heat-meter read over mbus; the target "t" is a electricity-meter read over dlt645',
    );
    const only = new Map([...suites].filter(([n]) => n === 'reading'));
    expect(() => chooseSuites(only, undefined, target({ protocol: 'mbus', kind: 'water-meter' }))).toThrow(
      /^no suite tests a water-meter read over mbus \(the target "t"\); suites: reading \(electricity-meter read over dlt645\)$/,
    );
  });

  it('a suite with one file per kind starts only the file of the target device kind', () => {
    const scope = { protocol: 'cjt188', kinds: ['water-meter', 'gas-meter'] as const, files: { 'water.conformance.ts': 'water-meter', 'gas.conformance.ts': 'gas-meter' } as const };
    const files = ['/s/flow/gas.conformance.ts', '/s/flow/water.conformance.ts', '/s/flow/both.conformance.ts'];
    expect(filesForDevice(files, scope, { kind: 'water-meter' })).toEqual(['/s/flow/water.conformance.ts', '/s/flow/both.conformance.ts']);
    expect(filesForDevice(files, scope, undefined)).toEqual(files);
    expect(filesForDevice(files, undefined, { kind: 'water-meter' })).toEqual(files);
    const real = discoverSuites(SUITES_DIR).get('cjt188-reading')!;
    expect(filesForDevice(real.files, real.scope, { kind: 'gas-meter' }).map((f) => f.split('/').pop())).toEqual(['gas.conformance.ts']);
  });

  it('reads suite.json, and names the file and field of a bad one', () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir);
    expect(readSuiteScope(dir)).toBeUndefined();
    writeFileSync(join(dir, 'suite.json'), JSON.stringify({ protocol: 'mbus', kinds: ['toaster'] }));
    expect(() => readSuiteScope(dir)).toThrow(new RegExp(`^suite scope ${dir}/suite.json: kinds.0: `));
    writeFileSync(join(dir, 'suite.json'), '{ "protocol": ');
    expect(() => readSuiteScope(dir)).toThrow(/invalid JSON/);
    expect(scopeCovers(undefined, { protocol: 'x', kind: 'y' })).toBe(true);
  });
});

describe('opening the target of a suite', () => {
  it('resolves "reference" to the reference device of the kind (DL/T 645: the built-in meter)', () => {
    expect(suiteTargetSpec({ suite: 'reading', protocol: 'dlt645', kind: 'electricity-meter' }, 'reference')).toBe('reference');
    expect(suiteTargetSpec({ suite: 'm', protocol: 'mbus', kind: 'heat-meter' }, 'reference')).toBe(referenceDeviceProfilePath('heat-meter'));
    expect(referenceDeviceProfilePath('heat-meter')).toMatch(/suites\/profiles\/reference-heat-meter\.json$/);
    expect(suiteTargetSpec({ suite: 'm', protocol: 'mbus', kind: 'heat-meter' }, '/p/x.json')).toBe('/p/x.json');
  });

  it('a target of another protocol or kind is out of scope: every case will be not applicable, with the reason', async () => {
    const file = join(tmp, 'heat.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'heat-1',
        device: { kind: 'heat-meter', protocol: 'mbus', declaration: { primaryAddress: 5, secondary: { id: '12345678', manufacturer: 'MLB', version: 1 } } },
        connection: { type: 'reference', transport: 'memory' },
      }),
    );
    const saved = process.env.METERLAB_TARGET;
    process.env.METERLAB_TARGET = file;
    try {
      const e = await openSuiteTarget({ suite: 'flow', protocol: 'cjt188', kind: 'water-meter' }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TargetNotInScope);
      expect((e as Error).message).toBe('the target "heat-1" is a heat-meter read over M-Bus (EN 13757-2/-3); this suite tests water-meters read over CJ/T 188-2004');
      const t = await openSuiteTarget({ suite: 'mbus-reading', protocol: 'mbus', kind: 'heat-meter' }, { clock: new VirtualClock() });
      try {
        expect(t.masters.mbus).toBeDefined();
      } finally {
        await t.close();
      }
    } finally {
      if (saved === undefined) delete process.env.METERLAB_TARGET;
      else process.env.METERLAB_TARGET = saved;
    }
  });
});
