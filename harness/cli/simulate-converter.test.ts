/**
 * `meterlab simulate converter` in a child process, read over loopback TCP as a concentrator would
 * through a TCP serial server: CJ/T 188 reads of a transparent water meter and of a sleeping MLGW gas
 * meter in protocol-converting mode (the converter sends the wake-up, not the master), a DL/T 645
 * read forwarded to the electricity meter; every frame logged; bad arguments get one line and exit 2
 * before anything opens.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { connectTcpLink } from '../links/tcp.ts';
import { Cjt188Master } from '../masters/cjt188-master.ts';
import { Dlt645Master } from '../masters/dlt645-master.ts';
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

describe('meterlab simulate converter', () => {
  it('serves the reference converter: CJ/T 188 transparent and converted reads, DL/T 645 forwarded, frames logged', async () => {
    const sim = startMeterlab(['simulate', 'converter', '--tcp', '127.0.0.1:0']);
    running.push(sim);
    const ready = await sim.waitFor(/interface converter reference-interface-converter at 2400 8E1 with 4 meter\(s\): .*serving on tcp 127\.0\.0\.1:(\d+)/);
    const port = Number(/tcp 127\.0\.0\.1:(\d+)/.exec(ready)![1]);
    const link = await connectTcpLink({ host: '127.0.0.1', port });
    const cjt = new Cjt188Master({ link, clock, line: LINE, timeoutMs: 12_000 });
    const dlt = new Dlt645Master({ link, clock, line: LINE, timeoutMs: 5000 });
    try {
      const water = await cjt.readData(0x10, '10000000000001', '901F');
      expect(water.address).toBe('10000000000001');
      // The MLGW gas meter sleeps: the converter wakes it (2.5 s on the air), the master sends 4 FE only.
      const gas = await cjt.readData(0x30, '30000000000003', '901F');
      expect(gas.status).toMatchObject({ valve: 'open', batteryLow: false });
      expect((gas.value as unknown as { currentFlow: { unit: string } }).currentFlow.unit).toBe('m³');
      expect(gas.exchange.responseDelayMs!).toBeGreaterThan(2500);
      const energy = await dlt.readData('000000000004', '00010000');
      expect(energy.address).toBe('000000000004');
    } finally {
      cjt.dispose();
      dlt.dispose();
      await link.close();
    }
    await sim.waitFor(/<- 81 readDataResponse 30 30000000000003 DI 901F/);
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr()).toMatch(/converter stopped \(SIGTERM\): 3 request\(s\) for archived meters, 3 answered/);
  }, 60_000);

  it.each([
    [['--port', '/dev/null', '--tcp', '127.0.0.1:0'], /give exactly one of --port/],
    [['--tcp', '127.0.0.1:0', '--baud', '9600'], /--baud applies to --port only/],
    [['--tcp', '127.0.0.1:0', '--profile', 'suites/profiles/reference.json'], /not an interface converter/],
    [['--tcp', '127.0.0.1:0', '--profile', 'no-such-file.json'], /no-such-file\.json/],
  ])('refuses %j with one line, exit 2', async (args, message) => {
    const r = await meterlab(['simulate', 'converter', ...args]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(message);
  });
});
