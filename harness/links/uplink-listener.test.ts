/**
 * UplinkListener: the master's one link to a terminal that dials in over TCP (loopback).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectTcpLink, type TcpLink } from './tcp.ts';
import { UplinkListener } from './uplink-listener.ts';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close().catch(() => undefined);
});
const dial = async (l: UplinkListener): Promise<TcpLink> => {
  const c = await connectTcpLink({ host: '127.0.0.1', port: l.port });
  open.push(c);
  return c;
};
const next = (emitter: { once(e: 'data', f: (c: Uint8Array) => void): unknown }): Promise<Uint8Array> => new Promise((r) => emitter.once('data', r));
const until = async (f: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
};

describe('UplinkListener', () => {
  it('carries bytes both ways over the connection the terminal opened; writes with none connected are lost', async () => {
    const seen: string[] = [];
    const l = await UplinkListener.listen({ port: 0, onConnection: (remote, n) => seen.push(`connection ${n}`), onDisconnect: () => seen.push('gone') });
    open.push(l);
    await l.write(Uint8Array.of(1)); // nobody there: lost, no error
    expect(l.connected).toBe(false);
    const terminal = await dial(l);
    await until(() => l.connected);
    const up = next(l);
    await terminal.write(Uint8Array.of(0x68, 0x01));
    expect([...(await up)]).toEqual([0x68, 0x01]);
    const down = next(terminal);
    await l.write(Uint8Array.of(0x16));
    expect([...(await down)]).toEqual([0x16]);
    expect(l.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(seen).toEqual(['connection 1']);
  });

  it('a redial replaces the old connection; drop() closes it and the listener stays', async () => {
    const l = await UplinkListener.listen({ port: 0 });
    open.push(l);
    const first = await dial(l);
    await until(() => l.connections === 1);
    const second = await dial(l);
    await until(() => l.connections === 2);
    await until(() => !first.isOpen);
    expect(first.isOpen).toBe(false);
    const up = next(l);
    await second.write(Uint8Array.of(7));
    expect([...(await up)]).toEqual([7]);
    await l.drop();
    await until(() => !second.isOpen);
    expect(second.isOpen).toBe(false);
    expect(l.connected).toBe(false);
    const third = await dial(l);
    await until(() => l.connected);
    expect(third.isOpen).toBe(true);
    expect(l.connections).toBe(3);
  });

  it('a port already taken is one LinkError naming it; close() ends with "close"', async () => {
    const l = await UplinkListener.listen({ port: 0 });
    await expect(UplinkListener.listen({ port: l.port })).rejects.toThrow(new RegExp(`cannot listen on 127\\.0\\.0\\.1:${l.port}: .*EADDRINUSE`));
    let closed = false;
    l.once('close', () => (closed = true));
    await l.close();
    expect(closed).toBe(true);
    expect(l.isOpen).toBe(false);
    await expect(l.write(Uint8Array.of(1))).rejects.toThrow(/closed/);
  });
});
