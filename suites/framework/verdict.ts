/**
 * Verdicts and evidence (ARCHITECTURE.md "Verdicts and evidence").
 *
 * A conformance case ends with exactly one verdict, and every verdict other than `passed`
 * carries a non-empty reason. Timings and rates are measurements with limits; captured traffic
 * and other material that backs a verdict is evidence.
 */

export type Verdict = 'passed' | 'failed' | 'inconclusive' | 'notApplicable' | 'error';

/** Every verdict, in the order reports list them. */
export const VERDICTS: readonly Verdict[] = ['passed', 'failed', 'inconclusive', 'notApplicable', 'error'];

/** Verdict names as printed on the console and in the HTML report. */
export const VERDICT_LABELS: Readonly<Record<Verdict, string>> = {
  passed: 'PASSED',
  failed: 'FAILED',
  inconclusive: 'INCONCLUSIVE',
  notApplicable: 'NOT APPLICABLE',
  error: 'ERROR',
};

export interface Measurement {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The limit as text, e.g. "20..500", "<= 10", ">= 99.5"; "" when the value is only recorded. */
  readonly limit: string;
  /** True when the value lies within the limit (always true without a limit). */
  readonly ok: boolean;
}

export interface Evidence {
  readonly name: string;
  /** MIME type, e.g. "text/plain", "application/json", "application/x-ndjson". */
  readonly contentType: string;
  readonly body: string;
}

export interface CaseOutcome {
  readonly verdict: Verdict;
  /** Empty only for `passed`. */
  readonly reason: string;
  readonly measurements: readonly Measurement[];
  readonly evidence: readonly Evidence[];
}

/** Counts per verdict, every key present. */
export type VerdictCounts = Record<Verdict, number>;

export function emptyVerdictCounts(): VerdictCounts {
  return { passed: 0, failed: 0, inconclusive: 0, notApplicable: 0, error: 0 };
}

export function countVerdicts(verdicts: Iterable<Verdict>): VerdictCounts {
  const counts = emptyVerdictCounts();
  for (const v of verdicts) counts[v]++;
  return counts;
}

/**
 * Whether a run with these counts may be called a pass (exit code 0): nothing failed and
 * nothing errored. Not-applicable and inconclusive cases do not fail a run, but inconclusive
 * ones are reported prominently because they are not evidence of conformance.
 */
export function isRunPassing(counts: VerdictCounts): boolean {
  return counts.failed === 0 && counts.error === 0;
}

export function isVerdict(value: unknown): value is Verdict {
  return typeof value === 'string' && (VERDICTS as readonly string[]).includes(value);
}

/** Numeric limit of a measurement. Both bounds are inclusive. */
export interface Limit {
  readonly min?: number;
  readonly max?: number;
}

/** "20..500", ">= 20", "<= 10", or "" when neither bound is given. */
export function formatLimit(limit: Limit): string {
  const { min, max } = limit;
  if (min !== undefined && max !== undefined) return `${min}..${max}`;
  if (min !== undefined) return `>= ${min}`;
  if (max !== undefined) return `<= ${max}`;
  return '';
}

export function withinLimit(value: number, limit: Limit): boolean {
  if (Number.isNaN(value)) return false;
  if (limit.min !== undefined && value < limit.min) return false;
  if (limit.max !== undefined && value > limit.max) return false;
  return true;
}
