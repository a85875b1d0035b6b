/**
 * Vitest reporters used by `meterlab run` (main process):
 * - ProgressReporter prints one line per finished test: verdict, case id, reason;
 * - ResultCollector keeps every test's outcome (from `task.meta.meterlab`) for summary.json.
 *
 * A test without meterlab meta (a plain vitest test, or one killed by vitest's timeout) and a
 * suite file that failed to load are turned into `error` outcomes, so nothing is lost silently.
 */
import type { Writable } from 'node:stream';
import type { Reporter, TestCase, TestModule } from 'vitest/node';
import type { SerializedError } from 'vitest';
import { DID_NOT_FINISH, type MeterlabTaskMeta } from '../../suites/framework/meta.ts';
import { VERDICT_LABELS } from '../../suites/framework/verdict.ts';
import { oneLine } from './exit.ts';

/** What the run keeps of each test: its task meta without the evidence references. */
export type TestOutcome = Omit<MeterlabTaskMeta, 'evidence'>;

function firstError(errors: readonly SerializedError[] | undefined): string {
  const e = errors?.[0];
  if (!e) return '';
  return oneLine(`${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message ?? String(e)}`);
}

function suiteOf(testCase: TestCase): string {
  let p: TestCase['parent'] = testCase.parent;
  let top = '';
  while (p.type === 'suite') {
    top = p.name;
    p = p.parent;
  }
  return top || testCase.module.relativeModuleId;
}

/** The outcome of one finished vitest test case. */
export function outcomeOf(testCase: TestCase): TestOutcome {
  const meta: MeterlabTaskMeta | undefined = testCase.meta().meterlab;
  const result = testCase.result();
  const durationMs = testCase.diagnostic()?.duration ?? 0;
  if (meta) {
    // The binding records a provisional "did not finish" outcome first. The binding's own time
    // budget normally replaces it; should the runner stop a case anyway, say so in MeterLab's
    // words: the runner's error text is never a verdict's reason.
    if (meta.reason === DID_NOT_FINISH && result.state === 'failed') {
      return { ...meta, reason: `${DID_NOT_FINISH}: the test runner stopped it after ${(durationMs / 1000).toFixed(1)} s`, durationMs };
    }
    return meta;
  }
  const base = { suite: suiteOf(testCase), id: testCase.fullName, requirement: '', title: testCase.name, durationMs, measurements: [] };
  switch (result.state) {
    case 'passed':
      return { ...base, verdict: 'passed', reason: '' };
    case 'skipped':
      return { ...base, verdict: 'notApplicable', reason: result.note ?? 'skipped' };
    case 'failed':
      return { ...base, verdict: 'error', reason: firstError(result.errors) || 'failed without an error message' };
    default:
      return { ...base, verdict: 'error', reason: 'did not run to completion' };
  }
}

/** Outcomes for a suite file that failed to load or whose hooks failed. */
export function moduleErrors(testModule: TestModule): TestOutcome[] {
  const errors = testModule.errors();
  if (errors.length === 0) return [];
  const file = testModule.relativeModuleId;
  const suite = file.split('/').at(-2) ?? file;
  return [
    {
      suite,
      id: `${suite}.(load)`,
      requirement: '',
      title: `load ${file}`,
      verdict: 'error',
      reason: `suite file ${file}: ${firstError(errors)}`,
      durationMs: 0,
      measurements: [],
    },
  ];
}

export function formatOutcomeLine(o: Pick<TestOutcome, 'verdict' | 'id' | 'reason'>): string {
  const label = VERDICT_LABELS[o.verdict].padEnd(14);
  return o.reason ? `${label} ${o.id} — ${oneLine(o.reason)}` : `${label} ${o.id}`;
}

export class ProgressReporter implements Reporter {
  constructor(private readonly out: Writable) {}

  onTestCaseResult(testCase: TestCase): void {
    this.out.write(`${formatOutcomeLine(outcomeOf(testCase))}\n`);
  }

  onTestModuleEnd(testModule: TestModule): void {
    for (const o of moduleErrors(testModule)) this.out.write(`${formatOutcomeLine(o)}\n`);
  }
}

export class ResultCollector implements Reporter {
  readonly outcomes: TestOutcome[] = [];
  readonly unhandled: string[] = [];

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>): void {
    this.outcomes.length = 0;
    for (const m of testModules) {
      this.outcomes.push(...moduleErrors(m));
      for (const t of m.children.allTests()) this.outcomes.push(outcomeOf(t));
    }
    this.unhandled.push(...unhandledErrors.map((e) => firstError([e])));
  }
}
