/**
 * Whatever bytes the master side sends (ROB): junk, valid requests of every AFN the terminal
 * serves, the same with bytes flipped (with and without the checksum fixed, so that the data-unit
 * layer sees them), all split at random points: the terminal never throws, keeps its uplink, and
 * answers a good request afterwards. Seeded (fast-check), virtual time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sum8 } from '../../harness/core/checksum.ts';
import { Afn } from '../../harness/protocols/gw1376/index.ts';
import { createRig, kindOf, type Received } from './terminal-test-support.ts';

describe('the terminal under arbitrary input (fast-check)', () => {
  it('never throws, stays online, and answers a valid request after any mix of chunks', async () => {
    const rig = createRig();
    rig.master.autoConfirm = true;
    await rig.online();
    const m = rig.master;
    const pool = [
      m.requestFrame(Afn.class1Data, [{ pn: 0, fn: 2 }, { pn: 1, fn: 129 }, { pn: 2001, fn: 249 }]),
      m.requestFrame(Afn.class2Data, [{ pn: 1, fn: 161, value: { day: '2026-03-09' } }]),
      m.requestFrame(Afn.queryParameters, [{ pn: 0, fn: 10, value: { count: 0, serials: [] } }]),
      m.requestFrame(Afn.setParameters, [{ pn: 0, fn: 249, value: { count: 1, meters: [{ serial: 5, pn: 5, port: 5, protocol: 41, meterType: 4, address: '00000000000009' }] } }]),
      m.requestFrame(Afn.class3Data, [{ pn: 0, fn: 1, value: { pm: 0, pn: 5 } }]),
      m.requestFrame(Afn.control, [{ pn: 0, fn: 31, value: { clock: { time: '2026-03-10 10:00:00', week: 2 } } }]),
      m.requestFrame(Afn.dataForwarding, [{ pn: 0, fn: 1, value: { port: 2, controlWord: 0x6b, frameTimeout: 0x81, byteTimeout: 0x05, content: '68 16' } }]),
      m.requestFrame(Afn.terminalConfiguration, [{ pn: 0, fn: 1 }]),
    ];
    const valid = fc.constantFrom(...pool);
    const flipped = fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean()).map(([f, at, x, fixCs]) => {
      const g = f.slice();
      const i = 6 + (at % (g.length - 8)); // inside the user data
      g[i]! ^= x;
      if (fixCs) g[g.length - 2] = sum8(g, 6, g.length - 2);
      return g;
    });
    const chunk = fc.oneof(valid, flipped, fc.uint8Array({ minLength: 1, maxLength: 40 }));
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(chunk, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 4 }), async (chunks, cuts) => {
        const all = Uint8Array.from(chunks.flatMap((c) => [...c]));
        const points = [...new Set(cuts.map((c) => c % all.length))].sort((a, b) => a - b);
        let from = 0;
        for (const p of [...points, all.length]) {
          if (p > from) await m.send(all.subarray(from, p));
          from = p;
        }
        // Whatever came before, a good request gets its reply (the silence flush runs after 5 s of it).
        const want = (seq = (seq + 1) & 0x0f);
        await rig.clock.advance(6000);
        await m.request(Afn.class1Data, [{ pn: 0, fn: 2 }], { seq: want });
        let reply: Received | undefined;
        for (let n = 0; n < 50 && reply === undefined; n++) {
          const r = await rig.next();
          if (!r.message.frame.control.prm && r.message.frame.seq.seq === want && kindOf(r) === '0C F2') reply = r;
        }
        expect(reply).toBeDefined();
        expect(rig.terminal.state).toBe('online');
      }),
      { numRuns: 120, seed: 1376 },
    );
    expect(rig.master.connections).toHaveLength(1);
    expect(rig.logs.some((l) => l.includes('failed'))).toBe(false);
    expect(rig.terminal.stats.requests).toBeGreaterThan(120);
  });

  it('a request delivered one byte at a time is answered', async () => {
    const rig = createRig();
    await rig.online();
    const bytes = rig.master.requestFrame(Afn.class1Data, [{ pn: 0, fn: 2 }]);
    for (const b of bytes) await rig.master.send(Uint8Array.of(b));
    expect(kindOf(await rig.next())).toBe('0C F2');
  });
});
