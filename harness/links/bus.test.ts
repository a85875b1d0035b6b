import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import { Rs485Bus, sampleCharacter } from './bus.ts';
import { characterTimeMs, DLT645_DEFAULT_LINE, type LineSettings, type Link } from './link.ts';

/** DL/T 645 read request for 00010000 (combined active energy) to address 123456789012. */
const REQUEST = hex('68 12 90 78 56 34 12 68 11 04 33 33 34 33 B3 16');
const TEN = hex('00 01 02 03 04 05 06 07 08 09');
const LINE_9600: LineSettings = { ...DLT645_DEFAULT_LINE, baudRate: 9600 };

/** Each byte a link hears with its arrival instant: from the chunk's timing when given, else the event's instant. */
function arrivals(link: Link, clock: VirtualClock): { t: number; b: number }[] {
  const out: { t: number; b: number }[] = [];
  link.on('data', (c, timing) => {
    c.forEach((b, k) => out.push({ t: timing ? timing.firstByteAt + k * timing.characterTimeMs : clock.now(), b }));
    // The chunk's last byte has arrived by the instant of the event (at it, but for a hand-over).
    if (timing) expect(timing.firstByteAt + (c.length - 1) * timing.characterTimeMs).toBeLessThanOrEqual(clock.now() + 1e-6);
  });
  return out;
}

describe.each(['byte', 'frame'] as const)('Rs485Bus timing (%s delivery)', (delivery) => {
  it('carries 10 bytes at 2400 8E1 in 10 x 11/2400 s = 45.833 ms, one byte per character time', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    const master = bus.attach('master');
    const meter = bus.attach('meter');
    const got = arrivals(meter, clock);
    expect(characterTimeMs(DLT645_DEFAULT_LINE)).toBeCloseTo(4.5833, 4);
    await master.write(TEN);
    expect(clock.now()).toBeCloseTo(45.8333, 3); // write resolves when the last byte is off the wire
    expect(got.map((x) => x.b)).toEqual([...TEN]);
    got.forEach((x, k) => expect(x.t).toBeCloseTo(((k + 1) * 11 * 1000) / 2400, 6));
    expect(master.name).toBe('bus:master');
    expect(bus.stats).toMatchObject({ bytes: 10, frames: 1, collisions: 0 });
  });

  it('is 4 times faster at 9600 baud', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, line: LINE_9600, delivery });
    const master = bus.attach('master');
    const got = arrivals(bus.attach('meter'), clock);
    await master.write(TEN);
    expect(clock.now()).toBeCloseTo(45.8333 / 4, 3);
    expect(got[0]!.t).toBeCloseTo(11 / 9.6, 6);
  });

  it('queues a node\'s own writes back to back and tracks idleSince', async () => {
    const clock = new VirtualClock({ start: 1000 });
    const bus = new Rs485Bus({ clock, delivery });
    const master = bus.attach('master');
    const got = arrivals(bus.attach('meter'), clock);
    expect(bus.idleSince).toBe(1000);
    const first = master.write(hex('01 02'));
    const second = master.write(hex('03'));
    expect(bus.idleSince).toBeNull();
    await Promise.all([first, second]);
    const ct = characterTimeMs(DLT645_DEFAULT_LINE);
    expect(got.map((x) => x.t - 1000)).toEqual([ct, 2 * ct, 3 * ct].map((v) => expect.closeTo(v, 6)));
    expect(bus.idleSince).toBeCloseTo(1000 + 3 * ct, 6);
    expect(bus.stats.collisions).toBe(0);
  });

  it('delivers every byte to every other node, never back to the sender', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    const master = bus.attach('master');
    const m1 = bus.attach('meter-1');
    const m2 = bus.attach('meter-2');
    const gotMaster = arrivals(master, clock);
    const got1 = arrivals(m1, clock);
    const got2 = arrivals(m2, clock);
    await master.write(REQUEST);
    expect(toHex(Uint8Array.from(got1.map((x) => x.b)))).toBe(toHex(REQUEST));
    expect(toHex(Uint8Array.from(got2.map((x) => x.b)))).toBe(toHex(REQUEST));
    expect(gotMaster).toEqual([]);
    // The meter answers after the request: master and the other meter hear it.
    await m1.write(hex('68 16'));
    expect(gotMaster.map((x) => x.b)).toEqual([0x68, 0x16]);
    expect(got2.map((x) => x.b).slice(-2)).toEqual([0x68, 0x16]);
    expect(bus.nodeNames).toEqual(['master', 'meter-1', 'meter-2']);
  });

  it('a closed node stops hearing and its unsent bytes are dropped', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    const master = bus.attach('master');
    const meter = bus.attach('meter');
    const got = arrivals(meter, clock);
    const w = master.write(TEN);
    await clock.sleep(12); // two characters on the wire
    await master.close();
    await expect(w).rejects.toBeInstanceOf(LinkError);
    expect(got).toHaveLength(2);
    expect(bus.idleSince).not.toBeNull();
    await expect(master.write(TEN)).rejects.toThrow(/bus:master is closed/);
    expect(() => bus.attach('meter')).toThrow(LinkError);
  });
});

describe.each(['byte', 'frame'] as const)('Rs485Bus collisions (%s delivery)', (delivery) => {
  it('corrupts overlapping characters (bitwise OR) and counts the collision', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    const a = bus.attach('a');
    const b = bus.attach('b');
    const c = bus.attach('listener');
    const heardByC = arrivals(c, clock);
    const heardByA = arrivals(a, clock);
    const wa = a.write(hex('01 01 01 01'));
    await clock.sleep(characterTimeMs(DLT645_DEFAULT_LINE) * 2); // b starts while a's third byte starts
    const wb = b.write(hex('10 10'));
    await Promise.all([wa, wb]);
    expect(bus.stats.collisions).toBe(1);
    expect(bus.stats.collidedBytes).toBe(4); // a's bytes 2 and 3, b's bytes 0 and 1
    // The listener hears a's 4 characters (last two corrupted) interleaved with b's 2 (corrupted).
    expect(heardByC.map((x) => x.b)).toEqual([0x01, 0x01, 0x11, 0x11, 0x11, 0x11]);
    expect(heardByA.map((x) => x.b)).toEqual([0x11, 0x11]);
  });

  it('does not count back-to-back transmissions as a collision', async () => {
    const clock = new VirtualClock(); // epoch-sized times: fractional ms lose precision there

    const bus = new Rs485Bus({ clock, delivery });
    const master = bus.attach('master');
    const meter = bus.attach('meter');
    meter.on('data', () => undefined);
    await master.write(REQUEST);
    await meter.write(hex('68 16')); // starts the instant the request ends
    await master.write(REQUEST);
    await Promise.all([meter.write(hex('68 16')), clock.sleep(0)]);
    expect(bus.stats.collisions).toBe(0);
  });

  it('misaligned overlap corrupts every character it touches', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    const a = bus.attach('a');
    const b = bus.attach('b', { line: LINE_9600 }); // a fast node, colliding mid-character
    const c = bus.attach('c');
    const heard = arrivals(c, clock);
    const wa = a.write(hex('80'));
    await clock.sleep(1);
    const wb = b.write(hex('01 02')); // 2.29 ms of 9600-baud characters inside a's 4.58 ms character
    await Promise.all([wa, wb]);
    expect(bus.stats.collisions).toBe(1);
    expect(bus.stats.collidedBytes).toBe(3);
    // c runs at 2400: b's 9600-baud characters are garbled for it anyway; a's character is 80|01|02.
    expect(heard[heard.length - 1]!.b).toBe(0x83);
  });
});

describe.each(['byte', 'frame'] as const)('Rs485Bus line mismatch (%s delivery)', (delivery) => {
  it('a node at another baud rate receives garbled bytes, one per character', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    const master = bus.attach('master');
    const changed = bus.attach('meter-after-baud-change', { line: LINE_9600 });
    const same = bus.attach('meter-2400');
    const got = arrivals(changed, clock);
    const ok = arrivals(same, clock);
    await master.write(REQUEST);
    expect(ok.map((x) => x.b)).toEqual([...REQUEST]);
    expect(got).toHaveLength(REQUEST.length);
    expect(got.map((x) => x.b)).not.toEqual([...REQUEST]);
    expect(bus.stats.garbledBytes).toBe(REQUEST.length);
    // Deterministic: a second run garbles identically.
    const clock2 = new VirtualClock({ start: 0 });
    const bus2 = new Rs485Bus({ clock: clock2, delivery });
    const m2 = bus2.attach('master');
    const got2 = arrivals(bus2.attach('x', { line: LINE_9600 }), clock2);
    await m2.write(REQUEST);
    expect(got2.map((x) => x.b)).toEqual(got.map((x) => x.b));
  });

  it('after setLine the node understands the new rate', async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    const master = bus.attach('master', { line: LINE_9600 });
    const meter = bus.attach('meter');
    const got = arrivals(meter, clock);
    await master.write(hex('68'));
    expect(got[0]!.b).not.toBe(0x68);
    meter.setLine(LINE_9600);
    await master.write(hex('68'));
    expect(got[1]!.b).toBe(0x68);
  });

  it('samples characters like a UART: parity and framing errors read as 00', () => {
    const e = DLT645_DEFAULT_LINE;
    const o: LineSettings = { ...e, parity: 'odd' };
    const n: LineSettings = { ...e, parity: 'none' };
    const e2: LineSettings = { ...e, stopBits: 2 };
    for (let v = 0; v < 256; v++) expect(sampleCharacter(v, e, e)).toBe(v);
    for (let v = 0; v < 256; v++) expect(sampleCharacter(v, e, o)).toBe(0); // every parity bit wrong
    for (let v = 0; v < 256; v++) expect(sampleCharacter(v, e, e2)).toBe(v); // stop bits alone are harmless
    // 8E1 read as 8N1: the parity bit lands where the stop bit should be.
    expect(sampleCharacter(0x68, e, n)).toBe(0x68); // 0x68 has odd ones -> parity 1 -> looks like a stop bit
    expect(sampleCharacter(0x33, e, n)).toBe(0); // even ones -> parity 0 -> framing error
    expect(sampleCharacter(0x68, e, LINE_9600)).toBe(0); // a fast receiver sees a long start bit
  });
});

/**
 * One scenario run with byte and with frame delivery: every node must hear the same bytes at the
 * same instants (from the chunk timing in frame mode); frame mode must need fewer events.
 */
async function bothModes(
  scenario: (bus: Rs485Bus, clock: VirtualClock, hear: (link: Link) => { t: number; b: number }[]) => Promise<void>,
): Promise<{ byte: { t: number; b: number }[][]; frame: { t: number; b: number }[][]; events: Record<'byte' | 'frame', number>; stats: Record<'byte' | 'frame', unknown> }> {
  const heard = { byte: [] as { t: number; b: number }[][], frame: [] as { t: number; b: number }[][] };
  const events = { byte: 0, frame: 0 };
  const stats: Record<'byte' | 'frame', unknown> = { byte: undefined, frame: undefined };
  for (const delivery of ['byte', 'frame'] as const) {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock, delivery });
    await scenario(bus, clock, (link) => {
      link.on('data', () => events[delivery]++);
      const got = arrivals(link, clock);
      heard[delivery].push(got);
      return got;
    });
    stats[delivery] = { ...bus.stats };
  }
  return { ...heard, events, stats };
}

function expectSameArrivals(a: { t: number; b: number }[][], b: { t: number; b: number }[][]): void {
  expect(a.map((x) => x.map((y) => y.b))).toEqual(b.map((x) => x.map((y) => y.b)));
  a.forEach((x, i) => x.forEach((y, k) => expect(y.t).toBeCloseTo(b[i]![k]!.t, 6)));
}

describe('Rs485Bus frame delivery is byte delivery, one event per write', () => {
  it('a request and a reply: same bytes at the same instants, 2 events instead of 36', async () => {
    const r = await bothModes(async (bus, clock, hear) => {
      const master = bus.attach('master');
      const meter = bus.attach('meter');
      hear(master);
      hear(meter);
      await master.write(REQUEST);
      await clock.sleep(37); // Td
      await meter.write(hex('68 12 90 78 56 34 12 68 91 08 33 33 34 33 33 33 43 33 C8 16'));
    });
    expectSameArrivals(r.frame, r.byte);
    expect(r.events).toEqual({ byte: 36, frame: 2 });
    expect(r.frame[0]![0]!.t).toBeCloseTo(16 * (11000 / 2400) + 37 + 11000 / 2400, 6);
    expect(r.stats.frame).toEqual(r.stats.byte);
  });

  it('a write that starts exactly when another ends does not collide and both stay one event', async () => {
    const r = await bothModes(async (bus, clock, hear) => {
      const a = bus.attach('a');
      const b = bus.attach('b');
      hear(bus.attach('listener'));
      const wa = a.write(TEN);
      await clock.sleep(10 * characterTimeMs(DLT645_DEFAULT_LINE)); // the instant a's last byte arrives
      await Promise.all([wa, b.write(hex('68 16'))]);
    });
    expectSameArrivals(r.frame, r.byte);
    expect(r.events.frame).toBe(2);
    expect(r.stats.frame).toMatchObject({ collisions: 0, collidedBytes: 0 });
  });

  it('overlapping writes go byte by byte: the same corrupted characters, interleaved as on the line', async () => {
    const r = await bothModes(async (bus, clock, hear) => {
      const a = bus.attach('a');
      const b = bus.attach('b');
      hear(bus.attach('listener'));
      hear(a);
      hear(b);
      const wa = a.write(hex('01 02 04 08 10 20'));
      await clock.sleep(characterTimeMs(DLT645_DEFAULT_LINE) * 2.5); // mid-character: misaligned overlap
      await Promise.all([wa, b.write(hex('40 80 40'))]);
    });
    expectSameArrivals(r.frame, r.byte);
    expect(r.stats.frame).toEqual(r.stats.byte);
    expect(r.stats.frame).toMatchObject({ collisions: 1, collidedBytes: 7 });
    // The listener hears a's first two characters clean, then corrupted ones from both writes.
    expect(r.frame[0]!.slice(0, 2).map((x) => x.b)).toEqual([0x01, 0x02]);
    expect(r.frame[0]!).toHaveLength(9);
  });

  it('a transmitter that closes mid-frame: the others hear what had arrived, at its instants', async () => {
    const r = await bothModes(async (bus, clock, hear) => {
      const master = bus.attach('master');
      hear(bus.attach('meter'));
      const w = master.write(TEN);
      await clock.sleep(12); // two characters have arrived
      await master.close();
      await expect(w).rejects.toBeInstanceOf(LinkError);
      await clock.sleep(100);
    });
    expectSameArrivals(r.frame, r.byte);
    expect(r.frame[0]).toHaveLength(2);
  });

  it('a receiver that closes mid-frame heard what had arrived before it closed, the others hear it all', async () => {
    const r = await bothModes(async (bus, clock, hear) => {
      const master = bus.attach('master');
      const leaving = bus.attach('leaving');
      hear(leaving);
      hear(bus.attach('staying'));
      const w = master.write(TEN);
      await clock.sleep(20); // four characters have arrived
      await leaving.close();
      await w;
    });
    expectSameArrivals(r.frame, r.byte);
    expect(r.frame.map((x) => x.length)).toEqual([4, 10]);
    expect(r.events.frame).toBe(3); // the hand-over on close to both, then the rest to the one still open
  });

  it('setLine mid-frame: characters before it are sampled with the old settings, after it with the new', async () => {
    const r = await bothModes(async (bus, clock, hear) => {
      const master = bus.attach('master');
      const meter = bus.attach('meter');
      hear(meter);
      const w = master.write(REQUEST);
      await clock.sleep(30); // six characters have arrived
      meter.setLine(LINE_9600);
      await w;
    });
    expectSameArrivals(r.frame, r.byte);
    expect(r.frame[0]!.slice(0, 6).map((x) => x.b)).toEqual([...REQUEST.subarray(0, 6)]);
    expect(r.frame[0]!.slice(6).map((x) => x.b)).not.toEqual([...REQUEST.subarray(6)]);
    expect(r.stats.frame).toEqual(r.stats.byte);
  });

  it('a node attached mid-frame hears only the characters that arrive after it joined', async () => {
    const r = await bothModes(async (bus, clock, hear) => {
      const master = bus.attach('master');
      hear(bus.attach('early'));
      const w = master.write(TEN);
      await clock.sleep(20);
      hear(bus.attach('late'));
      await w;
    });
    expectSameArrivals(r.frame, r.byte);
    expect(r.frame.map((x) => x.map((y) => y.b))).toEqual([[...TEN], [...TEN.subarray(4)]]);
  });

  it("a node attached with delivery 'byte' makes every write go byte by byte while it is open", async () => {
    const clock = new VirtualClock({ start: 0 });
    const bus = new Rs485Bus({ clock }); // frame by default
    expect(bus.delivery).toBe('frame');
    const master = bus.attach('master');
    const meter = bus.attach('meter');
    let events = 0;
    meter.on('data', () => events++);
    await master.write(TEN);
    expect(events).toBe(1);
    const sniffer = bus.attach('sniffer', { delivery: 'byte' });
    const sniffed = arrivals(sniffer, clock);
    await master.write(TEN);
    expect(events).toBe(11);
    expect(sniffed).toHaveLength(10);
    await sniffer.close();
    await master.write(TEN);
    expect(events).toBe(12);
  });
});

describe('Rs485Bus receive filters (link.ts ReceiveFilter)', () => {
  // Classifies a chunk by its first byte, and only chunks of 2 bytes or more (else: everyone).
  const classify = (chunk: Uint8Array): number | undefined => (chunk.length >= 2 ? chunk[0] : undefined);

  it('withholds a whole chunk classified as another key, on the transmitter line only, and shares one classification', async () => {
    const clock = new VirtualClock({ autoAdvance: false });
    const bus = new Rs485Bus({ clock });
    const tx = bus.attach('tx');
    const a = bus.attach('a');
    const b = bus.attach('b');
    const slow = bus.attach('slow', { line: LINE_9600 });
    const plain = bus.attach('plain');
    let calls = 0;
    const counted = (chunk: Uint8Array): number | undefined => (calls++, classify(chunk));
    a.setReceiveFilter({ classify: counted, key: 1 });
    b.setReceiveFilter({ classify: counted, key: 2 });
    slow.setReceiveFilter({ classify: counted, key: 2 });
    const heard = { a: [] as string[], b: [] as string[], slow: [] as number[], plain: [] as string[] };
    a.on('data', (c) => heard.a.push(toHex(c)));
    b.on('data', (c) => heard.b.push(toHex(c)));
    slow.on('data', (c) => heard.slow.push(c.length));
    plain.on('data', (c) => heard.plain.push(toHex(c)));
    void tx.write(hex('01 AA'));
    void tx.write(hex('02 BB'));
    void tx.write(hex('01'));
    void tx.write(hex('07 CC'));
    await clock.advance(1000);
    expect(heard.a).toEqual(['01 AA', '01']);
    expect(heard.b).toEqual(['02 BB', '01']);
    // Another line: hears (garbled) every chunk, filter or not.
    expect(heard.slow).toEqual([2, 2, 1, 2]);
    expect(heard.plain).toEqual(['01 AA', '02 BB', '01', '07 CC']);
    expect(bus.stats.withheld).toBe(4); // 01 AA to b, 02 BB to a, 07 CC to a and b
    expect(calls).toBe(4); // once per chunk for a and b together
    // Cleared: hears everything again.
    a.setReceiveFilter(undefined);
    void tx.write(hex('02 DD'));
    await clock.advance(1000);
    expect(heard.a.at(-1)).toBe('02 DD');
  });

  it('hands every receiver on the transmitter line the same read-only chunk', async () => {
    const clock = new VirtualClock({ autoAdvance: false });
    const bus = new Rs485Bus({ clock });
    const tx = bus.attach('tx');
    const chunks: Uint8Array[] = [];
    for (const n of ['a', 'b']) bus.attach(n).on('data', (c) => chunks.push(c));
    const sent = hex('01 02 03');
    void tx.write(sent);
    sent[0] = 0xff; // the writer's buffer is copied at write()
    await clock.advance(1000);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toBe(chunks[1]);
    expect(toHex(chunks[0]!)).toBe('01 02 03');
  });
});
