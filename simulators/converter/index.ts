/**
 * The simulated interface converter with the meters behind it (issue 10): `createInterfaceConverter`
 * builds, from a converter declaration (harness/protocols/converter/declaration.ts), one downstream
 * link per archived meter (a seeded wireless hop, harness/links/wireless-hop.ts, or a wired RS-485
 * port modelled as a lossless hop at 2400 8E1), the meter at its far end (a CJ/T 188 water or gas
 * meter, simulators/flow-meter; an MLGW gas or water meter, simulators/flow-meter/mlgw-meter.ts; a
 * DL/T 645 electricity meter, simulators/electricity-meter) and the converter on the upstream link.
 *
 * The backchannel gives tests what only a simulation can show: each meter's model, and every frame
 * on every hop as the meter received it and as the meter sent it, with instants — the evidence that
 * a transparent converter forwarded byte for byte, and how much of an exchange's latency was the
 * meter's own.
 */
import type { Clock } from '../../harness/core/clock.ts';
import { SeededRandom } from '../../harness/core/random.ts';
import { LinkBase, type LineSettings, type Link } from '../../harness/links/link.ts';
import { createWirelessHop, WIRELESS_AIR_LINE, type WirelessHop } from '../../harness/links/wireless-hop.ts';
import type { ConverterArchiveEntry, ConverterDeclaration } from '../../harness/protocols/converter/index.ts';
import { REFERENCE_METER_PROFILE } from '../electricity-meter/profile.ts';
import { createElectricityMeter, type ElectricityMeter } from '../electricity-meter/index.ts';
import { createFlowMeter, type FlowMeter, type FlowMeterKind, type FlowMeterModel, type ConsumptionProfile } from '../flow-meter/index.ts';
import { createMlgwMeter, type MlgwMeter } from '../flow-meter/mlgw-meter.ts';
import { InterfaceConverter, type ConverterDefects, type ConverterPort } from './converter.ts';

export * from './converter.ts';
export * from './upstream-scanner.ts';

/** A wired downstream RS-485 port: 2400 8E1 (CON-06), no loss, no radio latency. */
export const WIRED_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

/** Household use of the simulated meters (as harness/targets/cjt188-protocol.ts): 200-600 L of water, 0.5-2 m³ of gas a day. */
function consumptionOf(meter: ConverterArchiveEntry['meter']): ConsumptionProfile {
  return meter === 'gas' ? { dailyLitres: { min: 500, max: 2000 }, emptyDayProbability: 0.1 } : { dailyLitres: { min: 200, max: 600 }, emptyDayProbability: 0.1 };
}

/** One frame on a hop, at the meter's end. */
export interface HopFrame {
  /** 'to-meter': a chunk that reached the meter (instant its last byte arrived); 'from-meter': a write of the meter (instant it began). */
  readonly direction: 'to-meter' | 'from-meter';
  readonly at: number;
  readonly bytes: Uint8Array;
}

/** An archived meter of the simulation, with its hop. */
export interface SimulatedArchiveMeter {
  readonly entry: ConverterArchiveEntry;
  readonly hop: WirelessHop;
  /** Every chunk the meter received and every write it made, in order (bounded: the last 1000). */
  readonly traffic: HopFrame[];
  /** The physical model of a water or gas meter (CJ/T 188 or MLGW). */
  readonly model?: FlowMeterModel;
  readonly flowMeter?: FlowMeter;
  readonly mlgwMeter?: MlgwMeter;
  readonly electricityMeter?: ElectricityMeter;
}

export interface InterfaceConverterBackchannel {
  readonly converter: InterfaceConverter;
  readonly meters: readonly SimulatedArchiveMeter[];
  /** The archived meter at an upstream address. */
  meter(address: string): SimulatedArchiveMeter | undefined;
}

export interface SimulatedInterfaceConverter {
  readonly converter: InterfaceConverter;
  readonly backchannel: InterfaceConverterBackchannel;
  stop(): void;
  close(): Promise<void>;
}

export interface CreateInterfaceConverterOptions {
  readonly declaration: ConverterDeclaration;
  /** The converter's upstream end (a bus node, a serial port, a TCP link). */
  readonly upstream: Link;
  readonly clock: Clock;
  readonly seed: number;
  readonly defects?: ConverterDefects;
  readonly log?: (line: string) => void;
}

const TRAFFIC_KEPT = 1000;

/** Records what the meter receives and writes; otherwise the hop's meter end itself. */
class MeterEndTap extends LinkBase {
  readonly name: string;
  constructor(
    private readonly inner: Link,
    private readonly clock: Clock,
    private readonly traffic: HopFrame[],
  ) {
    super();
    this.name = inner.name;
    inner.on('data', (chunk, timing) => {
      this.record({ direction: 'to-meter', at: this.clock.now(), bytes: chunk.slice() });
      this.emit('data', chunk, timing);
    });
    inner.on('close', () => this.emit('close'));
    inner.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  write(bytes: Uint8Array): Promise<void> {
    this.record({ direction: 'from-meter', at: this.clock.now(), bytes: bytes.slice() });
    return this.inner.write(bytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  private record(f: HopFrame): void {
    this.traffic.push(f);
    if (this.traffic.length > TRAFFIC_KEPT) this.traffic.shift();
  }
}

export function createInterfaceConverter(o: CreateInterfaceConverterOptions): SimulatedInterfaceConverter {
  const d = o.declaration;
  const random = new SeededRandom(o.seed).fork('interface-converter');
  const meters: SimulatedArchiveMeter[] = [];
  const ports: ConverterPort[] = [];
  d.archive.forEach((entry, i) => {
    const wireless = entry.link === 'wireless';
    const hop = createWirelessHop({
      clock: o.clock,
      random: random.fork(`hop:${entry.address}`),
      name: `${wireless ? 'hop' : 'rs485'}:${entry.address}`,
      line: wireless ? WIRELESS_AIR_LINE : WIRED_LINE,
      lossProbability: wireless ? d.simulation.hopLossProbability : 0,
      latencyMs: wireless ? d.simulation.hopLatencyMs : 0,
    });
    const traffic: HopFrame[] = [];
    const link = new MeterEndTap(hop.meter, o.clock, traffic);
    const seed = o.seed * 1000 + i;
    // A meter in service has a register well above zero (seeded, 10..900 m³), so a read shows digits in every place.
    const startLitres = random.fork(`register:${entry.address}`).int(10_000, 900_000);
    let m: SimulatedArchiveMeter;
    if (entry.protocol === 'dlt645') {
      const electricityMeter = createElectricityMeter({ profile: REFERENCE_METER_PROFILE, address: entry.address, link, clock: o.clock, seed });
      m = { entry, hop, traffic, electricityMeter };
    } else if (entry.protocol === 'mlgw') {
      const kind = entry.meter as FlowMeterKind;
      const mlgwMeter = createMlgwMeter({ link, clock: o.clock, seed, kind, meterId: entry.meterId!, sleeps: entry.sleeps, sniffPeriodMs: entry.sniffPeriodMs, line: hop.line, startLitres, consumption: consumptionOf(entry.meter) });
      m = { entry, hop, traffic, mlgwMeter, model: mlgwMeter.model };
    } else {
      const kind = entry.meter as Exclude<ConverterArchiveEntry['meter'], 'electricity'>;
      const flowMeter = createFlowMeter({ link, clock: o.clock, seed, kind, address: entry.address, sleeps: entry.sleeps, sniffPeriodMs: entry.sniffPeriodMs, line: hop.line, startLitres, consumption: consumptionOf(entry.meter) });
      m = { entry, hop, traffic, flowMeter, model: flowMeter.model };
    }
    meters.push(m);
    ports.push({ entry, link: hop.converter, line: hop.line });
  });
  const converter = new InterfaceConverter({ upstream: o.upstream, clock: o.clock, declaration: d, ports, ...(o.defects ? { defects: o.defects } : {}), ...(o.log ? { log: o.log } : {}) });
  converter.start();
  const byAddress = new Map(meters.map((m) => [m.entry.address, m]));
  const stop = (): void => {
    converter.stop();
    for (const m of meters) {
      m.flowMeter?.stop();
      m.mlgwMeter?.stop();
      m.electricityMeter?.stop();
    }
  };
  return {
    converter,
    backchannel: { converter, meters, meter: (a) => byAddress.get(a) },
    stop,
    close: async () => {
      stop();
      for (const m of meters) await m.hop.close();
    },
  };
}
