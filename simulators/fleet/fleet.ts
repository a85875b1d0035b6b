/**
 * Building a planned fleet: RS-485 buses (harness/links/bus.ts) of simulated meters
 * (createElectricityMeter), all of a partition on ONE injected clock. Only public APIs are used,
 * so a faster clock, bus or meter elsewhere applies here unchanged.
 */
import type { Clock } from '../../harness/core/clock.ts';
import { Rs485Bus, type BusNode } from '../../harness/links/bus.ts';
import { createElectricityMeter, type BehaviourConfig, type ElectricityMeter, type SimulatorProfile } from '../electricity-meter/index.ts';
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

/** The model's profile with this meter's address, load and fault (not yet validated). */
export function meterProfile(scenario: FleetScenario, plan: MeterPlan): SimulatorProfile {
  const model = scenario.models[plan.model]!.profile;
  const extra = faultBehaviour(plan);
  const load = plan.load >= 0 ? scenario.loadProfiles![plan.load]!.load : model.simulation.load;
  return {
    ...model,
    meter: { ...model.meter, address: plan.address },
    simulation: load === model.simulation.load ? model.simulation : { ...model.simulation, load },
    behaviours: extra ? [...model.behaviours, extra] : model.behaviours,
  } as SimulatorProfile;
}

/**
 * Creates one meter of the fleet on `node`.
 *
 * >>> SWITCH POINT (flyweight, issue 7; wip/fly) <<<
 * Today this goes through createElectricityMeter, which validates the whole profile again for
 * every meter (about 1.3 ms and 64 KiB each). Once a compiled, shared model with cheap per-meter
 * creation exists, this function is the one place to switch to it: compile each scenario model
 * once, then create each meter from it with its own address, load, extra behaviour and seed.
 */
export function createFleetMeter(scenario: FleetScenario, plan: MeterPlan, node: BusNode, clock: Clock): ElectricityMeter {
  return createElectricityMeter({ profile: meterProfile(scenario, plan), link: node, clock, seed: plan.seed });
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
