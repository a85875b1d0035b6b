/**
 * The collection suite judged on the reference concentrator and its broken variants: every case
 * passes on the reference; each broken variant (suites/profiles/reference-broken-concentrator-*.json)
 * fails the case its defect breaks and only that one; a concentrator that never logs in fails the
 * login case and leaves every other case inconclusive.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCases, verdictLines, type CaseResult } from '../framework/case.ts';
import { collectionCases } from './cases.ts';
import { openCollectionTarget, type CollectionTarget } from './support.ts';

const profile = (name: string): string => fileURLToPath(new URL(`../profiles/${name}.json`, import.meta.url));
const ALL = collectionCases.map((c) => c.id);
const byId = (results: readonly CaseResult[]): Record<string, CaseResult> => Object.fromEntries(results.map((r) => [r.id, r]));
const opened: CollectionTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
});
async function open(name: string): Promise<CollectionTarget> {
  const t = await openCollectionTarget(profile(name));
  opened.push(t);
  return t;
}

describe('collection suite on the reference concentrator', () => {
  it('passes every case, with the success rates, the timeline and the measurements', async () => {
    const t = await open('reference-concentrator');
    const results = await runCases(collectionCases, t);
    expect(verdictLines(results)).toEqual(ALL.map((id) => `${id}: passed`));
    const r = byId(results);
    const rates = r['collection.daily-by-deadline']!.measurements;
    expect(rates.map((m) => [m.name, m.value])).toEqual([
      ['daily success rate, electricity', 100],
      ['daily success rate, water', 100],
      ['daily success rate, gas', 100],
      ['daily success rate, heat', 100],
    ]);
    expect(r['collection.daily-by-deadline']!.evidence.map((e) => [e.name, e.contentType])).toEqual([
      ['success rate per meter kind', 'image/svg+xml'],
      ['collection timeline', 'image/svg+xml'],
    ]);
    expect(r['collection.clock-sync']!.measurements[0]!.value).toBeLessThanOrEqual(5);
    expect(r['collection.archive-capacity']!.measurements[0]).toMatchObject({ value: 1024, ok: true });
  });
});

describe('collection suite on broken variants (suites/profiles/reference-broken-concentrator-*.json)', () => {
  /** [defect, the case that must fail, its reason]. */
  const cases: [string, string, RegExp][] = [
    ['skip-re-read', 'collection.re-read-after-outage', /p11: no daily data for 2026-01-14 after the meter came back/],
    ['alter-forwarded-byte', 'collection.forwarding-byte-exact', /the frame on the bus is not the one forwarded/],
    ['no-heartbeat', 'collection.login-and-heartbeat', /0 heartbeat\(s\) in the 31 min after the login; declared every 15 min/],
    ['ignore-time-tag', 'collection.bad-input', /time tag expired 9 minutes ago was answered/],
    ['no-failed-re-read-event', 'collection.failed-re-read-event', /no ERC 39 for p12 and 2026-01-13/],
    ['no-retry', 'collection.retry-before-deadline', /silent at 00:05, answering from 01:10, still no daily data for 2026-01-12 at 04:00/],
    ['curve-shifted', 'collection.load-curves', /p1 \(\d{12}\) 2026-01-11: forwardActiveKwh\[0\] = [\d.]+ \(the meter's record at 2026-01-11 \+0 min\), collected [\d.]+/],
  ];
  it.each(cases)('%s fails %s', async (defect, failing, reason) => {
    const t = await open(`reference-broken-concentrator-${defect}`);
    const results = await runCases(collectionCases, t);
    const lines = verdictLines(results).join('\n');
    expect(results.filter((x) => x.verdict === 'failed').map((x) => x.id), lines).toEqual([failing]);
    expect(results.filter((x) => x.verdict !== 'failed').every((x) => x.verdict === 'passed'), lines).toBe(true);
    expect(byId(results)[failing]!.reason).toMatch(reason);
  });
});

describe('collection suite where it cannot judge', () => {
  it('a concentrator that never logs in fails the login case; every other case is inconclusive', async () => {
    const t = await open('reference-concentrator');
    await t.bench!.uplink.setDown(true);
    t.logins.length = 0;
    const results = await runCases(collectionCases, t);
    expect(verdictLines(results).map((l) => l.split(' — ')[0])).toEqual(ALL.map((id) => `${id}: ${id === 'collection.login-and-heartbeat' ? 'failed' : 'inconclusive'}`));
  });
});
