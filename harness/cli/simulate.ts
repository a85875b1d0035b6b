/**
 * `meterlab simulate meter --protocol dlt645 (--port <path> [--baud n] | --tcp <host:port>) --address <12 digits>
 *  [--profile <file>] [--seed n]`
 *
 * Serves one simulated DL/T 645-2007 electricity meter (simulators/electricity-meter, real
 * time) on a real serial device or on a TCP listening port, until SIGINT or SIGTERM (then a clean
 * shutdown and exit 0). On TCP one client is served at a time; further clients are refused
 * while one is connected, and the meter keeps its state from one client to the next.
 *
 * stderr: a ready line once listening (`meterlab: meter 123456789012 serving on /dev/ttyUSB0 at 2400 8E1`,
 * `meterlab: meter 123456789012 serving on tcp 127.0.0.1:8645`), then one line per frame received
 * (rx) or sent (tx): time, direction, one-line decode, [hex].
 */
import { readFileSync } from 'node:fs';
import { toHex } from '../core/bytes.ts';
import { RealClock, type Clock } from '../core/clock.ts';
import { ProfileError, UsageError } from '../core/errors.ts';
import { formatLine, LinkBase, type Link } from '../links/link.ts';
import { decodeFrame, decodeMessage, describeFrame, DICTIONARY, HEADER_LENGTH } from '../protocols/dlt645/index.ts';
import {
  createElectricityMeter,
  loadSimulatorProfile,
  REFERENCE_METER_PROFILE,
  type SimulatorProfile,
} from '../../simulators/electricity-meter/index.ts';
import { EXIT, oneLine, type ExitCode } from './exit.ts';
import type { CliIo } from './program.ts';

export interface SimulateMeterOptions {
  readonly protocol: string;
  readonly port?: string;
  readonly baud?: number;
  readonly tcp?: string;
  readonly address: string;
  readonly profile?: string;
  readonly seed?: number;
}

/** "host:port" or "[v6]:port"; port 0 picks a free one (printed in the ready line). */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--tcp must be <host>:<port>, e.g. 127.0.0.1:8645; got "${text}"`);
  return { host: (m[1] ?? m[2])!, port };
}

/** The simulator profile: --profile file (or the reference meter) with --address and --baud applied. */
export function simulatorProfileFor(opts: Pick<SimulateMeterOptions, 'profile' | 'address' | 'baud'>): SimulatorProfile {
  let base: SimulatorProfile = REFERENCE_METER_PROFILE;
  let source = 'reference meter profile';
  if (opts.profile !== undefined) {
    source = `simulator profile ${opts.profile}`;
    let text: string;
    try {
      text = readFileSync(opts.profile, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ProfileError(`${source}: ${code === 'ENOENT' ? 'no such file' : oneLine((e as Error).message)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      throw new ProfileError(`${source}: invalid JSON: ${oneLine((e as Error).message)}`);
    }
    base = loadSimulatorProfile(json, source);
  }
  const line = opts.baud !== undefined ? { ...base.meter.line, baudRate: opts.baud } : base.meter.line;
  return loadSimulatorProfile({ ...base, meter: { ...base.meter, address: opts.address, line } }, source);
}

/** One line for a frame on the wire: decode (dictionary names and values) and hex. */
export function describeWireFrame(bytes: Uint8Array): string {
  const f = decodeFrame(bytes, 0);
  if (!f.ok) return `undecodable (${f.error.code}: ${f.error.message}) [${toHex(bytes)}]`;
  const { frame, start } = f.value;
  const message = decodeMessage(frame, start + frame.preamble + HEADER_LENGTH);
  return `${describeFrame(f.value, message, DICTIONARY)} [${toHex(bytes)}]`;
}

/**
 * The meter's side of a TCP listener: one Link that carries whichever client is connected now,
 * so the simulated meter (and its state) outlives each connection.
 */
class CurrentConnectionLink extends LinkBase {
  private current: Link | null = null;
  private closed = false;
  private readonly forward = (chunk: Uint8Array): void => void this.emit('data', chunk);

  constructor(readonly name: string) {
    super();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get busy(): boolean {
    return this.current !== null;
  }

  attach(link: Link): void {
    this.current = link;
    link.on('data', this.forward);
    link.once('close', () => {
      link.off('data', this.forward);
      if (this.current === link) this.current = null;
    });
  }

  async write(bytes: Uint8Array): Promise<void> {
    const link = this.current;
    if (!link || !link.isOpen) return; // the client left before the reply: a real line just drops it
    try {
      await link.write(bytes);
    } catch {
      // the client closed mid-write; nothing to deliver to
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const link = this.current;
    this.current = null;
    if (link) await link.close();
    this.emit('close');
  }
}

function waitForSignal(): { promise: Promise<string>; dispose(): void } {
  let onSignal: (s: NodeJS.Signals) => void = () => undefined;
  const promise = new Promise<string>((resolve) => {
    onSignal = (s) => resolve(s);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  });
  return {
    promise,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export async function simulateMeterCommand(opts: SimulateMeterOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  if (opts.protocol !== 'dlt645') throw new UsageError(`unsupported protocol "${opts.protocol}" (supported: dlt645)`);
  const profile = simulatorProfileFor(opts);
  const address = profile.meter.address;
  const say = (line: string): void => void io.stderr.write(`${line}\n`);
  const stamp = (): string => new Date(clock.now()).toISOString();
  const signal = waitForSignal();

  let link: Link;
  let closeTransport: () => Promise<void>;
  let ready: string;
  let transportLost: Promise<string>;

  try {
    if (opts.port !== undefined) {
      const { openSerialLink } = await import('../links/serial.ts');
      const serial = await openSerialLink({ path: opts.port, line: profile.meter.line });
      link = serial;
      closeTransport = () => serial.close();
      ready = `meterlab: meter ${address} serving on ${opts.port} at ${formatLine(profile.meter.line)}`;
      transportLost = new Promise((resolve) => {
        serial.on('error', (e) => resolve(e.message));
        serial.once('close', () => resolve(`serial port ${opts.port} closed`));
      });
    } else {
      const { host, port } = parseHostPort(opts.tcp!);
      const { listenTcp } = await import('../links/tcp.ts');
      const listener = await listenTcp({ host, port });
      const slot = new CurrentConnectionLink(`tcp:${host}:${listener.port}`);
      listener.on('connection', (client) => {
        if (slot.busy) {
          say(`${stamp()} tcp ${client.name} refused: a client is already connected`);
          void client.close();
          return;
        }
        say(`${stamp()} tcp ${client.name} connected`);
        client.once('close', () => say(`${stamp()} tcp ${client.name} disconnected`));
        slot.attach(client);
      });
      listener.on('error', (e) => say(`meterlab: ${oneLine(e.message)}`));
      link = slot;
      closeTransport = async () => {
        await slot.close();
        await listener.close();
      };
      ready = `meterlab: meter ${address} serving on tcp ${host}:${listener.port}`;
      transportLost = new Promise<string>(() => undefined);
    }
  } catch (e) {
    signal.dispose();
    throw e;
  }

  const meter = createElectricityMeter({
    profile,
    link,
    clock,
    seed: opts.seed ?? 1,
    logger: (message) => say(`${stamp()} .. ${oneLine(message)}`),
  });
  meter.server.on('request', (request) => say(`${stamp()} rx ${describeWireFrame(request.raw)}`));
  meter.server.on('reply', (bytes) => say(`${stamp()} tx ${describeWireFrame(bytes)}`));
  say(ready);

  const why = await Promise.race([signal.promise.then((s) => ({ signal: s })), transportLost.then((reason) => ({ lost: reason }))]);
  signal.dispose();
  meter.stop();
  await closeTransport().catch(() => undefined);
  if ('lost' in why) {
    say(`meterlab: ${oneLine(why.lost)}`);
    return EXIT.environment;
  }
  say(`meterlab: meter ${address} stopped (${why.signal})`);
  return EXIT.ok;
}

