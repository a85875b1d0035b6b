/**
 * The output folder of `meterlab run` (--out), kept safe:
 *
 * - MeterLab replaces only a folder it wrote itself: every report holds a marker file
 *   `.meterlab-report` ({"tool":"meterlab","version","created"}). An empty folder is used as is;
 *   a non-empty folder without the marker is refused (exit 2) and left untouched. Reports from
 *   MeterLab versions that wrote no marker are refused too: delete them yourself, or
 *   choose another --out.
 * - A run writes into a fresh temporary folder `.<name>.meterlab-tmp-XXXXXX` beside --out (same
 *   parent, so the final rename stays on one file system) and moves it into place only when the
 *   report is complete. The previous report stays where it is until then, and is replaced (not
 *   kept under another name) once the new one is in place.
 * - The location is checked before anything runs: a path under a regular file is a usage error
 *   (exit 2); a folder that cannot be created or written (a read-only file system, /proc, no
 *   permission) is an environment error (exit 3). Parents are created one level at a time, never
 *   with a recursive mkdir (which loops forever on procfs in Node 20).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { MeterLabError, UsageError } from '../core/errors.ts';

export const MARKER_FILE = '.meterlab-report';

export interface ReportMarker {
  readonly tool: 'meterlab';
  readonly version: string;
  /** When the run that wrote the folder started (ISO 8601). */
  readonly created: string;
}

/** The version of this MeterLab (package.json), recorded in each report's marker. */
export const METERLAB_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** The output folder cannot be created or written: exit 3 (environment). */
export class OutputDirError extends MeterLabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('output', message, options);
  }
}

/** What --out holds before the run: nothing, an empty folder, or a previous MeterLab report. */
export type OutState = 'absent' | 'empty' | 'report';

export interface OutPlan {
  /** Absolute path of the final report folder (symbolic links in existing parents resolved). */
  readonly outDir: string;
  /** --out as the user gave it, for messages. */
  readonly given: string;
  readonly state: OutState;
}

export interface TempReport {
  readonly tempDir: string;
  /** Parent folders created for the report (outermost first), removed again if the run is abandoned. */
  readonly createdDirs: readonly string[];
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isInside(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
}

/** The marker of a MeterLab report folder, or null when `dir` holds none (or not a valid one). */
export function readMarker(dir: string): ReportMarker | null {
  try {
    const m = JSON.parse(readFileSync(join(dir, MARKER_FILE), 'utf8')) as Partial<ReportMarker> | null;
    return m !== null && typeof m === 'object' && m.tool === 'meterlab' ? (m as ReportMarker) : null;
  } catch {
    return null;
  }
}

export function markerFor(createdAt: number): ReportMarker {
  return { tool: 'meterlab', version: METERLAB_VERSION, created: new Date(createdAt).toISOString() };
}

/** The nearest existing ancestor of `abs` (or `abs` itself) and the missing names below it. */
function nearestExisting(abs: string, given: string): { existing: string; isDirectory: boolean; missing: string[] } {
  const missing: string[] = [];
  let p = abs;
  for (;;) {
    try {
      return { existing: p, isDirectory: statSync(p).isDirectory(), missing };
    } catch (e) {
      const code = errnoCode(e);
      // ENOTDIR: a component of p is a regular file; keep walking up to name it.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) {
        missing.unshift(basename(p));
        p = dirname(p);
        continue;
      }
      throw new OutputDirError(`cannot use ${given} as the output folder: ${errMessage(e)}`, { cause: e });
    }
  }
}

function stateOf(dir: string, given: string): OutState {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (e) {
    throw new OutputDirError(`cannot use ${given} as the output folder: ${errMessage(e)}`, { cause: e });
  }
  if (entries.length === 0) return 'empty';
  if (entries.includes(MARKER_FILE) && readMarker(dir) !== null) return 'report';
  throw new UsageError(
    `refusing to replace ${given}: it is not empty and has no ${MARKER_FILE} marker (a folder MeterLab did not write, or a report from a MeterLab version that wrote none); choose another --out, or delete that folder yourself`,
  );
}

/**
 * Checks --out without changing anything: refuses the working directory, the repository and
 * their ancestors, a path under a regular file, an existing file, and a non-empty folder that is
 * not a MeterLab report.
 */
export function checkOutDir(out: string, options: { protect: readonly string[] }): OutPlan {
  const abs = resolve(out);
  const refuseProtected = (p: string): void => {
    if (options.protect.some((d) => isInside(resolve(d), p))) {
      throw new UsageError(`refusing to use ${out} as the output directory: it contains the working directory or the repository`);
    }
  };
  refuseProtected(abs);
  const { existing, isDirectory, missing } = nearestExisting(abs, out);
  if (!isDirectory) {
    throw new UsageError(missing.length === 0 ? `output ${out} exists and is not a directory` : `cannot write the report to ${out}: ${existing} is a file, not a directory`);
  }
  let real: string;
  try {
    real = join(realpathSync(existing), ...missing);
  } catch (e) {
    throw new OutputDirError(`cannot use ${out} as the output folder: ${errMessage(e)}`, { cause: e });
  }
  refuseProtected(real);
  return { outDir: real, given: out, state: missing.length === 0 ? stateOf(real, out) : 'absent' };
}

/**
 * Creates the missing parents of the report folder (one level at a time) and a fresh temporary
 * folder beside it holding the marker: proves the location writable before anything runs.
 */
export function createTempReport(plan: OutPlan, createdAt: number): TempReport {
  const parent = dirname(plan.outDir);
  const createdDirs: string[] = [];
  const fail = (e: unknown): never => {
    removeDirs(createdDirs);
    if (errnoCode(e) === 'ENOTDIR') throw new UsageError(`cannot write the report to ${plan.given}: a parent is a file, not a directory`, { cause: e });
    throw new OutputDirError(`cannot write the report to ${plan.given}: ${errMessage(e)}`, { cause: e });
  };
  const { missing, existing } = nearestExisting(parent, plan.given);
  let p = existing;
  for (const name of missing) {
    p = join(p, name);
    try {
      mkdirSync(p);
      createdDirs.push(p);
    } catch (e) {
      if (errnoCode(e) !== 'EEXIST') fail(e);
    }
  }
  let tempDir = '';
  try {
    tempDir = mkdtempSync(join(parent, `.${basename(plan.outDir)}.meterlab-tmp-`));
    writeFileSync(join(tempDir, MARKER_FILE), `${JSON.stringify(markerFor(createdAt))}\n`);
  } catch (e) {
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    fail(e);
  }
  return { tempDir, createdDirs };
}

/**
 * Moves the complete report into place. A previous report (still carrying its marker, checked
 * again now) is renamed aside, the new one renamed in, then the old one deleted; if the second
 * rename fails the previous report is put back. A folder that changed meanwhile into something
 * else is refused, and the new report stays in the temporary folder (named in the error).
 */
export function commitReport(temp: TempReport, plan: OutPlan): void {
  const { outDir, given } = plan;
  let state: OutState;
  try {
    state = checkOutDir(outDir, { protect: [] }).state;
  } catch (e) {
    throw new UsageError(`${errMessage(e)} (it changed during the run; the new report is in ${temp.tempDir})`, { cause: e });
  }
  const move = (): void => {
    try {
      renameSync(temp.tempDir, outDir);
    } catch (e) {
      throw new OutputDirError(`cannot move the report into ${given}: ${errMessage(e)} (the new report is in ${temp.tempDir})`, { cause: e });
    }
  };
  if (state !== 'report') {
    move(); // rename(2) replaces an empty folder
    return;
  }
  const aside = mkdtempSync(join(dirname(outDir), `.${basename(outDir)}.meterlab-old-`));
  const old = join(aside, 'report');
  renameSync(outDir, old);
  try {
    move();
  } catch (e) {
    renameSync(old, outDir);
    rmdirSync(aside);
    throw e;
  }
  rmSync(aside, { recursive: true, force: true });
}

function removeDirs(dirs: readonly string[]): void {
  for (const d of [...dirs].reverse()) {
    try {
      rmdirSync(d); // only while empty
    } catch {
      // not empty or already gone: leave it
    }
  }
}

/** Removes the temporary folder and the parents created for it. */
export async function discardTempReport(temp: TempReport): Promise<void> {
  await rm(temp.tempDir, { recursive: true, force: true, maxRetries: 3 });
  removeDirs(temp.createdDirs);
}

/** The same, synchronously (from an 'exit' handler). */
export function discardTempReportSync(temp: TempReport): void {
  try {
    rmSync(temp.tempDir, { recursive: true, force: true, maxRetries: 3 });
  } catch {
    // best effort: a hidden .meterlab-tmp- folder never blocks the next run
  }
  removeDirs(temp.createdDirs);
}
