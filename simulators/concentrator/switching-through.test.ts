/**
 * A meter switched THROUGH the reference concentrator (issue 12): a DL/T 645 master runs unchanged
 * over a Gw1376ForwardingLink (AFN 10 F1 on the meter's port), as the reference master station's
 * switching jobs do when a channel is a concentrator. The bench scenario's world, virtual time.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../harness/core/clock.ts';
import { createMemoryPair } from '../../harness/links/memory.ts';
import { Dlt645Master } from '../../harness/masters/dlt645-master.ts';
import { Gw1376ForwardingLink } from '../../harness/masters/gw1376-forwarding-link.ts';
import { Gw1376Master } from '../../harness/masters/gw1376-master.ts';
import { RemoteControlCommand } from '../../harness/protocols/dlt645/index.ts';
import { buildCollectionWorld, readCollectionScenarioFile } from '../collection/index.ts';
import { createConcentrator } from './index.ts';

const BENCH = fileURLToPath(new URL('../collection/scenarios/bench.json', import.meta.url));

describe('switching through the concentrator (AFN 10 F1 forwarding under a DL/T 645 master)', () => {
  it('reads a meter and trips and closes its relay through the concentrator; a silent meter is a timeout above', async () => {
    const s = readCollectionScenarioFile(BENCH);
    const clock = new VirtualClock({ start: s.startMs, autoAdvance: false });
    const world = buildCollectionWorld(s, { clock, concentrators: [0] });
    const wc = world.concentrators[0]!;
    const [stationEnd, terminalEnd] = createMemoryPair();
    let dialled = false;
    const c = createConcentrator({
      clock,
      ports: wc.ports,
      archive: wc.archive,
      address: wc.address,
      password: wc.password,
      connect: async () => {
        if (dialled) throw new Error('one connection in this test');
        dialled = true;
        return terminalEnd;
      },
    });
    const gw = new Gw1376Master({ link: stationEnd, clock, password: wc.password, terminal: wc.address });
    c.start();
    const point = wc.archive.find((p) => p.protocol === 'dlt645-2007')!;
    const meter = wc.truth.point(point.pn)!.electricity!;
    const link = new Gw1376ForwardingLink(gw, { port: point.port, frameTimeoutMs: 3000 });
    // The reply comes after the whole 1376.1 round trip: the master above waits longer than on a bus.
    const dlt = new Dlt645Master({ link, clock, timeoutMs: 15_000, attempts: 2 });
    try {
      const r = await clock.run(dlt.readData(point.address, '00010000'));
      const truth = wc.truth.point(point.pn)!.current();
      expect(truth.kind).toBe('electricity');
      // The meter sends its register truncated to 0.01 kWh.
      expect(r.value).toBe(truth.kind === 'electricity' ? Math.floor(truth.forwardActiveKwh[0]! * 100) / 100 : NaN);
      const until = new Date(clock.now() + 10 * 60_000 + 8 * 3_600_000);
      const validUntil = { year: until.getUTCFullYear(), month: until.getUTCMonth() + 1, day: until.getUTCDate(), hour: until.getUTCHours(), minute: until.getUTCMinutes(), second: 0 };
      const control = (command: number) => ({ command, password: { level: 2, value: '000000' }, operator: '00000000', validUntil });
      await clock.run(dlt.remoteControl(point.address, control(RemoteControlCommand.Trip)));
      await clock.run(clock.sleep(60_000));
      expect(meter.model.relay.commandTrip).toBe(true);
      expect(meter.model.relay.open).toBe(true);
      await clock.run(dlt.remoteControl(point.address, control(RemoteControlCommand.DirectClose)));
      await clock.run(clock.sleep(60_000));
      expect(meter.model.relay.open).toBe(false);
      expect(link.stats).toMatchObject({ forwarded: 3, answered: 3, silent: 0 });
      // A silent meter: the concentrator denies the forward, the master above times out.
      wc.truth.point(point.pn)!.setDead(true);
      await expect(clock.run(dlt.readData(point.address, '00010000'))).rejects.toThrow(/no reply|timed out|timeout/i);
      expect(link.stats.silent).toBeGreaterThan(0);
    } finally {
      dlt.dispose();
      await link.close();
      await c.stop();
      gw.dispose();
      await world.close();
    }
  });
});
