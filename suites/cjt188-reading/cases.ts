/**
 * The reading suite for CJ/T 188-2004 water and gas meters (issue 10): one conformance case per
 * checked behaviour, each tied to a requirement in suites/requirements (catalog-cjt188.ts), plain
 * data + a function so the project's own tests can run them against broken variants and prove each
 * defect fails the matching case (cjt188-reading.test.ts). The same cases run once per device kind
 * (water.conformance.ts, gas.conformance.ts).
 *
 * Cases talk to the meter only through the target's master and link (support.ts); the cases that
 * need a physical event (a leak, a worn battery) use a reference target's backchannel and are not
 * applicable to a real meter, saying so. Every skip names the declaration field that gated it.
 */
import { CHINA_UTC_OFFSET_MINUTES, fromCalendar, isValidCalendar, toCalendar } from '../../harness/core/calendar.ts';
import { Cjt188NoReplyError } from '../../harness/masters/errors.ts';
import type { Cjt188ReadResult } from '../../harness/masters/cjt188-master.ts';
import { lookup, meterTypeInfo, unitName, type Cjt188DateTime, type Cjt188Status, type Quantity } from '../../harness/protocols/cjt188/index.ts';
import {
  METERING_DATA,
  MeterFault,
  VOLUME_UNIT_CODE,
  asCjt188Case,
  backchannelGate,
  backchannelOf,
  badChecksumRead,
  declares,
  expectNoReply,
  meterOf,
  otherAddress,
  otherMeterType,
  readMessage,
  requestBytes,
  truncatedRead,
  type Cjt188Case,
  type Cjt188Target,
} from './support.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Meter time is China local time (UTC+8): CJ/T 188 real time carries no zone. */
const UTC_OFFSET = CHINA_UTC_OFFSET_MINUTES;
/** History identifiers D120..D12B: months -1..-12 (PROTOCOLS.md 2.4 [BK]). */
const HISTORY = /^D12[0-9AB]$/;
/** Clock offset a time-sync case first sets, to show the write took effect: one hour. */
const SYNC_OFFSET_MS = HOUR_MS;
/** Hours a leak is watched: one day of hourly buckets (MM-08: 24 hourly buckets, no zero-flow hour). */
const LEAK_HOURS = 24;
/** Battery charge the battery-low check drains to: 5 % (the reference reports low below 10 % [BK]). */
const WORN_BATTERY_SHARE = 0.05;

function budgetFor(t: Cjt188Target, exchanges: number, extraMs = 0): number {
  const { master } = meterOf(t);
  const wake = master.wakeUp ? (master.wakeUp.preambleMs ?? 2500) : 0;
  return 60_000 + extraMs + exchanges * (master.attempts * (master.timeoutMs + wake) + 1000);
}

async function read(t: Cjt188Target, di: string): Promise<Cjt188ReadResult> {
  const { master, type, address } = meterOf(t);
  return master.readData(type, address, di);
}

function quantityText(q: Quantity): string {
  return `${q.value} ${q.unit ?? `(unit byte ${q.unitCode.toString(16).toUpperCase().padStart(2, '0')}H, not in the table)`}`;
}

function timeText(c: Cjt188DateTime): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(c.year, 4)}-${p(c.month)}-${p(c.day)} ${p(c.hour)}:${p(c.minute)}:${p(c.second)}`;
}

/** The meter's 901F value as fields, or a MeterFault naming what is missing. */
function meteringData(r: Cjt188ReadResult): { current: Quantity; settlement: Quantity; time: Cjt188DateTime; status: Cjt188Status } {
  const v = r.value as Record<string, unknown>;
  const current = v['currentFlow'] as Quantity | undefined;
  const settlement = v['settlementFlow'] as Quantity | undefined;
  const time = v['time'] as Cjt188DateTime | undefined;
  const status = v['status'] as Cjt188Status | undefined;
  if (!current || !settlement || !time || !status) {
    throw new MeterFault(`901F answered without the water/gas layout (current flow, settlement-day flow, real time, ST): fields ${Object.keys(v).join(', ')}`);
  }
  return { current, settlement, time, status };
}

/** Instant of a meter time (local), or null when it is no calendar time. */
function instantOf(c: Cjt188DateTime): number | null {
  return isValidCalendar(c) ? fromCalendar(c, UTC_OFFSET) : null;
}

/** Volume in litres of a quantity in m³ or L (null for another unit). */
function litres(q: Quantity): number | null {
  if (q.unit === 'm³') return Math.round(q.value * 1000);
  if (q.unit === 'L') return q.value;
  return null;
}

/** Declared identifiers read with 01H (the dictionary's read items; 8106 and 810A have their own codes). */
function readIdentifiers(t: Cjt188Target): string[] {
  return meterOf(t).d.identifiers.filter((di) => {
    const item = lookup(di);
    return item !== undefined && item.direction === 'read' && item.functionCode === 0x01;
  });
}

export const CJT188_READING_CASES: readonly Cjt188Case[] = [
  {
    id: 'cjt188-reading.reply-frame-format',
    requirement: 'MM-02',
    title: 'a 901F read is answered with a well-formed 81H frame from the declared address and meter type',
    async run(ctx, t) {
      const { master, type, address } = meterOf(t);
      let r: Cjt188ReadResult;
      try {
        r = await master.readData(type, address, METERING_DATA);
      } catch (e) {
        const x = master.lastExchange;
        const rejected = x?.rejected.map((f) => `${f.reason}: ${f.detail}`) ?? [];
        const discarded = x?.discarded.map((d) => `${d.bytes.length} byte(s) not a frame (${d.error.code})`) ?? [];
        if (rejected.length + discarded.length > 0) ctx.fail(`no acceptable reply to 901F at ${address}: ${[...rejected, ...discarded].join('; ')}`);
        throw e;
      }
      const f = r.exchange.reply!.frame;
      ctx.check(f.control.raw === 0x81, `reply control ${f.control.raw.toString(16).toUpperCase()}H, expected 81H (read data, slave reply)`);
      ctx.check(f.address === address, `reply address ${f.address}, expected ${address}`);
      ctx.check(meterTypeInfo(f.meterType).family === meterTypeInfo(type).family, `reply meter type ${f.meterType.toString(16).toUpperCase()}H is not of the declared ${meterTypeInfo(type).name} family (${type.toString(16).toUpperCase()}H)`);
      const rejected = r.exchange.rejected.map((x) => `${x.reason}: ${x.detail}`);
      ctx.check(rejected.length === 0, `frames rejected before the reply: ${rejected.join('; ')}`);
      const discarded = r.exchange.discarded.map((d) => `${d.bytes.length} byte(s) not a frame (${d.error.code})`);
      ctx.check(discarded.length === 0, `bytes that were no frame: ${discarded.join('; ')}`);
      // Recorded, not judged: no CJ/T 188 source gives a response delay (the profile's limits are DL/T 645's, [BK] here).
      if (r.exchange.responseDelayMs !== undefined) ctx.measure('Td', Math.round(r.exchange.responseDelayMs), 'ms', t.profile.limits.responseDelayMs, { enforce: false });
    },
  },
  {
    id: 'cjt188-reading.metering-data',
    requirement: 'MM-09',
    title: '901F carries current and settlement-day volume, meter time, valve and battery state',
    async run(ctx, t) {
      if (!declares(t, METERING_DATA)) ctx.fail('901F (metering data) is not in device.declaration.identifiers: MM-09 requires it of every water and gas meter');
      const r = await read(t, METERING_DATA);
      const m = meteringData(r);
      ctx.evidence('901F', JSON.stringify(r.value, null, 2), 'application/json');
      const cur = litres(m.current);
      const set = litres(m.settlement);
      ctx.check(cur !== null, `current cumulative flow has unit ${quantityText(m.current)}, not a volume`);
      ctx.check(set !== null, `settlement-day cumulative flow has unit ${quantityText(m.settlement)}, not a volume`);
      if (cur !== null && set !== null) ctx.check(set <= cur, `settlement-day volume ${quantityText(m.settlement)} exceeds the current volume ${quantityText(m.current)}`);
      const at = instantOf(m.time);
      ctx.check(at !== null, `meter time ${timeText(m.time)} is not a calendar time`);
      ctx.check(m.status.valve !== 'reserved', `ST ${m.status.raw} reads valve bits 10 (reserved) under the declared layout ${m.status.layout}`);
    },
  },
  {
    id: 'cjt188-reading.read-declared-identifiers',
    requirement: 'CJT188-03',
    title: 'every declared read identifier is answered with its dictionary layout and plausible values',
    timeoutMs: (t) => budgetFor(t, meterOf(t).d.identifiers.length + 1),
    async run(ctx, t) {
      const ids = readIdentifiers(t);
      if (ids.length === 0) ctx.notApplicable('device.declaration.identifiers lists no read identifier (01H)');
      let current: number | null = null;
      const history: { di: string; litres: number }[] = [];
      for (const di of ids) {
        const name = lookup(di)?.name ?? di;
        let r: Cjt188ReadResult;
        try {
          r = await read(t, di);
        } catch (e) {
          if (e instanceof Cjt188NoReplyError) ctx.check(false, `${di} (${name}) got no reply`);
          else if (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('cjt188')) ctx.check(false, `${di} (${name}): ${e.message}`);
          else throw e;
          continue;
        }
        ctx.log(`${di} (${name}): ${JSON.stringify(r.value)}`);
        const v = r.value as Record<string, unknown>;
        if (di === METERING_DATA) {
          const m = meteringData(r);
          current = litres(m.current);
        } else if (HISTORY.test(di)) {
          const q = v['settlementFlow'] as Quantity;
          const l = litres(q);
          ctx.check(l !== null, `${di} (${name}) has unit ${quantityText(q)}, not a volume`);
          if (l !== null) history.push({ di, litres: l });
        } else if (di === '8103' || di === '8104') {
          const day = v['day'] as number;
          ctx.check(Number.isInteger(day) && day >= 1 && day <= 31, `${di} (${name}) = ${day}, not a day of the month`);
        } else {
          ctx.log(`${di} (${name}): layout not in the sources read (the dictionary keeps it opaque): answered with ${JSON.stringify(v)}`);
        }
      }
      // History: month -1 is the latest settlement, so volumes never grow going back, and none exceeds the current one.
      history.sort((a, b) => a.di.localeCompare(b.di));
      for (let i = 1; i < history.length; i++) {
        const newer = history[i - 1]!;
        const older = history[i]!;
        ctx.check(older.litres <= newer.litres, `${older.di} (${older.litres} L) exceeds the later month ${newer.di} (${newer.litres} L): history volumes must not fall going forward`);
      }
      if (current !== null) for (const h of history) ctx.check(h.litres <= current, `${h.di} (${h.litres} L) exceeds the current volume (${current} L)`);
    },
  },
  {
    id: 'cjt188-reading.units',
    requirement: 'CJT188-04',
    title: 'volumes carry the declared unit byte (2CH m³ or 29H L)',
    async run(ctx, t) {
      const { d } = meterOf(t);
      const want = VOLUME_UNIT_CODE[d.volumeUnit];
      const hex = (n: number) => `${n.toString(16).toUpperCase().padStart(2, '0')}H`;
      const r = await read(t, METERING_DATA);
      const m = meteringData(r);
      const seen: { what: string; q: Quantity }[] = [
        { what: '901F current cumulative flow', q: m.current },
        { what: '901F settlement-day cumulative flow', q: m.settlement },
      ];
      for (const di of readIdentifiers(t).filter((x) => HISTORY.test(x)).slice(0, 1)) {
        const h = await read(t, di);
        seen.push({ what: `${di} settlement-day flow`, q: (h.value as Record<string, unknown>)['settlementFlow'] as Quantity });
      }
      for (const s of seen) {
        ctx.check(s.q.unitCode === want, `${s.what} has unit byte ${hex(s.q.unitCode)} (${unitName(s.q.unitCode) ?? 'not in the unit table'}), device.declaration.volumeUnit is ${d.volumeUnit} (${hex(want)})`);
      }
    },
  },
  {
    id: 'cjt188-reading.read-address-wildcard',
    requirement: 'CJT188-02',
    title: 'read address 03H to AA…AA with meter type AAH is answered with the meter\'s own address and type',
    reaches: 'any',
    async run(ctx, t) {
      const { master, type, address } = meterOf(t);
      try {
        const r = await master.readAddress();
        ctx.check(r.address === address, `03H to AA…AA answered by ${r.address}, declared ${address}`);
        ctx.check(meterTypeInfo(r.meterType).family === meterTypeInfo(type).family, `03H reply carries meter type ${r.meterType.toString(16).toUpperCase()}H, declared ${type.toString(16).toUpperCase()}H`);
      } catch (e) {
        const echo = master.lastExchange?.rejected.find((f) => f.reason === 'wildcard-echo');
        if (echo) ctx.fail(`03H to AA…AA answered with the wildcard itself instead of the meter's address: ${echo.detail}`);
        throw e;
      }
    },
  },
  {
    id: 'cjt188-reading.read-address',
    requirement: 'CJT188-02',
    title: 'read address 03H to the declared address and type is answered with 83H and that address',
    async run(ctx, t) {
      const { master, type, address } = meterOf(t);
      const r = await master.readAddress(type, address);
      ctx.check(r.address === address, `03H to ${address} answered by ${r.address}`);
      ctx.check(r.exchange.reply!.frame.control.raw === 0x83, `reply control ${r.exchange.reply!.frame.control.raw.toString(16).toUpperCase()}H, expected 83H`);
    },
  },
  {
    id: 'cjt188-reading.status-word',
    requirement: 'MM-03',
    title: 'ST decodes to a defined valve state and reports a low battery (declared ST layout)',
    async run(ctx, t) {
      const { d } = meterOf(t);
      const first = meteringData(await read(t, METERING_DATA));
      ctx.log(`ST ${first.status.raw} (${first.status.layout}): valve ${first.status.valve}, battery ${first.status.batteryLow ? 'low' : 'normal'}`);
      ctx.check(first.status.valve !== 'reserved', `ST ${first.status.raw} reads valve bits 10 (reserved) under the declared layout ${d.dialect.statusLayout}`);
      if (d.valve === undefined) ctx.check(first.status.valve !== 'abnormal', `ST ${first.status.raw} reports the valve abnormal on a meter that declares no valve (device.declaration.valve)`);
      const bc = backchannelOf(t);
      if (!bc) {
        ctx.log('battery low not provoked: needs a worn battery through a simulated meter\'s backchannel; the battery bit was decoded only');
        return;
      }
      ctx.check(!first.status.batteryLow, `ST ${first.status.raw} reports the battery low on a fresh battery`);
      bc.drainBattery(WORN_BATTERY_SHARE);
      const worn = meteringData(await read(t, METERING_DATA));
      ctx.check(worn.status.batteryLow, `ST ${worn.status.raw} does not report the battery low with ${WORN_BATTERY_SHARE * 100} % charge left (layout ${worn.status.layout})`);
    },
  },
  {
    id: 'cjt188-reading.time-sync',
    requirement: 'CJT188-07',
    title: 'write standard time A015 sets the meter clock: 901F real time follows within the tolerance',
    applies: (t) => (declares(t, 'A015') ? null : 'A015 (write standard time) is not in device.declaration.identifiers'),
    async run(ctx, t) {
      const { master, type, address } = meterOf(t);
      const tolS = t.profile.limits.clockToleranceS;
      for (const [label, offset] of [
        ['one hour ahead', SYNC_OFFSET_MS],
        ['back to the current time', 0],
      ] as const) {
        const sent = t.clock.now() + offset;
        const c = toCalendar(sent, UTC_OFFSET);
        await master.syncTime(type, address, { year: c.year, month: c.month, day: c.day, hour: c.hour, minute: c.minute, second: c.second });
        const elapsedFrom = t.clock.now();
        const m = meteringData(await read(t, METERING_DATA));
        const at = instantOf(m.time);
        if (at === null) return ctx.fail(`after a sync ${label} the meter time ${timeText(m.time)} is not a calendar time`);
        // The meter clock runs on from the sync: expected = sent + time since the sync was answered.
        const expected = sent + (t.clock.now() - elapsedFrom);
        const error = Math.abs(at - expected) / 1000;
        ctx.measure(`clock error after sync ${label}`, Math.round(error * 10) / 10, 's', { max: tolS });
      }
    },
  },
  {
    id: 'cjt188-reading.bad-frames-ignored',
    requirement: 'CJT188-08',
    title: 'a read for another address, with a bad checksum or a truncated body gets no reply',
    timeoutMs: (t) => budgetFor(t, 8),
    async run(ctx, t) {
      const { address } = meterOf(t);
      const other = otherAddress(address);
      await expectNoReply(ctx, t, requestBytes(t, readMessage(t), { address: other }), `a 901F read for another address ${other}`);
      await expectNoReply(ctx, t, badChecksumRead(t), 'a 901F read with a wrong checksum');
      await expectNoReply(ctx, t, truncatedRead(t), 'a 901F read one byte shorter than its L');
    },
  },
  {
    id: 'cjt188-reading.wrong-meter-type',
    requirement: 'CJT188-01',
    title: 'a read with another meter type T gets no reply (or, when declared, a reply with the meter\'s own type)',
    async run(ctx, t) {
      const { d, type } = meterOf(t);
      const wrong = otherMeterType(t);
      const hex = (n: number) => `${n.toString(16).toUpperCase()}H`;
      await expectNoReply(
        ctx,
        t,
        requestBytes(t, readMessage(t), { meterType: wrong }),
        `a 901F read with meter type ${hex(wrong)} (${meterTypeInfo(wrong).name}) to a ${meterTypeInfo(type).name} meter`,
        d.ignoresMeterType
          ? (r) => (r.frames.length > 0 && r.frames.every((f) => f.includes(`T=${type.toString(16).toUpperCase().padStart(2, '0')}`)) ? null : `answered with ${r.frames.join('; ') || r.received}, not with its own meter type ${hex(type)}`)
          : undefined,
      );
      if (d.ignoresMeterType) ctx.log('device.declaration.ignoresMeterType is true: a reply carrying the meter\'s own type is accepted');
    },
  },
  {
    id: 'cjt188-reading.leak-visible',
    requirement: 'MM-08',
    title: 'a continuous flow at the declared low-flow rate shows in every hour of a day (no zero-flow hour)',
    applies: (t) =>
      meterOf(t).d.lowFlowVisibleLph === undefined
        ? 'device.declaration.lowFlowVisibleLph is not declared (the meter claims no low-flow visibility)'
        : backchannelGate(t, 'a controlled leak (a flow of device.declaration.lowFlowVisibleLph L/h for a day)') ??
          (t.virtualTime ? null : 'needs virtual time: the leak is watched for a whole day'),
    timeoutMs: (t) => budgetFor(t, LEAK_HOURS + 3),
    async run(ctx, t) {
      const { d } = meterOf(t);
      const bc = backchannelOf(t)!;
      const lph = d.lowFlowVisibleLph!;
      const start = meteringData(await read(t, METERING_DATA));
      if (start.status.valve !== 'open') ctx.inconclusive(`the valve is ${start.status.valve} (ST ${start.status.raw}): no flow can pass`);
      bc.setLeak(lph);
      try {
        // From the next local midnight, one read a minute past each hour for a day (MM-08's hourly buckets).
        const now = t.clock.now();
        const localMs = now + UTC_OFFSET * 60_000;
        const midnight = Math.floor(localMs / DAY_MS) * DAY_MS + DAY_MS - UTC_OFFSET * 60_000;
        await t.clock.sleep(midnight + 60_000 - now);
        const volumes: { at: number; litres: number }[] = [];
        for (let h = 0; h <= LEAK_HOURS; h++) {
          if (h > 0) await t.clock.sleep(midnight + h * HOUR_MS + 60_000 - t.clock.now());
          const m = meteringData(await read(t, METERING_DATA));
          const l = litres(m.current);
          if (l === null) return ctx.fail(`901F current flow has unit ${quantityText(m.current)}, not a volume`);
          volumes.push({ at: t.clock.now(), litres: l });
        }
        const zero: string[] = [];
        for (let h = 1; h < volumes.length; h++) {
          if (volumes[h]!.litres <= volumes[h - 1]!.litres) {
            const c = toCalendar(volumes[h - 1]!.at, UTC_OFFSET);
            zero.push(`${String(c.hour).padStart(2, '0')}:00`);
          }
        }
        ctx.evidence('hourly volumes', volumes.map((v) => `${timeText(toCalendar(v.at, UTC_OFFSET) as Cjt188DateTime)} ${v.litres} L`).join('\n'));
        ctx.measure('hours without a rise under a continuous flow', zero.length, 'h', { max: 0 }, { enforce: false });
        ctx.check(zero.length === 0, `with ${lph} L/h flowing continuously (device.declaration.lowFlowVisibleLph) the volume did not rise in ${zero.length} of ${LEAK_HOURS} hours (from ${zero.slice(0, 6).join(', ')}${zero.length > 6 ? ', …' : ''}): a leak would never show as a flow with no zero-flow hour`);
      } finally {
        bc.setLeak(0);
      }
    },
  },
  {
    id: 'cjt188-reading.battery-wake-up',
    requirement: 'MM-06',
    title: 'a battery meter ignores a request without a wake-up preamble and answers one whose preamble outlasts its sniff period',
    applies: (t) => (meterOf(t).d.sleeps ? null : 'device.declaration.sleeps is false (a mains-powered meter that never sleeps)'),
    timeoutMs: (t) => budgetFor(t, 4, 2 * (meterOf(t).d.awakeMs + meterOf(t).d.sniffPeriodMs + 1000)),
    async run(ctx, t) {
      const { d, master, type, address } = meterOf(t);
      await read(t, METERING_DATA);
      // Let it fall asleep: its awake window after the last exchange, then a sniff period more.
      const quietMs = d.awakeMs + d.sniffPeriodMs + 1000;
      const shortFe = master.preamble;
      // A real meter's sniff may by chance fall inside a short preamble (4 FE at 2400 Bd: 18 ms of a
      // 2 s period, about 1 %): one answer earns a second try after another quiet spell; only a meter
      // that answers both fails.
      let answered = 0;
      for (let attempt = 1; attempt <= 2 && answered === attempt - 1; attempt++) {
        await t.clock.sleep(quietMs);
        try {
          await master.readData(type, address, METERING_DATA, { wakeUp: false, attempts: 1 });
          answered++;
          ctx.log(`try ${attempt}: a ${shortFe}-FE request after ${quietMs / 1000} s of quiet was answered`);
        } catch (e) {
          if (!(e instanceof Cjt188NoReplyError)) throw e;
          ctx.log(`try ${attempt}: no reply to a ${shortFe}-FE request while asleep, as declared`);
        }
      }
      ctx.check(
        answered < 2,
        `answered requests with only ${shortFe} FE bytes after ${quietMs / 1000} s of quiet, twice in a row, though it declares it sleeps with a ${d.sniffPeriodMs} ms sniff period (device.declaration.sleeps, sniffPeriodMs, awakeMs)`,
      );
      const r = await master.readData(type, address, METERING_DATA);
      const used = r.exchange.attemptLog.find((a) => !a.silent) ?? r.exchange.attemptLog.at(-1)!;
      ctx.measure('wake-up preamble that got the reply', Math.round(used.preambleMs), 'ms', { min: d.sniffPeriodMs }, { enforce: false });
      ctx.log(`answered after a ${used.preamble}-FE (${Math.round(used.preambleMs)} ms) wake-up preamble`);
    },
  },
];

export const cjt188ReadingCases = CJT188_READING_CASES.map(asCjt188Case);
