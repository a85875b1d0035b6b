/**
 * `meterlab simulate fleet` in a child process: a small fleet (2 buses × 3 meters) served on two
 * loopback ports, each read with a Dlt645Master over a TCP link, as a vendor's master station
 * would through TCP serial servers; and bad scenarios refused with one line before anything starts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { Rs485Bus } from '../links/bus.ts';
import { connectTcpLink, listenTcp } from '../links/tcp.ts';
import { Dlt645Master } from '../masters/index.ts';
import { connectTo, expectOneErrorLine, meterlab, startMeterlab, type RunningMeterlab } from './testing.ts';
import { TcpBusPort } from './simulate.ts';

const clock = new RealClock();
const running: RunningMeterlab[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) {
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await r.exited;
  }
});

function scenarioFile(json: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'meterlab-fleet-'));
  const path = join(dir, 'fleet.json');
  writeFileSync(path, JSON.stringify(json));
  return path;
}

describe('meterlab simulate fleet', () => {
  it('serves each bus on its own port; a master reads a meter on each over TCP; a second client is refused; SIGTERM stops it', async () => {
    const file = scenarioFile({
      seed: 3,
      meters: 6,
      metersPerBus: 3,
      models: [{ name: 'ref', profile: 'reference' }],
      addresses: { mode: 'sequential', first: '000000001000' },
      faults: { dead: 0 },
    });
    const sim = startMeterlab(['simulate', 'fleet', '--scenario', file, '--port-base', '0']);
    running.push(sim);
    await sim.waitFor(/fleet of 6 meters on 2 bus\(es\) serving/);
    const ports = [/bus00 serving on tcp 127\.0\.0\.1:(\d+): 3 meter\(s\) 000000001000 \.\. 000000001002 at 2400 8E1/, /bus01 serving on tcp 127\.0\.0\.1:(\d+): 3 meter\(s\) 000000001003 \.\. 000000001005/].map(
      (re) => Number(re.exec(sim.stderr())?.[1]),
    );
    expect(ports.every((p) => p > 0), sim.stderr()).toBe(true);

    for (const [bus, address] of [
      [0, '000000001001'],
      [1, '000000001005'],
    ] as const) {
      const link = await connectTcpLink({ host: '127.0.0.1', port: ports[bus]! });
      const master = new Dlt645Master({ link, clock });
      try {
        const r = await master.readData(address, '00010000');
        expect(r.address).toBe(address);
        // The reference registers: 100 + 200 + 300 + 400 kWh and a little more since the fleet started.
        expect(r.value).toBeGreaterThanOrEqual(1000);
        expect(r.value).toBeLessThan(1001);
        // A meter of the other bus is not on this one.
        const other = bus === 0 ? '000000001005' : '000000001001';
        await expect(master.readData(other, '00010000', { attempts: 1, timeoutMs: 1500 })).rejects.toThrow(/no reply/i);
        if (bus === 0) {
          const second = await connectTo(ports[0]!);
          await sim.waitFor(/bus00 tcp 127\.0\.0\.1:\d+ refused: bus00 is serving 127\.0\.0\.1:\d+ \(one client at a time\)/);
          second.destroy();
        }
      } finally {
        master.dispose();
        await link.close();
      }
    }
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr()).toContain('meterlab: fleet stopped (SIGTERM)');
  }, 60_000);

  it('a bad scenario: one line naming the field, exit 2, no port opened', async () => {
    const file = scenarioFile({ seed: 3, meters: 6, metersPerBus: 3, models: [{ name: 'ref', profile: 'reference' }], faults: { dead: 1.5 } });
    const r = await meterlab(['simulate', 'fleet', '--scenario', file, '--port-base', '0']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(/^meterlab: scenario .*fleet\.json: faults\.dead: Too big: expected number to be <=1$/);
    expect(r.stderr).not.toContain('serving');
  }, 30_000);

  it('a missing scenario file or a model profile that does not exist: one line, exit 2', async () => {
    const missing = await meterlab(['simulate', 'fleet', '--scenario', '/nonexistent/fleet.json']);
    expect(missing.code).toBe(2);
    expect(expectOneErrorLine(missing)).toBe('meterlab: scenario /nonexistent/fleet.json: no such file');
    const file = scenarioFile({ seed: 3, meters: 6, models: [{ name: 'x', profile: 'x-meter.json' }] });
    const r = await meterlab(['simulate', 'fleet', '--scenario', file]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(/models\[0\]\.profile: no such file "x-meter\.json"/);
  }, 30_000);

  it('a port already in use: one line naming it, exit 3', async () => {
    const file = scenarioFile({ seed: 3, meters: 2, metersPerBus: 1, models: [{ name: 'ref', profile: 'reference' }] });
    const first = startMeterlab(['simulate', 'fleet', '--scenario', file, '--port-base', '0']);
    running.push(first);
    await first.waitFor(/fleet of 2 meters/);
    const port = Number(/bus01 serving on tcp 127\.0\.0\.1:(\d+)/.exec(first.stderr())![1]);
    // bus00 on port - 1 (free or not), bus01 on the port the first fleet holds.
    const r = await meterlab(['simulate', 'fleet', '--scenario', file, '--port-base', String(port - 1)]);
    expect(r.code).toBe(3);
    expect(expectOneErrorLine(r)).toContain(`127.0.0.1:${port}`);
  }, 30_000);

  it('--shard i/n serves only shard i of the buses, each on its own port base + b; a master reads a meter of the shard', async () => {
    const file = scenarioFile({ seed: 3, meters: 8, metersPerBus: 2, models: [{ name: 'ref', profile: 'reference' }], addresses: { mode: 'sequential', first: '000000002000' } });
    const sim = startMeterlab(['simulate', 'fleet', '--scenario', file, '--port-base', '0', '--shard', '2/2']);
    running.push(sim);
    await sim.waitFor(/shard 2\/2 of a fleet of 8 meters: 4 meters on 2 of 4 bus\(es\) \(bus02\.\.bus03\) serving/);
    expect(sim.stderr()).not.toMatch(/bus0[01] serving/);
    const port = Number(/bus02 serving on tcp 127\.0\.0\.1:(\d+): 2 meter\(s\) 000000002004 \.\. 000000002005/.exec(sim.stderr())?.[1]);
    expect(port, sim.stderr()).toBeGreaterThan(0);
    expect(sim.stderr()).toMatch(/bus03 serving on tcp 127\.0\.0\.1:\d+: 2 meter\(s\) 000000002006 \.\. 000000002007/);
    const link = await connectTcpLink({ host: '127.0.0.1', port });
    const master = new Dlt645Master({ link, clock });
    try {
      expect((await master.readData('000000002005', '00010000')).address).toBe('000000002005');
    } finally {
      master.dispose();
      await link.close();
    }
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
  }, 60_000);

  it('--shard: a bad value (0/2, 3/2, a/b, 1/0) or more shards than buses: one line naming the option, exit 2, no port opened', async () => {
    const file = scenarioFile({ seed: 3, meters: 4, metersPerBus: 2, models: [{ name: 'ref', profile: 'reference' }] });
    for (const [value, says] of [
      ['0/2', /--shard must be i\/n with 1 ≤ i ≤ n \(here 1\.\.2\), got "0\/2"/],
      ['3/2', /--shard must be i\/n with 1 ≤ i ≤ n \(here 1\.\.2\), got "3\/2"/],
      ['a/b', /must be i\/n with whole numbers 1 ≤ i ≤ n \(e\.g\. 1\/2\), got "a\/b"/],
      ['1/0', /--shard must be i\/n with n ≥ 1, got "1\/0"/],
      ['1/3', /^meterlab: --shard 1\/3: the scenario has 2 bus\(es\), fewer than 3 shards/],
    ] as const) {
      const r = await meterlab(['simulate', 'fleet', '--scenario', file, '--port-base', '0', '--shard', value]);
      expect(r.code, `${value}: ${r.stderr}`).toBe(2);
      const line = expectOneErrorLine(r);
      expect(line).toContain('--shard');
      expect(line).toMatch(says);
      expect(r.stderr).not.toContain('serving');
    }
  }, 60_000);

  it('ports beyond 65535: one line, exit 2', async () => {
    const file = scenarioFile({ seed: 3, meters: 96, models: [{ name: 'ref', profile: 'reference' }] });
    const r = await meterlab(['simulate', 'fleet', '--scenario', file, '--port-base', '65534']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toBe('meterlab: --port-base 65534: 3 buses need ports 65534..65536, beyond 65535');
  }, 30_000);
});

describe('TcpBusPort', () => {
  it('stops reading from a client that floods the bus faster than the line carries it', async () => {
    // 9600 8E1: about 873 bytes/s on the bus; the client sends 4 MiB at once.
    const bus = new Rs485Bus({ clock, line: { baudRate: 9600, dataBits: 8, parity: 'even', stopBits: 1 } });
    const adapter = bus.attach('adapter');
    const heard: number[] = [];
    // Byte delivery: the test counts bytes as they come off the wire; with frame delivery a 1 KiB
    // write of the port would arrive whole after 1.2 s, past the end of this test's second.
    bus.attach('meter', { delivery: 'byte' }).on('data', (b) => heard.push(...b));
    const port = new TcpBusPort(adapter);
    const listener = await listenTcp({ port: 0 });
    listener.on('connection', (c) => port.attach(c));
    const socket = await connectTo(listener.port);
    try {
      socket.write(Buffer.alloc(4 * 1024 * 1024, 0x68));
      await clock.sleep(1000);
      expect(heard.length).toBeGreaterThan(100); // the bus carries the bytes, at its own pace
      expect(heard.length).toBeLessThan(2000);
      // What the simulator took from the socket stays near the cap (1 KiB + one socket read), not 4 MiB.
      expect(port.queuedBytes).toBeGreaterThan(0);
      expect(port.queuedBytes).toBeLessThan(300 * 1024);
    } finally {
      socket.destroy();
      await listener.close();
      await bus.close();
    }
  }, 30_000);
});
