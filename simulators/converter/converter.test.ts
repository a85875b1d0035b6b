import { describe, expect, it } from 'vitest';
import { toHex } from '../../harness/core/bytes.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import { Cjt188Master } from '../../harness/masters/cjt188-master.ts';
import { Dlt645Master } from '../../harness/masters/dlt645-master.ts';
import { MeterType } from '../../harness/protocols/cjt188/index.ts';
import { ConverterDeclarationSchema, type ConverterDeclarationInput } from '../../harness/protocols/converter/index.ts';
import { createInterfaceConverter, type ConverterDefects } from './index.ts';

const LINE = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } as const;
const WATER = '10000000000001';
const GAS = '30000000000002';
const MLGW_GAS = '30000000000003';
const ELECTRICITY = '000000000004';

export const DECLARATION: ConverterDeclarationInput = {
  archive: [
    { address: WATER, protocol: 'cjt188', meter: 'cold-water', mode: 'transparent' },
    { address: GAS, protocol: 'cjt188', meter: 'gas', mode: 'transparent', sleeps: true },
    { address: MLGW_GAS, protocol: 'mlgw', meter: 'gas', mode: 'convert', meterId: '20260003', sleeps: true },
    { address: ELECTRICITY, protocol: 'dlt645', meter: 'electricity', mode: 'transparent', link: 'rs485' },
  ],
};

function rig(defects: ConverterDefects = {}, declaration: ConverterDeclarationInput = DECLARATION) {
  const clock = new VirtualClock({ start: Date.UTC(2026, 0, 10, 2, 0, 0) });
  const bus = new Rs485Bus({ clock, line: LINE, name: 'rs485' });
  const sim = createInterfaceConverter({ declaration: ConverterDeclarationSchema.parse(declaration), upstream: bus.attach('converter'), clock, seed: 11, defects });
  const link = bus.attach('master');
  const cjt = new Cjt188Master({ link, clock, line: LINE, timeoutMs: 12_000, attempts: 1 });
  const dlt = new Dlt645Master({ link, clock, line: LINE, timeoutMs: 5000, attempts: 1 });
  return { clock, bus, sim, cjt, dlt };
}

describe('interface converter (simulated)', () => {
  it('forwards CJ/T 188 and DL/T 645 frames byte for byte, waking the sleeping gas meter', async () => {
    const { clock, sim, cjt, dlt } = rig();
    const water = await clock.run(cjt.readData(MeterType.ColdWater, WATER, '901F'));
    expect(water.address).toBe(WATER);
    const gas = await clock.run(cjt.readData(MeterType.Gas, GAS, '901F'));
    expect(gas.status?.valve).toBe('open');
    const energy = await clock.run(dlt.readData(ELECTRICITY, '00010000'));
    expect(energy.address).toBe(ELECTRICITY);
    for (const [address, request] of [
      [WATER, water.exchange.request],
      [GAS, gas.exchange.request],
      [ELECTRICITY, energy.exchanges[0]!.request],
    ] as const) {
      const m = sim.backchannel.meter(address)!;
      const toMeter = m.traffic.filter((t) => t.direction === 'to-meter').at(-1)!;
      const strip = (b: Uint8Array) => b.subarray(b.indexOf(0x68));
      expect(toHex(strip(toMeter.bytes))).toBe(toHex(strip(request)));
    }
    // The sleeping gas meter got a wake-up of 1.25 x 2 s on the 2400 bit/s air line: 600 FE.
    const wake = sim.backchannel.meter(GAS)!.traffic.find((t) => t.direction === 'to-meter')!;
    expect(wake.bytes.indexOf(0x68)).toBe(600);
    // Td upstream includes the wake-up (2.5 s) and the air time both ways.
    expect(gas.exchange.responseDelayMs!).toBeGreaterThan(2500);
    expect(water.exchange.responseDelayMs!).toBeLessThan(1000);
    expect(sim.converter.stats).toMatchObject({ requests: 3, answered: 3, unanswered: 0 });
  });

  it('converts a CJ/T 188 read and valve command of an MLGW gas meter', async () => {
    const { clock, sim, cjt } = rig();
    const model = sim.backchannel.meter(MLGW_GAS)!.model!;
    model.setRegister(123_456);
    const r = await clock.run(cjt.readData(MeterType.Gas, MLGW_GAS, '901F'));
    const v = r.value as unknown as { currentFlow: { value: number; unit: string } };
    const snap = model.snapshot();
    expect(v.currentFlow).toMatchObject({ value: Math.floor(snap.litres / 10) / 100, unit: 'm³' });
    expect(r.status).toMatchObject({ valve: 'open', batteryLow: false });
    const closed = await clock.run(cjt.valveControl(MeterType.Gas, MLGW_GAS, 'close'));
    expect(closed.exchange.reply?.message.kind).toBe('valveControlResponse');
    await clock.run(() => clock.sleep(7000));
    expect(model.snapshot().valve).toBe('closed');
    const after = await clock.run(cjt.readData(MeterType.Gas, MLGW_GAS, '901F'));
    expect(after.status?.valve).toBe('closed');
    // A request MLGW cannot carry is refused at once (abnormal reply), without hop traffic.
    const before = sim.backchannel.meter(MLGW_GAS)!.traffic.length;
    await expect(clock.run(cjt.readData(MeterType.Gas, MLGW_GAS, '8103'))).rejects.toThrow(/abnormal reply C1H/);
    expect(sim.backchannel.meter(MLGW_GAS)!.traffic.length).toBe(before);
  });

  it('ignores meters not in its archive', async () => {
    const { clock, cjt, sim } = rig();
    await expect(clock.run(cjt.readData(MeterType.ColdWater, '10000000000099', '901F', { timeoutMs: 2000 }))).rejects.toThrow(/no reply/);
    expect(sim.converter.stats.ignored).toBe(1);
  });

  it('broken variants: an altered byte reaches the meter; without the wake-up the gas meter is unreachable', async () => {
    const altered = rig({ alterForwardedByte: true });
    const r = await altered.clock.run(altered.cjt.readData(MeterType.ColdWater, WATER, '901F'));
    const toMeter = altered.sim.backchannel.meter(WATER)!.traffic.find((t) => t.direction === 'to-meter')!;
    const sent = r.exchange.request.subarray(r.exchange.request.indexOf(0x68));
    const got = toMeter.bytes.subarray(toMeter.bytes.indexOf(0x68));
    expect(toHex(got)).not.toBe(toHex(sent));
    expect(got.length).toBe(sent.length);
    const sleepy = rig({ noWakeUp: true });
    await expect(sleepy.clock.run(sleepy.cjt.readData(MeterType.Gas, GAS, '901F'))).rejects.toThrow(/no reply/);
    await expect(sleepy.clock.run(sleepy.cjt.readData(MeterType.Gas, MLGW_GAS, '901F'))).rejects.toThrow(/no reply/);
  });

  it('refuses declarations that do not fit together, naming the field', () => {
    const bad = (entry: object) => ConverterDeclarationSchema.safeParse({ archive: [entry] });
    const issue = (r: ReturnType<typeof bad>) => (r.success ? 'ok' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    expect(issue(bad({ address: WATER, protocol: 'mlgw', meter: 'gas', mode: 'transparent' }))).toMatch(/archive\.0\.mode.*archive\.0\.meterId/);
    expect(issue(bad({ address: ELECTRICITY, protocol: 'cjt188', meter: 'gas', mode: 'transparent' }))).toMatch(/archive\.0\.address/);
    expect(issue(bad({ address: ELECTRICITY, protocol: 'dlt645', meter: 'electricity', mode: 'transparent', sleeps: true }))).toMatch(/archive\.0\.sleeps/);
    const dup = ConverterDeclarationSchema.safeParse({ archive: [DECLARATION.archive[0], DECLARATION.archive[0]] });
    expect(dup.success ? 'ok' : dup.error.issues[0]!.path.join('.')).toBe('archive.1.address');
  });
});
