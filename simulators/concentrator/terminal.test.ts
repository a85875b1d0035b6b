/**
 * The terminal's answers, in virtual time, against a scripted master whose requests are built with
 * the codec's buildFrame and whose replies are decoded through the dictionary: archive set and
 * queried (F10, F249, 1,024 points in a multi-frame reply), class 1 / 2 / 3 data from the fake
 * core, control and time sync, forwarding, active ERC 39 reports, and bad input (ROB).
 */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../harness/core/bytes.ts';
import { Afn, type UnitValue } from '../../harness/protocols/gw1376/index.ts';
import { AREA, createRig, itemsOf, kindOf, PASSWORD, START, TERMINAL, type Received, type Rig } from './terminal-test-support.ts';

const S = 1000;
const MIN = 60 * S;

function f10Record(serial: number, pn = serial, port = 2): UnitValue {
  return {
    serial,
    pn,
    rateAndPort: (3 << 5) | port,
    protocol: 30,
    address: String(serial).padStart(12, '0'),
    password: '02 00 00 00 00 00',
    tariffs: 4,
    digits: 0x09,
    collectorAddress: '000000000000',
    classes: 0,
  };
}

const HEAT_MBUS: UnitValue = { serial: 2001, pn: 2001, port: 5, protocol: 41, meterType: 0x04, address: '00000000000017' };
const WATER_188: UnitValue = { serial: 2002, pn: 2002, port: 3, protocol: 40, meterType: 0x10, address: '12345678901234' };

function only(frames: Received[]): Received {
  expect(frames).toHaveLength(1);
  return frames[0]!;
}

async function withArchive(rig: Rig): Promise<void> {
  const r = await rig.ask(Afn.setParameters, [
    { pn: 0, fn: 10, value: { count: 2, meters: [f10Record(1), f10Record(2)] } },
    { pn: 0, fn: 249, value: { count: 2, meters: [HEAT_MBUS, WATER_188] } },
  ]);
  expect(kindOf(only(r))).toBe('00 F1');
}

describe('reply header', () => {
  it('DIR 1, PRM 0, the request MSA, RSEQ = PSEQ, function 8 for data, no ACD when nothing waits', async () => {
    const rig = createRig();
    await rig.online();
    const r = only(await rig.ask(Afn.class1Data, [{ pn: 0, fn: 2 }], { seq: 9 }));
    const f = r.message.frame;
    expect(f.control).toMatchObject({ dir: true, prm: false, acd: false, functionCode: 8 });
    expect(f.address).toEqual({ areaCode: AREA, terminal: TERMINAL, msa: 2, group: false });
    expect(f.seq).toMatchObject({ seq: 9, position: 'single', con: false, tpv: false });
    expect(itemsOf([r])[0]!.value).toEqual({ clock: { time: '2026-03-10 10:00:00', week: 2 } });
  });
});

describe('archive (AFN 04 / 0A F10 and F249)', () => {
  it('set and queried back, DL/T 645 by F10 and water/heat by F249; the core holds the points', async () => {
    const rig = createRig();
    await rig.online();
    await withArchive(rig);
    expect(rig.core.points().map((p) => [p.serial, p.pn, p.port, p.protocol, p.address, p.kind])).toEqual([
      [1, 1, 2, 'dlt645-2007', '000000000001', 'electricity'],
      [2, 2, 2, 'dlt645-2007', '000000000002', 'electricity'],
      [2001, 2001, 5, 'mbus', '17', 'heat'],
      [2002, 2002, 3, 'cjt188', '12345678901234', 'water'],
    ]);
    expect(rig.core.point(1)?.password).toBe('02000000');
    const f10 = itemsOf(await rig.ask(Afn.queryParameters, [{ pn: 0, fn: 10, value: { count: 0, serials: [] } }]));
    expect(f10.map((i) => i.value)).toEqual([{ count: 2, meters: [f10Record(1), f10Record(2)] }]);
    const some = itemsOf(await rig.ask(Afn.queryParameters, [{ pn: 0, fn: 10, value: { count: 2, serials: [{ serial: 2 }, { serial: 77 }] } }]));
    expect(some.map((i) => i.value)).toEqual([{ count: 1, meters: [f10Record(2)] }]);
    const f249 = itemsOf(await rig.ask(Afn.queryParameters, [{ pn: 0, fn: 249, value: { count: 0, serials: [] } }]));
    expect(f249.map((i) => i.value)).toEqual([{ count: 2, meters: [HEAT_MBUS, WATER_188] }]);
  });

  it('per item: F10 accepted and F249 with an electricity meter type refused gives AFN 00 F3; all refused gives F2', async () => {
    const rig = createRig();
    await rig.online();
    const bad = { ...WATER_188, meterType: 0x40 };
    const r = only(
      await rig.ask(Afn.setParameters, [
        { pn: 0, fn: 10, value: { count: 1, meters: [f10Record(1)] } },
        { pn: 0, fn: 249, value: { count: 1, meters: [bad] } },
      ]),
    );
    expect(kindOf(r)).toBe('00 F3');
    expect(itemsOf([r])[0]!.value).toEqual({
      afn: 0x04,
      items: [
        { da: '00 00', dt: '02 01', err: 0 },
        { da: '00 00', dt: '01 1F', err: 1 },
      ],
    });
    // A record on a port the core does not have is refused by the core: the only item fails.
    const r2 = only(await rig.ask(Afn.setParameters, [{ pn: 0, fn: 10, value: { count: 1, meters: [f10Record(3, 3, 9)] } }]));
    expect(kindOf(r2)).toBe('00 F2');
    expect(rig.core.points().map((p) => p.serial)).toEqual([1]);
    expect(rig.logs.some((l) => l.includes('serial 3 refused by the core: no port 9'))).toBe(true);
  });

  it('1,024 points: set in two frames, queried with one request, answered in two frames (FIR, FIN, RSEQ counting up)', async () => {
    const rig = createRig();
    await rig.online();
    const all = Array.from({ length: 1024 }, (_, i) => f10Record(i + 1));
    for (const part of [all.slice(0, 512), all.slice(512)]) {
      expect(kindOf(only(await rig.ask(Afn.setParameters, [{ pn: 0, fn: 10, value: { count: part.length, meters: part } }])))).toBe('00 F1');
    }
    expect(rig.core.points()).toHaveLength(1024);
    const frames = await rig.ask(Afn.queryParameters, [{ pn: 0, fn: 10, value: { count: 0, serials: [] } }], { seq: 14 });
    expect(frames.length).toBe(2);
    expect(frames.map((f) => [f.message.frame.seq.position, f.message.frame.seq.seq])).toEqual([
      ['first', 14],
      ['last', 15 & 0x0f],
    ]);
    for (const f of frames) expect(f.raw.length).toBeLessThanOrEqual(16383 + 8);
    const meters = itemsOf(frames).flatMap((i) => i.value!.meters as UnitValue[]);
    expect(meters).toEqual(all);
  });
});

describe('class 1 data (AFN 0C)', () => {
  it('F2 clock, F129 of an electricity point, F249 of a heat point; a point without a value is left out', async () => {
    const rig = createRig();
    await rig.online();
    await withArchive(rig);
    rig.core.current.set(1, { ok: true, value: { kind: 'electricity', forwardActiveKwh: [100.5, 50, 50.5, 0, 0] } });
    rig.core.current.set(2001, { ok: true, value: { kind: 'heat', value: 1234.5678, unit: 0x05, meterType: 0x04 } });
    const got = itemsOf(
      await rig.ask(Afn.class1Data, [
        { pn: 0, fn: 2 },
        { pn: 1, fn: 129 },
        { pn: 2, fn: 129 },
        { pn: 2001, fn: 249 },
      ]),
    );
    expect(got.map((i) => [i.pn, i.fn, i.value])).toEqual([
      [0, 2, { clock: { time: '2026-03-10 10:00:00', week: 2 } }],
      [1, 129, { readingTime: '2026-03-10 10:00', tariffCount: 4, forwardActive: [{ value: 100.5 }, { value: 50 }, { value: 50.5 }, { value: 0 }, { value: 0 }] }],
      [2001, 249, { readingTime: '2026-03-10 10:00', meterType: 0x04, unit: 0x05, value: 1234.5678, status: '00 00' }],
    ]);
  });

  it('nothing to give (F249 of an electricity point, F129 of a point not in the archive): AFN 00 F2, function 9', async () => {
    const rig = createRig();
    await rig.online();
    await withArchive(rig);
    rig.core.current.set(1, { ok: true, value: { kind: 'electricity', forwardActiveKwh: [1] } });
    const r = only(await rig.ask(Afn.class1Data, [{ pn: 1, fn: 249 }, { pn: 9, fn: 129 }]));
    expect(kindOf(r)).toBe('00 F2');
    expect(r.message.frame.control.functionCode).toBe(9);
  });
});

describe('class 2 data (AFN 0D)', () => {
  it('F161 and F249 from the core storage; a day not stored is denied', async () => {
    const rig = createRig();
    await rig.online();
    await withArchive(rig);
    const readAt = START - 10 * 60 * MIN + 5 * MIN; // 2026-03-10 00:05 local
    rig.core.putDaily({ pn: 1, day: '2026-03-09', frozenAt: readAt - 5 * MIN, readAt, attempt: 1, value: { kind: 'electricity', forwardActiveKwh: [10, 1, 2, 3, 4] } });
    rig.core.putDaily({ pn: 2002, day: '2026-03-09', frozenAt: readAt, readAt, attempt: 2, value: { kind: 'water', value: 88.125, unit: 0x2c, meterType: 0x10 } });
    const got = itemsOf(
      await rig.ask(Afn.class2Data, [
        { pn: 1, fn: 161, value: { day: '2026-03-09' } },
        { pn: 2002, fn: 249, value: { day: '2026-03-09' } },
      ]),
    );
    expect(got.map((i) => [i.pn, i.fn, i.value])).toEqual([
      [1, 161, { day: '2026-03-09', readingTime: '2026-03-10 00:05', tariffCount: 4, forwardActive: [10, 1, 2, 3, 4].map((value) => ({ value })) }],
      [2002, 249, { day: '2026-03-09', readingTime: '2026-03-10 00:05', meterType: 0x10, unit: 0x2c, value: 88.125 }],
    ]);
    const none = only(await rig.ask(Afn.class2Data, [{ pn: 1, fn: 161, value: { day: '2026-03-08' } }]));
    expect(kindOf(none)).toBe('00 F2');
    // The daily value of the wrong kind for the Fn is not given either.
    expect(kindOf(only(await rig.ask(Afn.class2Data, [{ pn: 2002, fn: 161, value: { day: '2026-03-09' } }])))).toBe('00 F2');
  });
});

describe('events (AFN 0E) and active reports', () => {
  const erc39 = { erc: 39, important: true, at: START, fields: { pn: 3, time: START, day: '2026-03-07' } };

  it('a new ERC 39 goes as AFN 0E F1 with CON (C4H), ACD and EC in replies until the master confirms it', async () => {
    const rig = createRig();
    await rig.online();
    rig.core.addEvent(erc39);
    const report = await rig.next();
    expect(report.message.frame.control).toMatchObject({ dir: true, prm: true, functionCode: 4 });
    expect(report.message.frame.seq).toMatchObject({ con: true, position: 'single' });
    expect(itemsOf([report])[0]!.value).toEqual({
      ec1: 1,
      ec2: 0,
      pm: 0,
      pn: 1,
      events: [{ erc: 39, length: 10, name: 'failed re-read (补抄失败) [layout MeterLab]', fields: { pn: 3, time: '2026-03-10 10:00', day: '2026-03-07' } }],
    });
    // Not yet confirmed: replies carry ACD and EC.
    await rig.master.request(Afn.class1Data, [{ pn: 0, fn: 2 }]);
    const busy = await rig.next();
    expect(busy.message.frame.control.acd).toBe(true);
    expect(busy.message.frame.aux.ec).toEqual({ important: 1, normal: 0 });
    await rig.master.confirm(report);
    await rig.clock.advance(0);
    const calm = only(await rig.ask(Afn.class1Data, [{ pn: 0, fn: 2 }]));
    expect(calm.message.frame.control.acd).toBe(false);
    expect(calm.message.frame.aux.ec).toBeNull();
    expect(rig.terminal.uplinkStats.reportsConfirmed).toBe(1);
  });

  it('an unconfirmed report is retransmitted 3 times, kept over a redial and sent again after the login (ROB-09)', async () => {
    const rig = createRig();
    await rig.online();
    rig.core.addEvent(erc39);
    const sent = [await rig.next(), await rig.next(), await rig.next(), await rig.next()];
    expect(sent.map(kindOf)).toEqual(['0E F1', '0E F1', '0E F1', '0E F1']);
    await rig.clock.advance(10 * S);
    expect(rig.master.pending).toBe(0);
    expect(rig.terminal.state).toBe('online');
    await rig.master.link.close();
    const login = await rig.next();
    expect(kindOf(login)).toBe('02 F1');
    await rig.master.confirm(login);
    const again = await rig.next();
    expect(kindOf(again)).toBe('0E F1');
    expect(again.raw.subarray(14, -2)).toEqual(sent[0]!.raw.subarray(14, -2));
  });

  it('a core event whose fields do not fit its ERC layout is logged and not reported; the next one is', async () => {
    const rig = createRig();
    await rig.online();
    rig.core.addEvent({ ...erc39, fields: { pn: 'three', time: START, day: '2026-03-07' } });
    await rig.clock.advance(10 * S);
    expect(rig.master.pending).toBe(0);
    expect(rig.logs.some((l) => l.includes('ERC 39 event not reportable'))).toBe(true);
    rig.core.addEvent(erc39);
    const report = await rig.next();
    expect(itemsOf([report])[0]!.value).toMatchObject({ ec1: 2, pm: 1, pn: 2 });
  });

  it('read by AFN 0E F1 with pointers pm..pn (which clears ACD); F2 normal events: none, counters given', async () => {
    const rig = createRig({ parameters: { conFlags: 0x03 } });
    await rig.online();
    rig.core.addEvent(erc39);
    rig.core.addEvent({ ...erc39, fields: { pn: 4, time: START, day: '2026-03-08' } });
    // CON flag D2 clear: reports go once, without CON.
    const reports = [await rig.next(), await rig.next()];
    expect(reports.map((r) => r.message.frame.seq.con)).toEqual([false, false]);
    const second = itemsOf(await rig.ask(Afn.class3Data, [{ pn: 0, fn: 1, value: { pm: 1, pn: 2 } }]));
    expect(second[0]!.value).toMatchObject({ ec1: 2, ec2: 0, pm: 1, pn: 2 });
    expect((second[0]!.value!.events as UnitValue[]).map((e) => (e.fields as UnitValue).pn)).toEqual([4]);
    const both = only(await rig.ask(Afn.class3Data, [{ pn: 0, fn: 1, value: { pm: 0, pn: 2 } }]));
    expect((itemsOf([both])[0]!.value!.events as UnitValue[]).map((e) => (e.fields as UnitValue).day)).toEqual(['2026-03-07', '2026-03-08']);
    const normal = itemsOf(await rig.ask(Afn.class3Data, [{ pn: 0, fn: 2, value: { pm: 0, pn: 0 } }]));
    expect(normal[0]!.value).toEqual({ ec1: 2, ec2: 0, pm: 0, pn: 0, events: [] });
  });
});

describe('forwarding (AFN 10 F1)', () => {
  const read645 = hex('68 01 00 00 00 00 00 68 11 04 33 33 34 33 B3 16');

  it('the frame goes to core.forward byte for byte with the decoded timeouts; the reply comes back as port + content', async () => {
    const rig = createRig();
    await rig.online();
    const answer = hex('68 01 00 00 00 00 00 68 91 08 33 33 34 33 33 33 33 33 00 16');
    rig.core.forwardResponder = () => answer;
    const r = only(
      await rig.ask(Afn.dataForwarding, [{ pn: 0, fn: 1, value: { port: 2, controlWord: 0x6b, frameTimeout: 0x82, byteTimeout: 0x32, content: toHex(read645) } }]),
    );
    expect(itemsOf([r])[0]!.value).toEqual({ port: 2, content: toHex(answer) });
    expect(rig.core.forwards).toHaveLength(1);
    expect(rig.core.forwards[0]).toMatchObject({ port: 2, frameTimeoutMs: 2000, byteTimeoutMs: 500 });
    expect(toHex(rig.core.forwards[0]!.frame)).toBe(toHex(read645));
  });

  it('silence on the port: AFN 00 F2 after the frame timeout', async () => {
    const rig = createRig();
    await rig.online();
    const askedAt = rig.clock.now();
    const r = only(await rig.ask(Afn.dataForwarding, [{ pn: 0, fn: 1, value: { port: 3, controlWord: 0x6b, frameTimeout: 0x83, byteTimeout: 0x32, content: toHex(read645) } }]));
    expect(kindOf(r)).toBe('00 F2');
    expect(r.at - askedAt).toBe(3 * S);
  });
});

describe('control (AFN 05)', () => {
  it('F31 sets the terminal clock (read back by 0C F2); F1 trip and F2 allow close go to core.control; a heat point is refused', async () => {
    const rig = createRig();
    await rig.online();
    await withArchive(rig);
    const set = only(await rig.ask(Afn.control, [{ pn: 0, fn: 31, value: { clock: { time: '2026-03-10 10:05:30', week: 2 } } }]));
    expect(kindOf(set)).toBe('00 F1');
    expect(rig.core.timeSets).toEqual([Date.UTC(2026, 2, 10, 2, 5, 30)]);
    expect(itemsOf(await rig.ask(Afn.class1Data, [{ pn: 0, fn: 2 }]))[0]!.value).toEqual({ clock: { time: '2026-03-10 10:05:30', week: 2 } });
    expect(kindOf(only(await rig.ask(Afn.control, [{ pn: 1, fn: 1, value: { limitAndDelay: 0 } }])))).toBe('00 F1');
    expect(kindOf(only(await rig.ask(Afn.control, [{ pn: 2, fn: 2 }])))).toBe('00 F1');
    expect(rig.core.controls).toEqual([
      { pn: 1, action: 'trip' },
      { pn: 2, action: 'allow-close' },
    ]);
    expect(kindOf(only(await rig.ask(Afn.control, [{ pn: 2001, fn: 1, value: { limitAndDelay: 0 } }])))).toBe('00 F2');
    // An invalid date (2026-02-30) is refused, the clock untouched.
    expect(kindOf(only(await rig.ask(Afn.control, [{ pn: 0, fn: 31, value: { clock: { time: '2026-02-30 10:00:00', week: 1 } } }])))).toBe('00 F2');
    expect(rig.core.timeSets).toHaveLength(1);
  });

  it('a broadcast time sync (A2 FFFF with the group flag) is executed and not answered', async () => {
    const rig = createRig();
    await rig.online();
    await rig.master.request(Afn.control, [{ pn: 0, fn: 31, value: { clock: { time: '2026-03-10 11:00:00', week: 2 } } }], {
      address: { areaCode: AREA, terminal: 0xffff, msa: 2, group: true },
    });
    await rig.clock.advance(10 * S);
    expect(rig.master.pending).toBe(0);
    expect(rig.core.timeSets).toEqual([Date.UTC(2026, 2, 10, 3, 0, 0)]);
  });
});

describe('AFN 01, 09 and 0A F1', () => {
  it('09 F1 version; 0A F1 the uplink parameters as set', async () => {
    const rig = createRig({ parameters: { heartbeatMinutes: 5, retries: 2 } });
    await rig.online();
    expect(itemsOf(await rig.ask(Afn.terminalConfiguration, [{ pn: 0, fn: 1 }]))[0]!.value).toMatchObject({ vendor: 'ascii:MLAB', deviceNumber: 'ascii:00004660', protocolVersion: 'ascii:1376' });
    expect(itemsOf(await rig.ask(Afn.queryParameters, [{ pn: 0, fn: 1 }]))[0]!.value).toEqual({ rtsDelay20ms: 0, tpDelayMinutes: 0, timeoutAndRetries: (2 << 12) | 5, conFlags: 7, heartbeatMinutes: 5 });
  });

  it('01 F1: confirmed, then the link drops, the core reboots, the terminal logs in again and reports ERC 14', async () => {
    const rig = createRig();
    await rig.online();
    const r = only(await rig.ask(Afn.reset, [{ pn: 0, fn: 1 }]));
    expect(kindOf(r)).toBe('00 F1');
    const login = await rig.next();
    expect(kindOf(login)).toBe('02 F1');
    expect(login.at - r.at).toBe(10 * S);
    expect(rig.core.reboots).toBe(1);
    expect(rig.master.connections).toHaveLength(2);
    await rig.master.confirm(login);
    const report = await rig.next();
    expect(itemsOf([report])[0]!.value).toMatchObject({ events: [{ erc: 14 }] });
  });

  it('01 F2 clears the data, F3 also the archive and the parameters', async () => {
    const rig = createRig();
    await rig.online();
    await withArchive(rig);
    await rig.ask(Afn.setParameters, [{ pn: 0, fn: 1, value: { rtsDelay20ms: 1, tpDelayMinutes: 0, timeoutAndRetries: (1 << 12) | 9, conFlags: 7, heartbeatMinutes: 30 } }]);
    expect(kindOf(only(await rig.ask(Afn.reset, [{ pn: 0, fn: 2 }])))).toBe('00 F1');
    expect(rig.core.dataCleared).toBe(1);
    expect(rig.core.points()).toHaveLength(4);
    expect(kindOf(only(await rig.ask(Afn.reset, [{ pn: 0, fn: 3 }])))).toBe('00 F1');
    expect(rig.core.points()).toHaveLength(0);
    expect(rig.terminal.parameters.heartbeatMinutes).toBe(15);
  });
});

describe('bad input (ROB)', () => {
  it('garbage and a broken checksum: silence and a log line, and the next request is answered', async () => {
    const rig = createRig();
    await rig.online();
    await rig.master.send(hex('FF 00 68 12 34 56 AA 55'));
    const good = rig.master.requestFrame(Afn.class1Data, [{ pn: 0, fn: 2 }]);
    const broken = good.slice();
    broken[broken.length - 2]! ^= 0xff;
    await rig.master.send(broken);
    await rig.clock.advance(10 * S);
    expect(rig.master.pending).toBe(0);
    expect(rig.logs.filter((l) => l.includes('discarded')).length).toBeGreaterThanOrEqual(1);
    await rig.master.send(good);
    expect(kindOf(await rig.next())).toBe('0C F2');
  });

  it('data units that do not decode (A.20 day not BCD): silence; then answering goes on', async () => {
    const rig = createRig();
    await rig.online();
    await rig.master.request(Afn.class2Data, [{ pn: 1, fn: 161, data: Uint8Array.of(0xaa, 0xbb, 0xcc) }]);
    await rig.clock.advance(10 * S);
    expect(rig.master.pending).toBe(0);
    expect(rig.logs.some((l) => l.includes('do not decode'))).toBe(true);
    expect(kindOf(only(await rig.ask(Afn.class1Data, [{ pn: 0, fn: 2 }])))).toBe('0C F2');
  });

  it('a wrong password on AFN 04 and on AFN 10: AFN 00 F2, nothing changed', async () => {
    const rig = createRig();
    await rig.online();
    const wrong = PASSWORD.map((b) => b ^ 1);
    const r = only(await rig.ask(Afn.setParameters, [{ pn: 0, fn: 10, value: { count: 1, meters: [f10Record(1)] } }], { pw: wrong }));
    expect(kindOf(r)).toBe('00 F2');
    expect(rig.core.points()).toHaveLength(0);
    const f = only(await rig.ask(Afn.dataForwarding, [{ pn: 0, fn: 1, value: { port: 2, controlWord: 0x6b, frameTimeout: 0x82, byteTimeout: 0x32, content: '68 16' } }], { pw: wrong }));
    expect(kindOf(f)).toBe('00 F2');
    expect(rig.core.forwards).toHaveLength(0);
    expect(rig.terminal.stats.wrongPassword).toBe(2);
  });

  it('Tp older than its delay: silence; within it: answered with the Tp echoed; defect ignoreTimeTag answers the late one', async () => {
    const late = { pfc: 7, day: 10, hour: 9, minute: 54, second: 0, delayMinutes: 5 };
    const fresh = { ...late, delayMinutes: 10 };
    const rig = createRig();
    await rig.online();
    await rig.master.request(Afn.class1Data, [{ pn: 0, fn: 2 }], { tp: late });
    await rig.clock.advance(10 * S);
    expect(rig.master.pending).toBe(0);
    expect(rig.terminal.stats.expired).toBe(1);
    const r = only(await rig.ask(Afn.class1Data, [{ pn: 0, fn: 2 }], { tp: fresh }));
    expect(r.message.frame.aux.tp).toEqual(fresh);
    const broken = createRig({ defects: { ignoreTimeTag: true } });
    await broken.online();
    expect(kindOf(only(await broken.ask(Afn.class1Data, [{ pn: 0, fn: 2 }], { tp: late })))).toBe('0C F2');
  });

  it('an unknown AFN (0B) or Fn (0C F25) is denied; a frame for another terminal is ignored', async () => {
    const rig = createRig();
    await rig.online();
    expect(kindOf(only(await rig.ask(0x0b, [{ pn: 0, fn: 1, data: new Uint8Array(0) }])))).toBe('00 F2');
    expect(kindOf(only(await rig.ask(Afn.class1Data, [{ pn: 1, fn: 25 }])))).toBe('00 F2');
    await rig.master.request(Afn.class1Data, [{ pn: 0, fn: 2 }], { address: { areaCode: AREA, terminal: TERMINAL + 1, msa: 2, group: false } });
    await rig.clock.advance(10 * S);
    expect(rig.master.pending).toBe(0);
    // And the heartbeat still comes at its period: the uplink never stopped.
    const hb = await rig.next();
    expect(kindOf(hb)).toBe('02 F3');
    expect(hb.at - START).toBe(15 * MIN);
  });
});

describe('every point (DA FF 00)', () => {
  it('0D F161 for all points answers each electricity point that has the day', async () => {
    const rig = createRig();
    await rig.online();
    await withArchive(rig);
    const readAt = START - 10 * 60 * MIN + 5 * MIN;
    for (const pn of [1, 2]) rig.core.putDaily({ pn, day: '2026-03-09', frozenAt: readAt, readAt, attempt: 1, value: { kind: 'electricity', forwardActiveKwh: [pn] } });
    // DA FF 00 (every valid point [BK]) built by hand: buildFrame names points one by one.
    const frame = rig.master.requestFrame(Afn.class2Data, [{ pn: 1, fn: 161, value: { day: '2026-03-09' } }]);
    frame[14] = 0xff;
    frame[15] = 0x00;
    frame[frame.length - 2] = frame.subarray(6, frame.length - 2).reduce((a, b) => (a + b) & 0xff, 0);
    await rig.master.send(frame);
    const got = itemsOf([await rig.next()]);
    expect(got.map((i) => [i.pn, (i.value!.forwardActive as UnitValue[])[0]!.value])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });
});
