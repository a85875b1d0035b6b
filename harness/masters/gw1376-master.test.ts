/**
 * Gw1376Master against a scripted terminal (gw1376-test-support.ts) on a memory pair, in virtual
 * time: login and heartbeat confirms (golden vectors 0-2), requests and their replies through the
 * dictionary, multi-frame replies, denies, retries and timeouts, and what a terminal may send that
 * is not a frame. Gw1376Station on memory pairs and over loopback TCP.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { EncodeError, LinkError, TimeoutError, UsageError } from '../core/errors.ts';
import { SeededRandom } from '../core/random.ts';
import { createMemoryPair } from '../links/memory.ts';
import { connectTcpLink } from '../links/tcp.ts';
import type { Link } from '../links/link.ts';
import { Afn, ERC_LAYOUTS, buildFrame, decode, encodeFrame, items } from '../protocols/gw1376/index.ts';
import { Gw1376Master, Gw1376TimeoutError, forwardByteTimeoutByte, forwardFrameTimeoutByte, type Gw1376MasterOptions, type Gw1376Rejection } from './gw1376-master.ts';
import { Gw1376Station } from './gw1376-station.ts';
import { NoReplyError } from './errors.ts';
import { ScriptedGw1376Terminal, uplinkFrame, type ScriptedGw1376TerminalOptions } from './gw1376-test-support.ts';

interface Vector {
  readonly hex: string;
}
/** The golden vectors (verbatim copy of shared/vectors/1376-1.json), numbered from 0 as in the codec's tests. */
const VECTORS: readonly Vector[] = JSON.parse(readFileSync(new URL('../protocols/gw1376/fixtures/1376-1-vectors.json', import.meta.url), 'utf8')) as Vector[];
const vector = (n: number): Uint8Array => hex(VECTORS[n]!.hex);

/** Vectors 0-2: terminal 0200 / 1234H. */
const AREA = '0200';
const TERMINAL = 0x1234;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function setup(options: { master?: Partial<Omit<Gw1376MasterOptions, 'link' | 'clock'>>; handler?: ScriptedGw1376TerminalOptions['handler'] } = {}) {
  const clock = new VirtualClock({ autoAdvance: false });
  const [masterLink, terminalLink] = createMemoryPair({ names: ['memory:master', 'memory:terminal'] });
  const master = new Gw1376Master({ link: masterLink, clock, ...options.master });
  const terminal = new ScriptedGw1376Terminal({ link: terminalLink, areaCode: AREA, terminal: TERMINAL, ...(options.handler ? { handler: options.handler } : {}) });
  const rejected: Gw1376Rejection[] = [];
  master.on('rejected', (e) => rejected.push(e));
  const events: string[] = [];
  for (const name of ['login', 'logout', 'heartbeat', 'report'] as const) master.on(name, (m) => events.push(`${name}:${m.frame.seq.seq}`));
  cleanups.push(async () => {
    master.dispose();
    await masterLink.close();
  });
  /** Lets the memory links deliver and the master answer (no clock time passes). */
  const settle = (): Promise<void> => clock.advance(0);
  return { clock, master, terminal, masterLink, terminalLink, rejected, events, settle };
}

/** A terminal that logs in first, then answers with `answer`. */
async function loggedIn(answer: ScriptedGw1376TerminalOptions['handler'], master: Partial<Omit<Gw1376MasterOptions, 'link' | 'clock'>> = {}) {
  const s = setup({ master, handler: (m, t) => (m.frame.control.prm ? answer?.(m, t) : null) });
  s.terminal.linkTest(1);
  await s.settle();
  expect(s.master.terminal).toBeDefined();
  return s;
}

const CLOCK_VALUE = { clock: { time: '2026-01-01 08:00:00', week: 4 } };
const dailyValue = (day: string, kwh: number) => ({ day, readingTime: '2026-01-02 00:05', tariffCount: 0, forwardActive: [{ value: kwh }] });

describe('Gw1376Master: terminal-initiated frames', () => {
  it('confirms a login with AFN 00 F1, C = 0BH and RSEQ = its PSEQ (golden vectors 0 and 1) and learns the terminal', async () => {
    const { master, terminal, events, settle } = setup();
    const frames: string[] = [];
    master.on('frame', (dir, bytes) => frames.push(`${dir} ${toHex(bytes)}`));
    terminal.send(vector(0));
    await settle();
    expect(frames).toEqual([`in ${toHex(vector(0))}`, `out ${toHex(vector(1))}`]);
    expect(terminal.receivedBytes.map((b) => toHex(b))).toEqual([toHex(vector(1))]);
    expect(events).toEqual(['login:1']);
    expect(master.terminal).toEqual({ areaCode: '0200', terminal: 0x1234, msa: 1, group: false });
  });

  it('confirms heartbeats and logouts with their own RSEQ, and reports (AFN 0E with CON) with C = 00H', async () => {
    const { terminal, events, settle } = setup();
    terminal.send(vector(2)); // heartbeat, PSEQ 1
    terminal.linkTest(3, 6);
    terminal.linkTest(2, 15);
    const report = uplinkFrame({
      address: terminal.address,
      afn: Afn.class3Data,
      seq: 7,
      con: true,
      prm: true,
      units: [{ pn: 0, fn: 1, value: { ec1: 1, ec2: 0, pm: 0, pn: 1, events: [{ erc: 39, fields: { pn: 3, time: '2026-01-02 04:00', day: '2026-01-01' } }] } }],
    });
    terminal.send(report);
    await settle();
    expect(events).toEqual(['heartbeat:1', 'heartbeat:6', 'logout:15', 'report:7']);
    expect(terminal.confirms.map((m) => [m.frame.control.raw, m.frame.seq.raw, m.frame.address.msa, items(m).map((i) => i.fn)])).toEqual([
      [0x0b, 0x61, 0, [1]],
      [0x0b, 0x66, 0, [1]],
      [0x0b, 0x6f, 0, [1]],
      [0x00, 0x67, 0, [1]],
    ]);
  });

  it('does not confirm what `confirm` declines, nor a frame without CON', async () => {
    const { terminal, events, settle } = setup({ master: { confirm: (m) => m.frame.afn !== Afn.linkTest || items(m)[0]?.fn !== 3 } });
    terminal.linkTest(1, 1);
    terminal.linkTest(3, 2);
    terminal.send(uplinkFrame({ address: terminal.address, afn: Afn.linkTest, seq: 3, prm: true, units: [{ pn: 0, fn: 3 }] }));
    await settle();
    expect(events).toEqual(['login:1', 'heartbeat:2', 'heartbeat:3']);
    expect(terminal.confirms.map((m) => m.frame.seq.seq)).toEqual([1]);
  });
});

describe('Gw1376Master: requests', () => {
  it('reads class 1 data: C = 4BH, AFN 0C, PSEQ from the PFC, no PW; the reply decoded by the dictionary', async () => {
    const { master, terminal } = await loggedIn((m, t) => t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]));
    const first = await master.class1([{ pn: 0, fn: 2 }]);
    const second = await master.class1([{ pn: 0, fn: 2 }]);
    expect(first.map((i) => [i.pn, i.fn, i.value])).toEqual([[0, 2, CLOCK_VALUE]]);
    expect(second).toHaveLength(1);
    const [r1, r2] = terminal.requests;
    expect(r1!.frame.control.raw).toBe(0x4b);
    expect(r1!.frame.afn).toBe(Afn.class1Data);
    expect(r1!.frame.address).toEqual({ areaCode: '0200', terminal: 0x1234, msa: 1, group: false });
    expect([r1!.frame.seq.raw, r2!.frame.seq.raw]).toEqual([0x60, 0x61]); // single, no CON, PSEQ 0 then 1
    expect(r1!.frame.aux).toEqual({ pw: null, ec: null, tp: null });
  });

  it('sets parameters: C = 4AH, CON, PW of the password; AFN 00 F1 → every unit confirmed', async () => {
    const password = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    const { master, terminal } = await loggedIn((m, t) => t.confirm(m), { password });
    const value = { rtsDelay20ms: 0, tpDelayMinutes: 5, timeoutAndRetries: 0x3005, conFlags: 7, heartbeatMinutes: 15 };
    const reply = await master.setParameters(1, value);
    expect(reply.denied).toBe(false);
    expect(reply.confirm).toEqual([{ fn: 1, pn: 0, ok: true }]);
    const req = terminal.requests[0]!;
    expect(req.frame.control.raw).toBe(0x4a);
    expect(req.frame.seq.con).toBe(true);
    expect(toHex(req.frame.aux.pw!)).toBe(toHex(password));
    expect(items(req)[0]!.value).toEqual(value);
  });

  it('reads AFN 00 F3 per-unit answers into `confirm`', async () => {
    // F3: AFN 05, then {DA DT ERR}: p1 F1 ok, p2 F1 error.
    const { master } = await loggedIn((m, t) =>
      t.reply(m, Afn.confirmDeny, [{ pn: 0, fn: 3, value: { afn: 5, items: [{ da: '01 01', dt: '01 00', err: 0 }, { da: '02 01', dt: '01 00', err: 1 }] } }]),
    );
    const reply = await master.request(Afn.control, [
      { pn: 1, fn: 1, value: { limitAndDelay: 0 } },
      { pn: 2, fn: 1, value: { limitAndDelay: 0 } },
    ]);
    expect(reply.confirm).toEqual([
      { fn: 1, pn: 1, ok: true, err: 0 },
      { fn: 1, pn: 2, ok: false, err: 1 },
    ]);
  });

  it('joins a multi-frame reply (FIR..FIN, RSEQ counting up, across the PSEQ wrap) and confirms the frames that ask for it', async () => {
    const days = ['2026-01-01', '2026-01-01', '2026-01-01'];
    const { master, terminal } = await loggedIn((m, t) => {
      const p = m.frame.seq.seq;
      return [
        t.reply(m, Afn.class2Data, [{ pn: 1, fn: 161, value: dailyValue(days[0]!, 1.5) }], { position: 'first', seq: p }),
        t.reply(m, Afn.class2Data, [{ pn: 2, fn: 161, value: dailyValue(days[1]!, 2.5) }], { position: 'middle', seq: (p + 1) & 15, con: true }),
        t.reply(m, Afn.class2Data, [{ pn: 3, fn: 161, value: dailyValue(days[2]!, 3.5) }], { position: 'last', seq: (p + 2) & 15 }),
      ];
    });
    // Fifteen requests first, so that the reply's RSEQ wraps 15 → 0 → 1.
    for (let i = 0; i < 15; i++) await master.class2([{ pn: 1, fn: 161, value: { day: '2026-01-01' } }]);
    const got = await master.class2([1, 2, 3].map((pn) => ({ pn, fn: 161, value: { day: '2026-01-01' } })));
    expect(terminal.requests.at(-1)!.frame.seq.seq).toBe(15);
    expect(got.map((i) => [i.pn, (i.value!.forwardActive as { value: number }[])[0]!.value])).toEqual([
      [1, 1.5],
      [2, 2.5],
      [3, 3.5],
    ]);
    expect(terminal.confirms.at(-1)!.frame.seq.seq).toBe(0); // the middle frame's RSEQ (15 + 1)
    expect(terminal.confirms).toHaveLength(1 + 16); // the login's and each middle frame's
  });

  it('reports a deny (AFN 00 F2): request() says denied, class2() has no data', async () => {
    const { master } = await loggedIn((m, t) => t.deny(m));
    const reply = await master.request(Afn.class2Data, [{ pn: 1, fn: 161, value: { day: '2026-01-01' } }]);
    expect(reply.denied).toBe(true);
    expect(reply.confirm).toEqual([{ fn: 161, pn: 1, ok: false }]);
    expect(await master.class2([{ pn: 1, fn: 161, value: { day: '2026-01-01' } }])).toEqual([]);
  });

  it('retries a silent terminal with the same frame and rejects with Gw1376TimeoutError after 3 × 5 s', async () => {
    const { clock, master, terminal } = await loggedIn(() => null);
    const t0 = clock.now();
    const p = master.class1([{ pn: 0, fn: 2 }]);
    const error = await clock.run(p).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Gw1376TimeoutError);
    expect(error).toBeInstanceOf(NoReplyError);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Gw1376TimeoutError).exchange.attempts).toBe(3);
    expect(clock.now() - t0).toBe(15_000);
    expect(terminal.requests).toHaveLength(3);
    expect(new Set(terminal.receivedBytes.slice(1).map((b) => toHex(b))).size).toBe(1); // the same bytes (and PSEQ) each time
  });

  it('takes the reply to a retry, and the attempt count says so', async () => {
    let n = 0;
    const { clock, master } = await loggedIn((m, t) => (++n === 2 ? t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]) : null), { timeoutMs: 1000 });
    const reply = await clock.run(master.request(Afn.class1Data, [{ pn: 0, fn: 2 }]));
    expect(reply.attempts).toBe(2);
    expect(reply.items).toHaveLength(1);
  });

  it('restarts the timeout with every frame of a slow multi-frame reply, and retries one that stalls half-way', async () => {
    let n = 0;
    const { clock, master, terminal } = await loggedIn((m, t) => {
      n++;
      const p = m.frame.seq.seq;
      const first = t.reply(m, Afn.class2Data, [{ pn: 1, fn: 161, value: dailyValue('2026-01-01', 1) }], { position: 'first', seq: p });
      const last = t.reply(m, Afn.class2Data, [{ pn: 2, fn: 161, value: dailyValue('2026-01-01', 2) }], { position: 'last', seq: (p + 1) & 15 });
      // First attempt: the last frame never comes. Second: it comes 4 s after the first (timeout 5 s).
      if (n === 2) void clock.sleep(4000).then(() => t.send(last));
      return first;
    });
    const got = await clock.run(master.class2([1, 2].map((pn) => ({ pn, fn: 161, value: { day: '2026-01-01' } }))));
    expect(got.map((i) => i.pn)).toEqual([1, 2]);
    expect(terminal.requests).toHaveLength(2);
  });

  it('carries Tp with the PFC, the terminal-local send time and the allowed delay when tpDelayMinutes is set', async () => {
    const { master, terminal, clock } = await loggedIn((m, t) => t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]), { tpDelayMinutes: 5 });
    await clock.advance(3_723_000); // 2026-01-01 00:00 UTC + 1 h 2 min 3 s = 09:02:03 in UTC+8
    await master.class1([{ pn: 0, fn: 2 }]);
    await master.class1([{ pn: 0, fn: 2 }]);
    expect(terminal.requests.map((m) => m.frame.aux.tp)).toEqual([
      { pfc: 0, day: 1, hour: 9, minute: 2, second: 3, delayMinutes: 5 },
      { pfc: 1, day: 1, hour: 9, minute: 2, second: 3, delayMinutes: 5 },
    ]);
    expect(terminal.requests[0]!.frame.seq.tpv).toBe(true);
  });

  it('forwards a frame (AFN 10 F1): timeouts encoded as 3.8 says; the reply content back, or denied', async () => {
    const meterFrame = hex('68 11 11 11 11 11 11 68 11 04 33 33 34 33 C6 16'); // a DL/T 645 read, as bytes
    const meterReply = hex('FE FE 68 11 11 11 11 11 11 68 91 08 33 33 34 33 33 33 33 33 9A 16');
    let deny = false;
    const { master, terminal } = await loggedIn((m, t) => (deny ? t.deny(m) : t.reply(m, Afn.dataForwarding, [{ pn: 0, fn: 1, value: { port: 2, content: toHex(meterReply, '') } }])));
    const r = await master.forward(2, meterFrame, { frameTimeoutMs: 2000, byteTimeoutMs: 500 });
    expect(r).toEqual({ port: 2, content: meterReply });
    const req = terminal.requests[0]!;
    expect(req.frame.control.raw).toBe(0x4b);
    expect(req.frame.aux.pw).toHaveLength(16);
    expect(items(req)[0]!.value).toEqual({ port: 2, controlWord: 0x6b, frameTimeout: 0x82, byteTimeout: 0x32, content: toHex(meterFrame) });
    deny = true;
    expect(await master.forward(2, meterFrame, { frameTimeoutMs: 2000, byteTimeoutMs: 500 })).toEqual({ denied: true });
    expect([forwardFrameTimeoutByte(500), forwardFrameTimeoutByte(1500), forwardByteTimeoutByte(10)]).toEqual([50, 0x82, 1]);
    expect(() => forwardFrameTimeoutByte(200_000)).toThrow(UsageError);
  });

  it('reads events (AFN 0E F1 pm..pn): the ERC records decoded by the dictionary', async () => {
    const record = { pn: 3, time: '2026-01-02 04:00', day: '2026-01-01' };
    const { master, terminal } = await loggedIn((m, t) =>
      t.reply(m, Afn.class3Data, [{ pn: 0, fn: 1, value: { ec1: 1, ec2: 0, pm: 0, pn: 1, events: [{ erc: 39, fields: record }] } }]),
    );
    const records = await master.events(true, 0, 1);
    expect(records).toEqual([{ erc: 39, length: 10, name: ERC_LAYOUTS[39]!.name, fields: record }]);
    expect(items(terminal.requests[0]!)[0]!.value).toEqual({ pm: 0, pn: 1 });
  });

  it('queries parameters (AFN 0A) and control (AFN 05 F31 time sync)', async () => {
    const { master, terminal } = await loggedIn((m, t) =>
      m.frame.afn === Afn.queryParameters
        ? t.reply(m, Afn.queryParameters, [{ pn: 0, fn: 1, value: { rtsDelay20ms: 0, tpDelayMinutes: 0, timeoutAndRetries: 5, conFlags: 7, heartbeatMinutes: 15 } }])
        : t.confirm(m),
    );
    const q = await master.query(1);
    expect(q[0]!.value).toMatchObject({ heartbeatMinutes: 15 });
    const c = await master.control(31, 0, CLOCK_VALUE);
    expect(c.confirm).toEqual([{ fn: 31, pn: 0, ok: true }]);
    expect(terminal.requests.map((m) => m.frame.control.raw)).toEqual([0x4b, 0x4a]);
  });

  it('gives the EC of a reply with ACD = 1; sends without PW or with a Tp given per request (robustness cases)', async () => {
    const { clock, master, terminal } = await loggedIn((m, t) => t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }], { ec: { important: 2, normal: 1 } }));
    const reply = await master.request(Afn.class1Data, [{ pn: 0, fn: 2 }]);
    expect(reply.ec).toEqual({ important: 2, normal: 1 });
    // AFN 04 without its PW and with an expired Tp. PW's presence follows from the header (3.6), so a
    // terminal reading by the standard cannot even find the data units: silence.
    const expired = { pfc: 9, day: 31, hour: 23, minute: 0, second: 0, delayMinutes: 1 };
    const value = { rtsDelay20ms: 0, tpDelayMinutes: 0, timeoutAndRetries: 5, conFlags: 7, heartbeatMinutes: 15 };
    const outcome = await clock.run(master.request(Afn.setParameters, [{ pn: 0, fn: 1, value }], { pw: false, tp: expired, attempts: 1 })).catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(Gw1376TimeoutError);
    const sent = (outcome as Gw1376TimeoutError).exchange.request;
    expect(terminal.junk).toHaveLength(1);
    const asSent = decode(sent, 0, { pwAfns: [] });
    expect(asSent.ok && asSent.value.frame.aux).toEqual({ pw: null, ec: null, tp: expired });
    expect(asSent.ok && items(asSent.value)[0]!.value).toEqual(value);
  });

  it('refuses to request before it knows the terminal, and bad values with an EncodeError', async () => {
    const { master } = setup();
    await expect(master.class1([{ pn: 0, fn: 2 }])).rejects.toThrow(UsageError);
    const s = await loggedIn(() => null);
    await expect(s.master.setParameters(1, { nonsense: 1 })).rejects.toThrow(EncodeError);
  });

  it('rejects the pending and later requests with a LinkError when the link closes', async () => {
    const { master, terminalLink, clock } = await loggedIn(() => null);
    const p = master.class1([{ pn: 0, fn: 2 }]).catch((e: unknown) => e);
    await clock.advance(100);
    await terminalLink.close();
    expect(await p).toBeInstanceOf(LinkError);
    await expect(master.class1([{ pn: 0, fn: 2 }])).rejects.toThrow(LinkError);
  });
});

describe('Gw1376Master: robustness (nothing from the terminal throws)', () => {
  it('rejects a garbage chunk and carries on: the next heartbeat is confirmed and a request answered', async () => {
    const { master, terminal, rejected, events, settle } = await loggedIn((m, t) => t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]));
    const junk = hex('00 FF 68 33 00 33 00 68 C9 16 16 55 AA'); // noise, then a header with protocol id 3
    terminal.send(junk);
    // A valid frame whose data unit does not fit its layout: class 1 F2, the clock one byte short.
    const short = encodeFrame({ control: 0x88, address: { ...terminal.address, msa: 1 }, afn: Afn.class1Data, seq: 0x60, data: hex('00 00 02 00 00 00 08 01 41') });
    terminal.send(short);
    terminal.linkTest(3);
    await settle();
    // The scanner reports adjacent junk as one run, with its first reason.
    expect(rejected.map((r) => r.reason.split(':')[0])).toEqual(['gw1376.start', 'gw1376.value-length']);
    expect(toHex(rejected[0]!.bytes)).toBe(toHex(junk));
    expect(toHex(rejected[1]!.bytes)).toBe(toHex(short));
    expect(events.at(-1)).toMatch(/^heartbeat:/);
    expect(await master.class1([{ pn: 0, fn: 2 }])).toHaveLength(1);
  });

  it('rejects a reply to an unknown SEQ, from another terminal or to another MSA; the request still takes its own reply', async () => {
    const { master, terminal, rejected, settle } = await loggedIn((m, t) => [
      t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }], { seq: (m.frame.seq.seq + 9) & 15 }),
      uplinkFrame({ address: { ...m.frame.address, terminal: 0x9999 }, afn: Afn.class1Data, seq: m.frame.seq.seq, units: [{ pn: 0, fn: 2, value: CLOCK_VALUE }] }),
      uplinkFrame({ address: { ...m.frame.address, msa: 5 }, afn: Afn.class1Data, seq: m.frame.seq.seq, units: [{ pn: 0, fn: 2, value: CLOCK_VALUE }] }),
      t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]),
    ]);
    const got = await master.class1([{ pn: 0, fn: 2 }]);
    expect(got).toHaveLength(1);
    expect(rejected.map((r) => r.reason.split(':')[0])).toEqual(['rseq', 'address', 'msa']);
    // With no request pending, any reply is unknown.
    terminal.send(uplinkFrame({ address: { ...terminal.address, msa: 1 }, afn: Afn.class1Data, seq: 3, units: [{ pn: 0, fn: 2, value: CLOCK_VALUE }] }));
    await settle();
    expect(rejected.at(-1)!.reason).toMatch(/^rseq: a reply .* to no pending request/);
  });

  it('joins frames that arrive one byte at a time, and confirms a heartbeat that comes in the middle of a request', async () => {
    const { master, terminal, events } = await loggedIn((m, t) => {
      const heartbeat = uplinkFrame({ address: t.address, afn: Afn.linkTest, seq: 7, con: true, prm: true, units: [{ pn: 0, fn: 3 }] });
      const reply = t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]);
      for (const b of [...heartbeat, ...reply]) t.send(Uint8Array.of(b));
      return null;
    });
    expect(await master.class1([{ pn: 0, fn: 2 }])).toHaveLength(1);
    expect(events).toEqual(['login:0', 'heartbeat:7']);
    expect(terminal.confirms.map((m) => m.frame.seq.seq)).toEqual([0, 7]);
  });

  it('never throws on seeded random chunks mixed with valid frames, and still confirms the heartbeats among them', async () => {
    const { terminal, events, settle } = setup();
    const random = new SeededRandom(1376);
    let heartbeats = 0;
    for (let i = 0; i < 300; i++) {
      if (random.chance(0.2)) {
        terminal.linkTest(3, i & 15);
        heartbeats++;
      } else {
        const junk = Uint8Array.from({ length: random.int(1, 40) }, () => (random.chance(0.2) ? 0x68 : random.int(0, 255)));
        terminal.send(junk);
      }
      await settle();
    }
    // Junk may hold a heartbeat as part of a spurious candidate until the scanner decides; most get through.
    const confirmed = events.filter((e) => e.startsWith('heartbeat')).length;
    expect(heartbeats).toBeGreaterThan(30);
    expect(confirmed).toBeGreaterThan(heartbeats / 2);
    expect(terminal.confirms).toHaveLength(confirmed);
  });

  it('sendRaw: bytes as given; the next reply, or null after the timeout', async () => {
    const { clock, master, terminal } = await loggedIn((m, t) => (m.frame.afn === Afn.class1Data ? t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }], { seq: 9 }) : null));
    // AFN 0C F2, PSEQ 9, MSA 1, as a vendor's master station would send it.
    const request = buildFrame({ control: { dir: false, prm: true, functionCode: 11 }, address: { ...terminal.address, msa: 1 }, afn: Afn.class1Data, seq: { seq: 9 }, units: [{ pn: 0, fn: 2 }] });
    const reply = await clock.run(master.sendRaw(request, { timeoutMs: 1000 }));
    expect(reply?.frame.afn).toBe(Afn.class1Data);
    const broken = request.slice();
    broken[broken.length - 2]! ^= 0xff; // checksum: the terminal must stay silent
    const t0 = clock.now();
    const silence = await clock.run(master.sendRaw(broken, { timeoutMs: 1000 }));
    expect(silence).toBeNull();
    expect(clock.now() - t0).toBe(1000);
    expect(terminal.junk).toHaveLength(1);
  });
});

describe('Gw1376Station', () => {
  async function loginOn(station: Gw1376Station, clock: VirtualClock, area: string, address: number): Promise<{ link: Link; terminal: ScriptedGw1376Terminal }> {
    const [a, b] = createMemoryPair();
    station.accept(a);
    const terminal = new ScriptedGw1376Terminal({ link: b, areaCode: area, terminal: address, handler: (m, t) => (m.frame.control.prm ? t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]) : null) });
    terminal.linkTest(1);
    await clock.advance(0);
    return { link: b, terminal };
  }

  it('keys a master per login, waits for a terminal, replaces a re-login on a new connection, and says when one goes offline', async () => {
    const clock = new VirtualClock({ autoAdvance: false });
    const station = new Gw1376Station({ clock });
    cleanups.push(() => station.close());
    const online: string[] = [];
    const offline: string[] = [];
    station.on('terminal', (m) => online.push(`${m.terminal!.areaCode}/${m.terminal!.terminal}`));
    station.on('offline', (a) => offline.push(`${a.areaCode}/${a.terminal}`));
    const waiting = station.waitForTerminal('4403', 4, 60_000);
    const one = await loginOn(station, clock, '4403', 4);
    await loginOn(station, clock, '0200', 0x1234);
    const master = await waiting;
    expect(await master.class1([{ pn: 0, fn: 2 }])).toHaveLength(1);
    expect(station.terminal('0200', 0x1234)).toBeDefined();
    expect(online).toEqual(['4403/4', '0200/4660']);
    // 4403/4 redials: the new connection takes over and the old one is closed, with no 'offline'.
    const again = await loginOn(station, clock, '4403', 4);
    await clock.advance(0);
    expect(one.link.isOpen).toBe(false);
    expect(station.terminal('4403', 4)).not.toBe(master);
    expect(offline).toEqual([]);
    await again.link.close();
    await clock.advance(0);
    expect(offline).toEqual(['4403/4']);
    expect(station.terminal('4403', 4)).toBeUndefined();
    await expect(clock.run(station.waitForTerminal('4403', 5, 1000))).rejects.toThrow(TimeoutError);
  });

  it('gives a connection that never logs in a master but no registration, and closes every connection on close()', async () => {
    const clock = new VirtualClock({ autoAdvance: false });
    const station = new Gw1376Station({ clock });
    const [a, b] = createMemoryPair();
    const master = station.accept(a);
    const rejected: string[] = [];
    master.on('rejected', (e) => rejected.push(e.reason));
    await b.write(hex('68 68 68 16 16 01 02 03'));
    await clock.advance(10_000); // silence: the scanner gives up the partial frame
    expect(rejected).toHaveLength(1);
    expect(station.connections).toBe(1);
    expect(station.terminals).toEqual([]);
    const logged = await loginOn(station, clock, '4403', 4);
    await station.close();
    expect([b.isOpen, logged.link.isOpen]).toEqual([false, false]);
    expect(() => station.accept(createMemoryPair()[0])).toThrow(UsageError);
  });

  it('accepts a terminal over loopback TCP: it logs in, waitForTerminal resolves, a request is answered', async () => {
    const clock = new RealClock();
    const station = await Gw1376Station.listen({ clock, port: 0, master: { timeoutMs: 2000 } });
    cleanups.push(() => station.close());
    const link = await connectTcpLink({ host: '127.0.0.1', port: station.port! });
    const terminal = new ScriptedGw1376Terminal({ link, areaCode: AREA, terminal: TERMINAL, handler: (m, t) => (m.frame.control.prm ? t.reply(m, Afn.class1Data, [{ pn: 0, fn: 2, value: CLOCK_VALUE }]) : null) });
    const waiting = station.waitForTerminal(AREA, TERMINAL, 5000);
    terminal.send(vector(0));
    const master = await waiting;
    expect(master.terminal).toMatchObject({ areaCode: AREA, terminal: TERMINAL });
    expect(await master.class1([{ pn: 0, fn: 2 }])).toHaveLength(1);
    expect(toHex(terminal.receivedBytes[0]!)).toBe(toHex(vector(1)));
    const gone = new Promise<string>((resolve) => station.once('offline', (a) => resolve(`${a.areaCode}/${a.terminal}`)));
    await link.close();
    expect(await gone).toBe('0200/4660');
  });
});
