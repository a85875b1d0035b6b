/**
 * Dlt645Master against scripted peers on the RS-485 bus model, in virtual time: reply matching
 * (ROB-03), timeouts and retries (CON-05), follow-up chains, Td measurement, raw sends.
 * The full simulator is exercised in dlt645-master.simulator.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { LinkError, TimeoutError } from '../core/errors.ts';
import { Rs485Bus } from '../links/bus.ts';
import { createMemoryPair } from '../links/memory.ts';
import { DLT645_DEFAULT_LINE, characterTimeMs, type Link } from '../links/link.ts';
import {
  Dlt645FrameScanner,
  MAX_INTER_BYTE_GAP_MS,
  WILDCARD_ADDRESS,
  encodeFrame,
  encodeMessage,
  makeControl,
  type Dlt645Frame,
  type Dlt645Message,
} from '../protocols/dlt645/index.ts';
import { Dlt645AbnormalReplyError, Dlt645Master, Dlt645NoReplyError } from './index.ts';

const METER = '123456789012';
const CHAR_MS = characterTimeMs(DLT645_DEFAULT_LINE); // 2400 8E1: 4.583 ms

type Answer = Uint8Array | readonly Uint8Array[] | null;
type Handler = (frame: Dlt645Frame, message: Dlt645Message) => Answer;

/** A scripted meter: decodes each request and writes the handler's answer(s) after `delayMs`. */
function scriptedMeter(link: Link, clock: VirtualClock, handler: Handler, delayMs = 60): { requests: Dlt645Message[] } {
  const scanner = new Dlt645FrameScanner();
  const requests: Dlt645Message[] = [];
  link.on('data', (chunk) => {
    for (const e of scanner.push(chunk)) {
      if (e.type !== 'frame' || !e.message.ok) continue;
      requests.push(e.message.value);
      const answer = handler(e.decoded.frame, e.message.value);
      if (!answer) continue;
      const frames = answer instanceof Uint8Array ? [answer] : answer;
      void (async () => {
        await clock.sleep(delayMs);
        for (const f of frames) await link.write(f);
      })();
    }
  });
  return { requests };
}

function reply(address: string, message: Dlt645Message): Uint8Array {
  return encodeMessage(address, message, { preamble: 2 });
}

const energy = Uint8Array.of(0x56, 0x34, 0x12, 0x00); // 1234.56 kWh, XXXXXX.XX LE BCD

function setup(handler: Handler, delayMs = 60, options: { attempts?: number; timeoutMs?: number; callSites?: boolean } = {}) {
  const clock = new VirtualClock();
  const bus = new Rs485Bus({ clock, line: DLT645_DEFAULT_LINE });
  const meterLink = bus.attach('meter');
  const masterLink = bus.attach('master');
  const meter = scriptedMeter(meterLink, clock, handler, delayMs);
  const master = new Dlt645Master({ link: masterLink, clock, line: DLT645_DEFAULT_LINE, ...options });
  cleanups.push(async () => {
    master.dispose();
    await bus.close();
  });
  return { clock, bus, master, meter, meterLink };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const readDataAnswer: Handler = (f, m) =>
  m.kind === 'readData' ? reply(METER, { kind: 'readDataResponse', di: m.di, payload: energy, hasFollowUp: false }) : null;

describe('Dlt645Master request and reply', () => {
  it('reads a value, sends 4 × FE first, and measures Td as the gap the meter left (within one character time)', async () => {
    const { master, clock } = setup(readDataAnswer, 60);
    const t0 = clock.now();
    const r = await master.readData(METER, '00010000');
    expect(toHex(r.payload)).toBe('56 34 12 00');
    expect(r.address).toBe(METER);
    const x = r.exchanges[0]!;
    expect(toHex(x.request.subarray(0, 5))).toBe('FE FE FE FE 68');
    expect(x.attempts).toBe(1);
    expect(x.sentAt).toBe(t0);
    // 20 request bytes (4 FE + 16-byte 11H frame) on the wire at 2400 8E1.
    expect(x.request.length).toBe(20);
    expect(x.transmittedAt - x.sentAt).toBeCloseTo(20 * CHAR_MS, 2);
    expect(Math.abs(x.responseDelayMs! - 60)).toBeLessThanOrEqual(CHAR_MS);
    expect(x.replyAt! - x.firstByteAt!).toBeCloseTo(x.reply!.raw.length * CHAR_MS, 2);
    expect(x.rejected).toEqual([]);
    expect(master.lastExchange).toBe(x);
  });

  it('measures a 600 ms Td as 600 ms (late reply is still accepted within the 3000 ms timeout)', async () => {
    const { master } = setup(readDataAnswer, 600);
    const r = await master.readData(METER, '00010000');
    expect(Math.abs(r.exchanges[0]!.responseDelayMs! - 600)).toBeLessThanOrEqual(CHAR_MS);
  });

  it('serialises concurrent requests (one at a time)', async () => {
    const { master, meter } = setup(readDataAnswer, 20);
    const [a, b] = await Promise.all([master.readData(METER, '00010000'), master.readData(METER, '00020000')]);
    expect(a.di).toBe('00010000');
    expect(b.di).toBe('00020000');
    expect(b.exchanges[0]!.sentAt).toBeGreaterThanOrEqual(a.exchanges[0]!.replyAt!);
    expect(meter.requests.map((m) => m.kind)).toEqual(['readData', 'readData']);
  });

  it('rejects replies with a foreign address, DI or function code and keeps waiting (ROB-03)', async () => {
    const { master } = setup((f, m) => {
      if (m.kind !== 'readData') return null;
      const good: Dlt645Message = { kind: 'readDataResponse', di: m.di, payload: energy, hasFollowUp: false };
      return [
        reply('999988887777', good), // another meter
        reply(METER, { ...good, di: '00020000' }), // another identifier
        encodeFrame({ address: METER, control: makeControl({ functionCode: 0x13, isResponse: true }), data: hex('12 90 78 56 34 12') }), // 93H
        encodeFrame({ address: METER, control: makeControl({ functionCode: 0x11 }), data: hex('00 00 01 00') }), // D7 = 0
        reply(METER, good),
      ];
    });
    const r = await master.readData(METER, '00010000');
    const x = r.exchanges[0]!;
    expect(x.rejected.map((j) => j.reason)).toEqual(['address', 'di', 'function-code', 'direction']);
    expect(x.rejected[0]!.detail).toContain('999988887777');
    expect(x.rejected[1]!.detail).toContain('00020000');
    expect(x.reply!.frame.address).toBe(METER);
    expect(x.attempts).toBe(1);
  });

  it('turns an abnormal reply into Dlt645AbnormalReplyError with the error word and its names', async () => {
    const { master } = setup((f, m) =>
      m.kind === 'readData' ? reply(METER, { kind: 'errorResponse', functionCode: 0x11, errorWord: 0x02, errors: ['noRequestedData'] }) : null,
    );
    const e = await master.readData(METER, '03010000').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Dlt645AbnormalReplyError);
    const a = e as Dlt645AbnormalReplyError;
    expect(a.errorWord).toBe(0x02);
    expect(a.errors).toEqual(['noRequestedData']);
    expect(a.message).toContain('D1H');
    expect(a.exchange.reply!.frame.control.raw).toBe(0xd1);
  });
});

describe('Dlt645Master timeouts and retries (CON-05)', () => {
  it('makes 3 attempts of 3000 ms against a silent peer, then rejects with a TimeoutError whose stack names the caller', async () => {
    const { master, clock } = setup(() => null);
    const t0 = clock.now();
    const e = await master.readData(METER, '00010000').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Dlt645NoReplyError);
    expect(e).toBeInstanceOf(TimeoutError);
    const err = e as Dlt645NoReplyError;
    expect(err.exchange.attempts).toBe(3);
    expect(err.exchange.attemptLog.map((a) => a.outcome)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(err.message).toMatch(/no reply to readData DI 00010000 from 123456789012 after 3 attempt\(s\) of 3000 ms/);
    expect(err.stack).toContain('dlt645-master.test.ts');
    // Each attempt: 20 bytes on the wire + 3000 ms of silence.
    expect(clock.now() - t0).toBeCloseTo(3 * (20 * CHAR_MS + 3000), 2);
  });

  it('with callSites false: the same error, attempts and instants, without the caller in its stack', async () => {
    const { master, clock } = setup(() => null, 60, { callSites: false });
    const t0 = clock.now();
    const e = await master.readData(METER, '00010000').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(Dlt645NoReplyError);
    const err = e as Dlt645NoReplyError;
    expect(err.exchange.attemptLog.map((a) => a.outcome)).toEqual(['timeout', 'timeout', 'timeout']);
    expect(err.message).toMatch(/no reply to readData DI 00010000 from 123456789012 after 3 attempt\(s\) of 3000 ms/);
    expect(err.stack).not.toContain('dlt645-master.test.ts');
    expect(clock.now() - t0).toBeCloseTo(3 * (20 * CHAR_MS + 3000), 2);
  });

  it('retries after a silent first attempt and counts the attempts', async () => {
    let n = 0;
    const { master } = setup((f, m) => (m.kind === 'readData' && ++n >= 2 ? reply(METER, { kind: 'readDataResponse', di: m.di, payload: energy, hasFollowUp: false }) : null));
    const r = await master.readData(METER, '00010000');
    const x = r.exchanges[0]!;
    expect(x.attempts).toBe(2);
    expect(x.attemptLog.map((a) => a.outcome)).toEqual(['timeout', 'reply']);
    expect(Math.abs(x.responseDelayMs! - 60)).toBeLessThanOrEqual(CHAR_MS);
  });

  it('honours per-request attempts and timeout', async () => {
    const { master, clock } = setup(() => null);
    const t0 = clock.now();
    await expect(master.request(METER, { kind: 'readAddress' }, { attempts: 1, timeoutMs: 500 })).rejects.toThrow(/after 1 attempt\(s\) of 500 ms/);
    expect(clock.now() - t0).toBeCloseTo(16 * CHAR_MS + 500, 2); // 4 FE + 12-byte 13H frame
  });

  it('reports rejected frames in the timeout message', async () => {
    const { master } = setup((f, m) => (m.kind === 'readAddress' ? reply(WILDCARD_ADDRESS, { kind: 'readAddressResponse', address: METER }) : null), 60, {
      attempts: 2,
    });
    const e = (await master.readAddress().catch((x: unknown) => x)) as Dlt645NoReplyError;
    expect(e).toBeInstanceOf(Dlt645NoReplyError);
    expect(e.exchange.rejected.map((r) => r.reason)).toEqual(['wildcard-echo', 'wildcard-echo']);
    expect(e.message).toContain('2 wildcard-echo');
  });
});

describe('Dlt645Master receive discipline: flush on Tb of silence (issue 5, item 3)', () => {
  // 68 A0..A5 68 91 C8: a reply header claiming L = 200 whose body never comes.
  const STALLED = hex('68 12 90 78 56 34 12 68 91 C8');
  const good = (m: Dlt645Message): Uint8Array | null =>
    m.kind === 'readData' ? reply(METER, { kind: 'readDataResponse', di: m.di, payload: energy, hasFollowUp: false }) : null;

  it('a stalled partial reply costs one attempt, not every read after it', async () => {
    let n = 0;
    const { master } = setup((f, m) => (++n === 1 ? STALLED : good(m)));
    const first = await master.readData(METER, '00010000');
    expect(first.exchanges[0]!.attemptLog.map((a) => a.outcome)).toEqual(['timeout', 'reply']);
    expect(first.exchanges[0]!.discarded.map((d) => d.error.code)).toContain('dlt645.truncated');
    for (let i = 0; i < 8; i++) {
      const r = await master.readData(METER, '00010000');
      expect(r.exchanges[0]!.attemptLog.map((a) => a.outcome)).toEqual(['reply']);
    }
  });

  it('a valid reply right behind a stalled partial one is delivered after Tb, with Td of its own first byte', async () => {
    const { master } = setup((f, m) => (m.kind === 'readData' ? [STALLED, good(m)!] : null), 60);
    const r = await master.readData(METER, '00010000');
    const x = r.exchanges[0]!;
    expect(x.attemptLog.map((a) => a.outcome)).toEqual(['reply']);
    expect(r.value).toBe(1234.56);
    // Td is when the good frame started (60 ms + the 10 stalled bytes), not when the flush found it.
    expect(Math.abs(x.responseDelayMs! - (60 + STALLED.length * CHAR_MS))).toBeLessThanOrEqual(CHAR_MS);
    expect(x.discarded.map((d) => d.error.code)).toEqual(['dlt645.truncated']);
  });

  it('bytes pending before a request are decided before it, so they neither delay nor pollute its exchange', async () => {
    const { master, meterLink, clock } = setup((f, m) => good(m), 60);
    // A broken reply left over from before, 50 ms before our request (less than Tb: not yet flushed by silence).
    await meterLink.write(STALLED);
    await clock.advance(50);
    const t0 = clock.now();
    const r = await master.readData(METER, '00010000');
    expect(r.value).toBe(1234.56);
    const x = r.exchanges[0]!;
    expect(x.discarded).toEqual([]);
    // Answered at once, not after the Tb of silence the stalled candidate would otherwise need.
    expect(clock.now() - t0).toBeLessThan(MAX_INTER_BYTE_GAP_MS);
  });

  it('validates interByteTimeoutMs', () => {
    const clock = new VirtualClock();
    const [a] = createMemoryPair();
    expect(() => new Dlt645Master({ link: a, clock, interByteTimeoutMs: 0 })).toThrow(/interByteTimeoutMs/);
  });
});

describe('Dlt645Master wildcard, follow-up, broadcast', () => {
  it('reads the address with 13H to AA..AA and records the replying address', async () => {
    const { master } = setup((f, m) => (m.kind === 'readAddress' ? reply(METER, { kind: 'readAddressResponse', address: METER }) : null));
    await expect(master.readAddress()).resolves.toBe(METER);
    const x = master.lastExchange!;
    expect(x.address).toBe(WILDCARD_ADDRESS);
    expect(x.replyAddress).toBe(METER);
    expect(toHex(x.request)).toBe('FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16');
  });

  it('follows B1 with 12H SEQ 1, 2 and concatenates the payloads', async () => {
    const parts = [hex('01 02 03'), hex('04 05'), hex('06')];
    const { master, meter } = setup((f, m) => {
      if (m.kind === 'readData') return reply(METER, { kind: 'readDataResponse', di: m.di, payload: parts[0]!, hasFollowUp: true });
      if (m.kind === 'readFollowUp') {
        return reply(METER, { kind: 'readFollowUpResponse', di: m.di, payload: parts[m.seq]!, seq: m.seq, hasFollowUp: m.seq < 2 });
      }
      return null;
    });
    const r = await master.readData(METER, '03300001');
    expect(toHex(r.payload)).toBe('01 02 03 04 05 06');
    expect(r.exchanges.map((x) => x.message.kind)).toEqual(['readData', 'readFollowUp', 'readFollowUp']);
    expect(meter.requests.filter((m) => m.kind === 'readFollowUp').map((m) => (m as { seq: number }).seq)).toEqual([1, 2]);
  });

  it('sends request data after the DI (load-record block count and given time), and follow-ups without it', async () => {
    const parts = [hex('A0 A0'), hex('0B')];
    const { master, meter } = setup((f, m) => {
      if (m.kind === 'readData') return reply(METER, { kind: 'readDataResponse', di: m.di, payload: parts[0]!, hasFollowUp: true });
      if (m.kind === 'readFollowUp') return reply(METER, { kind: 'readFollowUpResponse', di: m.di, payload: parts[m.seq]!, seq: m.seq, hasFollowUp: false });
      return null;
    });
    const extra = hex('96 00 00 01 03 26'); // NN = 96 | 2026-03-01 00:00 as mm hh DD MM YY
    const r = await master.readData(METER, '06000001', { extra });
    expect(toHex(r.payload)).toBe('A0 A0 0B');
    // 11 | L = 0A | DI 06000001 (wire 01 00 00 06) + 33H | extra + 33H: C9 33 33 34 36 59
    const first = r.exchanges[0]!.request;
    expect(toHex(first.subarray(4 + 8, 4 + 10 + 10))).toBe('11 0A 34 33 33 39 C9 33 33 34 36 59');
    expect(meter.requests[0]).toEqual({ kind: 'readData', di: '06000001', extra });
    // 12 | L = 05 | DI + SEQ 01: no request data repeated
    expect(meter.requests[1]).toEqual({ kind: 'readFollowUp', di: '06000001', seq: 1 });
    expect(toHex(r.exchanges[1]!.request.subarray(4 + 8, 4 + 10))).toBe('12 05');
    // The caller's array is copied: changing it later does not change what was recorded.
    extra[0] = 0x01;
    expect(toHex((r.exchanges[0]!.message as { extra: Uint8Array }).extra)).toBe('96 00 00 01 03 26');
  });

  it('names the SEQ of a missing follow-up reply', async () => {
    const { master } = setup((f, m) => {
      if (m.kind === 'readData') return reply(METER, { kind: 'readDataResponse', di: m.di, payload: hex('01'), hasFollowUp: true });
      if (m.kind === 'readFollowUp' && m.seq === 1) {
        return reply(METER, { kind: 'readFollowUpResponse', di: m.di, payload: hex('02'), seq: 1, hasFollowUp: true });
      }
      return null;
    }, 60, { attempts: 1 });
    const e = (await master.readData(METER, '03300001').catch((x: unknown) => x)) as Dlt645NoReplyError;
    expect(e).toBeInstanceOf(Dlt645NoReplyError);
    expect(e.seq).toBe(2);
    expect(e.message).toContain('read follow-up (12H) SEQ 2 for DI 03300001');
    expect(e.stack).toContain('dlt645-master.test.ts');
  });

  it('rejects a follow-up reply carrying another SEQ', async () => {
    const { master } = setup((f, m) => {
      if (m.kind === 'readData') return reply(METER, { kind: 'readDataResponse', di: m.di, payload: hex('01'), hasFollowUp: true });
      if (m.kind === 'readFollowUp') {
        return [
          reply(METER, { kind: 'readFollowUpResponse', di: m.di, payload: hex('09'), seq: 7, hasFollowUp: false }),
          reply(METER, { kind: 'readFollowUpResponse', di: m.di, payload: hex('02'), seq: m.seq, hasFollowUp: false }),
        ];
      }
      return null;
    });
    const r = await master.readData(METER, '03300001');
    expect(toHex(r.payload)).toBe('01 02');
    expect(r.exchanges[1]!.rejected.map((x) => x.reason)).toEqual(['seq']);
  });

  it('sends a broadcast time sync without waiting for a reply, and records one that comes anyway', async () => {
    const { master, clock, meter } = setup((f, m) =>
      m.kind === 'broadcastTimeSync' ? reply(METER, { kind: 'readAddressResponse', address: METER }) : null,
    );
    const t0 = clock.now();
    const x = await master.broadcastTimeSync({ year: 2026, month: 3, day: 4, hour: 5, minute: 6, second: 7 });
    expect(meter.requests[0]).toMatchObject({ kind: 'broadcastTimeSync', time: { year: 2026, second: 7 } });
    expect(x.address).toBe('999999999999');
    expect(x.expect).toBe('none');
    expect(x.reply).toBeUndefined();
    expect(x.unexpected).toHaveLength(1);
    expect(clock.now() - t0).toBeCloseTo(x.request.length * CHAR_MS + 500, 2);
  });
});

describe('Dlt645Master sendRaw (robustness)', () => {
  it('reports silence after a frame with a bad checksum, and the reply after a good one', async () => {
    const { master } = setup(readDataAnswer);
    const good = encodeMessage(METER, { kind: 'readData', di: '00010000', extra: new Uint8Array(0) }, { preamble: 4 });
    const bad = new Uint8Array(good);
    bad[bad.length - 2] = (bad[bad.length - 2]! + 1) & 0xff;
    const silent = await master.sendRaw(bad, { listenMs: 1000 });
    expect(silent.silent).toBe(true);
    expect(silent.replies).toEqual([]);
    const answered = await master.sendRaw(good, { expectReply: true, listenMs: 1000 });
    expect(answered.silent).toBe(false);
    expect(answered.replies).toHaveLength(1);
    expect(answered.replies[0]!.message).toMatchObject({ kind: 'readDataResponse', di: '00010000' });
    expect(Math.abs(answered.responseDelayMs! - 60)).toBeLessThanOrEqual(CHAR_MS);
  });

  it('reports noise bytes that are no frame', async () => {
    const clock = new VirtualClock();
    const [a, b] = createMemoryPair();
    b.on('data', () => void b.write(hex('00 11 22')));
    const master = new Dlt645Master({ link: a, clock });
    const r = await master.sendRaw(hex('68 16'), { listenMs: 100 });
    expect(r.silent).toBe(false);
    expect(r.replies).toEqual([]);
    expect(toHex(r.received)).toBe('00 11 22');
    master.dispose();
    await a.close();
  });
});

describe('Dlt645Master and its link', () => {
  it('rejects a pending request with a LinkError when the link closes', async () => {
    const clock = new VirtualClock();
    const [a, b] = createMemoryPair();
    b.on('data', () => void b.close());
    const master = new Dlt645Master({ link: a, clock });
    await expect(master.readAddress()).rejects.toBeInstanceOf(LinkError);
    await expect(master.readAddress()).rejects.toThrow(/closed/);
  });

  it('rejects an invalid address at the caller', () => {
    const clock = new VirtualClock();
    const [a] = createMemoryPair();
    const master = new Dlt645Master({ link: a, clock });
    expect(() => master.request('12345', { kind: 'readAddress' })).toThrow(/address/);
    master.dispose();
  });
});

describe('Dlt645Master timing on links that do not pace bytes', () => {
  it('falls back to delivery instants when the line-time correction would make Td negative (pty, virtual COM port)', async () => {
    // An in-memory pair carries the 20-byte request and the reply instantly, as a socat pty does,
    // while the master believes it is on a 2400 8E1 line (20 × 4.583 ms = 91.7 ms of line time).
    const clock = new VirtualClock();
    const [masterLink, meterLink] = createMemoryPair({ clock });
    scriptedMeter(meterLink, clock, readDataAnswer, 60);
    const master = new Dlt645Master({ link: masterLink, clock, line: DLT645_DEFAULT_LINE });
    cleanups.push(async () => {
      master.dispose();
      await masterLink.close();
    });
    const r = await master.readData(METER, '00010000');
    const x = r.exchanges[0]!;
    expect(x.timing).toBe('unpaced');
    expect(x.responseDelayMs).toBe(60);
  });

  it('keeps the corrected value on a paced line', async () => {
    const { master } = setup(readDataAnswer, 60);
    const x = (await master.readData(METER, '00010000')).exchanges[0]!;
    expect(x.timing).toBe('paced');
    expect(x.responseDelayMs).toBeCloseTo(60, 0);
  });
});
