/**
 * `meterlab simulate converter`: the simulated interface converter (simulators/converter) with the
 * meters of its archive behind it, its upstream RS-485 side served on a serial port or a TCP port
 * (what a TCP serial server does: one client at a time, the client is the concentrator's end of the
 * line). A concentrator or a standard CJ/T 188 / DL/T 645 master program reads the archived meters
 * through it like through a real converter: the bytes are exact; the timing is the simulated line's
 * and hops' (in real time). Every upstream frame is logged on stderr, decoded.
 *
 * The converter is the one a target profile declares (`--profile`, `device.protocol` "converter");
 * by default the reference converter, suites/profiles/reference-interface-converter.json.
 */
import { fileURLToPath } from 'node:url';
import type { Clock } from '../core/clock.ts';
import { RealClock } from '../core/clock.ts';
import { UsageError } from '../core/errors.ts';
import { Rs485Bus } from '../links/bus.ts';
import { formatLine } from '../links/link.ts';
import type { ConverterDeclaration } from '../protocols/converter/index.ts';
import { describeConverter } from '../targets/converter-protocol.ts';
import { loadDeviceTargetProfile } from '../targets/device-profile.ts';
import type { CliIo } from './program.ts';
import type { ExitCode } from './exit.ts';
import { stderrLog } from './simulate.ts';
import { serveSimulatedLine } from './serve-line.ts';

export interface SimulateConverterOptions {
  readonly port?: string;
  readonly baud?: number;
  readonly tcp?: string;
  readonly idleTimeout?: number;
  /** A target profile whose device is an interface converter; default the reference converter. */
  readonly profile?: string;
  readonly seed?: number;
}

/** The reference converter's profile (also what `meterlab run --target reference` runs the converter suite on). */
export const REFERENCE_CONVERTER_PROFILE = fileURLToPath(new URL('../../suites/profiles/reference-interface-converter.json', import.meta.url));

/** Checks every option and loads the declaration before anything is opened. */
export function planConverter(o: SimulateConverterOptions): { declaration: ConverterDeclaration; name: string } {
  if ((o.port === undefined) === (o.tcp === undefined)) throw new UsageError('give exactly one of --port <path> or --tcp <host:port>');
  if (o.tcp !== undefined && o.baud !== undefined) throw new UsageError('--baud applies to --port only');
  if (o.port !== undefined && o.idleTimeout !== undefined) throw new UsageError('--idle-timeout applies to --tcp only');
  const profile = loadDeviceTargetProfile(o.profile ?? REFERENCE_CONVERTER_PROFILE);
  if (profile.device.protocol !== 'converter') {
    throw new UsageError(`--profile ${o.profile}: its device is a ${profile.device.kind} (protocol "${profile.device.protocol}"), not an interface converter (protocol "converter")`);
  }
  const declared = profile.device.declaration as ConverterDeclaration;
  const declaration = o.baud !== undefined ? { ...declared, line: { ...declared.line, baudRate: o.baud as ConverterDeclaration['line']['baudRate'] } } : declared;
  if (![1200, 2400, 4800, 9600].includes(declaration.line.baudRate)) throw new UsageError(`--baud ${o.baud}: a converter's RS-485 side runs at 1200, 2400, 4800 or 9600 bit/s`);
  return { declaration, name: profile.name };
}

export async function simulateConverterCommand(o: SimulateConverterOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  const { declaration, name } = planConverter(o);
  const log = stderrLog(io.stderr);
  const say = (l: string): void => log.say(l);
  const stamp = (): string => new Date(clock.now()).toISOString();
  const line = declaration.line;
  const bus = new Rs485Bus({ clock, line, name: 'rs485' });
  const adapter = bus.attach('master', { line });
  const upstream = bus.attach('converter', { line });
  const { createInterfaceConverter } = await import('../../simulators/converter/index.ts');
  const sim = createInterfaceConverter({ declaration, upstream, clock, seed: o.seed ?? 1, log: (l) => log.frame(`${stamp()} ${l}`) });
  upstream.on('data', (bytes) => log.frame(`${stamp()} -> ${describeConverter(bytes, 'rx') ?? `${bytes.length} byte(s)`}`));
  adapter.on('data', (bytes) => log.frame(`${stamp()} <- ${describeConverter(bytes, 'rx') ?? `${bytes.length} byte(s)`}`));
  const meters = declaration.archive.map((e) => `${e.address} ${e.meter} ${e.protocol}${e.mode === 'convert' ? ` (converted, MLGW ${e.meterId})` : ''}${e.sleeps ? ' sleeping' : ''}`).join(', ');
  const what = `interface converter ${name} at ${formatLine(line)} with ${declaration.archive.length} meter(s): ${meters}`;
  return serveSimulatedLine({
    port: o.port,
    tcp: o.tcp,
    idleTimeout: o.idleTimeout,
    line,
    adapter,
    what,
    servedName: 'the converter',
    clock,
    say,
    stop: async () => {
      await sim.close();
      await bus.close();
    },
    stopped: (signal) => {
      const st = sim.converter.stats;
      return `meterlab: converter stopped (${signal}): ${st.requests} request(s) for archived meters, ${st.answered} answered, ${st.unanswered} unanswered, ${st.ignored} other frame(s) ignored`;
    },
  });
}

