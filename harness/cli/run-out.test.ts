/**
 * `meterlab run --out` end to end (issue 5, items 1 and 5): the output folder is replaced only
 * when MeterLab wrote it, the report is built in a temporary folder beside it and moved into
 * place complete, and a --out that cannot hold a report is refused with one line before
 * anything runs. Interruption: run-interrupt.test.ts. The rules in process: out-dir.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { verifyManifest } from './report.ts';
import { expectOneErrorLine, meterlab, REPO, type CliRun } from './testing.ts';

const DEMO = ['--suites-dir', 'suites/framework/demo', '--suite-suffix', '.demo.ts'];
const tmp = mkdtempSync(join(tmpdir(), 'meterlab-out-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Every file under `dir` (relative paths) with its content. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return out;
}

/** MeterLab's temporary and set-aside folders left in `parent`. */
function leftovers(parent: string): string[] {
  return readdirSync(parent).filter((n) => n.includes('.meterlab-'));
}

/** Like meterlab(), but SIGKILLed after `ms` so a hang fails the test instead of spinning on. */
function meterlabWithin(args: readonly string[], ms: number): Promise<CliRun & { killed: boolean }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ['METERLAB_DEBUG', 'METERLAB_TARGET', 'METERLAB_OUT']) delete env[k];
    const child = spawn(process.execPath, [join(REPO, 'bin', 'meterlab.js'), ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const clock = new RealClock();
    const timer = clock.setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, ms);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      clock.clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    });
  });
}

describe('meterlab run --out: a folder MeterLab did not write is never deleted', () => {
  it('refuses a folder holding manifest.json beside other files (a web app), exit 2, untouched', async () => {
    const out = join(tmp, 'webapp');
    mkdirSync(out);
    writeFileSync(join(out, 'manifest.json'), '{"name":"my web app","start_url":"/"}');
    writeFileSync(join(out, 'index.html'), '<!doctype html><title>app</title>');
    const before = snapshot(out);
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'bell', '--no-html', '--out', out, ...DEMO]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toBe(
      `meterlab: refusing to replace ${out}: it is not empty and has no .meterlab-report marker (a folder MeterLab did not write, or a report from a MeterLab version that wrote none); choose another --out, or delete that folder yourself`,
    );
    expect(r.stdout).toBe(''); // refused before anything ran
    expect(snapshot(out)).toEqual(before);
    expect(leftovers(tmp)).toEqual([]);
  });

  it('refuses a report written before the marker existed, and says how to proceed', async () => {
    const out = join(tmp, 'legacy');
    mkdirSync(join(out, 'allure-results'), { recursive: true });
    writeFileSync(join(out, 'summary.json'), '{"verdicts":{}}');
    writeFileSync(join(out, 'manifest.json'), '{"files":[]}');
    writeFileSync(join(out, 'junit.xml'), '<testsuites/>');
    const before = snapshot(out);
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'bell', '--no-html', '--out', out, ...DEMO]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(/a report from a MeterLab version that wrote none\); choose another --out, or delete that folder yourself$/);
    expect(snapshot(out)).toEqual(before);
  });

  it('replaces a previous MeterLab report with the complete new one, written in a temporary folder beside it', async () => {
    const out = join(tmp, 'reading');
    const first = await meterlab(['run', '--target', 'reference', '--suite', 'bell', '--no-html', '--out', out, ...DEMO]);
    expect(first.code, first.stderr).toBe(0);
    const marker = JSON.parse(readFileSync(join(out, '.meterlab-report'), 'utf8')) as Record<string, string>;
    expect(Object.keys(marker)).toEqual(['tool', 'version', 'created']);
    expect(marker.tool).toBe('meterlab');
    expect(Date.parse(marker.created!)).not.toBeNaN();
    writeFileSync(join(out, 'stale.txt'), 'from before');

    // The reading suite writes its traffic capture through METERLAB_OUT, with the HTML report.
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'reading', '--out', out]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`meterlab: running reading against reference (reference) → ${out}`);
    expect(r.stdout).toContain(`— ${out}/allure-report/index.html`);
    expect(existsSync(join(out, 'stale.txt'))).toBe(false);
    expect(readFileSync(join(out, 'captures', 'reading.jsonl'), 'utf8').length).toBeGreaterThan(1000);
    expect(existsSync(join(out, 'allure-report', 'index.html'))).toBe(true);
    expect(await verifyManifest(out)).toEqual([]);
    const manifest = readFileSync(join(out, 'manifest.json'), 'utf8');
    expect(manifest).toContain('"path": ".meterlab-report"');
    // Nothing written during the run names the temporary folder it was written in.
    const files = snapshot(out);
    const naming = Object.entries(files).filter(([, body]) => body.includes('.meterlab-tmp-') || body.includes('meterlab-old-'));
    expect(naming.map(([p]) => p)).toEqual([]);
    expect(leftovers(tmp)).toEqual([]);
  }, 120_000);
});

describe('meterlab run --out: a location that cannot hold a report is refused before anything runs', () => {
  it('under a regular file: one line, exit 2', async () => {
    const file = join(tmp, 'a-file.txt');
    writeFileSync(file, 'not a folder');
    const r = await meterlabWithin(['run', '--target', 'reference', '--suite', 'bell', '--no-html', '--out', join(file, 'report'), ...DEMO], 60_000);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toBe(`meterlab: cannot write the report to ${join(file, 'report')}: ${file} is a file, not a directory`);
    expect(r.stdout).toBe('');
    expect(readFileSync(file, 'utf8')).toBe('not a folder');
  });

  it.runIf(existsSync('/proc/self/stat'))('on procfs: one line, exit 3, without hanging', async () => {
    for (const out of ['/proc/self/meterlab-report', '/proc/meterlab']) {
      const r = await meterlabWithin(['run', '--target', 'reference', '--suite', 'bell', '--no-html', '--out', out, ...DEMO], 30_000);
      expect(r.killed, `meterlab run --out ${out} still running after 30 s`).toBe(false);
      expect(r.code).toBe(3);
      expect(expectOneErrorLine(r)).toMatch(new RegExp(`^meterlab: cannot write the report to ${out}: ENOENT`));
      expect(r.stdout).toBe('');
    }
  }, 90_000);
});
