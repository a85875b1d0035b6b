/**
 * `meterlab discover` end to end over the REAL serialport binding, as a vendor would start:
 * `meterlab simulate meter` serves a meter on one end of a socat pseudo-terminal pair,
 * `meterlab discover --port <other end> --out profile.json` finds it and writes a draft, and
 * `meterlab run --target profile.json --suite reading` must pass with that draft unchanged.
 *
 * The simulated meter is the reference meter with an address of its own, a vendor-sized set of
 * identifiers (so the discovered set is checked against one that differs from the reference's)
 * and Td 40 ms (so the real-time scan of every dictionary identifier stays near a minute). The
 * full reference set is checked in virtual time in harness/targets/discover.test.ts.
 *
 * Needs socat (`apt-get install socat`; .ci/run installs it). Ptys carry bytes but neither pace
 * them nor check parity (TOOLCHAIN.md): any line setting "works" on a pty, so the line found is
 * the first one tried (2400 8E1, which is also the meter's); line discovery across rates and
 * parities is tested on the RS-485 bus model.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import { DICTIONARY } from '../protocols/dlt645/dictionary.ts';
import { REFERENCE_METER_PROFILE_INPUT } from '../../simulators/electricity-meter/index.ts';
import { loadTargetProfile } from '../targets/profile.ts';
import type { RunSummary } from './report.ts';
import { expectOneErrorLine, meterlab, startMeterlab, type RunningMeterlab, stopMeterlab } from './testing.ts';

const ADDRESS = '202401150042';
/** What a single vendor meter might serve: energies, instantaneous values, clock, identity, prepaid balance, freezes. */
const VENDOR_IDENTIFIERS = [
  '00000000', '00010000', '0001FF00', '00020000', '02010100', '0201FF00', '02020100', '02030000', '02800002',
  '04000101', '04000102', '04000401', '04000402', '04000503', '04001001', '00900200', '05010001', '05010101', '0506FF01',
];
/** Served in follow-up frames by the simulator (its daily-freeze blocks). */
const VENDOR_FOLLOW_UP = ['0506FF01'];
/** Discovery reads every readable 2007 identifier of the dictionary. */
/** Readable 2007 identifiers: the most discover reads (it leaves out those a related refusal makes pointless). */
const READABLE = DICTIONARY.all().filter((x) => x.edition === '2007' && x.access !== 'write').length;
/**
 * Real time grows with the dictionary: about 47 ms a read over a pty at Td 40 ms (measured: 1,915
 * identifiers in 90 s). Allow 150 ms a read plus two minutes for start-up and the reading suite.
 */
const TIMEOUT_MS = 120_000 + READABLE * 150;

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-discover-'));
let pair: PtyPair | undefined;
let sim: RunningMeterlab | undefined;

afterAll(async () => {
  await stopMeterlab(sim);
  await pair?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe('meterlab discover end to end over the real serialport binding', () => {
  it.skipIf(!socatAvailable())(
    `finds the simulated meter's line, address and identifiers, and its draft passes the reading suite unchanged (skipped when ${SOCAT_MISSING})`,
    async () => {
      const simulatorProfile = join(tmp, 'vendor-meter.json');
      const base = structuredClone(REFERENCE_METER_PROFILE_INPUT) as { meter: Record<string, unknown>; simulation: Record<string, unknown> };
      writeFileSync(
        simulatorProfile,
        JSON.stringify({
          ...base,
          meter: { ...base.meter, identifiers: VENDOR_IDENTIFIERS, followUpIdentifiers: VENDOR_FOLLOW_UP },
          simulation: { ...base.simulation, responseDelayMs: 40 },
        }),
      );
      pair = await startPtyPair();
      sim = startMeterlab(['simulate', 'meter', '--protocol', 'dlt645', '--port', pair.a, '--address', ADDRESS, '--profile', simulatorProfile]);
      await sim.waitFor(/serving on/, 30_000);

      const out = join(tmp, 'profile.json');
      const d = await meterlab(['discover', '--port', pair.b, '--out', out]);
      expect(d.code, `${d.stdout}\n${d.stderr}`).toBe(0);
      expect(d.stdout).toMatch(new RegExp(`^meter ${ADDRESS} on serial port ${pair.b} at 2400 8E1 \\(the 1st line setting tried`));
      const scan = /identifiers: (\d+) probed in .*: (\d+) answered with data \(1 with follow-up frames, (\d+) decoded by the dictionary\), (\d+) "no requested data", 0 other error\(s\), 0 invalid reply\(ies\), 0 silent/.exec(d.stdout);
      expect(scan, d.stdout).not.toBeNull();
      const [probed, answered, decoded, refused] = scan!.slice(1).map(Number) as [number, number, number, number];
      expect([answered, decoded, refused]).toEqual([VENDOR_IDENTIFIERS.length, VENDOR_IDENTIFIERS.length, probed - VENDOR_IDENTIFIERS.length]);
      // The rest were left unread, inferred from refusals of related identifiers, and the review says so.
      expect(probed).toBeLessThan(READABLE);
      expect(d.stderr).toContain(`${READABLE - probed} of ${READABLE} identifiers were not read`);
      expect(d.stderr).toMatch(/^meterlab: identifiers \d+\/\d+ \(\d+%\)/m); // progress lines
      expect(d.stderr).toMatch(/review .* before certifying:\n  - capabilities.broadcastTimeSync is false/);

      // The draft: what the meter serves, in dictionary order, and the loader accepts it.
      const json = JSON.parse(readFileSync(out, 'utf8')) as { meter: { address: string; identifiers: string[]; followUpIdentifiers: string[]; line: unknown } };
      const order = new Map(DICTIONARY.all().map((x, i) => [x.di, i]));
      expect(json.meter.address).toBe(ADDRESS);
      expect(json.meter.identifiers).toEqual([...VENDOR_IDENTIFIERS].sort((a, b) => order.get(a)! - order.get(b)!));
      expect(json.meter.followUpIdentifiers).toEqual(VENDOR_FOLLOW_UP);
      expect(json.meter.line).toEqual({ baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 });
      expect(loadTargetProfile(out).connection).toMatchObject({ type: 'serial', path: pair.b });

      // Never overwritten without --force: refused before the port is touched.
      const again = await meterlab(['discover', '--port', pair.b, '--out', out]);
      expect(again.code).toBe(2);
      expect(expectOneErrorLine(again)).toBe(`meterlab: ${out} exists; give --force to overwrite it, or another --out`);

      // The draft, unchanged, certifies the meter with the reading suite.
      const report = join(tmp, 'report');
      const run = await meterlab(['run', '--target', out, '--suite', 'reading', '--out', report, '--no-html']);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      const summary = JSON.parse(readFileSync(join(report, 'summary.json'), 'utf8')) as RunSummary;
      const bad = summary.tests.filter((t) => t.verdict === 'failed' || t.verdict === 'error').map((t) => `${t.id}: ${t.reason}`);
      expect(bad).toEqual([]);
      // Passed where discovery saw the behaviour; not applicable, naming the field, where the user must declare it.
      const notApplicable = summary.tests.filter((t) => t.verdict === 'notApplicable').map((t) => `${t.id}: ${t.reason}`);
      expect(notApplicable.sort()).toEqual([
        'reading.broadcast-time-sync: meter.capabilities.broadcastTimeSync is false',
        'reading.freeze: meter.capabilities.freeze is false',
        'reading.power-loss: needs the target backchannel to cut the meter\'s mains (a simulated meter); MeterLab does not switch a real meter\'s supply',
        'reading.undeclared-refused: meter.capabilities declares readWithWildcard and readAddressWithWildcard true (on a real meter writeData, freeze or changePassword false means "not claimed", not "refused")',
        'reading.wrong-password: meter.capabilities.writeData is false',
      ]);
      expect(summary.verdicts.passed).toBe(summary.tests.length - 5);
      expect(summary.tests.find((t) => t.id === 'reading.follow-up')?.verdict).toBe('passed');
      expect(summary.tests.find((t) => t.id === 'reading.unsupported-identifier')?.verdict).toBe('passed');

      sim.child.kill('SIGINT');
      expect(await sim.exited).toBe(0);
    },
    TIMEOUT_MS,
  );
});
