/**
 * CJ/T 188-2004 as a target protocol (harness/targets/protocols.ts): the declaration
 * (harness/protocols/cjt188/declaration.ts), the CJ/T 188 master on the target's link (with a
 * wake-up preamble longer than the sniff period for a battery meter, MM-06), captures described
 * frame by frame, and the simulated water or gas meter of a reference target
 * (simulators/flow-meter) built from the declaration.
 */
import type { Describe } from '../links/index.ts';
import { Cjt188Master } from '../masters/cjt188-master.ts';
import { MeterLabError, TimeoutError } from '../core/errors.ts';
import { Cjt188DeclarationSchema, Cjt188FrameScanner, METER_TYPE_OF, MeterType, describeFrame, type Cjt188Declaration } from '../protocols/cjt188/index.ts';
import { z } from 'zod';
import { createFlowMeter, type FlowMeter, type FlowMeterModel, type Cjt188FlowMeterResponder } from '../../simulators/flow-meter/index.ts';
import { describeByScanner, registerTargetProtocol, type DevicePresence } from './protocols.ts';

declare module './protocols.ts' {
  interface TargetMasters {
    /** The CJ/T 188 master (device.protocol "cjt188"). */
    readonly cjt188?: Cjt188Master;
  }
}

/** Wake-up preamble beyond the sniff period: 25 % more (MM-06: ≥ 2 s, default 2.5 s for a 2 s period). */
const WAKE_UP_FACTOR = 1.25;

/** One line per capture chunk: every frame described by the codec, other bytes counted with the reason. */
export const describeCjt188: Describe = describeByScanner(
  () => new Cjt188FrameScanner(),
  (e) => describeFrame(e.decoded, e.message),
);

/** The metering data identifier every water and gas meter answers (MM-02, MM-09). */
const METERING_DATA = '901F';

/** A CJ/T 188 answer that was a frame, but a wrong one (the meter is there). */
const isCjt188Answer = (e: unknown): boolean => e instanceof MeterLabError && e.code.startsWith('cjt188');

/**
 * One 901F read at the declared address (with the wake-up the declaration implies), then, when
 * silent, one 03H to AA…AA; one attempt each. The CJ/T 188 suites' liveness and `meterlab run`'s
 * pre-flight use it.
 */
export async function cjt188Presence(master: Cjt188Master, d: Cjt188Declaration): Promise<DevicePresence> {
  const address = d.address;
  try {
    await master.readData(METER_TYPE_OF[d.meter], address, METERING_DATA, { attempts: 1 });
    return { state: 'answering', detail: `901F at ${address} answered` };
  } catch (e) {
    if (!(e instanceof TimeoutError)) {
      if (isCjt188Answer(e)) return { state: 'answering', detail: `901F at ${address} answered: ${(e as Error).message}` };
      throw e;
    }
  }
  try {
    const r = await master.readAddress(MeterType.Any, undefined, { attempts: 1 });
    if (r.address === address) return { state: 'answering', detail: `03H to AA…AA answered by ${address} (901F at it was not)` };
    return { state: 'misaddressed', detail: `no reply to 901F at ${address}; 03H to AA…AA answered by ${r.address}`, seenAddress: r.address };
  } catch (e) {
    if (!(e instanceof TimeoutError) && !isCjt188Answer(e)) throw e;
    return { state: 'silent', detail: `no reply to 901F at ${address} nor to 03H at AA…AA (check wiring, line settings, address and, for a battery meter, device.declaration.sleeps)` };
  }
}

/**
 * The broken variants of the reference water and gas meter (`connection.defects` of a reference
 * profile): each switches a hook of the simulated meter and must fail the matching case of the
 * CJ/T 188 suites (suites/cjt188-reading, suites/cjt188-valve).
 */
export const Cjt188DefectSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('hide-valve-state') }).strict().describe('ST always reports the valve open, whatever it does (valve state not reported)'),
  z
    .object({ name: z.literal('wrong-unit-byte'), unitCode: z.number().int().min(0).max(255).default(0x29) })
    .strict()
    .describe('every volume goes out with this unit byte (default 29H, L) whatever its scale'),
  z
    .object({ name: z.literal('hide-low-flow'), belowLph: z.number().positive().default(50) })
    .strict()
    .describe('the register leaves out flows below this rate, L/h (a leak never visible in the data)'),
  z.object({ name: z.literal('answers-without-wake-up') }).strict().describe('a battery meter that hears every request, with or without a wake-up preamble'),
  z.object({ name: z.literal('ignores-meter-type') }).strict().describe('answers a request whatever its meter type T, though it does not declare ignoresMeterType'),
  z.object({ name: z.literal('ignores-time-sync') }).strict().describe('A015 (write standard time) answered normally, the clock left as it was'),
  z.object({ name: z.literal('battery-low-never-reported') }).strict().describe('ST never reports the battery low, however worn the cell'),
]);
export type Cjt188Defect = z.output<typeof Cjt188DefectSchema>;

/** What a test or case may do to the reference water or gas meter (a reference target's backchannel). */
export interface Cjt188ReferenceBackchannel {
  readonly model: FlowMeterModel;
  readonly responder: Cjt188FlowMeterResponder;
  /** A leak from now on, L/h (0 stops it): a flow that never stops (MM-08). */
  setLeak(litresPerHour: number): void;
  /** A jammed valve: the motor runs, the valve does not move and ends abnormal. */
  setValveStuck(stuck: boolean): void;
  /** A worn battery: charge down to `share` of the capacity (battery low below 10 %). */
  drainBattery(share: number): void;
}

/** True for the backchannel of a reference CJ/T 188 meter. */
export function isCjt188ReferenceBackchannel(b: unknown): b is Cjt188ReferenceBackchannel {
  return typeof b === 'object' && b !== null && typeof (b as Cjt188ReferenceBackchannel).setLeak === 'function' && typeof (b as Cjt188ReferenceBackchannel).setValveStuck === 'function';
}

/** Switches the simulated meter's hooks for each defect. */
export function applyCjt188Defects(meter: FlowMeter, defects: readonly Cjt188Defect[]): void {
  for (const d of defects) {
    switch (d.name) {
      case 'hide-valve-state':
        meter.responder.hideValveState = true;
        break;
      case 'wrong-unit-byte':
        meter.responder.unitCodeOverride = d.unitCode;
        break;
      case 'hide-low-flow':
        meter.model.hideFlowBelowLph = d.belowLph;
        break;
      case 'answers-without-wake-up':
        meter.setSleeps(false);
        break;
      case 'ignores-meter-type':
        meter.responder.ignoreMeterType = true;
        break;
      case 'ignores-time-sync':
        meter.responder.ignoreTimeSync = true;
        break;
      case 'battery-low-never-reported':
        meter.responder.hideBatteryLow = true;
        break;
    }
  }
}

registerTargetProtocol<Cjt188Declaration, Cjt188Master, Cjt188Defect>({
  id: 'cjt188',
  title: 'CJ/T 188-2004',
  kinds: ['water-meter', 'gas-meter'],
  declaration: Cjt188DeclarationSchema,
  lineOf: (d) => d.line,
  addressOf: (d) => d.address,
  describe: describeCjt188,
  presence: cjt188Presence,
  createMaster: ({ link, clock, settings, line, declaration }) =>
    new Cjt188Master({
      link,
      clock,
      line: line ?? declaration.line,
      dialect: declaration.dialect,
      timeoutMs: settings.timeoutMs,
      attempts: settings.attempts,
      preamble: settings.preamble,
      ...(declaration.sleeps ? { wakeUp: { preambleMs: declaration.sniffPeriodMs * WAKE_UP_FACTOR } } : {}),
    }),
  defects: Cjt188DefectSchema,
  createSimulator: ({ declaration, link, clock, seed, defects }) => {
    const gas = declaration.meter === 'gas';
    const meter = createFlowMeter({
      link,
      clock,
      seed,
      kind: declaration.meter,
      address: declaration.address,
      dialect: declaration.dialect,
      line: declaration.line,
      sleeps: declaration.sleeps,
      sniffPeriodMs: declaration.sniffPeriodMs,
      awakeMs: declaration.awakeMs,
      volumeUnit: declaration.volumeUnit,
      // A meter declared without a valve has none: A017 is refused.
      valve: { fitted: declaration.valve !== undefined },
      // A meter a year in service (MeterLab's choice): its register and twelve settlement freezes behind it.
      startLitres: gas ? 6_543_210 : 234_560,
      historyMonths: 12,
      // A household's use (MeterLab's choice): 200-600 L of water or 0.5-2 m³ of gas a day.
      consumption: gas ? { dailyLitres: { min: 500, max: 2000 }, emptyDayProbability: 0.1 } : { dailyLitres: { min: 200, max: 600 }, emptyDayProbability: 0.1 },
    });
    applyCjt188Defects(meter, defects);
    const backchannel: Cjt188ReferenceBackchannel = {
      model: meter.model,
      responder: meter.responder,
      setLeak: (lph) => meter.model.setLeak(lph),
      setValveStuck: (stuck) => {
        meter.model.valveStuck = stuck;
      },
      drainBattery: (share) => meter.model.drainBattery(share),
    };
    return { stop: () => meter.stop(), backchannel };
  },
});
