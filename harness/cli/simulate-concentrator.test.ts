/**
 * `meterlab simulate concentrator` in a child process against a real `Gw1376Station.listen` on
 * 127.0.0.1, as a vendor's master station: the concentrators log in, answer a class 1 clock
 * (AFN 0C F2) and a current reading (F129) through their simulated RS-485 bus, give their archive
 * back (AFN 0A F10 / F249), and stop on a signal with a summary and exit 0; a master not reachable
 * at the start is said once and reached by the redial; bad arguments are one line and exit 2
 * (an unresolvable master exit 3) before anything is built or dialled; --heartbeat sets the F1
 * heartbeat period. `--serial` (ports on serial devices, no simulated meters) is tested over socat
 * ptys in simulate-concentrator-over-pty.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../core/bytes.ts';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { fromCalendar, toCalendar } from '../core/calendar.ts';
import { Gw1376Station } from '../masters/gw1376-station.ts';
import type { UnitValue } from '../protocols/gw1376/index.ts';
import { loadCollectionScenario, nightInstant, planConcentrator, readCollectionScenarioFile, type ConcentratorPlan } from '../../simulators/collection/index.ts';
import { simulateConcentratorCommand } from './simulate-concentrator.ts';
import { capturedStderr, expectOneErrorLine, inProcess, meterlab, startMeterlab, stopMeterlab, type RunningMeterlab } from './testing.ts';
import { archiveChunks, COLLECTION_SCENARIOS_DIR } from '../targets/gw1376-protocol.ts';

const clock = new RealClock();
const tmp = mkdtempSync(join(tmpdir(), 'meterlab-concentrator-cli-'));
const running: RunningMeterlab[] = [];
const stations: Gw1376Station[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await stopMeterlab(r);
  for (const s of stations.splice(0)) await s.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Three concentrators: a-0001 and a-0002 (2 households each), b-0007 (2 households); electricity on RS-485, water on a wired CJ/T 188 bus. */
const SMALL = {
  seed: 12,
  areas: [
    { name: 'a', areaCode: '3702', households: 4, householdsPerConcentrator: 2, meters: { electricity: { share: 1, channel: 'rs485' } } },
    { name: 'b', areaCode: '3703', firstTerminal: 7, households: 2, householdsPerConcentrator: 2, meters: { electricity: { share: 1, channel: 'rs485' }, water: { share: 1, channel: 'rs485' } } },
  ],
  // Every concentrator reboots and loses its uplink on the first night, after its midnight: always after the command's start.
  faults: { reboots: { share: 1, at: '02:00', offMinutes: 3 }, uplinkDown: { share: 1, from: '03:00', to: '03:30' } },
};

/** "YYYY-MM-DD hh:mm" UTC+8. */
function local(ms: number): string {
  const c = toCalendar(ms, 480);
  const p2 = (n: number): string => String(n).padStart(2, '0');
  return `${c.year}-${p2(c.month)}-${p2(c.day)} ${p2(c.hour)}:${p2(c.minute)}`;
}

function file(name: string, json: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(json));
  return path;
}

async function station(port = 0): Promise<Gw1376Station> {
  const s = await Gw1376Station.listen({ clock, port, host: '127.0.0.1' });
  stations.push(s);
  return s;
}

const field = (v: UnitValue | null | undefined, name: string): unknown => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, UnitValue>)[name] : undefined);
const records = (items: readonly { value: UnitValue | null }[]): UnitValue[] => items.flatMap((it) => (field(it.value, 'meters') as UnitValue[] | undefined) ?? []);

/** A free loopback port (listened on, then closed). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('meterlab simulate concentrator', () => {
  it('the bench by name: logs in to the station, answers the clock (0C F2), a meter read now (0C F129) and its preloaded archive (0A F10, F249); SIGINT: a summary and exit 0', async () => {
    const st = await station();
    const sim = startMeterlab(['simulate', 'concentrator', '--master', `127.0.0.1:${st.port}`, '--scenario', 'bench']);
    running.push(sim);
    const serving = await sim.waitFor(/serving bench-0001/, 30_000);
    expect(serving).toBe(`meterlab: serving bench-0001 3701/1 → 127.0.0.1:${st.port}`);
    expect(sim.stderr()).toMatch(/1 of 1 concentrator\(s\), 21 meter\(s\) \(12 electricity, 4 water, 4 gas, 1 heat\), archive preloaded; dialling 127\.0\.0\.1:\d+ in real time, heartbeat every 15 min$/m);
    expect(sim.stderr()).toMatch(/this machine's clock as UTC\+8 \(now \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\+8\), not the scenario's start 2026-01-10T16:00:00\.000Z/);
    const master = await st.waitForTerminal('3701', 1, 10_000);

    // The terminal clock is this machine's, as UTC+8 local time.
    const [c] = await master.class1([{ pn: 0, fn: 2 }]);
    const time = (field(c?.value, 'clock') as { time?: string } | undefined)?.time ?? '';
    const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/.exec(time);
    expect(m, JSON.stringify(c?.value)).not.toBeNull();
    const [year, month, day, hour, minute, second] = m!.slice(1).map(Number) as [number, number, number, number, number, number];
    const terminalMs = fromCalendar({ year, month, day, hour, minute, second }, 480);
    expect(Math.abs(terminalMs - clock.now())).toBeLessThan(10_000);

    // A DL/T 645 meter read now through the concentrator's simulated RS-485 bus: total and 4 tariffs.
    const [e] = await master.class1([{ pn: 1, fn: 129 }], { timeoutMs: 20_000 });
    const energies = (field(e?.value, 'forwardActive') as { value: number }[] | undefined)?.map((x) => x.value) ?? [];
    expect(energies, JSON.stringify(e?.value)).toHaveLength(5);
    expect(energies[0]!).toBeGreaterThan(0);
    expect(Math.abs(energies[0]! - energies.slice(1).reduce((a, b) => a + b, 0))).toBeLessThan(0.05);

    // The archive came preloaded: every record of the plan as a station would have set it (archiveChunks), DL/T 645 in F10, the others in F249.
    const plan = planConcentrator(readCollectionScenarioFile(join(COLLECTION_SCENARIOS_DIR, 'bench.json')), 0);
    const key = (r: UnitValue): string => JSON.stringify(Object.entries(r as Record<string, UnitValue>).sort());
    for (const fn of [10, 249]) {
      const want = archiveChunks(plan.archive).filter((ch) => ch.fn === fn).flatMap((ch) => field(ch.value, 'meters') as UnitValue[]);
      const back = records(await master.query(fn, { count: 0, serials: [] }));
      expect(want.length, `F${fn}`).toBe(fn === 10 ? 12 : 9);
      expect(back.map(key), `AFN 0A F${fn}`).toEqual(want.map(key));
    }

    // The concentrator checks its own seeded PW: the station's default (zeros) is denied an archive change.
    const chunk = archiveChunks(plan.archive).find((ch) => ch.fn === 10)!;
    expect(plan.password.some((b) => b !== 0)).toBe(true);
    expect((await master.setParameters(10, chunk.value)).denied).toBe(true);

    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
    const err = sim.stderr();
    expect(err).toMatch(/meterlab: bench-0001 3701\/1: 1 login\(s\), 1 dial\(s\) \(0 failed\), 0 heartbeat\(s\), 5 request\(s\) \(1 denied, 0 unanswered\)/);
    expect(err).toMatch(/meterlab: concentrators stopped \(SIGINT\): 1 concentrator\(s\), 1 login\(s\), 5 request\(s\) from 127\.0\.0\.1:\d+\n$/);
    expect(err).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('--concentrator by number and id runs only those; --empty-archive leaves their archives for the station to download (with the --password it gives them); SIGTERM stops them', async () => {
    const pw = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
    const st = await Gw1376Station.listen({ clock, port: 0, host: '127.0.0.1', master: { password: pw } });
    stations.push(st);
    const path = file('small.json', SMALL);
    const before = clock.now();
    const sim = startMeterlab(['simulate', 'concentrator', '--master', `127.0.0.1:${st.port}`, '--scenario', path, '--concentrator', '3,a-0001', '--empty-archive', '--password', toHex(pw, ''), '--verbose', '--heartbeat', '7']);
    running.push(sim);
    await sim.waitFor(/serving b-0007 3703\/7 → /, 30_000);
    await sim.waitFor(/serving a-0001 3702\/1 → /, 30_000);
    const plan = (i: number): ConcentratorPlan => planConcentrator(loadCollectionScenario(SMALL), i);
    const plans = [2, 0].map(plan);
    const meters = plans.reduce((n, p) => n + p.archive.length, 0);
    const water = plans.reduce((n, p) => n + p.archive.filter((x) => x.kind === 'water').length, 0);
    expect(sim.stderr()).toContain(`2 of 3 concentrator(s), ${meters} meter(s) (${meters - water} electricity, ${water} water), archive empty`);
    expect(sim.stderr()).toContain('archive empty (--empty-archive: the station downloads it); dialling 127.0.0.1:');
    expect(sim.stderr()).toMatch(/in real time, heartbeat every 7 min$/m);
    // The night faults fall on the first night after the command's start (the scenario is rebased to it), not on the scenario's start.
    const after = clock.now();
    const faults = (t: number): string =>
      `meterlab: b-0007 3703/7: scenario faults (UTC+8): power cycle at ${local(nightInstant(t, 0, '02:00'))} for 3 min; uplink down ${local(nightInstant(t, 0, '03:00'))} .. ${local(nightInstant(t, 0, '03:30'))}`;
    expect([faults(before), faults(after)], sim.stderr()).toContain(sim.stderr().split('\n').find((l) => l.startsWith('meterlab: b-0007 3703/7: scenario faults')));
    expect(sim.stderr()).toContain(`meterlab: b-0007 3703/7: PW ${toHex(pw, '')}`);
    for (const [area, terminal, index] of [['3703', 7, 2], ['3702', 1, 0]] as const) {
      const master = await st.waitForTerminal(area, terminal, 10_000);
      // --heartbeat 7: the terminal's F1 (AFN 0A) says so.
      const [f1] = await master.query(1);
      expect(field(f1?.value, 'heartbeatMinutes'), JSON.stringify(f1?.value)).toBe(7);
      const count = async (): Promise<number> => (await master.query(10, { count: 0, serials: [] })).reduce((n, it) => n + Number(field(it.value, 'count') ?? 0), 0);
      expect(await count()).toBe(0);
      // The station downloads the DL/T 645 part of the archive with the PW --password set.
      const chunk = archiveChunks(plan(index).archive).find((ch) => ch.fn === 10)!;
      const reply = await master.setParameters(10, chunk.value);
      expect(reply.denied).toBe(false);
      expect(reply.confirm?.every((c) => c.ok)).toBe(true);
      expect(await count()).toBe(chunk.points.length);
    }
    // Frames are logged decoded with --verbose.
    expect(sim.stderr()).toMatch(/b-0007 <- down .* AFN 04 /);
    // a-0002 is not run.
    expect(st.terminal('3702', 2)).toBeUndefined();
    expect(sim.stderr()).not.toContain('a-0002');
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr()).toMatch(/concentrators stopped \(SIGTERM\): 2 concentrator\(s\), 2 login\(s\)/);
  }, 60_000);

  it('--shard 2/2 runs the second half of the concentrators (whole ones, as partitionConcentrators)', async () => {
    const st = await station();
    const sim = startMeterlab(['simulate', 'concentrator', '--master', `127.0.0.1:${st.port}`, '--scenario', file('shard.json', SMALL), '--shard', '2/2']);
    running.push(sim);
    await sim.waitFor(/serving a-0002 3702\/2 → /, 30_000);
    await sim.waitFor(/serving b-0007 3703\/7 → /, 30_000);
    expect(sim.stderr()).toMatch(/: shard 2\/2: 2 of 3 concentrator\(s\) \(a-0002\.\.b-0007\), \d+ meter\(s\)/);
    expect(sim.stderr()).not.toContain('a-0001');
    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr()).toMatch(/concentrators stopped \(SIGINT\): 2 concentrator\(s\), 2 login\(s\)/);
  }, 60_000);

  it('a master not reachable at the start is said once; the concentrator redials and logs in once the station listens', async () => {
    const port = await freePort();
    const path = file('one.json', { ...SMALL, areas: [SMALL.areas[1]] });
    const sim = startMeterlab(['simulate', 'concentrator', '--master', `127.0.0.1:${port}`, '--scenario', path, '--redial-interval', '1']);
    running.push(sim);
    const line = await sim.waitFor(/not reachable/, 30_000);
    expect(line).toBe(
      `meterlab: master station 127.0.0.1:${port} not reachable (cannot connect to 127.0.0.1:${port}: ECONNREFUSED): the concentrators keep redialling (every 1 s at first, doubling up to 30 min) until it answers`,
    );
    const st = await station(port);
    await sim.waitFor(/serving b-0007 3703\/7 → /, 30_000);
    await st.waitForTerminal('3703', 7, 5_000);
    expect(sim.stderr().match(/not reachable/g)).toHaveLength(1);
    // The station goes away: the drop is said, and the concentrator logs in again when it is back.
    await st.close();
    stations.splice(stations.indexOf(st), 1);
    await sim.waitFor(/b-0007 3703\/7: link to 127\.0\.0\.1:\d+ dropped; redialling/, 10_000);
    const again = await station(port);
    await sim.waitFor(/serving b-0007 3703\/7 → 127\.0\.0\.1:\d+ again \(login 2\)/, 30_000);
    await again.waitForTerminal('3703', 7, 5_000);
    sim.child.kill('SIGINT');
    expect(await sim.exited).toBe(0);
    expect(sim.stderr().match(/not reachable/g)).toHaveLength(1);
    expect(sim.stderr()).toMatch(/b-0007 3703\/7: 2 login\(s\), \d+ dial\(s\) \([1-9]\d* failed\)/);
  }, 90_000);
});

describe('meterlab simulate concentrator: a start inside an uplink outage', () => {
  it('is said once, with the end of the outage, and no dial reaches the station (in process, on a clock standing at 23:30 UTC+8)', async () => {
    const st = await station();
    let logins = 0;
    st.on('terminal', () => logins++);
    // 2026-12-01 23:30 UTC+8: the outage of night 0 runs from 23:00 (the evening before its midnight) to 06:00.
    const virtual = new VirtualClock({ start: fromCalendar({ year: 2026, month: 12, day: 1, hour: 23, minute: 30, second: 0 }, 480), autoAdvance: false });
    const path = file('outage.json', { ...SMALL, areas: [SMALL.areas[1]], faults: { uplinkDown: { share: 1, from: '23:00', to: '06:00' } } });
    const { err, text, line } = capturedStderr();
    const said = line('uplink down (scenario fault)');
    const exit = simulateConcentratorCommand({ master: `127.0.0.1:${st.port}`, scenario: path }, { stdin: Readable.from([]), stdout: new PassThrough(), stderr: err }, virtual);
    await said;
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(text()).toContain('meterlab: b-0007 3703/7: scenario faults (UTC+8): uplink down 2026-12-01 23:00 .. 2026-12-02 06:00');
    expect(text()).toContain('2026-12-01T15:30:00.000Z b-0007 3703/7: uplink down (scenario fault) until 2026-12-02 06:00 UTC+8: its dials fail until then');
    expect(text().match(/uplink down \(scenario fault\)/g)).toHaveLength(1);
    expect(text()).toMatch(/b-0007 3703\/7: 0 login\(s\), 1 dial\(s\)/);
    expect(text()).not.toContain('not reachable');
    expect(logins).toBe(0);
  });
});

describe('meterlab simulate concentrator: an uplink outage that begins while online', () => {
  it('closes the link at its start and says so with its end (in process, on a clock at 22:59 UTC+8 advanced to 23:00)', async () => {
    const st = await station();
    const from = fromCalendar({ year: 2026, month: 12, day: 1, hour: 23, minute: 0, second: 0 }, 480);
    const virtual = new VirtualClock({ start: from - 60_000, autoAdvance: false });
    const path = file('outage-later.json', { ...SMALL, areas: [SMALL.areas[1]], faults: { uplinkDown: { share: 1, from: '23:00', to: '06:00' } } });
    const { err, text, line } = capturedStderr();
    const exit = simulateConcentratorCommand({ master: `127.0.0.1:${st.port}`, scenario: path }, { stdin: Readable.from([]), stdout: new PassThrough(), stderr: err }, virtual);
    await line('meterlab: serving b-0007 3703/7 → ');
    const offline = new Promise((resolve) => st.once('offline', resolve));
    await virtual.advanceTo(from);
    await line('b-0007 3703/7: link to ');
    await offline;
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(text()).toContain(`2026-12-01T15:00:00.000Z b-0007 3703/7: link to 127.0.0.1:${st.port} dropped (scenario fault: uplink down until 2026-12-02 06:00 UTC+8); redialling`);
    expect(text()).toMatch(/b-0007 3703\/7: 1 login\(s\), 1 dial\(s\) \(0 failed\)/);
  });
});

describe('meterlab simulate concentrator: a planned reboot', () => {
  it('power-cycles the concentrator: the link drops, it is off for offMinutes, then it logs in again (in process, on a clock at 23:59 UTC+8, the reboot at 00:01)', async () => {
    const st = await station();
    // Night 0's reboot at 00:01, after the first midnight following the start; the nightly collection (00:05) is not yet due.
    const at = fromCalendar({ year: 2026, month: 12, day: 2, hour: 0, minute: 1, second: 0 }, 480);
    const virtual = new VirtualClock({ start: at - 120_000, autoAdvance: false });
    const path = file('reboot.json', { ...SMALL, areas: [SMALL.areas[1]], faults: { reboots: { share: 1, at: '00:01', offMinutes: 3 } } });
    const { err, text, line } = capturedStderr();
    const exit = simulateConcentratorCommand({ master: `127.0.0.1:${st.port}`, scenario: path }, { stdin: Readable.from([]), stdout: new PassThrough(), stderr: err }, virtual);
    await line('meterlab: serving b-0007 3703/7 → ');
    expect(text()).toContain('meterlab: b-0007 3703/7: scenario faults (UTC+8): power cycle at 2026-12-02 00:01 for 3 min');
    const offline = new Promise((resolve) => st.once('offline', resolve));
    await virtual.advanceTo(at);
    await line('b-0007 3703/7: power cycle (scenario fault), off for 3 min');
    await offline;
    expect(text()).not.toContain('again (login 2)');
    await virtual.advanceTo(at + 3 * 60_000);
    await line('again (login 2)');
    await st.waitForTerminal('3703', 7, 5_000);
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(text()).toContain(`2026-12-01T16:01:00.000Z b-0007 3703/7: power cycle (scenario fault), off for 3 min`);
    expect(text()).toMatch(/b-0007 3703\/7: 2 login\(s\), 2 dial\(s\) \(0 failed\)/);
  });
});

describe('meterlab simulate concentrator: arguments', () => {
  const small = file('args.json', SMALL);
  const bad = file('bad.json', { ...SMALL, areas: [{ ...SMALL.areas[0], areaCode: '37' }] });
  it.each([
    [['--scenario', 'bench'], /^meterlab: required option '--master <host:port>' not specified$/],
    [['--master', '127.0.0.1:4000'], /^meterlab: required option '--scenario <file\|name>' not specified$/],
    [['--master', 'station', '--scenario', 'bench'], /^meterlab: --master must be <host>:<port>, e\.g\. 127\.0\.0\.1:8645; got "station"$/],
    [['--master', '127.0.0.1:0', '--scenario', 'bench'], /^meterlab: --master 127\.0\.0\.1:0: port 0 is no master station's port$/],
    [['--master', '127.0.0.1:4000', '--scenario', 'nosuch'], /^meterlab: --scenario nosuch: no such file, nor a scenario of that name \(named scenarios: bench, district-5389, pilot-2172, province-50000, serial-bench, station-bench\)$/],
    [['--master', '127.0.0.1:4000', '--scenario', join(tmp, 'missing.json')], /^meterlab: scenario .*missing\.json: no such file$/],
    [['--master', '127.0.0.1:4000', '--scenario', bad], /^meterlab: scenario .*bad\.json: areas\[0\]\.areaCode/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--concentrator', '4'], /^meterlab: --concentrator 4: the scenario has 3 concentrator\(s\), 1\.\.3 \(a-0001 \.\. b-0007\)$/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--concentrator', 'a-0009'], /^meterlab: --concentrator a-0009: no concentrator of that id; the scenario has 1\.\.3 \(a-0001 \.\. b-0007\)$/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--concentrator', '1,a-0001'], /^meterlab: --concentrator "1,a-0001": concentrator a-0001 given twice$/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--concentrator', '1', '--shard', '1/2'], /^meterlab: give --concentrator or --shard, not both$/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--shard', '1/4'], /^meterlab: --shard 1\/4: the scenario has 3 concentrator\(s\), fewer than 4 shards \(a shard would hold none\)$/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--shard', '3/2'], /^meterlab: option '--shard <i\/n>' argument '3\/2' is invalid\. --shard must be i\/n with 1 ≤ i ≤ n \(here 1\.\.2\), got "3\/2"$/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--password', '00'], /^meterlab: --password must be 32 hex digits \(the 16-byte PW of Q\/GDW 1376\.1\), got "00"$/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--speed', '10'], /^meterlab: --speed 10: only "real" is supported/],
    [['--master', '127.0.0.1:4000', '--scenario', small, '--redial-interval', '0'], /^meterlab: option '--redial-interval <s>' argument '0' is invalid\. --redial-interval must be between 1 and 86400$/],
  ])('%j: one line, exit 2', async (args, message) => {
    const r = await inProcess(['simulate', 'concentrator', ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(expectOneErrorLine(r)).toMatch(message);
  });

  it('a master whose name does not resolve: one line, exit 3, nothing built', async () => {
    const r = await inProcess(['simulate', 'concentrator', '--master', 'no-such-station.invalid:4000', '--scenario', 'bench']);
    expect(r.code, r.stderr).toBe(3);
    expect(expectOneErrorLine(r)).toMatch(/^meterlab: --master no-such-station\.invalid:4000: cannot resolve no-such-station\.invalid \((ENOTFOUND|EAI_AGAIN)\)$/);
  });

  it('as a user runs it (a child process): a bad --concentrator is one line and exit 2', async () => {
    const r = await meterlab(['simulate', 'concentrator', '--master', '127.0.0.1:4000', '--scenario', 'bench', '--concentrator', '2']);
    expect(r.code).toBe(2);
    expect(expectOneErrorLine(r)).toBe('meterlab: --concentrator 2: the scenario has 1 concentrator(s), 1..1 (bench-0001)');
  });
});

// The small scenario's shape, pinned so the tests above say what they run.
describe('the test scenario', () => {
  it('has three concentrators a-0001, a-0002, b-0007', async () => {
    const { concentratorIds } = await import('../../simulators/collection/index.ts');
    expect(concentratorIds(loadCollectionScenario(SMALL))).toEqual(['a-0001', 'a-0002', 'b-0007']);
  });
});
