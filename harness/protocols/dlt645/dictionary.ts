/**
 * The DL/T 645 data dictionary: one definition per data identifier (DI) with name, format,
 * length, unit, access and category, and the value codecs built from them. The codec's JSON
 * rendering, the meter simulator, the suites and the reports all read this table; nobody re-types
 * it. Section numbers refer to ../shared/protocols/PROTOCOLS.md.
 *
 * Shapes of decoded values (DataValue):
 * - a single value: number (scaled decimal, count, binary word), digit string (address), hex
 *   string (password, operator code) or a date/time record ({year, month, day, hour, minute});
 * - a record item (maximum demand + time, event records): {field: value, ...} in `fields` order;
 * - a block (DI with FF, e.g. 0001FF00): an array, one value per member, in member order;
 * - "absent" (ABSENT_VALUE) for a BCD field sent as FF…FF.
 *
 * Blocks of total + tariffs follow the meter's tariff count (`repeat`): the members listed are
 * the 4-tariff default; a payload of 4 + 4k bytes decodes to 1 + k values, k = 0..63 [BK].
 *
 * Everything here is pure: no I/O, no clock. Decoding never throws on wire bytes.
 */
import { byteHex, concatBytes } from '../../core/bytes.ts';
import { decodeError, EncodeError, type DecodeError } from '../../core/errors.ts';
import { err, ok, type Result } from '../../core/result.ts';
import type {
  Access,
  DataFieldDefinition,
  DataItemCategory,
  DataItemDefinition,
  DataValue,
  DecodeValueOptions,
  Dlt645Dictionary,
  StatusBitField,
  ValueEncoding,
} from './dictionary-types.ts';
import { ABSENT_VALUE, bytesToHex, hexToBytes, valueFieldCodec, type ValueFieldCodec, type ValueFieldSpec } from './formats.ts';
import { LOAD_RECORD_MAX_COUNT, loadRecordBlockLength } from './load-record.ts';

// =============================================================================================
// Status word 3 (PROTOCOLS.md 1.8)

const SW3_SOURCE = 'PROTOCOLS.md 1.8';
const SW3_SOURCE_2013 = 'PROTOCOLS.md 1.8 [BK] (2013 smart-meter amendments, one source)';

/** Status word 3 (DI 04000503), bit 0 first. */
export const STATUS_WORD_3_BITS = [
  { name: 'timeSlotTable', bit: 0, width: 1, meaning: 'current daily time-slot table', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'powerSupply', bit: 1, width: 2, meaning: 'supply', values: ['main', 'auxiliary', 'battery', 'reserved'], source: SW3_SOURCE },
  { name: 'programmingAllowed', bit: 3, width: 1, meaning: 'programming allowed', values: [false, true], source: SW3_SOURCE },
  { name: 'relay', bit: 4, width: 1, meaning: 'relay state (0 closed/通, 1 open/断)', values: ['closed', 'open'], source: SW3_SOURCE },
  { name: 'timeZoneTable', bit: 5, width: 1, meaning: 'current time-zone table', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'relayCommand', bit: 6, width: 1, meaning: 'relay command state (0 close, 1 trip)', values: ['close', 'trip'], source: SW3_SOURCE },
  { name: 'preTripAlarm', bit: 7, width: 1, meaning: 'pre-trip alarm', values: [false, true], source: SW3_SOURCE },
  {
    name: 'meterType',
    bit: 8,
    width: 2,
    meaning: 'meter type (00 non-prepaid, 01 energy-prepaid, 10 money-prepaid)',
    values: ['nonPrepaid', 'energyPrepaid', 'moneyPrepaid', 'reserved'],
    source: SW3_SOURCE,
  },
  { name: 'tariffPriceSet', bit: 10, width: 1, meaning: 'current tariff-price set', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'ladderSet', bit: 11, width: 1, meaning: 'current ladder (step) set', values: ['first', 'second'], source: SW3_SOURCE },
  { name: 'keepPower', bit: 12, width: 1, meaning: 'keep-power (保电) state', values: [false, true], source: SW3_SOURCE_2013 },
  // [BK] polarity of bits 13-15 unconfirmed (some texts read 0 as "valid"/"opened").
  { name: 'identityAuthenticated', bit: 13, width: 1, meaning: 'identity-authentication state [BK]', values: [false, true], source: SW3_SOURCE_2013 },
  { name: 'localAccountOpened', bit: 14, width: 1, meaning: 'local account opened [BK]', values: [false, true], source: SW3_SOURCE_2013 },
  { name: 'remoteAccountOpened', bit: 15, width: 1, meaning: 'remote account opened [BK]', values: [false, true], source: SW3_SOURCE_2013 },
] as const satisfies readonly StatusBitField[];

type Sw3Bits = (typeof STATUS_WORD_3_BITS)[number];

/** Status word 3 as named fields. */
export type StatusWord3 = { -readonly [B in Sw3Bits as B['name']]: B['values'][number] };

/** Named fields of status word 3 (2-byte binary word, bit 0 first). */
export function decodeStatusWord3(word: number): StatusWord3 {
  return decodeStatusBits(STATUS_WORD_3_BITS, word) as StatusWord3;
}

/** Status word 3 from named fields; a missing field is its raw-0 value. Throws EncodeError on unknown values. */
export function encodeStatusWord3(fields: Partial<StatusWord3>): number {
  return encodeStatusBits(STATUS_WORD_3_BITS, fields as Readonly<Record<string, string | boolean>>);
}

function decodeStatusBits(bits: readonly StatusBitField[], word: number): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const f of bits) out[f.name] = f.values[Math.floor(word / 2 ** f.bit) % 2 ** f.width]!;
  return out;
}

function encodeStatusBits(bits: readonly StatusBitField[], fields: Readonly<Record<string, string | boolean | undefined>>): number {
  for (const key of Object.keys(fields)) {
    if (!bits.some((f) => f.name === key)) throw new EncodeError(`status word has no field "${key}"`);
  }
  let word = 0;
  for (const f of bits) {
    const v = fields[f.name];
    const raw = v === undefined ? 0 : f.values.indexOf(v);
    if (raw < 0) throw new EncodeError(`status word field ${f.name} cannot be ${JSON.stringify(v)} (one of ${f.values.join(', ')})`);
    word += raw * 2 ** f.bit;
  }
  return word;
}

// =============================================================================================
// Building the table

/** Tariffs listed in blocks and defined as their own DIs (DI1 01..04). */
const TARIFFS = 4;
/** A meter may have up to 63 tariffs (Fox CSV 04000204 "费率数 k≤63"); blocks accept 0..63 [BK]. */
const MAX_TARIFFS = 63;
/** 1997 blocks: up to 14 tariffs [BK]. */
const MAX_TARIFFS_1997 = 14;
const SETTLEMENTS = 12;
const DAILY_FREEZES = 62;
const EVENT_RECORDS = 10;
const PURCHASE_RECORDS = 10;
/** Harmonics 1..21 of tables A.3 (DI0 01..15H) [src: bob E_D07_PARA_HARM]. */
const HARMONICS = 21;

const SRC = {
  table: 'PROTOCOLS.md 1.9',
  fox: 'PROTOCOLS.md 1.9 (Fox CSV)',
  vector: 'vector',
  v1997: 'PROTOCOLS.md 1.10',
  // Sources of the appendix A families added for issue 6 (see the section comments):
  /** Identifier decoder of a 2012 C library: DI ranges, lengths, names per table A.1..A.7. */
  bob: 'bobyuxinyang/dlt645_2007:dlt645_api_07.c get_d07_ruler_info',
  /** The same library's record structures (field order of event records). */
  bobRec: 'bobyuxinyang/dlt645_2007:dlt645_api_07.h record structs',
  /** A meter firmware's storage table: wire lengths of event records and parameters. */
  fw: 'unattributed public code (meter firmware storage table Data_Para_Storage)',
  /** A transcription of the standard's table A.4 (event records), first rows. */
  a4: 'toolkit.eoiot.cn/documentation/appendix-A-4 (table A.4 transcription)',
  /** A transcription of the standard's table A.5 (parameters), 04000101..040006xx. */
  a5: 'chinasem.cn/article/1129453 (table A.5 transcription)',
} as const;

function ordinal(n: number): string {
  const t = n % 100;
  if (t >= 11 && t <= 13) return `${n}th`;
  switch (n % 10) {
    case 1:
      return `${n}st`;
    case 2:
      return `${n}nd`;
    case 3:
      return `${n}rd`;
    default:
      return `${n}th`;
  }
}

const hex2 = (n: number): string => byteHex(n);
const di4 = (di3: number, di2: number, di1: number, di0: number): string => hex2(di3) + hex2(di2) + hex2(di1) + hex2(di0);
const PHASES = ['A', 'B', 'C'] as const;

const table: DataItemDefinition[] = [];
const byDi = new Map<string, DataItemDefinition>();

function define(def: DataItemDefinition): DataItemDefinition {
  if (byDi.has(def.di)) throw new Error(`DL/T 645 dictionary: ${def.di} defined twice`);
  const frozen = Object.freeze({
    ...def,
    ...(def.members === undefined ? {} : { members: Object.freeze([...def.members]) }),
    ...(def.fields === undefined ? {} : { fields: Object.freeze(def.fields.map((f) => Object.freeze({ ...f }))) }),
    ...(def.repeat === undefined ? {} : { repeat: Object.freeze({ ...def.repeat }) }),
    ...(def.lengthRange === undefined ? {} : { lengthRange: Object.freeze({ ...def.lengthRange }) }),
  });
  table.push(frozen);
  byDi.set(frozen.di, frozen);
  return frozen;
}

interface ValueOptions {
  readonly di: string;
  readonly edition?: '2007' | '1997';
  readonly name: string;
  readonly nameZh?: string;
  readonly format: string;
  readonly length: number;
  readonly unit?: string;
  readonly access?: Access;
  readonly category: DataItemCategory;
  readonly source: string;
  readonly signed?: boolean;
  readonly encoding?: ValueEncoding;
  readonly bits?: readonly StatusBitField[];
}

/** A single value. */
function value(o: ValueOptions): DataItemDefinition {
  valueFieldCodec(o); // fail at load time on a format the codecs do not know
  return define({ edition: '2007', access: 'read', ...o } as DataItemDefinition);
}

interface RecordOptions {
  readonly di: string;
  readonly name: string;
  readonly nameZh?: string;
  readonly unit?: string;
  readonly access?: Access;
  readonly category: DataItemCategory;
  readonly source: string;
  readonly fields: readonly DataFieldDefinition[];
}

/** A record of named fields, in wire order. */
function record(o: RecordOptions): DataItemDefinition {
  let length = 0;
  for (const f of o.fields) {
    valueFieldCodec(f);
    length += f.length * (f.count ?? 1);
  }
  const format = o.fields.map((f) => (f.count === undefined ? f.format : `${f.count}×${f.format}`)).join('|');
  return define({ edition: '2007', access: 'read', ...o, format, length } as DataItemDefinition);
}

interface BlockOptions {
  readonly di: string;
  readonly edition?: '2007' | '1997';
  readonly name: string;
  readonly nameZh?: string;
  readonly category: DataItemCategory;
  readonly source: string;
  readonly members: readonly string[];
  readonly repeat?: { readonly from: number; readonly min: number; readonly max: number };
}

/** A data block: the members' values one after the other. */
function block(o: BlockOptions): DataItemDefinition {
  const members = o.members.map((di) => {
    const m = byDi.get(di);
    if (m === undefined) throw new Error(`DL/T 645 dictionary: block ${o.di} member ${di} is not defined`);
    return m;
  });
  const formats = [...new Set(members.map((m) => m.format))];
  const units = [...new Set(members.map((m) => m.unit))];
  const length = members.reduce((n, m) => n + m.length, 0);
  const unit = units.length === 1 ? units[0] : undefined;
  return define({
    edition: '2007',
    access: 'read',
    ...o,
    // "5×XXXXXX.XX" for a block of like members; the members' formats joined by | otherwise.
    format: formats.length === 1 ? `${members.length}×${formats[0]!}` : members.map((m) => m.format).join('|'),
    length,
    ...(unit === undefined ? {} : { unit }),
  } as DataItemDefinition);
}

interface OpaqueOptions {
  readonly di: string;
  readonly name: string;
  readonly nameZh?: string;
  readonly category: DataItemCategory;
  readonly source: string;
  readonly min: number;
  readonly max: number;
}

/** A variable-length item whose layout is not known: `min`..`max` bytes, decoded to hex in wire order. */
function opaque(o: OpaqueOptions): DataItemDefinition {
  const { min, max, ...rest } = o;
  return define({ edition: '2007', access: 'read', ...rest, format: `NN…NN (${min}..${max} bytes)`, length: min, encoding: 'bytes', lengthRange: { min, max } });
}

// ---------------------------------------------------------------------------------------------
// DI3 = 00: energy

interface EnergyKind {
  readonly di2: number;
  readonly en: string;
  readonly zh: string;
  readonly energyUnit: string;
  readonly demandUnit: string;
  /** Combined quantities can be negative: sign bit [BK]. */
  readonly signed: boolean;
  /** Where the family comes from, when not PROTOCOLS.md 1.9 (the families added for appendix A). */
  readonly source?: string;
}

const ENERGY_KINDS: readonly EnergyKind[] = [
  { di2: 0x00, en: 'combined active', zh: '组合有功', energyUnit: 'kWh', demandUnit: 'kW', signed: true },
  { di2: 0x01, en: 'forward active', zh: '正向有功', energyUnit: 'kWh', demandUnit: 'kW', signed: false },
  { di2: 0x02, en: 'reverse active', zh: '反向有功', energyUnit: 'kWh', demandUnit: 'kW', signed: false },
  { di2: 0x03, en: 'combined reactive 1', zh: '组合无功1', energyUnit: 'kvarh', demandUnit: 'kvar', signed: true },
  { di2: 0x04, en: 'combined reactive 2', zh: '组合无功2', energyUnit: 'kvarh', demandUnit: 'kvar', signed: true },
  { di2: 0x05, en: 'quadrant I reactive', zh: '第一象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
  { di2: 0x06, en: 'quadrant II reactive', zh: '第二象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
  { di2: 0x07, en: 'quadrant III reactive', zh: '第三象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
  { di2: 0x08, en: 'quadrant IV reactive', zh: '第四象限无功', energyUnit: 'kvarh', demandUnit: 'kvar', signed: false },
];

const SIGN_SOURCE = '[BK] sign bit in the top bit (unattributed public code: list of signed DL/T 645-2007 items)';

function settlementEn(s: number): string {
  return s === 0 ? '' : `, last ${ordinal(s)} settlement`;
}
function settlementZh(s: number): string {
  return s === 0 ? '(当前)' : `(上${s}结算日)`;
}

/** Total + tariff energies and their block, current and last 1..12 settlements (DI1 00, 01..04, FF; DI0 00..0C). */
function energyFamily(k: EnergyKind): void {
  for (let s = 0; s <= SETTLEMENTS; s++) {
    const source = [k.source ?? (k.di2 === 0x01 && s === 0 ? `${SRC.table}; ${SRC.vector}` : SRC.fox), ...(k.signed ? [SIGN_SOURCE] : [])].join('; ');
    const members: string[] = [];
    members.push(
      value({
        di: di4(0x00, k.di2, 0x00, s),
        name: `${k.en} total energy${settlementEn(s)}`,
        nameZh: `${settlementZh(s)}${k.zh}总电能`,
        format: 'XXXXXX.XX',
        length: 4,
        unit: k.energyUnit,
        category: 'energy',
        signed: k.signed,
        source,
      }).di,
    );
    for (let t = 1; t <= TARIFFS; t++) {
      members.push(
        value({
          di: di4(0x00, k.di2, t, s),
          name: `${k.en} energy, tariff ${t}${settlementEn(s)}`,
          nameZh: `${settlementZh(s)}${k.zh}费率${t}电能`,
          format: 'XXXXXX.XX',
          length: 4,
          unit: k.energyUnit,
          category: 'energy',
          signed: k.signed,
          source: `${source}; tariff members of the 0001FF00 block [vec]`,
        }).di,
      );
    }
    block({
      di: di4(0x00, k.di2, 0xff, s),
      name: `${k.en} energy block (total and tariffs)${settlementEn(s)}`,
      nameZh: `${settlementZh(s)}${k.zh}电能数据块`,
      category: 'energy',
      members,
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${k.source ?? (k.di2 === 0x01 && s === 0 ? `${SRC.table}; ${SRC.vector}` : SRC.table)}; tariff count 0..${MAX_TARIFFS} [BK]`,
    });
  }
}
ENERGY_KINDS.forEach(energyFamily);

// Apparent energies, DI2 09 / 0A: the same total + tariff + block shape as DI2 00..08 [src: bob,
// both in its enum and its decoder]; one source [BK].
const APPARENT_KINDS: readonly EnergyKind[] = [
  { di2: 0x09, en: 'forward apparent', zh: '正向视在', energyUnit: 'kVAh', demandUnit: 'kVA', signed: false, source: `${SRC.bob} [BK]` },
  { di2: 0x0a, en: 'reverse apparent', zh: '反向视在', energyUnit: 'kVAh', demandUnit: 'kVA', signed: false, source: `${SRC.bob} [BK]` },
];
APPARENT_KINDS.forEach(energyFamily);

/**
 * Totals without tariffs (DI1 00 only), DI2 80..86 [src: bob], and the per-phase energies: the
 * phase A item of a total with DI2 = d is DI2 = d + 14H, phase B d + 28H, phase C d + 3CH (A 15..1E
 * and 94..9A, B 29..32 and A8..AE, C 3D..46 and BC..C2) [src: bob enum ranges and decoder]. One
 * source [BK]. Current and last 1..12 settlements (DI0 00..0C), XXXXXX.XX in 4 bytes.
 */
const TOTAL_ONLY_ENERGIES: readonly { di2: number; en: string; zh: string; unit: string; signed: boolean }[] = [
  { di2: 0x80, en: 'associated total energy', zh: '关联总电能', unit: 'kWh', signed: false },
  { di2: 0x81, en: 'forward active fundamental total energy', zh: '正向有功基波总电能', unit: 'kWh', signed: false },
  { di2: 0x82, en: 'reverse active fundamental total energy', zh: '反向有功基波总电能', unit: 'kWh', signed: false },
  { di2: 0x83, en: 'forward active harmonic total energy', zh: '正向有功谐波总电能', unit: 'kWh', signed: false },
  { di2: 0x84, en: 'reverse active harmonic total energy', zh: '反向有功谐波总电能', unit: 'kWh', signed: false },
  { di2: 0x85, en: 'copper-loss active total energy compensation', zh: '铜损有功总电能补偿量', unit: 'kWh', signed: false },
  { di2: 0x86, en: 'iron-loss active total energy compensation', zh: '铁损有功总电能补偿量', unit: 'kWh', signed: false },
];
/** DI2 offset of phase A; B and C follow at twice and three times it [src: bob]. */
const PHASE_DI2_STEP = 0x14;
const PER_PHASE_ENERGIES = [
  ...[...ENERGY_KINDS, ...APPARENT_KINDS].filter((k) => k.di2 !== 0x00).map((k) => ({ di2: k.di2, en: `${k.en} energy`, zh: `${k.zh}电能`, unit: k.energyUnit, signed: k.signed })),
  ...TOTAL_ONLY_ENERGIES.map((k) => ({ ...k, en: k.en.replace(' total', ''), zh: k.zh.replace('总', '') })),
];
for (const k of TOTAL_ONLY_ENERGIES) {
  for (let s = 0; s <= SETTLEMENTS; s++) {
    value({
      di: di4(0x00, k.di2, 0x00, s),
      name: `${k.en}${settlementEn(s)}`,
      nameZh: `${settlementZh(s)}${k.zh}`,
      format: 'XXXXXX.XX',
      length: 4,
      unit: k.unit,
      category: 'energy',
      signed: k.signed,
      source: `${SRC.bob} [BK]`,
    });
  }
}
PHASES.forEach((p, i) => {
  for (const k of PER_PHASE_ENERGIES) {
    for (let s = 0; s <= SETTLEMENTS; s++) {
      value({
        di: di4(0x00, k.di2 + PHASE_DI2_STEP * (i + 1), 0x00, s),
        name: `phase ${p} ${k.en}${settlementEn(s)}`,
        nameZh: `${settlementZh(s)}${p}相${k.zh}`,
        format: 'XXXXXX.XX',
        length: 4,
        unit: k.unit,
        category: 'energy',
        signed: k.signed,
        source: `${SRC.bob} [BK]${k.signed ? `; ${SIGN_SOURCE}` : ''}`,
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// DI3 = 01: maximum demand and its time (XX.XXXX + YYMMDDhhmm = 8 bytes, demand first [BK])

/** Total + tariff maximum demands and their block, current and last 1..12 settlements. */
function demandFamily(k: EnergyKind): void {
  for (let s = 0; s <= SETTLEMENTS; s++) {
    const fields: readonly DataFieldDefinition[] = [
      { name: 'demand', format: 'XX.XXXX', length: 3, unit: k.demandUnit, ...(k.signed ? { signed: true } : {}) },
      { name: 'time', format: 'YYMMDDhhmm', length: 5 },
    ];
    const source = `${k.source ?? SRC.fox}; field order demand then time [BK]${k.signed ? `; ${SIGN_SOURCE}` : ''}`;
    const members: string[] = [];
    members.push(
      record({
        di: di4(0x01, k.di2, 0x00, s),
        name: `${k.en} total maximum demand and time${settlementEn(s)}`,
        nameZh: `${settlementZh(s)}${k.zh}总最大需量及发生时间`,
        unit: k.demandUnit,
        category: 'demand',
        fields,
        source,
      }).di,
    );
    for (let t = 1; t <= TARIFFS; t++) {
      members.push(
        record({
          di: di4(0x01, k.di2, t, s),
          name: `${k.en} maximum demand and time, tariff ${t}${settlementEn(s)}`,
          nameZh: `${settlementZh(s)}${k.zh}费率${t}最大需量及发生时间`,
          unit: k.demandUnit,
          category: 'demand',
          fields,
          source,
        }).di,
      );
    }
    block({
      di: di4(0x01, k.di2, 0xff, s),
      name: `${k.en} maximum demand and time block (total and tariffs)${settlementEn(s)}`,
      nameZh: `${settlementZh(s)}${k.zh}最大需量及发生时间数据块`,
      category: 'demand',
      members,
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${source}; tariff count 0..${MAX_TARIFFS} [BK]`,
    });
  }
}
ENERGY_KINDS.filter((e) => e.di2 !== 0x00).forEach(demandFamily);
APPARENT_KINDS.forEach(demandFamily);

// Per-phase maximum demands: DI2 as the per-phase energies (A 15..1E, B 29..32, C 3D..46), DI1 00,
// current and last 1..12 settlements [src: bob]; one source [BK].
PHASES.forEach((p, i) => {
  for (const k of [...ENERGY_KINDS, ...APPARENT_KINDS].filter((e) => e.di2 !== 0x00)) {
    for (let s = 0; s <= SETTLEMENTS; s++) {
      record({
        di: di4(0x01, k.di2 + PHASE_DI2_STEP * (i + 1), 0x00, s),
        name: `phase ${p} ${k.en} maximum demand and time${settlementEn(s)}`,
        nameZh: `${settlementZh(s)}${p}相${k.zh}最大需量及发生时间`,
        unit: k.demandUnit,
        category: 'demand',
        fields: [
          { name: 'demand', format: 'XX.XXXX', length: 3, unit: k.demandUnit, ...(k.signed ? { signed: true } : {}) },
          { name: 'time', format: 'YYMMDDhhmm', length: 5 },
        ],
        source: `${SRC.bob} [BK]; field order demand then time [BK]${k.signed ? `; ${SIGN_SOURCE}` : ''}`,
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// DI3 = 02: instantaneous values

{
  const phaseFamily = (o: {
    di2: number;
    en: string;
    zh: string;
    format: string;
    length: number;
    unit?: string;
    signed: boolean;
    withTotal: boolean;
    source: string;
  }): void => {
    const members: string[] = [];
    if (o.withTotal) {
      members.push(
        value({
          di: di4(0x02, o.di2, 0x00, 0x00),
          name: `total ${o.en}`,
          nameZh: `总${o.zh}`,
          format: o.format,
          length: o.length,
          ...(o.unit === undefined ? {} : { unit: o.unit }),
          category: 'instantaneous',
          signed: o.signed,
          source: o.source,
        }).di,
      );
    }
    PHASES.forEach((p, i) => {
      members.push(
        value({
          di: di4(0x02, o.di2, i + 1, 0x00),
          name: `phase ${p} ${o.en}`,
          nameZh: `${p}相${o.zh}`,
          format: o.format,
          length: o.length,
          ...(o.unit === undefined ? {} : { unit: o.unit }),
          category: 'instantaneous',
          signed: o.signed,
          source: o.source,
        }).di,
      );
    });
    block({
      di: di4(0x02, o.di2, 0xff, 0x00),
      name: `${o.en} block (${o.withTotal ? 'total, ' : ''}phases A, B, C)`,
      nameZh: `${o.zh}数据块`,
      category: 'instantaneous',
      members,
      source: `${o.source}; FF…FF = phase absent [vec 0201FF00]`,
    });
  };
  const signed = `; ${SIGN_SOURCE}`;
  phaseFamily({ di2: 0x01, en: 'voltage', zh: '电压', format: 'XXX.X', length: 2, unit: 'V', signed: false, withTotal: false, source: `${SRC.table}; ${SRC.vector}` });
  phaseFamily({ di2: 0x02, en: 'current', zh: '电流', format: 'XXX.XXX', length: 3, unit: 'A', signed: true, withTotal: false, source: `${SRC.table}${signed}` });
  // Fox CSV writes XXX.XXX for the powers; PROTOCOLS.md 1.9 and the standard's table say XX.XXXX.
  phaseFamily({ di2: 0x03, en: 'active power', zh: '有功功率', format: 'XX.XXXX', length: 3, unit: 'kW', signed: true, withTotal: true, source: `${SRC.table}; ${SRC.vector}${signed}` });
  phaseFamily({ di2: 0x04, en: 'reactive power', zh: '无功功率', format: 'XX.XXXX', length: 3, unit: 'kvar', signed: true, withTotal: true, source: `${SRC.fox}; format per 1.9 02030000${signed}` });
  phaseFamily({ di2: 0x05, en: 'apparent power', zh: '视在功率', format: 'XX.XXXX', length: 3, unit: 'kVA', signed: true, withTotal: true, source: `${SRC.fox}; format per 1.9 02030000${signed}` });
  phaseFamily({ di2: 0x06, en: 'power factor', zh: '功率因数', format: 'X.XXX', length: 2, signed: true, withTotal: true, source: `${SRC.table}${signed}` });

  const inst = (di0: number, name: string, nameZh: string, format: string, length: number, unit: string, signedValue: boolean, source: string): void => {
    value({ di: di4(0x02, 0x80, 0x00, di0), name, nameZh, format, length, unit, category: 'instantaneous', signed: signedValue, source });
  };
  inst(0x01, 'neutral current', '零线电流', 'XXX.XXX', 3, 'A', true, `${SRC.fox}${signed}`);
  inst(0x02, 'grid frequency', '电网频率', 'XX.XX', 2, 'Hz', false, SRC.table);
  inst(0x03, 'one-minute average total active power', '一分钟有功总平均功率', 'XX.XXXX', 3, 'kW', false, SRC.fox);
  inst(0x04, 'current active demand', '当前有功需量', 'XX.XXXX', 3, 'kW', true, `${SRC.fox}${signed}`);
  inst(0x05, 'current reactive demand', '当前无功需量', 'XX.XXXX', 3, 'kvar', true, `${SRC.fox}${signed}`);
  inst(0x06, 'current apparent demand', '当前视在需量', 'XX.XXXX', 3, 'kVA', true, `${SRC.fox}${signed}`);
  inst(0x07, 'meter temperature', '表内温度', 'XXX.X', 2, '℃', true, `${SRC.fox}${signed}`);
  inst(0x08, 'clock battery voltage', '时钟电池电压(内部)', 'XX.XX', 2, 'V', false, SRC.fox);
  inst(0x09, 'meter-reading battery voltage', '停电抄表电池电压(外部)', 'XX.XX', 2, 'V', false, SRC.fox);
  inst(0x0a, 'internal battery working time', '内部电池工作时间', 'XXXXXXXX', 4, 'min', false, SRC.fox);
  inst(0x0b, 'current ladder price', '当前阶梯电价', 'XXXX.XXXX', 4, 'yuan/kWh', false, SRC.table);

  // Table A.3, DI2 07..0B [src: bob enum and decoder: items, phases, 21 harmonics]; formats and
  // units are not in that source [BK].
  const bk = `${SRC.bob}; format [BK]`;
  phaseFamily({ di2: 0x07, en: 'phase angle', zh: '相角', format: 'XXX.X', length: 2, unit: '°', signed: false, withTotal: false, source: bk });
  phaseFamily({ di2: 0x08, en: 'voltage waveform distortion', zh: '电压波形失真度', format: 'XX.XX', length: 2, unit: '%', signed: false, withTotal: false, source: bk });
  phaseFamily({ di2: 0x09, en: 'current waveform distortion', zh: '电流波形失真度', format: 'XX.XX', length: 2, unit: '%', signed: false, withTotal: false, source: bk });
  for (const [di2, en, zh] of [
    [0x0a, 'voltage', '电压'],
    [0x0b, 'current', '电流'],
  ] as const) {
    PHASES.forEach((p, i) => {
      const members: string[] = [];
      for (let h = 1; h <= HARMONICS; h++) {
        members.push(
          value({
            di: di4(0x02, di2, i + 1, h),
            name: `phase ${p} ${en} harmonic ${h} content`,
            nameZh: `${p}相${zh}${h}次谐波含量`,
            format: 'XX.XX',
            length: 2,
            unit: '%',
            category: 'instantaneous',
            source: bk,
          }).di,
        );
      }
      block({
        di: di4(0x02, di2, i + 1, 0xff),
        name: `phase ${p} ${en} harmonic content block (1st..${ordinal(HARMONICS)})`,
        nameZh: `${p}相${zh}谐波含量数据块`,
        category: 'instantaneous',
        members,
        source: bk,
      });
    });
  }
}

// ---------------------------------------------------------------------------------------------
// DI3 = 04: clock, identity, status words, parameters, passwords, prepaid limits

value({ di: '04000101', name: 'date and weekday', nameZh: '日期及星期', format: 'YYMMDDWW', length: 4, access: 'readWrite', category: 'clock', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '04000102', name: 'time', nameZh: '时间', format: 'hhmmss', length: 3, access: 'readWrite', category: 'clock', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '04000103', name: 'maximum demand period', nameZh: '最大需量周期', format: 'NN', length: 1, unit: 'min', access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04000104', name: 'demand slide time', nameZh: '滑差时间', format: 'NN', length: 1, unit: 'min', access: 'readWrite', category: 'parameter', source: SRC.fox });
for (const [di0, en, zh] of [
  [0x06, 'time-zone table switch time', '两套时区表切换时间'],
  [0x07, 'daily time-slot table switch time', '两套日时段表切换时间'],
  [0x08, 'tariff price set switch time', '两套费率电价切换时间'],
  [0x09, 'ladder set switch time', '两套阶梯切换时间'],
] as const) {
  value({ di: di4(0x04, 0x00, 0x01, di0), name: en, nameZh: zh, format: 'YYMMDDhhmm', length: 5, access: 'readWrite', category: 'parameter', source: SRC.fox });
}
for (const [di0, en, zh, format, length] of [
  [0x01, 'number of annual time zones', '年时区数', 'NN', 1],
  [0x02, 'number of daily time-slot tables', '日时段表数', 'NN', 1],
  [0x03, 'number of daily time slots', '日时段数', 'NN', 1],
  [0x04, 'number of tariffs', '费率数', 'NN', 1],
  [0x05, 'number of public holidays', '公共假日数', 'NNNN', 2],
  [0x07, 'number of ladders', '阶梯数', 'NN', 1],
] as const) {
  value({ di: di4(0x04, 0x00, 0x02, di0), name: en, nameZh: zh, format, length, access: 'readWrite', category: 'parameter', source: SRC.fox });
}
value({ di: '04000306', name: 'current transformer ratio', nameZh: '电流互感器变比', format: 'NNNNNN', length: 3, access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04000307', name: 'voltage transformer ratio', nameZh: '电压互感器变比', format: 'NNNNNN', length: 3, access: 'readWrite', category: 'parameter', source: SRC.fox });
// Fox CSV marks 04000401 writable; the address is set with 15H (write address), so 'read' here [BK].
value({ di: '04000401', name: 'communication address', nameZh: '通信地址', format: 'NNNNNNNNNNNN', length: 6, access: 'read', category: 'identity', source: `${SRC.table}; written with 15H [BK]` });
value({ di: '04000402', name: 'meter number', nameZh: '表号', format: 'NNNNNNNNNNNN', length: 6, access: 'readWrite', category: 'identity', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '04000409', name: 'active energy meter constant', nameZh: '电表有功常数', format: 'XXXXXX', length: 3, unit: 'imp/kWh', category: 'parameter', source: SRC.fox });
value({ di: '0400040A', name: 'reactive energy meter constant', nameZh: '电表无功常数', format: 'XXXXXX', length: 3, unit: 'imp/kvarh', category: 'parameter', source: SRC.fox });
value({ di: '0400040E', name: 'customer number', nameZh: '客户编号', format: 'NNNNNNNNNNNN', length: 6, category: 'identity', source: SRC.fox });
// Table A.5, the rest [src: a5 for 040001xx..040006xx: format and length; bob: items and order;
// fw: lengths]. ASCII fields are opaque bytes in wire order: whether a meter sends them reversed
// like numbers is [BK].
value({ di: '04000105', name: 'calibration pulse width', nameZh: '校表脉冲宽度', format: 'XXXX', length: 2, unit: 'ms', access: 'readWrite', category: 'parameter', source: `${SRC.a5}; ${SRC.fw}` });
value({ di: '04000206', name: 'number of harmonics analysed', nameZh: '谐波分析次数', format: 'NN', length: 1, access: 'readWrite', category: 'parameter', source: `${SRC.a5}; ${SRC.fw}` });
for (const [di0, en, zh, unit] of [
  [0x01, 'automatic display screens', '自动循环显示屏数', undefined],
  [0x02, 'display time per screen', '每屏显示时间', 's'],
  [0x03, 'displayed energy decimals', '显示电能小数位数', undefined],
  [0x04, 'displayed power (demand) decimals', '显示功率(最大需量)小数位数', undefined],
  [0x05, 'key-press display screens', '按键循环显示屏数', undefined],
] as const) {
  value({ di: di4(0x04, 0x00, 0x03, di0), name: en, nameZh: zh, format: 'NN', length: 1, ...(unit === undefined ? {} : { unit }), access: 'readWrite', category: 'parameter', source: `${SRC.a5}; ${SRC.fw}` });
}
for (const [di0, en, zh, length] of [
  [0x03, 'asset management code (ASCII)', '资产管理编码', 32],
  [0x04, 'rated voltage (ASCII)', '额定电压', 6],
  [0x05, 'rated / basic current (ASCII)', '额定电流/基本电流', 6],
  [0x06, 'maximum current (ASCII)', '最大电流', 6],
  [0x07, 'active accuracy class (ASCII)', '有功准确度等级', 4],
  [0x08, 'reactive accuracy class (ASCII)', '无功准确度等级', 4],
  [0x0b, 'meter model (ASCII)', '电表型号', 10],
  [0x0c, 'production date (ASCII)', '生产日期', 10],
  [0x0d, 'protocol version (ASCII)', '协议版本号', 16],
] as const) {
  value({ di: di4(0x04, 0x00, 0x04, di0), name: en, nameZh: zh, format: 'NN…NN', length, encoding: 'bytes', category: 'identity', source: `${SRC.a5}; ${SRC.fw}; byte order [BK]` });
}
for (let n = 1; n <= 7; n++) {
  value({
    di: di4(0x04, 0x00, 0x05, n),
    name: `meter status word ${n}`,
    nameZh: `电表运行状态字${n}`,
    format: 'XXXX',
    length: 2,
    encoding: 'binary',
    category: 'status',
    ...(n === 3 ? { bits: STATUS_WORD_3_BITS } : {}),
    source: n === 3 ? 'PROTOCOLS.md 1.8, 1.9' : SRC.table,
  });
}
for (const [di0, en, zh] of [
  [0x01, 'active energy combination feature word', '有功组合方式特征字'],
  [0x02, 'reactive energy combination 1 feature word', '无功组合方式1特征字'],
  [0x03, 'reactive energy combination 2 feature word', '无功组合方式2特征字'],
] as const) {
  value({ di: di4(0x04, 0x00, 0x06, di0), name: en, nameZh: zh, format: 'NN', length: 1, encoding: 'binary', access: 'readWrite', category: 'parameter', source: SRC.fox });
}
for (const [di0, en, zh] of [
  [0x01, 'modulated infrared port baud-rate feature word', '调制型红外光口通信速率特征字'],
  [0x02, 'contact infrared port baud-rate feature word', '接触式红外光口通信速率特征字'],
  [0x03, 'communication port 1 baud-rate feature word', '通信口1通信速率特征字'],
  [0x04, 'communication port 2 baud-rate feature word', '通信口2通信速率特征字'],
  [0x05, 'communication port 3 baud-rate feature word', '通信口3通信速率特征字'],
] as const) {
  // A bit map (PROTOCOLS.md 1.6: 08H = 2400 bit/s), not BCD.
  value({ di: di4(0x04, 0x00, 0x07, di0), name: en, nameZh: zh, format: 'NN', length: 1, encoding: 'binary', access: 'readWrite', category: 'parameter', source: `${SRC.table}; 1.6` });
}
for (let n = 1; n <= 3; n++) {
  value({
    di: di4(0x04, 0x00, 0x0b, n),
    name: `monthly settlement day ${n}`,
    nameZh: `每月第${n}结算日`,
    format: 'DDhh',
    length: 2,
    access: 'readWrite',
    category: 'parameter',
    source: `${SRC.fox} [BK]`,
  });
}
for (let level = 0; level <= 9; level++) {
  // Write-only; the 4 bytes are opaque here (PA P0 P1 P2 as hex, most significant first) [BK].
  value({
    di: di4(0x04, 0x00, 0x0c, level + 1),
    name: `level ${level} password`,
    nameZh: `${level}级密码`,
    format: 'NNNNNNNN',
    length: 4,
    encoding: 'hex',
    access: 'write',
    category: 'password',
    source: `${SRC.table}; byte layout [BK]`,
  });
}
for (const [di0, en, zh, src] of [
  [0x01, 'alarm energy 1 limit', '报警电量1限值', SRC.table],
  [0x02, 'alarm energy 2 limit', '报警电量2限值', SRC.table],
  [0x03, 'hoarding energy limit', '囤积电量限值', SRC.fox],
  [0x04, 'overdraft energy limit', '透支电量限值', SRC.table],
] as const) {
  value({ di: di4(0x04, 0x00, 0x0f, di0), name: en, nameZh: zh, format: 'XXXXXX.XX', length: 4, unit: 'kWh', access: 'readWrite', category: 'prepaid', source: src });
}
for (const [di0, en, zh, format, src] of [
  [0x01, 'alarm amount 1 limit', '报警金额1限值', 'XXXXXX.XX', SRC.table],
  [0x02, 'alarm amount 2 limit', '报警金额2限值', 'XXXXXX.XX', SRC.table],
  [0x03, 'overdraft amount limit', '透支金额限值', 'XXXXXX.XX', SRC.fox],
  [0x04, 'hoarding amount limit', '囤积金额限值', 'NNNNNN.NN', SRC.fox],
  [0x05, 'close-allowed amount limit', '合闸允许金额限值', 'NNNNNN.NN', SRC.fox],
] as const) {
  value({ di: di4(0x04, 0x00, 0x10, di0), name: en, nameZh: zh, format, length: 4, unit: 'yuan', access: 'readWrite', category: 'prepaid', source: src });
}
value({ di: '04001201', name: 'hourly freeze start time', nameZh: '整点冻结起始时间', format: 'YYMMDDhhmm', length: 5, access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04001202', name: 'hourly freeze interval', nameZh: '整点冻结时间间隔', format: 'NN', length: 1, unit: 'min', access: 'readWrite', category: 'parameter', source: SRC.fox });
value({ di: '04001203', name: 'daily freeze time', nameZh: '日冻结时间', format: 'hhmm', length: 2, access: 'readWrite', category: 'parameter', source: `${SRC.fox} [BK]` });
// Fox CSV: "跳闸延时时间（NNNN为跳闸前告警时间）"; unit not given [BK].
value({ di: '04001401', name: 'trip delay (pre-trip alarm time)', nameZh: '跳闸延时时间', format: 'NNNN', length: 2, access: 'readWrite', category: 'parameter', source: `${SRC.fox}; unit [BK]` });
block({
  di: '040005FF',
  name: 'meter status word block (1..7)',
  nameZh: '电表运行状态字数据块',
  category: 'status',
  members: [1, 2, 3, 4, 5, 6, 7].map((n) => di4(0x04, 0x00, 0x05, n)),
  source: SRC.a5,
});
value({ di: '04000801', name: 'weekly rest day feature word', nameZh: '周休日特征字', format: 'NN', length: 1, encoding: 'binary', access: 'readWrite', category: 'parameter', source: `${SRC.bob}; ${SRC.fw}` });
value({ di: '04000802', name: 'daily time-slot table of rest days', nameZh: '周休日采用的日时段表号', format: 'NN', length: 1, access: 'readWrite', category: 'parameter', source: `${SRC.bob}; ${SRC.fw}` });
for (const [di0, en, zh] of [
  [0x01, 'load record mode word', '负荷记录模式字'],
  [0x02, 'timed freeze mode word', '定时冻结数据模式字'],
  [0x03, 'instantaneous freeze mode word', '瞬时冻结数据模式字'],
  [0x04, 'agreed freeze mode word', '约定冻结数据模式字'],
  [0x05, 'hourly freeze mode word', '整点冻结数据模式字'],
  [0x06, 'daily freeze mode word', '日冻结数据模式字'],
] as const) {
  // bob names one freeze mode word; the firmware stores 5 after the load-record word; the names of
  // 02..06 come from one unattributed public source [BK].
  value({ di: di4(0x04, 0x00, 0x09, di0), name: en, nameZh: zh, format: 'NN', length: 1, encoding: 'binary', access: 'readWrite', category: 'parameter', source: di0 <= 0x02 ? `${SRC.bob}; ${SRC.fw}` : `${SRC.fw} [BK]` });
}
value({ di: '04000A01', name: 'load record start time', nameZh: '负荷记录起始时间', format: 'MMDDhhmm', length: 4, access: 'readWrite', category: 'parameter', source: `${SRC.bob}; 4 bytes ${SRC.fw}; format [BK]` });
for (let c = 1; c <= 6; c++) {
  value({ di: di4(0x04, 0x00, 0x0a, c + 1), name: `class ${c} load record interval`, nameZh: `第${c}类负荷记录间隔时间`, format: 'NNNN', length: 2, unit: 'min', access: 'readWrite', category: 'parameter', source: `${SRC.bob}; 2 bytes ${SRC.fw}` });
}
PHASES.forEach((p, i) => {
  for (const [j, en, zh] of [
    [1, 'conductance', '电导'],
    [2, 'susceptance', '电纳'],
    [3, 'resistance', '电阻'],
    [4, 'reactance', '电抗'],
  ] as const) {
    value({ di: di4(0x04, 0x00, 0x0d, 4 * i + j), name: `phase ${p} ${en} coefficient`, nameZh: `${p}相${zh}系数`, format: 'X.XXX', length: 2, access: 'readWrite', category: 'parameter', source: `${SRC.bob}; 2 bytes ${SRC.fw}; format [BK]` });
  }
});
value({ di: '04000E01', name: 'forward active power upper limit', nameZh: '正向有功功率上限值', format: 'XX.XXXX', length: 3, unit: 'kW', access: 'readWrite', category: 'parameter', source: `${SRC.bob}; 3 bytes ${SRC.fw}` });
value({ di: '04000E02', name: 'reverse active power upper limit', nameZh: '反向有功功率上限值', format: 'XX.XXXX', length: 3, unit: 'kW', access: 'readWrite', category: 'parameter', source: `${SRC.bob}; 3 bytes ${SRC.fw}` });
value({ di: '04000E03', name: 'voltage upper limit', nameZh: '电压上限值', format: 'XXX.X', length: 2, unit: 'V', access: 'readWrite', category: 'parameter', source: `${SRC.bob}; 2 bytes ${SRC.fw}` });
value({ di: '04000E04', name: 'voltage lower limit', nameZh: '电压下限值', format: 'XXX.X', length: 2, unit: 'V', access: 'readWrite', category: 'parameter', source: `${SRC.bob}; 2 bytes ${SRC.fw}` });

// Tariff tables: time-zone tables (14 × MMDDNN) and daily time-slot tables 1..8 (14 × hhmmNN) of
// the first (0401) and second (0402) set [src: bob; fw: 3 bytes × the meter's maximum]. A meter may
// send only its configured zones or slots, so 3..42 bytes, opaque [BK].
for (const [di2, set, setZh] of [
  [0x01, 'first', '第一套'],
  [0x02, 'second', '第二套'],
] as const) {
  opaque({ di: di4(0x04, di2, 0x00, 0x00), name: `${set} set time-zone table`, nameZh: `${setZh}时区表数据`, category: 'parameter', min: 3, max: 14 * 3, source: `${SRC.bob}; ${SRC.fw}; length [BK]` });
  for (let t = 1; t <= 8; t++) {
    opaque({ di: di4(0x04, di2, 0x00, t), name: `${set} set daily time-slot table ${t}`, nameZh: `${setZh}第${t}日时段表数据`, category: 'parameter', min: 3, max: 14 * 3, source: `${SRC.bob}; ${SRC.fw}; length [BK]` });
  }
}
// Public holidays 1..254: YYMMDDNN (date and daily table), 4 bytes [src: bob; fw]; opaque: the
// byte order of the date and the table number is [BK].
for (let h = 1; h <= 254; h++) {
  value({ di: di4(0x04, 0x03, 0x00, h), name: `public holiday ${h} date and daily table`, nameZh: `第${h}公共假日日期及日时段表号`, format: 'YYMMDDNN', length: 4, encoding: 'bytes', access: 'readWrite', category: 'parameter', source: `${SRC.bob}; ${SRC.fw}; byte order [BK]` });
}
// Display lists: screen n shows an identifier (4 bytes) and a screen number (1 byte) [BK: length];
// opaque 4..5 bytes.
for (const [di1, en, zh] of [
  [0x01, 'automatic display', '自动循环显示'],
  [0x02, 'key-press display', '按键循环显示'],
] as const) {
  for (let n = 1; n <= 254; n++) {
    opaque({ di: di4(0x04, 0x04, di1, n), name: `${en} screen ${n} item`, nameZh: `${zh}第${n}屏显示数据项`, category: 'parameter', min: 4, max: 5, source: `${SRC.bob}; length [BK]` });
  }
}
// Tariff prices 1..63 of the first (040501) and second (040502) set, XXXX.XXXX yuan/kWh [src: fw,
// 4 bytes × the tariff count; format as 0280000B] [BK].
for (const [di1, set, setZh] of [
  [0x01, 'first', '第一套'],
  [0x02, 'second', '第二套'],
] as const) {
  for (let t = 1; t <= MAX_TARIFFS; t++) {
    value({ di: di4(0x04, 0x05, di1, t), name: `${set} set tariff ${t} price`, nameZh: `${setZh}费率电价${t}`, format: 'XXXX.XXXX', length: 4, unit: 'yuan/kWh', access: 'readWrite', category: 'prepaid', source: `${SRC.fw}; format [BK]` });
  }
}
// Manufacturer identification, ASCII 32 bytes each [src: bob items; length [BK]].
for (const [di0, en, zh] of [
  [0x01, 'manufacturer software version (ASCII)', '厂家软件版本号'],
  [0x02, 'manufacturer hardware version (ASCII)', '厂家硬件版本号'],
  [0x03, 'manufacturer number (ASCII)', '厂家编号'],
] as const) {
  value({ di: di4(0x04, 0x80, 0x00, di0), name: en, nameZh: zh, format: 'NN…NN', length: 32, encoding: 'bytes', category: 'identity', source: `${SRC.bob}; length [BK]` });
}

// ---------------------------------------------------------------------------------------------
// Prepaid balances (0090) and purchase records (0332 energy type, 0333 money type)

value({ di: '00900100', name: 'remaining energy', nameZh: '(当前)剩余电量', format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'prepaid', source: SRC.table });
value({ di: '00900101', name: 'overdraft energy', nameZh: '(当前)透支电量', format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'prepaid', source: SRC.table });
value({ di: '00900200', name: 'remaining amount', nameZh: '(当前)剩余金额', format: 'XXXXXX.XX', length: 4, unit: 'yuan', category: 'prepaid', source: `${SRC.table}; ${SRC.vector}` });
value({ di: '00900201', name: 'overdraft amount', nameZh: '(当前)透支金额', format: 'XXXXXX.XX', length: 4, unit: 'yuan', category: 'prepaid', source: SRC.table });

for (const [di2, kind, items] of [
  [
    0x32,
    'energy',
    [
      ['purchase time', '购电日期', 'YYMMDDhhmm', 5, undefined],
      ['total purchase count after purchase', '购电后总购电次数', 'NNNN', 2, undefined],
      ['purchased energy', '购电量', 'XXXXXX.XX', 4, 'kWh'],
      ['remaining energy before purchase', '购电前剩余电量', 'XXXXXX.XX', 4, 'kWh'],
      ['remaining energy after purchase', '购电后剩余电量', 'XXXXXX.XX', 4, 'kWh'],
      ['cumulative purchased energy after purchase', '购电后累计购电量', 'XXXXXX.XX', 4, 'kWh'],
    ],
  ],
  [
    0x33,
    'money',
    [
      ['purchase time', '购电日期', 'YYMMDDhhmm', 5, undefined],
      ['total purchase count after purchase', '购电后总购电次数', 'NNNN', 2, undefined],
      ['purchased amount', '购电金额', 'XXXXXX.XX', 4, 'yuan'],
      ['remaining amount before purchase', '购电前剩余金额', 'XXXXXX.XX', 4, 'yuan'],
      ['remaining amount after purchase', '购电后剩余金额', 'XXXXXX.XX', 4, 'yuan'],
      ['cumulative purchased amount after purchase', '购电后累计购电金额', 'XXXXXX.XX', 4, 'yuan'],
    ],
  ],
] as const) {
  items.forEach(([en, zh, format, length, unit], i) => {
    for (let n = 1; n <= PURCHASE_RECORDS; n++) {
      const confirmed = (i === 1 || i === 5) && n === 1;
      value({
        di: di4(0x03, di2, i + 1, n),
        name: `${en}, last ${ordinal(n)} ${kind} purchase`,
        nameZh: `(上${n}次)${zh}`,
        format,
        length,
        ...(unit === undefined ? {} : { unit }),
        category: 'prepaid',
        source: confirmed ? SRC.table : '[BK] (unattributed public code: purchase-record item lists)',
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// DI3 = 05: freezes. DI2 00 timed (last 1..12), 01 instantaneous (last 1..3, [BK]), 02 / 03
// switch of the two time-zone / daily time-slot table sets (last 1..2), 05 / 07 switch of the
// tariff-price / ladder sets (last 1..2, 2013 amendment [BK]), 06 daily (last 1..62); DI1 00
// freeze time, 01 forward / 02 reverse active energy block, 03..08 the reactive energy blocks,
// 09 / 0A forward / reverse active maximum demand blocks, 10 variable data (active and reactive
// powers), FF all data [src: bob table A.6 items: DI2 00..03 with DI1 00..0A, 10, FF]. 04 hourly
// freeze (last 1..254): DI1 00 time, 01 / 02 forward / reverse active total energy [BK].

/** Frozen copies of live blocks (DI1 03..0A, 10): the members name the live registers [src: bob items; layout [BK]]. */
const FREEZE_EXTRA_BLOCKS: readonly { di1: number; en: string; zh: string; members: readonly string[]; tariffs: boolean }[] = [
  ...ENERGY_KINDS.filter((k) => k.di2 >= 0x03).map((k) => ({
    di1: k.di2,
    en: `${k.en} energy block`,
    zh: `${k.zh}电能数据`,
    members: [0, 1, 2, 3, 4].map((t) => di4(0x00, k.di2, t, 0x00)),
    tariffs: true,
  })),
  { di1: 0x09, en: 'forward active maximum demand block', zh: '正向有功最大需量及发生时间数据', members: [0, 1, 2, 3, 4].map((t) => di4(0x01, 0x01, t, 0x00)), tariffs: true },
  { di1: 0x0a, en: 'reverse active maximum demand block', zh: '反向有功最大需量及发生时间数据', members: [0, 1, 2, 3, 4].map((t) => di4(0x01, 0x02, t, 0x00)), tariffs: true },
  {
    di1: 0x10,
    en: 'variable data block (active and reactive powers, total and phases)',
    zh: '变量数据',
    members: [0x03, 0x04].flatMap((di2) => [0, 1, 2, 3].map((p) => di4(0x02, di2, p, 0x00))),
    tariffs: false,
  },
];

function freezeFamily(o: { di2: number; en: string; zh: string; records: number; source: string }): void {
  for (let n = 1; n <= o.records; n++) {
    const en = `last ${ordinal(n)} ${o.en}`;
    const time = value({
      di: di4(0x05, o.di2, 0x00, n),
      name: `${o.en} time, ${en}`,
      nameZh: `(上${n}次)${o.zh}时间`,
      format: 'YYMMDDhhmm',
      length: 5,
      category: 'freeze',
      source: o.di2 === 0x06 && n === 1 ? `${SRC.table}; ${SRC.vector}` : o.source,
    });
    // The frozen blocks have the layout of the live blocks; members name the live registers
    // whose copies they hold, so a simulator can freeze the 0001FF00 value as it is.
    const forward = block({
      di: di4(0x05, o.di2, 0x01, n),
      name: `${o.en} forward active energy block, ${en}`,
      nameZh: `(上${n}次)${o.zh}正向有功电能数据`,
      category: 'freeze',
      members: ['00010000', '00010100', '00010200', '00010300', '00010400'],
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${o.source}; tariff count [BK]`,
    });
    const reverse = block({
      di: di4(0x05, o.di2, 0x02, n),
      name: `${o.en} reverse active energy block, ${en}`,
      nameZh: `(上${n}次)${o.zh}反向有功电能数据`,
      category: 'freeze',
      members: ['00020000', '00020100', '00020200', '00020300', '00020400'],
      repeat: { from: 1, min: 0, max: MAX_TARIFFS },
      source: `${o.source}; tariff count [BK]`,
    });
    for (const x of FREEZE_EXTRA_BLOCKS) {
      block({
        di: di4(0x05, o.di2, x.di1, n),
        name: `${o.en} ${x.en}, ${en}`,
        nameZh: `(上${n}次)${o.zh}${x.zh}`,
        category: 'freeze',
        members: x.members,
        ...(x.tariffs ? { repeat: { from: 1, min: 0, max: MAX_TARIFFS } } : {}),
        source: `${SRC.bob} (item); layout as the live block [BK]`,
      });
    }
    // [BK] The FF block holds the items the meter's freeze mode word (04000902..06) selects.
    // Defined here as a single-phase meter's selection: time + forward + reverse active energy,
    // 45 bytes with 4 tariffs. A meter that also freezes reactive energies, demands and powers
    // (DI1 03..0A, 10) sends a longer block that this definition rejects.
    block({
      di: di4(0x05, o.di2, 0xff, n),
      name: `${o.en} data block, ${en}`,
      nameZh: `(上${n}次)${o.zh}数据块`,
      category: 'freeze',
      members: [time.di, forward.di, reverse.di],
      source: '[BK] members: freeze time, forward and reverse active energy blocks',
    });
  }
}

freezeFamily({ di2: 0x00, en: 'timed freeze', zh: '定时冻结', records: 12, source: '[BK]' });
// The declaration reads 05010001 / 05010101 after a 16H freeze-now command (declaration.ts).
freezeFamily({ di2: 0x01, en: 'instantaneous freeze', zh: '瞬时冻结', records: 3, source: '[BK]' });
freezeFamily({ di2: 0x06, en: 'daily freeze', zh: '日冻结', records: DAILY_FREEZES, source: SRC.table });
freezeFamily({ di2: 0x02, en: 'time-zone table switch freeze', zh: '两套时区表切换', records: 2, source: `${SRC.bob} [BK]` });
freezeFamily({ di2: 0x03, en: 'daily time-slot table switch freeze', zh: '两套日时段表切换', records: 2, source: `${SRC.bob} [BK]` });
freezeFamily({ di2: 0x05, en: 'tariff-price set switch freeze', zh: '两套费率电价切换', records: 2, source: '[BK] (switch time 04000108)' });
freezeFamily({ di2: 0x07, en: 'ladder set switch freeze', zh: '两套阶梯切换', records: 2, source: '[BK] (switch time 04000109)' });

/** Hourly freezes kept (DI0 01..FE) [BK]. */
const HOURLY_FREEZES = 254;
for (let n = 1; n <= HOURLY_FREEZES; n++) {
  const src = '[BK] (hourly freeze parameters 04001201/02, mode word 04000905)';
  value({ di: di4(0x05, 0x04, 0x00, n), name: `hourly freeze time, last ${ordinal(n)}`, nameZh: `(上${n}次)整点冻结时间`, format: 'YYMMDDhhmm', length: 5, category: 'freeze', source: src });
  value({ di: di4(0x05, 0x04, 0x01, n), name: `hourly freeze forward active total energy, last ${ordinal(n)}`, nameZh: `(上${n}次)整点冻结正向有功总电能`, format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'freeze', source: src });
  value({ di: di4(0x05, 0x04, 0x02, n), name: `hourly freeze reverse active total energy, last ${ordinal(n)}`, nameZh: `(上${n}次)整点冻结反向有功总电能`, format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'freeze', source: src });
}

// ---------------------------------------------------------------------------------------------
// DI3 = 06: load records (table A.7) [src: bob items]. DI2 00 all classes, 01..06 class 1..6; DI0
// 00 earliest record block, 01 the block at a given time (the request carries the block count and
// the time), 02 the latest block. A block's length follows the meter's load-record mode word
// (04000901) and the block count, so the reply is opaque here: 1..LOAD_RECORD_MAX bytes [BK]; its
// blocks decode with load-record.ts (decodeLoadRecordBlocks).

/**
 * Largest load-record reply accepted (several follow-up frames): NN = 99 blocks of all six classes
 * (load-record.ts: 103 bytes each) [BK].
 */
const LOAD_RECORD_MAX = LOAD_RECORD_MAX_COUNT * loadRecordBlockLength(0b111111);
for (let c = 0; c <= 6; c++) {
  const cls = c === 0 ? '' : `class ${c} `;
  const clsZh = c === 0 ? '' : `第${c}类负荷`;
  for (const [di0, en, zh] of [
    [0x00, 'earliest record block', '最早记录块'],
    [0x01, 'record block at a given time', '给定时间记录块'],
    [0x02, 'latest record block', '最近一个记录块'],
  ] as const) {
    opaque({ di: di4(0x06, c, 0x00, di0), name: `${cls}load record: ${en}`, nameZh: `${clsZh}${zh}`, category: 'loadRecord', min: 1, max: LOAD_RECORD_MAX, source: `${SRC.bob}; length [BK]` });
  }
}

// ---------------------------------------------------------------------------------------------
// DI3 = 03, 1D, 1E: events (record layouts from one public firmware's storage table [BK])

const COUNT = { format: 'XXXXXX', length: 3 } as const;
const EVENT_TIME = { format: 'YYMMDDhhmmss', length: 6 } as const;
const OPERATOR: DataFieldDefinition = { name: 'operator', format: 'C3C2C1C0', length: 4, encoding: 'hex' };
const energyField = (name: string, unit: string): DataFieldDefinition => ({ name, format: 'XXXXXX.XX', length: 4, unit });
const ENERGY_SNAPSHOT = (suffix: string): DataFieldDefinition[] => [
  energyField(`forwardActiveEnergy${suffix}`, 'kWh'),
  energyField(`reverseActiveEnergy${suffix}`, 'kWh'),
  energyField(`quadrant1ReactiveEnergy${suffix}`, 'kvarh'),
  energyField(`quadrant2ReactiveEnergy${suffix}`, 'kvarh'),
  energyField(`quadrant3ReactiveEnergy${suffix}`, 'kvarh'),
  energyField(`quadrant4ReactiveEnergy${suffix}`, 'kvarh'),
];

function eventFamily(o: {
  countDi: string;
  countName: string;
  countZh: string;
  countSource: string;
  recordDi: (n: number) => string;
  recordName: string;
  recordZh: string;
  fields: readonly DataFieldDefinition[];
  recordSource: string;
}): void {
  value({ di: o.countDi, name: o.countName, nameZh: o.countZh, ...COUNT, category: 'event', source: o.countSource });
  for (let n = 1; n <= EVENT_RECORDS; n++) {
    record({ di: o.recordDi(n), name: `${o.recordName}, last ${ordinal(n)}`, nameZh: `(上${n}次)${o.recordZh}`, category: 'event', fields: o.fields, source: o.recordSource });
  }
}

eventFamily({
  countDi: '03110000',
  countName: 'power-down total count',
  countZh: '掉电总次数',
  countSource: '[BK]',
  recordDi: (n) => di4(0x03, 0x11, 0x00, n),
  recordName: 'power-down record',
  recordZh: '掉电记录',
  fields: [
    { name: 'start', ...EVENT_TIME },
    { name: 'end', ...EVENT_TIME },
  ],
  recordSource: '[BK] start + end time, 12 bytes',
});
eventFamily({
  countDi: '03300000',
  countName: 'programming total count',
  countZh: '编程总次数',
  countSource: '[BK]',
  recordDi: (n) => di4(0x03, 0x30, 0x00, n),
  recordName: 'programming record',
  recordZh: '编程记录',
  // Unused identifier slots are FFFFFFFF [BK].
  fields: [{ name: 'time', ...EVENT_TIME }, OPERATOR, { name: 'identifiers', format: 'DI3DI2DI1DI0', length: 4, encoding: 'hex', count: 10 }],
  recordSource: `${SRC.table} (read with follow-up) [vec]; layout time + operator + 10 DIs = 50 bytes [BK]`,
});
eventFamily({
  countDi: '03300400',
  countName: 'time-setting total count',
  countZh: '校时总次数',
  countSource: '[BK]',
  recordDi: (n) => di4(0x03, 0x30, 0x04, n),
  recordName: 'time-setting record',
  recordZh: '校时记录',
  fields: [OPERATOR, { name: 'before', ...EVENT_TIME }, { name: 'after', ...EVENT_TIME }],
  recordSource: '[BK] operator + time before + time after, 16 bytes',
});
eventFamily({
  countDi: '03300D00',
  countName: 'meter-cover opening total count',
  countZh: '开表盖总次数',
  countSource: `${SRC.table}; ${SRC.vector}`,
  recordDi: (n) => di4(0x03, 0x30, 0x0d, n),
  recordName: 'meter-cover opening record',
  recordZh: '开表盖记录',
  fields: [{ name: 'start', ...EVENT_TIME }, { name: 'end', ...EVENT_TIME }, ...ENERGY_SNAPSHOT('Before'), ...ENERGY_SNAPSHOT('After')],
  recordSource: '[BK] open time, close time, 6 energies before and 6 after, 60 bytes',
});
eventFamily({
  countDi: '1D000001',
  countName: 'trip total count',
  countZh: '跳闸总次数',
  countSource: `${SRC.table}; ${SRC.vector}`,
  recordDi: (n) => di4(0x1d, 0x00, 0x01, n),
  recordName: 'trip record',
  recordZh: '跳闸记录',
  fields: [{ name: 'time', ...EVENT_TIME }, OPERATOR, ...ENERGY_SNAPSHOT('')],
  recordSource: '[BK] time + operator + 6 energies, 34 bytes',
});
eventFamily({
  countDi: '1E000001',
  countName: 'close total count',
  countZh: '合闸总次数',
  countSource: SRC.table,
  recordDi: (n) => di4(0x1e, 0x00, 0x01, n),
  recordName: 'close record',
  recordZh: '合闸记录',
  fields: [{ name: 'time', ...EVENT_TIME }, OPERATOR, ...ENERGY_SNAPSHOT('')],
  recordSource: '[BK] time + operator + 6 energies, 34 bytes',
});

// ---------------------------------------------------------------------------------------------
// DI3 = 03, the rest of table A.4 (event records). Lengths agree in two sources (SRC.bob, SRC.fw)
// unless noted; the field order of a record comes from SRC.bobRec, and for 0301..0304 also from
// the standard's table (SRC.a4) up to the phase B values. Where no source gives a record's layout,
// its bytes are opaque ('bytes': hex in wire order) so that a meter's answer still decodes.

const EVENT_DURATION = { format: 'XXXXXX', length: 3, unit: 'min' } as const;
const INCREASE_KINDS = [
  ['ForwardActiveIncrease', 'kWh', false],
  ['ReverseActiveIncrease', 'kWh', false],
  ['CombinedReactive1Increase', 'kvarh', true],
  ['CombinedReactive2Increase', 'kvarh', true],
] as const;
/** Energy increases during the event: total (prefix "total") or one phase ("phaseA"). */
const increases = (prefix: string): DataFieldDefinition[] =>
  INCREASE_KINDS.map(([n, unit, signed]) => ({ name: `${prefix}${n}`, format: 'XXXXXX.XX', length: 4, unit, ...(signed ? { signed: true } : {}) }));
/** The phase's values at the start of the event (13 bytes), signs as the live values 0202..0206. */
const phaseSnapshot = (p: string): DataFieldDefinition[] => [
  { name: `phase${p}Voltage`, format: 'XXX.X', length: 2, unit: 'V' },
  { name: `phase${p}Current`, format: 'XXX.XXX', length: 3, unit: 'A', signed: true },
  { name: `phase${p}ActivePower`, format: 'XX.XXXX', length: 3, unit: 'kW', signed: true },
  { name: `phase${p}ReactivePower`, format: 'XX.XXXX', length: 3, unit: 'kvar', signed: true },
  { name: `phase${p}PowerFactor`, format: 'X.XXX', length: 2, signed: true },
];
const START_END: DataFieldDefinition[] = [
  { name: 'start', ...EVENT_TIME },
  { name: 'end', ...EVENT_TIME },
];
const opaqueField = (name: string, length: number): DataFieldDefinition => ({ name, format: 'NN…NN', length, encoding: 'bytes' });

/** Voltage events 0301..0304: start, end, increases, per phase increases + values (115 bytes), then ampere-hours. */
const VOLTAGE_EVENT_FIELDS: readonly DataFieldDefinition[] = [
  ...START_END,
  ...increases('total'),
  ...PHASES.flatMap((p) => [...increases(`phase${p}`), ...phaseSnapshot(p)]),
  ...['total', ...PHASES.map((p) => `phase${p}`)].map((n): DataFieldDefinition => ({ name: `${n}AmpereHours`, format: 'XXXXXX.XX', length: 4, unit: 'Ah' })),
];
/** Current events 030B..030D: as the voltage events without the ampere-hours (115 bytes). */
const CURRENT_EVENT_FIELDS = VOLTAGE_EVENT_FIELDS.slice(0, VOLTAGE_EVENT_FIELDS.length - 4);
/** Phase-sequence events 0307/0308 (and 030E/030F [BK]): start, end, total and per-phase increases (76 bytes). */
const SEQUENCE_EVENT_FIELDS: readonly DataFieldDefinition[] = [...START_END, ...increases('total'), ...PHASES.flatMap((p) => increases(`phase${p}`))];
/** Unbalance events 0309/030A: start, end, maximum unbalance rate, increases (78 bytes). */
const UNBALANCE_EVENT_FIELDS: readonly DataFieldDefinition[] = [
  ...START_END,
  { name: 'maximumUnbalanceRate', format: 'XX.XX', length: 2, unit: '%' },
  ...SEQUENCE_EVENT_FIELDS.slice(2),
];

interface EventKind {
  readonly di2: number;
  readonly en: string;
  readonly zh: string;
  readonly fields: readonly DataFieldDefinition[];
  readonly source: string;
  readonly countSource?: string;
}

/** Per-phase events: DI1 00 = counts and durations of A, B, C (18 bytes); DI1 01..03 = records of phase A..C. */
function phaseEventFamily(k: EventKind): void {
  record({
    di: di4(0x03, k.di2, 0x00, 0x00),
    name: `${k.en} counts and total durations (phases A, B, C)`,
    nameZh: `A、B、C相${k.zh}总次数，总累计时间`,
    category: 'event',
    fields: PHASES.flatMap((p): DataFieldDefinition[] => [
      { name: `phase${p}Count`, ...COUNT },
      { name: `phase${p}Duration`, ...EVENT_DURATION },
    ]),
    source: k.countSource ?? `${SRC.a4}; ${SRC.bob}; ${SRC.fw}`,
  });
  PHASES.forEach((p, i) => {
    for (let n = 1; n <= EVENT_RECORDS; n++) {
      record({ di: di4(0x03, k.di2, i + 1, n), name: `phase ${p} ${k.en} record, last ${ordinal(n)}`, nameZh: `(上${n}次)${p}相${k.zh}记录`, category: 'event', fields: k.fields, source: k.source });
    }
  });
}

/** Whole-meter events: DI1 00, DI0 00 = count and total duration (6 bytes); DI0 01..0A = records. */
function meterEventFamily(k: EventKind): void {
  record({
    di: di4(0x03, k.di2, 0x00, 0x00),
    name: `${k.en} count and total duration`,
    nameZh: `${k.zh}总次数，总累计时间`,
    category: 'event',
    fields: [
      { name: 'count', ...COUNT },
      { name: 'duration', ...EVENT_DURATION },
    ],
    source: k.countSource ?? `${SRC.bob}; ${SRC.fw}`,
  });
  for (let n = 1; n <= EVENT_RECORDS; n++) {
    record({ di: di4(0x03, k.di2, 0x00, n), name: `${k.en} record, last ${ordinal(n)}`, nameZh: `(上${n}次)${k.zh}记录`, category: 'event', fields: k.fields, source: k.source });
  }
}

const VOLTAGE_LAYOUT_SOURCE = `${SRC.a4} (up to phase B); ${SRC.bobRec}; 131 bytes ${SRC.bob}, ${SRC.fw}; ampere-hours order [BK]`;
for (const [di2, en, zh] of [
  [0x01, 'loss-of-voltage', '失压'],
  [0x02, 'under-voltage', '欠压'],
  [0x03, 'over-voltage', '过压'],
  [0x04, 'phase-failure', '断相'],
] as const) {
  phaseEventFamily({ di2, en, zh, fields: VOLTAGE_EVENT_FIELDS, source: VOLTAGE_LAYOUT_SOURCE, countSource: `${SRC.a4}; 18 bytes ${SRC.bob}, ${SRC.fw}` });
}
meterEventFamily({
  di2: 0x05,
  en: 'all-loss-of-voltage',
  zh: '全失压',
  fields: [{ name: 'start', ...EVENT_TIME }, { name: 'current', format: 'XXX.XXX', length: 3, unit: 'A' }, { name: 'end', ...EVENT_TIME }],
  source: `${SRC.bob} (start, current, end); 15 bytes ${SRC.fw}`,
});
meterEventFamily({ di2: 0x06, en: 'auxiliary-power-loss', zh: '辅助电源失电', fields: START_END, source: `${SRC.bob} (start, end); 12 bytes ${SRC.fw}` });
meterEventFamily({ di2: 0x07, en: 'voltage reverse-sequence', zh: '电压逆相序', fields: SEQUENCE_EVENT_FIELDS, source: `${SRC.bobRec}; 76 bytes ${SRC.bob}, ${SRC.fw}` });
meterEventFamily({ di2: 0x08, en: 'current reverse-sequence', zh: '电流逆相序', fields: SEQUENCE_EVENT_FIELDS, source: `${SRC.bobRec}; 76 bytes ${SRC.bob}, ${SRC.fw}` });
meterEventFamily({ di2: 0x09, en: 'voltage unbalance', zh: '电压不平衡', fields: UNBALANCE_EVENT_FIELDS, source: `${SRC.bobRec}; 78 bytes ${SRC.bob}, ${SRC.fw}; rate format [BK]` });
meterEventFamily({ di2: 0x0a, en: 'current unbalance', zh: '电流不平衡', fields: UNBALANCE_EVENT_FIELDS, source: `${SRC.bobRec}; 78 bytes ${SRC.bob}, ${SRC.fw}; rate format [BK]` });
// Counts of 030B..030F: 18 bytes as 0301 ([src: fw]; bob decodes 6 bytes with a 3-phase format) [BK].
const PHASE_COUNT_BK = `18 bytes ${SRC.fw}; ${SRC.bob} gives 6 [BK]`;
for (const [di2, en, zh] of [
  [0x0b, 'loss-of-current', '失流'],
  [0x0c, 'over-current', '过流'],
  [0x0d, 'current-interruption', '断流'],
] as const) {
  phaseEventFamily({ di2, en, zh, fields: CURRENT_EVENT_FIELDS, source: `${SRC.bobRec}; 115 bytes ${SRC.bob}, ${SRC.fw}`, countSource: PHASE_COUNT_BK });
}
// 030E/030F: 76 bytes [src: fw]; bob says 115 but decodes them with its 76-byte phase-sequence
// layout; layout as the phase-sequence events [BK].
for (const [di2, en, zh] of [
  [0x0e, 'power-reversal', '潮流反向'],
  [0x0f, 'overload', '过载'],
] as const) {
  phaseEventFamily({ di2, en, zh, fields: SEQUENCE_EVENT_FIELDS, source: `76 bytes ${SRC.fw}; ${SRC.bob} gives 115; layout [BK]`, countSource: PHASE_COUNT_BK });
}

// 0310: voltage qualification statistics, total and phases A..C (DI1 00..03), current month and
// last 1..12 (DI0 00..0C), 27 bytes [src: bob, fw]. The first five fields in SRC.bobRec's order;
// the maximum / minimum voltages and their times (12 bytes) are opaque: their order differs between
// the sources [BK].
['', ...PHASES].forEach((p, i) => {
  for (let m = 0; m <= SETTLEMENTS; m++) {
    record({
      di: di4(0x03, 0x10, i, m),
      name: `${p === '' ? '' : `phase ${p} `}voltage qualification statistics, ${m === 0 ? 'current month' : `last ${ordinal(m)} month`}`,
      nameZh: `${m === 0 ? '(当月)' : `(上${m}月)`}${p === '' ? '' : `${p}相`}电压合格率统计数据`,
      category: 'event',
      fields: [
        { name: 'monitoringTime', ...EVENT_DURATION },
        { name: 'qualifiedRate', format: 'XXXX.XX', length: 3, unit: '%' },
        { name: 'outOfLimitRate', format: 'XXXX.XX', length: 3, unit: '%' },
        { name: 'aboveUpperLimitTime', ...EVENT_DURATION },
        { name: 'belowLowerLimitTime', ...EVENT_DURATION },
        opaqueField('extremes', 12),
      ],
      source: `${SRC.bob}; ${SRC.fw}; ${SRC.bobRec}; extremes layout [BK]`,
    });
  }
});

// 0312: demand over-limit. Counts: 6 × XXXXXX = 18 bytes [src: fw; bob gives 12] [BK]; records
// DI1 01..06: start, end, maximum demand and its time, 20 bytes [src: bob, fw].
const DEMAND_LIMIT_KINDS = [
  ['forwardActive', 'forward active', '正向有功', 'kW'],
  ['reverseActive', 'reverse active', '反向有功', 'kW'],
  ['quadrant1Reactive', 'quadrant I reactive', '第1象限无功', 'kvar'],
  ['quadrant2Reactive', 'quadrant II reactive', '第2象限无功', 'kvar'],
  ['quadrant3Reactive', 'quadrant III reactive', '第3象限无功', 'kvar'],
  ['quadrant4Reactive', 'quadrant IV reactive', '第4象限无功', 'kvar'],
] as const;
record({
  di: '03120000',
  name: 'demand over-limit counts',
  nameZh: '需量超限总次数记录',
  category: 'event',
  fields: DEMAND_LIMIT_KINDS.map(([key]): DataFieldDefinition => ({ name: `${key}Count`, ...COUNT })),
  source: `18 bytes ${SRC.fw}; ${SRC.bob} gives 12; layout [BK]`,
});
DEMAND_LIMIT_KINDS.forEach(([, en, zh, unit], i) => {
  for (let n = 1; n <= EVENT_RECORDS; n++) {
    record({
      di: di4(0x03, 0x12, i + 1, n),
      name: `${en} demand over-limit record, last ${ordinal(n)}`,
      nameZh: `(上${n}次)${zh}需量超限记录`,
      category: 'event',
      fields: [...START_END, { name: 'maximumDemand', format: 'XX.XXXX', length: 3, unit }, { name: 'maximumDemandTime', format: 'YYMMDDhhmm', length: 5 }],
      source: `${SRC.bob}; ${SRC.bobRec}; 20 bytes ${SRC.fw}`,
    });
  }
});

// 0330 DI1 01..0E: clears and programming records (00 programming, 04 time setting and 0D cover
// opening are defined above). Counts XXXXXX [src: bob].
const OCCURRED: readonly DataFieldDefinition[] = [{ name: 'time', ...EVENT_TIME }, OPERATOR];
const SIX_ENERGIES = (scope: string): DataFieldDefinition[] => [
  energyField(`${scope}ForwardActiveEnergy`, 'kWh'),
  energyField(`${scope}ReverseActiveEnergy`, 'kWh'),
  ...[1, 2, 3, 4].map((q) => energyField(`${scope}Quadrant${q}ReactiveEnergy`, 'kvarh')),
];
const SIX_DEMANDS = (scope: string): DataFieldDefinition[] =>
  [
    ['ForwardActive', 'kW'],
    ['ReverseActive', 'kW'],
    ['Quadrant1Reactive', 'kvar'],
    ['Quadrant2Reactive', 'kvar'],
    ['Quadrant3Reactive', 'kvar'],
    ['Quadrant4Reactive', 'kvar'],
  ].flatMap(([n, unit]): DataFieldDefinition[] => [
    { name: `${scope}${n}Demand`, format: 'XX.XXXX', length: 3, unit: unit! },
    { name: `${scope}${n}DemandTime`, format: 'YYMMDDhhmm', length: 5 },
  ]);
const SCOPES = ['total', ...PHASES.map((p) => `phase${p}`)];
const CLEARS_AND_PROGRAMMING: readonly { di1: number; en: string; zh: string; fields?: readonly DataFieldDefinition[]; range?: { min: number; max: number }; source: string }[] = [
  { di1: 0x01, en: 'meter clear', zh: '电表清零', fields: [...OCCURRED, ...SCOPES.flatMap(SIX_ENERGIES)], source: `${SRC.bobRec}; 106 bytes ${SRC.bob}, ${SRC.fw}` },
  { di1: 0x02, en: 'demand clear', zh: '需量清零', fields: [...OCCURRED, ...SCOPES.flatMap(SIX_DEMANDS)], source: `${SRC.bobRec}; 202 bytes ${SRC.bob}, ${SRC.fw}` },
  { di1: 0x03, en: 'event clear', zh: '事件清零', fields: [...OCCURRED, { name: 'identifier', format: 'DI3DI2DI1DI0', length: 4, encoding: 'hex' }], source: `${SRC.bobRec}; 14 bytes ${SRC.bob}, ${SRC.fw}` },
  // 2 sets × 8 daily tables × 14 slots × hhmmNN before programming [src: fw 682 bytes; bob gives 14] [BK].
  { di1: 0x05, en: 'daily time-slot table programming', zh: '时段表编程', fields: [...OCCURRED, opaqueField('tablesBefore', 2 * 8 * 14 * 3)], source: `682 bytes ${SRC.fw}; ${SRC.bob} gives 14 [BK]; tables opaque` },
  // 2 sets × 14 zones × MMDDNN before programming.
  { di1: 0x06, en: 'time-zone table programming', zh: '时区表编程', fields: [...OCCURRED, opaqueField('zonesBefore', 2 * 14 * 3)], source: `${SRC.bobRec}; 94 bytes ${SRC.bob}, ${SRC.fw}; zones opaque` },
  { di1: 0x07, en: 'weekly rest day programming', zh: '周休日编程', fields: [...OCCURRED, { name: 'dailyTableBefore', format: 'NN', length: 1 }], source: `${SRC.bobRec}; 11 bytes ${SRC.bob}, ${SRC.fw}` },
  // Time, operator and the holidays before programming, 4 bytes each: bob stores 12 (58 bytes), the
  // firmware its own maximum; the standard allows 254 holidays (04000205) [BK]. Opaque, any length.
  { di1: 0x08, en: 'holiday programming', zh: '节假日编程', range: { min: 10, max: 10 + 254 * 4 }, source: `${SRC.bob} 58 bytes; ${SRC.fw} variable; length [BK]` },
  { di1: 0x09, en: 'active combination programming', zh: '有功组合方式编程', fields: [...OCCURRED, { name: 'featureWordBefore', format: 'NN', length: 1, encoding: 'binary' }], source: `${SRC.bobRec}; 11 bytes ${SRC.bob}, ${SRC.fw}` },
  { di1: 0x0a, en: 'reactive combination 1 programming', zh: '无功组合方式1编程', fields: [...OCCURRED, { name: 'featureWordBefore', format: 'NN', length: 1, encoding: 'binary' }], source: `${SRC.bobRec}; 11 bytes ${SRC.bob}, ${SRC.fw}` },
  { di1: 0x0b, en: 'reactive combination 2 programming', zh: '无功组合方式2编程', fields: [...OCCURRED, { name: 'featureWordBefore', format: 'NN', length: 1, encoding: 'binary' }], source: `${SRC.bobRec}; 11 bytes ${SRC.bob}, ${SRC.fw}` },
  // Settlement days 1..3 (DDhh) before programming: 16 bytes [src: bobRec struct, fw]; bob's decoder says 18 [BK].
  {
    di1: 0x0c,
    en: 'settlement day programming',
    zh: '结算日编程',
    fields: [...OCCURRED, ...[1, 2, 3].map((d): DataFieldDefinition => ({ name: `settlementDay${d}Before`, format: 'DDhh', length: 2 }))],
    source: `${SRC.bobRec}; 16 bytes ${SRC.fw}; ${SRC.bob} gives 18 [BK]`,
  },
  // Terminal-cover opening: as the meter-cover record, 60 bytes [src: fw]; bob gives 14 [BK].
  { di1: 0x0e, en: 'terminal-cover opening', zh: '开端钮盒', fields: [...START_END, ...ENERGY_SNAPSHOT('Before'), ...ENERGY_SNAPSHOT('After')], source: `60 bytes ${SRC.fw}; ${SRC.bob} gives 14; layout as 03300D [BK]` },
];
for (const e of CLEARS_AND_PROGRAMMING) {
  value({ di: di4(0x03, 0x30, e.di1, 0x00), name: `${e.en} total count`, nameZh: `${e.zh}总次数`, ...COUNT, category: 'event', source: SRC.bob });
  for (let n = 1; n <= EVENT_RECORDS; n++) {
    const names = { di: di4(0x03, 0x30, e.di1, n), name: `${e.en} record, last ${ordinal(n)}`, nameZh: `(上${n}次)${e.zh}记录`, category: 'event' as const, source: e.source };
    if (e.fields !== undefined) record({ ...names, fields: e.fields });
    else opaque({ ...names, ...e.range! });
  }
}

// 2013 amendment events beyond 0332/0333: only the constant-magnetic-field count is in a source
// (unattributed public code: "0x03350000 恒定磁场干扰总次数", 3 bytes) [BK].
value({ di: '03350000', name: 'constant magnetic field interference total count', nameZh: '恒定磁场干扰总次数', ...COUNT, category: 'event', source: '[BK] unattributed public code (one source)' });

// ---------------------------------------------------------------------------------------------
// DL/T 645-1997 (2-byte DI, PROTOCOLS.md 1.10)

{
  const v97 = (o: Omit<ValueOptions, 'edition'>): DataItemDefinition => value({ ...o, edition: '1997' });
  const family97 = (base: number, en: string, zh: string, source: string): void => {
    const members: string[] = [];
    members.push(
      v97({ di: (base | 0x0).toString(16).toUpperCase(), name: `${en} total energy (1997)`, nameZh: `${zh}总电能`, format: 'XXXXXX.XX', length: 4, unit: 'kWh', category: 'energy', source }).di,
    );
    for (let t = 1; t <= TARIFFS; t++) {
      members.push(
        v97({
          di: (base | t).toString(16).toUpperCase(),
          name: `${en} energy, tariff ${t} (1997)`,
          nameZh: `${zh}费率${t}电能`,
          format: 'XXXXXX.XX',
          length: 4,
          unit: 'kWh',
          category: 'energy',
          source: `${SRC.v1997} [BK]`,
        }).di,
      );
    }
    block({
      di: (base | 0xf).toString(16).toUpperCase(),
      edition: '1997',
      name: `${en} energy block (total and tariffs) (1997)`,
      nameZh: `${zh}电能数据块`,
      category: 'energy',
      members,
      repeat: { from: 1, min: 0, max: MAX_TARIFFS_1997 },
      source: `${SRC.v1997}; tariff count [BK]`,
    });
  };
  family97(0x9010, 'forward active', '正向有功', `${SRC.v1997}; ${SRC.vector}`);
  family97(0x9020, 'reverse active', '反向有功', `${SRC.v1997} [BK]`);
  PHASES.forEach((p, i) => {
    v97({
      di: (0xb611 + i).toString(16).toUpperCase(),
      name: `phase ${p} voltage (1997)`,
      nameZh: `${p}相电压`,
      format: 'XXX',
      length: 2,
      unit: 'V',
      category: 'instantaneous',
      source: i === 0 ? `${SRC.v1997}; ${SRC.vector}` : `${SRC.v1997} [BK]`,
    });
  });
  PHASES.forEach((p, i) => {
    v97({ di: (0xb621 + i).toString(16).toUpperCase(), name: `phase ${p} current (1997)`, nameZh: `${p}相电流`, format: 'XX.XX', length: 2, unit: 'A', category: 'instantaneous', source: `${SRC.v1997} [BK]` });
  });
  v97({ di: 'B630', name: 'total active power (1997)', nameZh: '瞬时有功功率', format: 'XX.XXXX', length: 3, unit: 'kW', category: 'instantaneous', source: `${SRC.v1997} [BK]` });
  PHASES.forEach((p, i) => {
    v97({
      di: (0xb631 + i).toString(16).toUpperCase(),
      name: `phase ${p} active power (1997)`,
      nameZh: `${p}相有功功率`,
      format: 'XX.XXXX',
      length: 3,
      unit: 'kW',
      category: 'instantaneous',
      source: `${SRC.v1997} [BK]`,
    });
  });
  v97({ di: 'C010', name: 'date and weekday (1997)', nameZh: '日期及周次', format: 'YYMMDDWW', length: 4, access: 'readWrite', category: 'clock', source: `${SRC.v1997} [BK]` });
  v97({ di: 'C011', name: 'time (1997)', nameZh: '时间', format: 'hhmmss', length: 3, access: 'readWrite', category: 'clock', source: `${SRC.v1997} [BK]` });
  v97({ di: 'C032', name: 'meter number (1997)', nameZh: '表号', format: 'NNNNNNNNNNNN', length: 6, category: 'identity', source: `${SRC.v1997}; ${SRC.vector}` });
  v97({ di: 'C033', name: 'user number (1997)', nameZh: '用户号', format: 'NNNNNNNNNNNN', length: 6, category: 'identity', source: `${SRC.v1997} [BK]` });
}

// =============================================================================================
// Layout: each definition compiled once into a tree of value fields

interface FieldNode {
  readonly kind: 'field';
  readonly codec: ValueFieldCodec;
  readonly unit: string | undefined;
  readonly def: DataItemDefinition;
}
interface RecordNode {
  readonly kind: 'record';
  readonly fields: readonly { readonly name: string; readonly codec: ValueFieldCodec; readonly count: number | undefined; readonly unit: string | undefined }[];
  readonly def: DataItemDefinition;
}
interface BlockNode {
  readonly kind: 'block';
  readonly members: readonly LayoutNode[];
  readonly repeat: { readonly from: number; readonly min: number; readonly max: number } | undefined;
  /** Shared tariff-count range of this block and the blocks inside it (undefined: fixed length). */
  readonly range: { readonly min: number; readonly max: number } | undefined;
  readonly def: DataItemDefinition;
}
/** A variable-length opaque item (`lengthRange`): its bytes in wire order as hex. */
interface OpaqueNode {
  readonly kind: 'opaque';
  readonly min: number;
  readonly max: number;
  readonly codec: ValueFieldCodec;
  readonly def: DataItemDefinition;
}
type LayoutNode = FieldNode | RecordNode | BlockNode | OpaqueNode;

const layouts = new Map<string, LayoutNode>();

function layoutOf(def: DataItemDefinition): LayoutNode {
  let node = layouts.get(def.di);
  if (node !== undefined) return node;
  if (def.lengthRange !== undefined) {
    node = { kind: 'opaque', min: def.lengthRange.min, max: def.lengthRange.max, codec: valueFieldCodec(def), def };
  } else if (def.members !== undefined) {
    const members = def.members.map((di) => layoutOf(byDi.get(di)!));
    let range = def.repeat === undefined ? undefined : { min: def.repeat.min, max: def.repeat.max };
    for (const m of members) {
      if (m.kind !== 'block' || m.range === undefined) continue;
      range = range === undefined ? m.range : { min: Math.max(range.min, m.range.min), max: Math.min(range.max, m.range.max) };
    }
    node = { kind: 'block', members, repeat: def.repeat, range, def };
  } else if (def.fields !== undefined) {
    node = {
      kind: 'record',
      fields: def.fields.map((f) => ({ name: f.name, codec: valueFieldCodec(f), count: f.count, unit: f.unit })),
      def,
    };
  } else {
    node = { kind: 'field', codec: valueFieldCodec(def), unit: def.unit, def };
  }
  layouts.set(def.di, node);
  return node;
}

/** Bytes of a node for tariff count `k` (undefined: the listed default). */
function nodeLength(node: LayoutNode, k: number | undefined): number {
  switch (node.kind) {
    case 'field':
    case 'opaque':
      return node.codec.spec.length;
    case 'record':
      return node.fields.reduce((n, f) => n + f.codec.spec.length * (f.count ?? 1), 0);
    case 'block': {
      if (node.repeat === undefined) return node.members.reduce((n, m) => n + nodeLength(m, k), 0);
      const { from } = node.repeat;
      let n = 0;
      for (let i = 0; i < from; i++) n += nodeLength(node.members[i]!, k);
      const count = k ?? node.members.length - from;
      return n + count * nodeLength(node.members[from]!, k);
    }
  }
}

/** The member layout for element `i` of a block (repeated elements share members[from]). */
function memberAt(node: BlockNode, i: number): LayoutNode {
  if (node.repeat !== undefined && i >= node.repeat.from) return node.members[Math.min(i, node.members.length - 1)] ?? node.members[node.repeat.from]!;
  return node.members[i]!;
}

function decodeNode(node: LayoutNode, payload: Uint8Array, offset: number, k: number | undefined): Result<DataValue, DecodeError> {
  switch (node.kind) {
    case 'field':
      return node.codec.decode(payload, offset);
    case 'opaque':
      return ok(bytesToHex(payload, offset, payload.length - offset, true));
    case 'record': {
      const out: Record<string, DataValue> = {};
      let at = offset;
      for (const f of node.fields) {
        if (f.count === undefined) {
          const r = f.codec.decode(payload, at);
          if (!r.ok) return r;
          out[f.name] = r.value;
          at += f.codec.spec.length;
        } else {
          const values: DataValue[] = [];
          for (let i = 0; i < f.count; i++) {
            const r = f.codec.decode(payload, at);
            if (!r.ok) return r;
            values.push(r.value);
            at += f.codec.spec.length;
          }
          out[f.name] = values;
        }
      }
      return ok(out);
    }
    case 'block': {
      const count = node.repeat === undefined ? node.members.length : node.repeat.from + (k ?? node.members.length - node.repeat.from);
      const values: DataValue[] = [];
      let at = offset;
      for (let i = 0; i < count; i++) {
        const m = memberAt(node, i);
        const r = decodeNode(m, payload, at, k);
        if (!r.ok) return r;
        values.push(r.value);
        at += nodeLength(m, k);
      }
      return ok(values);
    }
  }
}

function isRecordValue(v: DataValue): v is { readonly [field: string]: DataValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function encodeNode(node: LayoutNode, value: DataValue, ctx: { k: number | undefined }, path: string, out: Uint8Array[]): void {
  switch (node.kind) {
    case 'field':
      out.push(withPath(path, () => node.codec.encode(value)));
      return;
    case 'opaque':
      if (typeof value !== 'string' || value.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(value) || value.length < 2 * node.min || value.length > 2 * node.max) {
        throw new EncodeError(`${path}: needs ${node.min}..${node.max} bytes as hex (wire order), got ${JSON.stringify(value)}`);
      }
      out.push(hexToBytes(value, true));
      return;
    case 'record': {
      if (!isRecordValue(value)) throw new EncodeError(`${path}: needs a record {${node.fields.map((f) => f.name).join(', ')}}, got ${JSON.stringify(value)}`);
      for (const key of Object.keys(value)) {
        if (!node.fields.some((f) => f.name === key)) throw new EncodeError(`${path}: unknown field "${key}"`);
      }
      for (const f of node.fields) {
        const v = value[f.name];
        if (v === undefined) throw new EncodeError(`${path}: field ${f.name} is missing`);
        if (f.count === undefined) {
          out.push(withPath(`${path}.${f.name}`, () => f.codec.encode(v)));
        } else {
          if (!Array.isArray(v) || v.length !== f.count) throw new EncodeError(`${path}.${f.name}: needs ${f.count} values, got ${JSON.stringify(v)}`);
          (v as readonly DataValue[]).forEach((x, i) => out.push(withPath(`${path}.${f.name}[${i}]`, () => f.codec.encode(x))));
        }
      }
      return;
    }
    case 'block': {
      if (!Array.isArray(value)) throw new EncodeError(`${path}: a block needs an array, got ${JSON.stringify(value)}`);
      const values = value as readonly DataValue[];
      if (node.repeat === undefined) {
        if (values.length !== node.members.length) throw new EncodeError(`${path}: needs ${node.members.length} values, got ${values.length}`);
      } else {
        const n = values.length - node.repeat.from;
        if (n < node.repeat.min || n > node.repeat.max) {
          throw new EncodeError(`${path}: needs ${node.repeat.from} + ${node.repeat.min}..${node.repeat.max} values, got ${values.length}`);
        }
        if (ctx.k !== undefined && ctx.k !== n) throw new EncodeError(`${path}: ${n} tariffs here but ${ctx.k} in an earlier block`);
        ctx.k = n;
      }
      values.forEach((v, i) => encodeNode(memberAt(node, i), v, ctx, `${path}[${i}]`, out));
      return;
    }
  }
}

function withPath(path: string, f: () => Uint8Array): Uint8Array {
  try {
    return f();
  } catch (e) {
    if (e instanceof EncodeError) throw new EncodeError(`${path}: ${e.message}`);
    throw e;
  }
}

// =============================================================================================
// An identifier the standard does not define

/**
 * A data identifier DL/T 645-2007 does not define, for the "no requested data" check (the default
 * of the declaration's `unsupportedIdentifier`). DI3 = 0FH: appendix A uses DI3 00H..06H (tables
 * A.1..A.7, all defined above), the 2013 security commands use 07H (PROTOCOLS.md 1.9), and the
 * amendments' event families start at 10H (1DH / 1EH trip and close records above); no source
 * read (PROTOCOLS.md, bob, fw, the table transcriptions) gives anything under DI3 08H..0FH. Not
 * 03010000, which meters answer: it is the loss-of-voltage counts of table A.4 (issue 6).
 */
export const UNDEFINED_IDENTIFIER = '0F0F0F0F';

// =============================================================================================
// Public API

function normaliseDi(di: string): string {
  return di.toUpperCase();
}

/** The definition of a DI (8 hex digits for 2007, 4 for 1997; case-insensitive). */
export function lookup(di: string): DataItemDefinition | undefined {
  return byDi.get(normaliseDi(di));
}

/**
 * Decodes the bytes after the DI (−33H already removed) into a value. Never throws.
 * Errors: `dlt645.unknown-di`, `dlt645.value-length` (offset where the length goes wrong: the
 * payload's end when it is too short, the item's end when it is too long), `dlt645.bcd` (offset of
 * the bad byte), `dlt645.value-range` (date/time field out of range).
 */
export function decodeValue(di: string, payload: Uint8Array, options?: DecodeValueOptions): Result<DataValue, DecodeError> {
  const def = lookup(di);
  if (def === undefined) return err(decodeError('dlt645.unknown-di', `data identifier ${di} is not in the DL/T 645 dictionary`, 0));
  const node = layoutOf(def);
  const trailing = options?.trailingBytes ?? 'reject';
  const range = node.kind === 'block' ? node.range : undefined;
  let k: number | undefined;
  if (node.kind === 'opaque') {
    const expected = `${node.min}..${node.max} bytes`;
    if (payload.length < node.min) return err(lengthError(def, expected, payload.length, payload.length));
    if (payload.length > node.max) {
      if (trailing === 'reject') return err(lengthError(def, expected, payload.length, node.max));
      return decodeNode(node, payload.subarray(0, node.max), 0, undefined);
    }
  } else if (range === undefined) {
    const need = nodeLength(node, undefined);
    if (payload.length < need) return err(lengthError(def, `${need} bytes`, payload.length, payload.length));
    if (payload.length > need && trailing === 'reject') return err(lengthError(def, `${need} bytes`, payload.length, need));
  } else {
    let best: number | undefined;
    for (let t = range.min; t <= range.max; t++) {
      const n = nodeLength(node, t);
      if (n === payload.length) {
        best = t;
        break;
      }
      if (n < payload.length) best = t;
    }
    const expected = `${nodeLength(node, range.min)}..${nodeLength(node, range.max)} bytes (${range.min}..${range.max} tariffs)`;
    if (best === undefined) return err(lengthError(def, expected, payload.length, payload.length));
    const n = nodeLength(node, best);
    if (n !== payload.length && trailing === 'reject') return err(lengthError(def, expected, payload.length, n));
    k = best;
  }
  return decodeNode(node, payload, 0, k);
}

function lengthError(def: DataItemDefinition, expected: string, got: number, offset: number): DecodeError {
  return decodeError('dlt645.value-length', `${def.di} (${def.name}) takes ${expected}, got ${got}`, offset);
}

/** Encodes a value for the wire (before +33H). Throws EncodeError when it does not fit. */
export function encodeValue(di: string, value: DataValue): Uint8Array {
  const def = lookup(di);
  if (def === undefined) throw new EncodeError(`data identifier ${di} is not in the DL/T 645 dictionary`);
  const parts: Uint8Array[] = [];
  encodeNode(layoutOf(def), value, { k: undefined }, def.di, parts);
  return concatBytes(...parts);
}

/**
 * One line for logs and reports: "forward active total energy = 1234.56 kWh",
 * "voltage block (phases A, B, C) = [225.6, absent, absent] V". Never throws.
 */
export function describeValue(di: string, value: DataValue): string {
  const def = lookup(di);
  if (def === undefined) return `${di} = ${JSON.stringify(value)}`;
  return `${def.name} = ${describeNode(layoutOf(def), value)}`;
}

function describeNode(node: LayoutNode, value: DataValue): string {
  switch (node.kind) {
    case 'opaque':
      return typeof value === 'string' ? `${value.toUpperCase()} (${value.length / 2} bytes)` : JSON.stringify(value);
    case 'field': {
      const text = node.codec.text(value);
      if (node.def.bits !== undefined && typeof value === 'number') {
        const fields = decodeStatusBits(node.def.bits, value);
        const set = node.def.bits.filter((b) => Math.floor(value / 2 ** b.bit) % 2 ** b.width !== 0).map((b) => `${b.name} ${String(fields[b.name])}`);
        return `${text} (${set.length === 0 ? 'all bits 0' : set.join(', ')})`;
      }
      return withUnit(text, value, node.unit);
    }
    case 'record': {
      if (!isRecordValue(value)) return JSON.stringify(value);
      const parts = node.fields.map((f) => {
        const v = value[f.name];
        if (v === undefined) return `${f.name} ?`;
        if (f.count !== undefined && Array.isArray(v)) return `${f.name} [${(v as readonly DataValue[]).map((x) => f.codec.text(x)).join(', ')}]`;
        return `${f.name} ${withUnit(f.codec.text(v), v, f.unit)}`;
      });
      return `{${parts.join(', ')}}`;
    }
    case 'block': {
      if (!Array.isArray(value)) return JSON.stringify(value);
      const values = value as readonly DataValue[];
      const leaves = values.map((_, i) => memberAt(node, i));
      const units = new Set(leaves.map((m) => (m.kind === 'field' ? m.unit : null)));
      if (leaves.every((m) => m.kind === 'field') && units.size === 1) {
        const unit = [...units][0];
        const text = `[${values.map((v, i) => (leaves[i] as FieldNode).codec.text(v)).join(', ')}]`;
        return unit === undefined || unit === null ? text : `${text} ${unit}`;
      }
      return `[${values.map((v, i) => describeNode(leaves[i]!, v)).join('; ')}]`;
    }
  }
}

function withUnit(text: string, value: DataValue, unit: string | undefined): string {
  return unit === undefined || value === ABSENT_VALUE ? text : `${text} ${unit}`;
}

/** One value field of a layout: where it sits in the payload and how it is coded. */
export interface ValueLayoutEntry {
  /** Path into the decoded value: "" for a single value, "[1]", "time", "[2][0]", "identifiers[3]". */
  readonly path: string;
  readonly offset: number;
  readonly spec: ValueFieldSpec;
  readonly unit?: string;
}

/**
 * The value fields of a DI in wire order, for `tariffs` tariffs in tariff-dependent blocks
 * (default: the listed 4). Undefined for an unknown DI or a tariff count the block does not take.
 */
export function valueLayout(di: string, tariffs?: number): readonly ValueLayoutEntry[] | undefined {
  const def = lookup(di);
  if (def === undefined) return undefined;
  const node = layoutOf(def);
  const range = node.kind === 'block' ? node.range : undefined;
  if (tariffs !== undefined && (range === undefined || tariffs < range.min || tariffs > range.max)) return undefined;
  const out: ValueLayoutEntry[] = [];
  let offset = 0;
  const walk = (n: LayoutNode, path: string): void => {
    switch (n.kind) {
      case 'field':
        out.push({ path, offset, spec: n.codec.spec, ...(n.unit === undefined ? {} : { unit: n.unit }) });
        offset += n.codec.spec.length;
        return;
      case 'opaque':
        // The shortest payload; any length up to lengthRange.max decodes.
        out.push({ path, offset, spec: n.codec.spec });
        offset += n.codec.spec.length;
        return;
      case 'record':
        for (const f of n.fields) {
          const count = f.count ?? 1;
          for (let i = 0; i < count; i++) {
            const p = `${path === '' ? '' : `${path}.`}${f.name}${f.count === undefined ? '' : `[${i}]`}`;
            out.push({ path: p, offset, spec: f.codec.spec, ...(f.unit === undefined ? {} : { unit: f.unit }) });
            offset += f.codec.spec.length;
          }
        }
        return;
      case 'block': {
        const count = n.repeat === undefined ? n.members.length : n.repeat.from + (tariffs ?? n.members.length - n.repeat.from);
        for (let i = 0; i < count; i++) walk(memberAt(n, i), `${path}[${i}]`);
        return;
      }
    }
  };
  walk(node, '');
  return out;
}

/** Selects definitions for `dataItems`. Every given criterion must hold. */
export interface DataItemFilter {
  readonly edition?: '2007' | '1997';
  readonly category?: DataItemCategory | readonly DataItemCategory[];
  /** true: readable (read, readWrite); false: write-only. */
  readonly readable?: boolean;
  /** true: writable (write, readWrite); false: read-only. */
  readonly writable?: boolean;
  /** Leading hex digits of the DI, e.g. "0001" or "0506". */
  readonly prefix?: string;
  /** true: blocks only (items with members); false: no blocks. */
  readonly block?: boolean;
}

/** Definitions in table order, optionally filtered. */
export function dataItems(filter?: DataItemFilter | ((def: DataItemDefinition) => boolean)): readonly DataItemDefinition[] {
  if (filter === undefined) return table;
  if (typeof filter === 'function') return table.filter(filter);
  const categories = filter.category === undefined ? undefined : typeof filter.category === 'string' ? [filter.category] : filter.category;
  const prefix = filter.prefix?.toUpperCase();
  return table.filter(
    (d) =>
      (filter.edition === undefined || d.edition === filter.edition) &&
      (categories === undefined || categories.includes(d.category)) &&
      (filter.readable === undefined || (d.access !== 'write') === filter.readable) &&
      (filter.writable === undefined || (d.access !== 'read') === filter.writable) &&
      (prefix === undefined || d.di.startsWith(prefix)) &&
      (filter.block === undefined || (d.members !== undefined) === filter.block),
  );
}

/** The DL/T 645 dictionary (2007 with the 1997 items the vectors use). */
export const DICTIONARY: Dlt645Dictionary = Object.freeze({
  lookup,
  all: (): readonly DataItemDefinition[] => table,
  decodeValue,
  encodeValue,
});
