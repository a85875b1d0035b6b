/**
 * The master station as a gw1376 target (issue 12): its profile is validated with the kind's own
 * declaration and defects (protocols.ts kindDeclarations / kindDefects), a concentrator's fields or
 * defects are refused on it and the other way round, a vendor's station is refused with what is
 * missing, it never opens as a one-link device, and ObservedUplink passes, drops and duplicates
 * whole frames while recording what reached the other side.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.ts';
import { createMemoryPair } from '../links/memory.ts';
import { Afn, buildFrame } from '../protocols/gw1376/index.ts';
import { parseDeviceTargetProfile } from './device-profile.ts';
import { ObservedUplink, openMasterStationTarget, vendorSchedule, vendorTimingNote } from './gw1376-station-target.ts';
import { openDeviceTarget } from './target.ts';

const station = (declaration: object, connection: object = { type: 'reference', transport: 'memory' }) => ({
  name: 'station',
  device: { kind: 'master-station', protocol: 'gw1376', declaration },
  connection,
});

describe('master-station profiles', () => {
  it('take the master-station declaration, with its defaults', () => {
    const p = parseDeviceTargetProfile(station({}));
    expect(p.device).toMatchObject({ kind: 'master-station', protocol: 'gw1376' });
    expect(p.device.declaration).toEqual({
      msa: 1,
      heartbeatMinutes: 15,
      collection: { start: '04:00', deadline: '12:00' },
      utcOffsetMinutes: 480,
      meters: { scenario: 'station-bench' },
    });
  });

  it("refuse a concentrator's field and a bad field by name", () => {
    expect(() => parseDeviceTargetProfile(station({ terminal: { areaCode: '3701', address: 1 } }))).toThrow(/device\.declaration: Unrecognized key: "terminal"/);
    expect(() => parseDeviceTargetProfile(station({ collection: { deadline: '25:00' } }))).toThrow(/device\.declaration\.collection\.deadline: hh:mm/);
  });

  it("take the station's defects, refuse the concentrator's, and the other way round", () => {
    const broken = parseDeviceTargetProfile(station({}, { type: 'reference', transport: 'memory', defects: [{ name: 'count-retried-twice' }] }));
    expect(broken.connection).toMatchObject({ defects: [{ name: 'count-retried-twice' }] });
    expect(() => parseDeviceTargetProfile(station({}, { type: 'reference', transport: 'memory', defects: [{ name: 'skip-re-read' }] }))).toThrow(/connection\.defects\[0\]\.name/);
    const concentrator = {
      name: 'c',
      device: { kind: 'concentrator', protocol: 'gw1376', declaration: { terminal: { areaCode: '3701', address: 1 } } },
      connection: { type: 'reference', transport: 'memory', defects: [{ name: 'count-retried-twice' }] },
    };
    expect(() => parseDeviceTargetProfile(concentrator)).toThrow(/connection\.defects\[0\]\.name/);
  });

  it("a vendor's station that does not listen is refused before anything is built; a station never opens as a device on one link", async () => {
    const vendor = parseDeviceTargetProfile(station({}, { type: 'tcp', host: '127.0.0.1', port: 9 }));
    await expect(openMasterStationTarget(vendor)).rejects.toThrow(/the master station 127\.0\.0\.1:9 is not reachable \(cannot connect to 127\.0\.0\.1:9: ECONNREFUSED\); start it/);
    expect(() => parseDeviceTargetProfile(station({ vendor: { export: { url: 'not a url' } } }, { type: 'tcp', host: '127.0.0.1', port: 9 }))).toThrow(/device\.declaration\.vendor\.export/);
    // An export behind a bearer token names the variable; one that is not set is refused before anything is built.
    const tokened = parseDeviceTargetProfile(station({ vendor: { export: { url: 'http://127.0.0.1:8645/api/v1/collection/export', tokenEnv: 'METERLAB_TEST_NEVER_SET_TOKEN' } } }, { type: 'tcp', host: '127.0.0.1', port: 9 }));
    await expect(openMasterStationTarget(tokened)).rejects.toThrow(/device\.declaration\.vendor\.export\.tokenEnv: the environment variable METERLAB_TEST_NEVER_SET_TOKEN is not set/);
    expect(() => parseDeviceTargetProfile(station({ vendor: { export: { url: 'http://h/x', tokenEnv: 'not a name' } } }, { type: 'tcp', host: '127.0.0.1', port: 9 }))).toThrow(/tokenEnv/);
    await expect(openDeviceTarget(parseDeviceTargetProfile(station({})))).rejects.toThrow(/opened by openMasterStationTarget/);
  });
});

describe('ObservedUplink', () => {
  it('passes, drops or duplicates whole frames up, and records both ways what reached the other side', async () => {
    const clock = new VirtualClock({ start: 0, autoAdvance: false });
    const [terminalEnd, stationEnd] = createMemoryPair();
    const uplink = new ObservedUplink(clock);
    const link = uplink.wrap(terminalEnd);
    const got: number[] = [];
    stationEnd.on('data', (c: Uint8Array) => got.push(c.length));
    const address = { areaCode: '3701', terminal: 1, msa: 0, group: false };
    const login = buildFrame({ control: { dir: true, prm: true, functionCode: 9 }, address, afn: Afn.linkTest, seq: { seq: 0, con: true }, units: [{ pn: 0, fn: 1 }] });
    const heartbeat = buildFrame({ control: { dir: true, prm: true, functionCode: 9 }, address, afn: Afn.linkTest, seq: { seq: 1, con: true }, units: [{ pn: 0, fn: 3 }] });
    uplink.rule = (m) => (m.units[0]?.fns[0] === 3 ? 'drop' : 'duplicate');
    await link.write(login);
    await link.write(heartbeat);
    await stationEnd.write(heartbeat);
    for (let i = 0; i < 3; i++) await Promise.resolve();
    expect(got).toEqual([login.length, login.length]);
    expect(uplink.frames.map((f) => `${f.dir} F${f.message.units[0]?.fns[0]}`)).toEqual(['up F1', 'up F1', 'down F3']);
    expect(uplink.logins).toEqual([0, 0]);
    await link.close();
    expect(uplink.disconnects).toEqual([0]);
  });
});

describe("a vendor's station in real time: where a run stands", () => {
  const d = parseDeviceTargetProfile(station({})).device.declaration as Parameters<typeof vendorSchedule>[0];
  const at = (iso: string) => Date.parse(iso);
  const BENCH_START = at('2026-01-11T12:00:00+08:00');

  it('the first day is the last one whose deadline is ahead; the scenario is rebased to it', () => {
    // Before the 12:00 deadline: yesterday, its night pre-rolled in virtual time.
    expect(vendorSchedule(d, BENCH_START, at('2026-12-01T04:00:50+08:00'))).toEqual({
      now: at('2026-12-01T04:00:50+08:00'),
      day: '2026-11-30',
      startMs: at('2026-11-30T12:00:00+08:00'),
      windowStart: at('2026-12-01T04:00:00+08:00'),
      deadline: at('2026-12-01T12:00:00+08:00'),
    });
    // After it: today, whose start time of day (12:00) has passed; the night comes in real time.
    expect(vendorSchedule(d, BENCH_START, at('2026-11-30T21:30:00+08:00'))).toMatchObject({ day: '2026-11-30', startMs: at('2026-11-30T12:00:00+08:00'), deadline: at('2026-12-01T12:00:00+08:00') });
    // Today, before the scenario's start time of day: it starts now.
    expect(vendorSchedule(d, BENCH_START, at('2026-11-30T12:00:00+08:00') - 3_600_000)).toMatchObject({ day: '2026-11-29' });
    expect(vendorSchedule(d, at('2026-01-11T22:00:00+08:00'), at('2026-11-30T12:30:00+08:00'))).toMatchObject({ day: '2026-11-30', startMs: at('2026-11-30T12:30:00+08:00') });
  });

  it('says before the run how long it takes; nothing for the reference', () => {
    const vendor = parseDeviceTargetProfile(station({ vendor: { clockOffsetSeconds: 3600 } }, { type: 'tcp', host: '127.0.0.1', port: 9 }));
    expect(vendorTimingNote(vendor, at('2026-11-30T20:30:00+08:00'))).toBe(
      "real time: the station 127.0.0.1:9 reads 2026-11-30 21:30:00 UTC+08:00 (its clock set +3600 s from the real time, as declared); MeterLab runs the scenario's concentrator(s) and their meters in virtual time from 2026-11-30 12:00:00 to then and follows real time from there. " +
        "Day 2026-11-30: the station's window opens at 2026-12-01 04:00:00 (in 6 h 30 min); the cases wait until its deadline 2026-12-01 12:00:00, at most 14 h 30 min from now (less once every point is delivered).",
    );
    expect(vendorTimingNote(parseDeviceTargetProfile(station({})), 0)).toBeUndefined();
  });
});
