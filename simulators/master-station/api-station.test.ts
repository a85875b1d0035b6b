/**
 * The HTTP API over the REAL station (not a double): buildStationApi over a MasterStation on
 * PGlite in memory, with simulated reference meters on an RS-485 bus in virtual time. Everything
 * a test does goes through HTTP (app.inject); the meters' relays are read from the simulators.
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import { Rs485Bus } from '../../harness/links/bus.ts';
import { createElectricityMeter, REFERENCE_METER_PROFILE, type ElectricityMeter } from '../electricity-meter/index.ts';
import { buildStationApi } from './api.ts';
import type { Db } from './db.ts';
import { MasterStation, type MasterStationOptions } from './station.ts';
import { openDatabase } from './storage.ts';

/** 2026-03-02 10:00 local. */
const T0 = fromCalendar({ year: 2026, month: 3, day: 2, hour: 10, minute: 0, second: 0 });
const DAY = 86_400_000;
const LINE = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } as const;
const TOKEN = 'api-station-test-token';

interface Rig {
  clock: VirtualClock;
  db: Db;
  bus: Rs485Bus;
  meters: Map<string, ElectricityMeter>;
  station: MasterStation;
  app: FastifyInstance;
  /** One request, with the token; virtual time stands still while it is in flight. */
  http(method: InjectOptions['method'], url: string, body?: unknown): Promise<{ status: number; json: any }>;
}

const rigs: Rig[] = [];
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.app.close();
    r.station.crash();
    for (const m of r.meters.values()) m.stop();
    await r.bus.close();
    await r.db.close();
  }
});

/** Meters with these addresses on bus "bus-1" (1 kW each), a started station, its API: no channel, no account yet. */
async function rig(addresses: string[], extra: Partial<MasterStationOptions> = {}): Promise<Rig> {
  // No auto-advance: time moves only inside clock.run(clock.sleep(...)), so every request sees a known instant.
  const clock = new VirtualClock({ start: T0, autoAdvance: false });
  const db = await openDatabase('memory');
  const bus = new Rs485Bus({ clock, line: LINE, name: 'bus-1' });
  const adapter = bus.attach('adapter', { line: LINE });
  const meters = new Map<string, ElectricityMeter>();
  for (const address of addresses) {
    const meter = createElectricityMeter({ profile: REFERENCE_METER_PROFILE, address, link: bus.attach(address, { line: LINE }), clock });
    meter.backchannel.setLoad(1);
    meters.set(address, meter);
  }
  const station = new MasterStation({
    db,
    clock,
    links: (c) => (c.id === 'bus-1' ? adapter : undefined),
    sms: { send: async () => undefined },
    remoteControl: { password: { level: 2, value: '000000' }, operator: '00000000' },
    ...extra,
  });
  await clock.run(station.start());
  const app = buildStationApi({ service: station, token: TOKEN });
  const r: Rig = {
    clock,
    db,
    bus,
    meters,
    station,
    app,
    async http(method, url, body) {
      const release = clock.hold();
      try {
        const res = await clock.run(
          app.inject({
            method,
            url,
            headers: { authorization: `Bearer ${TOKEN}` },
            ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}),
          }),
        );
        return { status: res.statusCode, json: res.json() };
      } finally {
        release();
      }
    },
  };
  rigs.push(r);
  return r;
}

function accountBody(n: number, balanceFen: number) {
  return {
    id: `C${n}`,
    name: `customer ${n}`,
    phone: `1380000000${n}`,
    meterAddress: `00000000000${n}`,
    channelId: 'bus-1',
    paymentMode: 'prepaid',
    tariffFenPerKwh: 50, // 0.50 yuan/kWh: 1 kW all day = 1200 fen/day
    keepPower: null,
    warningFen: 0,
    balanceFen,
  };
}

async function setUp(r: Rig, balances: number[]): Promise<void> {
  const ch = await r.http('POST', '/api/v1/channels', { id: 'bus-1', kind: 'rs485', description: 'test bus' });
  expect(ch.status, JSON.stringify(ch.json)).toBe(201);
  for (const [i, b] of balances.entries()) {
    const a = await r.http('POST', '/api/v1/accounts', accountBody(i + 1, b));
    expect(a.status, JSON.stringify(a.json)).toBe(201);
  }
}

const relayOpen = (r: Rig, address: string): boolean => r.meters.get(address)!.backchannel.snapshot().relay.open;

describe('station API over the real station', () => {
  it('a top-up over HTTP reconnects a cut meter, is credited once per paymentId, and a changed amount is a 409 that changes nothing', async () => {
    const r = await rig(['000000000001']);
    await setUp(r, [100]);
    await r.clock.run(r.clock.sleep(2 * DAY)); // baseline reading, then a day's charge: -1100 fen -> cut
    expect(relayOpen(r, '000000000001')).toBe(true);
    expect((await r.http('GET', '/api/v1/accounts/C1')).json).toMatchObject({ balanceFen: -1100, cutReason: 'arrears', relay: 'open' });

    const first = await r.http('POST', '/api/v1/top-ups', { paymentId: 'PAY-1', accountId: 'C1', amountFen: 5000 });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ credited: true, balanceFen: 3900 });
    expect(first.json.reconnectJobId).toEqual(expect.any(Number));
    const again = await r.http('POST', '/api/v1/top-ups', { paymentId: 'PAY-1', accountId: 'C1', amountFen: 5000 });
    expect(again).toEqual({ status: 200, json: { credited: false, balanceFen: 3900, reconnectJobId: null } });

    const eventsBefore = (await r.http('GET', '/api/v1/events?accountId=C1')).json.events;
    const changed = await r.http('POST', '/api/v1/top-ups', { paymentId: 'PAY-1', accountId: 'C1', amountFen: 4000 });
    expect(changed.status).toBe(409);
    expect(changed.json).toMatchObject({ error: 'conflict', message: expect.stringMatching(/PAY-1/) });
    expect((await r.http('GET', '/api/v1/accounts/C1')).json.balanceFen).toBe(3900);
    expect((await r.http('GET', '/api/v1/events?accountId=C1')).json.events).toEqual(eventsBefore);
    expect(eventsBefore.filter((e: { kind: string }) => e.kind === 'top-up')).toHaveLength(1);

    await r.clock.run(r.clock.sleep(60_000));
    expect(relayOpen(r, '000000000001')).toBe(false);
    const job = await r.http('GET', `/api/v1/jobs/${first.json.reconnectJobId}`);
    expect(job.json).toMatchObject({ action: 'reconnect', state: 'done' });
    expect((await r.http('GET', '/api/v1/accounts/C1')).json).toMatchObject({ relay: 'closed', cutReason: null });

    const doc = await r.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    const paths = Object.keys(doc.json().paths).sort();
    expect(paths).toEqual(
      [
        '/api/v1/accounts',
        '/api/v1/accounts/{id}',
        '/api/v1/accounts/{id}/force-reconnect',
        '/api/v1/batches/payment-mode',
        '/api/v1/channels',
        '/api/v1/collection/export',
        '/api/v1/events',
        '/api/v1/jobs',
        '/api/v1/jobs/{id}',
        '/api/v1/top-ups',
        '/api/v1/worklist',
      ].sort(),
    );
  });

  it('worklist, forced reconnection with its audit event, and a batch with an unknown account', async () => {
    const r = await rig(['000000000001', '000000000002'], { switching: { attempts: 2, backoffMs: [30_000] } });
    await setUp(r, [100, 3000]);
    r.meters.get('000000000001')!.model.faults.relayStuck = true;
    await r.clock.run(r.clock.sleep(2 * DAY)); // C1 is charged into arrears; its relay never moves

    const work = await r.http('GET', '/api/v1/worklist');
    expect(work.status).toBe(200);
    expect(work.json.jobs).toHaveLength(1);
    expect(work.json.jobs[0]).toMatchObject({ accountId: 'C1', action: 'disconnect', state: 'failed', causeLayer: 'relay-fault', attempts: 2 });

    const forced = await r.http('POST', '/api/v1/accounts/C2/force-reconnect', { operator: 'op-7', reason: 'hospital visit' });
    expect(forced.status).toBe(202);
    expect(forced.json).toMatchObject({ accountId: 'C2', action: 'reconnect', forced: true, state: 'pending' });
    const audit = (await r.http('GET', '/api/v1/events?accountId=C2')).json.events.filter((e: { kind: string }) => e.kind === 'forced-reconnect');
    expect(audit).toHaveLength(1);
    expect(audit[0].detail).toMatchObject({ jobId: forced.json.id, operator: 'op-7', reason: 'hospital visit' });
    await r.clock.run(r.clock.sleep(60_000));
    expect((await r.http('GET', `/api/v1/jobs/${forced.json.id}`)).json.state).toBe('done');

    const batch = await r.http('POST', '/api/v1/batches/payment-mode', { accountIds: ['C2', 'NOPE'], paymentMode: 'postpaid', operator: 'op-1' });
    expect(batch.status).toBe(200);
    expect(batch.json.summary).toEqual({ ok: 1, failed: 1 });
    expect(batch.json.results.map((x: { accountId: string; ok: boolean; paymentMode: string | null }) => [x.accountId, x.ok, x.paymentMode])).toEqual([
      ['C2', true, 'postpaid'],
      ['NOPE', false, null],
    ]);
    expect(batch.json.results[1].error).toMatch(/NOPE/);
    expect((await r.http('GET', '/api/v1/accounts/C2')).json.paymentMode).toBe('postpaid');
    expect((await r.http('GET', '/api/v1/accounts/C1')).json.paymentMode).toBe('prepaid');
  });
});
