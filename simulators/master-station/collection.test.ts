/**
 * The station's collection (collection.ts) against scripted concentrators, in virtual time, on
 * PGlite in memory and (with METERLAB_TEST_PG_URL) a PostgreSQL server. The scripted terminal
 * builds every request and reply as a 1376.1 frame with the codec (buildFrame) and decodes it
 * again (decode): the station's units must be encodable by the dictionary, and the items it gets
 * back are exactly what the codec gives for a terminal's reply.
 */
import { EventEmitter } from 'node:events';
import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fromCalendar } from '../../harness/core/calendar.ts';
import { VirtualClock } from '../../harness/core/clock.ts';
import {
  ArchiveProtocol,
  buildFrame,
  decode,
  items as itemsOf,
  PW_LENGTH,
  USER_DATA_OFFSET,
  FRAME_OVERHEAD,
  type DataUnitItem,
  type UnitSpec,
  type UnitValue,
} from '../../harness/protocols/gw1376/index.ts';
import type { ArchivePoint } from '../concentrator/types.ts';
import { archiveChunks, archiveRecord } from './collection-archive.ts';
import { everyIncrementPositive } from './collection-leak.ts';
import {
  CollectionStation,
  concentratorKey,
  type CollectionConcentrator,
  type CollectionLink,
  type CollectionSession,
  type CollectionStationOptions,
  type TerminalId,
} from './collection.ts';
import type { DeliveryBatch } from './collection-delivery.ts';
import type { Db } from './db.ts';
import { BACKENDS, testDatabases } from './test-db.ts';

/** 2026-03-02 03:00 local (UTC+8): an hour before the first round of 2026-03-01's data. */
const T0 = fromCalendar({ year: 2026, month: 3, day: 2, hour: 3, minute: 0, second: 0 });
const DAY = '2026-03-01';
const at = (hour: number, minute = 0, day = 2): number => fromCalendar({ year: 2026, month: 3, day, hour, minute, second: 0 });
const PW = new Uint8Array(PW_LENGTH);
/** What a dead request costs the master: 5 s x 3 attempts (CON-02 defaults of Gw1376Master). */
const REQUEST_TIMEOUT_MS = 15_000;

function archive(electricity: number, water: number, gas: number, heat: number): ArchivePoint[] {
  const points: ArchivePoint[] = [];
  let pn = 0;
  for (let i = 0; i < electricity; i++) {
    pn++;
    points.push({ serial: pn, pn, port: 2, protocol: 'dlt645-2007', address: String(100000000000 + pn), kind: 'electricity', password: '02123456', operator: '00000001' });
  }
  for (const [kind, n, meterType] of [['water', water, 0x10], ['gas', gas, 0x30]] as const) {
    for (let i = 0; i < n; i++) {
      pn++;
      points.push({ serial: pn, pn, port: 3, protocol: 'cjt188', address: String(20000000000000 + pn), meterType, kind });
    }
  }
  for (let i = 0; i < heat; i++) {
    pn++;
    points.push({ serial: pn, pn, port: 5, protocol: 'mbus', address: String(i + 1), meterType: 0x04, kind: 'heat' });
  }
  return points;
}

/** The value a point's meter froze for a day: distinct per point, exact to 0.0001. */
function truth(pn: number): number {
  return 1000 + pn * 12.3456;
}

/**
 * A concentrator as the station sees it through its uplink: every request is built as a
 * downlink frame and decoded (what a terminal would receive); every reply is built as an uplink
 * frame and decoded (what the master would hand the station).
 */
class ScriptedTerminal implements CollectionSession {
  online = false;
  /** Archive records received, by pn, decoded from the frames. */
  readonly archive = new Map<number, UnitValue>();
  readonly frames: { afn: number; userDataLength: number; pns: number[] }[] = [];
  /** When each point's reading of DAY becomes available at the concentrator (default: always). */
  readonly availableFrom = new Map<number, number>();
  /** Points it never has. */
  readonly never = new Set<number>();
  denyArchiveFn: number | null = null;
  /** The next n class 2 requests time out. */
  timeouts = 0;
  /** Replies with the reading of another day (a stale buffer). */
  wrongDay = false;
  /** The daily reading of a point and day, or undefined: none stored. */
  daily: (pn: number, day: string) => number | undefined = (pn, day) => (day === DAY ? truth(pn) : undefined);
  /** The current reading of a point at an instant (AFN 0C F249), or undefined: none. */
  current: (pn: number, now: number) => number | undefined = () => undefined;

  constructor(
    readonly id: TerminalId,
    readonly clock: VirtualClock,
    readonly points: readonly ArchivePoint[],
  ) {}

  private address() {
    return { areaCode: this.id.areaCode, terminal: this.id.terminal, msa: 1, group: false };
  }

  private down(afn: number, units: readonly UnitSpec[]): DataUnitItem[] {
    const bytes = buildFrame({ control: { dir: false, prm: true, functionCode: afn === 0x04 ? 10 : afn === 0x0c ? 10 : 11 }, address: this.address(), afn, seq: { seq: 0 }, units, pw: afn === 0x04 ? PW : undefined });
    const r = decode(bytes);
    if (!r.ok) throw new Error(`the station's AFN ${afn} request does not decode: ${r.error.message}`);
    const list = itemsOf(r.value);
    this.frames.push({ afn, userDataLength: bytes.length - FRAME_OVERHEAD, pns: list.map((i) => (typeof i.pn === 'number' ? i.pn : -1)) });
    expect(bytes[USER_DATA_OFFSET - 1]).toBe(0x68);
    return list;
  }

  async setParameters(units: readonly UnitSpec[]): Promise<readonly boolean[]> {
    if (!this.online) throw new Error('link closed');
    const list = this.down(0x04, units);
    return list.map((item) => {
      if (item.fn === this.denyArchiveFn) return false;
      for (const m of (item.value!.meters as readonly UnitValue[]) ?? []) this.archive.set(m.pn as number, m);
      return true;
    });
  }

  async class1(units: readonly UnitSpec[]): Promise<readonly DataUnitItem[]> {
    if (!this.online) throw new Error('link closed');
    const reply: UnitSpec[] = [];
    for (const item of this.down(0x0c, units)) {
      const pn = item.pn as number;
      const point = this.points.find((p) => p.pn === pn);
      const v = this.current(pn, this.clock.now());
      if (!point || item.fn !== 249 || v === undefined) continue;
      reply.push({ pn, fn: 249, value: { readingTime: '2026-03-02 02:00', meterType: point.meterType!, unit: 0x2c, value: v, status: '00 00' } });
    }
    if (reply.length === 0) return [];
    const r = decode(buildFrame({ control: { dir: true, prm: false, functionCode: 8 }, address: this.address(), afn: 0x0c, seq: { seq: 0 }, units: reply }));
    if (!r.ok) throw new Error(`the scripted reply does not decode: ${r.error.message}`);
    return itemsOf(r.value);
  }

  async class2(units: readonly UnitSpec[]): Promise<readonly DataUnitItem[]> {
    if (!this.online) throw new Error('link closed');
    const asked = this.down(0x0d, units);
    if (this.timeouts > 0) {
      this.timeouts--;
      await this.clock.sleep(REQUEST_TIMEOUT_MS);
      throw new Error('Gw1376TimeoutError: no reply after 3 attempts');
    }
    const reply: UnitSpec[] = [];
    for (const item of asked) {
      const pn = item.pn as number;
      const day = item.value!.day as string;
      const point = this.points.find((p) => p.pn === pn);
      const v = this.daily(pn, day);
      if (!point || v === undefined || this.never.has(pn) || this.clock.now() < (this.availableFrom.get(pn) ?? 0)) continue;
      const replyDay = this.wrongDay ? '2026-02-28' : day;
      if (item.fn === 161) {
        const t = (v / 4).toFixed(4);
        reply.push({ pn, fn: 161, value: { day: replyDay, readingTime: '2026-03-02 00:05', tariffCount: 4, forwardActive: [v, +t, +t, +t, null].map((value) => ({ value })) } });
      } else {
        reply.push({ pn, fn: 249, value: { day: replyDay, readingTime: '2026-03-02 00:07', meterType: point.meterType!, unit: point.kind === 'heat' ? 0x05 : 0x2c, value: v } });
      }
    }
    if (reply.length === 0) return []; // AFN 00 F2: all denied
    const bytes = buildFrame({ control: { dir: true, prm: false, functionCode: 8 }, address: this.address(), afn: 0x0d, seq: { seq: 0 }, units: reply });
    const r = decode(bytes);
    if (!r.ok) throw new Error(`the scripted reply does not decode: ${r.error.message}`);
    return itemsOf(r.value);
  }

  classTwoRequests(): number {
    return this.frames.filter((f) => f.afn === 0x0d).length;
  }
}

class ScriptedLink implements CollectionLink {
  private readonly emitter = new EventEmitter();
  readonly terminals = new Map<string, ScriptedTerminal>();

  add(t: ScriptedTerminal): ScriptedTerminal {
    this.terminals.set(concentratorKey(t.id), t);
    return t;
  }
  session(id: TerminalId): CollectionSession | undefined {
    const t = this.terminals.get(concentratorKey(id));
    return t?.online ? t : undefined;
  }
  on(event: 'login' | 'seen' | 'offline', listener: (id: TerminalId) => void): this {
    this.emitter.on(event, listener);
    return this;
  }
  off(event: 'login' | 'seen' | 'offline', listener: (id: TerminalId) => void): this {
    this.emitter.off(event, listener);
    return this;
  }
  login(t: ScriptedTerminal): void {
    t.online = true;
    this.emitter.emit('login', t.id);
  }
  drop(t: ScriptedTerminal): void {
    t.online = false;
    this.emitter.emit('offline', t.id);
  }
}

interface Rig {
  clock: VirtualClock;
  db: Db;
  link: ScriptedLink;
  station: CollectionStation;
  terminals: ScriptedTerminal[];
  options: CollectionStationOptions;
  /** Runs virtual time up to `instant`, then waits for the station's work in flight. */
  until(instant: number): Promise<void>;
}

const A: TerminalId = { areaCode: '3301', terminal: 1 };
const B: TerminalId = { areaCode: '3301', terminal: 2 };

const rigs: Rig[] = [];
let databases = testDatabases('pglite');
afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.clock.run(r.station.stop());
    await databases.release(r.db);
  }
});

async function rig(concentrators: { id: TerminalId; archive: ArchivePoint[] }[], extra: Partial<CollectionStationOptions> = {}): Promise<Rig> {
  const clock = new VirtualClock({ start: T0, autoAdvance: false });
  const db = await databases.fresh();
  const link = new ScriptedLink();
  const terminals = concentrators.map((c) => link.add(new ScriptedTerminal(c.id, clock, c.archive)));
  const config: CollectionConcentrator[] = concentrators.map((c) => ({ ...c.id, password: PW, archive: c.archive }));
  const options: CollectionStationOptions = { db, clock, link, concentrators: config, ...extra };
  const station = new CollectionStation(options);
  await clock.run(station.start());
  const r: Rig = {
    clock,
    db,
    link,
    station,
    terminals,
    options,
    until: async (instant) => {
      await clock.run(async () => {
        await clock.sleep(instant - clock.now());
        await station.idle();
      });
    },
  };
  rigs.push(r);
  return r;
}

describe('archive chunks', () => {
  it('packs whole F10 and F249 records, each chunk one frame within the limit, in serial order', () => {
    const points = archive(40, 10, 10, 5);
    for (const limit of [255, 1000, 16383]) {
      const chunks = archiveChunks(points, limit);
      expect(chunks.flatMap((c) => c.points.map((p) => p.pn))).toEqual(points.map((p) => p.pn));
      for (const c of chunks) {
        expect(c.fn).toBe(c.points[0]!.protocol === 'dlt645-2007' ? 10 : 249);
        const bytes = buildFrame({
          control: { dir: false, prm: true, functionCode: 10 },
          address: { areaCode: '3301', terminal: 1, msa: 1, group: false },
          afn: 0x04,
          seq: { seq: 0 },
          units: [{ pn: 0, fn: c.fn, value: c.value }],
          pw: PW,
          tp: { pfc: 0, day: 2, hour: 3, minute: 0, second: 0, delayMinutes: 5 },
        });
        expect(bytes.length - FRAME_OVERHEAD).toBe(c.userDataLength);
        expect(c.userDataLength).toBeLessThanOrEqual(limit);
      }
    }
    // 255 bytes of user data hold (255 - 36) / 27 = 8 F10 records and (255 - 36) / 14 = 15 F249 records.
    expect(archiveChunks(points, 255).map((c) => c.points.length)).toEqual([8, 8, 8, 8, 8, 15, 10]);
    expect(archiveChunks(points).map((c) => c.points.length)).toEqual([40, 25]);
    expect(() => archiveChunks(points, 50)).toThrow(/does not fit a frame of 50 bytes/);
  });

  it('writes the records the dictionary defines: protocol codes, port, address, meter type', () => {
    const [e, w, h] = [archive(1, 0, 0, 0)[0]!, archive(0, 1, 0, 0)[0]!, archive(0, 0, 0, 1)[0]!];
    expect(archiveRecord(e)).toMatchObject({ serial: 1, pn: 1, rateAndPort: (3 << 5) | 2, protocol: ArchiveProtocol.dlt645_2007, address: '100000000001', password: '02 12 34 56 00 00', tariffs: 4 });
    expect(archiveRecord(w)).toEqual({ serial: 1, pn: 1, port: 3, protocol: ArchiveProtocol.cjt188, meterType: 0x10, address: '20000000000001' });
    expect(archiveRecord(h)).toEqual({ serial: 1, pn: 1, port: 5, protocol: ArchiveProtocol.mbus, meterType: 0x04, address: '00000000000001' });
  });
});

describe.each(BACKENDS)('collection on %s', (backend) => {
  const mine = testDatabases(backend);
  beforeAll(() => {
    databases = mine;
  });
  afterAll(() => mine.closeAll());

  it('downloads the archive on login in frame-sized chunks, confirmed per unit, and not again once confirmed', async () => {
    const points = archive(20, 6, 4, 3);
    const r = await rig([{ id: A, archive: points }], { schedule: { maxUserData: 255 } });
    const t = r.terminals[0]!;
    t.denyArchiveFn = 249;
    r.link.login(t);
    await r.until(T0 + 1000);
    expect(t.frames.filter((f) => f.afn === 0x04).map((f) => f.userDataLength).every((n) => n <= 255)).toBe(true);
    expect(t.frames.filter((f) => f.afn === 0x04)).toHaveLength(3 + 1); // 20 F10 records in 8 + 8 + 4; 13 F249 in one
    // F249 denied: only the electricity points are confirmed.
    expect(await r.clock.run(r.station.confirmedPoints(A))).toEqual(points.filter((p) => p.kind === 'electricity').map((p) => p.pn));
    // What the terminal decoded is each point's record.
    for (const p of points.filter((x) => x.kind === 'electricity')) expect(t.archive.get(p.pn)).toEqual(archiveRecord(p));

    // Logging in again sends only what is not confirmed.
    t.denyArchiveFn = null;
    t.frames.length = 0;
    r.link.drop(t);
    r.link.login(t);
    await r.until(T0 + 2000);
    expect(t.frames.map((f) => f.afn)).toEqual([0x04]);
    expect(await r.clock.run(r.station.confirmedPoints(A))).toEqual(points.map((p) => p.pn));
    for (const p of points) expect(t.archive.get(p.pn)).toEqual(archiveRecord(p));

    // A third login sends nothing; a changed record (new address) is sent again after a restart.
    t.frames.length = 0;
    r.link.login(t);
    await r.until(T0 + 3000);
    expect(t.frames).toEqual([]);
    await r.clock.run(r.station.stop());
    const changed = points.map((p) => (p.pn === 5 ? { ...p, address: '999999999999' } : p));
    const again = new CollectionStation({ ...r.options, concentrators: [{ ...A, archive: changed }] });
    r.station = again;
    await r.clock.run(again.start());
    r.link.login(t);
    await r.until(T0 + 4000);
    expect(t.frames.map((f) => f.pns)).toEqual([[0]]);
    expect(t.archive.get(5)!.address).toBe('999999999999');
  });

  it('collects yesterday from 04:00, re-collects what is missing every 30 min until 12:00, and computes the success rate', async () => {
    const points = archive(40, 10, 8, 6);
    const r = await rig([{ id: A, archive: points }], { schedule: { pointsPerRequest: 16 } });
    const t = r.terminals[0]!;
    r.link.login(t);
    await r.until(T0 + 60_000);
    expect(t.classTwoRequests()).toBe(0); // before 04:00 nothing of yesterday is asked
    t.availableFrom.set(3, at(4, 20)); // electricity, collected at 04:30 (attempt 2)
    t.availableFrom.set(45, at(5, 50)); // water, collected at 06:00 (attempt 5)
    t.availableFrom.set(61, at(4, 1)); // heat, collected at 04:30 (attempt 2)
    t.never.add(50); // water, never: asked at every round 04:00 .. 11:30

    await r.until(at(4, 0) + 60_000);
    // 40 electricity points in 3 requests of at most 16 (F161), 24 others in 2 (F249).
    expect(t.frames.filter((f) => f.afn === 0x0d).map((f) => f.pns.length)).toEqual([16, 16, 8, 16, 8]);
    let rate = await r.clock.run(r.station.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 64, collected: 60, firstAttempt: 60, terminals: 1, offlineTerminals: 0 });

    await r.until(at(12, 30));
    // From 04:30 only what is missing is asked; the last round is 11:30 (16 rounds in all).
    const missingRequests = t.frames.filter((f) => f.afn === 0x0d).slice(5);
    expect(missingRequests.every((f) => f.pns.every((pn) => [3, 45, 50, 61].includes(pn)))).toBe(true);
    const rounds50 = t.frames.filter((f) => f.afn === 0x0d && f.pns.includes(50)).length;
    expect(rounds50).toBe(16);
    rate = await r.clock.run(r.station.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 64, collected: 63, firstAttempt: 60, byDeadline: 63, terminals: 1, offlineTerminals: 0 });
    expect(rate.total.rate).toBeCloseTo(63 / 64, 12);
    expect(rate.kinds.map((k) => [k.kind, k.due, k.collected, k.firstAttempt])).toEqual([
      ['electricity', 40, 40, 39],
      ['water', 10, 9, 8],
      ['gas', 8, 8, 8],
      ['heat', 6, 6, 5],
    ]);
    expect(rate.concentrators).toHaveLength(1);
    expect(rate.concentrators[0]).toMatchObject({ concentrator: '3301-00001', due: 64, collected: 63, offline: false, offlineRounds: 0, rounds: 16 });

    // Stored exactly as the terminal answered: A.14 values to 0.0001, tariffs, units.
    const stored = await r.clock.run(r.station.readings(A, DAY));
    expect(stored).toHaveLength(63);
    for (const s of stored) expect(s.value).toBe(Math.round(truth(s.pn) * 10_000) / 10_000);
    const e1 = stored.find((s) => s.pn === 1)!;
    expect(e1).toMatchObject({ kind: 'electricity', readingTime: '2026-03-02 00:05', unit: null, tariffs: [+(truth(1) / 4).toFixed(4), +(truth(1) / 4).toFixed(4), +(truth(1) / 4).toFixed(4), null] });
    expect(stored.find((s) => s.pn === 61)).toMatchObject({ kind: 'heat', unit: 0x05, meterType: 0x04, tariffs: null });
    expect(stored.find((s) => s.pn === 45)).toMatchObject({ kind: 'water', unit: 0x2c, meterType: 0x10, receivedAt: at(6, 0) });

    // Nothing more after 12:00 until the next day's 04:00, which collects 2026-03-02 (nothing due of DAY).
    const before = t.classTwoRequests();
    await r.until(at(3, 59, 3));
    expect(t.classTwoRequests()).toBe(before);
  });

  it('stores each reading once: rounds again, a restarted station, a stale reply of another day (ROB-10)', async () => {
    const points = archive(10, 4, 0, 0);
    const r = await rig([{ id: A, archive: points }]);
    const t = r.terminals[0]!;
    r.link.login(t);
    t.wrongDay = true; // the 04:00 reply carries 2026-02-28: refused, nothing stored
    await r.until(at(4, 10));
    expect((await r.clock.run(r.station.successRate(DAY))).total).toMatchObject({ due: 14, collected: 0 });
    const rejected = await r.clock.run(r.db.query<{ kind: string; detail: { rejected: { reason: string }[] } }>(`SELECT kind, detail FROM event WHERE kind = 'reading-rejected'`));
    expect(rejected.rows).toHaveLength(2);
    expect(rejected.rows[0]!.detail.rejected[0]!.reason).toBe(`day 2026-02-28 where ${DAY} was asked`);

    t.wrongDay = false;
    await r.until(at(4, 40));
    // Rounds run again by hand and by a second station on the same database: nothing twice.
    await r.clock.run(Promise.all([r.station.runRound(DAY), r.station.runRound(DAY), r.station.collect(A, DAY)]));
    const second = new CollectionStation(r.options);
    await r.clock.run(async () => {
      await second.start();
      await second.runRound(DAY);
      await second.stop();
    });
    const count = await r.clock.run(r.db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM meter_reading`));
    expect(count.rows[0]!.n).toBe(14);
    const rate = await r.clock.run(second.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 14, collected: 14, firstAttempt: 0 });
    expect(t.frames.filter((f) => f.afn === 0x0d)).toHaveLength(4); // 2 refused at 04:00, 2 answered at 04:30
  });

  it('counts an offline terminal, keeps its points due, and collects the gap when it logs in after the window (ROB-09)', async () => {
    const r = await rig([
      { id: A, archive: archive(6, 2, 0, 0) },
      { id: B, archive: archive(3, 0, 2, 1) },
    ]);
    const [ta, tb] = r.terminals as [ScriptedTerminal, ScriptedTerminal];
    r.link.login(ta);
    await r.until(at(12, 30));
    let rate = await r.clock.run(r.station.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 14, collected: 8, firstAttempt: 8, terminals: 2, offlineTerminals: 1 });
    expect(rate.concentrators.map((c) => [c.concentrator, c.due, c.collected, c.offline, c.rounds, c.offlineRounds])).toEqual([
      ['3301-00001', 8, 8, false, 1, 0],
      ['3301-00002', 6, 0, true, 16, 16],
    ]);
    expect(rate.concentrators[1]!.rate).toBe(0);

    r.link.login(tb);
    await r.until(at(13, 0));
    expect(tb.frames.map((f) => f.afn)).toEqual([0x04, 0x04, 0x0d, 0x0d]); // archive (F10, F249), then the gap
    rate = await r.clock.run(r.station.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 14, collected: 14, byDeadline: 8, firstAttempt: 14, offlineTerminals: 1 }); // it was offline in the window
    expect(rate.kinds.map((k) => [k.kind, k.due, k.collected])).toEqual([
      ['electricity', 9, 9],
      ['water', 2, 2],
      ['gas', 2, 2],
      ['heat', 1, 1],
    ]);
  });

  it('a station started after 04:00 catches up with yesterday at once; a terminal that logs in later gets its gap', async () => {
    const r = await rig([{ id: A, archive: archive(3, 1, 0, 0) }]); // started at 03:00, stopped at once
    await r.clock.run(r.station.stop());
    await r.until(at(13, 0));
    const t = r.terminals[0]!;
    r.station = new CollectionStation(r.options);
    await r.clock.run(async () => {
      await r.station.start();
      await r.station.idle();
    });
    let rate = await r.clock.run(r.station.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 4, collected: 0, offlineTerminals: 1 });
    r.link.login(t);
    await r.until(at(13, 5));
    rate = await r.clock.run(r.station.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 4, collected: 4, byDeadline: 0 });
  });

  it('a request that times out interrupts the round; the next round asks again', async () => {
    const r = await rig([{ id: A, archive: archive(40, 0, 0, 0) }], { schedule: { pointsPerRequest: 20 } });
    const t = r.terminals[0]!;
    r.link.login(t);
    t.timeouts = 1;
    await r.until(at(4, 10));
    // The first request timed out: the second chunk was not asked in that round.
    expect(t.frames.filter((f) => f.afn === 0x0d).map((f) => f.pns.length)).toEqual([20]);
    expect((await r.clock.run(r.station.successRate(DAY))).total).toMatchObject({ due: 40, collected: 0 });
    const failed = await r.clock.run(r.db.query(`SELECT kind FROM event WHERE kind = 'collection-request-failed'`));
    expect(failed.rows).toHaveLength(1);
    await r.until(at(4, 40));
    const rate = await r.clock.run(r.station.successRate(DAY));
    expect(rate.total).toMatchObject({ due: 40, collected: 40, firstAttempt: 20 }); // the second chunk's first request was at 04:30
  });

  it('countRetriedTwice: the rate is wrong with the fault, right without it', async () => {
    const points = archive(8, 2, 0, 0);
    const run = async (faults: CollectionStationOptions['faults']) => {
      const r = await rig([{ id: A, archive: points }], { faults });
      const t = r.terminals[0]!;
      t.availableFrom.set(2, at(4, 15));
      t.availableFrom.set(9, at(4, 45));
      t.never.add(10);
      r.link.login(t);
      await r.until(at(12, 30));
      return r.clock.run(r.station.successRate(DAY));
    };
    const right = await run(undefined);
    expect(right.total).toMatchObject({ due: 10, collected: 9, firstAttempt: 7 });
    expect(right.total.rate).toBe(0.9);
    const wrong = await run({ countRetriedTwice: true });
    expect(wrong.total).toMatchObject({ due: 10, collected: 11, firstAttempt: 7 });
    expect(wrong.total.rate).toBe(1.1);
  });
});

describe('delivery to the utilities (msw)', () => {
  const received: { utility: string; auth: string | null; batch: DeliveryBatch }[] = [];
  let waterFailures = 0;
  const server = setupServer(
    http.post('http://water.example/api/readings', async ({ request }) => {
      if (waterFailures > 0) {
        waterFailures--;
        return new HttpResponse('busy', { status: 503 });
      }
      received.push({ utility: 'water', auth: request.headers.get('authorization'), batch: (await request.json()) as DeliveryBatch });
      return HttpResponse.json({ ok: true });
    }),
    http.post('http://heat.example/readings', async ({ request }) => {
      received.push({ utility: 'heat', auth: request.headers.get('authorization'), batch: (await request.json()) as DeliveryBatch });
      return new HttpResponse(null, { status: 204 });
    }),
  );
  beforeAll(() => {
    databases = testDatabases('pglite');
    server.listen({ onUnhandledRequest: 'error' });
  });
  afterAll(async () => {
    server.close();
    await databases.closeAll();
  });

  it('posts each water, gas and heat reading to its utility once, retrying a failed batch after 60 s; electricity goes nowhere', async () => {
    const points = archive(5, 4, 3, 6);
    const delivery = {
      endpoints: [
        { utility: 'water-gas-co', kinds: ['water', 'gas'] as const, url: 'http://water.example/api/readings', token: 'w-token' },
        { utility: 'heat-co', kinds: ['heat'] as const, url: 'http://heat.example/readings' },
      ],
      batchSize: 5,
    };
    const r = await rig([{ id: A, archive: points }], { delivery });
    const t = r.terminals[0]!;
    t.availableFrom.set(7, at(4, 20)); // a water reading collected at 04:30
    waterFailures = 1;
    r.link.login(t);
    await r.until(at(4, 10));
    const failed = await r.clock.run(r.db.query<{ detail: { utility: string } }>(`SELECT detail FROM event WHERE kind = 'delivery-failed'`));
    expect(failed.rows.map((x) => x.detail.utility)).toEqual(['water-gas-co']);
    await r.until(at(4, 40));

    const water = received.filter((x) => x.utility === 'water');
    const heat = received.filter((x) => x.utility === 'heat');
    expect(water.every((x) => x.auth === 'Bearer w-token')).toBe(true);
    expect(heat.every((x) => x.auth === null)).toBe(true);
    expect(heat.map((x) => x.batch.readings.length)).toEqual([5, 1]);
    // 6 water and gas readings at 04:01 (the retry; 5 + 1), the late one at 04:30.
    expect(water.map((x) => x.batch.readings.map((y) => y.pn))).toEqual([[6, 8, 9, 10, 11], [12], [7]]);
    const sent = [...water, ...heat].flatMap((x) => x.batch.readings);
    expect(sent.map((y) => y.pn).sort((a, b) => a - b)).toEqual(points.filter((p) => p.kind !== 'electricity').map((p) => p.pn));
    for (const y of sent) {
      const p = points.find((x) => x.pn === y.pn)!;
      expect(y).toEqual({ concentrator: '3301-00001', pn: p.pn, day: DAY, kind: p.kind, value: Math.round(truth(p.pn) * 10_000) / 10_000, unit: p.kind === 'heat' ? 0x05 : 0x2c, meterType: p.meterType, readingTime: '2026-03-02 00:07', tariffs: null });
    }
    expect(water[0]!.batch.reference).toBe(`water-gas-co/${DAY}/3301-00001/6..${DAY}/3301-00001/11`);

    // A restarted station finds nothing pending and posts nothing.
    await r.clock.run(r.station.stop());
    const before = received.length;
    r.station = new CollectionStation(r.options);
    await r.clock.run(async () => {
      await r.station.start();
      await r.station.idle();
    });
    expect(received.length).toBe(before);
  });

  it('refuses a bad endpoint configuration with the field named', () => {
    const base = { db: {} as Db, clock: new VirtualClock(), link: new ScriptedLink(), concentrators: [] };
    expect(() => new CollectionStation({ ...base, delivery: { endpoints: [{ utility: 'w', kinds: ['water'], url: 'ftp://x' }] } })).toThrow(/url must be http: or https:/);
    expect(() => new CollectionStation({ ...base, delivery: { endpoints: [{ utility: 'a b', kinds: ['water'], url: 'http://x' }] } })).toThrow(/utility must be/);
    expect(() => new CollectionStation({ ...base, delivery: { endpoints: [{ utility: 'w', kinds: [], url: 'http://x' }] } })).toThrow(/kinds is empty/);
  });
});

describe('usage reminders', () => {
  beforeAll(() => {
    databases = testDatabases('pglite');
  });
  afterAll(() => databases.closeAll());

  it("a day whose usage is above the kind's threshold gets one reminder, whichever of its two readings comes last", async () => {
    const r = await rig([{ id: A, archive: archive(1, 2, 1, 0) }], { usageReminders: { water: 1.5, gas: 3 } });
    const t = r.terminals[0]!;
    const values: Record<number, Record<string, number>> = {
      1: { '2026-02-27': 1, '2026-02-28': 900, '2026-03-01': 1000 }, // electricity: no threshold, no reminder
      2: { '2026-02-27': 7, '2026-02-28': 9, '2026-03-01': 10 }, // water: 2 on 02-28 (reminded), 1 on 03-01
      3: { '2026-02-28': 15, '2026-03-01': 20 }, // water: 5 on 03-01
      4: { '2026-02-28': 96, '2026-03-01': 99.0001 }, // gas: 3.0001 on 03-01, just above 3
    };
    t.daily = (pn, day) => values[pn]?.[day];
    r.link.login(t);
    await r.until(at(4, 10));
    await r.clock.run(async () => {
      await r.station.runRound('2026-02-28');
      await r.station.runRound('2026-02-27');
      await r.station.runRound('2026-02-27'); // nothing twice
    });
    expect(await r.clock.run(r.station.usageReminders())).toEqual([
      { concentrator: '3301-00001', pn: 2, kind: 'water', day: '2026-02-28', usage: 2, threshold: 1.5 },
      { concentrator: '3301-00001', pn: 3, kind: 'water', day: '2026-03-01', usage: 5, threshold: 1.5 },
      { concentrator: '3301-00001', pn: 4, kind: 'gas', day: '2026-03-01', usage: 3.0001, threshold: 3 },
    ]);
    const events = await r.clock.run(r.db.query(`SELECT kind FROM event WHERE kind = 'usage-reminder'`));
    expect(events.rows).toHaveLength(3);
  });
});

describe('leak warnings (GAP-08)', () => {
  it('everyIncrementPositive: all present and each above the one before', () => {
    expect(everyIncrementPositive([1, 2, 3, 4])).toBe(true);
    expect(everyIncrementPositive([1, 2, 2, 4])).toBe(false);
    expect(everyIncrementPositive([1, 2, undefined, 4])).toBe(false);
    expect(everyIncrementPositive([4, 3])).toBe(false);
    expect(everyIncrementPositive([1])).toBe(false);
  });

  describe.each(BACKENDS)('on %s', (backend) => {
    const mine = testDatabases(backend);
    beforeAll(() => {
      databases = mine;
    });
    afterAll(() => mine.closeAll());

    it('warns a water meter after 3 positive nights and a gas meter after a day without a zero hour, once per episode; never a meter with zero hours', async () => {
      const r = await rig([{ id: A, archive: archive(0, 2, 2, 0) }], { leak: {} });
      const t = r.terminals[0]!;
      const HOUR = 3_600_000;
      // pn 1 water and pn 3 gas run all the time; pn 2 water and pn 4 gas only from 07:00 to 23:00.
      const daytimeHours = (now: number): number => {
        let n = 0;
        for (let h = T0; h + HOUR <= now; h += HOUR) {
          const hour = new Date(h + 8 * HOUR).getUTCHours();
          if (hour >= 7 && hour < 23) n++;
        }
        return n;
      };
      t.current = (pn, now) => (pn === 1 || pn === 3 ? 100 + Math.floor((now - T0) / HOUR) * 0.01 : 50 + daytimeHours(now) * 0.02);
      r.link.login(t);
      await r.until(at(6, 0, 6));
      const warnings = await r.clock.run(r.station.leakWarnings());
      expect(warnings).toEqual([
        // The first whole gas day is 03-03 (03-02 began before the station read anything).
        { concentrator: '3301-00001', pn: 3, kind: 'gas', day: '2026-03-03', lastDay: '2026-03-05', raisedAt: at(0, 0, 4) },
        // Nights 03-03, 03-04 and 03-05 (03-02's 02:00 was before T0).
        { concentrator: '3301-00001', pn: 1, kind: 'water', day: '2026-03-05', lastDay: '2026-03-06', raisedAt: at(5, 0, 5) },
      ]);
      const events = await r.clock.run(r.db.query(`SELECT kind FROM event WHERE kind = 'leak-warning'`));
      expect(events.rows).toHaveLength(2);
      // Water is read at 02:00-05:00 only; gas every hour.
      const slots = await r.clock.run(r.db.query<{ pn: number; n: number }>(`SELECT pn, COUNT(*)::int AS n FROM hourly_reading GROUP BY pn ORDER BY pn`));
      // Water: 03:00-05:00 of 03-02 (3 slots) and 02:00-05:00 of 03-03..03-06 (16); gas: every hour
      // from 03:00 of 03-02 to 05:00 of 03-06 (99; the 06:00 slot fires after the test's own timer).
      expect(slots.rows).toEqual([
        { pn: 1, n: 19 },
        { pn: 2, n: 19 },
        { pn: 3, n: 99 },
        { pn: 4, n: 99 },
      ]);
    });

    it('a night without readings (terminal offline) is not positive: the rule never warns on missing data', async () => {
      const r = await rig([{ id: A, archive: archive(0, 1, 0, 0) }], { leak: {} });
      const t = r.terminals[0]!;
      t.current = (_pn, now) => 100 + Math.floor((now - T0) / 3_600_000) * 0.01;
      r.link.login(t);
      await r.until(at(2, 30, 4));
      r.link.drop(t); // offline for the 03:00-05:00 slots of night 03-04
      await r.until(at(6, 0, 4));
      r.link.login(t);
      await r.until(at(6, 0, 6));
      expect(await r.clock.run(r.station.leakWarnings())).toEqual([]); // nights 03-05 and 03-06 only: 2 of 3
      await r.until(at(6, 0, 7));
      expect((await r.clock.run(r.station.leakWarnings())).map((w) => w.day)).toEqual(['2026-03-07']);
    });
  });
});
