/**
 * `meterlab run` end to end, in a child process, on the framework's demo suites
 * (suites/framework/demo: one case per verdict against a fake target), and on the real reading
 * suite against the reference target.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VERDICTS } from '../../suites/framework/verdict.ts';
import { REQUIREMENTS } from '../../suites/requirements/catalog.ts';
import { expectOneErrorLine, meterlab, REPO, type CliRun } from './testing.ts';
import type { RunSummary } from './report.ts';
import { verifyManifest } from './report.ts';

const DEMO = ['--suites-dir', 'suites/framework/demo', '--suite-suffix', '.demo.ts'];
const tmp = mkdtempSync(join(tmpdir(), 'meterlab-run-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function readSummary(out: string): RunSummary {
  return JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
}

describe('meterlab run on the demo suites', () => {
  const out = join(tmp, 'demo');
  let run: CliRun;

  beforeAll(async () => {
    // A previous MeterLab report (it carries the marker) is replaced: the stale file must disappear.
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, '.meterlab-report'), '{"tool":"meterlab","version":"0.1.0","created":"2026-11-29T08:00:00.000Z"}');
    writeFileSync(join(out, 'summary.json'), '{}');
    writeFileSync(join(out, 'stale.txt'), 'old');
    run = await meterlab(['run', '--target', 'reference', '--suite', 'lamp', '--out', out, ...DEMO]);
  }, 120_000);

  it('prints one line per test and a closing line, and exits 1 because a case failed', () => {
    expect(run.code, run.stderr).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^meterlab: running lamp against reference \(reference\)/);
    expect(lines).toContain('PASSED         lamp.reads-power');
    expect(lines).toContain('FAILED         lamp.answers-broadcast — the lamp answered a broadcast frame; response delay 612 ms outside 20..500 ms');
    expect(lines).toContain('NOT APPLICABLE lamp.dims — the lamp does not declare a dimmer (capabilities.dimmer = false)');
    expect(lines).toContain('INCONCLUSIVE   lamp.clock — the lamp clock was busy; no reading to judge');
    expect(lines).toContain('ERROR          lamp.link — LinkError: lamp link closed unexpectedly');
    expect(lines).toContain('meterlab: 1 INCONCLUSIVE — not evidence of conformance: lamp.clock');
    expect(lines.at(-1)).toMatch(/^meterlab: 1 passed, 1 failed, 1 error, 1 inconclusive, 1 not applicable \(5 tests\) — /);
    expect(run.stderr).toBe('');
  });

  it('writes summary.json in the agreed shape', () => {
    const s = readSummary(out);
    expect(Object.keys(s)).toEqual(['target', 'suite', 'startedAt', 'finishedAt', 'verdicts', 'tests', 'requirements', 'measurements']);
    expect(s.target).toEqual({ name: 'reference', spec: 'reference', kind: 'reference' });
    expect(s.suite).toBe('lamp');
    expect(Date.parse(s.finishedAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
    expect(s.verdicts).toEqual({ passed: 1, failed: 1, inconclusive: 1, notApplicable: 1, error: 1 });
    expect(s.tests.map((t) => [t.id, t.requirement, t.verdict])).toEqual([
      ['lamp.reads-power', 'DLT645-02', 'passed'],
      ['lamp.answers-broadcast', 'DLT645-04', 'failed'],
      ['lamp.dims', 'DLT645-12', 'notApplicable'],
      ['lamp.clock', 'DLT645-09', 'inconclusive'],
      ['lamp.link', 'DLT645-01', 'error'],
    ]);
    for (const t of s.tests) {
      expect(Object.keys(t)).toEqual(['id', 'requirement', 'title', 'verdict', 'reason', 'durationMs']);
      if (t.verdict !== 'passed') expect(t.reason).not.toBe('');
    }
    expect(s.requirements.map((r) => r.id)).toEqual(REQUIREMENTS.map((r) => r.id));
    const req = (id: string) => s.requirements.find((r) => r.id === id)!;
    expect(req('DLT645-02')).toMatchObject({ covered: true, verdicts: { passed: 1 } });
    expect(req('DLT645-04')).toMatchObject({ covered: true, verdicts: { failed: 1 } });
    expect(req('DLT645-09')).toMatchObject({ covered: false, verdicts: { inconclusive: 1 } });
    expect(req('CON-05')).toMatchObject({ covered: false });
    for (const r of s.requirements) expect(Object.keys(r.verdicts)).toEqual([...VERDICTS]);
    expect(s.measurements).toEqual([
      { name: 'power', value: 12, unit: 'W', limit: '5..20', ok: true, test: 'lamp.reads-power' },
      { name: 'response delay', value: 612, unit: 'ms', limit: '20..500', ok: false, test: 'lamp.answers-broadcast' },
    ]);
  });

  it('writes JUnit XML with one testcase per case', () => {
    const xml = readFileSync(join(out, 'junit.xml'), 'utf8');
    expect(xml.match(/<testcase /g)).toHaveLength(5);
    expect(xml).toContain('the lamp answered a broadcast frame');
  });

  it('writes Allure results carrying the MeterLab verdicts, requirement labels, measurements and evidence', () => {
    const dir = join(out, 'allure-results');
    const results = readdirSync(dir)
      .filter((f) => f.endsWith('-result.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
        status: string;
        statusDetails?: { message?: string };
        labels: { name: string; value: string }[];
        parameters: { name: string; value: string }[];
        links: { url: string; type?: string }[];
      });
    expect(results).toHaveLength(5);
    const byCase = new Map(results.map((r) => [r.labels.find((l) => l.name === 'meterlabCase')!.value, r]));
    expect(byCase.get('lamp.reads-power')!.status).toBe('passed');
    expect(byCase.get('lamp.answers-broadcast')!.status).toBe('failed');
    expect(byCase.get('lamp.link')!.status).toBe('broken');
    expect(byCase.get('lamp.dims')).toMatchObject({ status: 'skipped', statusDetails: { message: 'the lamp does not declare a dimmer (capabilities.dimmer = false)' } });
    expect(byCase.get('lamp.clock')!.status).toBe('unknown');
    const power = byCase.get('lamp.reads-power')!;
    expect(power.labels).toEqual(expect.arrayContaining([{ name: 'requirement', value: 'DLT645-02' }, { name: 'epic', value: 'lamp' }, { name: 'story', value: 'lamp.reads-power' }]));
    expect(power.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'power', value: '12 W (limit 5..20 W) ok' })]));
    expect(power.links).toEqual(expect.arrayContaining([expect.objectContaining({ url: '../requirements.md#dlt645-02', type: 'requirement' })]));
    expect(readdirSync(dir).some((f) => f.endsWith('-attachment.txt'))).toBe(true);
  });

  it('writes the evidence under captures/, the HTML report, and a manifest that verifies', async () => {
    expect(readFileSync(join(out, 'captures', 'lamp.reads-power', 'frames.txt'), 'utf8')).toContain('68 12 90 78');
    expect(existsSync(join(out, 'stale.txt'))).toBe(false);
    expect(readSummary(out).reportError).toBeUndefined();
    const html = readFileSync(join(out, 'allure-report', 'index.html'), 'utf8');
    expect(html.length).toBeGreaterThan(10_000);
    // Self-contained and silent: no analytics beacon, no script or stylesheet fetched from the network.
    expect(html).not.toContain('googletagmanager');
    expect(html).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { files: { path: string; sha256: string; bytes: number }[] };
    const paths = manifest.files.map((f) => f.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toEqual(expect.arrayContaining(['summary.json', 'junit.xml', 'allure-report/index.html', 'captures/lamp.reads-power/frames.txt', 'requirements.md', '.meterlab-report']));
    expect(paths).not.toContain('manifest.json');
    expect(await verifyManifest(out)).toEqual([]);
    writeFileSync(join(out, 'summary.json'), '{"tampered":true}\n');
    expect(await verifyManifest(out)).toEqual(['summary.json: changed']);
  });
});

describe('meterlab run: exit codes and guards', () => {
  it('exits 0 when nothing failed or errored', async () => {
    const out = join(tmp, 'bell');
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'bell', '--out', out, '--no-html', ...DEMO]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^meterlab: 1 passed, 0 failed, 0 error, 0 inconclusive, 0 not applicable \(1 test\)/);
    expect(existsSync(join(out, 'allure-report'))).toBe(false);
    expect(await verifyManifest(out)).toEqual([]);
  }, 120_000);

  it('an unknown suite is a usage error listing the available suites', async () => {
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'nope', '--out', join(tmp, 'x'), ...DEMO]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toBe('meterlab: unknown suite "nope" (available: bell, broken, interrupt, lamp)');
  });

  it('a suite file that fails to load is an error verdict, and the run fails', async () => {
    const out = join(tmp, 'broken');
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'broken', '--out', out, '--no-html', ...DEMO]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERROR          broken.(load) — suite file suites/framework/demo/broken/broken.demo.ts: ');
    const s = readSummary(out);
    expect(s.verdicts.error).toBe(1);
    expect(s.tests[0]).toMatchObject({ id: 'broken.(load)', verdict: 'error' });
    expect(s.tests[0]!.reason).toContain('unknown requirement "NOPE-99"');
  }, 120_000);

  it('a TCP target nobody listens on: one line, exit 3, nothing run', async () => {
    const profile = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', 'example-tcp.json'), 'utf8')) as {
      connection: { host: string; port: number };
    };
    profile.connection.host = '127.0.0.1';
    profile.connection.port = 9; // discard: nothing listens on loopback here
    const file = join(tmp, 'tcp-refused.json');
    writeFileSync(file, JSON.stringify(profile));
    const out = join(tmp, 'tcp-refused');
    const r = await meterlab(['run', '--target', file, '--out', out]);
    expect(r.code).toBe(3);
    expect(expectOneErrorLine(r)).toMatch(/127\.0\.0\.1:9.*ECONNREFUSED.*is the serial server on\?/);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it('a serial target whose port does not exist: one line, exit 3, nothing run', async () => {
    const profile = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', 'example-serial.json'), 'utf8')) as { connection: { path: string } };
    profile.connection.path = '/dev/ttyMETERLAB-NONE';
    const file = join(tmp, 'serial-missing.json');
    writeFileSync(file, JSON.stringify(profile));
    const out = join(tmp, 'serial-missing');
    const r = await meterlab(['run', '--target', file, '--out', out]);
    expect(r.code).toBe(3);
    expect(expectOneErrorLine(r)).toContain('serial port /dev/ttyMETERLAB-NONE does not exist');
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    ['/dev/null', 'a character device that is not a terminal', /serial port \/dev\/null cannot be opened: Inappropriate ioctl.*\(not a serial device\?\)/],
    ['<regular file>', 'a regular file', /cannot be opened: it is a regular file, not a serial device/],
  ])('a serial target whose path %s is not a serial port (%s): one line, exit 3, nothing run', async (path, _what, reason) => {
    const profile = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', 'example-serial.json'), 'utf8')) as { connection: { path: string } };
    const regular = join(tmp, 'not-a-port.txt');
    writeFileSync(regular, 'not a serial port');
    profile.connection.path = path === '<regular file>' ? regular : path;
    const file = join(tmp, 'serial-not-a-port.json');
    writeFileSync(file, JSON.stringify(profile));
    const out = join(tmp, 'serial-not-a-port');
    const r = await meterlab(['run', '--target', file, '--out', out, '--no-html']);
    expect(r.code, r.stdout).toBe(3);
    const line = expectOneErrorLine(r);
    expect(line).toMatch(reason);
    expect(line).toContain(`(target profile ${file}, connection.path)`);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('refuses to replace a directory that is not a previous report', async () => {
    const out = join(tmp, 'precious');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'thesis.tex'), 'x');
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'bell', '--out', out, ...DEMO]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toContain('refusing to replace');
    expect(existsSync(join(out, 'thesis.tex'))).toBe(true);
  });
});

const READING_SUITE = join(REPO, 'suites', 'reading', 'reading.conformance.ts');

describe.runIf(existsSync(READING_SUITE))('meterlab run --target reference --suite reading', () => {
  it('passes every applicable case against the reference and writes a verifiable report', async () => {
    const out = join(tmp, 'reading');
    const r = await meterlab(['run', '--target', 'reference', '--suite', 'reading', '--out', out]);
    const s = readSummary(out);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.verdicts.failed + s.verdicts.error).toBe(0);
    expect(s.verdicts.passed).toBeGreaterThan(0);
    expect(s.tests.every((t) => t.requirement !== '')).toBe(true);
    expect(await verifyManifest(out)).toEqual([]);
  }, 300_000);
});
