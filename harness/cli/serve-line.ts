/**
 * Serving a simulated line (the master's end of a simulated RS-485 bus or M-Bus segment) on a
 * serial port or a TCP port, until a signal or the transport is lost: what `meterlab simulate
 * water|gas|heat` (simulate-devices.ts) and `meterlab simulate converter` (simulate-converter.ts)
 * share. On TCP, one client at a time, as a TCP serial server does. Returns the exit code; the
 * caller's `stop` ends its simulated devices and bus, on every path.
 */
import type { Clock } from '../core/clock.ts';
import type { LineSettings, Link } from '../links/link.ts';
import type { TcpListener } from '../links/tcp.ts';
import { EXIT, type ExitCode } from './exit.ts';
import { waitForSignal } from './signals.ts';
import { DEFAULT_IDLE_TIMEOUT_S, TcpBusPort, parseHostPort, serveOneClientAtATime } from './simulate.ts';

export interface ServeLineOptions {
  /** Exactly one of port and tcp (checked by the command's plan). */
  readonly port?: string | undefined;
  readonly tcp?: string | undefined;
  readonly idleTimeout?: number | undefined;
  readonly line: LineSettings;
  /** The master's end of the simulated line. */
  readonly adapter: Link;
  /** What is served, for the "serving on" line: "3 heat meter(s) … at 2400 8E1". */
  readonly what: string;
  /** Who a refused second TCP client is told is busy: "the converter". */
  readonly servedName: string;
  readonly clock: Clock;
  say(line: string): void;
  /** Ends the simulated devices and their bus. */
  stop(): Promise<void>;
  /** The line said when stopped by a signal. */
  stopped(signal: string): string;
}

export async function serveSimulatedLine(o: ServeLineOptions): Promise<ExitCode> {
  const stamp = (): string => new Date(o.clock.now()).toISOString();
  const signal = waitForSignal();
  let closeTransport: () => Promise<void> = async () => undefined;
  let transportLost: Promise<string> = new Promise(() => undefined);
  try {
    if (o.port !== undefined) {
      const { openSerialLink } = await import('../links/serial.ts');
      const serial = await openSerialLink({ path: o.port, line: o.line });
      bridge(serial, o.adapter);
      closeTransport = () => serial.close();
      transportLost = new Promise((resolve) => {
        serial.on('error', (e) => resolve(e.message));
        serial.once('close', () => resolve(`serial port ${o.port} closed`));
      });
      o.say(`meterlab: ${o.what} serving on ${o.port}`);
    } else {
      const { host, port } = parseHostPort(o.tcp!);
      const idleS = o.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_S;
      const { listenTcp } = await import('../links/tcp.ts');
      const listener: TcpListener = await listenTcp({ host, port, idleTimeoutMs: idleS * 1000, clock: o.clock });
      serveOneClientAtATime(listener, { what: o.servedName, served: new TcpBusPort(o.adapter), say: (l) => o.say(`${stamp()} ${l}`), sayError: o.say, clock: o.clock });
      closeTransport = () => listener.close();
      o.say(`meterlab: ${o.what} serving on tcp ${host}:${listener.port} (one client at a time, ${idleS > 0 ? `idle timeout ${idleS} s` : 'no idle timeout'})`);
    }
  } catch (e) {
    signal.dispose();
    await o.stop();
    throw e;
  }
  const why = await Promise.race([signal.promise.then((s) => ({ signal: s as string })), transportLost.then((reason) => ({ lost: reason }))]);
  signal.dispose();
  await closeTransport().catch(() => undefined);
  await o.stop();
  if ('lost' in why) {
    o.say(`meterlab: ${why.lost}`);
    return EXIT.environment;
  }
  o.say(o.stopped(why.signal));
  return EXIT.ok;
}

/** A serial port as the master's end of the simulated line: bytes both ways. */
function bridge(serial: Link, adapter: Link): void {
  serial.on('data', (bytes) => void adapter.write(bytes).catch(() => undefined));
  adapter.on('data', (bytes) => {
    if (serial.isOpen) void serial.write(bytes).catch(() => undefined);
  });
}
