/**
 * The whole path a vendor takes, over the REAL serialport binding: a socat pseudo-terminal pair
 * stands in for the USB-RS485 adapter and its cable. `meterlab simulate meter` serves the
 * reference meter on one end; `meterlab run --target <serial profile>` runs the reading suite
 * on the other end, in real time, and must certify it.
 *
 * Needs socat (`apt-get install socat`; .ci/run installs it). Ptys carry bytes but neither pace
 * them nor check parity (TOOLCHAIN.md), so this proves the real binding path; line timing and
 * parity are covered on the RS-485 bus model.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import type { RunSummary } from './report.ts';
import { verifyManifest } from './report.ts';
import { checkedInProfileOn, meterlab, startMeterlab, stopMeterlab, type RunningMeterlab } from './testing.ts';

const ADDRESS = '123456789012';
const tmp = mkdtempSync(join(tmpdir(), 'meterlab-pty-'));
let pair: PtyPair | undefined;
let sim: RunningMeterlab | undefined;

afterAll(async () => {
  await stopMeterlab(sim);
  await pair?.close();
  rmSync(tmp, { recursive: true, force: true });
});

/** The checked-in profile the README's no-hardware example uses, pointed at this test's pty. */
const serialProfile = (path: string): object => checkedInProfileOn('simulated-meter-on-pty.json', path);

describe('reading suite end to end over the real serialport binding', () => {
  it.skipIf(!socatAvailable())(`certifies the simulated meter served by meterlab simulate on a pty (skipped when ${SOCAT_MISSING})`, async () => {
    pair = await startPtyPair();
    sim = startMeterlab(['simulate', 'meter', '--protocol', 'dlt645', '--port', pair.a, '--baud', '2400', '--address', ADDRESS]);
    await sim.waitFor(/serving on/, 30_000);

    const profile = join(tmp, 'pty-target.json');
    writeFileSync(profile, JSON.stringify(serialProfile(pair.b), null, 2));
    const out = join(tmp, 'report');
    const run = await meterlab(['run', '--target', profile, '--suite', 'reading', '--out', out]);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RunSummary;
    expect(summary.target.kind).toBe('serial');
    const notPassed = summary.tests.filter((t) => t.verdict !== 'passed').map((t) => `${t.id}: ${t.verdict} — ${t.reason}`);
    // Over a serial port there is no backchannel, and the profile declares both wildcard reads.
    expect(notPassed).toEqual([
      "reading.undeclared-refused: notApplicable — meter.capabilities declares readWithWildcard and readAddressWithWildcard true (on a real meter writeData, freeze or changePassword false means \"not claimed\", not \"refused\")",
      "reading.power-loss: notApplicable — needs the target backchannel to cut the meter's mains (a simulated meter); MeterLab does not switch a real meter's supply",
    ]);
    expect(summary.tests.length).toBeGreaterThanOrEqual(14);
    // Real time: Td is measured, not modelled; the simulator answers after 60 ms.
    const td = summary.measurements.find((m) => m.name === 'Td median');
    expect(td?.ok).toBe(true);
    // The meter saw the suite's frames (its log names each one).
    expect(sim.stderr()).toMatch(/rx 11 readData 123456789012 DI 00010000/);
    expect(await verifyManifest(out)).toEqual([]);

    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
  }, 240_000);
});
