/**
 * The evidence a run leaves in its output directory, after vitest has finished:
 * - allure-results/ post-processed so Allure shows MeterLab verdicts (statuses and reasons);
 * - allure-report/index.html, a single self-contained Allure Report 3 page (opens from file://),
 *   generated offline by the installed `allure` package;
 * - summary.json (counts, tests, requirement coverage, measurements);
 * - manifest.json, written last: SHA-256 and size of every other file, so a certificate can be
 *   checked later (`verifyManifest`).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import type { Clock } from '../core/clock.ts';
import { REQUIREMENTS } from '../../suites/requirements/catalog.ts';
import { countVerdicts, emptyVerdictCounts, type Measurement, type Verdict, type VerdictCounts } from '../../suites/framework/verdict.ts';
import type { TestOutcome } from './reporters.ts';

// ---------------------------------------------------------------------------------------------
// summary.json

export interface SummaryTarget {
  readonly name: string;
  /** "reference" or the absolute path of the profile file. */
  readonly spec: string;
  readonly kind: string;
}

export interface RunSummary {
  readonly target: SummaryTarget;
  /** The suite run, or the suites run joined with "," when --suite was omitted. */
  readonly suite: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly verdicts: VerdictCounts;
  readonly tests: readonly Pick<TestOutcome, 'id' | 'requirement' | 'title' | 'verdict' | 'reason' | 'durationMs'>[];
  /**
   * Every catalog requirement with the verdicts of its tests in this run. `covered` is true when
   * at least one of its tests reached a conclusive verdict (passed or failed).
   */
  readonly requirements: readonly { readonly id: string; readonly statement: string; readonly verdicts: VerdictCounts; readonly covered: boolean }[];
  readonly measurements: readonly (Measurement & { readonly test: string })[];
  /** Present only when the HTML report could not be generated (the run's verdicts still stand). */
  readonly reportError?: string;
}

export function buildSummary(input: {
  target: SummaryTarget;
  suite: string;
  startedAt: number;
  finishedAt: number;
  outcomes: readonly TestOutcome[];
  reportError?: string;
}): RunSummary {
  const { outcomes } = input;
  const perRequirement = new Map<string, VerdictCounts>();
  for (const r of REQUIREMENTS) perRequirement.set(r.id, emptyVerdictCounts());
  for (const o of outcomes) {
    const counts = perRequirement.get(o.requirement);
    if (counts) counts[o.verdict]++;
  }
  return {
    target: input.target,
    suite: input.suite,
    startedAt: new Date(input.startedAt).toISOString(),
    finishedAt: new Date(input.finishedAt).toISOString(),
    verdicts: countVerdicts(outcomes.map((o) => o.verdict)),
    tests: outcomes.map((o) => ({
      id: o.id,
      requirement: o.requirement,
      title: o.title,
      verdict: o.verdict,
      reason: o.reason,
      durationMs: Math.round(o.durationMs),
    })),
    requirements: REQUIREMENTS.map((r) => {
      const verdicts = perRequirement.get(r.id)!;
      return { id: r.id, statement: r.statement, verdicts, covered: verdicts.passed + verdicts.failed > 0 };
    }),
    measurements: outcomes.flatMap((o) => o.measurements.map((m) => ({ ...m, test: o.id }))),
    ...(input.reportError !== undefined ? { reportError: input.reportError } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Allure results: MeterLab verdicts as Allure statuses

const ALLURE_STATUS: Readonly<Record<Verdict, string>> = {
  passed: 'passed',
  failed: 'failed',
  error: 'broken',
  notApplicable: 'skipped',
  inconclusive: 'unknown',
};

interface AllureResultFile {
  status?: string;
  statusDetails?: { message?: string; trace?: string };
  labels?: { name: string; value: string }[];
}

/**
 * Sets each result's status from the MeterLab verdict (failed → failed, error → broken,
 * notApplicable → skipped, inconclusive → unknown) and puts the reason into the status message,
 * which vitest's skip does not carry. Returns the number of result files.
 */
export async function applyVerdictsToAllureResults(resultsDir: string, outcomes: readonly TestOutcome[]): Promise<number> {
  if (!existsSync(resultsDir)) return 0;
  const byId = new Map(outcomes.map((o) => [o.id, o]));
  let n = 0;
  for (const name of (await readdir(resultsDir)).filter((f) => f.endsWith('-result.json'))) {
    n++;
    const path = join(resultsDir, name);
    const result = JSON.parse(await readFile(path, 'utf8')) as AllureResultFile;
    const caseId = result.labels?.find((l) => l.name === 'meterlabCase')?.value;
    const outcome = caseId ? byId.get(caseId) : undefined;
    if (!outcome) continue;
    result.status = ALLURE_STATUS[outcome.verdict];
    if (outcome.reason) result.statusDetails = { ...result.statusDetails, message: outcome.reason };
    await writeFile(path, JSON.stringify(result));
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Allure HTML report

function allureCliPath(): string {
  const require = createRequire(import.meta.url);
  // The package exports only its API entry (dist/index.js); the command sits next to dist/.
  return join(dirname(require.resolve('allure')), '..', 'cli.js');
}

export interface ReportGeneration {
  readonly ok: boolean;
  readonly error?: string;
  readonly durationMs: number;
}

/**
 * `allure awesome <results> -o <report> --single-file`, run with this Node in the output
 * directory (so no allurerc from elsewhere applies). Offline; never throws.
 */
export async function generateAllureReport(options: {
  resultsDir: string;
  reportDir: string;
  reportName: string;
  clock: Clock;
  timeoutMs?: number;
}): Promise<ReportGeneration> {
  const t0 = options.clock.now();
  const done = (ok: boolean, error?: string): ReportGeneration => ({ ok, durationMs: options.clock.now() - t0, ...(error ? { error } : {}) });
  let cli: string;
  try {
    cli = allureCliPath();
  } catch (e) {
    return done(false, `the allure package is not installed (${e instanceof Error ? e.message : String(e)})`);
  }
  const args = [cli, 'awesome', options.resultsDir, '-o', options.reportDir, '--single-file', '--report-name', options.reportName];
  return new Promise<ReportGeneration>((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: dirname(options.reportDir),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = options.clock.setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 180_000);
    child.on('error', (e) => {
      options.clock.clearTimeout(timer);
      resolve(done(false, `could not start allure: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      options.clock.clearTimeout(timer);
      const index = join(options.reportDir, 'index.html');
      if (code === 0 && existsSync(index)) {
        stripAnalytics(index).then(
          () => resolve(done(true)),
          (e: unknown) => resolve(done(false, `could not post-process ${index}: ${e instanceof Error ? e.message : String(e)}`)),
        );
      } else {
        const last = output.trim().split('\n').filter(Boolean).at(-1) ?? '';
        const why = signal ? `killed by ${signal}` : `exit code ${code}`;
        resolve(done(false, `allure report generation failed (${why})${last ? `: ${last}` : ''}`));
      }
    });
  });
}

/**
 * Allure Report 3's awesome page embeds a Google Tag Manager beacon unconditionally
 * (@allurereport/plugin-awesome 3.18 `analyticsEnable: true`, no option). A conformance report
 * must open offline and report to nobody: remove the beacon and its gtag() configuration.
 */
export async function stripAnalytics(indexHtml: string): Promise<boolean> {
  const html = await readFile(indexHtml, 'utf8');
  const stripped = html.replace(
    /<script async src="https:\/\/www\.googletagmanager\.com\/gtag\/js\?id=[^"]*"><\/script>\s*<script>\s*window\.dataLayer[\s\S]*?<\/script>/g,
    '',
  );
  if (stripped.includes('googletagmanager.com')) {
    throw new Error('the report still loads Google Tag Manager after stripping (allure template changed?)');
  }
  if (stripped === html) return false;
  await writeFile(indexHtml, stripped);
  return true;
}

// ---------------------------------------------------------------------------------------------
// manifest.json

export interface ManifestEntry {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
}

export interface Manifest {
  readonly files: readonly ManifestEntry[];
}

export const MANIFEST_FILE = 'manifest.json';

async function listFiles(dir: string, root = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p, root)));
    else if (entry.isFile()) out.push(relative(root, p).split('\\').join('/'));
  }
  return out;
}

async function hashFile(path: string): Promise<ManifestEntry & { path: string }> {
  const body = await readFile(path);
  return { path, sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length };
}

/** Hashes every file under `dir` except the manifest itself, sorted by path; writes manifest.json. */
export async function writeManifest(dir: string): Promise<Manifest> {
  const paths = (await listFiles(dir)).filter((p) => p !== MANIFEST_FILE).sort();
  const files: ManifestEntry[] = [];
  for (const p of paths) {
    const h = await hashFile(join(dir, p));
    files.push({ path: p, sha256: h.sha256, bytes: h.bytes });
  }
  const manifest: Manifest = { files };
  await writeFile(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Problems found re-checking a run directory against its manifest (empty = intact). */
export async function verifyManifest(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
  const problems: string[] = [];
  const listed = new Set<string>();
  for (const f of manifest.files) {
    listed.add(f.path);
    const path = join(dir, f.path);
    if (!existsSync(path)) {
      problems.push(`${f.path}: missing`);
      continue;
    }
    const size = (await stat(path)).size;
    const h = await hashFile(path);
    if (size !== f.bytes || h.sha256 !== f.sha256) problems.push(`${f.path}: changed`);
  }
  for (const p of await listFiles(dir)) if (p !== MANIFEST_FILE && !listed.has(p)) problems.push(`${p}: not in the manifest`);
  return problems;
}
