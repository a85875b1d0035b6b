/**
 * The collection world in virtual time: one meter of each kind read through the concentrator's port
 * with the existing masters (Dlt645Master on a DL/T 645 bus, Cjt188Master through an interface
 * converter and on a wired CJ/T 188 bus, MbusMaster on an M-Bus segment), each value checked against
 * the truth; the truth itself refuses a wrong value; dead meters, a noisy bus, the night faults,
 * shards, and 1,100 points behind one concentrator (COL-06).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { FaultInjectingLink } from '../../harness/links/fault.ts';
import type { Link } from '../../harness/links/link.ts';
import { createMemoryPair } from '../../harness/links/memory.ts';
import { Cjt188Master } from '../../harness/masters/cjt188-master.ts';
import { Dlt645Master } from '../../harness/masters/dlt645-master.ts';
import { MbusMaster } from '../../harness/masters/mbus-master.ts';
import type { ArchivePoint, DailyReading, PointValue } from '../concentrator/types.ts';
import { concentratorCount, planConcentrator, summarizePlans } from './plan.ts';
import { loadCollectionScenario, readCollectionScenarioFile, type CollectionScenarioInput } from './scenario.ts';
import { buildCollectionWorld, type CollectionWorld, type WorldConcentrator } from './world.ts';

const MIX: CollectionScenarioInput = {
  seed: 9,
  areas: [
    { name: 'mix', areaCode: '0101', households: 3, householdsPerConcentrator: 3, meters: { electricity: { share: 1, channel: 'rs485' }, water: { share: 1, channel: 'wireless' }, gas: { share: 1, channel: 'wireless' }, heat: { share: 1, channel: 'mbus' } } },
    { name: 'wired', areaCode: '0102', households: 2, householdsPerConcentrator: 2, meters: { water: { share: 1, channel: 'rs485' }, gas: { share: 1, channel: 'rs485' } } },
  ],
};
const HOUR = 3_600_000;

const worlds: CollectionWorld[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) await w.close();
});

function world(input: CollectionScenarioInput, options: { concentrators?: number[]; shard?: { index: number; count: number } } = {}) {
  const s = loadCollectionScenario(input);
  const clock = new VirtualClock({ start: s.startMs });
  const w = buildCollectionWorld(s, { clock, ...options });
  worlds.push(w);
  return { s, clock, w };
}

function portOf(c: WorldConcentrator, a: ArchivePoint) {
  return c.ports.find((p) => p.port === a.port)!;
}

function reading(a: ArchivePoint, frozenAt: number, readAt: number, value: PointValue): DailyReading {
  return { pn: a.pn, day: '2026-01-11', frozenAt, readAt, attempt: 1, value };
}

describe('collection world', () => {
  it('reads one meter of each kind through its port with the existing masters, each value what the truth says', async () => {
    const { clock, w } = world(MIX);
    const c = w.concentrator('mix-0001')!;
    expect(c.address).toEqual({ areaCode: '0101', terminal: 1 });
    expect(c.ports.map((p) => [p.port, p.medium])).toEqual([[2, 'rs485'], [3, 'rs485'], [4, 'mbus']]);
    expect(c.archive.map((a) => a.kind)).toEqual(['electricity', 'electricity', 'electricity', 'water', 'gas', 'water', 'gas', 'water', 'gas', 'heat', 'heat', 'heat']);
    // Past the first midnight: the electricity meters have a daily freeze.
    await clock.run(clock.sleep(12 * HOUR + 10 * 60_000));

    const e = c.archive.find((a) => a.kind === 'electricity')!;
    const ep = portOf(c, e);
    const dlt = new Dlt645Master({ link: ep.link, clock, line: ep.line, callSites: false });
    const time = (await clock.run(dlt.readData(e.address, '05060001'))).value as { year: number; month: number; day: number; hour: number; minute: number };
    const energy = (await clock.run(dlt.readData(e.address, '05060101'))).value as number[];
    const frozenAt = fromCalendar({ ...time, second: 0 });
    expect(frozenAt).toBe(Date.parse('2026-01-12T00:00:00+08:00'));
    const er = reading(e, frozenAt, clock.now(), { kind: 'electricity', forwardActiveKwh: energy });
    expect(c.truth.check(er)).toMatchObject({ ok: true });
    // The check can fail: one register step (0.01 kWh) off, or a freeze the meter never made.
    expect(c.truth.check({ ...er, value: { kind: 'electricity', forwardActiveKwh: [energy[0]! + 0.01, ...energy.slice(1)] } }).ok).toBe(false);
    expect(c.truth.check({ ...er, frozenAt: frozenAt - 86_400_000 }).ok).toBe(false);

    // A sleeping gas meter and a water meter behind the interface converter (the converter wakes the gas meter).
    for (const kind of ['gas', 'water'] as const) {
      const a = c.archive.find((x) => x.kind === kind)!;
      const port = portOf(c, a);
      expect(port.timeoutMs).toBeGreaterThan(12_000);
      const cjt = new Cjt188Master({ link: port.link, clock, line: port.line, timeoutMs: port.timeoutMs!, callSites: false });
      const r = await clock.run(cjt.readData(a.meterType!, a.address, '901F'));
      const v = r.value as unknown as { currentFlow: { value: number; unitCode: number } };
      const got = reading(a, clock.now(), clock.now(), { kind, value: v.currentFlow.value, unit: v.currentFlow.unitCode, meterType: a.meterType! });
      expect(c.truth.check(got), kind).toMatchObject({ ok: true });
      expect(c.truth.check({ ...got, value: { kind, value: v.currentFlow.value + 0.01, unit: v.currentFlow.unitCode, meterType: a.meterType! } }).ok).toBe(false);
      expect(c.truth.point(a.pn)!.hop!.stats.down.frames).toBeGreaterThan(0);
    }

    // A heat meter on the M-Bus segment: REQ_UD2, the energy record (Wh, storage 0).
    const h = c.archive.find((a) => a.kind === 'heat')!;
    const hp = portOf(c, h);
    const mbus = new MbusMaster({ link: hp.link, clock, line: hp.line, callSites: false });
    const r = await clock.run(mbus.readData(Number(h.address), { reset: true }));
    const rec = r.records.find((x) => x.kind === 'data' && x.vib.entry?.quantity === 'Energy' && x.storageNumber === 0);
    const kwh = rec && rec.kind === 'data' ? Number(rec.scaled) / 1000 : NaN;
    const hr = reading(h, clock.now(), clock.now(), { kind: 'heat', value: kwh, unit: 0x05, meterType: 0x04 });
    expect(c.truth.check(hr)).toMatchObject({ ok: true });
    expect(c.truth.check({ ...hr, value: { kind: 'heat', value: kwh - 5, unit: 0x05, meterType: 0x04 } }).ok).toBe(false);
    mbus.dispose();

    // A wired CJ/T 188 gas meter on the second concentrator's bus (bus-powered: no wake-up).
    const wired = w.concentrator('wired-0001')!;
    const g = wired.archive.find((a) => a.kind === 'gas')!;
    const gp = portOf(wired, g);
    expect(gp.timeoutMs).toBeUndefined();
    const cjt = new Cjt188Master({ link: gp.link, clock, line: gp.line, callSites: false });
    const gr = await clock.run(cjt.readData(g.meterType!, g.address, '901F'));
    const gv = (gr.value as unknown as { currentFlow: { value: number; unitCode: number } }).currentFlow;
    expect(wired.truth.check(reading(g, clock.now(), clock.now(), { kind: 'gas', value: gv.value, unit: gv.unitCode, meterType: g.meterType! }))).toMatchObject({ ok: true });
  }, 60_000);

  it('replays a water, gas or heat meter exactly: the twin at an instant is the live meter then', async () => {
    const { s, clock, w } = world(MIX);
    const c = w.concentrator(0)!;
    for (const hours of [1, 13, 37]) {
      await clock.run(clock.sleep(hours * HOUR + 17_000));
      // Wireless water and gas (behind converters), wired water and gas, heat on M-Bus.
      for (const t of w.concentrators.flatMap((x) => x.truth.points).filter((x) => x.plan.kind !== 'electricity')) {
        expect(t.valueAt(clock.now()), `${t.plan.channel} ${t.plan.kind} ${t.plan.address} after ${hours} h`).toEqual(t.current());
      }
    }
    // The registers moved: the twin is not a constant.
    const water = c.truth.points.find((x) => x.plan.kind === 'water')!;
    expect((water.valueAt(clock.now()) as { value: number }).value).toBeGreaterThan((water.valueAt(s.startMs) as { value: number }).value);
  });

  it('a dead meter never answers until it comes back; a planned dead meter starts dead', async () => {
    const { clock, w } = world(MIX);
    const c = w.concentrator('mix-0001')!;
    const e = c.archive[0]!;
    const dlt = new Dlt645Master({ link: portOf(c, e).link, clock, line: portOf(c, e).line, attempts: 1, callSites: false });
    const t = c.truth.point(e.pn)!;
    t.setDead(true);
    expect(t.dead).toBe(true);
    await expect(clock.run(dlt.readData(e.address, '00010000'))).rejects.toThrow(/no reply/i);
    t.setDead(false);
    await expect(clock.run(dlt.readData(e.address, '00010000'))).resolves.toMatchObject({ address: e.address });

    const dead = world({ ...MIX, faults: { deadMeters: 1 } });
    const dc = dead.w.concentrator('wired-0001')!;
    expect(dc.truth.points.every((p) => p.dead && p.plan.dead)).toBe(true);
    const g = dc.archive[0]!;
    const cjt = new Cjt188Master({ link: portOf(dc, g).link, clock: dead.clock, line: portOf(dc, g).line, attempts: 1, callSites: false });
    await expect(dead.clock.run(cjt.readData(g.meterType!, g.address, '901F'))).rejects.toThrow(/no reply/i);
  });

  it('the night faults: a noisy bus behind fault injection, the uplink down window, the reboot at its instant', async () => {
    const { clock, w } = world({
      ...MIX,
      faults: { noisyBuses: { share: 1, corrupt: 0.5, drop: 0 }, reboots: { share: 1, at: '01:30', offMinutes: 3 }, uplinkDown: { share: 1, from: '23:00', to: '06:00' } },
    });
    const c = w.concentrator('mix-0001')!;
    const rs485 = c.world.ports.filter((p) => p.plan.medium === 'rs485');
    expect(rs485.length).toBe(2);
    for (const p of rs485) expect(p.port.link).toBeInstanceOf(FaultInjectingLink);
    expect(c.world.ports.find((p) => p.plan.medium === 'mbus')!.port.link).not.toBeInstanceOf(FaultInjectingLink);
    // Half the frames corrupted: some of 20 reads fail, the noise counters say why.
    const e = c.archive[0]!;
    const dlt = new Dlt645Master({ link: portOf(c, e).link, clock, line: portOf(c, e).line, attempts: 1, callSites: false });
    let failed = 0;
    for (let i = 0; i < 20; i++) await clock.run(dlt.readData(e.address, '00010000')).catch(() => failed++);
    expect(failed).toBeGreaterThan(0);
    expect(rs485[0]!.noise!.tx.corrupted + rs485[0]!.noise!.rx.corrupted).toBeGreaterThan(0);

    const from = Date.parse('2026-01-11T23:00:00+08:00');
    const to = Date.parse('2026-01-12T06:00:00+08:00');
    expect(c.faults.uplinkDown).toEqual({ from, to });
    expect([c.uplinkUp(from - 1), c.uplinkUp(from), c.uplinkUp(to - 1), c.uplinkUp(to)]).toEqual([true, false, false, true]);
    // The uplink: a link opened before the outage is closed when it begins; none opens inside it.
    const opened: Link[] = [];
    const connect = c.throughUplink(async () => {
      const [a] = createMemoryPair({ clock });
      opened.push(a);
      return a;
    });
    const link = await clock.run(connect());
    expect(link.isOpen).toBe(true);
    const reboots: { at: number; offMs: number }[] = [];
    c.scheduleReboot((offMs) => reboots.push({ at: clock.now(), offMs }));
    await clock.run(clock.sleep(from - clock.now()));
    expect(link.isOpen).toBe(false);
    await expect(clock.run(connect())).rejects.toThrow(/mix-0001: uplink down \(scenario fault\) until 2026-01-11T22:00:00.000Z/);
    expect(opened.length).toBe(1);
    await clock.run(clock.sleep(to - clock.now()));
    expect((await clock.run(connect())).isOpen).toBe(true);
    expect(reboots).toEqual([{ at: Date.parse('2026-01-12T01:30:00+08:00'), offMs: 180_000 }]);
    // No outage planned: connect itself.
    const calm = world(MIX).w.concentrator('mix-0001')!;
    expect(calm.faults).toEqual({});
    const plain = async () => createMemoryPair()[0];
    expect(calm.throughUplink(plain)).toBe(plain);
  }, 60_000);

  it('builds a shard alone: only its concentrators, the same as in the whole world', () => {
    const input: CollectionScenarioInput = { ...MIX, areas: [{ ...MIX.areas[0]!, households: 9, householdsPerConcentrator: 3 }, MIX.areas[1]!] };
    const whole = world(input);
    const second = world(input, { shard: { index: 2, count: 2 } });
    expect(whole.w.concentrators.map((c) => c.id)).toEqual(['mix-0001', 'mix-0002', 'mix-0003', 'wired-0001']);
    expect(second.w.concentrators.map((c) => c.id)).toEqual(['mix-0003', 'wired-0001']);
    for (const c of second.w.concentrators) {
      const same = whole.w.concentrator(c.id)!;
      expect(c.archive).toEqual(same.archive);
      expect(c.password).toEqual(same.password);
      expect(c.truth.points.map((p) => JSON.stringify(p.current()))).toEqual(same.truth.points.map((p) => JSON.stringify(p.current())));
    }
    const picked = world(input, { concentrators: [1] });
    expect(picked.w.concentrators.map((c) => c.id)).toEqual(['mix-0002']);
    expect(() => world(input, { concentrators: [9] })).toThrow(/concentrator 9 does not exist/);
  });

  it('refuses a virtual clock that does not stand at the scenario start', () => {
    const s = loadCollectionScenario(MIX);
    expect(() => buildCollectionWorld(s, { clock: new VirtualClock({ start: s.startMs + 1 }) })).toThrow(/virtual clock stands at/);
  });

  it('1,100 meters behind one concentrator (COL-06: at least 1,024): the archive and a read of the last one', async () => {
    const input: CollectionScenarioInput = { seed: 4, areas: [{ name: 'big', areaCode: '0301', households: 1100, householdsPerConcentrator: 1100, meters: { water: { share: 1, channel: 'wireless' } } }] };
    const s = loadCollectionScenario(input);
    expect(planConcentrator(s, 0).points.length).toBe(1100);
    const { clock, w } = world(input);
    const c = w.concentrators[0]!;
    expect(c.archive.length).toBe(1100);
    // 64 meters a converter, 8 converters a bus: 512 a port, 3 ports.
    expect(c.ports.map((p) => p.port)).toEqual([2, 3, 4]);
    expect(c.world.ports.map((p) => p.converters.length)).toEqual([8, 8, 2]);
    const last = c.archive.at(-1)!;
    const port = portOf(c, last);
    const cjt = new Cjt188Master({ link: port.link, clock, line: port.line, timeoutMs: port.timeoutMs!, callSites: false });
    const r = await clock.run(cjt.readData(last.meterType!, last.address, '901F'));
    const v = (r.value as unknown as { currentFlow: { value: number; unitCode: number } }).currentFlow;
    expect(c.truth.check(reading(last, clock.now(), clock.now(), { kind: 'water', value: v.value, unit: v.unitCode, meterType: last.meterType! }))).toMatchObject({ ok: true });
  }, 60_000);

  it('the whole pilot builds: 2,172 points in nine archives, its faults in place, every port open until close', async () => {
    const s = readCollectionScenarioFile(new URL('./scenarios/pilot-2172.json', import.meta.url).pathname);
    const clock = new VirtualClock({ start: s.startMs });
    const w = buildCollectionWorld(s, { clock });
    const plans = Array.from({ length: concentratorCount(s) }, (_, i) => planConcentrator(s, i));
    const sum = summarizePlans(plans);
    expect(w.concentrators.map((c) => c.archive.length).reduce((a, b) => a + b, 0)).toBe(2172);
    const truths = w.concentrators.flatMap((c) => c.truth.points);
    expect(truths.filter((t) => t.dead).length).toBe(sum.dead);
    expect(w.concentrators.flatMap((c) => c.world.ports).filter((p) => p.noise).length).toBe(sum.noisyBuses);
    expect(w.concentrators.filter((c) => c.faults.reboot).length).toBe(sum.reboots);
    const links = w.concentrators.flatMap((c) => c.ports.map((p) => p.link));
    expect(links.every((l) => l.isOpen)).toBe(true);
    await w.close();
    expect(links.some((l) => l.isOpen)).toBe(false);
  }, 60_000);

  it('wireless electricity meters behind a converter answer DL/T 645; a lossy hop loses what the scenario says', async () => {
    const input: CollectionScenarioInput = {
      seed: 12,
      areas: [{ name: 'radio', areaCode: '0401', households: 6, householdsPerConcentrator: 6, meters: { electricity: { share: 1, channel: 'wireless' } } }],
      channels: { wireless: { hopLossProbability: 0 } },
      faults: { lossyHops: { share: 0.5, lossProbability: 1 } },
    };
    const { clock, w } = world(input);
    const c = w.concentrators[0]!;
    const lossy = c.truth.points.filter((t) => t.plan.lossyHop === 1);
    const healthy = c.truth.points.filter((t) => t.plan.lossyHop === undefined);
    expect(lossy.length).toBeGreaterThan(0);
    expect(healthy.length).toBeGreaterThan(0);
    const port = c.ports[0]!;
    expect(port.timeoutMs).toBe(15_000);
    const dlt = new Dlt645Master({ link: port.link, clock, line: port.line, timeoutMs: port.timeoutMs!, attempts: 1, callSites: false });
    await expect(clock.run(dlt.readData(healthy[0]!.plan.address, '00010000'))).resolves.toMatchObject({ address: healthy[0]!.plan.address });
    expect(healthy[0]!.hop!.stats.down.lost).toBe(0);
    await expect(clock.run(dlt.readData(lossy[0]!.plan.address, '00010000'))).rejects.toThrow(/no reply/i);
    // Every attempt of the converter lost on the air (3 hop attempts, MM-04 converter spec).
    expect(lossy[0]!.hop!.stats.down).toMatchObject({ frames: 3, lost: 3 });
  }, 60_000);
});
