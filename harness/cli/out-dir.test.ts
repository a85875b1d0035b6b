/** The output folder rules of `meterlab run` (out-dir.ts), in process. End to end: run-out.test.ts. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MeterLabError, UsageError } from '../core/errors.ts';
import { describeFailure, EXIT } from './exit.ts';
import { checkOutDir, commitReport, createTempReport, discardTempReport, MARKER_FILE, METERLAB_VERSION, OutputDirError, readMarker } from './out-dir.ts';

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-outdir-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const NOW = Date.parse('2026-11-30T08:00:00Z');
const none = { protect: [] as string[] };

function folder(name: string, files: Record<string, string> = {}): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, body] of Object.entries(files)) writeFileSync(join(dir, f), body);
  return dir;
}

const MARKER = JSON.stringify({ tool: 'meterlab', version: '0.1.1', created: '2026-11-29T08:00:00.000Z' });

describe('checkOutDir', () => {
  it('tells an absent folder, an empty one and a previous MeterLab report apart', () => {
    expect(checkOutDir(join(tmp, 'nothing-here', 'deeper'), none)).toMatchObject({ state: 'absent', outDir: join(tmp, 'nothing-here', 'deeper') });
    expect(checkOutDir(folder('empty'), none).state).toBe('empty');
    expect(checkOutDir(folder('report', { [MARKER_FILE]: MARKER, 'summary.json': '{}' }), none).state).toBe('report');
  });

  it('refuses a non-empty folder without the marker, whatever common report files it holds', () => {
    const cases: Record<string, string>[] = [{ 'manifest.json': '{}', 'index.html': '<html>' }, { 'summary.json': '{}' }, { 'notes.txt': 'x' }];
    for (const files of cases) {
      const dir = folder(`foreign-${Object.keys(files)[0]}`, files);
      expect(() => checkOutDir(dir, none)).toThrow(UsageError);
      expect(() => checkOutDir(dir, none)).toThrow(/^refusing to replace .*: it is not empty and has no \.meterlab-report marker .*choose another --out, or delete that folder yourself$/);
    }
  });

  it('refuses a marker that is not MeterLab\'s (another tool, or not JSON)', () => {
    expect(() => checkOutDir(folder('other-tool', { [MARKER_FILE]: '{"tool":"other"}' }), none)).toThrow(/refusing to replace/);
    expect(() => checkOutDir(folder('garbled', { [MARKER_FILE]: 'meterlab' }), none)).toThrow(/refusing to replace/);
    expect(readMarker(join(tmp, 'garbled'))).toBeNull();
  });

  it('refuses a path under a regular file and an existing file as usage errors (exit 2)', () => {
    writeFileSync(join(tmp, 'plain.txt'), 'x');
    const under = (): unknown => checkOutDir(join(tmp, 'plain.txt', 'report'), none);
    expect(under).toThrow(`cannot write the report to ${join(tmp, 'plain.txt', 'report')}: ${join(tmp, 'plain.txt')} is a file, not a directory`);
    expect(() => checkOutDir(join(tmp, 'plain.txt'), none)).toThrow(/exists and is not a directory/);
    try {
      under();
    } catch (e) {
      expect(describeFailure(e).code).toBe(EXIT.usage);
    }
  });

  it('refuses the protected folders and their ancestors', () => {
    const work = folder('work');
    expect(() => checkOutDir(work, { protect: [join(work, 'sub')] })).toThrow(/contains the working directory or the repository/);
    expect(() => checkOutDir(tmp, { protect: [work] })).toThrow(/contains the working directory/);
  });

  it('resolves a symbolic link in the path, so the temporary folder sits beside the real one', () => {
    const real = folder('real-parent');
    symlinkSync(real, join(tmp, 'linked-parent'));
    expect(checkOutDir(join(tmp, 'linked-parent', 'r'), none).outDir).toBe(join(real, 'r'));
  });
});

describe('createTempReport, commitReport, discardTempReport', () => {
  it('creates the missing parents and a temporary folder beside --out holding the marker', () => {
    const plan = checkOutDir(join(tmp, 'fresh', 'a', 'b'), none);
    const temp = createTempReport(plan, NOW);
    expect(temp.createdDirs).toEqual([join(tmp, 'fresh'), join(tmp, 'fresh', 'a')]);
    expect(temp.tempDir.startsWith(join(tmp, 'fresh', 'a', '.b.meterlab-tmp-'))).toBe(true);
    expect(readMarker(temp.tempDir)).toEqual({ tool: 'meterlab', version: METERLAB_VERSION, created: '2026-11-30T08:00:00.000Z' });
    commitReport(temp, plan);
    expect(readMarker(plan.outDir)).not.toBeNull();
    expect(readdirSync(join(tmp, 'fresh', 'a'))).toEqual(['b']);
  });

  it('replaces a previous report only by a complete one, leaving nothing beside it', () => {
    const out = folder('previous', { [MARKER_FILE]: MARKER, 'old.txt': 'old' });
    const plan = checkOutDir(out, none);
    const temp = createTempReport(plan, NOW);
    writeFileSync(join(temp.tempDir, 'summary.json'), '{"new":true}');
    expect(readFileSync(join(out, 'old.txt'), 'utf8')).toBe('old'); // untouched until the commit
    commitReport(temp, plan);
    expect(readdirSync(out).sort()).toEqual([MARKER_FILE, 'summary.json']);
    expect(readdirSync(tmp).filter((n) => n.startsWith('.previous.'))).toEqual([]);
  });

  it('uses an empty folder', () => {
    const out = folder('empty-target');
    const plan = checkOutDir(out, none);
    commitReport(createTempReport(plan, NOW), plan);
    expect(readdirSync(out)).toEqual([MARKER_FILE]);
  });

  it('refuses to replace a folder that stopped being a report during the run, and keeps the new report', () => {
    const out = folder('changed', { [MARKER_FILE]: MARKER });
    const plan = checkOutDir(out, none);
    const temp = createTempReport(plan, NOW);
    rmSync(join(out, MARKER_FILE));
    writeFileSync(join(out, 'thesis.tex'), 'x');
    expect(() => commitReport(temp, plan)).toThrow(/refusing to replace .*it changed during the run; the new report is in .*\.changed\.meterlab-tmp-/);
    expect(readdirSync(out)).toEqual(['thesis.tex']);
    expect(existsSync(join(temp.tempDir, MARKER_FILE))).toBe(true);
  });

  it('discards the temporary folder and the parents it created', async () => {
    const plan = checkOutDir(join(tmp, 'abandoned', 'x', 'report'), none);
    const temp = createTempReport(plan, NOW);
    writeFileSync(join(temp.tempDir, 'junit.xml'), '<testsuites/>');
    await discardTempReport(temp);
    expect(existsSync(join(tmp, 'abandoned'))).toBe(false);
  });

  it.runIf(existsSync('/proc/self/stat'))('a folder procfs will not create: an environment error (exit 3), at once', () => {
    for (const out of ['/proc/self/meterlab-report', '/proc/meterlab/report']) {
      const plan = checkOutDir(out, none);
      let error: unknown;
      try {
        createTempReport(plan, NOW);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(OutputDirError);
      expect((error as MeterLabError).message).toMatch(new RegExp(`^cannot write the report to ${out}: ENOENT`));
      expect(describeFailure(error).code).toBe(EXIT.environment);
    }
  });
});
