/**
 * The M-Bus reading suite over the REAL serialport binding: a socat pseudo-terminal pair stands in
 * for the M-Bus level converter and its cable. `meterlab simulate heat --protocol mbus` serves a
 * heat meter on one end; `meterlab run --target <serial profile> --suite mbus-reading` runs the
 * suite on the other end, in real time, and must certify it.
 *
 * Needs socat (`apt-get install socat`; .ci/run installs it). Ptys carry bytes but neither pace
 * them nor check parity (TOOLCHAIN.md): line timing is the simulated segment's inside `simulate`.
 * Takes about 2.5 minutes, 100 s of it the full primary scan (251 addresses × 2 probes × 196.7 ms
 * of silence at 2400 Bd, EN 13757-2's reply window).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import type { RunSummary } from './report.ts';
import { verifyManifest } from './report.ts';
import { checkedInProfileOn, meterlab, startMeterlab, stopMeterlab, type RunningMeterlab } from './testing.ts';

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-mbus-pty-'));
let pair: PtyPair | undefined;
let sim: RunningMeterlab | undefined;

afterAll(async () => {
  await stopMeterlab(sim);
  await pair?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** The checked-in profile of the served heat meter, pointed at this test's pty. */
const serialProfile = (path: string): object => checkedInProfileOn('simulated-heat-meter-on-pty.json', path);

describe('M-Bus reading suite end to end over the real serialport binding', () => {
  it.skipIf(!socatAvailable())(`certifies the heat meter served by meterlab simulate heat on a pty (skipped when ${SOCAT_MISSING})`, async () => {
    pair = await startPtyPair();
    sim = startMeterlab(['simulate', 'heat', '--protocol', 'mbus', '--port', pair.a]);
    await sim.waitFor(/serving on/, 30_000);

    const profile = join(tmp, 'pty-heat-target.json');
    writeFileSync(profile, JSON.stringify(serialProfile(pair.b), null, 2));
    const out = join(tmp, 'report');
    const run = await meterlab(['run', '--target', profile, '--suite', 'mbus-reading', '--out', out, '--no-html']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.target.kind).toBe('serial');
    const notPassed = summary.tests.filter((t) => t.verdict !== 'passed').map((t) => `${t.id}: ${t.verdict} — ${t.reason}`);
    // `simulate heat` sends one telegram; the profile does not declare a multi-telegram read.
    expect(notPassed).toEqual(['mbus-reading.multi-telegram: notApplicable — device.declaration.telegrams is not declared']);
    expect(summary.tests).toHaveLength(10);
    // Real time: the scan took the line time of 251 addresses, and the heat balance was measured.
    const scan = summary.measurements.find((m) => m.name === 'primary scan duration');
    expect(scan!.value).toBeGreaterThan(90);
    expect(summary.measurements.find((m) => m.name === 'heat power / (flow × ΔT × 1.163)')?.ok).toBe(true);
    expect(readFileSync(join(out, 'captures', 'mbus-reading.heat-meter.jsonl'), 'utf8')).toMatch(/RSP_UD ← 1 CI 72 00000001 MLB/);
    expect(await verifyManifest(out)).toEqual([]);

    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
  }, 420_000);
});
