/**
 * The master station's front end for many terminals (issue 12 part A): a TCP listener
 * (`listenTcp`, harness/links) that puts a `Gw1376Master` on every accepted connection and keys it
 * by the terminal address of its login (AFN 02 F1). Links can also be handed in (`accept(link)`),
 * e.g. memory pairs in virtual time.
 *
 * - 'terminal' (master): a terminal logged in on a connection and is now reachable as
 *   `terminal(areaCode, address)`. A terminal that logs in again on a new connection replaces the
 *   old one (the old connection is closed: a terminal redials after its link dropped, and the old
 *   socket may still look open on our side); a re-login on the same connection changes nothing.
 * - 'offline' (address): the connection of a registered terminal closed (and no newer connection
 *   of the same terminal replaced it).
 * - A connection that never logs in gets a master too (its frames are confirmed and rejected like
 *   any), but is not registered; `idleTimeoutMs` closes silent connections.
 * - PW (AFN 04/05/..., 3.6): each terminal's own, keyed as terminals are (area code and terminal
 *   address of its login): `passwords` / `setPassword`; a terminal without one gets
 *   `master.password` (default all 00). Asked at every request, so a PW set later applies at once.
 *
 * Time only from the injected Clock.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { TimeoutError, UsageError } from '../core/errors.ts';
import type { Link } from '../links/link.ts';
import { listenTcp, type TcpListener } from '../links/tcp.ts';
import type { Address } from '../protocols/gw1376/index.ts';
import { Gw1376Master, type Gw1376MasterOptions } from './gw1376-master.ts';

export interface Gw1376StationEvents {
  terminal: [master: Gw1376Master];
  offline: [address: Address];
}

/** Options every master of the station gets (the link and clock are the station's). */
export type Gw1376StationMasterOptions = Omit<Gw1376MasterOptions, 'link' | 'clock' | 'terminal'>;

/** One terminal's PW (16 bytes), by the address it logs in with. */
export interface Gw1376TerminalPassword {
  readonly areaCode: string;
  readonly terminal: number;
  readonly password: Uint8Array;
}

export interface Gw1376StationOptions {
  readonly clock: Clock;
  /** Every master's options; `master.password` is the PW of a terminal `passwords` does not name. */
  readonly master?: Gw1376StationMasterOptions;
  /** Each terminal's own PW (a concentrator's is seeded per terminal in a collection plan). */
  readonly passwords?: Iterable<Gw1376TerminalPassword>;
}

export interface Gw1376ListenOptions extends Gw1376StationOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port (read it back from `station.port`). */
  readonly port: number;
  /** Close a connection after this long without a byte either way (0 = never, the default). */
  readonly idleTimeoutMs?: number;
}

function key(areaCode: string, terminal: number): string {
  return `${areaCode.toUpperCase()}/${terminal}`;
}

/** PW length of the standard frame (3.6); a master with other frame options checks its own. */
const DEFAULT_PW_LENGTH = 16;

function resolveDefault(p: Gw1376StationMasterOptions['password'], a: { areaCode: string; terminal: number }): Uint8Array | undefined {
  return typeof p === 'function' ? p({ areaCode: a.areaCode, terminal: a.terminal, msa: 0, group: false }) : p;
}

export class Gw1376Station extends EventEmitter<Gw1376StationEvents> {
  readonly clock: Clock;
  private readonly masterOptions: Gw1376StationMasterOptions;
  private readonly registered = new Map<string, Gw1376Master>();
  private readonly masters = new Set<Gw1376Master>();
  private readonly passwords = new Map<string, Uint8Array>();
  private listener: TcpListener | undefined;
  private closed = false;

  constructor(options: Gw1376StationOptions) {
    super();
    this.clock = options.clock;
    this.masterOptions = options.master ?? {};
    for (const p of options.passwords ?? []) this.setPassword(p.areaCode, p.terminal, p.password);
  }

  /** Sets (or with undefined, forgets) one terminal's PW; its next request carries it. */
  setPassword(areaCode: string, terminal: number, password: Uint8Array | undefined): void {
    const k = key(areaCode, terminal);
    if (password === undefined) {
      this.passwords.delete(k);
      return;
    }
    if (!(password instanceof Uint8Array)) throw new UsageError(`the PW of terminal ${k} must be bytes`);
    this.passwords.set(k, Uint8Array.from(password));
  }

  /** The PW requests to this terminal carry: its own, or the station's default. */
  passwordOf(areaCode: string, terminal: number): Uint8Array | undefined {
    return this.passwords.get(key(areaCode, terminal)) ?? resolveDefault(this.masterOptions.password, { areaCode, terminal });
  }

  /** A station listening on TCP (default 127.0.0.1; port 0 = any free port). */
  static async listen(options: Gw1376ListenOptions): Promise<Gw1376Station> {
    const station = new Gw1376Station(options);
    const idle = options.idleTimeoutMs ?? 0;
    const listener = await listenTcp({
      port: options.port,
      ...(options.host !== undefined ? { host: options.host } : {}),
      name: 'gw1376',
      ...(idle > 0 ? { idleTimeoutMs: idle, clock: options.clock } : {}),
    });
    station.listener = listener;
    listener.on('connection', (link) => {
      if (station.closed) void link.close();
      else station.accept(link);
    });
    listener.on('error', () => undefined);
    return station;
  }

  /** The TCP port listened on (undefined without a listener). */
  get port(): number | undefined {
    return this.listener?.port;
  }

  get host(): string | undefined {
    return this.listener?.host;
  }

  /** Terminals logged in now. */
  get terminals(): readonly Gw1376Master[] {
    return [...this.registered.values()];
  }

  /** Connections now (logged in or not). */
  get connections(): number {
    return this.masters.size;
  }

  /** Puts a master on `link` (a connection from a terminal). */
  accept(link: Link): Gw1376Master {
    if (this.closed) throw new UsageError('the 1376.1 station is closed');
    const fallback = this.masterOptions.password;
    const master = new Gw1376Master({
      ...this.masterOptions,
      ...(this.passwords.size > 0 || typeof fallback === 'function'
        ? { password: (a: Address) => this.passwords.get(key(a.areaCode, a.terminal)) ?? resolveDefault(fallback, a) ?? new Uint8Array(DEFAULT_PW_LENGTH) }
        : {}),
      link,
      clock: this.clock,
    });
    this.masters.add(master);
    master.on('login', (m) => {
      const a = m.frame.address;
      const k = key(a.areaCode, a.terminal);
      const previous = this.registered.get(k);
      if (previous === master) return;
      this.registered.set(k, master);
      if (previous) {
        previous.dispose();
        void previous.link.close().catch(() => undefined);
      }
      this.emit('terminal', master);
    });
    link.once('close', () => {
      this.masters.delete(master);
      master.dispose();
      const t = master.terminal;
      if (!t) return;
      const k = key(t.areaCode, t.terminal);
      if (this.registered.get(k) !== master) return;
      this.registered.delete(k);
      this.emit('offline', t);
    });
    return master;
  }

  /** The master of a logged-in terminal. */
  terminal(areaCode: string, terminal: number): Gw1376Master | undefined {
    return this.registered.get(key(areaCode, terminal));
  }

  /** Resolves with the terminal's master once it has logged in; rejects with a TimeoutError after `timeoutMs` (Clock time). */
  waitForTerminal(areaCode: string, terminal: number, timeoutMs: number): Promise<Gw1376Master> {
    const now = this.terminal(areaCode, terminal);
    if (now) return Promise.resolve(now);
    const k = key(areaCode, terminal);
    const error = new TimeoutError(`terminal ${k} did not log in within ${timeoutMs} ms`);
    return new Promise<Gw1376Master>((resolve, reject) => {
      let timer: TimerHandle | undefined;
      const onTerminal = (m: Gw1376Master): void => {
        const t = m.terminal;
        if (!t || key(t.areaCode, t.terminal) !== k) return;
        this.clock.clearTimeout(timer);
        this.off('terminal', onTerminal);
        resolve(m);
      };
      this.on('terminal', onTerminal);
      timer = this.clock.setTimeout(() => {
        this.off('terminal', onTerminal);
        reject(error);
      }, timeoutMs);
    });
  }

  /** Stops listening, closes every connection and disposes every master. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const links = [...this.masters].map((m) => m.link);
    if (this.listener) await this.listener.close();
    await Promise.all(links.map((l) => l.close().catch(() => undefined)));
  }
}
