/**
 * The fuzz runner itself (scripts/fuzz.ts, fuzz-runner.ts): it counts every planted exception,
 * contract violation and slow input, names inputs that replay alone from (seed, index), stops a
 * worker stuck on one input and names that input, and exits non-zero on any finding.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FUZZ_SEED, fuzzBatch, fuzzInput, type AnyFuzzTarget } from '../harness/core/fuzz-support.ts';
import { bucketOf, bucketUpperMs, mergeResults, quantileMs, runShard } from './fuzz-runner.ts';
import { loadTarget, SELFTEST_TARGETS } from './fuzz-targets.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'meterlab-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const selftest = (name: string): AnyFuzzTarget => SELFTEST_TARGETS.find((t) => t.name === name)!;
const inputs = (t: AnyFuzzTarget, from: number, count: number): number[] => {
  const out: number[] = [];
  for (let i = from; i < from + count; i++) out.push(fuzzInput(t, FUZZ_SEED, i) as number);
  return out;
};

async function fuzz(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/fuzz.ts', ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: x.code ?? -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('runShard', () => {
  it('counts every planted exception and violation, and keeps the first inputs that replay alone', () => {
    for (const [name, hit] of [
      ['selftest.exception', (n: number) => n % 97 === 13],
      ['selftest.violation', (n: number) => n % 89 === 0],
    ] as const) {
      const t = selftest(name);
      const r = runShard(t, { seed: FUZZ_SEED, from: 150, count: 1000 });
      const expected = inputs(t, 150, 1000).filter(hit).length;
      expect(expected).toBeGreaterThan(5);
      expect(r.inputs).toBe(1000);
      expect(name === 'selftest.exception' ? r.exceptions : r.violations).toBe(expected);
      const samples = name === 'selftest.exception' ? r.exceptionSamples : r.violationSamples;
      expect(samples).toHaveLength(5);
      for (const s of samples) expect(hit(fuzzInput(t, FUZZ_SEED, s.index) as number)).toBe(true);
    }
  });

  it('counts inputs over the hang limit, with their time', () => {
    const t = selftest('selftest.slow');
    const r = runShard(t, { seed: FUZZ_SEED, from: 0, count: 300, hangMs: 100 });
    const expected = inputs(t, 0, 300).filter((n) => n % 401 === 7).length;
    expect(expected).toBeGreaterThan(0);
    expect(r.hangs).toBe(expected);
    expect(r.slowOnce).toBe(0);
    expect(r.hangSamples[0]!.ms).toBeGreaterThanOrEqual(150);
    expect(r.maxMs).toBeGreaterThanOrEqual(150);
  });

  it('an input slow once but not on its rerun is not a hang (a busy machine, not the decoder)', () => {
    const t = selftest('selftest.slow-once');
    const r = runShard(t, { seed: FUZZ_SEED, from: 0, count: 300, hangMs: 100 });
    const distinct = new Set(inputs(t, 0, 300).filter((n) => n % 401 === 7)).size;
    expect(distinct).toBeGreaterThan(0);
    expect(r.hangs).toBe(0);
    expect(r.slowOnce).toBe(distinct);
    expect(r.maxMs).toBeLessThan(100);
  });

  it('a real target: every input run once, no finding, figures filled in', async () => {
    const t = (await loadTarget('dlt645.frame'))!;
    const r = runShard(t, { seed: FUZZ_SEED, from: 0, count: 500 });
    expect(r).toMatchObject({ inputs: 500, exceptions: 0, violations: 0, hangs: 0 });
    expect(r.bytes).toBe(fuzzBatch(t, FUZZ_SEED, 0).concat(...[1, 2, 3, 4].map((b) => fuzzBatch(t, FUZZ_SEED, b))).reduce((n, i) => n + t.size(i), 0));
    expect(r.histogram.reduce((a, b) => a + b, 0)).toBe(500);
    expect(r.maxRssKiB).toBeGreaterThan(0);
  });

  it('histogram quantiles are within one bucket (4.4 %) of the times', () => {
    const h = new Array<number>(640).fill(0);
    for (let i = 1; i <= 1000; i++) h[bucketOf(i / 1000)]!++; // 0.001 .. 1 ms
    expect(quantileMs(h, 0.5)).toBeGreaterThanOrEqual(0.5);
    expect(quantileMs(h, 0.5)).toBeLessThan(0.5 * 1.05);
    expect(quantileMs(h, 0.999)).toBeGreaterThanOrEqual(0.999);
    expect(bucketUpperMs(bucketOf(1))).toBeGreaterThan(1);
    const a = runShard(selftest('selftest.violation'), { seed: FUZZ_SEED, from: 0, count: 300 });
    const b = runShard(selftest('selftest.violation'), { seed: FUZZ_SEED, from: 300, count: 300 });
    const m = mergeResults([b, a]);
    expect(m.inputs).toBe(600);
    expect(m.violations).toBe(a.violations + b.violations);
    expect(m.violationSamples.map((s) => s.index)).toEqual([...a.violationSamples, ...b.violationSamples].map((s) => s.index).sort((x, y) => x - y).slice(0, 5));
  });
});

describe('npm run fuzz', () => {
  it('exits 0 with the figures when nothing is found', async () => {
    const json = join(dir, 'hex.json');
    const r = await fuzz(['--only', 'core.hex', '--count', '3000', '--json', json]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\| core\.hex \| 3,000 \| 0 \| 0 \| 0 \|/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { targets: { inputs: number; exceptions: number; decoderInputsPerSecond: number }[] };
    expect(report.targets[0]).toMatchObject({ inputs: 3000, exceptions: 0 });
    expect(report.targets[0]!.decoderInputsPerSecond).toBeGreaterThan(0);
  });

  it('exits 1 on an exception and prints the command that replays it', async () => {
    const r = await fuzz(['--only', 'selftest.exception', '--count', '400']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/selftest\.exception: \d+ exception\(s\)/);
    const replay = /replay: npm run fuzz -- (--only selftest\.exception --seed 6452007 --from (\d+) --count 1)/.exec(r.stdout);
    expect(replay).not.toBeNull();
    const again = await fuzz(replay![1]!.split(' '));
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/\| selftest\.exception \| 1 \| 1 \|/);
  });

  it('stops a worker stuck on one input, names the input, and runs the rest', async () => {
    // Input 1448 of seed 6452007 is the only one in 1200..1499 that never returns. A 3 s stall limit:
    // with 1 s, a loaded machine (load 10: a mutation run beside the tests) stalled an ordinary input.
    const json = join(dir, 'stuck.json');
    const r = await fuzz(['--only', 'selftest.stuck', '--from', '1200', '--count', '300', '--stall-s', '3', '--jobs', '1', '--json', json]);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(json, 'utf8')) as { targets: { inputs: number; stuck: number; samples: { hangs: { index: number }[] } }[] };
    expect(report.targets[0]).toMatchObject({ inputs: 300, stuck: 1 });
    expect(report.targets[0]!.samples.hangs.map((s) => s.index)).toEqual([1448]);
    expect(r.stdout).toMatch(/input 1448 .*never returned/);
  });

  it('a bad option is one line and exit 2', async () => {
    const r = await fuzz(['--only', 'no.such']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('fuzz: unknown target "no.such" (see --list)');
    expect((await fuzz(['--count', 'many'])).code).toBe(2);
  });
});
