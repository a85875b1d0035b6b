import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { catalogToMarkdown, getRequirement, hasRequirement, REQUIREMENTS, UnknownRequirementError } from './catalog.ts';
import { requirementsReadme } from './readme.ts';

describe('requirement catalog', () => {
  it('has unique, well-formed ids and complete entries', () => {
    const ids = REQUIREMENTS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of REQUIREMENTS) {
      expect(r.id).toMatch(/^(?:[A-Z]+-\d{2}|DLT645-\d{2}|CJT188-\d{2})$/);
      expect(r.title.trim()).not.toBe('');
      expect(r.statement.trim()).not.toBe('');
      expect(r.source.trim()).not.toBe('');
      expect(['H', 'M', 'L']).toContain(r.confidence);
    }
  });

  it('holds the researched requirements relevant to meter reading', () => {
    for (const id of ['CON-05', 'CON-06', 'ROB-01', 'ROB-02', 'ROB-03', 'CLK-01', 'FEE-06', 'KP-01', 'GAP-10']) {
      expect(getRequirement(id).origin).toBe('REQUIREMENTS.md');
    }
    expect(getRequirement('CON-05').confidence).toBe('H');
    expect(getRequirement('CLK-01').statement).toContain('meter error ≤10 s');
  });

  it('cites a PROTOCOLS.md section for every DL/T 645 requirement', () => {
    const dlt = REQUIREMENTS.filter((r) => r.id.startsWith('DLT645-'));
    expect(dlt.length).toBeGreaterThanOrEqual(12);
    for (const r of dlt) {
      expect(r.origin).toBe('PROTOCOLS.md');
      expect(r.source).toMatch(/PROTOCOLS\.md 1\.\d|ARCHITECTURE\.md/);
    }
    // [BK] layouts are low confidence; the response delay comes from one public source.
    expect(getRequirement('DLT645-10').confidence).toBe('L');
    expect(getRequirement('DLT645-08')).toMatchObject({ confidence: 'M', threshold: '20 ms ≤ Td ≤ 500 ms; Tb ≤ 500 ms' });
  });

  it('throws a typed error for an unknown id', () => {
    expect(() => getRequirement('DLT645-99')).toThrow(UnknownRequirementError);
    expect(() => getRequirement('con-05')).toThrow(/unknown requirement id "con-05"/);
    expect(hasRequirement('CON-05')).toBe(true);
  });

  it('renders Markdown with a section per entry, and README.md is up to date', () => {
    const md = catalogToMarkdown();
    for (const r of REQUIREMENTS) expect(md).toContain(`### ${r.id}\n`);
    const readme = readFileSync(new URL('./README.md', import.meta.url), 'utf8');
    expect(readme, 'regenerate: npx tsx harness/cli/main.ts requirements --markdown > suites/requirements/README.md').toBe(
      `${requirementsReadme()}\n`,
    );
  });
});
