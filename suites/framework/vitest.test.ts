/**
 * The vitest binding under plain `npm test` (no allure-vitest setup file): cases run, the target
 * is opened once and closed, skips carry the reason, and nothing is printed (allure-js-commons
 * without a runtime would log "no test runtime is found" for every call).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TargetNotInScope, type ConformanceCase } from './case.ts';
import { allureActive, defineConformanceSuite } from './vitest.ts';

interface Bell {
  readonly rings: boolean;
}

const printed: string[] = [];
const originalLog = console.log;
const originalError = console.error;
console.log = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
afterAll(() => {
  console.log = originalLog;
  console.error = originalError;
});

let opened = 0;
let closed = 0;

const cases: ConformanceCase<Bell>[] = [
  {
    id: 'selftest.rings',
    requirement: 'DLT645-12',
    title: 'the bell rings (passes)',
    async run(ctx, bell) {
      await ctx.step('ring', () => ctx.check(bell.rings, 'silent bell'));
      ctx.measure('loudness', 70, 'dB', { max: 85 });
      ctx.evidence('note', 'ding');
    },
  },
  {
    id: 'selftest.chimes',
    requirement: 'DLT645-12',
    title: 'the bell chimes (not applicable)',
    applies: () => 'the bell declares no chime (capabilities.chime = false)',
    async run() {
      throw new Error('not reached');
    },
  },
];

defineConformanceSuite('selftest', cases, async () => {
  opened++;
  return {
    rings: true,
    close: async () => {
      closed++;
    },
  };
});

// A target of another device kind: every case is skipped as not applicable (an error here would
// fail this file, which is how the binding's handling of TargetNotInScope is checked).
let outOfScopeRuns = 0;
defineConformanceSuite(
  'selftest-out-of-scope',
  [
    {
      id: 'selftest.out-of-scope',
      requirement: 'DLT645-12',
      title: 'a case for another device kind (not applicable, never run)',
      async run() {
        outOfScopeRuns++;
      },
    },
  ] satisfies ConformanceCase<Bell>[],
  async () => {
    throw new TargetNotInScope('the target "lamp" is a lamp; this suite tests bells');
  },
);

describe('defineConformanceSuite without the allure setup file', () => {
  it('never ran a case on a target out of its scope', () => {
    expect(outOfScopeRuns).toBe(0);
  });

  it('opened the target once, closed it after the suite, and printed nothing', () => {
    expect(allureActive()).toBe(false);
    expect(opened).toBe(1);
    expect(closed).toBe(1);
    expect(printed).toEqual([]);
  });

  it('rejects cases naming an unknown requirement when the suite is defined', () => {
    expect(() =>
      defineConformanceSuite('bad', [{ id: 'bad.case', requirement: 'NOPE-99', title: 'x', run: async () => undefined }], async () => ({
        close: async () => undefined,
      })),
    ).toThrow(/unknown requirement "NOPE-99"/);
  });
});
