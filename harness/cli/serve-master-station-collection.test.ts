/**
 * `meterlab serve master-station` as a complete collecting master station (issue 12), in process on
 * loopback, in real time. The station's clock is the real one shifted to 04:00:50 of the morning
 * after the fixture scenario's first day (suites/collection/fixtures/station-realtime.json: station-bench's
 * 3 concentrators and 29 meters, one uplink down until 04:01), its window 04:00-04:03 with a round
 * every minute (the config's collection.schedule). MeterLab's own side is the collection suite's
 * vendor master-station target (harness/targets/gw1376-station-target.ts), whose concentrators dial
 * `--uplink`: the served station downloads their archives, collects the day, delivers the water
 * readings (msw), and serves its figures at GET /api/v1/collection/export, which the target reads
 * with the API's token; COL-01, COL-02, ROB-09 and ROB-10 are judged against it. Then an account on
 * a `concentrator` channel is tripped and closed through its concentrator (AFN 10 F1), and fails as
 * a channel once the concentrator is gone. With METERLAB_TEST_PG_URL (.ci/run starts a server), the
 * same station on a PostgreSQL server (a schema of its own): the day stored there, COL-01 and COL-02
 * pass by its export, and a restart on the database still exports it. Bad arguments and config:
 * one line, exit 2, nothing created.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { http, HttpResponse } from 'msw';
import pg from 'pg';
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { createMemoryPair } from '../links/memory.ts';
import { Dlt645Master } from '../masters/dlt645-master.ts';
import { Gw1376Station } from '../masters/gw1376-station.ts';
import { createConcentrator } from '../../simulators/concentrator/index.ts';
import { ShiftedClock } from '../targets/gw1376-reference-vendor.ts';
import { parseStationExport } from '../targets/gw1376-station-export.ts';
import { buildCollectionWorld, planConcentrator, readCollectionScenarioFile } from '../../simulators/collection/index.ts';
import { runCases, verdictLines } from '../../suites/framework/case.ts';
import { stationCases } from '../../suites/collection/station-cases.ts';
import { openStationTarget } from '../../suites/collection/station-support.ts';
import { runCli } from './program.ts';
import { parseStationConfig, serveMasterStationCommand } from './serve-master-station.ts';
import { CONCENTRATOR_CHANNEL_TIMEOUT_MS, ConcentratorChannelLink } from './serve-master-station-collection.ts';

const real = new RealClock();
const SCENARIO = fileURLToPath(new URL('../../suites/collection/fixtures/station-realtime.json', import.meta.url));
const DAY = '2026-01-11';
const TOKEN = 'collection-test-token-0123456789';
const TOKEN_ENV = 'METERLAB_TEST_SERVED_EXPORT_TOKEN';
const WATER_URL = 'http://water-utility.test/readings';
const [COL01, COL02, ROB09, ROB10] = ['collection.station-success-rate', 'collection.station-readings-by-deadline', 'collection.station-gap-after-outage', 'collection.station-recollected-once'];

const dir = mkdtempSync(join(tmpdir(), 'meterlab-serve-collection-'));
const delivered: { utility: string; readings: { kind: string; pn: number; day: string }[] }[] = [];
const server = setupServer(
  http.post(WATER_URL, async ({ request }) => {
    if (request.headers.get('authorization') !== 'Bearer water-secret') return new HttpResponse(null, { status: 401 });
    delivered.push((await request.json()) as (typeof delivered)[number]);
    return HttpResponse.json({ ok: true });
  }),
);
beforeAll(() => server.listen({ onUnhandledRequest: 'bypass' }));
afterAll(() => {
  server.close();
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, json: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(json));
  return path;
}

/** The collection suite's profile of the served station as a vendor's: its uplink port, its clock offset, its export read with the API token. */
function servedStationProfile(name: string, api: string, uplink: number, offsetSeconds: number): string {
  return file(`${name}.json`, {
    name,
    device: {
      kind: 'master-station',
      protocol: 'gw1376',
      declaration: {
        collection: { start: '04:00', deadline: '04:03' },
        meters: { scenario: SCENARIO },
        vendor: { clockOffsetSeconds: offsetSeconds, redialSeconds: 2, export: { url: `${api}/api/v1/collection/export`, tokenEnv: TOKEN_ENV } },
      },
    },
    connection: { type: 'tcp', host: '127.0.0.1', port: uplink },
  });
}

/** stdout/stderr of an in-process command, and a wait for a pattern on either. */
function io() {
  const out = new PassThrough();
  const err = new PassThrough();
  let text = '';
  let errText = '';
  out.on('data', (c: Buffer) => (text += c.toString('utf8')));
  err.on('data', (c: Buffer) => (errText += c.toString('utf8')));
  return {
    io: { stdin: Readable.from([]), stdout: out, stderr: err },
    stdout: () => text,
    stderr: () => errText,
    async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
      const end = real.now() + timeoutMs;
      for (;;) {
        const m = re.exec(text) ?? re.exec(errText);
        if (m) return m;
        if (real.now() > end) throw new Error(`no ${re} within ${timeoutMs} ms; stdout:\n${text}\nstderr:\n${errText.slice(-4000)}`);
        await real.sleep(50);
      }
    },
  };
}

async function call(url: string, method: string, path: string, body?: unknown, token = TOKEN): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = real.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (real.now() > end) throw new Error(`timed out waiting for ${what}`);
    await real.sleep(200);
  }
}

describe('meterlab serve master-station: the 1376.1 side', () => {
  it('collects the concentrators that log in on --uplink, serves its figures as the station export (COL-01, COL-02, ROB-09, ROB-10 pass), delivers water readings, and switches a meter through its concentrator', async () => {
    const scenario = readCollectionScenarioFile(SCENARIO);
    const plan = planConcentrator(scenario, 0);
    const point = plan.archive.find((p) => p.protocol === 'dlt645-2007')!;
    const offsetSeconds = Math.round((Date.parse('2026-01-12T04:00:50+08:00') - real.now()) / 1000);
    const config = file('station.json', {
      channels: [{ id: 'c1-rs485', concentrator: { areaCode: plan.address.areaCode, terminal: plan.address.terminal, port: point.port } }],
      collection: {
        concentrators: [1, 2, 3].map((k) => ({ scenario: SCENARIO, concentrator: k })),
        schedule: { start: '04:00', deadline: '04:03', retryMinutes: 1 },
        delivery: { endpoints: [{ utility: 'water-co', kinds: ['water'], url: WATER_URL, tokenEnv: 'METERLAB_TEST_WATER_TOKEN' }] },
      },
    });
    process.env.METERLAB_TEST_WATER_TOKEN = 'water-secret';
    process.env[TOKEN_ENV] = TOKEN;
    const x = io();
    const exit = serveMasterStationCommand({ db: 'memory', port: 0, uplink: '127.0.0.1:0', token: TOKEN, config }, x.io, new ShiftedClock(real, offsetSeconds * 1000));
    const api = (await x.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+) /))[1]!;
    const uplink = /concentrators log in on 127\.0\.0\.1:(\d+) \(Q\/GDW 1376\.1; 3 concentrator\(s\), 29 point\(s\); collection 04:00-04:03 UTC\+8\)/.exec(x.stdout());
    expect(uplink, x.stdout()).not.toBeNull();
    let t: Awaited<ReturnType<typeof openStationTarget>> | undefined;
    try {
      expect((await call(api, 'GET', '/channels')).json.channels).toEqual([{ id: 'c1-rs485', kind: 'concentrator', description: `port ${point.port} of concentrator 3702/1` }]);

      // MeterLab's collection suite, with the served station as the vendor's: its export read with the API token.
      const profile = servedStationProfile('served-station', api, Number(uplink![1]), offsetSeconds);
      t = await openStationTarget(profile);
      const results = await runCases(stationCases, t, [COL01, COL02, ROB09, ROB10]);
      expect(verdictLines(results), x.stderr().slice(-3000)).toEqual([COL01, COL02, ROB09, ROB10].map((id) => `${id}: passed`));
      expect(results[0]!.measurements.map((m) => m.value)).toEqual([100, 100, 100, 100]);
      expect(x.stderr()).toMatch(/meterlab: concentrator station-bench-0001 3702\/1 logged in/);
      // Each concentrator's archive was downloaded at its login and confirmed by it (AFN 04 F10 / F249): every point, once.
      const events = (await call(api, 'GET', '/events?limit=1000')).json.events as { kind: string; detail: { concentrator: string; fn: number; pns: number[] } }[];
      const confirmed = events.filter((ev) => ev.kind === 'archive-confirmed');
      expect(events.filter((ev) => ev.kind === 'archive-denied')).toEqual([]);
      expect(new Set(confirmed.map((ev) => ev.detail.concentrator))).toEqual(new Set(['3702-00001', '3702-00002', '3702-00003']));
      expect(confirmed.flatMap((ev) => ev.detail.pns.map((pn) => `${ev.detail.concentrator}/${pn}`)).sort()).toEqual(
        [0, 1, 2].flatMap((k) => planConcentrator(scenario, k).archive.map((p) => `3702-0000${k + 1}/${p.pn}`)).sort(),
      );

      // The export itself: the day, valid in the format, every point once.
      const day = await call(api, 'GET', `/collection/export?day=${DAY}`);
      expect(day.status).toBe(200);
      const e = parseStationExport(day.json);
      expect(e.successRate.map((d) => [d.day, d.total])).toEqual([[DAY, { due: 29, collected: 29, firstAttempt: expect.any(Number), terminals: 3, offlineTerminals: 0 }]]);
      expect(e.readings).toHaveLength(29);
      expect(new Set(e.readings.map((r) => `${r.terminal}/${r.pn}`)).size).toBe(29);
      const all = parseStationExport((await call(api, 'GET', '/collection/export')).json);
      expect(all.successRate.map((d) => d.day)).toEqual([DAY]);
      expect((await call(api, 'GET', '/collection/export?day=2026-02-30')).json).toEqual({ error: 'bad-request', message: 'Query parameter day must be a date that exists.' });
      expect((await call(api, 'GET', '/collection/export?day=yesterday')).status).toBe(400);
      expect((await call(api, 'GET', '/collection/export', undefined, 'wrong-token')).status).toBe(401);

      // Water readings went to the water utility (msw), each once.
      const water = e.readings.filter((r) => r.kind === 'water').length;
      expect(water).toBeGreaterThan(0);
      await until('the water delivery', async () => (delivered.flatMap((b) => b.readings).length >= water ? true : undefined));
      expect(delivered.flatMap((b) => b.readings).every((r) => r.kind === 'water' && r.day === DAY)).toBe(true);

      // An account on the concentrator channel, opened in arrears: tripped through the concentrator; a top-up closes it.
      const meter = t.concentrators[0]!.world.truth.point(point.pn)!.electricity!;
      expect(meter.model.relay.open).toBe(false);
      const created = await call(api, 'POST', '/accounts', {
        id: 'C1', name: 'C1', phone: '13800000000', meterAddress: point.address, channelId: 'c1-rs485', paymentMode: 'prepaid',
        tariffFenPerKwh: 50, keepPower: null, warningFen: 0, balanceFen: 0, costControlAtOpening: true,
      });
      expect(created.status).toBe(201);
      const jobDone = async (action: string) =>
        until(`the ${action} through the concentrator`, async () => {
          const jobs = (await call(api, 'GET', '/jobs')).json.jobs as { id: number; action: string; state: string; causeLayer: string | null; causeDetail: string | null }[];
          const j = jobs.filter((j) => j.action === action).at(-1);
          return j && j.state !== 'pending' ? j : undefined;
        }, 60_000);
      expect(await jobDone('disconnect')).toMatchObject({ state: 'done', causeLayer: null });
      expect(meter.model.relay.open).toBe(true);
      expect((await call(api, 'GET', '/accounts/C1')).json.relay).toBe('open');
      expect((await call(api, 'POST', '/top-ups', { paymentId: 'PAY-1', accountId: 'C1', amountFen: 5000 })).json.credited).toBe(true);
      expect(await jobDone('reconnect')).toMatchObject({ state: 'done', causeLayer: null });
      expect(meter.model.relay.open).toBe(false);
      expect((await call(api, 'GET', '/accounts/C1')).json.relay).toBe('closed');

      // The concentrators gone: a switching request on the channel fails as a channel (retried), naming the terminal.
      await t.close();
      t = undefined;
      await x.waitFor(/concentrator station-bench-0001 3702\/1 offline/);
      const forced = await call(api, 'POST', '/accounts/C1/force-reconnect', { operator: 'op-1', reason: 'test' });
      expect(forced.status).toBe(202);
      const failed = await until('the offline channel to fail an attempt', async () => {
        const j = (await call(api, 'GET', `/jobs/${forced.json.id}`)).json;
        return j.attempts >= 1 && j.causeLayer ? j : undefined;
      });
      expect(failed).toMatchObject({ causeLayer: 'channel', causeDetail: expect.stringMatching(/concentrator 3702\/1 is not logged in/) });
    } finally {
      await t?.close();
      process.emit('SIGINT');
      expect(await exit).toBe(0);
    }
    expect(x.stderr()).toMatch(/meterlab: master station stopped/);
  }, 120_000);
});

describe('ConcentratorChannelLink', () => {
  it("reads a meter through the terminal's master of the moment: offline is a LinkError, a re-login on a new connection is followed, closed is closed", async () => {
    const s = readCollectionScenarioFile(SCENARIO);
    const clock = new VirtualClock({ start: s.startMs, autoAdvance: false });
    const world = buildCollectionWorld(s, { clock, concentrators: [0] });
    const wc = world.concentrators[0]!;
    const gw = new Gw1376Station({ clock, passwords: [{ ...wc.address, password: wc.password }] });
    let dials = 0;
    const c = createConcentrator({
      clock,
      ports: wc.ports,
      archive: wc.archive,
      address: wc.address,
      password: wc.password,
      connect: async () => {
        dials++;
        const [stationEnd, terminalEnd] = createMemoryPair();
        gw.accept(stationEnd);
        return terminalEnd;
      },
    });
    const point = wc.archive.find((p) => p.protocol === 'dlt645-2007')!;
    const link = new ConcentratorChannelLink('concentrator:test', gw, { ...wc.address, port: point.port });
    const dlt = new Dlt645Master({ link, clock, timeoutMs: CONCENTRATOR_CHANNEL_TIMEOUT_MS, attempts: 2 });
    try {
      // Not logged in yet: the write fails at once, as a channel that cannot be opened.
      await expect(clock.run(dlt.readData(point.address, '00010000'))).rejects.toThrow(/concentrator:test: concentrator 3702\/1 is not logged in/);
      c.start();
      await clock.run(gw.waitForTerminal(wc.address.areaCode, wc.address.terminal, 60_000));
      const first = gw.terminal(wc.address.areaCode, wc.address.terminal)!;
      const r1 = await clock.run(dlt.readData(point.address, '00010000'));
      expect(r1.value).toBeGreaterThan(0);
      // The connection drops; the terminal redials and logs in on a new one: the channel follows it.
      await clock.run(first.link.close());
      await clock.run(clock.sleep(5 * 60_000));
      const second = gw.terminal(wc.address.areaCode, wc.address.terminal);
      expect(second).toBeDefined();
      expect(second).not.toBe(first);
      expect(dials).toBe(2);
      const r2 = await clock.run(dlt.readData(point.address, '00010000'));
      expect(r2.value).toBeGreaterThanOrEqual(r1.value as number);
      await link.close();
      await expect(clock.run(dlt.readData(point.address, '00010000'))).rejects.toThrow(/closed/);
    } finally {
      dlt.dispose();
      await link.close();
      await clock.run(c.stop());
      await gw.close();
      await world.close();
    }
  });
});

const PG_URL = process.env.METERLAB_TEST_PG_URL;

describe('meterlab serve master-station on a PostgreSQL server (the province\'s station, issue 12 "Beyond one machine")', () => {
  it.skipIf(!PG_URL)(
    '--db postgres://…: the day collected from the concentrators is stored on the server, its export passes COL-01 and COL-02, and a restart on the same database keeps it (skipped when METERLAB_TEST_PG_URL is not set: .ci/run starts a server)',
    async () => {
      // A schema of its own on the server (search_path through the URL's libpq options), dropped afterwards.
      const schema = `meterlab_served_${process.pid}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.query(`CREATE SCHEMA ${schema}`);
      const db = `${PG_URL}${PG_URL!.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
      const offsetSeconds = Math.round((Date.parse('2026-01-12T04:00:50+08:00') - real.now()) / 1000);
      const config = file('pg.json', { collection: { concentrators: [1, 2, 3].map((k) => ({ scenario: SCENARIO, concentrator: k })), schedule: { start: '04:00', deadline: '04:03', retryMinutes: 1 } } });
      process.env[TOKEN_ENV] = TOKEN;
      const x = io();
      let exit: Promise<number> | undefined = serveMasterStationCommand({ db, port: 0, uplink: '127.0.0.1:0', token: TOKEN, config }, x.io, new ShiftedClock(real, offsetSeconds * 1000));
      let t: Awaited<ReturnType<typeof openStationTarget>> | undefined;
      try {
        const api = (await x.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+) /))[1]!;
        const uplink = Number(/concentrators log in on 127\.0\.0\.1:(\d+) /.exec(x.stdout())![1]);
        const profile = servedStationProfile('served-station-pg', api, uplink, offsetSeconds);
        t = await openStationTarget(profile);
        const results = await runCases(stationCases, t, [COL01, COL02]);
        expect(verdictLines(results), x.stderr().slice(-3000)).toEqual([`${COL01}: passed`, `${COL02}: passed`]);
        await t.close();
        t = undefined;
        // On the server, in its schema: the day's 29 readings, once each.
        const stored = await admin.query<{ n: string }>(`SELECT count(DISTINCT (concentrator_id, pn))::text AS n FROM ${schema}.meter_reading WHERE day = $1`, [DAY]);
        expect(stored.rows[0]!.n).toBe('29');
        // Stopped and started again on the same database: the day is still there (its export unchanged).
        process.emit('SIGINT');
        expect(await exit).toBe(0);
        exit = undefined;
        const y = io();
        exit = serveMasterStationCommand({ db, port: 0, uplink: '127.0.0.1:0', token: TOKEN, config }, y.io, new ShiftedClock(real, offsetSeconds * 1000));
        const api2 = (await y.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+) /))[1]!;
        const e = parseStationExport((await call(api2, 'GET', `/collection/export?day=${DAY}`)).json);
        expect(e.successRate.map((d) => [d.day, d.total.due, d.total.collected])).toEqual([[DAY, 29, 29]]);
        expect(e.readings).toHaveLength(29);
      } finally {
        await t?.close();
        if (exit) {
          process.emit('SIGINT');
          await exit;
        }
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await admin.end();
      }
    },
    120_000,
  );
});

describe('meterlab serve master-station: a broken served station', () => {
  it('with collection.faults.countRetriedTwice it says so, and the collection suite fails ROB-10 and COL-01 by its export', async () => {
    const offsetSeconds = Math.round((Date.parse('2026-01-12T04:00:50+08:00') - real.now()) / 1000);
    const config = file('broken.json', {
      collection: { concentrators: [1, 2, 3].map((k) => ({ scenario: SCENARIO, concentrator: k })), schedule: { start: '04:00', deadline: '04:03', retryMinutes: 1 }, faults: { countRetriedTwice: true } },
    });
    process.env[TOKEN_ENV] = TOKEN;
    const x = io();
    const exit = serveMasterStationCommand({ db: 'memory', port: 0, uplink: '127.0.0.1:0', token: TOKEN, config }, x.io, new ShiftedClock(real, offsetSeconds * 1000));
    const api = (await x.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+) /))[1]!;
    const uplink = Number(/concentrators log in on 127\.0\.0\.1:(\d+) /.exec(x.stdout())![1]);
    let t: Awaited<ReturnType<typeof openStationTarget>> | undefined;
    try {
      expect(x.stderr()).toContain('meterlab: config collection.faults {"countRetriedTwice":true}: this station is deliberately broken');
      const profile = servedStationProfile('served-broken-station', api, uplink, offsetSeconds);
      t = await openStationTarget(profile);
      const results = await runCases(stationCases, t, [COL01, ROB10]);
      const lines = verdictLines(results).join('\n');
      expect(results.map((r) => r.verdict), lines).toEqual(['failed', 'failed']);
      expect(results[1]!.reason).toMatch(/the station counts \d+ collected of \d+ due for 2026-01-11; \d+ distinct point\(s\) were delivered/);
    } finally {
      await t?.close();
      process.emit('SIGINT');
      expect(await exit).toBe(0);
    }
  }, 120_000);
});

describe('meterlab serve master-station: collection arguments and config', () => {
  async function cli(args: string[]): Promise<{ code: number; stderr: string }> {
    const x = io();
    const code = await runCli(['node', 'meterlab', 'serve', 'master-station', ...args], x.io);
    return { code, stderr: x.stderr() };
  }
  const oneLine = (r: { code: number; stderr: string }): string => {
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    return lines[0]!;
  };
  const inline = { areaCode: '3702', terminal: 1, archive: [{ serial: 1, pn: 1, port: 2, protocol: 'dlt645-2007', address: '000000000001', kind: 'electricity' }] };

  it('refuses a bad --uplink, concentrators without --uplink and --uplink without concentrators: exit 2, one line, no data directory', async () => {
    const data = join(dir, 'never-created');
    const base = ['--db', data, '--port', '0', '--token', TOKEN];
    expect(oneLine(await cli([...base, '--uplink', '127.0.0.1:70000']))).toBe('meterlab: --uplink "127.0.0.1:70000" is not [host:]port with a port 0..65535 (e.g. 127.0.0.1:4000, or 4000)');
    const config = file('no-uplink.json', { collection: { concentrators: [inline] } });
    expect(oneLine(await cli([...base, '--config', config]))).toBe(`meterlab: config ${config}: collection: its concentrators log in to the station's 1376.1 listener: give --uplink [host:]port`);
    expect(oneLine(await cli([...base, '--uplink', '4000']))).toBe('meterlab: --uplink: the station collects from no concentrator: give collection.concentrators in --config');
    expect(existsSync(data)).toBe(false);
  });

  it('an --uplink port in use is exit 3, one line', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const config = file('busy.json', { collection: { concentrators: [inline] } });
      const r = await cli(['--db', 'memory', '--port', '0', '--token', TOKEN, '--uplink', `127.0.0.1:${port}`, '--config', config]);
      expect(r.code).toBe(3);
      expect(r.stderr.trimEnd().split('\n')).toEqual([`meterlab: cannot listen for concentrators on 127.0.0.1:${port}: EADDRINUSE`]);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('names the field of a bad collection or concentrator channel', async () => {
    const bad = async (name: string, json: unknown): Promise<string> => {
      const path = file(name, json);
      return oneLine(await cli(['--db', join(dir, 'never'), '--port', '0', '--token', TOKEN, '--uplink', '0', '--config', path])).replace(path, 'c.json');
    };
    expect(await bad('a.json', { collection: { concentrators: [{ ...inline, archive: [{ ...inline.archive[0], address: '12' }] }] } })).toBe('meterlab: config c.json: collection.concentrators[0].archive[0].address: a DL/T 645 address is 12 digits');
    expect(await bad('b.json', { collection: { concentrators: [inline, inline] } })).toBe('meterlab: config c.json: collection.concentrators[1]: terminal 3702/1 is also collection.concentrators[0]');
    expect(await bad('c.json', { collection: { concentrators: [{ scenario: SCENARIO, concentrator: 4 }] } })).toBe('meterlab: config c.json: collection.concentrators[0].concentrator: 4: the scenario has 3 concentrator(s), 1..3 (station-bench-0001 .. station-bench-0003)');
    expect(await bad('d.json', { collection: { concentrators: [{ scenario: 'no-such-scenario', concentrator: 1 }] } })).toMatch(/^meterlab: config c\.json: collection\.concentrators\[0\]\.scenario: no-such-scenario: no such file, nor a scenario of that name/);
    expect(await bad('e.json', { collection: { concentrators: [{ scenario: 'station-bench', concentrator: 1, archive: [] }] } })).toMatch(/^meterlab: config c\.json: collection\.concentrators\[0\]\.archive: comes from the scenario's plan/);
    expect(await bad('f.json', { collection: { concentrators: [inline], schedule: { start: '12:00', deadline: '04:00' } } })).toBe('meterlab: config c.json: collection.schedule.deadline: must be after schedule.start, the same day');
    expect(await bad('g.json', { channels: [{ id: 'x', concentrator: { areaCode: '3702', terminal: 9, port: 2 } }], collection: { concentrators: [inline] } })).toBe('meterlab: config c.json: channels[0].concentrator: terminal 3702/9 is not in collection.concentrators');
    expect(await bad('h.json', { collection: { concentrators: [inline], delivery: { endpoints: [{ utility: 'w', kinds: ['water'], url: 'http://w.test/', tokenEnv: 'METERLAB_TEST_UNSET_TOKEN_VAR' }] } } })).toBe('meterlab: config c.json: collection.delivery.endpoints[0].tokenEnv: the environment variable METERLAB_TEST_UNSET_TOKEN_VAR is not set');
    expect(await bad('i.json', { collection: { concentrators: [{ ...inline, password: '00' }] } })).toBe('meterlab: config c.json: collection.concentrators[0].password: must be 32 hex digits (16 bytes)');
  });

  it('parses the channel forms: exactly one of tcp, serial, concentrator; a concentrator channel needs the collection', () => {
    const parse = (v: unknown) => () => parseStationConfig(JSON.stringify(v), 'c.json');
    expect(parse({ channels: [{ id: 'a', tcp: 'h:1', concentrator: { areaCode: '3702', terminal: 1, port: 2 } }] })).toThrow(/^config c\.json: channels\[0\]: give exactly one of "tcp", "serial" or "concentrator"$/);
    expect(parse({ channels: [{ id: 'a', concentrator: { areaCode: '3702', terminal: 1, port: 2 } }] })).toThrow(/^config c\.json: channels\[0\]\.concentrator: terminal 3702\/1 is not collected: add it to collection\.concentrators$/);
    expect(parse({ channels: [{ id: 'a', concentrator: { areaCode: '37', terminal: 1, port: 2 } }], collection: { concentrators: [inline] } })).toThrow(/channels\[0\]\.concentrator\.areaCode: must be the A1 area code/);
    expect(parseStationConfig(JSON.stringify({ channels: [{ id: 'a', concentrator: { areaCode: '3702', terminal: 1, port: 2 } }], collection: { concentrators: [inline] } }), 'c.json').collection?.schedule).toEqual({
      start: '04:00', deadline: '12:00', retryMinutes: 30, pointsPerRequest: 32, backfillDays: 2,
    });
  });
});
