/**
 * `meterlab simulate meter --protocol dlt645 (--port <path> [--baud n] | --tcp <host:port> [--idle-timeout s])
 *  --address <12 digits> [--profile <file>] [--seed n]`
 *
 * Serves one simulated DL/T 645-2007 electricity meter (simulators/electricity-meter, real
 * time) on a real serial device or on a TCP listening port, until SIGINT or SIGTERM (then a clean
 * shutdown and exit 0).
 *
 * TCP client policy (a meter on an RS-485 line answers one master; a TCP serial server in its
 * exclusive mode does the same):
 * - One client at a time. A client that connects while another is served is accepted and closed
 *   at once without a byte (DL/T 645 has no text channel to say why); stderr names it and the
 *   client being served.
 * - A client with no traffic in either direction for --idle-timeout seconds (default 60; 0 = never)
 *   is closed, so a forgotten or stalled client cannot hold the meter for ever.
 * - Each client starts with an empty receiver: a previous client's partial frame, and replies
 *   still waiting out their Td for it, are dropped when it goes. The meter model (energy, clock,
 *   passwords, address) keeps its state from one client to the next.
 * - Bounded per connection: bytes are handed to the meter SLICE_BYTES at a time; while
 *   MAX_PENDING_REPLIES requests are unanswered, or MAX_UNSENT_BYTES of replies wait for a client
 *   that does not read them, the simulator stops reading from that client (TCP flow control then
 *   holds the client back) and says so once on stderr. What it holds for a connection is then at
 *   most one socket read, the unanswered replies and the unsent bytes.
 *
 * stderr: a ready line once listening (`meterlab: meter 123456789012 serving on /dev/ttyUSB0 at 2400 8E1`,
 * `meterlab: meter 123456789012 serving on tcp 127.0.0.1:8645 (one client at a time, idle timeout 60 s)`),
 * then one line per frame received (rx) or sent (tx): time, direction, one-line decode, [hex],
 * and one line per TCP client event (connected, refused, idle, throttled, disconnected). When
 * stderr is not read as fast as a flood of frames produces lines, frame lines beyond
 * LOG_BACKLOG_BYTES are dropped and counted instead of piling up in memory.
 */
import { readFileSync } from 'node:fs';
import { toHex } from '../core/bytes.ts';
import { RealClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { ProfileError, UsageError } from '../core/errors.ts';
import { formatLine, LinkBase, type Link } from '../links/link.ts';
import type { TcpLink, TcpListener } from '../links/tcp.ts';
import { TcpBusPort, serveOneClientAtATime } from '../links/tcp-serve.ts';
import type { FleetBus } from '../../simulators/fleet/fleet.ts';
import { decodeFrame, decodeMessage, describeFrame, DICTIONARY, HEADER_LENGTH } from '../protocols/dlt645/index.ts';
import {
  createElectricityMeter,
  loadSimulatorProfile,
  REFERENCE_METER_PROFILE,
  type SimulatorProfile,
} from '../../simulators/electricity-meter/index.ts';
import { EXIT, oneLine, type ExitCode } from './exit.ts';
import type { CliIo } from './program.ts';
import { waitForSignal } from './signals.ts';

/** Moved to harness/links/tcp-serve.ts (the system switching run serves buses too); re-exported for the CLI's commands and tests. */
export { HANDOVER_GRACE_MS, TcpBusPort, serveOneClientAtATime } from '../links/tcp-serve.ts';

export interface SimulateMeterOptions {
  readonly protocol: string;
  readonly port?: string;
  readonly baud?: number;
  readonly tcp?: string;
  /** Seconds without traffic after which a TCP client is closed; 0 = never. Default DEFAULT_IDLE_TIMEOUT_S. */
  readonly idleTimeout?: number;
  readonly address: string;
  readonly profile?: string;
  readonly seed?: number;
}

/** "host:port" or "[v6]:port"; port 0 picks a free one (printed in the ready line). `option` names the option in the message. */
export function parseHostPort(text: string, option = '--tcp'): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${option} must be <host>:<port>, e.g. 127.0.0.1:8645; got "${text}"`);
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
 * Default --idle-timeout, seconds. TCP serial servers close a connection after an inactivity
 * timeout the user sets (commonly minutes); 60 s frees a meter held by a forgotten client
 * quickly while outlasting any DL/T 645 exchange (3 attempts of 3000 ms at most, CON-05).
 */
export const DEFAULT_IDLE_TIMEOUT_S = 60;
/** Bytes handed to the meter at a time: the flow-control checks below run at least every 21 minimal (12-byte) frames. */
const SLICE_BYTES = 256;
/**
 * Unanswered requests at which the simulator stops reading from a client. DL/T 645 is strictly
 * request/response (a master waits for each reply or its timeout, PROTOCOLS.md 1.1): a client
 * with this many requests in flight is flooding, not reading a meter.
 */
const MAX_PENDING_REPLIES = 16;
/** Reply bytes waiting for a client that does not read them, at which the simulator stops reading from it. */
const MAX_UNSENT_BYTES = 64 * 1024;
/** While reading is paused for unanswered requests, look again this often (the longest Td, PROTOCOLS.md 1.1). */
const PAUSE_RECHECK_MS = 500;
/** stderr bytes not yet taken by its reader beyond which frame lines are dropped (and counted). */
const LOG_BACKLOG_BYTES = 1024 * 1024;

/** What the TCP port needs from the meter's protocol server. */
export interface MeterReceiver {
  /** Replies scheduled and not yet written. */
  readonly pendingReplies: number;
  /** Drops a partial frame and the replies not yet sent (Dlt645MeterServer.stop() then start()). */
  restart(): void;
}

/**
 * The meter's side of a TCP listener: one Link that carries the client being served, so the
 * simulated meter (and its state) outlives each connection. Client policy: see the file header.
 */
export class TcpMeterPort extends LinkBase {
  private client: TcpLink | null = null;
  /** Bytes read from the client and not yet handed to the meter: at most one socket read, since reading pauses first. */
  private held: Uint8Array[] = [];
  private paused = false;
  private waitingForDrain = false;
  private recheck: TimerHandle | undefined;
  private said = { pending: false, unsent: false };
  private closed = false;
  /** Set once the meter exists. */
  meter: MeterReceiver | null = null;

  constructor(
    readonly name: string,
    private readonly clock: Clock,
    private readonly say: (line: string) => void,
  ) {
    super();
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** `host:port` of the client being served, or null. */
  get holder(): string | null {
    return this.client?.remote ?? null;
  }

  attach(client: TcpLink): void {
    this.client = client;
    this.held = [];
    this.paused = false;
    this.said = { pending: false, unsent: false };
    this.meter?.restart();
    client.on('data', (chunk) => {
      if (this.client !== client) return;
      this.held.push(chunk);
      this.pump();
    });
    client.once('close', () => {
      if (this.client !== client) return;
      const unsent = this.meter?.pendingReplies ?? 0;
      this.client = null;
      this.held = [];
      this.clock.clearTimeout(this.recheck);
      this.recheck = undefined;
      this.meter?.restart();
      if (unsent > 0) this.say(`tcp ${client.remote}: ${unsent} reply(ies) not sent: the client left`);
    });
  }

  /**
   * Hands held bytes to the meter, SLICE_BYTES at a time, while the meter keeps up and the client
   * reads its replies; otherwise stops reading from the client until they do. Called on every
   * read, after every reply, when the client drains, and every PAUSE_RECHECK_MS while paused.
   */
  pump(): void {
    const client = this.client;
    if (!client) return;
    while (this.held.length > 0) {
      const pending = this.meter?.pendingReplies ?? 0;
      const unsent = client.unsentBytes;
      if (pending >= MAX_PENDING_REPLIES || unsent >= MAX_UNSENT_BYTES) {
        this.hold(client, pending, unsent);
        return;
      }
      const first = this.held[0]!;
      if (first.length <= SLICE_BYTES) {
        this.held.shift();
        this.emit('data', first);
      } else {
        this.held[0] = first.subarray(SLICE_BYTES);
        this.emit('data', first.subarray(0, SLICE_BYTES));
      }
      if (this.client !== client) return;
    }
    if (this.paused) {
      this.paused = false;
      this.clock.clearTimeout(this.recheck);
      this.recheck = undefined;
      client.resume();
    }
  }

  private hold(client: TcpLink, pending: number, unsent: number): void {
    if (!this.paused) {
      this.paused = true;
      client.pause();
    }
    if (unsent >= MAX_UNSENT_BYTES) {
      if (!this.said.unsent) {
        this.said.unsent = true;
        this.say(`tcp ${client.remote}: ${unsent} bytes of replies unread: reading paused until the client reads (cap ${MAX_UNSENT_BYTES} bytes)`);
      }
      if (!this.waitingForDrain) {
        this.waitingForDrain = true;
        void client.drained().then(() => {
          this.waitingForDrain = false;
          this.pump();
        });
      }
      return;
    }
    if (!this.said.pending) {
      this.said.pending = true;
      this.say(
        `tcp ${client.remote}: ${pending} requests unanswered: reading paused until the meter catches up ` +
          `(a DL/T 645 master waits for each reply; cap ${MAX_PENDING_REPLIES})`,
      );
    }
    // Replies call pump(); this catches requests that end without one (meter switched off).
    this.recheck ??= this.clock.setTimeout(() => {
      this.recheck = undefined;
      this.pump();
    }, PAUSE_RECHECK_MS);
  }

  async write(bytes: Uint8Array): Promise<void> {
    const link = this.client;
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
    const link = this.client;
    this.client = null;
    this.clock.clearTimeout(this.recheck);
    if (link) await link.close();
    this.emit('close');
  }
}

/** stderr lines for the simulator; frame lines are dropped (and counted) while stderr's reader lags. */
export function stderrLog(stderr: CliIo['stderr']): { say(line: string): void; frame(line: string): void } {
  let dropped = 0;
  const write = (line: string): void => void stderr.write(`${line}\n`);
  return {
    say(line) {
      if (dropped > 0) {
        write(`meterlab: ${dropped} frame log line(s) dropped: stderr was not read fast enough`);
        dropped = 0;
      }
      write(line);
    },
    frame(line) {
      if ((stderr.writableLength ?? 0) > LOG_BACKLOG_BYTES) {
        dropped++;
        return;
      }
      this.say(line);
    },
  };
}

export async function simulateMeterCommand(opts: SimulateMeterOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  if (opts.protocol !== 'dlt645') throw new UsageError(`unsupported protocol "${opts.protocol}" (supported: dlt645)`);
  const profile = simulatorProfileFor(opts);
  const address = profile.meter.address;
  const log = stderrLog(io.stderr);
  const say = (line: string): void => log.say(line);
  const stamp = (): string => new Date(clock.now()).toISOString();
  const signal = waitForSignal();

  let link: Link;
  let closeTransport: () => Promise<void>;
  let ready: string;
  let transportLost: Promise<string>;
  let tcpPort: TcpMeterPort | null = null;

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
      const idleS = opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_S;
      const { listenTcp } = await import('../links/tcp.ts');
      const listener = await listenTcp({ host, port, idleTimeoutMs: idleS * 1000, clock });
      const served = new TcpMeterPort(`tcp:${host}:${listener.port}`, clock, (line) => say(`${stamp()} ${line}`));
      tcpPort = served;
      serveOneClientAtATime(listener, { what: 'the meter', served, clock, say: (line) => say(`${stamp()} ${line}`), sayError: say });
      link = served;
      closeTransport = async () => {
        await served.close();
        await listener.close();
      };
      const idleText = idleS > 0 ? `idle timeout ${idleS} s` : 'no idle timeout';
      ready = `meterlab: meter ${address} serving on tcp ${host}:${listener.port} (one client at a time, ${idleText})`;
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
    logger: (message) => log.frame(`${stamp()} .. ${oneLine(message)}`),
  });
  if (tcpPort) {
    const port = tcpPort;
    port.meter = {
      get pendingReplies() {
        return meter.server.pendingReplies;
      },
      restart() {
        meter.server.stop();
        meter.server.start();
      },
    };
    // A reply frees a slot: hand the meter the next bytes once the reply is queued on the socket.
    meter.server.on('reply', () => queueMicrotask(() => port.pump()));
  }
  meter.server.on('request', (request) => log.frame(`${stamp()} rx ${describeWireFrame(request.raw)}`));
  meter.server.on('reply', (bytes) => log.frame(`${stamp()} tx ${describeWireFrame(bytes)}`));
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

// ---------------------------------------------------------------------------------------------
// meterlab simulate fleet
// ---------------------------------------------------------------------------------------------

export interface SimulateFleetOptions {
  readonly scenario: string;
  /** Bus b listens on portBase + b; 0 = a free port per bus (each printed in its ready line). Default DEFAULT_FLEET_PORT_BASE. */
  readonly portBase?: number;
  /** Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  /** Seconds without traffic after which a client is closed; 0 = never. Default DEFAULT_IDLE_TIMEOUT_S. */
  readonly idleTimeout?: number;
  /** Serve only shard `index` of `count` of the buses (partition); bus b keeps port portBase + b. Default 1/1. */
  readonly shard?: { readonly index: number; readonly count: number };
}

/** Default first port of `simulate fleet`: 8645 as in the examples ("645"), bus b on 8645 + b. */
export const DEFAULT_FLEET_PORT_BASE = 8645;
export async function simulateFleetCommand(opts: SimulateFleetOptions, io: CliIo, clock: Clock = new RealClock()): Promise<ExitCode> {
  const { readFleetScenarioFile } = await import('../../simulators/fleet/scenario.ts');
  const { busCount, busName, partition } = await import('../../simulators/fleet/plan.ts');
  const { buildBus } = await import('../../simulators/fleet/fleet.ts');
  // Everything about the scenario is checked before a port is opened or a meter built.
  const scenario = readFleetScenarioFile(opts.scenario);
  const host = opts.host ?? '127.0.0.1';
  const base = opts.portBase ?? DEFAULT_FLEET_PORT_BASE;
  const buses = busCount(scenario);
  const shard = opts.shard ?? { index: 1, count: 1 };
  if (shard.count > buses) {
    throw new UsageError(`--shard ${shard.index}/${shard.count}: the scenario has ${buses} bus(es), fewer than ${shard.count} shards (a shard would hold none)`);
  }
  // Bus b listens on base + b whichever shard serves it: the ports of a fleet split over machines do not move.
  const mine = partition(scenario, shard.index, shard.count);
  const last = mine.at(-1)!;
  if (base > 0 && base + last > 65535) {
    const needs = shard.count === 1 ? `${buses} buses need` : `shard ${shard.index}/${shard.count} (buses ${mine[0]}..${last}) needs`;
    throw new UsageError(`--port-base ${base}: ${needs} ports ${base + mine[0]!}..${base + last}, beyond 65535`);
  }
  const idleS = opts.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_S;
  const log = stderrLog(io.stderr);
  const say = (line: string): void => log.say(line);
  const stamp = (): string => new Date(clock.now()).toISOString();
  const signal = waitForSignal();

  const { listenTcp } = await import('../links/tcp.ts');
  const listeners: TcpListener[] = [];
  const built: FleetBus[] = [];
  const shutdown = async (): Promise<void> => {
    await Promise.all(listeners.map((l) => l.close().catch(() => undefined)));
    await Promise.all(built.map((b) => b.close().catch(() => undefined)));
  };
  try {
    // Every bus is built before its port opens, so no client reaches a bus without meters.
    for (const b of mine) built.push(buildBus(scenario, b, clock));
    // Each port is served from the moment it opens (the bus is built), but none is announced
    // before all are open: a port in use stops the fleet with one line.
    const ready: string[] = [];
    for (const fleetBus of built) {
      const b = fleetBus.plan.index;
      const listener = await listenTcp({ host, port: base === 0 ? 0 : base + b, idleTimeoutMs: idleS * 1000, clock, name: busName(scenario, b) });
      listeners.push(listener);
      const name = fleetBus.plan.name;
      serveOneClientAtATime(listener, { what: name, served: new TcpBusPort(fleetBus.adapter), say: (line) => say(`${stamp()} ${name} ${line}`), sayError: say });
      const addresses = fleetBus.meters.map((m) => m.plan.address);
      const faulty = fleetBus.meters.filter((m) => m.plan.fault.kind !== 'none').length;
      ready.push(
        `meterlab: ${name} serving on tcp ${host}:${listener.port}: ${addresses.length} meter(s) ` +
          `${addresses[0]}${addresses.length > 1 ? ` .. ${addresses.at(-1)}` : ''}${faulty > 0 ? `, ${faulty} faulty` : ''} at ${formatLine(scenario.line)}`,
      );
    }
    for (const line of ready) say(line);
  } catch (e) {
    signal.dispose();
    await shutdown();
    throw e;
  }
  const idleText = idleS > 0 ? `idle timeout ${idleS} s` : 'no idle timeout';
  const served = built.reduce((n, b) => n + b.meters.length, 0);
  const what =
    shard.count === 1
      ? `fleet of ${scenario.meters} meters on ${buses} bus(es)`
      : `shard ${shard.index}/${shard.count} of a fleet of ${scenario.meters} meters: ${served} meters on ${built.length} of ${buses} bus(es) (${busName(scenario, mine[0]!)}..${busName(scenario, last)})`;
  say(`meterlab: ${what} serving (one client per bus at a time, ${idleText})`);

  const why = await signal.promise;
  signal.dispose();
  await shutdown();
  say(`meterlab: fleet stopped (${why})`);
  return EXIT.ok;
}
