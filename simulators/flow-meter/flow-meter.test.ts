/**
 * The simulated CJ/T 188 meters on the RS-485 bus model, read by the CJ/T 188 master, in virtual
 * time: a mains water meter answers at once; a battery gas meter sleeps and is reached only with
 * a wake-up preamble longer than its sniff period (MM-06); the valve closes through A017 and the
 * status word says so; a leak shows in hourly reads.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import { Cjt188Master } from '../../harness/masters/cjt188-master.ts';
import { Cjt188NoReplyError } from '../../harness/masters/errors.ts';
import { CJT188_DEFAULT_LINE, createFlowMeter, looksLikeLeak, type CreateFlowMeterOptions, type FlowMeter } from './index.ts';

const T0 = fromCalendar({ year: 2026, month: 3, day: 1, hour: 0, minute: 0, second: 0 });
const LINE = CJT188_DEFAULT_LINE;
const WATER = '00000000000101';
const GAS = '00000000000102';

const open: { bus: Rs485Bus; meters: FlowMeter[]; master: Cjt188Master }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) {
    o.master.dispose();
    for (const m of o.meters) m.stop();
    await o.bus.close();
  }
});

function rig(extra: Partial<CreateFlowMeterOptions> = {}) {
  const clock = new VirtualClock({ start: T0 });
  const bus = new Rs485Bus({ clock, line: LINE, name: 'water-bus' });
  const adapter = bus.attach('adapter', { line: LINE });
  const consumption = { dailyLitres: { min: 300, max: 300 }, emptyDayProbability: 0 };
  const water = createFlowMeter({ link: bus.attach(WATER, { line: LINE }), clock, seed: 1, kind: 'cold-water', address: WATER, consumption, ...extra });
  const gas = createFlowMeter({ link: bus.attach(GAS, { line: LINE }), clock, seed: 2, kind: 'gas', address: GAS, consumption: { dailyLitres: { min: 1000, max: 1000 }, emptyDayProbability: 0 } });
  const master = new Cjt188Master({ link: adapter, clock, line: LINE, callSites: false });
  open.push({ bus, meters: [water, gas], master });
  return { clock, water, gas, master };
}

describe('simulated CJ/T 188 meters on a bus', () => {
  it('a mains water meter answers 901F with its register and ST', async () => {
    const { clock, water, master } = rig();
    await clock.run(clock.sleep(6 * 3_600_000));
    const r = await clock.run(master.readData(0x10, WATER, '901F'));
    expect((r.value.currentFlow as { value: number }).value).toBe(water.model.snapshot().cubicMetres);
    expect(r.status).toMatchObject({ valve: 'open', batteryLow: false });
  });

  it('a sleeping gas meter ignores a short preamble and answers after a wake-up longer than its sniff period', async () => {
    const { clock, gas, master } = rig();
    await expect(clock.run(master.readData(0x30, GAS, '901F', { attempts: 1 }))).rejects.toBeInstanceOf(Cjt188NoReplyError);
    expect(gas.awake()).toBe(false);
    const r = await clock.run(master.readData(0x30, GAS, '901F', { wakeUp: { preambleMs: 2500 } }));
    expect(r.address).toBe(GAS);
    expect(gas.awake()).toBe(true);
    // Awake now: a request with the usual 4 FE is heard until it falls asleep again.
    await clock.run(master.readData(0x30, GAS, '901F'));
    await clock.run(clock.sleep(60_000));
    expect(gas.awake()).toBe(false);
  });

  it('closes the valve through A017: the status word reports it closed after the motor time and the flow stops', async () => {
    const { clock, water, master } = rig();
    await clock.run(clock.sleep(7 * 3_600_000));
    await clock.run(master.valveControl(0x10, WATER, 'close'));
    await clock.run(clock.sleep(10_000));
    const r = await clock.run(master.readData(0x10, WATER, '901F'));
    expect(r.status).toMatchObject({ valve: 'closed' });
    const before = water.model.snapshot().litres;
    await clock.run(clock.sleep(3_600_000));
    expect(water.model.snapshot().litres).toBe(before);
  });

  it('a leak above the register resolution shows in hourly reads: no hour without flow', async () => {
    // 901F counts in 0.01 m³ = 10 L: a leak under 10 L/h can read 0 in an hour (a longer window shows it).
    const night = { dailyLitres: { min: 300, max: 300 }, emptyDayProbability: 0, hourlyWeights: [0, 0, 0, 0, 0, 0, 4, 7, 6, 3, 2, 2, 3, 2, 1, 1, 2, 3, 6, 7, 6, 4, 2, 0] };
    const { clock, water, master } = rig({ consumption: night });
    water.model.setLeak(12);
    const hourly: { at: number; litres: number }[] = [];
    let last = 0;
    for (let h = 0; h < 25; h++) {
      const r = await clock.run(master.readData(0x10, WATER, '901F'));
      const litres = Math.round((r.value.currentFlow as { value: number }).value * 1000);
      if (h > 0) hourly.push({ at: T0 + (h - 1) * 3_600_000, litres: litres - last });
      last = litres;
      await clock.run(clock.sleep(3_600_000 - ((clock.now() - T0) % 3_600_000)));
    }
    expect(looksLikeLeak(hourly, T0 + 24 * 3_600_000)).toBe(true);
  });
});
