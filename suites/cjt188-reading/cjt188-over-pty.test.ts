/**
 * The CJ/T 188 suites over the REAL serialport binding: a socat pseudo-terminal pair stands in for
 * the USB-RS485 adapter; `meterlab simulate water|gas --protocol cjt188` serves the reference meter
 * on one end (its own simulated 2400 8E1 line paces the bytes, so a 2.5 s wake-up takes 2.5 s),
 * and the cases run on the other end through a serial target profile, in real time. Without a
 * backchannel the leak and stuck-valve cases are not applicable, and say so.
 *
 * Needs socat (`apt-get install socat`); skipped with that reason when it is absent. Ptys carry
 * bytes but neither pace them nor check parity (TOOLCHAIN.md): line timing is covered on the bus model.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../../harness/links/pty.ts';
import { openDeviceTarget, parseDeviceTargetProfile, type DeviceTarget } from '../../harness/targets/index.ts';
import { REPO, startMeterlab, type RunningMeterlab } from '../../harness/cli/testing.ts';
import { runCases, verdictLines } from '../framework/case.ts';
import { cjt188ValveCases } from '../cjt188-valve/cases.ts';
import { cjt188ReadingCases } from './cases.ts';

let pair: PtyPair | undefined;
let sim: RunningMeterlab | undefined;
let target: DeviceTarget | undefined;

afterEach(async () => {
  await target?.close();
  target = undefined;
  if (sim && sim.child.exitCode === null) {
    sim.child.kill('SIGINT');
    await sim.exited;
  }
  sim = undefined;
  await pair?.close();
  pair = undefined;
});

/** The checked-in water profile pointed at this test's pty; `edit` adjusts its JSON. */
function ptyProfile(path: string, edit: (p: { device: { kind: string; declaration: Record<string, unknown> } }) => void = () => undefined) {
  const json = JSON.parse(readFileSync(join(REPO, 'suites', 'profiles', 'simulated-water-meter-on-pty.json'), 'utf8')) as {
    connection: { path: string };
    device: { kind: string; declaration: Record<string, unknown> };
  };
  json.connection.path = path;
  edit(json);
  return parseDeviceTargetProfile(json);
}

async function serve(kind: 'water' | 'gas', address: string): Promise<PtyPair> {
  pair = await startPtyPair();
  sim = startMeterlab(['simulate', kind, '--protocol', 'cjt188', '--port', pair.a, '--address', address]);
  await sim.waitFor(/serving on/, 30_000);
  return pair;
}

describe('CJ/T 188 suites end to end over the real serialport binding', () => {
  it.skipIf(!socatAvailable())(`the reading and valve suites pass against meterlab simulate water on a pty (skipped when ${SOCAT_MISSING})`, async () => {
    const p = await serve('water', '00000000000042');
    target = await openDeviceTarget(ptyProfile(p.b));
    expect(target.kind).toBe('serial');
    const results = [...(await runCases(cjt188ReadingCases, target)), ...(await runCases(cjt188ValveCases, target))];
    const notApplicable: Record<string, RegExp> = {
      'cjt188-reading.leak-visible': /needs a controlled leak .* through a simulated meter's backchannel/,
      'cjt188-reading.battery-wake-up': /device\.declaration\.sleeps is false/,
      'cjt188-valve.stuck-reported': /needs a jammed valve through a simulated meter's backchannel/,
    };
    for (const r of results) {
      if (notApplicable[r.id]) expect(`${r.id}: ${r.verdict} ${r.reason}`).toMatch(new RegExp(`${r.id}: notApplicable ${notApplicable[r.id]!.source}`));
      else expect(`${r.id}: ${r.verdict}${r.verdict === 'passed' ? '' : ` — ${r.reason}`}`).toBe(`${r.id}: passed`);
    }
    // Real time: the valve's motor time was measured, not modelled away (6 s motor of the simulated meter).
    const close = results.find((r) => r.id === 'cjt188-valve.close-and-open')!.measurements.find((m) => m.name === 'valve close time')!;
    expect(close.value).toBeGreaterThan(5000);
    // The frames went over the port both ways, described by the CJ/T 188 codec in the captures.
    target.flushCaptures();
    expect(target.captures.filter((c) => c.dir === 'rx' && /901F/.test(c.decode ?? '')).length).toBeGreaterThan(10);
  }, 240_000);

  it.skipIf(!socatAvailable())(`a sleeping gas meter served on a pty ignores a request without wake-up and answers one with it (MM-06; skipped when ${SOCAT_MISSING})`, async () => {
    const p = await serve('gas', '00000000000043');
    target = await openDeviceTarget(
      ptyProfile(p.b, (j) => {
        j.device.kind = 'gas-meter';
        Object.assign(j.device.declaration, { meter: 'gas', address: '00000000000043', sleeps: true, sniffPeriodMs: 2000, awakeMs: 10_000 });
      }),
    );
    const results = await runCases(cjt188ReadingCases, target, ['cjt188-reading.battery-wake-up']);
    expect(verdictLines(results)).toEqual(['cjt188-reading.battery-wake-up: passed']);
    const wake = results[0]!.measurements.find((m) => m.name === 'wake-up preamble that got the reply')!;
    expect(wake.value).toBeGreaterThanOrEqual(2000);
  }, 240_000);
});
