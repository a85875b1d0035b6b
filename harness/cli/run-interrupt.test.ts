/**
 * `meterlab run` interrupted (issue 5, item 2), end to end: a real `meterlab run` process on the
 * `interrupt` demo suite (suites/framework/demo/interrupt: a case that starts a helper process
 * ignoring SIGTERM, then a case that never finishes) gets SIGINT or SIGTERM once its first verdict
 * line is out. Checked: the exit code (130/143), the one stderr line, the previous report intact
 * (its manifest verifies), no temporary folder left, every process of the tree (the vitest fork
 * worker and the helper it started) ended within a second, and the next run not blocked.
 * Also with `npx` in front, signalling only the npx process as a CI timeout does.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { verifyManifest } from './report.ts';
import { meterlab, REPO } from './testing.ts';

const clock = new RealClock();
const BIN = join(REPO, 'bin', 'meterlab.js');
const DEMO = ['--suites-dir', 'suites/framework/demo', '--suite-suffix', '.demo.ts'];
const INTERRUPTIBLE = ['run', '--target', 'reference', '--suite', 'interrupt', '--no-html', ...DEMO];
/** The first verdict line: the vitest worker and the helper it started are running. */
const STARTED = /^PASSED +interrupt\.starts-helper/m;
/** The requirement: no process of the tree outlives the command by more than this. */
const ORPHAN_LIMIT_MS = 1000;

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-interrupt-'));
/** Every pid a test saw in a tree, SIGKILLed after each test so a failure leaves nothing behind. */
const seen = new Set<number>();
afterEach(() => {
  for (const pid of seen) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended, as it should have
    }
  }
  seen.clear();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly stat: string;
  readonly comm: string;
}

/** The process table from ps (independent of the code under test, which reads /proc). */
function processTable(): Proc[] {
  return execFileSync('ps', ['-A', '-o', 'pid=,ppid=,stat=,comm='], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 4)
    .map(([pid, ppid, stat, ...comm]) => ({ pid: Number(pid), ppid: Number(ppid), stat: stat!, comm: comm.join(' ') }));
}

/** The live descendants of `root`. */
function treeOf(root: number): Proc[] {
  const table = processTable().filter((p) => !p.stat.startsWith('Z'));
  const out: Proc[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const p of table) {
      if (p.ppid === parent) {
        out.push(p);
        queue.push(p.pid);
      }
    }
  }
  for (const p of out) seen.add(p.pid);
  return out;
}

/** The pids among `pids` still running (a zombie has ended). */
function stillRunning(pids: readonly number[]): number[] {
  const live = new Set(processTable().filter((p) => !p.stat.startsWith('Z')).map((p) => p.pid));
  return pids.filter((p) => live.has(p));
}

/** Waits up to ORPHAN_LIMIT_MS for every pid to end; returns those still running then. */
async function survivorsAfterLimit(pids: readonly number[]): Promise<number[]> {
  const deadline = clock.now() + ORPHAN_LIMIT_MS;
  let left = stillRunning(pids);
  while (left.length > 0 && clock.now() < deadline) {
    await clock.sleep(50);
    left = stillRunning(left);
  }
  return left;
}

interface Started {
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when stdout matches `pattern`; rejects if the process ends first or after `ms`. */
  waitForStdout(pattern: RegExp, ms?: number): Promise<void>;
  /** 'exit' of the started process itself. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** 'close': every holder of its stdout/stderr (its children too) has let go. */
  readonly closed: Promise<void>;
}

function start(command: string, args: readonly string[], options: { detached?: boolean; env?: Record<string, string> } = {}): Started {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const k of ['METERLAB_DEBUG', 'METERLAB_TARGET', 'METERLAB_OUT']) delete env[k];
  const child = spawn(command, [...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let ended = false;
  void exited.then(() => (ended = true));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    closed,
    async waitForStdout(pattern, ms = 60_000) {
      const deadline = clock.now() + ms;
      while (!pattern.test(out)) {
        if (ended) throw new Error(`exited before printing ${pattern}; stdout:\n${out}\nstderr:\n${err}`);
        if (clock.now() > deadline) throw new Error(`no ${pattern} on stdout within ${ms} ms; stdout:\n${out}\nstderr:\n${err}`);
        await clock.sleep(20);
      }
    },
  };
}

/** One real report, from the one-case `bell` demo suite, copied in as each test's previous report. */
const template = join(tmp, 'template');
beforeAll(async () => {
  const r = await meterlab(['run', '--target', 'reference', '--suite', 'bell', '--no-html', '--out', template, ...DEMO]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
}, 120_000);

/** A previous MeterLab report in `out` (its manifest verifies); returns its summary.json. */
async function previousReport(out: string): Promise<string> {
  cpSync(template, out, { recursive: true });
  expect(await verifyManifest(out)).toEqual([]);
  return readFileSync(join(out, 'summary.json'), 'utf8');
}

/** The tree of a started run once it is up: the vitest fork worker and the helper under it. */
function runningTree(root: number): number[] {
  const tree = treeOf(root);
  expect(tree.map((p) => p.comm), 'the helper process of the interrupt suite').toContain('sleep');
  expect(tree.some((p) => p.comm === 'node'), 'a vitest fork worker').toBe(true);
  return tree.map((p) => p.pid);
}

/** MeterLab's temporary and set-aside folders in `parent`. */
function leftovers(parent: string): string[] {
  return readdirSync(parent).filter((n) => n.includes('.meterlab-'));
}

describe('meterlab run interrupted', () => {
  it('SIGINT: exit 130, one line, previous report intact, no temporary folder, no process left, next run not blocked', async () => {
    const parent = join(tmp, 'sigint');
    mkdirSync(parent);
    const out = join(parent, 'report');
    const before = await previousReport(out);

    const run = start(process.execPath, [BIN, ...INTERRUPTIBLE, '--out', out]);
    await run.waitForStdout(STARTED);
    const tree = runningTree(run.child.pid!);
    expect(leftovers(parent)).toHaveLength(1); // the run writes beside --out, not into it
    run.child.kill('SIGINT');
    const { code } = await run.exited;

    expect(code).toBe(130);
    expect(run.stderr()).toBe(`meterlab: interrupted (SIGINT) — previous report in ${out} left intact\n`);
    expect(await survivorsAfterLimit(tree)).toEqual([]);
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(before);
    expect(await verifyManifest(out)).toEqual([]);
    expect(leftovers(parent)).toEqual([]);

    const next = await meterlab(['run', '--target', 'reference', '--suite', 'bell', '--no-html', '--out', out, ...DEMO]);
    expect(next.code, next.stderr).toBe(0);
    expect(await verifyManifest(out)).toEqual([]);
  }, 120_000);

  it('SIGTERM with no previous report: exit 143, one line, nothing written, the folders it created removed', async () => {
    const parent = join(tmp, 'sigterm');
    mkdirSync(parent);
    const out = join(parent, 'new', 'report');

    const run = start(process.execPath, [BIN, ...INTERRUPTIBLE, '--out', out]);
    await run.waitForStdout(STARTED);
    const tree = runningTree(run.child.pid!);
    run.child.kill('SIGTERM');
    const { code } = await run.exited;

    expect(code).toBe(143);
    expect(run.stderr()).toBe(`meterlab: interrupted (SIGTERM) — no report written to ${out}\n`);
    expect(await survivorsAfterLimit(tree)).toEqual([]);
    expect(readdirSync(parent)).toEqual([]);
  }, 120_000);

  it('a second signal during the cleanup ends at once', async () => {
    const parent = join(tmp, 'twice');
    mkdirSync(parent);
    const out = join(parent, 'report');
    const before = await previousReport(out);
    // A grace of ten minutes for the helper that ignores SIGTERM: only the second signal can
    // end this run within the test's time.
    const run = start(process.execPath, [BIN, ...INTERRUPTIBLE, '--out', out, '--interrupt-grace', '600000']);
    await run.waitForStdout(STARTED);
    const tree = runningTree(run.child.pid!);
    run.child.kill('SIGINT');
    const deadline = clock.now() + 30_000;
    while (!run.stderr().includes('interrupted (SIGINT)') && clock.now() < deadline) await clock.sleep(20);
    run.child.kill('SIGTERM');
    const { code } = await run.exited;

    expect(code).toBe(143);
    expect(run.stderr()).toBe(`meterlab: interrupted (SIGINT) — previous report in ${out} left intact\n`);
    expect(await survivorsAfterLimit(tree)).toEqual([]);
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(before);
    expect(await verifyManifest(out)).toEqual([]);
  }, 120_000);
});

const NPX = ((): string | null => {
  try {
    return execFileSync('which', ['npx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
})();

describe.runIf(NPX !== null)('npx meterlab run interrupted (SIGTERM to the npx process only, as a CI timeout sends it)', () => {
  it('the run ends with npx: previous report intact, no temporary folder, no process left a second later', async () => {
    const parent = join(tmp, 'npx');
    mkdirSync(parent);
    const out = join(parent, 'report');
    const before = await previousReport(out);

    // Its own process group, so that only the signal to npx itself can reach the run.
    const run = start(NPX!, ['meterlab', ...INTERRUPTIBLE, '--out', out], { detached: true, env: { npm_config_offline: 'true', npm_config_update_notifier: 'false' } });
    await run.waitForStdout(STARTED, 90_000);
    const tree = runningTree(run.child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(4); // sh, node (meterlab), node (vitest worker), sleep
    process.kill(run.child.pid!, 'SIGTERM');
    const npx = await run.exited;
    expect(npx.signal ?? npx.code).toBe('SIGTERM');

    expect(await survivorsAfterLimit(tree)).toEqual([]);
    await run.closed;
    expect(run.stderr()).toContain(`meterlab: interrupted (SIGTERM) — previous report in ${out} left intact\n`);
    expect(run.stderr()).not.toMatch(/\n\s+at /); // no stack from what was torn down
    expect(readFileSync(join(out, 'summary.json'), 'utf8')).toBe(before);
    expect(await verifyManifest(out)).toEqual([]);
    expect(leftovers(parent)).toEqual([]);
    expect(existsSync(join(out, 'junit.xml'))).toBe(true);
  }, 180_000);
});
