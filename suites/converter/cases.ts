/**
 * The interface converter suite (issue 10): a converter on the RS-485 side of a concentrator, with
 * its meter archive behind it, judged from its RS-485 side (masters.converter) and, on the
 * reference, from the downstream view of its backchannel. Requirements in
 * suites/requirements/catalog-converter.ts.
 */
import { bytesEqual } from '../../harness/core/bytes.ts';
import { decode as decodeMlgw, type MlgwMessage } from '../../harness/protocols/mlgw/index.ts';
import type { ConverterArchiveEntry } from '../../harness/protocols/converter/index.ts';
import type { ConformanceCase } from '../framework/case.ts';
import {
  METER_TYPE,
  backchannel,
  declaration,
  downstreamRound,
  frameBody,
  hexLine,
  inconclusiveIfDead,
  masters,
  needsDownstreamView,
  preambleOnHop,
  readThrough,
  type ConverterTarget,
  type ReadOutcome,
} from './support.ts';

/** Reads per archived meter in the latency case (MeterLab's choice: enough to meet a hop retry at 3 % loss). */
export const LATENCY_READS_PER_METER = 5;
/** Single-attempt reads in the loss case, spread round-robin over the archive (MeterLab's choice). */
export const LOSS_READS = 40;
/** Time a battery meter is left alone so it is asleep again: its awake window is 10 s (docs/protocols/meterlab-gas-wireless.md 5, simulators/flow-meter). */
export const FALL_ASLEEP_MS = 15_000;
/** Valve motor time allowed before the new state must show: 6 s motor (simulators/flow-meter) with margin; vendor sheets give 5-10 s [BK]. */
export const VALVE_SETTLE_MS = 12_000;

type Case = ConformanceCase<ConverterTarget>;

const archive = (t: ConverterTarget): readonly ConverterArchiveEntry[] => declaration(t).archive;
const budget = (t: ConverterTarget, reads: number): number => reads * masters(t).timeoutMs * 1.5 + 60_000;

const archiveReachable: Case = {
  id: 'converter.archive-reachable',
  requirement: 'MM-01',
  title: 'every meter in the archive is read through the converter',
  timeoutMs: (t) => budget(t, archive(t).length * 3),
  async run(ctx, t) {
    const failures: ReadOutcome[] = [];
    for (const e of archive(t)) {
      const r = await ctx.step(`read ${e.address} (${e.protocol}, ${e.mode})`, () => readThrough(t, e));
      if (r.ok) ctx.log(`${e.address}: reply ${r.reply.length} bytes, Td ${r.responseDelayMs.toFixed(0)} ms`);
      else failures.push(r);
    }
    if (failures.length === archive(t).length && failures.every((f) => !f.ok && f.silent)) {
      ctx.inconclusive(`the converter answered for none of its ${failures.length} archived meters: check its wiring, line settings and archive`);
    }
    for (const f of failures) if (!f.ok) ctx.check(false, f.reason);
  },
};

const forwardsByteForByte: Case = {
  id: 'converter.forwards-byte-for-byte',
  requirement: 'MM-04',
  title: 'transparent mode forwards request and reply byte for byte',
  applies: (t) => needsDownstreamView(t) ?? (archive(t).some((e) => e.mode === 'transparent') ? null : 'device.declaration.archive has no meter in transparent mode'),
  timeoutMs: (t) => budget(t, archive(t).length * 3),
  async run(ctx, t) {
    const b = backchannel(t)!;
    for (const e of archive(t).filter((x) => x.mode === 'transparent')) {
      const r = await ctx.step(`read ${e.address} (${e.protocol})`, () => readThrough(t, e));
      if (!r.ok) {
        if (r.silent) await inconclusiveIfDead(ctx, t, `${e.address} did not answer`);
        ctx.check(false, r.reason);
        continue;
      }
      const round = downstreamRound(b, r);
      if (!round) {
        ctx.check(false, `${e.address}: a reply came upstream but the meter received or sent nothing during the exchange`);
        continue;
      }
      const up = frameBody(r.request);
      const down = frameBody(round.toMeter.bytes);
      const meterReply = frameBody(round.fromMeter.bytes);
      const upReply = frameBody(r.reply);
      ctx.evidence(
        `${e.address} frames`,
        [hexLine('request upstream', up), hexLine('request at the meter', down), hexLine('reply from the meter', meterReply), hexLine('reply upstream', upReply)].join('\n'),
      );
      ctx.check(bytesEqual(up, down), `${e.address}: the request reached the meter altered${firstDifference(up, down)}`);
      ctx.check(bytesEqual(meterReply, upReply), `${e.address}: the meter's reply came upstream altered${firstDifference(meterReply, upReply)}`);
    }
  },
};

const addedLatency: Case = {
  id: 'converter.added-latency',
  requirement: 'CONV-01',
  title: 'the latency the converter adds stays within its declared limits',
  timeoutMs: (t) => budget(t, archive(t).length * LATENCY_READS_PER_METER),
  async run(ctx, t) {
    const d = declaration(t);
    const b = backchannel(t);
    const worst = { awake: -Infinity, wakeUp: -Infinity };
    let answered = 0;
    /** Meters that answered none of their reads: no latency to measure, and none bounded. */
    const silent: string[] = [];
    for (const e of d.archive) {
      const added: number[] = [];
      for (let i = 0; i < LATENCY_READS_PER_METER; i++) {
        const r = await readThrough(t, e);
        if (!r.ok) {
          ctx.log(`${e.address} read ${i + 1}: ${r.reason}`);
          continue;
        }
        answered++;
        const round = b ? downstreamRound(b, r) : null;
        // The meter's own delay is known only with the downstream view; without it the whole
        // upstream response delay is judged (an upper bound of what the converter adds).
        added.push(r.responseDelayMs - (round ? round.meterDelayMs : 0));
      }
      if (added.length === 0) {
        silent.push(e.address);
        continue;
      }
      const max = Math.max(...added);
      ctx.log(`${e.address} (${e.sleeps ? 'wake-up' : 'awake'}): added ${added.map((a) => a.toFixed(0)).join(', ')} ms${b ? '' : ' (upstream Td: meter delay unknown)'}`);
      if (e.sleeps) worst.wakeUp = Math.max(worst.wakeUp, max);
      else worst.awake = Math.max(worst.awake, max);
    }
    if (answered === 0) {
      await inconclusiveIfDead(ctx, t, 'no read got an answer');
      ctx.fail('no read through the converter got an answer: no latency to measure');
    }
    for (const a of silent) ctx.check(false, `${a}: none of ${LATENCY_READS_PER_METER} reads through the converter answered: the latency it adds is unbounded`);
    const basis = b ? 'upstream Td minus the meter\'s own delay' : 'upstream Td (upper bound)';
    if (worst.awake > -Infinity) ctx.measure(`added latency, awake meters, max (${basis})`, Math.round(worst.awake), 'ms', { max: d.limits.addedLatencyMs });
    if (worst.wakeUp > -Infinity) ctx.measure(`added latency, sleeping meters with wake-up, max (${basis})`, Math.round(worst.wakeUp), 'ms', { max: d.limits.addedLatencyWakeUpMs });
  },
};

const lossWithinLimit: Case = {
  id: 'converter.loss-within-limit',
  requirement: 'CONV-02',
  title: 'reads lost through the converter stay within its declared loss',
  timeoutMs: (t) => budget(t, LOSS_READS),
  async run(ctx, t) {
    const d = declaration(t);
    let lost = 0;
    const per = new Map<string, number>();
    for (let i = 0; i < LOSS_READS; i++) {
      const e = d.archive[i % d.archive.length]!;
      const r = await readThrough(t, e, { attempts: 1 });
      if (!r.ok && r.silent) {
        lost++;
        per.set(e.address, (per.get(e.address) ?? 0) + 1);
      } else if (!r.ok) ctx.check(false, `read ${i + 1}: ${r.reason}`);
    }
    if (lost === LOSS_READS) await inconclusiveIfDead(ctx, t, `all ${LOSS_READS} reads were lost`);
    ctx.log(`lost per meter: ${[...per].map(([a, n]) => `${a} ${n}`).join(', ') || 'none'}`);
    const b = backchannel(t);
    if (b) {
      const hops = b.meters.map((m) => `${m.entry.address}: down ${m.hop.stats.down.lost}/${m.hop.stats.down.frames}, up ${m.hop.stats.up.lost}/${m.hop.stats.up.frames}`);
      ctx.evidence('radio frames lost per hop (so far)', hops.join('\n'));
    }
    ctx.measure(`share of ${LOSS_READS} single-attempt reads lost`, lost / LOSS_READS, '', { max: d.limits.loss });
  },
};

const wakesBatteryMeters: Case = {
  id: 'converter.wakes-battery-meters',
  requirement: 'CONV-03',
  title: 'sleeping battery meters are reached through a wake-up',
  applies: (t) => (archive(t).some((e) => e.sleeps) ? null : 'device.declaration.archive declares no sleeping meter (archive[].sleeps)'),
  timeoutMs: (t) => budget(t, archive(t).length * 3) + archive(t).length * FALL_ASLEEP_MS,
  async run(ctx, t) {
    const b = backchannel(t);
    for (const e of archive(t).filter((x) => x.sleeps)) {
      // Left alone, the meter falls asleep (its awake window after a read is 10 s).
      await ctx.step(`let ${e.address} fall asleep (${FALL_ASLEEP_MS / 1000} s)`, () => t.clock.sleep(FALL_ASLEEP_MS, ctx.signal));
      const stillAwake = b?.meter(e.address)?.flowMeter?.awake() ?? b?.meter(e.address)?.mlgwMeter?.awake();
      if (stillAwake === true) ctx.log(`${e.address} still awake after ${FALL_ASLEEP_MS} ms`);
      const r = await ctx.step(`read ${e.address} (${e.protocol}, sniff period ${e.sniffPeriodMs} ms)`, () => readThrough(t, e));
      const meter = b?.meter(e.address);
      const sent = meter?.traffic.filter((f) => f.direction === 'to-meter').at(-1);
      const pre = meter && sent ? preambleOnHop(meter, sent) : undefined;
      if (pre) ctx.log(`${e.address}: the last request reached it behind ${pre.bytes} preamble bytes = ${pre.ms.toFixed(0)} ms of air time (sniff period ${e.sniffPeriodMs} ms)`);
      if (!r.ok) {
        if (r.silent) await inconclusiveIfDead(ctx, t, `the sleeping meter ${e.address} did not answer`);
        ctx.check(false, `sleeping meter ${e.address} not reached: ${r.reason}${pre ? `; its wake-up preamble lasted ${pre.ms.toFixed(0)} ms, its sniff period is ${e.sniffPeriodMs} ms` : ''}`);
        continue;
      }
      if (pre) ctx.check(pre.ms >= e.sniffPeriodMs, `${e.address} answered, but the converter's preamble on its hop lasted only ${pre.ms.toFixed(0)} ms, less than the declared sniff period ${e.sniffPeriodMs} ms`);
    }
  },
};

const protocolConversion: Case = {
  id: 'converter.protocol-conversion',
  requirement: 'MM-10',
  title: 'a CJ/T 188 read and valve command of a converted meter carry the meter\'s own values',
  applies: (t) => needsDownstreamView(t) ?? (archive(t).some((e) => e.mode === 'convert') ? null : 'device.declaration.archive has no meter in protocol-converting mode ("convert")'),
  timeoutMs: (t) => budget(t, archive(t).length * 6) + archive(t).length * 2 * VALVE_SETTLE_MS,
  async run(ctx, t) {
    const b = backchannel(t)!;
    const cjt = masters(t).cjt188;
    for (const e of archive(t).filter((x) => x.mode === 'convert')) {
      const r = await ctx.step(`read 901F of ${e.address} (MLGW meter ${e.meterId})`, () => readThrough(t, e));
      if (!r.ok) {
        if (r.silent) await inconclusiveIfDead(ctx, t, `${e.address} did not answer`);
        ctx.check(false, r.reason);
        continue;
      }
      const round = downstreamRound(b, r);
      const own = round ? decodeMlgw(round.fromMeter.bytes) : null;
      if (!own?.ok || own.value.message.kind !== 'readCurrentReply') {
        ctx.check(false, `${e.address}: no MLGW READ CURRENT DATA reply from the meter during the exchange`);
        continue;
      }
      const m = own.value.message as Extract<MlgwMessage, { kind: 'readCurrentReply' }>;
      const v = r.value as unknown as { currentFlow?: { value: number; unitCode?: number }; settlementFlow?: { value: number; unitCode?: number }; time?: Record<string, number> };
      const m3 = (litres: number): number => Math.floor(litres / 10) / 100;
      ctx.evidence(`${e.address} values`, `meter (MLGW): volume ${m.volumeLitres} L, settled ${m.settledLitres} L, time ${JSON.stringify(m.time)}, valve ${m.status.valve}, battery low ${m.status.batteryLow}\nconverter (CJ/T 188 901F): ${JSON.stringify(v)}, ST ${JSON.stringify(r.status)}`);
      ctx.check(v.currentFlow?.value === m3(m.volumeLitres) && v.currentFlow.unitCode === 0x2c, `${e.address}: current flow ${JSON.stringify(v.currentFlow)} is not the meter's ${m.volumeLitres} L = ${m3(m.volumeLitres)} m³ (unit 2CH)`);
      ctx.check(v.settlementFlow?.value === m3(m.settledLitres), `${e.address}: settlement flow ${JSON.stringify(v.settlementFlow)} is not the meter's ${m.settledLitres} L = ${m3(m.settledLitres)} m³`);
      ctx.check(JSON.stringify(v.time) === JSON.stringify(m.time), `${e.address}: real time ${JSON.stringify(v.time)} is not the meter's ${JSON.stringify(m.time)}`);
      ctx.check(r.status?.valve === m.status.valve && r.status?.batteryLow === m.status.batteryLow, `${e.address}: ST (valve ${r.status?.valve}, battery low ${r.status?.batteryLow}) is not the meter's STATUS (valve ${m.status.valve}, battery low ${m.status.batteryLow})`);
      // The valve: closed through the converter, the meter's valve closes and the next read says so; then opened again.
      const type = METER_TYPE[e.meter as keyof typeof METER_TYPE];
      const model = b.meter(e.address)?.model;
      for (const [command, state] of [['close', 'closed'], ['open', 'open']] as const) {
        const ack = await ctx.step(`valve ${command} ${e.address}`, () => cjt.valveControl(type, e.address, command).then(() => null, (err: unknown) => (err as Error).message));
        if (ack !== null) {
          ctx.check(false, `${e.address}: valve ${command} through the converter: ${ack}`);
          break;
        }
        await t.clock.sleep(VALVE_SETTLE_MS, ctx.signal);
        const after = await readThrough(t, e);
        ctx.check(after.ok && after.status?.valve === state, `${e.address}: after valve ${command} the converted read says ${after.ok ? after.status?.valve : after.reason}, expected ${state}`);
        if (model) ctx.check(model.snapshot().valve === state, `${e.address}: after valve ${command} through the converter the meter's own valve is ${model.snapshot().valve}`);
      }
    }
  },
};

/** ", first at byte 13: 00H sent, 01H received" or "" when equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): string {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      const h = (x: number | undefined) => (x === undefined ? 'nothing' : `${x.toString(16).toUpperCase().padStart(2, '0')}H`);
      return `, first at byte ${i} of the frame: ${h(a[i])} sent, ${h(b[i])} received`;
    }
  }
  return '';
}

export const converterCases: readonly Case[] = [archiveReachable, forwardsByteForByte, addedLatency, lossWithinLimit, wakesBatteryMeters, protocolConversion];
