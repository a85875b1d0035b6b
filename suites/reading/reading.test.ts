/**
 * The reading suite judged against known devices:
 * - the reference meter passes every case over each simulated transport (RS-485 bus model,
 *   the serialport mock binding, an in-memory pair);
 * - each deliberately broken variant fails the case that names its defect — that is how we know
 *   a case can catch the defect at all.
 */
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTargetProfile, openTarget, referenceTargetProfile, type TargetProfile } from '../../harness/targets/index.ts';
import { runCase, type CaseResult } from '../framework/case.ts';
import { getRequirement } from '../requirements/catalog.ts';
import { readingCases } from './cases.ts';

const PROFILES = resolve(import.meta.dirname, '../profiles');

async function runCases(profile: TargetProfile, ids?: readonly string[]): Promise<CaseResult[]> {
  const target = await openTarget(profile, { describe: false });
  try {
    const results: CaseResult[] = [];
    for (const c of readingCases) {
      if (ids && !ids.includes(c.id)) continue;
      results.push(await runCase(c, target));
    }
    return results;
  } finally {
    await target.close();
  }
}

function verdicts(results: readonly CaseResult[]): string[] {
  return results.map((r) => `${r.id}: ${r.verdict}${r.verdict === 'passed' ? '' : ` — ${r.reason}`}`);
}

describe('reading suite against the reference meter', () => {
  it('ties every case to a requirement in the catalog', () => {
    for (const c of readingCases) expect(() => getRequirement(c.requirement), c.id).not.toThrow();
    expect(new Set(readingCases.map((c) => c.id)).size).toBe(readingCases.length);
  });

  it.each(['bus', 'mock-serial', 'memory'] as const)('passes every case over the %s transport', async (transport) => {
    const results = await runCases(referenceTargetProfile({ transport }));
    expect(results).toHaveLength(readingCases.length);
    expect(verdicts(results)).toEqual(readingCases.map((c) => `${c.id}: passed`));
  });
});

describe('broken variants fail the matching case', () => {
  // [behaviour stacked on the reference meter, the case that must fail, what its reason must say]
  const table: [string, string, RegExp][] = [
    ['wrong-checksum', 'reading.reply-frame-format', /checksum/i],
    ['wrong-address-reply', 'reading.reply-frame-format', /reply address .* is not the meter's address 123456789012/],
    ['echo-wildcard', 'reading.read-with-wildcard', /AAAAAAAAAAAA.*echoes the wildcard/],
    ['echo-wildcard', 'reading.read-address-wildcard', /AAAAAAAAAAAA, not the meter's own 123456789012/],
    ['late-reply', 'reading.response-delay', /Td (min|median|max) .*600.*outside 20\.\.500|Td .* 600/],
    ['ignore-follow-up', 'reading.follow-up', /follow-up|SEQ|frames/i],
    ['reply-to-broadcast', 'reading.broadcast-not-answered', /broadcast .* was answered/],
    ['answer-bad-checksum', 'reading.bad-frames-ignored', /wrong checksum was answered/],
    ['unsupported-as-zero', 'reading.unsupported-identifier', /not the abnormal reply D1H/],
    ['accept-wrong-password', 'reading.wrong-password', /not the abnormal reply D4H/],
    ['ignore-time-sync', 'reading.broadcast-time-sync', /clock error after sync 9\d(\.\d+)? s outside/],
  ];

  it.each(table)('%s fails %s', async (behaviour, caseId, reason) => {
    const [result] = await runCases(referenceTargetProfile({ behaviours: [{ name: behaviour }] }), [caseId]);
    expect(result, `case ${caseId} did not run`).toBeDefined();
    expect(result!.verdict, result!.reason).toBe('failed');
    expect(result!.reason).toMatch(reason);
    expect(result!.evidence.some((e) => e.name === 'frames'), 'frames are attached as evidence').toBe(true);
  });

  it('a late meter fails only on timing: its values are still read correctly', async () => {
    const results = await runCases(referenceTargetProfile({ behaviours: [{ name: 'late-reply', delayMs: 600 }] }), [
      'reading.response-delay',
      'reading.read-declared-identifiers',
    ]);
    expect(verdicts(results)).toEqual([
      'reading.read-declared-identifiers: passed',
      expect.stringMatching(/^reading\.response-delay: failed — .*600/),
    ]);
    const td = results.find((r) => r.id === 'reading.response-delay')!.measurements.find((m) => m.name === 'Td median')!;
    expect(td).toMatchObject({ value: expect.closeTo(600, 0), unit: 'ms', ok: false });
  });

  // The checked-in broken profiles are what a user runs with `meterlab run --target …`.
  it.each([
    ['reference-broken-checksum.json', 'reading.reply-frame-format'],
    ['reference-broken-echo-wildcard.json', 'reading.read-with-wildcard'],
    ['reference-broken-late-reply.json', 'reading.response-delay'],
    ['reference-broken-no-follow-up.json', 'reading.follow-up'],
  ])('profile %s fails %s', async (file, caseId) => {
    const [result] = await runCases(loadTargetProfile(resolve(PROFILES, file)), [caseId]);
    expect(result!.verdict, result!.reason).toBe('failed');
  });
});
