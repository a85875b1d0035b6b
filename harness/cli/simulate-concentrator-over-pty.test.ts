/**
 * `meterlab simulate concentrator --serial` over the REAL serialport binding: MeterLab's reference
 * concentrator run as if it were a vendor's box, in its own process, with no simulated meters, its
 * RS-485 ports on socat pseudo-terminals that stand in for USB-RS485 adapters and their cables. On
 * the other ends, `meterlab simulate meter` (a reference DL/T 645 meter) on port 2 and
 * `meterlab simulate water` (a CJ/T 188 water meter) on port 3; its uplink dials a
 * `Gw1376Station.listen` in this process on 127.0.0.1. Proven: it logs in; the heartbeat period
 * --heartbeat gave (AFN 0A F1); its archive starts empty and the station downloads it (AFN 04 F10 /
 * F249, read back with AFN 0A); transparent forwards (AFN 10 F1) reach the meters over the ptys and
 * their replies come back byte for byte; a class 1 current reading (0C F129) is read from the meter
 * on the wire; an adapter that goes away is said; SIGINT stops it with exit 0. Then the argument
 * errors (one line, exit 2) and a device that cannot be opened (one line, exit 3, nothing left open).
 *
 * Needs socat (`apt-get install socat`); the pty cases are skipped with that reason when it is
 * absent. Ptys carry bytes but neither pace them nor check parity (TOOLCHAIN.md). Real time: a few
 * seconds.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../core/bytes.ts';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { fromCalendar } from '../core/calendar.ts';
import { openSerialLink } from '../links/serial.ts';
import { socatAvailable, startPtyPair, SOCAT_MISSING, type PtyPair } from '../links/pty.ts';
import { Gw1376Station } from '../masters/gw1376-station.ts';
import type { UnitValue } from '../protocols/gw1376/index.ts';
import { encodeMessage as encodeDlt645 } from '../protocols/dlt645/index.ts';
import { encodeValue } from '../protocols/dlt645/dictionary.ts';
import { encodeMessage as encodeCjt188, STANDARD_DIALECT } from '../protocols/cjt188/index.ts';
import { loadCollectionScenario, planConcentrator } from '../../simulators/collection/index.ts';
import { archiveChunks } from '../targets/gw1376-protocol.ts';
import { simulateConcentratorCommand } from './simulate-concentrator.ts';
import { capturedStderr, expectOneErrorLine, inProcess, startMeterlab, stopMeterlab, type RunningMeterlab } from './testing.ts';

const clock = new RealClock();
const tmp = mkdtempSync(join(tmpdir(), 'meterlab-concentrator-pty-'));
const running: RunningMeterlab[] = [];
const pairs: PtyPair[] = [];
const stations: Gw1376Station[] = [];
afterEach(async () => {
  for (const r of running.splice(0)) await stopMeterlab(r, 'SIGINT');
  for (const s of stations.splice(0)) await s.close();
  for (const p of pairs.splice(0)) await p.close();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** One concentrator b-0007 (3703/7) of one household: its electricity meter on port 2 (DL/T 645), its water meter on port 3 (CJ/T 188). */
const ONE = {
  seed: 12,
  areas: [{ name: 'b', areaCode: '3703', firstTerminal: 7, households: 1, householdsPerConcentrator: 1, meters: { electricity: { share: 1, channel: 'rs485' }, water: { share: 1, channel: 'rs485' } } }],
};
/** Two concentrators a-0001, a-0002 of one household each. */
const TWO = { seed: 12, areas: [{ name: 'a', areaCode: '3702', households: 2, householdsPerConcentrator: 1, meters: { electricity: { share: 1, channel: 'rs485' } } }] };

const PW = Uint8Array.from({ length: 16 }, (_, i) => 0x50 + i);
/** CJ/T 188 meter type of a cold-water meter (10H). */
const WATER = 0x10;

function file(name: string, json: unknown): string {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(json));
  return path;
}

async function pair(): Promise<PtyPair> {
  const p = await startPtyPair();
  pairs.push(p);
  return p;
}

function start(args: readonly string[]): RunningMeterlab {
  const r = startMeterlab(args);
  running.push(r);
  return r;
}

const field = (v: UnitValue | null | undefined, name: string): unknown => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, UnitValue>)[name] : undefined);
const records = (items: readonly { value: UnitValue | null }[]): UnitValue[] => items.flatMap((it) => (field(it.value, 'meters') as UnitValue[] | undefined) ?? []);
const key = (r: UnitValue): string => JSON.stringify(Object.entries(r as Record<string, UnitValue>).sort());

describe('meterlab simulate concentrator --serial over the real serialport binding', () => {
  it.skipIf(!socatAvailable())(
    `logs in with no meters and an empty archive; the station downloads it; AFN 10 F1 forwards reach the meters on the ptys and come back byte for byte (skipped when ${SOCAT_MISSING})`,
    async () => {
      const plan = planConcentrator(loadCollectionScenario(ONE), 0);
      const electricity = plan.points.find((p) => p.kind === 'electricity')!;
      const water = plan.points.find((p) => p.kind === 'water')!;
      expect([electricity.port, water.port]).toEqual([2, 3]);

      const [p2, p3] = [await pair(), await pair()];
      const meter = start(['simulate', 'meter', '--protocol', 'dlt645', '--port', p2.a, '--baud', '2400', '--address', electricity.address]);
      const waterMeter = start(['simulate', 'water', '--protocol', 'cjt188', '--port', p3.a, '--address', water.address]);
      await meter.waitFor(/serving on/, 30_000);
      await waterMeter.waitFor(/serving on/, 30_000);

      const st = await Gw1376Station.listen({ clock, port: 0, host: '127.0.0.1', master: { password: PW } });
      stations.push(st);
      const sim = start([
        'simulate', 'concentrator', '--master', `127.0.0.1:${st.port}`, '--scenario', file('one.json', ONE),
        '--serial', `2=${p2.b}`, '--serial', `3=${p3.b}`, '--heartbeat', '1', '--password', toHex(PW, ''),
      ]);
      expect(await sim.waitFor(/serving b-0007/, 30_000)).toBe(`meterlab: serving b-0007 3703/7 → 127.0.0.1:${st.port}`);
      expect(sim.stderr()).toContain(
        `: concentrator b-0007 3703/7 with its ports on serial devices: port 2 on ${p2.b} (RS-485, 2400 8E1), port 3 on ${p3.b} (RS-485, 2400 8E1); ` +
          `no simulated meters (the meters are the ones on the wire), archive empty (the station downloads it: AFN 04 F10 / F249); dialling 127.0.0.1:${st.port} in real time, heartbeat every 1 min`,
      );
      const master = await st.waitForTerminal('3703', 7, 10_000);

      // --heartbeat 1: the terminal's F1 says so.
      const [f1] = await master.query(1);
      expect(field(f1?.value, 'heartbeatMinutes'), JSON.stringify(f1?.value)).toBe(1);

      // The archive starts empty; the station downloads the plan's (F10 the DL/T 645 meter on port 2, F249 the water meter on port 3) and reads it back.
      const count = async (fn: number): Promise<number> => (await master.query(fn, { count: 0, serials: [] })).reduce((n, it) => n + Number(field(it.value, 'count') ?? 0), 0);
      expect([await count(10), await count(249)]).toEqual([0, 0]);
      for (const chunk of archiveChunks(plan.archive)) {
        const reply = await master.setParameters(chunk.fn, chunk.value);
        expect(reply.denied, `F${chunk.fn}`).toBe(false);
        expect(reply.confirm?.every((c) => c.ok), `F${chunk.fn}`).toBe(true);
      }
      for (const fn of [10, 249]) {
        const want = archiveChunks(plan.archive).filter((ch) => ch.fn === fn).flatMap((ch) => field(ch.value, 'meters') as UnitValue[]);
        expect(want, `F${fn}`).toHaveLength(1);
        expect(records(await master.query(fn, { count: 0, serials: [] })).map(key), `AFN 0A F${fn}`).toEqual(want.map(key));
      }
      const [record] = records(await master.query(10, { count: 0, serials: [] }));
      expect(Number(field(record, 'rateAndPort')) & 0x1f, 'D4-D0 port').toBe(2);

      // AFN 10 F1 on port 2: a DL/T 645 read of the communication address (04000401) goes to the meter over the pty; its reply
      // comes back byte for byte as the DL/T 645 codec encodes it (FE preamble aside, which the terminal strips).
      const request = encodeDlt645(electricity.address, { kind: 'readData', di: '04000401', extra: new Uint8Array(0) });
      const expected = encodeDlt645(electricity.address, { kind: 'readDataResponse', di: '04000401', payload: encodeValue('04000401', electricity.address), hasFollowUp: false });
      const forwarded = await master.forward(2, request, { frameTimeoutMs: 3000, byteTimeoutMs: 300 });
      expect('content' in forwarded ? { port: forwarded.port, content: toHex(forwarded.content) } : forwarded).toEqual({ port: 2, content: toHex(expected) });
      expect(meter.stderr()).toMatch(new RegExp(`rx 11 readData ${electricity.address} DI 04000401`));

      // AFN 10 F1 on port 3: a CJ/T 188 read-address (810A) to the water meter, its reply byte for byte.
      const head = { di: '810A', diOrder: STANDARD_DIALECT.diOrder, ser: 0x21 } as const;
      const cjRequest = encodeCjt188(WATER, water.address, { ...head, kind: 'readAddress' });
      const cjExpected = encodeCjt188(WATER, water.address, { ...head, kind: 'readAddressResponse' });
      const cj = await master.forward(3, cjRequest, { frameTimeoutMs: 3000, byteTimeoutMs: 300 });
      expect('content' in cj ? { port: cj.port, content: toHex(cj.content) } : cj).toEqual({ port: 3, content: toHex(cjExpected) });

      // A forward to a port the concentrator does not have is refused (AFN 00 F2), not sent anywhere.
      expect(await master.forward(4, request, { frameTimeoutMs: 1000, byteTimeoutMs: 300, attempts: 1 })).toEqual({ denied: true });

      // The downloaded archive is read through the wire too: a current reading (0C F129) of pn 1, total and 4 tariffs.
      const [e] = await master.class1([{ pn: 1, fn: 129 }], { timeoutMs: 20_000 });
      const energies = (field(e?.value, 'forwardActive') as { value: number }[] | undefined)?.map((x) => x.value) ?? [];
      expect(energies, JSON.stringify(e?.value)).toHaveLength(5);
      expect(Math.abs(energies[0]! - energies.slice(1).reduce((a, b) => a + b, 0))).toBeLessThan(0.05);

      // The adapter of port 3 goes away (socat killed): said, the concentrator keeps serving its uplink.
      await p3.close();
      const gone = await sim.waitFor(/b-0007: port 3 /, 10_000);
      expect(gone).toMatch(/^\S+Z b-0007: port 3 \(.*\) closed \(serial port .* disconnected: .*\): its meters cannot be read until the command is restarted$/);
      expect(gone).toContain(`port 3 (${p3.b}) closed`);
      expect(st.terminal('3703', 7)).toBeDefined();

      sim.child.kill('SIGINT');
      expect(await sim.exited).toBe(0);
      // Denied: the queries of the empty archive (F10, F249: nothing to give) and the forward to port 4.
      expect(sim.stderr().match(/b-0007: port 3 /g), 'the disconnect is said once').toHaveLength(1);
      expect(sim.stderr()).toMatch(/meterlab: b-0007 3703\/7: 1 login\(s\), 1 dial\(s\) \(0 failed\), \d+ heartbeat\(s\), \d+ request\(s\) \(3 denied, 0 unanswered\)/);
      expect(sim.stderr()).toMatch(/meterlab: concentrators stopped \(SIGINT\): 1 concentrator\(s\), 1 login\(s\), \d+ request\(s\) from 127\.0\.0\.1:\d+\n$/);
      expect(sim.stderr()).not.toMatch(/\n\s+at /);
    },
    90_000,
  );

  it.skipIf(!socatAvailable())(`a device that cannot be opened: one line, exit 3, the ports opened before it closed again (skipped when ${SOCAT_MISSING})`, async () => {
    const p2 = await pair();
    const missing = join(tmp, 'no-such-tty');
    const r = await inProcess(['simulate', 'concentrator', '--master', '127.0.0.1:4000', '--scenario', file('open.json', ONE), '--serial', `2=${p2.b},3=${missing}`]);
    expect(r.code, r.stderr).toBe(3);
    expect(expectOneErrorLine(r)).toBe(`meterlab: --serial 3=${missing}: serial port ${missing} cannot be opened: No such file or directory`);
    // Port 2 was opened first (port order) and closed again: this process can take its lock.
    const again = await openSerialLink({ path: p2.b, line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } });
    await again.close();
  });
});

describe('meterlab simulate concentrator --serial: the scenario night faults still apply', () => {
  it.skipIf(!socatAvailable())(`a planned reboot power-cycles it: the link drops, it logs in again after offMinutes (in process, on a clock at 23:59 UTC+8; skipped when ${SOCAT_MISSING})`, async () => {
    const [p2, p3] = [await pair(), await pair()];
    const st = await Gw1376Station.listen({ clock, port: 0, host: '127.0.0.1' });
    stations.push(st);
    // Night 0's reboot at 00:01, after the first midnight following the start.
    const at = fromCalendar({ year: 2026, month: 12, day: 2, hour: 0, minute: 1, second: 0 }, 480);
    const virtual = new VirtualClock({ start: at - 120_000, autoAdvance: false });
    const path = file('reboot.json', { ...ONE, faults: { reboots: { share: 1, at: '00:01', offMinutes: 3 } } });
    const { err, text, line } = capturedStderr();
    const exit = simulateConcentratorCommand({ master: `127.0.0.1:${st.port}`, scenario: path, serial: [`2=${p2.b},3=${p3.b}`] }, { stdin: Readable.from([]), stdout: new PassThrough(), stderr: err }, virtual);
    await line('meterlab: serving b-0007 3703/7 → ');
    expect(text()).toContain('meterlab: b-0007 3703/7: scenario faults (UTC+8): power cycle at 2026-12-02 00:01 for 3 min');
    const offline = new Promise((resolve) => st.once('offline', resolve));
    await virtual.advanceTo(at);
    await line('b-0007 3703/7: power cycle (scenario fault), off for 3 min');
    await offline;
    await virtual.advanceTo(at + 3 * 60_000);
    await line('again (login 2)');
    await st.waitForTerminal('3703', 7, 5_000);
    process.emit('SIGINT');
    expect(await exit).toBe(0);
    expect(text()).toMatch(/b-0007 3703\/7: 2 login\(s\), 2 dial\(s\) \(0 failed\)/);
    // Stopped: both ports closed again (this process can take their locks).
    for (const p of [p2, p3]) await (await openSerialLink({ path: p.b, line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } })).close();
  });
});

describe('meterlab simulate concentrator --serial, --heartbeat: arguments', () => {
  const one = file('args-one.json', ONE);
  const two = file('args-two.json', TWO);
  const ports = 'port 2 (RS-485, 2400 8E1, DL/T 645 meters), port 3 (RS-485, 2400 8E1, CJ/T 188 meters)';
  const base = ['--master', '127.0.0.1:4000', '--scenario', one];
  it.each([
    [[...base, '--serial', '2=/dev/ttyUSB0'], `meterlab: --serial: concentrator b-0007 has ${ports}: give each of them a serial device and no other port, e.g. --serial 2=/dev/ttyUSB0,3=/dev/ttyUSB1 (missing: port 3)`],
    [[...base, '--serial', '2=/dev/ttyUSB0,3=/dev/ttyUSB1,5=/dev/ttyUSB2'], `meterlab: --serial: concentrator b-0007 has ${ports}: give each of them a serial device and no other port, e.g. --serial 2=/dev/ttyUSB0,3=/dev/ttyUSB1 (not in the scenario: port 5)`],
    [[...base, '--serial', '2=/dev/ttyUSB0', '--serial', '4=/dev/ttyUSB1'], `meterlab: --serial: concentrator b-0007 has ${ports}: give each of them a serial device and no other port, e.g. --serial 2=/dev/ttyUSB0,3=/dev/ttyUSB1 (missing: port 3; not in the scenario: port 4)`],
    [[...base, '--serial', '2=/dev/ttyUSB0,2=/dev/ttyUSB1'], 'meterlab: --serial: port 2 given twice (/dev/ttyUSB0, /dev/ttyUSB1)'],
    [[...base, '--serial', '2=/dev/ttyUSB0,3=/dev/ttyUSB0'], 'meterlab: --serial: ports 2 and 3 both name /dev/ttyUSB0 (a serial device carries one port)'],
    [[...base, '--serial', '/dev/ttyUSB0'], `meterlab: --serial "/dev/ttyUSB0": give <port>=<path>, the concentrator's port number as the scenario numbers it and a serial device, e.g. 2=/dev/ttyUSB0`],
    [[...base, '--serial', '2=/dev/ttyUSB0,'], 'meterlab: --serial "2=/dev/ttyUSB0,": an empty item; give <port>=<path> items, comma-separated, e.g. 2=/dev/ttyUSB0,3=/dev/ttyUSB1'],
    [['--master', '127.0.0.1:4000', '--scenario', two, '--serial', '2=/dev/ttyUSB0'], 'meterlab: --serial runs one concentrator; the scenario has 2 (a-0001 .. a-0002): name one with --concentrator <k>'],
    [['--master', '127.0.0.1:4000', '--scenario', two, '--serial', '2=/dev/ttyUSB0', '--concentrator', '1,2'], 'meterlab: --serial runs one concentrator; --concentrator "1,2" names 2'],
    [['--master', '127.0.0.1:4000', '--scenario', two, '--serial', '2=/dev/ttyUSB0', '--shard', '1/2'], 'meterlab: --serial runs one concentrator: name it with --concentrator <k>, not --shard'],
    [['--master', '127.0.0.1:4000', '--scenario', two, '--serial', '3=/dev/ttyUSB0', '--concentrator', 'a-0002'], 'meterlab: --serial: concentrator a-0002 has port 2 (RS-485, 2400 8E1, DL/T 645 meters): give each of them a serial device and no other port, e.g. --serial 2=/dev/ttyUSB0 (missing: port 2; not in the scenario: port 3)'],
    [[...base, '--heartbeat', '0'], "meterlab: option '--heartbeat <minutes>' argument '0' is invalid. --heartbeat must be between 1 and 255"],
    [[...base, '--heartbeat', '256'], "meterlab: option '--heartbeat <minutes>' argument '256' is invalid. --heartbeat must be between 1 and 255"],
    [[...base, '--heartbeat', '1.5'], "meterlab: option '--heartbeat <minutes>' argument '1.5' is invalid. --heartbeat must be a whole number"],
  ])('%j: one line, exit 2, nothing opened', async (args, message) => {
    const r = await inProcess(['simulate', 'concentrator', ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(expectOneErrorLine(r)).toBe(message);
  });
});
