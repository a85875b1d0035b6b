/**
 * `meterlab simulate heat|water|gas` in a child process, read over loopback TCP as a master
 * program would through a TCP serial server: M-Bus frames for the heat segment, the CJ/T 188
 * master for water and for a sleeping gas meter (reached only with a wake-up preamble); bad
 * arguments get one line and exit 2 before anything opens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { connectTcpLink } from '../links/tcp.ts';
import { Cjt188Master } from '../masters/cjt188-master.ts';
import { Cjt188NoReplyError } from '../masters/errors.ts';
import { decodeApplication, decodeSingleFrame, encodeReqUd2, encodeSndNke } from '../protocols/mbus/index.ts';
import { expectOneErrorLine, meterlab, startMeterlab, type RunningMeterlab } from './testing.ts';

const clock = new RealClock();
const LINE = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } as const;
const running: RunningMeterlab[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await r.exited;
  }
});

async function start(args: string[], ready: RegExp): Promise<number> {
  const sim = startMeterlab(['simulate', ...args, '--tcp', '127.0.0.1:0']);
  running.push(sim);
  const line = await sim.waitFor(ready);
  return Number(/tcp 127\.0\.0\.1:(\d+)/.exec(line)![1]);
}

/** Sends M-Bus bytes and collects bytes until one whole frame has arrived. */
async function mbusExchange(port: number, request: Uint8Array): Promise<Uint8Array> {
  const link = await connectTcpLink({ host: '127.0.0.1', port });
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      let got = new Uint8Array(0);
      const timer = clock.setTimeout(() => reject(new Error('no reply')), 5000);
      link.on('data', (chunk) => {
        const all = new Uint8Array(got.length + chunk.length);
        all.set(got);
        all.set(chunk, got.length);
        got = all;
        if (decodeSingleFrame(got).ok) {
          clock.clearTimeout(timer);
          resolve(got);
        }
      });
      void link.write(request);
    });
  } finally {
    await link.close();
  }
}

describe('meterlab simulate heat|water|gas', () => {
  it('serves a segment of M-Bus heat meters: SND_NKE gets E5, REQ_UD2 to primary 2 gets its RSP_UD', async () => {
    const port = await start(['heat', '--count', '3', '--id', '10000000'], /3 heat meter\(s\) 1:10000000 \.\. 3:10000002 \(mbus\) at 2400 8E1 serving on tcp/);
    expect(await mbusExchange(port, encodeSndNke(2))).toEqual(Uint8Array.of(0xe5));
    const reply = decodeSingleFrame(await mbusExchange(port, encodeReqUd2(2, true)));
    expect(reply.ok).toBe(true);
    if (!reply.ok || reply.value.frame.type !== 'long') throw new Error('not a long frame');
    const app = decodeApplication(reply.value.frame);
    expect(app.ok && app.value.kind === 'variableData' && app.value.header).toMatchObject({ id: '10000001', medium: 4 });
  }, 30_000);

  it('serves CJ/T 188 water meters read by the CJ/T 188 master, and a gas meter that needs a wake-up', async () => {
    const water = await start(['water', '--count', '2', '--address', '00000000001000'], /2 water meter\(s\) 00000000001000 \.\. 00000000001001 \(cjt188\)/);
    let link = await connectTcpLink({ host: '127.0.0.1', port: water });
    let master = new Cjt188Master({ link, clock, line: LINE });
    try {
      const r = await master.readData(0x10, '00000000001001', '901F');
      expect(r.address).toBe('00000000001001');
      expect(r.status).toMatchObject({ valve: 'open' });
    } finally {
      master.dispose();
      await link.close();
    }
    const gas = await start(['gas', '--address', '00000000002000'], /1 gas meter\(s\) 00000000002000 \(cjt188\)/);
    link = await connectTcpLink({ host: '127.0.0.1', port: gas });
    master = new Cjt188Master({ link, clock, line: LINE, timeoutMs: 1000 });
    try {
      await expect(master.readData(0x30, '00000000002000', '901F', { attempts: 1 })).rejects.toBeInstanceOf(Cjt188NoReplyError);
      const r = await master.readData(0x30, '00000000002000', '901F', { wakeUp: { preambleMs: 2500 } });
      expect(r.address).toBe('00000000002000');
    } finally {
      master.dispose();
      await link.close();
    }
  }, 60_000);

  it.each([
    [['heat', '--tcp', '127.0.0.1:0', '--address', '00000000000001'], /unknown option '--address'/],
    [['water', '--tcp', '127.0.0.1:0', '--address', '123'], /--address must be 14 decimal digits/],
    [['heat', '--tcp', '127.0.0.1:0', '--primary', '249', '--count', '5'], /primary addresses must stay within 1\.\.250/],
    [['gas', '--port', '/dev/null', '--tcp', '127.0.0.1:0'], /give exactly one of --port/],
    [['water', '--protocol', 'mbus', '--tcp', '127.0.0.1:0'], /mbus/],
  ])('refuses %j with one line, exit 2', async (args, message) => {
    const r = await meterlab(['simulate', ...args]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(message);
  });
});
