/**
 * A vendor's concentrator as a target (`connection.type "listen"`, `device.declaration.vendor`):
 * who may dial in, what a wrong or missing port wiring says, that a failed adapter leaves nothing
 * open, and that an adapter takes the concentrator's place on the meters' bus both ways (here TCP
 * serial servers stand in for the adapters: the pty path is suites/collection/concentrator-over-pty.test.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ShiftedRealClock } from '../core/clock.ts';
import { listenTcp } from '../links/tcp.ts';
import { decode as decodeDlt645, encodeMessage as encodeDlt645 } from '../protocols/dlt645/messages.ts';
import { loadDeviceTargetProfile, parseDeviceTargetProfile } from './device-profile.ts';
import type { ConcentratorCounterpart } from './gw1376-protocol.ts';
import { scenarioOf } from './gw1376-protocol.ts';
import { openDeviceTarget, type DeviceTarget } from './target.ts';

const dir = mkdtempSync(join(tmpdir(), 'meterlab-vendor-concentrator-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const concentrator = (vendor: object | undefined, connection: object = { type: 'listen', port: 0 }) => ({
  name: 'vendor-concentrator',
  device: {
    kind: 'concentrator',
    protocol: 'gw1376',
    declaration: { terminal: { areaCode: '3701', address: 1 }, meters: { scenario: 'serial-bench', concentrator: 1 }, ...(vendor ? { vendor } : {}) },
  },
  connection,
});
function profileFile(json: object): string {
  const file = join(dir, `p-${closers.length}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(json));
  return file;
}
async function open(json: object): Promise<DeviceTarget> {
  const profile = loadDeviceTargetProfile(profileFile(json));
  const clock = new ShiftedRealClock({ start: scenarioOf(profile.device.declaration as never).startMs });
  closers.push(() => clock.dispose());
  const t = await openDeviceTarget(profile, { clock });
  closers.push(() => t.close());
  return t;
}

/** A TCP serial server stand-in: the first client's socket. */
async function serialServer(): Promise<{ port: number; client: Promise<Socket>; server: Server }> {
  const server = createServer();
  const client = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, client, server };
}

describe('who dials in', () => {
  it('a concentrator may; a DL/T 645 meter and a master station may not', () => {
    expect(parseDeviceTargetProfile(concentrator({ ports: { '2': { path: '/dev/x' } } })).connection).toEqual({ type: 'listen', host: '127.0.0.1', port: 0 });
    expect(() => parseDeviceTargetProfile({ name: 'm', connection: { type: 'listen', port: 7001 }, meter: { address: '000000000001', identifiers: ['00010000'] } })).toThrow(
      /connection\.type: "listen" is for a device that dials MeterLab \(a concentrator's uplink\); a DL\/T 645 meter is reached over "serial" or "tcp"/,
    );
    expect(() => parseDeviceTargetProfile({ name: 's', device: { kind: 'master-station', protocol: 'gw1376', declaration: {} }, connection: { type: 'listen', port: 7001 } })).toThrow(
      /connection\.type: "listen" is for a device that dials MeterLab .*a master-station read over Q\/GDW 1376\.1/,
    );
    expect(() => parseDeviceTargetProfile(concentrator({ ports: { two: { path: '/dev/x' } } }))).toThrow(/device\.declaration\.vendor\.ports\.two: not a 1376\.1 port number/);
    expect(() => parseDeviceTargetProfile(concentrator({ ports: {}, time: { mode: 'skip', quietSeconds: 0 } }))).toThrow(/device\.declaration\.vendor\.time\.quietSeconds/);
  });

  it('the vendor block defaults to skipping quiet stretches (90 s, 30 min steps, 2 min lead)', () => {
    const p = parseDeviceTargetProfile(concentrator({ ports: { '2': { path: '/dev/x' } } }));
    expect((p.device.declaration as { vendor: unknown }).vendor).toEqual({ ports: { '2': { path: '/dev/x' } }, time: { mode: 'skip', quietSeconds: 90, stepMinutes: 30, leadMinutes: 2 } });
  });
});

describe('opening a vendor concentrator target', () => {
  it('without vendor.ports: one message naming the field', async () => {
    await expect(open(concentrator(undefined))).rejects.toThrow(/^target profile .*: device\.declaration\.vendor: a concentrator that dials in needs vendor\.ports/);
  });

  it("a port left out or unknown: one message listing the scenario's ports", async () => {
    await expect(open(concentrator({ ports: { '2': { path: '/dev/x' }, '9': { path: '/dev/y' } } }))).rejects.toThrow(
      /device\.declaration\.vendor\.ports: no adapter for port 3 \(RS-485, 2400 8E1, CJ\/T 188 meters\), port 4 \(M-Bus, 2400 8E1, M-Bus meters\); port 9: the scenario's concentrator has no such port \(its ports: port 2 \(RS-485, 2400 8E1, DL\/T 645 meters\), port 3 .*, port 4 .*\)/,
    );
  });

  it('a port key is taken as written: "02" is no port of the plan, and port 2 is then missing', async () => {
    await expect(open(concentrator({ ports: { '02': { path: '/dev/x' }, '3': { path: '/dev/y' }, '4': { path: '/dev/z' } } }))).rejects.toThrow(
      /device\.declaration\.vendor\.ports: no adapter for port 2 \(RS-485, 2400 8E1, DL\/T 645 meters\); port 02: the scenario's concentrator has no such port/,
    );
  });

  it('an adapter that cannot be opened: a LinkError naming its field; what was opened is closed and nothing listens', async () => {
    const s2 = await serialServer();
    const taken = await listenTcp({ port: 0 });
    const port = taken.port;
    await taken.close();
    await expect(
      open(concentrator({ ports: { '2': { host: '127.0.0.1', port: s2.port }, '3': { path: join(dir, 'no-such-adapter') }, '4': { path: '/dev/null' } } }, { type: 'listen', port })),
    ).rejects.toThrow(/^target profile .*: device\.declaration\.vendor\.ports\.3: serial port .*no-such-adapter cannot be opened/);
    // The port-2 serial server saw its client come and go; MeterLab never listened.
    const c = await s2.client;
    await new Promise<void>((r) => (c.destroyed || c.readableEnded ? r() : c.once('close', () => r())));
    const again = await listenTcp({ port });
    await again.close();
  });

  it("an adapter takes the concentrator's place on the meters' bus: a request written to it is answered by the meter", async () => {
    const servers = [await serialServer(), await serialServer(), await serialServer()];
    const t = await open(concentrator({ ports: Object.fromEntries([2, 3, 4].map((p, i) => [String(p), { host: '127.0.0.1', port: servers[i]!.port }])) }));
    expect(t.kind).toBe('listen');
    expect(t.listener?.port).toBeGreaterThan(0);
    const c = t.counterpart!.backchannel as ConcentratorCounterpart;
    expect(c.adapters.map((a) => a.port)).toEqual([2, 3, 4]);
    const meter = c.world.archive.find((p) => p.protocol === 'dlt645-2007')!;
    // What the concentrator would send on RS-485 1, through the adapter: read 00010000 of the meter.
    const socket = await servers[0]!.client;
    const reply = new Promise<Uint8Array>((resolve) => {
      let got = Buffer.alloc(0);
      socket.on('data', (b: Buffer) => {
        got = Buffer.concat([got, b]);
        const d = decodeDlt645(Uint8Array.from(got));
        if (d.ok) resolve(Uint8Array.from(got));
      });
    });
    socket.write(encodeDlt645(meter.address, { kind: 'readData', di: '00010000', extra: new Uint8Array(0) }));
    const d = decodeDlt645(await reply);
    expect(d.ok && d.value.frame.address).toBe(meter.address);
    expect(d.ok && d.value.frame.control.isResponse).toBe(true);
  });
});
