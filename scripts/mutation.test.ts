import { describe, expect, it } from 'vitest';
import { score, type EquivalentMutant } from './mutation.ts';

const source = ['function f(a, b) {', '  if (a > b) return a;', '  return b;', '}'].join('\n');
const mutant = (id: string, status: string, line: number, startCol: number, endCol: number, mutatorName: string, replacement: string) => ({
  id,
  status,
  mutatorName,
  replacement,
  location: { start: { line, column: startCol }, end: { line, column: endCol } },
});
const report = {
  files: {
    'f.ts': {
      source,
      mutants: [
        mutant('1', 'Killed', 2, 7, 12, 'EqualityOperator', 'a >= b'),
        mutant('2', 'Survived', 2, 7, 12, 'EqualityOperator', 'a < b'),
        mutant('3', 'Survived', 2, 7, 12, 'ConditionalExpression', 'true'),
        mutant('4', 'Timeout', 3, 3, 12, 'BlockStatement', '{}'),
      ],
    },
  },
};
const equivalent = (replacement: string, mutator = 'EqualityOperator'): EquivalentMutant => ({
  file: 'f.ts',
  mutator,
  original: 'a > b',
  replacement,
  line: 'if (a > b) return a;',
  reason: 'test',
});

describe('mutation score', () => {
  it('counts Killed and Timeout as detected and leaves listed equivalent survivors out of the denominator', () => {
    const s = score(report, [equivalent('a < b')]);
    expect(s).toMatchObject({ detected: 2, undetected: 1, equivalent: 1 });
    expect(s.score).toBeCloseTo((100 * 2) / 3, 5);
    expect(s.survivors.map((x) => x.at)).toEqual(['f.ts:2:7']);
    expect(s.survivors[0]).toMatchObject({ original: 'a > b', line: 'if (a > b) return a;', replacement: 'true' });
  });

  it('reports stale entries and entries whose mutant is now killed', () => {
    const s = score(report, [equivalent('a >= b'), equivalent('a === b')]);
    expect(s.equivalent).toBe(0);
    expect(s.killedButListed).toEqual(['f.ts:2 EqualityOperator']);
    expect(s.stale.map((e) => e.replacement)).toEqual(['a >= b', 'a === b']);
    expect(s.score).toBe(50);
  });
});
