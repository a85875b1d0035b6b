/**
 * The collection end to end over the real master side of 1376.1 (harness/masters Gw1376Station
 * and Gw1376Master, issue 12 part A) on a memory link, against the masters' scripted terminal
 * (harness/masters/gw1376-test-support.ts): login, archive download (AFN 04 F10/F249 with PW,
 * confirmed with AFN 00 F1), collection at 04:00 (AFN 0D F161/F249), a dropped connection counted
 * offline, and the gap collected after a re-login. Virtual time, PGlite in memory.
 *
 * Needs part A (wip/i12-a) merged: it imports harness/masters/gw1376-station.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { createMemoryPair } from '../../harness/links/memory.ts';
import { Gw1376Station } from '../../harness/masters/gw1376-station.ts';
import { ScriptedGw1376Terminal } from '../../harness/masters/gw1376-test-support.ts';
import { Afn, items, type Gw1376Message, type UnitSpec, type UnitValue } from '../../harness/protocols/gw1376/index.ts';
import type { ArchivePoint } from '../concentrator/types.ts';
import { gw1376CollectionLink } from './collection-gw1376.ts';
import { CollectionStation } from './collection.ts';
import { testDatabases } from './test-db.ts';

const T0 = fromCalendar({ year: 2026, month: 3, day: 2, hour: 3, minute: 0, second: 0 });
const at = (hour: number, minute = 0): number => fromCalendar({ year: 2026, month: 3, day: 2, hour, minute, second: 0 });
const DAY = '2026-03-01';
const PASSWORD = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

const POINTS: ArchivePoint[] = [
  { serial: 1, pn: 1, port: 2, protocol: 'dlt645-2007', address: '000000000001', kind: 'electricity', password: '02000000', operator: '00000001' },
  { serial: 2, pn: 2, port: 2, protocol: 'dlt645-2007', address: '000000000002', kind: 'electricity', password: '02000000', operator: '00000001' },
  { serial: 3, pn: 3, port: 3, protocol: 'cjt188', address: '00000000000003', meterType: 0x10, kind: 'water' },
  { serial: 4, pn: 4, port: 5, protocol: 'mbus', address: '4', meterType: 0x04, kind: 'heat' },
];

const databases = testDatabases('pglite');
afterAll(() => databases.closeAll());

describe('collection over Gw1376Station (end to end)', () => {
  it('downloads the archive with PW at login, collects at 04:00, counts a dropped terminal and collects its gap after it logs in again', async () => {
    const clock = new VirtualClock({ start: T0, autoAdvance: false });
    const db = await databases.fresh();
    const station = new Gw1376Station({ clock, master: { password: PASSWORD } });
    const archive = new Map<number, UnitValue>();
    const handler = (m: Gw1376Message, t: ScriptedGw1376Terminal) => {
      if (!m.frame.control.prm) return null; // the master's confirms of login and heartbeat
      if (m.frame.afn === Afn.setParameters) {
        expect(m.frame.aux.pw).toEqual(PASSWORD);
        for (const item of items(m)) for (const rec of item.value!.meters as readonly UnitValue[]) archive.set(rec.pn as number, rec);
        return t.confirm(m);
      }
      if (m.frame.afn === Afn.class2Data) {
        const reply: UnitSpec[] = [];
        for (const item of items(m)) {
          const pn = item.pn as number;
          const day = item.value!.day as string;
          if (item.fn === 161) reply.push({ pn, fn: 161, value: { day, readingTime: '2026-03-02 00:05', tariffCount: 1, forwardActive: [{ value: 100 + pn }, { value: 100 + pn }] } });
          else reply.push({ pn, fn: 249, value: { day, readingTime: '2026-03-02 00:07', meterType: pn === 3 ? 0x10 : 0x04, unit: pn === 3 ? 0x2c : 0x05, value: 10 + pn / 10_000 } });
        }
        return t.reply(m, Afn.class2Data, reply);
      }
      return null;
    };
    const connect = () => {
      const [masterSide, terminalSide] = createMemoryPair({ names: ['memory:master', 'memory:terminal'] });
      station.accept(masterSide);
      const t = new ScriptedGw1376Terminal({ link: terminalSide, areaCode: '3301', terminal: 9, handler });
      t.linkTest(1);
      return t;
    };
    const collection = new CollectionStation({ db, clock, link: gw1376CollectionLink(station), concentrators: [{ areaCode: '3301', terminal: 9, password: PASSWORD, archive: POINTS }] });
    const until = (instant: number) =>
      clock.run(async () => {
        await clock.sleep(instant - clock.now());
        await collection.idle();
      });
    try {
      await clock.run(collection.start());
      let t = connect();
      await until(T0 + 60_000);
      expect(await clock.run(collection.confirmedPoints({ areaCode: '3301', terminal: 9 }))).toEqual([1, 2, 3, 4]);
      expect(archive.get(3)).toEqual({ serial: 3, pn: 3, port: 3, protocol: 40, meterType: 0x10, address: '00000000000003' });
      expect(archive.get(1)).toMatchObject({ protocol: 30, address: '000000000001' });

      await until(at(4, 10));
      const readings = await clock.run(collection.readings({ areaCode: '3301', terminal: 9 }, DAY));
      expect(readings.map((r) => [r.pn, r.kind, r.value, r.unit])).toEqual([
        [1, 'electricity', 101, null],
        [2, 'electricity', 102, null],
        [3, 'water', 10.0003, 0x2c],
        [4, 'heat', 10.0004, 0x05],
      ]);

      // The next day: the connection drops before 04:00 and comes back at 05:10.
      await until(at(23, 0));
      await t.link.close();
      const nextDay = (hour: number, minute = 0) => at(hour, minute) + 86_400_000;
      await until(nextDay(5, 0));
      let rate = await clock.run(collection.successRate('2026-03-02'));
      expect(rate.total).toMatchObject({ due: 4, collected: 0, offlineTerminals: 1 });
      expect(rate.concentrators[0]).toMatchObject({ rounds: 2, offlineRounds: 2 }); // 04:00 and 04:30 (05:00 fires after the test's own timer)
      t = connect();
      await until(nextDay(5, 20));
      rate = await clock.run(collection.successRate('2026-03-02'));
      expect(rate.total).toMatchObject({ due: 4, collected: 4, firstAttempt: 4, byDeadline: 4, offlineTerminals: 0 });
      // The archive was confirmed already: the second login sent none.
      expect(t.requests.map((m) => m.frame.afn)).toEqual([Afn.class2Data, Afn.class2Data]);
    } finally {
      await clock.run(collection.stop());
      await clock.run(station.close());
      await databases.release(db);
    }
  });
});
