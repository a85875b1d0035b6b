/**
 * Test support: a small collection world in virtual time with the reference simulators on real bus
 * models, and the concentrator core over its ports.
 *
 * - port 2 (RS-485 1): `electricity` DL/T 645 reference meters 000000000001.. (pn 1..);
 * - port 3 (RS-485 2): a mains CJ/T 188 cold-water meter on the bus (pn 101) and an interface
 *   converter with a sleeping CJ/T 188 gas meter behind a wireless hop (pn 102); the port's timeout
 *   is 12 s (the converter wakes the gas meter, 2.5 s, and retries the hop itself);
 * - port 5 (M-Bus): heat meters at primary addresses 1.. (pn 201..).
 *
 * Every non-DL/T 645 meter's protocol handler is wrapped so the test knows what the meter's own
 * model said at the instant it answered (`answered`): the value a stored reading must equal.
 * A sniffer on each RS-485 bus hears every frame (`heard`).
 */
import { VirtualClock } from '../../harness/core/clock.ts';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import { createMbusSegment, MBUS_DEFAULT_LINE } from '../../harness/links/mbus-segment.ts';
import type { LineSettings } from '../../harness/links/link.ts';
import { MeterType } from '../../harness/protocols/cjt188/index.ts';
import { ConverterDeclarationSchema } from '../../harness/protocols/converter/index.ts';
import { manufacturerValue } from '../../harness/protocols/mbus/index.ts';
import { createInterfaceConverter, type SimulatedInterfaceConverter } from '../converter/index.ts';
import { createElectricityMeter, REFERENCE_METER_PROFILE, type ElectricityMeter } from '../electricity-meter/index.ts';
import { truncateTo } from '../electricity-meter/values.ts';
import { createFlowMeter, type FlowMeter } from '../flow-meter/index.ts';
import { createHeatMeter, type HeatMeter } from '../heat-meter/index.ts';
import { createConcentratorCore, type ConcentratorDefects, type ReferenceConcentratorCore } from './core.ts';
import type { ArchivePoint, ConcentratorPort } from './types.ts';

export const LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };
export const WATER = '10000000000001';
export const GAS = '30000000000002';
export const WATER_PN = 101;
export const GAS_PN = 102;
export const HEAT_PN = 201;

/** Local (UTC+8) instant of 2026-01-dd hh:mm. */
export function at(day: number, hour: number, minute = 0, second = 0): number {
  return fromCalendar({ year: 2026, month: 1, day, hour, minute, second });
}

/** 2026-01-10 12:00 local: the world starts; the first night collects 2026-01-10. */
export const T0 = at(10, 12);

export function electricityAddress(i: number): string {
  return String(i + 1).padStart(12, '0');
}

export interface Sniffed {
  readonly at: number;
  readonly bytes: Uint8Array;
}

export interface World {
  readonly clock: VirtualClock;
  readonly core: ReferenceConcentratorCore;
  readonly electricity: readonly ElectricityMeter[];
  readonly water: FlowMeter;
  readonly converter: SimulatedInterfaceConverter;
  readonly heat: readonly HeatMeter[];
  readonly ports: readonly ConcentratorPort[];
  readonly archive: readonly ArchivePoint[];
  /** Per pn: the model's value each time the meter answered (CJ/T 188: m³; M-Bus: whole kWh as its energy record). */
  readonly answered: Map<number, number[]>;
  /** Every frame on RS-485 1 and 2 as a sniffer heard it. */
  readonly heard: { readonly port2: Sniffed[]; readonly port3: Sniffed[] };
  /** Electricity: the forward active energy of the meter's daily freeze at 00:00 of `freezeDay` as it reads out (total, T1..T4). */
  freezeOf(i: number, freezeDate: string): number[] | undefined;
  /** Advances virtual time to `instant`, firing every timer on the way. */
  until(instant: number): Promise<void>;
}

export interface WorldOptions {
  readonly electricity?: number;
  readonly heat?: number;
  readonly defects?: ConcentratorDefects;
  readonly withArchive?: boolean;
  /** COL-12: the electricity meters keep 15-minute load records (classes 1, 2, 4) and the core reads them as day curves. */
  readonly curves?: boolean;
}

/** The reference meter keeping 15-minute load records of voltage, power and energy (mode word classes 1, 2, 4). */
export const CURVE_METER_PROFILE = {
  ...REFERENCE_METER_PROFILE,
  simulation: { ...REFERENCE_METER_PROFILE.simulation, loadRecord: { modeWord: 0b1011, intervalMinutes: 15, daysKept: 4 } },
};

export function buildWorld(o: WorldOptions = {}): World {
  const clock = new VirtualClock({ start: T0, autoAdvance: false });
  const answered = new Map<number, number[]>();
  const note = (pn: number, v: number): void => {
    const list = answered.get(pn) ?? [];
    list.push(v);
    answered.set(pn, list);
  };
  const heard = { port2: [] as Sniffed[], port3: [] as Sniffed[] };

  const bus1 = new Rs485Bus({ clock, line: LINE, name: 'rs485-1' });
  bus1.attach('sniffer').on('data', (bytes) => heard.port2.push({ at: clock.now(), bytes: new Uint8Array(bytes) }));
  const electricity = Array.from({ length: o.electricity ?? 3 }, (_, i) =>
    createElectricityMeter({ profile: o.curves ? CURVE_METER_PROFILE : REFERENCE_METER_PROFILE, address: electricityAddress(i), link: bus1.attach(`meter-${i + 1}`), clock, seed: i + 1 }),
  );

  const bus2 = new Rs485Bus({ clock, line: LINE, name: 'rs485-2' });
  bus2.attach('sniffer').on('data', (bytes) => heard.port3.push({ at: clock.now(), bytes: new Uint8Array(bytes) }));
  const water = createFlowMeter({
    link: bus2.attach('water'),
    clock,
    seed: 5,
    kind: 'cold-water',
    address: WATER,
    sleeps: false,
    consumption: { dailyLitres: { min: 200, max: 600 }, emptyDayProbability: 0 },
    startLitres: 123_450,
  });
  wrap(water.responder, () => note(WATER_PN, water.model.snapshot().cubicMetres));
  const converter = createInterfaceConverter({
    declaration: ConverterDeclarationSchema.parse({ archive: [{ address: GAS, protocol: 'cjt188', meter: 'gas', mode: 'transparent', sleeps: true }] }),
    upstream: bus2.attach('converter'),
    clock,
    seed: 6,
  });
  const gas = converter.backchannel.meter(GAS)!;
  wrap(gas.flowMeter!.responder, () => note(GAS_PN, gas.model!.snapshot().cubicMetres));

  const segment = createMbusSegment({ clock });
  const heat = Array.from({ length: o.heat ?? 2 }, (_, i) => {
    const m = createHeatMeter({
      link: segment.attachSlave(`heat-${i + 1}`),
      clock,
      seed: 20 + i,
      primaryAddress: i + 1,
      identity: { id: String(10_000_001 + i), manufacturer: manufacturerValue('MLB'), version: 1 },
      startKwh: 5_000 + 100 * i,
    });
    wrap(m.slave, () => note(HEAT_PN + i, Math.floor(m.model.snapshot().energyKwh)));
    return m;
  });

  const ports: ConcentratorPort[] = [
    { port: 2, medium: 'rs485', link: bus1.attach('concentrator'), line: LINE },
    { port: 3, medium: 'rs485', link: bus2.attach('concentrator'), line: LINE, timeoutMs: 12_000 },
    { port: 5, medium: 'mbus', link: segment.master, line: MBUS_DEFAULT_LINE },
  ];
  const archive: ArchivePoint[] = [
    ...electricity.map((_, i): ArchivePoint => ({
      serial: i + 1,
      pn: i + 1,
      port: 2,
      protocol: 'dlt645-2007',
      address: electricityAddress(i),
      kind: 'electricity',
      password: '02000000',
      operator: '00000000',
    })),
    { serial: 101, pn: WATER_PN, port: 3, protocol: 'cjt188', address: WATER, meterType: MeterType.ColdWater, kind: 'water' },
    { serial: 102, pn: GAS_PN, port: 3, protocol: 'cjt188', address: GAS, meterType: MeterType.Gas, kind: 'gas' },
    ...heat.map((_, i): ArchivePoint => ({ serial: 201 + i, pn: HEAT_PN + i, port: 5, protocol: 'mbus', address: String(i + 1), meterType: 0x04, kind: 'heat' })),
  ];
  const core = createConcentratorCore({ clock, ports, ...(o.withArchive === false ? {} : { archive }), ...(o.defects ? { defects: o.defects } : {}), ...(o.curves ? { curves: true } : {}) });
  return {
    clock,
    core,
    electricity,
    water,
    converter,
    heat,
    ports,
    archive,
    answered,
    heard,
    freezeOf(i, freezeDate) {
      const [y, m, d] = freezeDate.split('-').map(Number) as [number, number, number];
      const instant = fromCalendar({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0 });
      const r = electricity[i]!.model.records.daily.find((x) => x.time === instant);
      if (!r) return undefined;
      const t = r.energy.forwardActive;
      // As the meter reads it out (simulators/electricity-meter/values.ts): kWh truncated to 0.01.
      return [truncateTo(t.reduce((s, x) => s + x, 0), 2), ...t.map((x) => truncateTo(x, 2))];
    },
    until: (instant) => clock.advanceTo(instant),
  };
}

/** Calls `seen` every time `target.handle` is asked (before it answers), keeping its behaviour. */
function wrap(target: { handle: (...args: never[]) => unknown }, seen: () => void): void {
  const original = target.handle.bind(target) as (...args: unknown[]) => unknown;
  (target as { handle: (...args: unknown[]) => unknown }).handle = (...args: unknown[]) => {
    const reply = original(...args);
    if (reply) seen();
    return reply;
  };
}
