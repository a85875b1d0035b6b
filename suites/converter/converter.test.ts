/**
 * The converter suite judged on the reference converter and its broken variants: every case passes
 * on the reference (bus model and in-memory pair), each broken variant fails the case its defect
 * breaks (suites/profiles/reference-broken-interface-converter-*.json), a dead converter earns no
 * pass and fails no requirement, and a real converter (no downstream view) gets the cases that need
 * one not applicable with the reason.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadDeviceTargetProfile, openDeviceTarget, parseDeviceTargetProfile, type DeviceTarget } from '../../harness/targets/index.ts';
import { runCases, verdictLines, type CaseResult } from '../framework/case.ts';
import { converterCases } from './cases.ts';

const PROFILES = new URL('../profiles/', import.meta.url);
const REFERENCE = new URL('reference-interface-converter.json', PROFILES).pathname;
const opened: DeviceTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});

async function open(profile: ReturnType<typeof loadDeviceTargetProfile>): Promise<DeviceTarget> {
  const t = await openDeviceTarget(profile);
  opened.push(t);
  return t;
}

function referenceJson(): Record<string, unknown> & { connection: Record<string, unknown> } {
  return JSON.parse(readFileSync(REFERENCE, 'utf8')) as ReturnType<typeof referenceJson>;
}

const ALL = converterCases.map((c) => c.id);
const byId = (results: readonly CaseResult[]) => Object.fromEntries(results.map((r) => [r.id, r]));

describe('converter suite on the reference converter', () => {
  it.each(['bus', 'memory'])('passes every case over the %s transport, with measurements', async (transport) => {
    const json = referenceJson();
    json.connection = { ...json.connection, transport };
    const t = await open(parseDeviceTargetProfile(json));
    const results = await runCases(converterCases, t);
    expect(verdictLines(results)).toEqual(ALL.map((id) => `${id}: passed`));
    const r = byId(results);
    const latency = r['converter.added-latency']!.measurements;
    expect(latency.map((m) => m.name)).toEqual([
      "added latency, awake meters, max (upstream Td minus the meter's own delay)",
      "added latency, sleeping meters with wake-up, max (upstream Td minus the meter's own delay)",
    ]);
    // Awake: the hop's air time both ways and its latency (~0.3 s); with a wake-up: 2.5 s more.
    expect(latency[0]!.value).toBeGreaterThan(200);
    expect(latency[0]!.value).toBeLessThanOrEqual(2500);
    expect(latency[1]!.value).toBeGreaterThan(2500);
    expect(latency[1]!.value).toBeLessThanOrEqual(10_000);
    expect(r['converter.loss-within-limit']!.measurements[0]).toMatchObject({ unit: '', ok: true });
    const frames = r['converter.forwards-byte-for-byte']!.evidence.filter((e) => e.name.endsWith(' frames'));
    expect(frames).toHaveLength(3); // water, gas (CJ/T 188) and the electricity meter (DL/T 645)
    for (const f of frames) {
      const [up, down] = f.body.split('\n').map((l) => l.split(': ')[1]);
      expect(down).toBe(up);
    }
  });
});

describe('converter suite on broken variants (suites/profiles/reference-broken-interface-converter-*.json)', () => {
  /** [defect, the cases it fails, the case that must catch it, that case's reason]. */
  const cases: [string, string[], string, RegExp][] = [
    ['alter-forwarded-byte', ['converter.forwards-byte-for-byte'], 'converter.forwards-byte-for-byte', /10000000000001: the request reached the meter altered, first at byte 13 of the frame: [0-9A-F]{2}H sent, [0-9A-F]{2}H received/],
    // A converter that reaches none of its battery meters fails every case that reads them.
    ['no-wake-up', ALL, 'converter.wakes-battery-meters', /sleeping meter 30000000000002 not reached: no reply .*its wake-up preamble lasted 17 ms, its sniff period is 2000 ms/],
    ['slow-forwarding', ['converter.added-latency'], 'converter.added-latency', /added latency, awake meters, max .* outside <= 2500 ms/],
    ['wrong-volume-unit', ['converter.protocol-conversion'], 'converter.protocol-conversion', /30000000000003: current flow .* is not the meter's \d+ L = [\d.]+ m³/],
    ['single-hop-attempt', ['converter.loss-within-limit'], 'converter.loss-within-limit', /share of 40 single-attempt reads lost 0\.\d+ +outside <= 0\.05/],
  ];
  it.each(cases)('%s fails %j', async (defect, failing, catcher, reason) => {
    const t = await open(loadDeviceTargetProfile(new URL(`reference-broken-interface-converter-${defect}.json`, PROFILES).pathname));
    const results = await runCases(converterCases, t);
    const lines = verdictLines(results).join('\n');
    expect(results.filter((x) => x.verdict === 'failed').map((x) => x.id), lines).toEqual(failing);
    expect(results.filter((x) => x.verdict !== 'failed').every((x) => x.verdict === 'passed'), lines).toBe(true);
    expect(byId(results)[catcher]!.reason).toMatch(reason);
  });
});

describe('converter suite where it cannot judge', () => {
  it('a dead converter fails no requirement: every case is inconclusive', async () => {
    const t = await open(loadDeviceTargetProfile(REFERENCE));
    t.simulator!.stop();
    const results = await runCases(converterCases, t);
    expect(verdictLines(results).map((l) => l.split(' — ')[0])).toEqual(ALL.map((id) => `${id}: inconclusive`));
    expect(byId(results)['converter.archive-reachable']!.reason).toBe('the converter answered for none of its 4 archived meters: check its wiring, line settings and archive');
  });

  it('without a view of the downstream links (a real converter) the cases that need one are not applicable, the rest judged from upstream', async () => {
    const t = await open(loadDeviceTargetProfile(REFERENCE));
    const blind = { ...t, backchannel: undefined };
    const results = await runCases(converterCases, blind);
    const r = byId(results);
    expect(r['converter.forwards-byte-for-byte']).toMatchObject({ verdict: 'notApplicable', reason: expect.stringMatching(/needs a view of the converter's downstream links/) });
    expect(r['converter.protocol-conversion']!.verdict).toBe('notApplicable');
    for (const id of ['converter.archive-reachable', 'converter.added-latency', 'converter.loss-within-limit', 'converter.wakes-battery-meters']) expect(r[id]!.verdict, id).toBe('passed');
    expect(r['converter.added-latency']!.measurements[0]!.name).toBe('added latency, awake meters, max (upstream Td (upper bound))');
  });
});
