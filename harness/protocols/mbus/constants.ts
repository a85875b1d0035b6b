/**
 * Numbers of wired M-Bus (EN 13757-2 link layer, EN 13757-3 application layer), each with the
 * section of shared/protocols/MBUS.md it comes from. [BK] marks a fact MBUS.md does not confirm.
 */

// ---------------------------------------------------------------------------------------------
// Frames (MBUS.md 2)

/** Single character: the slave's acknowledgement (MBUS.md 2). */
export const SINGLE_CHARACTER = 0xe5;
/** Start of a short frame `10 C A CS 16` (MBUS.md 2). */
export const SHORT_START = 0x10;
/** Start (twice) of a control or long frame `68 L L 68 C A CI data CS 16` (MBUS.md 2). */
export const LONG_START = 0x68;
/** Stop character of short, control and long frames (MBUS.md 2). */
export const STOP = 0x16;
/** A short frame is exactly 5 bytes (MBUS.md 2). */
export const SHORT_FRAME_LENGTH = 5;
/** L counts C, A and CI at least: a control frame has L = 3 (MBUS.md 2). */
export const MIN_L_FIELD = 3;
/** L counts C, A, CI and the data: data length = L - 3, at most 252 (MBUS.md 2). */
export const MAX_DATA_LENGTH = 252;
/** Bytes of a long frame besides its data: 68 L L 68 C A CI .. CS 16 (total = L + 6, MBUS.md 2). */
export const LONG_FRAME_OVERHEAD = 9;
/** Offset of the first data byte (after CI) in a long frame. */
export const LONG_DATA_OFFSET = 7;

// ---------------------------------------------------------------------------------------------
// C field (MBUS.md 3)

/** Bit 6: 1 = master to slave (a "primary" message), 0 = slave to master. */
export const C_DIRECTION_MASTER = 0x40;
/** Bit 5: FCB in master frames, ACD in slave frames. */
export const C_FCB_ACD = 0x20;
/** Bit 4: FCV in master frames, DFC in slave frames. */
export const C_FCV_DFC = 0x10;
/** Low nibble: the function code. */
export const C_FUNCTION_MASK = 0x0f;

/** Function codes (low nibble of C, MBUS.md 3). */
export const FunctionCode = {
  SND_NKE: 0x0,
  SND_UD: 0x3,
  REQ_UD1: 0xa,
  REQ_UD2: 0xb,
  RSP_UD: 0x8,
} as const;
export type FunctionName = keyof typeof FunctionCode;

/** C fields: SND_NKE 40, SND_UD 53/73, REQ_UD1 5A/7A, REQ_UD2 5B/7B, RSP_UD 08 (+10 DFC, +20 ACD) (MBUS.md 3). */
export const C = {
  SND_NKE: 0x40,
  SND_UD: 0x53,
  SND_UD_FCB: 0x73,
  REQ_UD1: 0x5a,
  REQ_UD1_FCB: 0x7a,
  REQ_UD2: 0x5b,
  REQ_UD2_FCB: 0x7b,
  RSP_UD: 0x08,
} as const;

/**
 * C fields a short frame may carry: SND_NKE, REQ_UD1, REQ_UD2 with either FCB (MBUS.md 2,
 * libmbus's parser rule; the standard's own list is [BK]).
 */
export const SHORT_FRAME_C_FIELDS: ReadonlySet<number> = new Set([0x40, 0x5a, 0x7a, 0x5b, 0x7b]);
/** C fields a control or long frame may carry: SND_UD 53/73, RSP_UD 08/18/28/38 (MBUS.md 2, libmbus's rule). */
export const LONG_FRAME_C_FIELDS: ReadonlySet<number> = new Set([0x53, 0x73, 0x08, 0x18, 0x28, 0x38]);

// ---------------------------------------------------------------------------------------------
// A field (MBUS.md 4)

export const ADDRESS_UNCONFIGURED = 0;
/** Highest primary address (1..250 are primary addresses). */
export const MAX_PRIMARY_ADDRESS = 250;
/** 253 (FD): the slave selected by secondary address (network layer). */
export const ADDRESS_NETWORK_LAYER = 0xfd;
/** 254 (FE): broadcast, every slave replies (only safe with one slave on the bus). */
export const ADDRESS_BROADCAST_REPLY = 0xfe;
/** 255 (FF): broadcast, no slave replies. */
export const ADDRESS_BROADCAST_NO_REPLY = 0xff;

// ---------------------------------------------------------------------------------------------
// CI field (MBUS.md 5)

export const CI = {
  /** Master: application reset (optional 1-byte sub-code). */
  APPLICATION_RESET: 0x50,
  /** Master: data send, LSB first. */
  DATA_SEND: 0x51,
  /** Master: select slave by secondary address (mode 1). */
  SELECTION: 0x52,
  /** Slave: application error, 1 data byte = error code. */
  APPLICATION_ERROR: 0x70,
  /** Slave: variable data response with the 12-byte header. */
  VARIABLE_DATA: 0x72,
  /** Slave: legacy fixed-data response (16 bytes). */
  FIXED_DATA: 0x73,
  /** Slave: variable data without header. */
  VARIABLE_DATA_NO_HEADER: 0x78,
  /** Slave: variable data with the short 4-byte header. */
  VARIABLE_DATA_SHORT_HEADER: 0x7a,
} as const;

/** CI B8..BF: switch baud rate to 300, 600, 1200, 2400, 4800, 9600, 19200, 38400 (MBUS.md 5). */
export const BAUD_RATE_CI_FIRST = 0xb8;
export const BAUD_RATES_BY_CI: readonly number[] = [300, 600, 1200, 2400, 4800, 9600, 19200, 38400];

/** Application error codes of CI 70 (MBUS.md 5). */
export const APPLICATION_ERRORS: Readonly<Record<number, string>> = {
  0x00: 'unspecified error',
  0x01: 'unimplemented CI-field',
  0x02: 'buffer too long, truncated',
  0x03: 'too many records',
  0x04: 'premature end of record',
  0x05: 'more than 10 DIFEs',
  0x06: 'more than 10 VIFEs',
  0x07: 'reserved',
  0x08: 'application too busy for handling readout request',
  0x09: 'too many readouts (for slaves with limited readouts per time)',
};

// ---------------------------------------------------------------------------------------------
// Fixed header (MBUS.md 7)

/** Length of the long header of CI 72: ID 4, manufacturer 2, version, medium, access no, status, signature 2. */
export const LONG_HEADER_LENGTH = 12;
/** Length of the short header of CI 7A: access no, status, signature 2. */
export const SHORT_HEADER_LENGTH = 4;
/** Length of legacy fixed data (CI 73). */
export const FIXED_DATA_LENGTH = 16;
/** Length of the selection data (CI 52): ID 4, manufacturer 2, version, medium. */
export const SELECTION_LENGTH = 8;

/** Medium (device type) byte of the header (MBUS.md 7). */
export const MEDIA: Readonly<Record<number, string>> = {
  0x00: 'Other',
  0x01: 'Oil',
  0x02: 'Electricity',
  0x03: 'Gas',
  0x04: 'Heat (outlet)',
  0x05: 'Steam',
  0x06: 'Warm water (30-90 °C)',
  0x07: 'Water',
  0x08: 'Heat cost allocator',
  0x09: 'Compressed air',
  0x0a: 'Cooling load meter (outlet)',
  0x0b: 'Cooling load meter (inlet)',
  0x0c: 'Heat (inlet)',
  0x0d: 'Heat / cooling load meter',
  0x0e: 'Bus / system',
  0x0f: 'Unknown medium',
  0x10: 'Irrigation water',
  0x11: 'Water data logger',
  0x12: 'Gas data logger',
  0x13: 'Gas converter',
  0x14: 'Calorific value',
  0x15: 'Hot water (>90 °C)',
  0x16: 'Cold water',
  0x17: 'Dual water',
  0x18: 'Pressure',
  0x19: 'A/D converter',
  0x1a: 'Smoke detector',
  0x1b: 'Room sensor',
  0x1c: 'Gas detector',
  0x20: 'Breaker (electricity)',
  0x21: 'Valve (gas or water)',
  0x25: 'Customer unit (display)',
  0x28: 'Waste water',
  0x29: 'Garbage',
  0x30: 'Service unit',
  0x36: 'Radio converter (system side)',
  0x37: 'Radio converter (meter side)',
};

/** Media of heat meters (outlet, inlet, heat/cooling): the meters of issue 11. */
export const HEAT_MEDIA: readonly number[] = [0x04, 0x0c, 0x0d];

// ---------------------------------------------------------------------------------------------
// Data records (MBUS.md 8)

/** DIF/DIFE/VIF/VIFE bit 7: another extension byte follows. */
export const EXTENSION_BIT = 0x80;
/** At most 10 DIFEs and 10 VIFEs per record (MBUS.md 8). */
export const MAX_DIFE = 10;
export const MAX_VIFE = 10;
/** DIF bit 6: least significant bit of the storage number. */
export const DIF_STORAGE_BIT = 0x40;
/** DIF bits 5-4: function field. */
export const DIF_FUNCTION_MASK = 0x30;
/** DIF bits 3-0: data field coding. */
export const DIF_DATA_MASK = 0x0f;
/** DIFE bit 6: one bit of the subunit; bits 5-4: two bits of the tariff; bits 3-0: four bits of the storage number. */
export const DIFE_SUBUNIT_BIT = 0x40;
export const DIFE_TARIFF_MASK = 0x30;
export const DIFE_STORAGE_MASK = 0x0f;

/** Special DIFs (whole byte, MBUS.md 8). */
export const DIF_MANUFACTURER_SPECIFIC = 0x0f;
export const DIF_MORE_RECORDS_FOLLOW = 0x1f;
export const DIF_IDLE_FILLER = 0x2f;
export const DIF_GLOBAL_READOUT = 0x7f;

/** Function field values (DIF bits 5-4). */
export const FUNCTIONS = ['instantaneous', 'maximum', 'minimum', 'error'] as const;
export type RecordFunction = (typeof FUNCTIONS)[number];

/** Data bytes per data field code 0..F, -1 where the length is not fixed (D variable, F special) (MBUS.md 8). */
export const DATA_FIELD_LENGTHS: readonly number[] = [0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, -1];
export const DATA_FIELD = {
  NONE: 0x0,
  INT8: 0x1,
  INT16: 0x2,
  INT24: 0x3,
  INT32: 0x4,
  REAL32: 0x5,
  INT48: 0x6,
  INT64: 0x7,
  SELECTION_FOR_READOUT: 0x8,
  BCD2: 0x9,
  BCD4: 0xa,
  BCD6: 0xb,
  BCD8: 0xc,
  VARIABLE: 0xd,
  BCD12: 0xe,
  SPECIAL: 0xf,
} as const;

/** VIF codes with a meaning of their own (E bit masked, MBUS.md 9). */
export const VIF = {
  DATE: 0x6c,
  DATE_TIME: 0x6d,
  PLAIN_TEXT: 0x7c,
  EXTENSION_FB: 0x7b,
  EXTENSION_FD: 0x7d,
  ANY: 0x7e,
  MANUFACTURER: 0x7f,
} as const;
/** Longest plain-text VIF accepted (MBUS.md 12: "plain-text VIF length <= 128"). */
export const MAX_PLAIN_TEXT_VIF = 128;
