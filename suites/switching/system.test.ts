/**
 * The system switching cases judged against known systems (issue 9):
 * - the reference station passes every case on the suite's default 1,000-meter scenario and on the
 *   200-meter world the broken variants use;
 * - each broken variant of the station (suites/profiles/reference-broken-*.json with system.faults)
 *   fails the case that names its defect, with a reason that says what went wrong;
 * - a target that declares no system gets not-applicable verdicts naming the field.
 */
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { loadTargetProfile, openTarget, parseTargetProfile, referenceTargetProfile, type TargetProfile } from '../../harness/targets/index.ts';
import { runCase, runCases as runCasesOn, verdictLines, type CaseResult } from '../framework/case.ts';
import { getRequirement } from '../requirements/catalog.ts';
import { runReferenceSystem, type Target } from '../../harness/targets/index.ts';
import { systemCases, useSystemRun } from './system-cases.ts';

const profileFile = (f: string): string => resolve(import.meta.dirname, '../profiles', f);

async function runSystem(profile: TargetProfile): Promise<CaseResult[]> {
  const target = await openTarget(profile, { describe: false });
  try {
    return await runCasesOn(systemCases, target);
  } finally {
    await target.close();
  }
}

const result = (results: CaseResult[], id: string) => results.find((r) => r.id === `switching.${id}`)!;

describe('system switching cases', () => {
  it('ties every case to a requirement in the catalog', () => {
    for (const c of systemCases) expect(() => getRequirement(c.requirement), c.id).not.toThrow();
  });

  it('the reference station passes every case on the default 1,000-meter scenario, with the latency histogram attached', async () => {
    const results = await runSystem(referenceTargetProfile());
    expect(verdictLines(results)).toEqual(systemCases.map((c) => `${c.id}: passed`));
    const latency = result(results, 'system-reconnect-latency');
    const svg = latency.evidence.find((e) => e.contentType === 'image/svg+xml');
    expect(svg?.body).toMatch(/^<svg [^>]*>[\s\S]*15 min[\s\S]*<\/svg>$/);
    const count = latency.measurements.find((m) => m.name === 'reconnections measured')!.value;
    expect(count).toBeGreaterThan(100);
    const success = result(results, 'system-switch-success').measurements.map((m) => m.name);
    expect(success).toEqual(['disconnect success', 'reconnect success']);
  }, 600_000);

  it('the reference station passes every case on the broken variants\' 200-meter world', async () => {
    const p = await loadTargetProfile(profileFile('reference-broken-double-credit.json'));
    const sound = parseTargetProfile({
      name: 'reference-200',
      connection: { type: 'reference', transport: 'bus' },
      system: { type: 'reference-station', scenario: 'prepaid-200', crash: p.system!.type === 'reference-station' ? p.system!.crash : null },
    });
    const results = await runSystem(sound);
    expect(verdictLines(results)).toEqual(systemCases.map((c) => `${c.id}: passed`));
  }, 300_000);

  it.each([
    ['reference-broken-slow-reconnect.json', 'system-reconnect-latency', /reconnect latency (p50|p99|max) [\d.]+ s outside <= 900/],
    ['reference-broken-keep-power-ignored.json', 'system-keep-power', /keep-power customer\(s\) had their power cut/],
    ['reference-broken-double-credit.json', 'system-top-up-once', /repeated send\(s\) answered "credited" again/],
    ['reference-broken-forgetful-station.json', 'system-restart', /top-up\(s\) acknowledged before the kill are gone after the restart/],
  ])('%s fails %s', async (file, id, reason) => {
    const results = await runSystem(await loadTargetProfile(profileFile(file)));
    const r = result(results, id);
    expect(r.verdict, r.reason).toBe('failed');
    expect(r.reason).toMatch(reason);
  }, 300_000);

  it('refuses a crash the station would not be back from an hour before the end, naming the field', () => {
    const profile = (crash: unknown) => () =>
      parseTargetProfile({ name: 'late-crash', connection: { type: 'reference', transport: 'memory' }, system: { type: 'reference-station', scenario: 'prepaid-40', crash } });
    expect(profile({ atMinutes: 2830, downMinutes: 5 })).toThrow(/system\.crash: the station would be down until minute 2835; it must be back by minute 2820/);
    expect(profile({ atMinutes: 2000, downMinutes: 5 })).not.toThrow();
    expect(profile(null)).not.toThrow();
  });

  it('a station that accepts no payment, or attempts no switching, earns no pass from the cases that count them', async () => {
    const profile = parseTargetProfile({ name: 'edited-run', connection: { type: 'reference', transport: 'memory' }, system: { type: 'reference-station', scenario: 'prepaid-40', crash: null } });
    const real = await runReferenceSystem({ scenario: profile.system!.scenario, crash: null, faults: {} });
    const byId = (id: string) => systemCases.find((c) => c.id === `switching.${id}`)!;
    const judge = async (run: typeof real, id: string) => {
      const t = { profile } as unknown as Target;
      useSystemRun(t, run);
      return runCase(byId(id), t);
    };
    // Every top-up refused with a 400: the balances still add up (nothing credited), but the money is lost.
    const refused = { ...real, payments: real.payments.map((p) => ({ ...p, answers: [{ at: p.at, status: 400, error: 'refused' }] })) };
    const r1 = await judge(refused, 'system-top-up-once');
    expect(r1.verdict, r1.reason).toBe('failed');
    expect(r1.reason).toMatch(/payment send\(s\) never accepted: .*\(400: refused\)/);
    // No payment at all (balances = opening - charges, as a station that was never paid shows): nothing to judge.
    const charged = new Map<string, number>();
    for (const e of real.events) if (e.kind === 'charge' && e.accountId) charged.set(e.accountId, (charged.get(e.accountId) ?? 0) + Number(e.detail.amountFen));
    const opening = new Map(real.accountsAtStart.map((a) => [a.id, a.balanceFen ?? 0]));
    const unpaid = { ...real, payments: [], accountsAtEnd: real.accountsAtEnd.map((a) => ({ ...a, balanceFen: opening.get(a.id)! - (charged.get(a.id) ?? 0) })) };
    const r2 = await judge(unpaid, 'system-top-up-once');
    expect(r2.verdict, r2.reason).toBe('inconclusive');
    // A station that never switched has nothing on its worklist: that is no pass either.
    const r3 = await judge({ ...real, jobs: [], worklist: [] }, 'system-failure-causes');
    expect(r3.verdict, r3.reason).toBe('inconclusive');
    expect(r3.reason).toMatch(/attempted no switching/);
  }, 120_000);

  it('a target without a system declaration gets not-applicable verdicts naming the field', async () => {
    const profile = parseTargetProfile({ name: 'meter-only', connection: { type: 'reference', transport: 'memory' } });
    const results = await runSystem(profile);
    for (const r of results) {
      expect(r.verdict).toBe('notApplicable');
      expect(r.reason).toMatch(/declares no system \(field "system"\)/);
    }
  });
});
