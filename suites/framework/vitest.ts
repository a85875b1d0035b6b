/**
 * Binds conformance cases to vitest: one `describe` per suite, one `test` per case.
 *
 * Each test runs `runCase`, stores the outcome in `task.meta.meterlab` (read by `meterlab run`
 * to write summary.json), mirrors it into Allure when the allure-vitest setup file is loaded
 * (labels, links, parameters for measurements, attachments for evidence, steps), writes the
 * evidence under <METERLAB_OUT>/captures/ when run by `meterlab run`, and then maps the verdict:
 *
 *   passed        → the test passes
 *   failed        → throws ConformanceFailure (an assertion error: "failed" in Allure and JUnit)
 *   error         → rethrows the original error ("broken" in Allure)
 *   notApplicable → ctx.skip(reason)
 *   inconclusive  → ctx.skip("inconclusive: " + reason)  (Allure status "unknown" after the run)
 *
 * Under plain `npm test` (no allure setup file) nothing is sent to Allure: allure-js-commons
 * without a runtime prints a warning for every call, so the binding checks for the runtime first.
 *
 * Time limits are MeterLab's own, never the test runner's: each case runs under its budget
 * (`runCase`, DEFAULT_CASE_TIMEOUT_MS unless the case says otherwise) and opening the target under
 * OPEN_TARGET_TIMEOUT_MS, so vitest's timeouts are switched off for these tests and hooks and
 * its "Test timed out in …" text can never become a verdict's reason.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as allure from 'allure-js-commons';
import { afterAll, beforeAll, describe, recordArtifact, test, type TestArtifactBase } from 'vitest';
import { RealClock, type TimerHandle } from '../../harness/core/clock.ts';
import { getRequirement, requirementAnchor, type Requirement } from '../requirements/catalog.ts';
import { TargetNotInScope, errorMessage, runCase, type CaseObserver, type CaseResult, type ConformanceCase } from './case.ts';
import { capturesDir, runOutputDir, selectedTarget } from './env.ts';
import { DID_NOT_FINISH, type EvidenceRef, type MeterlabTaskMeta } from './meta.ts';
import { assertValidCases } from './validate.ts';
import { VERDICT_LABELS, type Evidence } from './verdict.ts';

export type { MeterlabTaskMeta } from './meta.ts';
export { selectedTarget } from './env.ts';

/** Thrown for a failed verdict. Named AssertionError so JUnit and Allure report a failure, not a crash. */
export class ConformanceFailure extends Error {
  override readonly name = 'AssertionError';
}

/** True when allure-vitest's setup file installed a test runtime in this worker. */
export function allureActive(): boolean {
  return typeof (globalThis as { allureTestRuntime?: unknown }).allureTestRuntime === 'function';
}

export type OpenTarget<T> = () => Promise<T & { close(): Promise<void> }>;

/**
 * Longest wait for a target to open (a TCP connect to an unroutable host can hang for two
 * minutes before the OS gives up); every case then gets an error verdict naming it.
 */
export const OPEN_TARGET_TIMEOUT_MS = 60_000;

/** vitest's "no timeout": the binding enforces its own budgets (see the file header). */
const NO_RUNNER_TIMEOUT = 0;

/** Opens the target within `ms`; a target that opens later is closed at once. */
async function openWithin<T extends { close(): Promise<void> }>(open: () => Promise<T>, ms: number): Promise<T> {
  const clock = new RealClock();
  const opening = open();
  let timer: TimerHandle | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(() => reject(new Error(`the target did not open within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([opening, late]);
  } catch (e) {
    opening.then((t) => t.close()).catch(() => undefined);
    throw e;
  } finally {
    clock.clearTimeout(timer);
  }
}

export function defineConformanceSuite<T>(suiteName: string, cases: readonly ConformanceCase<T>[], openTarget: OpenTarget<T>): void {
  assertValidCases(cases);
  describe(suiteName, () => {
    let target: (T & { close(): Promise<void> }) | undefined;
    let openError: unknown;

    beforeAll(async () => {
      try {
        target = await openWithin(openTarget, OPEN_TARGET_TIMEOUT_MS);
      } catch (e) {
        openError = e;
      }
    }, NO_RUNNER_TIMEOUT);

    afterAll(async () => {
      const t = target;
      target = undefined;
      if (t) await t.close();
    });

    for (const c of cases) {
      test(c.title, async (ctx) => {
        await flushEarlierResults(ctx.task);
        // Provisional outcome: if vitest's timeout stops the case, the report still names it.
        ctx.task.meta.meterlab = {
          suite: suiteName,
          id: c.id,
          requirement: c.requirement,
          title: c.title,
          verdict: 'error',
          reason: DID_NOT_FINISH,
          durationMs: 0,
          measurements: [],
          evidence: [],
        };
        const useAllure = allureActive();
        const requirement = getRequirement(c.requirement);
        if (useAllure) await describeInAllure(suiteName, c, requirement);

        let result: CaseResult;
        if (target === undefined && openError instanceof TargetNotInScope) {
          result = { id: c.id, requirement: c.requirement, title: c.title, verdict: 'notApplicable', reason: openError.message, measurements: [], evidence: [], durationMs: 0, steps: [], log: [] };
        } else if (target === undefined) {
          const reason = `could not open target "${selectedTarget()}": ${errorMessage(openError ?? 'no target')}`;
          result = {
            id: c.id,
            requirement: c.requirement,
            title: c.title,
            verdict: 'error',
            reason,
            measurements: [],
            evidence: [],
            durationMs: 0,
            steps: [],
            log: [],
            error: openError ?? new Error(reason),
          };
        } else {
          result = await runCase(c, target, { observer: useAllure ? allureObserver() : {} });
        }

        const evidenceRefs = writeEvidence(c.id, result.evidence);
        const meta: MeterlabTaskMeta = {
          suite: suiteName,
          id: result.id,
          requirement: result.requirement,
          title: result.title,
          verdict: result.verdict,
          reason: result.reason,
          durationMs: result.durationMs,
          measurements: result.measurements,
          evidence: evidenceRefs,
        };
        ctx.task.meta.meterlab = meta;
        if (useAllure) await reportOutcomeToAllure(result);

        switch (result.verdict) {
          case 'passed':
            return;
          case 'failed':
            throw new ConformanceFailure(result.reason);
          case 'error':
            throw result.error instanceof Error ? result.error : new Error(result.reason);
          case 'notApplicable':
            ctx.skip(result.reason);
            return;
          case 'inconclusive':
            ctx.skip(`inconclusive: ${result.reason}`);
            return;
        }
      }, NO_RUNNER_TIMEOUT);
    }
  });
}

declare module 'vitest' {
  interface TestArtifactRegistry {
    'meterlab:case-started': TestArtifactBase & { type: 'meterlab:case-started' };
  }
}

/**
 * Sends the earlier cases' results to the main process before this case runs.
 *
 * vitest's worker sends task results on a 100 ms throttle (@vitest/runner `updateTask`) that
 * compares Date.now() with the last send but arms its timer from the event loop's cached time;
 * after a busy loop turn the timer fires "early", finds nothing to do, and stays armed in name
 * only, so results queued after it wait for the next update. When this case then hangs, the
 * previous case's verdict line never appears (seen in CI: no progress line for 60 s). Recording
 * an artifact flushes the pending updates first (`finishSendTasksUpdate`), a public API that
 * reporters ignore for this type.
 */
async function flushEarlierResults(task: Parameters<typeof recordArtifact>[0]): Promise<void> {
  await recordArtifact(task, { type: 'meterlab:case-started' });
}

function allureObserver(): CaseObserver {
  return {
    step: <R>(name: string, fn: () => Promise<R>): Promise<R> => Promise.resolve(allure.step(name, () => fn())),
    evidence: (e) => allure.attachment(e.name, e.body, { contentType: e.contentType }),
  };
}

const URL_PATTERN = /https?:\/\/[^\s;,)]+/g;

async function describeInAllure(suiteName: string, c: ConformanceCase<unknown>, r: Requirement): Promise<void> {
  await allure.label('requirement', r.id);
  await allure.label('meterlabCase', c.id);
  await allure.epic(suiteName);
  await allure.feature(`${r.id} ${r.title}`);
  await allure.story(c.id);
  await allure.tag(`confidence ${r.confidence}`);
  // summary.json and requirements.md sit in the run directory, one level above allure-report/.
  await allure.link(`../requirements.md#${requirementAnchor(r.id)}`, `${r.id} ${r.title}`, 'requirement');
  for (const url of new Set(r.source.match(URL_PATTERN) ?? [])) await allure.link(url, url, 'source');
  const lines = [`**${r.id} — ${r.title}.** ${r.statement}`, ''];
  if (r.threshold) lines.push(`- Threshold: ${r.threshold}`);
  lines.push(`- Source: ${r.source}`, `- Confidence: ${r.confidence}`);
  if (r.notes) lines.push(`- Notes: ${r.notes}`);
  lines.push('', `Case \`${c.id}\`, target \`${selectedTarget()}\`.`);
  await allure.description(lines.join('\n'));
}

async function reportOutcomeToAllure(result: CaseResult): Promise<void> {
  await allure.label('verdict', result.verdict);
  await allure.parameter('verdict', result.reason ? `${VERDICT_LABELS[result.verdict]}: ${result.reason}` : VERDICT_LABELS[result.verdict], {
    excluded: true,
  });
  for (const m of result.measurements) {
    const limit = m.limit ? `limit ${m.limit} ${m.unit}`.trim() : 'no limit';
    await allure.parameter(m.name, `${m.value} ${m.unit} (${limit}) ${m.ok ? 'ok' : 'OUT OF LIMIT'}`.replace(/\s+/g, ' '), { excluded: true });
  }
  if (result.log.length > 0) await allure.attachment('case log', result.log.join('\n'), { contentType: 'text/plain' });
}

const EXTENSIONS: Readonly<Record<string, string>> = {
  'text/plain': 'txt',
  'application/json': 'json',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'text/html': 'html',
  'text/csv': 'csv',
  'text/markdown': 'md',
  // The suites' pictures (success rates, timelines, curves, histograms): viewable as images in the bundle.
  'image/svg+xml': 'svg',
};

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'evidence';
}

/** Writes evidence to <out>/captures/<case id>/ under `meterlab run`; returns references for the meta. */
function writeEvidence(caseId: string, evidence: readonly Evidence[]): EvidenceRef[] {
  const dir = capturesDir();
  const out = runOutputDir();
  const refs: EvidenceRef[] = [];
  const used = new Set<string>();
  evidence.forEach((e, i) => {
    const bytes = Buffer.byteLength(e.body, 'utf8');
    if (!dir || !out) {
      refs.push({ name: e.name, contentType: e.contentType, bytes });
      return;
    }
    const ext = EXTENSIONS[e.contentType.split(';')[0]!.trim()] ?? 'txt';
    let file = `${safeName(e.name)}.${ext}`;
    if (used.has(file)) file = `${safeName(e.name)}-${i + 1}.${ext}`;
    used.add(file);
    const caseDir = join(dir, safeName(caseId));
    mkdirSync(caseDir, { recursive: true });
    const path = join(caseDir, file);
    writeFileSync(path, e.body, 'utf8');
    refs.push({ name: e.name, contentType: e.contentType, bytes, file: relative(out, path).split('\\').join('/') });
  });
  return refs;
}
