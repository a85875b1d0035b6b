/**
 * The extension point a second meter protocol uses (protocols.ts, device-profile.ts,
 * openDeviceTarget): a toy protocol registered by the test — a declaration schema, a master, a
 * capture decode and a reference simulator — loads from a profile, opens on every reference
 * transport and over TCP (loopback), and reads through `masters.toy`; the DL/T 645 profiles and
 * targets keep working as before, with `masters.dlt645` the same master as `master`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Clock } from '../core/clock.ts';
import { VirtualClock } from '../core/clock.ts';
import { ProfileError } from '../core/errors.ts';
import { listenTcp } from '../links/tcp.ts';
import { resetMockSerialPorts } from '../links/mock-serial.ts';
import type { Link, LineSettings } from '../links/link.ts';
import { LineSettingsSchema } from '../protocols/dlt645/declaration.ts';
import {
  loadDeviceTargetProfile,
  loadTargetProfile,
  openDeviceTarget,
  openTarget,
  parseDeviceTargetProfile,
  parseTargetProfile,
  referenceTargetProfile,
  registerTargetProtocol,
  targetProtocolIds,
  unregisterTargetProtocol,
  type DeviceTarget,
  type TargetMasterBase,
} from './index.ts';

// ---------------------------------------------------------------------------------------------
// The toy protocol: "?<address>\n" asks a meter for its reading, it answers "=<address>:<litres>\n".

const ToyDeclarationSchema = z
  .object({
    address: z.string().regex(/^[0-9]{8}$/, 'must be 8 digits'),
    line: LineSettingsSchema.default({ baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 }),
    litres: z.number().int().min(0),
  })
  .strict();
type ToyDeclaration = z.output<typeof ToyDeclarationSchema>;

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

class ToyMaster implements TargetMasterBase {
  disposed = false;
  line: LineSettings | undefined;
  constructor(
    private readonly link: Link,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    line: LineSettings | undefined,
  ) {
    this.line = line;
  }
  async read(address: string): Promise<number> {
    return new Promise((resolve, reject) => {
      let got = '';
      const onData = (chunk: Uint8Array): void => {
        got += text(chunk);
        const m = /^=(\d{8}):(\d+)\n$/.exec(got);
        if (m && m[1] === address) {
          this.clock.clearTimeout(timer);
          this.link.off('data', onData);
          resolve(Number(m[2]));
        }
      };
      const timer = this.clock.setTimeout(() => {
        this.link.off('data', onData);
        reject(new Error(`toy: no reply from ${address}`));
      }, this.timeoutMs);
      this.link.on('data', onData);
      this.link.write(bytes(`?${address}\n`)).catch(reject);
    });
  }
  dispose(): void {
    this.disposed = true;
  }
}

declare module './protocols.ts' {
  interface TargetMasters {
    readonly toy?: ToyMaster;
  }
}

/** The toy meter's broken variants: one that adds litres to every reading. */
const ToyDefectSchema = z.discriminatedUnion('name', [z.object({ name: z.literal('add-litres'), litres: z.number().int().min(1) }).strict()]);
type ToyDefect = z.output<typeof ToyDefectSchema>;

/** The toy meter: answers its own address after 30 ms on the injected clock. */
function toySimulator(declaration: ToyDeclaration, link: Link, clock: Clock, defects: readonly ToyDefect[] = []) {
  const extra = defects.reduce((n, d) => n + d.litres, 0);
  let running = true;
  const onData = (chunk: Uint8Array): void => {
    if (text(chunk) !== `?${declaration.address}\n`) return;
    clock.setTimeout(() => {
      if (running && link.isOpen) void link.write(bytes(`=${declaration.address}:${declaration.litres + extra}\n`));
    }, 30);
  };
  link.on('data', onData);
  return {
    backchannel: { kind: 'toy-water-meter' },
    stop: () => {
      running = false;
      link.off('data', onData);
    },
  };
}

beforeAll(() => {
  registerTargetProtocol({
    id: 'toy',
    title: 'Toy 1.0',
    kinds: ['water-meter'],
    declaration: ToyDeclarationSchema,
    lineOf: (d) => d.line,
    addressOf: (d) => d.address,
    describe: (b) => `toy ${JSON.stringify(text(b))}`,
    createMaster: ({ link, clock, settings, line }) => new ToyMaster(link, clock, settings.timeoutMs, line),
    createSimulator: ({ declaration, defects, link, clock }) => toySimulator(declaration, link, clock, defects),
    defects: ToyDefectSchema,
  });
});
afterAll(() => {
  unregisterTargetProtocol('toy');
});

const opened: DeviceTarget[] = [];
afterEach(async () => {
  for (const t of opened.splice(0)) await t.close();
  await resetMockSerialPorts();
});

const toyProfile = (connection: unknown, extra: Record<string, unknown> = {}) => ({
  name: 'toy-1',
  device: { kind: 'water-meter', protocol: 'toy', declaration: { address: '00001234', litres: 4711 } },
  connection,
  master: { timeoutMs: 500, attempts: 1, preamble: 0 },
  ...extra,
});

describe('a registered protocol opens as a target', () => {
  it('lists the built-in DL/T 645 entry and the registered one', () => {
    expect(targetProtocolIds()).toEqual(['dlt645', 'cjt188', 'mbus', 'converter', 'gw1376', 'toy']);
    expect(() => registerTargetProtocol({ id: 'toy' } as never)).toThrow(/registered twice/);
  });

  it.each(['bus', 'mock-serial', 'memory'] as const)('reads through masters.toy on a reference target over %s, captures decoded by the protocol', async (transport) => {
    const profile = parseDeviceTargetProfile(toyProfile({ type: 'reference', transport }));
    expect(profile.device).toEqual({ kind: 'water-meter', protocol: 'toy', declaration: { address: '00001234', litres: 4711, line: { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 } } });
    const t = await openDeviceTarget(profile, { clock: new VirtualClock() });
    opened.push(t);
    expect(t.masters.toy).toBeInstanceOf(ToyMaster);
    expect(t.masters.dlt645).toBeUndefined();
    expect('master' in t).toBe(false);
    expect(t.backchannel).toEqual({ kind: 'toy-water-meter' });
    await expect(t.masters.toy!.read('00001234')).resolves.toBe(4711);
    await expect(t.masters.toy!.read('00009999')).rejects.toThrow(/no reply/);
    t.flushCaptures();
    expect(t.captures.map((c) => `${c.dir} ${c.decode}`).slice(0, 2)).toEqual(['tx toy "?00001234\\n"', 'rx toy "=00001234:4711\\n"']);
    await t.close();
    expect(t.masters.toy!.disposed).toBe(true);
    expect((t.clock as VirtualClock).pendingTimers).toBe(0);
  });

  it('builds a broken variant from connection.defects, validated by the entry; DL/T 645 keeps behaviours', async () => {
    const profile = parseDeviceTargetProfile(toyProfile({ type: 'reference', transport: 'memory', defects: [{ name: 'add-litres', litres: 5 }] }));
    expect(profile.connection).toMatchObject({ type: 'reference', defects: [{ name: 'add-litres', litres: 5 }] });
    const t = await openDeviceTarget(profile, { clock: new VirtualClock() });
    opened.push(t);
    await expect(t.masters.toy!.read('00001234')).resolves.toBe(4716);
    const fails = (connection: unknown): string => {
      try {
        parseDeviceTargetProfile(toyProfile(connection), { source: 'toy.json' });
      } catch (e) {
        return (e as Error).message;
      }
      return 'loaded';
    };
    expect(fails({ type: 'reference', defects: [{ name: 'add-litres', litres: 5 }, { name: 'add-litres', litres: 0 }] })).toMatch(
      /^target profile toy\.json: connection\.defects\[1\]\.litres: /,
    );
    expect(fails({ type: 'reference', defects: [{ name: 'deaf' }] })).toMatch(/^target profile toy\.json: connection\.defects\[0\]\.name: /);
    expect(() => parseTargetProfile({ name: 'r', connection: { type: 'reference', defects: [{ name: 'x' }] } }, { source: 'r.json' })).toThrow(
      /^target profile r\.json: connection\.defects: a DL\/T 645 reference meter's broken variants are `behaviours`/,
    );
  });

  it('opens over TCP (loopback) with the declared line for timing', async () => {
    const server = await listenTcp({ host: '127.0.0.1', port: 0 });
    server.on('connection', (link: Link) => {
      link.on('data', (chunk: Uint8Array) => {
        if (text(chunk) === '?00001234\n') void link.write(bytes('=00001234:17\n'));
      });
    });
    try {
      const t = await openDeviceTarget(parseDeviceTargetProfile(toyProfile({ type: 'tcp', host: '127.0.0.1', port: server.port })));
      opened.push(t);
      expect(t.kind).toBe('tcp');
      expect(t.masters.toy!.line?.baudRate).toBe(2400);
      await expect(t.masters.toy!.read('00001234')).resolves.toBe(17);
    } finally {
      for (const t of opened.splice(0)) await t.close();
      await server.close();
    }
  });
});

describe('profiles of a registered protocol', () => {
  const fails = (doc: unknown) => {
    try {
      parseDeviceTargetProfile(doc, { source: 'toy.json' });
    } catch (e) {
      expect(e).toBeInstanceOf(ProfileError);
      return (e as Error).message;
    }
    throw new Error('expected a ProfileError');
  };

  it('names the bad declaration field under device.declaration', () => {
    expect(fails(toyProfile({ type: 'memory' }))).toMatch(/^target profile toy\.json: connection\.type: Invalid discriminator value/);
    const bad = toyProfile({ type: 'reference', transport: 'memory' });
    bad.device.declaration.address = '12';
    expect(fails(bad)).toBe('target profile toy.json: device.declaration.address: must be 8 digits');
  });

  it('refuses an unknown protocol, a kind the protocol does not read, and the DL/T 645 fields', () => {
    const unknown = toyProfile({ type: 'reference' });
    unknown.device.protocol = 'nope';
    expect(fails(unknown)).toBe('target profile toy.json: device.protocol: no protocol "nope" is registered (known: dlt645, cjt188, mbus, converter, gw1376, toy)');
    const kind = toyProfile({ type: 'reference' });
    kind.device.kind = 'heat-meter';
    expect(fails(kind)).toBe('target profile toy.json: device.kind: Toy 1.0 reads water-meter, not a heat-meter');
    expect(fails(toyProfile({ type: 'reference' }, { meter: referenceTargetProfile().meter }))).toMatch(/meter: is the DL\/T 645 meter declaration; a toy device declares itself in device\.declaration/);
    expect(fails(toyProfile({ type: 'reference', behaviours: [{ name: 'late-reply' }] }))).toMatch(/connection\.behaviours: applies to DL\/T 645 reference targets only/);
    expect(fails(toyProfile({ type: 'reference' }, { allowDestructive: { meterClear: true } }))).toMatch(/allowDestructive: applies to DL\/T 645 targets only/);
    const noDecl = toyProfile({ type: 'reference' });
    delete (noDecl.device as { declaration?: unknown }).declaration;
    expect(fails(noDecl)).toMatch(/device\.declaration: a toy target must declare its device/);
  });

  it('is not a DL/T 645 profile: loadTargetProfile says where to load it', () => {
    expect(() => parseTargetProfile(toyProfile({ type: 'reference' }), { source: 'toy.json' })).toThrow(
      /^target profile toy\.json: device\.protocol: "toy" is not DL\/T 645; load it with loadDeviceTargetProfile/,
    );
  });

  it('a DL/T 645 profile may name its device, but only as an electricity meter declared in "meter"', () => {
    const ok = parseTargetProfile({ name: 'r', device: { kind: 'electricity-meter', protocol: 'dlt645' }, connection: { type: 'reference' } });
    expect(ok.device.declaration).toBe(ok.meter);
    expect(() => parseTargetProfile({ name: 'r', device: { kind: 'water-meter', protocol: 'dlt645' }, connection: { type: 'reference' } })).toThrow(
      /device\.kind: DL\/T 645 reads electricity meters, not a water-meter/,
    );
    expect(() => parseTargetProfile({ name: 'r', device: { kind: 'electricity-meter', protocol: 'dlt645', declaration: {} }, connection: { type: 'reference' } })).toThrow(
      /device\.declaration: a DL\/T 645 meter is declared in "meter", not here/,
    );
  });
});

describe('DL/T 645 targets through the general shape', () => {
  it('every checked-in profile loads as a DL/T 645 electricity meter through both loaders (other protocols: loadDeviceTargetProfile only)', () => {
    const dir = join(import.meta.dirname, '..', '..', 'suites', 'profiles');
    const all = readdirSync(dir).filter((f) => f.endsWith('.json'));
    const protocolOf = (f: string): string => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { device?: { protocol?: string } }).device?.protocol ?? 'dlt645';
    for (const f of all.filter((x) => protocolOf(x) !== 'dlt645')) expect(loadDeviceTargetProfile(join(dir, f)).device.protocol).toBe(protocolOf(f));
    const files = all.filter((f) => protocolOf(f) === 'dlt645');
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const protocol = (JSON.parse(readFileSync(join(dir, f), 'utf8')) as { device?: { protocol?: string } }).device?.protocol ?? 'dlt645';
      if (protocol !== 'dlt645') {
        expect(loadDeviceTargetProfile(join(dir, f)).device.protocol).toBe(protocol);
        expect(() => loadTargetProfile(join(dir, f))).toThrow(/is not DL\/T 645; load it with loadDeviceTargetProfile/);
        continue;
      }
      const a = loadTargetProfile(join(dir, f));
      const b = loadDeviceTargetProfile(join(dir, f));
      expect(a.device).toEqual({ kind: 'electricity-meter', protocol: 'dlt645', declaration: a.meter });
      expect(b).toEqual(a);
    }
  });

  it('masters.dlt645 is the master; openDeviceTarget opens a DL/T 645 profile as openTarget does', async () => {
    const t = await openTarget(referenceTargetProfile({ transport: 'memory' }));
    opened.push(t);
    expect(t.masters.dlt645).toBe(t.master);
    await expect(t.master.readAddress()).resolves.toBe(t.profile.meter.address);
    const d = await openDeviceTarget(referenceTargetProfile({ transport: 'memory' }));
    opened.push(d);
    expect(d.masters.dlt645).toBeDefined();
    await expect(d.masters.dlt645!.readAddress()).resolves.toBe(t.profile.meter.address);
  });
});
