/**
 * M-Bus (EN 13757-2/-3) as a target protocol (harness/targets/protocols.ts): the declaration
 * (harness/protocols/mbus/declaration.ts), the M-Bus master on the target's link, captures
 * described frame by frame, and the simulated heat meter of a reference target
 * (simulators/heat-meter) built from the declaration, with the broken variants a profile's
 * `connection.defects` names (`MbusDefectSchema`).
 */
import { z } from 'zod';
import type { Describe } from '../links/index.ts';
import { MeterLabError } from '../core/errors.ts';
import { MbusMaster } from '../masters/mbus-master.ts';
import { MbusCollisionError, MbusNoReplyError } from '../masters/mbus-errors.ts';
import { ADDRESS_BROADCAST_REPLY, MbusDeclarationSchema, MbusFrameScanner, decodeLongFrameApplication, describeFrame, manufacturerValue, type MbusDeclaration } from '../protocols/mbus/index.ts';
import { HEAT_RECORD_VIFS, createHeatMeter, shiftedVib, type HeatRecordQuantity, type MbusHeatSlave } from '../../simulators/heat-meter/index.ts';
import { describeByScanner, registerTargetProtocol, type DevicePresence } from './protocols.ts';

declare module './protocols.ts' {
  interface TargetMasters {
    /** The M-Bus master (device.protocol "mbus"). */
    readonly mbus?: MbusMaster;
  }
}

/** One line per capture chunk: every frame described by the codec, other bytes counted with the reason. */
export const describeMbus: Describe = describeByScanner(
  () => new MbusFrameScanner(),
  (e) => describeFrame(e.decoded, decodeLongFrameApplication(e.decoded) ?? undefined),
);

const QUANTITIES = Object.keys(HEAT_RECORD_VIFS) as [HeatRecordQuantity, ...HeatRecordQuantity[]];

/** Whether the dictionary has the VIF a wrong scaling of `quantity` by `decades` would send. */
function shiftable(quantity: HeatRecordQuantity, decades: number): boolean {
  try {
    shiftedVib(quantity, decades);
    return true;
  } catch {
    return false;
  }
}

/**
 * One broken variant of the reference heat meter (a profile's `connection.defects` element), each
 * the field defect a suite case must catch (suites/mbus-reading/README.md).
 */
export const MbusDefectSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('ignore-fcb') }).strict().describe('FCB ignored: a REQ_UD2 repeated with the same FCB gets a new telegram instead of the last one'),
  z.object({ name: z.literal('nke-keeps-fcb') }).strict().describe('SND_NKE acknowledged but the FCB state and last telegram kept: the first read after a reset repeats an old telegram'),
  z.object({ name: z.literal('ignore-selection') }).strict().describe('secondary addressing not implemented: no selection (CI 52) is acknowledged'),
  z.object({ name: z.literal('no-wildcard-selection') }).strict().describe('a selection with wildcards is not answered (only the full secondary address selects): the secondary search never finds the meter'),
  z
    .object({
      name: z.literal('wrong-vif-scaling'),
      quantity: z.enum(QUANTITIES).default('energy'),
      decades: z.number().int().min(-3).max(3).refine((d) => d !== 0, 'must not be 0').default(-1),
      /** Only the current value's record (storage number 0) is sent with the wrong VIF, the stored ones are right. */
      currentOnly: z.boolean().default(false),
    })
    .strict()
    .refine((d) => shiftable(d.quantity, d.decades), { message: 'the M-Bus dictionary has no VIF that far off for this quantity', path: ['decades'] })
    .describe("wrong VIF scaling: the quantity's records (only the current one with currentOnly) carry a VIF `decades` off the right one, the number unchanged"),
  z
    .object({ name: z.literal('wrong-storage-number'), storage: z.number().int().min(1).default(1), sentAs: z.number().int().min(0).default(2) })
    .strict()
    .refine((d) => d.storage !== d.sentAs, { message: 'sentAs must differ from storage', path: ['sentAs'] })
    .describe("a record's storage number wrong: the energy of monthly storage `storage` is sent with storage number `sentAs`"),
]);
export type MbusDefect = z.output<typeof MbusDefectSchema>;

/** Switches the slave's hooks (simulators/heat-meter/mbus-slave.ts) for each defect. */
export function applyMbusDefects(slave: MbusHeatSlave, defects: readonly MbusDefect[]): void {
  for (const d of defects) {
    switch (d.name) {
      case 'ignore-fcb':
        slave.ignoreFcb = true;
        break;
      case 'nke-keeps-fcb':
        slave.nkeKeepsFcb = true;
        break;
      case 'ignore-selection':
        slave.ignoreSelection = true;
        break;
      case 'no-wildcard-selection':
        slave.ignoreWildcardSelection = true;
        break;
      case 'wrong-vif-scaling':
        slave.vifScaling = { quantity: d.quantity, decades: d.decades, currentOnly: d.currentOnly };
        break;
      case 'wrong-storage-number':
        slave.storageNumberFault = { storage: d.storage, sentAs: d.sentAs };
        break;
    }
  }
}

/** Monthly storages the reference meter sends when its declaration names none: MeterLab's choice. */
const DEFAULT_STORAGES = 2;
/** Records of a heat-meter reading before its storages (simulators/heat-meter/mbus-slave.ts `records`). */
const CURRENT_RECORDS = 9;
/** Records per monthly storage: its date, energy and volume. */
const RECORDS_PER_STORAGE = 3;
const DAY_MS = 86_400_000;

/**
 * How the reference heat meter is built from a declaration: as many monthly storages as the
 * highest declared storage number, a counting history long enough for them to exist at the first
 * read (one month more than that, in 31-day months), and its records split evenly over the
 * declared number of telegrams.
 */
export function heatMeterPlan(d: MbusDeclaration): { storages: number; historyMs: number; recordsPerTelegram?: number } {
  const highest = Math.max(0, ...d.records.map((r) => r.storageNumber));
  const storages = highest > 0 ? highest : DEFAULT_STORAGES;
  const total = CURRENT_RECORDS + RECORDS_PER_STORAGE * storages;
  return {
    storages,
    historyMs: (storages + 1) * 31 * DAY_MS,
    ...(d.telegrams !== undefined && d.telegrams > 1 ? { recordsPerTelegram: Math.ceil(total / d.telegrams) } : {}),
  };
}

/**
 * SND_NKE at the declared primary address; when silent, a REQ_UD2 at 254 to see whether it
 * answers elsewhere (one attempt each). The M-Bus suite's liveness and `meterlab run`'s pre-flight use it.
 */
export async function mbusPresence(m: MbusMaster, d: MbusDeclaration): Promise<DevicePresence> {
  const a = d.primaryAddress;
  try {
    await m.sndNke(a, { attempts: 1 });
    return { state: 'answering', detail: `SND_NKE at ${a} answered` };
  } catch (e) {
    if (!(e instanceof MbusNoReplyError || e instanceof MbusCollisionError)) throw e;
  }
  try {
    const r = await m.reqUd2(ADDRESS_BROADCAST_REPLY, { attempts: 1 });
    const seen = (r.exchange.reply!.frame as { address: number }).address;
    return { state: 'misaddressed', detail: `no E5 to SND_NKE at the declared primary address ${a}, but a REQ_UD2 at 254 is answered from primary address ${seen}`, seenAddress: String(seen) };
  } catch (e) {
    if (e instanceof MbusNoReplyError) return { state: 'silent', detail: `no E5 to SND_NKE at ${a} and no reply to REQ_UD2 at 254` };
    if (e instanceof MeterLabError) return { state: 'misaddressed', detail: `no E5 to SND_NKE at ${a}; a REQ_UD2 at 254 gets an unusable reply: ${e.message}` };
    throw e;
  }
}

registerTargetProtocol<MbusDeclaration, MbusMaster, MbusDefect>({
  id: 'mbus',
  title: 'M-Bus (EN 13757-2/-3)',
  kinds: ['heat-meter', 'water-meter'],
  declaration: MbusDeclarationSchema,
  lineOf: (d) => d.line,
  addressOf: (d) => `mbus-${d.primaryAddress}`,
  describe: describeMbus,
  presence: mbusPresence,
  defects: MbusDefectSchema,
  // The reply windows come from EN 13757-2 at the line rate (the master's defaults), not from the
  // profile's DL/T 645-shaped timeout; the attempts are the profile's.
  createMaster: ({ link, clock, settings, line, declaration }) => new MbusMaster({ link, clock, line: line ?? declaration.line, attempts: settings.attempts }),
  createSimulator: ({ declaration, defects, link, clock, seed }) => {
    const s = declaration.secondary;
    const plan = heatMeterPlan(declaration);
    const meter = createHeatMeter({
      link,
      clock,
      seed,
      primaryAddress: declaration.primaryAddress,
      identity: { id: s.id, manufacturer: manufacturerValue(s.manufacturer), version: s.version, medium: s.medium },
      storages: plan.storages,
      countingSince: clock.now() - plan.historyMs,
      ...(plan.recordsPerTelegram !== undefined ? { recordsPerTelegram: plan.recordsPerTelegram } : {}),
    });
    applyMbusDefects(meter.slave, defects);
    return { stop: () => meter.stop(), backchannel: { model: meter.model, slave: meter.slave } };
  },
});
