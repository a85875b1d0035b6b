/**
 * The reference master station against simulated reference meters on one RS-485 bus, in virtual
 * time, on PGlite in memory: billing, warnings, disconnection, top-ups, keep-power, failures by
 * layer, forced reconnection, batch payment mode, and a crash with restart.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import type { Link } from '../../harness/links/link.ts';
import { createElectricityMeter, REFERENCE_METER_PROFILE, type ElectricityMeter } from '../electricity-meter/index.ts';
import type { Db } from './db.ts';
import { MasterStation, warningText, type MasterStationOptions, type SmsSender } from './station.ts';
import { BACKENDS, PG_SKIP_REASON, PG_URL, testDatabases } from './test-db.ts';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { HttpSmsGateway } from './sms-gateway.ts';
import { StationRequestError, type AccountInput } from './types.ts';

/** 2026-03-02 10:00 local. */
const T0 = fromCalendar({ year: 2026, month: 3, day: 2, hour: 10, minute: 0, second: 0 });
const DAY = 86_400_000;
const LINE = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } as const;

interface Rig {
  clock: VirtualClock;
  db: Db;
  bus: Rs485Bus;
  adapter: Link;
  meters: Map<string, ElectricityMeter>;
  sms: { to: string; text: string; accountId: string }[];
  station: MasterStation;
  newStation(extra?: Partial<MasterStationOptions>): MasterStation;
}

const rigs: Rig[] = [];
let databases = testDatabases('pglite');
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    r.station.crash();
    for (const m of r.meters.values()) m.stop();
    await r.bus.close();
    await databases.release(r.db);
  }
});

function account(n: number, extra: Partial<AccountInput> = {}): AccountInput {
  return {
    id: `C${n}`,
    name: `customer ${n}`,
    phone: `1380000000${n}`,
    meterAddress: `00000000000${n}`,
    channelId: 'bus-1',
    paymentMode: 'prepaid',
    tariffFenPerKwh: 50, // 0.50 yuan/kWh
    keepPower: null,
    warningFen: 2000,
    balanceFen: 3000,
    ...extra,
  };
}

/** Meters 1..n on one bus, each drawing `kW`, a station with `accounts`, started at T0. */
async function rig(accounts: AccountInput[], kW = 1, extra: Partial<MasterStationOptions> = {}): Promise<Rig> {
  // No background auto-advance: time moves only inside clock.run(), which waits for the database (held)
  // and so never jumps between two steps of a test while a server query is on the wire.
  const clock = new VirtualClock({ start: T0, autoAdvance: false });
  const db = await databases.fresh();
  const bus = new Rs485Bus({ clock, line: LINE, name: 'bus-1' });
  const adapter = bus.attach('adapter', { line: LINE });
  const meters = new Map<string, ElectricityMeter>();
  for (const a of accounts) {
    const node = bus.attach(a.meterAddress, { line: LINE });
    const meter = createElectricityMeter({ profile: REFERENCE_METER_PROFILE, address: a.meterAddress, link: node, clock });
    meter.backchannel.setLoad(kW);
    meters.set(a.meterAddress, meter);
  }
  const sms: Rig['sms'] = [];
  const sender: SmsSender = { send: async (m) => void sms.push(m) };
  const options = (more: Partial<MasterStationOptions> = {}): MasterStationOptions => ({
    db,
    clock,
    links: (c) => (c.id === 'bus-1' ? adapter : undefined),
    sms: sender,
    remoteControl: { password: { level: 2, value: '000000' }, operator: '00000000' },
    ...extra,
    ...more,
  });
  const station = new MasterStation(options());
  const r: Rig = {
    clock,
    db,
    bus,
    adapter,
    meters,
    sms,
    station,
    newStation: (more) => {
      r.station = new MasterStation(options(more));
      return r.station;
    },
  };
  rigs.push(r);
  await clock.run(async () => {
    await station.addChannel({ id: 'bus-1', kind: 'rs485', description: 'test bus' });
    for (const a of accounts) await station.createAccount(a);
    await station.start();
  });
  return r;
}

const relayOpen = (r: Rig, address: string) => r.meters.get(address)!.backchannel.snapshot().relay.open;

describe.each(BACKENDS)('master station on %s', (backend) => {
  const mine = testDatabases(backend);
  beforeAll(() => {
    databases = mine;
  });
  afterAll(() => mine.closeAll());

  it('bills each day from the daily freeze, warns once at the threshold, and disconnects on arrears', async () => {
    // 1 kW all day = 24 kWh/day = 1200 fen/day; 3000 fen: warned after day 1 (1800 <= 2000), cut after day 3.
    const r = await rig([account(1)]);
    await r.clock.run(r.clock.sleep(4 * DAY));
    const a = await r.clock.run(r.station.getAccount('C1'));
    // First billing (03-03 01:00) is the baseline; charges on 03-04, 03-05 and 03-06.
    expect(a.balanceFen).toBe(3000 - 3 * 1200);
    expect(r.sms).toHaveLength(1);
    expect(r.sms[0]).toEqual({ to: '13800000001', accountId: 'C1', reference: 'sms-1', text: warningText({ id: 'C1', balanceFen: 1800, warningFen: 2000 }) });
    expect(a.cutReason).toBe('arrears');
    expect(a.relay).toBe('open');
    expect(relayOpen(r, '000000000001')).toBe(true);
    const jobs = await r.clock.run(r.station.jobs('C1'));
    expect(jobs.map((j) => [j.action, j.state])).toEqual([['disconnect', 'done']]);
  });

  it('sends the warning over HTTP to the SMS gateway, and retries it after the gateway failed', async () => {
    // The station's real outbound path (HttpSmsGateway, fetch) against msw: first a 503, then accepted.
    const GATEWAY = 'http://sms.gateway.test/send';
    const received: unknown[] = [];
    let failNext = true;
    const server = setupServer(
      http.post(GATEWAY, async ({ request }) => {
        if (failNext) {
          failNext = false;
          return new HttpResponse('busy', { status: 503 });
        }
        received.push(await request.json());
        return HttpResponse.json({ ok: true });
      }),
    );
    server.listen({ onUnhandledRequest: 'error' });
    try {
      const r = await rig([account(1)], 1, { sms: new HttpSmsGateway({ url: GATEWAY }) });
      await r.clock.run(r.clock.sleep(2 * DAY + 3_600_000)); // the warning at 03-04 01:00, its retry a minute later
      expect(received).toEqual([{ to: '13800000001', text: warningText({ id: 'C1', balanceFen: 1800, warningFen: 2000 }), reference: 'sms-1' }]);
      const kinds = (await r.clock.run(r.station.events({ accountId: 'C1' }))).map((e) => e.kind);
      expect(kinds.filter((k) => k.startsWith('sms-'))).toEqual(['sms-queued', 'sms-failed', 'sms-sent']);
    } finally {
      server.close();
    }
  });

  it('reconnects after a top-up, confirmed through status word 3, and credits a repeated payment id once', async () => {
    const r = await rig([account(1, { balanceFen: 100 })]);
    await r.clock.run(r.clock.sleep(2 * DAY)); // baseline, then a charge: -1100 fen -> cut
    expect(relayOpen(r, '000000000001')).toBe(true);
    const paid = r.clock.now();
    const first = await r.clock.run(r.station.topUp({ paymentId: 'P-1', accountId: 'C1', amountFen: 5000 }));
    const again = await r.clock.run(r.station.topUp({ paymentId: 'P-1', accountId: 'C1', amountFen: 5000 }));
    expect(first.credited).toBe(true);
    expect(first.reconnectJobId).not.toBeNull();
    expect(again).toEqual({ credited: false, balanceFen: first.balanceFen, reconnectJobId: null });
    await r.clock.run(r.clock.sleep(60_000));
    expect(relayOpen(r, '000000000001')).toBe(false);
    const job = await r.clock.run(r.station.getJob(first.reconnectJobId!));
    expect(job.state).toBe('done');
    expect(job.finishedAt! - paid).toBeLessThan(15 * 60_000);
    await expect(r.clock.run(r.station.topUp({ paymentId: 'P-1', accountId: 'C1', amountFen: 4000 }))).rejects.toThrow(StationRequestError);
    expect((await r.clock.run(r.station.getAccount('C1'))).balanceFen).toBe(first.balanceFen);
  });

  it('never trips a keep-power account, whatever its balance (KP-06)', async () => {
    const r = await rig([account(1, { balanceFen: 0, keepPower: 'holiday' })]);
    await r.clock.run(r.clock.sleep(3 * DAY));
    const a = await r.clock.run(r.station.getAccount('C1'));
    expect(a.balanceFen).toBeLessThan(0);
    expect(relayOpen(r, '000000000001')).toBe(false);
    expect(await r.clock.run(r.station.jobs('C1'))).toEqual([]);
    const kinds = (await r.clock.run(r.station.events({ accountId: 'C1' }))).map((e) => e.kind);
    expect(kinds).toContain('arrears-keep-power');
  });

  it('the broken variant that ignores keep-power does trip it', async () => {
    const r = await rig([account(1, { balanceFen: 0, keepPower: 'holiday' })], 1, { faults: { ignoreKeepPower: true } });
    await r.clock.run(r.clock.sleep(2 * DAY));
    expect(relayOpen(r, '000000000001')).toBe(true);
  });

  it('decides on an opening balance at once when asked (costControlAtOpening): cuts arrears, never keep-power, and lists every job', async () => {
    const r = await rig([
      account(1, { balanceFen: -500, costControlAtOpening: true }),
      account(2, { balanceFen: -500, keepPower: 'master', costControlAtOpening: true }),
      account(3, { balanceFen: -500 }),
      account(4, { balanceFen: 100, costControlAtOpening: true }),
    ]);
    // Minutes, not a billing run: the decision was taken when the accounts were created.
    await r.clock.run(r.clock.sleep(60_000));
    expect(['000000000001', '000000000002', '000000000003', '000000000004'].map((m) => relayOpen(r, m))).toEqual([true, false, false, false]);
    expect((await r.clock.run(r.station.getAccount('C1'))).cutReason).toBe('arrears');
    expect((await r.clock.run(r.station.getAccount('C3'))).cutReason).toBeNull();
    const kinds = (await r.clock.run(r.station.events({ accountId: 'C2' }))).map((e) => e.kind);
    expect(kinds).toContain('arrears-keep-power');
    const jobs = await r.clock.run(r.station.listJobs());
    expect(jobs.map((j) => [j.accountId, j.action, j.state])).toEqual([['C1', 'disconnect', 'done']]);
    expect(await r.clock.run(r.station.listJobs({ afterId: jobs[0]!.id }))).toEqual([]);
    // A top-up that clears the arrears reconnects it.
    await r.clock.run(r.station.topUp({ paymentId: 'P1', accountId: 'C1', amountFen: 2000 }));
    await r.clock.run(r.clock.sleep(60_000));
    expect(relayOpen(r, '000000000001')).toBe(false);
  });

  it('the broken variant that ignores keep-power trips a keep-power account opened in arrears', async () => {
    const r = await rig([account(1, { balanceFen: -500, keepPower: 'master', costControlAtOpening: true })], 1, { faults: { ignoreKeepPower: true } });
    await r.clock.run(r.clock.sleep(60_000));
    expect(relayOpen(r, '000000000001')).toBe(true);
  });

  it('puts a relay that never moves on the worklist as a relay fault, and a silent meter as a channel failure', async () => {
    const r = await rig([account(1, { balanceFen: 100 }), account(2, { balanceFen: 100 })], 1, { switching: { attempts: 2, backoffMs: [30_000] } });
    r.meters.get('000000000001')!.model.faults.relayStuck = true;
    await r.clock.run(r.clock.sleep(DAY + 12 * 3_600_000)); // baseline read at 03-03 01:00
    r.meters.get('000000000002')!.stop(); // then meter 2 goes silent
    await r.clock.run(r.clock.sleep(DAY));
    const work = await r.clock.run(r.station.worklist());
    const byAccount = Object.fromEntries(work.map((j) => [j.accountId, j]));
    expect(byAccount.C1).toMatchObject({ action: 'disconnect', state: 'failed', causeLayer: 'relay-fault', attempts: 2 });
    // Meter 2 was never read for the day, so it was never charged nor cut: nothing on the worklist.
    expect(byAccount.C2).toBeUndefined();
    const events = await r.clock.run(r.station.events({ accountId: 'C2' }));
    expect(events.some((e) => e.kind === 'reading-failed')).toBe(true);
  });

  it('classifies a refused command as a meter refusal (wrong password)', async () => {
    const r = await rig([account(1, { balanceFen: 100 })], 1, { remoteControl: { password: { level: 2, value: '999999' }, operator: '00000000' } });
    await r.clock.run(r.clock.sleep(2 * DAY));
    const [job] = await r.clock.run(r.station.worklist());
    expect(job).toMatchObject({ accountId: 'C1', causeLayer: 'meter-refusal', attempts: 1 });
    expect(relayOpen(r, '000000000001')).toBe(false);
  });

  it('forces a reconnection with a negative balance, and audits who did it', async () => {
    const r = await rig([account(1, { balanceFen: 100 })]);
    await r.clock.run(r.clock.sleep(2 * DAY));
    expect(relayOpen(r, '000000000001')).toBe(true);
    const job = await r.clock.run(r.station.forceReconnect({ accountId: 'C1', operator: 'op-7', reason: 'hospital visit' }));
    await r.clock.run(r.clock.sleep(60_000));
    expect(relayOpen(r, '000000000001')).toBe(false);
    expect((await r.clock.run(r.station.getJob(job.id))).state).toBe('done');
    const audit = (await r.clock.run(r.station.events({ accountId: 'C1' }))).find((e) => e.kind === 'forced-reconnect');
    expect(audit?.detail).toMatchObject({ operator: 'op-7', reason: 'hospital visit' });
    await expect(r.clock.run(r.station.forceReconnect({ accountId: 'C1', operator: ' ', reason: 'x' }))).rejects.toThrow(/operator/);
  });

  it('changes the payment mode per account and reports an unknown account without hiding it (FEE-18)', async () => {
    const r = await rig([account(1, { balanceFen: 100 }), account(2)]);
    await r.clock.run(r.clock.sleep(2 * DAY));
    expect(relayOpen(r, '000000000001')).toBe(true);
    const results = await r.clock.run(r.station.batchPaymentMode({ accountIds: ['C1', 'NOPE', 'C2'], paymentMode: 'postpaid', operator: 'op-1' }));
    expect(results.map((x) => [x.accountId, x.ok, x.paymentMode])).toEqual([
      ['C1', true, 'postpaid'],
      ['NOPE', false, null],
      ['C2', true, 'postpaid'],
    ]);
    expect(results[1]!.error).toMatch(/no account NOPE/);
    await r.clock.run(r.clock.sleep(60_000));
    expect(relayOpen(r, '000000000001')).toBe(false); // postpaid: no longer kept cut
  });

  it('loses no top-up across a crash: the restarted station reconnects from the durable job', async () => {
    const r = await rig([account(1, { balanceFen: 100 })]);
    await r.clock.run(r.clock.sleep(2 * DAY));
    expect(relayOpen(r, '000000000001')).toBe(true);
    const meter = r.meters.get('000000000001')!;
    meter.stop(); // the link to the meter is down: the reconnection cannot complete yet
    const t = await r.clock.run(r.station.topUp({ paymentId: 'P-9', accountId: 'C1', amountFen: 5000 }));
    await r.clock.run(r.clock.sleep(10_000)); // the first attempt fails: no reply
    r.station.crash();
    await r.clock.run(r.clock.sleep(60_000)); // whatever the dead station had on the wire is gone
    meter.server.start(); // the link comes back while the station is down
    const pending = await r.clock.run(r.newStation().jobs());
    expect(pending.find((j) => j.id === t.reconnectJobId)).toMatchObject({ state: 'pending', causeLayer: 'channel' });
    expect(relayOpen(r, '000000000001')).toBe(true);
    const again = r.newStation();
    await r.clock.run(again.start());
    await r.clock.run(r.clock.sleep(60_000));
    expect(relayOpen(r, '000000000001')).toBe(false);
    expect((await r.clock.run(again.getJob(t.reconnectJobId!))).state).toBe('done');
    expect((await r.clock.run(again.getAccount('C1'))).balanceFen).toBe(100 - 1200 + 5000);
  });

  it('the broken variant with volatile top-ups forgets one across a crash', async () => {
    const r = await rig([account(1, { balanceFen: 100 })], 1, { faults: { volatileTopUps: true } });
    await r.clock.run(r.clock.sleep(2 * DAY));
    await r.clock.run(r.station.topUp({ paymentId: 'P-9', accountId: 'C1', amountFen: 5000 }));
    r.station.crash();
    const again = r.newStation({ faults: { volatileTopUps: true } });
    await r.clock.run(again.start());
    expect((await r.clock.run(again.getAccount('C1'))).balanceFen).toBe(100 - 1200);
  });

  it('rejects bad requests and changes nothing', async () => {
    const r = await rig([account(1)]);
    await expect(r.clock.run(r.station.topUp({ paymentId: 'X', accountId: 'C1', amountFen: -5 }))).rejects.toThrow(/amountFen/);
    await expect(r.clock.run(r.station.topUp({ paymentId: 'X', accountId: 'NOPE', amountFen: 5 }))).rejects.toMatchObject({ code: 'not-found' });
    await expect(r.clock.run(r.station.createAccount(account(1)))).rejects.toMatchObject({ code: 'conflict' });
    await expect(r.clock.run(r.station.createAccount(account(3, { channelId: 'nowhere' })))).rejects.toThrow(/no such channel/);
    expect((await r.clock.run(r.station.getAccount('C1'))).balanceFen).toBe(3000);
    expect(await r.clock.run(r.station.listAccounts())).toHaveLength(1);
  });
});

if (PG_URL === undefined) it.skip(`master station on a PostgreSQL server (skipped: ${PG_SKIP_REASON})`, () => {});
