/**
 * Target profile loading: the built-in reference, the checked-in profiles, and one clear
 * ProfileError for every way a file can be wrong.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProfileError } from '../core/errors.ts';
import { REFERENCE_METER_PROFILE } from '../../simulators/electricity-meter/index.ts';
import { findSyntaxErrorOffset, parseJsonText } from './json-text.ts';
import { loadTargetProfile, parseTargetProfile, type TargetProfile } from './profile.ts';

const PROFILES = join(import.meta.dirname, '..', '..', 'suites', 'profiles');
const dir = mkdtempSync(join(tmpdir(), 'meterlab-profiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

function problem(load: () => unknown): string {
  try {
    load();
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return (e as ProfileError).message;
  }
  throw new Error('expected a ProfileError');
}

const serialMeter = {
  address: '000000000042',
  identifiers: ['00010000', '04000101'],
};

describe('loadTargetProfile', () => {
  it("'reference' is the reference meter on the bus, with CON-05 master settings and PROTOCOLS.md 1.1 limits", () => {
    const p = loadTargetProfile('reference');
    expect(p.name).toBe('reference');
    expect(p.source).toBe('reference');
    expect(p.connection).toMatchObject({ type: 'reference', transport: 'bus', seed: 1, behaviours: [] });
    expect(p.meter).toEqual(REFERENCE_METER_PROFILE.meter);
    expect(p.master).toEqual({ timeoutMs: 3000, attempts: 3, preamble: 4 });
    expect(p.limits).toEqual({ responseDelayMs: { min: 20, max: 500 }, clockToleranceS: 10 });
  });

  it('loads every checked-in profile', () => {
    // DL/T 645 profiles (no `device`, or device.protocol dlt645); the others are loadDeviceTargetProfile's (protocols.test.ts).
    const files = readdirSync(PROFILES).filter((f) => f.endsWith('.json') && isDlt645Profile(join(PROFILES, f)));
    expect(files.length).toBeGreaterThanOrEqual(9);
    const loaded = new Map<string, TargetProfile>(files.map((f) => [f, loadTargetProfile(join(PROFILES, f))]));
    for (const [f, p] of loaded) expect(`${p.name}.json`).toBe(f);
    expect(loaded.get('reference-mock-serial.json')!.connection).toMatchObject({ type: 'reference', transport: 'mock-serial' });
    expect(loaded.get('reference-memory.json')!.connection).toMatchObject({ type: 'reference', transport: 'memory' });
    expect(loaded.get('example-serial.json')!.connection).toMatchObject({ type: 'serial', path: '/dev/ttyUSB0' });
    expect(loaded.get('example-tcp.json')!.connection).toMatchObject({ type: 'tcp', port: 4001 });
  });

  it('stacks broken-variant behaviours on top of the simulator', () => {
    const late = loadTargetProfile(join(PROFILES, 'reference-broken-late-reply.json'));
    expect(late.connection.type).toBe('reference');
    if (late.connection.type !== 'reference') return;
    expect(late.connection.behaviours).toEqual([{ name: 'late-reply', delayMs: 600 }]);
    expect(late.connection.simulator.behaviours.at(-1)).toMatchObject({ name: 'late-reply', delayMs: 600 });
    // The declaration still comes from the simulator.
    expect(late.meter.address).toBe(REFERENCE_METER_PROFILE.meter.address);
  });

  it('names a missing file', () => {
    const file = join(dir, 'nope.json');
    expect(problem(() => loadTargetProfile(file))).toBe(`target profile ${file}: no such file`);
  });

  it('gives line and column of a JSON syntax error', () => {
    const file = write('bad.json', '{\n  "name": "x",\n  "connection": }\n');
    expect(problem(() => loadTargetProfile(file))).toMatch(new RegExp(`^target profile ${file}: invalid JSON at line 3, column 17: `));
    const trailing = write('trailing.json', '{\n  "name": "x",\n}\n');
    expect(problem(() => loadTargetProfile(trailing))).toContain('invalid JSON at line 3, column 1');
  });

  it('names the field path of every schema violation', () => {
    const file = write('fields.json', {
      name: 'vendor-x',
      connection: { type: 'serial', path: '/dev/ttyUSB0' },
      meter: { ...serialMeter, address: '12345' },
      master: { attempts: 0 },
    });
    const m = problem(() => loadTargetProfile(file));
    expect(m).toMatch(new RegExp(`^target profile ${file}: `));
    expect(m).toContain('meter.address: address must be 12 decimal digits');
    expect(m).toContain('master.attempts:');
  });

  it('rejects unknown fields and unknown connection types', () => {
    expect(problem(() => parseTargetProfile({ name: 'x', connection: { type: 'reference' }, colour: 'red' }))).toMatch(/colour/);
    expect(problem(() => parseTargetProfile({ name: 'x', connection: { type: 'modbus' } }))).toMatch(/connection\.type/);
    expect(problem(() => parseTargetProfile({ name: 'x', connection: { type: 'serial', path: '/dev/ttyS0', baud: 9600 }, meter: serialMeter }))).toMatch(
      /connection.*baud/,
    );
  });

  it('allows no destructive command unless the profile opts in, field by field', () => {
    const none = { addressWrite: false, passwordChange: false, maxDemandClear: false, meterClear: false, eventClear: false };
    expect(loadTargetProfile('reference').allowDestructive).toEqual(none);
    const p = parseTargetProfile({ name: 'x', connection: { type: 'serial', path: '/dev/ttyS0' }, meter: serialMeter, allowDestructive: { meterClear: true } });
    expect(p.allowDestructive).toEqual({ ...none, meterClear: true });
    expect(problem(() => parseTargetProfile({ name: 'x', connection: { type: 'reference' }, allowDestructive: { clearAll: true } }))).toMatch(/allowDestructive.*clearAll/);
  });

  it('requires a declaration for hardware targets', () => {
    expect(problem(() => parseTargetProfile({ name: 'x', connection: { type: 'tcp', host: 'h', port: 1 } }))).toBe(
      'target profile: meter: a tcp target must declare its meter (address, line, identifiers ...)',
    );
  });

  it('cross-checks the serial line against the declared line', () => {
    const m = problem(() =>
      parseTargetProfile({
        name: 'x',
        connection: { type: 'serial', path: '/dev/ttyUSB0', line: { baudRate: 9600, parity: 'none' } },
        meter: serialMeter,
      }),
    );
    expect(m).toContain('connection.line: the port is set to 9600 8N1 but meter.line declares 2400 8E1');
    const ok = parseTargetProfile({ name: 'x', connection: { type: 'serial', path: '/dev/ttyUSB0' }, meter: serialMeter });
    expect(ok.connection).toMatchObject({ line: { baudRate: 2400, parity: 'even', dataBits: 8, stopBits: 1 } });
  });

  it('names a bad behaviour by its index in the target profile', () => {
    const m = problem(() =>
      parseTargetProfile({ name: 'x', connection: { type: 'reference', behaviours: [{ name: 'late-reply', delayMs: -5 }] } }),
    );
    expect(m).toMatch(/^target profile: connection\.behaviours\[0\]/);
    expect(problem(() => parseTargetProfile({ name: 'x', connection: { type: 'reference', behaviours: [{ name: 'no-such-thing' }] } }))).toMatch(
      /connection\.behaviours\[0\]/,
    );
  });

  it('loads a simulator profile by path relative to the target profile, and reports its problems', () => {
    write('sim.json', { ...JSON.parse(JSON.stringify(REFERENCE_METER_PROFILE)), behaviours: [] });
    const file = write('with-sim.json', { name: 'x', connection: { type: 'reference', simulator: 'sim.json' } });
    expect(loadTargetProfile(file).meter.address).toBe(REFERENCE_METER_PROFILE.meter.address);
    const missing = write('missing-sim.json', { name: 'x', connection: { type: 'reference', simulator: 'gone.json' } });
    expect(problem(() => loadTargetProfile(missing))).toBe(`target profile ${missing}: connection.simulator: gone.json: no such file`);
    const inline = problem(() => parseTargetProfile({ name: 'x', connection: { type: 'reference', simulator: { meter: { address: 'x' } } } }));
    expect(inline).toMatch(/connection\.simulator\.meter\.address/);
  });

  it('rejects a declared line that differs from the simulator', () => {
    const m = problem(() =>
      parseTargetProfile({
        name: 'x',
        connection: { type: 'reference' },
        meter: { ...REFERENCE_METER_PROFILE.meter, line: { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 } },
      }),
    );
    expect(m).toContain('meter.line: declares 9600 8E1 but the simulator runs at 2400 8E1');
  });
});

describe('parseJsonText', () => {
  it('finds the offset of the first offending character', () => {
    expect(findSyntaxErrorOffset('{"a": 1}')).toBeUndefined();
    expect(findSyntaxErrorOffset('{"a": }')).toBe(6);
    expect(findSyntaxErrorOffset('[1, 2,]')).toBe(6);
    expect(findSyntaxErrorOffset('{"a": 1')).toBe(7);
    expect(findSyntaxErrorOffset('{"a": tru}')).toBe(9);
    const r = parseJsonText('{\n  "a": 1\n  "b": 2\n}');
    expect(r).toMatchObject({ ok: false, problem: { line: 3, column: 3 } });
  });
});

/** True for a checked-in profile of a DL/T 645 meter (no `device`, or device.protocol "dlt645"). */
function isDlt645Profile(file: string): boolean {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { device?: { protocol?: string } };
  return (doc.device?.protocol ?? 'dlt645') === 'dlt645';
}
