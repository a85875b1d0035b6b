/**
 * The collection's `CollectionLink` over the master side of Q/GDW 1376.1 (harness/masters
 * `Gw1376Station` / `Gw1376Master`, issue 12 part A). Written against the contract's API
 * (/work/helper-contract-12.md part A) through the few members it uses, declared here
 * structurally (`Gw1376StationLike`, `Gw1376MasterLike`), so this file compiles before the
 * masters land and the real classes fit without a cast:
 *
 * - `station.on('terminal', master)` (a connection's first login) → 'login'; then the master's own
 *   'login' (a re-login on the same connection) → 'login', its 'heartbeat' → 'seen';
 * - `station.on('offline', address)` → 'offline';
 * - `station.terminal(area, terminal)` → the session: AFN 04, 0C and 0D through `master.request`.
 *
 * The terminal's password (PW of AFN 04) is the master's (`Gw1376Master({ password })`): the
 * station that builds the masters must be given it; `CollectionConcentrator.password` is not
 * used here.
 */
import { EventEmitter } from 'node:events';
import type { Address, DataUnitItem, Gw1376Message, UnitSpec } from '../../harness/protocols/gw1376/index.ts';
import type { CollectionLink, CollectionSession, TerminalId } from './collection.ts';

/** AFN 04 set parameters, AFN 0D class 2 data (PROTOCOLS.md 3.7). */
const AFN_SET_PARAMETERS = 0x04;
const AFN_CLASS1 = 0x0c;
const AFN_CLASS2 = 0x0d;

/** What the adapter uses of a `Gw1376Reply`. */
export interface Gw1376ReplyLike {
  readonly items: readonly DataUnitItem[];
  /** AFN 00 F2. */
  readonly denied: boolean;
  /** AFN 00 F1 / F2 / F3: per-unit confirmation (pn 'all' for DA FF 00; an F1 may list none: all confirmed). */
  readonly confirm?: readonly { readonly fn: number; readonly pn: number | 'all'; readonly ok: boolean }[];
}

export interface Gw1376MasterLike {
  readonly terminal: Address | undefined;
  on(event: 'login' | 'heartbeat', listener: (m: Gw1376Message) => void): unknown;
  request(afn: number, units: readonly UnitSpec[]): Promise<Gw1376ReplyLike>;
}

export interface Gw1376StationLike {
  terminal(areaCode: string, terminal: number): Gw1376MasterLike | undefined;
  on(event: 'terminal', listener: (master: Gw1376MasterLike) => void): unknown;
  on(event: 'offline', listener: (address: Address) => void): unknown;
}

/** Per unit: confirmed (true) or denied (false), from an AFN 04 reply. */
export function confirmations(units: readonly UnitSpec[], reply: Gw1376ReplyLike): boolean[] {
  if (reply.denied || reply.confirm === undefined) return units.map(() => false);
  const list = reply.confirm;
  return units.map((u) => {
    const entry = list.find((c) => c.fn === u.fn && (c.pn === u.pn || c.pn === 'all'));
    return entry !== undefined ? entry.ok : list.every((c) => c.ok);
  });
}

function idOf(a: Address): TerminalId {
  return { areaCode: a.areaCode, terminal: a.terminal };
}

/** The CollectionLink of a Gw1376Station. */
export function gw1376CollectionLink(station: Gw1376StationLike): CollectionLink {
  const emitter = new EventEmitter();
  const watched = new WeakSet<Gw1376MasterLike>();
  station.on('terminal', (master) => {
    if (master.terminal) emitter.emit('login', idOf(master.terminal));
    if (watched.has(master)) return;
    watched.add(master);
    master.on('login', () => {
      if (master.terminal) emitter.emit('login', idOf(master.terminal));
    });
    master.on('heartbeat', () => {
      if (master.terminal) emitter.emit('seen', idOf(master.terminal));
    });
  });
  station.on('offline', (address) => emitter.emit('offline', idOf(address)));
  return {
    session(id: TerminalId): CollectionSession | undefined {
      const master = station.terminal(id.areaCode, id.terminal);
      if (!master) return undefined;
      return {
        async setParameters(units) {
          return confirmations(units, await master.request(AFN_SET_PARAMETERS, units));
        },
        async class1(units) {
          const reply = await master.request(AFN_CLASS1, units);
          return reply.denied ? [] : reply.items;
        },
        async class2(units) {
          const reply = await master.request(AFN_CLASS2, units);
          return reply.denied ? [] : reply.items;
        },
      };
    },
    on(event, listener) {
      emitter.on(event, listener);
      return this;
    },
    off(event, listener) {
      emitter.off(event, listener);
      return this;
    },
  };
}
