/**
 * CJ/T 188 — the shapes shared by codec, simulators, masters, suites and reports. Section numbers
 * refer to ../shared/protocols/PROTOCOLS.md.
 *
 * Wire frame (2.1):  [FE..FE] 68 T A0..A6 C L DI0 DI1 SER DATA CS 16   (no +33H)
 */
import type { Cjt188Value, Cjt188Status } from './dictionary.ts';

/** Control field C (2.3): D7 direction, D6 abnormal, D5..D0 function code. */
export interface ControlField {
  readonly raw: number;
  /** D7: false = master -> slave request, true = slave reply. */
  readonly isResponse: boolean;
  /** D6: abnormal communication (error) reply. */
  readonly isAbnormal: boolean;
  /** D5..D0. */
  readonly functionCode: number;
}

/**
 * One link-layer frame. `address` is the 14 hex digits of A6..A0 (most significant first): BCD
 * digits for a meter ("78330011223344": meter number 0011223344 after manufacturer code 7833),
 * "AAAAAAAAAAAAAA" for the wildcard. `data` is everything L counts: DI0 DI1 SER DATA.
 */
export interface Cjt188Frame {
  readonly meterType: number;
  readonly address: string;
  readonly control: ControlField;
  readonly data: Uint8Array;
  /** Number of FE wake-up bytes before the 68H. */
  readonly preamble: number;
  readonly checksum: number;
}

export interface Cjt188DecodedFrame {
  readonly frame: Cjt188Frame;
  /** Offset of the first byte (the first FE, or the 68H). */
  readonly start: number;
  /** Offset just past the 16H. */
  readonly end: number;
  readonly raw: Uint8Array;
}

/** Which DI byte order a frame used (PROTOCOLS.md 2.4). */
export type DiOrder = 'standard' | 'reversed';

/**
 * Valve command byte of DI A017 (PROTOCOLS.md 2.4): 55H open, 99H close (standard); AAH valve
 * exercise and 77H half-open are vendor extras.
 */
export const ValveCommand = { open: 0x55, close: 0x99, exercise: 0xaa, halfOpen: 0x77 } as const;
export type ValveCommandName = keyof typeof ValveCommand;

/** Fields every CJ/T 188 message carries: DI (4 hex digits DI1DI0, e.g. "901F"), its wire order, SER. */
interface Header {
  readonly di: string;
  readonly diOrder: DiOrder;
  /** SER, the sequence number the reply echoes (PROTOCOLS.md 2.1). */
  readonly ser: number;
}

/**
 * Application messages, one per control code (2.3) and direction. `value` is the dictionary's
 * typed value of the identifier (dictionary.ts); `payload` (bytes after SER) where the dictionary
 * has no layout.
 */
export type Cjt188Message =
  | (Header & { readonly kind: 'readData' })
  | (Header & { readonly kind: 'readDataResponse'; readonly value: Cjt188Value })
  | (Header & { readonly kind: 'readAddress' })
  /** 83H: the address is the frame's own A0..A6 (vector 7: DI SER and nothing else). */
  | (Header & { readonly kind: 'readAddressResponse' })
  | (Header & { readonly kind: 'readKeyVersion' })
  | (Header & { readonly kind: 'readKeyVersionResponse'; readonly value: Cjt188Value })
  | (Header & { readonly kind: 'writeData'; readonly value: Cjt188Value })
  /** 84H: DI SER and, when present, ST ([BK] reply layout, PROTOCOLS.md 2.5). */
  | (Header & { readonly kind: 'writeDataResponse'; readonly status: Cjt188Status | null })
  | (Header & { readonly kind: 'writeAddress'; readonly newAddress: string })
  | (Header & { readonly kind: 'writeAddressResponse'; readonly status: Cjt188Status | null })
  | (Header & { readonly kind: 'writeSyncData'; readonly value: Cjt188Value })
  | (Header & { readonly kind: 'writeSyncDataResponse'; readonly status: Cjt188Status | null })
  /** 04H (or vendor 2AH) with DI A017. `command` is the byte; `commandName` when it is a known one. */
  | (Header & {
      readonly kind: 'valveControl';
      readonly functionCode: number;
      readonly command: number;
      readonly commandName: ValveCommandName | null;
    })
  | (Header & { readonly kind: 'valveControlResponse'; readonly functionCode: number; readonly status: Cjt188Status | null })
  /** Any reply with D6 = 1: DI SER and, when present, ST ([BK] layout; C1, C3, C4, C9, D5, D6 ...). */
  | (Header & { readonly kind: 'abnormalResponse'; readonly functionCode: number; readonly status: Cjt188Status | null; readonly payload: Uint8Array })
  /** A well-formed frame with a function code the codec does not model: DI SER and the rest as bytes. */
  | (Header & { readonly kind: 'other'; readonly functionCode: number; readonly isResponse: boolean; readonly payload: Uint8Array });

export type Cjt188MessageKind = Cjt188Message['kind'];
