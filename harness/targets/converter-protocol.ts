/**
 * The interface converter as a target protocol (harness/targets/protocols.ts), issue 10: a profile
 * with `device: { kind: "interface-converter", protocol: "converter", declaration: {...} }`.
 *
 * Why a protocol id of its own ("converter") rather than "cjt188": the device under test speaks two
 * protocols on one upstream RS-485 link (CJ/T 188 to its own and converted meters, DL/T 645
 * forwarded to electricity meters), and its declaration is not a meter's: it lists the meter archive
 * (which address behind which link, in which protocol and mode) and the limits it promises (the
 * latency it adds, the share of reads it may lose). So `masters.converter` holds a Cjt188Master and
 * a Dlt645Master on the same capture-tapped link, with a reply timeout long enough for the declared
 * worst case through the converter (a battery meter's wake-up and the converter's hop retries);
 * captures are described by both codecs; the reference device is the simulated converter with its
 * meters (simulators/converter), and its broken variants are `connection.defects`.
 */
import { z } from 'zod';
import type { Describe } from '../links/index.ts';
import type { LineSettings } from '../links/link.ts';
import { Cjt188Master } from '../masters/cjt188-master.ts';
import { Dlt645Master } from '../masters/dlt645-master.ts';
import { AbnormalReplyError, MasterProtocolError } from '../masters/errors.ts';
import { TimeoutError } from '../core/errors.ts';
import { METER_TYPE_OF } from '../protocols/cjt188/declaration.ts';
import { ConverterDeclarationSchema, type ConverterDeclaration } from '../protocols/converter/index.ts';
import { createInterfaceConverter, UpstreamFrameScanner, type ConverterDefects } from '../../simulators/converter/index.ts';
import { describeCjt188 } from './cjt188-protocol.ts';
import { describeDlt645 } from './dlt645-protocol.ts';
import { registerTargetProtocol, type DevicePresence, type TargetMasterBase } from './protocols.ts';

/** The masters of a converter target: one per protocol it speaks upstream, on the same link. */
export interface ConverterMasters extends TargetMasterBase {
  readonly cjt188: Cjt188Master;
  readonly dlt645: Dlt645Master;
  /** Reply timeout per attempt both masters use, ms (the declared worst case through the converter, with margin). */
  readonly timeoutMs: number;
}

declare module './protocols.ts' {
  interface TargetMasters {
    /** The interface converter's masters (device.protocol "converter"). */
    readonly converter?: ConverterMasters;
  }
}

/**
 * Margin on top of the converter's declared worst-case added latency for the masters' reply
 * timeout: the meter's own response delay (DL/T 645 Td ≤ 500 ms, DLT645-08) and the reply's line
 * time (a 200-byte DL/T 645 reply at 2400 8E1 is ~1 s).
 */
const TIMEOUT_MARGIN_MS = 2000;

/** One line per capture chunk: CJ/T 188 frames by its codec, DL/T 645 frames by its, other bytes counted. */
export const describeConverter: Describe = (bytes, dir) => {
  const scanner = new UpstreamFrameScanner();
  const parts: string[] = [];
  for (const e of [...scanner.push(bytes), ...scanner.flush()]) {
    if (e.type === 'discarded') parts.push(`${e.bytes.length} byte(s) not a frame (${e.error.code})`);
    else parts.push((e.frame.protocol === 'cjt188' ? describeCjt188(e.raw, dir) : describeDlt645(e.raw, dir)) ?? `${e.frame.protocol} frame`);
  }
  return parts.length > 0 ? parts.join(' | ') : undefined;
};

/** One broken variant of the reference converter (a profile's `connection.defects` element); simulators/converter/README.md. */
export const ConverterDefectSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('alter-forwarded-byte') }).strict().describe('alters one byte of every CJ/T 188 frame it forwards (SER + 1) and fixes the checksum: not byte-for-byte (MM-04)'),
  z.object({ name: z.literal('no-wake-up') }).strict().describe('sends the short preamble to sleeping battery meters too: they never wake (MM-06)'),
  z
    .object({ name: z.literal('slow-forwarding'), delayMs: z.number().int().min(1).max(60_000).default(4000) })
    .strict()
    .describe('holds every upstream reply delayMs longer: more latency than declared'),
  z.object({ name: z.literal('wrong-volume-unit') }).strict().describe('converts MLGW litres as 0.01 m³: the CJ/T 188 volume of a converted meter 10 × too large'),
  z.object({ name: z.literal('single-hop-attempt') }).strict().describe('one attempt on the hop instead of three: a lossy hop loses more reads than declared'),
]);
export type ConverterDefect = z.output<typeof ConverterDefectSchema>;

/** The simulator's switches for a list of defects. */
export function converterDefectSwitches(defects: readonly ConverterDefect[]): ConverterDefects {
  let s: ConverterDefects = {};
  for (const d of defects) {
    switch (d.name) {
      case 'alter-forwarded-byte':
        s = { ...s, alterForwardedByte: true };
        break;
      case 'no-wake-up':
        s = { ...s, noWakeUp: true };
        break;
      case 'slow-forwarding':
        s = { ...s, extraDelayMs: d.delayMs };
        break;
      case 'wrong-volume-unit':
        s = { ...s, wrongVolumeUnit: true };
        break;
      case 'single-hop-attempt':
        s = { ...s, singleHopAttempt: true };
        break;
    }
  }
  return s;
}

/** The masters' reply timeout for a converter: the profile's, or the declared worst case plus margin if longer. */
export function converterTimeoutMs(declaration: ConverterDeclaration, profileTimeoutMs: number): number {
  const worst = Math.max(declaration.limits.addedLatencyMs, declaration.archive.some((e) => e.sleeps) ? declaration.limits.addedLatencyWakeUpMs : 0);
  return Math.max(profileTimeoutMs, worst + TIMEOUT_MARGIN_MS);
}

/**
 * Archived meters a presence check reads (one attempt each, awake meters first): two, so one dead
 * meter or one lost wireless frame does not make a live converter look dead, and a dead converter
 * costs two reply timeouts (2 × 12 s for the reference's declared limits), not one per meter.
 */
const PRESENCE_METERS = 2;

/**
 * Is the converter there? One read of up to PRESENCE_METERS archived meters through it (awake
 * meters first; 901F, or DL/T 645 00010000), until one answers. A converter has no address of its
 * own to be misaddressed at: silent or answering. `meterlab run`'s pre-flight uses it.
 */
export async function converterPresence(m: ConverterMasters, d: ConverterDeclaration): Promise<DevicePresence> {
  const entries = [...d.archive].sort((a, b) => Number(a.sleeps) - Number(b.sleeps)).slice(0, PRESENCE_METERS);
  for (const e of entries) {
    try {
      if (e.protocol === 'dlt645') await m.dlt645.readData(e.address, '00010000', { attempts: 1 });
      else await m.cjt188.readData(METER_TYPE_OF[e.meter as keyof typeof METER_TYPE_OF], e.address, '901F', { attempts: 1 });
      return { state: 'answering', detail: `${e.address} (${e.protocol}) answered through the converter` };
    } catch (x) {
      // Silence: try the next meter. A refusal or a wrong frame is an answer from behind the converter.
      if (!(x instanceof TimeoutError)) {
        if (!(x instanceof AbnormalReplyError || x instanceof MasterProtocolError)) throw x;
        return { state: 'answering', detail: `${e.address} (${e.protocol}) answered through the converter: ${x.message}` };
      }
    }
  }
  return { state: 'silent', detail: `no answer through the converter from archived meter(s) ${entries.map((e) => e.address).join(', ')} (one read each)` };
}

registerTargetProtocol<ConverterDeclaration, ConverterMasters, ConverterDefect>({
  id: 'converter',
  title: 'interface converter (CJ/T 188-2004 and DL/T 645 upstream)',
  kinds: ['interface-converter'],
  declaration: ConverterDeclarationSchema,
  lineOf: (d) => d.line,
  addressOf: () => 'converter',
  describe: describeConverter,
  presence: converterPresence,
  createMaster: ({ link, clock, settings, line, declaration }) => {
    const timeoutMs = converterTimeoutMs(declaration, settings.timeoutMs);
    const common = { link, clock, timeoutMs, attempts: settings.attempts, preamble: settings.preamble };
    const cjt188 = new Cjt188Master({ ...common, line: line ?? declaration.line, dialect: declaration.dialect });
    const dlt645 = new Dlt645Master({ ...common, ...(line ? { line } : {}) });
    return {
      cjt188,
      dlt645,
      timeoutMs,
      get line(): LineSettings | undefined {
        return cjt188.line;
      },
      dispose: () => {
        cjt188.dispose();
        dlt645.dispose();
      },
      idle: async () => {
        await cjt188.idle();
        await dlt645.idle();
      },
    };
  },
  createSimulator: ({ declaration, defects, link, clock, seed }) => {
    const sim = createInterfaceConverter({ declaration, upstream: link, clock, seed, defects: converterDefectSwitches(defects) });
    return { stop: () => void sim.close(), backchannel: sim.backchannel };
  },
  defects: ConverterDefectSchema,
});

/** What a reference converter target's `backchannel` is (suites reach simulators only through targets). */
export type { InterfaceConverterBackchannel, SimulatedArchiveMeter, HopFrame } from '../../simulators/converter/index.ts';
