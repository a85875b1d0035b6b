/**
 * DL/T 645 constants. Every number names its source: a section of PROTOCOLS.md
 * (shared/protocols/PROTOCOLS.md, section 1). `[BK]` marks background knowledge not yet confirmed
 * against a retrieved source: implemented, but a hypothesis to verify against the standard text.
 */
import { EncodeError } from '../../core/errors.ts';
import type { Dlt645Edition } from './types.ts';

/** Frame start character 68H (PROTOCOLS.md 1.2); it appears twice, before and after A0..A5. */
export const START = 0x68;
/** Frame end character 16H (PROTOCOLS.md 1.2). */
export const END = 0x16;
/** Wake-up preamble byte FEH; masters send 4, slaves may send some; not covered by CS (PROTOCOLS.md 1.1). */
export const PREAMBLE_BYTE = 0xfe;
/** Every data-field byte goes on the wire +33H (mod 256) and the receiver subtracts 33H (PROTOCOLS.md 1.2). */
export const DATA_OFFSET = 0x33;
/** Largest L accepted by default: 200 for 2007 (PROTOCOLS.md 1.2, [BK]); the 1997 maximum is [BK] too, same default. */
export const MAX_DATA_LENGTH_2007 = 200;
/** Bytes of a frame without preamble and data: 68 A0..A5 68 C L ... CS 16 (PROTOCOLS.md 1.2). */
export const FRAME_OVERHEAD = 12;
/** Offset of the data field from the first 68H: 68 + A0..A5 + 68 + C + L (PROTOCOLS.md 1.2). */
export const HEADER_LENGTH = 10;

/**
 * Tb: the longest gap between two bytes of one frame, 500 ms (PROTOCOLS.md 1.1; one secondary
 * source, to be checked against the standard text). A partial frame followed by this much silence
 * was abandoned: receivers flush their scanner then (harness/core/silence.ts).
 */
export const MAX_INTER_BYTE_GAP_MS = 500;

/** Broadcast address 99..99: time sync and freeze; slaves do not answer (PROTOCOLS.md 1.4). */
export const BROADCAST_ADDRESS = '999999999999';
/** Wildcard address AA..AA: point-to-point with one meter on the bus (PROTOCOLS.md 1.4). */
export const WILDCARD_ADDRESS = 'AAAAAAAAAAAA';
/** The wildcard byte; it may also replace only the high-order address bytes ([BK], PROTOCOLS.md 1.4). */
export const WILDCARD_BYTE = 0xaa;

/** Control field bits (PROTOCOLS.md 1.3). */
export const CONTROL_DIRECTION_BIT = 0x80; // D7: 1 = slave reply
export const CONTROL_ABNORMAL_BIT = 0x40; // D6: 1 = abnormal reply
export const CONTROL_FOLLOW_UP_BIT = 0x20; // D5: 1 = follow-up frames exist
export const CONTROL_FUNCTION_MASK = 0x1f; // D4..D0: function code

/** DL/T 645-2007 function codes D4..D0 (PROTOCOLS.md 1.3 table; layouts of 15/16/18/19/1A/1D are [BK]). */
export const FunctionCode = {
  BroadcastTimeSync: 0x08,
  ReadData: 0x11,
  ReadFollowUp: 0x12,
  ReadAddress: 0x13,
  WriteData: 0x14,
  WriteAddress: 0x15,
  Freeze: 0x16,
  ChangeBaud: 0x17,
  ChangePassword: 0x18,
  ClearMaxDemand: 0x19,
  MeterClear: 0x1a,
  EventClear: 0x1b,
  RemoteControl: 0x1c,
  MultiFunctionOutput: 0x1d,
} as const;
export type FunctionCode = (typeof FunctionCode)[keyof typeof FunctionCode];

/**
 * DL/T 645-1997 function codes (PROTOCOLS.md 1.10). Only Read 01H (replies 81H / C1H) is [vec];
 * every other 1997 code is [BK].
 */
export const FunctionCode1997 = {
  Read: 0x01,
  ReadFollowUp: 0x02, // [BK]
  ReRead: 0x03, // [BK]
  Write: 0x04, // [BK]
  BroadcastTimeSync: 0x08, // same code as 2007 (PROTOCOLS.md 1.10)
  WriteAddress: 0x0a, // [BK]
  ChangeBaud: 0x0c, // [BK]
  ChangePassword: 0x0f, // [BK]
  ClearMaxDemand: 0x10, // [BK]
} as const;
export type FunctionCode1997 = (typeof FunctionCode1997)[keyof typeof FunctionCode1997];

/**
 * Function codes that only exist in 1997: a frame carrying one is decoded as a 1997 frame
 * (PROTOCOLS.md 1.10). 08H is shared and decodes as 2007.
 */
export const FUNCTION_CODES_1997_ONLY: ReadonlySet<number> = new Set([0x01, 0x02, 0x03, 0x04, 0x0a, 0x0c, 0x0f, 0x10]);

/** Edition of a frame inferred from its function code (PROTOCOLS.md 1.10). */
export function editionOf(functionCode: number): Dlt645Edition {
  return FUNCTION_CODES_1997_ONLY.has(functionCode & CONTROL_FUNCTION_MASK) ? '1997' : '2007';
}

/**
 * Baud-rate feature word Z of 17H and DI 040007xx (PROTOCOLS.md 1.6): one bit per rate,
 * D1 = 600 ... D6 = 19200; 2400 bit/s is 08H (confirmed by a frame `… 17 01 3B 70 16`, vector 44).
 * 600888/dlt645 treats Z as BCD of baud/300 (4800 -> 16H); PROTOCOLS.md 1.6 records that as wrong.
 */
export const BAUD_FEATURE_WORD = {
  600: 0x02, // D1
  1200: 0x04, // D2
  2400: 0x08, // D3
  4800: 0x10, // D4
  9600: 0x20, // D5
  19200: 0x40, // D6
} as const satisfies Readonly<Record<number, number>>;

export type FeatureWordBaudRate = keyof typeof BAUD_FEATURE_WORD;

/** Z for a baud rate (PROTOCOLS.md 1.6). Throws EncodeError for a rate without a feature-word bit. */
export function baudToFeatureWord(baud: number): number {
  const z = (BAUD_FEATURE_WORD as Readonly<Record<number, number>>)[baud];
  if (z === undefined) {
    throw new EncodeError(`no DL/T 645 baud feature word for ${baud} bit/s (PROTOCOLS.md 1.6: 600, 1200, 2400, 4800, 9600, 19200)`);
  }
  return z;
}

/** Baud rate for a feature word Z, or null unless Z is exactly one of the bits D1..D6 (PROTOCOLS.md 1.6). */
export function featureWordToBaud(z: number): number | null {
  for (const [baud, word] of Object.entries(BAUD_FEATURE_WORD)) {
    if (word === z) return Number(baud);
  }
  return null;
}

const NAMES_2007: Readonly<Record<number, string>> = {
  [FunctionCode.BroadcastTimeSync]: 'broadcastTimeSync',
  [FunctionCode.ReadData]: 'readData',
  [FunctionCode.ReadFollowUp]: 'readFollowUp',
  [FunctionCode.ReadAddress]: 'readAddress',
  [FunctionCode.WriteData]: 'writeData',
  [FunctionCode.WriteAddress]: 'writeAddress',
  [FunctionCode.Freeze]: 'freeze',
  [FunctionCode.ChangeBaud]: 'changeBaud',
  [FunctionCode.ChangePassword]: 'changePassword',
  [FunctionCode.ClearMaxDemand]: 'clearMaxDemand',
  [FunctionCode.MeterClear]: 'meterClear',
  [FunctionCode.EventClear]: 'eventClear',
  [FunctionCode.RemoteControl]: 'remoteControl',
  [FunctionCode.MultiFunctionOutput]: 'multiFunctionOutput',
};

/** 1997 names carry a `1997` suffix so that a name identifies its code in either edition. */
const NAMES_1997: Readonly<Record<number, string>> = {
  [FunctionCode1997.Read]: 'readData1997',
  [FunctionCode1997.ReadFollowUp]: 'readFollowUp1997',
  [FunctionCode1997.ReRead]: 'reRead1997',
  [FunctionCode1997.Write]: 'writeData1997',
  [FunctionCode1997.BroadcastTimeSync]: 'broadcastTimeSync',
  [FunctionCode1997.WriteAddress]: 'writeAddress1997',
  [FunctionCode1997.ChangeBaud]: 'changeBaud1997',
  [FunctionCode1997.ChangePassword]: 'changePassword1997',
  [FunctionCode1997.ClearMaxDemand]: 'clearMaxDemand1997',
};

/**
 * Name of function code D4..D0 in an edition (default: the edition the code implies), e.g.
 * `functionName(0x11)` = 'readData', `functionName(0x01)` = 'readData1997'. A code the edition
 * does not define is named `unknownXX` (XX = two hex digits).
 */
export function functionName(code: number, edition: Dlt645Edition = editionOf(code)): string {
  const fc = code & CONTROL_FUNCTION_MASK;
  const name = (edition === '1997' ? NAMES_1997 : NAMES_2007)[fc];
  return name ?? `unknown${fc.toString(16).toUpperCase().padStart(2, '0')}`;
}

/** Inverse of `functionName`: the function code for a name, or null for a name it never returns. */
export function functionCodeByName(name: string): number | null {
  for (const table of [NAMES_2007, NAMES_1997]) {
    for (const [code, n] of Object.entries(table)) if (n === name) return Number(code);
  }
  const m = /^unknown([0-9A-F]{2})$/.exec(name);
  if (m) {
    const code = parseInt(m[1]!, 16);
    if (code <= CONTROL_FUNCTION_MASK) return code;
  }
  return null;
}
