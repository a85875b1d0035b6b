/**
 * `meterlab simulate meter` in a child process: served over TCP, and over the real serialport
 * binding on a socat pseudo-terminal pair (skipped, naming the install, without socat).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { toHex } from '../core/bytes.ts';
import { openSerialLink } from '../links/serial.ts';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import { decode } from '../protocols/dlt645/index.ts';
import { connectTo, exchange, expectOneErrorLine, meterlab, startMeterlab, type RunningMeterlab } from './testing.ts';
import { describeWireFrame, parseHostPort, simulatorProfileFor, stderrLog, TcpMeterPort } from './simulate.ts';
import { Writable } from 'node:stream';
import { listenTcp, type TcpLink } from '../links/tcp.ts';

/** Read of forward active total energy (DI 00010000) from meter 123456789012, with 4 FE wake-up bytes (PROTOCOLS.md 1.1, 1.2). */
const READ_00010000 = Uint8Array.from([0xfe, 0xfe, 0xfe, 0xfe, 0x68, 0x12, 0x90, 0x78, 0x56, 0x34, 0x12, 0x68, 0x11, 0x04, 0x33, 0x33, 0x34, 0x33, 0x68, 0x16]);

const clock = new RealClock();
const running: RunningMeterlab[] = [];
const pairs: PtyPair[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await r.exited;
  }
  for (const p of pairs.splice(0)) await p.close();
});

function start(args: string[]): RunningMeterlab {
  const r = startMeterlab(['simulate', 'meter', '--protocol', 'dlt645', ...args]);
  running.push(r);
  return r;
}

describe('meterlab simulate meter --tcp', () => {
  it('serves the meter, logs each frame, refuses a second client, and stops cleanly on SIGTERM', async () => {
    const sim = start(['--tcp', '127.0.0.1:0', '--address', '123456789012', '--seed', '7']);
    const ready = await sim.waitFor(/serving on/);
    const m = /^meterlab: meter 123456789012 serving on tcp 127\.0\.0\.1:(\d+) \(one client at a time, idle timeout 60 s\)$/.exec(ready);
    expect(m, ready).not.toBeNull();
    const port = Number(m![1]);

    const socket = await connectTo(port);
    const reply = decode(await exchange(socket, READ_00010000));
    expect(reply.ok).toBe(true);
    if (reply.ok) {
      expect(reply.value.frame.address).toBe('123456789012');
      expect(reply.value.message).toMatchObject({ kind: 'readDataResponse', di: '00010000' });
    }
    await sim.waitFor(/ rx 11 readData 123456789012 DI 00010000/);
    await sim.waitFor(/ tx 91 readDataResponse 123456789012 DI 00010000 .*kWh \[FE FE FE FE 68 12 90/);

    const second = await connectTo(port);
    await sim.waitFor(/refused: the meter is serving/);
    second.destroy();
    socket.destroy();
    await sim.waitFor(/disconnected/);

    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr()).toContain('meterlab: meter 123456789012 stopped (SIGTERM)');
  });

  it('serves a newcomer when the current client leaves within the hand-over grace (a close and an immediate reconnect)', async () => {
    const sim = start(['--tcp', '127.0.0.1:0', '--address', '123456789012']);
    const port = Number(/ tcp 127\.0\.0\.1:(\d+) /.exec(await sim.waitFor(/serving on/))![1]);
    const first = await connectTo(port);
    expect(decode(await exchange(first, READ_00010000)).ok).toBe(true);
    // The next client is already connected when the first one goes, as when the simulator reads a
    // new connection before the old one's FIN: it waits for the first to leave, then is served.
    // Its request is sent before the first one leaves: it must wait (unread), not be dropped.
    const second = await connectTo(port);
    const replied = exchange(second, READ_00010000);
    first.destroy();
    const reply = decode(await replied);
    expect(reply.ok).toBe(true);
    expect(sim.stderr()).not.toMatch(/refused/);
    second.destroy();
  });

  it('a port already in use: one line, exit 3', async () => {
    const first = start(['--tcp', '127.0.0.1:0', '--address', '123456789012']);
    const port = / tcp 127\.0\.0\.1:(\d+) /.exec(await first.waitFor(/serving on/))![1]!;
    const r = await meterlab(['simulate', 'meter', '--protocol', 'dlt645', '--tcp', `127.0.0.1:${port}`, '--address', '123456789012']);
    expect(r.code).toBe(3);
    expect(expectOneErrorLine(r)).toContain(`127.0.0.1:${port}`);
  });
});

describe('meterlab simulate meter --port', () => {
  it('a missing serial device: one line, exit 3', async () => {
    const r = await meterlab(['simulate', 'meter', '--protocol', 'dlt645', '--port', '/dev/ttyMETERLAB-NONE', '--address', '123456789012']);
    expect(r.code).toBe(3);
    expect(expectOneErrorLine(r)).toContain('/dev/ttyMETERLAB-NONE');
  });

  it('a path that is not a serial port (/dev/null, a regular file): one line, exit 3', async () => {
    const regular = join(mkdtempSync(join(tmpdir(), 'meterlab-sim-')), 'not-a-port.txt');
    writeFileSync(regular, 'not a serial port');
    const nul = await meterlab(['simulate', 'meter', '--protocol', 'dlt645', '--port', '/dev/null', '--address', '123456789012']);
    expect(nul.code).toBe(3);
    expect(expectOneErrorLine(nul)).toMatch(/^meterlab: serial port \/dev\/null cannot be opened: .*not a serial device/);
    const file = await meterlab(['simulate', 'meter', '--protocol', 'dlt645', '--port', regular, '--address', '123456789012']);
    expect(file.code).toBe(3);
    expect(expectOneErrorLine(file)).toBe(`meterlab: serial port ${regular} cannot be opened: it is a regular file, not a serial device`);
    rmSync(dirname(regular), { recursive: true, force: true });
  });

  it.skipIf(!socatAvailable())(`serves on a real serial device through a socat pty pair (skipped when ${SOCAT_MISSING})`, async () => {
    const pair = await startPtyPair();
    pairs.push(pair);
    const sim = start(['--port', pair.a, '--baud', '2400', '--address', '000000000042']);
    expect(await sim.waitFor(/serving on/)).toBe(`meterlab: meter 000000000042 serving on ${pair.a} at 2400 8E1`);
    const master = await openSerialLink({ path: pair.b, line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } });
    try {
      // Read address through the wildcard (13H to AAAAAAAAAAAA): the meter answers with its own address.
      const got = await new Promise<Uint8Array>((resolve, reject) => {
        let buf = new Uint8Array(0);
        const timer = clock.setTimeout(() => reject(new Error(`no reply; got ${toHex(buf)}`)), 5000);
        master.on('data', (chunk) => {
          const next = new Uint8Array(buf.length + chunk.length);
          next.set(buf);
          next.set(chunk, buf.length);
          buf = next;
          if (decode(buf).ok) {
            clock.clearTimeout(timer);
            resolve(buf);
          }
        });
        void master.write(Uint8Array.from([0x68, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x68, 0x13, 0x00, 0xdf, 0x16]));
      });
      const r = decode(got);
      expect(r.ok && r.value.message).toMatchObject({ kind: 'readAddressResponse', address: '000000000042' });
    } finally {
      await master.close();
    }
    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
  });
});

describe('simulate helpers', () => {
  it('parses host:port', () => {
    expect(parseHostPort('127.0.0.1:8645')).toEqual({ host: '127.0.0.1', port: 8645 });
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(() => parseHostPort('8645')).toThrow(/--tcp must be <host>:<port>/);
    expect(() => parseHostPort('h:70000')).toThrow(/--tcp/);
  });

  it('applies --address and --baud to the reference profile', () => {
    const p = simulatorProfileFor({ address: '000000000042', baud: 9600 });
    expect(p.meter.address).toBe('000000000042');
    expect(p.meter.line).toEqual({ baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 });
  });

  it('rejects an unreadable or invalid simulator profile with a ProfileError naming the file', () => {
    expect(() => simulatorProfileFor({ address: '000000000042', profile: '/nonexistent/p.json' })).toThrow(/simulator profile \/nonexistent\/p.json: no such file/);
  });

  it('describes a frame on one line with its hex, and undecodable bytes too', () => {
    expect(describeWireFrame(READ_00010000)).toMatch(/^11 readData 123456789012 DI 00010000 .*\[FE FE FE FE 68 12 90 78 56 34 12 68 11 04 33 33 34 33 68 16\]$/);
    expect(describeWireFrame(Uint8Array.from([0x68, 0x01]))).toMatch(/^undecodable \(dlt645\.truncated/);
  });
});

describe('stderrLog', () => {
  it('drops frame lines while stderr holds over 1 MiB unread, counts them, and never drops the other lines', () => {
    // A reader that never takes anything: everything written stays buffered.
    const written: string[] = [];
    const stderr = {
      writableLength: 0,
      write(text: string): boolean {
        written.push(text);
        this.writableLength += text.length;
        return false;
      },
    };
    const log = stderrLog(stderr as unknown as Writable);
    const frame = `rx ${'x'.repeat(1000)}`;
    for (let i = 0; i < 2000; i++) log.frame(frame);
    const kept = 1 + Math.floor((1024 * 1024) / (frame.length + 1));
    expect(stderr.writableLength).toBeLessThanOrEqual(1024 * 1024 + frame.length + 1);
    log.say('tcp 127.0.0.1:1 disconnected');
    const text = written.join('');
    expect(text.split('\n').filter((l) => l.startsWith('rx ')).length).toBe(kept);
    expect(text).toContain(`meterlab: ${2000 - kept} frame log line(s) dropped: stderr was not read fast enough\ntcp 127.0.0.1:1 disconnected\n`);
  });
});

describe('TcpMeterPort (the meter side of simulate --tcp), in process', () => {
  /** A port with a stand-in meter whose unanswered-request count the test sets. */
  async function rig(): Promise<{ port: TcpMeterPort; meter: { pendingReplies: number; restarts: number; restart(): void }; socket: Socket; server: TcpLink; lines: string[]; got: Uint8Array[]; close(): Promise<void> }> {
    const listener = await listenTcp({ port: 0 });
    const lines: string[] = [];
    const port = new TcpMeterPort('tcp:test', clock, (line) => lines.push(line));
    const meter = { pendingReplies: 0, restarts: 0, restart: () => void meter.restarts++ };
    port.meter = meter;
    const got: Uint8Array[] = [];
    port.on('data', (c) => got.push(c));
    const accepted = new Promise<TcpLink>((resolve) => listener.once('connection', resolve));
    const socket = await connectTo(listener.port);
    const server = await accepted;
    port.attach(server);
    return {
      port,
      meter,
      socket,
      server,
      lines,
      got,
      close: async () => {
        socket.destroy();
        await port.close();
        await listener.close();
      },
    };
  }
  const turns = async (n = 20): Promise<void> => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };
  const total = (chunks: Uint8Array[]): number => chunks.reduce((n, c) => n + c.length, 0);
  const arrived = async (r: { got: Uint8Array[] }, bytes: number): Promise<void> => {
    for (let i = 0; i < 1000 && total(r.got) < bytes; i++) await turns(1);
  };

  it('hands bytes to the meter in slices of at most 256 and restarts the meter per client', async () => {
    const r = await rig();
    try {
      expect(r.meter.restarts).toBe(1);
      r.socket.write(new Uint8Array(1000).fill(0x11));
      await arrived(r, 1000);
      expect(total(r.got)).toBe(1000);
      expect(Math.max(...r.got.map((c) => c.length))).toBeLessThanOrEqual(256);
    } finally {
      await r.close();
    }
  });

  it('stops handing bytes over while 16 requests are unanswered, and goes on when the meter catches up', async () => {
    const r = await rig();
    try {
      r.meter.pendingReplies = 16;
      r.socket.write(new Uint8Array(600).fill(0x11));
      await turns();
      expect(total(r.got)).toBe(0);
      expect(r.lines.join('\n')).toMatch(/16 requests unanswered: reading paused until the meter catches up/);
      r.meter.pendingReplies = 0;
      r.port.pump(); // what a reply does
      await arrived(r, 600);
      expect(total(r.got)).toBe(600);
    } finally {
      await r.close();
    }
  });

  it('stops reading from a client that leaves 64 KiB of replies unread, until it reads them', async () => {
    const r = await rig();
    try {
      r.socket.pause(); // does not read its replies
      const reply = new Uint8Array(256 * 1024);
      for (let i = 0; i < 64 && r.server.unsentBytes < 64 * 1024; i++) void r.port.write(reply);
      expect(r.server.unsentBytes).toBeGreaterThanOrEqual(64 * 1024);
      r.socket.write(new Uint8Array(100).fill(0x11));
      await turns();
      expect(total(r.got)).toBe(0);
      expect(r.lines.join('\n')).toMatch(/bytes of replies unread: reading paused until the client reads \(cap 65536 bytes\)/);
      r.socket.on('data', () => undefined);
      r.socket.resume();
      await arrived(r, 100);
      expect(total(r.got)).toBe(100);
    } finally {
      await r.close();
    }
  });
});

