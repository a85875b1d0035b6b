/**
 * `npm run mutation`: mutation testing of the simulators' protocol servers with the conformance
 * suites as the only kill test (issue 6). Orchestration only (zx): Stryker 9.5.1 does the work
 * (mutation/stryker.config.mjs), this script judges its report.
 *
 *   npm run mutation                     run Stryker, then score (tens of minutes)
 *   npm run mutation -- --report-only    score the last report again (reports/mutation/mutation.json)
 *   npm run mutation -- --survivors      also print every unexplained survivor as a ready
 *                                        equivalent-mutants.json entry, to review
 *   npm run mutation -- --scope mbus     another named scope (mutation/stryker.config.mjs SCOPES):
 *                                        dlt645 (default), mbus, cjt188, converter; what is
 *                                        mutated and which suites kill. Each scope has its own
 *                                        report (reports/mutation/<scope>/, dlt645:
 *                                        reports/mutation/) and equivalents file
 *                                        (mutation/equivalent-mutants.<scope>.json, dlt645:
 *                                        mutation/equivalent-mutants.json).
 *
 * Score = detected / (detected + undetected − equivalent), where detected = Killed + Timeout,
 * undetected = Survived + NoCoverage, and equivalent = survivors listed in
 * mutation/equivalent-mutants.json (each with the reason it cannot change the wire). An entry is
 * matched by file, mutator, the original code, the replacement and the text of its line, not by
 * line number, so it survives edits elsewhere. Entries that no longer match a survivor are
 * reported as stale. Writes reports/mutation/summary.json and prints the figures; exits 1 when the
 * score is under --min (default 90).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { $, argv } from 'zx';

interface StrykerMutant {
  readonly id: string;
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly status: string;
  readonly location: { readonly start: { line: number; column: number }; readonly end: { line: number; column: number } };
}
interface StrykerReport {
  readonly files: Record<string, { readonly source: string; readonly mutants: readonly StrykerMutant[] }>;
}
export interface EquivalentMutant {
  readonly file: string;
  readonly mutator: string;
  /** The code the mutant replaces. */
  readonly original: string;
  readonly replacement: string;
  /** The whole source line the mutant starts on, trimmed: disambiguates repeated snippets. */
  readonly line: string;
  readonly reason: string;
}

const ROOT = resolve(import.meta.dirname, '..');
/** The scopes stryker.config.mjs defines (it refuses any other name). */
export const SCOPE_NAMES = ['dlt645', 'mbus', 'cjt188', 'converter', 'concentrator'] as const;
export type ScopeName = (typeof SCOPE_NAMES)[number];

/** Where a scope's report, summary and equivalents live (dlt645 keeps the paths it always had). */
export function scopePaths(scope: ScopeName): { report: string; summary: string; equivalents: string } {
  const dir = scope === 'dlt645' ? 'reports/mutation' : `reports/mutation/${scope}`;
  return {
    report: resolve(ROOT, dir, 'mutation.json'),
    summary: resolve(ROOT, dir, 'summary.json'),
    equivalents: resolve(ROOT, scope === 'dlt645' ? 'mutation/equivalent-mutants.json' : `mutation/equivalent-mutants.${scope}.json`),
  };
}
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** The code a mutant covers, and the trimmed line it starts on. */
function snippet(source: string, m: StrykerMutant): { original: string; line: string } {
  const lines = source.split('\n');
  const { start, end } = m.location;
  const parts: string[] = [];
  for (let l = start.line; l <= end.line; l++) {
    const text = lines[l - 1] ?? '';
    const from = l === start.line ? start.column - 1 : 0;
    const to = l === end.line ? end.column - 1 : text.length;
    parts.push(text.slice(from, to));
  }
  return { original: parts.join('\n'), line: (lines[start.line - 1] ?? '').trim() };
}

const key = (e: Omit<EquivalentMutant, 'reason'>): string => JSON.stringify([e.file, e.mutator, e.original, e.replacement, e.line]);

export function score(report: StrykerReport, equivalents: readonly EquivalentMutant[]) {
  const listed = new Map(equivalents.map((e) => [key(e), e]));
  const used = new Set<string>();
  const counts: Record<string, number> = {};
  let detected = 0;
  let undetected = 0;
  let equivalent = 0;
  const survivors: (Omit<EquivalentMutant, 'reason'> & { readonly at: string; readonly status: string })[] = [];
  const killedButListed: string[] = [];
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    for (const m of mutants) {
      counts[m.status] = (counts[m.status] ?? 0) + 1;
      const s = snippet(source, m);
      const k = key({ file, mutator: m.mutatorName, original: s.original, replacement: m.replacement ?? '', line: s.line });
      if (DETECTED.has(m.status)) {
        detected++;
        if (listed.has(k)) killedButListed.push(`${file}:${m.location.start.line} ${m.mutatorName}`);
      } else if (UNDETECTED.has(m.status)) {
        if (listed.has(k)) {
          equivalent++;
          used.add(k);
        } else {
          undetected++;
          survivors.push({ file, mutator: m.mutatorName, original: s.original, replacement: m.replacement ?? '', line: s.line, at: `${file}:${m.location.start.line}:${m.location.start.column}`, status: m.status });
        }
      }
    }
  }
  const stale = equivalents.filter((e) => !used.has(key(e)));
  const total = detected + undetected;
  return {
    counts,
    detected,
    undetected,
    equivalent,
    score: total === 0 ? 0 : (100 * detected) / total,
    survivors,
    stale,
    killedButListed,
  };
}

async function main(): Promise<void> {
  const scope = String(argv.scope ?? 'dlt645') as ScopeName;
  if (!SCOPE_NAMES.includes(scope)) {
    process.stderr.write(`mutation: no scope ${JSON.stringify(scope)} (scopes: ${SCOPE_NAMES.join(', ')})\n`);
    process.exit(2);
  }
  const { report: REPORT, summary: SUMMARY, equivalents: EQUIVALENTS } = scopePaths(scope);
  if (!argv['report-only']) {
    $.cwd = ROOT;
    $.verbose = true;
    $.env = { ...process.env, METERLAB_MUTATION_SCOPE: scope };
    await $`npx stryker run mutation/stryker.config.mjs`;
  }
  const report = JSON.parse(readFileSync(REPORT, 'utf8')) as StrykerReport;
  const equivalents = JSON.parse(readFileSync(EQUIVALENTS, 'utf8')) as EquivalentMutant[];
  const s = score(report, equivalents);
  const min = Number(argv.min ?? 90);
  const summary = {
    scope,
    files: Object.keys(report.files),
    statuses: s.counts,
    detected: s.detected,
    undetected: s.undetected,
    equivalent: s.equivalent,
    score: Math.round(s.score * 10) / 10,
    minimum: min,
    survivors: s.survivors,
    staleEquivalents: s.stale,
  };
  writeFileSync(SUMMARY, `${JSON.stringify(summary, null, 2)}\n`);
  const out = process.stdout;
  out.write(`\nmutation: scope ${scope}\n`);
  out.write(`mutation: ${Object.entries(s.counts).map(([k, v]) => `${v} ${k}`).join(', ')}\n`);
  out.write(`mutation: ${s.detected} detected, ${s.undetected} undetected, ${s.equivalent} equivalent (${relative(ROOT, EQUIVALENTS)})\n`);
  out.write(`mutation: score ${summary.score}% of non-equivalent mutants detected by the suites (minimum ${min}%)\n`);
  for (const sv of s.survivors) out.write(`  survived ${sv.at} ${sv.mutator}: ${JSON.stringify(sv.original).slice(0, 80)} -> ${JSON.stringify(sv.replacement).slice(0, 60)}\n`);
  for (const e of s.stale) out.write(`  stale equivalent entry (no such survivor now): ${e.file} ${e.mutator} ${JSON.stringify(e.line).slice(0, 80)}\n`);
  for (const k of s.killedButListed) out.write(`  listed as equivalent but killed: ${k} (remove the entry)\n`);
  if (argv.survivors) {
    out.write(`${JSON.stringify(s.survivors.map(({ at: _at, status: _status, ...e }) => ({ ...e, reason: 'TODO' })), null, 2)}\n`);
  }
  out.write(`mutation: report ${relative(ROOT, REPORT).replace(/json$/, 'html')}, summary ${relative(ROOT, SUMMARY)}\n`);
  if (s.score < min) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
