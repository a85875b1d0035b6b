/**
 * Gw1376Master.readCurve / readCurves (AFN 0D F81 / F89 / F101, COL-12) against a scripted
 * terminal (gw1376-test-support.ts) on a memory pair, in virtual time: the request's Td_c on the
 * wire, the decoded points with EEH as null, several points over a multi-frame reply, a deny, and
 * a terminal that answers another span.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { EncodeError, UsageError } from '../core/errors.ts';
import { createMemoryPair } from '../links/memory.ts';
import { Afn, items, type Gw1376Message, type UnitValue } from '../protocols/gw1376/index.ts';
import { Gw1376Master, Gw1376ProtocolError } from './gw1376-master.ts';
import { ScriptedGw1376Terminal, type TerminalAnswer } from './gw1376-test-support.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

type Answer = (m: Gw1376Message, t: ScriptedGw1376Terminal) => TerminalAnswer;

/** A master and a scripted terminal 0200/1234H that has logged in and answers requests with `answer`. */
async function loggedIn(answer: Answer) {
  const clock = new VirtualClock({ autoAdvance: false, start: Date.UTC(2026, 2, 10, 2, 0, 0) });
  const [masterLink, terminalLink] = createMemoryPair({ names: ['memory:master', 'memory:terminal'] });
  const master = new Gw1376Master({ link: masterLink, clock });
  const terminal = new ScriptedGw1376Terminal({ link: terminalLink, areaCode: '0200', terminal: 0x1234, handler: (m, t) => (m.frame.control.prm ? answer(m, t) : null) });
  cleanups.push(async () => {
    master.dispose();
    await masterLink.close();
  });
  terminal.linkTest(1);
  await clock.advance(0);
  expect(master.terminal).toBeDefined();
  return { clock, master, terminal };
}

/** A reply giving each requested (pn, Fn) the points `points(pn, fn, n)` with the request's Td_c. */
function curveAnswer(points: (pn: number, fn: number, n: number) => (number | null)[]): Answer {
  return (m, t) => {
    const units = items(m).map((it) => {
      const v = it.value!;
      const n = v.pointCount as number;
      return { pn: it.pn as number, fn: it.fn, value: { ...v, points: points(it.pn as number, it.fn, n).map((value) => ({ value })) } };
    });
    return t.reply(m, Afn.class2Data, units);
  };
}

describe('Gw1376Master.readCurve', () => {
  it('sends Td_c (start, density, n) under AFN 0D F81 and gives the points, EEH as null', async () => {
    const { master, terminal } = await loggedIn(curveAnswer(() => [1.5, -0.25, null, 79.9999]));
    const c = await master.readCurve(81, 1, '2026-03-09 23:30', 1, 4);
    expect(c).toEqual({ pn: 1, fn: 81, start: '2026-03-09 23:30', density: 1, intervalMinutes: 15, points: [1.5, -0.25, null, 79.9999] });
    const req = terminal.requests.at(-1)!;
    expect(req.frame.afn).toBe(Afn.class2Data);
    expect(req.frame.control.functionCode).toBe(11);
    const unit = items(req)[0]!;
    expect([unit.pn, unit.fn]).toEqual([1, 81]);
    expect(toHex(unit.data)).toBe('30 23 09 03 26 01 04'); // A.15 mm hh DD MM YY, m 1, n 4
  });

  it('takes the start as ms on a whole minute in the terminal local time (UTC+8 by default)', async () => {
    const { master, terminal } = await loggedIn(curveAnswer((_pn, _fn, n) => Array.from({ length: n }, () => 220.5)));
    const c = await master.readCurve(89, 3, Date.UTC(2026, 2, 8, 16, 0), 3, 24);
    expect(c?.start).toBe('2026-03-09 00:00');
    expect(c?.intervalMinutes).toBe(60);
    expect(c?.points).toHaveLength(24);
    expect(items(terminal.requests.at(-1)!)[0]!.value).toEqual({ start: '2026-03-09 00:00', density: 3, pointCount: 24 });
    await expect(master.readCurve(89, 3, Date.UTC(2026, 2, 8, 16, 0, 30), 1, 1)).rejects.toThrow(UsageError);
  });

  it('reads F81/F89/F101 of many points in one request; the multi-frame reply is joined, a point left out is missing', async () => {
    const value = (pn: number, fn: number, i: number): number => (fn === 81 ? pn + i / 10_000 : fn === 89 ? 200 + pn + i / 10 : 1000 * pn + i / 100);
    const { master, terminal } = await loggedIn((m, t) => {
      const units = items(m)
        .filter((it) => it.pn !== 7)
        .map((it) => ({ pn: it.pn as number, fn: it.fn, value: { ...it.value!, points: Array.from({ length: 96 }, (_, i) => ({ value: value(it.pn as number, it.fn, i) })) } as UnitValue }));
      // Two frames: first the F81 units, then the rest.
      const p = m.frame.seq.seq;
      return [
        t.reply(m, Afn.class2Data, units.filter((u) => u.fn === 81), { position: 'first', seq: p }),
        t.reply(m, Afn.class2Data, units.filter((u) => u.fn !== 81), { position: 'last', seq: (p + 1) & 15 }),
      ];
    });
    const wanted = [1, 2, 7].flatMap((pn) => [81, 89, 101].map((fn) => ({ pn, fn })));
    const got = await master.readCurves(wanted, '2026-03-09 00:00', 1, 96);
    expect(terminal.requests).toHaveLength(1);
    expect(got.map((c) => [c.pn, c.fn])).toEqual([
      [1, 81],
      [2, 81],
      [1, 89],
      [2, 89],
      [1, 101],
      [2, 101],
    ]);
    for (const c of got) expect(c.points).toEqual(Array.from({ length: 96 }, (_, i) => value(c.pn, c.fn, i)));
  });

  it('a deny (AFN 00 F2): null / no curves', async () => {
    const { master } = await loggedIn((m, t) => t.deny(m));
    expect(await master.readCurve(101, 1, '2026-03-09 00:00', 1, 96)).toBeNull();
    expect(await master.readCurves([{ pn: 1, fn: 101 }], '2026-03-09 00:00', 1, 96)).toEqual([]);
  });

  it('a reply for another span or another point is a Gw1376ProtocolError; bad arguments are refused before sending', async () => {
    let shift = true;
    const { master, terminal } = await loggedIn((m, t) => {
      const it = items(m)[0]!;
      const v = { ...it.value!, points: [{ value: 1 }] };
      return t.reply(m, Afn.class2Data, [shift ? { pn: 1, fn: 81, value: { ...v, start: '2026-03-09 00:15' } } : { pn: 2, fn: 81, value: v }]);
    });
    await expect(master.readCurve(81, 1, '2026-03-09 00:00', 1, 1)).rejects.toThrow(Gw1376ProtocolError);
    shift = false;
    await expect(master.readCurve(81, 1, '2026-03-09 00:00', 1, 1)).rejects.toThrow(/not asked for/);
    const sent = terminal.requests.length;
    await expect(master.readCurve(161, 1, '2026-03-09 00:00', 1, 1)).rejects.toThrow(UsageError);
    await expect(master.readCurve(81, 0, '2026-03-09 00:00', 1, 1)).rejects.toThrow(UsageError);
    await expect(master.readCurve(81, 1, '2026-03-09 00:00', 1, 256)).rejects.toThrow(EncodeError);
    await expect(master.readCurve(81, 1, '9 March', 1, 1)).rejects.toThrow(EncodeError);
    expect(terminal.requests).toHaveLength(sent);
  });
});
