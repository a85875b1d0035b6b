/**
 * MbusMaster against scripted slaves (mbus-test-support.ts) on an M-Bus segment
 * (links/mbus-segment.ts: the RS-485 bus model at 2400 8E1), in virtual time: reads at primary
 * and secondary addresses, FCB toggling and retries, SND_NKE, multi-telegram reads, the primary
 * scan, the secondary wildcard search, collisions, bad checksums and silence.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { TimeoutError } from '../core/errors.ts';
import { characterTimeMs } from '../links/link.ts';
import { MBUS_DEFAULT_LINE, createMbusSegment, type MbusSegment } from '../links/mbus-segment.ts';
import {
  DATA_FIELD,
  MbusFrameScanner,
  decodeSingleFrame,
  encodeApplicationError,
  encodeRecord,
  encodeReqUd2,
  formatSecondaryAddress,
  type DataRecord,
} from '../protocols/mbus/index.ts';
import { MbusApplicationError, MbusCollisionError, MbusNoReplyError } from './mbus-errors.ts';
import { MbusMaster, replyDeadlineMs, type MbusMasterOptions } from './mbus-master.ts';
import { ScriptedMbusSlave, identity, type ScriptedSlaveOptions } from './mbus-test-support.ts';

const CHAR_MS = characterTimeMs(MBUS_DEFAULT_LINE); // 11/2400 s = 4.583 ms
/** libmbus corpus: Kamstrup Multical 601, RSP_UD from primary address 11H, ID 06855817 KAM v8 heat. */
const KAMSTRUP = hex(readFileSync(new URL('../protocols/mbus/fixtures/libmbus/test-frames/kamstrup_multical_601.hex', import.meta.url), 'utf8').trim());

type SlaveSpec = Omit<ScriptedSlaveOptions, 'link' | 'clock'>;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(specs: readonly SlaveSpec[], options: Omit<MbusMasterOptions, 'link' | 'clock'> = {}) {
  const clock = new VirtualClock();
  const segment: MbusSegment = createMbusSegment({ clock });
  const slaves = specs.map((s, i) => new ScriptedMbusSlave({ ...s, link: segment.attachSlave(`slave-${i}`), clock }));
  const master = new MbusMaster({ link: segment.master, clock, ...options });
  cleanups.push(async () => {
    master.dispose();
    await segment.close();
  });
  return { clock, segment, master, slaves };
}

function dataRecords(records: readonly { kind: string }[]): DataRecord[] {
  return records.filter((r): r is DataRecord => r.kind === 'data');
}

describe('MbusMaster defaults', () => {
  it('derives the reply timeouts from the EN 13757-2 response window at the line rate', () => {
    // 330 bit times + 50 ms + one 11-bit character at 2400 Bd = 137.5 + 50 + 4.583 ms, + 1 character of slack.
    expect(replyDeadlineMs(MBUS_DEFAULT_LINE, 1)).toBeCloseTo(196.667, 3);
    // ... + 261 characters (the longest frame) = 137.5 + 50 + 1196.25 ms, + 4.583 ms.
    expect(replyDeadlineMs(MBUS_DEFAULT_LINE, 261)).toBeCloseTo(1388.333, 3);
    const { master } = setup([]);
    expect(master.ackTimeoutMs).toBeCloseTo(196.667, 3);
    expect(master.timeoutMs).toBeCloseTo(1388.333, 3);
    expect([master.attempts, master.probeAttempts, master.interByteTimeoutMs]).toEqual([3, 2, 300]);
  });
});

describe('MbusMaster reads at a primary address', () => {
  it('reads the libmbus Kamstrup frame at address 17 and decodes its records', async () => {
    const { master, slaves } = setup([{ primary: 0x11, identity: identity('06855817', 'KAM', 8, 4), fixedReply: KAMSTRUP }]);
    const r = await master.readData(0x11);
    // REQ_UD2 with FCB = 1 first (C = 7B), A = 11H, CS = 7B + 11 = 8C.
    expect(toHex(r.exchanges[0]!.request)).toBe('10 7B 11 8C 16');
    expect(r.replyAddress).toBe(0x11);
    expect(r.identity && formatSecondaryAddress(r.identity)).toBe('068558172D2C0804');
    // 28 records as in libmbus's kamstrup_multical_601.norm.xml: 27 data records and the manufacturer tail.
    expect(r.records).toHaveLength(28);
    const records = dataRecords(r.records);
    expect(records).toHaveLength(27);
    // Record 0: 0C 78 17 58 85 06, fabrication number 6855817 (BCD).
    expect(records[0]!.value).toMatchObject({ type: 'bcd', value: 6855817 });
    // Record 1: 04 06 E7 91 00 00, energy, 32-bit integer 91E7H = 37351 kWh = 37351000 Wh (norm.xml).
    expect(records[1]!.value).toEqual({ type: 'integer', value: 37351 });
    expect(records[1]!.scaled).toBe(37351000);
    // The slave answered 30 ms after the request ended; Td is measured within one character time.
    expect(r.exchanges[0]!.responseDelayMs).toBeGreaterThanOrEqual(30 - 1e-6);
    expect(r.exchanges[0]!.responseDelayMs).toBeLessThan(30 + CHAR_MS);
    expect(slaves[0]!.replies).toHaveLength(1);
  });

  it('toggles FCB after each successful exchange: 7B, 5B, 7B, and the slave moves on each time', async () => {
    const { master, slaves } = setup([{ primary: 5, identity: identity('00000005') }]);
    const access: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await master.reqUd2(5);
      expect(t.exchange.request[1]).toBe([0x7b, 0x5b, 0x7b][i]);
      const h = t.application.kind === 'variableData' ? t.application.header : null;
      access.push(h?.accessNumber ?? -1);
    }
    expect(access).toEqual([1, 2, 3]);
    expect(slaves[0]!.replies.map((r) => r.repeat)).toEqual([false, false, false]);
    expect(master.nextFcb(5)).toBe(false);
  });

  it('discards a reply with a bad checksum and retries with the same FCB; the slave repeats its telegram', async () => {
    const { master, slaves } = setup([{ primary: 7, identity: identity('00000007'), corruptReplies: 1 }]);
    const t = await master.reqUd2(7);
    const x = t.exchange;
    expect(x.attemptLog.map((a) => a.outcome)).toEqual(['garbled', 'reply']);
    expect(x.discarded).toHaveLength(1);
    expect(x.discarded[0]!.error.code).toBe('mbus.checksum');
    expect(x.discarded[0]!.attempt).toBe(1);
    // Both attempts were the same bytes: REQ_UD2 with FCB = 1.
    expect(toHex(x.request)).toBe('10 7B 07 82 16');
    expect(slaves[0]!.requests.map((q) => (q.frame.type === 'short' ? q.frame.control.raw : -1))).toEqual([0x7b, 0x7b]);
    // The slave saw FCB unchanged and repeated the telegram (access number 1 both times).
    expect(slaves[0]!.replies.map((r) => r.repeat)).toEqual([false, true]);
    expect(t.application.kind === 'variableData' && t.application.header?.accessNumber).toBe(1);
    expect(master.nextFcb(7)).toBe(false);
  });

  it('SND_NKE gets E5 and resets the FCB state on both sides', async () => {
    const { master, slaves } = setup([{ primary: 9, identity: identity('00000009'), telegrams: [[rec(1)], [rec(2)], [rec(3)]] }]);
    await master.reqUd2(9);
    await master.reqUd2(9);
    expect(master.nextFcb(9)).toBe(true);
    const x = await master.sndNke(9);
    expect(toHex(x.request)).toBe('10 40 09 49 16');
    expect(x.reply?.frame.type).toBe('ack');
    expect(x.responseDelayMs).toBeCloseTo(30, 0);
    expect(master.nextFcb(9)).toBe(true);
    // After the reset the slave starts again at its first telegram.
    const t = await master.reqUd2(9);
    expect(t.exchange.request[1]).toBe(0x7b);
    expect(slaves[0]!.replies.filter((r) => r.kind === 'telegram').map((r) => r.telegram)).toEqual([0, 1, 0]);
  });

  it('follows "more records follow" over three telegrams, toggling FCB, and survives a lost middle reply', async () => {
    const telegrams = [[rec(11), rec(12)], [rec(21)], [rec(31), rec(32)]];
    const { master, slaves } = setup([{ primary: 3, identity: identity('00000003'), telegrams }]);
    // Garble the second telegram's first transmission: the master must retry with the same FCB.
    master.on('exchange', (x) => {
      if (x.kind === 'REQ_UD2' && x.request[1] === 0x7b && slaves[0]!.corruptReplies === 0 && slaves[0]!.replies.length === 1) slaves[0]!.corruptReplies = 1;
    });
    const r = await master.readData(3);
    expect(r.telegrams).toHaveLength(3);
    expect(r.exchanges.map((x) => x.request[1])).toEqual([0x7b, 0x5b, 0x7b]);
    expect(r.exchanges[1]!.attemptLog.map((a) => a.outcome)).toEqual(['garbled', 'reply']);
    expect(dataRecords(r.records).map((d) => (d.value as { value: number }).value)).toEqual([11, 12, 21, 31, 32]);
    expect(r.records.filter((x) => x.kind === 'manufacturer')).toHaveLength(2);
    expect(slaves[0]!.replies.map((x) => [x.telegram, x.repeat])).toEqual([[0, false], [1, false], [1, true], [2, false]]);
  });

  it('a slave that ignores FCB skips a telegram after a lost reply: the master then reads the wrong records', async () => {
    // The broken variant: proves the test above can fail.
    const telegrams = [[rec(11), rec(12)], [rec(21)], [rec(31), rec(32)]];
    const { master, slaves } = setup([{ primary: 3, identity: identity('00000003'), telegrams, ignoreFcb: true }]);
    master.on('exchange', (x) => {
      if (x.kind === 'REQ_UD2' && slaves[0]!.corruptReplies === 0 && slaves[0]!.replies.length === 1) slaves[0]!.corruptReplies = 1;
    });
    const r = await master.readData(3);
    expect(dataRecords(r.records).map((d) => (d.value as { value: number }).value)).toEqual([11, 12, 31, 32]);
  });

  it('silence: MbusNoReplyError (a TimeoutError) after 3 attempts of 1388.33 ms, with every attempt recorded', async () => {
    const { master, clock } = setup([{ primary: 4, identity: identity('00000004'), mute: true }]);
    const t0 = clock.now();
    const e = await master.readData(4).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MbusNoReplyError);
    expect(e).toBeInstanceOf(TimeoutError);
    const x = (e as MbusNoReplyError).exchange;
    expect(x.attempts).toBe(3);
    expect(x.attemptLog.map((a) => a.outcome)).toEqual(['silence', 'silence', 'silence']);
    expect(toHex(x.request)).toBe('10 7B 04 7F 16');
    // 3 × (5 characters + 1388.33 ms).
    expect(clock.now() - t0).toBeCloseTo(3 * (5 * CHAR_MS + replyDeadlineMs(MBUS_DEFAULT_LINE, 261)), 6);
    expect((e as Error).stack).toContain('mbus-master.test.ts');
    // No reply: the FCB did not move.
    expect(master.nextFcb(4)).toBe(true);
  });

  it('two slaves at one primary address: a plain read fails with MbusCollisionError', async () => {
    const { master, segment } = setup([
      { primary: 8, identity: identity('00000008') },
      { primary: 8, identity: identity('00000018'), delayMs: 45 },
    ]);
    const e = await master.readData(8).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MbusCollisionError);
    const x = (e as MbusCollisionError).exchange;
    expect(x.attemptLog.map((a) => a.outcome)).toEqual(['garbled', 'garbled', 'garbled']);
    expect(x.discarded.length).toBeGreaterThan(0);
    expect(segment.bus.stats.collisions).toBe(3);
  });
});

describe('MbusMaster secondary addressing', () => {
  const three: SlaveSpec[] = [
    { primary: 1, identity: identity('12345678') },
    { primary: 2, identity: identity('12349999') },
    { primary: 0, identity: identity('55550000', 'ELS', 2, 7) },
  ];

  it('selects one slave with CI 52 to 253 (C = 73) and reads it at 253', async () => {
    const { master, slaves } = setup(three);
    const r = await master.readSecondary('12345678FFFFFFFF');
    const select = r.exchanges[0]!;
    // 68 0B 0B 68 | 73 FD 52 | 78 56 34 12 | FF FF | FF | FF | CS = D2 | 16
    expect(toHex(select.request)).toBe('68 0B 0B 68 73 FD 52 78 56 34 12 FF FF FF FF D2 16');
    expect(select.outcome).toBe('reply');
    expect(toHex(r.exchanges[1]!.request)).toBe('10 7B FD 78 16');
    expect(r.identity && formatSecondaryAddress(r.identity)).toBe('123456782D2C0104');
    expect(r.replyAddress).toBe(1);
    expect(slaves.map((s) => s.selected)).toEqual([true, false, false]);
    expect(slaves[1]!.replies).toHaveLength(0);
  });

  it('a selection two slaves match is a collision; readSecondary throws MbusCollisionError', async () => {
    const { master } = setup(three);
    const x = await master.select('1234FFFFFFFFFFFF');
    expect(x.outcome).toBe('collision');
    expect(x.attempts).toBe(1);
    await expect(master.readSecondary('1234FFFFFFFFFFFF')).rejects.toBeInstanceOf(MbusCollisionError);
    const none = await master.select('77777777FFFFFFFF');
    expect(none.outcome).toBe('no-reply');
    expect(none.attemptLog.map((a) => a.outcome)).toEqual(['silence', 'silence']);
  });

  // Twelve slaves whose IDs share prefixes, so the search must narrow several digits deep.
  const IDS = ['10000001', '10000002', '10000010', '10000011', '12000000', '12000001', '12300000', '55500000', '55500001', '55511111', '90000000', '99999999'];

  /** Selections the tree search makes over these IDs: 10 per level it enters (libmbus's walk, counted independently). */
  function expectedSelections(ids: readonly string[], prefix = ''): number {
    let n = 0;
    for (let d = 0; d <= 9; d++) {
      n++;
      const p = prefix + String(d);
      const under = ids.filter((id) => id.startsWith(p));
      if (under.length > 1) n += expectedSelections(ids, p);
    }
    return n;
  }

  // aligned: every match answers E5 at the same instant (the bus ORs them: E5 E5 ... arrive);
  // overlapping: 1.5 ms apart, characters overlap partly; spread: 7 ms apart, no overlap on the wire.
  for (const timing of ['aligned', 'overlapping', 'spread'] as const) {
    it(`the wildcard search finds all 12 slaves with colliding prefixes (${timing} answers)`, async () => {
      const specs = IDS.map((id, i) => ({ primary: i + 1, identity: identity(id), delayMs: 20 + i * { aligned: 0, overlapping: 1.5, spread: 7 }[timing] }));
      const { master, segment } = setup(specs);
      const r = await master.searchSecondary();
      expect(r.found.map((h) => h.address.id).sort()).toEqual([...IDS].sort());
      expect(r.found.every((h) => h.primary === IDS.indexOf(h.address.id) + 1)).toBe(true);
      expect(r.unresolved).toEqual([]);
      expect(r.unreadable).toEqual([]);
      expect(r.selections).toBe(expectedSelections(IDS));
      // One REQ_UD2 per hit besides the selections; silent selections are sent twice (probe retry).
      expect(r.exchanges).toBe(r.selections + IDS.length);
      expect(r.attempts).toBeGreaterThan(r.exchanges);
      if (timing === 'spread') expect(segment.bus.stats.collisions).toBe(0);
      else expect(segment.bus.stats.collisions).toBeGreaterThan(0);
      // The figures quoted in the README: 230 selections + 12 reads.
      expect({ selections: r.selections, exchanges: r.exchanges }).toEqual({ selections: 230, exchanges: 242 });
    });
  }

  it('reports as unresolved two slaves that share an ID (they differ only in manufacturer)', async () => {
    const { master } = setup([
      { primary: 1, identity: identity('42424242', 'KAM') },
      { primary: 2, identity: identity('42424242', 'ELS') },
      { primary: 3, identity: identity('43000000') },
    ]);
    const r = await master.searchSecondary({ mask: '4FFFFFFFFFFFFFFF' });
    expect(r.found.map((h) => h.address.id)).toEqual(['43000000']);
    expect(r.unresolved).toEqual(['42424242FFFFFFFF']);
  });
});

describe('MbusMaster primary scan', () => {
  const addresses = [0, 1, 2, 17, 50, 99, 100, 101, 180, 200, 249, 250];

  it('finds every slave with SND_NKE over 0..250 (251 probes)', async () => {
    const { master } = setup(addresses.map((a) => ({ primary: a, identity: identity(String(10000000 + a)) })));
    const r = await master.scanPrimary();
    expect(r.found.map((f) => f.address)).toEqual(addresses);
    expect(r.collisions).toEqual([]);
    expect(r.exchanges).toBe(251);
    // Silent addresses are probed twice (libmbus max_search_retry 1).
    expect(r.attempts).toBe(addresses.length + 2 * (251 - addresses.length));
  });

  it('with REQ_UD2 gives each slave identity, and reports two slaves on one address as a collision', async () => {
    const specs = addresses.map((a) => ({ primary: a, identity: identity(String(20000000 + a)) }));
    const { master } = setup([...specs, { primary: 17, identity: identity('77777777'), delayMs: 40 }], {});
    const r = await master.scanPrimary({ from: 0, to: 20, method: 'REQ_UD2' });
    expect(r.found.map((f) => [f.address, f.identity?.id])).toEqual([
      [0, '20000000'],
      [1, '20000001'],
      [2, '20000002'],
    ]);
    expect(r.collisions.map((c) => c.address)).toEqual([17]);
  });
});

describe('MbusMaster reply matching', () => {
  it('hears a slave that answers at the very end of the response window (330 bit times + 50 ms = 187.5 ms)', async () => {
    const { master } = setup([{ primary: 1, identity: identity('00000001'), delayMs: 187.5 }]);
    const scan = await master.scanPrimary({ from: 0, to: 2 });
    expect(scan.found.map((f) => f.address)).toEqual([1]);
    expect(scan.found[0]!.exchange.responseDelayMs).toBeCloseTo(187.5, 6);
    const r = await master.readData(1);
    expect(r.exchanges[0]!.attempts).toBe(1);
  });

  it('ignores the echo of its own request from a level converter and takes the slave reply', async () => {
    const { master, segment, clock } = setup([{ primary: 6, identity: identity('00000006') }]);
    // A converter that echoes every master frame as soon as it has heard it (MBUS.md 1, echo handling).
    const echo = segment.attachSlave('echo');
    const scanner = new MbusFrameScanner();
    echo.on('data', (c) => {
      for (const e of scanner.push(c)) if (e.type === 'frame' && e.decoded.frame.type !== 'ack' && e.decoded.frame.control.fromMaster) void echo.write(e.decoded.raw);
    });
    const t = await master.reqUd2(6);
    expect(t.exchange.attempts).toBe(1);
    expect(t.exchange.rejected.map((r) => r.reason)).toEqual(['direction']);
    expect(toHex(t.exchange.rejected[0]!.raw)).toBe('10 7B 06 81 16');
    // The echo does not make a probe a collision either.
    const x = await master.sndNke(6);
    expect(x.outcome).toBe('reply');
    const scan = await master.scanPrimary({ from: 5, to: 7 });
    expect(scan.found.map((f) => f.address)).toEqual([6]);
    expect(scan.collisions).toEqual([]);
    expect(clock.now()).toBeGreaterThan(0);
  });

  it('rejects an RSP_UD from another primary address and reports no reply with the evidence', async () => {
    // The corpus frame carries A = 11H; the slave is asked at 12H.
    const { master } = setup([{ primary: 0x12, identity: identity('06855817'), fixedReply: KAMSTRUP }]);
    const e = await master.reqUd2(0x12).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MbusNoReplyError);
    const x = (e as MbusNoReplyError).exchange;
    expect(x.attemptLog.map((a) => a.outcome)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(x.rejected.map((r) => r.reason)).toEqual(['address', 'address', 'address']);
    expect((e as Error).message).toContain('RSP_UD from 17, request to 18');
  });

  it('an application error (CI 70) is thrown as MbusApplicationError with its code', async () => {
    const { master, clock, segment } = setup([]);
    const slave = segment.attachSlave('err');
    slave.on('data', () => void clock.sleep(20).then(() => slave.write(encodeApplicationError(3, 0x08))));
    const e = await master.reqUd2(3).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(MbusApplicationError);
    expect((e as MbusApplicationError).applicationCode).toBe(8);
    // The exchange itself succeeded: the FCB moved on.
    expect(master.nextFcb(3)).toBe(false);
  });

  it('sendRaw: a request with a bad checksum gets no reply, the same request intact does', async () => {
    const { master } = setup([{ primary: 2, identity: identity('00000002') }]);
    const good = encodeReqUd2(2, true);
    const bad = good.slice();
    bad[3] = (bad[3]! + 1) & 0xff;
    const r1 = await master.sendRaw(bad, { listenMs: 500 });
    expect(r1.silent).toBe(true);
    const r2 = await master.sendRaw(good);
    expect(r2.frames).toHaveLength(1);
    expect(r2.frames[0]!.frame.type).toBe('long');
  });
});

/** A one-record telegram: 32-bit integer energy in Wh (VIF 03), value v. */
function rec(v: number): Uint8Array {
  return encodeRecord({ dataField: DATA_FIELD.INT32, vib: [0x03], value: { type: 'integer', value: v } });
}

// Keep the import used: the corpus frame must itself be a valid single frame.
it('the corpus frame used above is one valid RSP_UD', () => {
  expect(decodeSingleFrame(KAMSTRUP).ok).toBe(true);
});
