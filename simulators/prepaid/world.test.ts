import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../../harness/core/clock.ts';
import { Dlt645Master, Dlt645NoReplyError } from '../../harness/masters/index.ts';
import { RemoteControlCommand } from '../../harness/protocols/dlt645/types.ts';
import { PREPAID_METER_PROFILE, buildPrepaidWorld, type PrepaidWorld, type WorldTopUp } from './world.ts';
import { loadPrepaidScenario, readPrepaidScenarioFile, type PrepaidScenarioInput } from './scenario.ts';

const MINUTE = 60_000;
const { Trip, DirectClose } = RemoteControlCommand;

/** A small world: 8 meters on 2 buses of 4, no faults unless the test asks for them. */
function small(overrides: Partial<PrepaidScenarioInput> = {}) {
  const scenario = loadPrepaidScenario({
    seed: 11,
    days: 2,
    meters: 8,
    metersPerBus: 4,
    keepPowerShare: 0,
    lossy: { share: 0, dropRate: 0 },
    slow: { share: 0, delayMs: 600 },
    stickingRelays: 0,
    ...overrides,
  });
  const clock = new VirtualClock({ start: scenario.startMs, autoAdvance: false });
  const world = buildPrepaidWorld(scenario, clock);
  const paid: [number, WorldTopUp][] = [];
  world.setPayer((p) => {
    paid.push([clock.now(), p]);
  });
  const master = (channel: string, attempts = 3) => new Dlt645Master({ link: world.linkFor(channel), clock, line: world.line, attempts });
  return { scenario, clock, world, paid, master };
}

async function control(world: PrepaidWorld, clock: VirtualClock, m: Dlt645Master, address: string, command: number): Promise<void> {
  const { password, operatorCode } = world.remoteControl;
  await clock.run(m.remoteControl(address, { command, password, operator: operatorCode, validUntil: null }));
}

/** Everything seeded a world holds, as plain data. */
function fingerprint(w: PrepaidWorld) {
  return { accounts: w.accounts, channels: w.channels, faults: w.faults, daily: w.accounts.map((a) => w.meter(a.meterAddress).dailyKwh) };
}

describe('prepaid world', () => {
  it('builds accounts, channels and meters as the scenario says', async () => {
    const { world, scenario } = small({ keepPowerShare: 0.5, stickingRelays: 1 });
    expect(world.channels).toEqual([
      { id: 'bus00', kind: 'rs485', description: 'RS-485 bus bus00: 4 meters, 000000000001..000000000004' },
      { id: 'bus01', kind: 'rs485', description: 'RS-485 bus bus01: 4 meters, 000000000005..000000000008' },
    ]);
    expect(world.accounts).toHaveLength(8);
    expect(new Set(world.accounts.map((a) => a.id)).size).toBe(8);
    for (const a of world.accounts) {
      expect(a.paymentMode).toBe('prepaid');
      expect(a.phone).toMatch(/^1\d{10}$/);
      expect(a.channelId).toBe(Number(a.meterAddress) <= 4 ? 'bus00' : 'bus01');
      expect(a.tariffFenPerKwh).toBeGreaterThanOrEqual(scenario.tariffFenPerKwh.min);
      expect(a.tariffFenPerKwh).toBeLessThanOrEqual(scenario.tariffFenPerKwh.max);
      expect(Number.isInteger(a.balanceFen)).toBe(true);
      const m = world.meter(a.meterAddress);
      // The meter draws the customer's daily consumption evenly.
      expect(m.meter.model.powerNow()).toBeCloseTo(m.dailyKwh / 24, 9);
    }
    const kp = world.accounts.filter((a) => a.keepPower !== null);
    expect(kp.length).toBeGreaterThan(0);
    expect(kp.length).toBeLessThan(8);
    // The sticking relay is never on a keep-power account (it would never be tripped).
    expect(world.faults.stickingRelays).toHaveLength(1);
    expect(world.accounts.find((a) => a.meterAddress === world.faults.stickingRelays[0])!.keepPower).toBeNull();
    // 1CH credentials come from the profile, not re-typed.
    const level = PREPAID_METER_PROFILE.meter.passwordLevels.remoteControl;
    expect(world.remoteControl).toEqual({ password: { level: parseInt(level, 16), value: PREPAID_METER_PROFILE.meter.passwords[level]!.toUpperCase() }, operatorCode: PREPAID_METER_PROFILE.meter.operatorCode });
    expect(PREPAID_METER_PROFILE.simulation.costControl).toBe('remote');
    expect(() => world.linkFor('bus02')).toThrow(RangeError);
    await world.close();
  });

  it('builds the suite default world (prepaid-1000.json): 32 channels, seeded fault shares, a sticking relay that will be cut', async () => {
    const scenario = readPrepaidScenarioFile(join(import.meta.dirname, '../../suites/switching/scenarios/prepaid-1000.json'));
    const clock = new VirtualClock({ start: scenario.startMs, autoAdvance: false });
    const world = buildPrepaidWorld(scenario, clock);
    expect(world.accounts).toHaveLength(1000);
    expect(world.channels).toHaveLength(32); // 31 buses of 32 and one of 8
    expect(world.faults.lossyChannels).toHaveLength(Math.round(scenario.lossy.share * 32));
    expect(world.faults.stickingRelays).toHaveLength(scenario.stickingRelays);
    const stuck = world.meter(world.faults.stickingRelays[0]!);
    // Its opening balance lasts less than the run: the station will try to cut it.
    expect(stuck.account.balanceFen!).toBeLessThan(scenario.days * stuck.dailyKwh * stuck.account.tariffFenPerKwh);
    const kp = world.accounts.filter((a) => a.keepPower !== null).length;
    expect(kp).toBeGreaterThan(10);
    expect(kp).toBeLessThan(50); // 3% of 1000, seeded
    expect(new Set(world.accounts.map((a) => a.meterAddress)).size).toBe(1000);
    expect(world.faults.outages).toHaveLength(scenario.outages.length + scenario.randomOutages.count);
    await world.close();
  });

  it('refuses a clock that does not stand at the scenario start', () => {
    const scenario = loadPrepaidScenario({ seed: 1, meters: 2 });
    expect(() => buildPrepaidWorld(scenario, new VirtualClock({ start: scenario.startMs + 1 }))).toThrow(/the clock stands at/);
  });

  it('accepts a real clock read a moment before (REAL_START_SLACK_MS), not one far off', async () => {
    const clock = new RealClock();
    const start = clock.now();
    const scenario = loadPrepaidScenario({ seed: 1, meters: 2, stickingRelays: 0, start: new Date(start).toISOString() });
    const ok = buildPrepaidWorld({ ...scenario, startMs: start }, clock);
    await ok.close();
    expect(() => buildPrepaidWorld({ ...scenario, startMs: start - 60_000 }, clock)).toThrow(/the clock stands at/);
  });

  it('starts the accounts in arrears the scenario asks for: cut ones with the relay open (their customers pay), due ones and keep-power ones closed', async () => {
    const { world, clock, paid } = small({ startInArrears: { cut: 2, due: 2, keepPower: 1, balanceFen: { min: -900, max: -100 } }, customers: { delayMinutes: { min: 1, max: 2 } } });
    const by = (state: string) => world.accounts.filter((a) => world.startState(a.id) === state);
    expect([by('cut').length, by('due').length, by('keep-power').length, by('normal').length]).toEqual([2, 2, 1, 3]);
    for (const a of [...by('cut'), ...by('due'), ...by('keep-power')]) expect(a.balanceFen).toBeGreaterThanOrEqual(-900), expect(a.balanceFen).toBeLessThanOrEqual(-100);
    for (const a of [...by('cut'), ...by('due')]) expect(a.keepPower).toBeNull();
    expect(by('keep-power')[0]!.keepPower).not.toBeNull();
    for (const a of world.accounts) expect(world.relayOpen(a.meterAddress)).toBe(world.startState(a.id) === 'cut');
    expect(by('cut').map((a) => world.relayHistory(a.meterAddress).map((c) => [c.open, c.at]))).toEqual([[[true, world.startMs]], [[true, world.startMs]]]);
    await clock.run(clock.sleep(3 * MINUTE));
    expect(paid.map(([, p]) => p.accountId).filter((id, i, all) => all.indexOf(id) === i).sort()).toEqual(by('cut').map((a) => a.id).sort());
    await world.close();
  });

  it('a trip over linkFor opens the relay (relay truth), the customer pays after the seeded delay, a duplicate 5 s later; direct close closes', async () => {
    const { world, clock, paid, master } = small({
      customers: { topUpProbability: 1, delayMinutes: { min: 30, max: 30 }, amountDays: { min: 2, max: 2 }, duplicateShare: 1, duplicateGapSeconds: { min: 5, max: 5 }, earlyOnWarningShare: 0 },
    });
    const a = world.accounts[1]!;
    const m = master(a.channelId);
    const t0 = clock.now();
    await control(world, clock, m, a.meterAddress, Trip);
    const history = world.relayHistory(a.meterAddress);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ open: true, cause: 'remote' });
    const cutAt = history[0]!.at;
    expect(cutAt).toBeGreaterThan(t0); // the request took line time
    expect(cutAt).toBeLessThan(t0 + 1000);
    expect(world.relayOpen(a.meterAddress)).toBe(true);
    expect(world.relayOpen(world.accounts[0]!.meterAddress)).toBe(false);

    await clock.advanceTo(cutAt + 30 * MINUTE - 1);
    expect(paid).toEqual([]);
    await clock.advance(1);
    const amountFen = Math.round(2 * world.meter(a.meterAddress).dailyKwh * a.tariffFenPerKwh);
    const payment = { paymentId: `${a.id}-cut-1`, accountId: a.id, amountFen };
    expect(paid).toEqual([[cutAt + 30 * MINUTE, { ...payment, duplicate: false }]]);
    await clock.advance(5000);
    expect(paid[1]).toEqual([cutAt + 30 * MINUTE + 5000, { ...payment, duplicate: true }]);
    expect(world.payments()).toEqual([
      { ...payment, duplicate: false, at: cutAt + 30 * MINUTE, trigger: 'cut' },
      { ...payment, duplicate: true, at: cutAt + 30 * MINUTE + 5000, trigger: 'cut' },
    ]);

    await control(world, clock, m, a.meterAddress, DirectClose);
    expect(world.relayOpen(a.meterAddress)).toBe(false);
    expect(world.relayHistory(a.meterAddress).map((c) => [c.open, c.cause])).toEqual([
      [true, 'remote'],
      [false, 'forced'],
    ]);
    await world.close();
  });

  it('a meter with a sticking relay acknowledges the trip, its relay never moves, its customer never pays', async () => {
    const { world, clock, paid, master } = small({ stickingRelays: 1, customers: { topUpProbability: 1, delayMinutes: { min: 1, max: 1 } } });
    const address = world.faults.stickingRelays[0]!;
    const a = world.accounts.find((x) => x.meterAddress === address)!;
    await control(world, clock, master(a.channelId), address, Trip); // 9CH: no throw
    expect(world.meter(address).meter.model.relay.commandTrip).toBe(true);
    await clock.advance(10 * MINUTE);
    expect(world.relayHistory(address)).toEqual([]);
    expect(world.relayOpen(address)).toBe(false);
    expect(paid).toEqual([]);
    await world.close();
  });

  it('an outage window makes the channel silent, then it carries frames again', async () => {
    const { world, clock, master } = small({ outages: [{ channel: 'bus01', startMinutes: 10, durationMinutes: 5 }] });
    const address = world.accounts[5]!.meterAddress;
    const m = master('bus01', 1);
    const read = () => clock.run(m.readData(address, '00010000'));
    await expect(read()).resolves.toMatchObject({ address });
    await clock.advanceTo(world.startMs + 10 * MINUTE);
    await expect(read()).rejects.toBeInstanceOf(Dlt645NoReplyError);
    expect(world.channelStats('bus01').outage).toEqual({ tx: 1, rx: 0 });
    // bus00 is not out.
    await expect(clock.run(master('bus00', 1).readData(world.accounts[0]!.meterAddress, '00010000'))).resolves.toBeDefined();
    await clock.advanceTo(world.startMs + 15 * MINUTE);
    await expect(read()).resolves.toMatchObject({ address });
    expect(world.faults.outages).toEqual([{ channel: 'bus01', from: world.startMs + 10 * MINUTE, to: world.startMs + 15 * MINUTE }]);
    await world.close();
  });

  it('a lossy channel loses frames at its seeded rate; a clean one loses none', async () => {
    const { world, clock, master } = small({ lossy: { share: 0.5, dropRate: 0.2 } });
    expect(world.faults.lossyChannels).toHaveLength(1);
    const lossyId = world.faults.lossyChannels[0]!;
    const cleanId = lossyId === 'bus00' ? 'bus01' : 'bus00';
    const results: Record<string, number> = {};
    for (const id of [lossyId, cleanId]) {
      const m = master(id, 1);
      const address = world.accounts.find((a) => a.channelId === id)!.meterAddress;
      let failed = 0;
      for (let i = 0; i < 200; i++) {
        try {
          await clock.run(m.readData(address, '00010000'));
        } catch (e) {
          expect(e).toBeInstanceOf(Dlt645NoReplyError);
          failed++;
        }
      }
      results[id] = failed;
    }
    const lost = world.channelStats(lossyId).lost;
    // Every lost request or reply is one failed read (one attempt each).
    expect(results[lossyId]).toBe(lost.tx + lost.rx);
    // Seeded: this exact count for seed 11 (1 - 0.8² = 36% expected: 72 of 200, ±3σ ≈ ±20).
    expect(lost.tx + lost.rx).toBe(LOSSY_FAILURES);
    expect(Math.abs(LOSSY_FAILURES - 72)).toBeLessThanOrEqual(20);
    expect(lost.tx).toBeGreaterThan(0);
    expect(lost.rx).toBeGreaterThan(0);
    expect(results[cleanId]).toBe(0);
    expect(world.channelStats(cleanId)).toEqual({ lossy: false, dropRate: 0, lost: { tx: 0, rx: 0 }, outage: { tx: 0, rx: 0 } });
    await world.close();
  });

  it('a warned customer may top up early; one decision pending at a time; a failing payer is recorded', async () => {
    const { world, clock, paid } = small({ customers: { earlyOnWarningShare: 1, delayMinutes: { min: 10, max: 10 }, duplicateShare: 0 } });
    const a = world.accounts[2]!;
    world.notifySms(a.id);
    world.notifySms(a.id); // already paying: no second decision
    await clock.advance(10 * MINUTE);
    expect(paid.map(([, p]) => p.paymentId)).toEqual([`${a.id}-warning-1`]);
    expect(world.payments()[0]).toMatchObject({ trigger: 'warning', at: world.startMs + 10 * MINUTE });
    expect(() => world.notifySms('nobody')).toThrow(RangeError);

    world.setPayer(() => Promise.reject(new Error('HTTP 503')));
    world.notifySms(a.id);
    await clock.advance(10 * MINUTE);
    await world.settled();
    expect(world.payments()[1]).toMatchObject({ paymentId: `${a.id}-warning-3`, error: 'HTTP 503' });
    await world.close();
  });

  it('is deterministic: the same seed gives the same accounts, faults, decisions and payments; another seed does not', async () => {
    const run = async (seed: number) => {
      const { world, clock, master } = small({
        seed,
        meters: 24,
        metersPerBus: 8,
        keepPowerShare: 0.2,
        stickingRelays: 2,
        lossy: { share: 0.34, dropRate: 0.1 },
        slow: { share: 0.2, delayMs: 600 },
        randomOutages: { count: 2, durationMinutes: { min: 10, max: 30 } },
        customers: { topUpProbability: 0.7, duplicateShare: 0.5, earlyOnWarningShare: 0.5 },
      });
      // Trip every meter of the clean channels (one master per channel), warn every account.
      for (const c of world.channels) {
        if (world.faults.lossyChannels.includes(c.id)) continue;
        const m = master(c.id);
        for (const a of world.accounts.filter((x) => x.channelId === c.id)) await control(world, clock, m, a.meterAddress, Trip);
      }
      for (const a of world.accounts) world.notifySms(a.id);
      await clock.advance(2 * 24 * 60 * MINUTE);
      const out = { ...fingerprint(world), payments: world.payments(), history: world.accounts.map((a) => world.relayHistory(a.meterAddress)) };
      await world.close();
      return out;
    };
    const a = await run(6);
    const b = await run(6);
    expect(b).toEqual(a);
    expect(a.payments.length).toBeGreaterThan(5);
    expect(a.payments.some((p) => p.duplicate)).toBe(true);
    expect(a.faults.slowMeters.length).toBeGreaterThan(0);
    expect(a.faults.outages).toHaveLength(2);
    const c = await run(7);
    expect(c.accounts).not.toEqual(a.accounts);
    expect(c.payments).not.toEqual(a.payments);
  });
});

/** Lost frames of the lossy channel in the test above (seed 11, 200 reads): update only if the seeded draws change on purpose. */
const LOSSY_FAILURES = 62;
