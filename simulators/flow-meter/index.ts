/**
 * A simulated CJ/T 188 water or gas meter on a link: the model (model.ts), its CJ/T 188 responder
 * (cjt188-responder.ts) and the device serve loop (simulators/device/frame-server.ts), with the
 * sleep of a battery meter: it sniffs the line every `sniffPeriodMs` and hears a request only when
 * the FE wake-up preamble in front of it lasted at least that long (MM-06: a 2 s sniff period, so a
 * reader sends ≥ 2 s of preamble, 2.5 s by default); once woken it stays awake `awakeMs` after its
 * last exchange. A mains-powered meter (`battery: false`) hears every request.
 */
import type { Clock } from '../../harness/core/clock.ts';
import { characterTimeMs, type LineSettings, type Link } from '../../harness/links/link.ts';
import { Cjt188FrameScanner, STANDARD_DIALECT, type Cjt188Dialect, type Cjt188ScanEvent } from '../../harness/protocols/cjt188/index.ts';
import { FrameServer } from '../device/frame-server.ts';
import { Cjt188FlowMeterResponder } from './cjt188-responder.ts';
import { FlowMeterModel, type FlowMeterOptions } from './model.ts';

export * from './model.ts';
export * from './cjt188-responder.ts';

/** MM-06: a battery meter sniffs every 2 s. */
export const DEFAULT_SNIFF_PERIOD_MS = 2000;
/** How long a woken meter keeps listening after an exchange, ms. MeterLab's choice [BK]. */
export const DEFAULT_AWAKE_MS = 10_000;
/** Reply delay, ms: within DL/T 645's 20..500 ms Td that CJ/T 188 readers also apply [BK]. MeterLab's choice. */
export const DEFAULT_REPLY_DELAY_MS = 50;
/** Silence that ends a partial request: DL/T 645's Tb, 500 ms, which RS-485 readers use for CJ/T 188 too [BK]. */
export const DEFAULT_SILENCE_MS = 500;
/** CJ/T 188 on RS-485 / M-Bus: 2400 8E1 (PROTOCOLS.md 2.1 [BK]). */
export const CJT188_DEFAULT_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'even', stopBits: 1 };

export interface CreateFlowMeterOptions extends Omit<FlowMeterOptions, 'clock'> {
  readonly link: Link;
  readonly clock: Clock;
  /** 14 digits. */
  readonly address: string;
  readonly dialect?: Cjt188Dialect;
  readonly line?: LineSettings;
  /** A battery meter that sleeps between sniffs (default true for gas, false for water). */
  readonly sleeps?: boolean;
  readonly sniffPeriodMs?: number;
  readonly awakeMs?: number;
  readonly replyDelayMs?: number;
  /** Unit of the volumes it sends (default m³). */
  readonly volumeUnit?: 'm³' | 'L';
  readonly log?: (line: string) => void;
}

export interface FlowMeter {
  readonly model: FlowMeterModel;
  readonly responder: Cjt188FlowMeterResponder;
  readonly server: FrameServer<Cjt188ScanEvent>;
  /** Whether the meter is listening now (always for a mains meter). */
  awake(): boolean;
  /** Broken-variant hook: false makes a battery meter hear every request, wake-up preamble or not. */
  setSleeps(on: boolean): void;
  stop(): void;
}

export function createFlowMeter(o: CreateFlowMeterOptions): FlowMeter {
  const model = new FlowMeterModel({ ...o, clock: o.clock });
  const dialect = o.dialect ?? STANDARD_DIALECT;
  const responder = new Cjt188FlowMeterResponder({
    model,
    address: o.address,
    dialect,
    ...(o.settlementDay !== undefined ? { settlementDay: o.settlementDay } : {}),
    ...(o.volumeUnit !== undefined ? { volumeUnit: o.volumeUnit } : {}),
  });
  let sleeps = o.sleeps ?? o.kind === 'gas';
  const sniffMs = o.sniffPeriodMs ?? DEFAULT_SNIFF_PERIOD_MS;
  const awakeMs = o.awakeMs ?? DEFAULT_AWAKE_MS;
  const charMs = characterTimeMs(o.line ?? CJT188_DEFAULT_LINE);
  const delayMs = o.replyDelayMs ?? DEFAULT_REPLY_DELAY_MS;
  let awakeUntil = Number.NEGATIVE_INFINITY;
  const isAwake = () => !sleeps || o.clock.now() <= awakeUntil;
  const server = new FrameServer<Cjt188ScanEvent>({
    link: o.link,
    clock: o.clock,
    scanner: new Cjt188FrameScanner({ dialect }),
    silenceMs: DEFAULT_SILENCE_MS,
    handle: (event) => {
      if (event.type !== 'frame' || !event.message.ok) return null;
      const frame = event.decoded.frame;
      if (!isAwake()) {
        // Asleep: only a preamble spanning a whole sniff period reaches the receiver (MM-06).
        if (frame.preamble * charMs < sniffMs) return null;
      }
      const bytes = responder.handle({ ...event.decoded, message: event.message.value });
      if (bytes && sleeps) awakeUntil = o.clock.now() + delayMs + awakeMs;
      return bytes ? { bytes, delayMs } : null;
    },
    ...(o.log ? { log: o.log } : {}),
  });
  server.start();
  return {
    model,
    responder,
    server,
    awake: isAwake,
    stop: () => server.stop(),
    setSleeps: (on) => {
      sleeps = on;
    },
  };
}
