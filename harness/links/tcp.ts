/**
 * TCP links: a meter or converter behind a TCP serial server (`connectTcpLink`), and a
 * listener that hands out one Link per accepted connection (`listenTcp`, used by
 * `meterlab simulate --tcp`). Nagle is off: meter frames are small and latency matters.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { LinkError } from '../core/errors.ts';
import { LinkBase, type Link } from './link.ts';
import { copyBytes, emitErrorIfHeard, reasonOf } from './internal.ts';

export class TcpLink extends LinkBase {
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    readonly socket: Socket,
    readonly name: string,
    /** `host:port` of the far end, for messages. */
    readonly remote: string,
  ) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (!this.closed) this.emit('data', copyBytes(chunk));
    });
    socket.on('error', (e) => {
      emitErrorIfHeard(this, new LinkError(`tcp ${remote}: ${reasonOf(e)}`, { cause: e }));
    });
    socket.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed && this.socket.writable;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.socket.write(Buffer.from(bytes), (e) => {
        if (e) reject(new LinkError(`cannot write to tcp ${this.remote}: ${reasonOf(e)}`, { cause: e }));
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      this.once('close', () => resolve());
      // Send what is queued, then FIN, then let go of the socket.
      this.socket.end(() => this.socket.destroy());
    });
    return this.closing;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }
}

export interface TcpConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Link name; default `tcp:<host>:<port>`. */
  readonly name?: string;
}

/** Connects to a TCP serial server. Refusal and the like reject with `cannot connect to host:port: ECONNREFUSED`. */
export function connectTcpLink(opts: TcpConnectOptions): Promise<TcpLink> {
  const remote = `${opts.host}:${opts.port}`;
  return new Promise<TcpLink>((resolve, reject) => {
    const socket = connect({ host: opts.host, port: opts.port });
    const onError = (e: Error): void => {
      socket.destroy();
      reject(new LinkError(`cannot connect to ${remote}: ${reasonOf(e)}`, { cause: e }));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new TcpLink(socket, opts.name ?? `tcp:${remote}`, remote));
    });
  });
}

export interface TcpListenOptions {
  /** Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  /** 0 picks a free port; read it back from `listener.port`. */
  readonly port: number;
  /** Name prefix of accepted links (`<prefix>:<remote host>:<remote port>`); default "tcp". */
  readonly name?: string;
}

interface TcpListenerEvents {
  connection: [link: Link];
  error: [error: Error];
}

/** A listening socket; emits 'connection' with a Link per accepted client. */
export class TcpListener extends EventEmitter<TcpListenerEvents> {
  private readonly links = new Set<TcpLink>();

  constructor(
    private readonly server: Server,
    readonly host: string,
    /** The port actually bound (meaningful when 0 was asked). */
    readonly port: number,
    prefix: string,
  ) {
    super();
    server.on('connection', (socket) => {
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      const link = new TcpLink(socket, `${prefix}:${remote}`, remote);
      this.links.add(link);
      link.once('close', () => this.links.delete(link));
      this.emit('connection', link);
    });
    server.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', new LinkError(`tcp listener ${host}:${port}: ${reasonOf(e)}`, { cause: e }));
    });
  }

  /** Currently open accepted links. */
  get connections(): readonly Link[] {
    return [...this.links];
  }

  /** Stops listening and closes every accepted link. */
  async close(): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.links].map((l) => l.close()));
    await stopped;
  }
}

/** Listens on host:port (default 127.0.0.1). EADDRINUSE and the like reject with a LinkError. */
export function listenTcp(opts: TcpListenOptions): Promise<TcpListener> {
  const host = opts.host ?? '127.0.0.1';
  return new Promise<TcpListener>((resolve, reject) => {
    const server = createServer();
    const onError = (e: Error): void => {
      reject(new LinkError(`cannot listen on ${host}:${opts.port}: ${reasonOf(e)}`, { cause: e }));
    };
    server.once('error', onError);
    server.listen({ host, port: opts.port }, () => {
      server.off('error', onError);
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : opts.port;
      resolve(new TcpListener(server, host, port, opts.name ?? 'tcp'));
    });
  });
}
