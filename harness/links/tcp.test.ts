import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { LinkError } from '../core/errors.ts';
import type { Link } from './link.ts';
import { connectTcpLink, listenTcp } from './tcp.ts';

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
});
