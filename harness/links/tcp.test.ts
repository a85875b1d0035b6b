import { connect, createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import type { Link } from './link.ts';
import { connectTcpLink, listenTcp, type TcpLink } from './tcp.ts';

function nextData(link: Link): Promise<string> {
  return new Promise((resolve) => link.once('data', (c) => resolve(toHex(c))));
}

/** A loopback port nobody listens on: bind an ephemeral port, then release it. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('TCP links on 127.0.0.1', () => {
  it('connectTcpLink gives up a connect in progress when its signal aborts, and never starts one with an aborted signal', async () => {
    const listener = await listenTcp({ port: 0 });
    try {
      const controller = new AbortController();
      const pending = connectTcpLink({ host: '127.0.0.1', port: listener.port, signal: controller.signal });
      controller.abort(new Error('no answer within 30 s'));
      await expect(pending).rejects.toThrow(new LinkError(`cannot connect to 127.0.0.1:${listener.port}: no answer within 30 s`));
      await expect(connectTcpLink({ host: '127.0.0.1', port: listener.port, signal: controller.signal })).rejects.toBeInstanceOf(LinkError);
      // A signal that aborts after the connect changes nothing.
      const later = new AbortController();
      const link = await connectTcpLink({ host: '127.0.0.1', port: listener.port, signal: later.signal });
      later.abort();
      expect(link.isOpen).toBe(true);
      await link.close();
    } finally {
      await listener.close();
    }
  });

  it('round-trips bytes both ways through listenTcp and connectTcpLink', async () => {
    const listener = await listenTcp({ port: 0 });
    try {
      expect(listener.port).toBeGreaterThan(0);
      const accepted = new Promise<Link>((resolve) => listener.once('connection', resolve));
      const client = await connectTcpLink({ host: '127.0.0.1', port: listener.port });
      const server = await accepted;
      expect(client.name).toBe(`tcp:127.0.0.1:${listener.port}`);
      expect(server.name).toMatch(/^tcp:127\.0\.0\.1:\d+$/);

      const atServer = nextData(server);
      await client.write(hex('68 AA AA AA AA AA AA 68 13 00 DF 16'));
      expect(await atServer).toBe('68 AA AA AA AA AA AA 68 13 00 DF 16');
      const atClient = nextData(client);
      await server.write(hex('FE FE 68 16'));
      expect(await atClient).toBe('FE FE 68 16');

      const serverClosed = new Promise<void>((r) => server.once('close', r));
      await client.close();
      await serverClosed;
      expect(client.isOpen).toBe(false);
      expect(server.isOpen).toBe(false);
      await expect(client.write(hex('00'))).rejects.toBeInstanceOf(LinkError);
    } finally {
      await listener.close();
    }
  });

  it('closing the listener closes accepted links', async () => {
    const listener = await listenTcp({ host: '127.0.0.1', port: 0 });
    const accepted = new Promise<Link>((resolve) => listener.once('connection', resolve));
    const client = await connectTcpLink({ host: '127.0.0.1', port: listener.port });
    await accepted;
    const clientClosed = new Promise<void>((r) => client.once('close', r));
    await listener.close();
    await clientClosed;
    expect(listener.connections).toEqual([]);
  });

  it('a refused connection is one clear LinkError', async () => {
    const port = await freePort();
    const e = await connectTcpLink({ host: '127.0.0.1', port }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LinkError);
    expect((e as Error).message).toBe(`cannot connect to 127.0.0.1:${port}: ECONNREFUSED`);
  });

  it('a port in use is one clear LinkError', async () => {
    const listener = await listenTcp({ port: 0 });
    try {
      await expect(listenTcp({ port: listener.port })).rejects.toThrow(`cannot listen on 127.0.0.1:${listener.port}: EADDRINUSE`);
    } finally {
      await listener.close();
    }
  });

  it('closes an accepted link after idleTimeoutMs without traffic, emitting idle first; traffic in either direction restarts the period', async () => {
    const clock = new VirtualClock({ autoAdvance: false });
    const listener = await listenTcp({ port: 0, idleTimeoutMs: 1000, clock });
    try {
      const accepted = new Promise<TcpLink>((resolve) => listener.once('connection', resolve));
      const client = await connectTcpLink({ host: '127.0.0.1', port: listener.port });
      const server = await accepted;
      const idle: string[] = [];
      listener.on('idle', (link, ms) => idle.push(`${link.name} ${ms}`));
      const clientClosed = new Promise<void>((r) => client.once('close', r));

      await clock.advance(900);
      const atServer = nextData(server);
      await client.write(hex('68'));
      await atServer;
      await clock.advance(900); // 900 ms since the client's byte
      await server.write(hex('16'));
      await clock.advance(900); // 900 ms since the server's byte
      expect(idle).toEqual([]);
      expect(server.isOpen).toBe(true);

      await clock.advance(100);
      expect(idle).toEqual([`${server.name} 1000`]);
      await clientClosed;
      expect(server.isOpen).toBe(false);
    } finally {
      await listener.close();
    }
  });

  it('pause() stops reading until resume(); unsentBytes and drained() follow a peer that does not read', async () => {
    const listener = await listenTcp({ port: 0 });
    const peer: Socket[] = [];
    try {
      const accepted = new Promise<TcpLink>((resolve) => listener.once('connection', resolve));
      const socket = await new Promise<Socket>((resolve) => {
        const s = connect(listener.port, '127.0.0.1', () => resolve(s));
      });
      peer.push(socket);
      const server = await accepted;

      // Paused: the peer's bytes wait (in the kernel) until resume().
      server.pause();
      const got: string[] = [];
      server.on('data', (c) => got.push(toHex(c)));
      socket.write(Buffer.from([0x68, 0x16]));
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      expect(got).toEqual([]);
      const arrived = nextData(server);
      server.resume();
      expect(await arrived).toBe('68 16');

      // A peer that does not read: what the kernel does not take stays unsent, then drains when it reads.
      socket.pause();
      expect(server.unsentBytes).toBe(0);
      await server.drained(); // nothing unsent: resolves at once
      const block = new Uint8Array(1024 * 1024);
      let writes = 0;
      while (server.unsentBytes === 0 && writes < 64) {
        void server.write(block);
        writes++;
      }
      expect(server.unsentBytes).toBeGreaterThan(0);
      const drained = server.drained();
      socket.resume();
      socket.on('data', () => undefined);
      await drained;
      expect(server.unsentBytes).toBe(0);

      // close() does not wait for a peer that does not read what is still unsent.
      socket.pause();
      for (let i = 0; i < 64 && server.unsentBytes === 0; i++) void server.write(block);
      expect(server.unsentBytes).toBeGreaterThan(0);
      await server.close();
      expect(server.isOpen).toBe(false);
    } finally {
      for (const s of peer) s.destroy();
      await listener.close();
    }
  });
});
