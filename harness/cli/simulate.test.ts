/**
 * `meterlab simulate meter` in a child process: served over TCP, and over the real serialport
 * binding on a socat pseudo-terminal pair (skipped, naming the install, without socat).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { toHex } from '../core/bytes.ts';
import { openSerialLink } from '../links/serial.ts';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import { decode } from '../protocols/dlt645/index.ts';
import { expectOneErrorLine, meterlab, startMeterlab, type RunningMeterlab } from './testing.ts';
import { describeWireFrame, parseHostPort, simulatorProfileFor } from './simulate.ts';

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

/** Sends a request and collects bytes until one whole frame has arrived. */
function exchange(socket: Socket, request: Uint8Array, timeoutMs = 5000): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const timer = clock.setTimeout(() => reject(new Error(`no reply; got ${toHex(got)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (decode(got).ok) {
        clock.clearTimeout(timer);
        socket.off('data', onData);
        resolve(new Uint8Array(got));
      }
    };
    socket.on('data', onData);
    socket.write(request);
  });
}

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

describe('meterlab simulate meter --tcp', () => {
  it('serves the meter, logs each frame, refuses a second client, and stops cleanly on SIGTERM', async () => {
    const sim = start(['--tcp', '127.0.0.1:0', '--address', '123456789012', '--seed', '7']);
    const ready = await sim.waitFor(/serving on/);
    const m = /^meterlab: meter 123456789012 serving on tcp 127\.0\.0\.1:(\d+)$/.exec(ready);
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
    await sim.waitFor(/refused: a client is already connected/);
    second.destroy();
    socket.destroy();
    await sim.waitFor(/disconnected/);

    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr()).toContain('meterlab: meter 123456789012 stopped (SIGTERM)');
  });

  it('a port already in use: one line, exit 3', async () => {
    const first = start(['--tcp', '127.0.0.1:0', '--address', '123456789012']);
    const port = /:(\d+)$/.exec(await first.waitFor(/serving on/))![1]!;
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
