/**
 * Discovery against simulated meters on the RS-485 bus model, in virtual time: the bus garbles
 * characters sent at other line settings (bus.ts), so line discovery is tested as on a real wire.
 * Also over a real TCP loopback connection (fixed line), and the draft profile it produces.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import { Rs485Bus, type BusNode } from '../links/bus.ts';
import { listenTcp, type TcpListener } from '../links/tcp.ts';
import { formatLine, type LineSettings } from '../links/link.ts';
import { encodeMessage } from '../protocols/dlt645/index.ts';
import { DICTIONARY } from '../protocols/dlt645/dictionary.ts';
import {
  REFERENCE_METER_PROFILE,
  REFERENCE_METER_PROFILE_INPUT,
  createElectricityMeter,
  loadSimulatorProfile,
  type ElectricityMeter,
  type MeterBehaviour,
  type SimulatorProfile,
} from '../../simulators/electricity-meter/index.ts';
import { REFERENCE_FOLLOW_UP_IDENTIFIERS, REFERENCE_IDENTIFIERS } from '../../simulators/electricity-meter/reference-identifiers.ts';
import {
  DiscoveryError,
  defaultUnsupportedIdentifier,
  discoverMeter,
  linkDiscoveryPort,
  lineCandidates,
  reverseAddressBytes,
  serialDiscoveryPort,
  tcpDiscoveryPort,
  type DiscoverOptions,
  type Discovery,
  type DiscoveryProgress,
} from './discover.ts';
import { draftTargetProfile } from './draft-profile.ts';
import { parseTargetProfile } from './profile.ts';

const ADDRESS = REFERENCE_METER_PROFILE.meter.address; // 123456789012
const LINE_8E1_2400: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };
const LINE_8N1_9600: LineSettings = { baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1 };
/** A few families for the tests that are about the line or the address, not the identifier scan. */
const FEW = ['0001', '04000401'];

function simulator(changes: { address?: string; line?: LineSettings; simulation?: Record<string, unknown>; behaviours?: unknown[] } = {}): SimulatorProfile {
  const base = structuredClone(REFERENCE_METER_PROFILE_INPUT) as { meter: Record<string, unknown>; simulation: Record<string, unknown>; behaviours?: unknown[] };
  return loadSimulatorProfile(
    {
      ...base,
      meter: { ...base.meter, ...(changes.address ? { address: changes.address } : {}), ...(changes.line ? { line: changes.line } : {}) },
      simulation: { ...base.simulation, ...changes.simulation },
      behaviours: changes.behaviours ?? base.behaviours ?? [],
    },
    'test simulator',
  );
}

interface Rig {
  readonly clock: VirtualClock;
  readonly bus: Rs485Bus;
  readonly masterNode: BusNode;
  readonly meters: ElectricityMeter[];
  discover(options?: Partial<DiscoverOptions>): Promise<Discovery>;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

/** Meters on a bus (each at its own line), the master's adapter on the same bus. */
function rig(profiles: readonly SimulatorProfile[] = [REFERENCE_METER_PROFILE]): Rig {
  const clock = new VirtualClock();
  const bus = new Rs485Bus({ clock, name: 'rs485' });
  const meters = profiles.map((p, i) =>
    createElectricityMeter({ profile: p, link: bus.attach(`meter-${i}`, { line: p.meter.line }), clock, seed: 1 + i }),
  );
  const masterNode = bus.attach('master');
  cleanup.push(async () => {
    for (const m of meters) m.stop();
    await bus.close();
  });
  return {
    clock,
    bus,
    masterNode,
    meters,
    discover: (options = {}) =>
      discoverMeter({ port: linkDiscoveryPort(masterNode, { description: 'bus', setLine: (l) => masterNode.setLine(l) }), clock, ...options }),
  };
}

describe('line settings', () => {
  it('tries 2400 8E1 first, even parity at every rate before no parity, and finds a meter at 9600 8N1', async () => {
    const r = rig([simulator({ line: LINE_8N1_9600 })]);
    const progress: DiscoveryProgress[] = [];
    const d = await r.discover({ prefixes: FEW, onProgress: (p) => progress.push(p) });
    expect(d.line).toEqual(LINE_8N1_9600);
    expect(d.address).toBe(ADDRESS);
    const order = d.lineTrials.map((t) => formatLine(t.line!));
    expect(order).toEqual(['2400 8E1', '1200 8E1', '4800 8E1', '9600 8E1', '19200 8E1', '2400 8N1', '1200 8N1', '4800 8N1', '9600 8N1']);
    expect(d.lineTrials.slice(0, -1).every((t) => t.outcome !== 'reply')).toBe(true);
    expect(d.lineTrials.at(-1)!.outcome).toBe('reply');
    // The meter did hear garbled characters at the wrong settings (the bus model samples them).
    expect(r.bus.stats.garbledBytes).toBeGreaterThan(0);
    expect(progress.filter((p) => p.phase === 'line')).toHaveLength(9);
    expect(d.supported).toContain('00010000');
  });

  it('honours the rates and parities it is given, in that order', () => {
    expect(lineCandidates([9600, 2400], ['none']).map(formatLine)).toEqual(['9600 8N1', '2400 8N1']);
  });

  it('on a dead line says nothing was found and names every line setting it tried', async () => {
    const r = rig([]);
    const started = r.clock.now();
    const e = await r.discover({ prefixes: FEW }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DiscoveryError);
    const message = (e as Error).message;
    expect(message).toMatch(/^no meter answered read address \(13H\) to AAAAAAAAAAAA on bus at 2400 8E1, 1200 8E1, 4800 8E1, 9600 8E1, 19200 8E1, 2400 8N1, .*19200 8O1 \(15 line setting\(s\)/);
    expect(message).toMatch(/--address/);
    // 15 windows of about a second each, not identifiers × timeout.
    expect(r.clock.now() - started).toBeLessThan(20_000);
  });

  it('two meters answering the wildcard at once: says so and asks for one meter or --address', async () => {
    const r = rig([simulator({ address: '000000000001' }), simulator({ address: '000000000002' })]);
    const e = await r.discover({ prefixes: FEW }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DiscoveryError);
    expect((e as Error).message).toMatch(/several meters|collide/);
    expect((e as Error).message).toMatch(/connect one meter only, or give .*--address/);
    expect(r.bus.stats.collisions).toBeGreaterThan(0);
  });

  it('two meters with different response delays: names both addresses', async () => {
    const r = rig([simulator({ address: '000000000001' }), simulator({ address: '000000000002', simulation: { responseDelayMs: 300 } })]);
    const e = await r.discover({ prefixes: FEW }).catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/several meters answered on bus at 2400 8E1: 000000000001, 000000000002/);
  });

  it('with --address on a bus of two meters, finds the line and discovers that meter only', async () => {
    const r = rig([simulator({ address: '000000000001' }), simulator({ address: '000000000002', line: LINE_8E1_2400 })]);
    const d = await r.discover({ prefixes: FEW, address: '000000000002' });
    expect(d.address).toBe('000000000002');
    expect(d.addressFrom).toBe('given');
    expect(d.line).toEqual(LINE_8E1_2400);
    expect(d.notes.join('\n')).toMatch(/read address \(13H\) to the wildcard: .*several meters on the bus/);
  });
});

describe('address and byte order', () => {
  it('a meter that keeps its address in nameplate byte order, given the nameplate address: the reversed one is used and named', async () => {
    // Nameplate 123456789012; the meter holds the bytes 12 34 56 78 90 12 in wire order, i.e. answers 129078563412.
    const onWire = reverseAddressBytes(ADDRESS);
    expect(onWire).toBe('129078563412');
    const r = rig([simulator({ address: onWire })]);
    const d = await r.discover({ prefixes: FEW, address: ADDRESS });
    expect(d.address).toBe(onWire);
    expect(d.addressNotes.join('\n')).toMatch(/byte order: the meter does not answer 123456789012 but answers 129078563412, the same bytes reversed/);
  });

  it('found through the wildcard, the summary offers the reversed reading of the address for a nameplate check', async () => {
    const r = rig();
    const d = await r.discover({ prefixes: FEW });
    expect(d.address).toBe(ADDRESS);
    expect(d.addressFrom).toBe('wildcard');
    expect(d.addressNotes.join('\n')).toMatch(/if the nameplate reads 129078563412, the meter keeps its address in nameplate byte order/);
  });

  it('13H data and frame address in opposite byte orders: reported, and the address the meter answers to is used', async () => {
    const reversedData: MeterBehaviour = {
      name: 'reversed-13h-data',
      description: 'puts its address in the 13H data in the opposite byte order',
      onRequest: (ctx, request) =>
        request.message?.kind === 'readAddress'
          ? { reply: ctx.encodeReply({ kind: 'readAddressResponse', address: reverseAddressBytes(ctx.model.address) }) }
          : 'continue',
    };
    const r = rig();
    r.meters[0]!.server.pushBehaviour(reversedData);
    const d = await r.discover({ prefixes: FEW });
    expect(d.address).toBe(ADDRESS);
    expect(d.addressNotes.join('\n')).toMatch(/byte order: the 13H reply's frame address is 123456789012 but its data holds 129078563412, the same bytes reversed/);
  });

  it('a meter that also answers its address reversed: reported as a deviation', async () => {
    const eitherOrder: MeterBehaviour = {
      name: 'either-byte-order',
      description: 'answers its address in either byte order',
      onRequest: (ctx, request) =>
        request.frame.address === reverseAddressBytes(ctx.model.address) ? { reply: ctx.respond({ acceptForeignAddress: true }) } : 'continue',
    };
    const r = rig();
    r.meters[0]!.server.pushBehaviour(eitherOrder);
    const d = await r.discover({ prefixes: FEW });
    expect(d.address).toBe(ADDRESS);
    expect(d.addressNotes.join('\n')).toMatch(/byte order: the meter also answers reads addressed to 129078563412, its address with the bytes reversed \(replying from 123456789012\)/);
  });

  it('a meter that echoes the wildcard: the address comes from the 13H data and the deviation is noted', async () => {
    const r = rig([simulator({ behaviours: [{ name: 'echo-wildcard' }] })]);
    const d = await r.discover({ prefixes: FEW });
    expect(d.address).toBe(ADDRESS);
    expect(d.notes.join('\n')).toMatch(/13H reply carries AAAAAAAAAAAA as its frame address/);
    expect(d.notes.join('\n')).toMatch(/answered with the wildcard as the reply address/);
    expect(d.capabilities.readWithWildcard).toBe(true);
  });
});

describe('identifiers', () => {
  it('the reference meter, pruned scan (default): the same identifiers found while reading far fewer', async () => {
    const exhaustive = await rig().discover({ exhaustive: true });
    const d = await rig().discover();
    expect(d.supported).toEqual(exhaustive.supported);
    expect(d.followUp).toEqual(exhaustive.followUp);
    expect(d.counts).toMatchObject({ supported: REFERENCE_IDENTIFIERS.length, error: 0, invalid: 0, silent: 0 });
    // Every identifier left unread was refused by the meter when read exhaustively.
    const read = new Set(d.identifiers.map((p) => p.di));
    const refusedWhenRead = new Set(exhaustive.identifiers.filter((p) => p.status === 'unsupported').map((p) => p.di));
    const unread = exhaustive.identifiers.filter((p) => !read.has(p.di));
    expect(unread.length).toBeGreaterThan(0);
    expect(unread.every((p) => refusedWhenRead.has(p.di))).toBe(true);
    expect(d.timing.probed).toBeLessThan(exhaustive.timing.probed / 2);
    expect(d.notes.join('\n')).toContain(`${unread.length} of ${exhaustive.timing.probed} identifiers were not read`);
  });

  it('the reference meter, --exhaustive: every readable identifier read; the discovered ones are exactly the reference profile\'s, follow-ups included', async () => {
    const r = rig();
    let last: DiscoveryProgress | undefined;
    const d = await r.discover({ exhaustive: true, onProgress: (p) => (last = p) });
    const readable2007 = DICTIONARY.all().filter((x) => x.edition === '2007' && x.access !== 'write');
    expect(d.timing.probed).toBe(readable2007.length);
    // Dictionary order, and the same set as the reference declaration (generated from the model).
    expect(d.identifiers.map((p) => p.di)).toEqual(readable2007.map((x) => x.di));
    expect(new Set(d.supported)).toEqual(new Set(REFERENCE_IDENTIFIERS));
    expect(d.supported).toHaveLength(REFERENCE_IDENTIFIERS.length);
    expect(new Set(d.followUp)).toEqual(new Set(REFERENCE_FOLLOW_UP_IDENTIFIERS));
    // Every other readable identifier is refused with "no requested data"; nothing is silent.
    expect(d.counts).toEqual({ supported: REFERENCE_IDENTIFIERS.length, unsupported: readable2007.length - REFERENCE_IDENTIFIERS.length, error: 0, invalid: 0, silent: 0 });
    expect(d.identifiers.filter((p) => p.status === 'supported').every((p) => p.decoded)).toBe(true);
    expect(d.unsupportedIdentifier).toMatchObject({ di: defaultUnsupportedIdentifier(), verified: true });
    expect(d.capabilities).toEqual({ readAddressWithWildcard: true, readWithWildcard: true, followUp: true });
    expect(d.line).toEqual(LINE_8E1_2400);
    expect(d.lineTrials).toHaveLength(1);
    expect(d.timing.medianResponseDelayMs).toBeCloseTo(REFERENCE_METER_PROFILE.simulation.responseDelayMs as number, 0);
    expect(last).toMatchObject({ phase: 'identifiers', done: readable2007.length, total: readable2007.length });

    // The draft validates, declares the same set, and matches the simulator's own declaration where discovery can know it.
    const draft = draftTargetProfile(d, { connection: { type: 'serial', path: '/dev/ttyUSB0' } });
    expect(draft.profile.meter.identifiers).toEqual(d.supported);
    expect(draft.profile.meter.address).toBe(ADDRESS);
    expect(draft.profile.meter.line).toEqual(REFERENCE_METER_PROFILE.meter.line);
    expect(draft.profile.connection).toEqual({ type: 'serial', path: '/dev/ttyUSB0', line: LINE_8E1_2400 });
    expect(draft.profile.meter.capabilities).toMatchObject({ broadcastTimeSync: false, freeze: false, writeData: false, remoteControl: false });
    expect(parseTargetProfile(JSON.parse(draft.text))).toEqual({ ...draft.profile, source: 'target profile' });
    expect(draft.review.join('\n')).toMatch(/capabilities.writeData is false and meter.passwords is empty/);
    // Declared on the reference simulator itself, the loader's cross-check (same line) accepts it.
    const asReference = parseTargetProfile({ name: 'draft-on-reference', connection: { type: 'reference' }, meter: draft.json.meter });
    expect(asReference.meter.identifiers).toEqual(d.supported);
  });

  it('a meter that dies mid-scan: stops after a few silences instead of timing out every identifier, and names the last answer', async () => {
    const r = rig();
    let served = 0;
    const dies: MeterBehaviour = {
      name: 'dies-after-40',
      description: 'answers 40 requests, then nothing',
      onRequest: () => (++served > 40 ? { reply: null } : 'continue'),
    };
    r.meters[0]!.server.pushBehaviour(dies);
    const started = r.clock.now();
    const e = await r.discover().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DiscoveryError);
    expect((e as Error).message).toMatch(/^the meter stopped answering: no reply to the last 5 identifiers \(.+\) nor to a read of 00000000; the last identifier it answered was [0-9A-F]{8}; \d+ of \d+ identifiers probed/);
    expect((e as Error).message).toMatch(/nothing was written/);
    // 5 identifiers × 2 attempts × 2 s + the liveness read: well under a minute, not 1,915 × 4 s.
    expect(r.clock.now() - started).toBeLessThan(60_000);
  });

  it('a meter that keeps silent about identifiers it lacks: the scan goes on (one attempt each from then), silences are reported', async () => {
    const quiet: MeterBehaviour = {
      name: 'silent-when-unsupported',
      description: 'no reply instead of "no requested data"',
      onRequest: (ctx, request) => {
        if (request.message?.kind !== 'readData') return 'continue';
        const reply = ctx.respond();
        return reply && (reply[4 + 8]! & 0x40) !== 0 ? { reply: null } : 'continue';
      },
    };
    const r = rig();
    r.meters[0]!.server.pushBehaviour(quiet);
    const d = await r.discover({ prefixes: ['0001', '0103'] });
    expect(d.counts.silent).toBeGreaterThan(5);
    expect(d.counts.unsupported).toBe(0);
    expect(d.supported.length).toBeGreaterThan(0);
    expect(d.notes.join('\n')).toMatch(/keeps silent about identifiers it does not answer .* from then on each identifier was tried once/);
    expect(d.unsupportedIdentifier.verified).toBe(false);
    const draft = draftTargetProfile(d, { connection: { type: 'serial', path: '/dev/ttyUSB0' } });
    expect(draft.review.join('\n')).toMatch(/meter.unsupportedIdentifier: no identifier was answered with "no requested data"/);
    expect(draft.review.join('\n')).toMatch(/identifier\(s\) got no reply and are not declared/);
  });

  it('a meter that answers the default unsupported identifier with data: another one it refuses is chosen', async () => {
    const fallback = defaultUnsupportedIdentifier();
    const answersDefault: MeterBehaviour = {
      name: 'answers-default-unsupported',
      description: 'serves the default unsupported identifier',
      onRequest: (ctx, request) =>
        request.message?.kind === 'readData' && request.message.di === fallback
          ? { reply: ctx.encodeReply({ kind: 'readDataResponse', di: fallback, payload: Uint8Array.of(0, 0, 0), hasFollowUp: false }) }
          : 'continue',
    };
    const r = rig();
    r.meters[0]!.server.pushBehaviour(answersDefault);
    const d = await r.discover({ prefixes: ['0001', '0103'] });
    expect(d.unsupportedIdentifier.verified).toBe(true);
    expect(d.unsupportedIdentifier.di).not.toBe(fallback);
    expect(d.identifiers.find((p) => p.di === d.unsupportedIdentifier.di)?.status).toBe('unsupported');
    expect(d.unsupportedIdentifier.note).toMatch(new RegExp(`the default ${fallback} was answered with data \\(3 bytes\\)`));
  });

  it('data the dictionary does not decode is declared (the suite will judge it) and listed for review', async () => {
    const short: MeterBehaviour = {
      name: 'short-energy',
      description: 'answers 00010000 with 3 bytes instead of 4',
      onRequest: (ctx, request) =>
        request.message?.kind === 'readData' && request.message.di === '00010000'
          ? { reply: ctx.encodeReply({ kind: 'readDataResponse', di: '00010000', payload: Uint8Array.of(0x12, 0x34, 0x56), hasFollowUp: false }) }
          : 'continue',
    };
    const r = rig();
    r.meters[0]!.server.pushBehaviour(short);
    const d = await r.discover({ prefixes: FEW });
    const p = d.identifiers.find((x) => x.di === '00010000')!;
    expect(p).toMatchObject({ status: 'supported', length: 3, decoded: false });
    expect(d.supported).toContain('00010000');
    const draft = draftTargetProfile(d, { connection: { type: 'serial', path: '/dev/ttyUSB0' } });
    expect(draft.review.join('\n')).toMatch(/1 identifier\(s\) answered with data the dictionary does not decode .*00010000 \(3 bytes\)/);
  });

  it('skips write-only identifiers and, unless asked, the 1997 ones', async () => {
    const r = rig();
    const d = await r.discover({ prefixes: ['04', '90', 'C0'] });
    const probed = new Set(d.identifiers.map((p) => p.di));
    for (const def of DICTIONARY.all()) {
      if (def.access === 'write' || def.edition === '1997') expect(probed.has(def.di), def.di).toBe(false);
    }
    const r2 = rig();
    const with1997 = await r2.discover({ prefixes: ['04000401', '90', 'C0'], include1997: true });
    const p1997 = with1997.identifiers.filter((p) => p.edition === '1997');
    expect(p1997.length).toBeGreaterThan(0);
    // The reference meter ignores DL/T 645-1997 frames: silence there does not count as a dead meter.
    expect(p1997.every((p) => p.status === 'silent')).toBe(true);
  });
});

describe('fixed-line ports', () => {
  it('over TCP (a serial server): no line trials, the address and identifiers are discovered, the draft says the line is the server\'s', async () => {
    const clock = new RealClock();
    const listener: TcpListener = await listenTcp({ host: '127.0.0.1', port: 0 });
    const sims: ElectricityMeter[] = [];
    listener.on('connection', (client) => sims.push(createElectricityMeter({ profile: simulator({ simulation: { responseDelayMs: 20 } }), link: client, clock })));
    cleanup.push(async () => {
      for (const s of sims) s.stop();
      await listener.close();
    });
    const d = await discoverMeter({ port: tcpDiscoveryPort('127.0.0.1', listener.port), clock, prefixes: ['00010000', '0001FF00', '04000401'] });
    expect(d.line).toBeUndefined();
    expect(d.lineTrials).toHaveLength(1);
    expect(d.address).toBe(ADDRESS);
    expect(d.supported).toEqual(['00010000', '0001FF00', '04000401']);
    const draft = draftTargetProfile(d, { connection: { type: 'tcp', host: '127.0.0.1', port: listener.port }, name: 'tcp-meter' });
    expect(draft.profile.connection).toEqual({ type: 'tcp', host: '127.0.0.1', port: listener.port });
    expect(draft.review.join('\n')).toMatch(/behind a TCP serial server the line is the server's business/);
    expect(draft.json.description).toMatch(/meter.line is the default 2400 8E1, not discovered: behind a TCP serial server the line is the server's/);
  }, 30_000);

  it('a TCP port where nothing answers: nothing found, naming the serial server', async () => {
    const clock = new RealClock();
    const listener = await listenTcp({ host: '127.0.0.1', port: 0 });
    cleanup.push(() => listener.close());
    const e = await discoverMeter({ port: tcpDiscoveryPort('127.0.0.1', listener.port), clock, timeoutMs: 300 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DiscoveryError);
    expect((e as Error).message).toMatch(new RegExp(`^no meter answered read address \\(13H\\) to AAAAAAAAAAAA on tcp 127.0.0.1:${listener.port} \\(line settings are the serial server's`));
  }, 30_000);

  it('a serial port that does not exist: the link error, not "nothing found"', async () => {
    const e = await discoverMeter({ port: serialDiscoveryPort('/dev/meterlab-no-such-port'), clock: new RealClock() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LinkError);
    expect((e as Error).message).toMatch(/serial port \/dev\/meterlab-no-such-port cannot be opened/);
  });
});

describe('helpers', () => {
  it('reverses the six address byte pairs', () => {
    expect(reverseAddressBytes('123456789012')).toBe('129078563412');
    expect(reverseAddressBytes(reverseAddressBytes('000000000001'))).toBe('000000000001');
  });

  it('the wildcard probe request is 13H to AA…AA with 4 × FE', () => {
    expect(encodeMessage('AAAAAAAAAAAA', { kind: 'readAddress' }, { preamble: 4 })).toEqual(
      Uint8Array.of(0xfe, 0xfe, 0xfe, 0xfe, 0x68, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x68, 0x13, 0x00, 0xdf, 0x16),
    );
  });
});
