import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../harness/core/clock.ts';
import { SeededRandom } from '../../harness/core/random.ts';
import { createWirelessHop } from '../../harness/links/wireless-hop.ts';
import { encodeMessage, MlgwFrameScanner, type MlgwMessage } from '../../harness/protocols/mlgw/index.ts';
import { createMlgwMeter } from './mlgw-meter.ts';

async function rig() {
  const clock = new VirtualClock({ start: Date.UTC(2026, 0, 10, 0, 0, 0) });
  const hop = createWirelessHop({ clock, random: new SeededRandom(3), latencyMs: 10 });
  const meter = createMlgwMeter({
    link: hop.meter,
    clock,
    seed: 5,
    kind: 'gas',
    meterId: '20260001',
    startLitres: 123_456,
    consumption: { dailyLitres: { min: 0, max: 0 }, emptyDayProbability: 1 },
  });
  const scanner = new MlgwFrameScanner();
  const replies: MlgwMessage[] = [];
  hop.converter.on('data', (c) => {
    for (const e of scanner.push(c)) if (e.type === 'frame' && e.message.ok) replies.push(e.message.value);
  });
  /** Sends a request and waits 1 s; the reply, or null. */
  const ask = (m: MlgwMessage, preamble = 4) =>
    clock.run(async () => {
      replies.length = 0;
      await hop.converter.write(encodeMessage(m, { preamble }));
      await clock.sleep(1000);
      return replies[0] ?? null;
    });
  return { clock, hop, meter, ask };
}

describe('MLGW battery meter', () => {
  it('sleeps through a short preamble, wakes on one longer than its sniff period, then stays awake', async () => {
    const { ask, meter, clock } = await rig();
    expect(await ask({ kind: 'readCurrent', meterId: '20260001', seq: 1 })).toBeNull();
    expect(await ask({ kind: 'readCurrent', meterId: '20260001', seq: 2 }, 470)).toBeNull(); // 1958 ms < 2000 ms
    const r = await ask({ kind: 'readCurrent', meterId: '20260001', seq: 3 }, 600); // 2500 ms
    expect(r).toMatchObject({ kind: 'readCurrentReply', meterId: '20260001', seq: 3, volumeLitres: 123_456, status: { valve: 'open', batteryLow: false } });
    // Meter local time (UTC+8): the request ended ~2.6 s after midnight UTC.
    expect(r?.kind === 'readCurrentReply' && r.time).toMatchObject({ year: 2026, month: 1, day: 10, hour: 8, minute: 0 });
    expect(await ask({ kind: 'readBattery', meterId: '20260001', seq: 4 })).toMatchObject({ kind: 'readBatteryReply', levelPercent: 100, millivolts: 3600 });
    await clock.run(() => clock.sleep(11_000));
    expect(meter.awake()).toBe(false);
    expect(await ask({ kind: 'readCurrent', meterId: '20260001', seq: 5 })).toBeNull();
  });

  it('moves the valve, refuses a second command while the motor runs, ignores other meters', async () => {
    const { ask, clock } = await rig();
    expect(await ask({ kind: 'valve', meterId: '20260001', seq: 1, action: 'close' }, 600)).toMatchObject({ kind: 'valveReply', status: { valve: 'open', valveMoving: true } });
    expect(await ask({ kind: 'valve', meterId: '20260001', seq: 2, action: 'open' })).toMatchObject({ kind: 'errorReply', code: 3, status: { valveMoving: true } });
    await clock.run(() => clock.sleep(6000));
    expect(await ask({ kind: 'readCurrent', meterId: '20260001', seq: 3 })).toMatchObject({ status: { valve: 'closed', valveMoving: false } });
    expect(await ask({ kind: 'readCurrent', meterId: '20260002', seq: 4 })).toBeNull();
    expect(await ask({ kind: 'identify', meterId: 'FFFFFFFF', seq: 5 })).toMatchObject({ kind: 'identifyReply', meterId: '20260001', meterKind: 'gas' });
    expect(await ask({ kind: 'unknownRequest', meterId: '20260001', seq: 6, command: 0x30, data: new Uint8Array(0) })).toMatchObject({ kind: 'errorReply', code: 1 });
  });
});
