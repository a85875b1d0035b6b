/**
 * `meterlab serve master-station` as a real process: top-ups over HTTP on loopback, a SIGKILL in
 * the middle of a burst, a restart on the same PGlite data directory; and the exit-2 refusals.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RealClock } from '../core/clock.ts';
import { listenTcp } from '../links/tcp.ts';
import { parseStationConfig, ReopeningLink } from './serve-master-station.ts';
import { expectOneErrorLine, meterlab, REPO, startMeterlab } from './testing.ts';

const clock = new RealClock();
const BIN = join(REPO, 'bin', 'meterlab.js');
const TOKEN = 'serve-test-token-0123456789';
const dirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'meterlab-serve-'));
  dirs.push(d);
  return d;
}

interface Served {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the station and resolves once its stdout line says where it listens. */
function serve(args: readonly string[]): Promise<Served> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.METERLAB_DEBUG;
  delete env.METERLAB_STATION_TOKEN;
  const child = spawn(process.execPath, [BIN, 'serve', 'master-station', ...args], { cwd: REPO, env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(new Error(`no listening line within 60 s; stderr:\n${err}`)), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+) /.exec(out);
      if (m) {
        clock.clearTimeout(timer);
        resolve({ child, url: m[1]!, stderr: () => err, exited });
      }
    });
    void exited.then(({ code }) => {
      clock.clearTimeout(timer);
      reject(new Error(`meterlab exited (${code}) before listening; stderr:\n${err}`));
    });
  });
}

async function call(url: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: await res.json() };
}

async function allEvents(url: string): Promise<{ id: number; accountId: string | null; kind: string; detail: Record<string, unknown> }[]> {
  const events = [];
  let afterId = 0;
  for (;;) {
    const r = await call(url, 'GET', `/events?afterId=${afterId}&limit=500`);
    expect(r.status).toBe(200);
    if (r.json.events.length === 0) return events;
    events.push(...r.json.events);
    afterId = r.json.events.at(-1).id;
  }
}

const ACCOUNTS = ['C1', 'C2', 'C3'];
const OPENING_FEN = 1000;
const N = 240;
const KILL_AFTER = 60;
const topUp = (i: number) => ({ paymentId: `PAY-${i}`, accountId: ACCOUNTS[i % ACCOUNTS.length]!, amountFen: 100 + i });

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (clock.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await clock.sleep(200);
  }
}

describe('meterlab serve master-station', () => {
  it('switches a meter behind a configured TCP channel, and fails an unconfigured channel in the station layer', async () => {
    const meter = startMeterlab(['simulate', 'meter', '--tcp', '127.0.0.1:0', '--address', '000000000001']);
    children.push(meter.child);
    const port = Number(/tcp 127\.0\.0\.1:(\d+)/.exec(await meter.waitFor(/serving on tcp/))![1]);
    const dir = tempDir();
    const config = join(dir, 'station.json');
    writeFileSync(config, JSON.stringify({ channels: [{ id: 'bus00', tcp: `127.0.0.1:${port}` }] }));
    const s = await serve(['--db', 'memory', '--port', '0', '--token', TOKEN, '--config', config]);
    expect((await call(s.url, 'GET', '/channels')).json.channels).toEqual([{ id: 'bus00', kind: 'tcp', description: `TCP serial server 127.0.0.1:${port}` }]);
    expect((await call(s.url, 'POST', '/channels', { id: 'bus99', kind: 'tcp', description: 'not in the config' })).status).toBe(201);
    const account = (id: string, meterAddress: string, channelId: string) => ({
      id, name: id, phone: '13800000000', meterAddress, channelId, paymentMode: 'prepaid', tariffFenPerKwh: 50, keepPower: null, warningFen: 0, balanceFen: 1000,
    });
    expect((await call(s.url, 'POST', '/accounts', account('C1', '000000000001', 'bus00'))).status).toBe(201);
    expect((await call(s.url, 'POST', '/accounts', account('C9', '000000000009', 'bus99'))).status).toBe(201);

    const ok = await call(s.url, 'POST', '/accounts/C1/force-reconnect', { operator: 'op-1', reason: 'test' });
    expect(ok.status).toBe(202);
    const done = await until('the reconnection over TCP', async () => {
      const j = (await call(s.url, 'GET', `/jobs/${ok.json.id}`)).json;
      return j.state === 'pending' ? undefined : j;
    });
    expect(done).toMatchObject({ state: 'done', causeLayer: null });
    expect(meter.stderr()).toMatch(/rx 1C remoteControl 000000000001/);
    expect((await call(s.url, 'GET', '/accounts/C1')).json.relay).toBe('closed');

    const none = await call(s.url, 'POST', '/accounts/C9/force-reconnect', { operator: 'op-1', reason: 'test' });
    const failed = await until('the unconfigured channel to fail', async () => {
      const jobs = (await call(s.url, 'GET', '/worklist')).json.jobs;
      return jobs.find((j: { id: number }) => j.id === none.json.id);
    });
    expect(failed).toMatchObject({ state: 'failed', causeLayer: 'station', causeDetail: expect.stringMatching(/bus99: the station has no link/) });

    s.child.kill('SIGINT');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    meter.child.kill('SIGTERM');
    await meter.exited;
  }, 60_000);

  it('loses no acknowledged top-up to a SIGKILL mid-burst, credits none twice, and a retry of every payment changes nothing', async () => {
    const data = join(tempDir(), 'data');
    const first = await serve(['--db', data, '--port', '0', '--token', TOKEN]);
    expect((await call(first.url, 'POST', '/channels', { id: 'bus00', kind: 'tcp', description: 'not configured' })).status).toBe(201);
    for (const [n, id] of ACCOUNTS.entries()) {
      const r = await call(first.url, 'POST', '/accounts', {
        id,
        name: `customer ${id}`,
        phone: `1380000000${n}`,
        meterAddress: `00000000000${n + 1}`,
        channelId: 'bus00',
        paymentMode: 'prepaid',
        tariffFenPerKwh: 50,
        keepPower: null,
        warningFen: 0,
        balanceFen: OPENING_FEN,
      });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    }

    // A burst of top-ups, 8 at a time; SIGKILL once KILL_AFTER of them were acknowledged.
    const acknowledged = new Set<number>();
    let next = 0;
    let killed = false;
    const worker = async (): Promise<void> => {
      while (next < N) {
        const i = next++;
        let r: { status: number; json: any };
        try {
          r = await call(first.url, 'POST', '/top-ups', topUp(i));
        } catch {
          return; // the station is gone
        }
        expect(r.status, JSON.stringify(r.json)).toBe(200);
        expect(r.json.credited).toBe(true);
        acknowledged.add(i);
        if (acknowledged.size >= KILL_AFTER && !killed) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(acknowledged.size).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acknowledged.size).toBeLessThan(N); // the kill did land mid-burst

    const second = await serve(['--db', data, '--port', '0', '--token', TOKEN]);
    const balances = async (): Promise<Record<string, number>> => {
      const r = await call(second.url, 'GET', '/accounts');
      return Object.fromEntries(r.json.accounts.map((a: { id: string; balanceFen: number }) => [a.id, a.balanceFen]));
    };
    const credited = async (): Promise<Map<string, number>> => {
      const counts = new Map<string, number>();
      for (const e of await allEvents(second.url)) {
        if (e.kind === 'top-up') counts.set(String(e.detail.paymentId), (counts.get(String(e.detail.paymentId)) ?? 0) + 1);
      }
      return counts;
    };
    const expected = (paid: Iterable<number>): Record<string, number> => {
      const b = Object.fromEntries(ACCOUNTS.map((a) => [a, OPENING_FEN]));
      for (const i of paid) b[topUp(i).accountId]! += topUp(i).amountFen;
      return b;
    };

    // Every acknowledged top-up is there exactly once; any other is one that committed while its answer was lost.
    const afterRestart = await credited();
    for (const i of acknowledged) expect(afterRestart.get(`PAY-${i}`), `PAY-${i}`).toBe(1);
    for (const [id, count] of afterRestart) expect(count, id).toBe(1);
    const committed = [...afterRestart.keys()].map((id) => Number(id.slice('PAY-'.length)));
    expect(await balances()).toEqual(expected(committed));

    // The payment system retries every acknowledged payment: nothing changes.
    const before = await balances();
    for (const i of acknowledged) {
      const r = await call(second.url, 'POST', '/top-ups', topUp(i));
      expect(r.status).toBe(200);
      expect(r.json.credited).toBe(false);
    }
    expect(await balances()).toEqual(before);
    // ... and then every payment of the burst: the rest are credited once, whatever the kill left.
    for (let i = 0; i < N; i++) {
      const r = await call(second.url, 'POST', '/top-ups', topUp(i));
      expect(r.status).toBe(200);
      expect(r.json.credited).toBe(!afterRestart.has(`PAY-${i}`));
    }
    const all = Array.from({ length: N }, (_, i) => i);
    expect(await balances()).toEqual(expected(all));
    const final = await credited();
    expect(final.size).toBe(N);
    for (const [id, count] of final) expect(count, id).toBe(1);

    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(second.stderr()).toMatch(/meterlab: master station stopped/);
  }, 120_000);

  it('refuses a database URL it does not know: exit 2, one line', async () => {
    const r = await meterlab(['serve', 'master-station', '--db', 'mysql://u:secret@h/db', '--port', '0', '--token', TOKEN]);
    expect(r.code).toBe(2);
    const line = expectOneErrorLine(r);
    expect(line).toMatch(/^meterlab: --db: unsupported database URL "mysql:\/\/u:\*\*\*@h\/db"/);
    expect(line).not.toMatch(/secret/);
  });

  it('refuses a bad config file before creating anything: exit 2, the field named, no data directory', async () => {
    const dir = tempDir();
    const data = join(dir, 'data');
    const config = join(dir, 'station.json');
    writeFileSync(config, JSON.stringify({ channels: [{ id: 'bus00', tcp: '127.0.0.1:4001' }, { id: 'bus01', serial: '/dev/ttyUSB0', line: { baudRate: 2400, dataBits: 8, parity: 'evn', stopBits: 1 } }] }));
    const r = await meterlab(['serve', 'master-station', '--db', data, '--config', config, '--port', '0', '--token', TOKEN]);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(/^meterlab: config .*station\.json: channels\[1\]\.line\.parity: /);
    expect(existsSync(data)).toBe(false);

    writeFileSync(config, JSON.stringify({ channels: [{ id: 'bus00', tcp: '127.0.0.1:4001', baud: 2400 }] }));
    const unknown = await meterlab(['serve', 'master-station', '--db', data, '--config', config, '--port', '0', '--token', TOKEN]);
    expect(unknown.code).toBe(2);
    expect(expectOneErrorLine(unknown)).toMatch(/channels\[0\]: unknown field "baud"$/);
    expect(existsSync(data)).toBe(false);
  });
});

describe('serve master-station config', () => {
  it('names the field of the first problem, and accepts both channel forms', () => {
    const parse = (v: unknown) => () => parseStationConfig(JSON.stringify(v), 'c.json');
    expect(parse({ channels: [{ id: 'a', tcp: '127.0.0.1:70000' }] })).toThrow(/^config c\.json: channels\[0\]\.tcp: port must be between 1 and 65535$/);
    expect(parse({ channels: [{ id: 'a', tcp: 'localhost' }] })).toThrow(/channels\[0\]\.tcp: must be "host:port"/);
    expect(parse({ channels: [{ id: 'a b', tcp: 'h:1' }] })).toThrow(/channels\[0\]\.id: /);
    expect(parse({ channels: [{ id: 'a', tcp: 'h:1', line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } }] })).toThrow(/channels\[0\]\.line: applies to a "serial" channel only/);
    expect(parse({ channels: [{ id: 'a', tcp: 'h:1' }, { id: 'a', serial: '/dev/x' }] })).toThrow(/channels\[1\]\.id: channel "a" is given twice/);
    expect(parse({ remoteControl: { password: { level: 2, value: '0000' }, operator: '00000000' } })).toThrow(/remoteControl\.password\.value: must be 6 hex digits/);
    expect(parse({ chanels: [] })).toThrow(/\(top level\): unknown field "chanels"/);
    expect(() => parseStationConfig('{', 'c.json')).toThrow(/^config c\.json: not valid JSON/);
    expect(parseStationConfig(JSON.stringify({ channels: [{ id: 'a', tcp: '[::1]:4001' }, { id: 'b', serial: '/dev/ttyUSB0' }] }), 'c.json').channels).toHaveLength(2);
  });
});

describe('ReopeningLink', () => {
  it('connects on the first write, reconnects after the far end closed, and fails a write it cannot connect for', async () => {
    const listener = await listenTcp({ host: '127.0.0.1', port: 0, clock });
    const accepted: import('../links/tcp.ts').TcpLink[] = [];
    const received: string[] = [];
    listener.on('connection', (c) => {
      accepted.push(c);
      c.on('data', (d) => received.push(Buffer.from(d).toString('utf8')));
    });
    const { connectTcpLink } = await import('../links/tcp.ts');
    const logged: string[] = [];
    const link = new ReopeningLink('tcp:test', () => connectTcpLink({ host: '127.0.0.1', port: listener.port }), (line) => logged.push(line));
    const drops = (n: number) => until(`${n} drop(s) seen`, async () => (logged.filter((l) => /closed; it is opened again/.test(l)).length >= n ? true : undefined), 5000);
    const got: string[] = [];
    link.on('data', (d) => got.push(Buffer.from(d).toString('utf8')));
    expect(accepted).toHaveLength(0); // nothing opened before the first write
    await link.write(Buffer.from('one'));
    await until('the first connection', async () => (received.join('') === 'one' ? true : undefined), 5000);
    await accepted[0]!.write(Buffer.from('back'));
    await until('the reply', async () => (got.join('') === 'back' ? true : undefined), 5000);
    await accepted[0]!.close(); // the serial server drops the connection
    await drops(1);
    expect(link.isOpen).toBe(true);
    await link.write(Buffer.from('two'));
    await until('the second connection', async () => (accepted.length === 2 && received.join('') === 'onetwo' ? true : undefined), 5000);
    await listener.close();
    for (const c of accepted) await c.close();
    await drops(2);
    await expect(link.write(Buffer.from('three'))).rejects.toThrow(/cannot connect to 127\.0\.0\.1:\d+/);
    await link.close();
    expect(link.isOpen).toBe(false);
    await expect(link.write(Buffer.from('four'))).rejects.toThrow(/closed/);
  });
});
