/**
 * Presence check and pre-flight: each broken variant that hides the meter is told apart (silent,
 * answering from another address, answering garbage), a dead meter costs two timeouts, and the
 * pre-flight passes a live meter behind a loopback TCP server and stops a dead one.
 */
import { createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { listenTcp } from '../links/tcp.ts';
import { REFERENCE_METER_PROFILE, createElectricityMeter, type ElectricityMeter } from '../../simulators/electricity-meter/index.ts';
import { createHeatMeter } from '../../simulators/heat-meter/index.ts';
import { manufacturerValue } from '../protocols/mbus/index.ts';
import {
  PreflightError,
  checkMeterPresence,
  openTarget,
  ordinaryIdentifier,
  parseTargetProfile,
  loadDeviceTargetProfile,
  parseDeviceTargetProfile,
  preflight,
  preflightDevice,
  preflightMessage,
  referenceTargetProfile,
  type Target,
} from './index.ts';

const open: Target[] = [];
async function referenceWith(...behaviours: { name: string }[]): Promise<Target> {
  const t = await openTarget(referenceTargetProfile({ behaviours }), { describe: false });
  open.push(t);
  return t;
}
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

describe('checkMeterPresence', () => {
  it('a conformant meter is answering after one read', async () => {
    const t = await referenceWith();
    const p = await checkMeterPresence(t);
    expect(p).toEqual({ state: 'answering', detail: 'a read of 00010000 at 123456789012 was answered' });
    expect(t.captures.filter((c) => c.dir === 'tx')).toHaveLength(1);
  });

  it('a silent meter costs one attempt of each request (two timeouts) and is silent', async () => {
    const t = await referenceWith({ name: 'silent' });
    const start = t.clock.now();
    const p = await checkMeterPresence(t);
    expect(p).toEqual({
      state: 'silent',
      detail: 'a read of 00010000 at 123456789012 got no reply within 3000 ms; nor did a read address (13H) at AAAAAAAAAAAA',
    });
    expect(t.clock.now() - start).toBeLessThan(2 * 3000 + 500);
  });

  it('a meter keeping its address in nameplate order is misaddressed, with the byte-order hint', async () => {
    const t = await referenceWith({ name: 'address-nameplate-order' });
    const p = await checkMeterPresence(t);
    expect(p.state).toBe('misaddressed');
    expect(p.seenAddress).toBe('129078563412');
    expect(p.hint).toBe(
      'the meter answers with its address in nameplate byte order: it sends 12 34 56 78 90 12 (read as 129078563412), ' +
        'the declared 123456789012 as printed, where DL/T 645 sends the low byte first (12 90 78 56 34 12)',
    );
  });

  it('a meter answering from a foreign address is misaddressed without a byte-order hint', async () => {
    const t = await referenceWith({ name: 'wrong-address-reply' });
    const p = await checkMeterPresence(t);
    expect(p).toMatchObject({ state: 'misaddressed', seenAddress: '123456789013' });
    expect(p.hint).toBeUndefined();
    expect(p.detail).toBe('a read of 00010000 at 123456789012 was answered from 123456789013 instead');
  });

  it('a meter whose replies fail their checksum is garbled', async () => {
    const t = await referenceWith({ name: 'wrong-checksum' });
    const p = await checkMeterPresence(t);
    expect(p.state).toBe('garbled');
    expect(p.detail).toMatch(/^a read of 00010000 at 123456789012 was answered with 1 byte run\(s\) that are no valid frame \(dlt645\.checksum: /);
  });

  it('an abnormal reply is an answer', async () => {
    const profile = referenceTargetProfile();
    // Declare (for the read only) an identifier the meter refuses: D1H is still the meter talking.
    const t = await openTarget({ ...profile, meter: { ...profile.meter, identifiers: ['03010000'] } }, { describe: false });
    open.push(t);
    expect(ordinaryIdentifier(t.profile)).toBe('03010000');
    expect((await checkMeterPresence(t)).state).toBe('answering');
  });
});

describe('preflightMessage', () => {
  it('names the wiring, line settings and address for a silent meter, and the serial server for TCP', () => {
    const profile = parseTargetProfile({
      name: 'x',
      connection: { type: 'serial', path: '/dev/ttyUSB7' },
      meter: { address: '000000000001', identifiers: ['00010000'] },
    });
    const line = preflightMessage(profile, { state: 'silent', detail: 'nothing came back' }, 'my-meter.json');
    expect(line).toBe(
      'no answer from the meter on /dev/ttyUSB7: nothing came back; check the wiring (A and B swapped? meter powered? adapter on the right port?), ' +
        'the line settings (meter.line declares 2400 8E1: baud rate and parity must match the meter) and the address (meter.address 000000000001) ' +
        '(target profile my-meter.json)',
    );
    expect(line).not.toContain('\n');
    const garbled = preflightMessage(profile, { state: 'garbled', detail: 'bytes' }, 'p.json');
    expect(garbled).toContain('a wrong baud rate or parity garbles every byte');
  });
});

describe('preflight over TCP (loopback, real time)', () => {
  const meter = REFERENCE_METER_PROFILE.meter;

  it('passes a live meter behind a TCP server and lets go of the connection', async () => {
    const clock = new RealClock();
    const listener = await listenTcp({ port: 0 });
    const served: ElectricityMeter[] = [];
    listener.on('connection', (link) => served.push(createElectricityMeter({ profile: REFERENCE_METER_PROFILE, link, clock })));
    try {
      const profile = parseTargetProfile({ name: 'live', connection: { type: 'tcp', host: '127.0.0.1', port: listener.port }, meter });
      await expect(preflight(profile)).resolves.toMatchObject({ state: 'answering' });
      expect(served).toHaveLength(1);
      // The server sees the pre-flight's connection close (a one-client serial server is free again).
      await vi.waitFor(() => expect(listener.connections).toHaveLength(0), { timeout: 5000 });
    } finally {
      for (const m of served) m.stop();
      await listener.close();
    }
  });

  it('stops a TCP server that accepts and never answers with one line', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('data', () => undefined);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const port = (server.address() as { port: number }).port;
    try {
      const profile = parseTargetProfile({ name: 'dead', connection: { type: 'tcp', host: '127.0.0.1', port }, meter });
      const e = await preflight(profile, { source: 'dead.json', timeoutMs: 150 }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PreflightError);
      expect((e as PreflightError).code).toBe('preflight');
      expect((e as PreflightError).message).toMatch(
        /^no answer from the meter behind the serial server 127\.0\.0\.1:\d+: a read of 00010000 at 123456789012 got no reply within 150 ms; nor did a read address \(13H\) at AAAAAAAAAAAA; .*serial server's port settings.*\(target profile dead\.json\)$/,
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    }
  });

  it('works on a virtual clock too (the reference target, silent): the PreflightError names the reference simulator', async () => {
    const profile = referenceTargetProfile({ behaviours: [{ name: 'silent' }] });
    const clock = new VirtualClock();
    const target = await openTarget(profile, { clock, describe: false });
    open.push(target);
    const p = await checkMeterPresence(target);
    expect(preflightMessage(profile, p)).toMatch(/^no answer from the meter on the reference simulator: /);
  });
});

describe('preflight of the other protocols (loopback TCP, real time)', () => {
  const silentServer = async (): Promise<{ port: number; close(): Promise<void> }> => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.on('data', () => undefined);
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return {
      port: (server.address() as { port: number }).port,
      close: async () => {
        for (const s of sockets) s.destroy();
        await new Promise<void>((done) => server.close(() => done()));
      },
    };
  };
  const heat = { primaryAddress: 5, secondary: { id: '12345678', manufacturer: 'MLB', version: 1 } };

  it('passes a live M-Bus heat meter and stops a silent one, naming what it sent', async () => {
    const clock = new RealClock();
    const listener = await listenTcp({ port: 0 });
    const served: { stop(): void }[] = [];
    listener.on('connection', (link) =>
      served.push(createHeatMeter({ link, clock, seed: 1, primaryAddress: 5, identity: { id: '12345678', manufacturer: manufacturerValue('MLB'), version: 1, medium: 4 } })),
    );
    const dead = await silentServer();
    try {
      const live = parseDeviceTargetProfile({ name: 'heat', device: { kind: 'heat-meter', protocol: 'mbus', declaration: heat }, connection: { type: 'tcp', host: '127.0.0.1', port: listener.port } });
      await expect(preflightDevice(live)).resolves.toMatchObject({ state: 'answering', detail: 'SND_NKE at 5 answered' });
      const profile = parseDeviceTargetProfile({ name: 'heat', device: { kind: 'heat-meter', protocol: 'mbus', declaration: heat }, connection: { type: 'tcp', host: '127.0.0.1', port: dead.port } });
      const e = await preflightDevice(profile, { source: 'heat.json' }).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(PreflightError);
      expect((e as Error).message).toBe(
        `no answer from the heat meter behind the serial server 127.0.0.1:${dead.port}: no E5 to SND_NKE at 5 and no reply to REQ_UD2 at 254; ` +
          "check the wiring, the line settings (device.declaration.line 2400 8E1, and the serial server's port settings) and the address (mbus-5) (target profile heat.json)",
      );
    } finally {
      for (const m of served) m.stop();
      await listener.close();
      await dead.close();
    }
  });

  it('stops a silent CJ/T 188 water meter and a converter none of whose meters answers', async () => {
    const dead = await silentServer();
    try {
      const water = parseDeviceTargetProfile({
        name: 'water',
        device: { kind: 'water-meter', protocol: 'cjt188', declaration: { meter: 'cold-water', address: '00000000000042', identifiers: ['901F'] } },
        connection: { type: 'tcp', host: '127.0.0.1', port: dead.port },
        master: { timeoutMs: 200, attempts: 1, preamble: 4 },
      });
      await expect(preflightDevice(water, { source: 'water.json' })).rejects.toThrow(/^no answer from the water meter behind the serial server 127\.0\.0\.1:\d+: no reply to 901F at 00000000000042 nor to 03H at AA…AA/);
      const converter = loadDeviceTargetProfile(new URL('../../suites/profiles/reference-interface-converter.json', import.meta.url).pathname);
      const behind = { ...converter, connection: { type: 'tcp' as const, host: '127.0.0.1', port: dead.port }, master: { ...converter.master, timeoutMs: 200 } };
      await expect(preflightDevice(behind, { source: 'conv.json' })).rejects.toThrow(/^no answer from the interface converter behind the serial server .*: no answer through the converter from archived meter\(s\) \d{12,14}, \d{12,14} \(one read each\)/);
    } finally {
      await dead.close();
    }
  }, 60_000);
});
