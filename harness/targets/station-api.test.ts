/**
 * A vendor's station as the system under test (system.type "station-api"), end to end in real
 * time: the "vendor" is MeterLab's own reference station run as a separate process (`meterlab
 * serve master-station`, RealClock, PGlite in memory), its channels dialling the TCP ports this
 * run serves the simulated buses on, its SMS posted to the gateway this run listens on, its
 * accounts loaded through its API from the list `stationApiAccounts` gives. The scenario
 * (suites/switching/scenarios/realtime-6.json) starts accounts in arrears, so disconnections and
 * reconnections happen within seconds.
 *
 * - the sound station passes every case a 30-second run can judge; the SMS case is inconclusive
 *   (no billing, so no balance crosses a warning amount) and the restart case not applicable;
 * - the station started with faults (keep-power ignored, a repeated payment credited again)
 *   fails keep-power and top-up-once;
 * - a wrong token, an unreachable URL, a missing token variable: one clear StationApiError
 *   before anything is served, and an error verdict in the cases;
 * - an export the vendor does not offer leaves the cases that need it inconclusive, naming it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { runCases } from '../../suites/framework/case.ts';
import { systemCases, useSystemRun } from '../../suites/switching/system-cases.ts';
import { parseTargetProfile, type StationApiDeclaration, type TargetProfile } from './profile.ts';
import { runStationApiSystem, StationApiError, stationApiAccounts, vendorAccountsCsv, fillTemplate, type VendorAccount } from './station-api.ts';
import type { SystemRun } from './system.ts';
import type { Target } from './target.ts';

const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin', 'meterlab.js');
const clock = new RealClock();
const TOKEN = 'vendor-test-token-0123456789';
const TOKEN_ENV = 'METERLAB_TEST_VENDOR_TOKEN';
/** Long enough for the last customer (paying at most 15 s after the start, and again 3 s later) to be reconnected with margin. */
const RUN_SECONDS = 30;
const children: ChildProcessWithoutNullStreams[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Free loopback ports (asked of the kernel, then released for the processes that take them). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((ok) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => ok(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

interface Vendor {
  url: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** The reference station as a vendor's process: channels dialling `ports`, SMS to `smsPort`, optional faults. */
async function startVendor(ports: { bus00: number; bus01: number; sms: number }, faults?: Record<string, unknown>): Promise<Vendor> {
  const dir = mkdtempSync(join(tmpdir(), 'meterlab-vendor-'));
  dirs.push(dir);
  const config = join(dir, 'station.json');
  writeFileSync(config, JSON.stringify({ channels: [{ id: 'bus00', tcp: `127.0.0.1:${ports.bus00}` }, { id: 'bus01', tcp: `127.0.0.1:${ports.bus01}` }], ...(faults ? { faults } : {}) }));
  const env: NodeJS.ProcessEnv = { ...process.env, METERLAB_STATION_TOKEN: TOKEN };
  delete env.METERLAB_DEBUG;
  const args = ['serve', 'master-station', '--db', 'memory', '--port', '0', '--config', config, '--sms-url', `http://127.0.0.1:${ports.sms}/sms`];
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const exited = new Promise<void>((ok) => child.on('close', () => ok()));
  const url = await new Promise<string>((ok, fail) => {
    const timer = clock.setTimeout(() => fail(new Error(`the vendor did not listen within 60 s; stderr:\n${err}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(out);
      if (m) {
        clock.clearTimeout(timer);
        ok(m[1]!);
      }
    });
    void exited.then(() => fail(new Error(`the vendor exited before listening; stderr:\n${err}`)));
  });
  return {
    url,
    stderr: () => err,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The profile a utility would write for this vendor (the template suites/profiles/example-station-api.json, filled in). */
function vendorProfile(url: string, ports: { bus00: number; bus01: number; sms: number }, override: Partial<Record<string, unknown>> = {}): TargetProfile {
  return parseTargetProfile(
    {
      name: 'vendor-under-test',
      connection: { type: 'reference', transport: 'memory' },
      system: {
        type: 'station-api',
        scenario: 'realtime-6',
        durationSeconds: RUN_SECONDS,
        api: { baseUrl: url, auth: { type: 'bearer', tokenEnv: TOKEN_ENV } },
        topUp: {
          method: 'POST',
          path: '/api/v1/top-ups',
          body: { paymentId: '{{paymentId}}', accountId: '{{accountId}}', amountFen: '{{amountFen}}' },
          response: { credited: 'credited', balanceFen: 'balanceFen' },
          retrySeconds: 2,
        },
        exports: {
          accounts: { path: '/api/v1/accounts', items: 'accounts', paging: 'offset-limit', pageSize: 1000 },
          jobs: { path: '/api/v1/jobs', items: 'jobs', paging: 'after-id', pageSize: 1000 },
          events: { path: '/api/v1/events', items: 'events', paging: 'after-id', pageSize: 1000 },
          worklist: { path: '/api/v1/worklist', items: 'jobs' },
        },
        channels: { host: '127.0.0.1', ports: { bus00: ports.bus00, bus01: ports.bus01 } },
        sms: { host: '127.0.0.1', port: ports.sms },
        ...override,
      },
    },
    { source: 'inline' },
  );
}

/** The vendor's import: every account through its API, those in arrears with the station's decision taken at once. */
async function importAccounts(url: string, accounts: readonly VendorAccount[]): Promise<void> {
  for (const { startState, ...a } of accounts) {
    const res = await fetch(`${url}/api/v1/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...a, costControlAtOpening: startState !== 'normal' }),
    });
    if (res.status !== 201) throw new Error(`import of ${a.id}: ${res.status} ${await res.text()}`);
  }
}

async function runAgainst(vendor: Vendor, ports: { bus00: number; bus01: number; sms: number }): Promise<{ profile: TargetProfile; run: SystemRun }> {
  const profile = vendorProfile(vendor.url, ports);
  const run = await runStationApiSystem({
    system: profile.system as StationApiDeclaration,
    env: { [TOKEN_ENV]: TOKEN },
    ready: ({ accounts }) => importAccounts(vendor.url, accounts),
  });
  return { profile, run };
}

async function judge(profile: TargetProfile, run: SystemRun) {
  const t = { profile } as unknown as Target;
  useSystemRun(t, run);
  const results = await runCases(systemCases, t);
  return (id: string) => results.find((r) => r.id === `switching.${id}`)!;
}

describe('a vendor station over its API in real time (the reference station as a separate process)', () => {
  let ports: { bus00: number; bus01: number; sms: number };
  let sound: Vendor;
  let soundRun: { profile: TargetProfile; run: SystemRun };

  beforeAll(async () => {
    const [bus00, bus01, sms] = await freePorts(3);
    ports = { bus00: bus00!, bus01: bus01!, sms: sms! };
    sound = await startVendor(ports);
    soundRun = await runAgainst(sound, ports);
    await sound.stop();
  }, 120_000);

  it('the sound station passes every case the short run can judge, from relay truth and its exports', async () => {
    const { profile, run } = soundRun;
    expect(run.time).toBe('real');
    expect(run.endMs - run.startMs).toBe(RUN_SECONDS * 1000);
    expect(run.unavailable).toEqual({});
    // What happened: 2 cut + 2 cut by the station, each reconnected after its top-up; the keep-power meter never moved.
    const s = stationApiAccounts(profile.system!.scenario).accounts;
    const byState = (st: string) => s.filter((a) => a.startState === st);
    for (const a of [...byState('cut'), ...byState('due')]) {
      const moves = run.relay.get(a.meterAddress)!.map((c) => c.open);
      expect(moves, a.id).toEqual([true, false]);
    }
    expect(run.relay.get(byState('keep-power')[0]!.meterAddress)).toEqual([]);
    expect(run.payments.filter((p) => p.duplicate).length).toBeGreaterThan(0);
    const verdict = await judge(profile, run);
    for (const id of ['system-reconnect-latency', 'system-switch-success', 'system-keep-power', 'system-top-up-once', 'system-failure-causes']) {
      expect(verdict(id).verdict, `${id}: ${verdict(id).reason}`).toBe('passed');
    }
    expect(verdict('system-reconnect-latency').measurements.find((m) => m.name === 'reconnections measured')!.value).toBe(4);
    expect(verdict('system-switch-success').measurements.map((m) => [m.name, m.value])).toEqual([['disconnect success', 100], ['reconnect success', 100]]);
    expect(verdict('system-warning-sms').verdict).toBe('inconclusive');
    expect(verdict('system-warning-sms').reason).toMatch(/no balance reached its warning amount/);
    expect(verdict('system-restart').verdict).toBe('notApplicable');
    expect(verdict('system-restart').reason).toMatch(/station-api/);
  });

  it('a station that ignores keep-power and credits a repeated payment again fails keep-power and top-up-once', async () => {
    const broken = await startVendor(ports, { ignoreKeepPower: true, creditDuplicates: true });
    try {
      const { profile, run } = await runAgainst(broken, ports);
      const verdict = await judge(profile, run);
      expect(verdict('system-keep-power').verdict).toBe('failed');
      expect(verdict('system-keep-power').reason).toMatch(/1 keep-power customer\(s\) had their power cut/);
      expect(verdict('system-top-up-once').verdict).toBe('failed');
      expect(verdict('system-top-up-once').reason).toMatch(/repeated send\(s\) answered "credited" again/);
      expect(verdict('system-reconnect-latency').verdict).toBe('passed');
    } finally {
      await broken.stop();
    }
  }, 120_000);

  it('a missing export leaves the cases that need it inconclusive, naming the profile field, never passed', async () => {
    const { profile, run } = soundRun;
    const edited: SystemRun = {
      ...run,
      jobs: [],
      worklist: [],
      events: [],
      unavailable: {
        jobs: "the vendor's system exports no switching jobs (system.exports.jobs not declared)",
        worklist: "the vendor's system exports no worklist (system.exports.worklist not declared)",
        events: "the vendor's system exports no events (system.exports.events not declared)",
      },
    };
    const verdict = await judge(profile, edited);
    for (const [id, field] of [['system-switch-success', 'jobs'], ['system-failure-causes', 'worklist'], ['system-warning-sms', 'events'], ['system-top-up-once', 'events']] as const) {
      expect(verdict(id).verdict, id).toBe('inconclusive');
      expect(verdict(id).reason).toContain(`system.exports.${field} not declared`);
    }
    // Judged from the meters and the payments alone.
    expect(verdict('system-reconnect-latency').verdict).toBe('passed');
    expect(verdict('system-keep-power').verdict).toBe('passed');
  });

  it("judges the vendor's job times against the relays within 10 s of clock skew, not more", async () => {
    const { profile, run } = soundRun;
    const shifted = (ms: number): SystemRun => ({ ...run, jobs: run.jobs.map((j) => ({ ...j, finishedAt: j.finishedAt === null ? null : j.finishedAt + ms })) });
    expect((await judge(profile, shifted(-3000)))('system-switch-success').verdict).toBe('passed');
    const far = (await judge(profile, shifted(-30_000)))('system-switch-success');
    expect(far.verdict).toBe('failed');
    expect(far.reason).toMatch(/reported done at .* but the relay was closed/);
    // In virtual time (the reference's own clock) there is no skew to allow.
    expect((await judge(profile, { ...shifted(-3000), time: 'virtual' }))('system-switch-success').verdict).toBe('failed');
  });

  it('a wrong token, an unreachable API or a missing token variable is one clear error, before anything is served', async () => {
    const vendor = await startVendor(ports);
    try {
      const system = vendorProfile(vendor.url, ports).system as StationApiDeclaration;
      await expect(runStationApiSystem({ system, env: { [TOKEN_ENV]: 'not-the-token' } })).rejects.toThrow(
        new StationApiError(`the vendor's API refused MeterLab's credentials (401 to GET ${vendor.url}/api/v1/top-ups): check the token in ${TOKEN_ENV} (system.api.auth)`),
      );
      await expect(runStationApiSystem({ system, env: {} })).rejects.toThrow(/system\.api\.auth: the environment variable METERLAB_TEST_VENDOR_TOKEN is not set/);
      const badPath = vendorProfile(vendor.url, ports, { exports: { jobs: { path: '/api/v2/jobs', items: 'jobs' } } }).system as StationApiDeclaration;
      await expect(runStationApiSystem({ system: badPath, env: { [TOKEN_ENV]: TOKEN } })).rejects.toThrow(/the vendor's jobs export answered 404 to GET .*\/api\/v2\/jobs: check system\.exports\.jobs\.path/);
      // Nothing was left serving: the ports are free for the next run.
      expect(await freePortsAre([ports.bus00, ports.bus01, ports.sms])).toBe(true);
      // A channel port already taken: named, and the other port closed again.
      const squatter = createServer();
      await new Promise<void>((ok) => squatter.listen(ports.bus01, '127.0.0.1', () => ok()));
      try {
        await expect(runStationApiSystem({ system, env: { [TOKEN_ENV]: TOKEN } })).rejects.toThrow(new RegExp(`cannot serve channel bus01 on 127\\.0\\.0\\.1:${ports.bus01}: .*EADDRINUSE.*\\(system\\.channels\\)`));
      } finally {
        await new Promise((ok) => squatter.close(ok));
      }
      expect(await freePortsAre([ports.bus00, ports.sms])).toBe(true);
    } finally {
      await vendor.stop();
    }
    const [closed] = await freePorts(1);
    const gone = vendorProfile(`http://127.0.0.1:${closed}`, ports).system as StationApiDeclaration;
    await expect(runStationApiSystem({ system: gone, env: { [TOKEN_ENV]: TOKEN } })).rejects.toThrow(/cannot reach the vendor's top-up API at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/top-ups: ECONNREFUSED/);
    // Through the cases: an error verdict with the same line, not a crash.
    process.env[TOKEN_ENV] = 'not-the-token';
    try {
      const t = { profile: vendorProfile(`http://127.0.0.1:${closed}`, ports) } as unknown as Target;
      const results = await runCases(systemCases, t);
      // One error verdict, the other cases inconclusive pointing to it (restart does not apply).
      expect(results.map((r) => r.verdict)).toEqual(['error', 'inconclusive', 'inconclusive', 'inconclusive', 'inconclusive', 'notApplicable', 'inconclusive']);
      expect(results[0]!.reason).toMatch(/^StationApiError: cannot reach the vendor's top-up API at http:\/\/127\.0\.0\.1:\d+\/api\/v1\/top-ups: ECONNREFUSED/);
      expect(results[1]!.reason).toMatch(/^the scenario could not be run: StationApiError: cannot reach .* \(the error verdict of switching\.system-reconnect-latency\)$/);
    } finally {
      delete process.env[TOKEN_ENV];
    }
  }, 120_000);
});

async function freePortsAre(ports: number[]): Promise<boolean> {
  for (const port of ports) {
    const ok = await new Promise<boolean>((done) => {
      const s = createServer();
      s.once('error', () => done(false));
      s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
    });
    if (!ok) return false;
  }
  return true;
}

describe('station-api profile and helpers', () => {
  it('fills the top-up template: a whole-string placeholder keeps its type, one inside text becomes text', () => {
    const values = { paymentId: 'P-1', accountId: 'A1', meterAddress: '000000000001', amountFen: 1234, amountYuan: 12.34 };
    expect(fillTemplate({ pay: { id: '{{paymentId}}', fen: '{{amountFen}}', yuan: '{{amountYuan}}' }, memo: 'meter {{meterAddress}}', list: ['{{accountId}}'], n: 1 }, values)).toEqual({
      pay: { id: 'P-1', fen: 1234, yuan: 12.34 },
      memo: 'meter 000000000001',
      list: ['A1'],
      n: 1,
    });
  });

  it('writes the account list a vendor imports, deterministic from the seed', () => {
    const profile = vendorProfile('http://127.0.0.1:1', { bus00: 40001, bus01: 40002, sms: 40003 });
    const { accounts, channels } = stationApiAccounts(profile.system!.scenario);
    expect(channels).toEqual(['bus00', 'bus01']);
    expect(accounts.map((a) => a.startState).sort()).toEqual(['cut', 'cut', 'due', 'due', 'keep-power', 'normal']);
    const csv = vendorAccountsCsv(accounts).trim().split('\n');
    expect(csv[0]).toBe('accountId,name,phone,meterAddress,channelId,paymentMode,tariffFenPerKwh,keepPower,warningFen,balanceFen,balanceYuan,startState,relayAtStart');
    expect(csv).toHaveLength(7);
    expect(csv.filter((l) => l.endsWith(',cut,open'))).toHaveLength(2);
    expect(vendorAccountsCsv(stationApiAccounts(profile.system!.scenario).accounts)).toBe(vendorAccountsCsv(accounts));
  });

  it('refuses a profile that misses a channel port, shares a port, or names a secret instead of a variable', () => {
    const base = (system: Record<string, unknown>) => () =>
      parseTargetProfile({
        name: 'v',
        connection: { type: 'reference', transport: 'memory' },
        system: {
          type: 'station-api',
          scenario: 'realtime-6',
          durationSeconds: 30,
          api: { baseUrl: 'http://127.0.0.1:8645', auth: { type: 'bearer', tokenEnv: 'VENDOR_TOKEN' } },
          topUp: { path: '/top-ups', body: { id: '{{paymentId}}', account: '{{accountId}}', fen: '{{amountFen}}' } },
          channels: { ports: { bus00: 4001, bus01: 4002 } },
          sms: { port: 9100 },
          ...system,
        },
      });
    expect(base({})).not.toThrow();
    expect(base({ channels: { ports: { bus00: 4001 } } })).toThrow(/system\.channels\.ports: no port for channel "bus01"/);
    expect(base({ channels: { ports: { bus00: 4001, bus01: 4001 } } })).toThrow(/channels "bus00" and "bus01" share port 4001/);
    expect(base({ channels: { portBase: 4001 } })).not.toThrow();
    expect(base({ api: { baseUrl: 'http://x', auth: { type: 'bearer', tokenEnv: 'abc-secret-123' } } })).toThrow(/system\.api\.auth\.tokenEnv: the NAME of an environment variable/);
    expect(base({ api: { baseUrl: 'ftp://x', auth: { type: 'none' } } })).toThrow(/system\.api\.baseUrl/);
    expect(base({ topUp: { path: '/top-ups', body: { account: '{{accountId}}', fen: '{{amountFen}}' } } })).toThrow(/system\.topUp\.body: no placeholder for \{\{paymentId\}\}/);
  });
});
