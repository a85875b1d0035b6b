import { describe, expect, it } from 'vitest';
import { encodeMessage, type Dlt645Message } from '../../harness/protocols/dlt645/index.ts';
import { DICTIONARY } from '../../harness/protocols/dlt645/dictionary.ts';
import { RemoteControlCommand } from '../../harness/protocols/dlt645/types.ts';
import { BUILT_IN_BEHAVIOUR_NAMES, createBehaviour, type MeterBehaviour } from './behaviours.ts';
import { ADDRESS, createRig, profileWith } from './test-support.ts';

const read = (di: string): Dlt645Message => ({ kind: 'readData', di, extra: new Uint8Array(0) });
const rigWith = (...behaviours: { name: string; [k: string]: unknown }[]) => createRig(profileWith({ behaviours }));
const trip: Dlt645Message = { kind: 'remoteControl', password: { level: 2, value: '000000' }, operator: '00000001', command: RemoteControlCommand.Trip, reserved: 0, validUntil: null };
const keepPower: Dlt645Message = { ...trip, command: RemoteControlCommand.KeepPower } as Dlt645Message;

describe('built-in faulty behaviours: each one observably broken', () => {
  it('wrong-checksum: every reply fails its checksum at the master', async () => {
    const rig = rigWith({ name: 'wrong-checksum' });
    expect(await rig.request(read('00010000'))).toHaveLength(0);
    expect(rig.discarded.some((d) => d.code === 'dlt645.checksum')).toBe(true);
  });

  it('echo-wildcard: answers a wildcard request with AA…AA', async () => {
    const rig = rigWith({ name: 'echo-wildcard' });
    const [r] = await rig.request(read('00010000'), 'AAAAAAAAAAAA');
    expect(r!.frame.address).toBe('AAAAAAAAAAAA');
    const [own] = await rig.request(read('00010000'));
    expect(own!.frame.address).toBe(ADDRESS);
  });

  it('late-reply: answers after 600 ms (Td > 500 ms)', async () => {
    const rig = rigWith({ name: 'late-reply' });
    const sentAt = rig.clock.now();
    const [r] = await rig.request(read('00010000'));
    expect(r!.at - sentAt).toBe(600);
    const custom = rigWith({ name: 'late-reply', delayMs: 900 });
    const t = custom.clock.now();
    const [r2] = await custom.request(read('00010000'));
    expect(r2!.at - t).toBe(900);
  });

  it('ignore-follow-up: announces follow-up frames, then never answers 12H', async () => {
    const rig = rigWith({ name: 'ignore-follow-up' });
    const [first] = await rig.request(read('0506FF01'));
    expect(first!.frame.control.raw).toBe(0xb1);
    expect(await rig.request({ kind: 'readFollowUp', di: '0506FF01', seq: 1 })).toHaveLength(0);
  });

  it('drop-every-nth: every n-th reply is missing', async () => {
    const rig = rigWith({ name: 'drop-every-nth', n: 3 });
    const counts: number[] = [];
    for (let i = 0; i < 6; i++) counts.push((await rig.request(read('00010000'))).length);
    expect(counts).toEqual([1, 1, 0, 1, 1, 0]);
  });

  it('reply-to-broadcast: answers a request sent to 99…99', async () => {
    const rig = rigWith({ name: 'reply-to-broadcast' });
    const [r] = await rig.request(read('00010000'), '999999999999');
    expect(r!.message).toMatchObject({ kind: 'readDataResponse', di: '00010000' });
  });

  it('ignore-time-sync: a broadcast time sync leaves the meter clock where it was', async () => {
    const rig = rigWith({ name: 'ignore-time-sync' });
    const before = rig.meter.model.meterNow();
    const time = { year: 2030, month: 1, day: 2, hour: 3, minute: 4, second: 5 };
    await rig.request({ kind: 'broadcastTimeSync', time }, '999999999999');
    expect(Math.abs(rig.meter.model.meterNow() - before)).toBeLessThan(10_000);
    const conformant = rigWith();
    await conformant.request({ kind: 'broadcastTimeSync', time }, '999999999999');
    expect(new Date(conformant.meter.model.meterNow()).getUTCFullYear()).toBe(2030);
  });

  it('answer-bad-checksum: answers a request whose checksum is wrong', async () => {
    const rig = rigWith({ name: 'answer-bad-checksum' });
    const bad = encodeMessage(ADDRESS, read('00010000'), { preamble: 4 });
    bad[bad.length - 2] = (bad[bad.length - 2]! + 5) & 0xff;
    const [r] = await rig.send(bad);
    expect(r!.message).toMatchObject({ kind: 'readDataResponse', di: '00010000' });
  });

  it('wrong-address-reply: the reply carries another address', async () => {
    const rig = rigWith({ name: 'wrong-address-reply' });
    const [r] = await rig.request(read('00010000'));
    expect(r!.frame.address).toBe('123456789013');
    const fixed = rigWith({ name: 'wrong-address-reply', address: '000000000001' });
    const [r2] = await fixed.request(read('00010000'));
    expect(r2!.frame.address).toBe('000000000001');
  });

  it('unsupported-as-zero: an undeclared identifier reads as zeros instead of D1H 02H', async () => {
    const rig = rigWith({ name: 'unsupported-as-zero' });
    const m = await rig.ask(read('0F0F0F0F'));
    expect(m).toMatchObject({ kind: 'readDataResponse', di: '0F0F0F0F', payload: new Uint8Array(4) }); // unknown: 4 bytes
    const known = await rig.ask(read('03010000'));
    expect(known).toMatchObject({ kind: 'readDataResponse', di: '03010000', payload: new Uint8Array(18) }); // the dictionary's length
    expect(await rig.ask(read('00010000'))).toMatchObject({ kind: 'readDataResponse', di: '00010000' });
  });

  it('accept-wrong-password: writes and trips with any password', async () => {
    const rig = rigWith({ name: 'accept-wrong-password' });
    const payload = DICTIONARY.encodeValue('04001001', 30);
    const bad = { level: 4, value: '999999' };
    expect(await rig.ask({ kind: 'writeData', di: '04001001', password: bad, operator: '00000001', payload })).toEqual({ kind: 'writeDataResponse' });
    expect(await rig.ask({ ...trip, password: bad } as Dlt645Message)).toEqual({ kind: 'remoteControlResponse' });
    expect(rig.meter.backchannel.snapshot().relay.open).toBe(true);
  });

  it('refuse-trip: acknowledges the trip but the relay stays closed (status word 3 bit 6 set, bit 4 clear)', async () => {
    const rig = rigWith({ name: 'refuse-trip' });
    expect(await rig.ask(trip)).toEqual({ kind: 'remoteControlResponse' });
    expect((rig.meter.model.readValue('04000503') as number) & 0x50).toBe(0x40);
    rig.meter.server.removeBehaviour('refuse-trip');
    expect(rig.meter.model.faults.relayStuck).toBe(false);
  });

  it('trip-despite-keep-power: trips a protected customer (violates KP-01)', async () => {
    const rig = rigWith({ name: 'trip-despite-keep-power' });
    expect(await rig.ask(keepPower)).toEqual({ kind: 'remoteControlResponse' });
    expect(await rig.ask(trip)).toEqual({ kind: 'remoteControlResponse' });
    expect(rig.meter.backchannel.snapshot().relay).toMatchObject({ open: true, keepPower: true });
  });

  it('address-nameplate-order: silent at the standard address, answers as the byte-reversed one, 13H data reversed too', async () => {
    const rig = rigWith({ name: 'address-nameplate-order' });
    expect(await rig.request(read('00010000'))).toHaveLength(0);
    const [r] = await rig.request(read('00010000'), '129078563412');
    expect(r!.frame.address).toBe('129078563412');
    expect(r!.raw.subarray(5, 11)).toEqual(Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x90, 0x12)); // nameplate order on the wire
    expect(r!.message).toMatchObject({ kind: 'readDataResponse', di: '00010000' });
    const [a] = await rig.request({ kind: 'readAddress' }, 'AAAAAAAAAAAA');
    expect(a!.frame.address).toBe('129078563412');
    expect(a!.message).toEqual({ kind: 'readAddressResponse', address: '129078563412' });
    expect(await rig.request(read('00010000'), '123456789013')).toHaveLength(0);
  });

  it('deaf-after-spurious-start: a bad-checksum frame holding 68H leaves it deaf; one without does not', async () => {
    const rig = rigWith({ name: 'deaf-after-spurious-start' });
    const good = encodeMessage(ADDRESS, read('00020000'), { preamble: 4 }); // CS 69H
    const plainBad = good.slice();
    plainBad[plainBad.length - 2] = 0x6a;
    expect(await rig.send(plainBad)).toHaveLength(0);
    expect(await rig.request(read('00010000'))).toHaveLength(1);
    const spurious = good.slice();
    spurious[spurious.length - 2] = 0x68;
    expect(await rig.send(spurious)).toHaveLength(0);
    expect(await rig.request(read('00010000'))).toHaveLength(0);
    expect(await rig.request(read('00010000'), ADDRESS, 5000)).toHaveLength(0);
    // The conformant meter shrugs the same frame off.
    const conformant = rigWith();
    expect(await conformant.send(spurious)).toHaveLength(0);
    expect(await conformant.request(read('00010000'))).toHaveLength(1);
  });

  it('clock-not-set: date and time read as zeros, everything else as usual', async () => {
    const rig = rigWith({ name: 'clock-not-set' });
    expect(await rig.ask(read('04000101'))).toMatchObject({ kind: 'readDataResponse', payload: new Uint8Array(4) });
    expect(await rig.ask(read('04000102'))).toMatchObject({ kind: 'readDataResponse', payload: new Uint8Array(3) });
    const energy = await rig.ask(read('00010000'));
    expect(energy).toMatchObject({ kind: 'readDataResponse', di: '00010000' });
  });

  it('silent: answers nothing', async () => {
    const rig = rigWith({ name: 'silent' });
    expect(await rig.request(read('00010000'))).toHaveLength(0);
  });

  it('every built-in has a description and the defect it reproduces', () => {
    for (const name of BUILT_IN_BEHAVIOUR_NAMES) {
      const b = createBehaviour({ name });
      expect(b.name).toBe(name);
      expect(b.description.length).toBeGreaterThan(5);
      expect(b.defect?.length ?? 0).toBeGreaterThan(10);
    }
  });
});

describe('the stack', () => {
  it('a test pushes its own behaviour on top; the first behaviour that answers wins', async () => {
    const rig = rigWith({ name: 'late-reply', delayMs: 700 });
    const fake: MeterBehaviour = {
      name: 'fake-energy',
      description: 'Reports 42 kWh for 00010000.',
      onRequest: (ctx, request) =>
        request.message?.kind === 'readData' && request.message.di === '00010000'
          ? { reply: ctx.encodeReply({ kind: 'readDataResponse', di: '00010000', payload: DICTIONARY.encodeValue('00010000', 42), hasFollowUp: false }) }
          : 'continue',
    };
    rig.meter.server.pushBehaviour(fake);
    const t = rig.clock.now();
    const [r] = await rig.request(read('00010000'));
    expect(DICTIONARY.decodeValue('00010000', (r!.message as { payload: Uint8Array }).payload)).toEqual({ ok: true, value: 42 });
    expect(r!.at - t).toBe(60); // the fake answered: late-reply underneath was not consulted
    const t2 = rig.clock.now();
    const [r2] = await rig.request(read('00020000'));
    expect(r2!.at - t2).toBe(700); // 'continue' falls through to late-reply
  });

  it('onReply rewrites stack: wrong-address + wrong-checksum both apply', async () => {
    const rig = rigWith({ name: 'wrong-address-reply' }, { name: 'wrong-checksum' });
    expect(await rig.request(read('00010000'))).toHaveLength(0);
    expect(rig.discarded.some((d) => d.code === 'dlt645.checksum')).toBe(true);
  });

  it('a behaviour that throws does not crash the server: it is logged and skipped', async () => {
    const rig = createRig();
    rig.meter.server.pushBehaviour({
      name: 'bug',
      description: 'throws',
      onRequest: () => {
        throw new Error('boom');
      },
      onReply: () => {
        throw new Error('bang');
      },
    });
    expect(await rig.request(read('00010000'))).toHaveLength(1);
    expect(rig.logs.filter((l) => l.includes('behaviour bug failed'))).toHaveLength(2);
  });
});

describe('switching broken variants (issue 8): each differs from the reference first at the step it breaks', () => {
  const until = { year: 2027, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  const expired = { year: 2026, month: 3, day: 1, hour: 0, minute: 0, second: 0 };
  const cmd = (command: number, validUntil: typeof until | null = until): Dlt645Message => ({ ...trip, command, validUntil }) as Dlt645Message;
  const { Trip, CloseAllowed, KeepPower, KeepPowerRelease } = RemoteControlCommand;

  /** Runs one script against a reference with a 3 s trip delay plus `behaviours`; one observation per step. */
  async function trace(...behaviours: { name: string; [k: string]: unknown }[]): Promise<string[]> {
    const rig = createRig(profileWith({ simulation: { relay: { kind: 'internal', tripDelayMs: 3000 } }, behaviours }));
    const out: string[] = [];
    const observe = (label: string, reply: Dlt645Message | null): void => {
      const word = (rig.meter.model.readValue('04000503') as number) & 0x10d0;
      const answer = reply === null ? 'none' : reply.kind === 'errorResponse' ? `ERR ${reply.errorWord}` : reply.kind;
      out.push(`${label}: ${answer}, sw3 ${word.toString(16)}, relay ${rig.meter.backchannel.snapshot().relay.open ? 'open' : 'closed'}`);
    };
    observe('1 trip', await rig.ask(cmd(Trip)));
    await rig.clock.advance(3000);
    observe('2 after the delay', null);
    observe('3 close-allowed', await rig.ask(cmd(CloseAllowed)));
    rig.meter.backchannel.pressButton();
    observe('4 key pressed', null);
    observe('5 expired trip', await rig.ask(cmd(Trip, expired)));
    observe('6 keep-power', await rig.ask(cmd(KeepPower)));
    observe('7 trip under keep-power', await rig.ask(cmd(Trip)));
    await rig.clock.advance(3000);
    observe('8 keep-power release', await rig.ask(cmd(KeepPowerRelease)));
    return out;
  }

  it('the reference: the script as PROTOCOLS.md 1.5/1.8, FEE-07/11 and KP-01 say', async () => {
    expect(await trace()).toEqual([
      '1 trip: remoteControlResponse, sw3 c0, relay closed',
      '2 after the delay: none, sw3 50, relay open',
      '3 close-allowed: remoteControlResponse, sw3 10, relay open',
      '4 key pressed: none, sw3 0, relay closed',
      '5 expired trip: ERR 1, sw3 0, relay closed',
      '6 keep-power: remoteControlResponse, sw3 1000, relay closed',
      '7 trip under keep-power: ERR 1, sw3 1000, relay closed',
      '8 keep-power release: remoteControlResponse, sw3 0, relay closed',
    ]);
  });

  it.each([
    ['relay-stuck', {}, '2 after the delay: none, sw3 40, relay closed'],
    ['control-acknowledged-ignored', {}, '1 trip: remoteControlResponse, sw3 0, relay closed'],
    ['status-word-3-lies', {}, '2 after the delay: none, sw3 40, relay open'],
    ['status-word-3-lies', { mode: 'command-as-state' }, '1 trip: remoteControlResponse, sw3 d0, relay closed'],
    ['close-without-button', {}, '3 close-allowed: remoteControlResponse, sw3 0, relay closed'],
    ['expired-command-executed', {}, '5 expired trip: remoteControlResponse, sw3 c0, relay closed'],
    ['keep-power-ignored', {}, '6 keep-power: remoteControlResponse, sw3 0, relay closed'],
    ['trip-despite-keep-power', {}, '7 trip under keep-power: remoteControlResponse, sw3 10c0, relay closed'],
  ])('%s %j', async (name, params, firstDifference) => {
    const reference = await trace();
    const broken = await trace({ name, ...params });
    const at = broken.findIndex((line, i) => line !== reference[i]);
    expect(broken[at]).toBe(firstDifference);
    expect(broken.slice(0, at)).toEqual(reference.slice(0, at));
  });

  it('each is selectable by name from a profile and validated', () => {
    for (const name of [
      'relay-stuck',
      'keep-power-ignored',
      'expired-command-executed',
      'status-word-3-lies',
      'close-without-button',
      'control-acknowledged-ignored',
      'wrong-operator-in-records',
      'close-allowed-despite-exhausted-balance',
      'control-reply-with-data',
    ]) {
      expect(BUILT_IN_BEHAVIOUR_NAMES).toContain(name);
      expect(createBehaviour({ name }).defect).toMatch(/./);
    }
    expect(() => createBehaviour({ name: 'status-word-3-lies', mode: 'sometimes' })).toThrow();
    expect(() => createBehaviour({ name: 'wrong-operator-in-records', operator: 'XYZ' })).toThrow();
  });

  it('wrong-operator-in-records records its operator code; control-reply-with-data answers 9CH with two data bytes', async () => {
    const rig = createRig(profileWith({ behaviours: [{ name: 'wrong-operator-in-records', operator: '12345678' }, { name: 'control-reply-with-data' }] }));
    const [reply] = await rig.request(cmd(Trip));
    expect(reply!.frame.control.raw).toBe(0x9c);
    expect(reply!.frame.data.length).toBe(2);
    expect(rig.meter.model.readValue('1D000101')).toMatchObject({ operator: '12345678' });
  });
});
