/**
 * Building a planned fleet: RS-485 buses (harness/links/bus.ts) of simulated meters
 * (createElectricityMeter), all of a partition on ONE injected clock. Only public APIs are used,
 * so a faster clock, bus or meter elsewhere applies here unchanged.
 */
import type { Clock } from '../../harness/core/clock.ts';
import { Rs485Bus, type BusNode } from '../../harness/links/bus.ts';
import { compileMeterType, createBehaviour, createElectricityMeter, type BehaviourConfig, type MeterType, type ElectricityMeter, type SimulatorProfile } from '../electricity-meter/index.ts';
import { planBus, type BusPlan, type MeterPlan } from './plan.ts';
import type { FleetScenario } from './scenario.ts';

/** Name of the master's node (its RS-485 adapter) on every bus. */
export const ADAPTER_NODE = 'adapter';

export interface FleetMeter {
  readonly plan: MeterPlan;
  readonly meter: ElectricityMeter;
  readonly node: BusNode;
}

export interface FleetBus {
  readonly plan: BusPlan;
  readonly bus: Rs485Bus;
  /** The master's side of the bus: whatever writes here reaches every meter at the line rate. */
  readonly adapter: BusNode;
  readonly meters: readonly FleetMeter[];
  /** Stops every meter and detaches every node. */
  close(): Promise<void>;
}

/** The behaviour a fault adds on top of the model's own stack. */
function faultBehaviour(plan: MeterPlan): BehaviourConfig | undefined {
  switch (plan.fault.kind) {
    case 'none':
      return undefined;
    case 'dead':
      return { name: 'silent' };
    case 'slow':
      return { name: 'late-reply', delayMs: plan.fault.delayMs };
    case 'broken':
      return plan.fault.behaviour;
  }
}

/** The model's profile with the load profile the plan gives the meter (the model itself when it keeps its own). */
function modelWithLoad(scenario: FleetScenario, plan: MeterPlan): SimulatorProfile {
  const model = scenario.models[plan.model]!.profile;
  if (plan.load < 0) return model;
  const load = scenario.loadProfiles![plan.load]!.load;
  return { ...model, simulation: { ...model.simulation, load } } as SimulatorProfile;
}

/** The model's profile with this meter's address, load and fault (not yet validated). */
export function meterProfile(scenario: FleetScenario, plan: MeterPlan): SimulatorProfile {
  const profile = modelWithLoad(scenario, plan);
  const extra = faultBehaviour(plan);
  return {
    ...profile,
    meter: { ...profile.meter, address: plan.address },
    behaviours: extra ? [...profile.behaviours, extra] : profile.behaviours,
  } as SimulatorProfile;
}

/** Meter types of a scenario, one per (model, load profile) pair that occurs, compiled on first use. */
const typesOf = new WeakMap<FleetScenario, Map<string, MeterType>>();

/**
 * The shared meter type (flyweight, issue 7) of a meter: its model's profile with the load profile
 * the plan gives it, validated and compiled once for every meter of the scenario that has both.
 * A scenario has a few models and load profiles, so a few types serve 200,000 meters.
 */
export function fleetMeterType(scenario: FleetScenario, plan: MeterPlan): MeterType {
  let types = typesOf.get(scenario);
  if (!types) {
    types = new Map();
    typesOf.set(scenario, types);
  }
  const key = `${plan.model}/${plan.load}`;
  let type = types.get(key);
  if (!type) {
    type = compileMeterType(modelWithLoad(scenario, plan));
    types.set(key, type);
  }
  return type;
}

/**
 * Creates one meter of the fleet on `node`: a meter of its shared type at its own address (nothing
 * of the profile copied or validated again), with its fault's behaviour pushed on top of the
 * model's own stack - the same stack, replies and instants as a meter built from `meterProfile`.
 */
export function createFleetMeter(scenario: FleetScenario, plan: MeterPlan, node: BusNode, clock: Clock): ElectricityMeter {
  const meter = createElectricityMeter({ type: fleetMeterType(scenario, plan), address: plan.address, link: node, clock, seed: plan.seed });
  const extra = faultBehaviour(plan);
  if (extra) meter.server.pushBehaviour(createBehaviour(extra));
  return meter;
}

/** Builds bus `index` of the scenario on `clock`: the meters and the master's adapter node. */
export function buildBus(scenario: FleetScenario, index: number, clock: Clock): FleetBus {
  const plan = planBus(scenario, index);
  const bus = new Rs485Bus({ clock, line: scenario.line, name: plan.name });
  const adapter = bus.attach(ADAPTER_NODE, { line: scenario.line });
  const meters: FleetMeter[] = plan.meters.map((m) => {
    const profile = scenario.models[m.model]!.profile;
    const node = bus.attach(m.address, { line: profile.meter.line });
    return { plan: m, node, meter: createFleetMeter(scenario, m, node, clock) };
  });
  return {
    plan,
    bus,
    adapter,
    meters,
    async close() {
      for (const m of meters) m.meter.stop();
      await bus.close();
    },
  };
}
