/**
 * openTarget for every reference transport, the master against the real simulator (reads with
 * and without follow-up, wildcard address, Td against the configured delay), the broken
 * variants as the master sees them, and hardware targets failing cleanly (loopback only).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RealClock, VirtualClock } from '../core/clock.ts';
import { LinkError } from '../core/errors.ts';
import { resetMockSerialPorts } from '../links/mock-serial.ts';
import { listenTcp } from '../links/tcp.ts';
import { DLT645_DEFAULT_LINE, characterTimeMs } from '../links/link.ts';
import { Dlt645AbnormalReplyError, Dlt645NoReplyError } from '../masters/index.ts';
import { DICTIONARY, RemoteControlCommand, encodeMessage } from '../protocols/dlt645/index.ts';
import { concatBytes } from '../core/bytes.ts';
import { REFERENCE_METER_PROFILE, createElectricityMeter, type ElectricityMeter } from '../../simulators/electricity-meter/index.ts';
import { describeDlt645, loadTargetProfile, openTarget, parseTargetProfile, referenceTargetProfile, type Target } from './index.ts';

const PROFILES = join(import.meta.dirname, '..', '..', 'suites', 'profiles');
const CHAR_MS = characterTimeMs(DLT645_DEFAULT_LINE);
const ADDRESS = REFERENCE_METER_PROFILE.meter.address;
const CONFIGURED_TD = REFERENCE_METER_PROFILE.simulation.responseDelayMs as number;

const open: Target[] = [];
async function openReference(spec: Parameters<typeof referenceTargetProfile>[0] | string = {}): Promise<Target> {
  const profile = typeof spec === 'string' ? loadTargetProfile(join(PROFILES, spec)) : referenceTargetProfile(spec);
  const t = await openTarget(profile);
  open.push(t);
  return t;
}

afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
  await resetMockSerialPorts();
});

const tmp = mkdtempSync(join(tmpdir(), 'meterlab-target-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(['bus', 'mock-serial', 'memory'] as const)('reference target over %s', (transport) => {
  it('reads, captures with one-line decodes, and closes leaving no timer', async () => {
    const t = await openReference({ transport });
    expect(t.kind).toBe('reference');
    expect(t.virtualTime).toBe(true);
    expect(t.backchannel).toBeDefined();
    const r = await t.master.readData(ADDRESS, '00010000');
    expect(typeof r.value).toBe('number');
    expect(r.definition?.unit).toBe('kWh');
    await expect(t.master.readAddress()).resolves.toBe(ADDRESS);

    await t.close();
    expect(t.link.isOpen).toBe(false);
    expect((t.clock as VirtualClock).pendingTimers).toBe(0);
    const tx = t.captures.filter((c) => c.dir === 'tx');
    const rx = t.captures.filter((c) => c.dir === 'rx');
    expect(tx[0]!.hex.startsWith('FE FE FE FE 68 12 90 78 56 34 12 68 11 04')).toBe(true);
    expect(tx[0]!.decode).toMatch(/^11 readData 123456789012 DI 00010000/);
    expect(rx.some((c) => /^91 readDataResponse 123456789012 DI 00010000 .* kWh/.test(c.decode ?? ''))).toBe(true);
    await t.close(); // idempotent
  });
});

describe('master against the reference simulator on the bus', () => {
  it(`measures Td equal to the simulator's configured ${CONFIGURED_TD} ms within one character time`, async () => {
    const t = await openReference();
    for (let i = 0; i < 3; i++) {
      const x = (await t.master.readData(ADDRESS, '00010000')).exchanges[0]!;
      expect(Math.abs(x.responseDelayMs! - CONFIGURED_TD)).toBeLessThanOrEqual(CHAR_MS);
    }
  });

  it('follows follow-up frames (12H SEQ 1, 2, ...) for an identifier declared with follow-up', async () => {
    const t = await openReference();
    const di = REFERENCE_METER_PROFILE.meter.followUpIdentifiers[0]!;
    const r = await t.master.readData(ADDRESS, di);
    expect(r.exchanges.length).toBeGreaterThan(1);
    expect(r.exchanges.slice(1).map((x) => x.message)).toEqual(
      r.exchanges.slice(1).map((_, i) => ({ kind: 'readFollowUp', di, seq: i + 1 })),
    );
    const total = r.exchanges.reduce((n, x) => n + ((x.reply?.message as { payload?: Uint8Array }).payload?.length ?? 0), 0);
    expect(r.payload.length).toBe(total);
  });

  it('reads with the wildcard address and records the meter that answered', async () => {
    const t = await openReference();
    const r = await t.master.readData('AAAAAAAAAAAA', '00010000');
    expect(r.address).toBe(ADDRESS);
    expect(r.exchanges[0]!.replyAddress).toBe(ADDRESS);
  });

  it('gets no reply to a frame with a bad checksum (sendRaw)', async () => {
    const t = await openReference();
    const good = t.master.lastExchange?.request;
    expect(good).toBeUndefined();
    await t.master.readData(ADDRESS, '00010000');
    const bad = new Uint8Array(t.master.lastExchange!.request);
    bad[bad.length - 2] = bad[bad.length - 2]! ^ 0x01;
    const r = await t.master.sendRaw(bad, { listenMs: 1000 });
    expect(r.silent).toBe(true);
  });

  it('sends a broadcast time sync and hears nothing back', async () => {
    const t = await openReference();
    const x = await t.master.broadcastTimeSync({ year: 2026, month: 1, day: 1, hour: 8, minute: 30, second: 0 });
    expect(x.unexpected).toEqual([]);
  });
});

describe('master commands against the reference simulator', () => {
  const password = { level: 0x02, value: '000000' };
  const wrong = { level: 0x02, value: '999999' };

  it('writes a value (14H) and reads it back; a wrong password is an abnormal reply with error bit 2', async () => {
    const t = await openReference();
    const di = REFERENCE_METER_PROFILE.meter.writableIdentifier;
    const payload = DICTIONARY.encodeValue(di, 33.5);
    const x = await t.master.writeData(ADDRESS, di, payload, password, '00000000');
    expect(x.reply!.message.kind).toBe('writeDataResponse');
    expect((await t.master.readData(ADDRESS, di)).value).toBe(33.5);
    const e = (await t.master.writeData(ADDRESS, di, payload, wrong, '00000000').catch((z: unknown) => z)) as Dlt645AbnormalReplyError;
    expect(e).toBeInstanceOf(Dlt645AbnormalReplyError);
    expect(e.errorWord).toBe(0x04);
    expect(e.errors).toEqual(['passwordErrorOrUnauthorised']);
    expect(e.message).toContain('D4H');
  });

  it('trips the relay with 1CH and sees it in status word 3 (bit 4)', async () => {
    const t = await openReference();
    await t.master.remoteControl(ADDRESS, { command: RemoteControlCommand.Trip, password, operator: '00000000', validUntil: null });
    const word = (await t.master.readData(ADDRESS, '04000503')).payload;
    expect(word[0]! & 0x10).toBe(0x10);
  });

  it('freezes (16H) point to point with a reply, and by broadcast without one', async () => {
    const t = await openReference();
    const x = await t.master.freeze(ADDRESS);
    expect(x.reply!.message.kind).toBe('freezeResponse');
    const b = await t.master.freeze('999999999999');
    expect(b.expect).toBe('none');
    expect(b.unexpected).toEqual([]);
  });
});

describe('broken reference variants, as the master sees them', () => {
  it('late reply: Td measures 600 ms', async () => {
    const t = await openReference('reference-broken-late-reply.json');
    const x = (await t.master.readData(ADDRESS, '00010000')).exchanges[0]!;
    expect(Math.abs(x.responseDelayMs! - 600)).toBeLessThanOrEqual(CHAR_MS);
  });

  it('wrong checksum: every attempt discarded, then no reply', async () => {
    const t = await openReference('reference-broken-checksum.json');
    const e = (await t.master.readData(ADDRESS, '00010000').catch((x: unknown) => x)) as Dlt645NoReplyError;
    expect(e).toBeInstanceOf(Dlt645NoReplyError);
    expect(e.exchange.attempts).toBe(3);
    expect(e.exchange.discarded.map((d) => d.error.code)).toContain('dlt645.checksum');
  });

  it('echoed wildcard: the replies are rejected as wildcard-echo', async () => {
    const t = await openReference('reference-broken-echo-wildcard.json');
    const e = (await t.master.readAddress().catch((x: unknown) => x)) as Dlt645NoReplyError;
    expect(e).toBeInstanceOf(Dlt645NoReplyError);
    expect(e.exchange.rejected.map((r) => r.reason)).toEqual(['wildcard-echo', 'wildcard-echo', 'wildcard-echo']);
  });

  it('no follow-up: the missing 12H reply is named by its SEQ', async () => {
    const t = await openReference('reference-broken-no-follow-up.json');
    const di = REFERENCE_METER_PROFILE.meter.followUpIdentifiers[0]!;
    const e = (await t.master.readData(ADDRESS, di).catch((x: unknown) => x)) as Dlt645NoReplyError;
    expect(e).toBeInstanceOf(Dlt645NoReplyError);
    expect(e.seq).toBe(1);
    expect(e.message).toContain(`read follow-up (12H) SEQ 1 for DI ${di}`);
  });
});

describe('captures to a file', () => {
  it('writes JSON Lines through captureFile and flushes on close', async () => {
    const file = join(tmp, 'captures', 'reading.jsonl');
    const t = await openTarget(referenceTargetProfile(), { captureFile: file });
    await t.master.readData(ADDRESS, '00010000');
    await t.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { dir: string; decode?: string });
    expect(lines.map((l) => l.dir)).toEqual(['tx', 'rx']);
    expect(lines[1]!.decode).toMatch(/readDataResponse/);
  });
});

describe('TCP target end to end (loopback, real time)', () => {
  it('reads the simulator served behind a loopback TCP listener, with the declared line for estimates', async () => {
    const clock = new RealClock();
    const listener = await listenTcp({ port: 0 });
    const served: ElectricityMeter[] = [];
    listener.on('connection', (link) => served.push(createElectricityMeter({ profile: REFERENCE_METER_PROFILE, link, clock })));
    try {
      const profile = parseTargetProfile({
        name: 'loopback',
        connection: { type: 'tcp', host: '127.0.0.1', port: listener.port },
        meter: REFERENCE_METER_PROFILE.meter,
        master: { timeoutMs: 2000, attempts: 1 },
      });
      const t = await openTarget(profile);
      expect(t.kind).toBe('tcp');
      expect(t.virtualTime).toBe(false);
      expect(t.backchannel).toBeUndefined();
      await expect(t.master.readAddress()).resolves.toBe(ADDRESS);
      await t.close();
      expect(t.captures.map((c) => c.dir)).toEqual(['tx', 'rx']);
    } finally {
      for (const m of served) m.stop();
      await listener.close();
    }
  });
});

describe('describeDlt645 (the one-line decode of captures)', () => {
  // Read of 00020000 at 123456789012: its right checksum is 69H.
  const good = encodeMessage(ADDRESS, { kind: 'readData', di: '00020000', extra: new Uint8Array(0) }, { preamble: 4 });
  const withCs = (cs: number): Uint8Array => {
    const out = good.slice();
    out[out.length - 2] = cs;
    return out;
  };

  it('calls a complete frame with a wrong checksum "checksum", even when that byte is 68H (a start character)', () => {
    expect(good[good.length - 2]).toBe(0x69);
    for (const cs of [0x68, 0x16, 0x00, 0xfe]) expect(describeDlt645(withCs(cs), 'tx'), cs.toString(16)).toBe('20 byte(s) discarded (dlt645.checksum)');
    expect(describeDlt645(concatBytes(withCs(0x68), good), 'tx')).toBe(
      '20 byte(s) discarded (dlt645.checksum) | 11 readData 123456789012 DI 00020000 reverse active total energy',
    );
  });

  it('still calls an unfinished frame "truncated"', () => {
    expect(describeDlt645(good.slice(0, 15), 'tx')).toBe('15 byte(s) discarded (dlt645.truncated)');
  });
});

describe('hardware targets fail cleanly', () => {
  const meter = { address: '000000000001', identifiers: ['00010000'] };

  it('a serial path that does not exist gives the link error, nothing else', async () => {
    const profile = parseTargetProfile({ name: 'x', connection: { type: 'serial', path: join(tmp, 'ttyNOPE') }, meter });
    const e = await openTarget(profile).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LinkError);
    expect((e as LinkError).message).toContain('ttyNOPE');
  });

  it('a TCP serial server that refuses gives the link error', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const profile = parseTargetProfile({ name: 'x', connection: { type: 'tcp', host: '127.0.0.1', port }, meter });
    const e = await openTarget(profile).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LinkError);
    expect((e as LinkError).message).toBe(`cannot connect to 127.0.0.1:${port}: ECONNREFUSED`);
  });
});
