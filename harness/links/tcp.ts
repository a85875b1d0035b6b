/**
 * TCP links: a meter or converter behind a TCP serial server (`connectTcpLink`), and a
 * listener that hands out one Link per accepted connection (`listenTcp`, used by
 * `meterlab simulate --tcp`). Nagle is off: meter frames are small and latency matters.
 *
 * Bounded resources for a server facing hostile clients: an accepted link can be closed after a
 * period without traffic in either direction (`idleTimeoutMs`, on the injected clock), and a
 * TcpLink can stop reading (`pause`/`resume`) and says how many bytes wait to be sent to a peer
 * that does not read them (`unsentBytes`, `drained()`), so its owner can cap what one
 * connection holds.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import { LinkBase } from './link.ts';
import { copyBytes, emitErrorIfHeard, reasonOf } from './internal.ts';

export class TcpLink extends LinkBase {
  private closed = false;
  private closing: Promise<void> | undefined;
  private idle: { readonly ms: number; readonly clock: Clock; readonly onIdle: () => void; timer: TimerHandle | undefined } | null = null;

  constructor(
    readonly socket: Socket,
    readonly name: string,
    /** `host:port` of the far end, for messages. */
    readonly remote: string,
  ) {
    super();
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.closed) return;
      this.touch();
      this.emit('data', copyBytes(chunk));
    });
    socket.on('error', (e) => {
      emitErrorIfHeard(this, new LinkError(`tcp ${remote}: ${reasonOf(e)}`, { cause: e }));
    });
    socket.on('close', () => this.finish());
  }

  get isOpen(): boolean {
    return !this.closed && !this.socket.destroyed && this.socket.writable;
  }

  /** Bytes handed to `write` that the operating system has not taken yet (a peer that does not read). */
  get unsentBytes(): number {
    return this.socket.writableLength;
  }

  /** Resolves once the unsent bytes have gone to the operating system, or the link closed. */
  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.once('close', done);
    });
  }

  /** Stops reading from the peer (its bytes wait in the kernel, then TCP flow control holds it back). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  /**
   * Closes the link after `ms` without a byte in either direction; `onIdle` is called just before.
   * 0 turns the timeout off. Time from `clock`.
   */
  setIdleTimeout(ms: number, clock: Clock, onIdle: () => void = () => undefined): void {
    if (this.idle) this.idle.clock.clearTimeout(this.idle.timer);
    this.idle = ms > 0 ? { ms, clock, onIdle, timer: undefined } : null;
    this.touch();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError(`${this.name} is closed`));
    if (bytes.length === 0) return Promise.resolve();
    this.touch();
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
      // Bytes the operating system has not taken are waiting for a peer that does not read: they
      // would hold the close for ever. Otherwise send what is queued, then FIN, then let go.
      if (this.socket.writableLength > 0) this.socket.destroy();
      else this.socket.end(() => this.socket.destroy());
    });
    return this.closing;
  }

  /** Traffic: the idle period starts again. */
  private touch(): void {
    const idle = this.idle;
    if (!idle || this.closed) return;
    idle.clock.clearTimeout(idle.timer);
    idle.timer = idle.clock.setTimeout(() => {
      idle.timer = undefined;
      if (this.closed || this.idle !== idle) return;
      idle.onIdle();
      void this.close();
    }, idle.ms);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idle) this.idle.clock.clearTimeout(this.idle.timer);
    this.emit('close');
  }
}

export interface TcpConnectOptions {
  readonly host: string;
  readonly port: number;
  /** Link name; default `tcp:<host>:<port>`. */
  readonly name?: string;
  /** Gives up a connect still in progress (the socket is destroyed): rejects with `cannot connect to host:port: <the signal's reason>`. */
  readonly signal?: AbortSignal;
}

/** Connects to a TCP serial server. Refusal and the like reject with `cannot connect to host:port: ECONNREFUSED`. */
export function connectTcpLink(opts: TcpConnectOptions): Promise<TcpLink> {
  const remote = `${opts.host}:${opts.port}`;
  return new Promise<TcpLink>((resolve, reject) => {
    const signal = opts.signal;
    const aborted = (): string => (signal?.reason instanceof Error ? signal.reason.message : String(signal?.reason ?? 'aborted'));
    if (signal?.aborted) {
      reject(new LinkError(`cannot connect to ${remote}: ${aborted()}`));
      return;
    }
    const socket = connect({ host: opts.host, port: opts.port });
    const onAbort = (): void => {
      socket.off('error', onError);
      socket.destroy();
      reject(new LinkError(`cannot connect to ${remote}: ${aborted()}`));
    };
    const onError = (e: Error): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(new LinkError(`cannot connect to ${remote}: ${reasonOf(e)}`, { cause: e }));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', () => {
      signal?.removeEventListener('abort', onAbort);
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
  /**
   * Close an accepted link after this long without a byte in either direction (the inactivity
   * timeout of a TCP serial server), emitting 'idle' first. Default 0: never. Needs `clock`.
   */
  readonly idleTimeoutMs?: number;
  /** Clock of the idle timeout. */
  readonly clock?: Clock;
}

interface TcpListenerEvents {
  connection: [link: TcpLink];
  /** `link` had no traffic for `idleMs` and is being closed. */
  idle: [link: TcpLink, idleMs: number];
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
    idle: { readonly ms: number; readonly clock: Clock } | null = null,
  ) {
    super();
    server.on('connection', (socket) => {
      const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
      const link = new TcpLink(socket, `${prefix}:${remote}`, remote);
      this.links.add(link);
      link.once('close', () => this.links.delete(link));
      if (idle) link.setIdleTimeout(idle.ms, idle.clock, () => void this.emit('idle', link, idle.ms));
      this.emit('connection', link);
    });
    server.on('error', (e) => {
      if (this.listenerCount('error') > 0) this.emit('error', new LinkError(`tcp listener ${host}:${port}: ${reasonOf(e)}`, { cause: e }));
    });
  }

  /** Currently open accepted links. */
  get connections(): readonly TcpLink[] {
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
  const idleMs = opts.idleTimeoutMs ?? 0;
  if (idleMs > 0 && !opts.clock) throw new Error('listenTcp: idleTimeoutMs needs a clock');
  const idle = idleMs > 0 && opts.clock ? { ms: idleMs, clock: opts.clock } : null;
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
      resolve(new TcpListener(server, host, port, opts.name ?? 'tcp', idle));
    });
  });
}
