/**
 * The M-Bus reading suite judged on the reference heat meter and its broken variants: every case
 * passes on the reference (bus model, in-memory pair, serialport mock binding), each broken
 * variant fails the case its defect breaks and no other, a dead or misaddressed device earns no
 * pass and fails no requirement it cannot be judged on, and what a declaration leaves out is not
 * applicable with the field named.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDeviceTargetProfile, openDeviceTarget, parseDeviceTargetProfile, type DeviceTarget } from '../../harness/targets/index.ts';
import type { MbusHeatSlave } from '../../simulators/heat-meter/index.ts';
import { runCases, verdictLines, type CaseResult } from '../framework/case.ts';
import { mbusReadingCases } from './cases.ts';

const PROFILES = new URL('../profiles/', import.meta.url);
const REFERENCE = new URL('reference-heat-meter.json', PROFILES).pathname;
const opened: DeviceTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

async function open(profile: ReturnType<typeof loadDeviceTargetProfile>): Promise<DeviceTarget> {
  const t = await openDeviceTarget(profile);
  opened.push(t);
  return t;
}

function referenceJson(): Record<string, unknown> & { connection: Record<string, unknown>; device: { declaration: Record<string, unknown> } } {
  return JSON.parse(readFileSync(REFERENCE, 'utf8')) as ReturnType<typeof referenceJson>;
}

/** Verdict per case id. */
function verdicts(results: readonly CaseResult[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.id, r.verdict]));
}

const ALL = mbusReadingCases.map((c) => c.id);

describe('M-Bus reading suite on the reference heat meter', () => {
  it.each(['bus', 'memory', 'mock-serial'])('passes every case over the %s transport', async (transport) => {
    const json = referenceJson();
    json.connection = { ...json.connection, transport };
    const t = await open(parseDeviceTargetProfile(json));
    const results = await runCases(mbusReadingCases, t);
    expect(verdictLines(results)).toEqual(ALL.map((id) => `${id}: passed`));
    const byId = Object.fromEntries(results.map((r) => [r.id, r]));
    // The checks measured something: the heat balance, two telegrams, a scan over the whole range.
    expect(byId['mbus-reading.record-consistency']!.measurements[0]).toMatchObject({ name: 'heat power / (flow × ΔT × 1.163)', ok: true });
    expect(byId['mbus-reading.multi-telegram']!.measurements[0]).toMatchObject({ value: 2, ok: true });
    expect(byId['mbus-reading.declared-records']!.evidence.find((e) => e.name === 'records')!.body.split('\n')).toHaveLength(15);
    expect(byId['mbus-reading.fcb']!.evidence.some((e) => e.name === 'frames')).toBe(true);
  });

  it('a record declared without tariff, function or subunit means the plain one (tariff 0, instantaneous, subunit 0); a declared one must match', async () => {
    const json = referenceJson();
    const records = json.device.declaration.records as Record<string, unknown>[];
    // The reference sends one current energy record, instantaneous tariff 0: declaring it as a maximum or tariff 1 fails.
    json.device.declaration.records = [{ ...records[0], function: 'maximum' }, { quantity: 'Volume', unit: 'm^3', tariff: 1 }];
    const t = await open(parseDeviceTargetProfile(json));
    const r = (await runCases(mbusReadingCases, t, ['mbus-reading.declared-records']))[0]!;
    expect(r.verdict).toBe('failed');
    expect(r.reason).toMatch(/records\.0 Energy \(Wh ×1000\) storage 0 tariff 0 maximum: not sent; Energy records sent: Energy \(Wh ×1000\) storage 0 tariff 0 instantaneous/);
    expect(r.reason).toMatch(/records\.1 Volume \(m\^3\) storage 0 tariff 1: not sent/);
  });

  it('a declaration without telegrams or records: those cases are not applicable, naming the field', async () => {
    const json = referenceJson();
    const { telegrams: _t, records: _r, ...rest } = json.device.declaration;
    json.device.declaration = rest;
    const t = await open(parseDeviceTargetProfile(json));
    const results = await runCases(mbusReadingCases, t);
    const na = results.filter((r) => r.verdict === 'notApplicable').map((r) => `${r.id}: ${r.reason}`);
    expect(na).toEqual([
      'mbus-reading.declared-records: device.declaration.records is empty: no record declared to check',
      'mbus-reading.multi-telegram: device.declaration.telegrams is not declared',
    ]);
    expect(results.filter((r) => r.verdict !== 'notApplicable').every((r) => r.verdict === 'passed')).toBe(true);
  });
});

describe('M-Bus reading suite on broken variants (suites/profiles/reference-broken-heat-meter-*.json)', () => {
  const cases: [string, string[], RegExp][] = [
    ['wrong-vif-scaling', ['mbus-reading.declared-records'], /Energy \(Wh ×1000\) storage 0 .*the VIF 05 carries scale ×100, declared ×1000/],
    ['ignore-fcb', ['mbus-reading.fcb'], /repeated with the same FCB \(1\) got a new telegram/],
    ['no-wildcard-selection', ['mbus-reading.secondary-addressing', 'mbus-reading.scan'], /wildcard selection 1234FFFFFFFFFFFF: no E5|did not find the declared secondary address 1234567882350104/],
    ['wrong-storage-number', ['mbus-reading.declared-records'], /Energy \(Wh ×1000\) storage 1: not sent.*storage 2: sent 2 times/],
    ['nke-keeps-fcb', ['mbus-reading.snd-nke'], /SND_NKE did not reset the FCB state/],
  ];
  it.each(cases)('%s fails exactly %j', async (defect, failing, reason) => {
    const t = await open(loadDeviceTargetProfile(new URL(`reference-broken-heat-meter-${defect}.json`, PROFILES).pathname));
    const results = await runCases(mbusReadingCases, t);
    const v = verdicts(results);
    expect(v, verdictLines(results).join('\n')).toEqual(Object.fromEntries(ALL.map((id) => [id, failing.includes(id) ? 'failed' : 'passed'])));
    for (const id of failing) expect(results.find((r) => r.id === id)!.reason).toMatch(reason);
  });

  it.each([
    [
      'the current energy alone one decade low',
      { name: 'wrong-vif-scaling', quantity: 'energy', decades: -1, currentOnly: true },
      /stored Energy \(Wh ×1000\) storage 1 .* exceeds the current value 294200 \(storage number 0\)/,
    ],
    ['the power one decade low', { name: 'wrong-vif-scaling', quantity: 'power', decades: -1 }, /heat power \/ \(flow × ΔT × 1\.163\) 0\.1\d* outside 0\.88\d*\.\.1\.11\d*/],
  ])('record-consistency catches a wrong scaling the declaration does not name: %s', async (_what, defect, reason) => {
    const json = referenceJson();
    // No scale declared: only the consistency of the values shows the defect.
    json.device.declaration.records = (json.device.declaration.records as Record<string, unknown>[]).map(({ scale: _s, range: _r, ...r }) => r);
    json.connection = { ...json.connection, defects: [defect] };
    const t = await open(parseDeviceTargetProfile(json));
    const results = await runCases(mbusReadingCases, t);
    expect(verdicts(results), verdictLines(results).join('\n')).toEqual(Object.fromEntries(ALL.map((id) => [id, id === 'mbus-reading.record-consistency' ? 'failed' : 'passed'])));
    expect(results.find((r) => r.id === 'mbus-reading.record-consistency')!.reason).toMatch(reason);
  });

  it('the broken profiles differ from the reference only in connection.defects', () => {
    const ref = referenceJson();
    for (const [defect] of cases) {
      const b = JSON.parse(readFileSync(new URL(`reference-broken-heat-meter-${defect}.json`, PROFILES), 'utf8')) as ReturnType<typeof referenceJson>;
      expect(b.device).toEqual(ref.device);
      expect({ ...b.connection, defects: undefined }).toEqual({ ...ref.connection, defects: undefined });
      expect((b.connection.defects as { name: string }[])[0]!.name).toBe(defect);
    }
  });

  it('a bad defect is one profile error naming the field', () => {
    const json = referenceJson();
    json.connection = { ...json.connection, defects: [{ name: 'wrong-vif-scaling', quantity: 'flow-temperature', decades: -3 }] };
    expect(() => parseDeviceTargetProfile(json)).toThrow(/connection\.defects\[0\]\.decades: the M-Bus dictionary has no VIF that far off/);
    json.connection = { ...json.connection, defects: [{ name: 'deaf' }] };
    expect(() => parseDeviceTargetProfile(json)).toThrow(/connection\.defects\[0\]\.name/);
  });
});

describe('M-Bus reading suite: a dead device is not a defect', () => {
  it('a device that never answers: no case passes and none fails', async () => {
    const t = await open(loadDeviceTargetProfile(REFERENCE));
    t.simulator!.stop();
    const results = await runCases(mbusReadingCases, t);
    for (const r of results) expect(r.verdict, `${r.id}: ${r.reason}`).toBe('inconclusive');
    expect(results[0]!.reason).toBe('device not answering since the target was opened (no case has had an answer): no E5 to SND_NKE at 5 and no reply to REQ_UD2 at 254');
  });

  it('a device at another primary address: the address cases fail naming it, the others are inconclusive', async () => {
    const t = await open(loadDeviceTargetProfile(REFERENCE));
    (t.backchannel as { slave: MbusHeatSlave }).slave.primaryAddress = 9;
    const results = await runCases(mbusReadingCases, t);
    const v = verdicts(results);
    expect(v['mbus-reading.primary-addressing']).toBe('failed');
    expect(results.find((r) => r.id === 'mbus-reading.primary-addressing')!.reason).toMatch(/REQ_UD2 at 254 answered with primary address 9 in the A field, declared 5/);
    expect(v['mbus-reading.scan']).toBe('failed');
    expect(results.find((r) => r.id === 'mbus-reading.scan')!.reason).toMatch(/no E5 at the declared primary address 5 \(E5 at 9\)/);
    for (const r of results.filter((x) => !['mbus-reading.primary-addressing', 'mbus-reading.scan'].includes(x.id))) {
      expect(r.verdict, `${r.id}: ${r.reason}`).toBe('inconclusive');
      expect(r.reason).toMatch(/does not answer at its declared primary address 5.*answered from primary address 9/);
    }
  });

  it('a target of another protocol: every case is not applicable, naming device.protocol', async () => {
    const t = await open(loadDeviceTargetProfile('reference'));
    const results = await runCases(mbusReadingCases, t);
    for (const r of results) expect(r.reason).toBe('device.protocol is "dlt645": this suite reads M-Bus (EN 13757) devices');
  });
});
