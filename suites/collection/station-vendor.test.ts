/**
 * The collection suite's master-station cases against a VENDOR's station, in real time over
 * loopback TCP. The "vendor" is MeterLab's reference station (harness/targets/gw1376-reference-vendor.ts)
 * listening on 127.0.0.1 port 0, its clock set to 04:00:50 of the morning after the scenario's
 * first day, with a three-minute window (04:00-04:03, rounds every minute; the station that never
 * collects: 04:01:45 and 04:00-04:02, so its deadline comes 15 s after it opens): MeterLab
 * pre-rolls its meters and concentrators through the night in virtual time, then its three
 * concentrators dial the station and it collects them; the one whose uplink is down until 04:01
 * logs in after that (redial every 2 s) and is collected then. Scenario: fixtures/station-realtime.json
 * (station-bench's 29 meters, the outage moved). Real time: each run waits a few seconds past the
 * logins (until every point is delivered, plus 3 s for the station to store it) — about 20 s a test for
 * a good station; the one that never collects is judged at its 04:02 deadline. ROB-10 probes the
 * first day (its probe set before the concentrators come online); a station that counts a
 * re-collected reading twice fails it and COL-01 by its own export.
 * With its export (msw over HTTP, or a file): COL-01 and COL-02's stored check judge its own
 * figures; without it they are judged from the uplinks (COL-02, ROB-09) or not applicable (COL-01,
 * ROB-10). A station that never collects fails COL-01 (its rate, from its export), COL-02 and ROB-09.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../../harness/core/clock.ts';
import { scenarioOf } from '../../harness/targets/gw1376-protocol.ts';
import { startReferenceVendor, type ReferenceVendor, type ReferenceVendorOptions } from '../../harness/targets/gw1376-reference-vendor.ts';
import { runCases, verdictLines, type CaseResult } from '../framework/case.ts';
import { stationCases } from './station-cases.ts';
import { openStationTarget, type StationTarget } from './station-support.ts';

const SCENARIO = fileURLToPath(new URL('./fixtures/station-realtime.json', import.meta.url));
const DAY = '2026-01-11';
const EXPORT_URL = 'http://vendor.test/meterlab-export';
const [COL01, COL02, ROB09, ROB10] = ['collection.station-success-rate', 'collection.station-readings-by-deadline', 'collection.station-gap-after-outage', 'collection.station-recollected-once'];

const dir = mkdtempSync(join(tmpdir(), 'meterlab-vendor-'));
let exported: ReferenceVendor | undefined;
const server = setupServer(http.get(EXPORT_URL, async () => (exported ? HttpResponse.json(await exported.export([DAY])) : new HttpResponse(null, { status: 503 }))));
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  exported = undefined;
  for (const x of open.splice(0).reverse()) await x.close();
});

/** A vendor whose clock reads `hhmmss` of the morning after DAY (UTC+8), and the profile of it; the target opened on it. */
async function vendorRun(hhmmss: string, vendorExport: object | undefined, options: Partial<ReferenceVendorOptions> = {}, deadlineMinute = 3): Promise<{ vendor: ReferenceVendor; t: StationTarget }> {
  const offsetSeconds = Math.round((Date.parse(`2026-01-12T${hhmmss}+08:00`) - new RealClock().now()) / 1000);
  const scenario = scenarioOf({ meters: { scenario: SCENARIO, concentrator: 1 } } as Parameters<typeof scenarioOf>[0]);
  const vendor = await startReferenceVendor({ scenario, clockOffsetMs: offsetSeconds * 1000, schedule: { startMinute: 4 * 60, endMinute: 4 * 60 + deadlineMinute, retryMinutes: 1 }, ...options });
  open.push(vendor);
  const profile = {
    name: 'vendor-station',
    device: {
      kind: 'master-station',
      protocol: 'gw1376',
      declaration: {
        collection: { start: '04:00', deadline: `04:0${deadlineMinute}` },
        meters: { scenario: SCENARIO },
        vendor: { clockOffsetSeconds: offsetSeconds, redialSeconds: 2, ...(vendorExport ? { export: vendorExport } : {}) },
      },
    },
    connection: { type: 'tcp', host: '127.0.0.1', port: vendor.port },
  };
  const file = join(dir, `profile-${open.length}.json`);
  writeFileSync(file, JSON.stringify(profile));
  const t = await openStationTarget(file);
  open.push(t);
  return { vendor, t };
}

const byId = (results: readonly CaseResult[]): Record<string, CaseResult> => Object.fromEntries(results.map((r) => [r.id, r]));
const caseOf = (id: string) => stationCases.find((c) => c.id === id)!;

describe("a vendor's master station over loopback TCP, in real time (the reference station as the vendor)", () => {
  it('with its export over HTTP: COL-01, COL-02, ROB-09 and ROB-10 (on the first day) pass, judged from the uplinks and its own figures', async () => {
    const { vendor, t } = await vendorRun('04:00:50', { url: EXPORT_URL });
    exported = vendor;
    expect(t.time).toBe('real');
    expect(t.timing).toMatch(/^real time: the station 127\.0\.0\.1:\d+ reads 2026-01-12 04:0[01]:\d\d UTC\+08:00 .*Day 2026-01-11: the station's window opens at 2026-01-12 04:00:00 \(open\); the cases wait until its deadline 2026-01-12 04:03:00, at most \d+ (s|min) from now .*; ROB-10 probes the same day/);
    const results = await runCases(stationCases, t, [COL01, COL02, ROB09, ROB10]);
    expect(verdictLines(results)).toEqual([COL01, COL02, ROB09, ROB10].map((id) => `${id}: passed`));
    const r = byId(results);
    expect(r[COL01]!.measurements.map((m) => m.value)).toEqual([100, 100, 100, 100]);
    expect(r[COL02]!.measurements.map((m) => [m.name, m.value])).toEqual([
      ["2026-01-11 readings at the station by 04:03, equal to the meters'", 29],
      ["2026-01-11 daily data delivered to the station by 04:03, equal to the meters'", 29],
    ]);
    // The outage concentrator logged in after 04:01 and was collected then.
    expect(r[ROB09]!.log.join('\n')).toMatch(/uplink down 01-11 23:00 to 01-12 04:01; logins 01-12 04:01/);
    // ROB-10 probed D: the first request's replies lost, the station collected those points again.
    expect(r[ROB10]!.log.join('\n')).toMatch(/[1-9]\d* reply frame\(s\) lost[\s\S]*[1-9]\d* of them on a later attempt/);
  }, 90_000);

  it('a station that counts a retried reading twice fails ROB-10 and COL-01 by its own export', async () => {
    const { vendor, t } = await vendorRun('04:00:50', { url: EXPORT_URL }, { faults: { countRetriedTwice: true } });
    exported = vendor;
    const results = await runCases(stationCases, t, [COL01, COL02, ROB09, ROB10]);
    const lines = verdictLines(results).join('\n');
    const r = byId(results);
    expect(r[ROB10]!.verdict, lines).toBe('failed');
    expect(r[ROB10]!.reason).toMatch(/the station counts \d+ collected of \d+ due for 2026-01-11; \d+ distinct point\(s\) were delivered/);
    expect(r[COL01]!.verdict, lines).toBe('failed');
    expect([r[COL02]!.verdict, r[ROB09]!.verdict], lines).toEqual(['passed', 'passed']);
  }, 90_000);

  it('without an export: COL-02 is judged from the uplinks alone and passes; COL-01 and ROB-10 are not applicable, naming the export', async () => {
    const { t } = await vendorRun('04:00:50', undefined);
    expect(t.report).toBeUndefined();
    for (const id of [COL01, ROB10]) expect(caseOf(id).applies!(t)).toMatch(/its profile declares no export \(device\.declaration\.vendor\.export, MeterLab's station export format/);
    const results = await runCases(stationCases, t, [COL01, COL02]);
    expect(verdictLines(results)[0]).toMatch(/^collection\.station-success-rate: notApplicable — needs the station's own daily success rate/);
    expect(byId(results)[COL02]!.verdict).toBe('passed');
    expect(byId(results)[COL02]!.log.join('\n')).toMatch(/judged from the uplinks alone/);
    expect(byId(results)[COL02]!.measurements.map((m) => m.value)).toEqual([29]);
  }, 90_000);

  it('a station that never collects fails COL-01 by its own exported rate (a file), COL-02 and ROB-09', async () => {
    const file = join(dir, 'never-collects-export.json');
    const { vendor, t } = await vendorRun('04:01:45', { file }, { collect: false }, 2);
    const results = await runCases(stationCases, t, [COL02, ROB09]);
    // The station writes its export; COL-01 reads it (the clock is past the deadline: no more waiting).
    writeFileSync(file, JSON.stringify(await vendor.export([DAY])));
    const rate = (await runCases(stationCases, t, [COL01]))[0]!;
    const lines = [...verdictLines(results), ...verdictLines([rate])].join('\n');
    const r = byId(results);
    expect(r[COL02]!.verdict, lines).toBe('failed');
    expect(r[COL02]!.reason).toMatch(/(\d+) of \1 point\(s\) of 2026-01-11 not delivered to the station by 01-12 04:02: no answer to a request of the station carried them \(p1, .*; 0 request\(s\) for the day, none answered\)/);
    expect(r[ROB09]!.verdict, lines).toBe('failed');
    expect(rate.verdict, lines).toBe('failed');
    expect(rate.measurements.map((m) => m.value)).toEqual([0, 0, 0, 0]);
  }, 90_000);
});
