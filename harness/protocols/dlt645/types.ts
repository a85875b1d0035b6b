/**
 * DL/T 645 (2007, with 1997 decoding) — the shapes shared by codec, simulators, masters, suites
 * and reports. Section numbers refer to ../shared/protocols/PROTOCOLS.md.
 *
 * Wire frame (1.2):  [FE..FE] 68 A0..A5 68 C L DATA(L, each byte +33H) CS 16
 */

/** Which edition a frame belongs to. 1997 uses 2-byte DIs and other function codes (1.10). */
export type Dlt645Edition = '2007' | '1997';

/** Control field C (1.3): D7 direction, D6 abnormal, D5 follow-up, D4..D0 function code. */
export interface ControlField {
  readonly raw: number;
  /** D7: false = master -> slave request, true = slave reply. */
  readonly isResponse: boolean;
  /** D6: abnormal (error) reply. */
  readonly isAbnormal: boolean;
  /** D5: follow-up frames exist. */
  readonly hasFollowUp: boolean;
  /** D4..D0. */
  readonly functionCode: number;
}

/**
 * One link-layer frame with the data field already un-scrambled (−33H).
 * `address` is the 12 hex digits of A5..A0 (most significant first): BCD digits for a meter,
 * "AAAAAAAAAAAA" for the wildcard, "999999999999" for broadcast; an abbreviated wildcard keeps
 * its AA bytes ("AAAAAA123456").
 */
export interface Dlt645Frame {
  readonly address: string;
  readonly control: ControlField;
  /** Data field after subtracting 33H from each byte. */
  readonly data: Uint8Array;
  /** Number of FE wake-up bytes seen before the first 68H (0 when none). */
  readonly preamble: number;
  readonly checksum: number;
  /** Edition inferred from the function code (2007 unless it is a 1997-only code). */
  readonly edition: Dlt645Edition;
}

/** The decoded frame plus where it sat in the input. */
export interface Dlt645DecodedFrame {
  readonly frame: Dlt645Frame;
  /** Offset of the first byte of the frame (the first FE, or the 68 when there is no preamble). */
  readonly start: number;
  /** Offset just past the final 16H. */
  readonly end: number;
  /** The raw bytes start..end. */
  readonly raw: Uint8Array;
}

/** Password field PA P0 P1 P2 (1.3, 1.5): level PA (e.g. 02, 04) and the 6-digit password P2P1P0. */
export interface Password {
  /** PA, the password level (0..9 per the standard; 98H/99H mean ESAM-protected data, [BK]). */
  readonly level: number;
  /** P2 P1 P0 as 6 hex digits, most significant first (transmitted P0 first). */
  readonly value: string;
}

/** Calendar fields carried in frames (local meter time, 2-digit year on the wire). */
export interface FrameDateTime {
  readonly year: number; // full year, 2000-2099
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** Error word ERR bits (1.7), bit 0 first. */
export const ERROR_WORD_BITS = [
  'otherError',
  'noRequestedData',
  'passwordErrorOrUnauthorised',
  'baudRateNotChangeable',
  'yearTimeZoneCountExceeded',
  'dailyTimeSlotCountExceeded',
  'tariffCountExceeded',
  'reserved',
] as const;
export type ErrorWordBit = (typeof ERROR_WORD_BITS)[number];

/** N1 of the 1CH remote-control payload (1.5; 2A/2B/3A/3B are [BK]). */
export const RemoteControlCommand = {
  Trip: 0x1a,
  CloseAllowed: 0x1b,
  DirectClose: 0x1c,
  Alarm: 0x2a,
  AlarmRelease: 0x2b,
  KeepPower: 0x3a,
  KeepPowerRelease: 0x3b,
} as const;

/** One field of the 16H freeze pattern: a number, or 'any' for 99H (1.3, layout [BK]). */
export type FreezeField = number | 'any';

/**
 * Application messages, one per control code (1.3) and direction. `di` is 8 hex digits for 2007
 * (DI3 DI2 DI1 DI0, e.g. "00010000") and 4 hex digits for 1997 (e.g. "9010").
 * Payloads are the bytes after the DI (already −33H), in wire order.
 */
export type Dlt645Message =
  | { readonly kind: 'broadcastTimeSync'; readonly time: FrameDateTime }
  | { readonly kind: 'readData'; readonly di: string; readonly extra: Uint8Array }
  | { readonly kind: 'readDataResponse'; readonly di: string; readonly payload: Uint8Array; readonly hasFollowUp: boolean }
  | { readonly kind: 'readFollowUp'; readonly di: string; readonly seq: number }
  | {
      readonly kind: 'readFollowUpResponse';
      readonly di: string;
      readonly payload: Uint8Array;
      readonly seq: number;
      readonly hasFollowUp: boolean;
    }
  | { readonly kind: 'readAddress' }
  | { readonly kind: 'readAddressResponse'; readonly address: string }
  | {
      readonly kind: 'writeData';
      readonly di: string;
      readonly password: Password;
      readonly operator: string;
      readonly payload: Uint8Array;
    }
  | { readonly kind: 'writeDataResponse' }
  | { readonly kind: 'writeAddress'; readonly newAddress: string }
  | { readonly kind: 'writeAddressResponse' }
  | {
      readonly kind: 'freeze';
      readonly minute: FreezeField;
      readonly hour: FreezeField;
      readonly day: FreezeField;
      readonly month: FreezeField;
    }
  | { readonly kind: 'freezeResponse' }
  | { readonly kind: 'changeBaud'; readonly z: number; readonly baudRate: number }
  | { readonly kind: 'changeBaudResponse'; readonly z: number; readonly baudRate: number }
  | { readonly kind: 'changePassword'; readonly di: string; readonly oldPassword: Password; readonly newPassword: Password }
  | { readonly kind: 'changePasswordResponse'; readonly newPassword: Password }
  | { readonly kind: 'clearMaxDemand'; readonly password: Password; readonly operator: string }
  | { readonly kind: 'clearMaxDemandResponse' }
  | { readonly kind: 'meterClear'; readonly password: Password; readonly operator: string }
  | { readonly kind: 'meterClearResponse' }
  | { readonly kind: 'eventClear'; readonly password: Password; readonly operator: string; readonly di: string }
  | { readonly kind: 'eventClearResponse' }
  | {
      readonly kind: 'remoteControl';
      readonly password: Password;
      readonly operator: string;
      /** N1, see RemoteControlCommand. */
      readonly command: number;
      /** N2, reserved. */
      readonly reserved: number;
      /** N3..N8 valid-until; null when all six bytes are zero (a placeholder some masters send). */
      readonly validUntil: FrameDateTime | null;
    }
  | { readonly kind: 'remoteControlResponse' }
  | { readonly kind: 'multiFunctionOutput'; readonly output: number }
  | { readonly kind: 'multiFunctionOutputResponse'; readonly output: number | null }
  | {
      /** Any abnormal reply (D6 = 1): D1, D4, D7, D8, D9, DA, DB, DC, DD, C1 (1997) ... */
      readonly kind: 'errorResponse';
      readonly functionCode: number;
      readonly errorWord: number;
      readonly errors: readonly ErrorWordBit[];
    }
  // DL/T 645-1997 (1.10): 01 read, 02 read follow-up, 03 re-read, 04 write, 0A write address,
  // 0C change baud, 0F change password, 10 clear demand. Only read and its replies are [vec].
  | { readonly kind: 'readData1997'; readonly di: string }
  | { readonly kind: 'readDataResponse1997'; readonly di: string; readonly payload: Uint8Array; readonly hasFollowUp: boolean }
  | {
      /** A well-formed frame whose function the codec knows by name only ([BK] layouts). */
      readonly kind: 'other';
      readonly functionName: string;
      readonly data: Uint8Array;
    };

export type Dlt645MessageKind = Dlt645Message['kind'];
