/**
 * MeterLab's station export format (gw1376-station-export.ts): a document round-trips from the
 * reference station's shapes; a bad field is one error naming it; a URL (msw) and a file are read;
 * an HTTP error, a missing file and text that is no JSON are each one StationExportError.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import type { DailySuccessRate, StoredReading } from '../../simulators/master-station/collection.ts';
import { parseStationExport, readingsOf, readStationExport, stationExportOf, StationExportError, successRateOf } from './gw1376-station-export.ts';

const counts = (due: number, collected: number, firstAttempt: number) => ({ due, collected, firstAttempt, byDeadline: collected, rate: collected / due, firstAttemptRate: firstAttempt / due });
const RATE: DailySuccessRate = {
  day: '2026-01-11',
  concentrators: [{ concentrator: '3702-00001', areaCode: '3702', terminal: 1, ...counts(2, 2, 1), offline: false, rounds: 2, offlineRounds: 0, kinds: [{ kind: 'electricity', ...counts(1, 1, 1) }, { kind: 'water', ...counts(1, 1, 0) }] }],
  kinds: [{ kind: 'electricity', ...counts(1, 1, 1) }, { kind: 'water', ...counts(1, 1, 0) }],
  total: { ...counts(2, 2, 1), terminals: 1, offlineTerminals: 0 },
};
const AT = Date.parse('2026-01-12T04:00:02.417+08:00');
const READINGS: StoredReading[] = [
  { concentrator: '3702-00001', pn: 1, day: '2026-01-11', kind: 'electricity', readingTime: '2026-01-12 00:05', value: 1234.5678, tariffs: [600, null], unit: null, meterType: null, receivedAt: AT },
  { concentrator: '3702-00001', pn: 2, day: '2026-01-11', kind: 'water', readingTime: '2026-01-12 00:07', value: 12.25, tariffs: null, unit: 0x2c, meterType: 0x10, receivedAt: AT + 1000 },
];
const URL_OK = 'http://vendor.test/export';
const URL_BAD = 'http://vendor.test/broken';
const doc = stationExportOf([RATE], READINGS, 480);
const server = setupServer(
  http.get(URL_OK, () => HttpResponse.json(doc)),
  http.get(URL_BAD, () => new HttpResponse('oops', { status: 500 })),
);
const dir = mkdtempSync(join(tmpdir(), 'meterlab-export-'));
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});
const clock = new VirtualClock({ autoAdvance: false });

describe('station export', () => {
  it('round-trips the reference station\'s success rate and readings', () => {
    const e = parseStationExport(JSON.parse(JSON.stringify(doc)));
    expect(e.readings[0]!.receivedAt).toBe('2026-01-12T04:00:02.417+08:00');
    expect(successRateOf(e, '2026-01-11')).toEqual(RATE);
    expect(readingsOf(e, { areaCode: '3702', terminal: 1 }, '2026-01-11')).toEqual(READINGS);
    expect(readingsOf(e, { areaCode: '3702', terminal: 2 }, '2026-01-11')).toEqual([]);
    // A day the station does not report: no rows, nothing counted (the case then fails naming the concentrator).
    expect(successRateOf(e, '2026-01-12')).toMatchObject({ concentrators: [], total: { due: 0, terminals: 0 } });
  });

  it('names the first bad field', () => {
    const bad = JSON.parse(JSON.stringify(doc));
    bad.successRate[0].concentrators[0].collected = -1;
    expect(() => parseStationExport(bad, 'x')).toThrow(/^x: successRate\[0\]\.concentrators\[0\]\.collected: /);
    const noZone = JSON.parse(JSON.stringify(doc));
    noZone.readings[1].receivedAt = '2026-01-12T04:00:03';
    expect(() => parseStationExport(noZone)).toThrow(/readings\[1\]\.receivedAt/);
    expect(() => parseStationExport({ successRate: [], readings: [], extra: 1 })).toThrow(StationExportError);
  });

  it('reads a URL and a file; an HTTP error, a missing file and text that is no JSON are errors naming the source', async () => {
    expect((await readStationExport({ url: URL_OK }, clock)).readings).toHaveLength(2);
    const file = join(dir, 'export.json');
    writeFileSync(file, JSON.stringify(doc));
    expect((await readStationExport({ file }, clock)).successRate).toHaveLength(1);
    await expect(readStationExport({ url: URL_BAD }, clock)).rejects.toThrow(/station export http:\/\/vendor\.test\/broken: HTTP 500/);
    await expect(readStationExport({ file: join(dir, 'none.json') }, clock)).rejects.toThrow(/none\.json: ENOENT/);
    writeFileSync(file, '{ not json');
    await expect(readStationExport({ file }, clock)).rejects.toThrow(/export\.json: not JSON/);
  });
});
