/**
 * `meterlab run`: validate the target, run the conformance suites with vitest, write the evidence.
 *
 * Output directory (default reports/latest; out-dir.ts): written into a temporary folder beside
 * it and moved into place when complete, replacing a previous report (never a folder MeterLab
 * did not write: each report holds a `.meterlab-report` marker). SIGINT/SIGTERM end the run,
 * its process tree and its temporary folder, and leave the previous report intact (interrupt.ts).
 *   .meterlab-report     the marker: {"tool":"meterlab","version","created"}
 *   junit.xml            vitest's JUnit reporter
 *   allure-results/      allure-vitest results, statuses set from MeterLab verdicts
 *   allure-report/       index.html, one self-contained Allure Report 3 page
 *   captures/            what the suites wrote (traffic captures, evidence per case)
 *   requirements.md      the requirement catalog (the report's requirement links point here)
 *   summary.json         counts, tests, requirement coverage, measurements
 *   manifest.json        written last: SHA-256 of every other file
 *
 * Exit code 0 only when no case failed and none errored; not-applicable and inconclusive cases
 * do not fail the run, but inconclusive ones are listed on their own line: they are not
 * evidence of conformance.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve, sep } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Reporter } from 'vitest/node';
import { RealClock, type Clock } from '../core/clock.ts';
import { LinkError, ProfileError, UsageError } from '../core/errors.ts';
import { OUT_ENV, TARGET_ENV } from '../../suites/framework/env.ts';
import { isRunPassing } from '../../suites/framework/verdict.ts';
import { filesForDevice, readSuiteScope, scopeCovers, type SuiteScope } from '../../suites/framework/suite-scope.ts';
import { catalogToMarkdown } from '../../suites/requirements/catalog.ts';
import { debugEnabled, EXIT, type ExitCode } from './exit.ts';
import { RunGuard } from './interrupt.ts';
import { checkOutDir, commitReport, createTempReport, discardTempReport, type TempReport } from './out-dir.ts';
import { ProgressReporter, ResultCollector, formatOutcomeLine } from './reporters.ts';
import { applyVerdictsToAllureResults, buildSummary, generateAllureReport, writeManifest, type RunSummary, type SummaryTarget } from './report.ts';

/** The repository root (harness/cli/../..): vitest's root, and where suites/ lives. */
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const DEFAULT_OUT = 'reports/latest';
export const SUITE_FILE_SUFFIX = '.conformance.ts';

export interface RunOptions {
  /** "reference" or a target profile path. */
  readonly target: string;
  /** One suite; all suites when omitted. */
  readonly suite?: string;
  readonly out?: string;
  /** Where suites live (default <repo>/suites). For the project's own tests. */
  readonly suitesDir?: string;
  /** File name suffix of suite files (default ".conformance.ts"). For the project's own tests. */
  readonly suiteSuffix?: string;
  /** Skip the HTML report (the Allure results are still written). */
  readonly html?: boolean;
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly clock?: Clock;
  /** Validates the target and describes it (default: harness/targets loadTargetProfile). */
  readonly resolveTarget?: (spec: string) => Promise<ResolvedTarget>;
  /** Ends the process after an interrupted run has cleaned up (default process.exit). */
  readonly exit?: (code: number) => void;
  /** SIGTERM-to-SIGKILL grace when interrupted (default 300 ms). For the project's own tests. */
  readonly interruptGraceMs?: number;
}

export interface ResolvedTarget {
  /** The value handed to the suites in METERLAB_TARGET. */
  readonly env: string;
  readonly target: SummaryTarget;
  /**
   * The device the profile declares; undefined for the built-in reference (every suite runs,
   * each against the reference device of its own protocol and kind).
   */
  readonly device?: TargetDevice;
  /** How long a real-time target takes (a vendor's master station), said before the run starts. */
  readonly timing?: string;
}

export interface TargetDevice {
  readonly protocol: string;
  readonly kind: string;
  /** A vendor's master station without a meter of its own (system.type "station-api"): only suites with system cases run. */
  readonly stationOnly?: boolean;
}

export interface RunOutcome {
  readonly exitCode: ExitCode;
  readonly summary: RunSummary;
  readonly outDir: string;
}

/** A suite folder: its conformance files and, from its suite.json, the devices it tests. */
export interface DiscoveredSuite {
  readonly files: readonly string[];
  /** Undefined: no suite.json, the suite runs on every target (the framework's demo suites). */
  readonly scope: SuiteScope | undefined;
}

/** Suites under `suitesDir`: each subdirectory holding at least one file ending in `suffix`. */
export function discoverSuites(suitesDir: string, suffix: string = SUITE_FILE_SUFFIX): Map<string, DiscoveredSuite> {
  const suites = new Map<string, DiscoveredSuite>();
  if (!existsSync(suitesDir)) return suites;
  for (const name of readdirSync(suitesDir).sort()) {
    const dir = join(suitesDir, name);
    if (!statSync(dir).isDirectory()) continue;
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(suffix))
      .sort()
      .map((f) => join(dir, f));
    if (files.length === 0) continue;
    const scope = readSuiteScope(dir);
    for (const f of Object.keys(scope?.files ?? {})) {
      if (!files.some((x) => basename(x) === f)) throw new ProfileError(`suite scope ${join(dir, 'suite.json')}: files: no conformance file ${f} in ${dir}`);
    }
    suites.set(name, { files, scope });
  }
  return suites;
}

/**
 * The suites a run starts: `--suite` when given, else every suite whose scope covers the target's
 * device (all of them for the built-in reference, whose suites each open their own reference device).
 */
export function chooseSuites(suites: ReadonlyMap<string, DiscoveredSuite>, suite: string | undefined, target: ResolvedTarget): string[] {
  const device = target.device;
  const describeDevice = (d: TargetDevice): string => (d.stationOnly ? "a vendor's master station (system.type station-api)" : `a ${d.kind} read over ${d.protocol}`);
  const describeScope = (sc: SuiteScope): string => `${sc.kinds.join(' or ')} read over ${sc.protocol}${sc.systemCases ? ' (and master stations)' : ''}`;
  if (suite !== undefined) {
    const scope = suites.get(suite)!.scope;
    if (device && !scopeCovers(scope, device)) {
      throw new UsageError(`suite "${suite}" tests ${describeScope(scope!)}; the target "${target.target.name}" is ${describeDevice(device)}`);
    }
    return [suite];
  }
  const chosen = [...suites.keys()].filter((name) => !device || scopeCovers(suites.get(name)!.scope, device));
  if (chosen.length === 0) {
    throw new UsageError(`no suite tests ${describeDevice(device!)} (the target "${target.target.name}"); suites: ${[...suites].map(([n, d]) => (d.scope ? `${n} (${describeScope(d.scope)})` : n)).join(', ')}`);
  }
  return chosen;
}

/** Loads and validates the target profile (ProfileError → one line, exit 2). */
export async function resolveTargetProfile(spec: string): Promise<ResolvedTarget> {
  const { loadDeviceTargetProfile, REFERENCE_TARGET_SPEC } = await import('../targets/index.ts');
  const env = spec === REFERENCE_TARGET_SPEC ? spec : resolve(spec);
  const profile = loadDeviceTargetProfile(env);
  const c = profile.connection;
  // A missing adapter is the most common setup mistake: say so once, before any suite starts
  // (otherwise every case would end in the same "cannot open" error).
  if (c.type === 'serial' && process.platform !== 'win32' && !existsSync(c.path)) {
    throw new LinkError(`serial port ${c.path} does not exist (target profile ${spec}, connection.path): is the adapter plugged in?`);
  }
  // A path that exists but is not a serial port (a regular file, /dev/null): open it once and let go.
  if (c.type === 'serial') {
    const { probeSerialPort } = await import('../links/serial.ts');
    await probeSerialPort({ path: c.path, line: c.line }).catch((e: unknown) => {
      throw new LinkError(`${(e as Error).message} (target profile ${spec}, connection.path)`, { cause: e });
    });
  }
  // Likewise an unreachable TCP serial server: connect once and let go before any suite starts.
  if (c.type === 'tcp') {
    const { connectTcpLink } = await import('../links/tcp.ts');
    try {
      const link = await connectTcpLink({ host: c.host, port: c.port });
      await link.close();
    } catch (e) {
      // A master station listens for concentrators; anything else is a meter behind a TCP serial server.
      const what = profile.device.kind === 'master-station' ? 'is the master station listening for concentrators there?' : 'is the serial server on?';
      throw new LinkError(`${(e as Error).message} (target profile ${spec}, connection.host/port): ${what}`, { cause: e });
    }
  }
  // A concentrator that dials in: every adapter opens and the port is free, or one line before any
  // suite starts (the target opened once with its meters, then closed).
  if (c.type === 'listen') {
    const { openDeviceTarget } = await import('../targets/index.ts');
    const { ShiftedRealClock } = await import('../core/clock.ts');
    const probeClock = new ShiftedRealClock();
    try {
      const t = await openDeviceTarget(profile, { clock: probeClock, describe: false });
      await t.close();
    } finally {
      probeClock.dispose();
    }
  }
  // And a meter that does not answer (dead, miswired, wrong line settings or address): one line
  // naming what to check, exit 3, before any suite starts (harness/targets/preflight.ts).
  // (Other protocols: their entry's presence check, preflightDevice.)
  const { isDlt645Profile, stationOnly } = await import('../targets/index.ts');
  if (c.type !== 'reference') {
    const { preflight, preflightDevice } = await import('../targets/preflight.ts');
    if (isDlt645Profile(profile)) await preflight(profile, { source: spec });
    else await preflightDevice(profile, { source: spec });
  }
  const station = isDlt645Profile(profile) && stationOnly(profile) !== null;
  // A station-only profile's connection is the built-in meter nobody judges: name the station instead.
  const target = { name: profile.name, spec: env, kind: station ? 'station-api' : profile.connection.type };
  if (spec === REFERENCE_TARGET_SPEC) return { env, target };
  const timing =
    profile.device.kind === 'master-station'
      ? (await import('../targets/gw1376-station-target.ts')).vendorTimingNote(profile, new RealClock().now())
      : profile.connection.type === 'listen'
        ? (await import('../targets/gw1376-protocol.ts')).vendorConcentratorNote(profile)
        : undefined;
  return { env, target, device: { protocol: profile.device.protocol, kind: profile.device.kind, ...(station ? { stationOnly: true } : {}) }, ...(timing ? { timing } : {}) };
}

export async function runConformance(options: RunOptions): Promise<RunOutcome> {
  const clock = options.clock ?? new RealClock();
  const { stdout, stderr } = options;
  const suitesDir = resolve(options.suitesDir ?? join(REPO_ROOT, 'suites'));
  const suites = discoverSuites(suitesDir, options.suiteSuffix ?? SUITE_FILE_SUFFIX);
  const available = [...suites.keys()];
  if (available.length === 0) throw new UsageError(`no conformance suites found under ${suitesDir}`);
  if (options.suite !== undefined && !suites.has(options.suite)) {
    throw new UsageError(`unknown suite "${options.suite}" (available: ${available.join(', ')})`);
  }

  // --out is checked before anything else happens, and the run's temporary folder is created
  // before any suite starts: a bad --out never costs a suite run.
  const plan = checkOutDir(options.out ?? DEFAULT_OUT, { protect: [REPO_ROOT, process.cwd()] });
  const outDir = plan.outDir;
  const where = displayPath(outDir);
  const guard = new RunGuard({
    stderr,
    outLabel: where,
    previousReport: plan.state === 'report',
    clock,
    ...(options.exit ? { exit: options.exit } : {}),
    ...(options.interruptGraceMs !== undefined ? { graceMs: options.interruptGraceMs } : {}),
  });
  guard.install();
  let temp: TempReport | null = null;
  try {
    const resolved = await (options.resolveTarget ?? resolveTargetProfile)(options.target);
    const selected = chooseSuites(suites, options.suite, resolved);
    const files = selected.flatMap((s) => filesForDevice(suites.get(s)!.files, suites.get(s)!.scope, resolved.device));
    const suiteLabel = selected.join(',');
    await guard.checkpoint();
    temp = createTempReport(plan, clock.now());
    guard.setTemp(temp);
    const summary = await writeReport(options, { dir: temp.tempDir, where, files, suiteLabel, resolved, clock, guard });
    // From here on the new report is kept even if the move fails: the error says where it is.
    const complete = temp;
    temp = null;
    await guard.commit(() => commitReport(complete, plan));

    const v = summary.verdicts;
    if (v.inconclusive > 0) {
      const ids = summary.tests.filter((t) => t.verdict === 'inconclusive').map((t) => t.id);
      stdout.write(`meterlab: ${v.inconclusive} INCONCLUSIVE — not evidence of conformance: ${ids.join(', ')}\n`);
    }
    const report = options.html !== false && !summary.reportError ? `${where}/allure-report/index.html` : `${where}/summary.json`;
    stdout.write(
      `meterlab: ${v.passed} passed, ${v.failed} failed, ${v.error} error, ${v.inconclusive} inconclusive, ${v.notApplicable} not applicable (${summary.tests.length} test${summary.tests.length === 1 ? '' : 's'}) — ${report}\n`,
    );
    return { exitCode: isRunPassing(v) && summary.tests.length > 0 ? EXIT.ok : EXIT.negative, summary, outDir };
  } catch (e) {
    await guard.checkpoint(); // interrupted: the guard cleans up and ends the process
    if (temp) await discardTempReport(temp);
    throw e;
  } finally {
    guard.dispose();
  }
}

/**
 * Runs the suites and writes the whole report into `dir` (the temporary folder; the suites get
 * it as METERLAB_OUT, so their captures land there too).
 */
async function writeReport(
  options: RunOptions,
  run: { dir: string; where: string; files: readonly string[]; suiteLabel: string; resolved: ResolvedTarget; clock: Clock; guard: RunGuard },
): Promise<RunSummary> {
  const { dir, where, files, suiteLabel, clock, guard } = run;
  const { env: targetEnv, target } = run.resolved;
  const { stdout, stderr } = options;
  await mkdir(join(dir, 'captures'), { recursive: true });
  await writeFile(join(dir, 'requirements.md'), `# Requirement catalog\n\n${catalogToMarkdown()}\n`);
  const resultsDir = join(dir, 'allure-results');
  const reportDir = join(dir, 'allure-report');

  stdout.write(`meterlab: running ${suiteLabel} against ${target.name} (${target.kind}) → ${where}\n`);
  if (run.resolved.timing) stdout.write(`meterlab: ${run.resolved.timing}\n`);
  const startedAt = clock.now();
  const collector = new ResultCollector();
  const env = { [TARGET_ENV]: targetEnv, [OUT_ENV]: dir };
  const savedEnv = { target: process.env[TARGET_ENV], out: process.env[OUT_ENV] };
  const savedExitCode = process.exitCode;
  Object.assign(process.env, env);
  const vitestConsole = debugEnabled() ? stderr : new Writable({ write: (_chunk, _encoding, done) => done() });
  // Once interrupted, nothing more reaches the console: the workers are being killed, and the
  // failures vitest would report for them are not verdicts.
  const progress = new Writable({
    write: (chunk: Buffer, _encoding, done) => {
      if (!guard.interrupted) stdout.write(chunk);
      done();
    },
  });
  const control: Reporter = {
    onInit(vitest) {
      // vitest has installed its own SIGINT/SIGTERM handler (process.exit after 1 ms): the
      // guard takes the signals back, and stops vitest its own way.
      guard.claimSignals();
      guard.setStopper(() => void vitest.cancelCurrentRun('keyboard-input').catch(() => undefined));
    },
  };
  try {
    const { startVitest } = await import('vitest/node');
    await guard.checkpoint();
    const vitest = await startVitest(
      'test',
      [],
      {
        config: false,
        root: REPO_ROOT,
        watch: false,
        include: files.map((f) => relative(REPO_ROOT, f).split(sep).join('/')),
        setupFiles: ['allure-vitest/setup'],
        reporters: [
          control,
          new ProgressReporter(progress),
          ['junit', { outputFile: join(dir, 'junit.xml'), suiteName: `meterlab ${suiteLabel}` }],
          [
            'allure-vitest/reporter',
            {
              resultsDir,
              environmentInfo: { target: target.name, targetKind: target.kind, targetSpec: target.spec, suite: suiteLabel, node: process.version },
            },
          ],
          collector,
        ],
        env,
        pool: 'forks',
        testTimeout: 120_000,
        hookTimeout: 120_000,
        silent: true,
        passWithNoTests: true,
        color: false,
      },
      { logLevel: 'error' },
      // vitest's own console output (banners, "JUNIT report written") is noise here; the
      // reporters above say everything. METERLAB_DEBUG=1 shows it on stderr.
      { stdout: vitestConsole, stderr: vitestConsole },
    );
    await vitest.close();
  } finally {
    process.exitCode = savedExitCode;
    restoreEnv(TARGET_ENV, savedEnv.target);
    restoreEnv(OUT_ENV, savedEnv.out);
  }
  await guard.checkpoint();
  const outcomes = [...collector.outcomes];
  for (const u of collector.unhandled) {
    const o = { suite: suiteLabel, id: `${suiteLabel}.(unhandled)`, requirement: '', title: 'unhandled error', verdict: 'error' as const, reason: u, durationMs: 0, measurements: [] };
    outcomes.push(o);
    stdout.write(`${formatOutcomeLine(o)}\n`);
  }
  const finishedAt = clock.now();

  await applyVerdictsToAllureResults(resultsDir, outcomes);
  let reportError: string | undefined;
  if (options.html !== false) {
    const gen = await generateAllureReport({ resultsDir, reportDir, reportName: `MeterLab ${suiteLabel} — ${target.name}`, clock });
    await guard.checkpoint();
    if (!gen.ok) {
      reportError = gen.error ?? 'allure report generation failed';
      stderr.write(`meterlab: HTML report not generated: ${reportError}\n`);
    }
  }
  const summary = buildSummary({ target, suite: suiteLabel, startedAt, finishedAt, outcomes, ...(reportError ? { reportError } : {}) });
  await writeFile(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  await writeManifest(dir);
  await guard.checkpoint();
  return summary;
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(p: string): string {
  const rel = relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}

function restoreEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}
