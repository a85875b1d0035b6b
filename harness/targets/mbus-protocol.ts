/**
 * M-Bus (EN 13757-2/-3) as a target protocol (harness/targets/protocols.ts): the declaration
 * (harness/protocols/mbus/declaration.ts), the M-Bus master on the target's link, captures
 * described frame by frame, and the simulated heat meter of a reference target
 * (simulators/heat-meter) built from the declaration.
 */
import type { Describe } from '../links/index.ts';
import { MbusMaster } from '../masters/mbus-master.ts';
import { MbusDeclarationSchema, MbusFrameScanner, decodeLongFrameApplication, describeFrame, manufacturerValue, type MbusDeclaration } from '../protocols/mbus/index.ts';
import { createHeatMeter } from '../../simulators/heat-meter/index.ts';
import { describeByScanner, registerTargetProtocol } from './protocols.ts';

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

registerTargetProtocol<MbusDeclaration, MbusMaster>({
  id: 'mbus',
  title: 'M-Bus (EN 13757-2/-3)',
  kinds: ['heat-meter', 'water-meter'],
  declaration: MbusDeclarationSchema,
  lineOf: (d) => d.line,
  addressOf: (d) => `mbus-${d.primaryAddress}`,
  describe: describeMbus,
  // The reply windows come from EN 13757-2 at the line rate (the master's defaults), not from the
  // profile's DL/T 645-shaped timeout; the attempts are the profile's.
  createMaster: ({ link, clock, settings, line, declaration }) => new MbusMaster({ link, clock, line: line ?? declaration.line, attempts: settings.attempts }),
  createSimulator: ({ declaration, link, clock, seed }) => {
    const s = declaration.secondary;
    const meter = createHeatMeter({
      link,
      clock,
      seed,
      primaryAddress: declaration.primaryAddress,
      identity: { id: s.id, manufacturer: manufacturerValue(s.manufacturer), version: s.version, medium: s.medium },
    });
    return { stop: () => meter.stop(), backchannel: { model: meter.model, slave: meter.slave } };
  },
});
