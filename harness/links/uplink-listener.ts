/**
 * The master station's end of an uplink that the TERMINAL dials (issue 12: a vendor's concentrator
 * as a target). A concentrator opens a TCP connection to its master station over GPRS/Ethernet and
 * redials when it drops; the master keeps ONE link. This is that link: a TCP listener whose
 * current accepted connection carries the bytes.
 *
 * - Bytes the current connection receives are this link's 'data'; `write()` goes to the current
 *   connection, and is lost (resolves, nothing sent) while there is none, as on a dead GPRS link.
 * - A new connection replaces the current one, which is closed: a terminal that redials does so
 *   because its side of the old one is gone (or half-open), so the newest is its own.
 * - `drop()` closes the current connection (ROB-09: the terminal must notice and redial); the
 *   listener stays.
 * - `close()` stops listening and closes the connection; then 'close'.
 *
 * Connections and their ends are told to `onConnection` / `onDisconnect` (for logs and evidence).
 */
import { LinkError } from '../core/errors.ts';
import { LinkBase } from './link.ts';
import { listenTcp, type TcpLink, type TcpListener } from './tcp.ts';

export interface UplinkListenerOptions {
  /** Address to listen on; default 127.0.0.1 (loopback only). "0.0.0.0" for a terminal on the network. */
  readonly host?: string;
  /** Port; 0 picks a free one (read back from `port`). */
  readonly port: number;
  /** Link name; default "uplink <host>:<port>". */
  readonly name?: string;
  readonly onConnection?: (remote: string, count: number) => void;
  readonly onDisconnect?: (remote: string) => void;
}

export class UplinkListener extends LinkBase {
  readonly name: string;
  private current: TcpLink | undefined;
  private closed = false;
  private count = 0;

  private constructor(
    private readonly listener: TcpListener,
    private readonly options: UplinkListenerOptions,
  ) {
    super();
    this.name = options.name ?? `uplink ${listener.host}:${listener.port}`;
    listener.on('connection', (c) => this.accept(c));
    // A listener error after it is up (rare: the socket was closed under it) is the link's error.
    listener.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
    });
  }

  /** Listens; rejects with a LinkError naming the address (EADDRINUSE, EACCES ...). */
  static async listen(options: UplinkListenerOptions): Promise<UplinkListener> {
    const listener = await listenTcp({ host: options.host ?? '127.0.0.1', port: options.port, name: 'uplink' });
    return new UplinkListener(listener, options);
  }

  /** The port actually bound. */
  get port(): number {
    return this.listener.port;
  }

  get host(): string {
    return this.listener.host;
  }

  /** Open while listening (with or without a connection). */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** True while a terminal is connected. */
  get connected(): boolean {
    return this.current?.isOpen === true;
  }

  /** `host:port` of the connected terminal, or null. */
  get remote(): string | null {
    return this.connected ? this.current!.remote : null;
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.count;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.closed) throw new LinkError(`${this.name}: closed`);
    const c = this.current;
    if (!c?.isOpen) return; // no terminal connected: lost, as on a dead link
    await c.write(bytes).catch(() => undefined);
  }

  /** Closes the current connection (the terminal sees its link drop); the listener stays. */
  async drop(): Promise<void> {
    const c = this.current;
    this.current = undefined;
    if (c) await c.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.current = undefined;
    await this.listener.close().catch(() => undefined);
    this.emit('close');
  }

  private accept(c: TcpLink): void {
    if (this.closed) {
      void c.close();
      return;
    }
    const previous = this.current;
    this.current = c;
    this.count++;
    if (previous) void previous.close().catch(() => undefined);
    this.options.onConnection?.(c.remote, this.count);
    c.on('data', (chunk) => {
      if (this.current === c) this.emit('data', chunk);
    });
    c.on('error', () => undefined); // its end is its 'close'
    c.once('close', () => {
      if (this.current === c) this.current = undefined;
      this.options.onDisconnect?.(c.remote);
    });
  }
}
