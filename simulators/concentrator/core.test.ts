/**
 * The concentrator core over real bus models with the reference simulators, in virtual time:
 * a night's collection of every kind of point, the re-read (补抄) of days a dead meter missed, ERC 39
 * when it stays dead, the skipReRead defect, transparent forwarding, control, the archive's
 * refusals, a reboot, and the CollectionRun's line-time bound.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../harness/core/bytes.ts';
import { decode as decodeDlt645, encodeMessage } from '../../harness/protocols/dlt645/messages.ts';
import { encodeMessage as encodeCjt188, MeterType, STANDARD_DIALECT } from '../../harness/protocols/cjt188/index.ts';
import { encodeReqUd2 } from '../../harness/protocols/mbus/index.ts';
import { ARCHIVE_CAPACITY } from './archive.ts';
import { ERC_FAILED_RE_READ } from './collection.ts';
import { alterOneByte, ERC_POWER_OFF_ON } from './core.ts';
import { at, buildWorld, electricityAddress, GAS, GAS_PN, HEAT_PN, WATER, WATER_PN, type Sniffed } from './test-support.ts';
import type { ArchivePoint, CollectionRun } from './types.ts';

/** Requests the concentrator sent to a DL/T 645 address, with their DI, as a sniffer heard them. */
function dltRequests(heard: readonly Sniffed[], address: string): string[] {
  const out: string[] = [];
  for (const h of heard) {
    const d = decodeDlt645(h.bytes);
    if (!d.ok || d.value.frame.control.isResponse || d.value.frame.address !== address) continue;
    const m = d.value.message;
    out.push('di' in m ? m.di : m.kind);
  }
  return out;
}

function checkLineTime(run: CollectionRun): void {
  for (const p of run.ports) {
    expect(p.lineTimeMs).toBeGreaterThan(0);
    expect(p.lineTimeMs).toBeLessThanOrEqual(p.endedAt - p.startedAt);
    expect(p.startedAt).toBeGreaterThanOrEqual(run.startedAt);
    expect(p.endedAt).toBeLessThanOrEqual(run.endedAt);
  }
}

describe('concentrator core: the nightly collection', () => {
  it('collects a day of DL/T 645, CJ/T 188 water and gas (behind a converter) and M-Bus heat points, equal to the meters own values', async () => {
    const w = buildWorld();
    w.core.start();
    await w.until(at(11, 4, 30));
    const day = '2026-01-10';
    // DL/T 645: the daily freeze taken at 00:00 of the 11th, which closes the 10th.
    for (let i = 0; i < w.electricity.length; i++) {
      const r = w.core.daily(i + 1, day)!;
      expect(r).toMatchObject({ pn: i + 1, day, attempt: 1, frozenAt: at(11, 0) });
      expect(r.value).toEqual({ kind: 'electricity', forwardActiveKwh: w.freezeOf(i, '2026-01-11') });
      expect(r.readAt).toBeGreaterThanOrEqual(at(11, 0, 5));
    }
    // CJ/T 188 and M-Bus: the current value read after 00:00, as the meter's model had it when it answered.
    const water = w.core.daily(WATER_PN, day)!;
    expect(water.value).toEqual({ kind: 'water', value: w.answered.get(WATER_PN)!.at(-1), unit: 0x2c, meterType: MeterType.ColdWater, status: expect.any(Number) });
    expect(water.frozenAt).toBe(water.readAt);
    const gas = w.core.daily(GAS_PN, day)!;
    expect(gas.value).toMatchObject({ kind: 'gas', value: w.answered.get(GAS_PN)!.at(-1), unit: 0x2c, meterType: MeterType.Gas });
    for (let i = 0; i < w.heat.length; i++) {
      const h = w.core.daily(HEAT_PN + i, day)!;
      expect(h.value).toEqual({ kind: 'heat', value: w.answered.get(HEAT_PN + i)!.at(-1), unit: 0x05, meterType: 0x04 });
      expect(h.attempt).toBe(1);
    }
    // One run at 00:05: every point due and read; per port the line-time bound fits in the run.
    const runs = w.core.collectionRuns();
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run).toMatchObject({ day, due: 7, read: 7, failed: 0, recovered: 0, startedAt: at(11, 0, 5) });
    expect(run.ports.map((p) => p.port)).toEqual([2, 3, 5]);
    checkLineTime(run);
    // The sleeping gas meter behind the converter took its wake-up: port 3 ran longer than its line time alone.
    const p3 = run.ports.find((p) => p.port === 3)!;
    expect(p3.endedAt - p3.startedAt).toBeGreaterThan(2500);
    // Nothing was missing: no ERC 39; each DL/T 645 meter got exactly 05060001 and 05060101.
    expect(w.core.events(true)).toEqual([]);
    expect(dltRequests(w.heard.port2, electricityAddress(0))).toEqual(['05060001', '05060101']);
    // The next night reads one new day per meter and does not read the stored ones again.
    await w.until(at(12, 4, 30));
    expect(w.core.daily(1, '2026-01-11')?.value).toEqual({ kind: 'electricity', forwardActiveKwh: w.freezeOf(0, '2026-01-12') });
    expect(dltRequests(w.heard.port2, electricityAddress(0))).toEqual(['05060001', '05060101', '05060001', '05060101']);
    expect(w.core.collectionRuns()).toHaveLength(2);
  });

  it('recovers the days a meter missed while dead for two nights from its daily freezes on the next run', async () => {
    const w = buildWorld();
    w.core.start();
    w.electricity[1]!.backchannel.cutMains();
    await w.until(at(12, 12));
    w.electricity[1]!.backchannel.restoreMains();
    expect(w.core.daily(2, '2026-01-10')).toBeUndefined();
    expect(w.core.daily(2, '2026-01-11')).toBeUndefined();
    await w.until(at(13, 4, 30));
    for (const [day, freeze] of [
      ['2026-01-10', '2026-01-11'],
      ['2026-01-11', '2026-01-12'],
      ['2026-01-12', '2026-01-13'],
    ] as const) {
      expect(w.core.daily(2, day)?.value).toEqual({ kind: 'electricity', forwardActiveKwh: w.freezeOf(1, freeze) });
    }
    // The recovered days were tried on every pass of their nights (8 a night from 00:05 to 03:35) and read on the 00:05 pass of the 13th.
    expect(w.core.daily(2, '2026-01-10')!.attempt).toBe(8 + 8 + 1);
    expect(w.core.daily(2, '2026-01-11')!.attempt).toBe(8 + 1);
    expect(w.core.daily(2, '2026-01-12')!.attempt).toBe(1);
    const night13 = w.core.collectionRuns().filter((r) => r.day === '2026-01-12');
    expect(night13).toHaveLength(1);
    expect(night13[0]).toMatchObject({ due: 7, read: 7, recovered: 2, failed: 0 });
    // While dead: one ERC 39 at 04:00 for each day that was still missing, never twice.
    const erc = w.core.events(true).filter((e) => e.erc === ERC_FAILED_RE_READ);
    expect(erc.map((e) => e.fields)).toEqual([
      { pn: 2, time: '2026-01-11 04:00', day: '2026-01-10' },
      { pn: 2, time: '2026-01-12 04:00', day: '2026-01-11' },
    ]);
    // The retries of the dead nights are runs with the one failed point.
    const night11 = w.core.collectionRuns().filter((r) => r.day === '2026-01-10');
    expect(night11.map((r) => [r.due, r.failed])).toEqual([[7, 1], ...Array.from({ length: 7 }, () => [1, 1])]);
    expect(night11.at(-1)!.startedAt).toBe(at(11, 3, 35));
    for (const r of w.core.collectionRuns()) checkLineTime(r);
  });

  it('a meter that stays dead gets one ERC 39 per missed day, once, and its events are announced', async () => {
    const w = buildWorld();
    const announced: unknown[] = [];
    w.core.on('event', (e) => announced.push(e.fields));
    w.electricity[2]!.backchannel.cutMains();
    w.core.start();
    await w.until(at(15, 4, 30));
    const erc = w.core.events(true).filter((e) => e.erc === ERC_FAILED_RE_READ);
    // Five nights (the 11th to the 15th) close the days 10th to 14th.
    expect(erc.map((e) => e.fields['day'])).toEqual(['2026-01-10', '2026-01-11', '2026-01-12', '2026-01-13', '2026-01-14']);
    expect(erc.every((e) => e.fields['pn'] === 3 && e.important)).toBe(true);
    expect(announced).toEqual(erc.map((e) => e.fields));
    expect(w.core.eventCounters()).toEqual({ important: 5, normal: 0 });
    // The healthy points were never affected.
    expect(w.core.daily(1, '2026-01-13')).toBeDefined();
    expect(w.core.daily(3, '2026-01-13')).toBeUndefined();
  });

  it('a point silent at 00:05 is read by the 00:35 retry, as that night\'s day, with attempt 2', async () => {
    const w = buildWorld();
    w.core.start();
    w.water.server.stop();
    await w.until(at(11, 0, 20));
    expect(w.core.daily(WATER_PN, '2026-01-10')).toBeUndefined();
    w.water.server.start();
    await w.until(at(11, 4, 30));
    const r = w.core.daily(WATER_PN, '2026-01-10')!;
    expect(r).toMatchObject({ attempt: 2, value: { kind: 'water', value: w.answered.get(WATER_PN)!.at(-1) } });
    expect(r.readAt).toBeGreaterThanOrEqual(at(11, 0, 35));
    expect(w.core.collectionRuns().map((x) => [x.due, x.read, x.failed])).toEqual([
      [7, 6, 1],
      [1, 1, 0],
    ]);
    expect(w.core.events(true)).toEqual([]);
  });

  it('a stop and a start while a pass winds down keep the night going', async () => {
    const w = buildWorld();
    w.electricity[2]!.backchannel.cutMains();
    w.core.start();
    await w.until(at(11, 0, 5, 2));
    w.core.stop();
    w.core.start();
    await w.until(at(11, 4, 30));
    expect(w.core.daily(1, '2026-01-10')).toBeDefined();
    expect(w.core.daily(WATER_PN, '2026-01-10')).toBeDefined();
    expect(w.core.collectionRuns().length).toBeGreaterThan(0);
    expect(w.core.events(true).map((e) => e.fields['pn'])).toEqual([3]);
  });

  it('skipReRead (broken variant): the days a meter missed are never recovered, though its freezes hold them', async () => {
    const w = buildWorld({ defects: { skipReRead: true } });
    w.core.start();
    w.electricity[1]!.backchannel.cutMains();
    await w.until(at(12, 12));
    w.electricity[1]!.backchannel.restoreMains();
    await w.until(at(13, 4, 30));
    expect(w.core.daily(2, '2026-01-12')).toBeDefined();
    expect(w.core.daily(2, '2026-01-10')).toBeUndefined();
    expect(w.core.daily(2, '2026-01-11')).toBeUndefined();
    // The meter still holds both freezes: the reference concentrator reads them (the test above).
    expect(w.freezeOf(1, '2026-01-11')).toBeDefined();
    expect(w.freezeOf(1, '2026-01-12')).toBeDefined();
    expect(w.core.collectionRuns().filter((r) => r.day === '2026-01-12')[0]).toMatchObject({ recovered: 0 });
    expect(dltRequests(w.heard.port2, electricityAddress(1)).filter((di) => di === '05060002' || di === '05060003')).toEqual([]);
  });

  it('a meter whose clock is late: its freeze is stored by the day it closes (dayFromReadTime, a broken variant, stores the day before twice)', async () => {
    for (const dayFromReadTime of [false, true]) {
      const w = buildWorld({ defects: { dayFromReadTime } });
      // 10 minutes late: at 00:05 it has not frozen yet.
      w.electricity[0]!.backchannel.setClockOffsetMs(-10 * 60_000);
      w.core.start();
      await w.until(at(12, 4, 30));
      const d10 = w.core.daily(1, '2026-01-10')?.value;
      const d11 = w.core.daily(1, '2026-01-11')?.value;
      if (!dayFromReadTime) {
        expect(d10).toEqual({ kind: 'electricity', forwardActiveKwh: w.freezeOf(0, '2026-01-11') });
        expect(d11).toEqual({ kind: 'electricity', forwardActiveKwh: w.freezeOf(0, '2026-01-12') });
        expect(w.core.daily(1, '2026-01-11')!.attempt).toBe(2);
      } else {
        // The 00:05 read of the 12th found the freeze that closes the 10th and stored it as the 11th.
        expect(d11).toEqual({ kind: 'electricity', forwardActiveKwh: w.freezeOf(0, '2026-01-11') });
        expect(d11).not.toEqual({ kind: 'electricity', forwardActiveKwh: w.freezeOf(0, '2026-01-12') });
      }
    }
  });

  it('noFailedReReadEvent (broken variant): a day lost for good raises no ERC 39', async () => {
    const w = buildWorld({ defects: { noFailedReReadEvent: true } });
    w.electricity[2]!.backchannel.cutMains();
    w.core.start();
    await w.until(at(12, 4, 30));
    expect(w.core.daily(3, '2026-01-10')).toBeUndefined();
    expect(w.core.events(true)).toEqual([]);
  });
});

describe('concentrator core: forwarding, reading and control on demand', () => {
  it('forwards byte for byte on RS-485 and M-Bus: the reply as received without its FE, null on silence', async () => {
    const w = buildWorld();
    const frame = encodeMessage(electricityAddress(0), { kind: 'readData', di: '00010000', extra: new Uint8Array(0) });
    const sent = w.heard.port2.length;
    const r = await w.clock.run(w.core.forward(2, frame, { frameTimeoutMs: 2000, byteTimeoutMs: 500 }));
    expect(r.ok).toBe(true);
    const reply = (r as { value: Uint8Array }).value;
    const onBus = w.heard.port2.slice(sent);
    // What went out: 4 x FE and the frame, unchanged; what came back: the meter's write without its FE.
    expect(toHex(onBus[0]!.bytes)).toBe(toHex(Uint8Array.of(0xfe, 0xfe, 0xfe, 0xfe, ...frame)));
    const meterWrite = onBus[1]!.bytes;
    expect(meterWrite[0]).toBe(0xfe);
    expect(toHex(reply)).toBe(toHex(meterWrite.subarray(meterWrite.indexOf(0x68))));
    const decoded = decodeDlt645(reply);
    expect(decoded.ok && decoded.value.message.kind === 'readDataResponse' && decoded.value.message.di).toBe('00010000');
    // A meter that is not there: null, after the frame timeout.
    const silent = await w.clock.run(w.core.forward(2, encodeMessage('000000000099', { kind: 'readData', di: '00010000', extra: new Uint8Array(0) }), { frameTimeoutMs: 2000, byteTimeoutMs: 500 }));
    expect(silent).toEqual({ ok: true, value: null });
    // CJ/T 188 to the sleeping gas meter behind the converter, and an M-Bus REQ_UD2 to heat meter 1.
    const cj = encodeCjt188(MeterType.Gas, GAS, { kind: 'readData', di: '901F', diOrder: STANDARD_DIALECT.diOrder, ser: 7 });
    const gas = await w.clock.run(w.core.forward(3, cj, { frameTimeoutMs: 12_000, byteTimeoutMs: 500 }));
    expect(gas.ok && gas.value !== null && gas.value[0]).toBe(0x68);
    const mb = await w.clock.run(w.core.forward(5, encodeReqUd2(1, true), { frameTimeoutMs: 1500, byteTimeoutMs: 300 }));
    expect(mb.ok && mb.value !== null && mb.value[0]).toBe(0x68);
    // An unknown port is refused.
    expect(await w.core.forward(9, frame, { frameTimeoutMs: 100, byteTimeoutMs: 100 })).toMatchObject({ ok: false, reason: 'refused' });
  });

  it('alterForwardedByte (broken variant): the meter receives another frame and answers another question', async () => {
    const w = buildWorld({ defects: { alterForwardedByte: true } });
    const frame = encodeMessage(electricityAddress(0), { kind: 'readData', di: '00010000', extra: new Uint8Array(0) });
    const r = await w.clock.run(w.core.forward(2, frame, { frameTimeoutMs: 2000, byteTimeoutMs: 500 }));
    const out = w.heard.port2[0]!.bytes.subarray(4);
    expect(out.length).toBe(frame.length);
    expect(toHex(out)).not.toBe(toHex(frame));
    expect(toHex(out)).toBe(toHex(alterOneByte(frame)));
    const decoded = r.ok && r.value ? decodeDlt645(r.value) : undefined;
    expect(decoded?.ok && decoded.value.message.kind === 'readDataResponse' && decoded.value.message.di).toBe('01010000');
  });

  it('reads current values and switches a meter with its password; refuses what it cannot do', async () => {
    const w = buildWorld();
    const e = await w.clock.run(w.core.readCurrent(1));
    const snap = w.electricity[0]!.model.snapshot();
    expect(e.ok && e.value.value.kind === 'electricity' && e.value.value.forwardActiveKwh[0]).toBeCloseTo(snap.forwardActiveTotal, 2);
    const water = await w.clock.run(w.core.readCurrent(WATER_PN));
    expect(water.ok && water.value.value).toMatchObject({ kind: 'water', value: w.answered.get(WATER_PN)!.at(-1) });
    const heat = await w.clock.run(w.core.readCurrent(HEAT_PN + 1));
    expect(heat.ok && heat.value.value).toMatchObject({ kind: 'heat', value: w.answered.get(HEAT_PN + 1)!.at(-1) });
    const trip = await w.clock.run(w.core.control(1, 'trip'));
    expect(trip).toEqual({ ok: true, value: undefined });
    await w.clock.run(w.clock.sleep(5000));
    expect(w.electricity[0]!.model.snapshot().relay).toMatchObject({ open: true });
    expect(await w.clock.run(w.core.control(1, 'allow-close'))).toEqual({ ok: true, value: undefined });
    expect(await w.core.control(WATER_PN, 'trip')).toMatchObject({ ok: false, reason: 'refused' });
    expect(await w.core.readCurrent(999)).toMatchObject({ ok: false, reason: 'no-such-point' });
    w.electricity[2]!.backchannel.cutMains();
    expect(await w.clock.run(w.core.readCurrent(3))).toMatchObject({ ok: false, reason: 'no-reply' });
    // An abort while the port is taken answers 'busy' at once; the exchange on the port is not disturbed.
    const slow = w.core.readCurrent(3);
    const abort = new AbortController();
    const waiting = w.core.readCurrent(1, abort.signal);
    abort.abort();
    expect(await waiting).toMatchObject({ ok: false, reason: 'busy' });
    expect(await w.clock.run(slow)).toMatchObject({ ok: false, reason: 'no-reply' });
  });

  it('on-demand work waits for the port and goes before the collection task’s next point', async () => {
    const w = buildWorld({ electricity: 6 });
    w.core.start();
    await w.until(at(11, 0, 5, 1));
    const frame = encodeMessage(electricityAddress(5), { kind: 'readData', di: '00010000', extra: new Uint8Array(0) });
    const r = await w.clock.run(w.core.forward(2, frame, { frameTimeoutMs: 2000, byteTimeoutMs: 500 }));
    expect(r.ok && r.value !== null).toBe(true);
    const forwardedAt = w.clock.now();
    await w.until(at(11, 4, 30));
    const run = w.core.collectionRuns()[0]!;
    expect(run.read).toBe(6 + 4);
    expect(forwardedAt).toBeLessThan(run.ports.find((p) => p.port === 2)!.endedAt);
    // Nothing the forwarding exchanged on the port counts as the task's line time.
    checkLineTime(run);
  });
});

describe('concentrator core: archive, storage over a reboot', () => {
  it('holds 2040 entries and refuses bad records one by one', () => {
    const w = buildWorld({ withArchive: false });
    expect(w.core.capacity).toBe(ARCHIVE_CAPACITY);
    expect(w.core.capacity).toBeGreaterThanOrEqual(1024);
    const full: ArchivePoint[] = Array.from({ length: 2040 }, (_, i) => ({
      serial: i + 1,
      pn: i + 1,
      port: 2,
      protocol: 'dlt645-2007',
      address: String(i + 1).padStart(12, '0'),
      kind: 'electricity',
    }));
    expect(w.core.setPoints(full).every((c) => c.ok)).toBe(true);
    expect(w.core.points()).toHaveLength(2040);
    expect(w.core.setPoints([{ ...full[0]!, serial: 2041, pn: 2041 }])[0]).toMatchObject({ ok: false, reason: expect.stringMatching(/serial 2041/) });
    w.core.clearArchive();
    expect(w.core.points()).toEqual([]);
    const good: ArchivePoint = { serial: 1, pn: 1, port: 2, protocol: 'dlt645-2007', address: '000000000001', kind: 'electricity' };
    const changes = w.core.setPoints([
      good,
      { ...good, serial: 2, pn: 2, port: 4 },
      { ...good, serial: 3, pn: 3, address: '00000000001' },
      { ...good, serial: 4, pn: 4, address: '999999999999' },
      { ...good, serial: 5, pn: 1 },
      { serial: 6, pn: 6, port: 3, protocol: 'cjt188', address: '1000000000001', meterType: 0x10, kind: 'water' },
      { serial: 7, pn: 7, port: 3, protocol: 'cjt188', address: WATER, kind: 'water' },
      { serial: 8, pn: 8, port: 5, protocol: 'mbus', address: '251', kind: 'heat' },
      { serial: 9, pn: 9, port: 2, protocol: 'mbus', address: '9', kind: 'heat' },
      { serial: 10, pn: 10, port: 5, protocol: 'mbus', address: '10', meterType: 4, kind: 'heat' },
    ]);
    expect(changes.map((c) => [c.serial, c.ok])).toEqual([
      [1, true],
      [2, false],
      [3, false],
      [4, false],
      [5, false],
      [6, false],
      [7, false],
      [8, false],
      [9, false],
      [10, true],
    ]);
    expect(changes[1]!.reason).toMatch(/unknown port 4/);
    expect(changes[2]!.reason).toMatch(/bad address/);
    expect(changes[3]!.reason).toMatch(/bad address/);
    expect(changes[4]!.reason).toMatch(/pn 1 is already archived/);
    expect(changes[5]!.reason).toMatch(/bad address/);
    expect(changes[6]!.reason).toMatch(/meter type/);
    expect(changes[7]!.reason).toMatch(/bad address/);
    expect(changes[8]!.reason).toMatch(/reserved protocol/);
    expect(w.core.points().map((p) => p.serial)).toEqual([1, 10]);
  });

  it('a reboot in the middle of the task keeps archive, readings and events, records ERC 14, and the night still completes', async () => {
    const w = buildWorld();
    w.electricity[2]!.backchannel.cutMains();
    w.core.start();
    await w.until(at(11, 4, 30));
    const before = w.core.daily(1, '2026-01-10')!;
    expect(w.core.events(true).map((e) => e.erc)).toEqual([ERC_FAILED_RE_READ]);
    // The next night, 2 s into the first pass.
    await w.until(at(12, 0, 5, 2));
    const reboot = w.clock.run(w.core.reboot(60_000));
    expect(await w.core.forward(2, new Uint8Array([0x68]), { frameTimeoutMs: 10, byteTimeoutMs: 10 })).toMatchObject({ ok: false, reason: 'no-reply' });
    await reboot;
    expect(w.core.points()).toEqual(w.archive);
    expect(w.core.daily(1, '2026-01-10')).toBe(before);
    const events = w.core.events(true);
    expect(events.map((e) => e.erc)).toEqual([ERC_FAILED_RE_READ, ERC_POWER_OFF_ON]);
    expect(events[1]!.fields).toEqual({ offTime: '2026-01-12 00:05', onTime: '2026-01-12 00:06' });
    await w.until(at(12, 4, 30));
    for (const pn of [1, 2, WATER_PN, GAS_PN, HEAT_PN, HEAT_PN + 1]) expect(w.core.daily(pn, '2026-01-11'), `pn ${pn}`).toBeDefined();
    // The cut pass left no run; the retries after the reboot did the rest.
    expect(w.core.collectionRuns().filter((r) => r.day === '2026-01-11')[0]!.startedAt).toBe(at(12, 0, 35));
    for (const r of w.core.collectionRuns()) checkLineTime(r);
    expect(w.core.events(true).filter((e) => e.erc === ERC_FAILED_RE_READ).map((e) => e.fields['day'])).toEqual(['2026-01-10', '2026-01-11']);
  });

  it('time sync moves the schedule with the terminal clock', async () => {
    const w = buildWorld();
    w.core.start();
    // The terminal clock is set an hour ahead: its 00:05 comes an hour earlier on the world's clock.
    w.core.setTime(w.clock.now() + 3_600_000);
    await w.until(at(10, 23, 10));
    expect(w.core.collectionRuns()).toHaveLength(1);
    expect(w.core.collectionRuns()[0]!.startedAt).toBe(at(11, 0, 5));
  });
});
