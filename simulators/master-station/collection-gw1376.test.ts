/**
 * The CollectionLink adapter over a Gw1376Station-shaped object (the contract's API, part A):
 * events mapped, AFN 04 confirmations per unit, AFN 0D denial as no items.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Address, DataUnitItem, UnitSpec } from '../../harness/protocols/gw1376/index.ts';
import { confirmations, gw1376CollectionLink, type Gw1376MasterLike, type Gw1376ReplyLike, type Gw1376StationLike } from './collection-gw1376.ts';
import type { TerminalId } from './collection.ts';

const ADDRESS: Address = { areaCode: '3301', terminal: 7, msa: 0, group: false };

class FakeMaster extends EventEmitter implements Gw1376MasterLike {
  terminal: Address | undefined = ADDRESS;
  readonly requests: { afn: number; units: readonly UnitSpec[] }[] = [];
  reply: Gw1376ReplyLike = { items: [], denied: false, confirm: [] };
  async request(afn: number, units: readonly UnitSpec[]): Promise<Gw1376ReplyLike> {
    this.requests.push({ afn, units });
    return this.reply;
  }
}

class FakeStation extends EventEmitter implements Gw1376StationLike {
  readonly masters = new Map<string, FakeMaster>();
  terminal(areaCode: string, terminal: number): Gw1376MasterLike | undefined {
    return this.masters.get(`${areaCode}/${terminal}`);
  }
}

describe('gw1376CollectionLink', () => {
  it('maps terminal, login, heartbeat and offline to login, seen and offline', () => {
    const station = new FakeStation();
    const link = gw1376CollectionLink(station);
    const seen: [string, TerminalId][] = [];
    for (const e of ['login', 'seen', 'offline'] as const) link.on(e, (id) => seen.push([e, id]));
    const master = new FakeMaster();
    station.masters.set('3301/7', master);
    station.emit('terminal', master);
    master.emit('heartbeat', {});
    master.emit('login', {}); // a re-login on the same connection
    station.emit('terminal', master); // the same master again: listeners are not added twice
    master.emit('heartbeat', {});
    station.emit('offline', ADDRESS);
    const id = { areaCode: '3301', terminal: 7 };
    expect(seen).toEqual([['login', id], ['seen', id], ['login', id], ['login', id], ['seen', id], ['offline', id]]);
  });

  it('sessions: AFN 04 per-unit confirmations, AFN 0D items or none when denied, undefined without a terminal', async () => {
    const station = new FakeStation();
    const link = gw1376CollectionLink(station);
    expect(link.session({ areaCode: '3301', terminal: 7 })).toBeUndefined();
    const master = new FakeMaster();
    station.masters.set('3301/7', master);
    const s = link.session({ areaCode: '3301', terminal: 7 })!;
    const units: UnitSpec[] = [{ pn: 0, fn: 10, value: { count: 0, meters: [] } }];
    master.reply = { items: [], denied: false, confirm: [] }; // AFN 00 F1
    expect(await s.setParameters(units)).toEqual([true]);
    master.reply = { items: [], denied: false, confirm: [{ fn: 10, pn: 0, ok: false }] }; // F3 with ERR 01
    expect(await s.setParameters(units)).toEqual([false]);
    master.reply = { items: [], denied: true }; // F2
    expect(await s.setParameters(units)).toEqual([false]);
    const item: DataUnitItem = { pn: 1, fn: 161, data: new Uint8Array(0), value: { day: '2026-03-01' }, opaque: false };
    master.reply = { items: [item], denied: false };
    expect(await s.class2([{ pn: 1, fn: 161, value: { day: '2026-03-01' } }])).toEqual([item]);
    master.reply = { items: [], denied: true };
    expect(await s.class2([{ pn: 1, fn: 161, value: { day: '2026-03-01' } }])).toEqual([]);
    expect(await s.class1([{ pn: 1, fn: 249 }])).toEqual([]);
    master.reply = { items: [item], denied: false };
    expect(await s.class1([{ pn: 1, fn: 249 }])).toEqual([item]);
    expect(master.requests.map((r) => r.afn)).toEqual([0x04, 0x04, 0x04, 0x0d, 0x0d, 0x0c, 0x0c]);
  });

  it('confirmations: an F3 list names each unit; a reply that is no confirmation confirms nothing', () => {
    const units: UnitSpec[] = [{ pn: 0, fn: 10 }, { pn: 0, fn: 249 }];
    expect(confirmations(units, { items: [], denied: false, confirm: [{ fn: 10, pn: 0, ok: true }, { fn: 249, pn: 0, ok: false }] })).toEqual([true, false]);
    expect(confirmations(units, { items: [], denied: false })).toEqual([false, false]);
  });
});
