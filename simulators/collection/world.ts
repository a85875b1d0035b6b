/**
 * The collection world (issue 12): the meters behind each planned concentrator, on the channels the
 * plan gives them, built with the reference simulators and links only —
 * - DL/T 645 buses: `Rs485Bus` + `createElectricityMeter` (the reference meter, one compiled type);
 * - CJ/T 188 buses: `Rs485Bus` + `createFlowMeter` (wired, bus-powered: never asleep);
 * - converter buses: `Rs485Bus` + `createInterfaceConverter` per converter (seeded wireless hops,
 *   CJ/T 188 water and gas meters, DL/T 645 electricity meters, sleeping gas meters woken by it);
 * - M-Bus segments: `createMbusSegment` + `createHeatMeter`.
 * For every concentrator: its `ConcentratorPort[]` (the concentrator's node on each bus, through a
 * seeded `FaultInjectingLink` on a noisy bus), its `ArchivePoint[]`, its faults (reboot, uplink down)
 * and the truth of every point — the meter's model, and what a collected value must equal — so a
 * suite can check what a concentrator (ours or a vendor's) collected. The concentrator itself is not
 * built here (simulators/concentrator `createConcentrator` over these ports).
 *
 * Time only from the injected Clock; randomness only from forks of the scenario seed (plan.ts).
 */
import type { Clock } from '../../harness/core/clock.ts';
import { LinkError } from '../../harness/core/errors.ts';
import { SeededRandom } from '../../harness/core/random.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import { FaultInjectingLink, type FaultStats } from '../../harness/links/fault.ts';
import type { Link } from '../../harness/links/link.ts';
import { createMbusSegment } from '../../harness/links/mbus-segment.ts';
import type { WirelessHop } from '../../harness/links/wireless-hop.ts';
import { ConverterDeclarationSchema, type ConverterDeclarationInput } from '../../harness/protocols/converter/index.ts';
import { manufacturerValue } from '../../harness/protocols/mbus/index.ts';
import type { LoadRecordBlock } from '../../harness/protocols/dlt645/load-record.ts';
import type { ArchivePoint, ConcentratorPort, DailyCurve, DailyReading, PointValue } from '../concentrator/types.ts';
import { createInterfaceConverter, type SimulatedInterfaceConverter } from '../converter/index.ts';
import { compileMeterType, createElectricityMeter, REFERENCE_METER_PROFILE, type ElectricityMeter, type FreezeRecord, type MeterType } from '../electricity-meter/index.ts';
import { createFlowMeter, FlowMeterModel, UNIT_CUBIC_METRE, type ConsumptionProfile, type FlowMeter } from '../flow-meter/index.ts';
import { truncateTo } from '../electricity-meter/values.ts';
import { createHeatMeter, HeatMeterModel, type HeatingProfile, type HeatMeter } from '../heat-meter/index.ts';
import { archivePointOf, concentratorCount, partitionConcentrators, planConcentrator, SNIFF_PERIOD_MS, type ConcentratorFaultPlan, type ConcentratorPlan, type PointPlan, type PortPlan } from './plan.ts';
import type { CollectionScenario } from './scenario.ts';

/** CJ/T 188 unit code of kWh (05H), the unit a heat meter's energy is stored with (PointValue). */
export const UNIT_KWH = 0x05;
/** Name of the concentrator's node on every bus it reads. */
export const CONCENTRATOR_NODE = 'concentrator';
/** Manufacturer code of the simulated heat meters' secondary address. */
const HEAT_MANUFACTURER = manufacturerValue('MLB');

/** Household use (as simulators/converter and harness/targets/cjt188-protocol.ts): 200-600 L of water, 0.5-2 m³ of gas a day. */
function consumptionOf(kind: 'water' | 'gas'): ConsumptionProfile {
  return kind === 'gas' ? { dailyLitres: { min: 500, max: 2000 }, emptyDayProbability: 0.1 } : { dailyLitres: { min: 200, max: 600 }, emptyDayProbability: 0.1 };
}
/** A flat of 60-120 m², UA 0.08-0.16 kW/K (simulators/heat-meter: 90 m², 0.12). */
function heatingOf(seed: number): HeatingProfile {
  return { uaKwPerK: 0.08 + new SeededRandom(seed).fork('collection:heating').next() * 0.08 };
}

const referenceTypes = new Map<string, MeterType>();
/**
 * Household loads of the meters of a scenario with curves (kW, single-phase): one of
 * `HOUSEHOLD_LOADS` shapes a meter, by its seed — a low night, a morning peak, a working day, an
 * evening peak; the shapes differ in level and in when the evening starts (one at 18:40, inside a
 * quarter hour). MeterLab's own shapes, so that a day curve has something to show [MeterLab].
 */
export const HOUSEHOLD_LOADS: readonly (readonly { readonly from: string; readonly kW: number }[])[] = Array.from({ length: 8 }, (_, k) => [
  { from: '00:00', kW: round3(0.15 + 0.03 * k) },
  { from: '06:30', kW: round3(0.9 + 0.1 * k) },
  { from: '08:15', kW: round3(0.35 + 0.05 * k) },
  { from: k % 2 === 0 ? '18:00' : '18:40', kW: round3(1.6 + 0.15 * k) },
  { from: '22:30', kW: round3(0.5 + 0.04 * k) },
]);

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
/**
 * Load-record mode word 04000901 of the meters of a scenario with curves: classes 1 (voltage,
 * current, frequency), 2 (power) and 4 (energy): bits 0, 1 and 3 (DL/T 645-2007 load-record mode
 * word, bit c-1 = class c).
 */
export const CURVE_MODE_WORD = 0b0000_1011;
/** Days of load records a meter keeps in a scenario with curves: COL-03's 3 re-read days and today. */
export const CURVE_DAYS_KEPT_BY_METER = 4;
/**
 * The reference DL/T 645 meter, compiled once per load-record interval (0 = none) for every
 * electricity meter of every world.
 */
function electricityType(curveInterval = 0, seed = 0): MeterType {
  const shape = curveInterval === 0 ? -1 : new SeededRandom(seed).fork('collection:household-load').int(0, HOUSEHOLD_LOADS.length - 1);
  const key = `${curveInterval}:${shape}`;
  let t = referenceTypes.get(key);
  if (!t) {
    const base = REFERENCE_METER_PROFILE;
    t = compileMeterType(
      curveInterval === 0
        ? base
        : {
            ...base,
            simulation: {
              ...base.simulation,
              load: { ...base.simulation.load, kW: HOUSEHOLD_LOADS[shape]!.map((x) => ({ ...x })), phases: 1 },
              loadRecord: { modeWord: CURVE_MODE_WORD, intervalMinutes: curveInterval, daysKept: CURVE_DAYS_KEPT_BY_METER },
            },
          },
    );
    referenceTypes.set(key, t);
  }
  return t;
}

/** The truth of one point: its meter, and what a collected value must be. */
export interface PointTruth {
  readonly plan: PointPlan;
  readonly archive: ArchivePoint;
  /** The meter never answers (planned dead, or `setDead(true)`). */
  readonly dead: boolean;
  /** Stops (true) or restarts (false) the meter's server: a dead meter that comes back. */
  setDead(dead: boolean): void;
  readonly electricity?: ElectricityMeter;
  readonly flow?: FlowMeter;
  readonly heat?: HeatMeter;
  /** The wireless hop of a meter behind a converter (its stats; `setLossProbability`). */
  readonly hop?: WirelessHop;
  /** What a read now returns (the live model, settled to now). */
  current(): PointValue;
  /**
   * Water, gas, heat: the register at `t` (≥ the world's start), replayed on a twin of the meter's
   * model (the models are seeded and lazy, so the twin integrates exactly what the meter would). A
   * DL/T 645 point answers with its daily freezes instead (`freeze`).
   */
  valueAt(t: number): PointValue;
  /** DL/T 645: the meter's daily freeze made at `t` (meter time), if it has one. */
  freeze(t: number): FreezeRecord | undefined;
  /** DL/T 645 with load records: up to `count` of the meter's records from meter instant `from`, oldest first. */
  loadRecords(from: number, count: number): readonly LoadRecordBlock[];
}

export interface ReadingCheck {
  readonly ok: boolean;
  /** What the truth says, for a failure message. */
  readonly expected: string;
  readonly got: string;
}

export interface ConcentratorTruth {
  readonly points: readonly PointTruth[];
  point(pn: number): PointTruth | undefined;
  /**
   * Checks a stored daily reading against its meter. DL/T 645: the forward active energies equal the
   * meter's daily freeze at `frozenAt` (total and tariffs, within the register's 0.01 kWh). Water,
   * gas, heat (read after 00:00 and stored as yesterday's, COL-03): the value lies between the
   * register `slackMs` before `frozenAt` and `slackMs` after it (default 10 s: the exchange and the
   * reply delay, and a terminal clock within CLK-01's 5 s of the world's; a heat meter's register
   * moves about 0.01 kWh in 10 s, so the window rarely spans two values).
   */
  check(reading: DailyReading, options?: { readonly slackMs?: number }): ReadingCheck;
  /**
   * Checks a stored day curve against its meter's own load records of that day (COL-12): every
   * point equal to the record on its grid instant, to the record's own resolution (energy 0.01 kWh,
   * power 0.0001 kW, voltage 0.1 V), NaN exactly where the meter has no valid record.
   */
  checkCurve(curve: DailyCurve): ReadingCheck;
  /**
   * The day curve a concentrator must store for `pn` (what `checkCurve` compares with): the meter's
   * own load records of `day` placed on the grid by their time fields, worked out here, not with
   * the concentrator's code (the oracle shares nothing with what it judges). Undefined for no point.
   */
  meterCurve(pn: number, day: string, intervalMinutes: number): DailyCurve | undefined;
}

export interface WorldPort {
  readonly plan: PortPlan;
  /** What the concentrator gets: its node on the bus (through the noise when noisy). */
  readonly port: ConcentratorPort;
  /** The bus itself (stats: bytes, frames, collisions). */
  readonly bus: Rs485Bus;
  readonly converters: readonly SimulatedInterfaceConverter[];
  /** Noise counters on a noisy bus. */
  readonly noise?: FaultStats;
}

export interface WorldConcentrator {
  readonly index: number;
  readonly id: string;
  readonly area: string;
  readonly address: { readonly areaCode: string; readonly terminal: number };
  readonly password: Uint8Array;
  readonly plan: ConcentratorPlan;
  readonly ports: readonly ConcentratorPort[];
  readonly archive: readonly ArchivePoint[];
  readonly faults: ConcentratorFaultPlan;
  /** COL-12: the scenario's curves, as the concentrator's `curves` option; absent: none. */
  readonly curves?: { readonly intervalMinutes: 15 | 30 | 60 };
  /** False while the planned uplink outage lasts: a concentrator's `connect()` fails then. */
  uplinkUp(t: number): boolean;
  /**
   * Wraps a concentrator's uplink `connect` (simulators/concentrator terminal) with the planned
   * outage: inside it the returned function rejects with a LinkError; a link opened before it is
   * closed when it begins (a GPRS link that drops at night). No outage planned: `connect` itself.
   */
  throughUplink(connect: () => Promise<Link>): () => Promise<Link>;
  /**
   * Sets a timer for the planned reboot (calls `reboot(offMs)` at its instant). Returns a cancel
   * function; nothing to schedule gives a no-op.
   */
  scheduleReboot(reboot: (offMs: number) => unknown): () => void;
  readonly world: { readonly ports: readonly WorldPort[] };
  readonly truth: ConcentratorTruth;
  /** Stops every meter and converter and closes every bus. */
  close(): Promise<void>;
}

export interface CollectionWorld {
  readonly scenario: CollectionScenario;
  readonly concentrators: readonly WorldConcentrator[];
  concentrator(idOrIndex: string | number): WorldConcentrator | undefined;
  close(): Promise<void>;
}

export interface BuildCollectionWorldOptions {
  readonly clock: Clock;
  /** Global indices of the concentrators to build (default every one); or a shard. */
  readonly concentrators?: readonly number[];
  readonly shard?: { readonly index: number; readonly count: number };
  readonly log?: (line: string) => void;
}

/**
 * Builds the meters of the chosen concentrators (all, `concentrators`, or `shard` i of n) on `clock`.
 * A virtual clock must stand at the scenario's start (the meters' models start there).
 */
export function buildCollectionWorld(s: CollectionScenario, o: BuildCollectionWorldOptions): CollectionWorld {
  if (o.clock.virtual && o.clock.now() !== s.startMs) {
    throw new RangeError(`buildCollectionWorld: the virtual clock stands at ${new Date(o.clock.now()).toISOString()}, the scenario starts at ${new Date(s.startMs).toISOString()}`);
  }
  if (o.concentrators && o.shard) throw new TypeError('buildCollectionWorld: give concentrators or shard, not both');
  const total = concentratorCount(s);
  const indices = o.concentrators ?? (o.shard ? partitionConcentrators(s, o.shard.index, o.shard.count) : Array.from({ length: total }, (_, i) => i));
  const built: WorldConcentrator[] = [];
  try {
    for (const c of indices) built.push(buildConcentratorWorld(s, planConcentrator(s, c), o.clock, o.log));
  } catch (e) {
    void Promise.all(built.map((w) => w.close()));
    throw e;
  }
  const byId = new Map(built.map((w) => [w.id, w]));
  const byIndex = new Map(built.map((w) => [w.index, w]));
  return {
    scenario: s,
    concentrators: built,
    concentrator: (k) => (typeof k === 'number' ? byIndex.get(k) : byId.get(k)),
    close: async () => {
      for (const w of built) await w.close();
    },
  };
}

/** Builds one planned concentrator's meters and ports on `clock`. */
export function buildConcentratorWorld(s: CollectionScenario, plan: ConcentratorPlan, clock: Clock, log?: (line: string) => void): WorldConcentrator {
  const startMs = clock.now();
  const truths: PointTruth[] = new Array(plan.points.length);
  const ports: WorldPort[] = [];
  const random = new SeededRandom(s.seed).fork(`collection:world:${plan.index}`);
  for (const pp of plan.ports) {
    const name = `${plan.id}:p${pp.port}`;
    let bus: Rs485Bus;
    let node: Link;
    const converters: SimulatedInterfaceConverter[] = [];
    if (pp.kind === 'mbus') {
      const segment = createMbusSegment({ clock, line: pp.line, name, masterName: CONCENTRATOR_NODE });
      bus = segment.bus;
      node = segment.master;
      for (const pn of pp.points) {
        const p = plan.points[pn - 1]!;
        const startKwh = new SeededRandom(p.seed).fork('collection:register').int(1000, 20_000);
        const heating = heatingOf(p.seed);
        const heat = createHeatMeter({
          link: segment.attachSlave(`hm-${p.address}`),
          clock,
          seed: p.seed,
          primaryAddress: Number(p.address),
          identity: { id: p.mbusId!, manufacturer: HEAT_MANUFACTURER, version: 1 },
          heating,
          startKwh,
        });
        truths[pn - 1] = heatTruth(p, heat, { seed: p.seed, heating, startKwh, startMs });
      }
    } else {
      bus = new Rs485Bus({ clock, line: pp.line, name });
      node = bus.attach(CONCENTRATOR_NODE, { line: pp.line });
      if (pp.kind === 'dlt645') {
        for (const pn of pp.points) {
          const p = plan.points[pn - 1]!;
          const meter = createElectricityMeter({ type: electricityType(s.curves?.intervalMinutes ?? 0, p.seed), address: p.address, link: bus.attach(p.address), clock, seed: p.seed });
          truths[pn - 1] = electricityTruth(p, meter);
        }
      } else if (pp.kind === 'cjt188') {
        for (const pn of pp.points) {
          const p = plan.points[pn - 1]!;
          const kind = p.kind === 'gas' ? 'gas' : 'water';
          const options = { seed: p.seed, kind: kind === 'gas' ? ('gas' as const) : ('cold-water' as const), startLitres: new SeededRandom(p.seed).fork('collection:register').int(10_000, 900_000), consumption: consumptionOf(kind) };
          const flow = createFlowMeter({ ...options, link: bus.attach(p.address), clock, address: p.address, sleeps: false, line: pp.line });
          truths[pn - 1] = flowTruth(p, flow, undefined, { ...options, startMs });
        }
      } else {
        const w = s.channels.wireless;
        for (const cp of pp.converters!) {
          const entries = cp.points.map((pn) => plan.points[pn - 1]!);
          const declaration: ConverterDeclarationInput = {
            // The scenario's RS-485 line is a CJ/T 188 line (scenario.ts): 1200..9600.
            line: pp.line as ConverterDeclarationInput['line'],
            archive: entries.map((p) =>
              p.protocol === 'dlt645-2007'
                ? { address: p.address, protocol: 'dlt645' as const, meter: 'electricity' as const, mode: 'transparent' as const }
                : { address: p.address, protocol: 'cjt188' as const, meter: p.kind === 'gas' ? ('gas' as const) : ('cold-water' as const), mode: 'transparent' as const, sleeps: p.sleeps ?? false, sniffPeriodMs: SNIFF_PERIOD_MS },
            ),
            simulation: { hopLossProbability: w.hopLossProbability, hopLatencyMs: [w.hopLatencyMs[0], w.hopLatencyMs[1]] },
          };
          const seed = random.fork(`converter:${pp.port}:${cp.index}`).int(0, 2 ** 20);
          const sim = createInterfaceConverter({ declaration: ConverterDeclarationSchema.parse(declaration), upstream: bus.attach(`converter-${cp.index}`), clock, seed, ...(log ? { log } : {}) });
          converters.push(sim);
          entries.forEach((p, i) => {
            const m = sim.backchannel.meter(p.address)!;
            if (p.lossyHop !== undefined) m.hop.setLossProbability(p.lossyHop);
            if (m.electricityMeter) truths[p.pn - 1] = electricityTruth(p, m.electricityMeter, m.hop);
            else {
              // The converter's own meter options (simulators/converter/index.ts): seed × 1000 + i, register from its random.
              const kind = p.kind === 'gas' ? 'gas' : 'water';
              const startLitres = new SeededRandom(seed).fork('interface-converter').fork(`register:${p.address}`).int(10_000, 900_000);
              const options = { seed: seed * 1000 + i, kind: kind === 'gas' ? ('gas' as const) : ('cold-water' as const), startLitres, consumption: consumptionOf(kind) };
              truths[p.pn - 1] = flowTruth(p, m.flowMeter!, m.hop, { ...options, startMs });
            }
          });
        }
      }
    }
    let link: Link = node;
    let noise: FaultStats | undefined;
    if (pp.noise) {
      const f = new FaultInjectingLink({ link: node, clock, random: random.fork(`noise:${pp.port}`), tx: { corrupt: pp.noise.corrupt, drop: pp.noise.drop }, rx: { corrupt: pp.noise.corrupt, drop: pp.noise.drop }, name: `${name}:noise` });
      link = f;
      noise = f.stats;
    }
    const port = concentratorPortOf(pp, link);
    ports.push({ plan: pp, port, bus, converters, ...(noise ? { noise } : {}) });
  }
  for (const t of truths) if (t.plan.dead) t.setDead(true);

  const byPn = (pn: number): PointTruth | undefined => (Number.isInteger(pn) && pn >= 1 ? truths[pn - 1] : undefined);
  return {
    index: plan.index,
    id: plan.id,
    area: plan.area,
    address: plan.address,
    password: plan.password,
    plan,
    ports: ports.map((p) => p.port),
    archive: plan.archive,
    faults: plan.faults,
    ...(s.curves ? { curves: { intervalMinutes: s.curves.intervalMinutes } } : {}),
    ...concentratorFaults(plan, clock),
    world: { ports },
    truth: {
      points: truths,
      point: byPn,
      check(reading, options = {}) {
        const t = byPn(reading.pn);
        if (!t) return { ok: false, expected: `a point ${reading.pn}`, got: 'no such point' };
        return checkReading(t, reading, options.slackMs ?? DEFAULT_SLACK_MS, startMs);
      },
      checkCurve(curve) {
        const t = byPn(curve.pn);
        if (!t) return { ok: false, expected: `a point ${curve.pn}`, got: 'no such point' };
        return checkCurve(t, curve);
      },
      meterCurve(pn, day, intervalMinutes) {
        const t = byPn(pn);
        return t ? meterCurve(t, day, intervalMinutes) : undefined;
      },
    },
    async close() {
      for (const t of truths) t.setDead(true);
      for (const p of ports) {
        for (const c of p.converters) await c.close();
        await p.bus.close();
      }
    },
  };
}

/**
 * The `ConcentratorPort` a planned port gives the concentrator over `link`: its number, medium, line
 * and reply timeout (behind converters); attempts and wake-up are the concentrator's defaults. The
 * world's bus node, or a serial device (`meterlab simulate concentrator --serial`).
 */
export function concentratorPortOf(pp: PortPlan, link: Link): ConcentratorPort {
  return { port: pp.port, medium: pp.medium, link, line: pp.line, ...(pp.timeoutMs !== undefined ? { timeoutMs: pp.timeoutMs } : {}) };
}

/** A concentrator's planned night faults on `clock`, without its meters (the world's own, and `meterlab simulate concentrator --serial`). */
export type ConcentratorFaults = Pick<WorldConcentrator, 'uplinkUp' | 'throughUplink' | 'scheduleReboot'>;

/** `uplinkUp`, `throughUplink` and `scheduleReboot` of a planned concentrator (WorldConcentrator), on `clock`. */
export function concentratorFaults(plan: ConcentratorPlan, clock: Clock): ConcentratorFaults {
  const down = plan.faults.uplinkDown;
  return {
    uplinkUp: (t) => !down || t < down.from || t >= down.to,
    throughUplink(connect) {
      if (!down) return connect;
      return async () => {
        const now = clock.now();
        if (now >= down.from && now < down.to) throw new LinkError(`${plan.id}: uplink down (scenario fault) until ${new Date(down.to).toISOString()}`);
        const link = await connect();
        if (clock.now() < down.from) {
          const h = clock.setTimeout(() => void link.close().catch(() => undefined), down.from - clock.now());
          link.on('close', () => clock.clearTimeout(h));
        } else if (clock.now() < down.to) {
          // The outage began while connecting.
          await link.close().catch(() => undefined);
          throw new LinkError(`${plan.id}: uplink down (scenario fault) until ${new Date(down.to).toISOString()}`);
        }
        return link;
      };
    },
    scheduleReboot(reboot) {
      const r = plan.faults.reboot;
      if (!r) return () => undefined;
      const h = clock.setTimeout(() => void reboot(r.offMs), Math.max(0, r.at - clock.now()));
      return () => clock.clearTimeout(h);
    },
  };
}

function electricityTruth(plan: PointPlan, meter: ElectricityMeter, hop?: WirelessHop): PointTruth {
  let dead = false;
  return {
    plan,
    archive: archivePointOf(plan),
    get dead() {
      return dead;
    },
    setDead(on) {
      dead = on;
      if (on) meter.server.stop();
      else meter.server.start();
    },
    electricity: meter,
    ...(hop ? { hop } : {}),
    current: () => ({ kind: 'electricity', forwardActiveKwh: energies(meter.model.snapshot().energy.forwardActive) }),
    valueAt() {
      throw new RangeError(`point ${plan.pn} is a DL/T 645 meter: its daily readings are its freezes (freeze(t))`);
    },
    freeze: (t) => meter.model.snapshot().dailyFreezes.find((f) => f.time === t),
    loadRecords: (from, count) => meter.model.loadRecords(from, count),
  };
}

/** Total then T1..T4, kWh (DL/T 645 05060101: total + tariffs). */
function energies(tariffs: readonly number[]): number[] {
  return [tariffs.reduce((a, b) => a + b, 0), ...tariffs];
}

interface FlowTwin {
  readonly seed: number;
  readonly kind: 'cold-water' | 'gas';
  readonly startLitres: number;
  readonly consumption: ConsumptionProfile;
  readonly startMs: number;
}

function flowTruth(plan: PointPlan, flow: FlowMeter, hop: WirelessHop | undefined, twin: FlowTwin): PointTruth {
  let dead = false;
  const meterType = plan.meterType!;
  const value = (m3: number): PointValue => ({ kind: plan.kind as 'water' | 'gas', value: m3, unit: UNIT_CUBIC_METRE, meterType });
  return {
    plan,
    archive: archivePointOf(plan),
    get dead() {
      return dead;
    },
    setDead(on) {
      dead = on;
      if (on) flow.stop();
      else flow.server.start();
    },
    flow,
    ...(hop ? { hop } : {}),
    current: () => value(flow.model.snapshot().cubicMetres),
    valueAt(t) {
      if (t < twin.startMs) throw new RangeError(`valueAt: ${t} is before the world's start`);
      const clock = { now: () => twin.startMs };
      const m = new FlowMeterModel({ clock: clock as unknown as Clock, seed: twin.seed, kind: twin.kind, startLitres: twin.startLitres, consumption: twin.consumption });
      clock.now = () => t;
      return value(m.snapshot().cubicMetres);
    },
    freeze: () => undefined,
    loadRecords: () => [],
  };
}

interface HeatTwin {
  readonly seed: number;
  readonly heating: HeatingProfile;
  readonly startKwh: number;
  readonly startMs: number;
}

function heatTruth(plan: PointPlan, heat: HeatMeter, twin: HeatTwin): PointTruth {
  let dead = false;
  // The energy record the M-Bus slave sends: whole kWh (simulators/heat-meter/mbus-slave.ts).
  const value = (kwh: number): PointValue => ({ kind: 'heat', value: Math.floor(kwh), unit: UNIT_KWH, meterType: plan.meterType! });
  return {
    plan,
    archive: archivePointOf(plan),
    get dead() {
      return dead;
    },
    setDead(on) {
      dead = on;
      if (on) heat.stop();
      else heat.server.start();
    },
    heat,
    current: () => value(heat.model.snapshot().energyKwh),
    valueAt(t) {
      if (t < twin.startMs) throw new RangeError(`valueAt: ${t} is before the world's start`);
      const clock = { now: () => twin.startMs };
      const m = new HeatMeterModel({ clock: clock as unknown as Clock, seed: twin.seed, heating: twin.heating, startKwh: twin.startKwh });
      clock.now = () => t;
      return value(m.snapshot().energyKwh);
    },
    freeze: () => undefined,
    loadRecords: () => [],
  };
}

/** Default window of `check` around a non-freezing meter's read instant (ConcentratorTruth.check). */
const DEFAULT_SLACK_MS = 10_000;
/** DL/T 645 energy XXXXXX.XX kWh rolls over at 999999.99 (simulators/electricity-meter/values.ts). */
const ENERGY_MAX = 1_000_000;
/** An energy register as the reference meter sends it: truncated to 0.01 kWh (values.ts `kWh`). */
const sentKwh = (v: number): number => truncateTo(v % ENERGY_MAX, 2);

/** Local time of the meters and of the scenario's concentrators (scenario.ts: UTC+8). */
const LOCAL_OFFSET_MINUTES = 480;

const two = (n: number): string => String(n).padStart(2, '0');

/**
 * The meter's own records of `day` as a day curve: point i is the record whose time fields read
 * `day` at i x interval minutes; a quantity of a class the record lacks, or an invalid record, is NaN.
 */
function meterCurve(t: PointTruth, day: string, intervalMinutes: number): DailyCurve {
  const points = Math.round(1440 / intervalMinutes);
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  const from = Date.UTC(y, m - 1, d) - LOCAL_OFFSET_MINUTES * 60_000;
  const forwardActiveKwh = new Float64Array(points).fill(NaN);
  const activePowerKw = new Float64Array(points).fill(NaN);
  const voltageAV = new Float64Array(points).fill(NaN);
  for (const r of t.loadRecords(from, points + 1)) {
    const date = `${r.time.year}-${two(r.time.month)}-${two(r.time.day)}`;
    const minutes = r.time.hour * 60 + r.time.minute;
    if (date !== day || minutes % intervalMinutes !== 0 || !r.valid) continue;
    const i = minutes / intervalMinutes;
    forwardActiveKwh[i] = r.energy?.forwardActiveKwh ?? NaN;
    activePowerKw[i] = r.power?.activeKw[0] ?? NaN;
    voltageAV[i] = r.voltageCurrentFrequency?.voltageV[0] ?? NaN;
  }
  return { pn: t.plan.pn, day, intervalMinutes, readAt: NaN, forwardActiveKwh, activePowerKw, voltageAV };
}

function checkCurve(t: PointTruth, c: DailyCurve): ReadingCheck {
  const points = c.forwardActiveKwh.length;
  if (points !== Math.round(1440 / c.intervalMinutes)) return { ok: false, expected: `${Math.round(1440 / c.intervalMinutes)} points a day at ${c.intervalMinutes} min`, got: `${points}` };
  const want = meterCurve(t, c.day, c.intervalMinutes);
  const series = [
    ['forwardActiveKwh', 1e-6],
    ['activePowerKw', 1e-7],
    ['voltageAV', 1e-6],
  ] as const;
  for (const [name, eps] of series) {
    const a = c[name];
    const b = want[name];
    if (a.length !== b.length) return { ok: false, expected: `${b.length} points of ${name}`, got: `${a.length}` };
    for (let i = 0; i < a.length; i++) {
      const same = Number.isNaN(b[i]!) ? Number.isNaN(a[i]!) : Math.abs(a[i]! - b[i]!) < eps;
      if (!same) return { ok: false, expected: `${name}[${i}] = ${b[i]} (the meter's record at ${c.day} +${i * c.intervalMinutes} min)`, got: String(a[i]) };
    }
  }
  return { ok: true, expected: 'the meter\'s load records', got: `${points} points` };
}

function checkReading(t: PointTruth, r: DailyReading, slackMs: number, startMs: number): ReadingCheck {
  const got = JSON.stringify(r.value);
  if (r.value.kind !== t.plan.kind) return { ok: false, expected: `a ${t.plan.kind} reading`, got };
  if (r.value.kind === 'electricity') {
    const f = t.freeze(r.frozenAt);
    if (!f) return { ok: false, expected: `a daily freeze of the meter at ${new Date(r.frozenAt).toISOString()}`, got };
    const want = energies(f.energy.forwardActive).map(sentKwh);
    const values = r.value.forwardActiveKwh;
    // Total and every tariff the reading holds, exactly as the meter sent them (to float noise).
    const ok = values.length >= 1 && values.every((v, i) => i < want.length && Math.abs(v - want[i]!) < 1e-6);
    return { ok, expected: JSON.stringify(want), got };
  }
  const lo = t.valueAt(Math.max(startMs, r.frozenAt - slackMs));
  const hi = t.valueAt(Math.max(startMs, r.frozenAt + slackMs));
  const v = r.value;
  const loV = (lo as { value: number }).value;
  const hiV = (hi as { value: number }).value;
  const ok = v.unit === (lo as { unit: number }).unit && v.meterType === t.plan.meterType && v.value >= loV - 1e-9 && v.value <= hiV + 1e-9;
  return { ok, expected: `${loV}..${hiV} unit ${(lo as { unit: number }).unit.toString(16)}H, meter type ${t.plan.meterType!.toString(16)}H`, got };
}
