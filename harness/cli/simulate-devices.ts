/**
 * `meterlab simulate heat --protocol mbus` and `meterlab simulate water|gas --protocol cjt188`:
 * one simulated meter, or a segment of `--count` of them, on a simulated line (bytes at the line
 * rate), served on a serial port or on a TCP port (what a TCP serial server does: one client at a
 * time, the client is the master's end of the line). A standard M-Bus or CJ/T 188 master program
 * reads them like real meters: the bytes are exact; the timing is the simulated line's.
 *
 * Heat meters: primary addresses first..first+count-1, identification numbers from `--id` up,
 * manufacturer MLB. Water and gas meters: 14-digit addresses from `--address` up. A gas meter is a
 * battery meter that sleeps (MM-06: a request needs ≥ 2 s of FE preamble to wake it).
 */
import type { Clock } from '../core/clock.ts';
import { RealClock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';
import { Rs485Bus } from '../links/bus.ts';
import { formatLine, type LineSettings } from '../links/link.ts';
import { manufacturerValue } from '../protocols/mbus/index.ts';
import type { CliIo } from './program.ts';
import type { ExitCode } from './exit.ts';
import { stderrLog } from './simulate.ts';
import { serveSimulatedLine } from './serve-line.ts';

export type DeviceKindOption = 'heat' | 'water' | 'gas';

export interface SimulateDevicesOptions {
  readonly kind: DeviceKindOption;
  readonly protocol: string;
  readonly port?: string;
  readonly baud?: number;
  readonly tcp?: string;
  readonly idleTimeout?: number;
  readonly count?: number;
  /** Heat: first primary address (1..250). */
  readonly primary?: number;
  /** Heat: first identification number (8 digits). */
  readonly id?: string;
  /** Water/gas: first address (14 digits). */
  readonly address?: string;
  readonly seed?: number;
}

/** M-Bus and CJ/T 188 lines default to 2400 8E1 (MBUS.md 1; PROTOCOLS.md 2.1). */
const DEFAULT_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };
/** Largest segment served: the M-Bus primary address space is 1..250 (MBUS.md 2). */
export const MAX_SEGMENT_DEVICES = 250;
/**
 * History a served heat meter starts with: it has counted for three 31-day months, so its first
 * telegram already carries the two monthly storages it sends (simulators/heat-meter, storage
 * numbers 1 and 2). MeterLab's choice.
 */
export const HEAT_METER_HISTORY_MS = 3 * 31 * 86_400_000;
/** Manufacturer code of MeterLab's simulated heat meters (three letters, EN 13757-3 FLAG code form). */
export const SIMULATED_MANUFACTURER = 'MLB';

/** Checks every option before anything is opened; returns the device addresses. */
export function planDevices(o: SimulateDevicesOptions): { addresses: string[]; line: LineSettings } {
  const want = o.kind === 'heat' ? 'mbus' : 'cjt188';
  if (o.protocol !== want) throw new UsageError(`--protocol ${o.protocol}: a simulated ${o.kind} meter speaks ${want}`);
  if ((o.port === undefined) === (o.tcp === undefined)) throw new UsageError('give exactly one of --port <path> or --tcp <host:port>');
  if (o.tcp !== undefined && o.baud !== undefined) throw new UsageError('--baud applies to --port only');
  if (o.port !== undefined && o.idleTimeout !== undefined) throw new UsageError('--idle-timeout applies to --tcp only');
  const count = o.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > MAX_SEGMENT_DEVICES) throw new UsageError(`--count must be 1..${MAX_SEGMENT_DEVICES}, got ${String(o.count)}`);
  const line = { ...DEFAULT_LINE, ...(o.baud !== undefined ? { baudRate: o.baud } : {}) };
  if (o.kind === 'heat') {
    if (o.address !== undefined) throw new UsageError('--address applies to water and gas meters (heat meters take --primary and --id)');
    const first = o.primary ?? 1;
    if (!Number.isInteger(first) || first < 1 || first + count - 1 > 250) throw new UsageError(`--primary ${first} with --count ${count}: primary addresses must stay within 1..250`);
    const id = o.id ?? '00000001';
    if (!/^\d{8}$/.test(id)) throw new UsageError(`--id must be 8 decimal digits, got "${id}"`);
    if (Number(id) + count - 1 > 99_999_999) throw new UsageError(`--id ${id} with --count ${count} runs past 99999999`);
    return { addresses: Array.from({ length: count }, (_, i) => `${first + i}:${String(Number(id) + i).padStart(8, '0')}`), line };
  }
  if (o.primary !== undefined || o.id !== undefined) throw new UsageError('--primary and --id apply to heat meters (water and gas meters take --address)');
  const base = o.address ?? '00000000000001';
  if (!/^\d{14}$/.test(base)) throw new UsageError(`--address must be 14 decimal digits, got "${base}"`);
  if (BigInt(base) + BigInt(count - 1) > 99_999_999_999_999n) throw new UsageError(`--address ${base} with --count ${count} runs past 14 digits`);
  return { addresses: Array.from({ length: count }, (_, i) => (BigInt(base) + BigInt(i)).toString().padStart(14, '0')), line };
}

export async function simulateDevicesCommand(o: SimulateDevicesOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  const { addresses, line } = planDevices(o);
  const log = stderrLog(io.stderr);
  const say = (l: string): void => log.say(l);
  const bus = new Rs485Bus({ clock, line, name: `${o.kind}-segment` });
  const adapter = bus.attach('master', { line });
  const stops: (() => void)[] = [];
  const seed = o.seed ?? 1;
  if (o.kind === 'heat') {
    const { createHeatMeter } = await import('../../simulators/heat-meter/index.ts');
    const manufacturer = manufacturerValue(SIMULATED_MANUFACTURER);
    addresses.forEach((a, i) => {
      const [primary, id] = a.split(':') as [string, string];
      const m = createHeatMeter({
        link: bus.attach(`hm-${primary}`, { line }),
        clock,
        seed: seed + i,
        primaryAddress: Number(primary),
        identity: { id, manufacturer, version: 1 },
        countingSince: clock.now() - HEAT_METER_HISTORY_MS,
      });
      stops.push(() => m.stop());
    });
  } else {
    const { createFlowMeter } = await import('../../simulators/flow-meter/index.ts');
    const kind = o.kind === 'gas' ? 'gas' : 'cold-water';
    const consumption = o.kind === 'gas' ? { dailyLitres: { min: 500, max: 2000 }, emptyDayProbability: 0.1 } : { dailyLitres: { min: 200, max: 600 }, emptyDayProbability: 0.1 };
    addresses.forEach((address, i) => {
      const m = createFlowMeter({ link: bus.attach(address, { line }), clock, seed: seed + i, kind, address, consumption, line });
      stops.push(() => m.stop());
    });
  }
  const what = `${addresses.length} ${o.kind} meter(s) ${addresses[0]}${addresses.length > 1 ? ` .. ${addresses.at(-1)}` : ''} (${o.protocol}) at ${formatLine(line)}`;
  return serveSimulatedLine({
    port: o.port,
    tcp: o.tcp,
    idleTimeout: o.idleTimeout,
    line,
    adapter,
    what,
    servedName: `the ${o.kind} segment`,
    clock,
    say,
    stop: async () => {
      for (const s of stops) s();
      await bus.close();
    },
    stopped: (signal) => `meterlab: ${o.kind} meter(s) stopped (${signal})`,
  });
}

