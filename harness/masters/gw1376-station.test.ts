/**
 * Gw1376Station keeps a PW per terminal (keyed by the login's area code and terminal address): each
 * terminal's AFN 04 carries its own, a terminal it does not know gets the default, and a PW set
 * later applies to the next request.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { createMemoryPair } from '../links/memory.ts';
import { Afn } from '../protocols/gw1376/index.ts';
import { Gw1376Station } from './gw1376-station.ts';
import { ScriptedGw1376Terminal } from './gw1376-test-support.ts';

const pw = (b: number): Uint8Array => new Uint8Array(16).fill(b);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function loginOn(station: Gw1376Station, clock: VirtualClock, area: string, address: number): Promise<ScriptedGw1376Terminal> {
  const [a, b] = createMemoryPair();
  station.accept(a);
  const t = new ScriptedGw1376Terminal({ link: b, areaCode: area, terminal: address, handler: (m, term) => (m.frame.control.prm ? term.confirm(m) : null) });
  t.linkTest(1);
  await clock.advance(0);
  return t;
}

/** The PW of every AFN 04 request the terminal received, as hex. */
const pwsOf = (t: ScriptedGw1376Terminal): string[] => t.requests.filter((m) => m.frame.afn === Afn.setParameters).map((m) => toHex(m.frame.aux.pw ?? new Uint8Array(), ''));

describe('Gw1376Station passwords', () => {
  it("sends each terminal its own PW, the default to a terminal it does not know, and a PW set later from the next request on", async () => {
    const clock = new VirtualClock({ autoAdvance: false });
    const station = new Gw1376Station({
      clock,
      master: { password: pw(0xee) },
      passwords: [
        { areaCode: '3702', terminal: 1, password: pw(0x11) },
        { areaCode: '3702', terminal: 2, password: pw(0x22) },
      ],
    });
    cleanups.push(() => station.close());
    const one = await loginOn(station, clock, '3702', 1);
    const two = await loginOn(station, clock, '3702', 2);
    const other = await loginOn(station, clock, '3702', 3);
    const set = (area: string, n: number) => clock.run(station.terminal(area, n)!.request(Afn.setParameters, [{ pn: 0, fn: 1, value: { rtsDelay20ms: 0, tpDelayMinutes: 0, timeoutAndRetries: 30, conFlags: 0, heartbeatMinutes: 15 } }]));
    await set('3702', 1);
    await set('3702', 2);
    await set('3702', 3);
    expect([pwsOf(one), pwsOf(two), pwsOf(other)]).toEqual([['11'.repeat(16)], ['22'.repeat(16)], ['EE'.repeat(16)]]);
    expect(toHex(station.passwordOf('3702', 3)!, '')).toBe('EE'.repeat(16));
    station.setPassword('3702', 3, pw(0x33));
    await set('3702', 3);
    expect(pwsOf(other)).toEqual(['EE'.repeat(16), '33'.repeat(16)]);
  });
});
