import { afterEach, describe, expect, it } from 'vitest';
import { hex, toHex } from '../core/bytes.ts';
import { LinkError } from '../core/errors.ts';
import { DLT645_DEFAULT_LINE, type Link } from './link.ts';
import { startPtyPair, socatAvailable, SOCAT_MISSING, type PtyPair } from './pty.ts';
import { listSerialPorts, openSerialLink, type SerialLink } from './serial.ts';
import { collectBytes } from './test-support.ts';

const REQUEST = hex('FE FE FE FE 68 12 90 78 56 34 12 68 11 04 33 33 34 33 B3 16');
const RESPONSE = hex('68 12 90 78 56 34 12 68 91 08 33 33 34 33 89 67 45 33 09 16');

async function receive(link: Link, n: number): Promise<string> {
  return toHex(await collectBytes(link, n));
}

describe('openSerialLink with the real binding', () => {
  it('a missing port is one clear LinkError naming the path', async () => {
    const e = await openSerialLink({ path: '/dev/ttyUSB9', line: DLT645_DEFAULT_LINE }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LinkError);
    expect((e as Error).message).toBe('serial port /dev/ttyUSB9 cannot be opened: No such file or directory');
  });

  it('a file that is not a serial device is refused with a hint', async () => {
    await expect(openSerialLink({ path: '/dev/null', line: DLT645_DEFAULT_LINE })).rejects.toThrow(
      /^serial port \/dev\/null cannot be opened: .*\(not a serial device\?\)$/,
    );
  });

  it('listSerialPorts answers without crashing, even where udevadm is missing', async () => {
    const ports = await listSerialPorts();
    expect(Array.isArray(ports)).toBe(true);
    for (const p of ports) expect(typeof p.path).toBe('string');
  });
});

// The REAL serialport binding end to end over a socat pseudo-terminal pair. ptys carry bytes but
// neither pace them at the baud rate nor honour parity: those are tested on the bus model.
describe('real serialport over a socat pty pair', () => {
  let pty: PtyPair | undefined;
  const links: SerialLink[] = [];
  afterEach(async () => {
    for (const l of links.splice(0)) await l.close();
    await pty?.close();
    pty = undefined;
  });

  it('exchanges bytes both ways at 2400 8E1', async (ctx) => {
    if (!socatAvailable()) ctx.skip(`${SOCAT_MISSING} (CI installs it)`);
    pty = await startPtyPair();
    const master = await openSerialLink({ path: pty.a, line: DLT645_DEFAULT_LINE, name: 'master' });
    links.push(master);
    const meter = await openSerialLink({ path: pty.b, line: DLT645_DEFAULT_LINE, name: 'meter' });
    links.push(meter);
    expect(master.stream.baudRate).toBe(2400);

    const atMeter = receive(meter, REQUEST.length);
    await master.write(REQUEST);
    expect(await atMeter).toBe(toHex(REQUEST));
    const atMaster = receive(master, RESPONSE.length);
    await meter.write(RESPONSE);
    expect(await atMaster).toBe(toHex(RESPONSE));

    // All 256 byte values survive the raw pty (no echo, no CR/LF translation, no XON/XOFF).
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const everything = receive(meter, 256);
    await master.write(all);
    expect(await everything).toBe(toHex(all));
  });

  it('the pty pair is torn down on close', async (ctx) => {
    if (!socatAvailable()) ctx.skip(`${SOCAT_MISSING} (CI installs it)`);
    const p = await startPtyPair();
    await p.close();
    await p.close();
    expect(() => process.kill(p.pid, 0)).toThrow();
    await expect(openSerialLink({ path: p.a, line: DLT645_DEFAULT_LINE })).rejects.toThrow(
      `serial port ${p.a} cannot be opened: No such file or directory`,
    );
  });
});
