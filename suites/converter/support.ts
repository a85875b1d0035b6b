/**
 * What every converter case shares: the target's masters (`masters.converter`: CJ/T 188 and DL/T 645
 * on the converter's RS-485 side), its declaration (archive, limits), one read of an archived meter
 * through the converter with everything a case judges (request and reply bytes, response delay),
 * and, on a reference target, the downstream view the backchannel gives (what reached the meter and
 * what it sent, with instants).
 *
 * Cases talk to the device only through the masters; the backchannel is read, never driven, except
 * to let a battery meter fall asleep (time passes) and to read a meter's own model for comparison.
 */
import { toHex } from '../../harness/core/bytes.ts';
import { characterTimeMs } from '../../harness/links/link.ts';
import { AbnormalReplyError, NoReplyError } from '../../harness/masters/errors.ts';
import { METER_TYPE_OF, type Cjt188Status, type Cjt188Value } from '../../harness/protocols/cjt188/index.ts';
import type { ConverterArchiveEntry, ConverterDeclaration } from '../../harness/protocols/converter/index.ts';
import type { ConverterMasters, HopFrame, InterfaceConverterBackchannel, SimulatedArchiveMeter } from '../../harness/targets/converter-protocol.ts';
import type { DeviceTarget } from '../../harness/targets/index.ts';
import type { CheckContext } from '../framework/case.ts';

export type ConverterTarget = DeviceTarget;

/** CJ/T 188 meter type T of an archived water or gas meter (PROTOCOLS.md 2.2; the CJ/T 188 declaration's map). */
export const METER_TYPE: Readonly<Record<Exclude<ConverterArchiveEntry['meter'], 'electricity'>, number>> = METER_TYPE_OF;

/** DL/T 645 identifier read from an electricity meter behind the converter: total forward active energy (PROTOCOLS.md 1.9). */
export const DLT645_READ_DI = '00010000';
/** CJ/T 188 identifier read from a water or gas meter: current metering data (PROTOCOLS.md 2.4). */
export const CJT188_READ_DI = '901F';

export function masters(t: ConverterTarget): ConverterMasters {
  const m = t.masters.converter;
  if (!m) throw new Error(`target ${t.profile.name} has no converter masters (device.protocol must be "converter")`);
  return m;
}

export function declaration(t: ConverterTarget): ConverterDeclaration {
  return t.profile.device.declaration as ConverterDeclaration;
}

/** The downstream view of a reference converter, or undefined on a real one. */
export function backchannel(t: ConverterTarget): InterfaceConverterBackchannel | undefined {
  const b = t.backchannel as Partial<InterfaceConverterBackchannel> | undefined;
  return b && Array.isArray(b.meters) && typeof b.meter === 'function' ? (b as InterfaceConverterBackchannel) : undefined;
}

/** Why a case needs the downstream view, for `applies()`. */
export function needsDownstreamView(t: ConverterTarget): string | null {
  return backchannel(t)
    ? null
    : 'needs a view of the converter\'s downstream links (what reached each meter, what it sent): the reference converter\'s backchannel gives it; on a real converter put a sniffer on the downstream link (not supported yet)';
}

export type ReadOutcome =
  | {
      readonly ok: true;
      readonly entry: ConverterArchiveEntry;
      /** The request as written upstream, FE preamble included. */
      readonly request: Uint8Array;
      /** The reply as received upstream, preamble included. */
      readonly reply: Uint8Array;
      /** Response delay seen upstream: end of request to first reply byte, ms. */
      readonly responseDelayMs: number;
      readonly sentAt: number;
      readonly replyAt: number;
      /** CJ/T 188 reads: the decoded value and status. */
      readonly value?: Cjt188Value;
      readonly status?: Cjt188Status;
    }
  | { readonly ok: false; readonly entry: ConverterArchiveEntry; readonly silent: boolean; readonly reason: string };

/** One read of an archived meter through the converter (901F, or DL/T 645 00010000). Never throws for silence or a refusal. */
export async function readThrough(t: ConverterTarget, entry: ConverterArchiveEntry, options: { readonly attempts?: number } = {}): Promise<ReadOutcome> {
  const m = masters(t);
  const opts = options.attempts !== undefined ? { attempts: options.attempts } : {};
  try {
    if (entry.protocol === 'dlt645') {
      const r = await m.dlt645.readData(entry.address, DLT645_READ_DI, opts);
      const x = r.exchanges[0]!;
      return { ok: true, entry, request: x.request, reply: x.reply!.raw, responseDelayMs: x.responseDelayMs ?? NaN, sentAt: x.sentAt, replyAt: x.replyAt ?? NaN };
    }
    const r = await m.cjt188.readData(METER_TYPE[entry.meter as keyof typeof METER_TYPE], entry.address, CJT188_READ_DI, opts);
    const x = r.exchange;
    return {
      ok: true,
      entry,
      request: x.request,
      reply: x.reply!.raw,
      responseDelayMs: x.responseDelayMs ?? NaN,
      sentAt: x.sentAt,
      replyAt: x.replyAt ?? NaN,
      value: r.value,
      ...(r.status ? { status: r.status } : {}),
    };
  } catch (e) {
    if (e instanceof NoReplyError) return { ok: false, entry, silent: true, reason: `no reply from ${entry.address} (${entry.protocol}) through the converter` };
    if (e instanceof AbnormalReplyError) return { ok: false, entry, silent: false, reason: (e as Error).message };
    throw e;
  }
}

/** A frame from its 68H on (the FE preamble stripped): what transparent forwarding keeps byte for byte. */
export function frameBody(bytes: Uint8Array): Uint8Array {
  const i = bytes.indexOf(0x68);
  return i < 0 ? bytes : bytes.subarray(i);
}

/** What the meter received and sent for one exchange seen upstream (the last round before the reply came up). */
export interface DownstreamRound {
  readonly meter: SimulatedArchiveMeter;
  readonly toMeter: HopFrame;
  readonly fromMeter: HopFrame;
  /** The meter's own response delay: its reply began this long after the request reached it, ms. */
  readonly meterDelayMs: number;
  /** Downstream rounds the meter saw for this exchange (more than one: the converter retried). */
  readonly rounds: number;
}

export function downstreamRound(b: InterfaceConverterBackchannel, r: Extract<ReadOutcome, { ok: true }>): DownstreamRound | null {
  const meter = b.meter(r.entry.address);
  if (!meter) return null;
  const within = meter.traffic.filter((f) => f.at >= r.sentAt && f.at <= r.replyAt);
  const fromMeter = within.filter((f) => f.direction === 'from-meter').at(-1);
  if (!fromMeter) return null;
  const toMeter = within.filter((f) => f.direction === 'to-meter' && f.at <= fromMeter.at).at(-1);
  if (!toMeter) return null;
  return { meter, toMeter, fromMeter, meterDelayMs: fromMeter.at - toMeter.at, rounds: within.filter((f) => f.direction === 'from-meter').length };
}

/** Preamble bytes (FE for CJ/T 188 and DL/T 645, 55H for MLGW) in front of a frame on a hop, and their air time. */
export function preambleOnHop(meter: SimulatedArchiveMeter, frame: HopFrame): { bytes: number; ms: number } {
  const fill = meter.entry.protocol === 'mlgw' ? 0x55 : 0xfe;
  let n = 0;
  while (n < frame.bytes.length && frame.bytes[n] === fill) n++;
  return { bytes: n, ms: n * characterTimeMs(meter.hop.line) };
}

/** Hex with a length, for evidence. */
export function hexLine(label: string, bytes: Uint8Array): string {
  return `${label} (${bytes.length} bytes): ${toHex(bytes)}`;
}

/**
 * A case that saw only silence from the converter cannot tell a broken converter from a dead one:
 * read each archived awake meter once; if none answers, the case is inconclusive.
 */
export async function inconclusiveIfDead(ctx: CheckContext, t: ConverterTarget, what: string): Promise<void> {
  const awake = declaration(t).archive.filter((e) => !e.sleeps);
  for (const e of awake) {
    const r = await readThrough(t, e);
    if (r.ok || !r.silent) return;
  }
  if (awake.length > 0) ctx.inconclusive(`${what}, and no awake meter of the archive answers either (${awake.map((e) => e.address).join(', ')}): check the converter's wiring, line settings and archive`);
}
