/**
 * CJ/T 188 constants. Every number names its source: a section of PROTOCOLS.md
 * (shared/protocols/PROTOCOLS.md, section 2). `[BK]` marks background knowledge not yet confirmed
 * against a retrieved source: implemented, but a hypothesis to verify against the standard text.
 */

/** Frame start character 68H (PROTOCOLS.md 2.1); it appears once, before T. */
export const START = 0x68;
/** Frame end character 16H (PROTOCOLS.md 2.1). */
export const END = 0x16;
/** Wake-up preamble byte FEH: 2 in KingDa firmware, 3-5 in field tools; not covered by CS (PROTOCOLS.md 2.1). */
export const PREAMBLE_BYTE = 0xfe;
/** Bytes of the address A0..A6 (PROTOCOLS.md 2.1). */
export const ADDRESS_LENGTH = 7;
/** Offsets from the 68H (PROTOCOLS.md 2.1, xijunzhou cj188.h: type 1, addr 2, ctrl 9, len 10, data 11). */
export const TYPE_OFFSET = 1;
export const ADDRESS_OFFSET = 2;
export const CONTROL_OFFSET = 9;
export const LENGTH_OFFSET = 10;
/** Offset of DI0 (the first byte L counts) from the 68H: 68 T A0..A6 C L (PROTOCOLS.md 2.1). */
export const HEADER_LENGTH = 11;
/** Bytes of a frame without preamble and L-counted bytes: 68 T A0..A6 C L .. CS 16 (PROTOCOLS.md 2.1). */
export const FRAME_OVERHEAD = 13;
/** DI0 DI1 SER: the first three bytes L counts (PROTOCOLS.md 2.1). */
export const DI_LENGTH = 2;
export const DI_SER_LENGTH = 3;
/** L is one byte (PROTOCOLS.md 2.1); no source gives a smaller maximum, so 255 is the default [BK]. */
export const MAX_DATA_LENGTH = 0xff;

/** The wildcard byte: meter type AAH = any type, address AA x7 = any meter (PROTOCOLS.md 2.2, vectors). */
export const WILDCARD_BYTE = 0xaa;
export const WILDCARD_ADDRESS = 'AAAAAAAAAAAAAA';

/** Control field bits (PROTOCOLS.md 2.3): D7 direction (1 = slave reply), D6 abnormal, D5..D0 function. */
export const CONTROL_DIRECTION_BIT = 0x80;
export const CONTROL_ABNORMAL_BIT = 0x40;
export const CONTROL_FUNCTION_MASK = 0x3f;

/** Function codes D5..D0 (PROTOCOLS.md 2.3 table: sources agree 03 = read address, 09 = read key version). */
export const FunctionCode = {
  ReadData: 0x01,
  ReadAddress: 0x03,
  WriteData: 0x04,
  ReadKeyVersion: 0x09,
  WriteAddress: 0x15,
  WriteSyncData: 0x16,
  /** Fox-Edge vendor valve operation 2AH (reply AAH) instead of 04H + A017 (PROTOCOLS.md 2.3, vectors). */
  VendorValveControl: 0x2a,
} as const;
export type FunctionCode = (typeof FunctionCode)[keyof typeof FunctionCode];

const FUNCTION_NAMES: Readonly<Record<number, string>> = {
  [FunctionCode.ReadData]: 'readData',
  [FunctionCode.ReadAddress]: 'readAddress',
  [FunctionCode.WriteData]: 'writeData',
  [FunctionCode.ReadKeyVersion]: 'readKeyVersion',
  [FunctionCode.WriteAddress]: 'writeAddress',
  [FunctionCode.WriteSyncData]: 'writeSyncData',
  [FunctionCode.VendorValveControl]: 'vendorValveControl',
};

/** Name of function code D5..D0, or `unknownXX`. */
export function functionName(code: number): string {
  const fc = code & CONTROL_FUNCTION_MASK;
  return FUNCTION_NAMES[fc] ?? `unknown${fc.toString(16).toUpperCase().padStart(2, '0')}`;
}

/**
 * Meter type T (PROTOCOLS.md 2.2): 10 cold water, 11 hot water, 12 drinking water, 13 reclaimed
 * water, 20 heat meter (heat), 21 heat meter (cooling), 30 gas, 40 electricity, AA any type.
 */
export const MeterType = {
  ColdWater: 0x10,
  HotWater: 0x11,
  DrinkingWater: 0x12,
  ReclaimedWater: 0x13,
  Heat: 0x20,
  Cooling: 0x21,
  Gas: 0x30,
  Electricity: 0x40,
  Any: 0xaa,
} as const;
export type MeterType = (typeof MeterType)[keyof typeof MeterType];

export interface MeterTypeInfo {
  readonly code: number;
  /** camelCase name; `custom` for a type the standard does not list. */
  readonly name: string;
  readonly nameZh: string;
  /** Family that selects payload layouts (901F is laid out differently for heat meters). */
  readonly family: MeterFamily;
}

export type MeterFamily = 'water' | 'heat' | 'gas' | 'electricity' | 'any' | 'custom';

const METER_TYPES: readonly MeterTypeInfo[] = [
  { code: 0x10, name: 'coldWater', nameZh: '冷水水表', family: 'water' },
  { code: 0x11, name: 'hotWater', nameZh: '生活热水水表', family: 'water' },
  { code: 0x12, name: 'drinkingWater', nameZh: '直饮水水表', family: 'water' },
  { code: 0x13, name: 'reclaimedWater', nameZh: '中水水表', family: 'water' },
  { code: 0x20, name: 'heat', nameZh: '热量表(计热量)', family: 'heat' },
  { code: 0x21, name: 'cooling', nameZh: '热量表(计冷量)', family: 'heat' },
  { code: 0x30, name: 'gas', nameZh: '燃气表', family: 'gas' },
  { code: 0x40, name: 'electricity', nameZh: '电度表', family: 'electricity' },
  { code: 0xaa, name: 'any', nameZh: '任意类型', family: 'any' },
];

/**
 * What a meter type byte means. Types outside the table are `custom`; their family follows the
 * high nibble (1x water, 2x heat, 3x gas, 4x electricity) [BK: the standard's type ranges are
 * recalled, not read; one real heat meter answers with type 25H, vector 22].
 */
export function meterTypeInfo(code: number): MeterTypeInfo {
  const t = code & 0xff;
  const known = METER_TYPES.find((m) => m.code === t);
  if (known) return known;
  const families: Readonly<Record<number, MeterFamily>> = { 1: 'water', 2: 'heat', 3: 'gas', 4: 'electricity' };
  return { code: t, name: 'custom', nameZh: '自定义', family: families[t >> 4] ?? 'custom' };
}

export function meterTypes(): readonly MeterTypeInfo[] {
  return METER_TYPES;
}
