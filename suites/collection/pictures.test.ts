import { describe, expect, it } from 'vitest';
import { curveSvg, successRateSvg, timelineSvg } from './pictures.ts';

/** Well-formed enough for a viewer: one root, balanced tags, no raw '<' or '&' in text. */
function assertWellFormed(svg: string): void {
  expect(svg.startsWith('<svg ')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
    if (m[3] === '/') continue;
    if (m[1] === '/') expect(stack.pop()).toBe(m[2]);
    else stack.push(m[2]!);
  }
  expect(stack).toEqual([]);
  expect(svg.replace(/<[^>]*>/g, '')).not.toMatch(/[<&](?!#\d+;)/);
}

describe('collection pictures', () => {
  it('draws one bar per kind, red below its limit and green at or above, with the counts', () => {
    const svg = successRateSvg('success rate <2026-11-29>', [
      { label: 'electricity', due: 1000, collected: 999, firstAttempt: 990, limitPct: 99.5 },
      { label: 'water', due: 100, collected: 97, firstAttempt: 90, limitPct: 98 },
    ]);
    assertWellFormed(svg);
    const bars = [...svg.matchAll(/<rect [^>]*fill="(#[0-9a-f]+)"><title>([^<]*)</g)].map((m) => [m[1], m[2]]);
    expect(bars).toEqual([
      ['#4c9a2a', 'electricity: 999/1000 collected (99.90 %), 990 on the first attempt (99.00 %), limit 99.5 %'],
      ['#c0392b', 'water: 97/100 collected (97.00 %), 90 on the first attempt (90.00 %), limit 98 %'],
    ]);
    expect(svg).toContain('&#60;2026-11-29&#62;');
  });

  it('draws a lane per port, red when it ends after the deadline, with local clock labels', () => {
    const day = Date.UTC(2026, 10, 29, 16, 0); // 2026-11-30 00:00 +08:00
    const at = (h: number, m: number): number => day + (h * 60 + m) * 60_000;
    const svg = timelineSvg('collection 2026-11-29', [{ name: 'C1', ports: [{ label: 'port 2', startMs: at(0, 5), endMs: at(0, 40), lineTimeMs: 20 * 60_000 }, { label: 'port 5', startMs: at(0, 5), endMs: at(4, 30) }] }], day, at(4, 0));
    assertWellFormed(svg);
    const lanes = [...svg.matchAll(/fill="(#[0-9a-f]+)"><title>([^<]*)</g)].map((m) => [m[1], m[2]]);
    expect(lanes).toEqual([
      ['#5b8bd0', 'C1 port 2: 00:05-00:40, line time 20.0 min'],
      ['#c0392b', 'C1 port 5: 00:05-04:30'],
    ]);
    expect(svg).toContain('deadline 04:00');
  });

  it('draws a panel per quantity and marks exactly the points that differ from the meter or are missing', () => {
    const want = Array.from({ length: 96 }, (_, i) => (i < 48 ? null : 100 + i * 0.25));
    const got = want.map((v, i) => (i === 60 ? (v ?? 0) + 1 : i === 70 ? null : v));
    const svg = curveSvg('p1 2026-01-10 <curves>', [
      { label: 'forward active energy', unit: 'kWh', points: got, expected: want },
      { label: 'voltage A', unit: 'V', points: want.map((v) => (v === null ? null : 220)), expected: want.map((v) => (v === null ? null : 220)) },
    ], 15);
    assertWellFormed(svg);
    const marks = [...svg.matchAll(/<circle[^>]*><title>([^<]*)<\/title>/g)].map((m) => m[1]);
    expect(marks).toEqual(['point 60: collected 116, the meter 115', 'point 70: collected nothing, the meter 117.5']);
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('forward active energy (kWh)');
    expect(svg).toContain('12:00');
    // The same data, the same bytes.
    expect(curveSvg('t', [{ label: 'a', unit: 'kW', points: got }], 15)).toBe(curveSvg('t', [{ label: 'a', unit: 'kW', points: got }], 15));
  });
});
