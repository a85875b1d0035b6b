/**
 * MLGW shapes shared by codec, simulators, converter and suites (docs/protocols/meterlab-gas-wireless.md).
 *
 *   [55 x n] D3 91 LEN CTRL ID0..ID3 SEQ CMD DATA.. CRC_L CRC_H
 */
import type { MlgwMeterKind, ValveActionName } from './constants.ts';

/** One link-layer frame (spec 2). */
export interface MlgwFrame {
  /** D7 of CTRL: false = converter -> meter request, true = meter -> converter reply. */
  readonly isReply: boolean;
  /** D6 of CTRL: an error reply. */
  readonly isError: boolean;
  readonly version: number;
  readonly control: number;
  /** 8 BCD digits, most significant first ("12345678"), or "FFFFFFFF" (every meter, IDENTIFY only). */
  readonly meterId: string;
  readonly seq: number;
  readonly command: number;
  readonly data: Uint8Array;
  /** 55H bytes before the sync word (the wake-up of a sleeping meter, spec 5). */
  readonly preamble: number;
  readonly crc: number;
}

export interface MlgwDecodedFrame {
  readonly frame: MlgwFrame;
  /** Offset of the first byte (the first 55H, or D3H). */
  readonly start: number;
  /** Offset just past CRC_H. */
  readonly end: number;
  /** The frame's bytes from `start` to `end`. */
  readonly raw: Uint8Array;
}

export type MlgwValveState = 'open' | 'closed' | 'abnormal';

/** STATUS byte (spec 4): D1 D0 valve, D2 battery low, D3 valve motor running. */
export interface MlgwStatus {
  readonly raw: number;
  readonly valve: MlgwValveState;
  readonly batteryLow: boolean;
  readonly valveMoving: boolean;
}

/** Calendar fields of TIME (meter local time, spec 4). */
export interface MlgwTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

interface Header {
  readonly meterId: string;
  readonly seq: number;
}

/** Application messages, one per command and direction (spec 4). */
export type MlgwMessage =
  | (Header & { readonly kind: 'readCurrent' })
  | (Header & {
      readonly kind: 'readCurrentReply';
      readonly volumeLitres: number;
      readonly settledLitres: number;
      /** Seconds since 2000-01-01 00:00:00 meter local time, and the same as calendar fields. */
      readonly seconds: number;
      readonly time: MlgwTime;
      readonly status: MlgwStatus;
    })
  | (Header & { readonly kind: 'valve'; readonly action: ValveActionName })
  | (Header & { readonly kind: 'valveReply'; readonly status: MlgwStatus })
  | (Header & { readonly kind: 'readBattery' })
  | (Header & { readonly kind: 'readBatteryReply'; readonly millivolts: number; readonly levelPercent: number; readonly status: MlgwStatus })
  | (Header & { readonly kind: 'identify' })
  | (Header & { readonly kind: 'identifyReply'; readonly meterKind: MlgwMeterKind | null; readonly meterKindCode: number; readonly firmware: number })
  | (Header & { readonly kind: 'errorReply'; readonly command: number; readonly code: number; readonly codeName: string; readonly status: MlgwStatus | null })
  /** A request with a command MLGW v1 does not define (a meter answers it with error 01H). */
  | (Header & { readonly kind: 'unknownRequest'; readonly command: number; readonly data: Uint8Array });

export type MlgwMessageKind = MlgwMessage['kind'];
