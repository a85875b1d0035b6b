import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { VirtualClock, withTimeout } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import type { Link } from './link.ts';
import { collectBytes } from './test-support.ts';
import { createMockSerialPair, mockSerialBinding, resetMockSerialPorts, type MockSerialPair } from './mock-serial.ts';
import { openSerialLink } from './serial.ts';

const REQUEST = hex('68 12 90 78 56 34 12 68 11 04 33 33 34 33 B3 16');
const RESPONSE = hex('68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 09 16');

async function receive(link: Link, n: number): Promise<string> {
  return toHex(await collectBytes(link, n));
}

let pairs: MockSerialPair[] = [];
afterEach(async () => {
  for (const p of pairs) await p.host.close();
  pairs = [];
  await resetMockSerialPorts();
});
async function pair(...args: Parameters<typeof createMockSerialPair>): Promise<MockSerialPair> {
  const p = await createMockSerialPair(...args);
  pairs.push(p);
  return p;
}

describe('mock serial pair', () => {
  it('carries bytes both ways through a real SerialPortStream on the mock binding', async () => {
    const { host, device, port, path } = await pair();
    expect(host.stream.isOpen).toBe(true);
    expect(host.stream.baudRate).toBe(2400);
    expect(port.openOptions).toMatchObject({ path, baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 });
    const atDevice = receive(device, REQUEST.length);
    await host.write(REQUEST);
    expect(await atDevice).toBe(toHex(REQUEST));
    expect(toHex(port.recording)).toBe(toHex(REQUEST)); // record: true
    const atHost = receive(host, RESPONSE.length);
    await device.write(RESPONSE);
    expect(await atHost).toBe(toHex(RESPONSE));
    await host.setBaudRate(9600);
    expect(host.line.baudRate).toBe(9600);
    expect(port.port.openOpt?.baudRate).toBe(9600);
  });

  it('uses the same registry as serialport (no dual package hazard) and fresh ports per pair', async () => {
    const a = await pair();
    const b = await pair();
    expect(a.path).not.toBe(b.path);
    const binding = await mockSerialBinding();
    const listed = (await binding.list()).map((p) => p.path);
    expect(listed).toEqual(expect.arrayContaining([a.path, b.path]));
    // A second open of the same port is refused like a locked real port.
    await expect(openSerialLink({ path: a.path, line: a.host.line, binding })).rejects.toThrow(
      `serial port ${a.path} cannot be opened: Port is locked cannot open (is another program using it?)`,
    );
  });

  it('closing either end closes both', async () => {
    const { host, device } = await pair();
    const closed = new Promise<void>((r) => host.once('close', r));
    await device.close();
    await closed;
    expect(device.isOpen).toBe(false);
    expect(host.isOpen).toBe(false);
    await expect(device.write(hex('00'))).rejects.toBeInstanceOf(LinkError);
  });

  it('a missing mock port gives the clean LinkError', async () => {
    const binding = await mockSerialBinding();
    await expect(openSerialLink({ path: '/dev/ttyNOPE', line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }, binding })).rejects.toThrow(
      /^serial port \/dev\/ttyNOPE cannot be opened: Port does not exist/,
    );
  });

  it('works in virtual time with an auto-advancing VirtualClock', async () => {
    const clock = new VirtualClock();
    const t0 = clock.now();
    const { host, device } = await pair({ clock });
    // The meter answers 50 ms (virtual) after the request.
    device.on('data', () => void clock.sleep(50).then(() => device.write(RESPONSE)));
    for (let i = 0; i < 20; i++) {
      const reply = receive(host, RESPONSE.length);
      await host.write(REQUEST);
      // A 1 s timeout must not fire while mock bytes are still travelling through process.nextTick.
      expect(await withTimeout(clock, reply, 1000, 'meter did not answer')).toBe(toHex(RESPONSE));
    }
    expect(clock.now() - t0).toBe(20 * 50);
  });
});
