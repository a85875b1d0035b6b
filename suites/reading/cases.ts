/**
 * The reading suite for DL/T 645-2007 meters: one conformance case per checked behaviour, each
 * tied to a requirement in suites/requirements. Cases are plain data + a function so that the
 * project's own tests can run them directly against broken simulator variants and prove that
 * each defect fails the matching case (suites/reading/reading.test.ts).
 *
 * Cases talk to the device only through the target's master and link; they never reach into a
 * simulator. Every skip names the declaration field that gated it.
 */
import { toCalendar, fromCalendar, isValidCalendar, formatCalendar } from '../../harness/core/calendar.ts';
import { concatBytes, toHex } from '../../harness/core/bytes.ts';
import { TimeoutError } from '../../harness/core/errors.ts';
import {
  BROADCAST_ADDRESS,
  END,
  PREAMBLE_BYTE,
  START,
  WILDCARD_ADDRESS,
  byteOrderHint,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  lookup,
  decodeValue,
  type DataValue,
  type Dlt645Message,
} from '../../harness/protocols/dlt645/index.ts';
import { DEFAULT_CASE_TIMEOUT_MS, type ConformanceCase, type CheckContext } from '../framework/case.ts';
import { ordinaryIdentifier as ordinaryIdentifierOf, type Target } from '../../harness/targets/index.ts';
import { checkPresence, notAnsweringReason } from './liveness.ts';
import {
  asReadingCase,
  describeReply,
  expectNoReply,
  expectRecovery,
  freezeGate,
  probe,
  readValue,
  replyAddressOf,
  requireDeclared,
  silenceWindowMs,
  type ReadingCase,
} from './probe.ts';

type Case = ReadingCase;
type ErrorBitName = Extract<Dlt645Message, { kind: 'errorResponse' }>['errors'][number];

/** Identifier read by cases that need "any ordinary value": forward active total energy (PROTOCOLS.md 1.9). */
const FORWARD_ACTIVE_TOTAL = '00010000';
const DATE_AND_WEEK = '04000101';
const TIME_OF_DAY = '04000102';
const COMM_ADDRESS = '04000401';
const STATUS_WORD_3 = '04000503';

/** Response delay limits Td (PROTOCOLS.md 1.1: 20 ms <= Td <= 500 ms; source go645, confidence M). */
export const DEFAULT_RESPONSE_DELAY_LIMITS = { min: 20, max: 500 };
/** Meter clock error after a time sync (REQUIREMENTS.md CLK-01: meter <= 10 s). */
export const DEFAULT_CLOCK_TOLERANCE_S = 10;
/** Reads used to measure the response delay. */
const RESPONSE_DELAY_SAMPLES = 5;
/** Unanswered reads in a row after which read-declared-identifiers checks the meter is still there. */
const SILENT_READS_BEFORE_CHECK = 3;
/** Identifiers named in the reason when several came in follow-up frames undeclared (the rest are counted). */
const SPLIT_SHOWN = 5;

function meterAddress(t: Target): string {
  return t.profile.meter.address;
}

/** The identifier ordinary reads use: forward active total when declared, else the first declared one. */
function ordinaryIdentifier(t: Target): string {
  return ordinaryIdentifierOf(t.profile);
}

/** " (<byte-order sentence>)" when `seen` is the declared address in nameplate order, else "". */
function orderHint(t: Target, seen: string | undefined): string {
  const h = seen ? byteOrderHint(seen, meterAddress(t)) : '';
  return h ? ` (${h})` : '';
}

/**
 * Time budget of a case that makes up to `exchanges` requests, each of which may use every
 * attempt (CON-05: 3 × 3000 ms), plus a minute for everything else.
 */
function budgetFor(t: Target, exchanges: number): number {
  return 60_000 + exchanges * (t.profile.master.timeoutMs * t.profile.master.attempts + 1000);
}

// ---------------------------------------------------------------------------------------------
// Broken probe frames. A broken frame must carry 68H or 16H only where the frame format puts them
// (its two start characters and its end character), or a parser that resynchronises on start
// characters may take it for the start of another frame: that is the robustness case's subject,
// not the other cases'. FE (the wake-up byte) is kept out of those positions too.

const RESYNC_BYTES: ReadonlySet<number> = new Set([START, END, PREAMBLE_BYTE]);

/** True when `bytes` (FE* 68 A 68 C L DATA CS [16]) carries no 68H/16H/FEH after the second 68H except its last byte. */
function noSpuriousFraming(bytes: Uint8Array, lastIsEnd = true): boolean {
  let head = 0;
  while (head < bytes.length && bytes[head] === PREAMBLE_BYTE) head++;
  const stop = lastIsEnd ? bytes.length - 1 : bytes.length;
  for (let i = head + 8; i < stop; i++) if (RESYNC_BYTES.has(bytes[i]!)) return false;
  return true;
}

/** Read requests for the ordinary identifier first, then every other declared one. */
function readRequests(t: Target, address = meterAddress(t)): { di: string; frame: Uint8Array }[] {
  const ids = [ordinaryIdentifier(t), ...t.profile.meter.identifiers.filter((d) => d !== ordinaryIdentifier(t))];
  return ids.map((di) => ({ di, frame: encodeMessage(address, { kind: 'readData', di, extra: new Uint8Array(0) }, { preamble: t.master.preamble }) }));
}

/** The frame with its checksum replaced by `cs`. */
function withChecksum(frame: Uint8Array, cs: number): Uint8Array {
  const out = frame.slice();
  out[out.length - 2] = cs;
  return out;
}

/** A read whose checksum is wrong and whose bytes hold no spurious 68H/16H/FEH. */
function badChecksumRead(t: Target): { di: string; frame: Uint8Array } {
  for (const r of readRequests(t)) {
    if (!noSpuriousFraming(r.frame)) continue;
    const right = r.frame[r.frame.length - 2]!;
    for (let k = 1; k < 256; k++) {
      const cs = (right + k) & 0xff;
      if (!RESYNC_BYTES.has(cs)) return { di: r.di, frame: withChecksum(r.frame, cs) };
    }
  }
  // Every declared read carries 68H/16H in its data: use the first one as it is, with CS + 1.
  const r = readRequests(t)[0]!;
  return { di: r.di, frame: withChecksum(r.frame, (r.frame[r.frame.length - 2]! + 1) & 0xff) };
}

/** A read whose body is one byte shorter than L says (CS recomputed over what is sent), free of spurious framing bytes. */
function truncatedRead(t: Target): { di: string; frame: Uint8Array } {
  const p = t.master.preamble;
  const build = (good: Uint8Array): Uint8Array => {
    const head = good.slice(0, p + 10 + 3);
    let cs = 0;
    for (let i = p; i < head.length; i++) cs = (cs + head[i]!) & 0xff;
    return concatBytes(head, Uint8Array.of(cs, END));
  };
  const all = readRequests(t).map((r) => ({ di: r.di, frame: build(r.frame) }));
  return all.find((r) => noSpuriousFraming(r.frame)) ?? all[0]!;
}

/**
 * A frame with the direction bit D7 set (C = 91H, as another slave's read reply) addressed to the
 * meter, whose data field is too short for a 91H (2 bytes, no DI), free of spurious framing bytes:
 * a meter must never answer a reply, even one it cannot decode (PROTOCOLS.md 1.3 D7).
 */
function replyDirectionFrame(t: Target): Uint8Array {
  for (let k = 0; k < 256; k++) {
    const frame = encodeFrame({ address: meterAddress(t), control: 0x91, data: Uint8Array.of(0x00, k), preamble: t.master.preamble });
    if (noSpuriousFraming(frame)) return frame;
  }
  return encodeFrame({ address: meterAddress(t), control: 0x91, data: Uint8Array.of(0x00, 0x00), preamble: t.master.preamble });
}

/** A read with a wrong checksum equal to `cs` (68H or 16H): a frame whose right checksum is something else. */
function readWithChecksum(t: Target, cs: number): { di: string; frame: Uint8Array } | undefined {
  for (const r of readRequests(t)) {
    const right = r.frame[r.frame.length - 2]!;
    if (right !== cs && noSpuriousFraming(r.frame)) return { di: r.di, frame: withChecksum(r.frame, cs) };
  }
  return undefined;
}

/**
 * A valid read for another meter whose address and data hold 68H and 16H: address 000000001668
 * goes on the wire as 68 16 00 00 00 00, DI E335E335 as 68 16 68 16 (+33H).
 */
const SPURIOUS_FRAMING_ADDRESS = '000000001668';
const SPURIOUS_FRAMING_DI = 'E335E335';

// ---------------------------------------------------------------------------------------------
// Plausibility of decoded values, by the dictionary's unit and format.

function plausibilityProblems(di: string, value: DataValue): string[] {
  const def = lookup(di);
  const problems: string[] = [];
  const unit = def?.unit ?? '';
  const walk = (v: DataValue, path: string): void => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push(`${path} is not a finite number`);
      else if (unit === 'V' && (v < 0 || v > 600)) problems.push(`${path} = ${v} V is outside 0..600 V`);
      else if (unit === 'Hz' && (v < 40 || v > 70)) problems.push(`${path} = ${v} Hz is outside 40..70 Hz`);
      else if (def?.format === 'X.XXX' && (v < -1 || v > 1)) problems.push(`${path} = ${v} is not a power factor in -1..1`);
      else if ((unit === 'kWh' || unit === 'yuan' || unit === '元') && def?.category !== 'energy' && v < 0) {
        problems.push(`${path} = ${v} ${unit} is negative`);
      }
      return;
    }
    if (typeof v === 'string') return;
    if (Array.isArray(v)) {
      v.forEach((m, i) => walk(m as DataValue, `${path}[${i}]`));
      return;
    }
    const r = v as Record<string, DataValue>;
    // A record whose date is all zeros is an empty slot (the event or freeze has not happened yet).
    // The live clock (04000101) is no record: an all-zero date there is a clock that is not set.
    const emptySlot = def?.category !== 'clock' && r.month === 0 && r.day === 0 && (r.year === undefined || r.year === 2000 || r.year === 0);
    if (emptySlot) return;
    if (typeof r.month === 'number' && typeof r.day === 'number') {
      const year = typeof r.year === 'number' ? r.year : 2000;
      const ok = isValidCalendar({ year, month: r.month, day: r.day, hour: 0, minute: 0, second: 0 });
      if (!ok) problems.push(`${path} is not a calendar date (${JSON.stringify(r)})`);
    }
    if (typeof r.hour === 'number' && (r.hour > 23 || (r.minute as number) > 59 || ((r.second as number) ?? 0) > 59)) {
      problems.push(`${path} is not a time of day (${JSON.stringify(r)})`);
    }
    for (const [k, m] of Object.entries(r)) walk(m, `${path}.${k}`);
  };
  walk(value, di);
  return problems;
}

/** Energy registers of a block or a single value, for comparisons. */
function firstNumber(v: DataValue | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return firstNumber(v[0] as DataValue);
  return undefined;
}

/** "SEQ k: L = n" for each frame of a read whose data field exceeds the declared meter.maxFrameDataLength. */
function oversizedFrames(t: Target, exchanges: readonly { reply?: { frame: { data: Uint8Array } } | undefined }[]): string[] {
  const max = t.profile.meter.maxFrameDataLength;
  const out: string[] = [];
  exchanges.forEach((x, i) => {
    const n = x.reply?.frame.data.length;
    if (n !== undefined && n > max) out.push(`${i === 0 ? 'first frame' : `SEQ ${i}`}: L = ${n}`);
  });
  return out;
}

/** Reads date (04000101) and time (04000102) and returns the meter's instant, or a failure reason. */
async function readMeterInstant(ctx: CheckContext, t: Target): Promise<number> {
  const date = await readValue(t, meterAddress(t), DATE_AND_WEEK);
  const time = await readValue(t, meterAddress(t), TIME_OF_DAY);
  const d = date.value as Record<string, number>;
  const h = time.value as Record<string, number>;
  const fields = { year: d.year!, month: d.month!, day: d.day!, hour: h.hour!, minute: h.minute!, second: h.second! };
  if (!isValidCalendar(fields)) ctx.fail(`meter clock reads ${JSON.stringify(fields)}, which is not a valid instant`);
  return fromCalendar(fields);
}

/** Waits outside the guard band around whole hours before setting time (CLK-05, GAP-07: ±30 s). */
async function waitOutsideHourGuard(t: Target): Promise<void> {
  const c = toCalendar(t.clock.now());
  const secondsIntoHour = c.minute * 60 + c.second;
  if (secondsIntoHour >= 3570) await t.clock.sleep((3600 - secondsIntoHour + 31) * 1000);
  else if (secondsIntoHour < 30) await t.clock.sleep((31 - secondsIntoHour) * 1000);
}


/** The password the declaration gives for `level` or a stronger one (a smaller PA), strongest-but-nearest first. */
function passwordFor(t: Target, level: string): { level: number; value: string } | undefined {
  const want = parseInt(level, 16);
  const entries = Object.entries(t.profile.meter.passwords)
    .map(([l, v]) => ({ level: parseInt(l, 16), value: v.toUpperCase() }))
    .filter((p) => p.level <= want)
    .sort((a, b) => b.level - a.level);
  return entries[0];
}

/**
 * A request the declaration says the meter does not serve: it must be refused with the abnormal
 * reply of `fc` (and error bit `bit` when given), never carried out. `what` names the request.
 */
async function expectRefusal(ctx: CheckContext, t: Target, bytes: Uint8Array, fc: number, what: string, field: string, bit?: { name: ErrorBitName; label: string }): Promise<void> {
  const replies = await probe(t, bytes);
  const fcName = `${fc.toString(16).toUpperCase()}H`;
  if (replies.length === 0) {
    ctx.check(false, `${what} got no reply: with ${field} false it must be refused with the abnormal reply ${(fc | 0xc0).toString(16).toUpperCase()}H`);
    return;
  }
  const m = replies[0]!.message;
  if (m?.kind !== 'errorResponse') {
    ctx.check(false, `${what} was answered with ${describeReply(replies[0]!)} though ${field} is false: the meter does what its declaration says it does not (declare the capability, or refuse it)`);
    return;
  }
  ctx.check(m.functionCode === fc, `${what}: abnormal reply is for function ${m.functionCode.toString(16).toUpperCase()}H, not ${fcName}`);
  if (bit) {
    ctx.check(m.errors.includes(bit.name), `${what}: error word ${m.errorWord.toString(16).padStart(2, '0').toUpperCase()}H lacks ${bit.label} (has: ${m.errors.join(', ') || 'none'})`);
  } else {
    ctx.log(`${what}: refused with error word ${m.errorWord.toString(16).padStart(2, '0').toUpperCase()}H`);
  }
}


/** How long the mains stay off in the power-loss case: well inside Tb (500 ms, PROTOCOLS.md 1.1), so a frame split by it would still be one frame to a UART that kept power. */
const OUTAGE_MS = 100;
/** Margin after the last request byte before the mains are cut: below Td min (20 ms, PROTOCOLS.md 1.1), so the reply is still waiting. */
const CUT_MARGIN_MS = 5;

/** Transmission time of `n` bytes on the master's line (11 bits a character at 8E1), 0 where no line is modelled. */
function transmissionMs(t: Target, n: number): number {
  const line = t.master.line;
  if (!line) return 0;
  const bits = 1 + line.dataBits + (line.parity === 'none' ? 0 : 1) + line.stopBits;
  return (n * bits * 1000) / line.baudRate;
}

/** Writes `bytes` and waits until their last byte has reached the meter (the line time, counted from the start of the write). */
async function writeWhole(t: Target, bytes: Uint8Array): Promise<void> {
  const start = t.clock.now();
  await t.link.write(bytes);
  const left = start + transmissionMs(t, bytes.length) - t.clock.now();
  if (left > 0) await t.clock.sleep(left);
}

/** Runs `act`, then listens until `listenMs` after it ended; returns every byte the meter sent meanwhile. */
async function bytesDuring(t: Target, act: () => Promise<void>, listenMs: number): Promise<Uint8Array> {
  const received: Uint8Array[] = [];
  const onData = (chunk: Uint8Array): void => {
    received.push(chunk);
  };
  await t.master.idle();
  t.link.on('data', onData);
  try {
    await act();
    await t.clock.sleep(listenMs);
  } finally {
    t.link.off('data', onData);
  }
  return concatBytes(...received);
}

// ---------------------------------------------------------------------------------------------

const cases: Case[] = [
  {
    id: 'reading.reply-frame-format',
    requirement: 'DLT645-01',
    title: 'Replies are well-formed frames: 68 A 68 C L DATA CS 16 with a correct checksum',
    reaches: 'any',
    async run(ctx, t) {
      const di = ordinaryIdentifier(t);
      const request = encodeMessage(meterAddress(t), { kind: 'readData', di, extra: new Uint8Array(0) }, { preamble: t.master.preamble });
      const replies = await probe(t, request);
      if (replies.length === 0) {
        // Silence at the declared address: a dead meter is not this requirement's failure; a meter
        // that answers elsewhere (its address in nameplate byte order) is.
        const p = await checkPresence(t, ctx.signal);
        if (p.state === 'silent') return ctx.inconclusive(notAnsweringReason(t, p));
        return ctx.fail(`no reply at all to a read of ${di} at ${meterAddress(t)}${p.state === 'answering' ? '' : `: ${p.hint ?? p.detail}`}`);
      }
      for (const r of replies) {
        const decoded = decodeFrame(r.raw);
        if (!decoded.ok) {
          ctx.check(false, `reply ${toHex(r.raw)} is not a valid frame: ${decoded.error.message} (at byte ${decoded.error.offset})`);
          continue;
        }
        const f = decoded.value.frame;
        ctx.check(f.control.isResponse, `reply control ${f.control.raw.toString(16)} lacks the direction bit D7`);
        ctx.check(f.control.functionCode === 0x11, `reply function ${f.control.functionCode.toString(16)} is not 11H`);
        ctx.check(f.address === meterAddress(t), `reply address ${f.address} is not the meter's address ${meterAddress(t)}${orderHint(t, f.address)}`);
      }
    },
  },
  {
    id: 'reading.read-declared-identifiers',
    requirement: 'DLT645-02',
    title: 'Every declared identifier is readable with the dictionary length, format and plausible values',
    timeoutMs: (t) => budgetFor(t, t.profile.meter.identifiers.length + 8 * t.profile.meter.followUpIdentifiers.length),
    async run(ctx, t) {
      let read = 0;
      let silentInARow = 0;
      const ids = t.profile.meter.identifiers;
      const followUp = new Set(t.profile.meter.followUpIdentifiers);
      /** Identifiers not declared for follow-up that came in several frames. */
      const split: string[] = [];
      /** Identifiers with a frame longer than the declared meter.maxFrameDataLength. */
      const oversized: string[] = [];
      for (const [i, di] of ids.entries()) {
        if (silentInARow === SILENT_READS_BEFORE_CHECK) {
          // Several reads in a row unanswered: a meter that died must not cost every remaining read's retries.
          const p = await checkPresence(t, ctx.signal);
          if (p.state !== 'answering') {
            ctx.check(false, `the meter stopped answering after ${ids[i - silentInARow - 1] ?? 'the start'}: ${ids.length - i} identifier(s) not read (${p.detail})`);
            break;
          }
          silentInARow = 0;
        }
        const def = lookup(di);
        if (!def) {
          ctx.check(false, `${di} is declared but not in the DL/T 645 data dictionary, so its format cannot be checked`);
          continue;
        }
        let payload: Uint8Array;
        try {
          const r = await t.master.readData(meterAddress(t), di);
          payload = r.payload;
          // meter.followUpIdentifiers lists the identifiers whose reply needs follow-up frames: any
          // other one comes in one 91H frame, without the follow-up bit D5 (B1H).
          const over = oversizedFrames(t, r.exchanges);
          if (over.length > 0) oversized.push(`${di} (${over.join(', ')})`);
          if (!followUp.has(di)) {
            const first = r.exchanges[0]?.reply?.frame;
            if (r.exchanges.length !== 1 || first?.control.hasFollowUp === true) {
              split.push(`${di} (${def.name}) in ${r.exchanges.length} frame(s)${first?.control.hasFollowUp ? ', the first with the follow-up bit D5 (B1H)' : ''}`);
            }
          }
        } catch (e) {
          ctx.check(false, `${di} (${def.name}): ${(e as Error).message}`);
          silentInARow = e instanceof TimeoutError ? silentInARow + 1 : 0;
          continue;
        }
        silentInARow = 0;
        read++;
        const decoded = decodeValue(di, payload);
        if (!decoded.ok) {
          ctx.check(false, `${di} (${def.name}): ${payload.length} bytes ${toHex(payload)} — ${decoded.error.message}`);
          continue;
        }
        for (const p of plausibilityProblems(di, decoded.value)) ctx.check(false, `${di} (${def.name}): ${p}`);
      }
      if (oversized.length > 0) {
        const shown = oversized.slice(0, SPLIT_SHOWN).join('; ') + (oversized.length > SPLIT_SHOWN ? `; and ${oversized.length - SPLIT_SHOWN} more` : '');
        ctx.check(false, `${oversized.length} identifier(s) came in frames whose data field exceeds meter.maxFrameDataLength ${t.profile.meter.maxFrameDataLength}: ${shown}`);
      }
      if (split.length > 0) {
        const shown = split.slice(0, SPLIT_SHOWN).join('; ') + (split.length > SPLIT_SHOWN ? `; and ${split.length - SPLIT_SHOWN} more` : '');
        ctx.check(false, `${split.length} identifier(s) not in meter.followUpIdentifiers came in several frames: ${shown} (declare there the identifiers that need follow-up frames)`);
      }
      ctx.measure('identifiers read', read, 'count', { min: t.profile.meter.identifiers.length });
    },
  },
  {
    id: 'reading.read-address-wildcard',
    requirement: 'DLT645-03',
    title: 'Read address (13H) to AAAAAAAAAAAA is answered with the meter\'s own address',
    reaches: 'any',
    applies: (t) =>
      t.profile.meter.capabilities.readAddressWithWildcard ? null : 'meter.capabilities.readAddressWithWildcard is false',
    async run(ctx, t) {
      const request = encodeMessage(WILDCARD_ADDRESS, { kind: 'readAddress' }, { preamble: t.master.preamble });
      const replies = await probe(t, request);
      if (replies.length === 0) return ctx.fail('no reply to 13H sent to the wildcard address');
      const r = replies[0]!;
      if (!r.decoded) return ctx.fail(`reply is not a valid frame: ${r.error}`);
      const m = r.message;
      ctx.check(m?.kind === 'readAddressResponse', `reply is ${describeReply(r)}, not a read-address reply (93H)`);
      ctx.check(
        replyAddressOf(r) === meterAddress(t),
        `reply frame address is ${replyAddressOf(r)}, not the meter's own ${meterAddress(t)}${orderHint(t, r.address)}`,
      );
      if (m?.kind === 'readAddressResponse') {
        const said = orderHint(t, r.address) !== '' && r.address === m.address; // the hint is already in the reason
        ctx.check(m.address === meterAddress(t), `address in the reply data is ${m.address}, declared ${meterAddress(t)}${said ? '' : orderHint(t, m.address)}`);
      }
    },
  },
  {
    id: 'reading.read-with-wildcard',
    requirement: 'DLT645-03',
    title: 'A read (11H) sent to the wildcard address is answered with the meter\'s own address',
    reaches: 'any',
    applies: (t) => (t.profile.meter.capabilities.readWithWildcard ? null : 'meter.capabilities.readWithWildcard is false'),
    async run(ctx, t) {
      const di = ordinaryIdentifier(t);
      const request = encodeMessage(WILDCARD_ADDRESS, { kind: 'readData', di, extra: new Uint8Array(0) }, { preamble: t.master.preamble });
      const replies = await probe(t, request);
      if (replies.length === 0) return ctx.fail(`no reply to a read of ${di} sent to the wildcard address`);
      const r = replies[0]!;
      if (!r.decoded) return ctx.fail(`reply is not a valid frame: ${r.error}`);
      ctx.check(
        replyAddressOf(r) === meterAddress(t),
        `reply address is ${replyAddressOf(r)}, not the meter's own ${meterAddress(t)}` +
          (replyAddressOf(r) === WILDCARD_ADDRESS ? ' (the meter echoes the wildcard)' : orderHint(t, r.address)),
      );
      ctx.check(r.message?.kind === 'readDataResponse', `reply is ${describeReply(r)}, not a normal read reply (91H)`);
    },
  },
  {
    id: 'reading.broadcast-time-sync',
    requirement: 'DLT645-09',
    title: 'Broadcast time sync (08H) sets the meter clock within tolerance',
    applies: (t) =>
      t.profile.meter.capabilities.broadcastTimeSync
        ? requireDeclared(t, DATE_AND_WEEK, 'reading the clock') ?? requireDeclared(t, TIME_OF_DAY, 'reading the clock')
        : 'meter.capabilities.broadcastTimeSync is false',
    // Up to 61 s outside the hour's guard band, then a handful of reads.
    timeoutMs: (t) => 61_000 + budgetFor(t, 8),
    async run(ctx, t) {
      const tolerance = t.profile.limits?.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S;
      await waitOutsideHourGuard(t);
      const before = await readMeterInstant(ctx, t);
      ctx.measure('clock error before sync', Math.abs(before - t.clock.now()) / 1000, 's', {});
      const now = toCalendar(t.clock.now());
      ctx.log(`broadcast time sync to ${formatCalendar(now)} (UTC+8)`);
      await t.master.broadcastTimeSync(now);
      const after = await readMeterInstant(ctx, t);
      const error = Math.abs(after - t.clock.now()) / 1000;
      ctx.measure('clock error after sync', error, 's', { max: tolerance });
    },
  },
  {
    id: 'reading.broadcast-not-answered',
    requirement: 'DLT645-04',
    title: 'Frames sent to the broadcast address 999999999999 are never answered',
    async run(ctx, t) {
      const now = toCalendar(t.clock.now());
      const request = encodeMessage(BROADCAST_ADDRESS, { kind: 'broadcastTimeSync', time: now }, { preamble: t.master.preamble });
      await expectNoReply(ctx, t, request, 'a broadcast time sync');
      const read = encodeMessage(BROADCAST_ADDRESS, { kind: 'readData', di: ordinaryIdentifier(t), extra: new Uint8Array(0) }, { preamble: t.master.preamble });
      await expectNoReply(ctx, t, read, 'a read sent to the broadcast address');
    },
  },
  {
    id: 'reading.freeze',
    requirement: 'DLT645-10',
    title: 'Freeze (16H) then the frozen time and energy are readable and consistent',
    applies: freezeGate,
    async run(ctx, t) {
      const address = meterAddress(t);
      const { time: timeDi, energy: energyDi } = t.profile.meter.freezeIdentifiers;
      // The freeze is stamped with the meter's own clock: compare with that when it is readable,
      // else with the harness clock (a meter whose clock is off then shows it here too).
      const clockReadable = !requireDeclared(t, DATE_AND_WEEK, '') && !requireDeclared(t, TIME_OF_DAY, '');
      const commandAt = clockReadable ? await readMeterInstant(ctx, t) : t.clock.now();
      await t.master.freeze(address, { minute: 'any', hour: 'any', day: 'any', month: 'any' });
      const frozenTime = (await readValue(t, address, timeDi)).value as Record<string, number>;
      const at = fromCalendar({
        year: frozenTime.year ?? 2000,
        month: frozenTime.month ?? 1,
        day: frozenTime.day ?? 1,
        hour: frozenTime.hour ?? 0,
        minute: frozenTime.minute ?? 0,
        second: frozenTime.second ?? 0,
      });
      // The freeze time has minute resolution (YYMMDDhhmm): allow the minute plus the clock tolerance.
      const tolerance = (t.profile.limits?.clockToleranceS ?? DEFAULT_CLOCK_TOLERANCE_S) + 60;
      ctx.measure(`freeze time offset from the ${clockReadable ? 'meter' : 'harness'} clock`, Math.abs(at - commandAt) / 1000, 's', { max: tolerance });
      const frozen = firstNumber((await readValue(t, address, energyDi)).value);
      ctx.check(frozen !== undefined, `${energyDi} did not decode to an energy value`);
      if (t.profile.meter.identifiers.includes(FORWARD_ACTIVE_TOTAL) && frozen !== undefined) {
        const current = firstNumber((await readValue(t, address, FORWARD_ACTIVE_TOTAL)).value)!;
        ctx.check(frozen <= current, `frozen forward active total ${frozen} kWh exceeds the current register ${current} kWh`);
        ctx.check(frozen >= 0, `frozen forward active total ${frozen} kWh is negative`);
      }
    },
  },
  {
    id: 'reading.follow-up',
    requirement: 'DLT645-06',
    title: 'Long items are read completely through follow-up frames (12H) with consecutive SEQ',
    applies: (t) => {
      if (!t.profile.meter.capabilities.followUp) return 'meter.capabilities.followUp is false';
      if (t.profile.meter.followUpIdentifiers.length === 0) return 'meter.followUpIdentifiers is empty';
      return null;
    },
    timeoutMs: (t) => Math.max(DEFAULT_CASE_TIMEOUT_MS, budgetFor(t, 10 * t.profile.meter.followUpIdentifiers.length)),
    async run(ctx, t) {
      const frameCounts: number[] = [];
      for (const di of t.profile.meter.followUpIdentifiers) {
        let result;
        try {
          result = await t.master.readData(meterAddress(t), di);
        } catch (e) {
          ctx.check(false, `${di}: ${(e as Error).message}`);
          continue;
        }
        const frames = result.exchanges.length;
        frameCounts.push(frames);
        ctx.check(frames >= 2, `${di}: delivered in ${frames} frame(s), declared as needing follow-up frames`);
        const first = result.exchanges[0]?.reply?.frame;
        ctx.check(first?.control.hasFollowUp === true, `${di}: the first reply does not set the follow-up bit D5`);
        const seqs = result.exchanges.slice(1).map((x) => (x.reply?.message.kind === 'readFollowUpResponse' ? x.reply.message.seq : -1));
        seqs.forEach((s, i) => ctx.check(s === i + 1, `${di}: follow-up reply ${i + 1} carries SEQ ${s}, expected ${i + 1}`));
        for (const o of oversizedFrames(t, result.exchanges)) ctx.check(false, `${di}: ${o}, above meter.maxFrameDataLength ${t.profile.meter.maxFrameDataLength}`);
        const def = lookup(di);
        if (def) {
          const decoded = decodeValue(di, result.payload);
          ctx.check(decoded.ok, `${di}: reassembled ${result.payload.length} bytes do not decode: ${decoded.ok ? '' : decoded.error.message}`);
        }
      }
      ctx.measure('items read through follow-up frames', frameCounts.filter((n) => n >= 2).length, 'count', {
        min: t.profile.meter.followUpIdentifiers.length,
      });
      if (frameCounts.length > 0) ctx.measure('frames per item (max)', Math.max(...frameCounts), 'count', {});
    },
  },
  {
    id: 'reading.unsupported-identifier',
    requirement: 'DLT645-05',
    title: 'An unsupported identifier gets the abnormal reply D1H with error bit 1 "no requested data"',
    async run(ctx, t) {
      const di = t.profile.meter.unsupportedIdentifier;
      const request = encodeMessage(meterAddress(t), { kind: 'readData', di, extra: new Uint8Array(0) }, { preamble: t.master.preamble });
      const replies = await probe(t, request);
      if (replies.length === 0) return ctx.fail(`no reply to a read of the unsupported identifier ${di}`);
      const m = replies[0]!.message;
      if (m?.kind === 'readDataResponse') {
        return ctx.fail(
          `${di} (meter.unsupportedIdentifier) was answered with data ${toHex(m.payload)}, not the abnormal reply D1H: ` +
            `if the meter does support ${di}, set meter.unsupportedIdentifier in the target profile to an identifier it does not support`,
        );
      }
      if (m?.kind !== 'errorResponse') return ctx.fail(`${di} was answered with ${describeReply(replies[0]!)}, not the abnormal reply D1H`);
      ctx.check(m.functionCode === 0x11, `abnormal reply is for function ${m.functionCode.toString(16)}H, not 11H`);
      ctx.check(m.errors.includes('noRequestedData'), `error word ${m.errorWord.toString(16).padStart(2, '0')}H lacks bit 1 "no requested data" (has: ${m.errors.join(', ') || 'none'})`);
    },
  },
  {
    id: 'reading.wrong-password',
    requirement: 'DLT645-11',
    title: 'A write (14H) with a wrong password is refused with error bit 2 and changes nothing',
    applies: (t) =>
      t.profile.meter.capabilities.writeData
        ? requireDeclared(t, t.profile.meter.writableIdentifier, 'meter.writableIdentifier')
        : 'meter.capabilities.writeData is false',
    async run(ctx, t) {
      const address = meterAddress(t);
      const di = t.profile.meter.writableIdentifier;
      const before = (await t.master.readData(address, di)).payload;
      const declared = Object.entries(t.profile.meter.passwords);
      const [level, real] = declared.find(([l]) => l === '02') ?? declared[0] ?? ['02', undefined];
      // A wrong password: every digit of the declared one changed; 'FFFFFF' when none is declared.
      const wrong = real ? [...real].map((c) => ((parseInt(c, 16) + 1) % 10).toString()).join('') : 'FFFFFF';
      const message: Dlt645Message = {
        kind: 'writeData',
        di,
        password: { level: parseInt(level, 16), value: wrong },
        operator: t.profile.meter.operatorCode,
        payload: before,
      };
      const replies = await probe(t, encodeMessage(address, message, { preamble: t.master.preamble }));
      if (replies.length === 0) return ctx.fail('no reply to a write with a wrong password');
      const m = replies[0]!.message;
      if (m?.kind !== 'errorResponse') return ctx.fail(`the write was answered with ${describeReply(replies[0]!)}, not the abnormal reply D4H`);
      ctx.check(
        m.errors.includes('passwordErrorOrUnauthorised'),
        `error word ${m.errorWord.toString(16).padStart(2, '0')}H lacks bit 2 "password error / unauthorised" (has: ${m.errors.join(', ') || 'none'})`,
      );
      const after = (await t.master.readData(address, di)).payload;
      ctx.check(toHex(after) === toHex(before), `${di} changed from ${toHex(before)} to ${toHex(after)} after a refused write`);
    },
  },
  {
    id: 'reading.bad-frames-ignored',
    requirement: 'DLT645-07',
    title: 'Frames with a bad checksum, another address, a truncated body or the reply direction bit get no reply',
    async run(ctx, t) {
      const address = meterAddress(t);
      // Each probe is preceded by an answered read and followed by one (DLT645-07: the meter still
      // answers the next valid request), and carries no spurious 68H/16H (that is DLT645-14's).
      const bad = badChecksumRead(t);
      await expectNoReply(ctx, t, bad.frame, `a read of ${bad.di} with a wrong checksum ${toHex(bad.frame.subarray(-2, -1))}H`);
      // Another meter's address: last digit changed.
      const other = address.slice(0, 11) + ((Number(address[11]) + 1) % 10).toString();
      const foreign = encodeMessage(other, { kind: 'readData', di: ordinaryIdentifier(t), extra: new Uint8Array(0) }, { preamble: t.master.preamble });
      await expectNoReply(ctx, t, foreign, `a read addressed to ${other}`);
      // Truncated body: L says 4 but only 3 data bytes follow; CS recomputed over what is sent.
      const truncated = truncatedRead(t);
      await expectNoReply(ctx, t, truncated.frame, `a read of ${truncated.di} whose body is one byte shorter than L`);
      // A reply (D7 = 1) to the meter's address with an undecodable data field: not a request at all.
      await expectNoReply(ctx, t, replyDirectionFrame(t), 'a frame with the direction bit D7 set (C = 91H) and a 2-byte data field, addressed to the meter');
    },
  },
  {
    id: 'reading.spurious-framing-bytes',
    requirement: 'DLT645-14',
    title: 'After a frame carrying a spurious 68H or 16H the meter still answers the next valid request',
    async run(ctx, t) {
      const probes: [string, Uint8Array][] = [];
      for (const [cs, name] of [
        [START, 'a spurious start character'],
        [END, 'a spurious end character'],
      ] as const) {
        const r = readWithChecksum(t, cs);
        if (r) probes.push([`a read of ${r.di} whose wrong checksum byte is ${toHex(Uint8Array.of(cs))}H (${name})`, r.frame]);
        else ctx.log(`no declared read has a right checksum other than ${toHex(Uint8Array.of(cs))}H and a clean body: that probe is skipped`);
      }
      const other = SPURIOUS_FRAMING_ADDRESS === meterAddress(t) ? '000000006816' : SPURIOUS_FRAMING_ADDRESS;
      probes.push([
        `a valid read of ${SPURIOUS_FRAMING_DI} for meter ${other} (68H and 16H in its address and data)`,
        encodeMessage(other, { kind: 'readData', di: SPURIOUS_FRAMING_DI, extra: new Uint8Array(0) }, { preamble: t.master.preamble }),
      ]);
      for (const [what, bytes] of probes) await expectRecovery(ctx, t, bytes, what);
    },
  },
  {
    id: 'reading.preamble-and-noise',
    requirement: 'ROB-02',
    title: 'Requests with 0 to 4 FE bytes, or line noise before 68H, are answered',
    async run(ctx, t) {
      const address = meterAddress(t);
      const di = ordinaryIdentifier(t);
      const frame = encodeMessage(address, { kind: 'readData', di, extra: new Uint8Array(0) }, { preamble: 0 });
      const variants: [string, Uint8Array][] = [
        ['no FE', frame],
        ['one FE', concatBytes(Uint8Array.of(0xfe), frame)],
        ['four FE', concatBytes(Uint8Array.of(0xfe, 0xfe, 0xfe, 0xfe), frame)],
        ['noise 00 55 then FE FE', concatBytes(Uint8Array.of(0x00, 0x55, 0xfe, 0xfe), frame)],
      ];
      for (const [label, bytes] of variants) {
        const replies = await probe(t, bytes);
        const ok = replies.some((r) => r.message?.kind === 'readDataResponse');
        ctx.check(ok, `request with ${label} was not answered with a read reply (${replies.length ? describeReply(replies[0]!) : 'silence'})`);
      }
    },
  },
  {
    id: 'reading.response-delay',
    requirement: 'DLT645-08',
    title: `Response delay Td stays within 20..500 ms over ${RESPONSE_DELAY_SAMPLES} reads`,
    async run(ctx, t) {
      const limits = t.profile.limits?.responseDelayMs ?? DEFAULT_RESPONSE_DELAY_LIMITS;
      const di = ordinaryIdentifier(t);
      const delays: number[] = [];
      let unpaced = 0;
      for (let i = 0; i < RESPONSE_DELAY_SAMPLES; i++) {
        const r = await t.master.readData(meterAddress(t), di);
        const x = r.exchanges[0];
        if (x?.responseDelayMs !== undefined) delays.push(x.responseDelayMs);
        if (x?.timing === 'unpaced') unpaced++;
      }
      if (unpaced > 0) {
        ctx.log(`${unpaced} of ${RESPONSE_DELAY_SAMPLES} replies arrived sooner than the line could carry them: the link does not pace bytes (a pseudo-terminal or virtual COM port), so Td is taken from delivery instants`);
      }
      if (delays.length === 0) ctx.fail('no response delay could be measured');
      delays.sort((a, b) => a - b);
      const median = delays[Math.floor(delays.length / 2)]!;
      if (t.kind === 'tcp') {
        // Through a TCP serial server the network can only lengthen Td: a measured Td is an upper
        // bound of the meter's. Below the minimum is therefore certain (a failure); within or above
        // the limits proves nothing about the minimum (a reply 1 ms after the request looks like
        // 30 ms behind a slow server), so the case cannot certify and says why.
        const fastest = delays[0]!;
        ctx.measure('Td min', fastest, 'ms', { min: limits.min });
        ctx.measure('Td median', median, 'ms', { min: limits.min, max: limits.max }, { enforce: false });
        ctx.measure('Td max', delays[delays.length - 1]!, 'ms', { min: limits.min, max: limits.max }, { enforce: false });
        if (fastest < limits.min) return; // failed by the enforced Td min: network latency cannot explain it
        const above = delays[delays.length - 1]! > limits.max;
        ctx.inconclusive(
          above
            ? `Td through a TCP serial server reaches ${delays[delays.length - 1]!.toFixed(1)} ms, above ${limits.max} ms, but network latency adds to it; measure on a serial port to certify`
            : `Td through a TCP serial server (median ${median.toFixed(1)} ms) is within ${limits.min}..${limits.max} ms, but network latency may hide a reply faster than ${limits.min} ms; measure on a serial port to certify`,
        );
      }
      ctx.measure('Td min', delays[0]!, 'ms', { min: limits.min, max: limits.max });
      ctx.measure('Td median', median, 'ms', { min: limits.min, max: limits.max });
      ctx.measure('Td max', delays[delays.length - 1]!, 'ms', { min: limits.min, max: limits.max });
    },
  },
  {
    id: 'reading.declaration-consistency',
    requirement: 'DLT645-12',
    title: 'What the meter reports about itself matches its declaration (address, meter type)',
    async run(ctx, t) {
      const address = meterAddress(t);
      if (t.profile.meter.identifiers.includes(COMM_ADDRESS)) {
        const v = (await readValue(t, address, COMM_ADDRESS)).value;
        ctx.check(v === address, `communication address register ${COMM_ADDRESS} reads ${String(v)}, declared ${address}`);
      }
      if (t.profile.meter.capabilities.readAddressWithWildcard) {
        const a = await t.master.readAddress();
        ctx.check(a === address, `read address (13H) returns ${a}, declared ${address}${orderHint(t, a)}`);
      }
      if (t.profile.meter.identifiers.includes(STATUS_WORD_3)) {
        const word = (await readValue(t, address, STATUS_WORD_3)).value;
        if (typeof word === 'number') {
          const meterType = (word >> 8) & 0x03; // PROTOCOLS.md 1.8 bits 8-9: 00 non-prepaid, 01 energy, 10 money
          const prepaidDeclared = t.profile.meter.identifiers.some((d) => d.startsWith('0090'));
          if (prepaidDeclared) {
            ctx.check(meterType !== 0, `prepaid identifiers (0090xxxx) are declared but status word 3 says a non-prepaid meter (bits 8-9 = 00)`);
          }
        }
      }
    },
  },
  {
    id: 'reading.undeclared-refused',
    requirement: 'DLT645-12',
    title: 'What the declaration turns off is refused: wildcard reads get silence; on a simulated meter, 14H, 16H and 18H get their abnormal reply',
    applies: (t) => {
      const caps = t.profile.meter.capabilities;
      if (t.kind !== 'reference') {
        if (!caps.readWithWildcard || !caps.readAddressWithWildcard) return null;
        return 'meter.capabilities declares readWithWildcard and readAddressWithWildcard true (on a real meter writeData, freeze or changePassword false means "not claimed", not "refused")';
      }
      const off = (['readWithWildcard', 'readAddressWithWildcard', 'writeData', 'freeze', 'changePassword'] as const).filter((c) => !caps[c]);
      return off.length > 0 ? null : 'meter.capabilities declares readWithWildcard, readAddressWithWildcard, writeData, freeze and changePassword all true';
    },
    async run(ctx, t) {
      const caps = t.profile.meter.capabilities;
      const address = meterAddress(t);
      const di = ordinaryIdentifier(t);
      const preamble = { preamble: t.master.preamble };
      // Through the wildcard only this meter's answer counts (its address, or the same in nameplate
      // byte order, or the wildcard echoed): another meter on the bus may answer and is not judged.
      const own = (r: { address?: string }): boolean =>
        r.address === undefined || r.address === address || r.address === WILDCARD_ADDRESS || byteOrderHint(r.address, address) !== '';
      if (!caps.readWithWildcard) {
        // PROTOCOLS.md 1.4: a wildcard request is served only by a meter that supports it; one that declares it does not stays silent.
        await expectNoReply(ctx, t, encodeMessage(WILDCARD_ADDRESS, { kind: 'readData', di, extra: new Uint8Array(0) }, preamble), `a read of ${di} sent to AAAAAAAAAAAA (meter.capabilities.readWithWildcard false)`, own);
        await expectNoReply(ctx, t, encodeMessage(WILDCARD_ADDRESS, { kind: 'readFollowUp', di, seq: 1 }, preamble), `a follow-up read (12H) of ${di} sent to AAAAAAAAAAAA (meter.capabilities.readWithWildcard false)`, own);
      }
      if (!caps.readAddressWithWildcard) {
        await expectNoReply(ctx, t, encodeMessage(WILDCARD_ADDRESS, { kind: 'readAddress' }, preamble), 'a read address (13H) sent to AAAAAAAAAAAA (meter.capabilities.readAddressWithWildcard false)', own);
      }
      if (t.kind !== 'reference') {
        // On a real meter a capability declared false means "not claimed": discover's draft leaves
        // writeData and freeze false because it only reads, and changePassword defaults to false.
        // A meter that does more than its profile claims is not failed for it.
        ctx.log('14H/16H/18H refusals not checked: on a real meter a capability declared false means "not claimed", not "refused" (checked on simulated targets, whose declaration is the simulator\'s own)');
        return;
      }
      const unauthorised = { name: 'passwordErrorOrUnauthorised' as const, label: 'bit 2 "password error / unauthorised"' };
      if (!caps.writeData) {
        // The right password and the value the meter holds: a meter that wrongly accepts it changes nothing.
        const wdi = t.profile.meter.writableIdentifier;
        const password = passwordFor(t, t.profile.meter.passwordLevels.writeData);
        if (!t.profile.meter.identifiers.includes(wdi)) ctx.log(`14H probe skipped: meter.writableIdentifier ${wdi} is not declared, so its value cannot be read to write it back`);
        else if (!password) ctx.log(`14H probe skipped: meter.passwords has no password of level ${t.profile.meter.passwordLevels.writeData} or stronger`);
        else {
          const before = (await t.master.readData(address, wdi)).payload;
          const write: Dlt645Message = { kind: 'writeData', di: wdi, password, operator: t.profile.meter.operatorCode, payload: before };
          await expectRefusal(ctx, t, encodeMessage(address, write, preamble), 0x14, `a write (14H) of ${wdi} with the level-${password.level.toString(16).padStart(2, '0')} password`, 'meter.capabilities.writeData', unauthorised);
        }
      }
      if (!caps.freeze) {
        const freeze: Dlt645Message = { kind: 'freeze', minute: 'any', hour: 'any', day: 'any', month: 'any' };
        await expectRefusal(ctx, t, encodeMessage(address, freeze, preamble), 0x16, 'a freeze (16H)', 'meter.capabilities.freeze');
      }
      if (!caps.changePassword) {
        // The right old password and the same one as the new: a meter that wrongly accepts it changes nothing.
        const declared = Object.entries(t.profile.meter.passwords).sort(([a], [b]) => a.localeCompare(b))[0];
        if (!declared) ctx.log('18H probe skipped: meter.passwords declares none');
        else {
          const level = parseInt(declared[0], 16);
          const password = { level, value: declared[1].toUpperCase() };
          // 04000C01 names level 0 ... 04000C0A level 9 (PROTOCOLS.md 1.9).
          const pdi = `04000C${(level + 1).toString(16).toUpperCase().padStart(2, '0')}`;
          const change: Dlt645Message = { kind: 'changePassword', di: pdi, oldPassword: password, newPassword: password };
          await expectRefusal(ctx, t, encodeMessage(address, change, preamble), 0x18, `a password change (18H) of ${pdi} with the right old password`, 'meter.capabilities.changePassword', unauthorised);
        }
      }
      // The meter still answers after the last refusal (a refusal is no reason to stop).
      await readValue(t, address, di);
    },
  },
  {
    id: 'reading.power-loss',
    requirement: 'DLT645-07',
    title: 'Mains cut: a reply waiting out Td is never sent, a request split by the cut or sent during it is not answered, and the meter answers once the mains return',
    applies: (t) =>
      t.backchannel
        ? null
        : 'needs the target backchannel to cut the meter\'s mains (a simulated meter); MeterLab does not switch a real meter\'s supply',
    async run(ctx, t) {
      const bc = t.backchannel!;
      const address = meterAddress(t);
      const di = ordinaryIdentifier(t);
      const request = encodeMessage(address, { kind: 'readData', di, extra: new Uint8Array(0) }, { preamble: t.master.preamble });
      const hex = (b: Uint8Array): string => (b.length > 0 ? toHex(b) : '');
      await readValue(t, address, di); // the meter answers before
      try {
        // 1. The whole request reaches the meter, the mains go while its reply waits out Td (>= 20 ms).
        const pending = await bytesDuring(
          t,
          async () => {
            await writeWhole(t, request);
            await t.clock.sleep(CUT_MARGIN_MS);
            bc.cutMains();
          },
          silenceWindowMs(t),
        );
        bc.restoreMains();
        ctx.check(pending.length === 0, `a read of ${di} whose reply was waiting out Td when the mains were cut was answered without mains: ${hex(pending)}`);
        await readValue(t, address, di).catch((e: Error) => ctx.fail(`the meter stopped answering after its mains returned: ${e.message}`));
        // 2. Half the request, the mains off for ${OUTAGE_MS} ms, then the other half (within Tb): the first half died with the UART.
        const cut = Math.floor(request.length / 2);
        const spliced = await bytesDuring(
          t,
          async () => {
            await writeWhole(t, request.subarray(0, cut));
            bc.cutMains();
            await t.clock.sleep(OUTAGE_MS);
            bc.restoreMains();
            await writeWhole(t, request.subarray(cut));
          },
          silenceWindowMs(t),
        );
        ctx.check(spliced.length === 0, `a read of ${di} whose first ${cut} bytes arrived before a ${OUTAGE_MS} ms mains cut and the rest after it was answered: ${hex(spliced)}`);
        // 3. A whole request sent while the mains are off, the mains back just after its last byte (before any Td ends): nobody heard it.
        const unheard = await bytesDuring(
          t,
          async () => {
            bc.cutMains();
            await writeWhole(t, request);
            await t.clock.sleep(CUT_MARGIN_MS);
            bc.restoreMains();
          },
          silenceWindowMs(t),
        );
        ctx.check(unheard.length === 0, `a read of ${di} sent while the mains were off (restored ${CUT_MARGIN_MS} ms after its last byte) was answered: ${hex(unheard)}`);
      } finally {
        bc.restoreMains();
      }
      await readValue(t, address, di).catch((e: Error) => ctx.fail(`the meter stopped answering after its mains returned: ${e.message}`));
    },
  },
];

/**
 * The reading suite: every case runs in `asReadingCase` (probe.ts): a dead meter makes it
 * inconclusive, meter faults (no reply, undecodable data) fail it with the reason, its frames are
 * attached as evidence.
 */
export const readingCases: ConformanceCase<Target>[] = cases.map(asReadingCase);
