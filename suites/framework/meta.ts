/**
 * What the vitest binding stores on each test (`task.meta.meterlab`) and what the run pipeline
 * (harness/cli) reads back in the main process. Plain JSON: it crosses the worker boundary.
 */
import type { CaseResult } from './case.ts';

export interface EvidenceRef {
  readonly name: string;
  readonly contentType: string;
  readonly bytes: number;
  /** Path relative to the run's output directory when the evidence was written to captures/. */
  readonly file?: string;
}

/** What a case's vitest task carries to the reporters: its result, minus what does not serialise. */
export interface MeterlabTaskMeta
  extends Pick<CaseResult, 'id' | 'requirement' | 'title' | 'verdict' | 'reason' | 'durationMs' | 'measurements'> {
  readonly suite: string;
  readonly evidence: readonly EvidenceRef[];
}

declare module 'vitest' {
  interface TaskMeta {
    meterlab?: MeterlabTaskMeta;
  }
}

/** Reason of the provisional outcome stored before a case runs; replaced when it finishes. */
export const DID_NOT_FINISH = 'the case did not finish';
