/**
 * CJ/T 188-2004 as a target protocol (harness/targets/protocols.ts): the declaration
 * (harness/protocols/cjt188/declaration.ts), the CJ/T 188 master on the target's link (with a
 * wake-up preamble longer than the sniff period for a battery meter, MM-06), captures described
 * frame by frame, and the simulated water or gas meter of a reference target
 * (simulators/flow-meter) built from the declaration.
 */
import type { Describe } from '../links/index.ts';
import { Cjt188Master } from '../masters/cjt188-master.ts';
import { Cjt188DeclarationSchema, Cjt188FrameScanner, describeFrame, type Cjt188Declaration } from '../protocols/cjt188/index.ts';
import { createFlowMeter } from '../../simulators/flow-meter/index.ts';
import { describeByScanner, registerTargetProtocol } from './protocols.ts';

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

registerTargetProtocol<Cjt188Declaration, Cjt188Master>({
  id: 'cjt188',
  title: 'CJ/T 188-2004',
  kinds: ['water-meter', 'gas-meter'],
  declaration: Cjt188DeclarationSchema,
  lineOf: (d) => d.line,
  addressOf: (d) => d.address,
  describe: describeCjt188,
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
  createSimulator: ({ declaration, link, clock, seed }) => {
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
      // A household's use (MeterLab's choice): 200-600 L of water or 0.5-2 m³ of gas a day.
      consumption: gas ? { dailyLitres: { min: 500, max: 2000 }, emptyDayProbability: 0.1 } : { dailyLitres: { min: 200, max: 600 }, emptyDayProbability: 0.1 },
    });
    return { stop: () => meter.stop(), backchannel: { model: meter.model, responder: meter.responder } };
  },
});
