/** suites/requirements/README.md is generated from the catalog: `meterlab requirements --markdown > suites/requirements/README.md`. */
import { catalogToMarkdown, REQUIREMENTS } from './catalog.ts';

export function requirementsReadme(): string {
  return [
    '# Requirement catalog',
    '',
    'Every conformance case names one of these ids (`ConformanceCase.requirement`); `getRequirement(id)` in',
    '`catalog.ts` throws for an unknown id, and `defineConformanceSuite` checks every case when a suite is',
    'collected. Entries from `../shared/requirements/REQUIREMENTS.md` are copied faithfully with their sources;',
    '`DLT645-xx` entries are meter-level DL/T 645-2007 requirements written from `../shared/protocols/PROTOCOLS.md`',
    'section 1, citing the section and its evidence tags ([vec] checksum-verified vectors, [src] public code,',
    '[peer] a third-party implementation, [BK] background knowledge).',
    '',
    'Confidence: **H** normative, vector- or source-confirmed; **M** one secondary source; **L** inferred, [BK] or a',
    'proposed default. A verdict against an L requirement is a finding to confirm, not a certification failure by',
    'itself.',
    '',
    'Files: `catalog.ts` (the data, `getRequirement`, `catalogToMarkdown`), `readme.ts` (this page), `catalog.test.ts`.',
    'May import: harness/core only.',
    '',
    'This page is generated: `npx tsx harness/cli/main.ts requirements --markdown > suites/requirements/README.md`.',
    `It lists ${REQUIREMENTS.length} requirements.`,
    '',
    catalogToMarkdown(),
  ].join('\n');
}
