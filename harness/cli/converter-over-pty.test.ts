/**
 * The converter over the REAL serialport binding: a socat pseudo-terminal pair stands in for the
 * concentrator's RS-485 port and cable. `meterlab simulate converter` serves the reference converter
 * (and its meters) on one end; the converter cases run on the other end through a serial target, in
 * real time: every archived meter is read through it, and both sleeping battery meters, left to fall
 * asleep, are reached through the converter's wake-up. The cases that need the downstream view are
 * not applicable over a serial port. (The whole suite in real time takes about 2.5 min, mostly
 * wake-ups and the 40 reads of the loss case: run it with `meterlab run --target
 * suites/profiles/simulated-converter-on-pty.json --suite converter`.)
 *
 * Needs socat (`apt-get install socat`); skipped with the reason without it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import { openDeviceTarget, parseDeviceTargetProfile, type DeviceTarget } from '../targets/index.ts';
import { runCases, verdictLines } from '../../suites/framework/case.ts';
import { converterCases } from '../../suites/converter/cases.ts';
import { checkedInProfileOn, startMeterlab, stopMeterlab, type RunningMeterlab } from './testing.ts';

let pair: PtyPair | undefined;
let sim: RunningMeterlab | undefined;
let target: DeviceTarget | undefined;

afterAll(async () => {
  await target?.close();
  await stopMeterlab(sim);
  await pair?.close();
});

describe('converter cases over the real serialport binding', () => {
  it.skipIf(!socatAvailable())(`reach every archived meter and wake the battery meters in real time (skipped when ${SOCAT_MISSING})`, async () => {
    pair = await startPtyPair();
    sim = startMeterlab(['simulate', 'converter', '--port', pair.a]);
    await sim.waitFor(/serving on/, 30_000);
    const profile = checkedInProfileOn('simulated-converter-on-pty.json', pair.b);
    target = await openDeviceTarget(parseDeviceTargetProfile(profile, { source: 'simulated-converter-on-pty.json' }));
    expect(target.kind).toBe('serial');
    const results = await runCases(converterCases, target, ['converter.archive-reachable', 'converter.forwards-byte-for-byte', 'converter.wakes-battery-meters', 'converter.protocol-conversion']);
    expect(verdictLines(results).map((l) => l.replace(/ — .*/, ''))).toEqual([
      'converter.archive-reachable: passed',
      'converter.forwards-byte-for-byte: notApplicable',
      'converter.wakes-battery-meters: passed',
      'converter.protocol-conversion: notApplicable',
    ]);
    // The converter logged the suite's frames, the converted MLGW gas meter's reply among them.
    expect(sim.stderr()).toMatch(/<- 81 readDataResponse 30 30000000000003 DI 901F/);
    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
  }, 120_000);
});
