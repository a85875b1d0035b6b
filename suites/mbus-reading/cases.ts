/**
 * The reading suite for M-Bus (EN 13757-2/-3) heat meters: one conformance case per checked
 * behaviour, each tied to a requirement in suites/requirements/catalog-mbus.ts. Plain data + a
 * function, so the project's own tests run them against broken variants of the reference heat
 * meter and prove each defect fails the matching case (mbus-reading.test.ts).
 *
 * Cases talk to the device only through the target's M-Bus master (`masters.mbus`, raw bytes
 * through its `sendRaw`); never a simulator. Every skip names the declaration field.
 */
import { bytesEqual, toHex } from '../../harness/core/bytes.ts';
import {
  ADDRESS_BROADCAST_NO_REPLY,
  ADDRESS_BROADCAST_REPLY,
  ADDRESS_NETWORK_LAYER,
  CI,
  describeDeclaredRecord,
  encodeFrame,
  encodeReqUd1,
  encodeReqUd2,
  encodeSecondaryAddress,
  encodeSelection,
  encodeSndNke,
  formatSecondaryAddress,
  manufacturerCode,
  manufacturerValue,
  makeControl,
  type DataRecord,
  type LongHeader,
  type MbusDeclaration,
  type MbusDeclaredRecord,
  type MbusRecord,
  type SecondaryAddress,
} from '../../harness/protocols/mbus/index.ts';
import type { MbusReadResult } from '../../harness/masters/index.ts';
import type { CheckContext, ConformanceCase } from '../framework/case.ts';
import { asMbusCase, declarationOf, describeRawReply, expectNoReply, mbusOf, rawRequest, telegramOf, type MbusCase, type MbusTarget } from './support.ts';

/** Heat coefficient of water near 50 °C, kWh/(m³·K) (EN 1434, as simulators/heat-meter/model.ts cites it; MBUS-03). */
export const HEAT_COEFFICIENT_KWH_PER_M3_K = 1.163;
/** Band around flow × ΔT × coefficient the power must lie in (MBUS-03: MeterLab's; the coefficient varies a few % over 20-90 °C). */
export const HEAT_POWER_TOLERANCE = 0.1;
/** Below these the power check has nothing to measure (MBUS-03): flow in m³/h, ΔT in K. */
export const HEAT_CHECK_MIN_FLOW_M3H = 0.01;
export const HEAT_CHECK_MIN_DELTA_T_K = 3;
/** Cumulative registers: a stored value never exceeds the current one (MBUS-03). */
const CUMULATIVE_QUANTITIES: ReadonlySet<string> = new Set(['Energy', 'Volume', 'Mass']);
/** Relative slack when comparing scales and stored values (floating point of raw × 10^n). */
const EPSILON = 1e-9;
/** A full primary scan at 2400 Bd: 251 addresses × 2 probe attempts × 196.7 ms ≈ 100 s; budget with room for slower lines. */
const SCAN_BUDGET_MS = 900_000;

function primary(t: MbusTarget): number {
  return declarationOf(t).primaryAddress;
}

/** The declared secondary address (the 8 header bytes). */
function declaredIdentity(d: MbusDeclaration): SecondaryAddress {
  const s = d.secondary;
  return { id: s.id, manufacturer: manufacturerValue(s.manufacturer), version: s.version, medium: s.medium };
}

function dataRecords(records: readonly MbusRecord[]): DataRecord[] {
  return records.filter((r): r is DataRecord => r.kind === 'data');
}

/** "Energy (Wh ×1000) storage 1 tariff 0 instantaneous subunit 0 = 1234000". */
function describeRecord(r: DataRecord): string {
  const e = r.vib.entry;
  const q = e ? `${e.quantity} (${e.unit ? `${e.unit} ` : ''}×${e.scale})` : r.vib.plainText !== undefined ? `"${r.vib.plainText}"` : `VIF ${toHex(Uint8Array.of(r.vib.vif, ...r.vib.vife))}`;
  return `${q} storage ${r.storageNumber} tariff ${r.tariff} ${r.function} subunit ${r.subunit} = ${valueText(r)}`;
}

function valueText(r: DataRecord): string {
  const v = r.value;
  switch (v.type) {
    case 'none':
      return 'no data';
    case 'bcd':
      return v.value === null ? `invalid BCD ${v.digits}` : String(r.scaled ?? v.value);
    case 'integer':
      return String(r.scaled ?? v.value);
    case 'real':
      return String(r.scaled ?? v.value);
    case 'date':
      return `${v.year}-${String(v.month).padStart(2, '0')}-${String(v.day).padStart(2, '0')}`;
    case 'dateTime':
      return `${v.year}-${String(v.month).padStart(2, '0')}-${String(v.day).padStart(2, '0')}T${String(v.hour).padStart(2, '0')}:${String(v.minute).padStart(2, '0')}${v.invalid ? ' (invalid)' : ''}`;
    case 'text':
      return JSON.stringify(v.value);
    case 'bytes':
      return v.hex;
  }
}

/** Why a record carries no usable value, or null. */
function missingValue(r: DataRecord): string | null {
  const v = r.value;
  if (v.type === 'none') return 'no data (data field 0)';
  if (v.type === 'bcd' && v.value === null) return `invalid BCD digits ${v.digits}`;
  if (v.type === 'dateTime' && v.invalid) return 'a date-time flagged invalid';
  if ((v.type === 'date' || v.type === 'dateTime') && (v.month < 1 || v.month > 12 || v.day < 1 || v.day > 31)) return `an impossible date ${valueText(r)}`;
  if (v.type === 'real' && !Number.isFinite(v.value)) return `a real that is not finite (${v.value})`;
  return null;
}

/** Records of the declared quantity and unit with the declared storage number, tariff, function and subunit. */
function matching(records: readonly DataRecord[], d: MbusDeclaredRecord): DataRecord[] {
  return records.filter(
    (r) =>
      r.vib.entry !== null &&
      r.vib.entry.quantity === d.quantity &&
      r.vib.entry.unit === d.unit &&
      r.storageNumber === d.storageNumber &&
      (d.tariff === undefined || r.tariff === d.tariff) &&
      (d.function === undefined || r.function === d.function) &&
      (d.subunit === undefined || r.subunit === d.subunit),
  );
}

function sameScale(a: number, b: number): boolean {
  return Math.abs(a - b) <= EPSILON * Math.max(Math.abs(a), Math.abs(b));
}

function recordsEvidence(ctx: CheckContext, read: MbusReadResult): void {
  ctx.evidence('records', dataRecords(read.records).map(describeRecord).join('\n'));
}

/** A full read at the declared primary address, SND_NKE first (as libmbus's request-data tool). */
function readDevice(t: MbusTarget): Promise<MbusReadResult> {
  return mbusOf(t).readData(primary(t), { reset: true });
}

// ---------------------------------------------------------------------------------------------
// The cases

const identification: MbusCase = {
  id: 'mbus-reading.identification',
  requirement: 'MBUS-01',
  title: 'the RSP_UD header identifies the device as declared (identification, manufacturer, version, medium) at its primary address',
  async run(ctx, t) {
    const d = declarationOf(t);
    const read = await readDevice(t);
    const h = read.header;
    if (!h || h.type !== 'long') {
      ctx.fail(`the reply to REQ_UD2 at ${d.primaryAddress} has ${h ? 'a short header (CI 7A)' : 'no header (CI 78 or fixed data)'}: no identification to check (CI 72 carries it, MBUS.md 7)`);
    }
    const lh = h as LongHeader;
    ctx.evidence('header', JSON.stringify({ replyAddress: read.replyAddress, ...lh }, null, 2), 'application/json');
    ctx.check(read.replyAddress === d.primaryAddress, `the reply carries primary address ${read.replyAddress} in its A field, declared ${d.primaryAddress}`);
    ctx.check(lh.id === d.secondary.id, `identification number ${lh.id}, declared ${d.secondary.id} (device.declaration.secondary.id)`);
    ctx.check(
      lh.manufacturer === manufacturerValue(d.secondary.manufacturer),
      `manufacturer ${manufacturerCode(lh.manufacturer)} (${lh.manufacturer.toString(16).toUpperCase().padStart(4, '0')}), declared ${d.secondary.manufacturer} (device.declaration.secondary.manufacturer)`,
    );
    ctx.check(lh.version === d.secondary.version, `version ${lh.version}, declared ${d.secondary.version} (device.declaration.secondary.version)`);
    ctx.check(lh.medium === d.secondary.medium, `medium ${lh.medium} (${lh.mediumName}), declared ${d.secondary.medium} (device.declaration.secondary.medium)`);
    for (const [i, tg] of read.telegrams.entries()) {
      const th = tg.application.kind === 'variableData' ? tg.application.header : null;
      if (i > 0 && th?.type === 'long') ctx.check(th.id === lh.id && th.manufacturer === lh.manufacturer, `telegram ${i + 1} of the read carries identification ${th.id} ${manufacturerCode(th.manufacturer)}, telegram 1 ${lh.id} ${lh.manufacturerCode}`);
    }
  },
};

const declaredRecords: MbusCase = {
  id: 'mbus-reading.declared-records',
  requirement: 'MBUS-02',
  title: 'every declared record is sent once with a value, its VIF scale, storage number, tariff, function and subunit as declared, within its range',
  applies: (t) => (declarationOf(t).records.length === 0 ? 'device.declaration.records is empty: no record declared to check' : null),
  async run(ctx, t) {
    const d = declarationOf(t);
    const read = await readDevice(t);
    recordsEvidence(ctx, read);
    const records = dataRecords(read.records);
    ctx.log(`${records.length} data record(s) in ${read.telegrams.length} telegram(s)`);
    for (const [i, decl] of d.records.entries()) {
      const name = `device.declaration.records.${i} ${describeDeclaredRecord(decl)}`;
      let found = matching(records, decl);
      if (found.length > 1) {
        // Fields the declaration leaves open: the plain record (tariff 0, subunit 0, instantaneous) is the one meant, if there is exactly one.
        const plain = found.filter((r) => (decl.tariff !== undefined || r.tariff === 0) && (decl.subunit !== undefined || r.subunit === 0) && (decl.function !== undefined || r.function === 'instantaneous'));
        if (plain.length === 1) {
          ctx.log(`${name}: ${found.length} records match; taking the one with tariff 0, subunit 0, instantaneous where undeclared (declare tariff, function or subunit to pick another)`);
          found = plain;
        }
      }
      if (found.length === 0) {
        const same = records.filter((r) => r.vib.entry?.quantity === decl.quantity);
        ctx.check(false, `${name}: not sent${same.length > 0 ? `; ${decl.quantity} records sent: ${same.map(describeRecord).join('; ')}` : `; no ${decl.quantity} record at all`}`);
        continue;
      }
      if (found.length > 1) {
        ctx.check(false, `${name}: sent ${found.length} times, a master cannot tell them apart: ${found.map(describeRecord).join('; ')}`);
        continue;
      }
      const r = found[0]!;
      const missing = missingValue(r);
      ctx.check(missing === null, `${name}: ${missing ?? ''}`);
      if (decl.scale !== undefined) {
        const scale = r.vib.entry!.scale;
        ctx.check(
          sameScale(scale, decl.scale),
          `${name}: the VIF ${toHex(Uint8Array.of(r.vib.vif, ...r.vib.vife))} carries scale ×${scale}, declared ×${decl.scale} (wrong VIF scaling: the value reads ${valueText(r)} ${decl.unit})`,
        );
      }
      if (decl.range && missing === null) {
        if (r.scaled === null) ctx.check(false, `${name}: a range is declared but the record has no scaled number (${valueText(r)})`);
        else {
          const { min, max } = decl.range;
          ctx.check((min === undefined || r.scaled >= min) && (max === undefined || r.scaled <= max), `${name}: ${r.scaled} ${decl.unit} outside the declared range ${min ?? '-∞'}..${max ?? '∞'}`);
        }
      }
    }
  },
};

const recordConsistency: MbusCase = {
  id: 'mbus-reading.record-consistency',
  requirement: 'MBUS-03',
  title: 'stored cumulative values do not exceed the current ones; a heat meter\'s power matches flow × ΔT × 1.163',
  async run(ctx, t) {
    const read = await readDevice(t);
    recordsEvidence(ctx, read);
    const records = dataRecords(read.records).filter((r) => r.vib.entry !== null && r.scaled !== null && missingValue(r) === null);
    let judged = 0;
    // Stored (storage > 0) against current (storage 0) of one register: same quantity, unit, tariff, function, subunit.
    const key = (r: DataRecord) => `${r.vib.entry!.quantity}|${r.vib.entry!.unit}|${r.tariff}|${r.function}|${r.subunit}`;
    const groups = new Map<string, DataRecord[]>();
    for (const r of records) if (CUMULATIVE_QUANTITIES.has(r.vib.entry!.quantity)) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
    for (const group of groups.values()) {
      const current = group.filter((r) => r.storageNumber === 0);
      const stored = group.filter((r) => r.storageNumber > 0);
      if (stored.length === 0) continue;
      if (current.length !== 1) {
        ctx.log(`${describeRecord(stored[0]!)}: ${current.length} current values of that register, not compared (declared-records judges presence)`);
        continue;
      }
      const now = current[0]!.scaled!;
      for (const s of stored) {
        judged++;
        ctx.check(s.scaled! <= now + EPSILON * Math.abs(now), `stored ${describeRecord(s)} exceeds the current value ${now} (storage number 0): a stored register value cannot be above the current one`);
      }
    }
    // Heat needs water: of two values of the energy register (current and stored, or two storages), the
    // larger comes with the larger volume. Judged only when the energies differ by at least two steps of
    // their VIF (1 kWh of heat carries at least 1 / (1.163 × 130 K) m³ ≈ 6.6 L, above a 1 L volume step).
    const plainAt = (quantity: string, storage: number) => {
      const c = records.filter((r) => r.vib.entry!.quantity === quantity && r.storageNumber === storage && r.tariff === 0 && r.subunit === 0 && r.function === 'instantaneous');
      return c.length === 1 ? c[0]! : undefined;
    };
    if (t.profile.device.kind === 'heat-meter') {
      const storages = [...new Set(records.map((r) => r.storageNumber))];
      const pairs = storages.flatMap((n) => {
        const e = plainAt('Energy', n);
        const v = plainAt('Volume', n);
        return e && v ? [{ n, e, v }] : [];
      });
      for (const hi of pairs) {
        for (const lo of pairs) {
          if (hi.e.scaled! - lo.e.scaled! < 2 * hi.e.vib.entry!.scale) continue;
          judged++;
          ctx.check(
            hi.v.scaled! > lo.v.scaled!,
            `energy at storage number ${hi.n} (${hi.e.scaled} Wh) is above the one at storage number ${lo.n} (${lo.e.scaled} Wh) but the volume is not (${hi.v.scaled} m³ against ${lo.v.scaled} m³): heat is carried only by water that flowed`,
          );
        }
      }
    }
    // Heat power against flow × ΔT.
    const one = (quantity: string) => {
      const c = records.filter((r) => r.vib.entry!.quantity === quantity && r.storageNumber === 0 && r.function === 'instantaneous' && r.tariff === 0 && r.subunit === 0);
      return c.length === 1 ? c[0]! : undefined;
    };
    const power = one('Power');
    const flow = one('Volume flow');
    const tf = one('Flow temperature');
    const tr = one('Return temperature');
    if (t.profile.device.kind === 'heat-meter' && power && flow && tf && tr && power.vib.entry!.unit === 'W' && flow.vib.entry!.unit === 'm^3/h' && tf.vib.entry!.unit === '°C' && tr.vib.entry!.unit === '°C') {
      const q = flow.scaled!;
      const dT = tf.scaled! - tr.scaled!;
      if (q < HEAT_CHECK_MIN_FLOW_M3H || dT < HEAT_CHECK_MIN_DELTA_T_K) {
        ctx.log(`power not compared: flow ${q} m³/h, ΔT ${dT.toFixed(2)} K (below ${HEAT_CHECK_MIN_FLOW_M3H} m³/h or ${HEAT_CHECK_MIN_DELTA_T_K} K: nothing to measure)`);
        // Still an upper bound: no more power than that flow and ΔT, each raised to the threshold, can carry.
        const boundW = Math.max(q, HEAT_CHECK_MIN_FLOW_M3H) * Math.max(dT, HEAT_CHECK_MIN_DELTA_T_K) * HEAT_COEFFICIENT_KWH_PER_M3_K * 1000 * (1 + HEAT_POWER_TOLERANCE) + power.vib.entry!.scale;
        judged++;
        ctx.check(
          power.scaled! <= boundW,
          `power ${power.scaled} W with flow ${q} m³/h and ΔT ${dT.toFixed(2)} K: above ${boundW.toFixed(1)} W, what even ${Math.max(q, HEAT_CHECK_MIN_FLOW_M3H)} m³/h × ${Math.max(dT, HEAT_CHECK_MIN_DELTA_T_K).toFixed(2)} K × ${HEAT_COEFFICIENT_KWH_PER_M3_K} (+${HEAT_POWER_TOLERANCE * 100} %) carries`,
        );
      } else {
        judged++;
        const expectedW = q * dT * HEAT_COEFFICIENT_KWH_PER_M3_K * 1000;
        // Rounding of the four values as sent (half their resolution, the VIF scale): relative error bound.
        const rounding = flow.vib.entry!.scale / 2 / q + (tf.vib.entry!.scale / 2 + tr.vib.entry!.scale / 2) / dT + power.vib.entry!.scale / 2 / Math.max(power.scaled!, power.vib.entry!.scale);
        const band = HEAT_POWER_TOLERANCE + rounding;
        const ratio = power.scaled! / expectedW;
        ctx.measure('heat power / (flow × ΔT × 1.163)', Number(ratio.toFixed(4)), '', { min: Number((1 - band).toFixed(4)), max: Number((1 + band).toFixed(4)) });
        ctx.log(`power ${power.scaled} W; flow ${q} m³/h × ΔT ${dT.toFixed(2)} K × ${HEAT_COEFFICIENT_KWH_PER_M3_K} = ${expectedW.toFixed(1)} W`);
      }
    }
    if (judged === 0) ctx.inconclusive('nothing to compare: no stored value of a cumulative register (energy, volume, mass) beside its current value, and no heat power with flow, flow and return temperature while heat flows');
  },
};

/** Sends REQ_UD2 at the declared address with an explicit FCB, below the master; the one telegram or a failure. */
async function reqUd2Raw(ctx: CheckContext, t: MbusTarget, fcb: boolean, what: string) {
  const replies = await rawRequest(t, encodeReqUd2(primary(t), fcb));
  const tg = telegramOf(replies, what);
  if (!tg.ok) ctx.fail(tg.reason);
  return tg as Extract<typeof tg, { ok: true }>;
}

function accessNumberOf(app: { header: LongHeader | { type: string } | null }): string {
  const h = app.header;
  return h && h.type === 'long' ? String((h as LongHeader).accessNumber) : '?';
}

const fcb: MbusCase = {
  id: 'mbus-reading.fcb',
  requirement: 'MBUS-04',
  title: 'REQ_UD2 with the same FCB repeats the last telegram; a toggled FCB gives the next',
  async run(ctx, t) {
    const m = mbusOf(t);
    const a = primary(t);
    await m.sndNke(a);
    const first = await reqUd2Raw(ctx, t, true, 'REQ_UD2 FCB 1 after SND_NKE');
    const again = await reqUd2Raw(ctx, t, true, 'REQ_UD2 FCB 1 repeated');
    ctx.check(
      bytesEqual(again.raw, first.raw),
      `REQ_UD2 repeated with the same FCB (1) got a new telegram (access number ${accessNumberOf(first.app)} → ${accessNumberOf(again.app)}) instead of the last one repeated: a reply lost on the line would be skipped`,
    );
    const next = await reqUd2Raw(ctx, t, false, 'REQ_UD2 FCB 0 (toggled)');
    ctx.check(!bytesEqual(next.raw, first.raw), `REQ_UD2 with the FCB toggled (0) got the last telegram again (access number ${accessNumberOf(next.app)}) instead of the next one`);
    ctx.evidence('telegrams', [`FCB 1: ${toHex(first.raw)}`, `FCB 1 again: ${toHex(again.raw)}`, `FCB 0: ${toHex(next.raw)}`].join('\n'));
    // Leave the device and the master in step (the raw requests bypassed the master's FCB state).
    await m.sndNke(a);
  },
};

/** The DIB+VIB bytes of each record of a telegram: its layout, whatever the values. */
function layoutOf(records: readonly MbusRecord[]): string {
  return records.map((r) => (r.kind === 'data' ? toHex(Uint8Array.of(r.dif, ...r.dife, r.vib.vif, ...r.vib.vife)) : r.kind === 'manufacturer' ? toHex(Uint8Array.of(r.dif)) : '7F')).join(',');
}

const sndNke: MbusCase = {
  id: 'mbus-reading.snd-nke',
  requirement: 'MBUS-05',
  title: 'SND_NKE is answered with E5 and resets the FCB state: the next read starts over with a new telegram',
  async run(ctx, t) {
    const a = primary(t);
    const ack = await rawRequest(t, encodeSndNke(a));
    ctx.check(ack.length === 1 && ack[0]!.frame?.type === 'ack', `SND_NKE at ${a}: expected one E5, got ${ack.length === 0 ? 'no reply' : ack.map(describeRawReply).join('; ')}`);
    const before = await reqUd2Raw(ctx, t, true, 'REQ_UD2 FCB 1 after SND_NKE');
    const ack2 = await rawRequest(t, encodeSndNke(a));
    ctx.check(ack2.length === 1 && ack2[0]!.frame?.type === 'ack', `the second SND_NKE at ${a}: expected one E5, got ${ack2.length === 0 ? 'no reply' : ack2.map(describeRawReply).join('; ')}`);
    const after = await reqUd2Raw(ctx, t, true, 'REQ_UD2 FCB 1 after the second SND_NKE');
    ctx.check(
      !bytesEqual(after.raw, before.raw),
      `after SND_NKE a REQ_UD2 with FCB 1 repeated the telegram from before the reset (access number ${accessNumberOf(after.app)}): SND_NKE did not reset the FCB state`,
    );
    // The access number increments with each readout (MBUS.md 7): the read after the reset is a new one, so it moves forward.
    const an = (app: { header: LongHeader | { type: string } | null }): number | null => (app.header?.type === 'long' ? (app.header as LongHeader).accessNumber : null);
    const anBefore = an(before.app);
    const anAfter = an(after.app);
    if (anBefore !== null && anAfter !== null) {
      const step = (anAfter - anBefore + 256) % 256;
      ctx.check(step >= 1 && step <= 127, `the access number went from ${anBefore} to ${anAfter} for the next readout: it increments with each readout (MBUS.md 7)`);
    }
    ctx.check(
      layoutOf(after.app.records) === layoutOf(before.app.records),
      'after SND_NKE the read did not start over at the first telegram (its records differ in layout from the first telegram after the first SND_NKE)',
    );
    // SND_NKE at 255 (broadcast without reply) is for every slave: silence, and the FCB state reset all the same.
    const bc = await rawRequest(t, encodeSndNke(ADDRESS_BROADCAST_NO_REPLY));
    ctx.check(bc.length === 0, `SND_NKE at 255 (broadcast without reply) was answered: ${bc.map(describeRawReply).join('; ')}`);
    const afterBroadcast = await reqUd2Raw(ctx, t, true, 'REQ_UD2 FCB 1 after SND_NKE at 255');
    ctx.check(
      !bytesEqual(afterBroadcast.raw, after.raw),
      `after SND_NKE at 255 a REQ_UD2 with FCB 1 repeated the telegram from before (access number ${accessNumberOf(afterBroadcast.app)}): the broadcast SND_NKE did not reset the FCB state`,
    );
    // The other master requests of MBUS.md 3: SND_UD is answered E5 (here an application reset, CI 50,
    // MBUS.md 5), REQ_UD1 (class 1 data) E5 or RSP_UD.
    const reset = await rawRequest(t, encodeFrame({ type: 'long', control: makeControl({ function: 'SND_UD', fcb: true }), address: a, ci: CI.APPLICATION_RESET }));
    ctx.check(reset.length === 1 && reset[0]!.frame?.type === 'ack', `SND_UD application reset (CI 50) at ${a}: expected one E5 (MBUS.md 3), got ${reset.length === 0 ? 'no reply' : reset.map(describeRawReply).join('; ')}`);
    const ud1 = await rawRequest(t, encodeReqUd1(a, true));
    ctx.check(
      ud1.length === 1 && (ud1[0]!.frame?.type === 'ack' || (ud1[0]!.frame?.type === 'long' && ud1[0]!.frame.control.functionName === 'RSP_UD')),
      `REQ_UD1 at ${a}: expected one E5 or RSP_UD (MBUS.md 3), got ${ud1.length === 0 ? 'no reply' : ud1.map(describeRawReply).join('; ')}`,
    );
    ctx.evidence('telegrams', [`before: ${toHex(before.raw)}`, `after: ${toHex(after.raw)}`, `after SND_NKE at 255: ${toHex(afterBroadcast.raw)}`].join('\n'));
    await mbusOf(t).sndNke(a);
  },
};

const primaryAddressing: MbusCase = {
  id: 'mbus-reading.primary-addressing',
  requirement: 'MBUS-06',
  title: 'answers at its primary address and at 254 with its own address in the A field; silent at 255',
  reaches: 'any',
  async run(ctx, t) {
    const m = mbusOf(t);
    const a = primary(t);
    const at = await rawRequest(t, encodeReqUd2(a, m.nextFcb(a)));
    const own = telegramOf(at, `REQ_UD2 at the declared primary address ${a}`);
    if (own.ok) {
      const replyAddress = (at[0]!.frame as { address: number }).address;
      ctx.check(replyAddress === a, `REQ_UD2 at ${a} answered with primary address ${replyAddress} in the A field`);
    } else ctx.check(false, own.reason);
    await m.sndNke(ADDRESS_BROADCAST_REPLY).catch((e: Error) => ctx.check(false, `SND_NKE at 254 (broadcast with reply): ${e.message}`));
    const bc = await rawRequest(t, encodeReqUd2(ADDRESS_BROADCAST_REPLY, true));
    const tg = telegramOf(bc, 'REQ_UD2 at 254 (broadcast with reply)');
    if (tg.ok) {
      const replyAddress = (bc[0]!.frame as { address: number }).address;
      ctx.check(replyAddress === a, `REQ_UD2 at 254 answered with primary address ${replyAddress} in the A field, declared ${a}`);
    } else ctx.check(false, tg.reason);
    await expectNoReply(ctx, t, encodeSndNke(ADDRESS_BROADCAST_NO_REPLY), 'SND_NKE at 255 (broadcast without reply)');
    await expectNoReply(ctx, t, encodeReqUd2(ADDRESS_BROADCAST_NO_REPLY, true), 'REQ_UD2 at 255 (broadcast without reply)');
    await m.sndNke(a);
  },
};

/** The declared identity with the last `wild` ID digits, the manufacturer, version and medium as wildcards. */
function wildcardPattern(id: SecondaryAddress, wild: number): SecondaryAddress {
  return { id: id.id.slice(0, 8 - wild) + 'F'.repeat(wild), manufacturer: 0xffff, version: 0xff, medium: 0xff };
}

/** A secondary address that differs from `id` in every ID digit (so it matches no wildcard of it either). */
function otherIdentity(id: SecondaryAddress): SecondaryAddress {
  return { ...id, id: [...id.id].map((c) => String((Number(c) + 5) % 10)).join('') };
}

/** Selects `pattern` and reads at 253; the identity read, or a failed check. */
async function selectAndRead(ctx: CheckContext, t: MbusTarget, pattern: SecondaryAddress, what: string): Promise<void> {
  const m = mbusOf(t);
  const text = formatSecondaryAddress(pattern);
  const sel = await m.select(pattern);
  if (sel.outcome !== 'reply') {
    ctx.check(false, `${what} ${text}: ${sel.outcome === 'collision' ? 'garbled or several answers' : 'no E5'} (MBUS.md 6: a matching slave answers E5)`);
    return;
  }
  const replies = await rawRequest(t, encodeReqUd2(ADDRESS_NETWORK_LAYER, true));
  const tg = telegramOf(replies, `REQ_UD2 at 253 after ${what} ${text}`);
  if (!tg.ok) {
    ctx.check(false, tg.reason);
    return;
  }
  const h = tg.app.header;
  const want = declaredIdentity(declarationOf(t));
  ctx.check(
    h?.type === 'long' && formatSecondaryAddress({ id: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium }) === formatSecondaryAddress(want),
    `REQ_UD2 at 253 after ${what} ${text} read ${h?.type === 'long' ? formatSecondaryAddress({ id: h.id, manufacturer: h.manufacturer, version: h.version, medium: h.medium }) : 'no long header'}, declared ${formatSecondaryAddress(want)}`,
  );
}

const secondaryAddressing: MbusCase = {
  id: 'mbus-reading.secondary-addressing',
  requirement: 'MBUS-07',
  title: 'selected by its full and by a wildcard secondary address, then read at 253; SND_NKE at 253 deselects it',
  async run(ctx, t) {
    const id = declaredIdentity(declarationOf(t));
    await selectAndRead(ctx, t, id, 'selection of the declared secondary address');
    await selectAndRead(ctx, t, wildcardPattern(id, 4), 'wildcard selection');
    await selectAndRead(ctx, t, wildcardPattern(id, 8), 'all-wildcard selection');
    // While selected: a SND_UD at 253 is for it (E5, MBUS.md 3), a request for another primary address still is not.
    if ((await mbusOf(t).select(id)).outcome === 'reply') {
      const other = (primary(t) % 250) + 1;
      const ud = await rawRequest(t, encodeFrame({ type: 'long', control: makeControl({ function: 'SND_UD', fcb: true }), address: ADDRESS_NETWORK_LAYER, ci: CI.APPLICATION_RESET }));
      ctx.check(ud.length === 1 && ud[0]!.frame?.type === 'ack', `SND_UD (application reset, CI 50) at 253 while selected: expected one E5 (MBUS.md 3), got ${ud.length === 0 ? 'no reply' : ud.map(describeRawReply).join('; ')}`);
      const elsewhere = await rawRequest(t, encodeReqUd2(other, true));
      ctx.check(elsewhere.length === 0, `REQ_UD2 at another primary address (${other}) while selected by secondary address was answered: ${elsewhere.map(describeRawReply).join('; ')}`);
    }
    // Deselection: select, SND_NKE at 253 (answered or not), then 253 must be silent.
    const sel = await mbusOf(t).select(id);
    if (sel.outcome === 'reply') {
      await rawRequest(t, encodeSndNke(ADDRESS_NETWORK_LAYER));
      await expectNoReply(ctx, t, encodeReqUd2(ADDRESS_NETWORK_LAYER, true), 'REQ_UD2 at 253 after SND_NKE at 253 (deselected)');
    }
    await mbusOf(t).sndNke(primary(t));
  },
};

const scan: MbusCase = {
  id: 'mbus-reading.scan',
  requirement: 'MBUS-08',
  title: 'a primary scan (0..250) finds it at exactly its primary address; the secondary wildcard search finds its secondary address',
  reaches: 'any',
  timeoutMs: () => SCAN_BUDGET_MS,
  async run(ctx, t) {
    const m = mbusOf(t);
    const d = declarationOf(t);
    const p = await ctx.step('primary scan 0..250 (SND_NKE)', () => m.scanPrimary());
    const found = p.found.map((f) => f.address);
    ctx.log(`primary scan: ${p.exchanges} probes in ${(p.durationMs / 1000).toFixed(1)} s, E5 at ${found.join(', ') || 'no address'}`);
    ctx.check(found.includes(d.primaryAddress), `the primary scan got no E5 at the declared primary address ${d.primaryAddress}${found.length > 0 ? ` (E5 at ${found.join(', ')})` : ''}`);
    const others = found.filter((x) => x !== d.primaryAddress);
    ctx.check(others.length === 0, `the primary scan got E5 at primary address(es) ${others.join(', ')} besides ${d.primaryAddress}: a device answers its own address only`);
    ctx.check(p.collisions.length === 0, `the primary scan met garbled answers at ${p.collisions.map((c) => c.address).join(', ')}`);
    const s = await ctx.step('secondary wildcard search', () => m.searchSecondary());
    const want = formatSecondaryAddress(declaredIdentity(d));
    ctx.log(`secondary search: ${s.selections} selections in ${(s.durationMs / 1000).toFixed(1)} s, found ${s.found.map((f) => f.text).join(', ') || 'nothing'}`);
    ctx.check(
      s.found.some((f) => f.text === want),
      `the secondary wildcard search did not find the declared secondary address ${want}${s.found.length > 0 ? ` (found ${s.found.map((f) => f.text).join(', ')})` : ' (no selection with wildcards was answered)'}`,
    );
    ctx.check(s.found.every((f) => f.text === want), `the secondary search found other addresses too: ${s.found.filter((f) => f.text !== want).map((f) => f.text).join(', ')}`);
    ctx.check(s.unresolved.length === 0 && s.unreadable.length === 0, `the secondary search left ${s.unresolved.length} unresolved collision(s) and ${s.unreadable.length} selection(s) it could not read: ${[...s.unresolved, ...s.unreadable].join(', ')}`);
    ctx.measure('primary scan duration', Number((p.durationMs / 1000).toFixed(1)), 's', {});
    ctx.measure('secondary search selections', s.selections, '', {});
    await m.sndNke(d.primaryAddress);
  },
};

/** A REQ_UD2 at `address` whose checksum is wrong and is none of 10H, 16H, 68H, E5H (no byte a parser could resynchronise on). */
function badChecksumReqUd2(address: number): Uint8Array {
  const good = encodeReqUd2(address, true);
  const out = good.slice();
  for (let k = 1; k < 256; k++) {
    const cs = (good[3]! + k) & 0xff;
    if (![0x10, 0x16, 0x68, 0xe5].includes(cs)) {
      out[3] = cs;
      return out;
    }
  }
  return out;
}

const badFrames: MbusCase = {
  id: 'mbus-reading.bad-frames-ignored',
  requirement: 'MBUS-09',
  title: 'no reply to a bad checksum, another primary address or another secondary address; still answers afterwards',
  async run(ctx, t) {
    const a = primary(t);
    const other = (a % 250) + 1;
    const id = declaredIdentity(declarationOf(t));
    await expectNoReply(ctx, t, badChecksumReqUd2(a), `REQ_UD2 at ${a} with a wrong checksum`);
    await expectNoReply(ctx, t, encodeSndNke(other), `SND_NKE at another primary address (${other})`);
    await expectNoReply(ctx, t, encodeReqUd2(other, true), `REQ_UD2 at another primary address (${other})`);
    // A selection (CI 52) is for 253 only (MBUS.md 6): its own secondary address sent to another primary address is not for it.
    const misaddressed = encodeFrame({ type: 'long', control: makeControl({ function: 'SND_UD', fcb: true }), address: other, ci: CI.SELECTION, data: encodeSecondaryAddress(id) });
    await expectNoReply(ctx, t, misaddressed, `a selection of its own secondary address sent to another primary address (${other})`);
    const wrong = otherIdentity(id);
    await expectNoReply(ctx, t, encodeSelection(wrong, true), `a selection of another secondary address ${formatSecondaryAddress(wrong)}`);
    await expectNoReply(ctx, t, encodeReqUd2(ADDRESS_NETWORK_LAYER, true), `REQ_UD2 at 253 after a selection of another secondary address`);
  },
};

const multiTelegram: MbusCase = {
  id: 'mbus-reading.multi-telegram',
  requirement: 'MBUS-10',
  title: 'a read declared to take several telegrams comes in that many, each but the last closed by DIF 1F',
  applies: (t) => {
    const n = declarationOf(t).telegrams;
    if (n === undefined) return 'device.declaration.telegrams is not declared';
    return n < 2 ? `device.declaration.telegrams is ${n}: a single-telegram read` : null;
  },
  async run(ctx, t) {
    const want = declarationOf(t).telegrams!;
    const read = await mbusOf(t).readData(primary(t), { reset: true, maxTelegrams: want + 2 }).catch((e: Error) => ctx.fail(`the multi-telegram read failed: ${e.message}`));
    const n = read.telegrams.length;
    ctx.measure('telegrams per read', n, '', { min: want, max: want });
    read.telegrams.forEach((tg, i) => {
      const more = tg.application.kind === 'variableData' && tg.application.moreRecordsFollow;
      if (i < n - 1) ctx.check(more, `telegram ${i + 1} of ${n} does not end with DIF 1F`);
      else ctx.check(!more, `the last telegram (${n}) still ends with DIF 1F`);
    });
    ctx.evidence('telegrams', read.telegrams.map((tg, i) => `${i + 1} FCB ${tg.exchange.fcb ? 1 : 0}: ${toHex(tg.exchange.reply!.raw)}`).join('\n'));
  },
};

/** The M-Bus reading cases, in run order. */
export const mbusReadingCases: readonly ConformanceCase<MbusTarget>[] = [
  identification,
  declaredRecords,
  recordConsistency,
  fcb,
  sndNke,
  primaryAddressing,
  secondaryAddressing,
  scan,
  badFrames,
  multiTelegram,
].map(asMbusCase);
