/**
 * The reference master station with a PW per concentrator (Gw1376Station `passwords`, issue 12):
 * two reference concentrators of the station bench, each checking its own seeded PW, both have
 * their archive downloaded (AFN 04 with their PW) and their day collected; a station given the
 * wrong PW for one gets that one's deny (AFN 00 F2) and the other is collected as before.
 * Virtual time, PGlite in memory.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { createMemoryPair } from '../links/memory.ts';
import { Gw1376Station } from '../masters/gw1376-station.ts';
import { buildCollectionWorld, type WorldConcentrator } from '../../simulators/collection/index.ts';
import { createConcentrator, type Concentrator } from '../../simulators/concentrator/index.ts';
import { gw1376CollectionLink } from '../../simulators/master-station/collection-gw1376.ts';
import { CollectionStation } from '../../simulators/master-station/collection.ts';
import { openDatabase } from '../../simulators/master-station/storage.ts';
import { scenarioOf } from './gw1376-protocol.ts';
import { ObservedUplink } from './gw1376-station-target.ts';

const DAY = '2026-01-11';
const NOON_AFTER = Date.parse('2026-01-12T12:00:00+08:00');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Run {
  readonly readings: number[];
  readonly archive: number[];
  /** AFN 04 requests the station sent each concentrator, and the AFN 00 F2 denies of them. */
  readonly afn04: number[];
  readonly denies: number[];
}

/** Concentrators 1 and 2 of the station bench with their own PW; the station knows `stationPw(w)` for each. */
async function run(stationPw: (w: WorldConcentrator) => Uint8Array): Promise<Run> {
  const scenario = scenarioOf({ meters: { scenario: 'station-bench', concentrator: 1 } } as Parameters<typeof scenarioOf>[0]);
  const clock = new VirtualClock({ start: scenario.startMs, autoAdvance: false });
  const world = buildCollectionWorld(scenario, { clock, concentrators: [0, 1] });
  cleanups.push(() => world.close());
  expect(toHex(world.concentrators[0]!.password)).not.toBe(toHex(world.concentrators[1]!.password));
  const gw = new Gw1376Station({ clock, passwords: world.concentrators.map((w) => ({ ...w.address, password: stationPw(w) })) });
  const db = await openDatabase('memory');
  cleanups.push(() => db.close());
  const station = new CollectionStation({ db, clock, link: gw1376CollectionLink(gw), concentrators: world.concentrators.map((w) => ({ ...w.address, archive: w.archive })) });
  await clock.run(station.start());
  const running: { w: WorldConcentrator; c: Concentrator; uplink: ObservedUplink }[] = [];
  for (const w of world.concentrators) {
    const uplink = new ObservedUplink(clock);
    const c = createConcentrator({
      clock,
      ports: w.ports,
      address: w.address,
      password: w.password,
      connect: async () => {
        const [s, t] = createMemoryPair();
        gw.accept(s);
        return uplink.wrap(t);
      },
    });
    c.start();
    running.push({ w, c, uplink });
  }
  cleanups.push(async () => {
    for (const r of running) await clock.run(r.c.stop()).catch(() => undefined);
    await clock.run(station.stop());
    await clock.run(gw.close());
  });
  await clock.run(clock.sleep(NOON_AFTER - clock.now()));
  await clock.run(station.idle());
  const readings: number[] = [];
  for (const r of running) readings.push((await clock.run(station.readings(r.w.address, DAY))).length);
  const afn04 = running.map((r) => r.uplink.frames.filter((f) => f.dir === 'down' && f.message.frame.control.prm && f.message.frame.afn === 0x04).length);
  // A deny (AFN 00 F2) whose RSEQ is the PSEQ of an AFN 04 request before it.
  const denies = running.map((r) => {
    const pw = new Set<number>();
    let n = 0;
    for (const f of r.uplink.frames) {
      const fr = f.message.frame;
      if (f.dir === 'down' && fr.control.prm) (fr.afn === 0x04 ? pw.add(fr.seq.seq) : pw.delete(fr.seq.seq));
      else if (f.dir === 'up' && !fr.control.prm && fr.afn === 0x00 && f.message.units.some((u) => u.fns.includes(2)) && pw.has(fr.seq.seq)) n++;
    }
    return n;
  });
  return { readings, archive: running.map((r) => r.w.archive.length), afn04, denies };
}

describe('the reference station with a PW per concentrator', () => {
  it('downloads both archives with each one its own PW and collects both days', async () => {
    const r = await run((w) => w.password);
    expect(r.afn04.every((n) => n > 0)).toBe(true);
    expect(r.denies).toEqual([0, 0]);
    expect(r.readings).toEqual(r.archive);
  }, 60_000);

  it("with a wrong PW for the first: its AFN 04 is denied and nothing of it is collected; the second is collected in full", async () => {
    const r = await run((w) => (w.index === 0 ? new Uint8Array(16).fill(0x5a) : w.password));
    expect(r.denies[0]).toBeGreaterThan(0);
    expect(r.readings[0]).toBe(0);
    expect(r.denies[1]).toBe(0);
    expect(r.readings[1]).toBe(r.archive[1]);
  }, 60_000);
});
