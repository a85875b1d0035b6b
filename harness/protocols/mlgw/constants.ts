/**
 * MLGW — MeterLab's own gas/water micro-power wireless protocol (docs/protocols/meterlab-gas-wireless.md).
 * Every number here is MeterLab's choice written down in that spec (its section in brackets): there
 * is no public standard behind it (REQUIREMENTS.md MM-10: the jointly designed protocol it stands for
 * is not public), except the wake-up rule, which is MM-06's.
 */

/** Preamble byte 55H, also the wake-up of a sleeping meter (spec 2, 5). */
export const PREAMBLE_BYTE = 0x55;
/** Fewest preamble bytes on every frame (spec 2). */
export const MIN_PREAMBLE = 4;
/** Sync word D3H 91H after the preamble (spec 2). */
export const SYNC0 = 0xd3;
export const SYNC1 = 0x91;
/** Offsets from SYNC0 (spec 2): SYNC0 SYNC1 LEN CTRL ID0..ID3 SEQ CMD DATA.. CRC_L CRC_H. */
export const LENGTH_OFFSET = 2;
export const CONTROL_OFFSET = 3;
export const ID_OFFSET = 4;
export const ID_LENGTH = 4;
export const SEQ_OFFSET = 8;
export const COMMAND_OFFSET = 9;
export const DATA_OFFSET = 10;
/** LEN counts CTRL ID SEQ CMD DATA: 7 bytes without data (spec 2). */
export const LEN_WITHOUT_DATA = 7;
/** LEN 7..64 (spec 2): at most 57 data bytes. */
export const MIN_LEN = 7;
export const MAX_LEN = 64;
/** Bytes of a frame besides the preamble and LEN's bytes: sync 2 + LEN 1 + CRC 2 (spec 2). */
export const FRAME_OVERHEAD = 5;
/** CTRL bits (spec 2): D7 direction (1 = meter -> converter), D6 error reply, D3..D0 version. */
export const CONTROL_DIRECTION_BIT = 0x80;
export const CONTROL_ERROR_BIT = 0x40;
export const CONTROL_RESERVED_MASK = 0x30;
export const CONTROL_VERSION_MASK = 0x0f;
/** Protocol version 1 (spec 2). */
export const VERSION = 1;
/** Meter ID FF FF FF FF: every meter in range, IDENTIFY only (spec 2, 3). */
export const BROADCAST_ID = 'FFFFFFFF';

/** Commands (spec 4). */
export const Command = {
  ReadCurrent: 0x01,
  Valve: 0x02,
  ReadBattery: 0x03,
  Identify: 0x04,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export function commandName(cmd: number): string {
  switch (cmd) {
    case Command.ReadCurrent:
      return 'readCurrent';
    case Command.Valve:
      return 'valve';
    case Command.ReadBattery:
      return 'readBattery';
    case Command.Identify:
      return 'identify';
    default:
      return `unknown${(cmd & 0xff).toString(16).toUpperCase().padStart(2, '0')}`;
  }
}

/** VALVE action byte (spec 4). */
export const ValveAction = { open: 0x01, close: 0x02 } as const;
export type ValveActionName = keyof typeof ValveAction;

/** Error reply CODE (spec 4 "Error replies"). */
export const ErrorCode = {
  UnknownCommand: 0x01,
  BadData: 0x02,
  ValveRefused: 0x03,
  ValveFault: 0x04,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function errorCodeName(code: number): string {
  switch (code) {
    case ErrorCode.UnknownCommand:
      return 'unknown-command';
    case ErrorCode.BadData:
      return 'bad-data';
    case ErrorCode.ValveRefused:
      return 'valve-refused';
    case ErrorCode.ValveFault:
      return 'valve-fault';
    default:
      return 'unknown';
  }
}

/** IDENTIFY KIND byte (spec 4). */
export const MeterKindCode = { gas: 0x01, 'cold-water': 0x02, 'hot-water': 0x03 } as const;
export type MlgwMeterKind = keyof typeof MeterKindCode;

/** TIME epoch: 2000-01-01 00:00:00 meter local time (spec 4). As epoch ms of that wall time read in UTC. */
export const TIME_EPOCH_UTC_MS = Date.UTC(2000, 0, 1, 0, 0, 0);

/** Air line (spec 1): 2400 bit/s, 10 bit times a byte (8N1). */
export const AIR_BAUD_RATE = 2400;
export const AIR_BITS_PER_BYTE = 10;
/** Silence that ends a frame cut short: 50 ms = 12 character times (spec 2). */
export const INTER_BYTE_TIMEOUT_MS = 50;
/** A meter answers 20 ms after the last CRC byte (spec 6). */
export const REPLY_DELAY_MS = 20;
/** The converter waits this long for the first reply byte after its request's last byte (spec 6). */
export const REPLY_TIMEOUT_MS = 500;
/** Attempts the converter makes on the hop (spec 7). */
export const HOP_ATTEMPTS = 3;
/** Wake-up preamble: 1.25 x the sniff period (spec 5; MM-06: >= 2 s, default 2.5 s for 2 s). */
export const WAKE_UP_FACTOR = 1.25;
/** A woken meter stays awake 10 s after its last reply (spec 5). */
export const AWAKE_MS = 10_000;
