/**
 * The collection suite's cases for a MASTER STATION (issue 12): MeterLab runs the scenario's
 * concentrators, which log in to the station, and judges what the station collected and reports
 * against what MeterLab's concentrators delivered on their uplinks (station-support.ts
 * `delivered`) and against the meters' own values (the world's truth). The cases share one target
 * and run in order, virtual time only moving forward: the first day's success rate (COL-01) and
 * readings (COL-02) and the outage concentrator's gap (ROB-09) at the first deadline; then a
 * second day on which one concentrator's first reply is lost and its later replies are sent twice
 * (ROB-10). On a vendor's station (real time) the cases wait in real time and ROB-10 probes the
 * first day instead, its probe set before the concentrators came online (a second day would cost
 * 24 h). Requirements in suites/requirements/catalog-collection.ts.
 */
import type { DailyReading, PointValue } from '../../harness/targets/gw1376-protocol.ts';
import type { DailySuccessRate, StationTargetConcentrator, StoredReading } from '../../harness/targets/gw1376-station-target.ts';
import type { ConformanceCase } from '../framework/case.ts';
import { SUCCESS_LIMIT_PCT } from './cases.ts';
import { successRateSvg } from './pictures.ts';
import {
  addDays,
  allDelivered,
  budgetUntil,
  installRecollectionProbe,
  probeConcentrator,
  probeOf,
  deadlineOf,
  delivered,
  deliveredDaily,
  firstDay,
  localInstant,
  localTime,
  needsReport,
  until,
  waitTitle,
  windowStartOf,
  type Delivered,
  type RecollectionProbe,
  type StationTarget,
} from './station-support.ts';

type Case = ConformanceCase<StationTarget>;

/**
 * Slack when a water, gas or heat reading is checked against its meter: A.15 gives the reading time
 * to the minute, so the register may have moved for up to a minute (plus the exchange) [MeterLab;
 * as the concentrator cases, cases.ts].
 */
const READ_TIME_SLACK_MS = 75_000;
const KINDS = ['electricity', 'water', 'gas', 'heat'] as const;
type Kind = (typeof KINDS)[number];

interface Counts {
  due: number;
  collected: number;
  first: number;
}
const zero = (): Counts => ({ due: 0, collected: 0, first: 0 });

/** MeterLab's figures for one concentrator and day, from its archive, the truth and its uplink. */
function expected(c: StationTargetConcentrator, d: Delivered): { total: Counts; kinds: Map<Kind, Counts>; offline: boolean } {
  const total = zero();
  const kinds = new Map<Kind, Counts>();
  for (const p of c.world.archive) {
    const k = kinds.get(p.kind) ?? zero();
    kinds.set(p.kind, k);
    const got = d.points.get(p.pn);
    for (const x of [k, total]) {
      x.due++;
      if (got) x.collected++;
      if (got?.attempt === 1) x.first++;
    }
  }
  return { total, kinds, offline: d.reachedAt === undefined };
}

const name = (c: StationTargetConcentrator): string => `${c.world.id} (${c.world.address.areaCode}-${c.world.address.terminal})`;
const key = (c: StationTargetConcentrator): string => `${c.world.address.areaCode}-${String(c.world.address.terminal).padStart(5, '0')}`;

/** The station's row of a concentrator, found by its terminal address. */
const rowOf = (r: DailySuccessRate, c: StationTargetConcentrator) =>
  r.concentrators.find((x) => x.areaCode === c.world.address.areaCode && x.terminal === c.world.address.terminal);

/** A stored reading as a DailyReading the truth can check (undefined when it lacks what the check needs). */
function asDaily(t: StationTarget, r: StoredReading): DailyReading | undefined {
  if (r.readingTime === null) return undefined;
  const readAt = localInstant(t, r.readingTime.slice(0, 10), r.readingTime.slice(11, 16));
  let value: PointValue;
  if (r.kind === 'electricity') {
    value = { kind: 'electricity', forwardActiveKwh: [r.value, ...(r.tariffs ?? []).map((x) => (x === null ? Number.NaN : x))] };
    // A DL/T 645 freeze closes its day at the next 00:00 (simulators/concentrator README).
    return { pn: r.pn, day: r.day, frozenAt: localInstant(t, addDays(r.day, 1), '00:00'), readAt, attempt: 1, value };
  }
  if (r.unit === null || r.meterType === null) return undefined;
  value = { kind: r.kind, value: r.value, unit: r.unit, meterType: r.meterType };
  return { pn: r.pn, day: r.day, frozenAt: readAt, readAt, attempt: 1, value };
}

const describe = (v: PointValue): string => (v.kind === 'electricity' ? `${v.forwardActiveKwh.join('/')} kWh` : `${v.value} (unit ${v.unit.toString(16)}H)`);

/** Nothing can be judged before the concentrators have logged in once. */
function noLogin(t: StationTarget): string | null {
  const never = t.concentrators.filter((c) => c.uplink.logins.length === 0 && c.uplink.connects.length > 0);
  return never.length === t.concentrators.length && never.length > 0 ? `no concentrator's login (AFN 02 F1) was confirmed by the station` : null;
}

// -----------------------------------------------------------------------------------------------

const successRate: Case = {
  id: 'collection.station-success-rate',
  timeoutMs: (t) => budgetUntil(t, deadlineOf(t, firstDay(t))),
  requirement: 'COL-01',
  title: "reports the day's success rate per concentrator and per meter kind (due, collected, first attempt, offline terminals) as MeterLab counts it, within the limits",
  applies: needsReport,
  async run(ctx, t) {
    const day = firstDay(t);
    const deadline = deadlineOf(t, day);
    await ctx.step(waitTitle(t, deadline, `the ${day} deadline`), () => until(t, deadline, allDelivered(t, day)));
    const off = noLogin(t);
    if (off) return ctx.inconclusive(off);
    const report = await t.report!.successRate(day);
    const kinds = new Map<Kind, Counts>();
    let offline = 0;
    for (const c of t.concentrators) {
      const d = delivered(c.uplink, day, deadline);
      const want = expected(c, d);
      if (want.offline) offline++;
      for (const [k, x] of want.kinds) {
        const all = kinds.get(k) ?? zero();
        kinds.set(k, all);
        all.due += x.due;
        all.collected += x.collected;
        all.first += x.first;
      }
      const row = rowOf(report, c);
      ctx.log(`${name(c)}: MeterLab counts due ${want.total.due}, collected ${want.total.collected}, first attempt ${want.total.first}${want.offline ? ', offline' : ''}; the station ${row ? `${row.due}, ${row.collected}, ${row.firstAttempt}${row.offline ? ', offline' : ''} (${row.offlineRounds} of ${row.rounds} round(s) offline)` : 'has no row'}`);
      if (!ctx.check(row !== undefined, `${name(c)}: the station reports no success rate for ${day}`)) continue;
      ctx.check(row!.due === want.total.due, `${name(c)}: the station counts ${row!.due} point(s) due for ${day}; its archive has ${want.total.due}`);
      ctx.check(row!.collected === want.total.collected, `${name(c)}: the station counts ${row!.collected} collected for ${day}; the concentrator delivered ${want.total.collected} point(s)`);
      ctx.check(row!.firstAttempt === want.total.first, `${name(c)}: the station counts ${row!.firstAttempt} collected on the first attempt for ${day}; ${want.total.first} point(s) came with the answer to the first request naming them`);
      ctx.check(row!.offline === want.offline, `${name(c)}: the station reports it ${row!.offline ? 'offline' : 'reached'} for ${day}; ${want.offline ? 'no request for the day was answered by the deadline' : 'a request for the day was answered by the deadline'}`);
      for (const [k, x] of want.kinds) {
        const rk = row!.kinds.find((y) => y.kind === k);
        ctx.check(rk !== undefined && rk.due === x.due && rk.collected === x.collected && rk.firstAttempt === x.first, `${name(c)} ${k}: the station reports due/collected/first ${rk ? `${rk.due}/${rk.collected}/${rk.firstAttempt}` : 'nothing'}; MeterLab counts ${x.due}/${x.collected}/${x.first}`);
      }
    }
    ctx.check(report.total.offlineTerminals === offline, `the station reports ${report.total.offlineTerminals} offline terminal(s) for ${day}; MeterLab counts ${offline}`);
    for (const [k, x] of kinds) {
      const rk = report.kinds.find((y) => y.kind === k);
      ctx.check(rk !== undefined && rk.due === x.due && rk.collected === x.collected && rk.firstAttempt === x.first, `${k} in all: the station reports due/collected/first ${rk ? `${rk.due}/${rk.collected}/${rk.firstAttempt}` : 'nothing'}; MeterLab counts ${x.due}/${x.collected}/${x.first}`);
    }
    for (const k of KINDS) {
      const x = kinds.get(k);
      if (!x || x.due === 0) continue;
      ctx.measure(`daily success rate, ${k}`, Math.round((10000 * x.collected) / x.due) / 100, '%', { min: SUCCESS_LIMIT_PCT[k] ?? 98 });
    }
    const svg = successRateSvg(
      `${day}: collected at the station by ${t.declaration.collection.deadline} (MeterLab's count)`,
      KINDS.filter((k) => kinds.has(k)).map((k) => ({ label: k, due: kinds.get(k)!.due, collected: kinds.get(k)!.collected, firstAttempt: kinds.get(k)!.first, limitPct: SUCCESS_LIMIT_PCT[k] ?? 98 })),
    );
    ctx.evidence('success rate per meter kind', svg, 'image/svg+xml');
  },
};

const readingsByNoon: Case = {
  id: 'collection.station-readings-by-deadline',
  timeoutMs: (t) => budgetUntil(t, deadlineOf(t, firstDay(t))),
  requirement: 'COL-02',
  title: "has every point's daily data by the deadline, equal to the meter's own: delivered on the uplinks, and (where the station reports its readings) stored once",
  async run(ctx, t) {
    const day = firstDay(t);
    const deadline = deadlineOf(t, day);
    await ctx.step(waitTitle(t, deadline, `the ${day} deadline`), () => until(t, deadline, allDelivered(t, day)));
    const off = noLogin(t);
    if (off) return ctx.inconclusive(off);
    let given = 0;
    let stored = 0;
    let alive = 0;
    for (const c of t.concentrators) {
      const d = delivered(c.uplink, day, deadline);
      const live = c.world.archive.filter((p) => !c.world.truth.point(p.pn)?.dead);
      alive += live.length;
      // What the concentrator gave the station on its uplink, against the meter's own (the station's side needs no export).
      const missing: number[] = [];
      for (const p of live) {
        const x = d.points.get(p.pn);
        if (!x) {
          missing.push(p.pn);
          continue;
        }
        const daily = deliveredDaily(t, c, x);
        if (!ctx.check(daily !== undefined, `${name(c)} p${p.pn}: the ${day} data delivered at ${localTime(t, x.at)} has no reading time or registers to check it by`)) continue;
        const v = c.world.truth.check(daily!, { slackMs: READ_TIME_SLACK_MS });
        if (ctx.check(v.ok, `${name(c)} p${p.pn} (${p.kind}) ${day}: delivered ${describe(daily!.value)}, the meter says ${v.expected}`)) given++;
      }
      ctx.check(missing.length === 0, `${name(c)}: ${missing.length} of ${live.length} point(s) of ${day} not delivered to the station by ${localTime(t, deadline)}: no answer to a request of the station carried them (p${missing.join(', p')}; ${d.requests} request(s) for the day${d.reachedAt === undefined ? ', none answered' : ''})`);
      if (!t.report) continue;
      const readings = await t.report.readings(c.world.address, day);
      const seen = new Set<number>();
      for (const r of readings) {
        if (!ctx.check(!seen.has(r.pn), `${name(c)} p${r.pn}: ${day} stored twice`)) continue;
        seen.add(r.pn);
        if (!ctx.check(d.points.has(r.pn), `${name(c)} p${r.pn}: the station has a ${day} reading the concentrator never delivered (${r.value})`)) continue;
        ctx.check(r.receivedAt <= deadline, `${name(c)} p${r.pn}: ${day} stored at ${localTime(t, r.receivedAt)}, after the ${t.declaration.collection.deadline} deadline`);
        const daily = asDaily(t, r);
        if (!ctx.check(daily !== undefined, `${name(c)} p${r.pn}: the stored ${day} reading has no reading time, unit or meter type to check it by`)) continue;
        const v = c.world.truth.check(daily!, { slackMs: READ_TIME_SLACK_MS });
        if (ctx.check(v.ok, `${name(c)} p${r.pn} (${r.kind}) ${day}: the station stored ${describe(daily!.value)}, the meter says ${v.expected}`)) stored++;
      }
      const unstored = [...d.points.keys()].filter((pn) => !seen.has(pn));
      ctx.check(unstored.length === 0, `${name(c)}: ${unstored.length} delivered ${day} reading(s) not stored by ${t.declaration.collection.deadline} (p${unstored.join(', p')})`);
    }
    // Every meter that answers has its reading at the concentrator by 04:00, so at the station by the deadline (COL-02).
    if (t.report) ctx.measure(`${day} readings at the station by ${t.declaration.collection.deadline}, equal to the meters'`, stored, 'readings', { min: alive });
    else ctx.log(`the station's stored readings are not exported: judged from the uplinks alone`);
    ctx.measure(`${day} daily data delivered to the station by ${t.declaration.collection.deadline}, equal to the meters'`, given, 'readings', { min: alive });
  },
};

const gapAfterOutage: Case = {
  id: 'collection.station-gap-after-outage',
  timeoutMs: (t) => budgetUntil(t, deadlineOf(t, firstDay(t))),
  requirement: 'ROB-09',
  title: 'collects the day of a concentrator whose uplink was down at night once it logs in again',
  async run(ctx, t) {
    const day = firstDay(t);
    const deadline = deadlineOf(t, day);
    const hit = t.concentrators.filter((c) => c.world.faults.uplinkDown !== undefined);
    if (hit.length === 0) return ctx.notApplicable("the scenario plans no uplink outage (faults.uplinkDown)");
    await ctx.step(waitTitle(t, deadline, `the ${day} deadline`), () => until(t, deadline, allDelivered(t, day)));
    for (const c of hit) {
      const down = c.world.faults.uplinkDown!;
      ctx.log(`${name(c)}: uplink down ${localTime(t, down.from)} to ${localTime(t, down.to)}; logins ${c.uplink.logins.map((x) => localTime(t, x)).join(', ')}`);
      if (down.from > windowStartOf(t, day) || down.to <= windowStartOf(t, day)) {
        ctx.log(`${name(c)}: the outage does not cover the station's ${t.declaration.collection.start} start: not a gap`);
        continue;
      }
      const back = c.uplink.logins.find((x) => x >= down.to);
      if (!ctx.check(back !== undefined && back <= deadline, `${name(c)}: no login after its uplink came back at ${localTime(t, down.to)} (by ${localTime(t, deadline)})`)) continue;
      const d = delivered(c.uplink, day, deadline);
      const early = [...d.points.values()].filter((p) => p.at < back!);
      ctx.check(early.length === 0, `${name(c)}: ${early.length} point(s) of ${day} delivered before the re-login, during the outage`);
      const alive = c.world.archive.filter((p) => !c.world.truth.point(p.pn)?.dead);
      const missing = alive.filter((p) => !d.points.has(p.pn));
      ctx.check(missing.length === 0, `${name(c)}: after it logged in again at ${localTime(t, back!)} the station did not collect ${missing.length} of its ${alive.length} point(s) for ${day} by ${t.declaration.collection.deadline} (p${missing.map((p) => p.pn).join(', p')})`);
      if (d.points.size > 0) {
        const last = Math.max(...[...d.points.values()].map((p) => p.at));
        ctx.measure(`${name(c)}: gap collected after the re-login`, Math.round((last - back!) / 60_000), 'min', { max: Math.floor((deadline - back!) / 60_000) });
      }
      if (t.report) {
        const stored = await t.report.readings(c.world.address, day);
        // To the second: a station's export may give its instants in whole seconds.
        const before = stored.filter((r) => r.receivedAt < Math.floor(back! / 1000) * 1000);
        ctx.check(stored.length === d.points.size && before.length === 0, `${name(c)}: the station stored ${stored.length} reading(s) of ${day} (${before.length} before the re-login); the concentrator delivered ${d.points.size} after it`);
      }
    }
  },
};

const recollectedOnce: Case = {
  id: 'collection.station-recollected-once',
  // Virtual time: the second day. Real time: the probe has run on the first day since the concentrators came online.
  timeoutMs: (t) => budgetUntil(t, deadlineOf(t, t.time === 'real' ? firstDay(t) : addDays(firstDay(t), 1))),
  requirement: 'ROB-10',
  title: 'a reading collected again after a lost reply, or delivered twice, is stored once and counted once',
  applies: needsReport,
  async run(ctx, t) {
    let day: string;
    let probe: RecollectionProbe | undefined;
    let c: StationTargetConcentrator | undefined;
    if (t.time === 'real') {
      // A second day would cost 24 h of real time: the probe was set on day D before the concentrators came online (openStationTarget).
      day = firstDay(t);
      const set = probeOf(t);
      if (!set) return ctx.inconclusive(`no re-collection probe was set on ${day} when the concentrators came online (the target was not opened by openStationTarget with an export)`);
      ({ probe, concentrator: c } = set);
    } else {
      day = addDays(firstDay(t), 1);
      const start = windowStartOf(t, day);
      if (t.clock.now() >= start) return ctx.inconclusive(`the clock is past the ${day} collection start (${localTime(t, start)}): this case runs after the first day's cases, before the second night's window`);
      c = probeConcentrator(t);
      if (!c) return ctx.notApplicable('the scenario has no concentrator');
    }
    const deadline = deadlineOf(t, day);
    const off = noLogin(t);
    if (off) return ctx.inconclusive(off);
    const cc = c;
    if (t.time === 'real') {
      await ctx.step(`${name(cc)}: the replies to the station's first ${day} request lost since the concentrators came online, later ones sent twice; ${waitTitle(t, deadline, `the ${day} deadline`)}`, () => until(t, deadline, allDelivered(t, day)));
      probe!.remove();
    } else {
      probe = installRecollectionProbe(cc, day, windowStartOf(t, day));
      try {
        await ctx.step(`${name(cc)}: the replies to the station's first ${day} request lost, later ones sent twice; ${waitTitle(t, deadline, `the ${day} deadline`)}`, () => until(t, deadline));
      } finally {
        probe.remove();
      }
    }
    const { lost, doubled } = probe!;
    c = cc;
    ctx.log(`${lost} reply frame(s) lost, ${doubled} sent twice`);
    if (lost === 0) return ctx.inconclusive(`the station sent ${name(c)} no request for ${day} whose reply could be lost`);
    const d = delivered(c.uplink, day, deadline);
    const again = [...d.points.values()].filter((p) => p.attempt > 1);
    ctx.log(`${d.points.size} point(s) delivered in ${d.requests} request(s), ${again.length} of them on a later attempt${again.length > 0 ? ` (p${again.map((p) => p.pn).join(', p')})` : ''}, ${d.repeats} delivery(ies) repeated`);
    if (again.length === 0 && d.repeats === 0) return ctx.inconclusive(`nothing of ${day} was collected again or delivered twice: no re-collection to judge`);
    const stored = await t.report!.readings(c.world.address, day);
    const pns = stored.map((r) => r.pn);
    const twice = pns.filter((pn, i) => pns.indexOf(pn) !== i);
    ctx.check(twice.length === 0, `${name(c)}: ${day} stored more than once for p${twice.join(', p')}`);
    ctx.check(new Set(pns).size === d.points.size, `${name(c)}: ${new Set(pns).size} point(s) of ${day} stored; the concentrator delivered ${d.points.size}`);
    const report = await t.report!.successRate(day);
    const row = rowOf(report, c);
    if (!ctx.check(row !== undefined, `${name(c)}: the station reports no success rate for ${day}`)) return;
    const want = expected(c, d);
    ctx.check(row!.collected === want.total.collected, `${name(c)}: the station counts ${row!.collected} collected of ${row!.due} due for ${day}; ${want.total.collected} distinct point(s) were delivered (${again.length} of them re-collected, ${d.repeats} delivery(ies) repeated)`);
    ctx.check(row!.firstAttempt === want.total.first, `${name(c)}: the station counts ${row!.firstAttempt} collected on the first attempt for ${day}; MeterLab counts ${want.total.first} (the first request's replies were lost)`);
    ctx.measure(`${key(c)} ${day}: collected as counted by the station`, row!.collected, 'points', { max: want.total.collected, min: want.total.collected });
  },
};

/** In order: each case leaves the target as the next one expects it (see the file header). */
export const stationCases: readonly Case[] = [successRate, readingsByNoon, gapAfterOutage, recollectedOnce];
