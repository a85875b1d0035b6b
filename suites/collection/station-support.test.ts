/**
 * `delivered` (station-support.ts): what a concentrator gave the station for a day, read from its
 * uplink frames — attempts counted per distinct request (a retransmission with the same PSEQ is
 * not one), replies of another day or to no request ignored, a deny counted as reached.
 */
import { describe, expect, it } from 'vitest';
import { Afn, buildFrame, decode, type UnitSpec } from '../../harness/protocols/gw1376/index.ts';
import { ObservedUplink } from '../../harness/targets/gw1376-station-target.ts';
import { delivered } from './station-support.ts';

const DAY = '2026-01-11';
const address = { areaCode: '3702', terminal: 1, msa: 1, group: false };

function message(bytes: Uint8Array) {
  const r = decode(bytes);
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}
const request = (pseq: number, pns: number[], day = DAY) =>
  message(buildFrame({ control: { dir: false, prm: true, functionCode: 11 }, address, afn: Afn.class2Data, seq: { seq: pseq }, units: pns.map((pn) => ({ pn, fn: 161, value: { day } })) }));
const reply = (pseq: number, pns: number[], day = DAY) =>
  message(
    buildFrame({
      control: { dir: true, prm: false, functionCode: 8 },
      address,
      afn: Afn.class2Data,
      seq: { seq: pseq },
      units: pns.map((pn): UnitSpec => ({ pn, fn: 161, value: { day, readingTime: '2026-01-12 00:05', tariffCount: 1, forwardActive: [{ value: 100 + pn }, { value: 100 + pn }] } })),
    }),
  );
const deny = (pseq: number) => message(buildFrame({ control: { dir: true, prm: false, functionCode: 9 }, address, afn: Afn.confirmDeny, seq: { seq: pseq }, units: [{ pn: 0, fn: 2 }] }));

describe('delivered', () => {
  it('counts attempts per distinct request, the first delivery of each point, repeats, and when the day was first answered', () => {
    const u = new ObservedUplink({ now: () => 0 });
    const at = (s: number) => s * 1000;
    u.frames.push(
      { at: at(0), dir: 'down', message: request(1, [1, 2]) },
      { at: at(5), dir: 'down', message: request(1, [1, 2]) }, // a retransmission: not a new attempt
      { at: at(10), dir: 'down', message: request(1, [1, 2]) },
      { at: at(600), dir: 'down', message: request(2, [1, 2]) }, // the next round
      { at: at(601), dir: 'up', message: reply(2, [1]) }, // p2 has no data yet
      { at: at(602), dir: 'up', message: reply(2, [1]) }, // sent twice
      { at: at(700), dir: 'down', message: request(3, [3]) },
      { at: at(701), dir: 'up', message: reply(3, [3], '2026-01-10') }, // another day: not a delivery
      { at: at(702), dir: 'up', message: reply(9, [4]) }, // a reply to nothing asked: no delivery
      { at: at(703), dir: 'up', message: reply(3, [5]) }, // p5 not named by request 3: no delivery
      { at: at(800), dir: 'down', message: request(3, [3]) }, // same PSEQ, after the window: a new attempt
      { at: at(801), dir: 'up', message: reply(3, [3]) },
    );
    const d = delivered(u, DAY, at(10_000));
    expect(d.requests).toBe(4);
    expect([...d.points.values()].map((p) => [p.pn, p.attempt, p.at / 1000])).toEqual([
      [1, 2, 601],
      [3, 2, 801],
    ]);
    expect(d.repeats).toBe(1);
    expect(d.reachedAt).toBe(at(601));
    expect(delivered(u, DAY, at(700)).points.size).toBe(1);
  });

  it('a deny of a request for the day is an answer: the terminal was reached', () => {
    const u = new ObservedUplink({ now: () => 0 });
    u.frames.push({ at: 0, dir: 'down', message: request(4, [1]) }, { at: 1000, dir: 'up', message: deny(4) });
    const d = delivered(u, DAY, 10_000);
    expect(d.points.size).toBe(0);
    expect(d.reachedAt).toBe(1000);
    expect(delivered(u, '2026-01-12', 10_000).reachedAt).toBeUndefined();
  });
});
