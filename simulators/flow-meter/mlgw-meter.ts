/**
 * A battery gas or water meter speaking MLGW, MeterLab's own micro-power wireless protocol
 * (docs/protocols/meterlab-gas-wireless.md; it stands for the undisclosed jointly designed one,
 * MM-10), over the same physical model as the CJ/T 188 meter (model.ts). The interface converter
 * (simulators/converter) reaches it over a wireless hop in protocol-converting mode.
 *
 * `MlgwMeterResponder.handle` is pure protocol logic (a decoded request in, a reply message or null
 * out); `createMlgwMeter` puts it on the device serve loop with the sleep of a battery meter: it
 * sniffs every `sniffPeriodMs` and hears a request only when the 55H preamble in front of it lasted
 * at least that long on the air (spec 5, MM-06); once woken it stays awake `awakeMs` after its last
 * reply. Every answered request costs the battery a wake-up.
 */
import type { Clock } from '../../harness/core/clock.ts';
import { CHINA_UTC_OFFSET_MINUTES } from '../../harness/core/calendar.ts';
import { characterTimeMs, type LineSettings, type Link } from '../../harness/links/link.ts';
import {
  AWAKE_MS,
  ErrorCode,
  INTER_BYTE_TIMEOUT_MS,
  MeterKindCode,
  MlgwFrameScanner,
  REPLY_DELAY_MS,
  TIME_EPOCH_UTC_MS,
  encodeMessage,
  isBroadcastId,
  secondsToTime,
  type MlgwFrame,
  type MlgwMessage,
  type MlgwScanEvent,
  type MlgwStatus,
} from '../../harness/protocols/mlgw/index.ts';
import { FrameServer } from '../device/frame-server.ts';
import { FlowMeterModel, type FlowMeterOptions } from './model.ts';

/** MLGW air line (spec 1): 2400 bit/s, 10 bit times a byte. */
export const MLGW_AIR_LINE: LineSettings = { baudRate: 2400, dataBits: 8, parity: 'none', stopBits: 1 };
/** MM-06: a battery meter sniffs every 2 s. */
export const MLGW_DEFAULT_SNIFF_PERIOD_MS = 2000;
/** Firmware byte of IDENTIFY (MeterLab's simulator, version 1). */
const FIRMWARE = 1;
/** Battery voltage of the simulated cell: 3000 mV + 600 mV x charge share (spec 4). */
const EMPTY_MV = 3000;
const SPAN_MV = 600;

export interface MlgwResponderOptions {
  readonly model: FlowMeterModel;
  /** 8 digits. */
  readonly meterId: string;
  readonly utcOffsetMinutes?: number;
}

export class MlgwMeterResponder {
  readonly model: FlowMeterModel;
  readonly meterId: string;
  private readonly offsetMs: number;
  /** The meter clock's offset from the harness clock, ms. */
  clockOffsetMs = 0;

  constructor(o: MlgwResponderOptions) {
    if (!/^\d{8}$/.test(o.meterId)) throw new RangeError(`MLGW meter ID must be 8 decimal digits, got ${JSON.stringify(o.meterId)}`);
    this.model = o.model;
    this.meterId = o.meterId;
    this.offsetMs = (o.utcOffsetMinutes ?? CHINA_UTC_OFFSET_MINUTES) * 60_000;
  }

  /** The reply to a request, or null: another meter's, a reply, a broadcast other than IDENTIFY. */
  handle(frame: MlgwFrame, message: MlgwMessage): MlgwMessage | null {
    if (frame.isReply) return null;
    const broadcast = isBroadcastId(frame.meterId);
    if (!broadcast && frame.meterId !== this.meterId) return null;
    if (broadcast && message.kind !== 'identify') return null;
    this.model.wake();
    const head = { meterId: this.meterId, seq: frame.seq };
    switch (message.kind) {
      case 'readCurrent': {
        const s = this.model.snapshot();
        const seconds = Math.floor((s.at + this.clockOffsetMs + this.offsetMs - TIME_EPOCH_UTC_MS) / 1000);
        return {
          ...head,
          kind: 'readCurrentReply',
          volumeLitres: Math.floor(s.litres),
          settledLitres: Math.floor(s.lastSettlement?.litres ?? 0),
          seconds,
          time: secondsToTime(seconds),
          status: this.status(),
        };
      }
      case 'valve': {
        if (this.model.commandValve(message.action === 'open' ? 'open' : 'closed')) return { ...head, kind: 'valveReply', status: this.status() };
        const st = this.status();
        return { ...head, kind: 'errorReply', command: frame.command, code: st.valve === 'abnormal' ? ErrorCode.ValveFault : ErrorCode.ValveRefused, codeName: '', status: st };
      }
      case 'readBattery': {
        const s = this.model.snapshot();
        const share = Math.max(0, Math.min(1, s.batteryShare));
        return { ...head, kind: 'readBatteryReply', millivolts: Math.round(EMPTY_MV + SPAN_MV * share), levelPercent: Math.round(share * 100), status: this.status() };
      }
      case 'identify': {
        const kind = this.model.kind === 'gas' ? 'gas' : this.model.kind === 'hot-water' ? 'hot-water' : 'cold-water';
        return { ...head, kind: 'identifyReply', meterKind: kind, meterKindCode: MeterKindCode[kind], firmware: FIRMWARE };
      }
      case 'unknownRequest':
        return { ...head, kind: 'errorReply', command: frame.command, code: ErrorCode.UnknownCommand, codeName: '', status: this.status() };
      default:
        return null;
    }
  }

  status(): MlgwStatus {
    const s = this.model.snapshot();
    const valve = s.valve;
    const raw = (valve === 'open' ? 0 : valve === 'closed' ? 1 : 3) | (s.batteryLow ? 4 : 0) | (s.valveMoving ? 8 : 0);
    return { raw, valve, batteryLow: s.batteryLow, valveMoving: s.valveMoving !== null };
  }
}

export interface CreateMlgwMeterOptions extends Omit<FlowMeterOptions, 'clock'> {
  readonly link: Link;
  readonly clock: Clock;
  /** 8 digits. */
  readonly meterId: string;
  /** Sleeps between sniffs (a battery meter). Default true. */
  readonly sleeps?: boolean;
  readonly sniffPeriodMs?: number;
  readonly awakeMs?: number;
  readonly replyDelayMs?: number;
  /** Air line (character time for the wake-up check). Default MLGW_AIR_LINE. */
  readonly line?: LineSettings;
  readonly log?: (line: string) => void;
}

export interface MlgwMeter {
  readonly model: FlowMeterModel;
  readonly responder: MlgwMeterResponder;
  readonly server: FrameServer<MlgwScanEvent>;
  awake(): boolean;
  stop(): void;
}

export function createMlgwMeter(o: CreateMlgwMeterOptions): MlgwMeter {
  const model = new FlowMeterModel({ ...o, clock: o.clock });
  const responder = new MlgwMeterResponder({ model, meterId: o.meterId, ...(o.utcOffsetMinutes !== undefined ? { utcOffsetMinutes: o.utcOffsetMinutes } : {}) });
  const sleeps = o.sleeps ?? true;
  const sniffMs = o.sniffPeriodMs ?? MLGW_DEFAULT_SNIFF_PERIOD_MS;
  const awakeMs = o.awakeMs ?? AWAKE_MS;
  const delayMs = o.replyDelayMs ?? REPLY_DELAY_MS;
  const charMs = characterTimeMs(o.line ?? MLGW_AIR_LINE);
  let awakeUntil = Number.NEGATIVE_INFINITY;
  const isAwake = (): boolean => !sleeps || o.clock.now() <= awakeUntil;
  const server = new FrameServer<MlgwScanEvent>({
    link: o.link,
    clock: o.clock,
    scanner: new MlgwFrameScanner(),
    silenceMs: INTER_BYTE_TIMEOUT_MS,
    handle: (event) => {
      if (event.type !== 'frame' || !event.message.ok) return null;
      const frame = event.decoded.frame;
      // Asleep: only a preamble spanning a whole sniff period reaches the receiver (spec 5, MM-06).
      if (!isAwake() && frame.preamble * charMs < sniffMs) return null;
      const reply = responder.handle(frame, event.message.value);
      if (!reply) return null;
      if (sleeps) awakeUntil = o.clock.now() + delayMs + awakeMs;
      return { bytes: encodeMessage(reply), delayMs };
    },
    ...(o.log ? { log: o.log } : {}),
  });
  server.start();
  return { model, responder, server, awake: isAwake, stop: () => server.stop() };
}
