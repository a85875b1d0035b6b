/**
 * The terminal's uplink in virtual time against a scripted master on memory pairs: login first
 * with CON and its retransmission until confirmed (CON-04), heartbeat at the period (CON-02),
 * redial with backoff and login first again after a drop (ROB-09), the noHeartbeat defect.
 */
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../../harness/core/bytes.ts';
import { RealClock } from '../../harness/core/clock.ts';
import { connectTcpLink, listenTcp, type TcpLink } from '../../harness/links/tcp.ts';
import { Afn, buildFrame, Gw1376FrameScanner, items, type Gw1376Message } from '../../harness/protocols/gw1376/index.ts';
import { createConcentratorTerminal } from './terminal.ts';
import { AREA, createRig, FakeCore, kindOf, PASSWORD, START, TERMINAL } from './terminal-test-support.ts';

const S = 1000;
const MIN = 60 * S;

describe('login', () => {
  it('is the first frame: AFN 02 F1, C9H, SEQ single with CON, MSA 0, no data', async () => {
    const rig = createRig();
    rig.terminal.start();
    const login = await rig.next();
    // 68 L=0032H (12 bytes, id 2) | C9 | A1 00 02 A2 34 12 A3 00 | AFN 02 | SEQ 70 (FIR FIN CON, PSEQ 0) | DA 00 00 DT 01 00 | CS 16
    expect(toHex(login.raw)).toBe('68 32 00 32 00 68 C9 00 02 34 12 00 02 70 00 00 01 00 84 16');
    expect(login.at).toBe(START);
    expect(rig.terminal.state).toBe('login');
    await rig.master.confirm(login);
    await rig.clock.advance(0);
    expect(rig.terminal.state).toBe('online');
    expect(rig.terminal.uplinkStats.logins).toBe(1);
  });

  it('is retransmitted every 5 s until confirmed (CON-04), same PSEQ; a confirmation for another PSEQ has no effect', async () => {
    const rig = createRig();
    rig.terminal.start();
    const first = await rig.next();
    const second = await rig.next();
    expect(second.at - first.at).toBe(5 * S);
    expect(toHex(second.raw)).toBe(toHex(first.raw));
    // A confirmation whose RSEQ is not the login's PSEQ (a stale one, ROB-10) changes nothing.
    await rig.master.send(hex('68 32 00 32 00 68 0B 00 02 34 12 00 00 6F 00 00 01 00 C3 16'));
    const third = await rig.next();
    expect(third.at - second.at).toBe(5 * S);
    expect(rig.terminal.state).toBe('login');
    await rig.master.confirm(third);
    await rig.clock.advance(0);
    expect(rig.terminal.state).toBe('online');
    expect(rig.terminal.uplinkStats.retransmissions).toBe(2);
  });

  it('unconfirmed after 1 + 3 transmissions: the link is dropped and redialled after 60 s, login first again (the vector login, PSEQ 1)', async () => {
    const rig = createRig();
    rig.terminal.start();
    const sent = [await rig.next(), await rig.next(), await rig.next(), await rig.next()];
    expect(sent.map((r) => r.at - START)).toEqual([0, 5 * S, 10 * S, 15 * S]);
    const again = await rig.next();
    // The fourth transmission waited 5 s, the link closed, the redial waited the F8 interval.
    expect(again.at - START).toBe(20 * S + 60 * S);
    expect(rig.master.connections).toHaveLength(2);
    expect(rig.master.connections[0]!.isOpen).toBe(false);
    // Vector 0 of shared/vectors/1376-1.json: login of terminal 0200/1234H with SEQ 71.
    expect(toHex(again.raw)).toBe('68 32 00 32 00 68 C9 00 02 34 12 00 02 71 00 00 01 00 85 16');
    // Vector 1: the master's confirmation C = 0BH, SEQ 61, MSA 0.
    await rig.master.send(hex('68 32 00 32 00 68 0B 00 02 34 12 00 00 61 00 00 01 00 B5 16'));
    await rig.clock.advance(0);
    expect(rig.terminal.state).toBe('online');
  });

  it('a denied login drops the link at once and redials after the interval', async () => {
    const rig = createRig();
    rig.terminal.start();
    const login = await rig.next();
    await rig.master.confirm(login, 2);
    const again = await rig.next();
    expect(again.at - START).toBe(60 * S);
    expect(kindOf(again)).toBe('02 F1');
  });
});

describe('heartbeat', () => {
  it('every 15 min after the login (CON-02), AFN 02 F3 with CON, PSEQ counting on (vector 2)', async () => {
    const rig = createRig();
    await rig.online();
    const hb1 = await rig.next();
    expect(hb1.at - START).toBe(15 * MIN);
    // Vector 2 of shared/vectors/1376-1.json: the heartbeat of 0200/1234H, SEQ 71.
    expect(toHex(hb1.raw)).toBe('68 32 00 32 00 68 C9 00 02 34 12 00 02 71 00 00 04 00 88 16');
    await rig.master.confirm(hb1);
    const hb2 = await rig.next();
    expect(hb2.at - START).toBe(30 * MIN);
    expect(kindOf(hb2)).toBe('02 F3');
    expect(hb2.message.frame.seq.seq).toBe(2);
    expect(rig.terminal.uplinkStats.heartbeats).toBe(1);
  });

  it('AFN 04 F1 changes the period: the next heartbeat comes one new period later', async () => {
    const rig = createRig();
    await rig.online();
    await rig.clock.advance(2 * MIN);
    const reply = await rig.ask(Afn.setParameters, [
      { pn: 0, fn: 1, value: { rtsDelay20ms: 0, tpDelayMinutes: 0, timeoutAndRetries: (3 << 12) | 5, conFlags: 7, heartbeatMinutes: 5 } },
    ]);
    expect(kindOf(reply[0]!)).toBe('00 F1');
    const hb = await rig.next();
    expect(hb.at - START).toBe(7 * MIN);
  });

  it('an unconfirmed heartbeat: 4 transmissions 5 s apart, then the link drops, redial after 60 s, login first', async () => {
    const rig = createRig();
    await rig.online();
    const hbs = [await rig.next(), await rig.next(), await rig.next(), await rig.next()];
    expect(hbs.map(kindOf)).toEqual(['02 F3', '02 F3', '02 F3', '02 F3']);
    expect(hbs.map((r) => r.at - START)).toEqual([15 * MIN, 15 * MIN + 5 * S, 15 * MIN + 10 * S, 15 * MIN + 15 * S]);
    const login = await rig.next();
    expect(kindOf(login)).toBe('02 F1');
    expect(login.at - START).toBe(15 * MIN + 20 * S + 60 * S);
    expect(rig.master.connections).toHaveLength(2);
  });

  it('defect noHeartbeat: logs in, then nothing for an hour', async () => {
    const rig = createRig({ defects: { noHeartbeat: true } });
    await rig.online();
    await rig.clock.advance(60 * MIN);
    expect(rig.master.pending).toBe(0);
    expect(rig.terminal.state).toBe('online');
    // The reference does send one within the period: the defect is what makes the difference.
    const ref = createRig();
    await ref.online();
    await ref.clock.advance(60 * MIN);
    expect(ref.master.drain().map(kindOf)).toContain('02 F3');
  });
});

describe('redial', () => {
  it('a link closed by the master: redial after 60 s, doubling while connect fails (60, 120, 240 s), back to 60 s after a login', async () => {
    const rig = createRig();
    await rig.online();
    await rig.clock.advance(1 * MIN);
    rig.master.refuse = true;
    const closedAt = rig.clock.now();
    await rig.master.link.close();
    await rig.clock.advance(0);
    expect(rig.terminal.state).toBe('waiting');
    await rig.clock.advance(60 * S + 120 * S + 240 * S);
    expect(rig.master.dialledAt.slice(1).map((t) => t - closedAt)).toEqual([60 * S, 180 * S, 420 * S]);
    rig.master.refuse = false;
    const login = await rig.next();
    expect(login.at - closedAt).toBe(420 * S + 480 * S);
    expect(kindOf(login)).toBe('02 F1');
    await rig.master.confirm(login);
    await rig.clock.advance(0);
    expect(rig.terminal.state).toBe('online');
    // After a good login the backoff starts again from the interval.
    const droppedAt = rig.clock.now();
    await rig.master.link.close();
    const relogin = await rig.next();
    expect(relogin.at - droppedAt).toBe(60 * S);
  });

  it('the backoff stops growing at 30 min', async () => {
    const rig = createRig();
    rig.master.refuse = true;
    rig.terminal.start();
    await rig.clock.advance(10 * 60 * MIN);
    const gaps = rig.master.dialledAt.slice(1).map((t, i) => t - rig.master.dialledAt[i]!);
    expect(gaps.slice(0, 6)).toEqual([60 * S, 120 * S, 240 * S, 480 * S, 960 * S, 1800 * S]);
    expect(new Set(gaps.slice(5))).toEqual(new Set([1800 * S]));
  });

  it('stop() closes the link and no timer fires afterwards', async () => {
    const rig = createRig();
    await rig.online();
    await rig.terminal.stop();
    expect(rig.master.link.isOpen).toBe(false);
    await rig.clock.advance(2 * 60 * MIN);
    expect(rig.master.pending).toBe(0);
    expect(rig.master.dialledAt).toHaveLength(1);
    expect(rig.clock.pendingTimers).toBe(0);
  });
});

describe('over TCP on loopback (RealClock, the production path)', () => {
  it('dials the station with connectTcpLink, logs in, answers a request, redials when the station closes the link', async () => {
    const listener = await listenTcp({ port: 0 });
    const clock = new RealClock();
    const core = new FakeCore({ clock });
    const accepted: TcpLink[] = [];
    const frames: Gw1376Message[] = [];
    let wake: (() => void) | null = null;
    listener.on('connection', (link) => {
      accepted.push(link);
      const scanner = new Gw1376FrameScanner();
      link.on('data', (chunk) => {
        for (const e of scanner.push(chunk)) if (e.type === 'frame' && e.message.ok) frames.push(e.message.value);
        wake?.();
      });
    });
    const nextFrame = async (): Promise<Gw1376Message> => {
      while (frames.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return frames.shift()!;
    };
    const terminal = createConcentratorTerminal({
      core,
      clock,
      address: { areaCode: AREA, terminal: TERMINAL },
      password: PASSWORD,
      connect: () => connectTcpLink({ host: '127.0.0.1', port: listener.port }),
      parameters: { redialIntervalSeconds: 1 },
    });
    try {
      terminal.start();
      const login = await nextFrame();
      expect([login.frame.afn, items(login)[0]!.fn, login.frame.seq.con]).toEqual([Afn.linkTest, 1, true]);
      const confirmFor = (m: Gw1376Message): Uint8Array =>
        buildFrame({ control: { dir: false, prm: false, functionCode: 11 }, address: m.frame.address, afn: Afn.confirmDeny, seq: { seq: m.frame.seq.seq }, units: [{ pn: 0, fn: 1 }] });
      await accepted[0]!.write(confirmFor(login));
      const ask = buildFrame({ control: { dir: false, prm: true, functionCode: 10 }, address: { areaCode: AREA, terminal: TERMINAL, msa: 1, group: false }, afn: Afn.class1Data, seq: { seq: 3 }, units: [{ pn: 0, fn: 2 }] });
      await accepted[0]!.write(ask);
      const reply = await nextFrame();
      expect([reply.frame.afn, reply.frame.seq.seq, items(reply)[0]!.fn]).toEqual([Afn.class1Data, 3, 2]);
      expect(terminal.state).toBe('online');
      await accepted[0]!.close();
      const relogin = await nextFrame();
      expect([relogin.frame.afn, items(relogin)[0]!.fn]).toEqual([Afn.linkTest, 1]);
      expect(accepted).toHaveLength(2);
    } finally {
      await terminal.stop();
      await listener.close();
    }
  });
});

describe('AFN 04 F1 fields take effect (CON-01)', () => {
  it('timeout 9 s and 1 retry: an unconfirmed heartbeat goes twice, 9 s apart, then the link drops', async () => {
    const rig = createRig();
    await rig.online();
    const set = await rig.ask(Afn.setParameters, [
      { pn: 0, fn: 1, value: { rtsDelay20ms: 0, tpDelayMinutes: 0, timeoutAndRetries: (1 << 12) | 9, conFlags: 7, heartbeatMinutes: 15 } },
    ]);
    expect(kindOf(set[0]!)).toBe('00 F1');
    const hbs = [await rig.next(), await rig.next()];
    expect(hbs.map(kindOf)).toEqual(['02 F3', '02 F3']);
    expect(hbs[1]!.at - hbs[0]!.at).toBe(9 * S);
    const login = await rig.next();
    expect(kindOf(login)).toBe('02 F1');
    expect(login.at - hbs[1]!.at).toBe(9 * S + 60 * S);
  });

  it('tpDelayMinutes > 0: the terminal puts Tp on its event reports (its own send time and that delay)', async () => {
    const rig = createRig({ parameters: { tpDelayMinutes: 3 } });
    await rig.online();
    rig.core.addEvent({ erc: 39, important: true, at: START, fields: { pn: 1, time: START, day: '2026-03-09' } });
    const report = await rig.next();
    // PFC 1 (the login was 0), so PSEQ 1.
    expect(report.message.frame.seq.seq).toBe(1);
    expect(report.message.frame.aux.tp).toEqual({ pfc: 1, day: 10, hour: 10, minute: 0, second: 0, delayMinutes: 3 });
  });
});
