/**
 * One RS-485 bus of 32 reference meters and one DL/T 645 master reading 4 identifiers from each
 * (128 items), on one VirtualClock: CPU per item read, and the simulated line time it covered.
 * The unit the fleet benchmarks of issue 7 repeat per bus. Public APIs only (Rs485Bus,
 * createElectricityMeter, Dlt645Master, VirtualClock), so fleet code can reuse `readBus`.
 *
 *   npx tsx bench/bus.ts [--delivery byte|frame] [--rounds n]     (or: npm run bench -- --only bus)
 */
import { cpuUsage } from 'node:process';
import { VirtualClock, type Clock } from '../harness/core/clock.ts';
import { Rs485Bus, type Rs485BusOptions } from '../harness/links/bus.ts';
import { Dlt645Master } from '../harness/masters/dlt645-master.ts';
import { createElectricityMeter, REFERENCE_METER_PROFILE_INPUT } from '../simulators/electricity-meter/index.ts';

/** What a concentrator reads from each meter in the scale table: 4 identifiers. */
export const BUS_ITEMS = ['00010000', '00020000', '02010100', '02020100'] as const;
/** Meters per bus: the RS-485 unit load limit of a standard transceiver (32 unit loads). */
export const METERS_PER_BUS = 32;

export interface BusReadResult {
  readonly items: number;
  /** CPU (user + system) of the reading, ms (building the meters not included). */
  readonly cpuMs: number;
  /** CPU of building the bus and its meters, ms. */
  readonly setupCpuMs: number;
  /** Virtual time the reading covered, ms. */
  readonly simulatedMs: number;
}

/** Builds one bus of `meters` reference meters (addresses 000000000001..) and reads `BUS_ITEMS` from each, `rounds` times. */
export async function readBus(
  options: { meters?: number; rounds?: number; clock?: VirtualClock; delivery?: Rs485BusOptions['delivery'] } = {},
): Promise<BusReadResult> {
  const meters = options.meters ?? METERS_PER_BUS;
  const rounds = options.rounds ?? 1;
  const clock = options.clock ?? new VirtualClock();
  const setup0 = cpuUsage();
  const t0 = clock.now();
  const bus = new Rs485Bus({ clock, name: 'bench', ...(options.delivery ? { delivery: options.delivery } : {}) });
  const addresses: string[] = [];
  for (let i = 1; i <= meters; i++) {
    const address = String(i).padStart(12, '0');
    addresses.push(address);
    const profile = { ...REFERENCE_METER_PROFILE_INPUT, meter: { ...REFERENCE_METER_PROFILE_INPUT.meter, address } };
    createElectricityMeter({ profile, link: bus.attach(`m${i}`), clock: clock as Clock, seed: i });
  }
  const link = bus.attach('master');
  const master = new Dlt645Master({ link, clock, line: bus.line });
  const setup = cpuUsage(setup0);
  const cpu0 = cpuUsage();
  let items = 0;
  await clock.run(async () => {
    for (let round = 0; round < rounds; round++) {
      for (const address of addresses) {
        for (const di of BUS_ITEMS) {
          await master.readData(address, di);
          items++;
        }
      }
    }
  });
  const cpu = cpuUsage(cpu0);
  master.dispose();
  await bus.close();
  return { items, cpuMs: (cpu.user + cpu.system) / 1000, setupCpuMs: (setup.user + setup.system) / 1000, simulatedMs: clock.now() - t0 };
}

interface Row {
  readonly name: string;
  readonly median: number;
  readonly unit: string;
  readonly note: string;
}

/** Rounds per measured run: the first round of a fresh process is JIT warm-up, so a run reads 5. */
const ROUNDS = 5;

/** Median of 3 runs of ROUNDS rounds each, after one warm-up run, for each delivery mode. */
export async function busBenchmarks(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const delivery of ['byte', 'frame'] as const) {
    await readBus({ delivery });
    const runs: BusReadResult[] = [];
    for (let i = 0; i < 3; i++) runs.push(await readBus({ delivery, rounds: ROUNDS }));
    runs.sort((a, b) => a.cpuMs - b.cpuMs);
    const m = runs[1]!;
    rows.push({
      name: `bus of ${METERS_PER_BUS} reference meters, master reads ${BUS_ITEMS.length} items each ${ROUNDS} times, ${delivery} delivery`,
      median: Math.round((m.cpuMs * 1000) / m.items),
      unit: 'µs CPU/item',
      note: `${m.items} items, ${(m.simulatedMs / 1000).toFixed(1)} s simulated; building the ${METERS_PER_BUS} meters: ${m.setupCpuMs.toFixed(0)} ms CPU`,
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const at = process.argv.indexOf('--delivery');
  const delivery = at >= 0 ? (process.argv[at + 1] as 'byte' | 'frame') : undefined;
  const roundsAt = process.argv.indexOf('--rounds');
  const rounds = roundsAt >= 0 ? Number(process.argv[roundsAt + 1]) : ROUNDS;
  await readBus({ ...(delivery ? { delivery } : {}) });
  const r = await readBus({ rounds, ...(delivery ? { delivery } : {}) });
  process.stdout.write(
    `${r.items} items, ${((r.cpuMs * 1000) / r.items).toFixed(0)} µs CPU/item read, ${(r.simulatedMs / 1000).toFixed(1)} s simulated; building ${METERS_PER_BUS} meters ${r.setupCpuMs.toFixed(0)} ms CPU\n`,
  );
}
