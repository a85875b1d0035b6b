/**
 * Static checks on a list of conformance cases: every case names a catalog requirement, ids
 * and titles are well-formed and unique. `defineConformanceSuite` runs them when a suite file is
 * collected, and the project's tests run them on every suite's cases.
 */
import { MeterLabError } from '../../harness/core/errors.ts';
import { hasRequirement } from '../requirements/catalog.ts';
import type { ConformanceCase } from './case.ts';

/** "<suite>.<kebab-name>", e.g. "reading.read-declared-identifiers". */
export const CASE_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*(\.[a-z0-9]+(-[a-z0-9]+)*)+$/;

/** Problems found, one line each; empty when the cases are fine. */
export function validateCases(cases: readonly ConformanceCase<any>[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  const titles = new Set<string>();
  for (const c of cases as readonly ConformanceCase<unknown>[]) {
    const where = `case "${c.id}"`;
    if (!CASE_ID_PATTERN.test(c.id)) problems.push(`${where}: id must look like "suite.kebab-name"`);
    if (ids.has(c.id)) problems.push(`${where}: duplicate id`);
    ids.add(c.id);
    if (!c.title || !c.title.trim()) problems.push(`${where}: empty title`);
    else if (titles.has(c.title)) problems.push(`${where}: duplicate title "${c.title}"`);
    titles.add(c.title);
    if (!hasRequirement(c.requirement)) problems.push(`${where}: unknown requirement "${c.requirement}" (not in suites/requirements/catalog.ts)`);
    if (typeof c.run !== 'function') problems.push(`${where}: run is not a function`);
  }
  return problems;
}

export function assertValidCases(cases: readonly ConformanceCase<any>[]): void {
  const problems = validateCases(cases);
  if (problems.length > 0) throw new MeterLabError('suite.invalid', `invalid conformance cases: ${problems.join('; ')}`);
}
