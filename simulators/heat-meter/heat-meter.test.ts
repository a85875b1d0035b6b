/**
 * Simulated M-Bus heat meters on a segment, driven by the M-Bus master in virtual time: the primary
 * scan and the secondary wildcard search find every meter, a read decodes the model's values, a
 * multi-telegram read arrives whole, and the broken variants show: a slave that ignores the FCB
 * loses a telegram, one that ignores selections is not found by the search.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { createMbusSegment, type MbusSegment } from '../../harness/links/mbus-segment.ts';
import { MbusMaster } from '../../harness/masters/mbus-master.ts';
import { manufacturerValue } from '../../harness/protocols/mbus/index.ts';
import { createHeatMeter, type HeatMeter } from './index.ts';

const T0 = fromCalendar({ year: 2026, month: 1, day: 10, hour: 0, minute: 0, second: 0 });
const MLB = manufacturerValue('MLB');
const rigs: { segment: MbusSegment; meters: HeatMeter[]; master: MbusMaster }[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.master.dispose();
    for (const m of r.meters) m.stop();
    await r.segment.close();
  }
});

/** `ids` identification numbers on primary addresses 1.. . */
function rig(ids: string[], recordsPerTelegram?: number) {
  const clock = new VirtualClock({ start: T0 });
  const segment = createMbusSegment({ clock });
  const meters = ids.map((id, i) =>
    createHeatMeter({ link: segment.attachSlave(`hm-${i + 1}`), clock, seed: i + 1, primaryAddress: i + 1, identity: { id, manufacturer: MLB, version: 1 }, ...(recordsPerTelegram ? { recordsPerTelegram } : {}) }),
  );
  const master = new MbusMaster({ link: segment.master, clock, line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }, callSites: false });
  rigs.push({ segment, meters, master });
  return { clock, meters, master };
}

const IDS = ['10000001', '10000002', '10000013', '10000104', '12000005', '12000016', '30000007', '30000008'];

describe('M-Bus heat meters on a segment', () => {
  it('the primary scan and the secondary wildcard search find every meter', async () => {
    const { clock, master } = rig(IDS);
    const primary = await clock.run(master.scanPrimary({ from: 0, to: 250, method: 'SND_NKE' }));
    expect(primary.found.map((f) => f.address)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(primary.collisions).toEqual([]);
    const secondary = await clock.run(master.searchSecondary({ mask: 'FFFFFFFFFFFFFFFF' }));
    expect(secondary.found.map((h) => h.address.id).sort()).toEqual([...IDS].sort());
    expect(secondary.unresolved).toEqual([]);
  }, 60_000);

  it('a read decodes the model: energy in Wh, storage number 1 for last month', async () => {
    const { clock, meters, master } = rig(IDS.slice(0, 2));
    await clock.run(clock.sleep(25 * 24 * 3_600_000)); // past 1 February: a monthly storage
    const r = await clock.run(master.readData(2, { reset: true }));
    expect(r.identity).toMatchObject({ id: '10000002', manufacturer: MLB, medium: 4 });
    const energy = r.records.find((x) => x.kind === 'data' && x.vib.entry?.quantity === 'Energy' && x.storageNumber === 0);
    expect(energy && energy.kind === 'data' && energy.scaled).toBe(Math.floor(meters[1]!.model.snapshot().energyKwh) * 1000);
    expect(r.records.some((x) => x.kind === 'data' && x.storageNumber === 1)).toBe(true);
  });

  it('a multi-telegram read arrives whole', async () => {
    const good = rig(IDS.slice(0, 1), 4);
    const all = good.meters[0]!.slave.records().length;
    const r = await good.clock.run(good.master.readData(1, { reset: true }));
    expect(r.records.filter((x) => x.kind === 'data').length).toBe(all);
  });

  it('a slave that ignores selections is not found by the secondary search', async () => {
    const { clock, meters, master } = rig(IDS.slice(0, 3));
    meters[1]!.slave.ignoreSelection = true;
    const secondary = await clock.run(master.searchSecondary({ mask: 'FFFFFFFFFFFFFFFF' }));
    expect(secondary.found.map((h) => h.address.id).sort()).toEqual([IDS[0], IDS[2]]);
  }, 60_000);
});
