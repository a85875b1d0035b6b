/**
 * The environment contract between `meterlab run` and the suites it starts (vitest workers):
 * - METERLAB_TARGET: "reference" or the absolute path of a target profile (default "reference");
 * - METERLAB_OUT: the run's output directory; suites may write captures to <out>/captures/.
 * Under plain `npm test` neither is set: suites run against the reference and write nothing.
 */
import { join } from 'node:path';

export const TARGET_ENV = 'METERLAB_TARGET';
export const OUT_ENV = 'METERLAB_OUT';

/** The target the suites should open: METERLAB_TARGET, default "reference". */
export function selectedTarget(): string {
  const t = process.env[TARGET_ENV];
  return t && t.trim() ? t : 'reference';
}

/** The run's output directory, or null outside `meterlab run`. */
export function runOutputDir(): string | null {
  const out = process.env[OUT_ENV];
  return out && out.trim() ? out : null;
}

/** `<out>/captures`, or null outside `meterlab run`. */
export function capturesDir(): string | null {
  const out = runOutputDir();
  return out ? join(out, 'captures') : null;
}
