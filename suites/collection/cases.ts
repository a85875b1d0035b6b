/**
 * The collection suite (issue 12): a concentrator judged from its uplink (MeterLab the master
 * station, Q/GDW 1376.1) with MeterLab's meters behind it, whose truth says what a collected value
 * must be. The cases share one target and run in order, virtual time only moving forward:
 * login and heartbeat → archive capacity (then cleared) → the scenario's archive downloaded →
 * clock sync → bad input → forwarding → the first night's collection → its load curves → a retry → a failed re-read → a
 * re-read after two dead nights → a dropped uplink → a reboot.
 * Requirements in suites/requirements/catalog-collection.ts.
 */
import { bytesEqual, toHex } from '../../harness/core/bytes.ts';
import { characterTimeMs } from '../../harness/links/link.ts';
import { encodeMessage as encodeCjt188 } from '../../harness/protocols/cjt188/messages.ts';
import { decode as decodeDlt645, encodeMessage as encodeDlt645 } from '../../harness/protocols/dlt645/messages.ts';
import { buildFrame, FOUR_METER_FN, passwordBytes, type DataUnitItem, type UnitValue } from '../../harness/protocols/gw1376/index.ts';
import { archiveChunks, type ArchivePoint, type DailyReading, type PointValue } from '../../harness/targets/gw1376-protocol.ts';
import { DEFAULT_CASE_TIMEOUT_MS, type CheckContext, type ConformanceCase } from '../framework/case.ts';
import type { Gw1376Curve } from '../../harness/masters/gw1376-master.ts';
import type { WorldPort } from '../../simulators/collection/index.ts';
import type { DailyCurve } from '../../simulators/concentrator/types.ts';
import { curveSvg, successRateSvg, timelineSvg } from './pictures.ts';
import { dailyReadingOf } from './daily.ts';
import { a1Clock } from './night.ts';
import { addDays, field, localClock, localDay, localInstant, needsBench, needsMeters, nextLocal, nightsBudget, offline, run, until, wait, waitFor, type CollectionTarget } from './support.ts';

type Case = ConformanceCase<CollectionTarget>;

/** Tolerance on the heartbeat period: one minute, MeterLab's choice (a terminal times it in minutes, AFN 04 F1). */
export const HEARTBEAT_TOLERANCE_S = 60;
/** CLK-01: terminal error after a sync ≤ 5 s. */
export const SYNC_LIMIT_S = 5;
/** COL-01 / GAP-01 limits, percent. */
export const SUCCESS_LIMIT_PCT: Readonly<Record<string, number>> = { electricity: 99.5, water: 98, gas: 98, heat: 98 };
/**
 * Slack when a water, gas or heat reading is checked against its meter: A.15 gives the reading time
 * to the minute, so the register may have moved for up to a minute (plus the exchange) [MeterLab].
 */
const READ_TIME_SLACK_MS = 75_000;
/** How long after the window closes the failed re-read must be on record [MeterLab]. */
const EVENT_GRACE_MS = 15 * 60_000;
/** Power-off time of the reboot case (ROB-08) [MeterLab]. */
const POWER_OFF_MS = 60_000;
/** Points per AFN 0D request (one DA names up to 8 pn; several DA per frame). */
const POINTS_PER_REQUEST = 8;

const points = (t: CollectionTarget): readonly ArchivePoint[] => t.meters?.archive ?? [];

/** A collected day of a point through 0D (F161 electricity, F249 the others), as a DailyReading the truth can check; undefined when denied. */
async function collectedDaily(t: CollectionTarget, ps: readonly ArchivePoint[], day: string): Promise<Map<number, DailyReading>> {
  const got = new Map<number, DailyReading>();
  for (let i = 0; i < ps.length; i += POINTS_PER_REQUEST) {
    const chunk = ps.slice(i, i + POINTS_PER_REQUEST);
    for (const fn of [161, FOUR_METER_FN]) {
      const mine = chunk.filter((p) => (fn === 161) === (p.protocol === 'dlt645-2007'));
      if (mine.length === 0) continue;
      const items = await run(t, t.master.class2(mine.map((p) => ({ pn: p.pn, fn, value: { day } }))));
      for (const it of items) {
        const r = readingOf(t, it, mine);
        if (r) got.set(r.pn, r);
      }
    }
  }
  return got;
}

function readingOf(t: CollectionTarget, it: DataUnitItem, ps: readonly ArchivePoint[]): DailyReading | undefined {
  const p = typeof it.pn === 'number' ? ps.find((x) => x.pn === it.pn) : undefined;
  return p ? dailyReadingOf(p, it.fn, it.value, t.declaration.utcOffsetMinutes) : undefined;
}

/**
 * The deadline of the first day the concentrator has had its archive for from the start: the next
 * deadline whose day (the day before it) is not before today. A case started at 00:40 waits for
 * tomorrow's 04:00 (yesterday's points were archived only today), one started at 12:40 for
 * tomorrow's too.
 */
function firstWholeDayDeadline(t: CollectionTarget): number {
  const today = localDay(t, t.clock.now());
  const next = nextLocal(t, t.declaration.collection.deadline);
  return addDays(localDay(t, next), -1) < today ? localInstant(t, addDays(localDay(t, next), 1), t.declaration.collection.deadline) : next;
}

/** Stops the case as inconclusive when nothing can be judged: no login, or (with `archive`) the archive not downloaded. */
function ready(ctx: CheckContext, t: CollectionTarget, needs: { readonly archive?: boolean } = {}): void {
  const down = offline(t) ?? (needs.archive && !t.archiveLoaded ? 'the archive was not downloaded (collection.archive-download)' : null);
  if (down) ctx.inconclusive(down);
}

/** F31 failures of the night keeper so far (a vendor's concentrator in "skip" mode), else 0. */
const syncFailures = (t: CollectionTarget): number => t.vendor?.keeper?.syncFailures ?? 0;

/**
 * A vendor's concentrator whose clock MeterLab could not set while it skipped part of a night:
 * the concentrator did not live the night the meters did, so what it collected cannot be judged
 * against them.
 */
function clockFollowed(ctx: CheckContext, t: CollectionTarget, failuresBefore: number): void {
  const n = syncFailures(t) - failuresBefore;
  if (n > 0) {
    ctx.inconclusive(
      `the concentrator's clock could not be set to the meters' ${n} time(s) while MeterLab skipped quiet stretches (AFN 05 F31 denied or unanswered: check device.declaration.password): what it collected cannot be judged against them; vendor.time "real" skips nothing`,
    );
  }
}

const describeValue = (v: PointValue): string => (v.kind === 'electricity' ? `${v.forwardActiveKwh.join('/')} kWh` : `${v.value} (unit ${v.unit.toString(16)}H)`);

// -----------------------------------------------------------------------------------------------

const loginAndHeartbeat: Case = {
  id: 'collection.login-and-heartbeat',
  requirement: 'CON-02',
  title: 'logs in, then sends a heartbeat every declared period',
  timeoutMs: (t) => (t.time === 'virtual' ? DEFAULT_CASE_TIMEOUT_MS : Math.max(DEFAULT_CASE_TIMEOUT_MS, (t.declaration.loginWithinSeconds + 2 * t.declaration.heartbeatMinutes * 60 + HEARTBEAT_TOLERANCE_S + 60) * 1000)),
  async run(ctx, t) {
    const periodMs = t.declaration.heartbeatMinutes * 60_000;
    if (t.logins.length === 0) await waitFor(t, () => t.logins.length > 0, t.clock.now() + t.declaration.loginWithinSeconds * 1000);
    const login = t.logins.at(-1);
    if (login === undefined) return ctx.fail(`no login (AFN 02 F1) within ${t.declaration.loginWithinSeconds} s (device.declaration.loginWithinSeconds)`);
    ctx.log(`login at ${localClock(t, login)}`);
    // Two heartbeats, or the time they may take (real time for a vendor's: never skipped).
    await waitFor(t, () => t.heartbeats.filter((h) => h > login).length >= 2, login + 2 * periodMs + HEARTBEAT_TOLERANCE_S * 1000);
    const beats = t.heartbeats.filter((h) => h > login);
    ctx.log(`heartbeats at ${beats.map((b) => localClock(t, b)).join(', ') || 'none'}`);
    if (!ctx.check(beats.length >= 2, `${beats.length} heartbeat(s) in the ${2 * t.declaration.heartbeatMinutes + 1} min after the login; declared every ${t.declaration.heartbeatMinutes} min`)) return;
    const gaps = [beats[0]! - login, beats[1]! - beats[0]!];
    const worst = Math.max(...gaps.map((g) => Math.abs(g - periodMs))) / 1000;
    ctx.measure('heartbeat period deviation, worst', Math.round(worst), 's', { max: HEARTBEAT_TOLERANCE_S });
  },
};

const archiveCapacity: Case = {
  id: 'collection.archive-capacity',
  requirement: 'COL-06',
  title: 'holds the declared archive capacity (at least 1,024 points) and gives it back',
  async run(ctx, t) {
    ready(ctx, t);
    const n = t.declaration.capacity;
    ctx.measure('declared archive capacity', n, 'points', { min: 1024 });
    // Points on the first RS-485 port, addresses no meter has: nothing is read before the clear below.
    const port = points(t).find((p) => p.protocol === 'dlt645-2007')?.port ?? 2;
    const fill: ArchivePoint[] = Array.from({ length: n }, (_, i) => ({
      serial: i + 1,
      pn: i + 1,
      port,
      protocol: 'dlt645-2007',
      address: String(900000000000 + i + 1),
      kind: 'electricity',
      password: '02000000',
    }));
    let refused = 0;
    for (const c of archiveChunks(fill)) {
      const reply = await run(t, t.master.setParameters(c.fn, c.value));
      if (reply.denied || (reply.confirm ?? []).some((x) => !x.ok)) refused += c.points.length;
    }
    ctx.check(refused === 0, `${refused} of ${n} archive records refused`);
    const back = await run(t, t.master.query(10, { count: 0, serials: [] }, { timeoutMs: 30_000 }));
    const records = back.flatMap((it) => (Array.isArray(field(it.value, 'meters')) ? (field(it.value, 'meters') as UnitValue[]) : []));
    ctx.log(`AFN 0A F10 answered ${records.length} records in ${back.length} data unit(s)`);
    ctx.check(records.length === n, `AFN 0A F10 gave back ${records.length} records; ${n} were set`);
    const wrong = records.filter((r) => field(r, 'address') !== String(900000000000 + Number(field(r, 'serial'))));
    ctx.check(wrong.length === 0, `${wrong.length} record(s) came back with another address than was set (first: serial ${String(field(wrong[0], 'serial'))})`);
    // AFN 01 F4: parameters (but the uplink's) and data initialised: the archive is empty again.
    const reset = await run(t, t.master.request(0x01, [{ pn: 0, fn: 4 }]));
    ctx.check(!reset.denied, 'AFN 01 F4 (parameter and data initialisation) was denied: the test archive could not be cleared');
    // The initialisation may take the terminal a while (a restart): ask every 5 s for up to a minute.
    const limit = t.clock.now() + 60_000;
    let left = NaN;
    for (;;) {
      await wait(t, t.clock.now() + 5000);
      // Answered (an empty archive may be denied: no records either) or not at all.
      const after = await run(t, t.master.query(10, { count: 0, serials: [] })).catch(() => undefined);
      if (after) left = after.reduce((s, it) => s + Number(field(it.value, 'count') ?? 0), 0);
      if (left === 0 || t.clock.now() >= limit) break;
    }
    ctx.check(left === 0, Number.isNaN(left) ? 'AFN 0A F10 not answered within a minute of AFN 01 F4' : `${left} archive record(s) left a minute after AFN 01 F4`);
  },
};

const archiveDownload: Case = {
  id: 'collection.archive-download',
  requirement: 'COL-10',
  title: "takes the scenario's archive (F10 DL/T 645, F249 CJ/T 188 and M-Bus) and gives it back",
  async run(ctx, t) {
    ready(ctx, t);
    const ps = points(t);
    if (ps.length === 0) return ctx.inconclusive('the scenario has no meters behind this concentrator');
    let refused = 0;
    for (const c of archiveChunks(ps)) {
      const reply = await ctx.step(`AFN 04 F${c.fn}: ${c.points.length} record(s)`, () => run(t, t.master.setParameters(c.fn, c.value)));
      const bad = reply.denied ? c.points.length : (reply.confirm ?? []).filter((x) => !x.ok).length;
      refused += bad;
    }
    ctx.check(refused === 0, `${refused} of ${ps.length} archive records refused`);
    for (const fn of [10, FOUR_METER_FN]) {
      const want = archiveChunks(ps).filter((c) => c.fn === fn).flatMap((c) => (c.value.meters as UnitValue[]) ?? []);
      const back = (await run(t, t.master.query(fn, { count: 0, serials: [] }))).flatMap((it) => (field(it.value, 'meters') as UnitValue[] | undefined) ?? []);
      const key = (r: UnitValue): string => JSON.stringify(Object.entries(r).sort());
      const missing = want.filter((w) => !back.some((b) => key(b) === key(w)));
      ctx.check(missing.length === 0, `AFN 0A F${fn}: ${missing.length} of ${want.length} record(s) not given back as set (first: ${missing[0] ? JSON.stringify(missing[0]) : ''})`);
      ctx.check(back.length === want.length, `AFN 0A F${fn}: ${back.length} record(s) given back, ${want.length} set`);
    }
    t.archiveLoaded = refused === 0;
    // COL-10: a reserved protocol code, and a port the concentrator does not have, are refused safely
    // (denied, and not in the archive afterwards), while the archive stays as it was.
    const template = archiveChunks(ps.filter((p) => p.protocol === 'dlt645-2007').slice(0, 1))[0]?.value.meters as UnitValue[] | undefined;
    if (template?.[0]) {
      const serial = Math.min(2040, Math.max(...ps.map((p) => p.serial)) + 100);
      const bad: [string, UnitValue][] = [
        ['reserved protocol code 99', { ...template[0], serial, pn: serial, protocol: 99 }],
        ['port 29, which it does not have', { ...template[0], serial, pn: serial, rateAndPort: (3 << 5) | 29 }],
      ];
      for (const [what, record] of bad) {
        const reply = await run(t, t.master.setParameters(10, { count: 1, meters: [record] }));
        const accepted = !reply.denied && (reply.confirm ?? []).every((x) => x.ok);
        ctx.check(!accepted, `an F10 record with ${what} was accepted`);
        const back = await run(t, t.master.query(10, { count: 1, serials: [{ serial }] }));
        const kept = back.flatMap((it) => (field(it.value, 'meters') as UnitValue[] | undefined) ?? []).filter((r) => field(r, 'serial') === serial);
        ctx.check(kept.length === 0, `an F10 record with ${what} is in the archive (serial ${serial})`);
      }
    }
  },
};

const clockSync: Case = {
  id: 'collection.clock-sync',
  requirement: 'CLK-01',
  title: 'sets its clock on AFN 05 F31 and keeps it within 5 s',
  async run(ctx, t) {
    ready(ctx, t);
    const readClock = async (): Promise<number | undefined> => {
      const items = await run(t, t.master.class1([{ pn: 0, fn: 2 }]));
      const c = field(items[0]?.value, 'clock') as { time?: string } | undefined;
      return c?.time ? Date.parse(`${c.time.replace(' ', 'T')}Z`) - t.declaration.utcOffsetMinutes * 60_000 : undefined;
    };
    const a1 = (ms: number): UnitValue => a1Clock(ms, t.declaration.utcOffsetMinutes);
    // First set it 7 minutes wrong (inside CLK-03's 1-15 min band), so a terminal that ignores F31 is seen.
    const off = 7 * 60_000;
    const r1 = await run(t, t.master.control(31, 0, a1(t.clock.now() + off)));
    if (!ctx.check(!r1.denied, 'AFN 05 F31 denied')) return;
    const seen1 = await readClock();
    if (seen1 === undefined) return ctx.fail('AFN 0C F2 gave no clock');
    ctx.check(Math.abs(seen1 - (t.clock.now() + off)) <= SYNC_LIMIT_S * 1000, `after setting it 7 min ahead the clock reads ${localClock(t, seen1)}, master ${localClock(t, t.clock.now())}: F31 not acted on`);
    await run(t, t.master.control(31, 0, a1(t.clock.now())));
    const seen2 = await readClock();
    if (seen2 === undefined) return ctx.fail('AFN 0C F2 gave no clock');
    ctx.measure('terminal clock error after sync', Math.abs(seen2 - t.clock.now()) / 1000, 's', { max: SYNC_LIMIT_S });
  },
};

const badInput: Case = {
  id: 'collection.bad-input',
  requirement: 'ROB-10',
  title: 'a corrupted frame, a wrong password and an expired time tag change nothing, and it answers afterwards',
  async run(ctx, t) {
    ready(ctx, t);
    const before = await run(t, t.master.query(1));
    const hb = field(before[0]?.value, 'heartbeatMinutes');
    if (typeof hb !== 'number' || !before[0]?.value) return ctx.inconclusive('AFN 0A F1 (uplink parameters) not answered: nothing to compare');
    const address = { areaCode: t.declaration.terminal.areaCode, terminal: t.declaration.terminal.address, msa: t.declaration.msa, group: false };
    const change = { ...(before[0]!.value as object), heartbeatMinutes: hb === 1 ? 2 : hb - 1 } as UnitValue;
    const set = (pw: Uint8Array, tp?: { pfc: number; day: number; hour: number; minute: number; second: number; delayMinutes: number }): Uint8Array =>
      buildFrame({ control: { dir: false, prm: true, functionCode: 10 }, address, afn: 0x04, seq: { seq: 9, con: true }, units: [{ pn: 0, fn: 1, value: change }], pw, ...(tp ? { tp } : {}) });
    const good = passwordBytes(t.declaration);
    // 1. The checksum broken.
    const corrupted = set(good);
    corrupted[corrupted.length - 2] = (corrupted[corrupted.length - 2]! + 1) & 0xff;
    const r1 = await run(t, t.master.sendRaw(corrupted, { timeoutMs: 5000 }));
    ctx.check(r1 === null, `a frame with a wrong checksum was answered (AFN ${r1?.frame.afn.toString(16)}H)`);
    // 2. A wrong password.
    const wrong = good.map((b) => b ^ 0xff);
    const r2 = await run(t, t.master.sendRaw(set(wrong), { timeoutMs: 5000 }));
    ctx.check(r2 === null || r2.frame.afn === 0x00, 'a request with a wrong password got a reply that is no AFN 00 deny');
    if (r2 && r2.frame.afn === 0x00) ctx.log(`wrong password: AFN 00 F${r2.units[0]?.fns[0] ?? '?'}`);
    // 3. A time tag sent 10 minutes ago with 1 minute allowed (CON-01).
    const sent = new Date(t.clock.now() - 10 * 60_000 + t.declaration.utcOffsetMinutes * 60_000);
    const tp = { pfc: 9, day: sent.getUTCDate(), hour: sent.getUTCHours(), minute: sent.getUTCMinutes(), second: sent.getUTCSeconds(), delayMinutes: 1 };
    const r3 = await run(t, t.master.sendRaw(set(good, tp), { timeoutMs: 5000 }));
    ctx.check(r3 === null, `a request whose time tag expired 9 minutes ago was answered (AFN ${r3?.frame.afn.toString(16)}H): it must be discarded (ROB-10)`);
    const after = await run(t, t.master.query(1));
    ctx.check(after.length > 0, 'AFN 0A F1 not answered after the bad input');
    const hbAfter = field(after[0]?.value, 'heartbeatMinutes');
    ctx.check(hbAfter === hb, `the heartbeat period changed from ${hb} to ${String(hbAfter)} min: a bad request was acted on`);
  },
};

const forwarding: Case = {
  id: 'collection.forwarding-byte-exact',
  requirement: 'CON-07',
  title: 'forwards a DL/T 645 and a CJ/T 188 frame to the meter and its reply back, byte for byte',
  applies: (t) => needsMeters(t, 'seeing the frames on the meters’ bus'),
  async run(ctx, t) {
    ready(ctx, t);
    const meters = t.meters!;
    const chosen = [points(t).find((p) => p.protocol === 'dlt645-2007'), points(t).find((p) => p.protocol === 'cjt188')].filter((p): p is ArchivePoint => p !== undefined);
    if (chosen.length === 0) return ctx.notApplicable('the scenario has no DL/T 645 or CJ/T 188 meter');
    for (const p of chosen) {
      const frame =
        p.protocol === 'dlt645-2007'
          ? encodeDlt645(p.address, { kind: 'readData', di: '00010000', extra: new Uint8Array(0) })
          : encodeCjt188(p.meterType ?? 0x10, p.address, { kind: 'readData', di: '901F', diOrder: 'standard', ser: 7 });
      const wp = meters.world.ports.find((w) => w.port.port === p.port);
      if (!wp) return ctx.fail(`port ${p.port} of point ${p.pn} is not in the world`);
      const seen: number[] = [];
      const r = await listeningOn(
        [wp],
        `sniffer-p${p.pn}`,
        (_, c) => seen.push(...c),
        () => ctx.step(`forward ${p.protocol} to ${p.address} on port ${p.port}`, () => run(t, t.master.forward(p.port, frame, { frameTimeoutMs: 20_000, byteTimeoutMs: 500, timeoutMs: 60_000, attempts: 1 }))),
      );
      if ('denied' in r) {
        ctx.check(false, `forwarding to ${p.address} (${p.protocol}) on port ${p.port} denied`);
        continue;
      }
      const onBus = Uint8Array.from(seen);
      const at = indexOf(onBus, frame);
      ctx.check(at >= 0, `the frame on the bus is not the one forwarded: sent ${toHex(frame)}, the bus carried ${toHex(onBus)}`);
      const replyStart = at >= 0 ? at + frame.length : 0;
      let rest = onBus.subarray(replyStart);
      while (rest.length > 0 && rest[0] === 0xfe) rest = rest.subarray(1);
      ctx.check(r.content.length > 0 && bytesEqual(r.content, rest.subarray(0, r.content.length)) && r.content.length === rest.length, `the reply forwarded up (${toHex(r.content)}) is not the meter's (${toHex(rest)})`);
      ctx.evidence(`forward ${p.address}`, `request ${toHex(frame)}\nbus     ${toHex(onBus)}\nreply   ${toHex(r.content)}`);
    }
  },
};

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const dailyByDeadline: Case = {
  id: 'collection.daily-by-deadline',
  requirement: 'COL-03',
  title: "every meter's daily frozen data at the concentrator by the deadline, equal to the meter's own",
  timeoutMs: (t) => nightsBudget(t, 2),
  async run(ctx, t) {
    ready(ctx, t, { archive: true });
    const deadline = firstWholeDayDeadline(t);
    const day = addDays(localDay(t, deadline), -1);
    const failures = syncFailures(t);
    // The night that collects `day`: from its midnight to the deadline.
    const night = localInstant(t, addDays(day, 1), '00:00');
    // What went over each of the meters' buses that night (MeterLab's side of the wire).
    const busPorts = t.meters?.world.ports ?? [];
    const busBefore = new Map<number, number>();
    // A listening node on each bus: the first and last byte of the night and the bytes, on the world's clock.
    const heard = new Map<number, { first: number; last: number; bytes: number }>();
    await listeningOn(
      busPorts,
      'suite-sniffer',
      (wp, chunk) => {
        if (t.clock.now() < night) return;
        const h = heard.get(wp.port.port);
        // A chunk arrives when its last character has; its first went out chunk.length characters before.
        if (h) {
          h.last = t.clock.now();
          h.bytes += chunk.length;
        } else heard.set(wp.port.port, { first: t.clock.now() - chunk.length * characterTimeMs(wp.port.line), last: t.clock.now(), bytes: chunk.length });
      },
      async () => {
        await ctx.step(`run to ${localDay(t, night)} 00:00`, () => until(t, night));
        for (const wp of busPorts) busBefore.set(wp.port.port, wp.bus.stats.bytes);
        await ctx.step(`run to ${localDay(t, deadline)} ${t.declaration.collection.deadline}`, () => until(t, deadline));
      },
    );
    clockFollowed(ctx, t, failures);
    const ps = points(t);
    const got = await collectedDaily(t, ps, day);
    const byKind = new Map<string, { due: number; collected: number; first: number }>();
    for (const p of ps) {
      const k = byKind.get(p.kind) ?? { due: 0, collected: 0, first: 0 };
      byKind.set(p.kind, k);
      const truth = t.meters?.truth.point(p.pn);
      if (truth?.dead) continue; // a meter that never answers is not the concentrator's failure (COL-04 judges its event)
      k.due++;
      const r = got.get(p.pn);
      if (!r) {
        ctx.check(false, `p${p.pn} (${p.kind} ${p.address}): no daily data for ${day} at ${t.declaration.collection.deadline}`);
        continue;
      }
      if (t.meters) {
        const c = t.meters.truth.check(r, { slackMs: READ_TIME_SLACK_MS });
        if (!ctx.check(c.ok, `p${p.pn} (${p.kind} ${p.address}) ${day}: collected ${describeValue(r.value)}, the meter says ${c.expected}`)) continue;
      }
      k.collected++;
    }
    for (const [kind, k] of byKind) {
      if (k.due === 0) continue;
      ctx.measure(`daily success rate, ${kind}`, Math.round((10000 * k.collected) / k.due) / 100, '%', { min: SUCCESS_LIMIT_PCT[kind] ?? 98 });
    }
    const rate = successRateSvg(
      `${day}: collected at the concentrator by ${t.declaration.collection.deadline}`,
      [...byKind].map(([kind, k]) => ({ label: kind, due: k.due, collected: k.collected, firstAttempt: k.collected, limitPct: SUCCESS_LIMIT_PCT[kind] ?? 98 })),
    );
    ctx.evidence('success rate per meter kind', rate, 'image/svg+xml');
    // The collection timeline: the reference's own runs, checked against the wire; a vendor's
    // concentrator's from the wire itself (first and last byte and the bytes on each bus that night).
    const ports = new Map<number, { startMs: number; endMs: number; lineTimeMs: number }>();
    const runs = t.bench?.concentrator.core.collectionRuns().filter((r) => r.day === day) ?? [];
    if (t.bench) {
      for (const r of runs) {
        for (const p of r.ports) {
          const x = ports.get(p.port);
          ports.set(p.port, x ? { startMs: Math.min(x.startMs, p.startedAt), endMs: Math.max(x.endMs, p.endedAt), lineTimeMs: x.lineTimeMs + p.lineTimeMs } : { startMs: p.startedAt, endMs: p.endedAt, lineTimeMs: p.lineTimeMs });
        }
      }
      checkTimelineAgainstWire(ctx, t, { ports, heard, busPorts, busBefore, windowStart: localInstant(t, addDays(day, 1), t.declaration.collection.start), deadline });
    } else {
      for (const wp of busPorts) {
        const h = heard.get(wp.port.port);
        if (h) ports.set(wp.port.port, { startMs: h.first, endMs: h.last, lineTimeMs: h.bytes * characterTimeMs(wp.port.line) });
      }
    }
    if (ports.size > 0) {
      const name = `${t.declaration.terminal.areaCode}-${t.declaration.terminal.address}`;
      const svg = timelineSvg(`${day}: collection timeline${t.bench ? '' : ' (as heard on the meters\' buses)'}`, [{ name, ports: [...ports].map(([port, p]) => ({ label: `port ${port}`, ...p })) }], night, deadline, t.declaration.utcOffsetMinutes);
      ctx.evidence('collection timeline', svg, 'image/svg+xml');
      const last = Math.max(...[...ports.values()].map((p) => p.endMs));
      ctx.log(`collection of ${day}: ${t.bench ? `${runs.length} run(s), ` : ''}last exchange at ${localClock(t, last)}`);
    }
  },
};

/**
 * The reference's timeline is evidence: it must tell what happened on the wire. Each port's window
 * lies in the night's collection window, is no shorter than its line time, and its characters are
 * every byte the bus carried that night (nothing else talks on a meters' bus at night).
 */
function checkTimelineAgainstWire(
  ctx: CheckContext,
  t: CollectionTarget,
  o: {
    readonly ports: ReadonlyMap<number, { readonly startMs: number; readonly endMs: number; readonly lineTimeMs: number }>;
    readonly heard: ReadonlyMap<number, { readonly first: number; readonly last: number }>;
    readonly busPorts: readonly WorldPort[];
    readonly busBefore: ReadonlyMap<number, number>;
    readonly windowStart: number;
    readonly deadline: number;
  },
): void {
  // The runs' instants are the terminal's clock (synced by clock-sync, within CLK-01's 5 s).
  const terminalAhead = t.bench!.concentrator.core.now() - t.clock.now();
  for (const wp of o.busPorts) {
    const port = wp.port.port;
    const seen = wp.bus.stats.bytes - (o.busBefore.get(port) ?? 0);
    const drawn = o.ports.get(port);
    const charMs = characterTimeMs(wp.port.line);
    const characters = drawn ? Math.round(drawn.lineTimeMs / charMs) : 0;
    ctx.check(characters === seen, `port ${port}: the collection runs count ${characters} characters on the port, its bus carried ${seen} bytes that night`);
    if (!drawn) continue;
    ctx.check(
      drawn.startMs >= o.windowStart && drawn.endMs <= o.deadline && drawn.endMs >= drawn.startMs,
      `port ${port}: the timeline's window ${localClock(t, drawn.startMs)}-${localClock(t, drawn.endMs)} is not inside ${t.declaration.collection.start}-${t.declaration.collection.deadline}`,
    );
    ctx.check(drawn.endMs - drawn.startMs + charMs >= drawn.lineTimeMs, `port ${port}: a window of ${Math.round(drawn.endMs - drawn.startMs)} ms is shorter than its line time ${Math.round(drawn.lineTimeMs)} ms`);
    // Against the wire: it starts with the first byte heard and ends after the last one, by at
    // most a reply timeout's worth of waiting for a meter that did not answer.
    const h = o.heard.get(port);
    if (!h) continue;
    const waitMs = (wp.port.timeoutMs ?? 3000) * (wp.port.attempts ?? 3) + 1000;
    const start = drawn.startMs - terminalAhead;
    const end = drawn.endMs - terminalAhead;
    ctx.check(
      Math.abs(start - h.first) <= 2 * charMs + 5 && end >= h.last - 2 * charMs - 5 && end <= h.last + waitMs,
      `port ${port}: the timeline draws ${localClock(t, start)}-${localClock(t, end)}, the bus carried bytes from ${localClock(t, h.first)} to ${localClock(t, h.last)} (${Math.round(start - h.first)} ms / ${Math.round(end - h.last)} ms off)`,
    );
  }
}

/** 1376.1 AFN 0D curve Fn (COL-12): F101 forward active energy reading, F81 active power, F89 phase A voltage. */
const CURVE_FNS = { forwardActiveKwh: 101, activePowerKw: 81, voltageAV: 89 } as const;
/** Td_c density m = 1: 15 minutes, 96 points a day (1376.1; harness/protocols/gw1376 CURVE_DENSITY_MINUTES). */
const CURVE_DENSITY = 1;
const CURVE_POINTS = 96;
const CURVE_INTERVAL_MINUTES = 15;
/** Points per curve request: 4 pn x 3 Fn x 96 points, a few frames [MeterLab]. */
const CURVE_POINTS_PER_REQUEST = 4;

/** The day curves of `ps` for `day` through AFN 0D F101/F81/F89 (Td_c from 00:00, 15 min, 96 points), as DailyCurves. */
async function collectedCurves(t: CollectionTarget, ps: readonly ArchivePoint[], day: string): Promise<Map<number, DailyCurve>> {
  const got = new Map<number, Partial<Record<keyof typeof CURVE_FNS, Gw1376Curve>>>();
  for (let i = 0; i < ps.length; i += CURVE_POINTS_PER_REQUEST) {
    const wanted = ps.slice(i, i + CURVE_POINTS_PER_REQUEST).flatMap((p) => Object.values(CURVE_FNS).map((fn) => ({ pn: p.pn, fn })));
    const curves = await run(t, t.master.readCurves(wanted, `${day} 00:00`, CURVE_DENSITY, CURVE_POINTS));
    for (const c of curves) {
      const name = (Object.keys(CURVE_FNS) as (keyof typeof CURVE_FNS)[]).find((k) => CURVE_FNS[k] === c.fn)!;
      got.set(c.pn, { ...got.get(c.pn), [name]: c });
    }
  }
  const out = new Map<number, DailyCurve>();
  const series = (c: Gw1376Curve | undefined): Float64Array => Float64Array.from({ length: CURVE_POINTS }, (_, i) => c?.points[i] ?? NaN);
  for (const [pn, c] of got) {
    out.set(pn, { pn, day, intervalMinutes: CURVE_INTERVAL_MINUTES, readAt: NaN, forwardActiveKwh: series(c.forwardActiveKwh), activePowerKw: series(c.activePowerKw), voltageAV: series(c.voltageAV) });
  }
  return out;
}

const loadCurves: Case = {
  id: 'collection.load-curves',
  requirement: 'COL-12',
  title: "every electricity meter's 15-minute curves of the day (energy, power, voltage) at the concentrator by the deadline, equal to the meter's own load records",
  applies: (t) => needsMeters(t, "comparing the curves with the meters' own load records"),
  timeoutMs: (t) => nightsBudget(t, 1),
  async run(ctx, t) {
    ready(ctx, t, { archive: true });
    // The day whose deadline passed last: yesterday once today's deadline is over, else run to it.
    const today = localDay(t, t.clock.now());
    const passed = localInstant(t, today, t.declaration.collection.deadline) <= t.clock.now();
    const deadline = passed ? localInstant(t, today, t.declaration.collection.deadline) : nextLocal(t, t.declaration.collection.deadline);
    if (!passed) await ctx.step(`run to ${localDay(t, deadline)} ${t.declaration.collection.deadline}`, () => until(t, deadline));
    const day = addDays(localDay(t, deadline), -1);
    const from = localInstant(t, day, '00:00');
    // Due: the electricity meters that answer and keep load records for the day (a DL/T 645 meter
    // behind a wireless converter keeps none in this world; the truth says which).
    const due = points(t).filter((p) => {
      const truth = t.meters!.truth.point(p.pn);
      return p.protocol === 'dlt645-2007' && truth !== undefined && !truth.dead && truth.loadRecords(from, CURVE_POINTS).length > 0;
    });
    if (due.length === 0) ctx.inconclusive(`no electricity meter of the scenario keeps load records for ${day} (its "curves" setting)`);
    const got = await collectedCurves(t, due, day);
    let want = 0;
    let right = 0;
    let drawn = false;
    for (const p of due) {
      const truth = t.meters!.truth.point(p.pn)!;
      const records = truth.loadRecords(from, CURVE_POINTS);
      const expected = t.meters!.truth.meterCurve(p.pn, day, CURVE_INTERVAL_MINUTES)!;
      let points = 0;
      for (const a of [expected.forwardActiveKwh, expected.activePowerKw, expected.voltageAV]) for (const v of a) if (!Number.isNaN(v)) points++;
      want += points;
      const c = got.get(p.pn);
      if (!ctx.check(c !== undefined, `p${p.pn} (${p.address}): no curve for ${day} (F101/F81/F89) at ${t.declaration.collection.deadline}; the meter has ${records.length} load records of it`)) continue;
      const verdict = t.meters!.truth.checkCurve(c!);
      if (ctx.check(verdict.ok, `p${p.pn} (${p.address}) ${day}: ${verdict.expected}, collected ${verdict.got}`)) right += points;
      if (!drawn) {
        drawn = true;
        const list = (a: Float64Array): (number | null)[] => Array.from(a, (v) => (Number.isNaN(v) ? null : v));
        ctx.evidence(
          `day curves of p${p.pn}`,
          curveSvg(`p${p.pn} (${p.address}) ${day}: collected (line) and the meter's load records (grey)`, [
            { label: 'F101 forward active energy', unit: 'kWh', points: list(c!.forwardActiveKwh), expected: list(expected.forwardActiveKwh) },
            { label: 'F81 active power', unit: 'kW', points: list(c!.activePowerKw), expected: list(expected.activePowerKw) },
            { label: 'F89 phase A voltage', unit: 'V', points: list(c!.voltageAV), expected: list(expected.voltageAV) },
          ], CURVE_INTERVAL_MINUTES),
          'image/svg+xml',
        );
      }
    }
    ctx.measure('curve points collected, electricity', want === 0 ? 0 : Math.round((10000 * right) / want) / 100, '%', { min: SUCCESS_LIMIT_PCT['electricity']! });
    ctx.log(`${day}: ${got.size} of ${due.length} meters' curves, ${right} of ${want} points (3 quantities x records) equal to the meters'`);
  },
};

/** An electricity point of the archive, counting from the end (so two cases pick different meters). */
const electricityPoint = (t: CollectionTarget, fromEnd: number): ArchivePoint | undefined => points(t).filter((p) => p.protocol === 'dlt645-2007').at(-1 - fromEnd);

/**
 * Runs `work` with a listening node (`${name}-<port>`) on the bus of each of `ports` — MeterLab's
 * side of the wire, it never writes — handed every chunk it hears; the nodes go afterwards,
 * whatever happens.
 */
async function listeningOn<R>(ports: readonly WorldPort[], name: string, onData: (wp: WorldPort, chunk: Uint8Array) => void, work: () => Promise<R>): Promise<R> {
  const nodes = ports.map((wp) => {
    const node = wp.bus.attach(`${name}-${wp.port.port}`);
    node.on('data', (chunk: Uint8Array) => onData(wp, chunk));
    return node;
  });
  try {
    return await work();
  } finally {
    for (const n of nodes) await n.close();
  }
}

/** Runs `work` with the meters of `ps` silent (reference only); they answer again afterwards, whatever happens. */
async function withSilenced<R>(t: CollectionTarget, ps: readonly ArchivePoint[], work: () => Promise<R>): Promise<R> {
  const truths = ps.map((p) => t.meters!.truth.point(p.pn)!);
  for (const x of truths) x.setDead(true);
  try {
    return await work();
  } finally {
    for (const x of truths) x.setDead(false);
  }
}

/**
 * From when the retry case listens for requests to meters already collected: after the 00:05 pass
 * (the bench's ends by 00:15) and before the first retry at 00:35 [MeterLab].
 */
const RETRIES_HEARD_FROM = '00:30';
/** When the meters of the retry case answer again: after the 00:05 pass and a first retry [MeterLab]. */
const BACK_AT = '01:10';

const retryBeforeDeadline: Case = {
  id: 'collection.retry-before-deadline',
  requirement: 'COL-03',
  title: 'meters silent at 00:05 that answer later in the night are read again before the deadline',
  applies: (t) => needsMeters(t, 'silencing a meter'),
  timeoutMs: (t) => nightsBudget(t, 1),
  async run(ctx, t) {
    ready(ctx, t, { archive: true });
    // One meter of each protocol behind the concentrator, silent from before midnight until 01:10.
    const chosen = ['dlt645-2007', 'cjt188', 'mbus']
      .map((protocol) => points(t).filter((p) => p.protocol === protocol).at(protocol === 'dlt645-2007' ? -3 : -1))
      .filter((p): p is ArchivePoint => p !== undefined);
    const deadline = nextLocal(t, t.declaration.collection.deadline);
    const day = addDays(localDay(t, deadline), -1);
    // 补抄 reads what is missing: from the first retry on, every DL/T 645 request on the meters' buses
    // is for a meter still missing something (here the silent one). Heard on the wire (MeterLab's side).
    const retriesFrom = localInstant(t, localDay(t, deadline), RETRIES_HEARD_FROM);
    const failures = syncFailures(t);
    const stray = new Map<string, number>();
    await listeningOn(
      t.meters!.world.ports.filter((wp) => wp.plan.kind === 'dlt645'),
      'suite-retry-sniffer',
      (_, chunk) => {
        if (t.clock.now() < retriesFrom) return;
        const d = decodeDlt645(chunk);
        if (!d.ok || d.value.frame.control.isResponse) return;
        const address = d.value.frame.address;
        if (!chosen.some((p) => p.address === address)) stray.set(address, (stray.get(address) ?? 0) + 1);
      },
      async () => {
        await ctx.step(`${chosen.map((p) => `p${p.pn}`).join(', ')} silent until ${BACK_AT}`, () => withSilenced(t, chosen, () => until(t, localInstant(t, localDay(t, deadline), BACK_AT))));
        await ctx.step(`run to ${localDay(t, deadline)} ${t.declaration.collection.deadline}`, () => until(t, deadline));
      },
    );
    clockFollowed(ctx, t, failures);
    ctx.check(
      stray.size === 0,
      `the retries from ${RETRIES_HEARD_FROM} read ${stray.size} meter(s) whose day was already collected (${[...stray].slice(0, 3).map(([a, n]) => `${a}: ${n} request(s)`).join(', ')}): 补抄 reads what is missing`,
    );
    const got = await collectedDaily(t, chosen, day);
    for (const p of chosen) {
      const r = got.get(p.pn);
      if (!ctx.check(r !== undefined, `p${p.pn} (${p.kind} ${p.address}): silent at 00:05, answering from ${BACK_AT}, still no daily data for ${day} at ${t.declaration.collection.deadline}`)) continue;
      const c = t.meters!.truth.check(r!, { slackMs: READ_TIME_SLACK_MS });
      ctx.check(c.ok, `p${p.pn} (${p.kind}) ${day}: collected ${describeValue(r!.value)}, the meter says ${c.expected}`);
      ctx.check(r!.readAt >= localInstant(t, localDay(t, deadline), BACK_AT), `p${p.pn}: its reading time ${localClock(t, r!.readAt)} is before the meter answered again (${BACK_AT})`);
    }
  },
};

const failedReReadEvent: Case = {
  id: 'collection.failed-re-read-event',
  requirement: 'COL-04',
  title: 'a meter that cannot be read is reported with an ERC 39 event naming it and the day',
  applies: (t) => needsMeters(t, 'silencing a meter'),
  timeoutMs: (t) => nightsBudget(t, 1),
  async run(ctx, t) {
    ready(ctx, t, { archive: true });
    const p = electricityPoint(t, 0);
    if (!p) return ctx.notApplicable('the scenario has no DL/T 645 meter');
    const deadline = nextLocal(t, t.declaration.collection.deadline);
    const day = addDays(localDay(t, deadline), -1);
    const reportsBefore = t.reports.length;
    const failures = syncFailures(t);
    // The window closes at the deadline; the event may take the last exchange after it (MeterLab allows 15 min).
    await ctx.step(`p${p.pn} silent, run to ${localDay(t, deadline)} ${t.declaration.collection.deadline} + 15 min`, () => withSilenced(t, [p], () => until(t, deadline + EVENT_GRACE_MS)));
    clockFollowed(ctx, t, failures);
    const events = await run(t, t.master.events(true, 0, 255));
    const erc39 = events.filter((e) => field(e, 'erc') === 39);
    ctx.log(`important events: ${events.map((e) => `ERC ${String(field(e, 'erc'))}`).join(', ') || 'none'}`);
    const mine = erc39.filter((e) => {
      const data = (field(e, 'fields') ?? {}) as UnitValue;
      return Number(field(data, 'pn')) % 4096 === p.pn && field(data, 'day') === day;
    });
    ctx.check(mine.length > 0, `no ERC 39 for p${p.pn} and ${day} among ${erc39.length} ERC 39 record(s) (AFN 0E F1)`);
    const reported = t.reports.slice(reportsBefore).some((r) => r.items.some((it) => it.fn === 1));
    ctx.check(reported, 'the event was not reported actively (AFN 0E with CON, CON-04)');
  },
};

const reReadAfterOutage: Case = {
  id: 'collection.re-read-after-outage',
  requirement: 'COL-03',
  title: "re-reads the last 3 days: a meter silent for two nights has all its days once it answers again",
  applies: (t) => needsMeters(t, 'silencing a meter'),
  timeoutMs: (t) => nightsBudget(t, 3),
  async run(ctx, t) {
    ready(ctx, t, { archive: true });
    const p = electricityPoint(t, 1);
    if (!p) return ctx.notApplicable('the scenario has fewer than two DL/T 645 meters');
    const firstNight = nextLocal(t, t.declaration.collection.deadline);
    const failures = syncFailures(t);
    const missed = [addDays(localDay(t, firstNight), -1), localDay(t, firstNight)];
    await ctx.step(`p${p.pn} silent for two nights (${missed.join(', ')})`, () => withSilenced(t, [p], () => until(t, localInstant(t, addDays(localDay(t, firstNight), 1), '06:00'))));
    const deadline = nextLocal(t, t.declaration.collection.deadline);
    await ctx.step(`p${p.pn} answers again; run to ${localDay(t, deadline)} ${t.declaration.collection.deadline}`, () => until(t, deadline));
    clockFollowed(ctx, t, failures);
    const days = [...missed, addDays(localDay(t, deadline), -1)];
    for (const day of days) {
      const got = (await collectedDaily(t, [p], day)).get(p.pn);
      if (!ctx.check(got !== undefined, `p${p.pn}: no daily data for ${day} after the meter came back`)) continue;
      const c = t.meters!.truth.check(got!);
      ctx.check(c.ok, `p${p.pn} ${day}: collected ${describeValue(got!.value)}, the meter's freeze says ${c.expected}`);
    }
  },
};

const reloginAfterDrop: Case = {
  id: 'collection.relogin-after-drop',
  requirement: 'ROB-09',
  title: 'after its uplink drops it logs in again (login first), and answers',
  timeoutMs: (t) => Math.max(DEFAULT_CASE_TIMEOUT_MS, (t.declaration.loginWithinSeconds + 60) * 1000),
  async run(ctx, t) {
    ready(ctx, t);
    const logins = t.logins.length;
    const dropped = t.clock.now();
    // MeterLab closes the connection (the reference's relay; for a vendor's, its listener's socket).
    await t.dropUplink();
    const limit = dropped + t.declaration.loginWithinSeconds * 1000;
    await waitFor(t, () => t.logins.length > logins, limit);
    if (t.logins.length === logins) return ctx.fail(`no login within ${t.declaration.loginWithinSeconds} s of the uplink dropping`);
    const again = t.logins[logins]!;
    ctx.measure('login after the uplink dropped', Math.round((again - dropped) / 1000), 's', { max: t.declaration.loginWithinSeconds });
    const items = await run(t, t.master.class1([{ pn: 0, fn: 2 }]));
    ctx.check(items.length > 0, 'AFN 0C F2 not answered after the re-login');
  },
};

const rebootKeepsData: Case = {
  id: 'collection.reboot-keeps-data',
  requirement: 'ROB-08',
  title: 'a power cycle keeps the archive and the stored daily data',
  applies: (t) => needsBench(t, 'power-cycling the concentrator'),
  async run(ctx, t) {
    ready(ctx, t, { archive: true });
    const day = addDays(localDay(t, t.clock.now()), -1);
    const ps = points(t);
    const before = await collectedDaily(t, ps, day);
    const archiveBefore = (await run(t, t.master.query(10, { count: 0, serials: [] }))).length;
    const logins = t.logins.length;
    await run(t, t.bench!.powerCycle(POWER_OFF_MS));
    await wait(t, t.clock.now() + t.declaration.loginWithinSeconds * 1000);
    ctx.check(t.logins.length > logins, 'no login after the power cycle');
    const after = await collectedDaily(t, ps, day);
    const lost = [...before.keys()].filter((pn) => !after.has(pn));
    ctx.check(lost.length === 0, `${lost.length} point(s) lost their ${day} data in the power cycle (first: p${lost[0]})`);
    const archiveAfter = (await run(t, t.master.query(10, { count: 0, serials: [] }))).length;
    ctx.check(archiveAfter === archiveBefore && archiveAfter > 0, `the F10 archive answered in ${archiveAfter} unit(s) after the power cycle, ${archiveBefore} before`);
  },
};

/** In order: each case leaves the target as the next one expects it (see the file header). */
export const collectionCases: readonly Case[] = [
  loginAndHeartbeat,
  archiveCapacity,
  archiveDownload,
  clockSync,
  badInput,
  forwarding,
  dailyByDeadline,
  loadCurves,
  retryBeforeDeadline,
  failedReReadEvent,
  reReadAfterOutage,
  reloginAfterDrop,
  rebootKeepsData,
];
