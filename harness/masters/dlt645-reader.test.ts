/**
 * Dlt645Reader against scripted peers on the RS-485 bus model, in virtual time, checked against
 * Dlt645Master.readData on the same script: the same request bytes, outcome, payload, attempts,
 * characters exchanged and Td, with frame delivery (the reader's fast path) and byte delivery
 * (every frame through the scanner).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';
import { Rs485Bus, type BusDelivery } from '../links/bus.ts';
import { DLT645_DEFAULT_LINE, type Link } from '../links/link.ts';
import { Dlt645FrameScanner, encodeMessage, type Dlt645Frame, type Dlt645Message } from '../protocols/dlt645/index.ts';
import { Dlt645AbnormalReplyError, Dlt645Master, Dlt645NoReplyError, type Exchange } from './index.ts';
import { Dlt645Reader, type ReadOutcome } from './dlt645-reader.ts';

const METER = '123456789012';
const OTHER = '123456789013';
const DI = '00010000';

type Handler = (frame: Dlt645Frame, message: Dlt645Message, n: number) => readonly Uint8Array[];

/** A scripted meter: answers the n-th request (from 0) with the handler's byte runs after `delayMs`, one write each. */
function scriptedMeter(link: Link, clock: VirtualClock, handler: Handler, delayMs: number): void {
  const scanner = new Dlt645FrameScanner();
  let n = 0;
  link.on('data', (chunk) => {
    for (const e of scanner.push(chunk)) {
      if (e.type !== 'frame' || !e.message.ok) continue;
      const answer = handler(e.decoded.frame, e.message.value, n++);
      // A late answer may still be due when the test has closed the bus: its write then fails.
      (async () => {
        await clock.sleep(delayMs);
        for (const f of answer) await link.write(f);
      })().catch(() => undefined);
    }
  });
}

const reply = (address: string, m: Dlt645Message): Uint8Array => encodeMessage(address, m, { preamble: 2 });
const value = (di: string, payload: Uint8Array, hasFollowUp = false): Dlt645Message => ({ kind: 'readDataResponse', di, payload, hasFollowUp });

interface Read {
  outcome: ReadOutcome;
  payload: string;
  exchanges: number;
  attempts: number;
  timeouts: number;
  characters: number;
  replyDelayMs: number;
  simulatedMs: number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function bench(handler: Handler, delivery: BusDelivery, delayMs: number) {
  const clock = new VirtualClock();
  const bus = new Rs485Bus({ clock, line: DLT645_DEFAULT_LINE, delivery });
  scriptedMeter(bus.attach('meter'), clock, handler, delayMs);
  const link = bus.attach('master');
  cleanups.push(() => bus.close());
  return { clock, link };
}

/** Reads `di` with the general master; the counts the reader keeps, from its exchange records. */
async function withMaster(handler: Handler, delivery: BusDelivery, delayMs: number, di = DI): Promise<Read> {
  const { clock, link } = bench(handler, delivery, delayMs);
  const master = new Dlt645Master({ link, clock, line: DLT645_DEFAULT_LINE, timeoutMs: 1000 });
  const r: Read = { outcome: 'ok', payload: '', exchanges: 0, attempts: 0, timeouts: 0, characters: 0, replyDelayMs: 0, simulatedMs: 0 };
  master.on('exchange', (x: Exchange) => {
    r.exchanges++;
    r.attempts += x.attempts;
    r.timeouts += x.attemptLog.filter((a) => a.outcome === 'timeout').length;
    r.characters += x.request.length * x.attempts + (x.reply?.raw.length ?? 0);
    for (const f of x.rejected) r.characters += f.raw.length;
    for (const d of x.discarded) r.characters += d.bytes.length;
    r.replyDelayMs += x.responseDelayMs ?? 0;
  });
  const t0 = clock.now();
  try {
    r.payload = toHex((await master.readData(METER, di)).payload);
  } catch (e) {
    r.outcome = e instanceof Dlt645NoReplyError ? 'no-reply' : e instanceof Dlt645AbnormalReplyError ? 'abnormal' : 'protocol';
  }
  r.simulatedMs = clock.now() - t0;
  master.dispose();
  return r;
}

async function withReader(handler: Handler, delivery: BusDelivery, delayMs: number, di = DI): Promise<Read> {
  const { clock, link } = bench(handler, delivery, delayMs);
  const reader = new Dlt645Reader({ link, clock, line: DLT645_DEFAULT_LINE, timeoutMs: 1000 });
  const t0 = clock.now();
  const [outcome, payload] = await new Promise<[ReadOutcome, string]>((resolve) =>
    reader.read(METER, di, (o, p, n) => resolve([o, toHex(p.subarray(0, n))])),
  );
  const simulatedMs = clock.now() - t0;
  reader.dispose();
  return { outcome, payload, ...reader.stats, simulatedMs };
}

const energy = hex('56 34 12 00');
const scripts: Record<string, { handler: Handler; delayMs?: number; di?: string }> = {
  plain: { handler: (_f, m) => [reply(METER, value((m as { di: string }).di, energy))] },
  'a foreign reply, then the right one': { handler: (_f, m) => [reply(OTHER, value((m as { di: string }).di, energy)), reply(METER, value((m as { di: string }).di, energy))] },
  'noise, then the reply': { handler: (_f, m) => [hex('00 68 12 FF'), reply(METER, value((m as { di: string }).di, energy))] },
  'a reply for another DI, then silence': { handler: () => [reply(METER, value('00020000', energy))] },
  'an abnormal reply': { handler: () => [reply(METER, { kind: 'errorResponse', functionCode: 0x11, errorWord: 0x02, errors: ['noRequestedData'] })] },
  silence: { handler: () => [] },
  'a reply later than the timeout (it lands in the next attempt)': { handler: (_f, m) => [reply(METER, value((m as { di: string }).di, energy))], delayMs: 1100 },
  'a bad checksum on the first attempt only': {
    handler: (_f, m, n) => {
      const f = reply(METER, value((m as { di: string }).di, energy));
      if (n === 0) f[f.length - 2] = (f[f.length - 2]! + 1) & 0xff;
      return [f];
    },
  },
  'follow-up frames (12H SEQ 1, 2)': {
    handler: (_f, m) => {
      if (m.kind === 'readData') return [reply(METER, value(m.di, hex('01'), true))];
      if (m.kind === 'readFollowUp') return [reply(METER, { kind: 'readFollowUpResponse', di: m.di, payload: hex(m.seq === 1 ? '02 03' : '04'), seq: m.seq, hasFollowUp: m.seq < 2 })];
      return [];
    },
  },
};

describe('Dlt645Reader', () => {
  for (const delivery of ['frame', 'byte'] as const) {
    for (const [name, s] of Object.entries(scripts)) {
      it(`reads what Dlt645Master.readData reads (${delivery} delivery): ${name}`, async () => {
        const delay = s.delayMs ?? 60;
        const expected = await withMaster(s.handler, delivery, delay, s.di);
        expect(await withReader(s.handler, delivery, delay, s.di)).toEqual(expected);
      });
    }
  }

  it('sends the bytes encodeMessage gives for 11H, from its reused buffer', async () => {
    const clock = new VirtualClock();
    const bus = new Rs485Bus({ clock, line: DLT645_DEFAULT_LINE });
    const sent: string[] = [];
    bus.attach('meter').on('data', (c) => sent.push(toHex(c)));
    const reader = new Dlt645Reader({ link: bus.attach('master'), clock, line: DLT645_DEFAULT_LINE, attempts: 1, timeoutMs: 100 });
    for (const [address, di] of [[METER, '00010000'], [METER, '0201ff00'], [OTHER, '04000401']] as const) {
      await new Promise<void>((resolve) => reader.read(address, di, () => resolve()));
      expect(sent.pop()).toBe(toHex(encodeMessage(address, { kind: 'readData', di: di.toUpperCase(), extra: new Uint8Array(0) }, { preamble: 4 })));
    }
    reader.dispose();
    await bus.close();
  });

  it('reads one item at a time and one meter by its 12-digit address; a closed link ends the read at once', async () => {
    const clock = new VirtualClock();
    const bus = new Rs485Bus({ clock, line: DLT645_DEFAULT_LINE });
    const link = bus.attach('master');
    const reader = new Dlt645Reader({ link, clock });
    expect(() => reader.read('AAAAAAAAAAAA', DI, () => undefined)).toThrow(UsageError);
    reader.read(METER, DI, () => undefined);
    expect(() => reader.read(METER, DI, () => undefined)).toThrow(/one item at a time/);
    await bus.close();
    const ended: ReadOutcome[] = [];
    reader.read(METER, DI, (o) => ended.push(o));
    expect(ended).toEqual(['link']);
    expect(reader.lastError?.name).toBe('LinkError');
    reader.dispose();
  });
});
