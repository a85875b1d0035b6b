/**
 * Serving a simulated device or RS-485 bus on a TCP port, as a TCP serial server in transparent
 * mode does: one client at a time (`serveOneClientAtATime`), and the master's adapter on a
 * simulated bus driven by that client (`TcpBusPort`). Used by `meterlab simulate` (harness/cli)
 * and by the system switching run against a vendor's station (harness/targets/station-api.ts),
 * whose channels dial these ports. Moved here from harness/cli/simulate.ts unchanged.
 */
import { RealClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { escapeControlCharacters } from '../core/text.ts';
import type { Link } from './link.ts';
import type { TcpLink, TcpListener } from './tcp.ts';

/**
 * The TCP client policy of a simulated device or bus (file header): one client at a time, a
 * later one closed at once without a byte (stderr says who holds `what`), idle clients closed
 * by the listener's idle timeout, listener errors reported as one line.
 */
/**
 * How long a newcomer waits for the current client to go before it is refused (real time). A
 * client that closes and reconnects at once (the pre-flight, then the suite; a master station's
 * retry) sends its FIN before the new SYN, but the simulator may read the new connection first:
 * without a grace it would refuse a client that is, in fact, alone.
 */
export const HANDOVER_GRACE_MS = 500;

export function serveOneClientAtATime(
  listener: TcpListener,
  opts: {
    readonly what: string;
    readonly served: { readonly holder: string | null; attach(client: TcpLink): void };
    /** A client event line (the caller stamps it). */
    readonly say: (line: string) => void;
    /** A listener error, already one line starting "meterlab: ". */
    readonly sayError: (line: string) => void;
    /** Real time, for the hand-over grace. Default a RealClock. */
    readonly clock?: Clock;
  },
): void {
  const { what, served, say, sayError } = opts;
  const clock = opts.clock ?? new RealClock();
  /** Newcomers waiting for the current client to go, oldest first. */
  const waiting: { client: TcpLink; timer: TimerHandle }[] = [];
  const admit = (client: TcpLink, waited = false): void => {
    say(`tcp ${client.remote} connected`);
    served.attach(client);
    // A newcomer stopped reading while it waited: what it sent meanwhile is read now, by the meter.
    if (waited) client.resume();
    // After attach: the served port's own 'close' listener lets go of the client first.
    client.once('close', () => {
      say(`tcp ${client.remote} disconnected`);
      // The holder is gone: the oldest newcomer still connected takes its place.
      while (waiting.length > 0 && served.holder === null) {
        const next = waiting.shift()!;
        clock.clearTimeout(next.timer);
        if (next.client.isOpen) admit(next.client, true);
      }
    });
  };
  const refuse = (client: TcpLink, holder: string): void => {
    say(`tcp ${client.remote} refused: ${what} is serving ${holder} (one client at a time); closed without a byte`);
    void client.close();
  };
  listener.on('connection', (client) => {
    if (served.holder === null) {
      admit(client);
      return;
    }
    // Not read until admitted: a request sent while waiting must reach the meter, not be dropped.
    client.pause();
    const entry = {
      client,
      timer: clock.setTimeout(() => {
        const i = waiting.indexOf(entry);
        if (i >= 0) waiting.splice(i, 1);
        if (!client.isOpen) return; // it gave up waiting
        const holder = served.holder;
        if (holder === null) admit(client, true);
        else refuse(client, holder);
      }, HANDOVER_GRACE_MS),
    };
    waiting.push(entry);
  });
  listener.on('idle', (client, ms) => {
    if (client.remote === served.holder) say(`tcp ${client.remote} idle for ${ms / 1000} s: closing it (--idle-timeout)`);
  });
  listener.on('error', (e) => sayError(`meterlab: ${escapeControlCharacters(e.message.replace(/\s*\n\s*/g, ' ').trim())}`));
}

/**
 * Bytes from a client not yet on the bus at which reading from the client pauses: at 2400 8E1 a
 * bus carries about 218 bytes/s, so this is a few seconds of line time; TCP flow control then
 * holds a flooding client back instead of the simulator buffering for it.
 */
const MAX_QUEUED_BUS_BYTES = 1024;

/**
 * The master's RS-485 adapter on one simulated bus, driven over TCP (what a TCP serial server
 * does): bytes from the client are transmitted on the bus at its line rate; every byte the
 * meters put on the bus goes to the client. One client at a time (serveOneClientAtATime).
 */
export class TcpBusPort {
  private client: TcpLink | null = null;
  private queued = 0;
  private paused = false;

  constructor(private readonly adapter: Link) {
    adapter.on('data', (bytes) => {
      const c = this.client;
      if (c && c.isOpen) void c.write(bytes).catch(() => undefined);
    });
  }

  /** `host:port` of the client being served, or null. */
  get holder(): string | null {
    return this.client?.remote ?? null;
  }

  /** Bytes taken from clients and not yet off the bus. */
  get queuedBytes(): number {
    return this.queued;
  }

  attach(client: TcpLink): void {
    this.client = client;
    this.paused = false;
    client.on('data', (chunk) => {
      if (this.client !== client) return;
      this.queued += chunk.length;
      if (this.queued >= MAX_QUEUED_BUS_BYTES && !this.paused) {
        this.paused = true;
        client.pause();
      }
      // On the wire in order behind what is queued; a closed adapter (shutdown) just drops them.
      void this.adapter
        .write(chunk)
        .catch(() => undefined)
        .finally(() => {
          this.queued -= chunk.length;
          if (this.paused && this.queued < MAX_QUEUED_BUS_BYTES && this.client === client) {
            this.paused = false;
            client.resume();
          }
        });
    });
    client.once('close', () => {
      if (this.client === client) this.client = null;
    });
  }
}

